using System;

namespace Kernel.Net
{
    /// IPv6's part of the stack (RFC 8200, 4443, 4861, 4862): the header and its extension
    /// headers, fragments (reassembled in the IPv4 slots; large UDP datagrams sent as
    /// fragments), ICMPv6 (echo, errors in and out, packet too big), neighbour discovery
    /// sharing ARP's cache and pending queue, router solicitation and advertisement (the
    /// default router, SLAAC addresses from an EUI-64 interface id), duplicate address
    /// detection (RFC 4862 5.4: an address stays tentative, unused, until one probe went
    /// unanswered for RetransTimer), routing and source address selection. MLD is in Mld.cs.
    public sealed partial class NetStack
    {
        const int NdpHopLimit = 255;
        const int RouterSolicitations = 3;
        const ulong RouterSolicitIntervalMs = 4000;
        /// RetransTimer and DupAddrDetectTransmits (RFC 4861 10, RFC 4862 5.1): one probe,
        /// and the address is usable a second later. DadTransmits 0 turns DAD off.
        public const ulong RetransTimerMs = 1000;
        public int DadTransmits = 1;
        /// Addresses that passed DAD, and those found duplicated (the kernel logs these:
        /// LastDadFailed is the latest).
        public ulong DadPassed, DadFailures;
        public IpAddr LastDadFailed;
        public const int MinMtu6 = 1280;

        public IpAddr Dns6;                  // from a router advertisement's RDNSS option
        public ulong Icmp6EchoReplies, DadConflicts, ParamProblems;
        uint _frag6Id;
        NetIf _rsIf; int _rsLeft; ulong _rsAt;

        // ---- configuration ----

        /// The interface id of an Ethernet interface: modified EUI-64 from its MAC (RFC 4291 appendix A).
        public static ulong InterfaceId(NetIf nif)
        {
            byte[] m = nif.Mac;
            return (ulong)(m[0] ^ 2) << 56 | (ulong)m[1] << 48 | (ulong)m[2] << 40 | 0xffUL << 32 | 0xfeUL << 24
                | (ulong)m[3] << 16 | (ulong)m[4] << 8 | m[5];
        }

        /// Brings IPv6 up on an Ethernet interface: its link-local address fe80::/64 and
        /// router solicitations (3, 4 s apart) until an advertisement answers.
        public void EnableIp6(NetIf nif)
        {
            // The solicitation goes at once, from :: while the link-local address is
            // tentative (RFC 4861 6.3.7), so a router's prefix comes without waiting for DAD.
            _rsIf = nif; _rsLeft = RouterSolicitations; _rsAt = Now;
            AddAddress6(nif, new IpAddr(0xfe80UL << 48, InterfaceId(nif)), 64);
            SendRouterSolicit(nif);
        }

        /// Adds an IPv6 address to an interface: it joins the address's solicited-node
        /// group and, off the loopback, stays tentative while DAD probes for it (the first
        /// probe goes now). False when the table is full or the address is there already.
        public bool AddAddress6(NetIf nif, IpAddr a, int prefix, bool dynamic = false)
        {
            if (!nif.AddAddr6(a, prefix, dynamic)) return false;
            int i = nif.Addr6Count - 1;
            bool dad = !nif.Loopback && DadTransmits > 0;
            nif.Flags6[i] = dad ? NetIf.Tentative : 0;
            // The group first (RFC 4862 5.4.2), so the probe's answers and rival probes are heard.
            if (!nif.Loopback) JoinGroup6(nif, a.SolicitedNode);
            if (dad) { nif.DadLeft[i] = DadTransmits; nif.DadAt[i] = Now; DadStep(nif, i); }
            return true;
        }

        /// The interface's usable link-local address (unspecified when it has none, or
        /// while it is tentative).
        public static IpAddr LinkLocal(NetIf nif)
        {
            for (int i = 0; i < nif.Addr6Count; i++) if (nif.Addr6[i].IsLinkLocal && nif.Usable6(i)) return nif.Addr6[i];
            return IpAddr.Any;
        }

        /// A usable global (non-link-local) address of the interface, or unspecified.
        public static IpAddr Global6(NetIf nif)
        {
            for (int i = 0; i < nif.Addr6Count; i++) if (!nif.Addr6[i].IsLinkLocal && nif.Usable6(i)) return nif.Addr6[i];
            return IpAddr.Any;
        }

