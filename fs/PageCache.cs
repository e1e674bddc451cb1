using System;
using Kernel.Abi;
using Kernel.Memory;
using Kernel.Sched;
using Kernel.Time;

namespace Kernel.Fs
{
    /// What the page cache asks of the filesystem under a cached file. The cache calls these
    /// with the filesystem's lock held by the caller of the cache operation.
    public unsafe interface ICachedFileOwner
    {
        /// The file's size in bytes (the cache never keeps or writes pages past it).
        long CachedSize { get; }
        /// Reads `len` bytes at `offset` (whole pages, holes as zeros); bytes read or -errno.
        long ReadPages(long offset, byte* dst, long len);
        /// Writes `len` bytes at `offset` to the device; bytes written or -errno.
        long WritePages(long offset, byte* src, long len);
        /// Writes back this file's dirty pages, taking the filesystem's lock itself (the
        /// periodic flusher calls it with no lock held).
        void WriteBackUnlocked();
        /// A buffer of at least 64 KiB that the filesystem's lock protects (read-ahead and
        /// write-back gather pages in it for one device request).
        byte[] Bounce { get; }
    }

    /// The pages of one cached file: the head of its list of cache entries and its counts.
    public sealed class CachedPages
    {
        public readonly ICachedFileOwner Owner;
        internal int First = -1;          // entry index of the file's first page (unordered list)
        public int Count;                 // pages cached
        public int Dirty;                 // pages dirty
        public int SharedMapped;          // pages handed to shared mappings (written back at every sync)
        public int Pinned;                // pages handed to mappings (not evicted while mapped)
        internal ulong DirtySince;        // monotonic ns when the first page became dirty
        internal bool InDirtyList;
        internal CachedPages NextDirty;
        internal long NextSequential = -1;  // the page a sequential reader reads next (readahead)

        internal readonly uint Id;
        static uint _nextId;

        public CachedPages(ICachedFileOwner owner) { Owner = owner; Id = ++_nextId; }
    }

    /// A page cache keyed by (file, page index), generic over filesystems (docs/ext4.md, "The
    /// page cache"). Pages are 4 KiB frames from the frame allocator; an entry table (managed
    /// arrays of structs) holds each page's file, index, frame and flags, a hash chain for
    /// lookup and a per-file list. Eviction is a clock over the entry table that frees clean
    /// pages that are neither in use by a cache operation nor lent to a mapping. The frame
    /// allocator asks for pages back through PhysicalMemory.ReclaimCache before it says "no
    /// room" (clean pages only, no I/O); dirty pages are bounded by DirtyLimit (writers write
    /// their own file back above it) and written back by a flusher thread after DirtyExpireNs.
    public static unsafe class PageCache
    {
        const byte FlagDirty = 1, FlagReferenced = 2, FlagPinned = 4, FlagShared = 8;
        public const ulong DirtyExpireNs = 5_000_000_000UL;     // as Linux's dirty_expire_centisecs (30 s there)
        const int ReadAheadPages = 16;

        struct Entry
        {
            public CachedPages File;      // null: free
            public long Index;
            public ulong Frame;
            public int HashNext, FilePrev, FileNext;
            public int Busy;              // cache operations using the page now
            public byte Flags;
        }

        static Entry[] _e = new Entry[0];
        static int[] _buckets;
        static int _free = -1, _used, _hand;
        static bool _changing;            // the tables are being changed: reclaim must not run
        public static long Pages;         // frames held by the cache
        public static long DirtyPages;
        static long _sharedPages;         // dirty because a shared mapping holds them
        static CachedPages _dirtyFiles;
        static readonly WaitQueue _flusherWait = new WaitQueue();
        static bool _flusherStarted;

        /// Dirty pages above which a writer writes its own file back (an eighth of RAM).
        static long DirtyLimit => (long)(PhysicalMemory.TotalBytes / 4096 / 8) + 16;

        /// Installs the reclaim hook and starts the flusher thread (once, at the first mount).
        public static void Start()
        {
            if (_flusherStarted) return;
            _flusherStarted = true;
            PhysicalMemory.ReclaimCache = &Reclaim;
            int b = 1024;
            while (b < (int)(PhysicalMemory.TotalBytes / 4096 / 2) && b < (1 << 22)) b <<= 1;
            _buckets = new int[b];
            for (int i = 0; i < b; i++) _buckets[i] = -1;
            Scheduler.StartKernelThread(&Flusher, 0);
        }

