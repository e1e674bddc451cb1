using System;
using Kernel.Abi;
using Kernel.Fs;
using static Kernel.Abi.MsgFlags;
using static Kernel.Abi.SockOpt;
using static Kernel.Abi.SocketType;

namespace Kernel.Net
{
    /// AF_INET and AF_INET6 on the stack (NetKernel.Stack): SOCK_STREAM is TCP, SOCK_DGRAM is
    /// UDP. An AF_INET6 socket is dual-stack as on Linux: IPv6 towards IPv6 peers, IPv4
    /// towards v4-mapped ones (::ffff:a.b.c.d), and bound to :: it takes both families
    /// unless IPV6_V6ONLY is set; link-local addresses carry their interface as scope id.
    public sealed class InetFamily : SocketFamily
    {
        readonly int _domain;
        public InetFamily(int domain) { _domain = domain; }

        public override Errno Create(int type, int protocol, out Socket socket)
        {
            socket = null;
            if (type == SOCK_STREAM) { if (protocol != 0 && protocol != NetStack.ProtoTcp) return Errno.EPROTONOSUPPORT; }
            else if (type == SOCK_DGRAM) { if (protocol != 0 && protocol != NetStack.ProtoUdp) return Errno.EPROTONOSUPPORT; }
            else if (type == SOCK_RAW) return Errno.EPROTONOSUPPORT;
            else return Errno.ESOCKTNOSUPPORT;
            if (NetKernel.Stack == null) return Errno.EAFNOSUPPORT;
            socket = new InetSocket(_domain, type, type == SOCK_STREAM ? NetStack.ProtoTcp : NetStack.ProtoUdp);
            return 0;
        }
    }

    public sealed unsafe class InetSocket : Socket
    {
        public const int SOL_IP = 0, SOL_TCP = 6, SOL_UDP = 17, SOL_IPV6 = 41;
        public const int IP_TOS = 1, IP_TTL = 2, IP_PKTINFO = 8, IP_RECVERR = 11, IP_MTU_DISCOVER = 10, IP_RECVTTL = 12, IP_RECVTOS = 13;
        public const int IPV6_2292PKTINFO = 2, IPV6_2292HOPLIMIT = 8, IPV6_UNICAST_HOPS = 16, IPV6_MULTICAST_HOPS = 18,
            IPV6_ADD_MEMBERSHIP = 20, IPV6_DROP_MEMBERSHIP = 21, IPV6_RECVERR = 25, IPV6_V6ONLY = 26,
            IPV6_RECVPKTINFO = 49, IPV6_PKTINFO = 50, IPV6_RECVHOPLIMIT = 51, IPV6_HOPLIMIT = 52,
            IPV6_RECVTCLASS = 66, IPV6_TCLASS = 67;
        public const int TCP_NODELAY = 1, TCP_MAXSEG = 2, TCP_CORK = 3, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5,
            TCP_KEEPCNT = 6, TCP_SYNCNT = 7, TCP_LINGER2 = 8, TCP_DEFER_ACCEPT = 9, TCP_WINDOW_CLAMP = 10,
            TCP_INFO = 11, TCP_QUICKACK = 12, TCP_CONGESTION = 13, TCP_USER_TIMEOUT = 18, TCP_FASTOPEN = 23,
            TCP_NOTSENT_LOWAT = 25;

        readonly NetStack _stack;
        public readonly TcpConnection Tcp;
        public readonly UdpEndpoint Udp;
        bool _v6Only, _cork, _quickAck = true, _recvErr, _recvErr6, _udpAddrLocked, _udpPortLocked;
        bool _connecting;                 // a connect returned EINPROGRESS/EALREADY/EINTR: the next one reports the outcome
        // What recvmsg's control data carries: IP_PKTINFO, IP_RECVTTL, IP_RECVTOS (IPv4
        // datagrams, AF_INET6 sockets too), IPV6_RECVPKTINFO (both families on AF_INET6),
        // IPV6_RECVHOPLIMIT and IPV6_RECVTCLASS (IPv6 datagrams).
        bool _ipPktInfo, _ipRecvTtl, _ipRecvTos, _rx6PktInfo, _rx6HopLimit, _rx6Tclass;
        int _hops6 = -1;                  // IPV6_UNICAST_HOPS as set (-1: the default, 64)
        // IPV6_ADD_MEMBERSHIP's groups, each with the interface it was joined on.
        IpAddr[] _groups; int[] _groupIfs; int _groupCount;
        const int MaxMemberships = 20;
        int _deferAccept;
        byte[] _buf;

        bool IsTcp => Tcp != null;
        bool V6 => Domain == AddressFamily.AF_INET6;

        public InetSocket(int domain, int type, int protocol) : base(domain, type, protocol)
        {
            _stack = NetKernel.Stack;
            if (type == SOCK_STREAM)
            {
                Tcp = _stack.NewTcp();
                Tcp.Owner = this;
                SndBuf = 16384; RcvBuf = 131072;                   // tcp_wmem[1], tcp_rmem[1]
            }
            else { Udp = _stack.NewUdp(); Udp.Owner = this; }
        }

        InetSocket(int domain, TcpConnection accepted) : base(domain, SOCK_STREAM, NetStack.ProtoTcp)
        {
            _stack = NetKernel.Stack;
            Tcp = accepted;
            Tcp.Owner = this;
            SndBuf = 16384; RcvBuf = 131072;
        }

        byte[] Buffer => _buf ??= new byte[IsTcp ? 16384 : 65536];

        // ---- addresses

        /// Parses a sockaddr_in or sockaddr_in6 (v4-mapped addresses are IPv4; a link-local
        /// one needs its interface as sin6_scope_id, returned in `scope`).
        Errno ParseAddress(ReadOnlySpan<byte> a, out IpAddr addr, out int port, out int scope, bool forBind)
        {
            addr = default; port = 0; scope = 0;
            if (a.Length < 2) return Errno.EINVAL;
            int family = a[0] | a[1] << 8;
            if (!V6)
            {
                if (a.Length < 16) return Errno.EINVAL;
                if (family != AddressFamily.AF_INET && !(family == AddressFamily.AF_UNSPEC && forBind)) return Errno.EAFNOSUPPORT;
                port = a[2] << 8 | a[3];
                addr = IpAddr.V4(Wire.U32(a, 4));
                if (family == AddressFamily.AF_UNSPEC && !addr.IsV4Any) return Errno.EAFNOSUPPORT;
                return 0;
            }
            if (a.Length < 24) return Errno.EINVAL;
            if (family != AddressFamily.AF_INET6) return Errno.EAFNOSUPPORT;
            port = a[2] << 8 | a[3];
            addr = IpAddr.Read(a, 8);
            if (addr.IsV4)
            {
                if (_v6Only) return forBind ? Errno.EINVAL : Errno.ENETUNREACH;
                return 0;
            }
            if (addr.IsLinkLocal && a.Length >= 28)
            {
                scope = a[24] | a[25] << 8 | a[26] << 16 | a[27] << 24;
                if (scope == 0) return Errno.EINVAL;                    // a link-local address needs its interface
                if (_stack.FindIf(scope) == null) return Errno.ENODEV;
            }
            else if (addr.IsLinkLocal) return Errno.EINVAL;
            return 0;
        }