        /// Whether `a` is one of our usable addresses (a tentative one is not "assigned",
        /// RFC 4862 5.4: bind gives EADDRNOTAVAIL and packets to it are dropped).
        public bool IsLocal6(IpAddr a)
        {
            if (a == IpAddr.Loopback6) return true;
            for (int i = 0; i < IfCount; i++) if (Ifs[i].HasUsableAddr6(a)) return true;
            return false;
        }

        /// Whether `a` may be a packet's source on interface `ifIndex` (0: any): ours and
        /// usable; a link- or host-scoped one must belong to that interface (Linux's
        /// ipv6_chk_addr with its strict check, for IPV6_PKTINFO).
        public bool IsUsable6(IpAddr a, int ifIndex)
        {
            bool strict = a.IsLinkLocal || a == IpAddr.Loopback6;
            for (int i = 0; i < IfCount; i++)
                if ((ifIndex == 0 || !strict || Ifs[i].Index == ifIndex) && Ifs[i].HasUsableAddr6(a)) return true;
            return false;
        }

        /// The error for a destination we have no source address for: EADDRNOTAVAIL when an
        /// IPv6 route exists (our addresses are all tentative yet), else ENETUNREACH.
        public int NoSourceError(IpAddr dst, int ifIndex) => !dst.IsV4 && Route6(dst, ifIndex, out _) != null ? NetErr.EADDRNOTAVAIL : NetErr.ENETUNREACH;

        // ---- duplicate address detection (RFC 4862 5.4) ----

        /// Runs DAD for address `i` of `nif` when due: a probe while some are left, then
        /// (RetransTimer after the last) the address becomes usable.
        void DadStep(NetIf nif, int i)
        {
            if ((nif.Flags6[i] & NetIf.DadFailed) != 0 || (nif.Flags6[i] & NetIf.Tentative) == 0 || nif.DadAt[i] > Now) return;
            if (nif.DadLeft[i] > 0)
            {
                nif.DadLeft[i]--;
                nif.DadAt[i] = Now + RetransTimerMs;
                DadProbe(nif, nif.Addr6[i]);
                return;
            }
            nif.Flags6[i] &= ~NetIf.Tentative;
            DadPassed++;
            Notify(null);
        }

        /// The probe: a neighbour solicitation for `target` from :: to its solicited-node
        /// group, without a link-layer option (RFC 4862 5.4.2).
        public void DadProbe(NetIf nif, IpAddr target) => SendSolicit(nif, IpAddr.Any, target);

        /// Another node uses (or probes for) tentative address `i`: it is a duplicate, never used.
        void DadFail(NetIf nif, int i)
        {
            nif.Flags6[i] = NetIf.Tentative | NetIf.DadFailed;
            nif.DadLeft[i] = 0;
            DadFailures++;
            LastDadFailed = nif.Addr6[i];
            Notify(null);
        }

        void DadTick()
        {
            for (int k = 0; k < IfCount; k++)
            {
                NetIf n = Ifs[k];
                for (int i = 0; i < n.Addr6Count; i++) DadStep(n, i);
            }
        }

        ulong DadNextTimer()
        {
            ulong t = 0;
            for (int k = 0; k < IfCount; k++)
            {
                NetIf n = Ifs[k];
                for (int i = 0; i < n.Addr6Count; i++)
                    if ((n.Flags6[i] & (NetIf.Tentative | NetIf.DadFailed)) == NetIf.Tentative) t = Earliest(t, n.DadAt[i]);
            }
            return t;
        }

        NetIf FirstLink()
        {
            for (int i = 0; i < IfCount; i++) if (!Ifs[i].Loopback && Ifs[i].Up) return Ifs[i];
            return null;
        }

        /// The interface and next hop for an IPv6 destination, or null (ENETUNREACH).
        NetIf Route6(IpAddr dst, int ifIndex, out IpAddr nextHop)
        {
            nextHop = dst;
            if (IsLocal6(dst)) return Lo;
            NetIf scoped = ifIndex != 0 ? FindIf(ifIndex) : null;
            if (dst.IsLinkLocal || dst.IsMulticast)
            {
                NetIf n = scoped ?? FirstLink();
                return n != null && !n.Loopback && n.Up ? n : null;
            }
            for (int i = 0; i < IfCount; i++)
            {
                NetIf n = Ifs[i];
                if (n.Loopback || !n.Up || (scoped != null && n != scoped)) continue;
                for (int k = 0; k < n.Addr6Count; k++)
                    if (!n.Addr6[k].IsLinkLocal && n.Prefix6[k] < 128 && dst.SamePrefix(n.Addr6[k], n.Prefix6[k])) return n;
            }
            for (int i = 0; i < IfCount; i++)
            {
                NetIf n = Ifs[i];
                if (n.Loopback || !n.Up || (scoped != null && n != scoped)) continue;
                if (n.Router6Until > Now) { nextHop = n.Router6; return n; }
            }
            return null;
        }

