using System.Buffers.Binary;
using System.Text;

namespace BootTests;

/// <summary>Small static C programs built with musl-gcc (or gcc -static) once per test run.</summary>
public static class Programs
{
    public const string HelloC = """
        #include <stdio.h>
        #include <unistd.h>
        int main(void) {
            printf("hello, world\n");
            fflush(stdout);
            write(1, "bin:\0\377\200\n", 8);
            fprintf(stderr, "to stderr\n");
            return 7;
        }
        """;

    public const string CatC = """
        #include <unistd.h>
        int main(void) {
            char b[4096];
            long n;
            while ((n = read(0, b, sizeof b)) > 0)
                for (long o = 0; o < n; ) { long w = write(1, b + o, n - o); if (w <= 0) return 2; o += w; }
            return n < 0 ? 1 : 0;
        }
        """;

    /// <summary>Writes 400 MB of "y" lines; with an argument it ignores SIGPIPE and reports
    /// the errno of the failed write (EPIPE once the host's reader has gone).</summary>
    public const string YesC = """
        #include <errno.h>
        #include <signal.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char b[4096];
            memset(b, 'y', sizeof b);
            b[sizeof b - 1] = '\n';
            if (argc > 1) signal(SIGPIPE, SIG_IGN);
            for (long i = 0; i < 100000; i++)
                if (write(1, b, sizeof b) < 0) { fprintf(stderr, "write: errno %d\n", errno); return 3; }
            return 0;
        }
        """;

    public const string ArgsC = """
        #include <stdio.h>
        extern char **environ;
        int main(int argc, char **argv) {
            for (int i = 0; i < argc; i++) printf("argv[%d]=[%s]\n", i, argv[i]);
            for (char **e = environ; *e; e++) printf("env=[%s]\n", *e);
            return argc;
        }
        """;

    public const string SegvC = """
        int main(void) { volatile int *p = (int *)16; *p = 1; return 0; }
        """;

    /// <summary>Sets the VM's realtime clock (which a compat case may not do: natively it would
    /// move the host's clock) and checks every reader sees it, CLOCK_MONOTONIC does not move,
    /// and CAP_SYS_TIME is what allows it.</summary>
    public const string SetTimeC = """
        #include <errno.h>
        #include <stdio.h>
        #include <stdint.h>
        #include <time.h>
        #include <unistd.h>
        #include <sys/syscall.h>
        #include <sys/time.h>
        struct caphdr { uint32_t version; int pid; };
        struct capdata { uint32_t effective, permitted, inheritable; };
        static long ago(long a, long b) { return a > b ? a - b : b - a; }
        int main(void) {
            struct timespec r0, m0, r1, m1, raw;
            clock_gettime(CLOCK_REALTIME, &r0);
            clock_gettime(CLOCK_MONOTONIC, &m0);
            long target = r0.tv_sec + 1000L * 86400;
            struct timespec set = { target, 0 };
            printf("clock_settime: %ld\n", syscall(SYS_clock_settime, CLOCK_REALTIME, &set));
            clock_gettime(CLOCK_REALTIME, &r1);                  /* the vDSO */
            syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);    /* the system call */
            clock_gettime(CLOCK_MONOTONIC, &m1);
            struct timeval tv; gettimeofday(&tv, NULL);
            printf("vDSO realtime moved: %d\n", ago(r1.tv_sec, target) < 5);
            printf("syscall realtime moved: %d\n", ago(raw.tv_sec, target) < 5);
            printf("gettimeofday moved: %d\n", ago(tv.tv_sec, target) < 5);
            printf("time() moved: %d\n", ago(time(NULL), target) < 5);
            printf("coarse moved: %d\n", (clock_gettime(CLOCK_REALTIME_COARSE, &raw), ago(raw.tv_sec, target) < 5));
            printf("monotonic did not: %d\n", m1.tv_sec - m0.tv_sec < 5 && m1.tv_sec >= m0.tv_sec);
            struct timeval back = { r0.tv_sec, 0 };
            struct timezone tz = { -60, 0 }, tz2 = { 0, 0 };
            printf("settimeofday: %ld\n", syscall(SYS_settimeofday, &back, &tz));
            syscall(SYS_gettimeofday, &tv, &tz2);                /* musl's gettimeofday ignores tz */
            printf("back: %d, timezone: %d\n", ago(tv.tv_sec, r0.tv_sec) < 5, tz2.tz_minuteswest);
            struct timespec zero = { 0, 0 };
            errno = 0;
            long rc = syscall(SYS_clock_settime, CLOCK_REALTIME, &zero);
            printf("before boot: %ld %d\n", rc, errno == EINVAL);
            struct caphdr h = { 0x20080522, 0 };
            struct capdata d[2];
            syscall(SYS_capget, &h, d);
            d[0].effective &= ~(1u << 25);                       /* CAP_SYS_TIME */
            printf("capset: %ld\n", syscall(SYS_capset, &h, d));
            errno = 0;
            rc = syscall(SYS_clock_settime, CLOCK_REALTIME, &set);
            printf("without CAP_SYS_TIME: %ld %d\n", rc, errno == EPERM);
            return 0;
        }
        """;

