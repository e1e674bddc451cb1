using Kernel.Arch;

namespace Kernel.Time
{
    /// Monotonic time from the TSC, calibrated at boot against the PIT (Calibrate).
    public static class Clock
    {
        static ulong _bootTsc;
        // Nanoseconds per TSC tick as a 32.32 fixed-point multiplier; 0 until calibrated.
        static ulong _nsPerTickFixed;
        public static ulong TscHz;
        public static ulong NsPerTickFixed => _nsPerTickFixed;
        public static ulong BootTsc => _bootTsc;

        public static void Init() { _bootTsc = Cpu.Rdtsc(); }

        public static ulong MonotonicNs()
        {
            if (_nsPerTickFixed == 0) return 0;
            ulong ticks = Cpu.Rdtsc() - _bootTsc;
            return TicksToNs(ticks);
        }

        public static ulong TicksToNs(ulong ticks)
        {
            // 128-bit product split to avoid overflow: (hi*2^32 + lo) * m / 2^32.
            ulong hi = ticks >> 32, lo = ticks & 0xffffffff;
            return hi * _nsPerTickFixed + ((lo * _nsPerTickFixed) >> 32);
        }

        public static void SetFrequency(ulong hz)
        {
            TscHz = hz;
            _nsPerTickFixed = (1000000000UL << 32) / hz;
        }
    }
}