        /// Source address selection, simplified from RFC 6724: the destination itself when
        /// it is ours, the link-local address for link-scoped destinations, else a global one.
        IpAddr SourceFor6(IpAddr dst, int ifIndex)
        {
            NetIf n = Route6(dst, ifIndex, out _);
            if (n == null) return IpAddr.Any;
            if (n.Loopback) return dst;
            if (dst.IsLinkLocal || dst.IsMulticast && (dst.Hi >> 48 & 15) <= 2) return LinkLocal(n);
            IpAddr g = Global6(n);
            return g.IsV6Any ? LinkLocal(n) : g;
        }

        // ---- path MTU (RFC 8201): a few destinations, forgotten after 10 minutes ----
        const int PmtuSlots = 8;
        const ulong PmtuMs = 600000;
        readonly IpAddr[] _pmtuDst = new IpAddr[PmtuSlots];
        readonly int[] _pmtu = new int[PmtuSlots];
        readonly ulong[] _pmtuUntil = new ulong[PmtuSlots];

        /// The path MTU towards `dst` through `nif`.
        public int PathMtu6(NetIf nif, IpAddr dst)
        {
            int mtu = nif.Mtu;
            for (int i = 0; i < PmtuSlots; i++)
                if (_pmtuUntil[i] > Now && _pmtuDst[i] == dst && _pmtu[i] < mtu) mtu = _pmtu[i];
            return mtu;
        }

        void LearnPmtu(IpAddr dst, int mtu)
        {
            if (mtu < MinMtu6) mtu = MinMtu6;
            int slot = 0;
            for (int i = 0; i < PmtuSlots; i++)
            {
                if (_pmtuDst[i] == dst) { slot = i; break; }
                if (_pmtuUntil[i] < _pmtuUntil[slot]) slot = i;
            }
            _pmtuDst[slot] = dst; _pmtu[slot] = mtu; _pmtuUntil[slot] = Now + PmtuMs;
        }

        // ---- timers ----

        void Ip6Tick()
        {
            DadTick();
            MldTick();
            if (_rsLeft > 0 && _rsAt + RouterSolicitIntervalMs <= Now && _rsIf != null)
            {
                _rsLeft--; _rsAt = Now;
                if (_rsLeft > 0) SendRouterSolicit(_rsIf);
            }
        }

        ulong Ip6NextTimer() => Earliest(Earliest(_rsLeft > 1 ? _rsAt + RouterSolicitIntervalMs : 0, DadNextTimer()), MldNextTimer());

        // ---- output ----

        /// Sends the `payloadLen` bytes at Tx[Payload..] as IPv6 (as fragments when larger
        /// than the path MTU). 0 or a NetErr.
        int Ip6Output(IpAddr src, IpAddr dst, int proto, int payloadLen, int tclass, int hops, int ifIndex)
        {
            NetIf nif = Route6(dst, ifIndex, out IpAddr nextHop);
            if (nif == null) return NetErr.ENETUNREACH;
            int total = Ip6Header + payloadLen;
            int mtu = nif.Loopback ? nif.Mtu : PathMtu6(nif, dst);
            if ((proto == ProtoTcp || proto == ProtoUdp) && !nif.Loopback && (!nif.DeviceChecksums || total > mtu))
                FinishChecksum(proto, Tx.AsSpan(Payload, payloadLen));
            if (total > mtu) return Ip6Fragments(nif, nextHop, src, dst, proto, payloadLen, tclass, hops, mtu);
            Span<byte> ip = Tx.AsSpan(EthHeader, total);
            WriteIp6Header(ip, src, dst, proto, payloadLen, tclass, hops);
            if (nif.Loopback) LoopQueue(nif, ip);
            else EthOutput(nif, nextHop, Tx.AsSpan(0, EthHeader + total));
            return 0;
        }

