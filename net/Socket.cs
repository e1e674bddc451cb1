using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Sched;
using static Kernel.Abi.MsgFlags;
using static Kernel.Abi.SockOpt;

namespace Kernel.Net
{
    // The socket layer. A socket is an open file (OpenFile): read, write, poll/select/epoll,
    // fcntl(O_NONBLOCK), fstat, close and dup work on it as on any file. The system calls
    // (syscalls/Sys.Socket.cs) do every generic check Linux does before a family sees the
    // call: the fd (EBADF, ENOTSOCK), socket()'s type flags, copying addresses in and out
    // (EINVAL above 128 bytes, truncation and length write-back), msghdr and iovec parsing,
    // SOL_SOCKET control messages (SCM_RIGHTS resolved to OpenFiles, SCM_CREDENTIALS checked),
    // MSG_DONTWAIT from O_NONBLOCK, installing received descriptors, MSG_CTRUNC.
    //
    // What a family implements (see UnixSocket in net/Unix.cs for a complete one):
    //  - a SocketFamily registered in SocketFamilies.Init() under its AF_ number: Create(type,
    //    protocol) for socket(2) (EPROTONOSUPPORT / ESOCKTNOSUPPORT for what it does not do),
    //    optionally Pair() for socketpair(2) (default EOPNOTSUPP);
    //  - a Socket subclass overriding what it supports; the defaults give Linux's sock_no_*
    //    errors (EOPNOTSUPP):
    //      Bind(addr), Connect(addr, nonblock), Listen(backlog), Accept(nonblock, out child),
    //      Shutdown(how), GetName(buf, peer, out len), SendMsg(ref m), RecvMsg(ref m),
    //      SetOption/GetOption (call base for what the family does not handle: base does the
    //      generic SOL_SOCKET options and says EOPNOTSUPP for other levels), Ioctl, Poll()
    //      (PollEvents bits: In/Out/Err/Hup/RdHup/Pri), and Closed() to release what it holds.
    //    Addresses arrive as kernel spans (at most 128 bytes; the family checks family and
    //    length). Data moves through an IoIter (user iovecs or a kernel buffer). Blocking
    //    calls wait with WaitFor(deadline) on the socket's Waiters queue; every state change
    //    that can make a waiter or a poller proceed calls Notify(). Timeouts come from
    //    RecvDeadline()/SendDeadline() (SO_RCVTIMEO/SO_SNDTIMEO; MSG_DONTWAIT gives EAGAIN).
    //    An EPIPE that Linux pairs with SIGPIPE is returned through BrokenPipe(flags).
    //    SO_ERROR is PendingError (a positive errno, taken by TakeError()).

    /// A cursor over the data of one send or receive: the program's iovecs (already checked
    /// by the syscall layer: access_ok, total capped at MAX_RW_COUNT) or a kernel buffer
    /// (sendfile, splice).
    public unsafe struct IoIter
    {
        Iovec* _iov;
        int _count, _index;
        ulong _offset;                  // into _iov[_index] (or the single buffer)
        ulong _base0, _len0;            // a single user buffer (read, write, send, recv)
        byte* _kernel;
        /// Bytes not yet copied.
        public long Remaining;
        /// Total bytes the iterator started with.
        public long Total;

        /// The iovecs at `iov` (kernel copy, `count` entries) totalling `total` bytes.
        public static IoIter Vector(Iovec* iov, int count, long total) =>
            new IoIter { _iov = iov, _count = count, Remaining = total, Total = total };
        public static IoIter Single(UserPtr buf, ulong len) =>
            new IoIter { _base0 = buf.Address, _len0 = len, _count = 1, Remaining = (long)len, Total = (long)len };
        public static IoIter FromKernel(byte* buf, long len) =>
            new IoIter { _kernel = buf, _count = 1, Remaining = len, Total = len };

        public bool IsKernel => _kernel != null;

        /// Copies the next `len` bytes (at most Remaining) out of the iterator into `dst`
        /// (send side). Returns bytes copied; fewer than asked only on a fault (EFAULT).
        public long CopyFromIter(byte* dst, long len, out Errno error) => Move(dst, len, false, out error);

