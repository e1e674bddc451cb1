using Ukpack;

namespace HostTests;

/// <summary>`ukpack check` (tools/ukpack/Check.cs) on programs built here: static musl,
/// static-PIE musl and dynamic glibc, and on Debian's binaries.</summary>
public class CheckTests
{
    const string Source = """
        #include <stdio.h>
        #include <unistd.h>
        #include <sys/syscall.h>
        int main(int argc, char **argv) {
            printf("%ld\n", syscall(SYS_getppid));
            if (argc > 5) syscall(SYS_kexec_load, 0, 0, 0, 0);   /* reachable, never supported */
            return 0;
        }
        """;

    static (int Code, string Out, string Err) Check(string bin, params string[] extra)
    {
        var o = new StringWriter();
        var err = Console.Error;
        int code = SyscallCheck.Run(bin, null, extra.Contains("--strict"), extra.Contains("-v"), [], o);
        return (code, o.ToString(), "");
    }

    static string Build(string compiler, string flags, string name)
    {
        var bin = TestUtil.CompileC(compiler, Source, flags, TestUtil.TempDir(), name);
        bin.Should().NotBeNull($"{compiler} {flags} builds the test program");
        return bin!;
    }

    public static TheoryData<string, string> Variants => new()
    {
        { "musl-gcc", "-static -O2" },
        { "gcc", "-static-pie -fPIE -O2" },
        { "gcc", "-O2" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void FindsCallsThroughTheSyscallWrapperAndLibc(string compiler, string flags)
    {
        var bin = Build(compiler, flags, "prog");
        var r = Check(bin);
        r.Code.Should().Be(0);
        // syscall(SYS_getppid) from main: the number reaches libc's syscall() in rdi.
        r.Out.Should().MatchRegex(@"110 getppid[^\n]*\n\s+used in: [^\n]*prog: main \(via syscall\)");
        // printf ends in write or writev inside libc.
        r.Out.Should().MatchRegex(@"\n\s+(1 write|20 writev)\b");
        r.Out.Should().MatchRegex(@"\n\s+231 exit_group\b");
        // kexec_load is listed as missing, with its user.
        r.Out.Should().MatchRegex(@"missing \(\d+\):\n(.*\n)*\s+246 kexec_load[^\n]*\n\s+used in: [^\n]*prog: main");
    }

    [Fact]
    public void StrictFailsWhenAMissingCallIsReachable()
    {
        var bin = Build("musl-gcc", "-static -O2", "strict");
        Check(bin, "--strict").Code.Should().Be(3);
        var ok = TestUtil.CompileC("musl-gcc", "int main(void){return 0;}\n", "-static -O2", TestUtil.TempDir(), "ok")!;
        Check(ok, "--strict").Code.Should().Be(0);
    }

    [Fact]
    public void DebianBinaries()
    {
        foreach (var bin in new[] { "/bin/busybox", "/usr/bin/ls" })
        {
            File.Exists(bin).Should().BeTrue($"{bin} is installed by .ci/run (busybox-static, coreutils)");
            var r = Check(bin);
            r.Code.Should().Be(0);
            foreach (var call in new[] { "openat", "getdents64", "write", "exit_group" })
                r.Out.Should().MatchRegex($@"\n\s+\d+ {call}\b", $"{bin} makes {call}");
        }
    }
}