        static void WriteIp6Header(Span<byte> ip, IpAddr src, IpAddr dst, int nh, int payloadLen, int tclass, int hops)
        {
            ip[0] = (byte)(0x60 | tclass >> 4); ip[1] = (byte)(tclass << 4); ip[2] = 0; ip[3] = 0;
            Wire.Put16(ip, 4, payloadLen); ip[6] = (byte)nh; ip[7] = (byte)hops;
            src.Write(ip, 8); dst.Write(ip, 24);
        }

        int Ip6Fragments(NetIf nif, IpAddr nextHop, IpAddr src, IpAddr dst, int proto, int payloadLen, int tclass, int hops, int mtu)
        {
            const int hdr = EthHeader + Ip6Header + 8;
            int chunk = (mtu - Ip6Header - 8) & ~7;
            if (chunk > _frag.Length - hdr) chunk = (_frag.Length - hdr) & ~7;
            uint id = ++_frag6Id ^ Random();
            for (int off = 0; off < payloadLen; off += chunk)
            {
                int n = payloadLen - off < chunk ? payloadLen - off : chunk;
                bool more = off + n < payloadLen;
                Span<byte> f = _frag.AsSpan(0, hdr + n);
                Tx.AsSpan(Payload + off, n).CopyTo(f.Slice(hdr));
                WriteIp6Header(f.Slice(EthHeader), src, dst, 44, 8 + n, tclass, hops);
                Span<byte> fh = f.Slice(EthHeader + Ip6Header, 8);
                fh[0] = (byte)proto; fh[1] = 0; Wire.Put16(fh, 2, off | (more ? 1 : 0)); Wire.Put32(fh, 4, id);
                if (nif.Loopback) LoopQueue(nif, f.Slice(EthHeader));
                else EthOutput(nif, nextHop, f);
            }
            return 0;
        }

        /// Sends the ICMPv6 message at Tx[Payload..] (its checksum computed here).
        int SendIcmp6(IpAddr src, IpAddr dst, int len, int hops, int ifIndex)
        {
            Span<byte> m = Tx.AsSpan(Payload, len);
            m[2] = 0; m[3] = 0;
            Wire.Put16(m, 2, Wire.Fold(Wire.Sum(m, Wire.PseudoSum(src, dst, ProtoIcmp6, len))));
            return Ip6Output(src, dst, ProtoIcmp6, len, 0, hops, ifIndex);
        }

        // ---- input ----

        bool AcceptsDst6(NetIf nif, IpAddr dst)
        {
            if (nif.Loopback) return IsLocal6(dst);
            if (dst.IsMulticast)
            {
                if (dst == IpAddr.AllNodes || dst == new IpAddr(0xff01000000000000UL, 1)) return true;
                return nif.InGroup6(dst);         // our solicited-node groups and those sockets joined
            }
            return IsLocal6(dst) && dst != IpAddr.Loopback6;
        }

