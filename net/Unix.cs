using System;
using Kernel.Abi;
using Kernel.Fs;
using static Kernel.Abi.MsgFlags;
using static Kernel.Abi.SocketType;
using static Kernel.Abi.SockOpt;

namespace Kernel.Net
{
    /// AF_UNIX: socket(AF_UNIX, SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET, 0), socketpair.
    public sealed class UnixFamily : SocketFamily
    {
        static Errno CheckType(ref int type, int protocol)
        {
            if (protocol != 0 && protocol != AddressFamily.AF_UNIX) return Errno.EPROTONOSUPPORT;
            if (type == SOCK_RAW) type = SOCK_DGRAM;             // as Linux: SOCK_RAW means SOCK_DGRAM here
            if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) return Errno.ESOCKTNOSUPPORT;
            return 0;
        }

        public override Errno Create(int type, int protocol, out Socket socket)
        {
            socket = null;
            Errno e = CheckType(ref type, protocol);
            if (e != 0) return e;
            socket = new UnixSocket(type, protocol);
            return 0;
        }

        public override Errno Pair(int type, int protocol, out Socket a, out Socket b)
        {
            a = b = null;
            Errno e = CheckType(ref type, protocol);
            if (e != 0) return e;
            var x = new UnixSocket(type, protocol);
            var y = new UnixSocket(type, protocol);
            UnixSocket.Join(x, y);
            a = x; b = y;
            return 0;
        }
    }

    /// One queued message (a datagram, or a piece of a stream written by one send). Owns
    /// one reference to each passed file until they are received or the message is dropped.
    sealed class UnixPacket
    {
        public byte[] Data;
        public int Offset, Length;             // unread bytes are Data[Offset .. Length)
        public OpenFile[] Files;
        public Ucred Creds;
        public UnixSocket Sender;              // charged for Charge bytes of its send buffer
        public int Charge;
        public UnixPacket Next;
        public int Unread => Length - Offset;
    }

    /// An AF_UNIX socket. Data moves as UnixPackets queued on the receiver; each counts
    /// against the sender's SO_SNDBUF (as Linux's sk_wmem_alloc) until read or dropped, so
    /// a writer blocks when what it sent is unread.
    public sealed unsafe class UnixSocket : Socket
    {
        enum State { Closed, Listening, Connected }
        State _state;
        UnixSocket _peer;
        bool _dead;
        // Shutdown bits as Linux's sk_shutdown: 1 receive, 2 send.
        int _shutdown;
        const int RcvShutdown = 1, SendShutdown = 2, ShutdownMask = 3;

        UnixPacket _head, _tail;
        int _queued;                           // packets in the receive queue
        long _queuedBytes;
        int _sndUsed;                          // bytes charged by packets this socket sent
        int _backlog = MaxDgramQlen;           // listen backlog; for datagrams max_dgram_qlen
        const int MaxDgramQlen = 10;
        UnixSocket _acceptHead, _acceptTail;   // listening: connections not yet accepted
        UnixSocket _nextPending;
        int _pending;

        /// The bound address as sockaddr_un bytes (family included), or null (unnamed).
        byte[] _name;
        Inode _nameInode;                      // the S_IFSOCK inode of a filesystem name
        /// Bound sockets, searched by connect/sendto (few sockets: a list is enough).
        static UnixSocket[] _bound = new UnixSocket[16];
        static int _boundCount;
        static int _autobindNext = 1;

        // Chunk limits of one stream packet, and the per-packet overhead Linux counts (truesize).
        const int MaxChunk = 32768 + 3712, Overhead = 576;
        /// Linux allocates a datagram's head with kmalloc (KMALLOC_MAX_SIZE, 4 MiB) plus up to
        /// MAX_SKB_FRAGS pages: a larger one fails with ENOBUFS even under SO_SNDBUFFORCE.
        const int MaxDatagram = (4 << 20) + 17 * 4096;

        public UnixSocket(int type, int protocol) : base(AddressFamily.AF_UNIX, type, protocol) { }

        // ---- files in flight, and the collector of unreachable cycles (Linux's unix_gc)

        /// References to this socket held by queued SCM_RIGHTS messages.
        int _inflight;
        static UnixSocket[] _inflightList = new UnixSocket[8];
        static int _inflightCount;
        static bool _collecting;
        int _gcRefs;
        bool _gcCandidate, _gcAlive;

        /// Files entering (+1) or leaving (-1) a queue: AF_UNIX sockets among them count as
        /// in flight.
        static void InFlight(OpenFile[] files, int delta)
        {
            if (files == null) return;
            for (int i = 0; i < files.Length; i++)
            {
                if (!(files[i] is UnixSocket u)) continue;
                u._inflight += delta;
                if (delta > 0 && u._inflight == 1)
                {
                    if (_inflightCount == _inflightList.Length)
                    {
                        var bigger = new UnixSocket[_inflightList.Length * 2];
                        for (int k = 0; k < _inflightCount; k++) bigger[k] = _inflightList[k];
                        _inflightList = bigger;
                    }
                    _inflightList[_inflightCount++] = u;
                }
                else if (delta < 0 && u._inflight == 0)
                {
                    for (int k = 0; k < _inflightCount; k++)
                        if (_inflightList[k] == u) { _inflightList[k] = _inflightList[--_inflightCount]; _inflightList[_inflightCount] = null; break; }
                }
            }
        }

        /// Calls `visit` for every socket among the files queued on this socket (and on its
        /// connections not yet accepted).
        void ForEachQueued(delegate*<UnixSocket, UnixSocket, void> visit)
        {
            for (UnixPacket p = _head; p != null; p = p.Next)
                if (p.Files != null)
                    for (int i = 0; i < p.Files.Length; i++)
                        if (p.Files[i] is UnixSocket u) visit(this, u);
            for (UnixSocket e = _acceptHead; e != null; e = e._nextPending) e.ForEachQueued(visit);
        }

        static void Decrement(UnixSocket from, UnixSocket u) { if (u._gcCandidate) u._gcRefs--; }
        static void MarkAlive(UnixSocket from, UnixSocket u)
        {
            if (!u._gcCandidate || u._gcAlive) return;
            u._gcAlive = true;
            u.ForEachQueued(&MarkAlive);
        }

        /// unix_gc: sockets referenced only by messages queued on other such sockets can never
        /// be received again; their queues are dropped, which closes them (and what they held).
        static void Collect()
        {
            if (_collecting || _inflightCount == 0) return;
            _collecting = true;
            // Candidates: every reference is an in-flight one.
            var cands = new UnixSocket[_inflightCount];
            int n = 0;
            for (int i = 0; i < _inflightCount; i++)
            {
                UnixSocket u = _inflightList[i];
                if (u.References == u._inflight) { u._gcCandidate = true; u._gcAlive = false; u._gcRefs = u._inflight; cands[n++] = u; }
            }
            // References from candidates' queues do not keep a candidate alive...
            for (int i = 0; i < n; i++) cands[i].ForEachQueued(&Decrement);
            // ...the others do, and so does anything reachable from a live one.
            for (int i = 0; i < n; i++)
                if (cands[i]._gcRefs > 0 && !cands[i]._gcAlive) { cands[i]._gcAlive = true; cands[i].ForEachQueued(&MarkAlive); }
            for (int i = 0; i < n; i++) cands[i]._gcCandidate = false;
            for (int i = 0; i < n; i++)
            {
                UnixSocket u = cands[i];
                if (u._gcAlive) continue;
                u.Purge();
                for (UnixSocket e = u._acceptHead; e != null; e = e._nextPending) e.Purge();
            }
            _collecting = false;
        }

        bool IsStream => Type == SOCK_STREAM;
        bool ConnectionBased => Type != SOCK_DGRAM;

        /// Connects two fresh sockets to each other (socketpair, and the two ends of an
        /// accepted connection).
        internal static void Join(UnixSocket x, UnixSocket y)
        {
            x._peer = y; y._peer = x;
            x._state = y._state = State.Connected;
            Ucred c = Creds();
            x.HasPeerCred = y.HasPeerCred = true;
            x.PeerCred = y.PeerCred = c;
        }

        // ---- names

        static void AddBound(UnixSocket s)
        {
            if (_boundCount == _bound.Length)
            {
                var bigger = new UnixSocket[_bound.Length * 2];
                for (int i = 0; i < _boundCount; i++) bigger[i] = _bound[i];
                _bound = bigger;
            }
            _bound[_boundCount++] = s;
        }

        static void RemoveBound(UnixSocket s)
        {
            for (int i = 0; i < _boundCount; i++)
                if (_bound[i] == s) { _bound[i] = _bound[--_boundCount]; _bound[_boundCount] = null; return; }
        }

        /// The bound sockets, for /proc/net/unix.
        public static int BoundCount => _boundCount;
        public static UnixSocket BoundAt(int i) => _bound[i];
        /// The bound address (sockaddr_un bytes from sun_path on; abstract names start with 0).
        public ReadOnlySpan<byte> BoundPath => _name == null ? default : new ReadOnlySpan<byte>(_name).Slice(2);
        /// /proc/net/unix's St column: SS_CONNECTED (3) or SS_UNCONNECTED (1).
        public int ProcState => _state == State.Connected ? 3 : 1;

        static UnixSocket FindAbstract(ReadOnlySpan<byte> name, int type)
        {
            for (int i = 0; i < _boundCount; i++)
            {
                UnixSocket s = _bound[i];
                if (s._nameInode == null && s.Type == type && s._name.Length == name.Length && new ReadOnlySpan<byte>(s._name).SequenceEqual(name)) return s;
            }
            return null;
        }

        static UnixSocket FindByInode(Inode n)
        {
            for (int i = 0; i < _boundCount; i++) if (_bound[i]._nameInode == n) return _bound[i];
            return null;
        }

        /// unix_validate_addr: more than the family, at most sizeof(sockaddr_un), AF_UNIX.
        static Errno ValidateAddr(ReadOnlySpan<byte> a)
        {
            if (a.Length <= SockaddrUn.PathOffset || a.Length > SockaddrUn.Size) return Errno.EINVAL;
            if ((a[0] | a[1] << 8) != AddressFamily.AF_UNIX) return Errno.EINVAL;
            return 0;
        }

        /// The path of a filesystem name: sun_path up to its NUL or the address's end.
        static int PathLength(ReadOnlySpan<byte> a)
        {
            int n = 0;
            while (SockaddrUn.PathOffset + n < a.Length && a[SockaddrUn.PathOffset + n] != 0) n++;
            return n;
        }

        static Errno Walk(ReadOnlySpan<byte> a, bool follow, Span<byte> path, Span<byte> tmp,
            out Inode dir, out Inode node, out int ns, out int nl, out bool trailing)
        {
            int len = PathLength(a);
            a.Slice(SockaddrUn.PathOffset, len).CopyTo(path);
            Inode start = path[0] == '/' ? Vfs.Root : (CurrentCwd != null ? CurrentCwd() : Vfs.Root);
            return Vfs.Resolve(start, path, len, tmp, follow, out dir, out node, out ns, out nl, out trailing);
        }

        /// unix_find_other: the socket bound to `addr` for a sender or connector of `type`.
        static Errno FindOther(ReadOnlySpan<byte> addr, int type, out UnixSocket other)
        {
            other = null;
            if (addr[SockaddrUn.PathOffset] == 0)
            {
                other = FindAbstract(addr, type);
                return other == null ? Errno.ECONNREFUSED : 0;
            }
            Span<byte> path = stackalloc byte[Vfs.PathMax];
            Span<byte> tmp = stackalloc byte[Vfs.PathMax];
            Errno e = Walk(addr, true, path, tmp, out _, out Inode node, out _, out _, out _);
            if (e != 0) return e;
            if (node == null) return Errno.ENOENT;
            if (Permission.Check(node, Permission.MAY_WRITE) != 0) return Errno.EACCES;
            if (node.Type != FileMode.S_IFSOCK) return Errno.ECONNREFUSED;
            other = FindByInode(node);
            if (other == null) return Errno.ECONNREFUSED;
            if (other.Type != type) { other = null; return Errno.EPROTOTYPE; }
            return 0;
        }

        static byte[] Bytes(ReadOnlySpan<byte> s)
        {
            var a = new byte[s.Length];
            s.CopyTo(a);
            return a;
        }

        /// unix_autobind: an abstract name "\0xxxxx" (five hex digits).
        Errno Autobind()
        {
            if (_name != null) return 0;
            Span<byte> n = stackalloc byte[8];
            for (int tries = 0; tries < 0x100000; tries++)
            {
                int v = _autobindNext;
                _autobindNext = (_autobindNext + 1) & 0xfffff;
                n[0] = AddressFamily.AF_UNIX; n[1] = 0; n[2] = 0;
                for (int i = 0; i < 5; i++) { int d = (v >> (4 * (4 - i))) & 0xf; n[3 + i] = (byte)(d < 10 ? '0' + d : 'a' + d - 10); }
                if (FindAbstract(n, Type) != null) continue;
                _name = Bytes(n);
                AddBound(this);
                return 0;
            }
            return Errno.ENOSPC;
        }

        public override Errno Bind(ReadOnlySpan<byte> a)
        {
            if (a.Length == SockaddrUn.PathOffset && (a[0] | a[1] << 8) == AddressFamily.AF_UNIX) return Autobind();
            Errno e = ValidateAddr(a);
            if (e != 0) return e;
            if (a[SockaddrUn.PathOffset] == 0)
            {
                if (_name != null) return Errno.EINVAL;
                if (FindAbstract(a, Type) != null) return Errno.EADDRINUSE;
                _name = Bytes(a);
                AddBound(this);
                return 0;
            }
            Span<byte> path = stackalloc byte[Vfs.PathMax];
            Span<byte> tmp = stackalloc byte[Vfs.PathMax];
            e = Walk(a, false, path, tmp, out Inode dir, out Inode node, out int ns, out int nl, out bool trailing);
            if (e != 0) return e;
            if (node != null) return Errno.EADDRINUSE;
            if (trailing || dir == null) return Errno.ENOENT;
            e = Permission.MayCreate(Cred.Fs(), dir);
            if (e != 0) return e;
            uint umask = CurrentUmask != null ? CurrentUmask() : 0x12;
            e = Vfs.Mknod(dir, path.Slice(ns, nl), FileMode.S_IFSOCK | (0x1ffu & ~umask), 0, out Inode created);
            if (e != 0) return e == Errno.EEXIST ? Errno.EADDRINUSE : e;
            if (_name != null) { Vfs.Unlink(dir, path.Slice(ns, nl), false); return Errno.EINVAL; }
            // The stored name ends with the path's NUL (unix_mkname_bsd).
            int plen = PathLength(a);
            var name = new byte[SockaddrUn.PathOffset + plen + 1];
            a.Slice(0, SockaddrUn.PathOffset + plen).CopyTo(name);
            _name = name;
            _nameInode = created;
            AddBound(this);
            return 0;
        }

        public override Errno GetName(Span<byte> addr, bool peer, out int length)
        {
            length = 0;
            UnixSocket s = this;
            if (peer)
            {
                s = _peer;
                if (s == null) return Errno.ENOTCONN;
            }
            if (s._name == null)
            {
                addr[0] = AddressFamily.AF_UNIX; addr[1] = 0;
                length = 2;
                return 0;
            }
            new ReadOnlySpan<byte>(s._name).CopyTo(addr);
            length = s._name.Length;
            return 0;
        }

        // ---- connections

        public override Errno Listen(int backlog)
        {
            if (Type != SOCK_STREAM && Type != SOCK_SEQPACKET) return Errno.EOPNOTSUPP;
            if (_name == null) return Errno.EINVAL;
            if (_state != State.Closed && _state != State.Listening) return Errno.EINVAL;
            _backlog = backlog;
            _state = State.Listening;
            Listening = true;
            HasPeerCred = true;                  // connectors copy the listener's credentials
            PeerCred = Creds();
            Notify();
            return 0;
        }

        public override Errno Connect(ReadOnlySpan<byte> a, bool nonblock)
        {
            if (!ConnectionBased) return ConnectDgram(a);
            Errno e = ValidateAddr(a);
            if (e != 0) return e;
            if (PassCred && _name == null && (e = Autobind()) != 0) return e;
            ulong deadline = nonblock ? ulong.MaxValue : SendDeadline(0);
            while (true)
            {
                e = FindOther(a, Type, out UnixSocket other);
                if (e != 0) return e;
                if (other._state != State.Listening || (other._shutdown & RcvShutdown) != 0) return Errno.ECONNREFUSED;
                if (other._pending > other._backlog)
                {
                    e = other.WaitFor(deadline);
                    if (e != 0) return e;
                    continue;
                }
                if (_state == State.Connected) return Errno.EISCONN;
                if (_state != State.Closed) return Errno.EINVAL;
                var server = new UnixSocket(Type, Protocol);
                server._name = other._name;                  // the accepted end answers to the listener's name
                server._nameShared = true;
                Join(this, server);
                PeerCred = other.PeerCred;                   // the listener's credentials
                if (other._acceptTail == null) other._acceptHead = server; else other._acceptTail._nextPending = server;
                other._acceptTail = server;
                other._pending++;
                other.Notify();
                Notify();
                return 0;
            }
        }

        bool _nameShared;

        Errno ConnectDgram(ReadOnlySpan<byte> a)
        {
            if (a.Length < 2) return Errno.EINVAL;
            UnixSocket other = null;
            if ((a[0] | a[1] << 8) != AddressFamily.AF_UNSPEC)
            {
                Errno e = ValidateAddr(a);
                if (e != 0) return e;
                if (PassCred && _name == null && (e = Autobind()) != 0) return e;
                if ((e = FindOther(a, Type, out other)) != 0) return e;
                if (!(other._peer == null || other._peer == this)) return Errno.EPERM;
            }
            UnixSocket old = _peer;
            _peer = other;
            _state = other != null ? State.Connected : State.Closed;
            if (old != null && old != other) DgramDisconnected(old);
            Notify();
            return 0;
        }

        /// unix_dgram_disconnected: our queue is dropped; a peer that was connected back to
        /// us learns of it (ECONNRESET).
        void DgramDisconnected(UnixSocket old)
        {
            if (_head == null) return;
            Purge();
            if (!old._dead && old._peer == this) { old.PendingError = (int)Errno.ECONNRESET; old.Notify(); }
        }

        public override Errno Accept(bool nonblock, out Socket child)
        {
            child = null;
            if (Type != SOCK_STREAM && Type != SOCK_SEQPACKET) return Errno.EOPNOTSUPP;
            if (_state != State.Listening) return Errno.EINVAL;
            ulong deadline = nonblock ? ulong.MaxValue : RecvDeadline(0);
            while (_acceptHead == null)
            {
                if (PendingError != 0) return TakeError();
                if ((_shutdown & RcvShutdown) != 0) return Errno.EINVAL;
                Errno e = WaitFor(deadline);
                if (e != 0) return e;
            }
            UnixSocket c = _acceptHead;
            _acceptHead = c._nextPending;
            if (_acceptHead == null) _acceptTail = null;
            c._nextPending = null;
            c.PassCred = PassCred;                          // unix_sock_inherit_flags
            _pending--;
            Notify();                                       // connectors waiting for room
            child = c;
            return 0;
        }

        public override Errno Shutdown(int how)
        {
            int mode = how + 1;
            _shutdown |= mode;
            Notify();
            UnixSocket other = _peer;
            if (other != null && ConnectionBased)
            {
                int peerMode = 0;
                if ((mode & RcvShutdown) != 0) peerMode |= SendShutdown;
                if ((mode & SendShutdown) != 0) peerMode |= RcvShutdown;
                other._shutdown |= peerMode;
                other.Notify();
            }
            return 0;
        }

        // ---- queues

        void Enqueue(UnixPacket p)
        {
            InFlight(p.Files, +1);
            if (_tail == null) _head = p; else _tail.Next = p;
            _tail = p;
            _queued++;
            _queuedBytes += p.Unread;
        }

        /// Unlinks the head packet and returns its charge to the sender.
        void DropHead(bool releaseFiles)
        {
            UnixPacket p = _head;
            _head = p.Next;
            if (_head == null) _tail = null;
            p.Next = null;
            _queued--;
            _queuedBytes -= p.Unread;
            if (releaseFiles && p.Files != null)
            {
                OpenFile[] files = p.Files;
                InFlight(files, -1);
                p.Files = null;
                for (int i = 0; i < files.Length; i++) files[i]?.Release();
            }
            Uncharge(p);
        }

        static void Uncharge(UnixPacket p)
        {
            UnixSocket s = p.Sender;
            if (s == null) return;
            s._sndUsed -= p.Charge;
            p.Sender = null;
            s.Notify();
        }

        void Purge()
        {
            while (_head != null) DropHead(true);
            Notify();
        }

        bool Writable => _state != State.Listening && (long)_sndUsed * 4 <= SndBuf;

        /// Copies `len` bytes from the sender's data into a new packet.
        static UnixPacket MakePacket(ref SendMsg m, int len, out Errno error)
        {
            // As a failed skb allocation on Linux: ENOBUFS, never a kernel out of memory.
            if (!global::Kernel.Memory.PhysicalMemory.KernelHasRoom((ulong)len + 65536)) { error = Errno.ENOBUFS; return null; }
            var p = new UnixPacket { Data = new byte[len], Length = len };
            fixed (byte* d = p.Data)
            {
                long got = m.Data.CopyFromIter(d, len, out error);
                if (error != 0 && got < len) return null;
            }
            error = 0;
            return p;
        }

        void Charge(UnixPacket p)
        {
            p.Sender = this;
            p.Charge = p.Length + Overhead;
            _sndUsed += p.Charge;
        }

        /// sock_alloc_send_pskb's checks and wait: a pending error, then EPIPE after
        /// SHUT_WR, then room in the send buffer.
        Errno WaitSendRoom(ulong deadline)
        {
            while (true)
            {
                if (PendingError != 0) return TakeError();
                if ((_shutdown & SendShutdown) != 0) return Errno.EPIPE;
                if (_sndUsed < SndBuf) return 0;
                Errno e = WaitFor(deadline);
                if (e != 0) return e;
            }
        }

        // ---- send

        public override SysResult SendMsg(ref SendMsg m)
        {
            if ((m.Flags & MSG_OOB) != 0) return Errno.EOPNOTSUPP;
            if (IsStream) return SendStream(ref m);
            if (Type == SOCK_SEQPACKET)
            {
                if (_state != State.Connected) return Errno.ENOTCONN;
                m.Address = default;
            }
            return SendDgram(ref m);
        }

        SysResult SendStream(ref SendMsg m)
        {
            UnixSocket other;
            if (m.Address.Length != 0) return _state == State.Connected ? Errno.EISCONN : Errno.EOPNOTSUPP;
            other = _peer;
            if (other == null) return Errno.ENOTCONN;
            if ((_shutdown & SendShutdown) != 0) return BrokenPipe(m.Flags);
            ulong deadline = SendDeadline(m.Flags);
            long sent = 0, len = m.Data.Remaining;
            bool filesSent = false;
            while (sent < len)
            {
                Errno e = WaitSendRoom(deadline);
                if (e != 0)
                {
                    if (e == Errno.EPIPE) return sent > 0 ? sent : (SysResult)Errno.EPIPE;
                    return sent > 0 ? sent : (SysResult)e;
                }
                long size = len - sent;
                long cap = (SndBuf >> 1) - 64;
                if (size > cap) size = cap;
                if (size > MaxChunk) size = MaxChunk;
                UnixPacket p = MakePacket(ref m, (int)size, out e);
                if (p == null) return sent > 0 ? sent : (SysResult)e;
                p.Creds = m.Control.Creds;
                if (!filesSent && m.Control.Files != null) { p.Files = m.Control.Files; m.Control.Files = null; filesSent = true; }
                if (other._dead || (other._shutdown & RcvShutdown) != 0)
                {
                    if (p.Files != null) { for (int i = 0; i < p.Files.Length; i++) p.Files[i].Release(); }
                    return sent > 0 ? sent : (SysResult)BrokenPipe(m.Flags);
                }
                Charge(p);
                other.Enqueue(p);
                other.Notify();
                sent += size;
            }
            return sent;
        }

        SysResult SendDgram(ref SendMsg m)
        {
            Errno e;
            UnixSocket other = null;
            ReadOnlySpan<byte> addr = m.Address;
            if (addr.Length != 0) { if ((e = ValidateAddr(addr)) != 0) return e; }
            else
            {
                other = _peer;
                if (other == null) return Errno.ENOTCONN;
            }
            if (PassCred && _name == null && (e = Autobind()) != 0) return e;
            long len = m.Data.Remaining;
            if (len > SndBuf - 32) return Errno.EMSGSIZE;
            if (len > MaxDatagram) return Errno.ENOBUFS;       // beyond what Linux can allocate as one skb
            ulong deadline = SendDeadline(m.Flags);
            // sock_alloc_send_pskb: a pending error, SHUT_WR, then our send buffer.
            if ((e = WaitSendRoom(deadline)) != 0) return e;
            UnixPacket p = MakePacket(ref m, (int)len, out e);
            if (p == null) return e;
            while (true)
            {
                if (other == null)
                {
                    if (addr.Length == 0) return Errno.ECONNRESET;
                    if ((e = FindOther(addr, Type, out other)) != 0) return e;
                }
                if (!(other._peer == null || other._peer == this)) return Errno.EPERM;
                if (other._dead)
                {
                    if (_peer == other)
                    {
                        _peer = null;
                        _state = State.Closed;
                        DgramDisconnected(other);
                        return Errno.ECONNREFUSED;
                    }
                    other = null;
                    continue;
                }
                if ((other._shutdown & RcvShutdown) != 0) return Errno.EPIPE;
                if (other._peer != this && other._queued > other._backlog)
                {
                    if ((e = other.WaitFor(deadline)) != 0) return e;
                    if (addr.Length != 0) other = null;
                    continue;
                }
                break;
            }
            p.Creds = m.Control.Creds;
            p.Files = m.Control.Files;
            m.Control.Files = null;
            Charge(p);
            other.Enqueue(p);
            other.Notify();
            return len;
        }

        // ---- receive

        public override SysResult RecvMsg(ref RecvMsg m)
        {
            if ((m.Flags & MSG_OOB) != 0) return IsStream && _state != State.Connected ? Errno.EINVAL : Errno.EOPNOTSUPP;
            if (IsStream) return RecvStream(ref m);
            if (Type == SOCK_SEQPACKET && _state != State.Connected) return Errno.ENOTCONN;
            return RecvDgram(ref m);
        }

        void CopyAddr(ref RecvMsg m, UnixSocket from)
        {
            if (from == null || from._name == null) { m.AddressLength = 0; return; }
            if (m.Address.Length < from._name.Length) return;        // read(2), recv(2): no address wanted
            new ReadOnlySpan<byte>(from._name).CopyTo(m.Address);
            m.AddressLength = from._name.Length;
        }

        void TakeFiles(ref RecvMsg m, UnixPacket p, bool peek)
        {
            if (p.Files == null) return;
            if (peek)
            {
                var dup = new OpenFile[p.Files.Length];
                for (int i = 0; i < dup.Length; i++) { dup[i] = p.Files[i]; dup[i].AddRef(); }
                m.Control.Files = dup;
            }
            else { InFlight(p.Files, -1); m.Control.Files = p.Files; p.Files = null; }
        }

        /// SO_PEEK_OFF: where MSG_PEEK starts (-1: off), as Linux's sk_peek_off.
        int _peekOff = -1;

        public override Errno SetPeekOffset(int value) { _peekOff = value < 0 ? -1 : value; return 0; }
        public override bool GetPeekOffset(out int value) { value = _peekOff; return true; }

        void PeekOffsetBack(long consumed)
        {
            if (_peekOff >= 0) _peekOff = (int)Math.Max(_peekOff - consumed, 0);
        }

        SysResult RecvDgram(ref RecvMsg m)
        {
            ulong deadline = RecvDeadline(m.Flags);
            bool peek = (m.Flags & MSG_PEEK) != 0;
            long skip;
            UnixPacket p;
            while (true)
            {
                // A pending error comes first, even with data queued (__skb_try_recv_datagram).
                if (PendingError != 0) return TakeError();
                // With a peek offset, whole datagrams before it are passed over.
                skip = peek && _peekOff >= 0 ? _peekOff : 0;
                p = _head;
                while (p != null && skip >= p.Unread && (p.Unread > 0 || skip > 0)) { skip -= p.Unread; p = p.Next; }
                if (p != null) break;
                if ((_shutdown & RcvShutdown) != 0) return 0;
                if (ConnectionBased && _state != State.Connected) return Errno.ENOTCONN;
                Errno e = WaitFor(deadline);
                if (e != 0) return e;
            }
            CopyAddr(ref m, p.Sender);
            long avail = p.Unread - skip;
            long size = m.Data.Remaining;
            if (size > avail) size = avail;
            else if (size < avail) m.OutFlags |= MSG_TRUNC;
            fixed (byte* d = p.Data)
            {
                m.Data.CopyToIter(d + p.Offset + skip, size, out Errno e);
                if (e != 0) return Errno.EFAULT;
            }
            if (PassCred) { m.Control.HasCreds = true; m.Control.Creds = p.Creds; }
            TakeFiles(ref m, p, peek);
            if (!peek)
            {
                PeekOffsetBack(p.Unread);
                DropHead(true);
                Notify();
            }
            else if (_peekOff >= 0) _peekOff += (int)size;
            return (m.Flags & MSG_TRUNC) != 0 ? avail : size;
        }

        SysResult RecvStream(ref RecvMsg m)
        {
            if (_state != State.Connected) return Errno.EINVAL;
            bool peek = (m.Flags & MSG_PEEK) != 0;
            long size = m.Data.Remaining;
            long target = (m.Flags & MSG_WAITALL) != 0 ? size : Math.Min(RcvLowat, size);
            ulong deadline = RecvDeadline(m.Flags);
            long copied = 0;
            bool haveCreds = false;
            Ucred creds = default;
            bool addrDone = false;
            Errno err = 0;
            do
            {
                // Peeking starts at SO_PEEK_OFF (when set) and walks past what this call copied.
                long skip = peek ? copied + (_peekOff >= 0 ? _peekOff : 0) : 0;
                UnixPacket p = _head;
                while (p != null && skip >= p.Unread) { skip -= p.Unread; p = p.Next; }
                if (p == null)
                {
                    if (copied >= target) break;
                    if (_dead) { err = Errno.ECONNRESET; break; }
                    if (PendingError != 0) { err = TakeError(); break; }
                    if ((_shutdown & RcvShutdown) != 0) break;
                    Errno w = WaitFor(deadline);
                    if (w != 0) { err = w; break; }
                    continue;
                }
                // Never glue data from different writers' credentials together.
                if (haveCreds) { if (p.Creds.Pid != creds.Pid || p.Creds.Uid != creds.Uid || p.Creds.Gid != creds.Gid) break; }
                else { haveCreds = true; creds = p.Creds; }
                if (!addrDone) { CopyAddr(ref m, p.Sender); addrDone = true; }
                long chunk = p.Unread - skip;
                if (chunk > size) chunk = size;
                long got;
                fixed (byte* d = p.Data) got = m.Data.CopyToIter(d + p.Offset + skip, chunk, out Errno fe);
                if (got < chunk) { if (copied == 0) err = Errno.EFAULT; break; }
                copied += chunk; size -= chunk;
                if (!peek)
                {
                    _queuedBytes -= chunk;
                    p.Offset += (int)chunk;
                    bool hadFiles = p.Files != null;
                    TakeFiles(ref m, p, false);
                    if (p.Unread > 0) break;
                    DropHeadConsumed();
                    if (hadFiles) break;
                }
                else
                {
                    TakeFiles(ref m, p, true);
                    if (m.Control.Files != null) break;
                }
            } while (size > 0);
            if (!peek && copied > 0) { PeekOffsetBack(copied); Notify(); }
            if (peek && _peekOff >= 0) _peekOff += (int)copied;
            if (PassCred && copied > 0) { m.Control.HasCreds = true; m.Control.Creds = creds; }
            return copied > 0 ? copied : (SysResult)err;
        }

        /// Drops a fully read head packet (its bytes were already taken off _queuedBytes).
        void DropHeadConsumed()
        {
            UnixPacket p = _head;
            _head = p.Next;
            if (_head == null) _tail = null;
            p.Next = null;
            _queued--;
            Uncharge(p);
        }

        // ---- readiness, ioctls, options

        public override uint Poll()
        {
            uint mask = 0;
            if (PendingError != 0) mask |= PollEvents.Err;
            if (_shutdown == ShutdownMask) mask |= PollEvents.Hup;
            if ((_shutdown & RcvShutdown) != 0) mask |= PollEvents.RdHup | PollEvents.In;
            if (_head != null || _acceptHead != null) mask |= PollEvents.In;
            if (ConnectionBased && _state == State.Closed) mask |= PollEvents.Hup;
            bool writable = Writable;
            if (Type == SOCK_DGRAM && writable)
            {
                UnixSocket other = _peer;
                if (other != null && !other._dead && other._peer != this && other._queued > other._backlog) writable = false;
            }
            if (Type == SOCK_SEQPACKET && _state == State.Listening) writable = false;
            if (writable) mask |= PollEvents.Out | PollEvents.WrBand;
            return mask;
        }

        public override SysResult SocketIoctl(uint request, ulong arg)
        {
            int v;
            switch (request)
            {
                case Abi.Ioctl.FIONREAD:                     // SIOCINQ
                    if (_state == State.Listening) return Errno.EINVAL;
                    v = IsStream || Type == SOCK_SEQPACKET ? (int)_queuedBytes : (_head != null ? _head.Unread : 0);
                    break;
                case 0x5411:                                 // SIOCOUTQ (TIOCOUTQ)
                    if (_state == State.Listening) return Errno.EINVAL;
                    v = _sndUsed;
                    break;
                default: return Errno.ENOTTY;
            }
            return new UserRef<int>(arg).Write(v) != 0 ? Errno.EFAULT : SysResult.Ok;
        }

        // ---- close

        protected override void Closed()
        {
            if (_name != null && !_nameShared) RemoveBound(this);
            _dead = true;
            _shutdown = ShutdownMask;
            State state = _state;
            _state = State.Closed;
            UnixSocket pair = _peer;
            _peer = null;
            if (pair != null)
            {
                if (ConnectionBased)
                {
                    pair._shutdown = ShutdownMask;
                    if (_head != null) pair.PendingError = (int)Errno.ECONNRESET;
                }
                pair.Notify();
            }
            // Connections never accepted die with the listener; their peers see a reset.
            while (_acceptHead != null)
            {
                UnixSocket c = _acceptHead;
                _acceptHead = c._nextPending;
                c._nextPending = null;
                c.CloseEmbryo();
            }
            _acceptTail = null;
            _pending = 0;
            Purge();
            _nameInode = null;
            Notify();
            if (_inflightCount > 0) Collect();
        }

        void CloseEmbryo()
        {
            UnixSocket pair = _peer;
            _dead = true;
            _shutdown = ShutdownMask;
            _state = State.Closed;
            _peer = null;
            if (pair != null)
            {
                pair._shutdown = ShutdownMask;
                pair.PendingError = (int)Errno.ECONNRESET;
                pair.Notify();
            }
            Purge();
        }
    }
}
