using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Ukpack;

public sealed record RunOptions
{
    public required string Image { get; init; }
    public string Accel { get; init; } = "tcg";
    public string Memory { get; init; } = "512M";
    public int Smp { get; init; } = 1;
    public string Machine { get; init; } = "microvm";
    public bool Verbose { get; init; }
    public int? LogLevel { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public double? TimeoutSeconds { get; init; }
    public string? Qemu { get; init; }
    /// <summary>Collect at every N-th kernel allocation (testing the kernel's collector); 0 off.</summary>
    public int GcStress { get; init; }
    /// <summary>Raw files attached as virtio-blk disks, /dev/vda first.</summary>
    public IReadOnlyList<DiskSpec> Disks { get; init; } = [];
    /// <summary>ext4 volume files mounted at guest paths before the program starts; attached
    /// as virtio-blk disks after Disks.</summary>
    public IReadOnlyList<VolumeSpec> Volumes { get; init; } = [];
    /// <summary>Attach a virtio-rng (the guest's random source mixes it with RDRAND). Off by
    /// default: RDRAND suffices under -cpu max, and each device costs boot time.</summary>
    public bool Rng { get; init; }
    /// <summary>Carry the program's stdio over the serial ports (the fallback, ~30 KB/s in)
    /// instead of virtio-console ports.</summary>
    public bool SerialStdio { get; init; }
    /// <summary>--strace[=FILE]: the kernel logs every system call; "-" is stderr.</summary>
    public string? Strace { get; init; }
    /// <summary>-e K=V: changes to the image's environment for this run.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];
    /// <summary>The guest's network (NetOptions.cs): none unless asked for.</summary>
    public NetSpec Net { get; init; } = NetSpec.None;
    /// <summary>--gdb[=PORT]: QEMU's gdb stub on this port, the guest halted for gdb (GdbSession.cs).</summary>
    public int? GdbPort { get; init; }
    /// <summary>The image's root disk (ukpack build --root-disk): attached after Disks and
    /// Volumes, read from the image file at its offset, with snapshot=on.</summary>
    public RootDiskDrive? RootDisk { get; init; }
}

/// <summary>The ext4 part of a --root-disk image as QEMU's drive: the image file through the
/// raw driver's offset= and size=, snapshot=on (a run's writes go to a temporary overlay,
/// never to the image).</summary>
public sealed record RootDiskDrive(string ImagePath, long Offset, long Length)
{
    public string DriveOption(string id) =>
        $"if=none,id={id},driver=raw,offset={Offset},size={Length},file.driver=file,file.filename={ImagePath.Replace(",", ",,")},snapshot=on";
}

/// <summary>`--volume FILE:/guest/path[:ro]`: an ext4 volume file (ukpack volume create)
/// the kernel mounts at the guest path before the program starts.</summary>
public sealed record VolumeSpec(string Path, string GuestPath, bool ReadOnly)
{
    public static VolumeSpec Parse(string spec)
    {
        bool ro = false;
        string s = spec;
        if (s.EndsWith(":ro", StringComparison.Ordinal)) { ro = true; s = s[..^3]; }
        else if (s.EndsWith(":rw", StringComparison.Ordinal)) s = s[..^3];
        int c = s.IndexOf(":/", StringComparison.Ordinal);
        if (c <= 0) throw new UkpackException($"--volume {spec}: expected FILE:/guest/path[:ro]");
        string guest = s[(c + 1)..];
        if (guest.Trim('/').Length == 0) throw new UkpackException($"--volume {spec}: a volume cannot be mounted on /");
        if (guest.Split('/').Contains("..")) throw new UkpackException($"--volume {spec}: the guest path must not contain ..");
        if (Encoding.UTF8.GetByteCount(guest) >= 1024) throw new UkpackException($"--volume {spec}: the guest path is too long");
        var d = DiskSpec.Parse(s[..c] + (ro ? ":ro" : ""));
        return new VolumeSpec(d.Path, guest, ro);
    }