    /// <summary>Opens /dev/tty and says what it is.</summary>
    public const string DevTtyC = """
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        #include <sys/stat.h>
        #include <sys/sysmacros.h>
        int main(void) {
            int fd = open("/dev/tty", O_RDWR);
            if (fd < 0) { printf("open /dev/tty: %s\n", errno == ENXIO ? "ENXIO" : strerror(errno)); return 0; }
            struct stat st;
            fstat(fd, &st);
            printf("open /dev/tty: ok, isatty %d, char %d, rdev %u:%u\n", isatty(fd), S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
            fflush(stdout);
            write(fd, "written to the tty\n", 19);
            return 0;
        }
        """;

    /// <summary>The controlling terminal: tcgetpgrp/tcsetpgrp, TIOCSCTTY, TIOCNOTTY, TIOCGSID
    /// as pid 1 (a session leader owning the terminal), a child in its own session stealing it,
    /// and a child in the foreground giving it up.</summary>
    public const string CttyC = """
        #include <errno.h>
        #include <fcntl.h>
        #include <signal.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        #include <sys/ioctl.h>
        #include <sys/wait.h>
        static const char *en(long r) {
            return r >= 0 ? "ok" : errno == ENOTTY ? "ENOTTY" : errno == EPERM ? "EPERM" : errno == EINVAL ? "EINVAL"
                : errno == ESRCH ? "ESRCH" : strerror(errno);
        }
        int main(void) {
            setvbuf(stdout, NULL, _IONBF, 0);
            signal(SIGTTOU, SIG_IGN);
            signal(SIGHUP, SIG_IGN);
            int g = 0, sid = 0;
            int fd = open("/dev/tty", O_RDWR);
            if (fd < 0) { printf("no terminal: TIOCGPGRP %s\n", en(ioctl(0, TIOCGPGRP, &g))); return 0; }
            printf("tcgetpgrp is our group: %d\n", tcgetpgrp(fd) == getpgrp());
            printf("TIOCGSID is our session: %d\n", ioctl(fd, TIOCGSID, &sid) == 0 && sid == getsid(0));
            printf("TIOCSCTTY, ours already: %s\n", en(ioctl(fd, TIOCSCTTY, 0)));
            printf("tcsetpgrp -1: %s\n", en(tcsetpgrp(fd, -1)));
            printf("tcsetpgrp to no group: %s\n", en(tcsetpgrp(fd, 99999)));
            int sync[2];
            pipe(sync);
            pid_t c = fork();
            if (c == 0) {
                setsid();
                printf("child in a new session: TIOCGPGRP %s\n", en(ioctl(fd, TIOCGPGRP, &g)));
                printf("child: TIOCSCTTY 0 %s\n", en(ioctl(fd, TIOCSCTTY, 0)));
                printf("child: TIOCSCTTY 1 %s\n", en(ioctl(fd, TIOCSCTTY, 1)));
                printf("child: foreground is its group: %d\n", tcgetpgrp(fd) == getpid());
                printf("child: TIOCGSID is its session: %d\n", ioctl(fd, TIOCGSID, &sid) == 0 && sid == getpid());
                printf("child: tcsetpgrp to another session's group: %s\n", en(tcsetpgrp(fd, getppid())));
                _exit(0);
            }
            waitpid(c, NULL, 0);
            printf("after the thief's session ended: tcgetpgrp %s\n", en(tcgetpgrp(fd)));
            printf("TIOCSCTTY again: %s\n", en(ioctl(fd, TIOCSCTTY, 0)));
            printf("tcgetpgrp is our group: %d\n", tcgetpgrp(fd) == getpgrp());
            c = fork();
            if (c == 0) {
                char b;
                setpgid(0, 0);
                read(sync[0], &b, 1);
                printf("child: in the foreground: %d\n", tcgetpgrp(fd) == getpid());
                printf("child: TIOCNOTTY %s\n", en(ioctl(fd, TIOCNOTTY)));
                printf("child: then tcgetpgrp %s\n", en(tcgetpgrp(fd)));
                _exit(0);
            }
            setpgid(c, c);
            printf("tcsetpgrp to the child's group: %s\n", en(tcsetpgrp(fd, c)));
            write(sync[1], "x", 1);
            waitpid(c, NULL, 0);
            printf("tcsetpgrp back from the background: %s\n", en(tcsetpgrp(fd, getpgrp())));
            printf("TIOCNOTTY as the session leader: %s\n", en(ioctl(fd, TIOCNOTTY)));
            printf("then tcgetpgrp: %s\n", en(tcgetpgrp(fd)));
            return 0;
        }
        """;

