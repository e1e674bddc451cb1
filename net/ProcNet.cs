using System;
using Kernel.Abi;
using Kernel.Console;

namespace Kernel.Net
{
    /// The text of /proc/net/{tcp,tcp6,udp,udp6,unix,dev,if_inet6,route} in Linux's formats
    /// (the column layouts of its seq_file show functions, padding included). What differs:
    /// the timer columns (tr, tm->when) are 0 except for TIME_WAIT, kernel pointers print
    /// as 0 (as Linux shows them to a reader without CAP_SYSLOG), a TCP connection closed by
    /// its program (an orphan) is listed under tcp whatever its family, and /proc/net/unix
    /// lists bound sockets only.
    public static class ProcNet
    {
        const int AF_INET6 = AddressFamily.AF_INET6;

        static void HexUpper(ref LineWriter w, ulong v, int digits)
        {
            for (int i = digits - 1; i >= 0; i--)
            {
                int nib = (int)((v >> (i * 4)) & 0xf);
                w.Byte((byte)(nib < 10 ? '0' + nib : 'A' + nib - 10));
            }
        }

        /// An IPv4 address as Linux prints its __be32: the network-order bytes read as a
        /// little-endian word, "%08X" (127.0.0.1 is 0100007F).
        static void V4(ref LineWriter w, uint hostOrder) => HexUpper(ref w, Swap(hostOrder), 8);
        static void V4(ref LineWriter w, IpAddr a) => V4(ref w, a.IsV4 ? a.V4Value : 0);

        static uint Swap(uint v) => (v >> 24) | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | (v << 24);

        /// An address of an AF_INET6 socket as four "%08X" words, each the network-order
        /// bytes read as a little-endian word (::1 is 00000000000000000000000001000000).
        static void V6(ref LineWriter w, IpAddr a)
        {
            for (int i = 0; i < 4; i++)
            {
                ulong half = i < 2 ? a.Hi : a.Lo;
                uint word = (uint)(half >> (i % 2 == 0 ? 32 : 0));
                HexUpper(ref w, Swap(word), 8);
            }
        }

        static void Pad(ref LineWriter w, int lineStart, int width)
        {
            while (w.Length - lineStart < width) w.Byte((byte)' ');
            w.Byte((byte)'\n');
        }

        static void Right(ref LineWriter w, long v, int width)
        {
            int digits = v < 0 ? 2 : 1;
            for (long x = v < 0 ? -v : v; x >= 10; x /= 10) digits++;
            for (int i = digits; i < width; i++) w.Byte((byte)' ');
            w.Dec(v);
        }

        static InetSocket OwnerOf(TcpConnection c)
        {
            if (c.Owner is InetSocket s) return s;
            return c.Parent?.Owner as InetSocket;
        }

        /// /proc/net/tcp (v6 false) or /proc/net/tcp6: listeners first, then connections.
        public static void Tcp(ref LineWriter w, bool v6)
        {
            NetStack s = NetKernel.Stack;
            if (v6) w.Str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
            else { int h = w.Length; w.Str("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"); Pad(ref w, h, 149); }
            if (s == null) return;
            int sl = 0;
            for (int pass = 0; pass < 2; pass++)
                for (TcpConnection c = s.TcpList; c != null; c = c.AllNext)
                {
                    if (c.State == TcpState.Closed || (c.State == TcpState.Listen) != (pass == 0)) continue;
                    InetSocket o = OwnerOf(c);
                    if ((o != null && o.Domain == AF_INET6) != v6) continue;
                    TcpRow(ref w, c, o, sl++, v6);
                }
        }

