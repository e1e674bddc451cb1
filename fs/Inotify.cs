using System;
using Kernel.Abi;
using Kernel.Sched;

namespace Kernel.Fs
{
    /// inotify(7): instances (InotifyFile, an fd), watches on inodes (InotifyWatch, listed on
    /// the inode and on the instance) and the notifications the VFS operations send
    /// (Inotify.*). The hooks sit in the filesystem-independent paths (fs/Vfs.cs for names,
    /// the syscall layer for data and attributes, OpenFile.Release for close,
    /// Inode.Closed for the last reference to an unlinked inode), so every filesystem reports
    /// the same events. When no watch exists anywhere, each hook costs one test.
    public static class Inotify
    {
        // Event bits (<sys/inotify.h>).
        public const uint IN_ACCESS = 0x1, IN_MODIFY = 0x2, IN_ATTRIB = 0x4, IN_CLOSE_WRITE = 0x8, IN_CLOSE_NOWRITE = 0x10,
            IN_OPEN = 0x20, IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80, IN_CREATE = 0x100, IN_DELETE = 0x200,
            IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800, IN_ALL_EVENTS = 0xfff,
            IN_UNMOUNT = 0x2000, IN_Q_OVERFLOW = 0x4000, IN_IGNORED = 0x8000,
            IN_ONLYDIR = 0x1000000, IN_DONT_FOLLOW = 0x2000000, IN_EXCL_UNLINK = 0x4000000,
            IN_MASK_CREATE = 0x10000000, IN_MASK_ADD = 0x20000000, IN_ISDIR = 0x40000000, IN_ONESHOT = 0x80000000;
        /// Every bit inotify_add_watch knows (a mask with none of them is EINVAL).
        public const uint AllBits = IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | IN_DONT_FOLLOW
            | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT;
        /// What a watch keeps of the mask it was given: events and the flags that shape delivery.
        const uint Kept = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

        /// Linux's defaults for /proc/sys/fs/inotify: 16384 queued events, 128 instances per
        /// user, and watches per user scaled as Linux does (1% of RAM at about 1 KiB per watch,
        /// between 8192 and 1048576).
        public const int MaxQueuedEvents = 16384, MaxUserInstances = 128;
        static int _maxUserWatches;
        public static int MaxUserWatches
        {
            get
            {
                if (_maxUserWatches == 0)
                {
                    long w = (long)(Memory.PhysicalMemory.TotalBytes / 100) / 1280;
                    _maxUserWatches = (int)(w < 8192 ? 8192 : w > 1048576 ? 1048576 : w);
                }
                return _maxUserWatches;
            }
        }

        /// Watches that exist (on every instance): the hooks' one test.
        public static int WatchCount;
        public static bool Active => WatchCount != 0;
        static uint _cookie;

        // Per-user counts (instances and watches, charged to the euid that made the instance).
        static uint[] _uids = new uint[4];
        static int[] _instances = new int[4], _watches = new int[4];
        static int _users;

        static int UserSlot(uint uid)
        {
            for (int i = 0; i < _users; i++) if (_uids[i] == uid) return i;
            for (int i = 0; i < _users; i++) if (_instances[i] == 0 && _watches[i] == 0) { _uids[i] = uid; return i; }
            if (_users == _uids.Length)
            {
                var u = new uint[_users * 2]; var ins = new int[_users * 2]; var ws = new int[_users * 2];
                for (int i = 0; i < _users; i++) { u[i] = _uids[i]; ins[i] = _instances[i]; ws[i] = _watches[i]; }
                _uids = u; _instances = ins; _watches = ws;
            }
            _uids[_users] = uid;
            return _users++;
        }

        /// inotify_init1: a new instance charged to `uid`, or EMFILE at the user's limit.
        public static Errno NewInstance(uint uid, uint statusFlags, out InotifyFile file)
        {
            file = null;
            int s = UserSlot(uid);
            if (_instances[s] >= MaxUserInstances) return Errno.EMFILE;
            _instances[s]++;
            file = new InotifyFile(uid, statusFlags);
            return 0;
        }