        /// The family's "any" address: :: for AF_INET6 (both families unless v6-only), 0.0.0.0.
        IpAddr AnyAddr => V6 ? IpAddr.Any : IpAddr.V4Any;

        int WriteAddress(Span<byte> dst, IpAddr addr, int port, int scope = 0)
        {
            if (!V6)
            {
                dst.Slice(0, 16).Clear();
                dst[0] = AddressFamily.AF_INET; dst[2] = (byte)(port >> 8); dst[3] = (byte)port;
                Wire.Put32(dst, 4, addr.IsV4 ? addr.V4Value : 0);
                return 16;
            }
            dst.Slice(0, 28).Clear();
            dst[0] = AddressFamily.AF_INET6; dst[2] = (byte)(port >> 8); dst[3] = (byte)port;
            addr.Write(dst, 8);
            if (addr.IsLinkLocal) { dst[24] = (byte)scope; dst[25] = (byte)(scope >> 8); dst[26] = (byte)(scope >> 16); dst[27] = (byte)(scope >> 24); }
            return 28;
        }

        // ---- operations

        public override Errno Bind(ReadOnlySpan<byte> a)
        {
            Errno e = ParseAddress(a, out IpAddr addr, out int port, out int scope, true);
            if (e != 0) return e;
            NetKernel.Enter();
            int r;
            if (IsTcp)
            {
                if (Tcp.Bound || Tcp.State != TcpState.Closed) return Errno.EINVAL;
                Tcp.ReuseAddr = ReuseAddr; Tcp.ReusePort = ReusePort; Tcp.V6Only = _v6Only;
                if (scope != 0) Tcp.IfIndex = scope;
                r = _stack.BindTcp(Tcp, addr, port);
            }
            else
            {
                if (Udp.Bound) return Errno.EINVAL;
                Udp.ReuseAddr = ReuseAddr; Udp.ReusePort = ReusePort; Udp.V6Only = _v6Only;
                if (scope != 0) Udp.IfIndex = scope;
                r = _stack.BindUdp(Udp, addr, port);
                if (r == 0) { _udpAddrLocked = !addr.IsUnspecified; _udpPortLocked = port != 0; }
            }
            return (Errno)r;
        }

        public override Errno GetName(Span<byte> address, bool peer, out int length)
        {
            length = 0;
            if (IsTcp)
            {
                if (peer)
                {
                    if (!(Tcp.Synchronized || Tcp.State == TcpState.SynReceived) && !(Tcp.State == TcpState.Closed && Tcp.Connected && !Tcp.WasReset))
                        return Errno.ENOTCONN;
                    length = WriteAddress(address, Tcp.RemoteAddr, Tcp.RemotePort, Tcp.IfIndex);
                }
                else length = WriteAddress(address, Tcp.Bound || Tcp.Connected ? Tcp.LocalAddr : AnyAddr, Tcp.Bound || Tcp.Connected ? Tcp.LocalPort : 0, Tcp.IfIndex);
                return 0;
            }
            if (peer)
            {
                if (Udp.RemotePort == 0) return Errno.ENOTCONN;
                length = WriteAddress(address, Udp.RemoteAddr, Udp.RemotePort, Udp.IfIndex);
            }
            else length = WriteAddress(address, Udp.Bound ? Udp.LocalAddr : AnyAddr, Udp.Bound ? Udp.LocalPort : 0, Udp.IfIndex);
            return 0;
        }

        void SyncError()
        {
            if (IsTcp) { if (Tcp.Error != 0 && PendingError == 0) { PendingError = Tcp.Error; Tcp.Error = 0; } }
            else if (Udp.Error != 0 && PendingError == 0) { PendingError = Udp.Error; Udp.Error = 0; }
        }

        public override Errno Connect(ReadOnlySpan<byte> a, bool nonblock)
        {
            if (a.Length >= 2 && (a[0] | a[1] << 8) == AddressFamily.AF_UNSPEC)
            {
                if (IsTcp) return Tcp.State == TcpState.Closed ? 0 : Errno.EINVAL;
                // Dissolve the association; as Linux, an address or port that bind() did not
                // name is given up with it.
                NetKernel.Enter();
                Udp.RemoteAddr = default; Udp.RemotePort = 0;
                if (!_udpAddrLocked) Udp.LocalAddr = AnyAddr;
                if (!_udpPortLocked) _stack.UnbindUdp(Udp);
                return 0;
            }
            Errno e = ParseAddress(a, out IpAddr addr, out int port, out int scope, false);
            if (e != 0) return e;
            NetKernel.Enter();
            if (!IsTcp)
            {
                if (addr.IsUnspecified) addr = addr.IsV4 ? IpAddr.Loopback4 : IpAddr.Loopback6;
                if (!Udp.Bound) { Udp.V6Only = _v6Only; int r = _stack.BindUdp(Udp, AnyAddr, 0); if (r != 0) return (Errno)r; }
                bool bcast = addr.IsV4 && addr.V4Value == 0xffffffff;
                if (Udp.LocalAddr.IsUnspecified)
                {
                    IpAddr src = _stack.SourceFor(addr, scope);
                    if (src.IsUnspecified && !bcast) return (Errno)_stack.NoSourceError(addr, scope);
                    if (bcast && !Broadcast) return Errno.EACCES;
                    // As Linux, connect fixes the source address (getsockname shows it; the
                    // resolvers' RFC 6724 sorting reads it); dissolving the association frees it.
                    if (!bcast) Udp.LocalAddr = src;
                }
                Udp.RemoteAddr = addr; Udp.RemotePort = port;
                if (scope != 0) Udp.IfIndex = scope;
                return 0;
            }
            if (Tcp.State == TcpState.Listen) return Errno.EINVAL;
            if (Tcp.State == TcpState.SynSent || Tcp.State == TcpState.SynReceived)
            {
                if (nonblock) return Errno.EALREADY;
            }
            else if (Tcp.State != TcpState.Closed)
            {
                if (_connecting) { _connecting = false; return 0; }
                return Errno.EISCONN;
            }
            else if (Tcp.Connected || _connecting)
            {
                // A finished attempt: report its fate once.
                _connecting = false;
                SyncError();
                if (PendingError != 0) return TakeError();
                if (Tcp.ConnectRefused) return Errno.ECONNREFUSED;
                return Tcp.Connected ? Errno.EISCONN : Errno.ECONNREFUSED;
            }
            else
            {
                if (port == 0) return Errno.ECONNREFUSED;
                ApplyTcpOptions();
                if (scope != 0) Tcp.IfIndex = scope;
                int r = Tcp.Connect(addr, port);
                if (r != 0) return (Errno)r;
                if (Tcp.State == TcpState.Closed)
                {
                    SyncError();
                    return PendingError != 0 ? TakeError() : Errno.ECONNREFUSED;
                }
                // Non-blocking: EINPROGRESS even when the loopback completed it at once, as Linux.
                if (nonblock) { _connecting = true; return Errno.EINPROGRESS; }
            }
            ulong deadline = SendDeadline(nonblock ? MSG_DONTWAIT : 0);
            while (Tcp.State == TcpState.SynSent || Tcp.State == TcpState.SynReceived)
            {
                Errno w = WaitFor(deadline);
                if (w == Errno.EAGAIN) { _connecting = true; return Errno.EINPROGRESS; }
                if (w != 0) { _connecting = true; return w; }
            }
            _connecting = false;
            if (Tcp.State == TcpState.Closed)
            {
                SyncError();
                Errno err = PendingError != 0 ? TakeError() : Errno.ECONNREFUSED;
                return err;
            }
            return 0;
        }

