using System.Text;
using Kernel.Abi;
using Microsoft.Extensions.Logging;

namespace Ukpack;

public sealed record BuildOptions
{
    public required string App { get; init; }
    public string? Fs { get; init; }
    public string? Output { get; init; }
    public IReadOnlyList<string> Env { get; init; } = [];
    public string? Kernel { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    /// <summary>Extra files and directories (ukpack.json "files"): guest path -> host path.</summary>
    public IReadOnlyList<(string Guest, string Host)> Files { get; init; } = [];
    /// <summary>--root-disk: the root filesystem as an ext4 disk in the image (RootDisk.cs).</summary>
    public bool RootDisk { get; init; }
    /// <summary>--root-disk-size: that disk's size in bytes (null: the tree's size plus room).</summary>
    public long? RootDiskSize { get; init; }
}

public static class Builder
{
    public static readonly string[] DefaultEnv = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/"];

    /// <summary>Files supplied when the root filesystem lacks them.</summary>
    public static readonly (string Path, string Contents)[] DefaultEtc =
    [
        ("/etc/hostname", "ukvm\n"),
        ("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tukvm\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
        ("/etc/passwd", "root:x:0:0:root:/:/bin/sh\n"),
        ("/etc/group", "root:x:0:\n"),
        ("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n"),
        // As Debian's: without "multi on" glibc answers only the first /etc/hosts line of a
        // name (localhost: 127.0.0.1 but not ::1).
        ("/etc/host.conf", "multi on\n"),
        // QEMU's user network answers DNS at 10.0.2.3 (`ukpack run --net user`, the default with -p).
        // The first line lets the kernel replace the servers with the network's (DHCP on a tap,
        // --dns): it must stay NetStack.ResolvConfMarker.
        ("/etc/resolv.conf", "# ukpack: DNS servers from the network (DHCP or --dns), written by the kernel at boot\nnameserver 10.0.2.3\n"),
        ("/etc/services", "ftp\t\t21/tcp\nssh\t\t22/tcp\nsmtp\t\t25/tcp\ndomain\t\t53/tcp\ndomain\t\t53/udp\nbootps\t\t67/udp\nbootpc\t\t68/udp\n"
            + "http\t\t80/tcp\t\twww\nntp\t\t123/udp\nhttps\t\t443/tcp\nmysql\t\t3306/tcp\npostgresql\t5432/tcp\nredis\t\t6379/tcp\nhttp-alt\t8080/tcp\n"),
    ];

    /// <summary>Default kernel: kernel.elf beside the launcher (out/kernel.elf when run as
    /// out/ukpack; the launcher exports UKPACK_HOME), else beside or above the assembly.</summary>
    public static string DefaultKernelPath()
    {
        var home = Environment.GetEnvironmentVariable("UKPACK_HOME");
        if (!string.IsNullOrEmpty(home)) return Path.Combine(home, "kernel.elf");
        var baseDir = AppContext.BaseDirectory;
        var beside = Path.Combine(baseDir, "kernel.elf");
        if (File.Exists(beside)) return beside;
        return Path.GetFullPath(Path.Combine(baseDir, "..", "kernel.elf"));
    }

    /// <summary>Reads and validates the program. Throws UkpackException with one line.</summary>
    public static (byte[] Bytes, ElfFile Elf) LoadProgram(string app)
    {
        if (Directory.Exists(app)) throw new UkpackException($"{app}: is a directory");
        if (!File.Exists(app)) throw new UkpackException($"{app}: no such file");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(app); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UkpackException($"{app}: {e.Message}"); }
        // Static, static-PIE and dynamically linked (through PT_INTERP) programs all run;
        // a dynamic one's interpreter and libraries are packed by DynamicDeps.
        var err = ElfFile.Parse(bytes, out var elf);
        if (err != ElfError.None) throw new UkpackException($"{app}: {ElfFile.ErrorMessage(err)}");
        return (bytes, elf);
    }

    /// <summary>A host file at `guest`, or a host directory's contents under it (symbolic
    /// links followed), replacing what the tree had there.</summary>
    static void AddTree(RootFsBuilder fs, string guest, string host)
    {
        if (File.Exists(host)) { fs.AddHostFile(guest, host); return; }
        if (fs.MkdirP(guest) == null) throw new UkpackException($"files: cannot create {guest} in the root filesystem: not a directory");
        foreach (var entry in Directory.EnumerateFileSystemEntries(host).OrderBy(e => e, StringComparer.Ordinal))
            AddTree(fs, guest.TrimEnd('/') + "/" + Path.GetFileName(entry), entry);
    }

    /// <summary>Above this many ELF objects in the image, the build's check summary covers the
    /// program's load closure only (`ukpack check` still does all).</summary>
    public const int MaxCheckedObjects = 300;

    public static int Build(BuildOptions o, ILogger log)
    {
        // A tarball as --fs is unpacked first; APP may then name a file inside it.
        using var tarball = o.Fs != null && RootFsTarball.IsTarball(o.Fs) ? RootFsTarball.Extract(o.Fs) : null;
        if (tarball != null)
        {
            foreach (var w in tarball.Warnings) log.LogWarning("{Warning}", w);
            string inside = tarball.Dir + RootFsTarball.Normalize(o.App);
            o = o with { Fs = tarball.Dir, App = o.App.StartsWith('/') && File.Exists(inside) ? inside : o.App };
        }
        var (bytes, elf) = LoadProgram(o.App);
        RootFsBuilder.SynthesizedMtime = long.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), out var epoch)
            ? epoch : new DateTimeOffset(File.GetLastWriteTimeUtc(o.App)).ToUnixTimeSeconds();
        // A dynamic program gets its interpreter and libraries from this machine, unless the
        // --fs tree has its own interpreter (a complete root filesystem, e.g. debootstrap).
        bool ownInterp = elf.HasInterp() && o.Fs != null &&
            File.Exists(Path.Combine(o.Fs, Encoding.UTF8.GetString(elf.Interp(bytes)).TrimEnd('\0').TrimStart('/')));

