using System;

namespace Kernel.Net
{
    /// TCP's part of the stack: the connection table (a hash on the four-tuple), listeners,
    /// port binding, segments in, RSTs for segments nobody wants, and the timer sweep.
    public sealed partial class NetStack
    {
        /// Set by the kernel's network thread while it feeds a batch of received frames:
        /// TCP then sends one ACK per connection for the batch's in-order data (FlushAcks)
        /// instead of one every second segment.
        public bool DeferAcks;
        readonly TcpConnection[] _deferredAcks = new TcpConnection[64];
        int _deferredCount;

        /// Records `c`'s pending ACK for FlushAcks; false when the list is full (send it now).
        internal bool DeferAck(TcpConnection c)
        {
            if (c.AckDeferred) return true;
            if (_deferredCount == _deferredAcks.Length) return false;
            c.AckDeferred = true;
            _deferredAcks[_deferredCount++] = c;
            return true;
        }

        /// Sends the ACKs deferred during a batch (after DeferAcks is cleared).
        public void FlushAcks()
        {
            for (int i = 0; i < _deferredCount; i++) { _deferredAcks[i].SendDeferredAck(); _deferredAcks[i] = null; }
            _deferredCount = 0;
            Pump();
        }

        const int TcpBuckets = 1024;
        readonly TcpConnection[] _tcpHash = new TcpConnection[TcpBuckets];
        TcpConnection _tcpAll;          // every bound TCP socket and connection (timers, ports, /proc)
        TcpConnection _listeners;       // chained through HashNext
        public int TcpCount;            // entries in the hash
        public ulong SynDropped, ChallengeAcks, ResetsSent;

        public TcpConnection NewTcp() => new TcpConnection(this);
        public TcpConnection TcpList => _tcpAll;

        static int Hash(IpAddr la, int lp, IpAddr ra, int rp)
        {
            uint h = (uint)la.GetHashCode() * 2654435761u ^ (uint)ra.GetHashCode() * 2246822519u ^ (uint)(lp << 16 | rp) * 3266489917u;
            return (int)((h ^ h >> 15) & (TcpBuckets - 1));
        }

        public TcpConnection FindConnection(IpAddr la, int lp, IpAddr ra, int rp)
        {
            for (TcpConnection c = _tcpHash[Hash(la, lp, ra, rp)]; c != null; c = c.HashNext)
                if (c.LocalPort == lp && c.RemotePort == rp && c.LocalAddr == la && c.RemoteAddr == ra) return c;
            return null;
        }

        internal void TcpInsert(TcpConnection c)
        {
            if (c.InTable) return;
            int b = Hash(c.LocalAddr, c.LocalPort, c.RemoteAddr, c.RemotePort);
            c.HashNext = _tcpHash[b]; _tcpHash[b] = c;
            c.InTable = true; TcpCount++;
        }

        internal void TcpRemove(TcpConnection c)
        {
            if (!c.InTable) return;
            int b = Hash(c.LocalAddr, c.LocalPort, c.RemoteAddr, c.RemotePort);
            if (_tcpHash[b] == c) _tcpHash[b] = c.HashNext;
            else for (TcpConnection p = _tcpHash[b]; p != null; p = p.HashNext) if (p.HashNext == c) { p.HashNext = c.HashNext; break; }
            c.HashNext = null; c.InTable = false; TcpCount--;
        }

        internal void ListenerAdd(TcpConnection l) { l.HashNext = _listeners; _listeners = l; }

        internal void ListenerRemove(TcpConnection l)
        {
            if (_listeners == l) _listeners = l.HashNext;
            else for (TcpConnection p = _listeners; p != null; p = p.HashNext) if (p.HashNext == l) { p.HashNext = l.HashNext; break; }
            l.HashNext = null;
        }

