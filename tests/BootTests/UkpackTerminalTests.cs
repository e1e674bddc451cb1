namespace BootTests;

/// <summary>What ukpack does for a person at a terminal: `ukpack completion bash` (the script,
/// run by bash, completes commands, options and option values from ukpack's own command
/// tree) and the progress line of a long build.</summary>
public class UkpackTerminalTests
{
    static string[] Complete(string line)
    {
        var script = Ukpack.Run(["completion", "bash"]);
        script.Code.Should().Be(0, script.ToString());
        var words = string.Join(' ', line.Split(' ').Select(w => $"'{w}'"));
        var bash = $$"""
            {{script.OutText}}
            COMP_LINE='{{line}}'; COMP_POINT={{line.Length}}; COMP_WORDS=({{words}}); COMP_WORDS[0]='{{Repo.Ukpack}}'
            _ukpack_complete; printf '%s\n' "${COMPREPLY[@]}"
            """;
        var r = Host.Run("bash", ["-c", bash]);
        r.Code.Should().Be(0, r.ToString());
        return r.OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void CompletesCommandsOptionsAndValues()
    {
        Complete("ukpack exp").Should().Equal("export");
        Complete("ukpack run img --st").Should().Contain("--strace");
        Complete("ukpack run img -M ").Should().Equal("microvm", "pc", "q35");
        Complete("ukpack export img -f q").Should().Equal("qcow2");
        Ukpack.Run(["completion", "fish"]).Code.Should().NotBe(0);
    }

    [Fact]
    public void ProgressIsDrawnOnATerminal_AndErased()
    {
        var tree = Repo.TempDir();
        for (int i = 0; i < 300; i++) File.WriteAllBytes(Path.Combine(tree, $"f{i}"), new byte[64 << 10]);
        var exe = Programs.Compile("progress", Programs.HelloC);
        var img = Path.Combine(Repo.TempDir(), "progress.img");
        // script(1) gives ukpack a terminal; the delay 0 makes every step show at once.
        var r = Host.Run("script", ["-qec", $"env UKPACK_PROGRESS_DELAY_MS=0 {Repo.Ukpack} build {exe} --fs {tree} -o {img}", "/dev/null"]);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Contain("ukpack: scanning " + tree + ": ").And.Contain("ukpack: writing the image: ");
        r.OutText.Should().Contain("\r\u001b[K", "the line is erased when the step ends");
        // Not a terminal: no progress at all.
        var plain = Ukpack.Run(["build", exe, "--fs", tree, "-o", img]);
        plain.ErrText.Should().NotContain("ukpack: scanning");
    }
}
