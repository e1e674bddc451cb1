using Kernel.Arch;
using Kernel.Memory;
using Kernel.Fs;

namespace Kernel.Proc
{
    /// A mapping's backing that counts the mappings of it (a SysV shared memory segment's
    /// shm_nattch): told when a mapping is made, copied by fork, or goes.
    public interface IAttachCounted
    {
        void Attached();
        void Detached();
    }

    /// A program's memory: VMAs over an address space, filled on demand (a fault in a VMA
    /// maps a zeroed frame with the VMA's permissions). Frames are owned here and freed on
    /// unmap.
    public sealed unsafe class UserMemory
    {
        public const uint ProtRead = 1, ProtWrite = 2, ProtExec = 4;
        public const ulong MmapTop = 0x00007f0000000000, MmapBottom = 0x0000100000000000;
        public readonly AddressSpace Space;
        public readonly VmaList Vmas = new VmaList();
        public ulong BrkStart, Brk;
        public ulong MmapBase = MmapTop;

        public UserMemory() { Space = AddressSpace.CreateUser(); }

        /// Memory a page of this space may not take: the first program's (init's) is 0, every
        /// other process leaves InitReserve to it, so a fork bomb's children run out (and are
        /// killed) before init's own faults do.
        public ulong Reserve;
        public const ulong InitReserve = 1UL << 20;

        /// Processes using this memory: a vfork child (CLONE_VM) shares its parent's. The
        /// last one to let go tears it down.
        public int Users = 1;

        /// One process lets go of this memory; the last one frees its frames and tables.
        public void Release()
        {
            if (--Users > 0) return;
            if (Space.IsActive) AddressSpace.Kernel.Activate();   // the kernel half is the same in every space
            Destroy();
        }

        /// PTE software bit: the frame is shared copy-on-write with another address space
        /// (mapped read-only; the first write copies it, or takes it back when no one else
        /// still maps it).
        public const ulong Cow = 0x400;
        const ulong FrameMask = 0x000ffffffffff000;

        /// fork: a copy of this memory for a child. Private pages are shared copy-on-write
        /// (both sides read-only, PhysicalMemory's owner count), pages a file owns (shared
        /// mappings, read-only file pages, the vvar page) are mapped again as they are.
        /// Null when memory ran out (nothing is left allocated).
        public UserMemory Fork()
        {
            if (!PhysicalMemory.KernelHasRoom(8 * 4096)) return null;
            var c = new UserMemory();
            c.Reserve = InitReserve;
            c.BrkStart = BrkStart; c.Brk = Brk; c.MmapBase = MmapBase;
            for (int i = 0; i < Vmas.Count; i++) c.Vmas.Insert(Vmas[i]);
            c._maps = new FileMap[_maps.Length];
            for (int i = 0; i < _mapCount; i++) { c._maps[i] = _maps[i]; Hold(_maps[i].File); }
            c._mapCount = _mapCount;
            bool ok = true;
            for (int i = 0; i < Vmas.Count && ok; i++)
            {
                ulong p = Vmas[i].Start, end = Vmas[i].End;
                while (p < end)
                {
                    ulong* slot = Space.Slot(p, out ulong next);
                    if (slot == null) { p = next; continue; }
                    ulong pte = *slot;
                    if ((pte & AddressSpace.Present) != 0)
                    {
                        ulong frame = pte & FrameMask;
                        if ((pte & Borrowed) != 0) ok = c.Space.Map(p, frame, pte & ~FrameMask);
                        else if (PhysicalMemory.AddOwner(frame))
                        {
                            ulong shared = (pte & ~AddressSpace.Writable) | Cow;
                            *slot = shared;
                            ok = c.Space.Map(p, frame, shared & ~FrameMask);
                            if (!ok) PhysicalMemory.ReleaseOwner(frame);
                        }
                        else
                        {
                            // Too many sharers for the count: this child gets its own copy now.
                            ulong copy = PhysicalMemory.HasRoom(4096 + Reserve) ? PhysicalMemory.AllocateFramesUninitialized(1) : ulong.MaxValue;
                            ok = copy != ulong.MaxValue;
                            if (ok)
                            {
                                Mem.Copy(PhysicalMemory.ToVirtual(copy), PhysicalMemory.ToVirtual(frame), 4096);
                                ok = c.Space.Map(p, copy, pte & ~FrameMask);
                                if (!ok) PhysicalMemory.FreeFrames(copy, 1);
                            }
                        }
                        if (!ok) break;
                    }
                    p = next;
                }
            }
            Space.FlushAll();
            if (!ok) { c.Destroy(); return null; }
            return c;
        }