        /// Copies `len` bytes from `src` into the iterator (receive side).
        public long CopyToIter(byte* src, long len, out Errno error) => Move(src, len, true, out error);

        /// Skips `len` bytes (MSG_TRUNC on streams discards without copying).
        public void Skip(long len) { Move(null, len, false, out _, skip: true); }

        long Move(byte* k, long len, bool toUser, out Errno error, bool skip = false)
        {
            error = 0;
            if (len > Remaining) len = Remaining;
            long done = 0;
            if (_kernel != null)
            {
                if (!skip)
                {
                    if (toUser) global::Kernel.Memory.Mem.Copy(_kernel + _offset, k, (ulong)len);
                    else global::Kernel.Memory.Mem.Copy(k, _kernel + _offset, (ulong)len);
                }
                _offset += (ulong)len; Remaining -= len;
                return len;
            }
            while (done < len)
            {
                ulong b, l;
                if (_iov == null) { b = _base0; l = _len0; }
                else
                {
                    if (_index >= _count) break;
                    b = _iov[_index].Base; l = _iov[_index].Len;
                }
                if (_offset >= l)
                {
                    if (_iov == null) break;
                    _index++; _offset = 0; continue;
                }
                ulong k2 = l - _offset;
                if (k2 > (ulong)(len - done)) k2 = (ulong)(len - done);
                if (!skip)
                {
                    var p = new UserPtr(b + _offset);
                    Errno e = toUser ? p.CopyOut(k + done, k2) : p.CopyIn(k + done, k2);
                    if (e != 0) { error = Errno.EFAULT; return done; }
                }
                _offset += k2; done += (long)k2; Remaining -= (long)k2;
            }
            return done;
        }
    }

    /// Ancillary data of one sendmsg, as the syscall layer parsed it: SOL_SOCKET's
    /// SCM_RIGHTS (files, one reference each held until Release) and SCM_CREDENTIALS
    /// (checked; the sender's own credentials otherwise). `Raw` is the whole control
    /// buffer, for a family's own levels (IP_PKTINFO, ...): Cmsg.Reader iterates it.
    public ref struct SendControl
    {
        public OpenFile[] Files;       // null when no SCM_RIGHTS
        public bool ExplicitCreds;
        public Ucred Creds;            // always set: explicit or the sender's
        public ReadOnlySpan<byte> Raw;

        /// Drops the references to files that were not passed on.
        public void Release()
        {
            if (Files == null) return;
            for (int i = 0; i < Files.Length; i++) Files[i]?.Release();
            Files = null;
        }
    }

    /// Ancillary data a receive delivers: the syscall layer turns it into control messages
    /// (installing files as descriptors, closing those that do not fit).
    public struct RecvControl
    {
        public OpenFile[] Files;       // one reference each, owned by this until delivered
        public bool HasCreds;          // SCM_CREDENTIALS, when the receiver has SO_PASSCRED
        public Ucred Creds;
        /// Family-level messages (IP_PKTINFO, SO_TIMESTAMP, ...), each as a whole cmsghdr
        /// + data at CMSG_SPACE steps, appended with AddRaw.
        public byte[] Raw;
        public int RawLength;

        public void AddRaw(int level, int type, ReadOnlySpan<byte> data)
        {
            int need = RawLength + (int)Cmsg.Space(data.Length);
            if (Raw == null || Raw.Length < need)
            {
                var bigger = new byte[need < 128 ? 128 : need * 2];
                for (int i = 0; i < RawLength; i++) bigger[i] = Raw[i];
                Raw = bigger;
            }
            var w = new Cmsg.Writer(new Span<byte>(Raw).Slice(RawLength), need - RawLength);
            w.Put(level, type, data);
            RawLength += w.Used;
        }

        public void Release()
        {
            if (Files == null) return;
            for (int i = 0; i < Files.Length; i++) Files[i]?.Release();
            Files = null;
        }
    }