        void Ip6Input(NetIf nif, ReadOnlySpan<byte> p)
        {
            if (p.Length < Ip6Header || (p[0] >> 4) != 6) { Drops++; return; }
            int plen = Wire.U16(p, 4);
            if (Ip6Header + plen > p.Length || plen == 0 && p[6] == 0) { Drops++; return; }   // no jumbograms
            p = p.Slice(0, Ip6Header + plen);                            // Ethernet padding off
            IpAddr src = IpAddr.Read(p, 8), dst = IpAddr.Read(p, 24);
            if (src.IsMulticast || (src == IpAddr.Loopback6 && !nif.Loopback) || src.IsV4) { Drops++; return; }
            if (!AcceptsDst6(nif, dst)) { if (!dst.IsMulticast) Drops++; return; }     // other groups (ff02::2, ...) are no fault
            int nh = p[6], nhAt = 6, off = Ip6Header;
            while (true)
            {
                switch (nh)
                {
                    case 0:             // hop-by-hop options: only right after the header
                    case 60:            // destination options
                    case 43:            // routing
                        {
                            if (nh == 0 && off != Ip6Header) { ParamProblem(1, nhAt, p, src, dst); return; }
                            if (off + 8 > p.Length) { Drops++; return; }
                            int hl = (p[off + 1] + 1) * 8;
                            if (off + hl > p.Length) { Drops++; return; }
                            if (nh == 43)
                            {
                                // A host is no hop of a route: segments left must be 0 (RFC 8200 4.4).
                                if (p[off + 3] != 0) { ParamProblem(0, off + 2, p, src, dst); return; }
                            }
                            else if (!Ip6Options(p, off, hl, src, dst)) return;
                            nhAt = off; nh = p[off]; off += hl;
                            continue;
                        }
                    case 44:            // fragment
                        {
                            if (off + 8 > p.Length) { Drops++; return; }
                            int fo = Wire.U16(p, off + 2);
                            bool more = (fo & 1) != 0;
                            int at = fo & ~7;
                            int proto = p[off];
                            ReadOnlySpan<byte> data = p.Slice(off + 8);
                            if (at == 0 && !more) { nhAt = off; nh = proto; off += 8; continue; }     // an atomic fragment
                            if (more && (data.Length & 7) != 0) { ParamProblem(0, 4, p, src, dst); return; }
                            if (at + data.Length > 65535) { ParamProblem(0, off + 2, p, src, dst); return; }
                            if (proto != ProtoTcp && proto != ProtoUdp && proto != ProtoIcmp6) { Drops++; return; }
                            _rxChecksummed = false;
                            byte[] whole = Reassemble(src, dst, Wire.U32(p, off + 4), proto, at, more, data, out int len);
                            if (whole == null) return;
                            Deliver6(nif, src, dst, proto, p.Slice(0, off), new ReadOnlySpan<byte>(whole, 0, len), nhAt, p[7]);
                            return;
                        }
                    case 59: return;    // no next header
                    default:
                        Deliver6(nif, src, dst, nh, p, p.Slice(off), nhAt, p[7]);
                        return;
                }
            }
        }

        /// Hop-by-hop or destination options (RFC 8200 4.2): unknown ones are skipped or
        /// make the packet dropped, with a parameter problem when their type asks for it.
        bool Ip6Options(ReadOnlySpan<byte> p, int off, int hl, IpAddr src, IpAddr dst)
        {
            for (int i = off + 2; i < off + hl;)
            {
                int type = p[i];
                if (type == 0) { i++; continue; }                        // Pad1
                if (i + 2 > off + hl || i + 2 + p[i + 1] > off + hl) { Drops++; return false; }
                if (type != 1)                                          // not PadN: we know no other
                {
                    int action = type >> 6;
                    if (action == 1) { Drops++; return false; }
                    if (action == 2 || action == 3 && !dst.IsMulticast) { ParamProblem(2, i, p, src, dst); return false; }
                    if (action != 0) { Drops++; return false; }
                }
                i += 2 + p[i + 1];
            }
            return true;
        }

        /// `packet` is the whole packet (its start quoted in errors), `payload` the upper-layer part.
        void Deliver6(NetIf nif, IpAddr src, IpAddr dst, int proto, ReadOnlySpan<byte> packet, ReadOnlySpan<byte> payload, int nhAt, int hops)
        {
            switch (proto)
            {
                case ProtoIcmp6: Icmp6Input(nif, src, dst, payload, hops); break;
                case ProtoUdp: UdpInput(nif, src, dst, packet, payload, dst.IsMulticast); break;
                case ProtoTcp: if (!dst.IsMulticast) TcpInput(nif, src, dst, payload); else Drops++; break;
                default: ParamProblem(1, nhAt, packet, src, dst); break;     // unrecognized next header
            }
        }

        void ParamProblem(int code, int pointer, ReadOnlySpan<byte> packet, IpAddr src, IpAddr dst)
        {
            Drops++;
            ParamProblems++;
            Icmp6Error(4, code, (uint)pointer, packet, src, dst);
        }

        // ---- ICMPv6 (RFC 4443) ----

        /// An ICMPv6 error about a received packet (`packet` from its IPv6 header on), quoting
        /// as much of it as fits the minimum MTU. Never about an error, a multicast
        /// destination (but for parameter problem code 2) or an unspecified source.
        void Icmp6Error(int type, int code, uint word, ReadOnlySpan<byte> packet, IpAddr origSrc, IpAddr origDst)
        {
            if (origSrc.IsUnspecified || origSrc.IsMulticast) return;
            if (origDst.IsMulticast && !(type == 4 && code == 2)) return;
            if (packet.Length > Ip6Header + 1 && packet[6] == ProtoIcmp6 && packet[Ip6Header] < 128) return;
            int quote = packet.Length < MinMtu6 - Ip6Header - 8 ? packet.Length : MinMtu6 - Ip6Header - 8;
            Span<byte> r = Tx.AsSpan(Payload, 8 + quote);
            r[0] = (byte)type; r[1] = (byte)code; Wire.Put32(r, 4, word);
            packet.Slice(0, quote).CopyTo(r.Slice(8));
            IpAddr src = !origDst.IsMulticast && IsLocal6(origDst) ? origDst : SourceFor6(origSrc, 0);
            if (src.IsV6Any) return;
            SendIcmp6(src, origSrc, 8 + quote, 64, 0);
        }