    /// <summary>The kernel's volumes= option for volumes attached from disk index `first` on.</summary>
    public static string KernelOption(IReadOnlyList<VolumeSpec> volumes, int first)
    {
        if (volumes.Count == 0) return "";
        var parts = volumes.Select((v, i) => $"{first + i}:{(v.ReadOnly ? "ro" : "rw")}:{Convert.ToHexString(Encoding.UTF8.GetBytes(v.GuestPath)).ToLowerInvariant()}");
        return " volumes=" + string.Join(",", parts);
    }
}

/// <summary>`--disk FILE[:ro]`: a raw file the guest sees as a virtio-blk disk.</summary>
public sealed record DiskSpec(string Path, bool ReadOnly)
{
    public const int Max = 26;

    public static DiskSpec Parse(string spec)
    {
        bool ro = false;
        string path = spec;
        if (spec.EndsWith(":ro", StringComparison.Ordinal)) { ro = true; path = spec[..^3]; }
        else if (spec.EndsWith(":rw", StringComparison.Ordinal)) path = spec[..^3];
        if (path.Length == 0) throw new UkpackException($"--disk {spec}: no file named");
        if (Directory.Exists(path)) throw new UkpackException($"--disk {path}: is a directory (a raw disk image file is expected)");
        if (!File.Exists(path)) throw new UkpackException($"--disk {path}: no such file (create one with: truncate -s 64M {path})");
        if (!ro)
        {
            try { using var _ = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite); }
            catch (UnauthorizedAccessException) { throw new UkpackException($"--disk {path}: not writable (attach it read-only with {path}:ro)"); }
            catch (IOException e) { throw new UkpackException($"--disk {path}: {e.Message}"); }
        }
        return new DiskSpec(System.IO.Path.GetFullPath(path), ro);
    }
}

