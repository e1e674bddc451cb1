using Kernel.Fs;
using Ukpack;

namespace HostTests;

/// <summary>Runs the real ukpack.dll (built through the ProjectReference) as a process.</summary>
public class CliTests
{
    static string UkpackDll()
    {
        var root = TestUtil.RepoRoot();
        var cands = new[] { "Debug", "Release" }
            .Select(c => Path.Combine(root, "tools", "ukpack", "bin", c, "net10.0", "ukpack.dll"))
            .Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).ToList();
        cands.Should().NotBeEmpty("the ProjectReference builds ukpack first");
        return cands[0];
    }

    static (int Code, string Out, string Err) Ukpack(string? stdin, int timeoutMs, params string[] args)
    {
        var dotnet = TestUtil.Which("dotnet") ?? Path.Combine(Path.GetDirectoryName(Environment.ProcessPath!)!, "dotnet");
        return TestUtil.Run(dotnet, [UkpackDll(), .. args], stdin, timeoutMs: timeoutMs);
    }
    static (int Code, string Out, string Err) Ukpack(params string[] args) => Ukpack(null, 60000, args);

    static void OneErrorLine((int Code, string Out, string Err) r, int code, string contains)
    {
        r.Code.Should().Be(code, r.Err);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(1, r.Err);
        lines[0].Should().StartWith("ukpack: error: ").And.Contain(contains);
        r.Err.Should().NotContain("   at ");
    }

    static string FakeKernel(string dir)
    {
        var k = Path.Combine(dir, "kernel.elf");
        File.Copy(TestUtil.StaticBinary, k, true);
        return k;
    }

    [Fact]
    public void NotAnElf()
    {
        var d = TestUtil.TempDir();
        var f = Path.Combine(d, "hello.txt");
        File.WriteAllText(f, "hello\n");
        OneErrorLine(Ukpack("build", f, "--kernel", FakeKernel(d)), 1, "hello.txt: not an ELF file");
    }

    [Fact]
    public void MissingFile() => OneErrorLine(Ukpack("build", "/nonexistent/prog"), 1, "no such file");

    [Fact]
    public void Elf32()
    {
        var d = TestUtil.TempDir();
        var f = Path.Combine(d, "prog32");
        var b = File.ReadAllBytes(TestUtil.StaticBinary);
        b[4] = 1;
        File.WriteAllBytes(f, b);
        OneErrorLine(Ukpack("build", f, "--kernel", FakeKernel(d)), 1, "32-bit");
    }

    [Fact]
    public void WrongMachine()
    {
        var d = TestUtil.TempDir();
        var f = Path.Combine(d, "arm");
        var b = File.ReadAllBytes(TestUtil.StaticBinary);
        b[18] = 183; b[19] = 0; // EM_AARCH64
        File.WriteAllBytes(f, b);
        OneErrorLine(Ukpack("build", f, "--kernel", FakeKernel(d)), 1, "not an x86-64 program");
    }

    [Fact]
    public void DynamicWithMissingInterpreter()
    {
        if (!File.Exists("/bin/ls")) return;
        var d = TestUtil.TempDir();
        var b = File.ReadAllBytes("/bin/ls");
        var from = System.Text.Encoding.ASCII.GetBytes("/lib64/ld-linux-x86-64.so.2");
        var to = System.Text.Encoding.ASCII.GetBytes("/lib64/ld-nowhere-x86-64.so");
        int at = b.AsSpan().IndexOf(from);
        at.Should().BeGreaterThan(0, "/bin/ls names its interpreter");
        to.CopyTo(b, at);
        b[at + to.Length] = 0;
        var f = Path.Combine(d, "ls-elsewhere");
        File.WriteAllBytes(f, b);
        OneErrorLine(Ukpack("build", f, "--kernel", FakeKernel(d), "-o", Path.Combine(d, "x.img")), 1,
            "its interpreter /lib64/ld-nowhere-x86-64.so is missing");
    }

    [Fact]
    public void MissingKernel()
    {
        var d = TestUtil.TempDir();
        OneErrorLine(Ukpack("build", TestUtil.StaticBinary, "--kernel", Path.Combine(d, "nokernel")), 1, "no such file");
    }

    [Fact]
    public void UnknownOptionBeforeDoubleDash()
    {
        var r = Ukpack("build", TestUtil.StaticBinary, "--bogus");
        r.Code.Should().Be(2);
        r.Err.Should().Contain("--bogus");
    }

    [Fact]
    public void AppFirstIsShorthandForBuild()
    {
        // `ukpack app.elf --fs ./rootfs` is `ukpack build app.elf --fs ./rootfs`: same image bytes.
        var d = TestUtil.TempDir();
        var fs = Path.Combine(d, "rootfs");
        Directory.CreateDirectory(Path.Combine(fs, "etc"));
        File.WriteAllText(Path.Combine(fs, "etc", "hostname"), "short\n");
        var app = Path.Combine(d, "app.elf");
        File.Copy(TestUtil.StaticBinary, app);
        var k = FakeKernel(d);
        var viaBuild = Path.Combine(d, "b.img");
        var viaShort = Path.Combine(d, "s.img");
        var r1 = Ukpack("build", app, "--fs", fs, "-o", viaBuild, "--kernel", k, "--", "arg");
        r1.Code.Should().Be(0, r1.Err);
        var r2 = Ukpack(app, "--fs", fs, "-o", viaShort, "--kernel", k, "--", "arg");
        r2.Code.Should().Be(0, r2.Err);
        r2.Err.Should().BeEmpty();
        File.ReadAllBytes(viaShort).Should().Equal(File.ReadAllBytes(viaBuild));
        ImageFile.Open(viaShort).Argv.Should().Equal("/app/app.elf", "arg");

        // The same errors as build: a missing program is one line, not "Unrecognized command".
        OneErrorLine(Ukpack(Path.Combine(d, "missing.elf"), "--kernel", k), 1, "missing.elf: no such file");
        // Commands and options are still commands and options.
        Ukpack("--help").Code.Should().Be(0);
        var unknown = Ukpack(app, "--bogus");
        unknown.Code.Should().Be(2);
        unknown.Err.Should().Contain("--bogus");
    }

    [Fact]
    public void HelpSaysWhatBuildAccepts()
    {
        var r = Ukpack("build", "--help");
        r.Code.Should().Be(0, r.Err);
        r.Out.Should().NotContain("the static Linux", "dynamic and static-PIE programs are accepted too");
        r.Out.Should().Contain("static-PIE").And.Contain("dynamically linked").And.Contain("--fs").And.Contain("--env")
            .And.Contain("HOME=/").And.Contain("--kernel").And.Contain("--output");
        var top = Ukpack("--help");
        top.Out.Should().Contain("ukpack APP").And.Contain("syscalls");
    }

    [Fact]
    public void SyscallsListsTheTableWithoutBooting()
    {
        var r = Ukpack("syscalls");
        r.Code.Should().Be(0, r.Err);
        r.Out.Should().Contain("  0  read").And.Contain("execve").And.Contain("any other number is ENOSYS");
        var md = Ukpack("syscalls", "--markdown");
        md.Code.Should().Be(0, md.Err);
        md.Out.Should().Be(SyscallDocs.Markdown());
        var f = Ukpack("syscalls", "pkey");
        f.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(3).And.OnlyContain(l => l.Contains("pkey_"));
    }

    [Fact]
    public void BuildInspectAndFsLayout()
    {
        var d = TestUtil.TempDir();
        var fs = Path.Combine(d, "root");
        Directory.CreateDirectory(Path.Combine(fs, "bin"));
        Directory.CreateDirectory(Path.Combine(fs, "etc"));
        File.WriteAllText(Path.Combine(fs, "etc", "hostname"), "mine\n");
        var prog = Path.Combine(fs, "bin", "prog");
        File.Copy(TestUtil.StaticBinary, prog);
        var img = Path.Combine(d, "p.img");
        var r = Ukpack("build", prog, "--fs", fs, "-o", img, "--kernel", FakeKernel(d), "--env", "A=1", "--", "x", "-y");
        r.Code.Should().Be(0, r.Err);
        var image = ImageFile.Open(img);
        image.Program.Should().Be("/bin/prog");
        image.Argv.Should().Equal("/bin/prog", "x", "-y");
        image.Env.Should().Equal("A=1");
        var a = image.RootFs.ToArray();
        RootFsReader.Validate(a, out var h).Should().Be(RootFsError.None);
        int etc = RootFsReader.Lookup(a, ref h, 0, "etc"u8);
        int hn = RootFsReader.Lookup(a, ref h, (uint)etc, "hostname"u8);
        RootFsReader.GetEntry(a, (uint)hn, out var e);
        RootFsReader.Data(a, ref e).ToArray().Should().Equal("mine\n"u8.ToArray());
        RootFsReader.Lookup(a, ref h, (uint)etc, "passwd"u8).Should().BeGreaterThan(0);

        // Same input, same bytes.
        var img2 = Path.Combine(d, "p2.img");
        Ukpack("build", prog, "--fs", fs, "-o", img2, "--kernel", FakeKernel(d), "--env", "A=1", "--", "x", "-y").Code.Should().Be(0);
        File.ReadAllBytes(img2).Should().Equal(File.ReadAllBytes(img));

        var ins = Ukpack("inspect", img);
        ins.Code.Should().Be(0, ins.Err);
        ins.Out.Should().Contain("/bin/prog").And.Contain("CRC").And.Contain("LOAD").And.Contain("/etc/hostname");

        // Program outside --fs goes to /app/<name>.
        var img3 = Path.Combine(d, "p3.img");
        Ukpack("build", TestUtil.StaticBinary, "--fs", fs, "-o", img3, "--kernel", FakeKernel(d)).Code.Should().Be(0);
        ImageFile.Open(img3).Program.Should().Be("/app/" + Path.GetFileName(TestUtil.StaticBinary));
        ImageFile.Open(img3).Env.Should().Equal(Builder.DefaultEnv);
    }

    [Fact]
    public void RunRejectsCorruptAndTruncatedImages()
    {
        var d = TestUtil.TempDir();
        var img = Path.Combine(d, "p.img");
        Ukpack("build", TestUtil.StaticBinary, "-o", img, "--kernel", FakeKernel(d)).Code.Should().Be(0);
        var b = File.ReadAllBytes(img);
        var bad = Path.Combine(d, "bad.img");
        var c = (byte[])b.Clone(); c[c.Length - 100] ^= 1;
        File.WriteAllBytes(bad, c);
        OneErrorLine(Ukpack("run", bad), 1, "CRC");
        c = (byte[])b.Clone(); c[100] ^= 1;                    // the kernel part is covered too (issue 8.7)
        File.WriteAllBytes(bad, c);
        OneErrorLine(Ukpack("run", bad), 1, "CRC");
        OneErrorLine(Ukpack("inspect", bad), 1, "CRC");
        File.WriteAllBytes(bad, b[..(b.Length / 2)]);
        OneErrorLine(Ukpack("run", bad), 1, "truncated");
        OneErrorLine(Ukpack("run", Path.Combine(d, "none.img")), 1, "no such file");
        OneErrorLine(Ukpack("inspect", TestUtil.StaticBinary), 1, "not a ukpack image");
    }

    [Fact]
    public void RunReportsMissingQemu()
    {
        var d = TestUtil.TempDir();
        var img = Path.Combine(d, "p.img");
        Ukpack("build", TestUtil.StaticBinary, "-o", img, "--kernel", FakeKernel(d)).Code.Should().Be(0);
        OneErrorLine(Ukpack("run", img, "--qemu", "/nonexistent/qemu-system-x86_64"), 1, "apt-get install qemu-system-x86");
    }

    [Fact]
    public void RunWithBogusKernelFailsCleanly()
    {
        if (TestUtil.Which("qemu-system-x86_64") == null) return;
        var d = TestUtil.TempDir();
        var img = Path.Combine(d, "p.img");
        Ukpack("build", TestUtil.StaticBinary, "-o", img, "--kernel", FakeKernel(d)).Code.Should().Be(0);
        var r = Ukpack(null, 60000, "run", img, "--timeout", "30");
        r.Code.Should().Be(125);
        r.Err.Should().Contain("ukpack: error: QEMU failed").And.NotContain("   at ");
    }

    /// <summary>Builds Fixtures/pvh-echo.S into a PVH ELF; null without gcc/ld.</summary>
    static string? PvhKernel(string dir, string? define)
    {
        if (TestUtil.Which("gcc") == null || TestUtil.Which("ld") == null) return null;
        var src = Path.Combine(TestUtil.RepoRoot(), "tests", "HostTests", "Fixtures", "pvh-echo.S");
        var o = Path.Combine(dir, "k.o");
        var k = Path.Combine(dir, "pvh.elf");
        var args = new List<string> { "-c", src, "-o", o };
        if (define != null) args.Insert(0, "-D" + define);
        if (TestUtil.Run(TestUtil.Which("gcc")!, args).Code != 0) return null;
        if (TestUtil.Run(TestUtil.Which("ld")!, ["-m", "elf_x86_64", "-Ttext=0x100000", "-e", "start32", "-o", k, o]).Code != 0) return null;
        return k;
    }

    static string? PvhImage(string dir, string? define)
    {
        if (TestUtil.Which("qemu-system-x86_64") == null) return null;
        var k = PvhKernel(dir, define);
        if (k == null) return null;
        var img = Path.Combine(dir, "pvh.img");
        Ukpack("build", TestUtil.StaticBinary, "-o", img, "--kernel", k).Code.Should().Be(0);
        return img;
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("pc")]
    [InlineData("q35")]
    public void RunRelaysChannelsAndExitStatus(string machine)
    {
        var d = TestUtil.TempDir();
        var img = PvhImage(d, null);
        if (img == null) return;
        // This stand-in kernel speaks the serial protocol only: the fallback ukpack keeps.
        var r = Ukpack("abc\u00e9def\n", 60000, "run", img, "-M", machine, "--timeout", "50", "--serial-stdio");
        r.Code.Should().Be(42, r.Err);
        r.Out.Should().Be("stdout-ok\nabc\u00e9def\n", "stdout was [{0}] stderr [{1}]", r.Out, r.Err);  // COM1 (0x3f8) + echoed stdin (é has no FF byte; FF tested in unit tests)
        r.Err.Should().Be("stderr-ok\nukpack: program killed by SIGSEGV at 0x401000\n"); // COM2 (0x2f8) + E log line
    }

    [Fact]
    public void RunReportsKernelPanic()
    {
        var d = TestUtil.TempDir();
        var img = PvhImage(d, "PANIC");
        if (img == null) return;
        var r = Ukpack("", 60000, "run", img, "--timeout", "50", "--serial-stdio");
        r.Code.Should().Be(125, r.Err);
        r.Err.Should().Contain("ukpack: kernel panic").And.Contain("panic: test panic");
        // Issue 8.8: shown once (as the error report), not repeated in the panic summary.
        System.Text.RegularExpressions.Regex.Matches(r.Err, "test panic").Count.Should().Be(1, r.Err);
    }

    [Fact]
    public void RunTimesOut()
    {
        var d = TestUtil.TempDir();
        var img = PvhImage(d, "HANG");
        if (img == null) return;
        var r = Ukpack("", 60000, "run", img, "--timeout", "2");
        r.Code.Should().Be(124, r.Err);
        r.Err.Should().Contain("timed out");
    }
}
