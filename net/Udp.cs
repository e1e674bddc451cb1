using System;

namespace Kernel.Net
{
    /// A UDP endpoint (RFC 768): a bound port, an optional connected peer, and a queue of
    /// received datagrams limited by bytes (SO_RCVBUF).
    public sealed class UdpEndpoint
    {
        sealed class Datagram { public byte[] Data; public IpAddr Src, Dst; public int Port, IfIndex, Hops, Tclass; public Datagram Next; }

        internal readonly NetStack Stack;
        public IpAddr LocalAddr, RemoteAddr;
        public int LocalPort, RemotePort;        // RemotePort != 0: connected
        public bool ReuseAddr, ReusePort, Broadcast, Bound;
        /// IPV6_V6ONLY: a binding to :: takes no IPv4 datagrams.
        public bool V6Only;
        /// The interface of a link-local peer (its scope id), 0 for none.
        public int IfIndex;
        public int RcvBuf = 212992, SndBuf = 212992;
        /// IPv4's IP_TOS and IP_TTL; IPv6's IPV6_TCLASS, IPV6_UNICAST_HOPS (-1: the
        /// default, 64) and IPV6_MULTICAST_HOPS (1 by default). A datagram uses its
        /// destination's family's pair.
        public int Tos, Ttl = 64;
        public int Tclass6, Hops6 = -1, McastHops6 = 1;
        public int Error;                        // pending asynchronous error (ECONNREFUSED), read by SO_ERROR or the next call
        public bool RecvErr;                     // IP_RECVERR: ICMP errors reach an unconnected endpoint too (no error queue)
        public bool ReadShut;
        public ulong Drops;
        internal UdpEndpoint Next;
        /// The socket that owns this endpoint (told about every change), or null.
        public object Owner;
        Datagram _head, _tail;
        int _queued, _count;

        internal UdpEndpoint(NetStack s) { Stack = s; }

        public bool Readable => _head != null;
        public int QueuedBytes => _queued;
        /// The next datagram's length (FIONREAD), 0 when none.
        public int NextLength => _head == null ? 0 : _head.Data.Length;

        internal void Enqueue(IpAddr src, int port, in DatagramInfo info, ReadOnlySpan<byte> data)
        {
            if (ReadShut || _queued + data.Length > RcvBuf && _count > 0) { Drops++; return; }
            var d = new Datagram { Data = Wire.ToArray(data), Src = src, Port = port, IfIndex = info.IfIndex, Dst = info.Dst, Hops = info.Hops, Tclass = info.Tclass };
            if (_tail == null) _head = _tail = d; else { _tail.Next = d; _tail = d; }
            _queued += data.Length; _count++;
            Stack.Notify(Owner);
        }

        /// Copies the next datagram into `dst`; its full length (MSG_TRUNC semantics), or -1 when none.
        public int Receive(Span<byte> dst, bool peek, out IpAddr src, out int port) => Receive(dst, peek, out src, out port, out DatagramInfo _);

        /// Receive, with the interface the datagram came in on (the scope of a link-local sender).
        public int Receive(Span<byte> dst, bool peek, out IpAddr src, out int port, out int ifIndex)
        {
            int r = Receive(dst, peek, out src, out port, out DatagramInfo info);
            ifIndex = info.IfIndex;
            return r;
        }

        /// Receive, with what the datagram's IP header said (for IP_PKTINFO, IPV6_HOPLIMIT, ...).
        public int Receive(Span<byte> dst, bool peek, out IpAddr src, out int port, out DatagramInfo info)
        {
            src = default; port = 0; info = default;
            Datagram d = _head;
            if (d == null) return -1;
            int n = d.Data.Length < dst.Length ? d.Data.Length : dst.Length;
            d.Data.AsSpan(0, n).CopyTo(dst);
            src = d.Src; port = d.Port;
            info.IfIndex = d.IfIndex; info.Dst = d.Dst; info.Hops = d.Hops; info.Tclass = d.Tclass;
            if (!peek)
            {
                _head = d.Next;
                if (_head == null) _tail = null;
                _queued -= d.Data.Length; _count--;
            }
            return d.Data.Length;
        }

        /// Sends one datagram to dst:port (from the bound address, binding an ephemeral port first). 0 or a NetErr.
        public int SendTo(ReadOnlySpan<byte> data, IpAddr dst, int port, int ifIndex = 0) => SendTo(data, dst, port, ifIndex, default, -1, -1);

