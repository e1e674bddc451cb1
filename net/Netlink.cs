using System;
using Kernel.Abi;
using Kernel.Fs;
using static Kernel.Abi.MsgFlags;
using static Kernel.Abi.SockOpt;
using static Kernel.Abi.SocketType;

namespace Kernel.Net
{
    /// AF_NETLINK: NETLINK_ROUTE only (NetlinkRoute answers it), SOCK_RAW or SOCK_DGRAM
    /// (the same thing, as on Linux); other netlink protocols EPROTONOSUPPORT.
    public sealed class NetlinkFamily : SocketFamily
    {
        public const int NETLINK_ROUTE = 0, MaxLinks = 32;

        public override Errno Create(int type, int protocol, out Socket socket)
        {
            socket = null;
            if (type != SOCK_RAW && type != SOCK_DGRAM) return Errno.ESOCKTNOSUPPORT;
            if (protocol < 0 || protocol >= MaxLinks || protocol != NETLINK_ROUTE) return Errno.EPROTONOSUPPORT;
            if (NetKernel.Stack == null) return Errno.EPROTONOSUPPORT;
            socket = new NetlinkSocket(type, protocol);
            return 0;
        }
    }

    /// A NETLINK_ROUTE socket: port ids (bind, autobind: the process's pid first, then
    /// negative ids from -4096 down, as Linux), the kernel's answers queued as datagrams,
    /// unicast to another netlink socket by port id. Multicast groups are recorded
    /// (bind's nl_groups, NETLINK_ADD_MEMBERSHIP) but no notification is ever sent.
    public sealed unsafe class NetlinkSocket : Socket
    {
        public const int SOL_NETLINK = 270;
        public const int NETLINK_ADD_MEMBERSHIP = 1, NETLINK_DROP_MEMBERSHIP = 2, NETLINK_PKTINFO = 3,
            NETLINK_BROADCAST_ERROR = 4, NETLINK_NO_ENOBUFS = 5, NETLINK_LISTEN_ALL_NSID = 8,
            NETLINK_LIST_MEMBERSHIPS = 9, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11, NETLINK_GET_STRICT_CHK = 12;
        const int AddrLen = 12;

        readonly NetlinkRoute _route;
        bool _bound;
        uint _groups, _dstPid, _dstGroups;
        bool _pktInfo, _broadcastError, _noEnobufs, _extAck, _strict, _listenAllNsid;
        NetlinkSocket _nextBound;
        static NetlinkSocket _boundList;
        static int _rover = -4096;

        public NetlinkSocket(int type, int protocol) : base(AddressFamily.AF_NETLINK, type, protocol)
        {
            _route = new NetlinkRoute(NetKernel.Stack);
        }

        static NetlinkSocket FindPort(uint pid)
        {
            for (NetlinkSocket s = _boundList; s != null; s = s._nextBound) if (s._route.PortId == pid) return s;
            return null;
        }

        void BindPort(uint pid)
        {
            _route.PortId = pid; _bound = true;
            _nextBound = _boundList; _boundList = this;
        }

        /// netlink_autobind: the caller's pid when free, else -4096, -4097, ...
        void AutoBind()
        {
            if (_bound) return;
            uint pid = (uint)Creds().Pid;
            while (FindPort(pid) != null)
            {
                pid = (uint)_rover--;
                if (_rover > -4096) _rover = -4097;
            }
            BindPort(pid);
        }

        public override Errno Bind(ReadOnlySpan<byte> a)
        {
            if (a.Length < AddrLen) return Errno.EINVAL;
            if ((a[0] | a[1] << 8) != AddressFamily.AF_NETLINK) return Errno.EINVAL;
            uint pid = NetlinkRoute.U32(a, 4), groups = NetlinkRoute.U32(a, 8);
            if (_bound)
            {
                if (pid != _route.PortId) return Errno.EINVAL;
            }
            else if (pid == 0) AutoBind();
            else
            {
                if (FindPort(pid) != null) return Errno.EADDRINUSE;
                BindPort(pid);
            }
            _groups = groups;
            return 0;
        }