        static int Bucket(CachedPages f, long index)
        {
            ulong h = ((ulong)index * 0x9E3779B97F4A7C15UL) ^ ((ulong)f.Id * 0xC2B2AE3D27D4EB4FUL);
            return (int)((h >> 20) & (ulong)(_buckets.Length - 1));
        }

        static int Find(CachedPages f, long index)
        {
            for (int i = _buckets[Bucket(f, index)]; i >= 0; i = _e[i].HashNext)
                if (_e[i].File == f && _e[i].Index == index) return i;
            return -1;
        }

        /// A frame for a new page: clean pages are evicted first when free memory is low, so
        /// the cache never pushes programs into the kernel's reserve.
        static ulong NewFrame()
        {
            const ulong headroom = 1UL << 20;
            if (PhysicalMemory.FreeBytes < PhysicalMemory.KernelReserve + headroom + 4096) Evict(64);
            // Still short: the allocator's own reclaim (the collector) before giving up.
            if (PhysicalMemory.FreeBytes < PhysicalMemory.KernelReserve + headroom + 4096 && !PhysicalMemory.HasRoom(headroom + 4096)) return ulong.MaxValue;
            return PhysicalMemory.AllocateFramesUninitialized(1);
        }

        static int Insert(CachedPages f, long index, ulong frame)
        {
            _changing = true;
            if (_free < 0)
            {
                int n = _e.Length == 0 ? 256 : _e.Length * 2;
                var bigger = new Entry[n];
                for (int i = 0; i < _e.Length; i++) bigger[i] = _e[i];
                for (int i = n - 1; i >= _e.Length; i--) { bigger[i].HashNext = _free; _free = i; }
                _e = bigger;
            }
            int s = _free;
            _free = _e[s].HashNext;
            int b = Bucket(f, index);
            _e[s] = new Entry { File = f, Index = index, Frame = frame, HashNext = _buckets[b], FilePrev = -1, FileNext = f.First, Flags = FlagReferenced };
            _buckets[b] = s;
            if (f.First >= 0) _e[f.First].FilePrev = s;
            f.First = s;
            f.Count++;
            _used++;
            Pages++;
            _changing = false;
            return s;
        }

        /// Removes entry `s` and frees its frame.
        static void Remove(int s)
        {
            _changing = true;
            ref Entry e = ref _e[s];
            CachedPages f = e.File;
            int b = Bucket(f, e.Index);
            if (_buckets[b] == s) _buckets[b] = e.HashNext;
            else
                for (int i = _buckets[b]; i >= 0; i = _e[i].HashNext)
                    if (_e[i].HashNext == s) { _e[i].HashNext = e.HashNext; break; }
            if (e.FilePrev >= 0) _e[e.FilePrev].FileNext = e.FileNext; else f.First = e.FileNext;
            if (e.FileNext >= 0) _e[e.FileNext].FilePrev = e.FilePrev;
            if ((e.Flags & FlagDirty) != 0) { f.Dirty--; DirtyPages--; }
            if ((e.Flags & FlagPinned) != 0) f.Pinned--;
            if ((e.Flags & FlagShared) != 0) { f.SharedMapped--; _sharedPages--; }
            f.Count--;
            PhysicalMemory.FreeFrames(e.Frame, 1);
            e = default;
            e.HashNext = _free;
            _free = s;
            _used--;
            Pages--;
            _changing = false;
        }

