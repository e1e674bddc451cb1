using System;

namespace Kernel.Memory
{
    /// Physical page frames, one bit each (1 = used). Pure logic over a caller-owned bitmap,
    /// so host tests exercise exactly this code.
    public unsafe struct FrameBitmap
    {
        ulong* _bits;
        ulong _frames;      // frames covered
        ulong _hint;        // next-fit search start
        public ulong FreeFrames;

        public FrameBitmap(ulong* bits, ulong frames)
        {
            _bits = bits;
            _frames = frames;
            _hint = 0;
            FreeFrames = 0;
            for (ulong i = 0; i < (frames + 63) / 64; i++) bits[i] = ~0UL;
        }

        public ulong Frames => _frames;

        public bool IsUsed(ulong frame) => frame >= _frames || (_bits[frame / 64] & (1UL << (int)(frame % 64))) != 0;

        void Set(ulong frame) { _bits[frame / 64] |= 1UL << (int)(frame % 64); }
        void Clear(ulong frame) { _bits[frame / 64] &= ~(1UL << (int)(frame % 64)); }

        /// Marks [first, first+count) free; frames past the end are ignored.
        public void Release(ulong first, ulong count) => Change(first, count, false);

        /// Marks [first, first+count) used.
        public void Reserve(ulong first, ulong count) => Change(first, count, true);

        // Word at a time where the range covers whole words (boot releases all of RAM).
        void Change(ulong first, ulong count, bool used)
        {
            ulong end = first + count < _frames ? first + count : _frames;
            ulong f = first;
            while (f < end)
            {
                if (f % 64 == 0 && f + 64 <= end)
                {
                    ulong w = _bits[f / 64];
                    int ones = PopCount(w);
                    if (used) { FreeFrames -= (ulong)(64 - ones); _bits[f / 64] = ~0UL; }
                    else { FreeFrames += (ulong)ones; _bits[f / 64] = 0; }
                    f += 64;
                    continue;
                }
                if (used && !IsUsed(f)) { Set(f); FreeFrames--; }
                else if (!used && IsUsed(f)) { Clear(f); FreeFrames++; }
                f++;
            }
        }

        static int PopCount(ulong v)
        {
            int n = 0;
            while (v != 0) { v &= v - 1; n++; }
            return n;
        }

        /// Allocates `count` contiguous frames aligned to `align` frames; returns the first
        /// frame, or ulong.MaxValue when no run fits.
        public ulong Allocate(ulong count, ulong align = 1)
        {
            if (count == 0 || count > FreeFrames) return ulong.MaxValue;
            for (int pass = 0; pass < 2; pass++)
            {
                ulong start = pass == 0 ? _hint : 0;
                ulong end = pass == 0 ? _frames : _hint + count;
                ulong f = (start + align - 1) / align * align;
                while (f + count <= _frames && f < end)
                {
                    // Skip whole used words quickly.
                    if (f % 64 == 0 && _bits[f / 64] == ~0UL) { f = (f + 64 + align - 1) / align * align; continue; }
                    ulong run = 0;
                    while (run < count && !IsUsed(f + run)) run++;
                    if (run == count)
                    {
                        for (ulong i = 0; i < count; i++) Set(f + i);
                        FreeFrames -= count;
                        _hint = f + count;
                        return f;
                    }
                    f = (f + run + 1 + align - 1) / align * align;
                }
            }
            return ulong.MaxValue;
        }
    }
}