    /// One send (write, send, sendto, sendmsg, sendmmsg).
    public ref struct SendMsg
    {
        public IoIter Data;
        /// The destination address (msg_name); empty when none was given.
        public ReadOnlySpan<byte> Address;
        /// MSG_* flags, with MSG_DONTWAIT added for an O_NONBLOCK file.
        public int Flags;
        public SendControl Control;
    }

    /// One receive (read, recv, recvfrom, recvmsg, recvmmsg).
    public ref struct RecvMsg
    {
        public IoIter Data;
        /// Where the family writes the source address (128 bytes); AddressLength its full
        /// length (0: none, e.g. an unnamed AF_UNIX peer).
        public Span<byte> Address;
        public int AddressLength;
        /// MSG_* flags in, with MSG_DONTWAIT added for an O_NONBLOCK file.
        public int Flags;
        /// msg_flags out (MSG_TRUNC, MSG_EOR, MSG_OOB, ...); the syscall layer adds MSG_CTRUNC.
        public int OutFlags;
        /// Whether the caller has a control buffer (recvmsg with msg_control set): families
        /// may skip building what nobody can see, but SCM_RIGHTS files must still be taken.
        public bool WantsControl;
        public RecvControl Control;
    }

    /// A socket family (AF_UNIX, AF_INET, ...): makes sockets for socket(2)/socketpair(2).
    public abstract class SocketFamily
    {
        /// socket(2): `type` without SOCK_NONBLOCK/SOCK_CLOEXEC (below SOCK_MAX).
        public abstract Errno Create(int type, int protocol, out Socket socket);
        /// socketpair(2): two connected sockets.
        public virtual Errno Pair(int type, int protocol, out Socket a, out Socket b)
        {
            a = b = null;
            return Errno.EOPNOTSUPP;
        }
    }

    /// The families socket(2) knows, by AF_ number.
    public static class SocketFamilies
    {
        static readonly SocketFamily[] _families = new SocketFamily[AddressFamily.AF_MAX];

        public static void Register(int domain, SocketFamily family)
        {
            if ((uint)domain < (uint)_families.Length) _families[domain] = family;
        }

        /// The family for `domain`, or null (EAFNOSUPPORT).
        public static SocketFamily Get(int domain) => (uint)domain < (uint)_families.Length ? _families[domain] : null;

        /// Registers the built-in families (called once at start-up by the syscall layer).
        public static void Init()
        {
            if (_families[AddressFamily.AF_UNIX] != null) return;
            Register(AddressFamily.AF_UNIX, new UnixFamily());
            Register(AddressFamily.AF_INET, new InetFamily(AddressFamily.AF_INET));
            Register(AddressFamily.AF_INET6, new InetFamily(AddressFamily.AF_INET6));
            Register(AddressFamily.AF_NETLINK, new NetlinkFamily());
        }
    }

    /// The socket open-file type; see the header of this file for what a family implements.
    public abstract unsafe class Socket : OpenFile
    {
        public readonly int Domain, Type, Protocol;
        public readonly ulong Ino;
        static ulong _nextIno = 1000;

        /// Every state change a blocked call or a poller may wait for wakes this queue.
        public readonly WaitQueue Waiters = new WaitQueue();

        // Generic SOL_SOCKET state (Linux's struct sock fields of the same names).
        public int SndBuf = DefaultBuf, RcvBuf = DefaultBuf;
        /// SO_RCVTIMEO / SO_SNDTIMEO in jiffies (HZ 250, as Linux rounds them): -1 none.
        public long RcvTimeo = -1, SndTimeo = -1;
        public bool ReuseAddr, ReusePort, KeepAlive, Broadcast, OobInline, PassCred, DontRoute, Debug, NoCheck;
        public int Priority, RcvLowat = 1, Mark;
        public bool LingerOn;
        public int LingerSeconds;
        /// SO_ERROR: a pending asynchronous error (positive errno), 0 for none.
        public int PendingError;
        /// SO_ACCEPTCONN.
        public bool Listening;
        /// SO_PEERCRED: set by connect/accept/socketpair.
        public bool HasPeerCred;
        public Ucred PeerCred;

