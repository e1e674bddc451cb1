namespace Kernel.Runtime
{
    /// One page of small managed objects of a single size class: a 64-byte header, then
    /// equal blocks. A block is in use when its first word (the MethodTable) is non-zero; a
    /// free block has zero there and the next free block's address in its second word, so
    /// a conservative pointer into a free block is recognised and ignored.
    ///
    /// Pure logic over raw memory (no kernel services): host tests drive it on plain pages.
    public static unsafe class GcSpan
    {
        public const int PageSize = 4096;
        public const int HeaderSize = 64;
        public const int MaxBlocks = (PageSize - HeaderSize) / 16;           // 252: fits the mark bitmap

        /// Block sizes: every multiple of 8 is served by the next class up; a page holds
        /// (4096 - 64) / size blocks, so the larger classes are chosen to waste little.
        /// (A switch, not an array: the heap runs before the kernel's static objects exist.)
        public static ushort ClassSize(int c) => c switch
        {
            0 => 16, 1 => 24, 2 => 32, 3 => 48, 4 => 64, 5 => 80, 6 => 96, 7 => 128, 8 => 160, 9 => 192,
            10 => 256, 11 => 336, 12 => 448, 13 => 576, 14 => 672, 15 => 800, 16 => 1008, 17 => 1344, _ => 2016,
        };
        public const int Classes = 19;
        public const int MaxSmall = 2016;

        // Header layout.
        const int NextOff = 0, FreeOff = 8, ClassOff = 16, SizeOff = 18, CapOff = 20, FreeCountOff = 22, RecipOff = 24, MarkOff = 32;

        public static int ClassOf(ulong size)
        {
            for (int c = 0; c < Classes; c++) if (size <= ClassSize(c)) return c;
            return -1;
        }

        public static ref ulong Next(byte* page) => ref *(ulong*)(page + NextOff);
        public static int Class(byte* page) => *(ushort*)(page + ClassOff);
        public static int BlockSize(byte* page) => *(ushort*)(page + SizeOff);
        public static int Capacity(byte* page) => *(ushort*)(page + CapOff);
        public static int FreeCount(byte* page) => *(ushort*)(page + FreeCountOff);
        public static bool HasFree(byte* page) => *(ulong*)(page + FreeOff) != 0;

        /// Formats a zeroed or reused page as an empty span of class `c`.
        public static void Init(byte* page, int c)
        {
            for (int i = 0; i < HeaderSize / 8; i++) ((ulong*)page)[i] = 0;
            ushort size = ClassSize(c);
            int cap = (PageSize - HeaderSize) / size;
            *(ushort*)(page + ClassOff) = (ushort)c;
            *(ushort*)(page + SizeOff) = size;
            *(ushort*)(page + CapOff) = (ushort)cap;
            *(uint*)(page + RecipOff) = Reciprocal(size);
            for (int i = cap - 1; i >= 0; i--) PushFree(page, page + HeaderSize + i * size);
        }

        static void PushFree(byte* page, byte* block)
        {
            ((ulong*)block)[0] = 0;
            ((ulong*)block)[1] = *(ulong*)(page + FreeOff);
            *(ulong*)(page + FreeOff) = (ulong)block;
            (*(ushort*)(page + FreeCountOff))++;
        }

        /// Takes a free block (its first two words are left for the caller to clear), or null.
        public static byte* Take(byte* page)
        {
            byte* block = (byte*)*(ulong*)(page + FreeOff);
            if (block == null) return null;
            *(ulong*)(page + FreeOff) = ((ulong*)block)[1];
            (*(ushort*)(page + FreeCountOff))--;
            return block;
        }

        /// ceil(2^32 / size): offset * it >> 32 is offset / size for every offset in a page
        /// (checked by a host test), which spares the collector a division per pointer.
        public static uint Reciprocal(uint size) => (uint)((1UL << 32) / size + 1);

        /// Index of the block at byte `offset` from the first block.
        public static int IndexAt(byte* page, ulong offset) => (int)((offset * *(uint*)(page + RecipOff)) >> 32);

        /// The block in use that contains `addr` and its index, or null (header, slack at the
        /// end, free block).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        static byte* InUseBlock(byte* page, ulong addr, out int index)
        {
            index = -1;
            ulong off = addr - (ulong)page;
            if (off < HeaderSize || off >= PageSize) return null;
            int i = IndexAt(page, off - HeaderSize);
            if (i >= Capacity(page)) return null;
            byte* block = page + HeaderSize + i * BlockSize(page);
            if (*(ulong*)block == 0) return null;
            index = i;
            return block;
        }

        /// The block in use that contains `addr`, or null.
        public static byte* BlockAt(byte* page, ulong addr) => InUseBlock(page, addr, out _);

        /// Marks the block in use that contains `addr`: returns it if it was unmarked, else null
        /// (already marked, or not a block in use). BlockAt and Mark in one step.
        public static byte* MarkAt(byte* page, ulong addr)
        {
            byte* block = InUseBlock(page, addr, out int index);
            if (block == null) return null;
            ulong* word = (ulong*)(page + MarkOff) + (index >> 6);
            ulong bit = 1UL << (index & 63);
            if ((*word & bit) != 0) return null;
            *word |= bit;
            return block;
        }

        static int IndexOf(byte* page, byte* block) => IndexAt(page, (ulong)(block - page - HeaderSize));

        /// Sets the block's mark bit; returns false if it was already set.
        public static bool Mark(byte* page, byte* block)
        {
            int i = IndexOf(page, block);
            ulong* word = (ulong*)(page + MarkOff) + (i >> 6);
            ulong bit = 1UL << (i & 63);
            if ((*word & bit) != 0) return false;
            *word |= bit;
            return true;
        }

        public static bool IsMarked(byte* page, byte* block)
        {
            int i = IndexOf(page, block);
            return (((ulong*)(page + MarkOff))[i >> 6] & (1UL << (i & 63))) != 0;
        }

        /// Frees every unmarked block in use and clears the marks; `poison` fills freed
        /// blocks with a pattern first (stress mode: a stale reference then reads garbage,
        /// not a plausible object). Returns the bytes freed.
        public static ulong Sweep(byte* page, bool poison)
        {
            int size = BlockSize(page), cap = Capacity(page);
            ulong* marks = (ulong*)(page + MarkOff);
            ulong freed = 0;
            *(ulong*)(page + FreeOff) = 0;
            *(ushort*)(page + FreeCountOff) = 0;
            for (int i = cap - 1; i >= 0; i--)
            {
                byte* block = page + HeaderSize + i * size;
                bool marked = (marks[i >> 6] & (1UL << (i & 63))) != 0;
                if (*(ulong*)block != 0 && marked) continue;
                if (*(ulong*)block != 0)
                {
                    freed += (ulong)size;
                    if (poison) for (int b = 16; b < size; b += 8) *(ulong*)(block + b) = 0xDEADDEADDEADDEAD;
                }
                PushFree(page, block);
            }
            for (int w = 0; w < 4; w++) marks[w] = 0;
            return freed;
        }
    }
}
