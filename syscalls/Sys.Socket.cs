using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Net;
using Kernel.Proc;
using static Kernel.Abi.MsgFlags;
using static Kernel.Abi.SockOpt;
using static Kernel.Abi.SocketType;

namespace Kernel.Syscalls
{
    /// The socket calls (net/Socket.cs): every check Linux makes before a family sees the
    /// call, in Linux's order, then the family's operation.
    public static unsafe partial class Sys
    {
        const int SockaddrStorage = 128, UioMaxIov = 1024, UioFastIov = 8;

        /// Wires the socket layer's hooks to this process (called from Register).
        internal static void InitSocketLayer()
        {
            Socket.CurrentCreds = &CurrentCreds;
            Socket.CurrentCwd = &CurrentCwd;
            Socket.CurrentUmask = &CurrentUmask;
            Socket.CallerExiting = &CallerExiting;
            OpenFile.SignalOwner = &SignalFileOwner;
            SocketFamilies.Init();
        }

        /// The caller's files are being closed because its process ends (no SO_LINGER wait).
        static bool CallerExiting() => Cur == null || Cur.Exiting || Cur.LiveThreads <= 0;

        static Ucred CurrentCreds() => new Ucred { Pid = Cur.Pid, Uid = Cur.Euid, Gid = Cur.Egid };
        static Inode CurrentCwd() => Cur.Fs.Cwd;
        static uint CurrentUmask() => Cur.Umask;

        /// sockfd_lookup: EBADF for no file, ENOTSOCK for a file that is not a socket.
        static Errno SockFd(ulong fd, out Socket s)
        {
            s = null;
            OpenFile f = Fd((int)fd);
            if (f == null) return Errno.EBADF;
            s = f as Socket;
            return s == null ? Errno.ENOTSOCK : 0;
        }

        /// move_addr_to_kernel: 0..128 bytes, EINVAL outside, EFAULT on a bad pointer.
        static Errno AddrIn(ulong ptr, long len, Span<byte> buf, out int n)
        {
            n = 0;
            if (len < 0 || len > SockaddrStorage) return Errno.EINVAL;
            if (len == 0) return 0;
            if (new UserPtr(ptr).CopyIn(buf.Slice(0, (int)len)) != 0) return Errno.EFAULT;
            n = (int)len;
            return 0;
        }

        /// move_addr_to_user: copies min(*ulen, klen) bytes and writes klen back to *ulen.
        static Errno AddrOut(ReadOnlySpan<byte> addr, int klen, ulong uaddr, ulong ulen)
        {
            int len;
            if (new UserRef<int>(ulen).Read(out len) != 0) return Errno.EFAULT;
            if (len > klen) len = klen;
            if (len < 0) return Errno.EINVAL;
            if (len > 0 && new UserPtr(uaddr).CopyOut(addr.Slice(0, len)) != 0) return Errno.EFAULT;
            return new UserRef<int>(ulen).Write(klen) != 0 ? Errno.EFAULT : 0;
        }

        static SysResult InstallSocket(Socket s, int flags)
        {
            if ((flags & SOCK_NONBLOCK) != 0) s.StatusFlags |= OpenFlags.O_NONBLOCK;
            int fd = Files.Allocate(s, 0, (flags & SOCK_CLOEXEC) != 0);
            if (fd < 0) { s.Release(); return Errno.EMFILE; }
            return fd;
        }

        /// The checks socket() and socketpair() share, in Linux's order: the type's flag bits,
        /// the domain, the type; then the family registered for the domain.
        static Errno SocketArgs(int domain, ref int type, out int flags, out SocketFamily fam)
        {
            fam = null;
            flags = type & ~SOCK_TYPE_MASK;
            if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return Errno.EINVAL;
            type &= SOCK_TYPE_MASK;
            if ((uint)domain >= AddressFamily.AF_MAX) return Errno.EAFNOSUPPORT;
            if (type >= SOCK_MAX) return Errno.EINVAL;
            fam = SocketFamilies.Get(domain);
            return fam == null ? Errno.EAFNOSUPPORT : 0;
        }

        /// socket(2)
        public static SysResult SocketCall(SyscallArgs* a)
        {
            int domain = (int)a->A0, type = (int)a->A1, protocol = (int)a->A2;
            Errno e = SocketArgs(domain, ref type, out int flags, out SocketFamily fam);
            if (e != 0) return e;
            e = fam.Create(type, protocol, out Socket s);
            if (e != 0) return e;
            return InstallSocket(s, flags);
        }

