using System;

namespace Kernel.Net
{
    /// NETLINK_ROUTE for one netlink socket, as pure logic over the stack's interfaces: the
    /// requests a sendmsg carries go in (Input), the answers wait here as datagrams for
    /// recvmsg (Peek/Dequeue). Written from rtnetlink(7), netlink(7) and the uapi headers:
    /// - every message with NLM_F_REQUEST and a type from 16 up is a request; others are
    ///   answered only with an acknowledgement when they ask for one (NLM_F_ACK);
    /// - RTM_GETLINK, RTM_GETADDR and RTM_GETROUTE with NLM_F_DUMP start a dump: multipart
    ///   messages (NLM_F_MULTI) packed into datagrams of at most
    ///   max(NLMSG_GOODSIZE, largest receive buffer seen, capped at 32 KiB) bytes, made one
    ///   datagram at a time as the reader takes them, ending with NLMSG_DONE;
    /// - RTM_GETLINK without NLM_F_DUMP answers one link by ifi_index or IFLA_IFNAME;
    /// - changes (RTM_NEW*/DEL*/SET*) and every other request answer NLMSG_ERROR with
    ///   EOPNOTSUPP (the interfaces are configured from the command line or DHCP only);
    /// - an error echoes the request after the errno unless NETLINK_CAP_ACK is set; an
    ///   acknowledgement (errno 0) carries the header only and NLM_F_CAPPED.
    /// Nothing here blocks or reads a clock (cache stamps use NetStack.Now), so host tests
    /// drive it with byte arrays.
    public sealed class NetlinkRoute
    {
        public const int HdrLen = 16;
        public const int NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3, NLMSG_MIN_TYPE = 16;
        public const int NLM_F_REQUEST = 1, NLM_F_MULTI = 2, NLM_F_ACK = 4, NLM_F_DUMP = 0x300, NLM_F_CAPPED = 0x100;
        public const int RTM_NEWLINK = 16, RTM_GETLINK = 18, RTM_NEWADDR = 20, RTM_GETADDR = 22, RTM_NEWROUTE = 24,
            RTM_GETROUTE = 26, RTM_MAX = 123;
        public const int IFLA_ADDRESS = 1, IFLA_BROADCAST = 2, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_QDISC = 6, IFLA_STATS = 7,
            IFLA_TXQLEN = 13, IFLA_OPERSTATE = 16, IFLA_LINKMODE = 17, IFLA_STATS64 = 23, IFLA_GROUP = 27,
            IFLA_PROMISCUITY = 30, IFLA_NUM_TX_QUEUES = 31, IFLA_NUM_RX_QUEUES = 32, IFLA_CARRIER = 33;
        public const int IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_LABEL = 3, IFA_BROADCAST = 4, IFA_CACHEINFO = 6, IFA_FLAGS = 8;
        public const int RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PREFSRC = 7, RTA_TABLE = 15;
        public const int RT_TABLE_MAIN = 254, RT_TABLE_LOCAL = 255;
        public const int RTPROT_KERNEL = 2, RTPROT_BOOT = 3;
        public const int RTN_UNICAST = 1, RTN_LOCAL = 2, RTN_BROADCAST = 3;
        public const int IFF_UP = 1, IFF_BROADCAST = 2, IFF_LOOPBACK = 8, IFF_RUNNING = 0x40, IFF_MULTICAST = 0x1000, IFF_LOWER_UP = 0x10000;
        public const int ARPHRD_ETHER = 1, ARPHRD_LOOPBACK = 772;
        public const int IF_OPER_UNKNOWN = 0, IF_OPER_DOWN = 2, IF_OPER_UP = 6;
        /// SKB_WITH_OVERHEAD(4096): the smallest dump datagram; SKB_WITH_OVERHEAD(32768) the largest.
        public const int GoodSize = 3776, MaxDumpSize = 32448;
        const int AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10;
        // Linux errno values (positive), as NLMSG_ERROR carries them negated.
        public const int EINVAL = 22, ENODEV = 19, EBUSY = 16, EOPNOTSUPP = 95, ENOBUFS = 105;

        sealed class Datagram { public byte[] Data; public int Length; public uint From; public Datagram Next; }