        void ApplyTcpOptions()
        {
            Tcp.ReuseAddr = ReuseAddr; Tcp.ReusePort = ReusePort; Tcp.V6Only = _v6Only;
            Tcp.RcvBufSize = Clamp(RcvBuf, 16384, 1 << 20);
            Tcp.SndBufSize = Clamp(SndBuf * 8, 65536, 1 << 20);
            Tcp.KeepAlive = KeepAlive;
        }

        static int Clamp(int v, int lo, int hi) => v < lo ? lo : v > hi ? hi : v;

        public override Errno Listen(int backlog)
        {
            if (!IsTcp) return Errno.EOPNOTSUPP;
            if (Tcp.State != TcpState.Closed && Tcp.State != TcpState.Listen) return Errno.EINVAL;
            if (Tcp.Connected) return Errno.EINVAL;
            if (backlog > SoMaxConn || backlog < 0) backlog = SoMaxConn;
            ApplyTcpOptions();
            NetKernel.Enter();
            if (!Tcp.Bound) { int b = _stack.BindTcp(Tcp, AnyAddr, 0); if (b != 0) return (Errno)b; }
            int r = Tcp.Listen(backlog);
            if (r != 0) return (Errno)r;
            Listening = true;
            return 0;
        }

        public override Errno Accept(bool nonblock, out Socket child)
        {
            child = null;
            if (!IsTcp) return Errno.EOPNOTSUPP;
            if (Tcp.State != TcpState.Listen) return Errno.EINVAL;
            ulong deadline = nonblock ? ulong.MaxValue : RecvDeadline(0);
            TcpConnection c;
            while ((c = Tcp.Accept()) == null)
            {
                if (Tcp.State != TcpState.Listen) return Errno.EINVAL;
                Errno e = WaitFor(deadline);
                if (e != 0) return e;
            }
            var s = new InetSocket(Domain, c) { _v6Only = _v6Only };
            s.Tcp.NoDelay = Tcp.NoDelay; s.KeepAlive = KeepAlive; s.SndBuf = SndBuf; s.RcvBuf = RcvBuf;
            s.OobInline = s.Tcp.OobInline = OobInline;
            child = s;
            return 0;
        }

        public override Errno Shutdown(int how)
        {
            NetKernel.Enter();
            bool rd = how == SHUT_RD || how == SHUT_RDWR, wr = how == SHUT_WR || how == SHUT_RDWR;
            if (!IsTcp)
            {
                if (rd) Udp.ReadShut = true;
                Notify();
                return Udp.RemotePort == 0 ? Errno.ENOTCONN : 0;
            }
            if (Tcp.State == TcpState.Listen)
            {
                if (rd) { Tcp.Close(); Listening = false; Notify(); return 0; }
                return Errno.ENOTCONN;
            }
            if (Tcp.State == TcpState.Closed || Tcp.State == TcpState.SynSent && !wr)
            {
                if (!Tcp.Connected) return Errno.ENOTCONN;
            }
            Tcp.Shutdown(rd, wr);
            Notify();
            return 0;
        }

        public override SysResult SendMsg(ref SendMsg m)
        {
            NetKernel.Enter();
            return IsTcp ? SendTcp(ref m) : SendUdp(ref m);
        }

        SysResult SendTcp(ref SendMsg m)
        {
            SyncError();
            if (PendingError != 0) return TakeError();
            // Never connected (or listening): EPIPE with SIGPIPE, as Linux's sk_stream_wait_connect.
            if (Tcp.State == TcpState.Closed && !Tcp.Connected || Tcp.State == TcpState.Listen) return BrokenPipe(m.Flags);
            ulong deadline = SendDeadline(m.Flags);
            long sent = 0;
            byte[] buf = Buffer;
            bool more = (m.Flags & MSG_MORE) != 0, oob = (m.Flags & MSG_OOB) != 0;
            Tcp.Cork = _cork || more;
            while (m.Data.Remaining > 0)
            {
                int space = Tcp.SendSpace;
                if (Tcp.WriteShut || Tcp.State != TcpState.Established && Tcp.State != TcpState.CloseWait && Tcp.State != TcpState.SynSent && Tcp.State != TcpState.SynReceived)
                {
                    SyncError();
                    if (sent > 0) break;
                    if (PendingError != 0) return TakeError();
                    return BrokenPipe(m.Flags);
                }
                if (space <= 0 || Tcp.State == TcpState.SynSent || Tcp.State == TcpState.SynReceived)
                {
                    if (sent > 0 && (m.Flags & MSG_DONTWAIT) != 0) break;
                    // Waiting for room: what is queued so far goes out (urgent, as Linux
                    // pushes it before sleeping).
                    if (oob && sent > 0) { Tcp.MarkUrgent(); Tcp.Output(); _stack.Pump(); }
                    Errno w = WaitFor(deadline);
                    if (w != 0) { if (sent > 0) break; return w; }
                    continue;
                }
                long chunk = m.Data.Remaining;
                if (chunk > space) chunk = space;
                if (chunk > buf.Length) chunk = buf.Length;
                long got;
                fixed (byte* p = buf) got = m.Data.CopyFromIter(p, chunk, out Errno fe);
                if (got <= 0) { if (sent > 0) break; return Errno.EFAULT; }
                int n = Tcp.Send(new ReadOnlySpan<byte>(buf, 0, (int)got), hold: oob);
                if (n < 0) { if (sent > 0) break; return n == -NetErr.EPIPE ? BrokenPipe(m.Flags) : (Errno)(-n); }
                sent += n;
                if (got < chunk) break;                       // fault part-way
            }
            bool uncork = !more && Tcp.Cork != _cork;
            if (uncork) Tcp.Cork = _cork;
            // MSG_OOB: the urgent pointer goes after the last byte of this send; urgent mode
            // sends it at once whatever Nagle or the cork would hold.
            if (oob && sent > 0) Tcp.MarkUrgent();
            if (uncork || oob) { Tcp.Output(); _stack.Pump(); }
            return sent;
        }