        internal static void InstanceGone(uint uid) { _instances[UserSlot(uid)]--; }

        internal static bool ChargeWatch(uint uid)
        {
            int s = UserSlot(uid);
            if (_watches[s] >= MaxUserWatches) return false;
            _watches[s]++;
            WatchCount++;
            return true;
        }

        internal static void UnchargeWatch(uint uid) { _watches[UserSlot(uid)]--; WatchCount--; }

        /// inotify_add_watch on a resolved inode (the path checks are the caller's).
        public static SysResult AddWatch(InotifyFile g, Inode n, uint mask)
        {
            uint keep = mask & Kept;
            InotifyWatch w = g.Find(n);
            if (w != null)
            {
                if ((mask & IN_MASK_CREATE) != 0) return Errno.EEXIST;
                w.Mask = (mask & IN_MASK_ADD) != 0 ? w.Mask | keep : keep;
                return w.Wd;
            }
            if (!ChargeWatch(g.Uid)) return Errno.ENOSPC;
            w = new InotifyWatch { Group = g, Node = n, Mask = keep };
            g.Attach(w);
            w.NextOnInode = n.Watches;
            n.Watches = w;
            return w.Wd;
        }

        /// Takes `w` off its inode and its instance; `ignored`: queue IN_IGNORED (rm_watch,
        /// IN_ONESHOT, the inode gone), not when the instance itself closes.
        internal static void Remove(InotifyWatch w, bool ignored)
        {
            Inode n = w.Node;
            if (n == null) return;
            if (n.Watches == w) n.Watches = w.NextOnInode;
            else
                for (InotifyWatch p = n.Watches; p != null; p = p.NextOnInode)
                    if (p.NextOnInode == w) { p.NextOnInode = w.NextOnInode; break; }
            w.NextOnInode = null;
            w.Node = null;
            w.Group.Detach(w);
            UnchargeWatch(w.Group.Uid);
            if (ignored) w.Group.Queue(w.Wd, IN_IGNORED, 0, default);
        }

        static uint IsDir(Inode n) => n.IsDir ? IN_ISDIR : 0;

        /// Reports `ev` to the watches of `n` that ask for it. `unlinked`: the event is about
        /// an open file that has no name (IN_EXCL_UNLINK watches skip it).
        static void Notify(Inode n, uint ev, uint cookie, ReadOnlySpan<byte> name, bool unlinked)
        {
            InotifyWatch w = n.Watches;
            while (w != null)
            {
                InotifyWatch next = w.NextOnInode;
                if ((w.Mask & ev & IN_ALL_EVENTS) != 0 && !(unlinked && (w.Mask & IN_EXCL_UNLINK) != 0))
                {
                    w.Group.Queue(w.Wd, ev, cookie, name);
                    if ((w.Mask & IN_ONESHOT) != 0) Remove(w, true);
                }
                w = next;
            }
        }

        /// An event about `n` itself, reported to its directory's watches (with its name)
        /// and then to its own, as Linux does for access, modify, attrib, open and close.
        static void NotifyWithParent(Inode n, uint ev, bool unlinked)
        {
            ev |= IsDir(n);
            Inode p = n.Parent;
            if (p != null && p != n && n.MountPoint == null && p.Watches != null && n.Name != null)
                Notify(p, ev, 0, n.Name, unlinked);
            if (n.Watches != null) Notify(n, ev, 0, default, unlinked);
        }

        static bool Watched(Inode n) => n != null && (n.Watches != null || (n.Parent != null && n.Parent.Watches != null));

        // ---- data and attributes (called from the syscall layer)

        /// read, readv, pread, sendfile's source, getdents: IN_ACCESS.
        public static void Accessed(OpenFile f)
        {
            Inode n = f.Inode;
            if (Watched(n)) NotifyWithParent(n, IN_ACCESS, n.Nlink == 0);
        }

        /// write, pwrite, writev, fallocate, a copy's destination: IN_MODIFY.
        public static void Modified(OpenFile f)
        {
            Inode n = f.Inode;
            if (Watched(n)) NotifyWithParent(n, IN_MODIFY, n.Nlink == 0);
        }