        TcpConnection FindListener(IpAddr addr, int port)
        {
            TcpConnection any = null;
            for (TcpConnection l = _listeners; l != null; l = l.HashNext)
                if (l.LocalPort == port)
                {
                    if (l.LocalAddr == addr) return l;
                    if (any == null && l.LocalAddr.IsUnspecified && Covers(l.LocalAddr, l.V6Only, addr)) any = l;
                }
            return any;
        }

        /// Adds a listener's new child to the bound list (it shares the listener's port).
        internal void TcpAdopt(TcpConnection c)
        {
            c.Bound = true;
            c.AllNext = _tcpAll; c.AllPrev = null;
            if (_tcpAll != null) _tcpAll.AllPrev = c;
            _tcpAll = c;
        }

        internal void UnbindTcp(TcpConnection c)
        {
            if (!c.Bound) return;
            if (c.InTable) TcpRemove(c);
            if (c.AllPrev != null) c.AllPrev.AllNext = c.AllNext; else if (_tcpAll == c) _tcpAll = c.AllNext;
            if (c.AllNext != null) c.AllNext.AllPrev = c.AllPrev;
            c.AllNext = c.AllPrev = null;
            c.Bound = false;
        }

        bool TcpPortFree(TcpConnection me, IpAddr addr, int port, bool forConnect)
        {
            for (TcpConnection c = _tcpAll; c != null; c = c.AllNext)
            {
                if (c == me || c.LocalPort != port) continue;
                if (forConnect) return false;
                if (!Overlap(c.LocalAddr, c.V6Only, addr, me.V6Only)) continue;
                if (c.ReusePort && me.ReusePort) continue;
                if (me.ReuseAddr && c.ReuseAddr && c.State != TcpState.Listen) continue;
                if (me.ReuseAddr && c.State == TcpState.TimeWait) continue;
                return false;
            }
            return true;
        }

        /// bind(2) for TCP: addr:port, port 0 for an ephemeral one. 0 or a NetErr.
        public int BindTcp(TcpConnection c, IpAddr addr, int port)
        {
            if (c.Bound) return NetErr.EINVAL;
            if (!addr.IsUnspecified && !IsLocal(addr)) return NetErr.EADDRNOTAVAIL;
            if (port == 0) { port = EphemeralPort(c, addr); if (port == 0) return NetErr.EADDRINUSE; }
            else if (!TcpPortFree(c, addr, port, false)) return NetErr.EADDRINUSE;
            c.LocalAddr = addr; c.LocalPort = port;
            TcpAdopt(c);
            return 0;
        }

        int EphemeralPort(TcpConnection c, IpAddr addr)
        {
            int span = EphemeralLast - EphemeralFirst + 1;
            for (int i = 0; i < span; i++)
            {
                int p = _nextEphemeral;
                _nextEphemeral = p == EphemeralLast ? EphemeralFirst : p + 1;
                if (TcpPortFree(c, addr, p, true)) return p;
            }
            return 0;
        }

        internal int BindTcpEphemeral(TcpConnection c, IpAddr src, IpAddr dst, int dport)
        {
            int p = EphemeralPort(c, src);
            if (p == 0) return NetErr.EADDRNOTAVAIL;          // as Linux when the range is used up
            c.LocalAddr = src; c.LocalPort = p;
            TcpAdopt(c);
            return 0;
        }

        internal void AbortChildren(TcpConnection listener)
        {
            for (TcpConnection c = _tcpAll, next; c != null; c = next)
            {
                next = c.AllNext;
                if (c.Parent == listener && c.State == TcpState.SynReceived) { c.Orphan = true; c.Abort(); }
            }
        }

        internal uint NewIss() => (uint)(Now * 250) + Random();       // RFC 6528: a clock plus an unpredictable part