        SysResult SendUdp(ref SendMsg m)
        {
            if (m.Data.Remaining > 0xFFFF) return Errno.EMSGSIZE;
            if ((m.Flags & MSG_OOB) != 0) return Errno.EOPNOTSUPP;                 // udp_sendmsg's answer
            IpAddr addr; int port, scope = 0;
            Errno e0;
            if (m.Address.Length > 0)
            {
                Errno e = ParseAddress(m.Address, out addr, out port, out scope, false);
                if (e != 0) return e;
                if (port == 0) return Errno.EINVAL;
            }
            else
            {
                if (Udp.RemotePort == 0) return Errno.EDESTADDRREQ;
                addr = Udp.RemoteAddr; port = Udp.RemotePort;
            }
            SyncError();
            if (PendingError != 0 && m.Address.Length == 0) return TakeError();
            if (m.Data.Remaining > 65507) return Errno.EMSGSIZE;
            byte[] buf = Buffer;
            int len = (int)m.Data.Remaining;
            long got;
            fixed (byte* p = buf) got = m.Data.CopyFromIter(p, len, out Errno fe);
            if (got < len) return Errno.EFAULT;
            if (addr.IsV4 && addr.V4Value == 0xffffffff && !Broadcast) return Errno.EACCES;
            IpAddr from = default; int tos = -1, ttl = -1;
            if (m.Control.Raw.Length > 0 && (e0 = SendControl(m.Control.Raw, addr, ref scope, out from, out tos, out ttl)) != 0) return e0;
            Udp.Broadcast = Broadcast;
            if (!Udp.Bound) { Udp.V6Only = _v6Only; int b = _stack.BindUdp(Udp, AnyAddr, 0); if (b != 0) return (Errno)b; }
            int r = Udp.SendTo(new ReadOnlySpan<byte>(buf, 0, len), addr, port, scope, from, tos, ttl);
            if (r != 0) return (Errno)r;
            return len;
        }

        /// IPV6_ADD_MEMBERSHIP / IPV6_DROP_MEMBERSHIP with a struct ipv6_mreq (Linux's
        /// ipv6_sock_mc_join and _drop): the interface is the one named, or for 0 the one
        /// multicast leaves by (ENODEV when none); a group joined twice is EADDRINUSE, one
        /// never joined EADDRNOTAVAIL.
        Errno Membership(bool join, UserPtr value, int length)
        {
            if (length < 20) return Errno.EINVAL;
            if (IsTcp) return Errno.EPROTO;
            Span<byte> mr = stackalloc byte[20];
            fixed (byte* p = mr) if (value.CopyIn(p, 20) != 0) return Errno.EFAULT;
            IpAddr group = IpAddr.Read(mr, 0);
            int ifIndex = I32(mr, 16);
            if (!group.IsMulticast || group.IsV4) return Errno.EINVAL;
            NetKernel.Enter();
            int at = -1;
            for (int i = 0; i < _groupCount; i++)
                if ((ifIndex == 0 || _groupIfs[i] == ifIndex) && _groups[i] == group) { at = i; break; }
            if (!join)
            {
                if (at < 0) return Errno.EADDRNOTAVAIL;
                NetIf was = _stack.FindIf(_groupIfs[at]);
                if (was != null) _stack.LeaveGroup6(was, group);
                _groupCount--;
                _groups[at] = _groups[_groupCount]; _groupIfs[at] = _groupIfs[_groupCount];
                return 0;
            }
            if (at >= 0) return Errno.EADDRINUSE;
            NetIf nif = _stack.GroupIf6(ifIndex, group);
            if (nif == null) return Errno.ENODEV;
            if (_groupCount == MaxMemberships) return Errno.ENOBUFS;
            int e = _stack.JoinGroup6(nif, group);
            if (e != 0) return (Errno)e;
            _groups ??= new IpAddr[MaxMemberships]; _groupIfs ??= new int[MaxMemberships];
            _groups[_groupCount] = group; _groupIfs[_groupCount] = nif.Index; _groupCount++;
            return 0;
        }

        static int I32(ReadOnlySpan<byte> b, int at) => b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24;

        /// A datagram's control messages in sendmsg (Linux's ip6_datagram_send_ctl towards
        /// IPv6, ip_cmsg_send towards IPv4, v4-mapped destinations of AF_INET6 sockets
        /// included): the source address and interface (IPV6_PKTINFO, IP_PKTINFO), hop
        /// limit or TTL and traffic class or TOS (-1: the socket's). SOL_SOCKET's
        /// SCM_RIGHTS, SCM_CREDENTIALS and SO_MARK are ignored, as on Linux; other levels
        /// are skipped, unknown types of the IP level are EINVAL.
        Errno SendControl(ReadOnlySpan<byte> raw, IpAddr dst, ref int scope, out IpAddr from, out int tos, out int ttl)
        {
            from = default; tos = -1; ttl = -1;
            var rd = new Cmsg.Reader(raw);
            Errno perr;
            while (rd.Next(out perr))
            {
                ReadOnlySpan<byte> d = rd.Data;
                if (rd.Level == SOL_SOCKET)
                {
                    if (rd.Type == SCM_RIGHTS || rd.Type == SCM_CREDENTIALS) continue;
                    if (rd.Type == SO_MARK && d.Length == 4) continue;     // a mark routes nothing here
                    return Errno.EINVAL;
                }
                if (rd.Level == SOL_UDP) return Errno.EINVAL;              // UDP_SEGMENT: no segmentation offload
                if (dst.IsV4)
                {
                    if (V6 && rd.Level == SOL_IPV6 && rd.Type == IPV6_PKTINFO)
                    {
                        // A dual-stack socket's IPV6_PKTINFO towards IPv4: a v4-mapped source only.
                        if (d.Length < 20) return Errno.EINVAL;
                        IpAddr a = IpAddr.Read(d, 0);
                        if (!a.IsV4) return Errno.EINVAL;
                        if (I32(d, 16) != 0) scope = I32(d, 16);
                        if (!a.IsV4Any) from = a;
                        continue;
                    }
                    if (rd.Level != SOL_IP) continue;
                    switch (rd.Type)
                    {
                        case IP_PKTINFO:
                            {
                                if (d.Length != 12) return Errno.EINVAL;
                                if (I32(d, 0) != 0) scope = I32(d, 0);
                                uint spec = Wire.U32(d, 4);
                                if (spec != 0) from = IpAddr.V4(spec);
                                break;
                            }
                        case IP_TTL:
                            if (d.Length != 4) return Errno.EINVAL;
                            ttl = I32(d, 0);
                            if (ttl < 1 || ttl > 255) return Errno.EINVAL;
                            break;
                        case IP_TOS:
                            if (d.Length == 4) tos = I32(d, 0);
                            else if (d.Length == 1) tos = d[0];
                            else return Errno.EINVAL;
                            if (tos < 0 || tos > 255) return Errno.EINVAL;
                            break;
                        default: return Errno.EINVAL;
                    }
                    continue;
                }
                if (rd.Level != SOL_IPV6) continue;
                switch (rd.Type)
                {
                    case IPV6_PKTINFO:
                    case IPV6_2292PKTINFO:
                        {
                            if (d.Length < 20) return Errno.EINVAL;
                            IpAddr a = IpAddr.Read(d, 0);
                            int idx = I32(d, 16);
                            if (idx != 0)
                            {
                                if (scope != 0 && idx != scope) return Errno.EINVAL;
                                scope = idx;
                            }
                            if (scope != 0) { if (_stack.FindIf(scope) == null) return Errno.ENODEV; }
                            else if (a.IsLinkLocal) return Errno.EINVAL;
                            if (!a.IsV6Any)
                            {
                                // One of our addresses, not tentative (on that interface if link-scoped).
                                if (!_stack.IsUsable6(a, scope)) return Errno.EINVAL;
                                from = a;
                            }
                            break;
                        }
                    case IPV6_HOPLIMIT:
                    case IPV6_2292HOPLIMIT:
                        if (d.Length != 4) return Errno.EINVAL;
                        ttl = I32(d, 0);
                        if (ttl < -1 || ttl > 255) return Errno.EINVAL;
                        break;
                    case IPV6_TCLASS:
                        if (d.Length != 4) return Errno.EINVAL;
                        tos = I32(d, 0);
                        if (tos < -1 || tos > 255) return Errno.EINVAL;
                        if (tos == -1) tos = 0;                            // RFC 3542 6.5: the kernel's default, 0
                        break;
                    default: return Errno.EINVAL;
                }
            }
            if (perr != 0) return perr;
            if (dst.IsV4)
            {
                if (scope != 0 && _stack.FindIf(scope) == null) return Errno.ENODEV;
                // A source that is not ours finds no route (ip_route_output's check).
                if (!from.IsUnspecified && !_stack.IsLocal(from)) return Errno.ENETUNREACH;
            }
            return 0;
        }