        /// Copy-on-write faults since boot (/proc/vmstat): pages copied, and pages taken back
        /// without a copy because no other space mapped them any more.
        public static ulong CowCopied, CowReused;
        /// Page faults served since boot (/proc/vmstat's pgfault).
        public static ulong FaultsServed;

        /// A write to a copy-on-write page: a private copy, or the frame itself once no other
        /// space maps it. False when memory ran out (OutOfMemory set).
        bool BreakCow(ulong page, ulong pte, uint prot)
        {
            ulong frame = pte & FrameMask;
            if (PhysicalMemory.ExtraOwners(frame) == 0) { Space.Protect(page, PteFlags(prot)); CowReused++; return true; }
            ulong copy = PhysicalMemory.HasRoom(4096 + Reserve) ? PhysicalMemory.AllocateFramesUninitialized(1) : ulong.MaxValue;
            if (copy == ulong.MaxValue) { OutOfMemory = true; return false; }
            Mem.Copy(PhysicalMemory.ToVirtual(copy), PhysicalMemory.ToVirtual(frame), 4096);
            PhysicalMemory.ReleaseOwner(frame);
            Space.Map(page, copy, PteFlags(prot));
            Cpu.Invlpg(page);
            Smp.ShootdownPending = true;                     // another CPU may cache the shared frame's entry
            CowCopied++;
            return true;
        }

        /// Writes a 32-bit value at `addr` of this memory, active or not (CLONE_CHILD_SETTID
        /// into a forked child): the page is populated or unshared first. False when the
        /// address is not writable.
        public bool Poke32(ulong addr, uint value)
        {
            if ((addr & 3) != 0 || addr >= AddressSpace.UserLimit) return false;
            ulong page = addr & ~0xfffUL;
            ulong pte = Space.Lookup(page);
            const ulong need = AddressSpace.Present | AddressSpace.Writable | AddressSpace.User;
            if ((pte & need) != need)
            {
                if (!HandleFault(addr, true, false)) return false;
                pte = Space.Lookup(page);
                if ((pte & need) != need) return false;
            }
            *(uint*)((byte*)PhysicalMemory.ToVirtual(pte & FrameMask) + (addr & 0xfff)) = value;
            return true;
        }

        /// Reads [addr, addr+len) of this memory through its page tables, active or not (/proc
        /// of another process): only pages present and user-readable; false otherwise.
        public bool Peek(ulong addr, void* dst, ulong len)
        {
            byte* d = (byte*)dst;
            while (len > 0)
            {
                if (addr >= AddressSpace.UserLimit) return false;
                ulong pte = Space.Lookup(addr & ~0xfffUL);
                if ((pte & (AddressSpace.Present | AddressSpace.User)) != (AddressSpace.Present | AddressSpace.User)) return false;
                ulong off = addr & 0xfff, n = 4096 - off;
                if (n > len) n = len;
                Mem.Copy(d, (byte*)PhysicalMemory.ToVirtual(pte & FrameMask) + off, n);
                d += n; addr += n; len -= n;
            }
            return true;
        }

        /// The flags a present page keeps across a protection change: its software bits, and
        /// read-only while it is shared copy-on-write.
        public static ulong KeepSoftBits(ulong pte, ulong flags)
        {
            flags |= pte & (Borrowed | Cow);
            if ((pte & Cow) != 0) flags &= ~AddressSpace.Writable;
            return flags;
        }

        static int _nextSpaceId = 1;
        readonly ulong _spaceId = (ulong)_nextSpaceId++;

        /// The futex key of user address `uaddr` (at least one futex op has touched it): a
        /// MAP_SHARED mapping (of a file, or anonymous and shared by fork) is keyed by its
        /// backing page, so every mapping of that page meets on one key; other memory by this address space and the address.
        public ulong FutexKey(ulong uaddr)
        {
            int i = Vmas.IndexOf(uaddr);
            if (i >= 0 && Vmas[i].Kind == KindFileShared)
            {
                ulong pte = Space.Lookup(uaddr & ~0xfffUL);
                if ((pte & 1) != 0) return (1UL << 63) | (pte & 0x000ffffffffff000UL) | (uaddr & 0xfff);
            }
            return (_spaceId << 47) | uaddr;
        }