        readonly NetStack _stack;
        Datagram _head, _tail;
        /// Bytes waiting; a reply that would take it past RcvBuf is dropped and the socket
        /// gets ENOBUFS (PendingError), as Linux's netlink_unicast does.
        public int QueuedBytes;
        public int RcvBuf = 212992;
        public int PendingError;
        /// The socket's port id (the nlmsg_pid of answers).
        public uint PortId;
        /// NETLINK_CAP_ACK: errors do not echo the request's payload.
        public bool CapAck;
        /// The largest receive buffer the reader has offered (sizes dump datagrams).
        public int MaxRecvLen;

        int _dumpType, _dumpFamily, _dumpPos;
        uint _dumpSeq;
        readonly byte[] _scratch = new byte[1024];

        public NetlinkRoute(NetStack stack) { _stack = stack; }

        public bool HasData => _head != null;
        public bool Dumping => _dumpType != 0;
        /// Length of the next datagram (0 when none).
        public int NextLength => _head == null ? 0 : _head.Length;

        /// The next datagram (null when none): its bytes, length and sender port id.
        public byte[] Peek(out int length, out uint from)
        {
            length = 0; from = 0;
            if (_head == null) return null;
            length = _head.Length; from = _head.From;
            return _head.Data;
        }

        /// Drops the next datagram; a dump in progress makes its next one when none is left.
        public void Dequeue()
        {
            if (_head == null) return;
            QueuedBytes -= _head.Length;
            _head = _head.Next;
            if (_head == null) _tail = null;
            if (_head == null && _dumpType != 0) FillDump();
        }

        /// A datagram from another netlink socket (user-to-user unicast). False when the
        /// queue has no room (the sender gets EAGAIN).
        public bool Deliver(ReadOnlySpan<byte> data, uint from)
        {
            if (QueuedBytes + data.Length > RcvBuf && _head != null) return false;
            var a = new byte[data.Length];
            data.CopyTo(a);
            Enqueue(a, data.Length, from, true);
            return true;
        }

        /// Drops everything queued and any dump (close).
        public void Clear() { _head = _tail = null; QueuedBytes = 0; _dumpType = 0; }

        bool Enqueue(byte[] data, int length, uint from, bool force)
        {
            if (!force && QueuedBytes + length > RcvBuf && _head != null) { PendingError = ENOBUFS; return false; }
            var d = new Datagram { Data = data, Length = length, From = from };
            if (_tail == null) _head = _tail = d; else { _tail.Next = d; _tail = d; }
            QueuedBytes += length;
            return true;
        }

        // ---- little-endian fields (netlink is in host order)

