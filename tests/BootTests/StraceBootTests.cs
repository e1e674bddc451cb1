using System.Text;

namespace BootTests;

/// <summary>`ukpack run --strace[=FILE]`: the kernel's strace-style log (syscalls/Strace.cs),
/// split from the program's own stderr by the host.</summary>
public class StraceBootTests
{
    const string TracedC = """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <signal.h>
        #include <string.h>
        #include <sys/mman.h>
        #include <unistd.h>
        static void on_usr1(int s) { (void)s; write(2, "handled\n", 8); }
        int main(void) {
            openat(AT_FDCWD, "/no/such/file", O_RDONLY | O_CLOEXEC);
            int fds[2];
            if (pipe2(fds, O_CLOEXEC) != 0) return 1;
            write(1, "hi\n", 3);
            void *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) return 1;
            signal(SIGUSR1, on_usr1);
            raise(SIGUSR1);
            return 3;
        }
        """;

    static readonly Lazy<string> Image = new(() =>
    {
        var exe = Programs.Compile("traced", TracedC);
        var img = Path.Combine(Repo.TempDir(), "traced.img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    static void ShouldBeATrace(string trace)
    {
        trace.Should().MatchRegex(@"(?m)^openat\(AT_FDCWD, ""/no/such/file"", O_RDONLY\|(O_LARGEFILE\|)?O_CLOEXEC(, 0+)?\) = -1 ENOENT \(No such file or directory\)$");
        trace.Should().Contain("write(1, \"hi\\n\", 3) = 3\n");
        trace.Should().Contain("pipe2([3, 4], O_RDONLY|O_CLOEXEC) = 0\n");
        trace.Should().MatchRegex(@"(?m)^mmap\(0x0, 4096, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, -1, 0x0\) = 0x[0-9a-f]+$");
        trace.Should().MatchRegex(@"(?m)^rt_sigaction\(SIGUSR1, 0x[0-9a-f]+, 0x[0-9a-f]+, 8\) = 0$");
        trace.Should().Contain("--- SIGUSR1 {si_signo=SIGUSR1");
        trace.Should().Contain("write(2, \"handled\\n\", 8) = 8\n");
        trace.Should().EndWith("exit_group(3) = ?\n+++ exited with 3 +++\n");
    }

    [Fact]
    public void OnStderr()
    {
        var r = Ukpack.Boot(Image.Value, null, "--strace");
        r.Code.Should().Be(3, r.ToString());
        r.OutText.Should().Be("hi\n", "the trace never reaches stdout\n{0}", r);
        // The program's own stderr line and the trace share stderr.
        var err = r.ErrText.Replace("handled\n", "");
        r.ErrText.Should().Contain("handled\n");
        ShouldBeATrace(err);
    }

    [Fact]
    public void IntoAFile()
    {
        var file = Path.Combine(Repo.TempDir(), "trace.txt");
        var r = Ukpack.Boot(Image.Value, null, "--strace=" + file);
        r.Code.Should().Be(3, r.ToString());
        r.OutText.Should().Be("hi\n", r.ToString());
        r.ErrText.Should().Be("handled\n", "only the program's stderr\n{0}", r);
        ShouldBeATrace(File.ReadAllText(file, Encoding.UTF8));
    }

    [Fact]
    public void OffByDefault()
    {
        var r = Ukpack.Boot(Image.Value);
        r.Code.Should().Be(3, r.ToString());
        r.ErrText.Should().Be("handled\n", r.ToString());
    }
}
