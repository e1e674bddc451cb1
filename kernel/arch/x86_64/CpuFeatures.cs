namespace Kernel.Arch
{
    public static unsafe class CpuFeatures
    {
        /// AT_HWCAP on x86-64 is CPUID.1:EDX.
        public static ulong Hwcap()
        {
            uint* r = stackalloc uint[4];
            Cpu.Cpuid(1, 0, r);
            return r[3];
        }
    }

    /// Randomness: RDRAND when the CPU has it, else a xorshift generator seeded from the TSC.
    public static unsafe class Random
    {
        static ulong _state;
        static int _hasRdrand = -1;

        public static ulong Next()
        {
            if (_hasRdrand < 0)
            {
                uint* r = stackalloc uint[4];
                Cpu.Cpuid(1, 0, r);
                _hasRdrand = (r[2] & (1u << 30)) != 0 ? 1 : 0;
                _state = Cpu.Rdtsc() | 1;
            }
            ulong v;
            if (_hasRdrand == 1)
                for (int i = 0; i < 10; i++) if (Cpu.Rdrand(&v) != 0) return v;
            _state ^= _state << 13; _state ^= _state >> 7; _state ^= _state << 17;
            return _state ^ Cpu.Rdtsc();
        }

        public static void Fill(byte* p, ulong n)
        {
            for (ulong i = 0; i < n; i += 8)
            {
                ulong v = Next();
                for (ulong k = 0; k < 8 && i + k < n; k++) p[i + k] = (byte)(v >> (int)(8 * k));
            }
        }
    }
}