        /// socketpair(2)
        public static SysResult Socketpair(SyscallArgs* a)
        {
            int domain = (int)a->A0, type = (int)a->A1, protocol = (int)a->A2;
            Errno e = SocketArgs(domain, ref type, out int flags, out SocketFamily fam);
            if (e != 0) return e;
            // The family's own checks (protocol, type) come first, as socket() makes both ends.
            e = fam.Create(type, protocol, out Socket probe);
            if (e != 0) return e;
            probe.Release();
            e = fam.Pair(type, protocol, out Socket s1, out Socket s2);
            if (e != 0) return e;
            bool cloexec = (flags & SOCK_CLOEXEC) != 0;
            if ((flags & SOCK_NONBLOCK) != 0) { s1.StatusFlags |= OpenFlags.O_NONBLOCK; s2.StatusFlags |= OpenFlags.O_NONBLOCK; }
            int fd1 = Files.Allocate(s1, 0, cloexec);
            if (fd1 < 0) { s1.Release(); s2.Release(); return Errno.EMFILE; }
            int fd2 = Files.Allocate(s2, 0, cloexec);
            if (fd2 < 0) { Files.Close(fd1); s2.Release(); return Errno.EMFILE; }
            int* fds = stackalloc int[2];
            fds[0] = fd1; fds[1] = fd2;
            if (new UserPtr(a->A3).CopyOut(fds, 8) != 0)
            {
                Files.Close(fd1); Files.Close(fd2);
                return Errno.EFAULT;
            }
            return SysResult.Ok;
        }

        /// bind(2)
        public static SysResult BindCall(SyscallArgs* a)
        {
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            Span<byte> addr = stackalloc byte[SockaddrStorage];
            if ((e = AddrIn(a->A1, (int)a->A2, addr, out int n)) != 0) return e;
            return s.Bind(addr.Slice(0, n));
        }

        /// connect(2)
        public static SysResult ConnectCall(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            Span<byte> addr = stackalloc byte[SockaddrStorage];
            Errno e = AddrIn(a->A1, (int)a->A2, addr, out int n);
            if (e != 0) return e;
            if (!(f is Socket s)) return Errno.ENOTSOCK;
            return s.Connect(addr.Slice(0, n), s.NonBlocking);
        }

        /// listen(2)
        public static SysResult ListenCall(SyscallArgs* a)
        {
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            int backlog = (int)a->A1;
            if ((uint)backlog > SoMaxConn) backlog = SoMaxConn;
            return s.Listen(backlog);
        }

        /// accept(2)
        public static SysResult AcceptCall(SyscallArgs* a) => Accept(a->A0, a->A1, a->A2, 0);
        /// accept4(2)
        public static SysResult Accept4(SyscallArgs* a) => Accept(a->A0, a->A1, a->A2, (int)a->A3);

        static SysResult Accept(ulong fd, ulong addrPtr, ulong lenPtr, int flags)
        {
            OpenFile f = Fd((int)fd);
            if (f == null) return Errno.EBADF;
            if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return Errno.EINVAL;
            if (!(f is Socket s)) return Errno.ENOTSOCK;
            Errno e = s.Accept(s.NonBlocking, out Socket child);
            if (e != 0) return e;
            if (addrPtr != 0)
            {
                Span<byte> addr = stackalloc byte[SockaddrStorage];
                if (child.GetName(addr, true, out int len) != 0) { child.Release(); return Errno.ECONNABORTED; }
                if ((e = AddrOut(addr, len, addrPtr, lenPtr)) != 0) { child.Release(); return e; }
            }
            return InstallSocket(child, flags);
        }

        /// getsockname(2)
        public static SysResult Getsockname(SyscallArgs* a) => GetName(a, false);
        /// getpeername(2)
        public static SysResult Getpeername(SyscallArgs* a) => GetName(a, true);

        static SysResult GetName(SyscallArgs* a, bool peer)
        {
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            Span<byte> addr = stackalloc byte[SockaddrStorage];
            if ((e = s.GetName(addr, peer, out int len)) != 0) return e;
            return AddrOut(addr, len, a->A1, a->A2);
        }

        /// shutdown(2)
        public static SysResult ShutdownCall(SyscallArgs* a)
        {
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            if ((ulong)(long)(int)a->A1 > SHUT_RDWR) return Errno.EINVAL;
            return s.Shutdown((int)a->A1);
        }