        /// SendTo with what a sendmsg's control messages chose: the source address
        /// (`from`, unspecified: the bound or selected one), and the TOS or traffic class
        /// and TTL or hop limit (-1: the socket's).
        public int SendTo(ReadOnlySpan<byte> data, IpAddr dst, int port, int ifIndex, IpAddr from, int tos, int ttl)
        {
            if (data.Length > (dst.IsV4 ? 65507 : 65527)) return NetErr.EMSGSIZE;
            if (!Bound) { int e = Stack.BindUdp(this, dst.IsV4 && !V6Only ? IpAddr.V4Any : IpAddr.Any, 0); if (e != 0) return e; }
            bool bcast = dst.IsV4 && dst.V4Value == 0xffffffff;
            if (bcast && !Broadcast) return 13;                          // EACCES, as Linux without SO_BROADCAST
            if (dst.IsUnspecified) dst = dst.IsV4 ? IpAddr.Loopback4 : IpAddr.Loopback6;     // "any" as destination means this host
            if (ifIndex == 0) ifIndex = IfIndex;
            IpAddr src = from.IsUnspecified ? LocalAddr : from;
            if (!src.IsUnspecified && src.IsV4 != dst.IsV4) return NetErr.ENETUNREACH;
            if (src.IsUnspecified)
            {
                src = Stack.SourceFor(dst, ifIndex);
                // An IPv6 route with no usable (non-tentative) source: EADDRNOTAVAIL, as Linux.
                if (src.IsUnspecified && !bcast) return Stack.NoSourceError(dst, ifIndex);
            }
            if (dst.IsV4) { if (tos < 0) tos = Tos; if (ttl < 0) ttl = Ttl; }
            else
            {
                if (tos < 0) tos = Tclass6;
                if (ttl < 0) ttl = dst.IsMulticast ? McastHops6 : Hops6;
                if (ttl < 0) ttl = 64;
            }
            Span<byte> u = Stack.Tx.AsSpan(NetStack.Payload, 8 + data.Length);
            Wire.Put16(u, 0, LocalPort); Wire.Put16(u, 2, port); Wire.Put16(u, 4, 8 + data.Length); Wire.Put16(u, 6, 0);
            data.CopyTo(u.Slice(8));
            Wire.Put16(u, 6, Wire.PartialChecksum(Wire.PseudoSum(src, dst, NetStack.ProtoUdp, u.Length)));     // IpOutput finishes it
            int r = Stack.IpOutput(src, dst, NetStack.ProtoUdp, u.Length, tos, ttl, false, ifIndex);
            Stack.Pump();
            return r;
        }

        public void Close()
        {
            Stack.UnbindUdp(this);
            _head = _tail = null; _queued = 0; _count = 0;
        }
    }

    /// What a received datagram's IP header and arrival said: the interface, the
    /// destination address, the hop limit (TTL) and the traffic class (TOS).
    public struct DatagramInfo
    {
        public IpAddr Dst;
        public int IfIndex, Hops, Tclass;
    }

    public sealed partial class NetStack
    {
        public const int EphemeralFirst = 32768, EphemeralLast = 60999;
        int _nextEphemeral;
        UdpEndpoint _udp;

        public UdpEndpoint NewUdp() => new UdpEndpoint(this);

        public UdpEndpoint UdpList => _udp;
        internal UdpEndpoint UdpNext(UdpEndpoint e) => e.Next;

        bool UdpPortFree(UdpEndpoint me, IpAddr addr, int port)
        {
            for (UdpEndpoint e = _udp; e != null; e = e.Next)
            {
                if (e == me || e.LocalPort != port) continue;
                if (!Overlap(e.LocalAddr, e.V6Only, addr, me.V6Only)) continue;
                if (e.ReusePort && me.ReusePort) continue;
                if (e.ReuseAddr && me.ReuseAddr) continue;
                return false;
            }
            return true;
        }

        /// Binds `e` to addr:port (port 0: an ephemeral one). 0 or a NetErr.
        public int BindUdp(UdpEndpoint e, IpAddr addr, int port)
        {
            if (e.Bound) return NetErr.EINVAL;
            if (!addr.IsUnspecified && !(addr.IsV4 && addr.V4Value == 0xffffffff) && !IsLocal(addr)) return NetErr.EADDRNOTAVAIL;
            if (port == 0)
            {
                int span = EphemeralLast - EphemeralFirst + 1;
                for (int i = 0; i < span; i++)
                {
                    int p = _nextEphemeral;
                    _nextEphemeral = p == EphemeralLast ? EphemeralFirst : p + 1;
                    if (UdpPortFree(e, addr, p)) { port = p; break; }
                }
                if (port == 0) return NetErr.EAGAIN;
            }
            else if (!UdpPortFree(e, addr, port)) return NetErr.EADDRINUSE;
            e.LocalAddr = addr; e.LocalPort = port; e.Bound = true;
            e.Next = _udp; _udp = e;
            return 0;
        }