        static void TcpRow(ref LineWriter w, TcpConnection c, InetSocket o, int sl, bool v6)
        {
            int start = w.Length;
            Right(ref w, sl, 4); w.Str(": ");
            if (v6) V6(ref w, c.LocalAddr); else V4(ref w, c.LocalAddr);
            w.Byte((byte)':'); HexUpper(ref w, (ulong)c.LocalPort, 4); w.Byte((byte)' ');
            if (v6) V6(ref w, c.RemoteAddr); else V4(ref w, c.RemoteAddr);
            w.Byte((byte)':'); HexUpper(ref w, (ulong)c.RemotePort, 4); w.Byte((byte)' ');
            HexUpper(ref w, (ulong)c.State, 2); w.Byte((byte)' ');
            if (c.State == TcpState.TimeWait)
            {
                // get_timewait4_sock: no queues, timer 3, no inode.
                w.Str("00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000");
            }
            else
            {
                bool listen = c.State == TcpState.Listen;
                HexUpper(ref w, listen ? 0 : (ulong)(uint)c.SendQueued, 8); w.Byte((byte)':');
                HexUpper(ref w, (ulong)(uint)(listen ? c.AcceptCount : c.Unread), 8);
                w.Str(" 00:00000000 "); HexUpper(ref w, c.Retransmits, 8);
                w.Str("     0        0 "); w.Udec(o != null && c.Owner != null ? o.Ino : 0);
                w.Str(" 1 0000000000000000 ");
                w.Udec((ulong)(listen ? 100 : c.Rto / 10)); w.Byte((byte)' ');
                w.Udec((ulong)(listen ? 0 : 4)); w.Str(" 0 ");
                int mss = c.Mss > 0 ? c.Mss : 536;
                w.Udec(listen ? 10 : c.Cwnd / (uint)mss); w.Byte((byte)' ');
                if (listen) w.Dec(0);
                else if (c.Ssthresh >= 0x7fffffff) w.Dec(-1);
                else w.Udec(c.Ssthresh / (uint)mss);
            }
            if (v6) w.Byte((byte)'\n'); else Pad(ref w, start, 149);
        }

        /// /proc/net/udp (v6 false) or /proc/net/udp6.
        public static void Udp(ref LineWriter w, bool v6)
        {
            NetStack s = NetKernel.Stack;
            if (v6) w.Str("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n");
            else { int h = w.Length; w.Str("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"); Pad(ref w, h, 127); }
            if (s == null) return;
            for (UdpEndpoint e = s.UdpList; e != null; e = e.Next)
            {
                var o = e.Owner as InetSocket;
                if ((o != null && o.Domain == AF_INET6) != v6) continue;
                int start = w.Length;
                Right(ref w, e.LocalPort & 0xff, 5); w.Str(": ");            // the hash slot, as Linux
                if (v6) V6(ref w, e.LocalAddr); else V4(ref w, e.LocalAddr);
                w.Byte((byte)':'); HexUpper(ref w, (ulong)e.LocalPort, 4); w.Byte((byte)' ');
                if (v6) V6(ref w, e.RemoteAddr); else V4(ref w, e.RemoteAddr);
                w.Byte((byte)':'); HexUpper(ref w, (ulong)e.RemotePort, 4); w.Byte((byte)' ');
                HexUpper(ref w, e.RemotePort != 0 ? 1UL : 7UL, 2);
                w.Str(" 00000000:"); HexUpper(ref w, (ulong)(uint)e.QueuedBytes, 8);
                w.Str(" 00:00000000 00000000     0        0 "); w.Udec(o != null ? o.Ino : 0);
                w.Str(" 2 0000000000000000 "); w.Udec(e.Drops);
                if (v6) w.Byte((byte)'\n'); else Pad(ref w, start, 127);
            }
        }

        /// /proc/net/unix: the bound sockets.
        public static void Unix(ref LineWriter w)
        {
            w.Str("Num       RefCount Protocol Flags    Type St Inode Path\n");
            for (int i = 0; i < UnixSocket.BoundCount; i++)
            {
                UnixSocket u = UnixSocket.BoundAt(i);
                w.Str("0000000000000000: 00000002 00000000 ");
                HexUpper(ref w, u.Listening ? 0x10000UL : 0, 8); w.Byte((byte)' ');
                HexUpper(ref w, (ulong)u.Type, 4); w.Byte((byte)' ');
                HexUpper(ref w, (ulong)u.ProcState, 2); w.Byte((byte)' ');
                Right(ref w, (long)u.Ino, 5);
                ReadOnlySpan<byte> p = u.BoundPath;
                if (p.Length > 0)
                {
                    w.Byte((byte)' ');
                    bool isAbstract = p[0] == 0;
                    int n = p.Length;
                    if (!isAbstract) while (n > 0 && p[n - 1] == 0) n--;
                    for (int k = 0; k < n; k++) w.Byte(p[k] == 0 ? (byte)'@' : p[k]);
                }
                w.Byte((byte)'\n');
            }
        }

