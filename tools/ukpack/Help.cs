using System.CommandLine;
using System.Security.Cryptography;

namespace Ukpack;

/// <summary>The long help of each command (`ukpack COMMAND --help`), kept apart from the
/// option definitions in Program.cs; and `ukpack --version`.</summary>
public static class Help
{
    static readonly Dictionary<string, string> Text = new()
    {
        ["build"] = """
            Build one bootable image: the kernel, the program, its arguments and environment, and
            a root filesystem. A dynamically linked program gets its interpreter and libraries,
            and every ELF object of the --fs tree (extension modules, plugins) gets the libraries
            it needs, resolved as ld.so does (-v says what was added and why). Ends with a one-line
            `ukpack check` summary on stdout.
            With no APP, reads ./ukpack.json (or --config FILE; see docs/ukpack-config.md).
            --root-disk keeps the root filesystem on an ext4 disk in the same image file (made by
            the host's mke2fs -d, e2fsprogs) instead of in guest memory: for large trees
            (docs/image-format.md, "Root disk").

            Examples:
              ukpack build ./hello -o hello.img -- "an argument"
              ukpack build /usr/bin/python3.11 --fs ./pyroot -e PYTHONHOME=/usr -- -c 'print(1)'
              ukpack build /usr/sbin/nginx --fs nginx.tar --root-disk   # a 2 GiB tree, --mem 128M
              ukpack build                  # from ./ukpack.json

            Exit status: 0 on success; 1 on bad input (one "ukpack: error:" line); 2 on a usage error.
            """,
        ["check"] = """
            Report which system calls a program and its libraries can make, and whether the kernel
            supports each: supported, partial (with the support table's note) or missing, with the
            files and functions that use it. The code is decoded with Iced; syscall numbers are
            found by constant propagation within each function and through wrappers such as
            libc's syscall(); only code reachable from the entry points, initialisers and stored
            function pointers counts. The table is the one the kernel is built from
            (syscalls/SyscallList.cs; `ukpack syscalls` prints it).

            Examples:
              ukpack check ./server
              ukpack check /usr/bin/python3.11 --fs ./pyroot -v
              ukpack check ./server --strict && ukpack build ./server

            Exit status: 0; 3 with --strict when a missing call is reachable; 1 on bad input.
            """,
        ["run"] = """
            Boot an image under QEMU (TCG unless --accel kvm). The program's stdout and stderr are
            ukpack's, stdin is forwarded, and ukpack exits with the program's status (128+N when
            signal N killed it). Kernel messages appear only with -v. --strace logs every system
            call, strace-style, on stderr or into FILE (--strace=FILE). --gdb[=PORT] halts the guest
            for gdb on 127.0.0.1:PORT (1234) and prints the gdb command to attach with: it loads
            the kernel's, the program's and its libraries' symbols and stops at the program's entry.
            With no IMAGE, boots the image of ./ukpack.json (or --config FILE) with its settings;
            -e K=V, --mem and arguments after -- change one run.

            Examples:
              ukpack run hello.img
              ukpack run hello.img --strace=trace.txt -- other arguments
              ukpack run -e DEBUG=1 --mem 1G
              ukpack run hello.img --gdb        # then, in another terminal: gdb -x <printed script>

            Exit status: the program's; 124 timed out; 125 QEMU or kernel failure; 130 interrupted.
            Needs qemu-system-x86_64 (Debian: apt-get install qemu-system-x86), or --qemu / $UKPACK_QEMU.
            """,
        ["inspect"] = """
            Describe an image: its kernel (size and SHA-256, to tell builds apart), program,
            arguments, environment, the program's ELF segments, and every entry of the root
            filesystem with its mode, owner, size and path, then the totals.

            Example:
              ukpack inspect hello.img | less
            """,
        ["export"] = """
            Write an image in a form other VMMs and clouds take (docs/export.md):
              raw          a GPT disk that boots with BIOS (SeaBIOS) or UEFI (OVMF) through GRUB
                           and multiboot2, from -drive alone; stdio on the serial port (COM1),
                           ACPI power-off when the program exits
              qcow2, vmdk  the same disk converted by qemu-img (vmdk: streamOptimized, for AWS
                           and VMware imports)
              gce          disk.raw (whole GiB) in a .tar.gz, as GCP's image import expects
              oci          an OCI image layout directory holding /disk/disk.qcow2 (uid 107):
                           a KubeVirt containerDisk; push with skopeo copy oci:DIR docker://...
              firecracker  a --config-file for Firecracker: the image as kernel (PVH) and initrd
            Needs GRUB and FAT tools for disks: apt-get install grub-pc-bin grub-efi-amd64-bin
            mtools dosfstools qemu-utils.

            Examples:
              ukpack export app.img -f raw -o app.raw
              qemu-system-x86_64 -m 512M -drive file=app.raw,format=raw -serial stdio -display none
              ukpack export app.img -f oci -o app.oci && skopeo copy oci:app.oci docker://registry/app:1
            """,
        ["syscalls"] = """
            List the kernel's system-call support table: number, name, full / partial / none, and
            a note for partial support. NAME filters by substring; --markdown prints docs/syscalls.md.
            """,
        ["completion"] = """
            Print a completion script for bash or zsh. ukpack answers the script's questions itself
            (System.CommandLine's [suggest] directive), so commands, options and their values
            complete as this version defines them; file names otherwise.

            Examples:
              eval "$(ukpack completion bash)"      # in ~/.bashrc
              eval "$(ukpack completion zsh)"       # in ~/.zshrc
            """,
        ["volume"] = """
            Persistent ext4 volumes. `ukpack volume create FILE --size 1G [--from DIR]` runs the
            host's mke2fs -t ext4 (e2fsprogs), populated from DIR; `ukpack run IMG --volume
            FILE:/guest/path[:ro]` mounts it before the program starts (docs/ext4.md). Check or
            read a volume on the host with e2fsck -fn FILE and debugfs -R 'cat /path' FILE.

            Example:
              ukpack volume create data.img --size 1G --from ./seed
              ukpack run app.img --volume data.img:/var/lib/app
            """,
    };