        public override Errno Connect(ReadOnlySpan<byte> a, bool nonblock)
        {
            if (a.Length < 2) return Errno.EINVAL;
            int family = a[0] | a[1] << 8;
            if (family == AddressFamily.AF_UNSPEC) { _dstPid = 0; _dstGroups = 0; return 0; }
            if (family != AddressFamily.AF_NETLINK || a.Length < AddrLen) return Errno.EINVAL;
            AutoBind();
            _dstPid = NetlinkRoute.U32(a, 4);
            _dstGroups = NetlinkRoute.U32(a, 8);
            return 0;
        }

        public override Errno GetName(Span<byte> address, bool peer, out int length)
        {
            address.Slice(0, AddrLen).Clear();
            address[0] = AddressFamily.AF_NETLINK;
            NetlinkRoute.Put32(address, 4, peer ? _dstPid : _route.PortId);
            NetlinkRoute.Put32(address, 8, peer ? _dstGroups : _groups);
            length = AddrLen;
            return 0;
        }

        public override SysResult SendMsg(ref SendMsg m)
        {
            if ((m.Flags & MSG_OOB) != 0) return Errno.EOPNOTSUPP;
            uint dst = _dstPid;
            if (m.Address.Length > 0)
            {
                if (m.Address.Length < AddrLen || (m.Address[0] | m.Address[1] << 8) != AddressFamily.AF_NETLINK) return Errno.EINVAL;
                dst = NetlinkRoute.U32(m.Address, 4);
            }
            AutoBind();
            long len = m.Data.Remaining;
            if (len > SndBuf - 32) return Errno.EMSGSIZE;
            var data = new byte[len];
            long got;
            fixed (byte* p = data) got = m.Data.CopyFromIter(p, len, out Errno fe);
            if (got < len) return Errno.EFAULT;
            NetKernel.Enter();
            if (dst != 0)
            {
                // To another netlink socket of this kernel (user-to-user unicast).
                NetlinkSocket peer = FindPort(dst);
                if (peer == null) return Errno.ECONNREFUSED;
                peer._route.RcvBuf = peer.RcvBuf;
                if (!peer._route.Deliver(data, _route.PortId)) return Errno.EAGAIN;
                peer.Notify();
                return len;
            }
            _route.RcvBuf = RcvBuf;
            _route.Input(data);
            if (_route.HasData || _route.PendingError != 0) Notify();
            return len;
        }

        public override SysResult RecvMsg(ref RecvMsg m)
        {
            if ((m.Flags & MSG_OOB) != 0) return Errno.EOPNOTSUPP;
            ulong deadline = RecvDeadline(m.Flags);
            while (!_route.HasData)
            {
                if (_route.PendingError != 0) { int e = _route.PendingError; _route.PendingError = 0; return (Errno)e; }
                Errno w = WaitFor(deadline);
                if (w != 0) return w;
            }
            if (_route.PendingError != 0) { int e = _route.PendingError; _route.PendingError = 0; return (Errno)e; }
            long asked = m.Data.Total;
            if (asked > _route.MaxRecvLen) _route.MaxRecvLen = asked > NetlinkRoute.MaxDumpSize ? NetlinkRoute.MaxDumpSize : (int)asked;
            byte[] d = _route.Peek(out int full, out uint from);
            long size = m.Data.Remaining < full ? m.Data.Remaining : full;
            if (size < full) m.OutFlags |= MSG_TRUNC;
            long put;
            fixed (byte* p = d) put = m.Data.CopyToIter(p, size, out Errno fe);
            if (put < size) return Errno.EFAULT;
            if (m.Address.Length >= AddrLen)
            {
                m.Address.Slice(0, AddrLen).Clear();
                m.Address[0] = AddressFamily.AF_NETLINK;
                NetlinkRoute.Put32(m.Address, 4, from);
                m.AddressLength = AddrLen;
            }
            if ((m.Flags & MSG_PEEK) == 0)
            {
                NetKernel.Enter();
                _route.RcvBuf = RcvBuf;
                _route.Dequeue();
            }
            return (m.Flags & MSG_TRUNC) != 0 ? full : size;
        }