        // ---- file mappings: VMAs of kind KindFilePrivate/KindFileShared, with their file and
        // offset in a side table (newest first wins, so a remapped range finds its own).
        public const uint KindFilePrivate = VmaKind.FilePrivate, KindFileShared = VmaKind.FileShared;
        /// PTE software bit: the frame belongs to a file (or the image), not to this mapping.
        public const ulong Borrowed = 0x200;
        struct FileMap { public ulong Start, End, Offset; public IFileBacking File; }
        FileMap[] _maps = new FileMap[8];
        int _mapCount;

        public void AddFileVma(ulong start, ulong end, uint prot, bool shared, IFileBacking file, ulong offset)
        {
            Vmas.Insert(new Vma { Start = start, End = end, Prot = prot, Kind = shared ? KindFileShared : KindFilePrivate });
            AddMap(start, end, offset, file);
            // Under a debugger code is paged in at once: QEMU's gdb stub reports a breakpoint
            // on a page not yet present twice, before the page fault and after it.
            if (DebugHooks.Enabled && (prot & ProtExec) != 0)
            {
                for (ulong p = start; p < end; p += 4096) if (!HandleFault(p, false, false)) break;
                OutOfMemory = false;
            }
        }

        /// Records that [start, end) maps `file` from `offset`; the mapping holds the file (an
        /// inode's open count, a SysV segment's attach count) until it goes.
        void AddMap(ulong start, ulong end, ulong offset, IFileBacking file)
        {
            if (_mapCount == _maps.Length)
            {
                var bigger = new FileMap[_maps.Length * 2];
                for (int i = 0; i < _mapCount; i++) bigger[i] = _maps[i];
                _maps = bigger;
            }
            _maps[_mapCount++] = new FileMap { Start = start, End = end, Offset = offset, File = file };
            Hold(file);
        }

        static void Hold(IFileBacking f)
        {
            if (f is Inode n) n.Opened();
            else if (f is IAttachCounted a) a.Attached();
        }

        static void Drop(IFileBacking f)
        {
            if (f is Inode n) n.Closed();
            else if (f is IAttachCounted a) a.Detached();
        }

        /// [start, end) no longer maps files: entries inside it go, entries across an edge
        /// are trimmed, an entry around it is split in two.
        void RemoveMaps(ulong start, ulong end)
        {
            for (int i = 0; i < _mapCount; i++)
            {
                FileMap m = _maps[i];
                if (m.End <= start || m.Start >= end) continue;
                if (m.Start >= start && m.End <= end)
                {
                    for (int j = i; j < _mapCount - 1; j++) _maps[j] = _maps[j + 1];
                    _maps[--_mapCount] = default;
                    i--;
                    Drop(m.File);
                }
                else if (m.Start >= start)
                {
                    _maps[i].Offset = m.Offset + (end - m.Start);
                    _maps[i].Start = end;
                }
                else if (m.End <= end) _maps[i].End = start;
                else
                {
                    _maps[i].End = start;
                    AddMap(end, m.End, m.Offset + (end - m.Start), m.File);
                }
            }
        }

        /// mremap: the file mapping at [old, old+oldLen) now also covers the pages up to
        /// old+newLen (grown in place), or moved to dst (the caller moves the pages and VMAs).
        public void GrowMap(ulong old, ulong oldLen, ulong newLen)
        {
            int m = FindMap(old);
            if (m < 0) return;
            AddMap(old + oldLen, old + newLen, _maps[m].Offset + (old + oldLen - _maps[m].Start), _maps[m].File);
        }

        public void MoveMap(ulong old, ulong oldLen, ulong dst, ulong newLen)
        {
            int m = FindMap(old);
            if (m < 0) return;
            AddMap(dst, dst + newLen, _maps[m].Offset + (old - _maps[m].Start), _maps[m].File);
            RemoveMaps(old, old + oldLen);
        }

        int FindMap(ulong addr)
        {
            for (int i = _mapCount - 1; i >= 0; i--)
                if (addr >= _maps[i].Start && addr < _maps[i].End) return i;
            return -1;
        }

        /// The file that `addr` of a file VMA maps, or null (for /proc/self/maps).
        public IFileBacking FileOf(ulong addr)
        {
            int m = FindMap(addr);
            return m < 0 ? null : _maps[m].File;
        }

        /// File offset that `addr` of a file VMA maps (for /proc/self/maps).
        public ulong FileOffsetOf(ulong addr)
        {
            int m = FindMap(addr);
            return m < 0 ? 0 : _maps[m].Offset + (addr - _maps[m].Start);
        }