        /// truncate/ftruncate/O_TRUNC and utimes of the mtime alone: IN_MODIFY; chmod, chown,
        /// utimes, xattrs: IN_ATTRIB; utimes of the atime alone: IN_ACCESS.
        public static void Changed(Inode n, uint ev)
        {
            if (Watched(n)) NotifyWithParent(n, ev, false);
        }

        /// A successful open (not O_PATH).
        public static void Opened(OpenFile f)
        {
            Inode n = f.Inode;
            if (Watched(n)) NotifyWithParent(n, IN_OPEN, n.Nlink == 0);
        }

        /// The last reference to an open description went (OpenFile.Release).
        public static void Closed(OpenFile f)
        {
            if (f.IsPath) return;
            Inode n = f.Inode;
            if (!Watched(n)) return;
            bool write = (f.StatusFlags & OpenFlags.O_ACCMODE) != 0;
            NotifyWithParent(n, write ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE, n.Nlink == 0);
        }

        // ---- names (called from fs/Vfs.cs)

        /// creat/open(O_CREAT), mknod, mkdir, symlink, bind of a socket: IN_CREATE in `dir`.
        public static void Created(Inode dir, ReadOnlySpan<byte> name, Inode child)
        {
            if (dir.Watches != null) Notify(dir, IN_CREATE | (child != null ? IsDir(child) : 0), 0, name, false);
        }

        /// link: the target's link count changed (IN_ATTRIB on it), then IN_CREATE.
        public static void Linked(Inode dir, ReadOnlySpan<byte> name, Inode target)
        {
            if (target.Watches != null) Notify(target, IN_ATTRIB | IsDir(target), 0, default, false);
            Created(dir, name, target);
        }

        /// unlink/rmdir of `victim` (its inode, looked up before): IN_ATTRIB on a file (its link
        /// count), IN_DELETE_SELF and IN_IGNORED when that was its last name and nothing holds
        /// it open, then IN_DELETE in `dir`.
        public static void Deleted(Inode dir, ReadOnlySpan<byte> name, Inode victim)
        {
            if (victim == null) return;
            bool gone = victim.Nlink == 0 && victim.OpenCount == 0;
            if (!victim.IsDir && victim.Watches != null) Notify(victim, IN_ATTRIB, 0, default, false);
            if (gone) Gone(victim);
            if (dir.Watches != null) Notify(dir, IN_DELETE | IsDir(victim), 0, name, false);
        }

        /// rename: IN_MOVED_FROM and IN_MOVED_TO sharing a cookie, IN_ATTRIB on a replaced
        /// target, IN_MOVE_SELF on the moved inode, then the replaced target's
        /// IN_DELETE_SELF/IN_IGNORED when it went. RENAME_EXCHANGE reports two moves.
        public static void Renamed(Inode odir, ReadOnlySpan<byte> oname, Inode ndir, ReadOnlySpan<byte> nname,
            Inode moved, Inode target, bool exchange)
        {
            Move(odir, oname, ndir, nname, moved, exchange ? null : target);
            if (exchange && target != null) Move(ndir, nname, odir, oname, target, null);
            if (!exchange && target != null && target.Nlink == 0 && target.OpenCount == 0) Gone(target);
        }

        static void Move(Inode odir, ReadOnlySpan<byte> oname, Inode ndir, ReadOnlySpan<byte> nname, Inode moved, Inode target)
        {
            uint isdir = IsDir(moved);
            uint cookie = ++_cookie;
            if (cookie == 0) cookie = ++_cookie;
            if (odir.Watches != null) Notify(odir, IN_MOVED_FROM | isdir, cookie, oname, false);
            if (ndir.Watches != null) Notify(ndir, IN_MOVED_TO | isdir, cookie, nname, false);
            if (target != null && target.Watches != null) Notify(target, IN_ATTRIB | IsDir(target), 0, default, false);
            if (moved.Watches != null) Notify(moved, IN_MOVE_SELF, 0, default, false);
        }