        /// setsockopt(2)
        public static SysResult Setsockopt(SyscallArgs* a)
        {
            int optlen = (int)a->A4;
            if (optlen < 0) return Errno.EINVAL;
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            return s.SetOption((int)a->A1, (int)a->A2, new UserPtr(a->A3), optlen);
        }

        /// getsockopt(2)
        public static SysResult Getsockopt(SyscallArgs* a)
        {
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            int level = (int)a->A1;
            Span<byte> val = stackalloc byte[512];
            val.Clear();
            // A family without options at this level answers before optlen is read.
            e = s.GetOption(level, (int)a->A2, val, out int vlen);
            if (level != SOL_SOCKET && e == Errno.EOPNOTSUPP) return e;
            int len;
            if (new UserRef<int>(a->A4).Read(out len) != 0) return Errno.EFAULT;
            if (len < 0) return Errno.EINVAL;
            if (e != 0) return e;
            if (len > vlen) len = vlen;
            if (len > 0 && new UserPtr(a->A3).CopyOut(val.Slice(0, len)) != 0) return Errno.EFAULT;
            return new UserRef<int>(a->A4).Write(len) != 0 ? Errno.EFAULT : SysResult.Ok;
        }

        // ---- data

        /// sendto(2)
        public static SysResult Sendto(SyscallArgs* a)
        {
            ulong len = a->A2 > MaxRwCount ? MaxRwCount : a->A2;
            if (!UserPtr.AccessOk(a->A1, len)) return Errno.EFAULT;
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            Span<byte> addr = stackalloc byte[SockaddrStorage];
            int n = 0;
            if (a->A4 != 0 && (e = AddrIn(a->A4, (int)a->A5, addr, out n)) != 0) return e;
            int flags = (int)a->A3;
            if (s.NonBlocking) flags |= MSG_DONTWAIT;
            var m = new SendMsg { Data = IoIter.Single(new UserPtr(a->A1), len), Address = addr.Slice(0, n), Flags = flags };
            m.Control.Creds = CurrentCreds();
            return s.SendMsg(ref m);
        }

        /// recvfrom(2)
        public static SysResult Recvfrom(SyscallArgs* a)
        {
            ulong len = a->A2 > MaxRwCount ? MaxRwCount : a->A2;
            if (!UserPtr.AccessOk(a->A1, len)) return Errno.EFAULT;
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            Span<byte> addr = stackalloc byte[SockaddrStorage];
            int flags = (int)a->A3;
            if (s.NonBlocking) flags |= MSG_DONTWAIT;
            var m = new RecvMsg { Data = IoIter.Single(new UserPtr(a->A1), len), Address = addr, Flags = flags };
            SysResult r = s.RecvMsg(ref m);
            m.Control.Release();
            if (!r.IsError && a->A4 != 0)
            {
                e = AddrOut(addr, m.AddressLength, a->A4, a->A5);
                if (e != 0) return e;
            }
            return r;
        }

        /// A msghdr's iovecs, imported as Linux's import_iovec does (EMSGSIZE above 1024,
        /// EFAULT for the array, EINVAL for a negative length, access_ok on each buffer).
        static Errno ImportIovecs(ulong iovPtr, ulong count, Iovec* dst, out long total)
        {
            total = 0;
            for (ulong i = 0; i < count; i++)
                if (new UserPtr(iovPtr + i * 16).CopyIn(&dst[i], 16) != 0) return Errno.EFAULT;
            for (ulong i = 0; i < count; i++)
            {
                if ((long)dst[i].Len < 0) return Errno.EINVAL;
                if (!UserPtr.AccessOk(dst[i].Base, dst[i].Len)) return Errno.EFAULT;
                ulong room = MaxRwCount - (ulong)total;
                if (dst[i].Len > room) dst[i].Len = room;
                total += (long)dst[i].Len;
            }
            return 0;
        }