        /// recvmsg's control messages for a datagram, in Linux's order: IPV6_PKTINFO
        /// (either family, on AF_INET6), then IP_PKTINFO, IP_TTL, IP_TOS for IPv4 or
        /// IPV6_HOPLIMIT, IPV6_TCLASS for IPv6.
        void RecvControl(ref RecvMsg m, IpAddr src, in DatagramInfo info)
        {
            Span<byte> d = stackalloc byte[20];
            if (V6 && _rx6PktInfo)
            {
                info.Dst.Write(d, 0);
                PutInt(d.Slice(16), info.IfIndex, out _);
                m.Control.AddRaw(SOL_IPV6, IPV6_PKTINFO, d.Slice(0, 20));
            }
            if (src.IsV4)
            {
                if (_ipPktInfo)
                {
                    // in_pktinfo: the interface, the local address that answers (the
                    // destination, or the interface's own for a broadcast) and the destination.
                    uint to = info.Dst.V4Value, spec = to;
                    NetIf nif = _stack.FindIf(info.IfIndex);
                    if (nif != null && !nif.Loopback && (to == 0xffffffff || nif.Mask != 0 && to == (nif.Addr | ~nif.Mask))) spec = nif.Addr;
                    PutInt(d, info.IfIndex, out _);
                    Wire.Put32(d, 4, spec); Wire.Put32(d, 8, to);
                    m.Control.AddRaw(SOL_IP, IP_PKTINFO, d.Slice(0, 12));
                }
                if (_ipRecvTtl) { PutInt(d, info.Hops, out _); m.Control.AddRaw(SOL_IP, IP_TTL, d.Slice(0, 4)); }
                if (_ipRecvTos) { d[0] = (byte)info.Tclass; m.Control.AddRaw(SOL_IP, IP_TOS, d.Slice(0, 1)); }
                return;
            }
            if (_rx6HopLimit) { PutInt(d, info.Hops, out _); m.Control.AddRaw(SOL_IPV6, IPV6_HOPLIMIT, d.Slice(0, 4)); }
            if (_rx6Tclass) { PutInt(d, info.Tclass, out _); m.Control.AddRaw(SOL_IPV6, IPV6_TCLASS, d.Slice(0, 4)); }
        }

        public override SysResult RecvMsg(ref RecvMsg m)
        {
            NetKernel.Enter();
            if ((m.Flags & MSG_OOB) != 0 && IsTcp) return RecvUrgent(ref m);       // UDP ignores it, as Linux's
            return IsTcp ? RecvTcp(ref m) : RecvUdp(ref m);
        }

        /// recv(MSG_OOB): the urgent byte, once (MSG_PEEK leaves it); EINVAL when there is
        /// none, it was read, or SO_OOBINLINE keeps it in the stream; EAGAIN while only its
        /// pointer has come (never blocking), 0 once nothing more can come (Linux's tcp_recv_urg).
        SysResult RecvUrgent(ref RecvMsg m)
        {
            if (Tcp.State == TcpState.Listen) return Errno.ENOTCONN;
            int st = Tcp.UrgState;
            if (OobInline || st == TcpConnection.UrgNone || st == TcpConnection.UrgRead) return Errno.EINVAL;
            if (Tcp.State == TcpState.Closed && !Tcp.FinReceived) return Errno.ENOTCONN;
            if (st == TcpConnection.UrgValid)
            {
                if ((m.Flags & MSG_PEEK) == 0) Tcp.UrgState = TcpConnection.UrgRead;
                m.OutFlags |= MSG_OOB;
                if (m.Data.Remaining <= 0) { m.OutFlags |= MSG_TRUNC; return 0; }
                if ((m.Flags & MSG_TRUNC) == 0)
                {
                    byte c = Tcp.UrgByte;
                    if (m.Data.CopyToIter(&c, 1, out _) != 1) return Errno.EFAULT;
                }
                return 1;
            }
            if (Tcp.State == TcpState.Closed || Tcp.RcvShutdown) return 0;
            return Errno.EAGAIN;
        }