        /// The inode has no name and no open file left (Inode.Closed after an unlink, a
        /// replaced rename target): IN_DELETE_SELF, then its watches go (IN_IGNORED). Linux
        /// reports neither this nor IN_MOVE_SELF with IN_ISDIR.
        public static void Gone(Inode n)
        {
            if (n.Watches == null) return;
            Notify(n, IN_DELETE_SELF, 0, default, false);      // never with IN_ISDIR, as Linux
            DropAll(n);
        }

        static void DropAll(Inode n)
        {
            while (n.Watches != null) Remove(n.Watches, true);
        }
    }

    /// A watch: one instance's interest in one inode, under a watch descriptor.
    public sealed class InotifyWatch
    {
        public InotifyFile Group;
        public Inode Node;                  // null once removed
        public int Wd;
        public uint Mask;                   // events, IN_ONESHOT, IN_EXCL_UNLINK
        public InotifyWatch NextOnInode;
    }

    /// A queued event (kept by value in the instance's ring: only a name allocates).
    struct InotifyEvent
    {
        public int Wd;
        public uint Mask, Cookie;
        public byte[] Name;                 // null: none
        /// struct inotify_event (16 bytes) and the name, NUL-padded so the next record is
        /// aligned to 16 bytes (len = 0 without a name).
        public int NameLen => Name == null ? 0 : (Name.Length + 1 + 15) & ~15;
        public int Size => 16 + NameLen;
    }

    /// An inotify instance: its watches and its queue of events, read as struct
    /// inotify_event records; a queued event is announced on its own poll head.
    public sealed unsafe class InotifyFile : OpenFile
    {
        public readonly uint Uid;
        InotifyWatch[] _watches = new InotifyWatch[4];
        int _watchCount, _lastWd;
        InotifyEvent[] _ring = new InotifyEvent[8];
        int _first, _queued;                // the ring holds _queued events from _first
        long _bytes;
        bool _overflowQueued;
        readonly WaitQueue _wait = new WaitQueue();
        readonly PollHead _head = new PollHead();
        public override PollHead PollHead => _head;

        public InotifyFile(uint uid, uint statusFlags) { Uid = uid; StatusFlags = statusFlags; }
        bool NonBlock => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

        internal InotifyWatch Find(Inode n)
        {
            for (int i = 0; i < _watchCount; i++) if (_watches[i].Node == n) return _watches[i];
            return null;
        }

        internal InotifyWatch FindWd(int wd)
        {
            for (int i = 0; i < _watchCount; i++) if (_watches[i].Wd == wd) return _watches[i];
            return null;
        }

        /// Gives `w` the next free descriptor after the last one handed out (cyclic, from 1,
        /// as Linux allocates them) and lists it.
        internal void Attach(InotifyWatch w)
        {
            int wd = _lastWd;
            do { wd = wd == int.MaxValue ? 1 : wd + 1; } while (FindWd(wd) != null);
            _lastWd = wd;
            w.Wd = wd;
            if (_watchCount == _watches.Length)
            {
                var bigger = new InotifyWatch[_watches.Length * 2];
                for (int i = 0; i < _watchCount; i++) bigger[i] = _watches[i];
                _watches = bigger;
            }
            _watches[_watchCount++] = w;
        }

        internal void Detach(InotifyWatch w)
        {
            for (int i = 0; i < _watchCount; i++)
                if (_watches[i] == w)
                {
                    _watches[i] = _watches[--_watchCount];
                    _watches[_watchCount] = null;
                    break;
                }
            // A long run of add/remove leaves no large array behind.
            if (_watchCount == 0 && _watches.Length > 64) _watches = new InotifyWatch[4];
        }

        /// inotify_rm_watch: EINVAL for a descriptor this instance does not have.
        public Errno RemoveWatch(int wd)
        {
            InotifyWatch w = FindWd(wd);
            if (w == null) return Errno.EINVAL;
            Inotify.Remove(w, true);
            return 0;
        }

