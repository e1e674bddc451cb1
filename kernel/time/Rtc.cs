using Kernel.Arch;

namespace Kernel.Time
{
    /// Wall-clock time at boot from the CMOS real-time clock.
    public static class Rtc
    {
        public static ulong BootEpochNs;

        static byte Read(byte reg) { Cpu.Outb(0x70, reg); return Cpu.Inb(0x71); }

        public static void Init()
        {
            // Wait out an update in progress, then read twice until stable.
            for (int i = 0; i < 100000 && (Read(0x0a) & 0x80) != 0; i++) { }
            byte s, m, h, d, mo, y, s2;
            do
            {
                s = Read(0); m = Read(2); h = Read(4); d = Read(7); mo = Read(8); y = Read(9);
                s2 = Read(0);
            } while (s != s2);
            byte b = Read(0x0b);
            if ((b & 4) == 0)
            {
                s = Bcd(s); m = Bcd(m); h = (byte)(Bcd((byte)(h & 0x7f)) | (h & 0x80)); d = Bcd(d); mo = Bcd(mo); y = Bcd(y);
            }
            if ((b & 2) == 0 && (h & 0x80) != 0) h = (byte)(((h & 0x7f) + 12) % 24);
            if (y == 0xff || mo == 0 || mo > 12) return;     // no RTC (reads float high)
            long days = DaysFromCivil(2000 + y, mo, d);
            BootEpochNs = (ulong)((days * 86400 + h * 3600 + m * 60 + s) * 1000000000L) - Clock.MonotonicNs();
        }

        static byte Bcd(byte v) => (byte)((v & 0x0f) + (v >> 4) * 10);

        /// Days since 1970-01-01 of a proleptic Gregorian date.
        public static long DaysFromCivil(long y, long m, long d)
        {
            y -= m <= 2 ? 1 : 0;
            long era = (y >= 0 ? y : y - 399) / 400;
            long yoe = y - era * 400;
            long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
            long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            return era * 146097 + doe - 719468;
        }
    }
}