        SysResult RecvTcp(ref RecvMsg m)
        {
            if (Tcp.State == TcpState.Listen) return Errno.ENOTCONN;
            if (Tcp.State == TcpState.Closed && !Tcp.Connected) return Errno.ENOTCONN;
            bool peek = (m.Flags & MSG_PEEK) != 0, trunc = (m.Flags & MSG_TRUNC) != 0;
            long size = m.Data.Remaining;
            long target = (m.Flags & MSG_WAITALL) != 0 && !peek ? size : 1;
            ulong deadline = RecvDeadline(m.Flags);
            long copied = 0;
            while (copied < size)
            {
                if (copied > 0 && Tcp.AtMark) break;              // never across the urgent mark
                if (Tcp.ReadableNow > 0 || !peek && Tcp.Unread > 0)
                {
                    // Straight from the receive ring to the program (at most two runs), and
                    // only what was copied is consumed (a fault keeps the rest, as Linux). A
                    // read at the mark skips the urgent byte (not inline) and none crosses it.
                    long want = size - copied;
                    int avail = Tcp.ReadableRun(out int skip);
                    int n = want < avail ? (int)want : avail, done = 0;
                    if (n == 0) { Tcp.Consume(skip); continue; }      // only the urgent byte was left: it leaves the stream
                    bool fault = false;
                    if (trunc) done = n;
                    while (done < n)
                    {
                        ReadOnlySpan<byte> run = Tcp.UnreadRun(skip + done);
                        int k = run.Length < n - done ? run.Length : n - done;
                        long put;
                        fixed (byte* p = run) put = m.Data.CopyToIter(p, k, out Errno fe);
                        done += (int)put;
                        if (put < k) { fault = true; break; }
                    }
                    if (!peek && (done > 0 || !fault)) Tcp.Consume(skip + done);
                    copied += done;
                    if (fault) { if (copied == 0) return Errno.EFAULT; break; }
                    if (peek) break;
                    continue;
                }
                if (copied >= target) break;
                SyncError();
                if (PendingError != 0) { if (copied > 0) break; return TakeError(); }
                if (Tcp.RcvShutdown || Tcp.WasReset || Tcp.State == TcpState.Closed) break;
                Errno w = WaitFor(deadline);
                if (w != 0) { if (copied > 0) break; return w; }
            }
            return copied;
        }

        SysResult RecvUdp(ref RecvMsg m)
        {
            ulong deadline = RecvDeadline(m.Flags);
            while (!Udp.Readable)
            {
                SyncError();
                if (PendingError != 0) return TakeError();
                if (Udp.ReadShut) return 0;
                Errno w = WaitFor(deadline);
                if (w != 0) return w;
            }
            byte[] buf = Buffer;
            bool peek = (m.Flags & MSG_PEEK) != 0;
            int full = Udp.Receive(buf, peek, out IpAddr src, out int port, out DatagramInfo info);
            int srcIf = info.IfIndex;
            long size = m.Data.Remaining < full ? m.Data.Remaining : full;
            if (size < full) m.OutFlags |= MSG_TRUNC;
            long put;
            fixed (byte* p = buf) put = m.Data.CopyToIter(p, size, out Errno fe);
            if (put < size) return Errno.EFAULT;
            if (m.Address.Length >= 28) m.AddressLength = WriteAddress(m.Address, src, port, srcIf);
            if (_ipPktInfo || _ipRecvTtl || _ipRecvTos || _rx6PktInfo || _rx6HopLimit || _rx6Tclass) RecvControl(ref m, src, info);
            return (m.Flags & MSG_TRUNC) != 0 ? full : size;
        }

        public override uint Poll()
        {
            SyncError();
            uint mask = 0;
            if (PendingError != 0) mask |= PollEvents.Err;
            if (!IsTcp)
            {
                if (Udp.Readable) mask |= PollEvents.In;
                if (Udp.ReadShut) mask |= PollEvents.In | PollEvents.RdHup;
                return mask | PollEvents.Out | PollEvents.WrBand;
            }
            TcpState st = Tcp.State;
            if (st == TcpState.Listen) return Tcp.AcceptReady ? mask | PollEvents.In : mask;
            bool closed = st == TcpState.Closed;
            bool rcvShut = Tcp.RcvShutdown || closed && Tcp.Connected;
            bool sndShut = Tcp.WriteShut || closed && Tcp.Connected;
            if (rcvShut && sndShut || closed) mask |= PollEvents.Hup;
            if (rcvShut) mask |= PollEvents.In | PollEvents.RdHup;
            if (st != TcpState.SynSent && st != TcpState.SynReceived)
            {
                // At the urgent mark (not inline) the urgent byte does not count as readable.
                if (Tcp.ReadableNow > 0) mask |= PollEvents.In;
                if (Tcp.UrgState == TcpConnection.UrgValid) mask |= PollEvents.Pri;
                if (!sndShut) { if (Tcp.CanWrite) mask |= PollEvents.Out | PollEvents.WrBand; }
                else mask |= PollEvents.Out | PollEvents.WrBand;
                if (closed && !Tcp.Connected) mask |= PollEvents.Out;
            }
            return mask;
        }

        public override SysResult SocketIoctl(uint request, ulong arg)
        {
            int v;
            switch (request)
            {
                case Abi.Ioctl.FIONREAD:
                    if (IsTcp) { if (Tcp.State == TcpState.Listen) return Errno.EINVAL; v = Tcp.InQueue; }
                    else v = Udp.NextLength;
                    break;
                case 0x8905:                                    // SIOCATMARK
                    if (!IsTcp) return NetIoctl.Interface(_stack, request, arg);
                    v = Tcp.AtMark ? 1 : 0;
                    break;
                case 0x5411:                                    // SIOCOUTQ
                    if (IsTcp && Tcp.State == TcpState.Listen) return Errno.EINVAL;
                    v = IsTcp ? Tcp.SendQueued : 0;
                    break;
                default:
                    return NetIoctl.Interface(_stack, request, arg);
            }
            return new UserRef<int>(arg).Write(v) != 0 ? Errno.EFAULT : SysResult.Ok;
        }

        static Errno ReadInt(UserPtr value, int length, out int v)
        {
            v = 0;
            if (length < 4) return length > 0 ? Errno.EINVAL : Errno.EINVAL;
            fixed (int* p = &v) return value.CopyIn(p, 4) != 0 ? Errno.EFAULT : 0;
        }

        /// An IPv4 option's int as Linux's do_ip_setsockopt reads it: an int from 4 bytes,
        /// an unsigned char from 1 to 3, 0 from none.
        static Errno ReadIpInt(UserPtr value, int length, out int v)
        {
            v = 0;
            if (length >= 4) { fixed (int* p = &v) return value.CopyIn(p, 4) != 0 ? Errno.EFAULT : 0; }
            if (length >= 1) { byte c; if (value.CopyIn(&c, 1) != 0) return Errno.EFAULT; v = c; }
            return 0;
        }

        static void PutInt(Span<byte> b, int v, out int len)
        {
            for (int i = 0; i < 4; i++) b[i] = (byte)(v >> (8 * i));
            len = 4;
        }

