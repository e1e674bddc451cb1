using Xunit.Abstractions;

namespace BootTests;

/// <summary>Boots the bare kernel (no program image): plain boot and the `test=NAME` self-tests.</summary>
public class KernelBootTests(ITestOutputHelper output)
{
    readonly ITestOutputHelper _out = output;


    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    [InlineData("pc")]
    public void PlainBootPowersOff(string machine)
    {
        var r = Qemu.Boot(machine, "log=2");
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.Log.Should().Contain("boot:", r.ToString());
        r.Lines.Should().Contain("@@UKEXIT 0", r.ToString());
        r.Lines[^1].Should().Be("@@UKEXIT 0", "the exit marker is the last line\n{0}", r);
        r.ShouldNotPanic();
        r.ShouldBeWellFormed();
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void QuietBootLogsNothingButTheExitMarker(string machine)
    {
        var r = Qemu.Boot(machine, "log=0");
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.Lines.Should().Equal(["@@UKEXIT 0"], "log=0 shows errors only\n{0}", r);
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void Basics(string machine)
    {
        var r = Qemu.Boot(machine, "log=2 test=basics");
        r.Log.Should().Contain("self-test basics: PASS", r.ToString());
        r.Log.Should().NotContain("FAILED", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
        r.ShouldBeWellFormed();
    }

    [Fact]
    public void AddressSpaceTeardownFreesEveryFrame()
    {
        var r = Qemu.Boot("microvm", "log=2 test=address-space");
        r.Log.Should().Contain("self-test address-space: PASS", r.ToString());
        r.Log.Should().NotContain("FAILED", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void KernelThreads(string machine)
    {
        var r = Qemu.Boot(machine, "log=2 test=kthreads");
        r.Log.Should().Contain("self-test kthreads: PASS", r.ToString());
        r.Log.Should().NotContain("FAILED", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void PageFaultPanics(string machine)
    {
        var r = Qemu.Boot(machine, "log=2 test=page-fault");
        r.ExitCode.Should().Be(BootResult.Panic, r.ToString());
        r.Log.Should().Contain("panic: CPU exception 14 (page fault)", r.ToString())
            .And.Contain("cr2=0x1234", r.ToString());
        FaultingFunction(r).Should().StartWith("Kernel_Kernel_SelfTest__PageFault+", r.ToString());
        Backtrace(r).Should().Contain(l => l.Contains("Kernel_Kernel_SelfTest__Run+"), r.ToString());
        RegisterDump(r);
        r.ShouldBeWellFormed();
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void DivideErrorPanics(string machine)
    {
        var r = Qemu.Boot(machine, "log=2 test=divide-error");
        r.ExitCode.Should().Be(BootResult.Panic, r.ToString());
        r.Log.Should().Contain("panic: CPU exception 0 (divide error)", r.ToString());
        // The idiv is in DivideBy (NoInlining); its caller DivideError is the first frame back.
        FaultingFunction(r).Should().StartWith("Kernel_Kernel_SelfTest__DivideBy+", r.ToString());
        var bt = Backtrace(r);
        bt.Should().NotBeEmpty(r.ToString());
        bt[0].Should().Contain("Kernel_Kernel_SelfTest__DivideError+", r.ToString());
        bt.Should().Contain(l => l.Contains("Kernel_Kernel_SelfTest__Run+"), r.ToString());
        RegisterDump(r);
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void UnhandledExceptionPanics(string machine)
    {
        var r = Qemu.Boot(machine, "log=2 test=throw");
        r.ExitCode.Should().Be(BootResult.Panic, r.ToString());
        var panic = r.Lines.FirstOrDefault(l => l.Contains("panic: unhandled exception"));
        panic.Should().NotBeNull(r.ToString());
        panic.Should().Contain("IndexOutOfRangeException", "the panic names the exception's type\n{0}", r);
        Backtrace(r).Should().Contain(l => l.Contains("Kernel_Kernel_SelfTest__Throw+"), r.ToString())
            .And.Contain(l => l.Contains("Kernel_Kernel_SelfTest__Run+"), r.ToString());
        r.ShouldBeWellFormed();
    }

    [Fact]
    public void UnknownSelfTestIsReported()
    {
        var r = Qemu.Boot("microvm", "log=1 test=no-such-test");
        r.ExitCode.Should().Be(3 << 1 | 1, r.ToString());
        r.Log.Should().Contain("unknown self-test", r.ToString());
        r.ShouldNotPanic();
    }

    /// <summary>The function named on the `  in NAME+0xOFF` line after the panic line.</summary>
    static string FaultingFunction(BootResult r)
    {
        var line = r.Lines.Select(Text).FirstOrDefault(t => t.StartsWith("  in "));
        line.Should().NotBeNull("the panic names the faulting function\n{0}", r);
        return line![5..].Trim();
    }

    /// <summary>The lines after `backtrace:`, as `0xADDR NAME+0xOFF`.</summary>
    static List<string> Backtrace(BootResult r)
    {
        var texts = r.Lines.Select(Text).ToList();
        int i = texts.IndexOf("backtrace:");
        i.Should().BeGreaterThanOrEqualTo(0, "a panic prints a backtrace\n{0}", r);
        return texts.Skip(i + 1).TakeWhile(t => t.StartsWith("  0x")).Select(t => t.Trim()).ToList();
    }

    static void RegisterDump(BootResult r)
    {
        foreach (var reg in new[] { "rip", "rsp", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r15", "cs", "cr3" })
            r.Lines.Should().Contain(l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"\b{reg}=0x[0-9a-f]+"),
                "the register dump shows {0}\n{1}", reg, r);
    }

    /// <summary>A log line's text after `[  time] L `.</summary>
    static string Text(string line)
    {
        int close = line.IndexOf("] ");
        return close >= 0 && line.Length > close + 4 ? line[(close + 4)..] : line;
    }
}

/// <summary>The kernel binds a handler to exactly the calls syscalls/SyscallList.cs lists as
/// supported (that data also makes docs/syscalls.md, checked by a host test).</summary>
public class SyscallTableTests
{
    [Fact]
    public void BoundHandlersMatchTheData()
    {
        var r = Qemu.Boot("microvm", "log=0 test=syscall-table");
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        const string begin = "@@BEGIN syscalls-bound\n", end = "@@END syscalls-bound mismatches=";
        int b = r.Log.IndexOf(begin, StringComparison.Ordinal);
        b.Should().BeGreaterThanOrEqualTo(0, "the kernel lists its bound calls\n{0}", r);
        int e = r.Log.IndexOf(end, b, StringComparison.Ordinal);
        e.Should().BeGreaterThan(b, "the list has an end marker\n{0}", r);
        var mismatches = r.Log[(e + end.Length)..].Split('\n')[0].Trim();
        mismatches.Should().Be("0", "every Bind in syscalls/Register*.cs names a supported call of SyscallList.cs, once\n{0}", r);
        var bound = r.Log[(b + begin.Length)..e].Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        var expected = Kernel.Syscalls.SyscallList.All.Where(x => x.Level != Kernel.Syscalls.Support.None)
            .OrderBy(x => x.Number).Select(x => $"{x.Number} {x.Name}").ToList();
        expected.Count.Should().BeGreaterThan(150);
        bound.Should().Equal(expected, "the kernel's bound handlers are the supported calls of the data");
    }
}
