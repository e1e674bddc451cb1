using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace BootTests;

/// <summary>The repository and the built artefacts the boot tests use (made by `make`).</summary>
public static class Repo
{
    static readonly Lazy<string> _root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kernel.sln")) || File.Exists(Path.Combine(d.FullName, "Makefile")))
                return d.FullName;
        throw new InvalidOperationException("repository root (Kernel.sln or Makefile) not found above " + AppContext.BaseDirectory);
    });

    public static string Root => _root.Value;

    public static string Kernel
    {
        get
        {
            var k = Path.Combine(Root, "out", "kernel.elf");
            File.Exists(k).Should().BeTrue($"{k} is built by `make` (the boot tests do not build it)");
            return k;
        }
    }

    public static string Ukpack
    {
        get
        {
            var u = Path.Combine(Root, "out", "ukpack");
            File.Exists(u).Should().BeTrue($"{u} is built by `make`");
            return u;
        }
    }

    static readonly TestShared.TempDirs _temps = new("boottest-");

    /// <summary>A fresh directory, removed when the test process exits (tests/Shared/TempDirs.cs).
    /// Mode 0755, as a root file system's top directory is (CreateTempSubdirectory makes it
    /// 0700, and the kernel checks permissions: a tree packed from it would let only root
    /// search "/").</summary>
    public static string TempDir()
    {
        var d = _temps.Make();
        File.SetUnixFileMode(d, (UnixFileMode)0x1ed);
        return d;
    }

    public static string? Which(string exe)
    {
        if (exe.Contains('/')) return File.Exists(exe) ? exe : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, exe);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}

/// <summary>What one QEMU boot produced.</summary>
public sealed record BootResult(string Machine, string Append, int ExitCode, string Log, TimeSpan Elapsed)
{
    public const int Normal = 1;      // isa-debug-exit value 0
    public const int Panic = 253;     // isa-debug-exit value 0x7e

    public override string ToString() => $"-M {Machine} -append \"{Append}\": QEMU status {ExitCode} after {Elapsed.TotalSeconds:F2} s; log:\n{Log}";

    public string[] Lines => Log.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    static readonly Regex LogLine = new(@"^\[ *\d+\.\d{6}\] [EWID] ", RegexOptions.Compiled);

    /// <summary>Every line is a well-formed log line (or an @@ marker), timestamps never go back.</summary>
    public void ShouldBeWellFormed()
    {
        double last = 0;
        foreach (var l in Lines)
        {
            if (l.StartsWith("@@")) continue;
            LogLine.IsMatch(l).Should().BeTrue("log line [{0}] should look like `[    0.012345] I text`\n{1}", l, this);
            double t = double.Parse(l[1..l.IndexOf(']')], System.Globalization.CultureInfo.InvariantCulture);
            t.Should().BeGreaterThanOrEqualTo(last, "timestamps are monotonic\n{0}", this);
            last = t;
        }
    }

    public void ShouldNotPanic()
    {
        Log.Should().NotContain("panic", "no panic expected\n{0}", this);
        ExitCode.Should().NotBe(Panic, "no panic expected\n{0}", this);
    }
}