        public override Errno SetOption(int level, int name, UserPtr value, int length)
        {
            if (level == SOL_SOCKET)
            {
                Errno e = base.SetOption(level, name, value, length);
                if (e == 0 && IsTcp)
                {
                    if (name == SO_KEEPALIVE) { NetKernel.Enter(); Tcp.SetKeepAlive(KeepAlive); }
                    else if (name == SO_LINGER) Tcp.LingerS = LingerOn ? LingerSeconds : -1;
                    else if (name == SO_OOBINLINE) { NetKernel.Enter(); Tcp.OobInline = OobInline; Notify(); }
                }
                if (e == 0 && !IsTcp && name == SO_BROADCAST) Udp.Broadcast = Broadcast;
                return e;
            }
            int v;
            Errno r;
            if (level == SOL_IP)
            {
                switch (name)
                {
                    case IP_TOS:
                        // TCP keeps the ECN bits its own; a datagram socket takes the whole byte.
                        if ((r = ReadIpInt(value, length, out v)) != 0) return r;
                        if (IsTcp) Tcp.Tos = v & 0xfc | Tcp.Tos & 3; else Udp.Tos = v & 0xff;
                        return 0;
                    case IP_TTL:
                        if ((r = ReadIpInt(value, length, out v)) != 0) return r;
                        if (length < 1) return Errno.EINVAL;
                        if (v == -1) v = 64;
                        if (v < 1 || v > 255) return Errno.EINVAL;
                        if (IsTcp) Tcp.Ttl = v; else Udp.Ttl = v;
                        return 0;
                    case IP_RECVERR:
                        if ((r = ReadIpInt(value, length, out v)) != 0) return r;
                        _recvErr = v != 0;
                        if (!IsTcp) Udp.RecvErr = _recvErr || _recvErr6;
                        return 0;
                    case IP_PKTINFO:
                    case IP_RECVTTL:
                    case IP_RECVTOS:
                        if ((r = ReadIpInt(value, length, out v)) != 0) return r;
                        if (name == IP_PKTINFO) _ipPktInfo = v != 0; else if (name == IP_RECVTTL) _ipRecvTtl = v != 0; else _ipRecvTos = v != 0;
                        return 0;
                }
                return Errno.ENOPROTOOPT;
            }
            if (level == SOL_IPV6)
            {
                if (!V6) return Errno.ENOPROTOOPT;
                if (name == IPV6_V6ONLY)
                {
                    if ((r = ReadInt(value, length, out v)) != 0) return r;
                    if (IsTcp ? Tcp.Bound : Udp.Bound) return Errno.EINVAL;
                    _v6Only = v != 0;
                    if (IsTcp) Tcp.V6Only = _v6Only; else Udp.V6Only = _v6Only;
                    return 0;
                }
                if (name == IPV6_RECVERR)
                {
                    if ((r = ReadInt(value, length, out v)) != 0) return r;
                    _recvErr6 = v != 0;
                    if (!IsTcp) Udp.RecvErr = _recvErr || _recvErr6;
                    return 0;
                }
                if (name == IPV6_ADD_MEMBERSHIP || name == IPV6_DROP_MEMBERSHIP) return Membership(name == IPV6_ADD_MEMBERSHIP, value, length);
                switch (name)
                {
                    case IPV6_RECVPKTINFO: case IPV6_RECVHOPLIMIT: case IPV6_RECVTCLASS:
                        if ((r = ReadInt(value, length, out v)) != 0) return r;
                        if (name == IPV6_RECVPKTINFO) _rx6PktInfo = v != 0; else if (name == IPV6_RECVHOPLIMIT) _rx6HopLimit = v != 0; else _rx6Tclass = v != 0;
                        return 0;
                    case IPV6_UNICAST_HOPS:
                        if ((r = ReadInt(value, length, out v)) != 0) return r;
                        if (v < -1 || v > 255) return Errno.EINVAL;
                        if (IsTcp) Tcp.Hops6 = v < 0 ? 64 : v; else Udp.Hops6 = v;
                        _hops6 = v;
                        return 0;
                    case IPV6_MULTICAST_HOPS:
                        if (IsTcp) return 0;                               // no multicast over TCP: ignored, as Linux
                        if ((r = ReadInt(value, length, out v)) != 0) return r;
                        if (v < -1 || v > 255) return Errno.EINVAL;
                        Udp.McastHops6 = v == -1 ? 1 : v;
                        return 0;
                    case IPV6_TCLASS:
                        if ((r = ReadInt(value, length, out v)) != 0) return r;
                        if (v < -1 || v > 255) return Errno.EINVAL;
                        if (v == -1) v = 0;                                // RFC 3542 6.5: the default, 0
                        if (IsTcp) Tcp.Tclass6 = v & 0xfc | Tcp.Tclass6 & 3; else Udp.Tclass6 = v;
                        return 0;
                }
                return Errno.ENOPROTOOPT;
            }
            if (level == SOL_TCP && IsTcp)
            {
                if (name == TCP_CONGESTION)
                {
                    // Only NewReno is here; Linux names it "reno".
                    Span<byte> n = stackalloc byte[16];
                    int len = length < 16 ? length : 16;
                    if (len <= 0) return Errno.EINVAL;
                    fixed (byte* p = n) if (value.CopyIn(p, (ulong)len) != 0) return Errno.EFAULT;
                    return len >= 4 && n[0] == 'r' && n[1] == 'e' && n[2] == 'n' && n[3] == 'o' && (len == 4 || n[4] == 0) ? 0 : Errno.ENOENT;
                }
                if ((r = ReadInt(value, length, out v)) != 0) return r;
                NetKernel.Enter();
                switch (name)
                {
                    case TCP_NODELAY: Tcp.NoDelay = v != 0; if (Tcp.NoDelay) { Tcp.Output(); _stack.Pump(); } return 0;
                    case TCP_CORK: _cork = v != 0; Tcp.Cork = _cork; if (!_cork) { Tcp.Output(); _stack.Pump(); } return 0;
                    case TCP_MAXSEG: if (v != 0 && (v < 88 || v > 32767)) return Errno.EINVAL; Tcp.UserMss = v; return 0;
                    case TCP_KEEPIDLE: if (v < 1 || v > 32767) return Errno.EINVAL; Tcp.KeepIdleS = v; Tcp.SetKeepAlive(Tcp.KeepAlive); return 0;
                    case TCP_KEEPINTVL: if (v < 1 || v > 32767) return Errno.EINVAL; Tcp.KeepIntvlS = v; return 0;
                    case TCP_KEEPCNT: if (v < 1 || v > 127) return Errno.EINVAL; Tcp.KeepCnt = v; return 0;
                    case TCP_DEFER_ACCEPT: _deferAccept = v < 0 ? 0 : v; return 0;
                    case TCP_QUICKACK: _quickAck = v != 0; return 0;
                }
                return Errno.ENOPROTOOPT;
            }
            if (level == SOL_UDP && !IsTcp) return Errno.ENOPROTOOPT;
            return level == SOL_TCP ? Errno.EOPNOTSUPP : Errno.ENOPROTOOPT;
        }

