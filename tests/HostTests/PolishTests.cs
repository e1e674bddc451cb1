using Microsoft.Extensions.Logging.Abstractions;
using Ukpack;

namespace HostTests;

/// <summary>--version, the long help of each command, and inspect's kernel identity and totals.</summary>
public class PolishTests
{
    [Fact]
    public void EveryCommandHasLongHelp()
    {
        var root = Cli.BuildCommand();
        foreach (var c in root.Subcommands)
            c.Description.Should().Contain("\n\n", $"`ukpack {c.Name} --help` has more than one line");
        foreach (var name in new[] { "build", "check", "run", "inspect" })
            root.Subcommands.Single(c => c.Name == name).Description.Should().Contain("Example");
    }

    [Fact]
    public void KernelIdIgnoresThePadding()
    {
        var k = new byte[] { 0x7f, 1, 2, 3, 0 };
        Help.KernelId(k).Should().Be(Help.KernelId(k.Concat(new byte[4096]).ToArray()));
        Help.KernelId(k).Should().NotBe(Help.KernelId(new byte[] { 0x7f, 1, 2, 4 }));
        Help.KernelId(k).Should().HaveLength(16);
    }

    [Fact]
    public void InspectNamesTheKernelAndTotals()
    {
        var d = TestUtil.TempDir();
        var kernel = Path.Combine(d, "kernel.elf");
        File.Copy(TestUtil.StaticBinary, kernel);
        var img = Path.Combine(d, "x.img");
        Builder.Build(new BuildOptions { App = TestUtil.StaticBinary, Output = img, Kernel = kernel, Args = ["a"] }, NullLogger.Instance);
        var w = new StringWriter();
        Inspector.Inspect(img, w);
        var text = w.ToString();
        text.Should().Contain("sha256 " + Help.KernelId(File.ReadAllBytes(kernel)));
        text.Should().MatchRegex(@"rootfs:   \d+ entries: \d+ files \(\d+ bytes\), \d+ directories, 0 symbolic links");
        text.Should().Contain("argv:     /app/");
    }
}