        void Icmp6Input(NetIf nif, IpAddr src, IpAddr dst, ReadOnlySpan<byte> m, int hops)
        {
            if (m.Length < 4) { Drops++; return; }
            if (!nif.Loopback && Wire.Fold(Wire.Sum(m, Wire.PseudoSum(src, dst, ProtoIcmp6, m.Length))) != 0) { Drops++; return; }
            int type = m[0], code = m[1];
            switch (type)
            {
                case 128:           // echo request
                    if (m.Length < 8 || m.Length > Tx.Length - Payload) return;
                    {
                        IpAddr from = dst.IsMulticast ? SourceFor6(src, nif.Index) : dst;
                        Span<byte> r = Tx.AsSpan(Payload, m.Length);
                        m.CopyTo(r);
                        r[0] = 129; r[1] = 0;
                        SendIcmp6(from, src, m.Length, 64, nif.Index);
                    }
                    return;
                case 129: Icmp6EchoReplies++; return;
                case 1: case 2: case 3: case 4: Icmp6ErrorInput(type, code, m); return;
                case 134: if (hops == NdpHopLimit && code == 0) RouterAdvertInput(nif, src, m); else Drops++; return;
                case 135: if (hops == NdpHopLimit && code == 0) NeighborSolicitInput(nif, src, dst, m); else Drops++; return;
                case 136: if (hops == NdpHopLimit && code == 0) NeighborAdvertInput(nif, m); else Drops++; return;
                case 130: MldQueryInput(nif, src, m, hops); return;
                default: return;    // router solicitations and redirects are for routers; others unknown informational
            }
        }

        /// An error about a packet we sent: its IPv6 header follows, then (unless extension
        /// headers came first, which we never send) the transport ports.
        void Icmp6ErrorInput(int type, int code, ReadOnlySpan<byte> m)
        {
            if (m.Length < 8 + Ip6Header + 4) return;
            ReadOnlySpan<byte> inner = m.Slice(8);
            IpAddr isrc = IpAddr.Read(inner, 8), idst = IpAddr.Read(inner, 24);
            if (type == 2)
            {
                int mtu = (int)Wire.U32(m, 4);
                if (mtu < MinMtu6) mtu = MinMtu6;
                LearnPmtu(idst, mtu);
            }
            int iproto = inner[6];
            if (iproto != ProtoTcp && iproto != ProtoUdp) return;
            int sport = Wire.U16(inner, Ip6Header), dport = Wire.U16(inner, Ip6Header + 2);
            if (type == 2) { if (iproto == ProtoTcp) TcpIcmpError(isrc, sport, idst, dport, -1, (int)Wire.U32(m, 4)); return; }
            if (type != 1) return;                              // time exceeded, parameter problem: nothing to tell
            // Linux's icmpv6_err_convert: no route, prohibited, address and port unreachable.
            int err = code == 4 ? NetErr.ECONNREFUSED : code == 1 ? 13 : code == 0 ? NetErr.ENETUNREACH : NetErr.EHOSTUNREACH;
            if (iproto == ProtoUdp) UdpIcmpError(isrc, sport, idst, dport, err);
            else TcpIcmpError(isrc, sport, idst, dport, err, 0);
        }

        /// Sends an ICMPv6 echo request.
        public int SendEcho6(IpAddr dst, ushort id, ushort seq, ReadOnlySpan<byte> data, int ifIndex = 0)
        {
            IpAddr src = SourceFor6(dst, ifIndex);
            if (src.IsV6Any) return NetErr.ENETUNREACH;
            Span<byte> r = Tx.AsSpan(Payload, 8 + data.Length);
            r[0] = 128; r[1] = 0; Wire.Put16(r, 4, id); Wire.Put16(r, 6, seq);
            data.CopyTo(r.Slice(8));
            int e = SendIcmp6(src, dst, r.Length, 64, ifIndex);
            Pump();
            return e;
        }