        /// Queues an event. An event identical to the last unread one (mask, wd, name) is
        /// merged into it; past max_queued_events one IN_Q_OVERFLOW (wd -1) stands for the
        /// events lost.
        internal void Queue(int wd, uint mask, uint cookie, ReadOnlySpan<byte> name)
        {
            if (_queued >= Inotify.MaxQueuedEvents)
            {
                if (_overflowQueued) return;
                _overflowQueued = true;
                wd = -1; mask = Inotify.IN_Q_OVERFLOW; cookie = 0; name = default;
            }
            else if (_queued > 0)
            {
                ref InotifyEvent last = ref _ring[(_first + _queued - 1) & (_ring.Length - 1)];
                if (last.Mask == mask && last.Wd == wd && (mask & Inotify.IN_IGNORED) == 0 && SameName(last.Name, name)) return;
            }
            if (_queued == _ring.Length) Grow();
            var ev = new InotifyEvent { Wd = wd, Mask = mask, Cookie = cookie };
            if (name.Length > 0) { ev.Name = new byte[name.Length]; name.CopyTo(ev.Name); }
            _ring[(_first + _queued) & (_ring.Length - 1)] = ev;
            _queued++;
            _bytes += ev.Size;
            _wait.WakeAll();
            _head.Changed();
        }

        static bool SameName(byte[] a, ReadOnlySpan<byte> b)
        {
            if (a == null) return b.Length == 0;
            return ((ReadOnlySpan<byte>)a).SequenceEqual(b);
        }

        void Grow()
        {
            var bigger = new InotifyEvent[_ring.Length * 2];
            for (int i = 0; i < _queued; i++) bigger[i] = _ring[(_first + i) & (_ring.Length - 1)];
            _ring = bigger;
            _first = 0;
        }

        InotifyEvent Dequeue()
        {
            InotifyEvent ev = _ring[_first];
            _ring[_first] = default;
            _first = (_first + 1) & (_ring.Length - 1);
            _queued--;
            // An emptied queue gives back a ring grown large by a burst.
            if (_queued == 0) { _first = 0; if (_ring.Length > 64) _ring = new InotifyEvent[8]; }
            _bytes -= ev.Size;
            if (ev.Mask == Inotify.IN_Q_OVERFLOW && ev.Wd == -1) _overflowQueued = false;
            return ev;
        }

        /// Whole records only: EINVAL when the first does not fit; blocks while the queue is
        /// empty (EAGAIN with O_NONBLOCK, ERESTARTSYS on a signal).
        public override SysResult Read(UserPtr buffer, ulong length)
        {
            byte* rec = stackalloc byte[16 + 272];
            ulong done = 0;
            while (true)
            {
                if (_queued > 0)
                {
                    int size = _ring[_first].Size;
                    if ((ulong)size > length - done)
                    {
                        if (done == 0) return Errno.EINVAL;
                        break;
                    }
                    InotifyEvent ev = Dequeue();
                    int nl = ev.NameLen;
                    *(int*)rec = ev.Wd;
                    *(uint*)(rec + 4) = ev.Mask;
                    *(uint*)(rec + 8) = ev.Cookie;
                    *(uint*)(rec + 12) = (uint)nl;
                    for (int i = 0; i < nl; i++) rec[16 + i] = ev.Name != null && i < ev.Name.Length ? ev.Name[i] : (byte)0;
                    if (buffer.Add(done).CopyOut(rec, (ulong)size) != 0) return Errno.EFAULT;
                    done += (ulong)size;
                    continue;
                }
                if (done > 0) break;
                if (NonBlock) return Errno.EAGAIN;
                if (_wait.Wait() == WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
            return (long)done;
        }

        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EINVAL;
        /// FIONREAD: the bytes of every queued record.
        public override SysResult Readable() => _bytes;
        public override uint Poll() => _queued > 0 ? PollEvents.In : 0;
        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(Span<byte> buf) => EventFd.Copy(buf, "anon_inode:inotify");

        /// The last fd went: every watch is dropped (no IN_IGNORED: nobody can read it) and
        /// the queue freed.
        protected override void Closed()
        {
            while (_watchCount > 0) Inotify.Remove(_watches[_watchCount - 1], false);
            _ring = new InotifyEvent[1];
            _first = 0; _queued = 0; _bytes = 0;
            Inotify.InstanceGone(Uid);
        }
    }
}