        /// Serves a fault in a file VMA (`v`, a copy: getting the page may wait for the disk,
        /// and other threads of the process may change the mappings meanwhile).
        bool FileFault(ulong page, Vma v)
        {
            int m = FindMap(page);
            if (m < 0) return false;
            FileMap fm = _maps[m];
            ulong off = fm.Offset + (page - fm.Start);
            long index = (long)(off >> 12);
            if ((long)off >= ((fm.File.Size + 4095) & ~4095L)) { BeyondEof = true; return false; }     // SIGBUS
            if (v.Kind == KindFileShared)
            {
                ulong phys = fm.File.PageFor(index, true);
                if (phys == ulong.MaxValue) return false;
                return !Unchanged(page, v, fm.File, off) || Space.Map(page, phys, PteFlags(v.Prot) | Borrowed);
            }
            if ((v.Prot & ProtWrite) == 0)
            {
                // A file without pages of its own to lend (ext4: no page cache yet) gets a copy.
                ulong phys = fm.File.PageFor(index, false);
                if (phys != ulong.MaxValue) return !Unchanged(page, v, fm.File, off) || Space.Map(page, phys, PteFlags(v.Prot) | Borrowed);
                if (!(fm.File is Ext4Node)) return false;
            }
            ulong frame = PhysicalMemory.HasRoom(4096 + Reserve) ? PhysicalMemory.AllocateFrames(1) : ulong.MaxValue;
            if (frame == ulong.MaxValue) { OutOfMemory = true; return false; }
            fm.File.ReadKernel((long)off, (byte*)PhysicalMemory.ToVirtual(frame), 4096);
            if (!Unchanged(page, v, fm.File, off)) { PhysicalMemory.FreeFrames(frame, 1); return true; }
            Space.Map(page, frame, PteFlags(v.Prot));
            return true;
        }

        /// After a wait for the file's page: true when `page` is still an unpopulated page of
        /// the same VMA (protection and kind) mapping `file` at `off`. Otherwise another thread
        /// mapped, unmapped or mprotected it meanwhile, and the fault is retried against what is
        /// there now (mapping with the old VMA's protection put a read-only, non-executable
        /// page under code: a thread's first call into a libc page on an ext4 root crashed).
        bool Unchanged(ulong page, Vma v, IFileBacking file, ulong off)
        {
            int i = Vmas.IndexOf(page);
            if (i < 0 || Vmas[i].Prot != v.Prot || Vmas[i].Kind != v.Kind) return false;
            int m = FindMap(page);
            if (m < 0 || _maps[m].File != file || _maps[m].Offset + (page - _maps[m].Start) != off) return false;
            return (Space.Lookup(page) & AddressSpace.Present) == 0;
        }

        /// File `f` shrank to `size` bytes: the pages that mappings of it have past the page
        /// holding the new end go (private copies too, as Linux's truncate), so the next access
        /// there faults and gets SIGBUS.
        public void UnmapFileBeyond(IFileBacking f, long size)
        {
            ulong from = (ulong)((size + 4095) & ~4095L);
            for (int i = 0; i < _mapCount; i++)
            {
                FileMap m = _maps[i];
                if (m.File != f) continue;
                ulong s = m.Offset >= from ? m.Start : m.Start + (from - m.Offset);
                if (s >= m.End || s < m.Start) continue;
                for (ulong p = s; p < m.End; )
                {
                    ulong* slot = Space.Slot(p, out ulong next);
                    if (slot != null && (*slot & AddressSpace.Present) != 0)
                    {
                        ulong pte = *slot;
                        *slot = 0;
                        if (Space.IsActive) Cpu.Invlpg(p);
                        FreeUnmapped(pte, pte & FrameMask);
                    }
                    p = next;
                }
            }
        }

        /// Frees the frame of an unmapped PTE unless a file owns it.
        public static void FreeUnmapped(ulong pte, ulong frame)
        {
            if (frame != ulong.MaxValue && (pte & Borrowed) == 0) PhysicalMemory.ReleaseOwner(frame);
        }

        /// PROT_NONE pages stay mapped (keeping their contents) but supervisor-only, so any
        /// access by the program faults.
        public static ulong PteFlags(uint prot)
        {
            if (prot == 0) return AddressSpace.NoExecute;
            ulong f = AddressSpace.User;
            if ((prot & ProtWrite) != 0) f |= AddressSpace.Writable;
            if ((prot & ProtExec) == 0) f |= AddressSpace.NoExecute;
            return f;
        }