        /// The calling thread's credentials (pid, uid, gid); installed by the syscall layer.
        public static delegate*<Ucred> CurrentCreds;
        /// The calling thread's working directory and umask, for filesystem names (AF_UNIX).
        public static delegate*<Inode> CurrentCwd;
        public static delegate*<uint> CurrentUmask;
        /// Whether the calling thread's process is ending (its files close without lingering).
        public static delegate*<bool> CallerExiting;

        public const int Hz = 250;

        protected Socket(int domain, int type, int protocol)
        {
            Domain = domain; Type = type; Protocol = protocol;
            StatusFlags = OpenFlags.O_RDWR;
            Ino = _nextIno++;
        }

        public bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

        // ---- operations (defaults: Linux's sock_no_* answers)
        public virtual Errno Bind(ReadOnlySpan<byte> address) => Errno.EOPNOTSUPP;
        public virtual Errno Connect(ReadOnlySpan<byte> address, bool nonblock) => Errno.EOPNOTSUPP;
        public virtual Errno Listen(int backlog) => Errno.EOPNOTSUPP;
        /// accept(2): the new connected socket (the syscall layer applies SOCK_NONBLOCK).
        public virtual Errno Accept(bool nonblock, out Socket child) { child = null; return Errno.EOPNOTSUPP; }
        /// shutdown(2): `how` is SHUT_RD, SHUT_WR or SHUT_RDWR (checked by the caller).
        public virtual Errno Shutdown(int how) => Errno.EOPNOTSUPP;
        /// getsockname/getpeername: writes the address into `address` (128 bytes) and its length.
        public virtual Errno GetName(Span<byte> address, bool peer, out int length) { length = 0; return Errno.EOPNOTSUPP; }
        public abstract SysResult SendMsg(ref SendMsg m);
        public abstract SysResult RecvMsg(ref RecvMsg m);
        /// Socket ioctls (FIONREAD/SIOCINQ, SIOCOUTQ, SIOCGIF*, ...); FIONBIO is generic.
        public virtual SysResult SocketIoctl(uint request, ulong arg) => Errno.ENOTTY;
        /// SO_PEEK_OFF (AF_UNIX supports it); EOPNOTSUPP elsewhere.
        public virtual Errno SetPeekOffset(int value) => Errno.EOPNOTSUPP;
        public virtual bool GetPeekOffset(out int value) { value = 0; return false; }

        // ---- helpers for families

        readonly PollHead _pollHead = new PollHead();
        public override PollHead PollHead => _pollHead;

        /// Wakes blocked calls on this socket and whoever polls it.
        public void Notify()
        {
            Waiters.WakeAll();
            _pollHead.Changed();
        }

        /// The monotonic deadline of a receive: 0 for none, ulong.MaxValue for "do not wait"
        /// (MSG_DONTWAIT, O_NONBLOCK, or a negative SO_RCVTIMEO).
        public ulong RecvDeadline(int flags) => DeadlineOf(RcvTimeo, (flags & MSG_DONTWAIT) != 0);
        public ulong SendDeadline(int flags) => DeadlineOf(SndTimeo, (flags & MSG_DONTWAIT) != 0);

        static ulong DeadlineOf(long timeo, bool nonblock)
        {
            if (nonblock || timeo == 0) return ulong.MaxValue;
            if (timeo < 0) return 0;
            ulong d = global::Kernel.Time.Clock.MonotonicNs() + (ulong)timeo * (1000000000UL / Hz);
            return d == 0 ? 1 : d;
        }

        /// Waits for Notify on this socket. 0: recheck the condition; EAGAIN: the deadline
        /// passed (or no waiting allowed); a signal gives ERESTARTSYS, or EINTR when the call
        /// has a timeout (Linux's sock_intr_errno).
        public Errno WaitFor(ulong deadline)
        {
            if (deadline == ulong.MaxValue) return Errno.EAGAIN;
            if (deadline != 0 && global::Kernel.Time.Clock.MonotonicNs() >= deadline) return Errno.EAGAIN;
            WakeReason r = Waiters.Wait(deadline);
            if (r == WakeReason.Interrupted) return deadline != 0 ? Errno.EINTR : Errno.ERESTARTSYS;
            if (r == WakeReason.TimedOut) return Errno.EAGAIN;
            return 0;
        }

