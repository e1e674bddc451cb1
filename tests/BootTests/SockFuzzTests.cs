namespace BootTests;

/// <summary>The socket-call fuzzer (tests/fuzz/sockfuzz.c): random socket calls with hostile
/// arguments on a pool of AF_UNIX sockets must never panic, hang or kill the program; once
/// with memory short and once with the collector running at every allocation.</summary>
public class SockFuzzTests
{
    static readonly Lazy<string> Fuzzer = new(() =>
    {
        var exe = Programs.Compile("sockfuzz", File.ReadAllText(Path.Combine(Repo.Root, "tests", "fuzz", "sockfuzz.c")));
        var img = Path.Combine(Repo.TempDir(), "sockfuzz.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        return img;
    });

    [Theory]
    [InlineData(1, 40000, "")]
    [InlineData(2, 40000, "")]
    [InlineData(3, 40000, "--mem 48M")]
    [InlineData(4, 4000, "--gc-stress 1")]
    public void SocketFuzzer(int seed, int calls, string opts)
    {
        var extra = opts == "" ? Array.Empty<string>() : opts.Split(' ');
        var r = Ukpack.Boot(Fuzzer.Value, null, [.. extra, "--", seed.ToString(), calls.ToString()]);
        r.ErrText.Should().NotContain("panic", r.ToString());
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().EndWith($"sockfuzz: seed {seed}: {calls} calls\n", r.ToString());
    }
}