        /// /proc/net/dev.
        public static void Dev(ref LineWriter w)
        {
            w.Str("Inter-|   Receive                                                |  Transmit\n");
            w.Str(" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n");
            NetStack s = NetKernel.Stack;
            if (s == null) return;
            for (int i = 0; i < s.IfCount; i++)
            {
                NetIf n = s.Ifs[i];
                for (int k = n.Name.Length; k < 6; k++) w.Byte((byte)' ');
                w.Bytes(n.Name); w.Byte((byte)':');
                Right(ref w, (long)n.RxBytes, 8); w.Byte((byte)' ');
                Right(ref w, (long)n.RxPackets, 7); w.Str("    0 ");
                Right(ref w, (long)n.RxDropped, 4); w.Str("    0     0          0         0 ");
                Right(ref w, (long)n.TxBytes, 8); w.Byte((byte)' ');
                Right(ref w, (long)n.TxPackets, 7); w.Str("    0 ");
                Right(ref w, (long)n.TxDropped, 4); w.Str("    0     0       0          0\n");
            }
        }

        /// /proc/net/if_inet6: the IPv6 addresses (IfAddrs), "addr ifindex prefix scope flags name".
        public static void IfInet6(ref LineWriter w)
        {
            NetStack s = NetKernel.Stack;
            if (s == null) return;
            Span<byte> a = stackalloc byte[16];
            for (int i = 0; i < s.IfCount; i++)
            {
                NetIf n = s.Ifs[i];
                for (int k = 0; k < IfAddrs.Count(n); k++)
                {
                    IfAddress x = IfAddrs.Get(n, k);
                    if (x.Family != AF_INET6) continue;
                    x.Write(a);
                    for (int b = 0; b < 16; b++) { w.Byte(Lower(a[b] >> 4)); w.Byte(Lower(a[b] & 15)); }
                    w.Byte((byte)' '); Hex2(ref w, n.Index); w.Byte((byte)' '); Hex2(ref w, x.PrefixLen);
                    // if_inet6 prints the IPv6 scope as ipv6_addr_scope's value: host 0x10, link 0x20, global 0.
                    int scope = x.Scope == IfAddress.ScopeHost ? 0x10 : x.Scope == IfAddress.ScopeLink ? 0x20 : 0;
                    w.Byte((byte)' '); Hex2(ref w, scope); w.Byte((byte)' '); Hex2(ref w, x.Flags); w.Byte((byte)' ');
                    for (int k2 = n.Name.Length; k2 < 8; k2++) w.Byte((byte)' ');
                    w.Bytes(n.Name); w.Byte((byte)'\n');
                }
            }
        }

        static byte Lower(int nib) => (byte)(nib < 10 ? '0' + nib : 'a' + nib - 10);
        static void Hex2(ref LineWriter w, int v) { w.Byte(Lower(v >> 4 & 15)); w.Byte(Lower(v & 15)); }

        /// /proc/net/route: the main table's IPv4 routes (the ones `route -n` shows).
        public static void Route(ref LineWriter w)
        {
            int h = w.Length;
            w.Str("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
            Pad(ref w, h, 127);
            NetStack s = NetKernel.Stack;
            if (s == null) return;
            Span<NetlinkRoute.Route> r = stackalloc NetlinkRoute.Route[NetlinkRoute.MaxRoutes];
            int count = NetlinkRoute.Routes(s, r);
            for (int i = 0; i < count; i++)
            {
                if (r[i].Table != NetlinkRoute.RT_TABLE_MAIN) continue;
                NetIf n = s.FindIf(r[i].Oif);
                int start = w.Length;
                if (n != null) w.Bytes(n.Name);
                w.Byte((byte)'\t'); V4(ref w, r[i].Dst);
                w.Byte((byte)'\t'); V4(ref w, r[i].Gateway);
                int flags = 1 | (r[i].Gateway != 0 ? 2 : 0) | (r[i].DstLen == 32 ? 4 : 0);        // RTF_UP, RTF_GATEWAY, RTF_HOST
                w.Byte((byte)'\t'); HexUpper(ref w, (ulong)flags, 4);
                w.Str("\t0\t0\t0\t");
                V4(ref w, r[i].DstLen == 0 ? 0 : 0xffffffffu << (32 - r[i].DstLen));
                w.Str("\t0\t0\t0");
                Pad(ref w, start, 127);
            }
        }
    }
}