        /// Parses sendmsg's control data. For AF_UNIX, SOL_SOCKET messages are SCM_RIGHTS
        /// (files, one reference each) and SCM_CREDENTIALS (checked); other types EINVAL.
        /// Other families get the raw buffer (Control.Raw) and parse their own levels.
        static Errno ParseControl(Socket s, ReadOnlySpan<byte> buf, ref SendControl c)
        {
            c.Raw = buf;
            if (s.Domain != AddressFamily.AF_UNIX) return 0;
            var rd = new Cmsg.Reader(buf);
            int nfiles = 0;
            OpenFile[] files = null;
            Errno perr;
            while (rd.Next(out perr))
            {
                if (rd.Level != SOL_SOCKET) continue;
                if (rd.Type == SCM_RIGHTS)
                {
                    int num = rd.Data.Length / 4;
                    if (num <= 0) continue;
                    if (nfiles + num > ScmMaxFd) { Release(files, nfiles); return Errno.EINVAL; }
                    if (files == null) files = new OpenFile[ScmMaxFd];
                    for (int i = 0; i < num; i++)
                    {
                        int fd = rd.Data[i * 4] | rd.Data[i * 4 + 1] << 8 | rd.Data[i * 4 + 2] << 16 | rd.Data[i * 4 + 3] << 24;
                        OpenFile f = Files.Get(fd);
                        if (f == null) { Release(files, nfiles); return Errno.EBADF; }      // O_PATH files pass too (fget_raw)
                        f.AddRef();
                        files[nfiles++] = f;
                    }
                }
                else if (rd.Type == SCM_CREDENTIALS)
                {
                    if (rd.Data.Length != sizeof(Ucred)) { Release(files, nfiles); return Errno.EINVAL; }
                    Ucred u;
                    fixed (byte* p = rd.Data) u = *(Ucred*)p;
                    // Root may claim any uid/gid and any existing pid; only this process exists.
                    if (u.Pid != Cur.Pid) { Release(files, nfiles); return Errno.ESRCH; }
                    if (u.Uid == uint.MaxValue || u.Gid == uint.MaxValue) { Release(files, nfiles); return Errno.EINVAL; }
                    c.Creds = u;
                    c.ExplicitCreds = true;
                }
                else { Release(files, nfiles); return Errno.EINVAL; }
            }
            if (perr != 0) { Release(files, nfiles); return perr; }
            if (nfiles > 0)
            {
                var exact = new OpenFile[nfiles];
                for (int i = 0; i < nfiles; i++) exact[i] = files[i];
                c.Files = exact;
            }
            return 0;
        }

        static void Release(OpenFile[] files, int n)
        {
            for (int i = 0; i < n; i++) files[i].Release();
        }

        /// One sendmsg: the msghdr at `msgPtr`; returns bytes sent.
        static SysResult SendOne(Socket s, ulong msgPtr, int flags)
        {
            MsgHdr h;
            if (new UserPtr(msgPtr).CopyIn(&h, (ulong)sizeof(MsgHdr)) != 0) return Errno.EFAULT;
            int namelen = h.Name == 0 ? 0 : h.NameLen;
            if (namelen < 0) return Errno.EINVAL;
            if (namelen > SockaddrStorage) namelen = SockaddrStorage;
            Span<byte> addr = stackalloc byte[SockaddrStorage];
            if (namelen > 0 && new UserPtr(h.Name).CopyIn(addr.Slice(0, namelen)) != 0) return Errno.EFAULT;
            if (h.IovLen > UioMaxIov) return Errno.EMSGSIZE;
            int count = (int)h.IovLen;
            Iovec* small = stackalloc Iovec[UioFastIov];
            Iovec[] big = count > UioFastIov ? new Iovec[count] : null;
            fixed (Iovec* bp = big)
            {
                Iovec* iov = big != null ? bp : small;
                Errno e = ImportIovecs(h.Iov, (ulong)count, iov, out long total);
                if (e != 0) return e;
                if (h.ControlLen > int.MaxValue) return Errno.ENOBUFS;
                byte[] ctl = null;
                if (h.ControlLen > 0)
                {
                    if (h.ControlLen >= OptMemMax) return Errno.ENOBUFS;
                    ctl = new byte[(int)h.ControlLen];
                    if (new UserPtr(h.Control).CopyIn(ctl) != 0) return Errno.EFAULT;
                }
                if (s.NonBlocking) flags |= MSG_DONTWAIT;
                var m = new SendMsg { Data = IoIter.Vector(iov, count, total), Address = addr.Slice(0, namelen), Flags = flags };
                m.Control.Creds = CurrentCreds();
                if (ctl != null && (e = ParseControl(s, ctl, ref m.Control)) != 0) return e;
                SysResult r = s.SendMsg(ref m);
                m.Control.Release();
                return r;
            }
        }

