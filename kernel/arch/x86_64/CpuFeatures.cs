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

    /// Randomness: RDRAND when the CPU has it, else a xorshift generator seeded from the TSC;
    /// either is XORed with fresh bytes from a device source (virtio-rng) when there is one.
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
            ulong v = 0;
            bool got = false;
            if (_hasRdrand == 1)
                for (int i = 0; i < 10 && !got; i++) got = Cpu.Rdrand(&v) != 0;
            if (!got)
            {
                _state ^= _state << 13; _state ^= _state >> 7; _state ^= _state << 17;
                v = _state ^ Cpu.Rdtsc();
            }
            return v ^ FromPool();
        }

        // Entropy from a device (virtio-rng), mixed into every output alongside RDRAND: each
        // word is used once, then the device is asked for more.
        static ulong* _pool;
        const int PoolWords = 8;
        static int _poolNext = PoolWords, _poolFresh;
        /// Installed by a driver with an entropy source: asks it for more (never blocks).
        public static delegate*<void> WantEntropy;
        public static ulong EntropyBytesAdded;

        public static void AddEntropy(byte* p, ulong n)
        {
            if (_pool == null) _pool = (ulong*)Kernel.Memory.Heap.AllocZeroed(PoolWords * 8);
            for (ulong i = 0; i < n; i++) ((byte*)_pool)[i % (PoolWords * 8)] ^= p[i];
            EntropyBytesAdded += n;
            _poolFresh = PoolWords;
            _poolNext = 0;
        }

        static ulong FromPool()
        {
            if (_pool == null || _poolFresh == 0) return 0;
            ulong w = _pool[_poolNext];
            _pool[_poolNext] = 0;
            _poolNext++;
            if (--_poolFresh == 0 && WantEntropy != null) WantEntropy();
            return w;
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