        // Kernel.
        var kernelPath = o.Kernel ?? DefaultKernelPath();
        if (!File.Exists(kernelPath))
            throw new UkpackException(o.Kernel == null
                ? $"kernel not found at {kernelPath} (run make, or pass --kernel)"
                : $"{kernelPath}: no such file");
        byte[] kernel;
        try { kernel = File.ReadAllBytes(kernelPath); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UkpackException($"{kernelPath}: {e.Message}"); }
        if (kernel.Length < 4 || kernel[0] != 0x7f || kernel[1] != (byte)'E' || kernel[2] != (byte)'L' || kernel[3] != (byte)'F')
            throw new UkpackException($"{kernelPath}: kernel is not an ELF file");

        // Environment.
        var env = o.Env.Count > 0 ? o.Env.ToList() : DefaultEnv.ToList();
        foreach (var kv in env)
        {
            int eq = kv.IndexOf('=');
            if (eq <= 0) throw new UkpackException($"--env {kv}: expected K=V");
            if (kv.Contains('\0')) throw new UkpackException("--env: NUL byte in value");
        }
        foreach (var a in o.Args) if (a.Contains('\0')) throw new UkpackException("argument contains a NUL byte");

        // Root filesystem and the program's place in it.
        RootFsBuilder fs;
        string programPath;
        var appFull = Path.GetFullPath(o.App);
        if (o.Fs != null)
        {
            fs = RootFsBuilder.FromDirectory(o.Fs);
            tarball?.ApplyTo(fs);
            var fsFull = Path.GetFullPath(o.Fs).TrimEnd('/');
            if (appFull.StartsWith(fsFull + "/", StringComparison.Ordinal))
                programPath = appFull[fsFull.Length..];
            else
            {
                programPath = "/app/" + Path.GetFileName(appFull);
                fs.AddHostFile(programPath, appFull);
            }
        }
        else
        {
            fs = new RootFsBuilder();
            programPath = "/app/" + Path.GetFileName(appFull);
            fs.AddHostFile(programPath, appFull);
        }
        foreach (var (guest, host) in o.Files) AddTree(fs, guest, host);
        // Every ELF object's libraries (the program's, and those of modules and plugins in
        // the tree), resolved as ld.so would; -v says what was added and why.
        var closure = LibraryClosure.Resolve(programPath, appFull, o.Fs, ownInterp, env, log);
        foreach (var a in closure.AddedFiles)
            if (fs.Find(a.GuestPath) == null) fs.AddHostFile(a.GuestPath, a.HostPath);
        foreach (var w in closure.Warnings) log.LogWarning("{Warning}", w);
        foreach (var w in fs.Warnings) log.LogWarning("{Warning}", w);
        foreach (var (path, contents) in DefaultEtc)
            if (fs.AddFileIfMissing(path, contents)) log.LogInformation("supplied {Path}", path);
        if (fs.Find("/tmp") == null) fs.MkdirP("/tmp")!.Mode = Kernel.Fs.RootFsFormat.S_IFDIR | 0x3ff /*1777*/;

        var argv = new List<string> { programPath };
        argv.AddRange(o.Args);
        var output = o.Output ?? Path.GetFileName(appFull) + ".img";
        if (o.RootDisk)
        {
            // The kernel mounts /proc and /dev on the disk's directories: made here, so that a
            // boot writes nothing.
            foreach (var d in new[] { "/proc", "/dev" })
                if (fs.Find(d) == null) fs.MkdirP(d);
            RootDisk.WriteImageFile(output, kernel, argv, env, programPath, fs, o.RootDiskSize, log);
        }
        else ImageWriter.WriteImageFile(output, kernel, argv, env, programPath, fs);
        log.LogInformation("wrote {Output}: program {Program} ({Type}, entry 0x{Entry:x}), {Size} bytes",
            output, programPath, elf.HasInterp() ? "dynamic" : elf.IsPie() ? "static-pie" : "static", elf.Entry, new FileInfo(output).Length);
        // The system calls the image's code can make, against the kernel's table (one line;
        // `ukpack check` has the details).
        // A tree with very many libraries (a whole distribution root) would make every build
        // slow: then only the program's own load closure is checked here.
        try
        {
            var objects = closure.Objects.Count <= MaxCheckedObjects ? closure.Objects
                : SyscallCheck.LoadClosure(programPath, closure.Objects);
            var summary = SyscallCheck.Analyze(programPath, objects).Summary();
            if (objects.Count < closure.Objects.Count) summary += $" (the program's libraries only: the tree has {closure.Objects.Count} ELF objects)";
            Console.Out.WriteLine(summary);
        }
        catch (Exception e) when (e is not UkpackException)
        {
            log.LogWarning("check: could not analyze {Program}: {Message}", programPath, e.Message);
        }
        return 0;
    }
}