        /// sendmsg(2)
        public static SysResult Sendmsg(SyscallArgs* a)
        {
            int flags = (int)a->A2;
            if ((flags & MSG_CMSG_COMPAT) != 0) return Errno.EINVAL;
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            return SendOne(s, a->A1, flags);
        }

        const int MSG_CMSG_COMPAT = unchecked((int)0x80000000);

        /// sendmmsg(2)
        public static SysResult Sendmmsg(SyscallArgs* a)
        {
            int flags = (int)a->A3;
            if ((flags & MSG_CMSG_COMPAT) != 0) return Errno.EINVAL;
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            uint vlen = (uint)a->A2;
            if (vlen > UioMaxIov) vlen = UioMaxIov;
            int done = 0;
            SysResult err = 0;
            for (uint i = 0; i < vlen; i++)
            {
                ulong entry = a->A1 + i * (ulong)sizeof(MMsgHdr);
                err = SendOne(s, entry, flags | (i + 1 < vlen ? MSG_BATCH : 0));
                if (err.IsError) break;
                uint sent = (uint)err.Raw;
                if (new UserPtr(entry + 56).CopyOut(&sent, 4) != 0) { err = Errno.EFAULT; break; }
                done++;
                // A partial send ends the batch (msg_data_left).
                MsgHdr h;
                if (new UserPtr(entry).CopyIn(&h, (ulong)sizeof(MsgHdr)) == 0 && (long)sent < IovTotal(h)) break;
            }
            return done > 0 ? done : err;
        }

        static long IovTotal(MsgHdr h)
        {
            long t = 0;
            for (ulong i = 0; i < h.IovLen && i < UioMaxIov; i++)
            {
                Iovec v;
                if (new UserPtr(h.Iov + i * 16).CopyIn(&v, 16) != 0) break;
                t += (long)v.Len;
            }
            return t;
        }

        /// One recvmsg into the msghdr at `msgPtr`; returns bytes received.
        static SysResult RecvOne(Socket s, ulong msgPtr, int flags)
        {
            MsgHdr h;
            if (new UserPtr(msgPtr).CopyIn(&h, (ulong)sizeof(MsgHdr)) != 0) return Errno.EFAULT;
            if (h.Name != 0 && h.NameLen < 0) return Errno.EINVAL;
            if (h.IovLen > UioMaxIov) return Errno.EMSGSIZE;
            int count = (int)h.IovLen;
            Iovec* small = stackalloc Iovec[UioFastIov];
            Iovec[] big = count > UioFastIov ? new Iovec[count] : null;
            fixed (Iovec* bp = big)
            {
                Iovec* iov = big != null ? bp : small;
                Errno e = ImportIovecs(h.Iov, (ulong)count, iov, out long total);
                if (e != 0) return e;
                Span<byte> addr = stackalloc byte[SockaddrStorage];
                if (s.NonBlocking) flags |= MSG_DONTWAIT;
                var m = new RecvMsg
                {
                    Data = IoIter.Vector(iov, count, total), Address = addr, Flags = flags,
                    WantsControl = h.Control != 0,
                };
                SysResult r = s.RecvMsg(ref m);
                if (r.IsError) { m.Control.Release(); return r; }
                int outFlags = m.OutFlags;
                ulong ctlUsed = 0;
                if (h.Control == 0)
                {
                    if (m.Control.Files != null || m.Control.HasCreds || m.Control.RawLength > 0) outFlags |= MSG_CTRUNC;
                    m.Control.Release();
                }
                else
                {
                    e = DeliverControl(ref m.Control, h.Control, h.ControlLen, (flags & MSG_CMSG_CLOEXEC) != 0, ref outFlags, out ctlUsed);
                    if (e != 0) return e;
                }
                if (h.Name != 0)
                {
                    if ((e = AddrOut(addr, m.AddressLength, h.Name, msgPtr + 8)) != 0) return e;
                }
                if (new UserPtr(msgPtr + 48).CopyOut(&outFlags, 4) != 0) return Errno.EFAULT;
                if (new UserPtr(msgPtr + 40).CopyOut(&ctlUsed, 8) != 0) return Errno.EFAULT;
                return r;
            }
        }