        /// The page `index` of `f` filled from the file (read ahead when `f` is read
        /// sequentially), with its use count raised: give it back with Put. `whole`: the caller
        /// overwrites the whole page, so it is not read. Null with `err` set on failure.
        public static byte* Get(CachedPages f, long index, bool whole, out int slot, out Errno err)
        {
            err = 0;
            slot = Find(f, index);
            if (slot >= 0)
            {
                _e[slot].Busy++;
                _e[slot].Flags |= FlagReferenced;
                f.NextSequential = index + 1;
                return (byte*)PhysicalMemory.ToVirtual(_e[slot].Frame);
            }
            long size = f.Owner.CachedSize;
            long lastPage = (size + 4095) / 4096;                   // pages holding file bytes
            if (whole || index >= lastPage)
            {
                ulong frame = NewFrameOrWriteBack(f);
                if (frame == ulong.MaxValue) { err = Errno.ENOMEM; return null; }
                Mem.Set(PhysicalMemory.ToVirtual(frame), 0, 4096);
                slot = Insert(f, index, frame);
                _e[slot].Busy++;
                return (byte*)PhysicalMemory.ToVirtual(frame);
            }
            // Read this page and, for a sequential reader, the next ones not yet cached: the
            // frames first (finding one may write this file's dirty pages back through the
            // bounce buffer), then one device read into the bounce buffer.
            int count = 1;
            if (f.NextSequential == index)
                while (count < ReadAheadPages && index + count < lastPage && Find(f, index + count) < 0) count++;
            f.NextSequential = index + 1;
            ulong* frames = stackalloc ulong[ReadAheadPages];
            int got = 0;
            while (got < count)
            {
                ulong fr = NewFrameOrWriteBack(f);
                if (fr == ulong.MaxValue) break;
                frames[got++] = fr;
            }
            if (got == 0) { err = Errno.ENOMEM; return null; }
            count = got;
            long len = size - index * 4096;
            if (len > (long)count * 4096) len = (long)count * 4096;
            fixed (byte* buf = f.Owner.Bounce)
            {
                long r = f.Owner.ReadPages(index * 4096, buf, len);
                if (r < 0)
                {
                    for (int k = 0; k < count; k++) PhysicalMemory.FreeFrames(frames[k], 1);
                    err = (Errno)(int)-r;
                    return null;
                }
                if (r < (long)count * 4096) Mem.Set(buf + r, 0, (ulong)((long)count * 4096 - r));
                for (int k = count - 1; k >= 0; k--)
                {
                    if (Find(f, index + k) >= 0) { PhysicalMemory.FreeFrames(frames[k], 1); continue; }   // filled meanwhile
                    Mem.Copy(PhysicalMemory.ToVirtual(frames[k]), buf + (long)k * 4096, 4096);
                    int s = Insert(f, index + k, frames[k]);
                    if (k != 0) _e[s].Flags &= unchecked((byte)~FlagReferenced);   // read ahead: first to go
                }
            }
            slot = Find(f, index);
            _e[slot].Busy++;
            return (byte*)PhysicalMemory.ToVirtual(_e[slot].Frame);
        }

        static ulong NewFrameOrWriteBack(CachedPages f)
        {
            ulong frame = NewFrame();
            if (frame != ulong.MaxValue || f.Dirty == 0) return frame;
            // Memory is short and this file's dirty pages hold some: write them back (the
            // caller holds its filesystem's lock) and evict.
            WriteBack(f);
            return NewFrame();
        }

        /// Enumerates `f`'s dirty pages: start with cursor -2; the next dirty page's index,
        /// or -1 at the end.
        public static long NextDirty(CachedPages f, ref int cursor)
        {
            int i = cursor == -2 ? f.First : (cursor >= 0 ? _e[cursor].FileNext : -1);
            while (i >= 0 && (_e[i].Flags & FlagDirty) == 0) i = _e[i].FileNext;
            cursor = i;
            return i >= 0 ? _e[i].Index : -1;
        }

        /// Gives back page `slot` whose contents the caller may have half overwritten (a
        /// copy from the program faulted): a clean page goes, so the next read refills it.
        public static void Discard(int slot)
        {
            Put(slot);
            if (_e[slot].Busy == 0 && (_e[slot].Flags & (FlagDirty | FlagPinned)) == 0) Remove(slot);
        }

        public static void Put(int slot) { if (slot >= 0 && _e[slot].Busy > 0) _e[slot].Busy--; }

        /// The caller changed page `slot`.
        public static void MarkDirty(int slot)
        {
            ref Entry e = ref _e[slot];
            if ((e.Flags & FlagDirty) != 0) return;
            e.Flags |= FlagDirty;
            CachedPages f = e.File;
            if (f.Dirty++ == 0) f.DirtySince = Clock.MonotonicNs();
            DirtyPages++;
            if (!f.InDirtyList) { f.InDirtyList = true; f.NextDirty = _dirtyFiles; _dirtyFiles = f; }
        }

        /// Too many dirty pages: true when the writer should write its file back now.
        public static bool OverDirtyLimit => DirtyPages - _sharedPages > DirtyLimit;

        /// Wakes the flusher (dirty pages of other files over the limit).
        public static void Nudge() => _flusherWait.WakeAll();

