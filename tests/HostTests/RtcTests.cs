using Kernel.Time;

namespace HostTests;

/// <summary>kernel/time/Rtc.cs: DaysFromCivil against System.DateTime.</summary>
public class RtcTests
{
    static readonly DateTime Epoch = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    static long Expected(DateTime d) => (long)(d - Epoch).TotalDays;

    [Theory]
    [InlineData(1970, 1, 1, 0L)]
    [InlineData(1969, 12, 31, -1L)]
    [InlineData(2000, 1, 1, 10957L)]
    [InlineData(2000, 2, 29, 11016L)]
    [InlineData(2000, 3, 1, 11017L)]
    [InlineData(2038, 1, 19, 24855L)]
    [InlineData(1900, 3, 1, -25508L)]
    public void KnownDates(int y, int m, int d, long days) => Rtc.DaysFromCivil(y, m, d).Should().Be(days);

    [Fact]
    public void EveryDayFrom1600To2400()
    {
        for (var d = new DateTime(1600, 1, 1); d < new DateTime(2400, 1, 1); d = d.AddDays(1))
        {
            long got = Rtc.DaysFromCivil(d.Year, d.Month, d.Day);
            if (got != Expected(d)) got.Should().Be(Expected(d), "{0:yyyy-MM-dd}", d);
        }
    }

    [Fact]
    public void RandomDatesOverDateTimeRange()
    {
        var rng = new Random(99);
        long min = DateTime.MinValue.Ticks / TimeSpan.TicksPerDay, max = DateTime.MaxValue.Ticks / TimeSpan.TicksPerDay;
        for (int i = 0; i < 100000; i++)
        {
            var d = new DateTime(rng.NextInt64(min, max + 1) * TimeSpan.TicksPerDay);
            Rtc.DaysFromCivil(d.Year, d.Month, d.Day).Should().Be(Expected(d), "{0:yyyy-MM-dd}", d);
        }
        Rtc.DaysFromCivil(1, 1, 1).Should().Be(Expected(DateTime.MinValue));
        Rtc.DaysFromCivil(9999, 12, 31).Should().Be(Expected(DateTime.MaxValue.Date));
    }

    [Fact]
    public void RtcRangeOfTwoDigitYears()
    {
        // Rtc.Init reads a two-digit year as 2000 + y.
        for (int y = 0; y < 100; y++)
            for (int m = 1; m <= 12; m++)
                Rtc.DaysFromCivil(2000 + y, m, 1).Should().Be(Expected(new DateTime(2000 + y, m, 1)));
    }
}
