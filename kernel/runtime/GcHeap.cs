using Kernel.Memory;

namespace Kernel.Runtime
{
    /// The managed heap: where every `new` object lives, apart from the raw kernel heap
    /// (Kernel.Memory.Heap) that holds buffers the code frees by hand. Keeping them apart is
    /// what lets the collector know, for any address, whether it lies in a managed object.
    ///
    /// Small objects (up to GcSpan.MaxSmall bytes) live in one-page spans of a single size
    /// class (GcSpan). Larger ones get a run of frames with a 64-byte header {next large
    /// object, pages, mark}. A byte per physical frame says what the frame holds, so
    /// mapping an address to its object (conservative roots, interior pointers) is a table
    /// lookup. Nothing here moves an object.
    public static unsafe class GcHeap
    {
        const byte FrameNone = 0, FrameSpan = 1, FrameLargeHead = 2, FrameLargeTail = 3;
        const int LargeHeader = 64;
        const ulong Page = PhysicalMemory.PageSize;

        static byte* _frameKind;            // one byte per physical frame
        static ulong _frameCount;
        static byte* _classBySize;          // (size + 7) / 8 -> size class
        static ClassLists _lists;
        static ulong _large;                // list of large objects (header addresses)

        struct ClassLists
        {
            public fixed ulong Head[GcSpan.Classes];
            public fixed ulong Tail[GcSpan.Classes];
            public fixed ulong Cursor[GcSpan.Classes];  // spans before it are full until the next sweep
        }

        /// Bytes in allocated blocks (live or not yet found dead), and since the last sweep.
        public static ulong BytesInUse, AllocatedSinceSweep, ObjectsAllocated;
        public static ulong SpanPages, LargePages;

        public static void Init()
        {
            _frameCount = (PhysicalMemory.HighestAddress + Page - 1) / Page;
            _frameKind = (byte*)RawPages(_frameCount);
            ulong classes = GcSpan.MaxSmall / 8 + 1;
            _classBySize = (byte*)RawPages(classes);
            for (ulong i = 0; i < classes; i++) _classBySize[i] = (byte)GcSpan.ClassOf(i * 8 == 0 ? 1 : i * 8);
        }

        static void* RawPages(ulong bytes)
        {
            ulong pages = (bytes + Page - 1) / Page;
            ulong phys = PhysicalMemory.AllocateFrames(pages);
            if (phys == ulong.MaxValue) Panic.Halt("managed heap: no memory for its tables");
            return PhysicalMemory.ToVirtual(phys);
        }

        /// A zeroed block of at least `size` bytes, or null when no frame is left.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static byte* Alloc(ulong size)
        {
            if (_frameKind == null) Panic.Halt("managed allocation before the heap is set up");
            byte* p = size <= GcSpan.MaxSmall ? AllocSmall(size) : AllocLarge(size);
            if (p != null) ObjectsAllocated++;
            return p;
        }

        static byte* AllocSmall(ulong size)
        {
            int c = _classBySize[(size + 7) >> 3];
            byte* page = (byte*)_lists.Cursor[c];
            while (page != null && !GcSpan.HasFree(page)) page = (byte*)GcSpan.Next(page);
            if (page == null && (page = NewSpan(c)) == null) return null;
            _lists.Cursor[c] = (ulong)page;
            byte* block = GcSpan.Take(page);
            ulong bytes = GcSpan.ClassSize(c);
            if (bytes <= 128) for (ulong i = 0; i < bytes / 8; i++) ((ulong*)block)[i] = 0;     // cheaper than a call
            else Mem.Set(block, 0, bytes);
            BytesInUse += bytes;
            AllocatedSinceSweep += bytes;
            return block;
        }

        static byte* NewSpan(int c)
        {
            ulong phys = PhysicalMemory.AllocateFramesUninitialized(1);
            if (phys == ulong.MaxValue) return null;
            byte* page = (byte*)PhysicalMemory.ToVirtual(phys);
            GcSpan.Init(page, c);
            _frameKind[phys / Page] = FrameSpan;
            if (_lists.Tail[c] == 0) _lists.Head[c] = (ulong)page;
            else GcSpan.Next((byte*)_lists.Tail[c]) = (ulong)page;
            _lists.Tail[c] = (ulong)page;
            SpanPages++;
            return page;
        }