        internal void UnbindUdp(UdpEndpoint me)
        {
            if (!me.Bound) return;
            if (_udp == me) _udp = me.Next;
            else for (UdpEndpoint e = _udp; e != null; e = e.Next) if (e.Next == me) { e.Next = me.Next; break; }
            me.Next = null; me.Bound = false;
        }

        /// Datagrams seen by Dhcp before any socket (the client in this stack).
        /// `ipHeader`: the IPv4 header, or for IPv6 the packet from its header on (what an
        /// ICMP error quotes).
        void UdpInput(NetIf nif, IpAddr src, IpAddr dst, ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> u, bool broadcast)
        {
            if (u.Length < 8) { Drops++; return; }
            int len = Wire.U16(u, 4);
            if (len < 8 || len > u.Length) { Drops++; return; }
            u = u.Slice(0, len);
            int csum = Wire.U16(u, 6);
            if (csum == 0 && !src.IsV4 && !nif.Loopback) { Drops++; return; }        // mandatory over IPv6 (RFC 8200 8.1)
            if (csum != 0 && VerifyChecksum(nif) && Wire.Fold(Wire.Sum(u, Wire.PseudoSum(src, dst, ProtoUdp, len))) != 0) { Drops++; return; }
            int sport = Wire.U16(u, 0), dport = Wire.U16(u, 2);
            ReadOnlySpan<byte> data = u.Slice(8);
            var info = new DatagramInfo
            {
                Dst = dst, IfIndex = nif.Index,
                Hops = src.IsV4 ? ipHeader[8] : ipHeader[7],
                Tclass = src.IsV4 ? ipHeader[1] : (ipHeader[0] & 15) << 4 | ipHeader[1] >> 4,
            };
            if (src.IsV4)
            {
                if (dport == 68 && DhcpInput(nif, data)) return;
                if (nif.Addr == 0 && !nif.Loopback) { Drops++; return; }
            }
            if (broadcast)
            {
                for (UdpEndpoint e = _udp; e != null; e = e.Next)
                    if (e.LocalPort == dport && Covers(e.LocalAddr, e.V6Only, dst) && (e.RemotePort == 0 || (e.RemoteAddr == src && e.RemotePort == sport)))
                        e.Enqueue(src, sport, info, data);
                return;
            }
            UdpEndpoint best = null; int score = -1;
            for (UdpEndpoint e = _udp; e != null; e = e.Next)
            {
                if (e.LocalPort != dport) continue;
                if (!Covers(e.LocalAddr, e.V6Only, dst)) continue;
                if (e.RemotePort != 0 && (e.RemoteAddr != src || e.RemotePort != sport)) continue;
                int s = (!e.LocalAddr.IsUnspecified ? 1 : 0) + (e.RemotePort != 0 ? 2 : 0);
                if (s > score) { best = e; score = s; }
            }
            if (best != null) { best.Enqueue(src, sport, info, data); return; }
            if (src.IsV4) IcmpError(3, 3, ipHeader, u, src.V4Value, dst.V4Value);      // port unreachable
            else Icmp6Error(1, 4, 0, ipHeader, src, dst);
        }

        void UdpIcmpError(IpAddr src, int sport, IpAddr dst, int dport, int err)
        {
            for (UdpEndpoint e = _udp; e != null; e = e.Next)
                if (e.LocalPort == sport && (e.RemotePort == dport && e.RemoteAddr == dst || e.RemotePort == 0 && e.RecvErr && (e.LocalAddr.IsUnspecified || e.LocalAddr == src)))
                {
                    e.Error = err;
                    Notify(e.Owner);
                }
        }

        /// Whether a binding to `bound` (IPV6_V6ONLY: `v6only`) takes packets for `dst`: the
        /// address itself, 0.0.0.0 any IPv4 one, :: any of both families unless v6only.
        internal static bool Covers(IpAddr bound, bool v6only, IpAddr dst)
        {
            if (bound == dst) return true;
            if (bound.IsV4Any) return dst.IsV4;
            if (bound.IsV6Any) return !dst.IsV4 || !v6only;
            return false;
        }

        /// Whether two bindings of one port would take the same packets (EADDRINUSE unless
        /// reuse allows it): 0.0.0.0 and a dual-stack :: overlap, as on Linux.
        internal static bool Overlap(IpAddr a, bool a6, IpAddr b, bool b6)
        {
            bool aw = a.IsUnspecified, bw = b.IsUnspecified;
            if (!aw && !bw) return a == b;
            if (aw && !bw) return Covers(a, a6, b);
            if (!aw) return Covers(b, b6, a);
            if (a == b) return true;
            return a.IsV4Any ? !b6 : !a6;
        }
    }
}