public static class QemuRunner
{
    public const int ExitTimeout = 124;
    public const int ExitFailure = 125;
    public const int ExitInterrupted = 130;
    /// <summary>QEMU's status after isa-debug-exit with value 0x7e: kernel panic.</summary>
    public const int QemuPanicStatus = (0x7e << 1) | 1;
    /// <summary>QEMU's status after isa-debug-exit with value 0: program exit.</summary>
    public const int QemuProgramExitStatus = (0 << 1) | 1;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "isatty")]
    static extern int isatty(int fd);

    public static bool IsTerminal(int fd)
    {
        try { return isatty(fd) == 1; } catch (DllNotFoundException) { return false; }
    }

    public static string StdioSocket(string dir) => Path.Combine(dir, "stdio.sock");
    public static string StderrSocket(string dir) => Path.Combine(dir, "stderr.sock");
    public static string LogSocket(string dir) => Path.Combine(dir, "log.sock");

    /// <summary>The kernel command line (-append): log=N and, when run-time arguments are
    /// given, argv=HEX (the image's argv[0] followed by them, NUL-terminated, hex).</summary>
    public static string KernelCommandLine(int logLevel, IReadOnlyList<string>? argvOverride, int ttyMask = 0, int gcStress = 0, bool strace = false,
        IReadOnlyList<string>? envOverride = null)
    {
        var sb = new StringBuilder($"log={logLevel}");
        if (strace) sb.Append(" strace=1");
        if (gcStress > 0) sb.Append(" gcstress=").Append(gcStress);
        // Which of our stdin/stdout/stderr are terminals: the program sees the same (isatty,
        // TCGETS), so it behaves as it would if run directly.
        if (ttyMask != 0) sb.Append(" tty=").Append(ttyMask);
        if (argvOverride is { Count: > 0 })
            sb.Append(" argv=").Append(Convert.ToHexStringLower(ImageWriter.StringList(argvOverride)));
        if (envOverride is { Count: > 0 })
            sb.Append(" env=").Append(Convert.ToHexStringLower(ImageWriter.StringList(envOverride)));
        return sb.ToString();
    }

    /// <summary>THE QEMU command line (arguments after the executable). Serial ordering:
    /// -serial creates the board's first ISA serial (COM1, 0x3f8, program stdin/stdout);
    /// the -device isa-serial is realized after it and gets the next index (COM2, 0x2f8,
    /// program stderr). -nodefaults removes pc/q35's own COM ports and monitor.</summary>
    public static List<string> BuildQemuArgs(RunOptions o, string image, string sockDir, string append)
    {
        var cpu = "max";
        return
        [
            "-M", o.Machine,
            // Several vCPUs under TCG: one host thread each (MTTCG), so they really run in parallel.
            "-accel", o.Accel == "tcg" && o.Smp > 1 ? "tcg,thread=multi" : o.Accel,
            "-cpu", cpu,
            "-m", o.Memory,
            "-smp", o.Smp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", image,
            "-initrd", image,
            "-append", append,
            .. StdioArgs(o, sockDir),
            "-chardev", $"socket,id=c3,path={LogSocket(sockDir)}",
            "-device", "isa-debugcon,iobase=0xe9,chardev=c3",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            .. VirtioArgs(o),
            .. o.Net.QemuArgs(o.Machine, o.Disks.Count > 0 || o.Volumes.Count > 0 || o.Rng || o.RootDisk != null),
        ];
    }

    /// <summary>The program's stdio channels: the stdio socket (stdin in, stdout out) and the
    /// stderr socket, on virtio-console ports 1 and 2 (virtserialport, which holds the guest
    /// back rather than dropping bytes when the socket is full) or, with SerialStdio, on
    /// COM1 and COM2. The bytes on each socket are the same either way (docs/image-format.md).</summary>
    public static List<string> StdioArgs(RunOptions o, string sockDir)
    {
        var a = new List<string>
        {
            "-chardev", $"socket,id=c1,path={StdioSocket(sockDir)}",
        };
        if (o.SerialStdio)
        {
            a.AddRange(["-serial", "chardev:c1", "-chardev", $"socket,id=c2,path={StderrSocket(sockDir)}", "-device", "isa-serial,chardev=c2"]);
            return a;
        }
        a.AddRange(["-chardev", $"socket,id=c2,path={StderrSocket(sockDir)}"]);
        if (o.Machine.StartsWith("microvm", StringComparison.Ordinal))
            a.AddRange(["-global", "virtio-mmio.force-legacy=false", "-device", "virtio-serial-device,max_ports=3"]);
        else
            a.AddRange(["-device", "virtio-serial-pci,disable-legacy=on,max_ports=3"]);
        a.AddRange(["-device", "virtserialport,chardev=c1,nr=1", "-device", "virtserialport,chardev=c2,nr=2"]);
        return a;
    }

    /// <summary>The kernel command-line word that puts stdio on the virtio-console ports.</summary>
    public static string StdioKernelOption(RunOptions o) => o.SerialStdio ? "" : " stdio=virtio";

    /// <summary>The virtio devices, per machine type (docs/virtio.md): virtio-mmio on microvm
    /// (modern, not QEMU's legacy default), virtio-pci on pc and q35 (modern-only).</summary>
    public static List<string> VirtioArgs(RunOptions o)
    {
        var a = new List<string>();
        if (o.Disks.Count == 0 && o.Volumes.Count == 0 && !o.Rng && o.RootDisk == null) return a;
        bool mmio = o.Machine.StartsWith("microvm", StringComparison.Ordinal);
        if (mmio) a.AddRange(["-global", "virtio-mmio.force-legacy=false"]);
        string suffix = mmio ? "-device" : "-pci,disable-legacy=on";
        var disks = o.Disks.Concat(o.Volumes.Select(v => new DiskSpec(v.Path, v.ReadOnly))).ToList();
        for (int i = 0; i < disks.Count; i++)
        {
            var d = disks[i];
            a.Add("-drive");
            a.Add($"if=none,id=vd{i},file={d.Path.Replace(",", ",,")},format=raw{(d.ReadOnly ? ",readonly=on" : "")}");
            a.Add("-device");
            a.Add($"virtio-blk{suffix},drive=vd{i}");
        }
        if (o.RootDisk is { } root)
        {
            a.Add("-drive");
            a.Add(root.DriveOption($"vd{disks.Count}"));
            a.Add("-device");
            a.Add($"virtio-blk{suffix},drive=vd{disks.Count}");
        }
        if (o.Rng) { a.Add("-device"); a.Add($"virtio-rng{suffix}"); }
        return a;
    }

    public static string? FindOnPath(string exe)
    {
        if (exe.Contains('/')) return File.Exists(exe) ? exe : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, exe);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    static void Err(string line)
    {
        lock (Console.Error) { Console.Error.WriteLine(line); Console.Error.Flush(); }
    }

    /// <summary>How long a program has to exit after `ukpack run` got SIGTERM.</summary>
    public const int StopGraceSeconds = 10;

    /// <summary>Boots the image and relays the channels. Returns ukpack's exit status.</summary>
    public static async Task<int> RunAsync(RunOptions o, ILogger log)
    {
        // 1. Validate before launching anything.
        Help.Preflight(o);
        var img = ImageFile.Open(o.Image);
        var imagePath = Path.GetFullPath(o.Image);
        var qemu = o.Qemu ?? Environment.GetEnvironmentVariable("UKPACK_QEMU") ?? "qemu-system-x86_64";
        var qemuPath = FindOnPath(qemu)
            ?? throw new UkpackException($"{qemu} not found (install QEMU: apt-get install qemu-system-x86, or name it with --qemu or $UKPACK_QEMU)");
        List<string>? argvOverride = null;
        if (o.Args.Count > 0)
        {
            var argv0 = img.Argv.FirstOrDefault() ?? img.Program;
            argvOverride = [argv0, .. o.Args];
        }
        int logLevel = o.LogLevel ?? (o.Verbose ? 2 : 1);
        int ttyMask = (IsTerminal(0) ? 1 : 0) | (IsTerminal(1) ? 2 : 0) | (IsTerminal(2) ? 4 : 0);
        var envOverride = o.Env.Count > 0 ? UkpackConfig.MergeEnv(img.Env, o.Env) : null;
        var append = KernelCommandLine(logLevel, argvOverride, ttyMask, o.GcStress, o.Strace != null, envOverride) + StdioKernelOption(o) + o.Net.KernelArgs()
            + VolumeSpec.KernelOption(o.Volumes, o.Disks.Count) + (o.GdbPort != null ? " gdb=1" : "");
        // A root disk comes after the disks and volumes, so that theirs keep their names.
        if (img.Disk is { } disk)
        {
            if (o.Disks.Count + o.Volumes.Count + 1 > DiskSpec.Max) throw new UkpackException($"--disk, --volume: at most {DiskSpec.Max - 1} disks beside the image's root disk");
            o = o with { RootDisk = new RootDiskDrive(imagePath, disk.DiskOffset, disk.DiskLength) };
            append += $" rootdisk={o.Disks.Count + o.Volumes.Count}";
        }
        if (o.GdbPort is { } gdbPort) GdbSession.CheckPortFree(gdbPort);
        using var straceOut = StraceWriter.Open(o.Strace);

        // 2. Sockets first, so QEMU (the client) loses no output.
        var dir = Directory.CreateTempSubdirectory("ukpack-").FullName;
        var listeners = new List<Socket>();
        Process? proc = null;
        using var cts = new CancellationTokenSource();
        int interrupted = 0;
        void OnSignal(PosixSignalContext ctx) { ctx.Cancel = true; Interlocked.Exchange(ref interrupted, 1); cts.Cancel(); }
        // SIGTERM asks the program to stop, as `docker stop` does: the kernel sends pid 1 a
        // SIGTERM (FF 07 on the channels), and QEMU ends when the program exits. A second
        // SIGTERM, or StopGraceSeconds without an exit, kills QEMU as SIGINT does at once.
        Action<byte[]>? notifyGuest = null;
        int stopRequested = 0;
        void OnTerm(PosixSignalContext ctx)
        {
            var notify = Volatile.Read(ref notifyGuest);
            if (notify != null && Interlocked.Exchange(ref stopRequested, 1) == 0)
            {
                ctx.Cancel = true;
                notify(StdinCodec.StopSequence);
                _ = Task.Delay(TimeSpan.FromSeconds(StopGraceSeconds)).ContinueWith(_ => { Interlocked.Exchange(ref interrupted, 1); cts.Cancel(); });
                return;
            }
            OnSignal(ctx);
        }
        using var sigInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnTerm);
        try
        {
            Socket Listen(string path)
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                s.Bind(new UnixDomainSocketEndPoint(path));
                s.Listen(1);
                listeners.Add(s);
                return s;
            }
            var lStdio = Listen(StdioSocket(dir));
            var lStderr = Listen(StderrSocket(dir));
            var lLog = Listen(LogSocket(dir));

            // QEMU reads all of an -initrd file into memory: a root-disk image's head only.
            string bootFile = imagePath;
            if (o.RootDisk != null)
            {
                bootFile = Path.Combine(dir, "head.img");
                File.WriteAllBytes(bootFile, img.Bytes);
            }
            var qargs = BuildQemuArgs(o, bootFile, dir, append);
            if (o.GdbPort is { } port)
            {
                qargs.AddRange(GdbSession.QemuArgs(port));
                string script = GdbSession.Prepare(img, dir, port);
                Err($"ukpack: the guest waits for gdb on 127.0.0.1:{port}; in another terminal run:");
                Err($"  gdb -x {script}");
            }
            log.LogInformation("{Cmd}", qemuPath + " " + string.Join(' ', qargs.Select(ShellQuote)));
            var psi = new ProcessStartInfo(qemuPath)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in qargs) psi.ArgumentList.Add(a);
            var qemuOut = new StringBuilder();
            try { proc = Process.Start(psi) ?? throw new UkpackException($"cannot start {qemuPath}"); }
            catch (System.ComponentModel.Win32Exception e) { throw new UkpackException($"cannot start {qemuPath}: {e.Message}"); }
            proc.StandardInput.Close();
            proc.OutputDataReceived += (_, e) => { if (e.Data != null) lock (qemuOut) qemuOut.AppendLine(e.Data); };
            proc.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (qemuOut) qemuOut.AppendLine(e.Data); };
            proc.BeginOutputReadLine();
            proc.BeginErrorReadLine();

            // 3. Relays.
            // Plain write(2) on fds 1 and 2 (see FdStream): we must notice when our reader goes
            // away (see Pump), and must not overwrite what others wrote to the same file.
            var stdout = new FdStream(1);
            var stderr = new FdStream(2);
            var logState = new LogState(o.Verbose) { Strace = straceOut };
            var relayCts = new CancellationTokenSource();
            Socket? stdioSocket = null, stderrSocket = null;
            // A notice goes towards the stderr channel and in the stdin stream: a kernel on
            // virtio-console reads the former at once, so the notice arrives even when unread
            // stdin fills the latter (the serial kernel does not read COM2's input). The stdin
            // stream's copy is sent from its own task: PumpStdin may hold that socket, blocked
            // on a guest that reads no input, and the relay calling us must keep draining.
            static void Send(Socket? sock, byte[] sequence)
            {
                if (sock == null) return;
                try { lock (sock) sock.Send(sequence); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            }
            void Notify(byte[] sequence)
            {
                Send(Volatile.Read(ref stderrSocket), sequence);
                var stdio = Volatile.Read(ref stdioSocket);
                StartThread(() => Send(stdio, sequence), "ukpack notice");
            }
            Volatile.Write(ref notifyGuest, Notify);
            var tStdio = Task.Run(async () =>
            {
                using var c = await lStdio.AcceptAsync(relayCts.Token);
                stdioSocket = c;
                StartThread(() => PumpStdin(c), "ukpack stdin");
                await Pump(c, stdout, null, relayCts.Token, () => Notify(StdinCodec.StdoutClosedSequence));
            });
            var tStderr = Task.Run(async () =>
            {
                using var c = await lStderr.AcceptAsync(relayCts.Token);
                stderrSocket = c;
                await Pump(c, stderr, null, relayCts.Token, () => Notify(StdinCodec.StderrClosedSequence));
            });
            var tLog = Task.Run(async () =>
            {
                using var c = await lLog.AcceptAsync(relayCts.Token);
                await Pump(c, null, logState, relayCts.Token);
            });

            // 4. Wait for QEMU, a timeout or a signal.
            var exited = proc.WaitForExitAsync(CancellationToken.None);
            var stop = new List<Task> { exited, Task.Delay(Timeout.Infinite, cts.Token) };
            if (o.TimeoutSeconds is { } secs && secs > 0) stop.Add(Task.Delay(TimeSpan.FromSeconds(secs)));
            var first = await Task.WhenAny(stop);
            if (first != exited)
            {
                KillQuietly(proc);
                await Task.WhenAny(exited, Task.Delay(5000));
                relayCts.Cancel();
                await DrainAsync(tStdio, tStderr, tLog);
                if (Volatile.Read(ref interrupted) != 0) { Err("ukpack: interrupted"); return ExitInterrupted; }
                Err($"ukpack: timed out after {o.TimeoutSeconds} s; QEMU killed");
                return ExitTimeout;
            }
            await proc.WaitForExitAsync(); // and the async stdout/stderr readers

            // 5. QEMU closed its end of the sockets: let the relays drain, then stop them.
            var drained = Task.WhenAll(tStdio, tStderr, tLog);
            await Task.WhenAny(drained, Task.Delay(2000));
            relayCts.Cancel();
            foreach (var l in listeners) l.Dispose();
            await DrainAsync(tStdio, tStderr, tLog);
            logState.Flush();

            // Ctrl-C in a terminal reaches QEMU too, which may exit before we notice.
            if (Volatile.Read(ref interrupted) != 0) { Err("ukpack: interrupted"); return ExitInterrupted; }
            int code = proc.ExitCode;
            string qemuText;
            lock (qemuOut) qemuText = qemuOut.ToString().Trim();
            if (o.Verbose && qemuText.Length > 0) Err(qemuText);
            return Outcome(code, logState, qemuText);
        }
        finally
        {
            if (proc is { HasExited: false }) KillQuietly(proc);
            proc?.Dispose();
            foreach (var l in listeners) l.Dispose();
            try { Directory.Delete(dir, true); } catch { }
        }
    }

    /// <summary>Maps QEMU's exit status and the kernel log to ukpack's exit status.</summary>
    public static int Outcome(int qemuStatus, LogState log, string qemuText)
    {
        if (log.ExitStatus is { } st) return st;
        if (qemuStatus == QemuPanicStatus)
        {
            Err("ukpack: kernel panic");
            foreach (var l in log.UnshownLastLines) Err("  " + l);
            return ExitFailure;
        }
        // QEMU's own failures also exit with status 1 (= debug-exit value 0), so what it
        // printed decides: a guest that powered off normally makes QEMU print nothing.
        var firstQemuLine = qemuText.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (firstQemuLine != null && (qemuStatus == QemuProgramExitStatus || (qemuStatus & 1) == 0))
        {
            Err($"ukpack: error: QEMU failed (status {qemuStatus}): {firstQemuLine.Trim()}");
            foreach (var l in log.UnshownLastLines) Err("  " + l);
            return ExitFailure;
        }
        if (qemuStatus == QemuProgramExitStatus)
        {
            Err("ukpack: error: the guest powered off without reporting an exit status");
            foreach (var l in log.UnshownLastLines) Err("  " + l);
            return ExitFailure;
        }
        if ((qemuStatus & 1) == 1 && qemuStatus > 1)
        {
            Err($"ukpack: error: the kernel stopped with debug-exit code 0x{qemuStatus >> 1:x} and no exit status");
            foreach (var l in log.UnshownLastLines) Err("  " + l);
            return ExitFailure;
        }
        var firstLine = qemuText.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        Err(firstLine != null
            ? $"ukpack: error: QEMU failed (status {qemuStatus}): {firstLine.Trim()}"
            : $"ukpack: error: QEMU exited (status {qemuStatus}) before the program reported an exit status");
        foreach (var l in log.UnshownLastLines) Err("  " + l);
        return ExitFailure;
    }

    /// <summary>Work that blocks (reading our stdin, sending into a full socket) gets a thread
    /// of its own: on the thread pool it could hold the threads the relays need, and the
    /// pool adds threads only slowly (the relays could then miss the 2 s drain at the end of a run).</summary>
    static void StartThread(Action work, string name) =>
        new Thread(() => work()) { IsBackground = true, Name = name }.Start();

    static async Task DrainAsync(params Task[] tasks)
    {
        try { await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(2)); } catch { }
    }

    static void KillQuietly(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch { }
    }

    /// <summary>Relays a guest channel to `output` (and/or the log). When our reader closes
    /// `output` (EPIPE), `closed` tells the guest, and the rest of the channel is drained
    /// and dropped.</summary>
    static async Task Pump(Socket s, Stream? output, LogState? log, CancellationToken ct, Action? closed = null)
    {
        var buf = new byte[16384];
        try
        {
            while (true)
            {
                int n = await s.ReceiveAsync(buf, SocketFlags.None, ct);
                if (n <= 0) break;
                if (output != null)
                {
                    try { output.Write(buf, 0, n); output.Flush(); }
                    catch (IOException) { output = null; closed?.Invoke(); }
                }
                log?.Feed(buf.AsSpan(0, n));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException) { }
    }

    /// <summary>ukpack's stdin -> COM1, escaped; FF 04 at end of input.</summary>
    static void PumpStdin(Socket s)
    {
        try
        {
            using var stdin = Console.OpenStandardInput();
            var buf = new byte[4096];
            var enc = new byte[8192];
            int n;
            while ((n = stdin.Read(buf, 0, buf.Length)) > 0)
            {
                int m = StdinCodec.Encode(buf.AsSpan(0, n), enc);
                lock (s) s.Send(enc.AsSpan(0, m));      // whole escaped chunks, between notices
            }
            lock (s) s.Send(StdinCodec.EofSequence);
        }
        catch { /* guest gone */ }
    }

    static string ShellQuote(string a) =>
        a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_=.,:/@+".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}

/// <summary>Splits the debugcon stream into lines; prints them per verbosity; remembers
/// the exit status and the last lines (for panic reports).</summary>
public sealed class LogState(bool verbose)
{
    readonly List<byte> _partial = [];
    readonly Queue<(string Line, bool Shown)> _last = new();
    public const int KeepLines = 20;
    public int? ExitStatus { get; private set; }
    public IEnumerable<string> LastLines => _last.Select(l => l.Line);
    /// The last lines not already printed (as verbose output or as an error report), for the
    /// end-of-run summaries: a panic is shown once, with or without -v.
    public IEnumerable<string> UnshownLastLines => _last.Where(l => !l.Shown).Select(l => l.Line);
    public List<string>? Captured { get; set; } // tests: collect what would be printed
    /// <summary>Where the kernel's strace lines go (`--strace`); dropped when null.</summary>
    public StraceWriter? Strace { get; set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            if (b == (byte)'\n') Line();
            else if (b != (byte)'\r') _partial.Add(b);
        }
    }

    /// Ends the log: a partial last line counts, and the held-back reports are printed.
    public void Flush()
    {
        if (_partial.Count > 0) Line();
        foreach (var r in _reports) Print(r);
        _reports.Clear();
    }

    // Without -v, error lines (a fault report, a panic) are printed after QEMU has exited
    // and the program's own stderr has been relayed, so they always come last.
    readonly List<string> _reports = [];

    void Print(string show)
    {
        if (Captured != null) { Captured.Add(show); return; }
        lock (Console.Error) { Console.Error.WriteLine(show); Console.Error.Flush(); }
    }

    void Line()
    {
        var line = Encoding.UTF8.GetString(_partial.ToArray());
        _partial.Clear();
        if (KernelLog.TryParseExit(line, out var st)) { ExitStatus = st; return; }
        if (line.StartsWith(StraceWriter.Prefix, StringComparison.Ordinal)) { Strace?.WriteLine(line[StraceWriter.Prefix.Length..]); return; }
        var (level, msg) = KernelLog.Parse(line);
        _last.Enqueue((line, verbose || level == 'E'));
        while (_last.Count > KeepLines) _last.Dequeue();
        if (verbose) { Print(line); return; }
        if (level == 'E') _reports.Add("ukpack: " + msg);
    }
}