        static byte* AllocLarge(ulong size)
        {
            ulong pages = (size + LargeHeader + Page - 1) / Page;
            ulong phys = PhysicalMemory.AllocateFramesUninitialized(pages);
            if (phys == ulong.MaxValue) return null;
            ulong* head = (ulong*)PhysicalMemory.ToVirtual(phys);
            Mem.Set(head, 0, pages * Page);
            head[0] = _large; head[1] = pages; head[2] = 0;
            _large = (ulong)head;
            ulong f = phys / Page;
            _frameKind[f] = FrameLargeHead;
            for (ulong i = 1; i < pages; i++) _frameKind[f + i] = FrameLargeTail;
            LargePages += pages;
            BytesInUse += pages * Page;
            AllocatedSinceSweep += pages * Page;
            return (byte*)head + LargeHeader;
        }

        /// If `p` points into an allocated managed object that is not yet marked, marks it
        /// and returns the object's start; otherwise 0. Any value may be passed (roots are
        /// scanned conservatively): addresses outside the heap simply give 0.
        public static ulong TryMark(ulong p)
        {
            ulong off = p - PhysicalMemory.DirectMapBase;
            if (off >= _frameCount * Page) return 0;
            ulong frame = off / Page;
            byte kind = _frameKind[frame];
            if (kind == FrameNone) return 0;
            if (kind == FrameSpan)
            {
                return (ulong)GcSpan.MarkAt((byte*)(p & ~(Page - 1)), p);
            }
            while (_frameKind[frame] == FrameLargeTail) frame--;
            ulong* head = (ulong*)PhysicalMemory.ToVirtual(frame * Page);
            if (p < (ulong)head + LargeHeader || head[2] != 0) return 0;
            head[2] = 1;
            return (ulong)head + LargeHeader;
        }

        /// Calls `visit` on every marked object (for a rescan after the mark stack overflowed).
        public static void ForEachMarked(delegate*<ulong, void> visit)
        {
            for (int c = 0; c < GcSpan.Classes; c++)
                for (byte* page = (byte*)_lists.Head[c]; page != null; page = (byte*)GcSpan.Next(page))
                {
                    int size = GcSpan.BlockSize(page), cap = GcSpan.Capacity(page);
                    for (int i = 0; i < cap; i++)
                    {
                        byte* block = page + GcSpan.HeaderSize + i * size;
                        if (*(ulong*)block != 0 && GcSpan.IsMarked(page, block)) visit((ulong)block);
                    }
                }
            for (ulong* head = (ulong*)_large; head != null; head = (ulong*)head[0])
                if (head[2] != 0) visit((ulong)head + LargeHeader);
        }

        /// Frees every unmarked object and clears the marks; empty spans and dead large
        /// objects go back to the frame allocator. Returns the bytes freed.
        public static ulong Sweep(bool poison)
        {
            ulong freed = 0;
            for (int c = 0; c < GcSpan.Classes; c++)
            {
                byte* prev = null;
                byte* page = (byte*)_lists.Head[c];
                while (page != null)
                {
                    byte* next = (byte*)GcSpan.Next(page);
                    freed += GcSpan.Sweep(page, poison);
                    if (GcSpan.FreeCount(page) == GcSpan.Capacity(page))
                    {
                        if (prev == null) _lists.Head[c] = (ulong)next; else GcSpan.Next(prev) = (ulong)next;
                        ulong phys = PhysicalMemory.ToPhysical(page);
                        _frameKind[phys / Page] = FrameNone;
                        PhysicalMemory.FreeFrames(phys, 1);
                        SpanPages--;
                    }
                    else prev = page;
                    page = next;
                }
                _lists.Tail[c] = (ulong)prev;
                _lists.Cursor[c] = _lists.Head[c];
            }
            ulong* keptPrev = null;
            ulong* obj = (ulong*)_large;
            while (obj != null)
            {
                ulong* next = (ulong*)obj[0];
                if (obj[2] != 0) { obj[2] = 0; keptPrev = obj; }
                else
                {
                    if (keptPrev == null) _large = (ulong)next; else keptPrev[0] = (ulong)next;
                    ulong pages = obj[1], phys = PhysicalMemory.ToPhysical(obj);
                    for (ulong i = 0; i < pages; i++) _frameKind[phys / Page + i] = FrameNone;
                    if (poison) Mem.Set(obj, 0xDD, pages * Page);
                    PhysicalMemory.FreeFrames(phys, pages);
                    LargePages -= pages;
                    freed += pages * Page;
                }
                obj = next;
            }
            BytesInUse -= freed;
            AllocatedSinceSweep = 0;
            return freed;
        }
    }
}
