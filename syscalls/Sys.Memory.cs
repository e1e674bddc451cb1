using Kernel.Memory;
using Kernel.Proc;
using Kernel.Abi;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        const int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_SHARED_VALIDATE = 3, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_GROWSDOWN = 0x100, MAP_DENYWRITE = 0x800, MAP_EXECUTABLE = 0x1000, MAP_LOCKED = 0x2000,
            MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_NONBLOCK = 0x10000, MAP_STACK = 0x20000,
            MAP_HUGETLB = 0x40000, MAP_FIXED_NOREPLACE = 0x100000;
        const ulong PageMask = 0xfff;

        static UserMemory Mm => Cur.Memory;
        static readonly byte[] DevZeroName = { (byte)'d', (byte)'e', (byte)'v', (byte)'/', (byte)'z', (byte)'e', (byte)'r', (byte)'o' };

        static bool PageAligned(ulong v) => (v & PageMask) == 0;
        static ulong PageUp(ulong v) => (v + PageMask) & ~PageMask;

        const int RLIMIT_DATA = 2, RLIMIT_AS = 9;

        /// RLIMIT_AS and RLIMIT_DATA, as Linux's may_expand_vm: whether `bytes` more of
        /// mapping (`data`: private and writable, not the stack) stay within the soft limits,
        /// counted in whole pages.
        static bool MayExpand(ulong bytes, bool data) => WithinLimit(RLIMIT_AS, bytes, false) && (!data || WithinLimit(RLIMIT_DATA, bytes, true));

        static bool WithinLimit(int resource, ulong bytes, bool dataOnly)
        {
            ulong limit = Cur.Limits[resource].Cur;
            return limit == ulong.MaxValue || Mm.Vmas.BytesIn(0, ulong.MaxValue, dataOnly) + bytes <= (limit & ~PageMask);
        }

        /// mmap(2)
        public static SysResult Mmap(SyscallArgs* a)
        {
            ulong addr = a->A0, len = a->A1;
            uint prot = (uint)a->A2;
            int flags = (int)a->A3, fd = (int)a->A4;
            ulong off = a->A5;
            int type = flags & 3;
            if (type == 0) return Errno.EINVAL;
            if (len == 0 || !PageAligned(off)) return Errno.EINVAL;
            if ((prot & ~7u) != 0) return Errno.EINVAL;
            ulong size = PageUp(len);
            if (size < len || size > AddressSpace.UserLimit) return Errno.ENOMEM;
            Kernel.Fs.Inode file = null;
            if ((flags & MAP_ANONYMOUS) == 0)
            {
                Kernel.Fs.OpenFile f = Fd(fd);
                if (f == null || f.IsPath) return Errno.EBADF;
                Kernel.Fs.Inode n = f.Inode;
                bool devZero = n is Kernel.Fs.DevNode dn && dn.Kind == Kernel.Fs.DevKind.Zero;
                if (!devZero)
                {
                    if (n == null || !n.IsRegular) return Errno.ENODEV;
                    uint acc = f.StatusFlags & 3;
                    if (acc == 1) return Errno.EACCES;
                    if (type != MAP_PRIVATE && (prot & UserMemory.ProtWrite) != 0 && acc != 2) return Errno.EACCES;
                    if (off + size < off || (long)(off + size) < 0) return Errno.EOVERFLOW;
                    file = n;
                }
            }
            if (type == MAP_SHARED_VALIDATE && (flags & ~0x1ff7ff) != 0) return Errno.EOPNOTSUPP;
            bool data = type == MAP_PRIVATE && (prot & UserMemory.ProtWrite) != 0 && (flags & MAP_GROWSDOWN) == 0;
            ulong start;
            if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0)
            {
                if (!PageAligned(addr)) return Errno.EINVAL;
                if (addr + size > AddressSpace.UserLimit || addr + size < addr) return Errno.ENOMEM;
                if ((flags & MAP_FIXED_NOREPLACE) != 0 && (flags & MAP_FIXED) == 0 && Mm.Vmas.Overlaps(addr, addr + size)) return Errno.EEXIST;
                // What the new mapping replaces does not count twice (as Linux's mmap_region).
                if (!MayExpand(size - Mm.Vmas.BytesIn(addr, addr + size, false), data)) return Errno.ENOMEM;
                Mm.Unmap(addr, addr + size);
                start = addr;
            }
            else
            {
                start = 0;
                // A hint is honoured when the range is free, as Linux does.
                if (addr != 0 && PageAligned(addr) && addr >= 0x10000 && addr + size <= AddressSpace.UserLimit && !Mm.Vmas.Overlaps(addr, addr + size))
                    start = addr;
                if (start == 0) start = Mm.Vmas.FindFreeTopDown(size, UserMemory.MmapBottom, UserMemory.MmapTop);
                if (start == 0 || !MayExpand(size, data)) return Errno.ENOMEM;
            }
            if (file != null)
            {
                Mm.Unmap(start, start + size);
                Mm.AddFileVma(start, start + size, prot, type != MAP_PRIVATE, file, off);
                if ((prot & UserMemory.ProtExec) != 0) DebugAnnounce.MappedCode(file, start, off);
            }
            else if (type == MAP_PRIVATE) Mm.AddVma(start, start + size, prot, VmaKind.Anonymous);
            else
            {
                // Shared anonymous memory is an unlinked tmpfs file of the mapping's size (as
                // Linux's shmem, shown as /dev/zero (deleted)): fork shares its pages, and a
                // mapping grown past it by mremap gives SIGBUS there.
                Mm.Unmap(start, start + size);
                var shm = new Kernel.Fs.MemFile(Kernel.Fs.Vfs.TmpFs, FileMode.S_IFREG | 0x1ff) { Nlink = 0, Parent = Kernel.Fs.Vfs.Root, Name = DevZeroName };
                shm.Truncate((long)size);
                Mm.AddFileVma(start, start + size, prot, true, shm, 0);
            }
            if ((flags & MAP_POPULATE) != 0)
                for (ulong p = start; p < start + size; p += 4096)
                    if (!Mm.HandleFault(p, false, false) && Mm.OutOfMemory)
                    {
                        Mm.OutOfMemory = false;           // populating is best effort: stop, not a kill
                        break;
                    }
            return (long)start;
        }

        /// munmap(2)
        public static SysResult Munmap(SyscallArgs* a)
        {
            ulong addr = a->A0, len = a->A1;
            if (!PageAligned(addr) || len == 0) return Errno.EINVAL;
            ulong size = PageUp(len);
            if (size == 0 || size > AddressSpace.UserLimit) return Errno.EINVAL;   // rounding wrapped
            ulong end = addr + size;
            if (end > AddressSpace.UserLimit || end < addr) return Errno.EINVAL;
            SyncSharedFiles(addr, end);           // a shared mapping's writes reach the disk
            Mm.Unmap(addr, end);
            return SysResult.Ok;
        }

        /// pkey_alloc(2): as on a CPU without protection keys, there is none to allocate.
        public static SysResult PkeyAlloc(SyscallArgs* a) => a->A0 != 0 || (a->A1 & ~3UL) != 0 ? Errno.EINVAL : Errno.ENOSPC;
        /// pkey_free(2): no key was ever allocated.
        public static SysResult PkeyFree(SyscallArgs* a) => Errno.EINVAL;
        /// pkey_mprotect(2): key -1 is plain mprotect; no other key exists.
        public static SysResult PkeyMprotect(SyscallArgs* a) => (int)a->A3 == -1 ? Mprotect(a) : Errno.EINVAL;

        /// mprotect(2)
        public static SysResult Mprotect(SyscallArgs* a)
        {
            ulong addr = a->A0, len = a->A1;
            uint prot = (uint)a->A2;
            if (!PageAligned(addr)) return Errno.EINVAL;
            if ((prot & ~(7u | 0x01000000 | 0x02000000)) != 0) return Errno.EINVAL;   // GROWSDOWN/UP accepted
            prot &= 7;
            if (len == 0) return SysResult.Ok;
            ulong end = addr + PageUp(len);
            if (end <= addr) return Errno.ENOMEM;                  // wrapped, or a length from 2^64-4095
            if (!Mm.Vmas.Covers(addr, end)) return Errno.ENOMEM;
            // Making private memory writable makes it data (RLIMIT_DATA), as Linux's
            // mprotect_fixup; with no limit (the usual case) there is nothing to count.
            if ((prot & UserMemory.ProtWrite) != 0 && Cur.Limits[RLIMIT_DATA].Cur != ulong.MaxValue)
            {
                ulong becomesData = 0;
                for (int i = 0; i < Mm.Vmas.Count; i++)
                {
                    Vma v = Mm.Vmas[i];
                    if (v.End <= addr || v.Start >= end || VmaList.IsData(v)) continue;
                    v.Prot |= UserMemory.ProtWrite;
                    if (VmaList.IsData(v)) becomesData += (v.End < end ? v.End : end) - (v.Start > addr ? v.Start : addr);
                }
                if (becomesData != 0 && !WithinLimit(RLIMIT_DATA, becomesData, true)) return Errno.ENOMEM;
            }
            Mm.Protect(addr, end, prot);
            return SysResult.Ok;
        }

        /// brk(2): returns the new break, or the old one when the request cannot be met.
        public static SysResult Brk(SyscallArgs* a)
        {
            ulong want = a->A0;
            UserMemory m = Mm;
            if (want < m.BrkStart) return (long)m.Brk;
            // Beyond the user half (rounding up would wrap from 2^64-4095): leave the break alone.
            if (want > AddressSpace.UserLimit) return (long)m.Brk;
            ulong oldTop = PageUp(m.Brk), newTop = PageUp(want);
            if (newTop > oldTop)
            {
                if (m.Vmas.Overlaps(oldTop, newTop) || newTop - m.BrkStart > (1UL << 30)) return (long)m.Brk;
                // RLIMIT_DATA bounds the heap's size (Linux's check_data_rlimit), RLIMIT_AS the growth.
                ulong dataLimit = Cur.Limits[RLIMIT_DATA].Cur;
                if (dataLimit != ulong.MaxValue && want - m.BrkStart > dataLimit || !WithinLimit(RLIMIT_AS, newTop - oldTop, false)) return (long)m.Brk;
                m.AddVma(oldTop, newTop, UserMemory.ProtRead | UserMemory.ProtWrite, VmaKind.Heap);
            }
            else if (newTop < oldTop) m.Unmap(newTop, oldTop);
            m.Brk = want;
            return (long)want;
        }

        /// mremap(2)
        public static SysResult Mremap(SyscallArgs* a)
        {
            ulong old = a->A0, oldLen = PageUp(a->A1), newLen = PageUp(a->A2);
            int flags = (int)a->A3;
            const int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
            if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0 || !PageAligned(old)) return Errno.EINVAL;
            if ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0) return Errno.EINVAL;
            if (newLen == 0 || a->A2 == 0) return Errno.EINVAL;
            if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0) return Errno.EINVAL;   // not supported yet: honest EINVAL
            int i = Mm.Vmas.IndexOf(old);
            if (i < 0 || oldLen == 0 || !Mm.Vmas.Covers(old, old + oldLen)) return Errno.EFAULT;
            Vma v = Mm.Vmas[i];
            if (newLen <= oldLen)
            {
                if (newLen < oldLen) Mm.Unmap(old + newLen, old + oldLen);
                return (long)old;
            }
            if (!MayExpand(newLen - oldLen, VmaList.IsData(v))) return Errno.ENOMEM;
            if (!Mm.Vmas.Overlaps(old + oldLen, old + newLen) && old + newLen <= AddressSpace.UserLimit)
            {
                Mm.AddVma(old + oldLen, old + newLen, v.Prot, v.Kind);
                Mm.GrowMap(old, oldLen, newLen);              // a file mapping maps on into the file
                return (long)old;
            }
            if ((flags & MREMAP_MAYMOVE) == 0) return Errno.ENOMEM;
            ulong dst = Mm.Vmas.FindFreeTopDown(newLen, UserMemory.MmapBottom, UserMemory.MmapTop);
            if (dst == 0) return Errno.ENOMEM;
            // Move the pages (frames and all) to the new place.
            Mm.AddVma(dst, dst + newLen, v.Prot, v.Kind);
            for (ulong off = 0; off < oldLen; off += 4096)
            {
                ulong pte = Mm.Space.Lookup(old + off);
                ulong frame = Mm.Space.Unmap(old + off);
                if (frame != ulong.MaxValue) Mm.Space.Map(dst + off, frame, UserMemory.KeepSoftBits(pte, UserMemory.PteFlags(v.Prot)));
            }
            Mm.MoveMap(old, oldLen, dst, newLen);             // a file mapping keeps its file and offset
            Mm.Vmas.Remove(old, old + oldLen);
            return (long)dst;
        }

        /// madvise(2)
        public static SysResult Madvise(SyscallArgs* a)
        {
            ulong addr = a->A0, len = a->A1;
            int advice = (int)a->A2;
            if (!PageAligned(addr)) return Errno.EINVAL;
            bool known = advice <= 4 || (advice >= 8 && advice <= 25) || advice == 100 || advice == 101;
            if (!known) return Errno.EINVAL;
            if (len == 0) return SysResult.Ok;
            ulong end = addr + PageUp(len);
            if (end <= addr) return Errno.EINVAL;                  // wrapped, or a length from 2^64-4095
            if (!Mm.Vmas.Covers(addr, end)) return Errno.ENOMEM;
            // MADV_FREE is for private anonymous memory only (EINVAL on file and shared mappings).
            if (advice == 8)
                for (ulong p = addr; p < end; )
                {
                    ref Vma v = ref Mm.Vmas[Mm.Vmas.IndexOf(p)];
                    if (v.Kind == UserMemory.KindFilePrivate || v.Kind == UserMemory.KindFileShared) return Errno.EINVAL;
                    p = v.End;
                }
            // MADV_DONTNEED, MADV_FREE: private anonymous pages read back as zero; file pages
            // (shared anonymous memory is a file) come back from the file.
            if (advice == 4 || advice == 8)
                for (ulong p = addr; p < end; p += 4096)
                {
                    ulong pte = Mm.Space.Lookup(p);
                    UserMemory.FreeUnmapped(pte, Mm.Space.Unmap(p));
                }
            return SysResult.Ok;
        }

        /// msync(2)
        public static SysResult Msync(SyscallArgs* a)
        {
            ulong addr = a->A0;
            int flags = (int)a->A2;
            if (!PageAligned(addr) || (flags & ~7) != 0 || (flags & 5) == 5) return Errno.EINVAL;
            if (!Mm.Vmas.Covers(addr, addr + PageUp(a->A1))) return Errno.ENOMEM;
            // MS_SYNC: the files under shared mappings written back (and the device flushed);
            // MS_ASYNC has nothing to start (the mappings are the cached pages themselves).
            if ((flags & 4) != 0) { Errno e = SyncSharedFiles(addr, addr + PageUp(a->A1)); if (e != 0) return e; }
            return SysResult.Ok;
        }

        /// fdatasync of every file a shared mapping in [start, end) maps (a file with a page
        /// cache: its dirty pages written back in file order).
        static Errno SyncSharedFiles(ulong start, ulong end)
        {
            Errno err = 0;
            for (int i = 0; i < Mm.Vmas.Count; i++)
            {
                Vma v = Mm.Vmas[i];
                if (v.Kind != UserMemory.KindFileShared || v.End <= start || v.Start >= end) continue;
                if (Mm.FileOf(v.Start > start ? v.Start : start) is Kernel.Fs.Inode n)
                {
                    Errno e = n.Sync(true);
                    if (e != 0 && err == 0) err = e;
                }
            }
            return err;
        }
    }
}