        /// Resolves a fault at `addr`: true when it was a not-yet-populated page of a VMA
        /// that allows the access.
        public bool HandleFault(ulong addr, bool write, bool exec)
        {
            int i = Vmas.IndexOf(addr);
            if (i < 0) return false;
            ref Vma v = ref Vmas[i];
            if (v.Prot == 0 || (write && (v.Prot & ProtWrite) == 0) || (exec && (v.Prot & ProtExec) == 0)) return false;
            ulong page = addr & ~0xfffUL;
            ulong present = Space.Lookup(page);
            if ((present & AddressSpace.Present) != 0)
            {
                // Another CPU mapped it (or widened its access) since this CPU faulted: the
                // entry allows the access now, so only this CPU's TLB entry may be stale.
                if ((present & AddressSpace.User) != 0 && (!write || (present & AddressSpace.Writable) != 0) && (!exec || (present & AddressSpace.NoExecute) == 0))
                {
                    Cpu.Invlpg(page);
                    return true;
                }
                return write && (present & Cow) != 0 && BreakCow(page, present, v.Prot);   // else a real protection fault
            }
            if (v.Kind == KindFilePrivate || v.Kind == KindFileShared) return FileFault(page, v);
            // Program pages leave the kernel's reserve alone (page tables come out of it).
            ulong frame = PhysicalMemory.HasRoom(4096 + Reserve) ? PhysicalMemory.AllocateFrames(1) : ulong.MaxValue;
            if (frame == ulong.MaxValue) { OutOfMemory = true; return false; }
            Space.Map(page, frame, PteFlags(v.Prot));
            return true;
        }

        /// Set when a fault could not be served for lack of memory: the program is then
        /// killed with SIGKILL, as Linux's OOM killer would, rather than given a SIGSEGV.
        public bool OutOfMemory;
        /// Set when a fault was in a file mapping past the end of its file: SIGBUS, not SIGSEGV.
        public bool BeyondEof;

        /// Creates a VMA (the caller ensured the range is free) without populating it.
        public void AddVma(ulong start, ulong end, uint prot, uint kind)
        {
            Vmas.Insert(new Vma { Start = start, End = end, Prot = prot, Kind = kind });
        }

        /// Tears the whole address space down: every mapping's frames (those a file or the
        /// vDSO does not own), then the page tables. The object is unusable afterwards; it
        /// must not be the active address space.
        public void Destroy()
        {
            Unmap(0, AddressSpace.UserLimit);
            Space.FreeUserTables();
        }

        /// Unmaps [start, end): page-table entries go and their frames are freed.
        public void Unmap(ulong start, ulong end)
        {
            bool active = Space.IsActive;
            for (int i = 0; i < Vmas.Count; i++)
            {
                ref Vma v = ref Vmas[i];
                ulong s = v.Start > start ? v.Start : start, e = v.End < end ? v.End : end;
                // Page by page where tables exist; a missing table skips its whole range
                // (an 8 MiB stack with a few pages touched costs a few steps, not 2048).
                for (ulong p = s; p < e; )
                {
                    ulong* slot = Space.Slot(p, out ulong next);
                    if (slot != null && (*slot & AddressSpace.Present) != 0)
                    {
                        ulong pte = *slot;
                        *slot = 0;
                        if (active) Cpu.Invlpg(p);
                        Smp.ShootdownPending = true;
                        FreeUnmapped(pte, pte & FrameMask);
                    }
                    p = next;
                }
            }
            Vmas.Remove(start, end);
            RemoveMaps(start, end);
        }

        /// Changes the permissions of [start, end), splitting VMAs at the edges.
        public void Protect(ulong start, ulong end, uint prot)
        {
            ulong a = start;
            while (a < end)
            {
                int i = Vmas.IndexOf(a);
                if (i < 0) break;
                Vma v = Vmas[i];
                ulong e = v.End < end ? v.End : end;
                Vmas.Remove(a, e);
                Vmas.Insert(new Vma { Start = a, End = e, Prot = prot, Kind = v.Kind });
                // A private file page mapped from the file itself must not become writable:
                // drop it so the next access makes a private copy.
                if (v.Kind == KindFilePrivate && (prot & ProtWrite) != 0)
                    for (ulong p = a; p < e; p += 4096)
                        if ((Space.Lookup(p) & (AddressSpace.Present | Borrowed)) == (AddressSpace.Present | Borrowed)) Space.Unmap(p);
                a = e;
            }
            RemapProtection(start, end, prot);
        }

        public void RemapProtection(ulong start, ulong end, uint prot)
        {
            ulong flags = PteFlags(prot);
            for (ulong p = start; p < end; p += 4096)
            {
                ulong pte = Space.Lookup(p);
                if ((pte & AddressSpace.Present) == 0) continue;
                Space.Protect(p, KeepSoftBits(pte, flags));
            }
        }
    }
}