/// <summary>Boots out/kernel.elf under QEMU TCG with the kernel log on debugcon.</summary>
public static class Qemu
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static string Exe =>
        Repo.Which(Environment.GetEnvironmentVariable("QEMU") ?? "qemu-system-x86_64")
        ?? throw new InvalidOperationException("qemu-system-x86_64 is missing: apt-get install qemu-system-x86");

    /// <summary>
    /// Boots and waits for QEMU to exit. Fails the test on a timeout, or when the log has the
    /// end marker (`@@UKEXIT`, or a panic's backtrace) but QEMU does not power off soon after.
    /// </summary>
    public static BootResult Boot(string machine, string append, string? initrd = null, TimeSpan? timeout = null, IEnumerable<string>? extraArgs = null)
    {
        var dir = Repo.TempDir();
        var log = Path.Combine(dir, "kernel.log");
        var psi = new ProcessStartInfo(Exe)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            "-M", machine, "-accel", "tcg", "-cpu", "max", "-m", "512M", "-nodefaults", "-no-user-config",
            "-display", "none", "-no-reboot", "-kernel", Repo.Kernel, "-append", append,
            "-chardev", $"file,id=log,path={log}", "-device", "isa-debugcon,iobase=0xe9,chardev=log",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        }) psi.ArgumentList.Add(a);
        if (initrd != null) { psi.ArgumentList.Add("-initrd"); psi.ArgumentList.Add(initrd); }
        foreach (var a in extraArgs ?? []) psi.ArgumentList.Add(a);

        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        var limit = timeout ?? DefaultTimeout;
        TimeSpan? endSeen = null;
        while (!p.WaitForExit(50))
        {
            if (sw.Elapsed > limit)
            {
                Kill(p);
                throw new TimeoutException($"QEMU -M {machine} -append \"{append}\" still running after {limit.TotalSeconds} s; log:\n{ReadLog(log)}");
            }
            if (endSeen == null && HasEndMarker(ReadLog(log))) endSeen = sw.Elapsed;
            if (endSeen != null && sw.Elapsed - endSeen > TimeSpan.FromSeconds(10))
            {
                Kill(p);
                throw new TimeoutException($"the kernel logged its last line but QEMU -M {machine} did not power off within 10 s; log:\n{ReadLog(log)}");
            }
        }
        p.WaitForExit();
        sw.Stop();
        var text = ReadLog(log);
        if (p.ExitCode != BootResult.Normal && p.ExitCode != BootResult.Panic && text.Length == 0)
            throw new InvalidOperationException($"QEMU failed (status {p.ExitCode}): {se.Result}{so.Result}");
        return new BootResult(machine, append, p.ExitCode, text, sw.Elapsed);
    }

    static bool HasEndMarker(string log) =>
        log.Contains("\n@@UKEXIT ") || log.StartsWith("@@UKEXIT ") || log.Contains("@@END syscalls.md\n") || log.Contains(" run_on_stack+");

    static string ReadLog(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var r = new StreamReader(f, Encoding.UTF8);
            return r.ReadToEnd();
        }
        catch (FileNotFoundException) { return ""; }
    }

    static void Kill(Process p)
    {
        try { p.Kill(true); p.WaitForExit(5000); } catch { }
    }
}

/// <summary>Runs a host program with byte-exact stdin, stdout and stderr.</summary>
public static class Host
{
    public sealed record Result(int Code, byte[] Out, byte[] Err, TimeSpan Elapsed)
    {
        public string OutText => Encoding.UTF8.GetString(Out);
        public string ErrText => Encoding.UTF8.GetString(Err);
        public override string ToString() => $"status {Code} after {Elapsed.TotalSeconds:F2} s\nstdout: [{OutText}]\nstderr: [{ErrText}]";
    }

    public static Result Run(string exe, IEnumerable<string> args, byte[]? stdin = null, TimeSpan? timeout = null, string? cwd = null)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = cwd ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // out/ukpack execs `dotnet`: make sure the SDK running these tests is on PATH.
        var dotnetDir = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (Repo.Which("dotnet") == null && dotnetDir != null)
            psi.Environment["PATH"] = dotnetDir + ":" + Environment.GetEnvironmentVariable("PATH");
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var outMs = new MemoryStream();
        var errMs = new MemoryStream();
        var so = p.StandardOutput.BaseStream.CopyToAsync(outMs);
        var se = p.StandardError.BaseStream.CopyToAsync(errMs);
        var si = Task.Run(() =>
        {
            try
            {
                if (stdin != null) p.StandardInput.BaseStream.Write(stdin);
                p.StandardInput.Close();
            }
            catch (IOException) { }   // the program exited without reading everything
        });
        var limit = timeout ?? TimeSpan.FromSeconds(90);
        if (!p.WaitForExit(limit))
        {
            try { p.Kill(true); } catch { }
            throw new TimeoutException($"{exe} {string.Join(' ', args)} still running after {limit.TotalSeconds} s");
        }
        p.WaitForExit();
        Task.WaitAll([so, se], TimeSpan.FromSeconds(10));
        si.Wait(TimeSpan.FromSeconds(10));
        return new Result(p.ExitCode, outMs.ToArray(), errMs.ToArray(), sw.Elapsed);
    }
}
