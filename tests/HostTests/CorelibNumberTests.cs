namespace HostTests;

/// <summary>
/// kernel/runtime/Corelib/System/Number.cs (compiled into this assembly as an internal
/// System.Number) must format like the BCL's integer TryFormat for the formats it supports.
/// </summary>
public class CorelibNumberTests
{
    static readonly string[] Formats = ["", "D", "d", "D1", "D5", "D20", "X", "x", "X2", "x8", "X16", "D0", "X0"];

    static readonly ulong[] Values =
    [
        0, 1, 9, 10, 15, 16, 99, 100, 255, 256, 4095, 4096, 65535, 1UL << 32, (1UL << 32) - 1,
        1234567890123, long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue - 1, ulong.MaxValue, 0xdeadbeef, 0xffffffff80000000,
    ];

    static string Ours(ulong v, bool negative, string format)
    {
        Span<char> buf = stackalloc char[100];
        System.Number.TryFormatUInt64(v, negative, buf, out int n, format).Should().BeTrue();
        return new string(buf[..n]);
    }

    [Fact]
    public void UnsignedMatchesBcl()
    {
        var rng = new Random(5);
        var values = Values.Concat(Enumerable.Range(0, 2000).Select(_ => (ulong)rng.NextInt64() >> rng.Next(64))).ToList();
        foreach (var f in Formats)
            foreach (var v in values)
                Ours(v, false, f).Should().Be(v.ToString(f), "value {0} format \"{1}\"", v, f);
    }

    [Fact]
    public void NegativeDecimalMatchesBcl()
    {
        // How Int64.TryFormat in our corelib calls it for v < 0.
        long[] vs = [-1, -9, -10, -42, -4096, int.MinValue, long.MinValue + 1, long.MinValue];
        foreach (var f in new[] { "", "D", "D1", "D5", "D20" })
            foreach (var v in vs)
                Ours((ulong)(-(v + 1)) + 1, true, f).Should().Be(v.ToString(f), "value {0} format \"{1}\"", v, f);
    }

    [Fact]
    public void TooSmallDestinationFails()
    {
        Span<char> buf = stackalloc char[4];
        System.Number.TryFormatUInt64(12345, false, buf, out int n, "").Should().BeFalse();
        n.Should().Be(0);
        System.Number.TryFormatUInt64(1234, true, buf, out n, "").Should().BeFalse("the sign needs a fifth char");
        System.Number.TryFormatUInt64(1234, false, buf, out n, "").Should().BeTrue();
        n.Should().Be(4);
        System.Number.TryFormatUInt64(0xab, false, buf, out n, "X8").Should().BeFalse();
        ulong.MaxValue.TryFormat(buf, out _, "X8").Should().BeFalse("the BCL agrees");
    }
}