        /// scm_recv: credentials, the family's own messages, then SCM_RIGHTS (descriptors
        /// installed as far as room allows; the rest closed, with MSG_CTRUNC).
        static Errno DeliverControl(ref RecvControl c, ulong ctlPtr, ulong ctlLen, bool cloexec, ref int outFlags, out ulong used)
        {
            used = 0;
            int cap = ctlLen < 4096 ? (int)ctlLen : 4096;
            byte[] buf = new byte[cap];
            var w = new Cmsg.Writer(buf, (long)Math.Min(ctlLen, (ulong)int.MaxValue));
            if (c.HasCreds)
            {
                Ucred u = c.Creds;
                w.Put(SOL_SOCKET, SCM_CREDENTIALS, new ReadOnlySpan<byte>(&u, sizeof(Ucred)));
            }
            if (c.RawLength > 0)
            {
                var rd = new Cmsg.Reader(new ReadOnlySpan<byte>(c.Raw, 0, c.RawLength));
                while (rd.Next(out _)) w.Put(rd.Level, rd.Type, rd.Data);
            }
            if (c.Files != null)
            {
                int max = w.MaxInts;
                int n = c.Files.Length < max ? c.Files.Length : max;
                int* fds = stackalloc int[ScmMaxFd];
                int installed = 0;
                for (int i = 0; i < n; i++)
                {
                    int fd = Files.Allocate(c.Files[i], 0, cloexec);
                    if (fd < 0) break;
                    c.Files[i] = null;                 // the reference moved to the fd table
                    fds[installed++] = fd;
                }
                w.PutRights(new ReadOnlySpan<int>(fds, installed), c.Files.Length);
                c.Release();
            }
            if (w.Truncated) outFlags |= MSG_CTRUNC;
            if (w.Used > 0 && new UserPtr(ctlPtr).CopyOut(new ReadOnlySpan<byte>(buf, 0, w.Used)) != 0) return Errno.EFAULT;
            used = (ulong)w.Used;
            return 0;
        }

        /// recvmsg(2)
        public static SysResult Recvmsg(SyscallArgs* a)
        {
            int flags = (int)a->A2;
            if ((flags & MSG_CMSG_COMPAT) != 0) return Errno.EINVAL;
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            return RecvOne(s, a->A1, flags);
        }

        /// recvmmsg(2): the timeout is checked after each datagram, as Linux does.
        public static SysResult Recvmmsg(SyscallArgs* a)
        {
            int flags = (int)a->A3;
            if ((flags & MSG_CMSG_COMPAT) != 0) return Errno.EINVAL;
            Timespec ts = default;
            bool hasTimeout = a->A4 != 0;
            if (hasTimeout && new UserRef<Timespec>(a->A4).Read(out ts) != 0) return Errno.EFAULT;
            ulong end = 0;
            if (hasTimeout)
            {
                if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
                end = Time.Clock.MonotonicNs() + Sched.Deadline.Ns(ts);
            }
            Errno e = SockFd(a->A0, out Socket s);
            if (e != 0) return e;
            if ((flags & MSG_ERRQUEUE) == 0 && s.PendingError != 0) return s.TakeError();
            uint vlen = (uint)a->A2;
            if (vlen > UioMaxIov) vlen = UioMaxIov;
            int done = 0;
            SysResult err = 0;
            for (uint i = 0; i < vlen; i++)
            {
                ulong entry = a->A1 + i * (ulong)sizeof(MMsgHdr);
                err = RecvOne(s, entry, flags & ~MSG_WAITFORONE);
                if (err.IsError) break;
                uint got = (uint)err.Raw;
                if (new UserPtr(entry + 56).CopyOut(&got, 4) != 0) { err = Errno.EFAULT; break; }
                done++;
                if ((flags & MSG_WAITFORONE) != 0) flags |= MSG_DONTWAIT;
                if (hasTimeout)
                {
                    ulong now = Time.Clock.MonotonicNs();
                    ulong left = now >= end ? 0 : end - now;
                    ts.Sec = (long)(left / 1000000000); ts.Nsec = (long)(left % 1000000000);
                    if (left == 0) break;
                }
                int of = 0;
                new UserPtr(entry + 48).CopyIn(&of, 4);
                if ((of & MSG_OOB) != 0) break;
            }
            if (done == 0) return err;
            if (err.IsError && !err.Is(Errno.EAGAIN) && !err.Is(Errno.ERESTARTSYS)) s.PendingError = (int)(-err.Raw);
            if (hasTimeout && new UserRef<Timespec>(a->A4).Write(ts) != 0) return Errno.EFAULT;
            return done;
        }
    }
}
