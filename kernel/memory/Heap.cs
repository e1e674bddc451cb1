using System;
using Kernel.Console;

namespace Kernel.Memory
{
    /// Kernel heap: power-of-two size classes from 16 to 2048 bytes carved out of pages,
    /// each class with its own free list; larger blocks are whole runs of frames.
    /// Managed objects are allocated here and never freed by hand (no collector yet);
    /// raw buffers are freed with Free(pointer, size).
    public static unsafe class Heap
    {
        const int MinShift = 4, MaxShift = 11, Classes = MaxShift - MinShift + 1;
        static FreeLists _free;
        public static ulong BytesInUse;
        public static ulong HighWater;

        struct FreeLists { public fixed ulong Head[Classes]; }

        /// Size class index for a request, or -1 for a whole-page allocation.
        public static int ClassOf(ulong size)
        {
            if (size > (1UL << MaxShift)) return -1;
            int c = 0;
            while ((1UL << (c + MinShift)) < size) c++;
            return c;
        }

        public static void* AllocZeroed(ulong size)
        {
            void* p = Alloc(size);
            Mem.Set(p, 0, size);
            return p;
        }

        public static void* Alloc(ulong size)
        {
            if (size == 0) size = 1;
            int c = ClassOf(size);
            void* result;
            if (c < 0)
            {
                ulong pages = (size + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize;
                ulong phys = PhysicalMemory.AllocateFramesUninitialized(pages);
                if (phys == ulong.MaxValue) Panic.Halt("kernel heap: out of memory");
                Account((long)(pages * PhysicalMemory.PageSize));
                return PhysicalMemory.ToVirtual(phys);
            }
            if (_free.Head[c] == 0) Refill(c);
            result = (void*)_free.Head[c];
            _free.Head[c] = *(ulong*)result;
            Account((long)(1UL << (c + MinShift)));
            return result;
        }

        public static void Free(void* p, ulong size)
        {
            if (p == null) return;
            if (size == 0) size = 1;
            int c = ClassOf(size);
            if (c < 0)
            {
                ulong pages = (size + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize;
                PhysicalMemory.FreeFrames(PhysicalMemory.ToPhysical(p), pages);
                Account(-(long)(pages * PhysicalMemory.PageSize));
                return;
            }
            *(ulong*)p = _free.Head[c];
            _free.Head[c] = (ulong)p;
            Account(-(long)(1UL << (c + MinShift)));
        }

        static void Account(long delta)
        {
            BytesInUse = (ulong)((long)BytesInUse + delta);
            if (BytesInUse > HighWater) HighWater = BytesInUse;
        }

        static void Refill(int c)
        {
            ulong phys = PhysicalMemory.AllocateFramesUninitialized(1);
            if (phys == ulong.MaxValue) Panic.Halt("kernel heap: out of memory");
            byte* page = (byte*)PhysicalMemory.ToVirtual(phys);
            ulong size = 1UL << (c + MinShift);
            for (ulong off = PhysicalMemory.PageSize; off >= size; off -= size)
            {
                byte* block = page + off - size;
                *(ulong*)block = _free.Head[c];
                _free.Head[c] = (ulong)block;
            }
        }
    }
}