        public override Errno GetOption(int level, int name, Span<byte> value, out int length)
        {
            length = 0;
            if (level == SOL_SOCKET)
            {
                if (name == SO_ERROR) SyncError();
                return base.GetOption(level, name, value, out length);
            }
            if (level == SOL_IP)
            {
                switch (name)
                {
                    case IP_TOS: PutInt(value, IsTcp ? Tcp.Tos : Udp.Tos, out length); return 0;
                    case IP_TTL: PutInt(value, IsTcp ? Tcp.Ttl : Udp.Ttl, out length); return 0;
                    case IP_RECVERR: PutInt(value, _recvErr ? 1 : 0, out length); return 0;
                    case IP_PKTINFO: PutInt(value, _ipPktInfo ? 1 : 0, out length); return 0;
                    case IP_RECVTTL: PutInt(value, _ipRecvTtl ? 1 : 0, out length); return 0;
                    case IP_RECVTOS: PutInt(value, _ipRecvTos ? 1 : 0, out length); return 0;
                }
                return Errno.ENOPROTOOPT;
            }
            if (level == SOL_IPV6)
            {
                if (!V6) return Errno.ENOPROTOOPT;
                if (name == IPV6_V6ONLY) { PutInt(value, _v6Only ? 1 : 0, out length); return 0; }
                if (name == IPV6_RECVERR) { PutInt(value, _recvErr6 ? 1 : 0, out length); return 0; }
                switch (name)
                {
                    case IPV6_RECVPKTINFO: PutInt(value, _rx6PktInfo ? 1 : 0, out length); return 0;
                    case IPV6_RECVHOPLIMIT: PutInt(value, _rx6HopLimit ? 1 : 0, out length); return 0;
                    case IPV6_RECVTCLASS: PutInt(value, _rx6Tclass ? 1 : 0, out length); return 0;
                    case IPV6_UNICAST_HOPS: PutInt(value, _hops6 < 0 ? 64 : _hops6, out length); return 0;
                    case IPV6_MULTICAST_HOPS: PutInt(value, IsTcp ? 1 : Udp.McastHops6, out length); return 0;
                    case IPV6_TCLASS: PutInt(value, IsTcp ? Tcp.Tclass6 : Udp.Tclass6, out length); return 0;
                }
                return Errno.ENOPROTOOPT;
            }
            if (level == SOL_TCP && IsTcp)
            {
                switch (name)
                {
                    case TCP_NODELAY: PutInt(value, Tcp.NoDelay ? 1 : 0, out length); return 0;
                    case TCP_CORK: PutInt(value, _cork ? 1 : 0, out length); return 0;
                    case TCP_MAXSEG: PutInt(value, Tcp.Synchronized ? Tcp.Mss - (Tcp.TsOk ? 12 : 0) : (Tcp.UserMss != 0 ? Tcp.UserMss : 536), out length); return 0;
                    case TCP_KEEPIDLE: PutInt(value, Tcp.KeepIdleS, out length); return 0;
                    case TCP_KEEPINTVL: PutInt(value, Tcp.KeepIntvlS, out length); return 0;
                    case TCP_KEEPCNT: PutInt(value, Tcp.KeepCnt, out length); return 0;
                    case TCP_DEFER_ACCEPT: PutInt(value, _deferAccept, out length); return 0;
                    case TCP_QUICKACK: PutInt(value, _quickAck ? 1 : 0, out length); return 0;
                    case TCP_CONGESTION: value.Slice(0, 16).Clear(); "reno"u8.CopyTo(value); length = 16; return 0;
                    case TCP_INFO: length = TcpInfo(value); return 0;
                }
                return Errno.ENOPROTOOPT;
            }
            return level == SOL_TCP || level == SOL_UDP ? Errno.EOPNOTSUPP : Errno.ENOPROTOOPT;
        }

        /// struct tcp_info up to tcpi_total_retrans (104 bytes; Linux copies min(optlen, its size)).
        int TcpInfo(Span<byte> v)
        {
            v.Slice(0, 104).Clear();
            v[0] = (byte)Tcp.State;
            v[2] = (byte)Tcp.Retransmits;
            v[5] = (byte)((Tcp.TsOk ? 1 : 0) | (Tcp.SndScale != 0 || Tcp.RcvScale != 0 ? 4 : 0));
            v[6] = (byte)(Tcp.SndScale & 15 | (Tcp.RcvScale & 15) << 4);
            PutU32(v, 8, (uint)Tcp.Rto * 1000);
            PutU32(v, 12, 40000);
            PutU32(v, 16, (uint)(Tcp.Mss - (Tcp.TsOk ? 12 : 0)));
            PutU32(v, 20, (uint)(Tcp.Mss - (Tcp.TsOk ? 12 : 0)));
            int mss = Tcp.Mss > 12 ? Tcp.Mss : 536;
            PutU32(v, 24, (uint)(((int)(Tcp.SndMax - Tcp.SndUna) + mss - 1) / mss));
            PutU32(v, 60, 1500);
            PutU32(v, 68, (uint)(Tcp.Srtt8 >> 3) * 1000);
            PutU32(v, 72, (uint)(Tcp.Rttvar4 >> 2) * 1000);
            PutU32(v, 76, Tcp.Ssthresh >= 0x7fffffff ? 0x7fffffff : Tcp.Ssthresh / (uint)mss);
            PutU32(v, 80, Tcp.Cwnd / (uint)mss);
            PutU32(v, 84, (uint)mss);
            PutU32(v, 88, 3);
            PutU32(v, 100, Tcp.TotalRetransmits);
            return 104;
        }

        static void PutU32(Span<byte> b, int o, uint x) { b[o] = (byte)x; b[o + 1] = (byte)(x >> 8); b[o + 2] = (byte)(x >> 16); b[o + 3] = (byte)(x >> 24); }

        protected override void Closed()
        {
            NetKernel.Enter();
            if (IsTcp)
            {
                if (Tcp.Owner != this) { _buf = null; return; }       // already closed when the program ended (CloseForExit)
                Tcp.LingerS = LingerOn ? LingerSeconds : -1;
                bool linger = LingerOn && LingerSeconds > 0 && !(CallerExiting != null && CallerExiting());
                if (!linger) Tcp.Owner = null;
                Tcp.Close();
                if (linger)
                {
                    // SO_LINGER with a timeout: close(2) returns once the FIN is acknowledged
                    // (all data with it), or when the time is up or a signal came; either way
                    // with 0, and the connection goes on alone (Linux's tcp_close).
                    ulong deadline = global::Kernel.Time.Clock.MonotonicNs() + (ulong)LingerSeconds * 1000000000UL;
                    while (Tcp.State == TcpState.FinWait1 || Tcp.State == TcpState.Closing || Tcp.State == TcpState.LastAck)
                        if (WaitFor(deadline) != 0) break;
                    Tcp.Owner = null;
                }
            }
            else
            {
                Udp.Owner = null; Udp.Close();
                for (int i = 0; i < _groupCount; i++) { NetIf nif = _stack.FindIf(_groupIfs[i]); if (nif != null) _stack.LeaveGroup6(nif, _groups[i]); }
                _groupCount = 0;
            }
            _buf = null;
        }

        /// The program ends with this socket open (the VM is about to power off): its TCP
        /// connection closes as close(2) would close it, never lingering, so the peer gets
        /// its FIN (or RST) before the power goes.
        internal void CloseForExit()
        {
            if (!IsTcp || Tcp.Owner != this) return;
            Tcp.LingerS = LingerOn ? LingerSeconds : -1;
            Tcp.Owner = null;
            Tcp.Close();
        }
    }
}
