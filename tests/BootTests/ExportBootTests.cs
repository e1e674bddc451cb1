using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;

namespace BootTests;

/// <summary>`ukpack export`: each disk format boots under plain QEMU firmware, SeaBIOS (pc)
/// and OVMF (q35), from `-drive` alone (no -kernel), through GRUB and multiboot2; the
/// program's output arrives on the serial port and the VM powers itself off through ACPI
/// (no debug-exit device and no -no-reboot: a reset would boot the program again and the
/// run would time out). The containerDisk is checked with skopeo.</summary>
public class ExportBootTests
{
    const string ProgramC = """
        #include <stdio.h>
        int main(int argc, char **argv) { printf("exported %s argc=%d\n", argv[1], argc); return 5; }
        """;

    static readonly Lazy<string> Image = new(() =>
    {
        var exe = Programs.Compile("exported", ProgramC);
        var img = Path.Combine(Repo.TempDir(), "exported.img");
        var r = Ukpack.Run(["build", exe, "-o", img, "--", "hello"]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    static string Export(string format, string? output = null)
    {
        var outPath = output ?? Path.Combine(Repo.TempDir(), "disk." + format);
        var r = Ukpack.Run(["export", Image.Value, "-f", format, "-o", outPath]);
        r.Code.Should().Be(0, r.ToString());
        return outPath;
    }

    /// <summary>Boots a disk with nothing but firmware: returns the serial output and the
    /// kernel's exit line from the debug console.</summary>
    static (string Serial, string Log) BootDisk(string disk, string format, bool uefi)
    {
        var dir = Repo.TempDir();
        string serial = Path.Combine(dir, "serial.txt"), log = Path.Combine(dir, "log.txt");
        var args = new List<string> { "-M", uefi ? "q35" : "pc", "-accel", "tcg", "-m", "512M", "-nodefaults", "-display", "none",
            "-drive", $"file={disk},format={format}", "-serial", $"file:{serial}",
            "-chardev", $"file,id=log,path={log}", "-device", "isa-debugcon,iobase=0xe9,chardev=log" };
        if (uefi)
        {
            string vars = Path.Combine(dir, "vars.fd");
            File.Copy("/usr/share/OVMF/OVMF_VARS_4M.fd", vars);
            args.InsertRange(0, ["-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd", "-drive", $"if=pflash,format=raw,file={vars}"]);
        }
        var r = Host.Run(Qemu.Exe, args, timeout: TimeSpan.FromSeconds(180));
        var result = (File.Exists(serial) ? File.ReadAllText(serial) : "", File.Exists(log) ? File.ReadAllText(log) : "");
        r.Code.Should().Be(0, "ACPI soft-off makes QEMU exit with 0\n{0}\n{1}", r, result);
        return result;
    }

    static void ShouldHaveRun((string Serial, string Log) run)
    {
        run.Serial.Should().EndWith("exported hello argc=2\n", run.Log);
        run.Log.Should().Contain("@@UKEXIT 5", run.Serial);
        run.Serial.Split("exported hello").Length.Should().Be(2, "the program ran once");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RawDisk_BootsWithSeaBiosAndOvmf(bool uefi) => ShouldHaveRun(BootDisk(Export("raw"), "raw", uefi));

    [Theory]
    [InlineData("qcow2")]
    [InlineData("vmdk")]
    public void ConvertedDisks_Boot(string format)
    {
        var disk = Export(format);
        Host.Run("qemu-img", ["info", disk]).OutText.Should().Contain("file format: " + format);
        ShouldHaveRun(BootDisk(disk, format, uefi: false));
    }

    [Fact]
    public void Gce_IsDiskRawInAGzipTar_OfWholeGiB()
    {
        var tgz = Export("gce", Path.Combine(Repo.TempDir(), "image.tar.gz"));
        using var gz = new GZipStream(File.OpenRead(tgz), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        var e = tar.GetNextEntry()!;
        e.Name.Should().Be("disk.raw");
        e.Format.Should().Be(TarEntryFormat.Gnu);
        (e.Length % (1L << 30)).Should().Be(0);
        var head = new byte[1024];
        e.DataStream!.ReadExactly(head);
        System.Text.Encoding.ASCII.GetString(head, 512, 8).Should().Be("EFI PART");
        tar.GetNextEntry().Should().BeNull();
    }

    [Fact]
    public void Oci_IsAContainerDiskSkopeoReads_AndItsDiskBoots()
    {
        var dir = Export("oci", Path.Combine(Repo.TempDir(), "app.oci"));
        var inspect = Host.Run("skopeo", ["inspect", $"oci:{dir}:latest"]);
        inspect.Code.Should().Be(0, inspect.ToString());
        var json = JsonNode.Parse(inspect.OutText)!;
        json["Architecture"]!.GetValue<string>().Should().Be("amd64");
        var layers = json["Layers"]!.AsArray();
        layers.Count.Should().Be(1);
        // The layer: /disk/disk.qcow2 owned by 107:107, as KubeVirt's launcher expects.
        var layer = Path.Combine(dir, "blobs", "sha256", layers[0]!.GetValue<string>()["sha256:".Length..]);
        using var gz = new GZipStream(File.OpenRead(layer), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        string? qcow = null;
        for (var e = tar.GetNextEntry(); e != null; e = tar.GetNextEntry())
        {
            if (e.Name != "disk/disk.qcow2") continue;
            (e.Uid, e.Gid).Should().Be((107, 107));
            qcow = Path.Combine(Repo.TempDir(), "disk.qcow2");
            e.ExtractToFile(qcow, overwrite: true);
        }
        qcow.Should().NotBeNull("the layer holds disk/disk.qcow2");
        ShouldHaveRun(BootDisk(qcow!, "qcow2", uefi: false));
    }

    [Fact]
    public void Firecracker_ConfigNamesTheImage_AndBadFormatsAreRefused()
    {
        var cfg = Export("firecracker", Path.Combine(Repo.TempDir(), "vm.json"));
        var json = JsonNode.Parse(File.ReadAllText(cfg))!;
        json["boot-source"]!["kernel_image_path"]!.GetValue<string>().Should().Be(Path.GetFullPath(Image.Value));
        var r = Ukpack.Run(["export", Image.Value, "-f", "iso"]);
        r.Code.Should().Be(2, r.ToString());
        r.ErrText.Should().Contain("not one of raw, qcow2, vmdk, gce, oci, firecracker");
        Ukpack.Run(["export", "/no/such.img", "-f", "raw"]).Code.Should().NotBe(0);
        // -o naming a directory that is not an earlier OCI export: refused, nothing deleted.
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "precious"), "x");
        var oci = Ukpack.Run(["export", Image.Value, "-f", "oci", "-o", dir]);
        oci.Code.Should().Be(1, oci.ToString());
        oci.ErrText.Should().Contain("is not an OCI layout");
        File.Exists(Path.Combine(dir, "precious")).Should().BeTrue();
    }
}