        // ---- neighbour discovery (RFC 4861) ----

        /// The link-layer address option of type `type` (1 source, 2 target) in NDP options from `at`.
        static bool LinkOption(ReadOnlySpan<byte> m, int at, int type, out ulong mac)
        {
            mac = 0;
            for (int i = at; i + 2 <= m.Length;)
            {
                int len = m[i + 1] * 8;
                if (len == 0 || i + len > m.Length) return false;
                if (m[i] == type && len >= 8) { mac = MacOf(m.Slice(i + 2)); return true; }
                i += len;
            }
            return false;
        }

        /// Options are well-formed (no zero length, none past the end): RFC 4861 7.1.1.
        static bool OptionsValid(ReadOnlySpan<byte> m, int at)
        {
            for (int i = at; i < m.Length;)
            {
                if (i + 2 > m.Length) return false;
                int len = m[i + 1] * 8;
                if (len == 0 || i + len > m.Length) return false;
                i += len;
            }
            return true;
        }

        void PutLinkOption(Span<byte> o, int type, NetIf nif)
        {
            o[0] = (byte)type; o[1] = 1; nif.Mac.AsSpan(0, 6).CopyTo(o.Slice(2));
        }

        /// A neighbour solicitation for `target`, built whole in its own buffer (never in Tx:
        /// it is sent while a packet in Tx waits for this very resolution).
        internal void NeighborSolicit(NetIf nif, IpAddr target)
        {
            IpAddr src = LinkLocal(nif);
            for (int i = 0; i < nif.Addr6Count; i++)
                if (!nif.Addr6[i].IsLinkLocal && nif.Usable6(i) && target.SamePrefix(nif.Addr6[i], nif.Prefix6[i])) { src = nif.Addr6[i]; break; }
            // Never from :: (that is a DAD probe, RFC 4861 7.2.2): any usable address will do.
            if (src.IsV6Any) src = Global6(nif);
            if (src.IsV6Any) return;
            SendSolicit(nif, src, target);
        }

        /// Sends a neighbour solicitation for `target` from `src` (:: for a DAD probe: then
        /// without the source link-layer option).
        void SendSolicit(NetIf nif, IpAddr src, IpAddr target)
        {
            int len = src.IsV6Any ? 24 : 32;
            IpAddr dst = target.SolicitedNode;
            Span<byte> f = stackalloc byte[EthHeader + Ip6Header + 32];
            f = f.Slice(0, EthHeader + Ip6Header + len);
            f.Clear();
            f[0] = 0x33; f[1] = 0x33; for (int k = 0; k < 4; k++) f[2 + k] = (byte)(dst.Lo >> (24 - 8 * k));
            nif.Mac.AsSpan(0, 6).CopyTo(f.Slice(6)); Wire.Put16(f, 12, 0x86dd);
            WriteIp6Header(f.Slice(EthHeader), src, dst, ProtoIcmp6, len, 0, NdpHopLimit);
            Span<byte> m = f.Slice(Payload);
            m[0] = 135; target.Write(m, 8);
            if (len == 32) PutLinkOption(m.Slice(24), 1, nif);
            Wire.Put16(m, 2, Wire.Fold(Wire.Sum(m, Wire.PseudoSum(src, dst, ProtoIcmp6, len))));
            LinkSend(nif, f);
        }

        void NeighborSolicitInput(NetIf nif, IpAddr src, IpAddr dst, ReadOnlySpan<byte> m)
        {
            if (m.Length < 24 || !OptionsValid(m, 24)) { Drops++; return; }
            IpAddr target = IpAddr.Read(m, 8);
            if (target.IsMulticast) { Drops++; return; }
            bool hasLl = LinkOption(m, 24, 1, out ulong mac);
            if (src.IsV6Any && (hasLl || !dst.IsMulticast)) { Drops++; return; }
            int at = nif.IndexOf6(target);
            if (at < 0) return;
            if (!nif.Usable6(at))
            {
                // RFC 4862 5.4.3: another node probing for our tentative address makes it a
                // duplicate; one resolving it (a unicast source) is ignored, as is anything
                // about an address already found duplicated.
                if (src.IsV6Any && (nif.Flags6[at] & NetIf.DadFailed) == 0) DadFail(nif, at);
                return;
            }
            if (!src.IsV6Any && hasLl) ArpLearn(nif, src, mac, ArpFind(src));
            // The advertisement: solicited (to the asker) unless it was a DAD probe (to all nodes).
            Span<byte> r = Tx.AsSpan(Payload, 32);
            r.Clear();
            r[0] = 136; r[4] = (byte)(src.IsV6Any ? 0x20 : 0x60);      // O, and S when solicited
            target.Write(r, 8);
            PutLinkOption(r.Slice(24), 2, nif);
            // Without the asker's link address the answer waits behind its resolution (RFC 4861 7.2.4).
            IpAddr to = src.IsV6Any ? IpAddr.AllNodes : src;
            SendIcmp6(target, to, 32, NdpHopLimit, nif.Index);
        }

