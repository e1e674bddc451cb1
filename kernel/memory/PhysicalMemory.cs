using System;
using Kernel.Console;

namespace Kernel.Memory
{
    /// Owns RAM: the direct map, and the frame allocator built from the PVH memory map.
    public static unsafe class PhysicalMemory
    {
        public const ulong DirectMapBase = 0xffff800000000000;
        public const ulong KernelVma = 0xffffffff80000000;
        public const ulong PageSize = 4096;
        const ulong MaxFrames = 16UL << 30 >> 12;                  // 16 GiB of RAM

        static FrameBitmap _frames;
        public static ulong TotalBytes;                            // usable RAM reported at boot
        public static ulong HighestAddress;                        // end of the highest RAM range

        public static void* ToVirtual(ulong phys) => (void*)(phys + DirectMapBase);
        public static ulong ToPhysical(void* virt)
        {
            ulong v = (ulong)virt;
            return v >= KernelVma ? v - KernelVma : v - DirectMapBase;
        }

        public static ulong FreeBytes => _frames.FreeFrames * PageSize;

        /// RAM kept back from program pages and file data for the kernel's own allocations,
        /// so a syscall that needs kernel memory fails with an errno (ENOMEM, ENOSPC, EAGAIN)
        /// instead of the heap running dry: a kernel allocation failure on a syscall path is
        /// an errno, never a panic.
        public const ulong KernelReserve = 2UL << 20;

        /// Whether `bytes` more can go to a program's pages or to file data and leave the
        /// kernel's reserve intact.
        public static bool HasRoom(ulong bytes) => Room(bytes + KernelReserve);

        /// Whether kernel structures of `bytes` may be allocated: the kernel may dip into its
        /// reserve, down to half of it (the syscall dispatcher refuses calls below that).
        public static bool KernelHasRoom(ulong bytes) => Room(bytes + KernelReserve / 2);

        /// Frees memory that is no longer used (the kernel's garbage collector, installed at
        /// start-up); returns whether it ran. Asked before any "no room" answer is given.
        public static delegate*<bool> Reclaim;

        /// Evicts clean pages of the file page cache (fs/PageCache.cs, installed at the first
        /// mount) when `bytes` more are wanted; returns whether it freed any. Asked first: the
        /// cache's clean pages are the cheapest memory to give back.
        public static delegate*<ulong, bool> ReclaimCache;

        static bool Room(ulong needed) => FreeBytes >= needed
            || (ReclaimCache != null && ReclaimCache(needed - FreeBytes) && FreeBytes >= needed)
            || (Reclaim != null && Reclaim() && FreeBytes >= needed);

        /// Builds the allocator: every RAM range of the map is free, then the kernel image,
        /// the boot modules and the first MiB are taken back.
        public static void Init(ReadOnlySpan<MemoryRegion> ram, ulong kernelPhysEnd, ulong reservedStart, ulong reservedEnd)
        {
            HighestAddress = 0;
            for (int i = 0; i < ram.Length; i++)
                if (ram[i].End > HighestAddress) HighestAddress = ram[i].End;
            ulong frames = HighestAddress / PageSize;
            if (frames > MaxFrames) frames = MaxFrames;
            // The bitmap itself lives in RAM just past the kernel (or past the boot modules
            // when those follow the kernel directly).
            ulong bitmapBytes = (frames + 63) / 64 * 8;
            ulong bitmapPhys = (kernelPhysEnd + PageSize - 1) & ~(PageSize - 1);
            if (bitmapPhys < reservedEnd && bitmapPhys + bitmapBytes > reservedStart)
                bitmapPhys = (reservedEnd + PageSize - 1) & ~(PageSize - 1);
            _frames = new FrameBitmap((ulong*)ToVirtual(bitmapPhys), frames);
            // Share counts (copy-on-write after fork) follow the bitmap: one ushort per frame.
            ulong countsPhys = (bitmapPhys + bitmapBytes + PageSize - 1) & ~(PageSize - 1);
            ulong countsBytes = frames * 2;
            if (countsPhys < reservedEnd && countsPhys + countsBytes > reservedStart)
                countsPhys = (reservedEnd + PageSize - 1) & ~(PageSize - 1);
            _shares = (ushort*)ToVirtual(countsPhys);
            _shareFrames = frames;
            Mem.Set(_shares, 0, countsBytes);
            TotalBytes = 0;
            for (int i = 0; i < ram.Length; i++)
            {
                ulong first = (ram[i].Start + PageSize - 1) / PageSize;
                ulong last = ram[i].End / PageSize;
                if (last > first) { _frames.Release(first, last - first); TotalBytes += (last - first) * PageSize; }
            }
            _frames.Reserve(0, (kernelPhysEnd + PageSize - 1) / PageSize);   // low memory + kernel
            _frames.Reserve(bitmapPhys / PageSize, (bitmapBytes + PageSize - 1) / PageSize);
            _frames.Reserve(countsPhys / PageSize, (countsBytes + PageSize - 1) / PageSize);
            if (reservedEnd > reservedStart)
                _frames.Reserve(reservedStart / PageSize, (reservedEnd + PageSize - 1) / PageSize - reservedStart / PageSize);
        }

        /// Physical address of `count` contiguous zeroed frames.
        public static ulong AllocateFrames(ulong count)
        {
            ulong f = _frames.Allocate(count);
            if (f == ulong.MaxValue) return ulong.MaxValue;
            ulong phys = f * PageSize;
            Mem.Set(ToVirtual(phys), 0, count * PageSize);
            return phys;
        }

        /// Like AllocateFrames, without zeroing (the caller overwrites every byte).
        public static ulong AllocateFramesUninitialized(ulong count)
        {
            ulong f = _frames.Allocate(count);
            return f == ulong.MaxValue ? ulong.MaxValue : f * PageSize;
        }

        public static void FreeFrames(ulong phys, ulong count) => _frames.Release(phys / PageSize, count);

        // Frames mapped by more than one address space (copy-on-write after fork): the count
        // of owners beyond the first. A frame with no extra owner is freed by its one owner.
        static ushort* _shares;
        static ulong _shareFrames;
        public const int MaxShares = 65535;

        /// Owners of frame `phys` beyond the first (0: one owner).
        public static int ExtraOwners(ulong phys) => _shares[phys / PageSize];

        /// Adds an owner to frame `phys`; false when it has the most owners a count holds.
        public static bool AddOwner(ulong phys)
        {
            ulong i = phys / PageSize;
            if (i >= _shareFrames || _shares[i] == MaxShares) return false;
            _shares[i]++;
            return true;
        }

        /// One owner lets go of frame `phys`: the last one frees it.
        public static void ReleaseOwner(ulong phys)
        {
            ulong i = phys / PageSize;
            if (_shares[i] > 0) { _shares[i]--; return; }
            _frames.Release(i, 1);
        }
    }
}