        /// EPIPE, with SIGPIPE to the caller unless MSG_NOSIGNAL.
        public static Errno BrokenPipe(int flags)
        {
            if ((flags & MSG_NOSIGNAL) == 0 && Pipe.SendSigpipe != null) Pipe.SendSigpipe();
            return Errno.EPIPE;
        }

        /// sock_error: takes the pending error.
        public Errno TakeError()
        {
            int e = PendingError;
            PendingError = 0;
            return (Errno)e;
        }

        public static Ucred Creds() => CurrentCreds != null ? CurrentCreds() : new Ucred { Pid = 1 };

        // ---- file operations in terms of the socket's

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (length == 0) return 0;                 // sock_read_iter: nothing asked, nothing done
            var m = new RecvMsg { Data = IoIter.Single(buffer, length), Flags = NonBlocking ? MSG_DONTWAIT : 0 };
            SysResult r = RecvMsg(ref m);
            m.Control.Release();
            return r;
        }

        public override SysResult Write(UserPtr buffer, ulong length)
        {
            var m = new SendMsg { Data = IoIter.Single(buffer, length), Flags = (NonBlocking ? MSG_DONTWAIT : 0) | (Type == SocketType.SOCK_SEQPACKET ? MSG_EOR : 0) };
            m.Control.Creds = Creds();
            return SendMsg(ref m);
        }

        public override SysResult WriteKernel(byte* src, long len)
        {
            var m = new SendMsg { Data = IoIter.FromKernel(src, len), Flags = NonBlocking ? MSG_DONTWAIT : 0 };
            m.Control.Creds = Creds();
            return SendMsg(ref m);
        }

        /// FIONREAD reaches SocketIoctl (sockets answer it per family).
        public override SysResult Readable() => Errno.ENOTTY;
        /// What the family does not answer, the interface ioctls (SIOCGIF*) answer on any
        /// socket, as Linux's sock_do_ioctl falls back to dev_ioctl (glibc's and musl's
        /// if_nametoindex ask an AF_UNIX socket).
        public override SysResult Ioctl(uint request, ulong arg)
        {
            SysResult r = SocketIoctl(request, arg);
            if (r.Is(Errno.ENOTTY) && NetIoctl.IsInterfaceRequest(request) && NetKernel.Stack != null)
                return NetIoctl.Interface(NetKernel.Stack, request, arg);
            return r;
        }

        public override void Stat(ref Abi.Stat st)
        {
            st.Dev = 0x8; st.Ino = Ino; st.Mode = FileMode.S_IFSOCK | 0x1ff; st.Nlink = 1; st.BlkSize = 4096;
        }

        public override int Describe(Span<byte> buf)
        {
            var w = new global::Kernel.Console.LineWriter(buf);
            w.Str("socket:["); w.Udec(Ino); w.Str("]");
            return w.Length;
        }

        // ---- options

        static Errno ReadInt(UserPtr value, int length, out int v)
        {
            v = 0;
            if (length < 4) return Errno.EINVAL;
            fixed (int* p = &v) return value.CopyIn(p, 4);
        }

        static void PutInt(Span<byte> b, int v, out int len)
        {
            for (int i = 0; i < 4; i++) b[i] = (byte)(v >> (8 * i));
            len = 4;
        }

        static void PutLong(Span<byte> b, int at, long v)
        {
            for (int i = 0; i < 8; i++) b[at + i] = (byte)(v >> (8 * i));
        }