        void NeighborAdvertInput(NetIf nif, ReadOnlySpan<byte> m)
        {
            if (m.Length < 24 || !OptionsValid(m, 24)) { Drops++; return; }
            IpAddr target = IpAddr.Read(m, 8);
            if (target.IsMulticast) { Drops++; return; }
            int at = nif.IndexOf6(target);
            if (at >= 0)
            {
                // Another node holds one of our addresses: a tentative one is a duplicate
                // (RFC 4862 5.4.4); for one in use it is only counted.
                DadConflicts++;
                if ((nif.Flags6[at] & (NetIf.Tentative | NetIf.DadFailed)) == NetIf.Tentative) DadFail(nif, at);
                return;
            }
            int i = ArpFind(target);
            if (i < 0) return;                                          // unsolicited, for no entry: ignored
            if (LinkOption(m, 24, 2, out ulong mac)) ArpLearn(nif, target, mac, i);
            else if (_arp[i].Resolved) _arp[i].Expires = Now + ArpReachableMs;
        }

        void SendRouterSolicit(NetIf nif)
        {
            IpAddr src = LinkLocal(nif);
            Span<byte> m = Tx.AsSpan(Payload, 16);
            m.Clear();
            m[0] = 133;
            PutLinkOption(m.Slice(8), 1, nif);
            SendIcmp6(src, IpAddr.AllRouters, src.IsV6Any ? 8 : 16, NdpHopLimit, nif.Index);
        }

        /// A router advertisement (RFC 4861 6.1.2, 6.3.4; RFC 4862 5.5.3; RFC 8106 for RDNSS):
        /// the default router, the link MTU and an address for each autonomous /64 prefix.
        void RouterAdvertInput(NetIf nif, IpAddr src, ReadOnlySpan<byte> m)
        {
            if (!src.IsLinkLocal || m.Length < 16 || !OptionsValid(m, 16)) { Drops++; return; }
            int lifetime = Wire.U16(m, 6);
            bool changed = false;
            for (int i = 16; i + 2 <= m.Length; i += m[i + 1] * 8)
            {
                int type = m[i], len = m[i + 1] * 8;
                ReadOnlySpan<byte> o = m.Slice(i, len);
                if (type == 1 && len >= 8) ArpLearn(nif, src, MacOf(o.Slice(2)), ArpFind(src));
                else if (type == 3 && len == 32)
                {
                    int plen = o[2], flags = o[3];
                    uint valid = Wire.U32(o, 4), preferred = Wire.U32(o, 8);
                    IpAddr prefix = IpAddr.Read(o, 16);
                    if ((flags & 0x40) == 0 || prefix.IsLinkLocal || preferred > valid || valid == 0) continue;
                    if (plen != 64) continue;                               // SLAAC needs a /64 with a 64-bit interface id
                    var a = new IpAddr(prefix.Hi, InterfaceId(nif));
                    if (AddAddress6(nif, a, (flags & 0x80) != 0 ? 64 : 128, true)) { changed = true; Slaac++; }
                }
                else if (type == 5 && len == 8)
                {
                    int mtu = (int)Wire.U32(o, 4);
                    if (mtu >= MinMtu6 && mtu < nif.Mtu) nif.Mtu = mtu;
                }
                else if (type == 25 && len >= 24 && Dns6.IsV6Any) { Dns6 = IpAddr.Read(o, 8); changed = true; DnsChanged = true; }
            }
            if (lifetime > 0) { nif.Router6 = src; nif.Router6Until = Now + (ulong)lifetime * 1000; changed = true; }
            else if (nif.Router6 == src) nif.Router6Until = 0;
            if (nif == _rsIf) _rsLeft = 0;
            if (changed) Notify(null);
        }
        public ulong Slaac;
    }
}