        public static int U16(ReadOnlySpan<byte> b, int o) => b[o] | b[o + 1] << 8;
        public static uint U32(ReadOnlySpan<byte> b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        public static void Put16(Span<byte> b, int o, int v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
        public static void Put32(Span<byte> b, int o, uint v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); b[o + 2] = (byte)(v >> 16); b[o + 3] = (byte)(v >> 24); }
        public static void Put64(Span<byte> b, int o, ulong v) { for (int i = 0; i < 8; i++) b[o + i] = (byte)(v >> (8 * i)); }
        public static int Align(int n) => (n + 3) & ~3;

        static void Header(Span<byte> b, int len, int type, int flags, uint seq, uint pid)
        {
            Put32(b, 0, (uint)len); Put16(b, 4, type); Put16(b, 6, flags); Put32(b, 8, seq); Put32(b, 12, pid);
        }

        /// Appends an attribute at `at` (aligned); returns the aligned end.
        static int Attr(Span<byte> b, int at, int type, ReadOnlySpan<byte> data)
        {
            int len = 4 + data.Length;
            Put16(b, at, len); Put16(b, at + 2, type);
            data.CopyTo(b.Slice(at + 4));
            int end = Align(at + len);
            for (int i = at + len; i < end; i++) b[i] = 0;
            return end;
        }

        static int AttrU32(Span<byte> b, int at, int type, uint v)
        {
            Put16(b, at, 8); Put16(b, at + 2, type); Put32(b, at + 4, v);
            return at + 8;
        }

        static int AttrU8(Span<byte> b, int at, int type, int v)
        {
            Put16(b, at, 5); Put16(b, at + 2, type); b[at + 4] = (byte)v; b[at + 5] = b[at + 6] = b[at + 7] = 0;
            return at + 8;
        }

        static int AttrStr(Span<byte> b, int at, int type, ReadOnlySpan<byte> s)
        {
            int len = 4 + s.Length + 1;
            Put16(b, at, len); Put16(b, at + 2, type);
            s.CopyTo(b.Slice(at + 4));
            int end = Align(at + len);
            for (int i = at + 4 + s.Length; i < end; i++) b[i] = 0;
            return end;
        }

        static int AttrV4(Span<byte> b, int at, int type, uint addr)
        {
            Put16(b, at, 8); Put16(b, at + 2, type); Wire.Put32(b, at + 4, addr);
            return at + 8;
        }

        // ---- requests

        /// Everything one sendmsg to the kernel carried: each netlink message in turn, until
        /// one is shorter than its header or runs past the end (the rest is ignored).
        public void Input(ReadOnlySpan<byte> buf)
        {
            int off = 0;
            while (buf.Length - off >= HdrLen)
            {
                int len = (int)U32(buf, off);
                if (len < HdrLen || len > buf.Length - off) return;
                ReadOnlySpan<byte> m = buf.Slice(off, len);
                int type = U16(m, 4), flags = U16(m, 6);
                uint seq = U32(m, 8);
                int err = 0;
                bool dumping = false;
                if ((flags & NLM_F_REQUEST) != 0 && type >= NLMSG_MIN_TYPE) err = Request(m, type, flags, seq, out dumping);
                if (!dumping && ((flags & NLM_F_ACK) != 0 || err != 0)) Ack(m, err, seq);
                off += Align(len);
            }
        }

        int Request(ReadOnlySpan<byte> m, int type, int flags, uint seq, out bool dumping)
        {
            dumping = false;
            if (type > RTM_MAX) return EOPNOTSUPP;
            if (m.Length < HdrLen + 1) return 0;            // no family byte: ignored, as Linux
            int family = m[HdrLen];
            int kind = (type - NLMSG_MIN_TYPE) & 3;          // NEW, DEL, GET, SET
            if (kind != 2) return EOPNOTSUPP;                // no changes: addresses come from the command line or DHCP
            if ((flags & NLM_F_DUMP) == NLM_F_DUMP)
            {
                if (type != RTM_GETLINK && type != RTM_GETADDR && type != RTM_GETROUTE) return EOPNOTSUPP;
                if (_dumpType != 0) return EBUSY;
                _dumpType = type; _dumpFamily = family; _dumpPos = 0; _dumpSeq = seq;
                dumping = true;
                FillDump();
                return 0;
            }
            if (type == RTM_GETLINK) return GetLink(m, seq);
            return EOPNOTSUPP;
        }

        /// RTM_GETLINK for one interface: by ifi_index, else by IFLA_IFNAME.
        int GetLink(ReadOnlySpan<byte> m, uint seq)
        {
            if (m.Length < HdrLen + 16) return EINVAL;
            int index = (int)U32(m, HdrLen + 4);
            NetIf nif = null;
            if (index > 0) nif = _stack.FindIf(index);
            else
            {
                int at = HdrLen + 16;
                bool named = false;
                while (m.Length - at >= 4)
                {
                    int alen = U16(m, at), atype = U16(m, at + 2) & 0x3fff;
                    if (alen < 4 || alen > m.Length - at) break;
                    if (atype == IFLA_IFNAME)
                    {
                        named = true;
                        ReadOnlySpan<byte> name = m.Slice(at + 4, alen - 4);
                        int n = 0;
                        while (n < name.Length && name[n] != 0) n++;
                        nif = ByName(name.Slice(0, n));
                    }
                    at += Align(alen);
                }
                if (!named) return EINVAL;
            }
            if (nif == null) return ENODEV;
            int len = BuildLink(nif, _scratch, 0, seq);
            var a = new byte[len];
            new ReadOnlySpan<byte>(_scratch, 0, len).CopyTo(a);
            Enqueue(a, len, 0, false);
            return 0;
        }

        NetIf ByName(ReadOnlySpan<byte> name)
        {
            for (int i = 0; i < _stack.IfCount; i++)
                if (((ReadOnlySpan<byte>)_stack.Ifs[i].Name).SequenceEqual(name)) return _stack.Ifs[i];
            return null;
        }

        /// NLMSG_ERROR for message `m`: errno `err` (0: an acknowledgement).
        void Ack(ReadOnlySpan<byte> m, int err, uint seq)
        {
            bool echo = err != 0 && !CapAck;
            int len = HdrLen + 4 + (echo ? m.Length : HdrLen);
            var a = new byte[Align(len)];                 // nlmsg_len exact, the datagram padded
            Header(a, len, NLMSG_ERROR, echo ? 0 : NLM_F_CAPPED, seq, PortId);
            Put32(a, HdrLen, (uint)(-err));
            (echo ? m : m.Slice(0, HdrLen)).CopyTo(new Span<byte>(a, HdrLen + 4, len - HdrLen - 4));
            Enqueue(a, a.Length, 0, false);
        }

        // ---- dumps

        /// Makes the dump's next datagram: as many whole messages as fit, then NLMSG_DONE
        /// once everything was sent (in the same datagram when it fits).
        void FillDump()
        {
            int cap = MaxRecvLen < GoodSize ? GoodSize : MaxRecvLen > MaxDumpSize ? MaxDumpSize : MaxRecvLen;
            var buf = new byte[cap];
            int len = 0;
            while (true)
            {
                int n = DumpEntry(_dumpPos, _scratch, out bool end);
                if (end)
                {
                    if (len + HdrLen + 4 > cap) break;
                    Header(new Span<byte>(buf, len, HdrLen + 4), HdrLen + 4, NLMSG_DONE, NLM_F_MULTI, _dumpSeq, PortId);
                    Put32(buf, len + HdrLen, 0);
                    len += HdrLen + 4;
                    _dumpType = 0;
                    break;
                }
                if (len + n > cap) break;
                new ReadOnlySpan<byte>(_scratch, 0, n).CopyTo(new Span<byte>(buf, len, n));
                len += n;
                _dumpPos++;
            }
            if (len > 0) Enqueue(buf, len, 0, true);
        }

        /// Dump entry `pos` of the current dump into `b`: its length (0 for an entry the
        /// family filter skips); `end` when there is none.
        int DumpEntry(int pos, Span<byte> b, out bool end)
        {
            end = false;
            switch (_dumpType)
            {
                case RTM_GETLINK:
                    if (pos >= _stack.IfCount) { end = true; return 0; }
                    return BuildLink(_stack.Ifs[pos], b, NLM_F_MULTI, _dumpSeq);
                case RTM_GETADDR:
                    // Every interface's IPv4 addresses, then every interface's IPv6 ones (Linux
                    // dumps the families one after the other).
                    for (int pass = 0; pass < 2; pass++)
                        for (int i = 0; i < _stack.IfCount; i++)
                        {
                            NetIf n = _stack.Ifs[i];
                            int c = IfAddrs.Count(n);
                            for (int k = 0; k < c; k++)
                            {
                                IfAddress a = IfAddrs.Get(n, k);
                                if ((a.Family == AF_INET6) != (pass == 1)) continue;
                                if (pos-- > 0) continue;
                                if (!FamilyWanted(a.Family)) return 0;
                                return BuildAddr(n, a, b, NLM_F_MULTI, _dumpSeq);
                            }
                        }
                    end = true;
                    return 0;
                case RTM_GETROUTE:
                    {
                        Span<Route> routes = stackalloc Route[MaxRoutes];
                        int count = Routes(_stack, routes);
                        if (pos >= count) { end = true; return 0; }
                        if (!FamilyWanted(AF_INET)) return 0;
                        return BuildRoute(routes[pos], b, NLM_F_MULTI, _dumpSeq);
                    }
            }
            end = true;
            return 0;
        }

        bool FamilyWanted(int f) => _dumpFamily != AF_INET && _dumpFamily != AF_INET6 || _dumpFamily == f;

        // ---- messages

        /// The ifi_flags of an interface (SIOCGIFFLAGS shows the low 16 bits of the same).
        public static int LinkFlags(NetIf n) =>
            n.Loopback ? IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
            : (n.Up ? IFF_UP | IFF_RUNNING | IFF_LOWER_UP : 0) | IFF_BROADCAST | IFF_MULTICAST;

        /// RTM_NEWLINK describing `n` (ifinfomsg and attributes in rtnl_fill_ifinfo's order).
        public int BuildLink(NetIf n, Span<byte> b, int flags, uint seq)
        {
            b.Slice(0, HdrLen + 16).Clear();
            b[HdrLen] = AF_UNSPEC;
            Put16(b, HdrLen + 2, n.Loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER);
            Put32(b, HdrLen + 4, (uint)n.Index);
            Put32(b, HdrLen + 8, (uint)LinkFlags(n));
            int at = HdrLen + 16;
            at = AttrStr(b, at, IFLA_IFNAME, n.Name);
            at = AttrU32(b, at, IFLA_TXQLEN, 1000);
            at = AttrU8(b, at, IFLA_OPERSTATE, n.Loopback ? IF_OPER_UNKNOWN : n.Up ? IF_OPER_UP : IF_OPER_DOWN);
            at = AttrU8(b, at, IFLA_LINKMODE, 0);
            at = AttrU32(b, at, IFLA_MTU, (uint)n.Mtu);
            at = AttrU32(b, at, IFLA_GROUP, 0);
            at = AttrU32(b, at, IFLA_PROMISCUITY, 0);
            at = AttrU32(b, at, IFLA_NUM_TX_QUEUES, 1);
            at = AttrU32(b, at, IFLA_NUM_RX_QUEUES, 1);
            at = AttrU8(b, at, IFLA_CARRIER, n.Loopback || n.Up ? 1 : 0);
            at = AttrStr(b, at, IFLA_QDISC, n.Loopback ? "noqueue"u8 : "pfifo_fast"u8);
            Span<byte> mac = stackalloc byte[6];
            if (!n.Loopback) for (int i = 0; i < 6; i++) mac[i] = n.Mac[i];
            at = Attr(b, at, IFLA_ADDRESS, mac);
            if (!n.Loopback) mac.Fill(0xff);
            at = Attr(b, at, IFLA_BROADCAST, mac);
            // rtnl_link_stats64 (25 counters in 6.1) and rtnl_link_stats (24), in the same order:
            // rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx dropped, then error details.
            Span<byte> st = stackalloc byte[200];
            st.Clear();
            Put64(st, 0, n.RxPackets); Put64(st, 8, n.TxPackets); Put64(st, 16, n.RxBytes); Put64(st, 24, n.TxBytes);
            Put64(st, 48, n.RxDropped); Put64(st, 56, n.TxDropped);
            at = Attr(b, at, IFLA_STATS64, st);
            Span<byte> st32 = st.Slice(0, 96);
            for (int i = 0; i < 24; i++)
            {
                ulong v = 0;
                if (i < 8) { v = 0; for (int k = 0; k < 8; k++) v |= (ulong)st[i * 8 + k] << (8 * k); }
                Put32(st32, i * 4, (uint)v);    // in place: field i (4 bytes) never overtakes field i's 8-byte source
            }
            at = Attr(b, at, IFLA_STATS, st32);
            Header(b, at, RTM_NEWLINK, flags, seq, PortId);
            return at;
        }

        /// RTM_NEWADDR describing address `a` of `n` (inet_fill_ifaddr's attributes; IPv6's
        /// have no IFA_LOCAL, IFA_BROADCAST or IFA_LABEL).
        public int BuildAddr(NetIf n, IfAddress a, Span<byte> b, int flags, uint seq)
        {
            b.Slice(0, HdrLen + 8).Clear();
            b[HdrLen] = (byte)a.Family; b[HdrLen + 1] = (byte)a.PrefixLen; b[HdrLen + 2] = (byte)a.Flags; b[HdrLen + 3] = (byte)a.Scope;
            Put32(b, HdrLen + 4, (uint)n.Index);
            int at = HdrLen + 8;
            Span<byte> addr = stackalloc byte[16];
            int alen = a.Write(addr);
            at = Attr(b, at, IFA_ADDRESS, addr.Slice(0, alen));
            Span<byte> cache = stackalloc byte[16];
            uint stamp = (uint)(_stack.Now / 10);
            Put32(cache, 0, 0xffffffff); Put32(cache, 4, 0xffffffff); Put32(cache, 8, stamp); Put32(cache, 12, stamp);
            if (a.Family == AF_INET)
            {
                at = Attr(b, at, IFA_LOCAL, addr.Slice(0, 4));
                if (!n.Loopback && a.PrefixLen < 31) at = AttrV4(b, at, IFA_BROADCAST, a.V4 | ~PrefixMask(a.PrefixLen));
                at = AttrStr(b, at, IFA_LABEL, n.Name);
                at = AttrU32(b, at, IFA_FLAGS, (uint)a.Flags);
                at = Attr(b, at, IFA_CACHEINFO, cache);
            }
            else
            {
                at = Attr(b, at, IFA_CACHEINFO, cache);
                at = AttrU32(b, at, IFA_FLAGS, (uint)a.Flags);
            }
            Header(b, at, RTM_NEWADDR, flags, seq, PortId);
            return at;
        }

        static uint PrefixMask(int len) => len == 0 ? 0 : 0xffffffffu << (32 - len);

        // ---- the IPv4 routing table, as Linux builds it from the interfaces' addresses

        public struct Route
        {
            public int Table, Protocol, Scope, Type, DstLen, Oif;
            public uint Dst, Gateway, PrefSrc;      // host order; 0: none
        }
        public const int MaxRoutes = 32;

        /// The routes the stack's Route() follows, in Linux's dump order (main table, then
        /// local; by destination within each): the default route through a gateway, each
        /// on-link subnet, and the local table's local and broadcast entries.
        public static int Routes(NetStack s, Span<Route> r)
        {
            int n = 0;
            for (int i = 0; i < s.IfCount; i++)
            {
                NetIf f = s.Ifs[i];
                if (f.Addr == 0 || !f.Up || n + 5 > r.Length) continue;
                uint mask = PrefixMask(f.PrefixLen);
                if (!f.Loopback)
                {
                    if (f.Gateway != 0)
                        r[n++] = new Route { Table = RT_TABLE_MAIN, Protocol = RTPROT_BOOT, Type = RTN_UNICAST, Gateway = f.Gateway, Oif = f.Index };
                    if (f.PrefixLen < 32)
                        r[n++] = new Route { Table = RT_TABLE_MAIN, Protocol = RTPROT_KERNEL, Scope = IfAddress.ScopeLink, Type = RTN_UNICAST,
                            Dst = f.Addr & mask, DstLen = f.PrefixLen, PrefSrc = f.Addr, Oif = f.Index };
                }
                else if (f.PrefixLen < 32)
                    r[n++] = new Route { Table = RT_TABLE_LOCAL, Protocol = RTPROT_KERNEL, Scope = IfAddress.ScopeHost, Type = RTN_LOCAL,
                        Dst = f.Addr & mask, DstLen = f.PrefixLen, PrefSrc = f.Addr, Oif = f.Index };
                r[n++] = new Route { Table = RT_TABLE_LOCAL, Protocol = RTPROT_KERNEL, Scope = IfAddress.ScopeHost, Type = RTN_LOCAL,
                    Dst = f.Addr, DstLen = 32, PrefSrc = f.Addr, Oif = f.Index };
                if (f.PrefixLen < 31)
                    r[n++] = new Route { Table = RT_TABLE_LOCAL, Protocol = RTPROT_KERNEL, Scope = IfAddress.ScopeLink, Type = RTN_BROADCAST,
                        Dst = f.Addr | ~mask, DstLen = 32, PrefSrc = f.Addr, Oif = f.Index };
            }
            // Insertion sort: table (main first), destination, prefix length.
            for (int i = 1; i < n; i++)
            {
                Route x = r[i];
                int j = i - 1;
                while (j >= 0 && Before(x, r[j])) { r[j + 1] = r[j]; j--; }
                r[j + 1] = x;
            }
            return n;
        }

        static bool Before(Route a, Route b)
        {
            if (a.Table != b.Table) return a.Table < b.Table;
            if (a.Dst != b.Dst) return a.Dst < b.Dst;
            return a.DstLen < b.DstLen;
        }

        /// RTM_NEWROUTE for one route (fib_dump_info's attributes).
        public int BuildRoute(Route r, Span<byte> b, int flags, uint seq)
        {
            b.Slice(0, HdrLen + 12).Clear();
            b[HdrLen] = AF_INET; b[HdrLen + 1] = (byte)r.DstLen; b[HdrLen + 4] = (byte)r.Table;
            b[HdrLen + 5] = (byte)r.Protocol; b[HdrLen + 6] = (byte)r.Scope; b[HdrLen + 7] = (byte)r.Type;
            int at = HdrLen + 12;
            at = AttrU32(b, at, RTA_TABLE, (uint)r.Table);
            if (r.DstLen > 0) at = AttrV4(b, at, RTA_DST, r.Dst);
            if (r.PrefSrc != 0) at = AttrV4(b, at, RTA_PREFSRC, r.PrefSrc);
            if (r.Gateway != 0) at = AttrV4(b, at, RTA_GATEWAY, r.Gateway);
            at = AttrU32(b, at, RTA_OIF, (uint)r.Oif);
            Header(b, at, RTM_NEWROUTE, flags, seq, PortId);
            return at;
        }
    }
}
