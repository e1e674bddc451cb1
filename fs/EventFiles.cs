using Kernel.Abi;


namespace Kernel.Fs
{
    /// eventfd(2): a 64-bit counter; reads take it (or 1 in semaphore mode), writes add.
    public sealed unsafe class EventFd : OpenFile
    {
        ulong _count;
        readonly bool _semaphore;
        readonly Sched.WaitQueue _wait = new Sched.WaitQueue();
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
            PollEvents.Changed();
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
            PollEvents.Changed();
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

    /// An epoll instance: an interest list of (fd, file, events, data). Readiness is
    /// computed from the files when waited on (level-triggered); EPOLLET reports a file again
    /// only after something changed since it was last reported; EPOLLONESHOT disarms it.
    public sealed unsafe class EpollFile : OpenFile
    {
        public const uint EPOLLET = 1u << 31, EPOLLONESHOT = 1u << 30, EPOLLEXCLUSIVE = 1u << 28, EPOLLWAKEUP = 1u << 29;

        public struct Interest
        {
            public int Fd;
            public OpenFile File;
            public uint Events;
            public ulong Data;
            public ulong ReportedGeneration;
            public bool Disarmed;
        }

        Interest[] _items = new Interest[8];
        int _count;

        public int Find(int fd, OpenFile f)
        {
            for (int i = 0; i < _count; i++) if (_items[i].Fd == fd && _items[i].File == f) return i;
            return -1;
        }

        public Errno Add(int fd, OpenFile f, uint events, ulong data)
        {
            if (Find(fd, f) >= 0) return Errno.EEXIST;
            if (_count == _items.Length)
            {
                var bigger = new Interest[_items.Length * 2];
                for (int i = 0; i < _count; i++) bigger[i] = _items[i];
                _items = bigger;
            }
            f.AddRef();
            _items[_count++] = new Interest { Fd = fd, File = f, Events = events, Data = data, ReportedGeneration = ulong.MaxValue };
            PollEvents.Changed();
            return 0;
        }

        public Errno Modify(int fd, OpenFile f, uint events, ulong data)
        {
            int i = Find(fd, f);
            if (i < 0) return Errno.ENOENT;
            if ((_items[i].Events & EPOLLEXCLUSIVE) != 0) return Errno.EINVAL;
            _items[i].Events = events; _items[i].Data = data; _items[i].Disarmed = false; _items[i].ReportedGeneration = ulong.MaxValue;
            PollEvents.Changed();
            return 0;
        }

        public Errno Remove(int fd, OpenFile f)
        {
            int i = Find(fd, f);
            if (i < 0) return Errno.ENOENT;
            _items[i].File.Release();
            _items[i] = _items[--_count];
            _items[_count] = default;
            return 0;
        }

        /// Drops interests whose fd was closed (Linux removes them with the last reference;
        /// we check whether the fd still refers to the same file).
        void Prune(FdTable files)
        {
            for (int i = 0; i < _count; i++)
                if (files.Get(_items[i].Fd) != _items[i].File)
                {
                    _items[i].File.Release();
                    _items[i] = _items[--_count];
                    _items[_count] = default;
                    i--;
                }
        }

        /// Fills up to `max` ready events (12-byte struct epoll_event each) at `events`.
        public int Collect(FdTable files, UserPtr events, int max, out Errno error)
        {
            error = 0;
            Prune(files);
            int n = 0;
            for (int i = 0; i < _count && n < max; i++)
            {
                ref Interest it = ref _items[i];
                if (it.Disarmed) continue;
                uint ready = PollEvents.WithNormal(it.File.Poll()) & (it.Events | PollEvents.Err | PollEvents.Hup);
                if (ready == 0) continue;
                if ((it.Events & EPOLLET) != 0)
                {
                    if (it.ReportedGeneration == PollEvents.Generation) continue;
                    it.ReportedGeneration = PollEvents.Generation;
                }
                if ((it.Events & EPOLLONESHOT) != 0) it.Disarmed = true;
                var ev = new EpollEvent { Events = ready, Data = it.Data };
                if (events.Add((ulong)n * (ulong)sizeof(EpollEvent)).CopyOut(&ev, (ulong)sizeof(EpollEvent)) != 0) { error = Errno.EFAULT; return n; }
                n++;
            }
            return n;
        }

        protected override void Closed()
        {
            for (int i = 0; i < _count; i++) _items[i].File.Release();
            _count = 0;
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
            for (int i = 0; i < _count && r == 0; i++)
                if (!_items[i].Disarmed && (PollEvents.WithNormal(_items[i].File.Poll()) & _items[i].Events) != 0) r = PollEvents.In;
            _depth--;
            return r;
        }

        /// Whether `target` is reachable from this instance (adding it would make a cycle).
        public bool Contains(EpollFile target, int depth = 0)
        {
            if (this == target) return true;
            if (depth >= 5) return true;                   // too deep: treat as a loop, as Linux does
            for (int i = 0; i < _count; i++)
                if (_items[i].File is EpollFile e && e.Contains(target, depth + 1)) return true;
            return false;
        }
        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(System.Span<byte> buf) => EventFd.Copy(buf, "anon_inode:[eventpoll]");
    }
}