        /// setsockopt(2). A family overrides this for its levels and calls base for the rest.
        public virtual Errno SetOption(int level, int name, UserPtr value, int length)
        {
            if (level != SOL_SOCKET) return Errno.EOPNOTSUPP;
            int v;
            Errno e;
            switch (name)
            {
                case SO_LINGER:
                    {
                        if (length < sizeof(Linger)) return Errno.EINVAL;
                        Linger l;
                        if (value.CopyIn(&l, (ulong)sizeof(Linger)) != 0) return Errno.EFAULT;
                        LingerOn = l.OnOff != 0;
                        if (LingerOn) LingerSeconds = l.Seconds < 0 ? 0 : l.Seconds;   // unsigned jiffies in Linux; see note in SyscallList
                        return 0;
                    }
                case SO_RCVTIMEO_OLD: case SO_RCVTIMEO_NEW:
                    return SetTimeout(ref RcvTimeo, value, length);
                case SO_SNDTIMEO_OLD: case SO_SNDTIMEO_NEW:
                    return SetTimeout(ref SndTimeo, value, length);
            }
            if ((e = ReadInt(value, length, out v)) != 0) return e;
            bool on = v != 0;
            switch (name)
            {
                case SO_DEBUG: Debug = on; return 0;
                case SO_REUSEADDR: ReuseAddr = on; return 0;
                case SO_REUSEPORT: ReusePort = on; return 0;
                case SO_DONTROUTE: DontRoute = on; return 0;
                case SO_BROADCAST: Broadcast = on; return 0;
                case SO_KEEPALIVE: KeepAlive = on; return 0;
                case SO_OOBINLINE: OobInline = on; return 0;
                case SO_NO_CHECK: NoCheck = on; return 0;
                case SO_PASSCRED: PassCred = on; return 0;
                case SO_BSDCOMPAT: return 0;
                case SO_PRIORITY: Priority = v; return 0;        // root: any value (CAP_NET_ADMIN)
                case SO_MARK: Mark = v; return 0;
                case SO_SNDBUF: case SO_SNDBUFFORCE:
                    {
                        // Clamped to wmem_max (FORCE: root may exceed it), then doubled for overhead.
                        long val = (uint)v;
                        if (name == SO_SNDBUF && val > MaxBuf) val = MaxBuf;
                        if (val > int.MaxValue / 2) val = int.MaxValue / 2;
                        if (name == SO_SNDBUFFORCE && v < 0) val = 0;
                        SndBuf = (int)Math.Max(val * 2, MinSndBuf);
                        Notify();
                        return 0;
                    }
                case SO_RCVBUF: case SO_RCVBUFFORCE:
                    {
                        long val = (uint)v;
                        if (name == SO_RCVBUF && val > MaxBuf) val = MaxBuf;
                        if (val > int.MaxValue / 2) val = int.MaxValue / 2;
                        if (name == SO_RCVBUFFORCE && v < 0) val = 0;
                        RcvBuf = (int)Math.Max(val * 2, MinRcvBuf);
                        return 0;
                    }
                case SO_RCVLOWAT:
                    if (v < 0) v = int.MaxValue;
                    RcvLowat = v == 0 ? 1 : v;
                    return 0;
                case SO_PEEK_OFF: return SetPeekOffset(v);
                default: return Errno.ENOPROTOOPT;
            }
        }

        /// sock_set_timeout: a struct timeval (old or new layout: both 16 bytes here),
        /// rounded up to jiffies; a negative time means "never wait".
        static Errno SetTimeout(ref long timeo, UserPtr value, int length)
        {
            if (length < sizeof(Timeval)) return Errno.EINVAL;
            Timeval tv;
            if (value.CopyIn(&tv, (ulong)sizeof(Timeval)) != 0) return Errno.EFAULT;
            if (tv.Usec < 0 || tv.Usec >= 1000000) return Errno.EDOM;
            if (tv.Sec < 0) { timeo = 0; return 0; }
            timeo = -1;
            if (tv.Sec == 0 && tv.Usec == 0) return 0;
            if (tv.Sec < long.MaxValue / Hz - 1) timeo = tv.Sec * Hz + (tv.Usec + (1000000 / Hz) - 1) / (1000000 / Hz);
            return 0;
        }

        static void GetTimeout(long timeo, Span<byte> b, out int len)
        {
            long sec = 0, usec = 0;
            if (timeo > 0) { sec = timeo / Hz; usec = (timeo % Hz) * (1000000 / Hz); }
            PutLong(b, 0, sec); PutLong(b, 8, usec);
            len = 16;
        }