        /// The frame of page `index` for a mapping, pinned until Unpin (the file's last
        /// mapping and descriptor gone). `shared`: a MAP_SHARED mapping, which may write it
        /// at any time, so every write-back writes it. ulong.MaxValue past the end or on failure.
        public static ulong MapPage(CachedPages f, long index, bool shared)
        {
            byte* p = Get(f, index, false, out int slot, out _);
            if (p == null) return ulong.MaxValue;
            ref Entry e = ref _e[slot];
            if ((e.Flags & FlagPinned) == 0) { e.Flags |= FlagPinned; f.Pinned++; }
            if (shared && (e.Flags & FlagShared) == 0)
            {
                e.Flags |= FlagShared; f.SharedMapped++; _sharedPages++;
                MarkDirty(slot);
            }
            ulong frame = e.Frame;
            Put(slot);
            return frame;
        }

        /// No mapping of `f` is left: its pages can be evicted again; those shared mappings
        /// had stay dirty until written back.
        public static void Unpin(CachedPages f)
        {
            if (f.Pinned == 0) return;
            for (int i = f.First; i >= 0; i = _e[i].FileNext)
            {
                if ((_e[i].Flags & FlagShared) != 0) MarkDirty(i);
                _e[i].Flags &= unchecked((byte)~(FlagPinned | FlagShared));
            }
            f.Pinned = 0;
            _sharedPages -= f.SharedMapped;
            f.SharedMapped = 0;
        }

        /// Writes `f`'s dirty pages (and pages lent to shared mappings) back through its
        /// owner in file order, contiguous pages in one write. The caller holds the
        /// filesystem's lock. Only pages from..to-1 when given.
        public static Errno WriteBack(CachedPages f, long from = 0, long to = long.MaxValue)
        {
            if (f.Dirty == 0) return 0;
            // Collect the dirty pages' slots and sort them by index.
            int n = 0;
            for (int i = f.First; i >= 0; i = _e[i].FileNext)
                if ((_e[i].Flags & FlagDirty) != 0 && _e[i].Index >= from && _e[i].Index < to) n++;
            if (n == 0) return 0;
            Span<int> slots = n <= 512 ? stackalloc int[n] : new int[n];
            n = 0;
            for (int i = f.First; i >= 0; i = _e[i].FileNext)
                if ((_e[i].Flags & FlagDirty) != 0 && _e[i].Index >= from && _e[i].Index < to) slots[n++] = i;
            SortByIndex(slots, n);
            for (int k = 0; k < n; k++) _e[slots[k]].Busy++;
            Errno err = 0;
            long size = f.Owner.CachedSize;
            byte[] bounce = f.Owner.Bounce;
            int maxRun = bounce.Length / 4096;
            fixed (byte* buf = bounce)
            {
                int k = 0;
                while (k < n)
                {
                    // A run of consecutive pages, at most the bounce buffer (one WriteData call:
                    // one block allocation, extent-tree save and inode write per run).
                    int run = 1;
                    while (k + run < n && run < maxRun && _e[slots[k + run]].Index == _e[slots[k]].Index + run) run++;
                    long off = _e[slots[k]].Index * 4096;
                    long len = (long)run * 4096;
                    if (off + len > size) len = size - off;
                    if (len > 0)
                    {
                        for (int j = 0; j < run; j++)
                        {
                            // Cleared before the copy: a write to a shared mapping during the
                            // device write leaves the page dirty for the next write-back.
                            ref Entry e = ref _e[slots[k + j]];
                            if ((e.Flags & FlagShared) == 0) { e.Flags &= unchecked((byte)~FlagDirty); f.Dirty--; DirtyPages--; }
                            Mem.Copy(buf + (long)j * 4096, PhysicalMemory.ToVirtual(e.Frame), 4096);
                        }
                        long r = f.Owner.WritePages(off, buf, len);
                        if (r < 0 && err == 0) err = (Errno)(int)-r;
                        if (r < 0)
                            for (int j = 0; j < run; j++)
                                if ((_e[slots[k + j]].Flags & FlagDirty) == 0) MarkDirty(slots[k + j]);
                    }
                    else
                        for (int j = 0; j < run; j++)
                        {
                            ref Entry e = ref _e[slots[k + j]];
                            if ((e.Flags & FlagShared) == 0 && (e.Flags & FlagDirty) != 0) { e.Flags &= unchecked((byte)~FlagDirty); f.Dirty--; DirtyPages--; }
                        }
                    k += run;
                }
            }
            for (int k = 0; k < n; k++) Put(slots[k]);
            if (f.Dirty == f.SharedMapped) f.DirtySince = Clock.MonotonicNs();
            return err;
        }