    static readonly Lazy<string> _dir = new(Repo.TempDir);
    static readonly Dictionary<string, Lazy<string>> _built = new()
    {
        ["hello"] = new(() => Compile("hello", HelloC)),
        ["cat"] = new(() => Compile("cat", CatC)),
        ["yes"] = new(() => Compile("yes", YesC)),
        ["args"] = new(() => Compile("args", ArgsC)),
        ["segv"] = new(() => Compile("segv", SegvC)),
        ["gcshort"] = new(() => Compile("gcshort", CollectorPrograms.ShortC)),
        // The kernel-memory churn workload of the benchmarks (bench/progs/churn.c).
        ["churn"] = new(() => Compile("churn", File.ReadAllText(Path.Combine(Repo.Root, "bench/progs/churn.c")),
            "-I", Path.Combine(Repo.Root, "bench/progs"))),
        ["settime"] = new(() => Compile("settime", SetTimeC)),
        ["devtty"] = new(() => Compile("devtty", DevTtyC)),
        ["ctty"] = new(() => Compile("ctty", CttyC)),
    };

    public static string Get(string name) => _built[name].Value;

    /// <summary>Builds C source as a static program (musl-gcc, else gcc) with extra flags.</summary>
    public static string Compile(string name, string source, params string[] flags)
    {
        var dir = _dir.Value;
        var src = Path.Combine(dir, name + ".c");
        File.WriteAllText(src, source);
        var exe = Path.Combine(dir, name);
        foreach (var cc in new[] { "musl-gcc", "gcc" })
        {
            var path = Repo.Which(cc);
            if (path == null) continue;
            var r = Host.Run(path, ["-static", "-O1", .. flags, "-o", exe, src]);
            if (r.Code == 0) return exe;
        }
        throw new InvalidOperationException($"cannot build a static {name}: install musl-tools (musl-gcc)");
    }

    /// <summary>Packs a program into an image in a fresh directory.</summary>
    public static string Image(string name, params string[] extra)
    {
        var img = Path.Combine(Repo.TempDir(), name + ".img");
        var r = Ukpack.Run(["build", Get(name), "-o", img, .. extra]);
        r.Code.Should().Be(0, "ukpack build {0} should succeed\n{1}", name, r);
        r.Err.Should().BeEmpty(r.ToString());
        return img;
    }
}

public static class Ukpack
{
    public static Host.Result Run(string[] args, byte[]? stdin = null) =>
        Host.Run(Repo.Ukpack, args, stdin, TimeSpan.FromSeconds(90));

    /// <summary>`ukpack run IMAGE [extra]`, with the kernel's own timeout as a backstop.</summary>
    public static Host.Result Boot(string image, byte[]? stdin = null, params string[] extra) =>
        Run(["run", image, "--timeout", "60", .. extra], stdin);

