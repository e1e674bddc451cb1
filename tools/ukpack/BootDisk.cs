using System.Buffers.Binary;
using System.Diagnostics;

namespace Ukpack;

/// <summary>A raw disk that boots an image with plain firmware, BIOS or UEFI (docs/export.md):
/// GPT with a BIOS boot partition holding GRUB's core.img (boot.img in the protective MBR
/// points to it) and an EFI system partition (FAT) holding GRUB for UEFI
/// (/EFI/BOOT/BOOTX64.EFI), grub.cfg and the image, which GRUB loads with multiboot2 as
/// both the kernel (the image starts with the kernel ELF) and its module (the payload).
/// GRUB and the FAT tools come from Debian's packages; ukpack writes only the partition
/// table and the two blocklist fields GRUB's BIOS stages need.</summary>
public static class BootDisk
{
    const long BiosBootLba = 2048, BiosBootSectors = 2048;      // 1 MiB at 1 MiB
    const long EspLba = BiosBootLba + BiosBootSectors;
    const string GrubModules = "part_gpt fat multiboot2 normal configfile echo";

    static readonly (string Exe, string Package)[] Tools =
    [
        ("grub-mkimage", "grub-common"), ("mkfs.vfat", "dosfstools"), ("mmd", "mtools"), ("mcopy", "mtools"),
    ];
    const string BiosDir = "/usr/lib/grub/i386-pc", EfiDir = "/usr/lib/grub/x86_64-efi";

    /// <summary>Fails with the packages to install when a tool is missing.</summary>
    public static void CheckTools()
    {
        var missing = new List<string>();
        foreach (var (exe, pkg) in Tools) if (QemuRunner.FindOnPath(exe) == null && !missing.Contains(pkg)) missing.Add(pkg);
        if (!File.Exists(Path.Combine(BiosDir, "boot.img"))) missing.Add("grub-pc-bin");
        if (!Directory.Exists(EfiDir)) missing.Add("grub-efi-amd64-bin");
        if (missing.Count > 0)
            throw new UkpackException($"export needs {string.Join(", ", missing)} (Debian: apt-get install {string.Join(' ', missing)})");
    }

    /// <summary>The kernel command line GRUB passes: the image's program runs with its stdio
    /// on the serial ports (COM1: stdin and stdout, COM2: stderr), where a cloud's serial
    /// console shows it.</summary>
    public const string KernelArgs = "log=1";

    /// <summary>Writes the disk; `roundTo` rounds its size up (GCP takes whole GiB only).</summary>
    public static void Write(string imagePath, string outPath, string workDir, long roundTo = 1 << 20)
    {
        CheckTools();
        long imageBytes = new FileInfo(imagePath).Length;
        string grubCfg = Path.Combine(workDir, "grub.cfg");
        File.WriteAllText(grubCfg, $"""
            # Written by ukpack export: boot the image with multiboot2 at once.
            set timeout=0
            multiboot2 /boot/app.img {KernelArgs}
            module2 /boot/app.img
            boot

            """);
        string core = Path.Combine(workDir, "core.img"), efi = Path.Combine(workDir, "BOOTX64.EFI");
        Run("grub-mkimage", ["-O", "i386-pc", "-d", BiosDir, "-o", core, "-p", "(hd0,gpt2)/boot/grub", "biosdisk", .. GrubModules.Split(' ')]);
        Run("grub-mkimage", ["-O", "x86_64-efi", "-d", EfiDir, "-o", efi, "-p", "/boot/grub", .. GrubModules.Split(' ')]);

        // The ESP: room for the image, GRUB and slack, in whole MiB.
        long espBytes = ((imageBytes + new FileInfo(efi).Length + (4 << 20)) + (1 << 20) - 1) / (1 << 20) * (1 << 20);
        string esp = Path.Combine(workDir, "esp.img");
        using (var f = File.Create(esp)) f.SetLength(espBytes);
        Run("mkfs.vfat", ["-n", "UKBOOT", esp]);
        Run("mmd", ["-i", esp, "::/EFI", "::/EFI/BOOT", "::/boot", "::/boot/grub"]);
        Run("mcopy", ["-i", esp, efi, "::/EFI/BOOT/BOOTX64.EFI"]);
        Run("mcopy", ["-i", esp, grubCfg, "::/boot/grub/grub.cfg"]);
        Run("mcopy", ["-i", esp, imagePath, "::/boot/app.img"]);

        long espSectors = espBytes / Gpt.Sector;
        long sectors = EspLba + espSectors + Gpt.FirstUsable;       // room for the backup table
        long roundSectors = roundTo / Gpt.Sector;
        sectors = (sectors + roundSectors - 1) / roundSectors * roundSectors;
        var coreBytes = File.ReadAllBytes(core);
        int coreSectors = (coreBytes.Length + Gpt.Sector - 1) / Gpt.Sector;
        if (coreSectors > BiosBootSectors) throw new UkpackException("GRUB's core.img does not fit the BIOS boot partition");
        var coreImg = new byte[coreSectors * Gpt.Sector];
        coreBytes.CopyTo(coreImg, 0);
        // diskboot.img (core.img's first sector) loads the rest from the blocklist at its end:
        // start LBA, sector count, load segment (0x820: after the first sector at 0x8000).
        var bl = coreImg.AsSpan(Gpt.Sector - 12);
        BinaryPrimitives.WriteInt64LittleEndian(bl, BiosBootLba + 1);
        BinaryPrimitives.WriteUInt16LittleEndian(bl.Slice(8), (ushort)(coreSectors - 1));
        BinaryPrimitives.WriteUInt16LittleEndian(bl.Slice(10), 0x820);
        // boot.img (the MBR's code, 440 bytes) loads core.img's first sector from the LBA at 0x5c.
        var mbr = new byte[Gpt.Sector];
        File.ReadAllBytes(Path.Combine(BiosDir, "boot.img")).AsSpan(0, 440).CopyTo(mbr);
        BinaryPrimitives.WriteInt64LittleEndian(mbr.AsSpan(0x5c), BiosBootLba);

        using var disk = new FileStream(outPath, FileMode.Create, FileAccess.ReadWrite);
        disk.SetLength(sectors * Gpt.Sector);
        disk.Write(mbr);
        Gpt.Write(disk, sectors,
            [new Gpt.Partition(Gpt.BiosBoot, BiosBootLba, BiosBootLba + BiosBootSectors - 1, "BIOS boot"),
             new Gpt.Partition(Gpt.EfiSystem, EspLba, EspLba + espSectors - 1, "EFI system")],
            Guid.NewGuid(), _ => Guid.NewGuid());
        disk.Position = BiosBootLba * Gpt.Sector;
        disk.Write(coreImg);
        disk.Position = EspLba * Gpt.Sector;
        using (var e = File.OpenRead(esp)) e.CopyTo(disk);
    }

    /// <summary>Runs a tool, failing with its message.</summary>
    public static void Run(string exe, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (exe == "mmd" || exe == "mcopy") psi.Environment["MTOOLS_SKIP_CHECK"] = "1";
        using var p = Process.Start(psi) ?? throw new UkpackException($"cannot start {exe}");
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new UkpackException($"{exe} failed (status {p.ExitCode}): {err.Result.Trim()}");
    }
}
