using System;

namespace Kernel.Net
{
    /// A UDP endpoint (RFC 768): a bound port, an optional connected peer, and a queue of
    /// received datagrams limited by bytes (SO_RCVBUF).
    public sealed class UdpEndpoint
    {
        sealed class Datagram { public byte[] Data; public uint Src; public int Port; public Datagram Next; }

        internal readonly NetStack Stack;
        public uint LocalAddr, RemoteAddr;
        public int LocalPort, RemotePort;        // RemotePort != 0: connected
        public bool ReuseAddr, ReusePort, Broadcast, Bound;
        public int RcvBuf = 212992, SndBuf = 212992;
        public int Tos, Ttl = 64;
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

        internal void Enqueue(uint src, int port, ReadOnlySpan<byte> data)
        {
            if (ReadShut || _queued + data.Length > RcvBuf && _count > 0) { Drops++; return; }
            var d = new Datagram { Data = Wire.ToArray(data), Src = src, Port = port };
            if (_tail == null) _head = _tail = d; else { _tail.Next = d; _tail = d; }
            _queued += data.Length; _count++;
            Stack.Notify(Owner);
        }

        /// Copies the next datagram into `dst`; its full length (MSG_TRUNC semantics), or -1 when none.
        public int Receive(Span<byte> dst, bool peek, out uint src, out int port)
        {
            src = 0; port = 0;
            Datagram d = _head;
            if (d == null) return -1;
            int n = d.Data.Length < dst.Length ? d.Data.Length : dst.Length;
            d.Data.AsSpan(0, n).CopyTo(dst);
            src = d.Src; port = d.Port;
            if (!peek)
            {
                _head = d.Next;
                if (_head == null) _tail = null;
                _queued -= d.Data.Length; _count--;
            }
            return d.Data.Length;
        }

        /// Sends one datagram to dst:port (from the bound address, binding an ephemeral port first). 0 or a NetErr.
        public int SendTo(ReadOnlySpan<byte> data, uint dst, int port)
        {
            if (data.Length > 65507) return NetErr.EMSGSIZE;
            if (!Bound) { int e = Stack.BindUdp(this, 0, 0); if (e != 0) return e; }
            if (dst == 0xffffffff && !Broadcast) return 13;              // EACCES, as Linux without SO_BROADCAST
            if (dst == 0) dst = Wire.Ip(127, 0, 0, 1);                   // INADDR_ANY as destination means this host
            uint src = LocalAddr;
            if (src == 0) { src = Stack.SourceFor(dst); if (src == 0 && dst != 0xffffffff) return NetErr.ENETUNREACH; }
            Span<byte> u = Stack.Tx.AsSpan(NetStack.Payload, 8 + data.Length);
            Wire.Put16(u, 0, LocalPort); Wire.Put16(u, 2, port); Wire.Put16(u, 4, 8 + data.Length); Wire.Put16(u, 6, 0);
            data.CopyTo(u.Slice(8));
            Wire.Put16(u, 6, Wire.PartialChecksum(Wire.PseudoSum(src, dst, NetStack.ProtoUdp, u.Length)));     // IpOutput finishes it
            int r = Stack.IpOutput(src, dst, NetStack.ProtoUdp, u.Length, Tos, Ttl, df: false);
            Stack.Pump();
            return r;
        }

        public void Close()
        {
            Stack.UnbindUdp(this);
            _head = _tail = null; _queued = 0; _count = 0;
        }
    }

    public sealed partial class NetStack
    {
        public const int EphemeralFirst = 32768, EphemeralLast = 60999;
        int _nextEphemeral;
        UdpEndpoint _udp;

        public UdpEndpoint NewUdp() => new UdpEndpoint(this);

        public UdpEndpoint UdpList => _udp;
        internal UdpEndpoint UdpNext(UdpEndpoint e) => e.Next;

        bool UdpPortFree(UdpEndpoint me, uint addr, int port)
        {
            for (UdpEndpoint e = _udp; e != null; e = e.Next)
            {
                if (e == me || e.LocalPort != port) continue;
                if (e.LocalAddr != 0 && addr != 0 && e.LocalAddr != addr) continue;
                if (e.ReusePort && me.ReusePort) continue;
                if (e.ReuseAddr && me.ReuseAddr) continue;
                return false;
            }
            return true;
        }

        /// Binds `e` to addr:port (port 0: an ephemeral one). 0 or a NetErr.
        public int BindUdp(UdpEndpoint e, uint addr, int port)
        {
            if (e.Bound) return NetErr.EINVAL;
            if (addr != 0 && addr != 0xffffffff && !IsLocal(addr)) return NetErr.EADDRNOTAVAIL;
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
        void UdpInput(NetIf nif, uint src, uint dst, ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> u, bool broadcast)
        {
            if (u.Length < 8) { Drops++; return; }
            int len = Wire.U16(u, 4);
            if (len < 8 || len > u.Length) { Drops++; return; }
            u = u.Slice(0, len);
            if (Wire.U16(u, 6) != 0 && VerifyChecksum(nif) && Wire.Fold(Wire.Sum(u, PseudoSumRaw(src, dst, len))) != 0) { Drops++; return; }
            int sport = Wire.U16(u, 0), dport = Wire.U16(u, 2);
            ReadOnlySpan<byte> data = u.Slice(8);
            if (dport == 68 && DhcpInput(nif, data)) return;
            if (nif.Addr == 0 && !nif.Loopback) { Drops++; return; }
            if (broadcast)
            {
                for (UdpEndpoint e = _udp; e != null; e = e.Next)
                    if (e.LocalPort == dport && (e.LocalAddr == 0 || e.LocalAddr == dst) && (e.RemotePort == 0 || (e.RemoteAddr == src && e.RemotePort == sport)))
                        e.Enqueue(src, sport, data);
                return;
            }
            UdpEndpoint best = null; int score = -1;
            for (UdpEndpoint e = _udp; e != null; e = e.Next)
            {
                if (e.LocalPort != dport) continue;
                if (e.LocalAddr != 0 && e.LocalAddr != dst) continue;
                if (e.RemotePort != 0 && (e.RemoteAddr != src || e.RemotePort != sport)) continue;
                int s = (e.LocalAddr != 0 ? 1 : 0) + (e.RemotePort != 0 ? 2 : 0);
                if (s > score) { best = e; score = s; }
            }
            if (best != null) { best.Enqueue(src, sport, data); return; }
            IcmpError(3, 3, ipHeader, u, src, dst);                     // port unreachable
        }

        static uint PseudoSumRaw(uint src, uint dst, int len) => Wire.PseudoSum(src, dst, ProtoUdp, len);

        void UdpIcmpError(uint src, int sport, uint dst, int dport, int code)
        {
            for (UdpEndpoint e = _udp; e != null; e = e.Next)
                if (e.LocalPort == sport && (e.RemotePort == dport && e.RemoteAddr == dst || e.RemotePort == 0 && e.RecvErr && (e.LocalAddr == 0 || e.LocalAddr == src)))
                {
                    e.Error = code == 3 ? NetErr.ECONNREFUSED : NetErr.EHOSTUNREACH;
                    Notify(e.Owner);
                }
        }
    }
}