        static void SortByIndex(Span<int> s, int n)
        {
            // Shell sort: lists are mostly in reverse insertion order.
            for (int gap = n / 2; gap > 0; gap /= 2)
                for (int i = gap; i < n; i++)
                {
                    int v = s[i];
                    long key = _e[v].Index;
                    int j = i;
                    while (j >= gap && _e[s[j - gap]].Index > key) { s[j] = s[j - gap]; j -= gap; }
                    s[j] = v;
                }
        }

        /// The file is now `size` bytes: pages past it go (a page lent to a mapping is zeroed
        /// and kept: it may still be mapped), the tail of the last page is zeroed.
        public static void Truncate(CachedPages f, long size)
        {
            long keep = (size + 4095) / 4096;
            for (int i = f.First; i >= 0; )
            {
                int next = _e[i].FileNext;
                if (_e[i].Index >= keep)
                {
                    if ((_e[i].Flags & FlagPinned) != 0 || _e[i].Busy > 0) Mem.Set(PhysicalMemory.ToVirtual(_e[i].Frame), 0, 4096);
                    else Remove(i);
                }
                i = next;
            }
            if ((size & 4095) != 0)
            {
                int s = Find(f, size / 4096);
                if (s >= 0) Mem.Set((byte*)PhysicalMemory.ToVirtual(_e[s].Frame) + (size & 4095), 0, (ulong)(4096 - (size & 4095)));
            }
        }

        /// Frees every page of `f` (the file is gone, or its filesystem unmounted). Nothing
        /// may map them any more.
        public static void Drop(CachedPages f)
        {
            while (f.First >= 0) Remove(f.First);
            f.Pinned = f.SharedMapped = 0;
            f.NextSequential = -1;
        }

        /// Evicts up to `want` clean pages nobody uses, by the clock; how many went.
        static int Evict(int want)
        {
            if (_changing || _used == 0) return 0;
            int freed = 0;
            int limit = _e.Length * 2;                         // two sweeps at most
            for (int step = 0; step < limit && freed < want && _used > 0; step++)
            {
                if (_hand >= _e.Length) _hand = 0;
                int s = _hand++;
                ref Entry e = ref _e[s];
                if (e.File == null || e.Busy > 0 || (e.Flags & (FlagDirty | FlagPinned)) != 0) continue;
                if ((e.Flags & FlagReferenced) != 0) { e.Flags &= unchecked((byte)~FlagReferenced); continue; }
                Remove(s);
                freed++;
            }
            return freed;
        }

        /// PhysicalMemory.ReclaimCache: the allocator is short of `bytes`; evicts clean pages
        /// (no I/O) and asks the flusher to clean more. True if it freed anything.
        static bool Reclaim(ulong bytes)
        {
            int want = (int)((bytes + 4095) / 4096);
            if (want < 32) want = 32;
            int freed = Evict(want);
            if (DirtyPages > 0) _flusherWait.WakeAll();
            return freed > 0;
        }

        /// The flusher thread: once a second (or when woken), writes back files whose pages
        /// have been dirty for DirtyExpireNs, or every dirty file when over the dirty limit.
        static void Flusher(ulong arg)
        {
            while (true)
            {
                _flusherWait.Wait(Clock.MonotonicNs() + 1_000_000_000UL, false);
                FlushExpired(OverDirtyLimit || PhysicalMemory.FreeBytes < PhysicalMemory.KernelReserve * 2);
            }
        }

        static void FlushExpired(bool all)
        {
            ulong now = Clock.MonotonicNs();
            for (CachedPages f = _dirtyFiles; f != null; )
            {
                CachedPages next = f.NextDirty;
                if (f.Dirty > f.SharedMapped && (all || now - f.DirtySince >= DirtyExpireNs)) f.Owner.WriteBackUnlocked();
                f = next;
            }
            // Clean files leave the list (writers may have added files at its head meanwhile).
            CachedPages prev = null;
            for (CachedPages f = _dirtyFiles; f != null; )
            {
                CachedPages next = f.NextDirty;
                if (f.Dirty == 0)
                {
                    if (prev == null) _dirtyFiles = next; else prev.NextDirty = next;
                    f.InDirtyList = false; f.NextDirty = null;
                }
                else prev = f;
                f = next;
            }
        }
    }
}