    public static void OneErrorLine(Host.Result r, string because)
    {
        r.Code.Should().NotBe(0, "{0}\n{1}", because, r);
        var lines = r.ErrText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(1, "{0}: exactly one line on stderr\n{1}", because, r);
        lines[0].Should().StartWith("ukpack: ", r.ToString());
        r.ErrText.Should().NotContain("   at ", "no stack trace\n{0}", r);
        r.ErrText.Should().NotContain("Exception", "no stack trace\n{0}", r);
        r.Out.Should().BeEmpty(r.ToString());
    }
}

/// <summary>Programs packed with out/ukpack and run under QEMU through `ukpack run`.</summary>
public class UkpackRunTests
{
    /// Each test of the stdio contract runs over virtio-console (ukpack's default) and over
    /// the serial fallback (--serial-stdio).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HelloWorldChannelsAndStatusAreExact(bool serial)
    {
        var img = Programs.Image("hello");
        var r = Ukpack.Boot(img, null, serial ? ["--serial-stdio"] : []);
        r.Code.Should().Be(7, r.ToString());
        byte[] expected = [.. "hello, world\nbin:"u8, 0x00, 0xff, 0x80, (byte)'\n'];
        r.Out.Should().Equal(expected, r.ToString());
        r.ErrText.Should().Be("to stderr\n", r.ToString());
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void HelloWorldOnMachine(string machine)
    {
        var r = Ukpack.Boot(Programs.Image("hello"), null, "-M", machine);
        r.Code.Should().Be(7, r.ToString());
        r.OutText.Should().StartWith("hello, world\n", r.ToString());
        r.ErrText.Should().Be("to stderr\n", r.ToString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StdinIsForwardedByteExact(bool serial)
    {
        var img = Programs.Image("cat");
        // Every byte value, 0xFF runs (the channel's escape byte) and an escape-like pair.
        var input = new List<byte>();
        for (int i = 0; i < 256; i++) input.Add((byte)i);
        input.AddRange([0xff, 0xff, 0xff, 0x04, 0xff, (byte)'\n', 0x04, 0xff]);
        input.AddRange(Encoding.UTF8.GetBytes("the end\n"));
        var r = Ukpack.Boot(img, input.ToArray(), serial ? ["--serial-stdio"] : []);
        r.Code.Should().Be(0, r.ToString());
        r.Out.Should().Equal(input, r.ToString());
        r.Err.Should().BeEmpty(r.ToString());
    }

    [Fact]
    public void LargerStdinSurvives()
    {
        var input = new byte[64 * 1024];
        new Random(3).NextBytes(input);
        var r = Ukpack.Boot(Programs.Image("cat"), input);
        r.Code.Should().Be(0, r.ToString());
        r.Out.Length.Should().Be(input.Length, r.ToString());
        r.Out.AsSpan().SequenceEqual(input).Should().BeTrue("64 KiB of random bytes come back unchanged");
    }

    /// 16 MiB through cat over virtio-console, on virtio-mmio (microvm) and virtio-pci (q35):
    /// many receive buffers, 0xFF escapes split across them, every transmit buffer in use.
    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void BigStdinThroughCatIsExact(string machine)
    {
        var input = new byte[16 << 20];
        new Random(11).NextBytes(input);
        var r = Ukpack.Boot(Programs.Image("cat"), input, "-M", machine);
        r.Code.Should().Be(0, r.ErrText);
        r.Out.Length.Should().Be(input.Length, r.ErrText);
        r.Out.AsSpan().SequenceEqual(input).Should().BeTrue("16 MiB of random bytes come back unchanged");
        r.Err.Should().BeEmpty(r.ErrText);
    }

    /// `ukpack run IMG | head -c 5`: the program gets SIGPIPE (status 141) or, ignoring it, EPIPE.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClosedReaderGivesSigpipeAndEpipe(bool serial)
    {
        var img = Programs.Image("yes");
        string extra = serial ? " --serial-stdio" : "";
        Host.Result Pipeline(string args) => Host.Run("/bin/bash",
            ["-c", $"'{Repo.Ukpack}' run '{img}' --timeout 60{extra}{args} | head -c 5; exit ${{PIPESTATUS[0]}}"], null, TimeSpan.FromSeconds(90));
        var r = Pipeline("");
        r.Code.Should().Be(141, r.ToString());
        r.OutText.Should().Be("yyyyy", r.ToString());
        var i = Pipeline(" -- ignore");
        i.Code.Should().Be(3, i.ToString());
        i.ErrText.Should().Be("write: errno 32\n", i.ToString());
        if (serial) return;
        // Over virtio-console the notice also comes on port 2, so it arrives while 4 MiB of
        // stdin that the program never reads fill port 1's buffers (and ukpack's socket).
        var input = Path.Combine(Repo.TempDir(), "unread.bin");
        File.WriteAllBytes(input, new byte[4 << 20]);
        var u = Pipeline($" < '{input}'");
        u.Code.Should().Be(141, u.ToString());
        u.OutText.Should().Be("yyyyy", u.ToString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EmptyStdinIsEndOfFile(bool serial)
    {
        var r = Ukpack.Boot(Programs.Image("cat"), [], serial ? ["--serial-stdio"] : []);
        r.Code.Should().Be(0, r.ToString());
        r.Out.Should().BeEmpty(r.ToString());
        r.Err.Should().BeEmpty(r.ToString());
    }

    [Fact]
    public void ArgvFromBuildAndOverriddenAtRun()
    {
        var img = Programs.Image("args", "--", "a", "b");
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(3, r.ToString());
        Argv(r).Should().Equal(["/app/args", "a", "b"], r.ToString());

        var o = Ukpack.Boot(img, null, "--", "x", "y", "z");
        o.Code.Should().Be(4, o.ToString());
        Argv(o).Should().Equal(["/app/args", "x", "y", "z"], "run-time arguments replace the image's\n{0}", o);
    }

    [Fact]
    public void ArgvWithSpacesEmptyAndNonAscii()
    {
        var img = Programs.Image("args", "--", "hello world", "", "-x", "é", "a=b");
        var r = Ukpack.Boot(img);
        Argv(r).Should().Equal(["/app/args", "hello world", "", "-x", "é", "a=b"], r.ToString());
        var o = Ukpack.Boot(img, null, "--", " two  spaces ", "");
        Argv(o).Should().Equal(["/app/args", " two  spaces ", ""], o.ToString());
    }

    [Fact]
    public void EnvironmentFromBuild()
    {
        var img = Programs.Image("args", "--env", "FOO=bar", "--env", "EMPTY=", "--env", "SPACE=a b");
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(1, r.ToString());
        Env(r).Should().Equal(["FOO=bar", "EMPTY=", "SPACE=a b"], r.ToString());
    }

    [Fact]
    public void SettingTheRealtimeClockMovesEveryReaderButNotMonotonic()
    {
        var r = Ukpack.Boot(Programs.Image("settime"));
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(
            "clock_settime: 0\nvDSO realtime moved: 1\nsyscall realtime moved: 1\ngettimeofday moved: 1\ntime() moved: 1\n" +
            "coarse moved: 1\nmonotonic did not: 1\nsettimeofday: 0\nback: 1, timezone: -60\nbefore boot: -1 1\ncapset: 0\n" +
            "without CAP_SYS_TIME: -1 1\n", r.ToString());
    }

    [Fact]
    public void DevTtyIsTheTerminalOrEnxio()
    {
        var img = Programs.Image("devtty");
        // No terminal (stdin, stdout and stderr are pipes): as Linux without a controlling terminal.
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("open /dev/tty: ENXIO\n", r.ToString());
        // Under a pseudo-terminal (script(1)), /dev/tty is that terminal, as on the host.
        var script = Repo.Which("script");
        if (script == null) return;
        var t = Host.Run(script, ["-qec", $"'{Repo.Ukpack}' run '{img}' --timeout 60", "/dev/null"], null, TimeSpan.FromSeconds(90));
        t.Code.Should().Be(0, t.ToString());
        var text = t.OutText.Replace("\r", "");
        text.Should().Contain("open /dev/tty: ok, isatty 1, char 1, rdev 5:0\n", t.ToString());
        text.Should().Contain("written to the tty\n", t.ToString());
    }

    [Fact]
    public void ControllingTerminal()
    {
        var img = Programs.Image("ctty");
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("no terminal: TIOCGPGRP ENOTTY\n", r.ToString());
        // Under a pseudo-terminal (script(1)) the console is the terminal, session 1's.
        var script = Repo.Which("script");
        if (script == null) return;
        var t = Host.Run(script, ["-qec", $"'{Repo.Ukpack}' run '{img}' --timeout 60", "/dev/null"], null, TimeSpan.FromSeconds(90));
        t.Code.Should().Be(0, t.ToString());
        t.OutText.Replace("\r", "").Should().Contain("""
            tcgetpgrp is our group: 1
            TIOCGSID is our session: 1
            TIOCSCTTY, ours already: ok
            tcsetpgrp -1: EINVAL
            tcsetpgrp to no group: ESRCH
            child in a new session: TIOCGPGRP ENOTTY
            child: TIOCSCTTY 0 EPERM
            child: TIOCSCTTY 1 ok
            child: foreground is its group: 1
            child: TIOCGSID is its session: 1
            child: tcsetpgrp to another session's group: EPERM
            after the thief's session ended: tcgetpgrp ENOTTY
            TIOCSCTTY again: ok
            tcgetpgrp is our group: 1
            tcsetpgrp to the child's group: ok
            child: in the foreground: 1
            child: TIOCNOTTY ok
            child: then tcgetpgrp ENOTTY
            tcsetpgrp back from the background: ok
            TIOCNOTTY as the session leader: ok
            then tcgetpgrp: ENOTTY

            """, t.ToString());
    }

    [Fact]
    public void SegfaultExits139WithOneLine()
    {
        var r = Ukpack.Boot(Programs.Image("segv"));
        r.Code.Should().Be(128 + 11, r.ToString());
        r.Out.Should().BeEmpty(r.ToString());
        var lines = r.ErrText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(1, r.ToString());
        lines[0].Should().Contain("SIGSEGV", r.ToString());
    }

    static List<string> Argv(Host.Result r) => Field(r, "argv[", l => l[(l.IndexOf("]=[") + 3)..^1]);
    static List<string> Env(Host.Result r) => Field(r, "env=[", l => l[5..^1]);

    static List<string> Field(Host.Result r, string prefix, Func<string, string> value) =>
        r.OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith(prefix)).Select(value).ToList();
}

/// <summary>Bad input to `ukpack build` and `ukpack run`: one clear line, non-zero status, no hang.</summary>
public class UkpackBadInputTests
{
    [Fact]
    public void NotAnElf()
    {
        var f = Path.Combine(Repo.TempDir(), "notes.txt");
        File.WriteAllText(f, "just text\n");
        Ukpack.OneErrorLine(Ukpack.Run(["build", f, "-o", f + ".img"]), "a text file");
        File.Exists(f + ".img").Should().BeFalse("no image is written on error");
    }

    [Fact]
    public void MissingFile()
    {
        var d = Repo.TempDir();
        var r = Ukpack.Run(["build", Path.Combine(d, "nothing-here"), "-o", Path.Combine(d, "x.img")]);
        Ukpack.OneErrorLine(r, "a missing program");
        r.ErrText.Should().Contain("nothing-here");
    }

    [Fact]
    public void Elf32()
    {
        // A minimal ELF32 i386 executable header (gcc -m32 may be unavailable).
        var h = new byte[52 + 32];
        "\x7f"u8.CopyTo(h); "ELF"u8.CopyTo(h.AsSpan(1));
        h[4] = 1; h[5] = 1; h[6] = 1;                                       // ELFCLASS32, little-endian, version 1
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(16), 2);         // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(18), 3);         // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), 0x08048000); // e_entry
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(28), 52);        // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(40), 52);        // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(42), 32);        // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(44), 1);         // e_phnum
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(52), 1);         // PT_LOAD
        var f = Path.Combine(Repo.TempDir(), "prog32");
        File.WriteAllBytes(f, h);
        var r = Ukpack.Run(["build", f, "-o", f + ".img"]);
        Ukpack.OneErrorLine(r, "a 32-bit ELF");
        r.ErrText.Should().Contain("32-bit");
    }

    [Fact]
    public void DynamicallyLinkedProgram()
    {
        // Debian's own glibc echo: its interpreter and libc are packed, ld.so maps them.
        var prog = File.Exists("/bin/echo") ? "/bin/echo" : "/usr/bin/echo";
        if (!File.Exists(prog)) return;
        var d = Repo.TempDir();
        var img = Path.Combine(d, "echo.img");
        var b = Ukpack.Run(["build", prog, "-o", img, "--", "dynamic", "linking works"]);
        b.Code.Should().Be(0, b.ToString());
        var r = Ukpack.Run(["run", img]);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("dynamic linking works\n");
        r.ErrText.Should().BeEmpty();
    }

    [Fact]
    public void TruncatedImagesFailFast()
    {
        var img = Programs.Image("hello");
        var bytes = File.ReadAllBytes(img);
        var d = Repo.TempDir();

        var half = Path.Combine(d, "half.img");
        File.WriteAllBytes(half, bytes[..(bytes.Length / 2)]);
        var r = Ukpack.Run(["run", half]);
        Ukpack.OneErrorLine(r, "an image cut in half");
        r.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "no hang");

        // The trailer survives but payload bytes are missing.
        var cut = Path.Combine(d, "cut.img");
        File.WriteAllBytes(cut, [.. bytes[..(bytes.Length - 8192)], .. bytes[^32..]]);
        r = Ukpack.Run(["run", cut]);
        Ukpack.OneErrorLine(r, "an image missing payload bytes");
        r.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "no hang");

