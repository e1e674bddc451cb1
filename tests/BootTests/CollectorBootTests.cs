namespace BootTests;

/// <summary>The kernel's garbage collector: its self-test, and a program whose churn of
/// files, threads, pipes, eventfds and epoll instances must leave kernel memory flat.</summary>
public class CollectorBootTests
{
    [Fact]
    public void SelfTest()
    {
        var r = Qemu.Boot("microvm", "log=2 test=gc");
        r.Log.Should().Contain("self-test gc: PASS", r.ToString());
        r.Log.Should().NotContain("FAILED", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
    }

    [Fact]
    public void ChurnLeavesKernelMemoryFlat()
    {
        // Scale 1: 10k opens, 1k threads, 10k pipes/eventfds/epolls, an 8 MiB /tmp file.
        // Each workload may leave at most 1 MiB more in use than after its warm-up.
        var r = Ukpack.Boot(Programs.Image("churn"), null, "-v", "--log", "3", "--", "1", "1024");
        r.Code.Should().Be(0, r.ToString());
        var lines = r.OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Where(l => l.StartsWith("churn ")).Should().HaveCount(6, r.ToString());
        lines.Where(l => l.StartsWith("churn_") && l.Contains("_growth_kib ")).Should().HaveCount(6, r.ToString());
        r.ErrText.Should().MatchRegex(@"gc #\d+: pause", "the collector ran during the churn\n{0}", r);
        r.ErrText.Should().MatchRegex(@"managed heap \d+ KiB in \d+ pages; [1-9]\d* collections", r.ToString());
    }
}
