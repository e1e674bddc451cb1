using Kernel.Abi;


namespace Kernel.Fs
{
    /// eventfd(2): a 64-bit counter; reads take it (or 1 in semaphore mode), writes add.
    public sealed unsafe class EventFd : OpenFile
    {
        ulong _count;
        readonly bool _semaphore;
        readonly Sched.WaitQueue _wait = new Sched.WaitQueue();
        readonly PollHead _head = new PollHead();
        public override PollHead PollHead => _head;
        const ulong Max = 0xfffffffffffffffe;

        public EventFd(ulong initial, bool semaphore, uint flags) { _count = initial; _semaphore = semaphore; StatusFlags = flags; }
        bool NonBlock => (StatusFlags & 0x800) != 0;

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (length < 8) return Errno.EINVAL;
            while (_count == 0)
            {
                if (NonBlock) return Errno.EAGAIN;
                if (_wait.Wait() == Sched.WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
            ulong v = _semaphore ? 1 : _count;
            if (buffer.CopyOut(&v, 8) != 0) return Errno.EFAULT;
            _count -= v;
            _wait.WakeAll();
            _head.Changed();
            return 8;
        }

        public override SysResult Write(UserPtr buffer, ulong length)
        {
            if (length < 8) return Errno.EINVAL;
            ulong v;
            if (buffer.CopyIn(&v, 8) != 0) return Errno.EFAULT;
            if (v == ulong.MaxValue) return Errno.EINVAL;
            while (Max - _count < v)
            {
                if (NonBlock) return Errno.EAGAIN;
                if (_wait.Wait() == Sched.WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
            _count += v;
            _wait.WakeAll();
            _head.Changed();
            return 8;
        }

        public override uint Poll() => (_count > 0 ? PollEvents.In : 0) | (_count < Max ? PollEvents.Out : 0);
        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(System.Span<byte> buf) => Copy(buf, "anon_inode:[eventfd]");

        internal static int Copy(System.Span<byte> buf, string s)
        {
            int n = s.Length < buf.Length ? s.Length : buf.Length;
            for (int i = 0; i < n; i++) buf[i] = (byte)s[i];
            return n;
        }
    }

    /// An epoll instance: an interest list of (fd, file, events, data), each interest an
    /// entry on its file's PollHead. A change of the file puts the interest on the ready list
    /// and wakes one thread waiting on the instance (and announces on the instance's own
    /// head, for nested epoll and poll on it); epoll_wait checks only the ready list.
    /// Level-triggered interests that are still ready go back on the list after being
    /// reported; EPOLLET ones wait for the next change; EPOLLONESHOT disarms until
    /// EPOLL_CTL_MOD. An interest goes when its file is closed for good (the last reference,
    /// as Linux: not when one of several fds is closed).
    public sealed unsafe class EpollFile : OpenFile
    {
        public const uint EPOLLET = 1u << 31, EPOLLONESHOT = 1u << 30, EPOLLEXCLUSIVE = 1u << 28, EPOLLWAKEUP = 1u << 29;
        const uint Flags = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;

        public sealed class Interest : PollEntry
        {
            public EpollFile Ep;             // null once removed
            public int Fd;
            public OpenFile File;
            public uint Events;
            public ulong Data;
            public bool Disarmed, OnReady;
            public Interest NextReady, PrevAll, NextAll;
            /// The other interests on the same file (OpenFile.EpollInterests), in any instance.
            internal Interest PrevOfFile, NextOfFile;

            public override bool Woken()
            {
                EpollFile ep = Ep;
                if (ep == null || Disarmed || (Events & ~Flags) == 0) return false;
                ep.Queue(this);
                bool woke = ep._waiters.WakeOne();
                ep._head.Changed();
                return woke;
            }

            /// Leaves its instance and its file (EPOLL_CTL_DEL, the file's or the instance's last close).
            internal void Drop() { if (Ep != null) Ep.Drop(this); }
        }

        readonly PollHead _head = new PollHead();        // watchers of this instance
        readonly PollHead _waiters = new PollHead();     // threads in epoll_wait on it
        Interest _all;                                   // every interest
        Interest _readyFirst, _readyLast;
        int _count;

        public override PollHead PollHead => _head;
        /// Where epoll_wait's thread waits (one is woken per event).
        public PollHead Waiters => _waiters;
        public int Count => _count;

        public Interest Find(int fd, OpenFile f)
        {
            // among the file's interests (few), not all of this instance's; not through the
            // file's head, which may depend on who asks (a signalfd's)
            for (Interest it = f.EpollInterests; it != null; it = it.NextOfFile)
                if (it.Ep == this && it.Fd == fd) return it;
            return null;
        }

        void Queue(Interest it)
        {
            if (it.OnReady) return;
            it.OnReady = true;
            it.NextReady = null;
            if (_readyLast != null) _readyLast.NextReady = it; else _readyFirst = it;
            _readyLast = it;
        }

        /// Puts the interest on the ready list if its file is ready now, waking a waiter (as
        /// EPOLL_CTL_ADD and MOD do).
        void Arm(Interest it)
        {
            if ((PollEvents.WithNormal(it.File.Poll()) & (it.Events | PollEvents.Err | PollEvents.Hup)) == 0) return;
            Queue(it);
            _waiters.WakeOne();
            _head.Changed();
        }

        public Errno Add(int fd, OpenFile f, uint events, ulong data)
        {
            if (Find(fd, f) != null) return Errno.EEXIST;
            var it = new Interest { Ep = this, Fd = fd, File = f, Events = events, Data = data, Exclusive = (events & EPOLLEXCLUSIVE) != 0 };
            it.NextAll = _all;
            if (_all != null) _all.PrevAll = it;
            _all = it;
            _count++;
            it.NextOfFile = f.EpollInterests;
            if (f.EpollInterests != null) f.EpollInterests.PrevOfFile = it;
            f.EpollInterests = it;
            f.PollHead.Add(it);
            Arm(it);
            return 0;
        }

        public Errno Modify(int fd, OpenFile f, uint events, ulong data)
        {
            Interest it = Find(fd, f);
            if (it == null) return Errno.ENOENT;
            if ((it.Events & EPOLLEXCLUSIVE) != 0) return Errno.EINVAL;
            it.Events = events; it.Data = data; it.Disarmed = false;
            Arm(it);
            return 0;
        }

        public Errno Remove(int fd, OpenFile f)
        {
            Interest it = Find(fd, f);
            if (it == null) return Errno.ENOENT;
            Drop(it);
            return 0;
        }

        void Drop(Interest it)
        {
            if (it.Head != null) it.Head.Remove(it);
            if (it.PrevAll != null) it.PrevAll.NextAll = it.NextAll; else _all = it.NextAll;
            if (it.NextAll != null) it.NextAll.PrevAll = it.PrevAll;
            it.PrevAll = it.NextAll = null;
            OpenFile f = it.File;
            if (it.PrevOfFile != null) it.PrevOfFile.NextOfFile = it.NextOfFile; else f.EpollInterests = it.NextOfFile;
            if (it.NextOfFile != null) it.NextOfFile.PrevOfFile = it.PrevOfFile;
            it.PrevOfFile = it.NextOfFile = null;
            it.Ep = null;                                // the ready list skips it
            _count--;
        }

        /// Whether an event is queued (epoll_wait wakes another waiter for it).
        public bool HasReady => _readyFirst != null;

        /// Fills up to `max` ready events (12-byte struct epoll_event each) at `events`.
        public int Collect(UserPtr events, int max, out Errno error)
        {
            error = 0;
            Interest list = _readyFirst, again = null, againLast = null;
            _readyFirst = _readyLast = null;
            int n = 0;
            while (list != null)
            {
                Interest it = list;
                list = it.NextReady;
                it.NextReady = null;
                it.OnReady = false;
                if (it.Ep == null || it.Disarmed) continue;
                if (n == max || error != 0) { Queue(it); continue; }
                uint ready = PollEvents.WithNormal(it.File.Poll()) & (it.Events | PollEvents.Err | PollEvents.Hup);
                if (ready == 0) continue;
                var ev = new EpollEvent { Events = ready, Data = it.Data };
                if (events.Add((ulong)n * (ulong)sizeof(EpollEvent)).CopyOut(&ev, (ulong)sizeof(EpollEvent)) != 0) { error = Errno.EFAULT; Queue(it); continue; }
                n++;
                if ((it.Events & EPOLLONESHOT) != 0) it.Disarmed = true;
                else if ((it.Events & EPOLLET) == 0)
                {
                    // level-triggered: checked again by the next wait
                    it.NextReady = null;
                    if (againLast != null) againLast.NextReady = it; else again = it;
                    againLast = it;
                }
            }
            while (again != null)
            {
                Interest it = again;
                again = it.NextReady;
                it.NextReady = null;
                if (it.Ep != null) Queue(it);
            }
            return n;
        }

        protected override void Closed()
        {
            while (_all != null) Drop(_all);
            _readyFirst = _readyLast = null;
        }

        public override SysResult Read(UserPtr buffer, ulong length) => Errno.EINVAL;
        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EINVAL;
        static int _depth;

        public override uint Poll()
        {
            // Nested epoll instances: bounded, so a cycle cannot recurse without end.
            if (_depth >= 5) return 0;
            _depth++;
            uint r = 0;
            for (Interest it = _readyFirst; it != null && r == 0; it = it.NextReady)
                if (it.Ep != null && !it.Disarmed && (PollEvents.WithNormal(it.File.Poll()) & (it.Events | PollEvents.Err | PollEvents.Hup)) != 0) r = PollEvents.In;
            _depth--;
            return r;
        }

        /// Whether `target` is reachable from this instance (adding it would make a cycle).
        public bool Contains(EpollFile target, int depth = 0)
        {
            if (this == target) return true;
            if (depth >= 5) return true;                   // too deep: treat as a loop, as Linux does
            for (Interest it = _all; it != null; it = it.NextAll)
                if (it.File is EpollFile e && e.Contains(target, depth + 1)) return true;
            return false;
        }
        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(System.Span<byte> buf) => EventFd.Copy(buf, "anon_inode:[eventpoll]");
    }
}
