using System;
using Kernel.Abi;
using Kernel.Console;
using Kernel.Drivers;
using Kernel.Memory;
using Kernel.Sched;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Fs
{
    /// A virtio-blk disk as the device under an ext4 volume: byte ranges at any alignment
    /// through the driver's bounce buffers (a partial sector is read, patched and written).
    /// Whole-sector writes are left in flight (write-behind, up to the disk's slots but
    /// two): a read, a flush, a partial-sector write or a write overlapping one in flight
    /// waits for them first, so the volume sees its writes in order, and a flush returns
    /// only when they are done and on the disk (a failed one makes that flush fail).
    public sealed unsafe class VirtioExt4Device : IExt4Device
    {
        readonly VirtioBlk _disk;
        readonly int _maxPending;
        readonly int[] _pendingSlot = new int[16];
        readonly long[] _pendingStart = new long[16], _pendingEnd = new long[16];
        int _pending;
        bool _writeFailed;
        public VirtioExt4Device(VirtioBlk disk)
        {
            _disk = disk;
            int m = disk.SlotCount - 2;
            _maxPending = m < 0 ? 0 : m > 16 ? 16 : m;
        }

        /// Waits for the writes in flight (a failure is kept for the next flush to report).
        void Drain()
        {
            for (int i = 0; i < _pending; i++)
            {
                if (_disk.Finish(_pendingSlot[i]) != VirtioBlk.StatusOk) _writeFailed = true;
                _disk.Release(_pendingSlot[i]);
            }
            _pending = 0;
        }

        bool OverlapsPending(long start, long end)
        {
            for (int i = 0; i < _pending; i++)
                if (start < _pendingEnd[i] && _pendingStart[i] < end) return true;
            return false;
        }
        public long Bytes => (long)_disk.Sectors * VirtioBlk.SectorSize;
        public bool ReadOnly => _disk.ReadOnly;

        /// Requests sent (sector reads include the read-modify-write of partial sectors).
        public long Reads, Writes, Flushes, WriteBytes;

        public bool Read(long offset, byte* dst, int len) => Transfer(false, offset, dst, len);
        public bool Write(long offset, byte* src, int len) => Transfer(true, offset, src, len);

        bool Transfer(bool write, long offset, byte* p, int len)
        {
            const int S = VirtioBlk.SectorSize;
            if (offset < 0 || len < 0 || offset + len > Bytes) return false;
            // Reads, and writes that read partial sectors first, see every earlier write.
            bool aligned = write && (offset & (S - 1)) == 0 && (len & (S - 1)) == 0;
            if (_pending > 0 && (!aligned || OverlapsPending(offset, offset + len))) Drain();
            long done = 0;
            while (done < len)
            {
                long at = offset + done;
                long first = at & ~(long)(S - 1);
                int within = (int)(at - first);
                long n = len - done;
                if (n > VirtioBlk.SlotBytes - within) n = VirtioBlk.SlotBytes - within;
                uint span = (uint)((within + n + S - 1) & ~(long)(S - 1));
                ulong sector = (ulong)first / S;
                int slot = _disk.Acquire();
                byte* buf = _disk.Buffer(slot);
                bool ok = true;
                if (write)
                {
                    // Partial sectors at either end: read them first (the last one through a
                    // second slot, as a request fills its slot's buffer from the start).
                    if (within != 0)
                    {
                        Reads++;
                        _disk.StartRequest(slot, VirtioBlk.TypeIn, sector, S);
                        ok = _disk.Finish(slot) == VirtioBlk.StatusOk;
                    }
                    if (ok && ((within + n) & (S - 1)) != 0 && (span > S || within == 0))
                    {
                        int slot2 = _disk.Acquire();
                        Reads++;
                        _disk.StartRequest(slot2, VirtioBlk.TypeIn, sector + span / S - 1, S);
                        ok = _disk.Finish(slot2) == VirtioBlk.StatusOk;
                        if (ok) Mem.Copy(buf + span - S, _disk.Buffer(slot2), S);
                        _disk.Release(slot2);
                    }
                    if (ok)
                    {
                        Mem.Copy(buf + within, p + done, (ulong)n);
                        Writes++; WriteBytes += span;
                        _disk.StartRequest(slot, VirtioBlk.TypeOut, sector, span);
                        if (aligned && _pending < _maxPending)
                        {
                            // Left in flight: the data is in the slot's buffer already.
                            _pendingSlot[_pending] = slot; _pendingStart[_pending] = (long)sector * S; _pendingEnd[_pending] = (long)sector * S + span;
                            _pending++;
                            done += n;
                            continue;
                        }
                        ok = _disk.Finish(slot) == VirtioBlk.StatusOk;
                    }
                }
                else
                {
                    Reads++;
                    _disk.StartRequest(slot, VirtioBlk.TypeIn, sector, span);
                    ok = _disk.Finish(slot) == VirtioBlk.StatusOk;
                    if (ok) Mem.Copy(p + done, buf + within, (ulong)n);
                }
                _disk.Release(slot);
                if (!ok) return false;
                done += n;
            }
            return true;
        }

        public bool Flush()
        {
            Drain();
            if (_writeFailed) { _writeFailed = false; return false; }
            if (!_disk.CanFlush) return true;
            Flushes++;
            int slot = _disk.Acquire();
            _disk.StartRequest(slot, VirtioBlk.TypeFlush, 0, 0);
            byte status = _disk.Finish(slot);
            _disk.Release(slot);
            return status == VirtioBlk.StatusOk;
        }
    }

    /// A mounted ext4 volume: the on-disk volume, its VFS inodes, and a lock (disk waits
    /// block, so two threads could otherwise interleave inside one update).
    public sealed unsafe class Ext4Mount
    {
        public Ext4Volume Vol;
        public FileSystem Fs;
        public byte[] Source;        // "/dev/vdb"
        public byte[] Target;        // the mount point's path
        public Ext4Node Root;
        public bool ReadOnly => Vol.ReadOnly;
        bool _busy;
        Thread _owner;
        readonly WaitQueue _wait = new WaitQueue();
        public readonly byte[] Bounce = new byte[256 << 10];        // the page cache's read-ahead and write-back runs

        public static Ext4Mount[] All = new Ext4Mount[8];
        public static int Count;

        public void Lock()
        {
            while (_busy) _wait.Wait(0, false);
            _busy = true;
            _owner = Scheduler.Current;
        }

        /// The end of an operation: the journal may commit (its interval passed, or the
        /// transaction grew large) before another operation starts.
        public void Unlock()
        {
            if (!Vol.OperationDone()) Log.Write(LogLevel.Error, "ext4: a journal commit failed");
            Ext4Journal j = Vol.Journal;
            if (j == null || !j.HasRunning) _commitAt = 0;
            else if (_commitAt == 0)
            {
                // A transaction began: the commit timer is armed for it.
                _commitAt = Kernel.Time.Clock.MonotonicNs() + (ulong)Ext4Journal.CommitInterval * 1_000_000_000UL;
                _commitWait.WakeAll();
            }
            _busy = false;
            _owner = null;
            _wait.WakeAll();
        }

        // The journal's commit timer (ext4's commit=5): the running transaction commits
        // CommitInterval seconds after the operation that began it ended, even when no other
        // operation comes. A kernel thread per journaled mount sleeps until that deadline
        // (or, with none armed, until Unlock arms one).
        ulong _commitAt;
        readonly WaitQueue _commitWait = new WaitQueue();
        public long TimedCommits;

        static void Committer(ulong index)
        {
            Ext4Mount m = All[(int)index];
            while (true)
            {
                ulong at = m._commitAt;
                if (at == 0 || Kernel.Time.Clock.MonotonicNs() < at) { m._commitWait.Wait(at, false); continue; }
                m.Lock();
                Ext4Journal j = m.Vol.Journal;
                if (j != null && j.HasRunning)
                {
                    m.TimedCommits++;
                    if (!m.Vol.Flush()) Log.Write(LogLevel.Error, "ext4: a timed journal commit failed");
                }
                m._commitAt = 0;
                m.Unlock();
            }
        }

        /// Locks unless this thread holds the lock already (a page fault in a file mapping of
        /// this volume while a read or write of it copies to or from the program); true when
        /// it took the lock (then Unlock).
        public bool LockUnlessHeld()
        {
            if (_busy && _owner == Scheduler.Current) return false;
            Lock();
            return true;
        }

        /// Writes back the dirty pages of every file of this volume (sync, syncfs, and the
        /// journal's ordered mode before a metadata commit). The caller holds the lock.
        public Errno WriteBackDirtyData()
        {
            Errno e = 0;
            for (int i = 0; i < Vol.FileCount; i++)
                if (Vol.FileAt(i).Node is Ext4Node n && n.Cache != null && n.Cache.Dirty > 0)
                {
                    Errno we = PageCache.WriteBack(n.Cache);
                    if (we != 0) e = we;
                }
            return e;
        }

        static void WriteBackDataForCommit(object mount)
        {
            var m = (Ext4Mount)mount;
            // Write-back allocates blocks; on a nearly full volume that may commit the running
            // transaction in the middle of it, which must not start another write-back.
            if (m._writingBackForCommit) return;
            m._writingBackForCommit = true;
            if (m.WriteBackDirtyData() != 0) Log.Write(LogLevel.Error, "ext4: writing back file data before a journal commit failed");
            m._writingBackForCommit = false;
        }
        bool _writingBackForCommit;

        /// The VFS inode of inode `ino` (one per inode while mounted).
        public Errno NodeFor(uint ino, out Ext4Node node)
        {
            node = null;
            Errno e = Vol.GetFile(ino, out Ext4File f);
            if (e != 0) return e;
            if (f.Node is Ext4Node n) { node = n; return 0; }
            node = new Ext4Node(this, f);
            f.Node = node;
            return 0;
        }

        /// Mounts disk `disk` at `path` (created in the image's tree when missing). Logs why
        /// when it cannot.
        public static bool MountDisk(int disk, ReadOnlySpan<byte> path, bool readOnly)
        {
            if (disk < 0 || disk >= VirtioBlk.DiskCount || Count == All.Length) { Log.Write(LogLevel.Error, "ext4: no such disk for a volume"); return false; }
            Ext4Volume.Clock = &Clock;
            PageCache.Start();
            var dev = new VirtioExt4Device(VirtioBlk.Disks[disk]);
            Errno e = Ext4Volume.Mount(dev, readOnly, out Ext4Volume vol, out string message, out uint features);
            if (message != null)
            {
                var w = Log.Begin(e != 0 ? LogLevel.Error : LogLevel.Warn, stackalloc byte[320]);
                w.Str("ext4: vd"); w.Byte((byte)('a' + disk)); w.Str(": "); w.Str(message);
                for (int i = 0; i < 32; i++)
                {
                    uint bit = 1u << i;
                    if ((features & bit) == 0) continue;
                    string n = message.Length > 0 && message[0] == 'm' ? Ext4.RoCompatName(bit) : Ext4.IncompatName(bit);
                    w.Byte((byte)' ');
                    if (n != null) w.Str(n); else { w.Str("0x"); w.Hex(bit); }
                }
                Log.End(ref w);
            }
            if (e != 0) return false;
            var m = new Ext4Mount { Vol = vol };
            // Ordered mode: file data reaches the disk before the metadata that points at it
            // commits (Commit runs with the mount's lock held).
            if (vol.Journal != null) { vol.Journal.WriteBackData = &WriteBackDataForCommit; vol.Journal.WriteBackOwner = m; }
            m.Fs = new FileSystem(BlockDevices.EncodeDev(BlockDevices.Major, (uint)disk * 16), Ext4Node.Bytes("ext4"u8), Ext4.Magic, 1);
            m.Source = Ext4Node.Bytes("/dev/vda"u8);
            m.Source[7] = (byte)('a' + disk);
            m.Target = Ext4Node.Bytes(path);
            if (m.NodeFor(2, out Ext4Node root) != 0 || !root.IsDir) { Log.Write(LogLevel.Error, "ext4: the volume's root directory is unreadable"); return false; }
            m.Root = root;
            if (path.Length == 1 && path[0] == '/') RootMount = m;      // the image's root (MountRoot): Vfs.Init takes it
            else if (!Vfs.MountAt(path, root)) { Log.Write(LogLevel.Error, "ext4: cannot make the mount point"); return false; }
            All[Count++] = m;
            if (vol.Journal != null) Scheduler.StartKernelThread(&Committer, (ulong)(Count - 1));
            return true;
        }

        /// Writes back what the inodes changed in memory (chmod, chown, utimes set the VFS
        /// fields), the superblock, and commits the journal's transaction (or flushes the
        /// device when the volume has no journal).
        public Errno Sync()
        {
            Lock();
            Errno e = 0;
            if (!ReadOnly)
            {
                e = WriteBackDirtyData();
                for (int i = 0; i < Vol.FileCount; i++)
                    if (Vol.FileAt(i).Node is Ext4Node n && n.Push() && n.F.Links > 0) { Errno we = Vol.WriteInode(n.F); if (we != 0) e = we; }
                if (!Vol.Sync()) e = Errno.EIO;
            }
            Unlock();
            return e;
        }

        /// At power-off: frees the inodes unlinked while open, writes everything back (dirty
        /// pages first), marks the volume clean. The cached pages are freed.
        public void Unmount()
        {
            Lock();
            if (!ReadOnly)
            {
                for (int i = Vol.FileCount - 1; i >= 0; i--)
                {
                    if (i >= Vol.FileCount) continue;
                    Ext4File f = Vol.FileAt(i);
                    if (f.Node is Ext4Node n)
                    {
                        if (n.Cache != null)
                        {
                            if (f.Links != 0) PageCache.WriteBack(n.Cache);
                            PageCache.Drop(n.Cache);
                        }
                        if (f.Links == 0) { Vol.FreeInode(f); continue; }
                        if (n.Push()) Vol.WriteInode(f);
                    }
                }
                Ext4Journal j = Vol.Journal;
                if (!Vol.Unmount()) Log.Write(LogLevel.Error, "ext4: writing the volume back failed");
                LogCounters(j != null ? j.Commits : 0);
            }
            Unlock();
        }

        /// At unmount, at log level 2 (info): the device requests and journal commits of the run.
        void LogCounters(long commits)
        {
            if (!(Vol.Dev is VirtioExt4Device d)) return;
            var w = Log.Begin(LogLevel.Info, stackalloc byte[200]);
            w.Str("ext4: "); w.Bytes(Source); w.Str(": "); w.Dec(d.Reads); w.Str(" reads, "); w.Dec(d.Writes);
            w.Str(" writes ("); w.Dec(d.WriteBytes >> 10); w.Str(" KiB), "); w.Dec(d.Flushes); w.Str(" flushes, ");
            w.Dec(commits); w.Str(" commits ("); w.Dec(TimedCommits); w.Str(" by the timer)");
            Log.End(ref w);
        }

        /// The disk holding the image's root filesystem (rootdisk=N, set by Kmain; -1 none) and,
        /// once MountRoot has mounted it, its mount.
        public static int RootDisk = -1;
        public static Ext4Mount RootMount;

        /// Mounts the image's root disk (ukpack build --root-disk) read-write, once its ext4
        /// superblock is checked against the image's ROOTDISK section (u64 offset, u64 length,
        /// u8[16] UUID): a missing, short or foreign disk is refused with a message, never
        /// mounted. Vfs.Init then makes RootMount.Root the tree's root.
        public static bool MountRoot(ReadOnlySpan<byte> section)
        {
            int disk = RootDisk;
            if (disk < 0) { Log.Write(LogLevel.Error, "root disk: this image keeps its root filesystem on a disk, and none was attached (run it with ukpack run)"); return false; }
            if (disk >= VirtioBlk.DiskCount) { Log.Write(LogLevel.Error, "root disk: rootdisk= names a disk that is not there"); return false; }
            if (section.Length < 32) { Log.Write(LogLevel.Error, "root disk: the image's ROOTDISK section is too short"); return false; }
            ulong length = 0;
            for (int i = 7; i >= 0; i--) length = length << 8 | section[8 + i];
            var dev = new VirtioExt4Device(VirtioBlk.Disks[disk]);
            if ((ulong)dev.Bytes < length) { Log.Write(LogLevel.Error, "root disk: the disk is shorter than the image's filesystem (a truncated image?)"); return false; }
            byte* sb = stackalloc byte[1024];
            if (!dev.Read(1024, sb, 1024)) { Log.Write(LogLevel.Error, "root disk: its superblock cannot be read"); return false; }
            if (sb[56] != 0x53 || sb[57] != 0xef) { Log.Write(LogLevel.Error, "root disk: no ext4 filesystem on it (the image is corrupt)"); return false; }
            for (int i = 0; i < 16; i++)
                if (sb[104 + i] != section[16 + i]) { Log.Write(LogLevel.Error, "root disk: its ext4 filesystem is not the image's (UUID differs)"); return false; }
            return MountDisk(disk, "/"u8, false) && RootMount != null;
        }

        /// The boot option's list (volumes=DISK:ro|rw:HEXPATH,...), set by Kmain.
        public static byte* BootSpec;
        public static int BootSpecLength;

        /// Mounts the volumes the boot option names; false if one cannot be mounted.
        public static bool MountBootVolumes()
        {
            byte* s = BootSpec;
            int len = BootSpecLength, i = 0;
            while (i < len)
            {
                int disk = 0;
                while (i < len && s[i] >= '0' && s[i] <= '9') disk = disk * 10 + (s[i++] - '0');
                if (i + 4 > len || s[i] != ':' || s[i + 3] != ':') return false;
                bool ro = s[i + 1] == 'r' && s[i + 2] == 'o';
                i += 4;
                var path = new byte[Vfs.PathMax];
                int n = 0;
                while (i + 1 < len && s[i] != ',' && n < path.Length)
                {
                    int hi = HexDigit(s[i]), lo = HexDigit(s[i + 1]);
                    if (hi < 0 || lo < 0) return false;
                    path[n++] = (byte)(hi * 16 + lo);
                    i += 2;
                }
                if (i < len && s[i] == ',') i++;
                if (!MountDisk(disk, new ReadOnlySpan<byte>(path, 0, n), ro)) return false;
            }
            return true;
        }

        static void Clock(long* sec, long* nsec)
        {
            Vfs.Now(out long s, out long ns);
            *sec = s; *nsec = ns;
        }

        static int HexDigit(byte c) => c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

        /// The /proc/mounts (or /proc/self/mountinfo) lines of the mounted volumes.
        /// `root`: the root disk's line alone (it comes first); otherwise the others'.
        public static void WriteMounts(ref LineWriter w, bool info, bool root = false)
        {
            for (int i = 0; i < Count; i++)
            {
                Ext4Mount m = All[i];
                if ((m == RootMount) != root) continue;
                if (info) { w.Udec(m == RootMount ? 1UL : (ulong)(5 + i)); w.Str(" 1 254:"); w.Udec((m.Fs.Dev & 0xff) | ((m.Fs.Dev >> 12) & ~0xffUL)); w.Str(" / "); }
                else { w.Bytes(m.Source); w.Byte((byte)' '); }
                for (int k = 0; k < m.Target.Length; k++)
                {
                    byte c = m.Target[k];
                    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') { w.Byte((byte)'\\'); w.Byte((byte)('0' + (c >> 6))); w.Byte((byte)('0' + ((c >> 3) & 7))); w.Byte((byte)('0' + (c & 7))); }
                    else w.Byte(c);
                }
                if (info) { w.Str(m.ReadOnly ? " ro,noatime - ext4 " : " rw,noatime - ext4 "); w.Bytes(m.Source); w.Str(m.ReadOnly ? " ro\n" : " rw\n"); }
                else w.Str(m.ReadOnly ? " ext4 ro,noatime 0 0\n" : " ext4 rw,noatime 0 0\n");
            }
        }

        public static void SyncAll() { for (int i = 0; i < Count; i++) All[i].Sync(); }
        public static void UnmountAll() { for (int i = 0; i < Count; i++) All[i].Unmount(); Count = 0; }

        public void FillStatfs(ref Abi.Statfs s)
        {
            ulong free = Vol.FreeBlocksCount, reserved = Vol.ReservedBlocks;
            s.Type = Ext4.Magic;
            s.Bsize = Vol.BlockSize; s.Frsize = Vol.BlockSize;
            s.Blocks = (long)Vol.BlocksCount;
            s.Bfree = (long)free;
            s.Bavail = free > reserved ? (long)(free - reserved) : 0;
            s.Files = Vol.InodesCount; s.Ffree = (long)Vol.FreeInodesCount;
            s.Namelen = 255;
            s.Flags = 0x400 | (ReadOnly ? 1 : 0);        // ST_NOATIME (atime is not written), ST_RDONLY
            s.Fsid = (long)Ext4.U32(Vol.Sb, Ext4.SbUuid) | ((long)Ext4.U32(Vol.Sb, Ext4.SbUuid + 4) << 32);
        }
    }

    /// A file, directory, symlink or special file of an ext4 volume. The VFS fields (mode,
    /// owner, times, link count) mirror the on-disk inode: Push copies them down before the
    /// volume writes the inode, Pull copies the volume's back. Every call takes the mount's
    /// lock. A regular file's data goes through the page cache (fs/PageCache.cs): reads and
    /// writes copy to and from cached pages, mmap maps them, and write-back hands dirty pages
    /// to Ext4Volume.WriteData in file order.
    public sealed unsafe class Ext4Node : Inode, ICachedFileOwner
    {
        public readonly Ext4Mount M;
        public readonly Ext4File F;
        public readonly CachedPages Cache;      // regular files only
        Pipe _fifo;

        public Ext4Node(Ext4Mount m, Ext4File f)
        {
            M = m; F = f; Fs = m.Fs; Ino = f.Ino;
            Pull();
            if (Type == FileMode.S_IFCHR || Type == FileMode.S_IFBLK) Rdev = Ext4Volume.DeviceOf(f);
            if (IsRegular) Cache = new CachedPages(this);
        }

        // ---- what the page cache asks (the mount's lock is held)
        long ICachedFileOwner.CachedSize => F.Size;
        byte[] ICachedFileOwner.Bounce => M.Bounce;
        long ICachedFileOwner.ReadPages(long offset, byte* dst, long len) => V.ReadData(F, offset, dst, len);
        long ICachedFileOwner.WritePages(long offset, byte* src, long len) => V.WriteData(F, offset, src, len);
        void ICachedFileOwner.WriteBackUnlocked()
        {
            M.Lock();
            if (F.Node == this && !M.ReadOnly) PageCache.WriteBack(Cache);
            M.Unlock();
        }

        Ext4Volume V => M.Vol;

        public static byte[] Bytes(ReadOnlySpan<byte> s) { var a = new byte[s.Length]; s.CopyTo(a); return a; }

        public void Pull()
        {
            Mode = F.Mode; Uid = F.Uid; Gid = F.Gid; Nlink = F.Links;
            AtimeSec = F.Atime; AtimeNsec = F.AtimeNs; MtimeSec = F.Mtime; MtimeNsec = F.MtimeNs; CtimeSec = F.Ctime; CtimeNsec = F.CtimeNs;
        }

        /// Copies the VFS fields down; true if any differed.
        public bool Push()
        {
            bool changed = F.Mode != (Mode & 0xffff) || F.Uid != Uid || F.Gid != Gid || F.Atime != AtimeSec || F.AtimeNs != AtimeNsec
                || F.Mtime != MtimeSec || F.MtimeNs != MtimeNsec || F.Ctime != CtimeSec || F.CtimeNs != CtimeNsec;
            F.Mode = Mode & 0xffff; F.Uid = Uid; F.Gid = Gid;
            F.Atime = AtimeSec; F.AtimeNs = AtimeNsec; F.Mtime = MtimeSec; F.MtimeNs = MtimeNsec; F.Ctime = CtimeSec; F.CtimeNs = CtimeNsec;
            return changed;
        }

        // ---- extended attributes (fs/Ext4Volume.Xattr.cs)

        public override Errno GetXattr(ReadOnlySpan<byte> name, out byte[] value)
        {
            M.Lock();
            Errno e = V.GetXattr(F, name, out value);
            M.Unlock();
            return e;
        }

        public override Errno ListXattr(out byte[] names)
        {
            M.Lock();
            Errno e = V.ListXattrs(F, out names);
            M.Unlock();
            return e;
        }

        public override Errno SetXattr(ReadOnlySpan<byte> name, byte[] value, int flags) => ChangeXattr(name, value, flags);
        public override Errno RemoveXattr(ReadOnlySpan<byte> name) => ChangeXattr(name, null, 0);

        /// A set or remove writes the inode with its new ctime in the same operation.
        Errno ChangeXattr(ReadOnlySpan<byte> name, byte[] value, int flags)
        {
            M.Lock();
            Errno e = M.ReadOnly ? Errno.EROFS : 0;
            if (e == 0)
            {
                long cs = CtimeSec, cn = CtimeNsec;
                TouchCtime(); Push();
                e = V.SetXattr(F, name, value, flags);
                if (e != 0) { CtimeSec = cs; CtimeNsec = cn; Push(); }
            }
            M.Unlock();
            return e;
        }

        public override long Size => F.Size;
        /// Blocks on disk, plus those that dirty pages over holes will take (as Linux counts
        /// its delayed allocations).
        public override long Blocks()
        {
            long b = (long)F.Blocks512;
            if (Cache == null || Cache.Dirty == 0) return b;
            bool locked = M.LockUnlessHeld();
            int cursor = -2;
            uint per = (uint)(4096 / V.BlockSize);
            if (per == 0) per = 1;
            for (long i = PageCache.NextDirty(Cache, ref cursor); i >= 0; i = PageCache.NextDirty(Cache, ref cursor))
            {
                if (i * 4096 >= F.Size) continue;
                for (uint k = 0; k < per; k++)
                {
                    long l = (i * 4096 + k * V.BlockSize) / V.BlockSize;
                    if (l * V.BlockSize >= F.Size || l > 0xffffffffL) break;
                    if (V.Map(F, (uint)l, out ulong phys, out _, out _) == 0 && phys == 0) b += V.BlockSize / 512;
                }
            }
            if (locked) M.Unlock();
            return b;
        }

        // ---- directories

        public override Errno Lookup(ReadOnlySpan<byte> name, out Inode child)
        {
            child = null;
            if (!IsDir) return Errno.ENOTDIR;
            if (name.Length > 255) return Errno.ENAMETOOLONG;
            M.Lock();
            Errno e = V.Lookup(F, name, out uint ino, out _);
            Ext4Node n = null;
            if (e == 0) e = M.NodeFor(ino, out n);
            M.Unlock();
            if (e != 0) return e;
            if (n.IsDir) { n.Parent = this; n.Name = Bytes(name); }
            else if (n.Name == null) { n.Parent = this; n.Name = Bytes(name); }
            child = n;
            return 0;
        }

        Errno CheckNew(ReadOnlySpan<byte> name)
        {
            if (!IsDir) return Errno.ENOTDIR;
            if (Nlink == 0) return Errno.ENOENT;
            if (name.Length > 255) return Errno.ENAMETOOLONG;
            if (M.ReadOnly) return Errno.EROFS;
            if (V.Lookup(F, name, out _, out _) == 0) return Errno.EEXIST;
            return 0;
        }

        Errno CreateNode(ReadOnlySpan<byte> name, uint mode, ulong rdev, ReadOnlySpan<byte> target, out Inode child)
        {
            child = null;
            M.Lock();
            Errno e = CheckNew(name);
            Ext4Node n = null;
            if (e == 0)
            {
                Push();
                e = V.Create(F, name, mode, (uint)rdev, target, 0, 0, out Ext4File f);
                if (e == 0) e = M.NodeFor(f.Ino, out n);
                Pull();
            }
            M.Unlock();
            if (e != 0) return e;
            n.Parent = this; n.Name = Bytes(name);
            child = n;
            return 0;
        }

        public override Errno Mknod(ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child)
        {
            uint t = mode & FileMode.S_IFMT;
            if (t == 0) mode |= FileMode.S_IFREG;
            return CreateNode(name, mode, rdev, default, out child);
        }

        public override Errno Mkdir(ReadOnlySpan<byte> name, uint mode, out Inode child) =>
            CreateNode(name, FileMode.S_IFDIR | (mode & 0xfff), 0, default, out child);

        public override Errno Symlink(ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, out Inode child)
        {
            if (target.Length >= V.BlockSize) { child = null; return Errno.ENAMETOOLONG; }
            return CreateNode(name, FileMode.S_IFLNK | 0x1ff, 0, target, out child);
        }

        public override Errno Link(ReadOnlySpan<byte> name, Inode target)
        {
            if (!(target is Ext4Node t) || t.M != M) return Errno.EXDEV;
            if (t.IsDir) return Errno.EPERM;
            M.Lock();
            Errno e = CheckNew(name);
            if (e == 0 && t.F.Links >= 65000) e = Errno.EMLINK;
            if (e == 0 && t.F.Links == 0) e = Errno.ENOENT;
            if (e == 0)
            {
                Push();
                e = V.AddEntry(F, name, t.F.Ino, Ext4.FileTypeOf(t.Mode));
                Pull();
                if (e == 0)
                {
                    t.TouchCtime(); t.Push();
                    t.F.Links++;
                    e = V.WriteInode(t.F);
                    t.Pull();
                }
            }
            M.Unlock();
            return e;
        }

        /// Drops one link of `n` (a whole directory when `dir`); frees it when no name and
        /// no open file is left. An open one goes on the volume's orphan list (in this
        /// operation's transaction) and is freed at its last close or at unmount, or by
        /// the next mount after a crash.
        void DropLink(Ext4Node n, bool dir)
        {
            n.TouchCtime(); n.Push();
            if (dir) n.F.Links = 0; else V.DecLinks(n.F);
            n.Pull();
            if (n.F.Links == 0 && n.OpenCount == 0)
            {
                if (n.Cache != null) PageCache.Drop(n.Cache);
                V.FreeInode(n.F); n.F.Node = null;
            }
            else if (n.F.Links == 0) V.AddOrphan(n.F);
            else V.WriteInode(n.F);
        }

        protected override void Release()
        {
            if (F.Links != 0 || M.ReadOnly) return;
            M.Lock();
            if (F.Node == this)
            {
                if (Cache != null) PageCache.Drop(Cache);
                V.FreeInode(F); F.Node = null;
            }
            M.Unlock();
        }

        /// No descriptor and no mapping is left: the pages lent to mappings can go again.
        protected override void AllClosed()
        {
            if (Cache == null || Cache.Pinned == 0) return;
            bool locked = M.LockUnlessHeld();
            PageCache.Unpin(Cache);
            if (locked) M.Unlock();
        }

        public override Errno Unlink(ReadOnlySpan<byte> name, bool dir)
        {
            if (!IsDir) return Errno.ENOTDIR;
            M.Lock();
            Errno e = V.Lookup(F, name, out uint ino, out _);
            Ext4Node n = null;
            if (e == 0) e = M.NodeFor(ino, out n);
            if (e == 0 && M.ReadOnly) e = Errno.EROFS;
            if (e == 0)
            {
                if (dir)
                {
                    if (!n.IsDir) e = Errno.ENOTDIR;
                    else if (n.MountedHere != null) e = Errno.EBUSY;
                    else if (!V.IsEmptyDir(n.F)) e = Errno.ENOTEMPTY;
                }
                else if (n.IsDir) e = Errno.EISDIR;
            }
            if (e == 0)
            {
                Push();
                e = V.RemoveEntry(F, name, out _);
                if (e == 0)
                {
                    if (dir) V.DecLinks(F);
                    V.WriteInode(F);
                    DropLink(n, dir);
                }
                Pull();
            }
            M.Unlock();
            return e;
        }

        public override Errno Rename(ReadOnlySpan<byte> oldName, Inode newDirInode, ReadOnlySpan<byte> newName, uint flags)
        {
            const uint NOREPLACE = 1, EXCHANGE = 2;
            if (!(newDirInode is Ext4Node nd) || nd.M != M) return Errno.EXDEV;
            if (newName.Length > 255) return Errno.ENAMETOOLONG;
            M.Lock();
            Errno e = Rename(oldName, nd, newName, (flags & NOREPLACE) != 0, (flags & EXCHANGE) != 0);
            M.Unlock();
            return e;
        }

        Errno Rename(ReadOnlySpan<byte> oldName, Ext4Node newDir, ReadOnlySpan<byte> newName, bool noReplace, bool exchange)
        {
            if (M.ReadOnly) return Errno.EROFS;
            Errno e = V.Lookup(F, oldName, out uint ino, out _);
            if (e != 0) return e;
            e = M.NodeFor(ino, out Ext4Node n);
            if (e != 0) return e;
            if (newDir.Nlink == 0) return Errno.ENOENT;
            if (n.IsDir)
                for (Inode p = newDir; p != null; p = p.Parent == p || p == M.Root ? null : p.Parent)
                    if (p == n) return Errno.EINVAL;
            Ext4Node m = null;
            if (V.Lookup(newDir.F, newName, out uint mino, out _) == 0)
            {
                e = M.NodeFor(mino, out m);
                if (e != 0) return e;
            }
            Push(); newDir.Push();
            if (exchange)
            {
                if (m == null) return Errno.ENOENT;
                if (m.IsDir)
                    for (Inode p = this; p != null; p = p.Parent == p || p == M.Root ? null : p.Parent)
                        if (p == m) return Errno.EINVAL;
                e = V.RetargetEntry(F, oldName, m.F.Ino, Ext4.FileTypeOf(m.Mode));
                if (e == 0) e = V.RetargetEntry(newDir.F, newName, n.F.Ino, Ext4.FileTypeOf(n.Mode));
                if (e != 0) return e;
                if (this != newDir)
                {
                    if (n.IsDir) { V.RetargetEntry(n.F, ".."u8, newDir.F.Ino, 2); V.DecLinks(F); V.IncLinks(newDir.F); }
                    if (m.IsDir) { V.RetargetEntry(m.F, ".."u8, F.Ino, 2); V.DecLinks(newDir.F); V.IncLinks(F); }
                }
                m.Parent = this; m.Name = Bytes(oldName);
                n.Parent = newDir; n.Name = Bytes(newName);
                n.TouchCtime(); m.TouchCtime(); n.Push(); m.Push(); V.WriteInode(n.F); V.WriteInode(m.F);
                V.WriteInode(F); V.WriteInode(newDir.F);
                Pull(); newDir.Pull();
                return 0;
            }
            if (m != null)
            {
                if (m == n) return 0;
                if (noReplace) return Errno.EEXIST;
                if (n.IsDir)
                {
                    if (!m.IsDir) return Errno.ENOTDIR;
                    if (m.MountedHere != null) return Errno.EBUSY;
                    if (!V.IsEmptyDir(m.F)) return Errno.ENOTEMPTY;
                }
                else if (m.IsDir) return Errno.EISDIR;
                e = V.RetargetEntry(newDir.F, newName, n.F.Ino, Ext4.FileTypeOf(n.Mode));
                if (e != 0) return e;
                if (m.IsDir) V.DecLinks(newDir.F);
                DropLink(m, m.IsDir);
            }
            else
            {
                if (n.IsDir && newDir != this && newDir.F.Links >= 65000 && (V.RoCompatFeatures & Ext4.RoCompatDirNlink) == 0) return Errno.EMLINK;
                e = V.AddEntry(newDir.F, newName, n.F.Ino, Ext4.FileTypeOf(n.Mode));
                if (e != 0) return e;
            }
            e = V.RemoveEntry(F, oldName, out _);
            if (e != 0) return e;
            if (n.IsDir && newDir != this)
            {
                V.RetargetEntry(n.F, ".."u8, newDir.F.Ino, 2);
                V.DecLinks(F);
                V.IncLinks(newDir.F);
            }
            n.Parent = newDir; n.Name = Bytes(newName);
            n.TouchCtime(); n.Push(); V.WriteInode(n.F);
            V.WriteInode(F); V.WriteInode(newDir.F);
            Pull(); newDir.Pull();
            return 0;
        }

        public override bool ReadDir(ref long cookie, Span<byte> name, out DirEntryInfo e)
        {
            e = default;
            if (!IsDir || cookie < 2) return false;
            long pos = cookie - 2;
            M.Lock();
            bool ok = V.ReadDir(F, ref pos, name, out uint ino, out byte ft, out int nl);
            M.Unlock();
            if (!ok) return false;
            e.Ino = ino; e.Type = Ext4.DirTypeOf(ft); e.NameLength = nl;
            cookie = pos + 2;
            return true;
        }

        public override bool IsEmptyDir
        {
            get { M.Lock(); bool r = V.IsEmptyDir(F); M.Unlock(); return r; }
        }

        // ---- symlinks

        public override int ReadLink(Span<byte> buf)
        {
            if (!IsSymlink) return -1;
            M.Lock();
            int n = V.ReadLink(F, buf);
            M.Unlock();
            return n;
        }

        // ---- data

        public override Errno Open(uint flags, out OpenFile file)
        {
            file = null;
            if (Type == FileMode.S_IFIFO)
            {
                if (_fifo == null) _fifo = new Pipe();
                return _fifo.OpenFifo(this, flags, out file);
            }
            if (Type == FileMode.S_IFSOCK || Type == FileMode.S_IFCHR || Type == FileMode.S_IFBLK) return Errno.ENXIO;
            if (M.ReadOnly && (flags & O_PATH) == 0 && ((flags & O_ACCMODE) != 0 || (flags & O_TRUNC) != 0)) return Errno.EROFS;
            return base.Open(flags, out file);
        }

        public override SysResult Read(long offset, UserPtr buf, ulong len)
        {
            if (IsDir) return Errno.EISDIR;
            if (!IsRegular) return Errno.EINVAL;
            if (offset < 0) return Errno.EINVAL;
            bool locked = M.LockUnlessHeld();
            long done = 0;
            Errno err = 0;
            while ((ulong)done < len)
            {
                long pos = offset + done;
                if (pos >= F.Size) break;
                long inPage = pos & 4095;
                long n = 4096 - inPage;
                if (n > F.Size - pos) n = F.Size - pos;
                if ((ulong)n > len - (ulong)done) n = (long)(len - (ulong)done);
                byte* p = PageCache.Get(Cache, pos >> 12, false, out int slot, out err);
                if (p == null) break;
                Errno ce = buf.Add((ulong)done).CopyOut(p + inPage, (ulong)n);
                PageCache.Put(slot);
                if (ce != 0) { err = Errno.EFAULT; break; }
                done += n;
            }
            if (locked) M.Unlock();
            if (done > 0) return done;
            return err != 0 ? (SysResult)err : 0;
        }

        public override SysResult ReadKernel(long offset, byte* dst, long len)
        {
            if (!IsRegular) return IsDir ? Errno.EISDIR : Errno.EINVAL;
            if (offset < 0) return Errno.EINVAL;
            bool locked = M.LockUnlessHeld();
            long done = 0;
            Errno err = 0;
            while (done < len)
            {
                long pos = offset + done;
                if (pos >= F.Size) break;
                long inPage = pos & 4095;
                long n = 4096 - inPage;
                if (n > F.Size - pos) n = F.Size - pos;
                if (n > len - done) n = len - done;
                byte* p = PageCache.Get(Cache, pos >> 12, false, out int slot, out err);
                if (p == null) break;
                Mem.Copy(dst + done, p + inPage, (ulong)n);
                PageCache.Put(slot);
                done += n;
            }
            if (locked) M.Unlock();
            if (done > 0) return done;
            return err != 0 ? (SysResult)err : 0;
        }

        /// Copies `len` bytes into the cached pages at `offset` (from the program when `user`,
        /// else from kernel memory at `src`), dirtying them; the size grows to cover them.
        SysResult WriteCached(long offset, UserPtr buf, byte* src, long len)
        {
            long max = V.MaxFileSize(F);
            if (offset >= max) return Errno.EFBIG;
            if (len > max - offset) len = max - offset;
            bool locked = M.LockUnlessHeld();
            TouchMtime();
            long done = 0;
            Errno err = 0;
            // A nearly full volume: write through, so that ENOSPC reaches the writer.
            bool through = (long)V.FreeBlocksCount * V.BlockSize < (PageCache.DirtyPages + len / 4096 + 64) * 4096;
            while (done < len)
            {
                long pos = offset + done;
                long inPage = pos & 4095;
                long n = 4096 - inPage;
                if (n > len - done) n = len - done;
                bool whole = n == 4096 || (inPage == 0 && pos + n >= F.Size);
                byte* p = PageCache.Get(Cache, pos >> 12, whole, out int slot, out err);
                if (p == null) break;
                Errno ce = 0;
                if (src != null) Mem.Copy(p + inPage, src + done, (ulong)n);
                else ce = buf.Add((ulong)done).CopyIn(p + inPage, (ulong)n);
                if (ce != 0) { PageCache.Discard(slot); err = Errno.EFAULT; break; }
                PageCache.MarkDirty(slot);
                PageCache.Put(slot);
                done += n;
                if (pos + n > F.Size) F.Size = pos + n;
            }
            if (through || PageCache.OverDirtyLimit)
            {
                Push();
                Errno we = PageCache.WriteBack(Cache);
                if (we != 0 && through) { err = we; done = 0; }
                PageCache.Nudge();
            }
            if (locked) M.Unlock();
            if (done > 0) return done;
            return err != 0 ? (SysResult)err : 0;
        }

        public override SysResult Write(long offset, UserPtr buf, ulong len)
        {
            if (IsDir) return Errno.EISDIR;
            if (!IsRegular) return Errno.EINVAL;
            if (M.ReadOnly) return Errno.EROFS;
            if (offset < 0 || (long)len < 0) return Errno.EINVAL;
            if (len == 0) return 0;
            return WriteCached(offset, buf, null, (long)len);
        }

        public override SysResult WriteKernel(long offset, byte* src, long len)
        {
            if (!IsRegular) return IsDir ? Errno.EISDIR : Errno.EINVAL;
            if (M.ReadOnly) return Errno.EROFS;
            if (len <= 0) return 0;
            return WriteCached(offset, default, src, len);
        }

        /// The cached page for a mapping (shared or private: the page itself; the fault path
        /// copies it for a private writable mapping).
        public override ulong PageFor(long index, bool write)
        {
            if (!IsRegular || index < 0 || index * 4096 >= F.Size) return ulong.MaxValue;
            bool locked = M.LockUnlessHeld();
            ulong frame = PageCache.MapPage(Cache, index, write);
            if (locked) M.Unlock();
            return frame;
        }

        public override Errno Truncate(long size)
        {
            if (IsDir) return Errno.EISDIR;
            if (!IsRegular) return Errno.EINVAL;
            if (M.ReadOnly) return Errno.EROFS;
            if (size < 0) return Errno.EINVAL;
            if (size > (long)0xffffffff * V.BlockSize) return Errno.EFBIG;
            M.Lock();
            TouchMtime();
            Push();
            if (size < F.Size && OpenCount > 0) ShrankTo(size);     // mappings (private copies too) lose the pages past it
            PageCache.Truncate(Cache, size);
            Errno e = V.Truncate(F, size);
            Pull();
            M.Unlock();
            return e;
        }

        public override Errno Allocate(long offset, long len, bool keepSize)
        {
            if (!IsRegular) return Errno.ENODEV;
            if (M.ReadOnly) return Errno.EROFS;
            if (offset + len > (long)0xffffffff * V.BlockSize) return Errno.EFBIG;
            M.Lock();
            if (!keepSize && offset + len > F.Size) TouchMtime(); else TouchCtime();
            Push();
            Errno e = V.Fallocate(F, offset, len, keepSize);
            Pull();
            M.Unlock();
            return e;
        }

        public override long NextData(long offset, bool hole)
        {
            M.Lock();
            if (Cache != null && !M.ReadOnly) PageCache.WriteBack(Cache);     // the extents show where data is
            long r = V.NextData(F, offset, hole);
            M.Unlock();
            return r;
        }

        public override Errno Sync(bool dataOnly)
        {
            if (M.ReadOnly) return 0;
            M.Lock();
            Errno e = Cache != null ? PageCache.WriteBack(Cache) : 0;
            if (Push() && F.Links > 0) { Errno we = V.WriteInode(F); if (e == 0) e = we; }
            if (!V.Flush() && e == 0) e = Errno.EIO;          // the journal's commit, or a device flush
            M.Unlock();
            return e;
        }

        public override Errno SyncFs() => M.Sync();

        public override bool StatFs(ref Abi.Statfs s)
        {
            M.FillStatfs(ref s);
            return true;
        }
    }
}