        /// getsockopt(2): writes the full value into `value` (512 bytes, zeroed) and its
        /// length; the syscall layer copies out min(optlen, length). Families call base for
        /// what they do not handle.
        public virtual Errno GetOption(int level, int name, Span<byte> value, out int length)
        {
            length = 0;
            if (level != SOL_SOCKET) return Errno.EOPNOTSUPP;
            switch (name)
            {
                case SO_DEBUG: PutInt(value, Debug ? 1 : 0, out length); return 0;
                case SO_DONTROUTE: PutInt(value, DontRoute ? 1 : 0, out length); return 0;
                case SO_BROADCAST: PutInt(value, Broadcast ? 1 : 0, out length); return 0;
                case SO_SNDBUF: PutInt(value, SndBuf, out length); return 0;
                case SO_RCVBUF: PutInt(value, RcvBuf, out length); return 0;
                case SO_REUSEADDR: PutInt(value, ReuseAddr ? 1 : 0, out length); return 0;
                case SO_REUSEPORT: PutInt(value, ReusePort ? 1 : 0, out length); return 0;
                case SO_KEEPALIVE: PutInt(value, KeepAlive ? 1 : 0, out length); return 0;
                case SO_TYPE: PutInt(value, Type, out length); return 0;
                case SO_PROTOCOL: PutInt(value, Protocol, out length); return 0;
                case SO_DOMAIN: PutInt(value, Domain, out length); return 0;
                case SO_ERROR: PutInt(value, (int)TakeError(), out length); return 0;
                case SO_OOBINLINE: PutInt(value, OobInline ? 1 : 0, out length); return 0;
                case SO_NO_CHECK: PutInt(value, NoCheck ? 1 : 0, out length); return 0;
                case SO_PRIORITY: PutInt(value, Priority, out length); return 0;
                case SO_MARK: PutInt(value, Mark, out length); return 0;
                case SO_BSDCOMPAT: PutInt(value, 0, out length); return 0;
                case SO_TIMESTAMP_OLD: PutInt(value, 0, out length); return 0;
                case SO_PASSCRED: PutInt(value, PassCred ? 1 : 0, out length); return 0;
                case SO_RCVLOWAT: PutInt(value, RcvLowat, out length); return 0;
                case SO_SNDLOWAT: PutInt(value, 1, out length); return 0;
                case SO_ACCEPTCONN: PutInt(value, Listening ? 1 : 0, out length); return 0;
                case SO_RCVTIMEO_OLD: case SO_RCVTIMEO_NEW: GetTimeout(RcvTimeo, value, out length); return 0;
                case SO_SNDTIMEO_OLD: case SO_SNDTIMEO_NEW: GetTimeout(SndTimeo, value, out length); return 0;
                case SO_LINGER:
                    PutInt(value, LingerOn ? 1 : 0, out _);
                    PutInt(value.Slice(4), LingerSeconds, out _);
                    length = 8;
                    return 0;
                case SO_PEERCRED:
                    {
                        Ucred c = HasPeerCred ? PeerCred : new Ucred { Pid = 0, Uid = uint.MaxValue, Gid = uint.MaxValue };
                        PutInt(value, c.Pid, out _); PutInt(value.Slice(4), (int)c.Uid, out _); PutInt(value.Slice(8), (int)c.Gid, out _);
                        length = 12;
                        return 0;
                    }
                case SO_PEERNAME:
                    {
                        Errno e = GetName(value, true, out length);
                        return e != 0 ? Errno.ENOTCONN : 0;
                    }
                case SO_PEEK_OFF:
                    {
                        if (!GetPeekOffset(out int off)) return Errno.EOPNOTSUPP;
                        PutInt(value, off, out length);
                        return 0;
                    }
                case SO_COOKIE: PutLong(value, 0, (long)Ino); length = 8; return 0;
                case SO_INCOMING_CPU: PutInt(value, -1, out length); return 0;
                default: return Errno.ENOPROTOOPT;
            }
        }
    }
}