        var empty = Path.Combine(d, "empty.img");
        File.WriteAllBytes(empty, []);
        Ukpack.OneErrorLine(Ukpack.Run(["run", empty]), "an empty file");
    }

    [Fact]
    public void CorruptedImageFailsFast()
    {
        var img = Programs.Image("hello");
        var bytes = File.ReadAllBytes(img);
        ulong payloadOffset = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 24));
        ulong payloadLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - 16));
        Encoding.ASCII.GetString(bytes, bytes.Length - 32, 8).Should().Be("UKPAYLD1");
        var d = Repo.TempDir();

        // A flipped byte in the middle of the payload (the program's code).
        var bad = (byte[])bytes.Clone();
        bad[(int)(payloadOffset + payloadLength / 2)] ^= 0x5a;
        var f = Path.Combine(d, "flipped.img");
        File.WriteAllBytes(f, bad);
        var r = Ukpack.Run(["run", f]);
        Ukpack.OneErrorLine(r, "a corrupted payload");
        r.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "no hang");

        // A trailer whose payload length runs past the end of the file.
        bad = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(bad.Length - 16), payloadLength * 4);
        File.WriteAllBytes(f, bad);
        r = Ukpack.Run(["run", f]);
        Ukpack.OneErrorLine(r, "a trailer with a bad length");
        r.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "no hang");

        // A payload header with a wrong magic, the CRC fixed up to match.
        bad = (byte[])bytes.Clone();
        bad[(int)payloadOffset] ^= 0xff;
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(bad.Length - 8),
            Crc32(bad.AsSpan(0, (int)(payloadOffset + payloadLength))));
        File.WriteAllBytes(f, bad);
        r = Ukpack.Run(["run", f]);
        Ukpack.OneErrorLine(r, "a payload with a bad magic and a matching CRC");
        r.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "no hang");

        // A flipped byte in the kernel part (issue 8.7): the CRC covers the whole image, so
        // `ukpack inspect` and `ukpack run` refuse it instead of booting a damaged kernel.
        bad = (byte[])bytes.Clone();
        bad[(int)payloadOffset / 2] ^= 0x5a;
        File.WriteAllBytes(f, bad);
        r = Ukpack.Run(["run", f]);
        Ukpack.OneErrorLine(r, "a flipped byte in the kernel part");
        r.ErrText.Should().Contain("CRC", r.ToString());
        r = Ukpack.Run(["inspect", f]);
        Ukpack.OneErrorLine(r, "inspect of a flipped byte in the kernel part");
        r.ErrText.Should().Contain("CRC", r.ToString());
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xffffffff;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320 & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