    public static void Document(RootCommand root)
    {
        foreach (var c in root.Subcommands)
            if (Text.TryGetValue(c.Name, out var t)) c.Description = c.Description + "\n\n" + t.TrimEnd();
    }

    /// <summary>`ukpack run`'s checks that say what to do before QEMU would fail obscurely.</summary>
    public static void Preflight(RunOptions o)
    {
        if (!File.Exists(o.Image) && !Directory.Exists(o.Image))
            throw new UkpackException($"{o.Image}: no such file (build an image first: ukpack build APP -o {o.Image})");
        if (o.Accel == "kvm")
        {
            if (!File.Exists("/dev/kvm"))
                throw new UkpackException("--accel kvm: /dev/kvm does not exist (enable virtualisation in the firmware and load kvm_intel or kvm_amd, or use --accel tcg)");
            try { using var _ = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite); }
            catch (UnauthorizedAccessException)
            {
                throw new UkpackException("--accel kvm: no permission to open /dev/kvm (add yourself to the kvm group: sudo adduser $USER kvm, then log in again; or use --accel tcg)");
            }
            catch (IOException) { }
        }
    }

    /// <summary>`ukpack --version`: ukpack's version (with its commit) and the kernel it packs.</summary>
    public static string Version()
    {
        var v = typeof(Help).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";
        var k = Builder.DefaultKernelPath();
        string kernel = File.Exists(k) ? $"{k} ({new FileInfo(k).Length} bytes, sha256 {KernelId(File.ReadAllBytes(k))})" : $"{k} (missing: run make)";
        return $"ukpack {v}\nkernel: {kernel}\n";
    }

    /// <summary>The first 16 hex digits of the SHA-256 of a kernel ELF without trailing zero
    /// bytes (an image pads it to a page): the kernel carries no version string, this tells
    /// builds apart and is the same for out/kernel.elf and the kernel inside an image.</summary>
    public static string KernelId(ReadOnlySpan<byte> kernel)
    {
        int end = kernel.LastIndexOfAnyExcept((byte)0) + 1;
        return Convert.ToHexStringLower(SHA256.HashData(kernel[..end]))[..16];
    }
}