        void TcpInput(NetIf nif, IpAddr src, IpAddr dst, ReadOnlySpan<byte> t)
        {
            if (t.Length < 20) { Drops++; return; }
            if (VerifyChecksum(nif) && Wire.Fold(Wire.Sum(t, Wire.PseudoSum(src, dst, ProtoTcp, t.Length))) != 0) { Drops++; return; }
            if (!TcpSegment.Parse(t, out TcpSegment s, out int hl)) { Drops++; return; }
            if (s.SrcPort == 0 || s.DstPort == 0) { Drops++; return; }
            ReadOnlySpan<byte> data = t.Slice(hl);
            TcpConnection c = FindConnection(dst, s.DstPort, src, s.SrcPort);
            if (c != null && c.State == TcpState.TimeWait && (s.Flags & (TcpConnection.FlagSyn | TcpConnection.FlagAck | TcpConnection.FlagRst)) == TcpConnection.FlagSyn
                && Wire.Gt(s.Seq, c.RcvNxt) && FindListener(dst, s.DstPort) != null)
            {
                // A new connection on a TIME_WAIT four-tuple (RFC 6191's rule): the old one gives way.
                c.Orphan = true; c.Drop(0); UnbindTcp(c); c = null;
            }
            if (c != null) { c.SegmentArrives(s, data); return; }
            TcpConnection l = FindListener(dst, s.DstPort);
            if (l != null) { l.ListenInput(src, dst, s, nif.Index); return; }
            // CLOSED (RFC 9293 3.10.7.1): answer with a RST unless it is one.
            if ((s.Flags & TcpConnection.FlagRst) != 0) return;
            if ((s.Flags & TcpConnection.FlagAck) != 0) TcpSendRaw(dst, s.DstPort, src, s.SrcPort, s.Ack, 0, TcpConnection.FlagRst, 0, 0, 64);
            else
            {
                int len = data.Length + ((s.Flags & TcpConnection.FlagSyn) != 0 ? 1 : 0) + ((s.Flags & TcpConnection.FlagFin) != 0 ? 1 : 0);
                TcpSendRaw(dst, s.DstPort, src, s.SrcPort, 0, s.Seq + (uint)len, TcpConnection.FlagRst | TcpConnection.FlagAck, 0, 0, 64);
            }
        }

        /// A bare header (RST, ACK) outside any connection's state.
        internal void TcpSendRaw(IpAddr src, int sport, IpAddr dst, int dport, uint seq, uint ack, int flags, int window, int tos, int ttl, int ifIndex = 0)
        {
            Span<byte> t = Tx.AsSpan(Payload, 20);
            Wire.Put16(t, 0, sport); Wire.Put16(t, 2, dport); Wire.Put32(t, 4, seq); Wire.Put32(t, 8, ack);
            t[12] = 5 << 4; t[13] = (byte)flags; Wire.Put16(t, 14, window); Wire.Put16(t, 16, 0); Wire.Put16(t, 18, 0);
            Wire.Put16(t, 16, Wire.PartialChecksum(Wire.PseudoSum(src, dst, ProtoTcp, 20)));
            if ((flags & TcpConnection.FlagRst) != 0) ResetsSent++;
            IpOutput(src, dst, ProtoTcp, 20, tos, ttl, true, ifIndex);
        }

        /// An ICMP error about a segment we sent: `err` a NetErr, or -1 for "packet too big" with `mtu`.
        void TcpIcmpError(IpAddr src, int sport, IpAddr dst, int dport, int err, int mtu)
        {
            TcpConnection c = FindConnection(src, sport, dst, dport);
            if (c != null) c.IcmpError(err, mtu);
        }

        void TcpTick()
        {
            for (TcpConnection c = _tcpAll, next; c != null; c = next)
            {
                next = c.AllNext;
                ulong t = c.NextTimer();
                if (t != 0 && t <= Now) c.Timers(Now);
            }
        }

        ulong TcpNextTimer()
        {
            ulong t = 0;
            for (TcpConnection c = _tcpAll; c != null; c = c.AllNext) t = Earliest(t, c.NextTimer());
            return t;
        }
    }
}