        public override uint Poll()
        {
            uint mask = PollEvents.Out | PollEvents.WrNorm;
            if (_route.HasData) mask |= PollEvents.In | PollEvents.RdNorm;
            if (_route.PendingError != 0) mask |= PollEvents.Err;
            return mask;
        }

        static int IntAt(UserPtr value, int length, out Errno e)
        {
            int v = 0;
            e = 0;
            if (length < 4) { e = Errno.EINVAL; return 0; }
            if (value.CopyIn(&v, 4) != 0) e = Errno.EFAULT;
            return v;
        }

        public override Errno SetOption(int level, int name, UserPtr value, int length)
        {
            if (level == SOL_SOCKET) return base.SetOption(level, name, value, length);
            if (level != SOL_NETLINK) return Errno.ENOPROTOOPT;
            int v = IntAt(value, length, out Errno e);
            if (e != 0) return e;
            bool on = v != 0;
            switch (name)
            {
                case NETLINK_ADD_MEMBERSHIP:
                case NETLINK_DROP_MEMBERSHIP:
                    if ((uint)v > 32) return Errno.EINVAL;
                    if (v == 0) return 0;
                    if (name == NETLINK_ADD_MEMBERSHIP) { AutoBind(); _groups |= 1u << (v - 1); }
                    else _groups &= ~(1u << (v - 1));
                    return 0;
                case NETLINK_PKTINFO: _pktInfo = on; return 0;
                case NETLINK_BROADCAST_ERROR: _broadcastError = on; return 0;
                case NETLINK_NO_ENOBUFS: _noEnobufs = on; return 0;
                case NETLINK_LISTEN_ALL_NSID: _listenAllNsid = on; return 0;
                case NETLINK_CAP_ACK: _route.CapAck = on; return 0;
                case NETLINK_EXT_ACK: _extAck = on; return 0;
                case NETLINK_GET_STRICT_CHK: _strict = on; return 0;
                default: return Errno.ENOPROTOOPT;
            }
        }

        public override Errno GetOption(int level, int name, Span<byte> value, out int length)
        {
            if (level == SOL_SOCKET) return base.GetOption(level, name, value, out length);
            length = 0;
            if (level != SOL_NETLINK) return Errno.ENOPROTOOPT;
            bool v;
            switch (name)
            {
                case NETLINK_PKTINFO: v = _pktInfo; break;
                case NETLINK_BROADCAST_ERROR: v = _broadcastError; break;
                case NETLINK_NO_ENOBUFS: v = _noEnobufs; break;
                case NETLINK_LISTEN_ALL_NSID: v = _listenAllNsid; break;
                case NETLINK_CAP_ACK: v = _route.CapAck; break;
                case NETLINK_EXT_ACK: v = _extAck; break;
                case NETLINK_GET_STRICT_CHK: v = _strict; break;
                case NETLINK_LIST_MEMBERSHIPS:
                    NetlinkRoute.Put32(value, 0, _groups);
                    length = 4;
                    return 0;
                default: return Errno.ENOPROTOOPT;
            }
            NetlinkRoute.Put32(value, 0, v ? 1u : 0u);
            length = 4;
            return 0;
        }

        protected override void Closed()
        {
            if (_bound)
            {
                if (_boundList == this) _boundList = _nextBound;
                else for (NetlinkSocket s = _boundList; s != null; s = s._nextBound) if (s._nextBound == this) { s._nextBound = _nextBound; break; }
                _nextBound = null; _bound = false;
            }
            _route.Clear();
        }
    }
}
