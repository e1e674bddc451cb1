using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace BootTests;

/// <summary>`ukpack run --gdb`: a real gdb attaches to QEMU's stub through the generated
/// script, stops at the program's first instruction with the program's and its libraries'
/// symbols loaded, and breakpoints in the program and in libc work. Also the crash line's
/// naming of code in shared objects.</summary>
public class GdbBootTests
{
    const string MarkerC = """
        #include <stdio.h>
        __attribute__((noinline)) int marker(int x) { printf("marker %d\n", x); return x * 2; }
        int main(int argc, char **argv) { int r = marker(argc); puts("done"); return r == 2 ? 3 : 4; }
        """;

    /// <summary>A program built with gcc against the host's glibc, dynamic (through ld.so)
    /// or static with musl, packed into an image.</summary>
    static string Image(string name, string source, bool dynamic)
    {
        var dir = Repo.TempDir();
        var src = Path.Combine(dir, name + ".c");
        File.WriteAllText(src, source);
        var exe = Path.Combine(dir, name);
        var cc = dynamic ? Host.Run("gcc", ["-O1", "-g", "-o", exe, src]) : Host.Run("musl-gcc", ["-static", "-O1", "-g", "-o", exe, src]);
        cc.Code.Should().Be(0, cc.ToString());
        var img = Path.Combine(dir, name + ".img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    }

    static readonly Lazy<string> Dynamic = new(() => Image("gdbdyn", MarkerC, dynamic: true));
    static readonly Lazy<string> Static = new(() => Image("gdbstatic", MarkerC, dynamic: false));

    /// <summary>Runs `ukpack run IMAGE --gdb=PORT`, then gdb in batch mode with the script
    /// ukpack names and the given commands. Returns gdb's output, the program's stdout and
    /// ukpack's exit status.</summary>
    static (string Gdb, string Out, int Code) Debug(string image, params string[] commands)
    {
        int port = NetBootTests.FreePort();
        var psi = new ProcessStartInfo(Repo.Ukpack) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "run", image, $"--gdb={port}", "--timeout", "120" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = new StringBuilder();
        var script = new TaskCompletionSource<string>();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) { script.TrySetException(new Exception("ukpack ended before naming the gdb script: " + err)); return; }
            lock (err) err.AppendLine(e.Data);
            var m = Regex.Match(e.Data, @"gdb -x (\S+)");
            if (m.Success) script.TrySetResult(m.Groups[1].Value);
        };
        var stdout = p.StandardOutput.ReadToEndAsync();
        p.BeginErrorReadLine();
        try
        {
            script.Task.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue("ukpack names the gdb script: " + err);
            var args = new List<string> { "-nx", "-batch", "-x", script.Task.Result };
            foreach (var c in commands) { args.Add("-ex"); args.Add(c); }
            var gdb = Host.Run("gdb", args, timeout: TimeSpan.FromSeconds(120));
            p.WaitForExit(120_000).Should().BeTrue("the guest runs to its end once gdb lets go\n" + gdb);
            p.WaitForExit();
            return (gdb.OutText + gdb.ErrText, stdout.Result, p.ExitCode);
        }
        finally
        {
            if (!p.HasExited) p.Kill(true);
        }
    }

    [Fact]
    public void DynamicProgram_StopsAtItsEntry_WithProgramAndLibcSymbols()
    {
        var (gdb, output, code) = Debug(Dynamic.Value,
            "info symbol $pc", "break marker", "continue", "bt", "break puts", "continue", "info symbol $pc",
            "break Kernel_Kernel_Syscalls_Sys__Write", "continue", "bt", "delete", "continue");
        gdb.Should().MatchRegex(@"Temporary breakpoint \d+, 0x[0-9a-f]+ in _start \(\)", "the first stop is the program's entry, after ld.so loaded libc");
        gdb.Should().MatchRegex(@"_start in section \.text of \S+/root/app/gdbdyn");
        gdb.Should().MatchRegex(@"Breakpoint \d+, marker \(x=1\) at \S+gdbdyn\.c:2");
        gdb.Should().MatchRegex(@"#1 +0x[0-9a-f]+ in main \(");
        gdb.Should().MatchRegex(@"puts in section \.text of \S+/root/\S*lib/x86_64-linux-gnu/libc\.so\.6");
        // In the kernel's write(2), bt goes on through the syscall frame into libc and the program.
        gdb.Should().MatchRegex(@"(?s)#0 +0x[0-9a-f]+ in Kernel_Kernel_Syscalls_Sys__Write \(\).*<signal handler called>\s+#\d+ +0x[0-9a-f]+ in \S*write.*in _start \(\)");
        // Code is paged in at once under a debugger: each breakpoint reports once.
        Regex.Matches(gdb, @"Breakpoint \d+, \S*puts").Count.Should().Be(1, gdb);
        output.Should().Be("marker 1\ndone\n", gdb);
        code.Should().Be(3, gdb);
    }

    [Fact]
    public void StaticProgram_StopsAtItsEntry_AndBreaksInMain()
    {
        var (gdb, output, code) = Debug(Static.Value, "info symbol $pc", "break marker", "continue", "bt", "continue");
        gdb.Should().MatchRegex(@"_start\S* in section \.text of \S+/root/app/gdbstatic");
        gdb.Should().MatchRegex(@"Breakpoint \d+, marker \(x=1\)");
        gdb.Should().MatchRegex(@"#1 +0x[0-9a-f]+ in main \(");
        output.Should().Be("marker 1\ndone\n", gdb);
        code.Should().Be(3, gdb);
    }

    [Fact]
    public void PortInUse_IsAClearError()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        var r = Ukpack.Run(["run", Static.Value, $"--gdb={port}"]);
        r.Code.Should().NotBe(0);
        r.ErrText.Should().Contain($"port {port} on 127.0.0.1 is in use");
        Ukpack.Run(["run", Static.Value, "--gdb=70000"]).ErrText.Should().Contain("not a TCP port");
    }

    [Fact]
    public void CrashInASharedLibrary_NamesTheLibraryAndSymbol()
    {
        var img = Image("libcrash", """
            #include <stdio.h>
            int main(int argc, char **argv) { return fclose((FILE *)(argc > 5 ? stdout : (FILE *)0x10)); }
            """, dynamic: true);
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(139, r.ToString());
        r.ErrText.Should().MatchRegex(@"program killed by SIGSEGV at address 0x10, ip 0x[0-9a-f]+ \(\w+\+0x[0-9a-f]+ in /\S*lib/x86_64-linux-gnu/libc\.so\.6\+0x[0-9a-f]+\)", r.ToString());
    }
}
