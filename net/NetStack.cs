using System;

namespace Kernel.Net
{
    /// Where an interface's frames go: the virtio-net driver in the kernel, a simulated
    /// wire in host tests. Transmit copies the frame; it never calls back into the stack.
    public abstract class NetLink
    {
        public abstract void Transmit(ReadOnlySpan<byte> frame);

        /// A frame whose TCP or UDP checksum the device must finish (only on an interface
        /// with DeviceChecksums): the field at `csumStart + csumOffset` holds the partial
        /// sum (Wire.PartialChecksum); the device sums from `csumStart` to the end and
        /// stores the result there (virtio-net's NEEDS_CSUM).
        public virtual void TransmitPartial(ReadOnlySpan<byte> frame, int csumStart, int csumOffset) => Transmit(frame);

        /// Frames handed over so far (a mark), and whether every frame up to `mark` has
        /// left the device's queue (its buffer came back). TCP's autocorking holds a small
        /// segment while the connection's previous frame is still queued; a link without a
        /// queue is always done.
        public virtual ulong TxMark => 0;
        public virtual bool TxDone(ulong mark) => true;
        /// Asks to hear (NetStack.PushCorked from the driver's activity) when frames leave.
        public virtual void WantTxDone() { }
    }

    /// Told when any socket's state changes (data, space, connection, error): the kernel
    /// wakes its waiters and pollers, who recheck their own condition.
    public abstract class NetEvents
    {
        /// `owner` is the socket whose state changed (null: the stack's, e.g. an address from DHCP).
        public abstract void Changed(object owner);
        /// `owner`'s TCP connection took a new urgent pointer (SIGURG to its F_SETOWN owner).
        public virtual void Urgent(object owner) { }
    }

    /// A network interface: the loopback (IP packets, no link header) or an Ethernet link.
    public sealed class NetIf
    {
        public byte[] Name;
        public int Index;
        public readonly byte[] Mac = new byte[6];
        public int Mtu;
        public uint Addr, Mask, Gateway;     // host order; 0 until configured
        public bool Loopback, Up = true;
        /// The device finishes TCP/UDP checksums of frames sent here (NetLink.TransmitPartial)
        /// and may mark received frames as already verified (Input's `checksummed`).
        public bool DeviceChecksums;
        public NetLink Link;
        public ulong RxBytes, RxPackets, TxBytes, TxPackets, RxDropped, TxDropped;
        /// IPv6 addresses (the link-local one first on Ethernet, ::1 on the loopback) with
        /// their prefix lengths; SLAAC adds one per advertised prefix.
        public const int MaxAddr6 = 4;
        public readonly IpAddr[] Addr6 = new IpAddr[MaxAddr6];
        public readonly int[] Prefix6 = new int[MaxAddr6];
        public int Addr6Count;
        /// The default IPv6 router (its link-local address, from a router advertisement) and
        /// until when it stays one (ms; 0: none).
        public IpAddr Router6;
        public ulong Router6Until;
        /// Added an IPv6 address (false: the table is full or it is there already).
        public bool AddAddr6(IpAddr a, int prefix, bool dynamic = false)
        {
            for (int i = 0; i < Addr6Count; i++) if (Addr6[i] == a) return false;
            if (Addr6Count == MaxAddr6) return false;
            Addr6[Addr6Count] = a; Prefix6[Addr6Count] = prefix;
            if (dynamic) _dynamic6 |= 1 << Addr6Count; else _dynamic6 &= ~(1 << Addr6Count);
            Addr6Count++;
            return true;
        }
        int _dynamic6;
        /// Whether IPv6 address `i` came from SLAAC (not permanent).
        public bool Dynamic6(int i) => (_dynamic6 >> i & 1) != 0;
        /// Whether `a` is one of the interface's IPv6 addresses, in any state (tentative too).
        public bool HasAddr6(IpAddr a) => IndexOf6(a) >= 0;
        public int IndexOf6(IpAddr a) { for (int i = 0; i < Addr6Count; i++) if (Addr6[i] == a) return i; return -1; }
        /// Duplicate address detection (RFC 4862 5.4): IFA_F_TENTATIVE while it runs,
        /// IFA_F_DADFAILED (with TENTATIVE, as Linux) once another node claimed the
        /// address; only an address with neither is used. DadAt is when the next probe
        /// goes or, with none left, when the address becomes usable.
        public const int Tentative = 0x40, DadFailed = 0x08;
        public readonly int[] Flags6 = new int[MaxAddr6];
        public readonly int[] DadLeft = new int[MaxAddr6];
        public readonly ulong[] DadAt = new ulong[MaxAddr6];
        public bool Usable6(int i) => (Flags6[i] & (Tentative | DadFailed)) == 0;
        /// Whether `a` is an address of the interface that may be used (not tentative, not duplicated).
        public bool HasUsableAddr6(IpAddr a) { int i = IndexOf6(a); return i >= 0 && Usable6(i); }
        /// Multicast groups joined (MLD, net/Mld.cs): each with the number of joins
        /// (solicited-node groups of our addresses, sockets' IPV6_ADD_MEMBERSHIP), the
        /// state-change reports still to send and when, and a pending answer to a query.
        public const int MaxGroups6 = 16;
        public readonly IpAddr[] Groups6 = new IpAddr[MaxGroups6];
        public readonly int[] GroupRefs6 = new int[MaxGroups6];
        public readonly int[] GroupChangeLeft6 = new int[MaxGroups6];
        public readonly ulong[] GroupChangeAt6 = new ulong[MaxGroups6];
        public readonly ulong[] GroupAnswerAt6 = new ulong[MaxGroups6];
        public int Groups6Count;
        /// A general query's answer is due (0: none); until when an MLDv1 querier was heard (RFC 3810 8.2).
        public ulong MldAnswerAt, Mld1Until;
        /// Whether the interface takes packets for `group` (joined and not being left).
        public bool InGroup6(IpAddr group) { for (int i = 0; i < Groups6Count; i++) if (GroupRefs6[i] > 0 && Groups6[i] == group) return true; return false; }
        public int PrefixLen { get { int n = 0; for (uint m = Mask; (m & 0x80000000) != 0; m <<= 1) n++; return n; } }
    }

    /// The TCP/IP stack: interfaces, ARP, IPv4 (fragment reassembly), ICMP, UDP and TCP
    /// demultiplexing. Pure logic: time comes in through Now (milliseconds, set by the
    /// caller before each entry), frames leave through each interface's NetLink, and
    /// nothing here reads a clock, blocks or touches hardware, so host tests drive it with
    /// scripted frames. Packets are built in one scratch buffer; loopback packets wait in a
    /// small queue that every entry point drains before it returns (no recursion).
    public sealed partial class NetStack
    {
        /// Outgoing packets are built in Tx with the transport header at Payload, room for
        /// an IPv6 header before it and an IPv4 header (and its link header) nearer it.
        public const int EthHeader = 14, IpHeader = 20, Ip6Header = 40, Payload = EthHeader + Ip6Header;
        const int Ip4At = Payload - IpHeader, Frame4At = Ip4At - EthHeader, FragPayload = EthHeader + IpHeader;
        public const int ProtoIcmp = 1, ProtoTcp = 6, ProtoUdp = 17, ProtoIcmp6 = 58;
        public const int LoopbackMtu = 16384;

        public ulong Now;                    // milliseconds, monotonic
        public NetEvents Events;
        /// DNS servers from DHCP (option 6, up to three) or the static configuration;
        /// DnsChanged tells the kernel to rewrite ukpack's /etc/resolv.conf (ResolvConf).
        public readonly uint[] Dns = new uint[3];
        public int DnsCount;
        public bool DnsChanged;

        public void SetDns(ReadOnlySpan<uint> servers)
        {
            int n = servers.Length < Dns.Length ? servers.Length : Dns.Length;
            bool same = n == DnsCount;
            for (int i = 0; i < n; i++) { same &= Dns[i] == servers[i]; Dns[i] = servers[i]; }
            DnsCount = n;
            if (!same) DnsChanged = true;
        }

        /// The first line of the /etc/resolv.conf that `ukpack build` writes when the tree has
        /// none: such a file is the kernel's to rewrite; an image's own is never touched.
        public static ReadOnlySpan<byte> ResolvConfMarker => "# ukpack: DNS servers from the network (DHCP or --dns), written by the kernel at boot\n"u8;

        /// /etc/resolv.conf for the servers known now (IPv4 ones first, then the router's
        /// RDNSS one); the length written into `buf` (512 bytes are enough).
        public int FormatResolvConf(Span<byte> buf)
        {
            int n = 0;
            static void Put(Span<byte> b, ReadOnlySpan<byte> text, ref int at) { text.CopyTo(b.Slice(at)); at += text.Length; }
            Put(buf, ResolvConfMarker, ref n);
            for (int i = 0; i < DnsCount; i++)
            {
                Put(buf, "nameserver "u8, ref n);
                n += Wire.FormatIp(Dns[i], buf.Slice(n));
                buf[n++] = (byte)'\n';
            }
            if (!Dns6.IsV6Any)
            {
                Put(buf, "nameserver "u8, ref n);
                n += Dns6.Format(buf.Slice(n));
                buf[n++] = (byte)'\n';
            }
            return n;
        }
        public readonly NetIf[] Ifs = new NetIf[4];
        public int IfCount;
        public NetIf Lo;
        public ulong Drops;                  // malformed or unwanted input, for tests and logs
        ulong _seed;
        ushort _ipId;
        // Scratch for outgoing packets: the payload at 54, the IPv6 header at 14 or the IPv4 one at 34.
        internal readonly byte[] Tx = new byte[EthHeader + 65536 + 64];
        readonly byte[] _frag = new byte[EthHeader + 1600];

        public NetStack(ulong seed)
        {
            _seed = seed | 1;
            _ipId = (ushort)Random();
            Lo = AddInterface("lo"u8, null, LoopbackMtu);
            Lo.Loopback = true;
            Lo.Addr = Wire.Ip(127, 0, 0, 1); Lo.Mask = 0xff000000;
            Lo.AddAddr6(IpAddr.Loopback6, 128);
            _nextEphemeral = (int)(EphemeralFirst + Random() % (EphemeralLast - EphemeralFirst + 1));
        }

        public NetIf AddInterface(ReadOnlySpan<byte> name, NetLink link, int mtu)
        {
            if (IfCount == Ifs.Length) return null;
            var nif = new NetIf { Name = Wire.ToArray(name), Index = IfCount + 1, Link = link, Mtu = mtu };
            Ifs[IfCount++] = nif;
            return nif;
        }

        public NetIf FindIf(int index) { for (int i = 0; i < IfCount; i++) if (Ifs[i].Index == index) return Ifs[i]; return null; }

        /// xorshift64*: initial sequence numbers, ephemeral ports, IP ids.
        public uint Random()
        {
            _seed ^= _seed >> 12; _seed ^= _seed << 25; _seed ^= _seed >> 27;
            return (uint)((_seed * 2685821657736338717UL) >> 32);
        }

        public void Notify(object owner) { if (Events != null) Events.Changed(owner); }
        /// A TCP connection took a new urgent pointer (the kernel sends SIGURG to the socket's owner).
        public void Urgent(object owner) { if (Events != null) Events.Urgent(owner); }

        // ---- entry points ----

        /// A frame received on `nif` (Ethernet, or a bare IP packet on the loopback).
        /// `checksummed`: the device verified its TCP/UDP checksum, or the frame comes from
        /// the host itself with the checksum left partial (virtio-net's DATA_VALID and
        /// NEEDS_CSUM); the stack then does not verify it (it still checks the IP header).
        public void Input(NetIf nif, ReadOnlySpan<byte> frame, bool checksummed = false)
        {
            nif.RxPackets++; nif.RxBytes += (ulong)frame.Length;
            _rxChecksummed = checksummed;
            if (nif.Loopback) LoopInput(nif, frame);
            else EthInput(nif, frame);
            _rxChecksummed = false;
            Pump();
        }
        bool _rxChecksummed;

        /// Whether the TCP/UDP checksum of the packet being received needs verifying: never
        /// on the loopback (Linux neither), nor when the device vouched for it.
        bool VerifyChecksum(NetIf nif) => !nif.Loopback && !_rxChecksummed;

        /// Runs the timers due at Now (retransmissions, delayed ACKs, ARP, reassembly, TIME_WAIT).
        public void Tick()
        {
            ArpTick();
            ReassemblyTick();
            Ip6Tick();
            TcpTick();
            DhcpTick();
            Pump();
        }

        /// The earliest time Tick has work (0: none).
        public ulong NextTimer()
        {
            ulong t = TcpNextTimer();
            t = Earliest(t, ArpNextTimer());
            t = Earliest(t, _reasmCount > 0 ? Now + 1000 : 0);
            t = Earliest(t, DhcpNextTimer());
            t = Earliest(t, Ip6NextTimer());
            return t;
        }

        internal static ulong Earliest(ulong a, ulong b) => a == 0 ? b : b == 0 ? a : (a < b ? a : b);

        // ---- loopback queue ----
        const int LoopSlots = 64;
        readonly byte[][] _loop = new byte[LoopSlots][];
        readonly int[] _loopLen = new int[LoopSlots];
        readonly NetIf[] _loopIf = new NetIf[LoopSlots];
        int _loopHead, _loopCount;
        bool _pumping;

        void LoopQueue(NetIf nif, ReadOnlySpan<byte> packet)
        {
            nif.TxPackets++; nif.TxBytes += (ulong)packet.Length;
            if (_loopCount == LoopSlots) { nif.TxDropped++; return; }
            int e = (_loopHead + _loopCount) % LoopSlots;
            var buf = _loop[e];
            if (buf == null || buf.Length < packet.Length) _loop[e] = buf = new byte[packet.Length < 2048 ? 2048 : LoopbackMtu];
            packet.CopyTo(buf);
            _loopLen[e] = packet.Length; _loopIf[e] = nif;
            _loopCount++;
        }

        // Connections holding a small segment until their previous frame leaves the device.
        TcpConnection _corked;
        /// Segments held by autocorking (each later went out with what followed it).
        public ulong AutocorkHolds;

        internal void Corked(TcpConnection c)
        {
            if (c.OnCorked) return;
            c.OnCorked = true;
            c.NextCorked = _corked;
            _corked = c;
        }

        /// Sends what autocorked connections held once their previous frame has left the
        /// device (netd calls this after each batch and when the driver reports activity).
        public void PushCorked()
        {
            TcpConnection c = _corked, keep = null;
            _corked = null;
            while (c != null)
            {
                TcpConnection next = c.NextCorked;
                c.NextCorked = null;
                c.OnCorked = false;
                if (c.TxLeft) c.Output();
                else { c.OnCorked = true; c.NextCorked = keep; keep = c; }
                c = next;
            }
            // Output may have corked some again: keep both.
            while (keep != null) { TcpConnection next = keep.NextCorked; keep.OnCorked = false; Corked(keep); keep = next; }
            Pump();
        }

        public bool HasCorked => _corked != null;

        /// Delivers queued loopback packets (and whatever they cause) until none is left.
        public void Pump()
        {
            if (_pumping) return;
            _pumping = true;
            while (_loopCount > 0)
            {
                int e = _loopHead;
                // The slot stays taken while its packet is processed: replies queue behind it.
                byte[] buf = _loop[e];
                _loop[e] = null;
                NetIf nif = _loopIf[e];
                nif.RxPackets++; nif.RxBytes += (ulong)_loopLen[e];
                LoopInput(nif, new ReadOnlySpan<byte>(buf, 0, _loopLen[e]));
                if (_loop[e] == null) _loop[e] = buf;
                _loopHead = (_loopHead + 1) % LoopSlots; _loopCount--;
            }
            _pumping = false;
        }

        /// A packet on the loopback: its version says which IP.
        void LoopInput(NetIf nif, ReadOnlySpan<byte> p)
        {
            if (p.Length > 0 && (p[0] >> 4) == 6) Ip6Input(nif, p); else IpInput(nif, p);
        }

        // ---- Ethernet and ARP ----
        static readonly byte[] Broadcast = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

        void EthInput(NetIf nif, ReadOnlySpan<byte> f)
        {
            if (f.Length < EthHeader) { Drops++; return; }
            bool forUs = true;
            for (int i = 0; i < 6; i++) if (f[i] != nif.Mac[i]) { forUs = false; break; }
            if (!forUs && (f[0] & 1) == 0) { Drops++; return; }   // neither ours nor multicast/broadcast
            int type = Wire.U16(f, 12);
            if (type == 0x0806) ArpInput(nif, f.Slice(EthHeader));
            else if (type == 0x0800) IpInput(nif, f.Slice(EthHeader));
            else if (type == 0x86dd) Ip6Input(nif, f.Slice(EthHeader));
            else Drops++;
        }

        const int ArpEntries = 32, ArpPending = 3;
        const ulong ArpReachableMs = 60000, ArpRetryMs = 1000;
        const int ArpRetries = 3;
        struct ArpEntry
        {
            public IpAddr Ip; public NetIf If;      // IPv4 (ARP) or IPv6 (NDP)
            public ulong Mac;            // 48 bits
            public bool Resolved;
            public ulong Expires;        // resolved: when to forget; pending: next retry
            public int Tries;
            public int PendingCount;
        }
        readonly ArpEntry[] _arp = new ArpEntry[ArpEntries];
        readonly byte[][] _arpQueue = new byte[ArpEntries * ArpPending][];
        readonly int[] _arpQueueLen = new int[ArpEntries * ArpPending];

        public int ArpCount { get { int n = 0; for (int i = 0; i < ArpEntries; i++) if (_arp[i].If != null && _arp[i].Resolved) n++; return n; } }

        int ArpFind(IpAddr ip)
        {
            for (int i = 0; i < ArpEntries; i++) if (_arp[i].Ip == ip && _arp[i].If != null) return i;
            return -1;
        }

        static ulong MacOf(ReadOnlySpan<byte> b) { ulong m = 0; for (int i = 0; i < 6; i++) m = m << 8 | b[i]; return m; }
        static void PutMac(Span<byte> b, ulong m) { for (int i = 5; i >= 0; i--) { b[i] = (byte)m; m >>= 8; } }

        void ArpInput(NetIf nif, ReadOnlySpan<byte> a)
        {
            if (a.Length < 28 || Wire.U16(a, 0) != 1 || Wire.U16(a, 2) != 0x0800 || a[4] != 6 || a[5] != 4) { Drops++; return; }
            int op = Wire.U16(a, 6);
            uint spa = Wire.U32(a, 14), tpa = Wire.U32(a, 24);
            ulong sha = MacOf(a.Slice(8));
            if (spa == 0 || (sha & 0x010000000000UL) != 0) { if (op != 1) Drops++; }
            else
            {
                int i = ArpFind(IpAddr.V4(spa));
                if (i >= 0 || (nif.Addr != 0 && tpa == nif.Addr)) ArpLearn(nif, IpAddr.V4(spa), sha, i);
            }
            if (op == 1 && nif.Addr != 0 && tpa == nif.Addr)
            {
                Span<byte> r = Tx.AsSpan(0, 42);
                PutMac(r, sha); nif.Mac.AsSpan(0, 6).CopyTo(r.Slice(6)); Wire.Put16(r, 12, 0x0806);
                Wire.Put16(r, 14, 1); Wire.Put16(r, 16, 0x0800); r[18] = 6; r[19] = 4; Wire.Put16(r, 20, 2);
                nif.Mac.AsSpan(0, 6).CopyTo(r.Slice(22)); Wire.Put32(r, 28, nif.Addr);
                PutMac(r.Slice(32), sha); Wire.Put32(r, 38, spa);
                LinkSend(nif, r);
            }
        }

        void ArpLearn(NetIf nif, IpAddr ip, ulong mac, int i)
        {
            if (i < 0) i = ArpSlot();
            ref ArpEntry e = ref _arp[i];
            e.Ip = ip; e.If = nif; e.Mac = mac; e.Resolved = true; e.Expires = Now + ArpReachableMs; e.Tries = 0;
            // Send what waited for this address, in order.
            for (int k = 0; k < e.PendingCount; k++)
            {
                byte[] p = _arpQueue[i * ArpPending + k];
                int len = _arpQueueLen[i * ArpPending + k];
                _arpQueue[i * ArpPending + k] = null;
                if (p == null) continue;
                PutMac(p, mac); nif.Mac.AsSpan(0, 6).CopyTo(p.AsSpan(6, 6));
                LinkSend(nif, new ReadOnlySpan<byte>(p, 0, len));
            }
            _arp[i].PendingCount = 0;
        }

        int ArpSlot()
        {
            int best = 0;
            for (int i = 0; i < ArpEntries; i++)
            {
                if (_arp[i].If == null) return i;
                if (_arp[i].PendingCount == 0 && _arp[i].Expires < _arp[best].Expires) best = i;
            }
            ArpForget(best);
            return best;
        }

        void ArpForget(int i)
        {
            for (int k = 0; k < ArpPending; k++) _arpQueue[i * ArpPending + k] = null;
            _arp[i] = default;
        }

        void ArpRequest(NetIf nif, uint ip)
        {
            Span<byte> r = stackalloc byte[42];
            Broadcast.AsSpan(0, 6).CopyTo(r); nif.Mac.AsSpan(0, 6).CopyTo(r.Slice(6)); Wire.Put16(r, 12, 0x0806);
            Wire.Put16(r, 14, 1); Wire.Put16(r, 16, 0x0800); r[18] = 6; r[19] = 4; Wire.Put16(r, 20, 1);
            nif.Mac.AsSpan(0, 6).CopyTo(r.Slice(22)); Wire.Put32(r, 28, nif.Addr);
            for (int i = 32; i < 38; i++) r[i] = 0;
            Wire.Put32(r, 38, ip);
            LinkSend(nif, r);
        }

        void ArpTick()
        {
            for (int i = 0; i < ArpEntries; i++)
            {
                ref ArpEntry e = ref _arp[i];
                if (e.If == null || e.Expires > Now) continue;
                if (e.Resolved) { ArpForget(i); continue; }
                if (++e.Tries > ArpRetries) { e.If.TxDropped += (ulong)e.PendingCount; ArpForget(i); continue; }
                e.Expires = Now + ArpRetryMs;
                if (e.Ip.IsV4) ArpRequest(e.If, e.Ip.V4Value); else NeighborSolicit(e.If, e.Ip);
            }
        }

        ulong ArpNextTimer()
        {
            ulong t = 0;
            for (int i = 0; i < ArpEntries; i++) if (_arp[i].If != null) t = Earliest(t, _arp[i].Expires);
            return t;
        }

        /// The link of the last frame sent (TCP reads it after each segment, for autocorking).
        public NetLink LastTxLink;

        void LinkSend(NetIf nif, ReadOnlySpan<byte> frame)
        {
            nif.TxPackets++; nif.TxBytes += (ulong)frame.Length;
            LastTxLink = nif.Link;
            if (nif.Link == null) return;
            if (nif.DeviceChecksums && PartialChecksumAt(frame, out int start, out int offset)) nif.Link.TransmitPartial(frame, start, offset);
            else nif.Link.Transmit(frame);
        }

        /// Where the TCP/UDP checksum of an Ethernet frame is: true for an unfragmented IPv4
        /// TCP or UDP packet, with the offset of its transport header and the checksum
        /// field's offset in it. On an interface with DeviceChecksums every such frame the
        /// stack sends carries a partial checksum (IpOutput finishes the others).
        public static bool PartialChecksumAt(ReadOnlySpan<byte> frame, out int csumStart, out int csumOffset)
        {
            csumStart = csumOffset = 0;
            if (frame.Length >= Payload && Wire.U16(frame, 12) == 0x86dd)
            {
                // IPv6 as this stack sends TCP and UDP: no extension header.
                int nh = frame[EthHeader + 6], o = nh == ProtoTcp ? 16 : nh == ProtoUdp ? 6 : -1;
                if (o < 0 || Payload + o + 2 > frame.Length) return false;
                csumStart = Payload; csumOffset = o;
                return true;
            }
            if (frame.Length < FragPayload || Wire.U16(frame, 12) != 0x0800 || (frame[EthHeader] >> 4) != 4) return false;
            if ((Wire.U16(frame, EthHeader + 6) & 0x3fff) != 0) return false;
            int proto = frame[EthHeader + 9], off = proto == ProtoTcp ? 16 : proto == ProtoUdp ? 6 : -1;
            int start = EthHeader + (frame[EthHeader] & 15) * 4;
            if (off < 0 || start + off + 2 > frame.Length) return false;
            csumStart = start; csumOffset = off;
            return true;
        }

        /// Sends an IP packet (at `p`, header included) on Ethernet towards `nextHop`;
        /// `frame` is `p` with 14 bytes of room before it.
        void EthOutput(NetIf nif, IpAddr nextHop, Span<byte> frame)
        {
            int type = nextHop.IsV4 ? 0x0800 : 0x86dd;
            if (!nextHop.IsV4 && nextHop.IsMulticast)
            {
                // 33:33 and the group's last 32 bits (RFC 2464 7).
                frame[0] = 0x33; frame[1] = 0x33; for (int k = 0; k < 4; k++) frame[2 + k] = (byte)(nextHop.Lo >> (24 - 8 * k));
                nif.Mac.AsSpan(0, 6).CopyTo(frame.Slice(6)); Wire.Put16(frame, 12, type);
                LinkSend(nif, frame);
                return;
            }
            if (nextHop.IsV4 && (nextHop.V4Value == 0xffffffff || (nif.Mask != 0 && nextHop.V4Value == (nif.Addr | ~nif.Mask))))
            {
                Broadcast.AsSpan(0, 6).CopyTo(frame); nif.Mac.AsSpan(0, 6).CopyTo(frame.Slice(6)); Wire.Put16(frame, 12, 0x0800);
                LinkSend(nif, frame);
                return;
            }
            int i = ArpFind(nextHop);
            if (i >= 0 && _arp[i].Resolved)
            {
                PutMac(frame, _arp[i].Mac); nif.Mac.AsSpan(0, 6).CopyTo(frame.Slice(6)); Wire.Put16(frame, 12, type);
                LinkSend(nif, frame);
                return;
            }
            if (i < 0)
            {
                i = ArpSlot();
                _arp[i].Ip = nextHop; _arp[i].If = nif; _arp[i].Expires = Now + ArpRetryMs; _arp[i].Tries = 0;
                if (nextHop.IsV4) ArpRequest(nif, nextHop.V4Value); else NeighborSolicit(nif, nextHop);
            }
            ref ArpEntry e = ref _arp[i];
            if (e.PendingCount == ArpPending) { nif.TxDropped++; return; }
            byte[] copy = new byte[frame.Length];
            frame.CopyTo(copy);
            Wire.Put16(copy, 12, type);
            _arpQueue[i * ArpPending + e.PendingCount] = copy;
            _arpQueueLen[i * ArpPending + e.PendingCount] = frame.Length;
            e.PendingCount++;
        }

        // ---- routing ----

        public bool IsLocal(uint a)
        {
            if ((a >> 24) == 127) return true;
            for (int i = 0; i < IfCount; i++) if (Ifs[i].Addr != 0 && Ifs[i].Addr == a) return true;
            return false;
        }

        /// The interface and next hop for `dst`, or null (ENETUNREACH).
        public NetIf Route(uint dst, out uint nextHop)
        {
            nextHop = dst;
            if (IsLocal(dst)) return Lo;
            for (int i = 0; i < IfCount; i++)
            {
                NetIf n = Ifs[i];
                if (n.Loopback || !n.Up) continue;
                if (dst == 0xffffffff) return n;
                if (n.Addr != 0 && (dst & n.Mask) == (n.Addr & n.Mask)) return n;
            }
            for (int i = 0; i < IfCount; i++)
            {
                NetIf n = Ifs[i];
                if (!n.Loopback && n.Up && n.Gateway != 0) { nextHop = n.Gateway; return n; }
            }
            return null;
        }

        /// The source address for packets to `dst` (unspecified when unroutable); IPv6
        /// link-local destinations use the interface `ifIndex` (their scope) when given.
        public IpAddr SourceFor(IpAddr dst, int ifIndex = 0)
        {
            if (!dst.IsV4) return SourceFor6(dst, ifIndex);
            uint d = dst.V4Value;
            NetIf n = Route(d, out _);
            if (n == null) return IpAddr.V4Any;
            if (n.Loopback) return (d >> 24) == 127 ? IpAddr.Loopback4 : dst;
            return IpAddr.V4(n.Addr);
        }

        public bool IsLocal(IpAddr a) => a.IsV4 ? IsLocal(a.V4Value) : IsLocal6(a);

        /// The interface packets to `dst` leave by (null: unreachable).
        public NetIf Route(IpAddr dst, int ifIndex = 0)
        {
            if (dst.IsV4) return Route(dst.V4Value, out _);
            return Route6(dst, ifIndex, out _);
        }

        // ---- IPv4 ----

        /// Sends the `payloadLen` bytes already at Tx[Payload..] as one IP packet (split into
        /// fragments when it does not fit the MTU and `df` is false). 0 or a NetErr.
        internal int IpOutput(IpAddr src, IpAddr dst, int proto, int payloadLen, int tos = 0, int ttl = 64, bool df = true, int ifIndex = 0)
        {
            if (!dst.IsV4) return Ip6Output(src, dst, proto, payloadLen, tos, ttl, ifIndex);
            return Ip4Output(src.V4Value, dst.V4Value, proto, payloadLen, tos, ttl, df);
        }

        int Ip4Output(uint src, uint dst, int proto, int payloadLen, int tos, int ttl, bool df)
        {
            NetIf nif = Route(dst, out uint nextHop);
            if (nif == null) return NetErr.ENETUNREACH;
            int total = IpHeader + payloadLen;
            // TCP and UDP hand over a partial checksum: the loopback never looks at it, a
            // device with checksum offload finishes it, otherwise it is finished here.
            if ((proto == ProtoTcp || proto == ProtoUdp) && !nif.Loopback && (!nif.DeviceChecksums || total > nif.Mtu))
                FinishChecksum(proto, Tx.AsSpan(Payload, payloadLen));
            if (total > nif.Mtu)
            {
                if (df) return NetErr.EMSGSIZE;
                return IpFragments(nif, nextHop, src, dst, proto, payloadLen, tos, ttl);
            }
            Span<byte> ip = Tx.AsSpan(Ip4At, total);
            WriteIpHeader(ip, src, dst, proto, total, tos, ttl, df ? 0x4000 : 0, _ipId++);
            if (nif.Loopback) LoopQueue(nif, ip);
            else EthOutput(nif, IpAddr.V4(nextHop), Tx.AsSpan(Frame4At, EthHeader + total));
            return 0;
        }

        /// What a device does with a partial checksum: the sum over the segment (whose
        /// checksum field holds the pseudo-header sum), folded, stored in the field.
        public static void FinishChecksum(int proto, Span<byte> segment)
        {
            int at = proto == ProtoTcp ? 16 : 6;
            ushort c = Wire.Fold(Wire.Sum(segment, 0));
            if (proto == ProtoUdp && c == 0) c = 0xffff;       // 0 means "no checksum" in UDP
            Wire.Put16(segment, at, c);
        }

        int IpFragments(NetIf nif, uint nextHop, uint src, uint dst, int proto, int payloadLen, int tos, int ttl)
        {
            int chunk = (nif.Mtu - IpHeader) & ~7;
            if (chunk > _frag.Length - FragPayload) chunk = (_frag.Length - FragPayload) & ~7;
            ushort id = _ipId++;
            for (int off = 0; off < payloadLen; off += chunk)
            {
                int n = payloadLen - off < chunk ? payloadLen - off : chunk;
                bool more = off + n < payloadLen;
                Span<byte> f = _frag.AsSpan(0, FragPayload + n);
                Tx.AsSpan(Payload + off, n).CopyTo(f.Slice(FragPayload));
                WriteIpHeader(f.Slice(EthHeader), src, dst, proto, IpHeader + n, tos, ttl, (more ? 0x2000 : 0) | (off >> 3), id);
                if (nif.Loopback) LoopQueue(nif, f.Slice(EthHeader));
                else EthOutput(nif, IpAddr.V4(nextHop), f);
            }
            return 0;
        }

        static void WriteIpHeader(Span<byte> ip, uint src, uint dst, int proto, int total, int tos, int ttl, int flagsFrag, ushort id)
        {
            ip[0] = 0x45; ip[1] = (byte)tos; Wire.Put16(ip, 2, total); Wire.Put16(ip, 4, id);
            Wire.Put16(ip, 6, flagsFrag); ip[8] = (byte)ttl; ip[9] = (byte)proto; ip[10] = 0; ip[11] = 0;
            Wire.Put32(ip, 12, src); Wire.Put32(ip, 16, dst);
            Wire.Put16(ip, 10, Wire.Checksum(ip.Slice(0, IpHeader)));
        }

        bool AcceptsDst(NetIf nif, uint dst)
        {
            if (dst == 0xffffffff) return true;
            if (nif.Loopback) return IsLocal(dst);
            if (nif.Addr == 0) return false;
            if (dst == nif.Addr || dst == (nif.Addr | ~nif.Mask)) return true;
            return IsLocal(dst);
        }

        void IpInput(NetIf nif, ReadOnlySpan<byte> p)
        {
            if (p.Length < IpHeader || (p[0] >> 4) != 4) { Drops++; return; }
            int ihl = (p[0] & 15) * 4, total = Wire.U16(p, 2);
            if (ihl < IpHeader || total < ihl || total > p.Length) { Drops++; return; }
            if (!nif.Loopback && Wire.Checksum(p.Slice(0, ihl)) != 0) { Drops++; return; }
            p = p.Slice(0, total);                             // Ethernet padding off
            uint src = Wire.U32(p, 12), dst = Wire.U32(p, 16);
            int proto = p[9];
            bool dhcpWait = proto == ProtoUdp && nif.Addr == 0;      // DHCP offers before we have an address
            if (!AcceptsDst(nif, dst) && !dhcpWait) { Drops++; return; }
            if ((src >> 28) == 14 || src == 0xffffffff) { Drops++; return; }   // multicast/broadcast sources are never valid
            int ff = Wire.U16(p, 6);
            if ((ff & 0x3fff) != 0)
            {
                _rxChecksummed = false;          // a device's verdict covers one frame, not the reassembled whole
                // A fragment (MF set or a non-zero offset): reassemble, then handle the whole.
                byte[] whole = Reassemble(p, ihl, src, dst, proto, ff, out int len);
                if (whole == null) return;
                Deliver(nif, src, dst, proto, p.Slice(0, ihl), new ReadOnlySpan<byte>(whole, 0, len), p[1]);
                return;
            }
            // Options (ihl > 5) are skipped: nothing here acts on them.
            Deliver(nif, src, dst, proto, p.Slice(0, ihl), p.Slice(ihl), p[1]);
        }

        void Deliver(NetIf nif, uint src, uint dst, int proto, ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> payload, int tos)
        {
            bool broadcast = dst == 0xffffffff || (nif.Mask != 0 && dst == (nif.Addr | ~nif.Mask));
            switch (proto)
            {
                case ProtoIcmp: IcmpInput(src, dst, payload, broadcast); break;
                case ProtoUdp: UdpInput(nif, IpAddr.V4(src), IpAddr.V4(dst), ipHeader, payload, broadcast); break;
                case ProtoTcp: if (!broadcast) TcpInput(nif, IpAddr.V4(src), IpAddr.V4(dst), payload); else Drops++; break;
                default:
                    if (!broadcast) IcmpError(3, 2, ipHeader, payload, src, dst);      // protocol unreachable
                    break;
            }
        }

        // ---- reassembly (RFC 791 3.2): a few packets at a time, 30 s to complete ----
        const int ReasmSlots = 4;
        const ulong ReasmTimeoutMs = 30000;
        struct Reasm
        {
            public IpAddr Src, Dst; public uint Id; public int Proto;
            public byte[] Data; public byte[] Have;     // one bit per 8-byte block
            public int Total;                            // payload length once the last fragment came (-1 before)
            public ulong Expires;
        }
        readonly Reasm[] _reasm = new Reasm[ReasmSlots];
        int _reasmCount;
        public int ReassemblyInProgress => _reasmCount;

        byte[] Reassemble(ReadOnlySpan<byte> p, int ihl, uint src, uint dst, int proto, int ff, out int length)
        {
            length = 0;
            int off = (ff & 0x1fff) * 8, n = p.Length - ihl;
            if (off + n > 65535 - IpHeader) { Drops++; return null; }
            return Reassemble(IpAddr.V4(src), IpAddr.V4(dst), Wire.U16(p, 4), proto, off, (ff & 0x2000) != 0, p.Slice(ihl), out length);
        }

        /// Places one fragment (`data` at byte `off` of the original payload; `more`: not
        /// the last) and returns the whole payload once every part is there, else null.
        /// IPv4 and IPv6 share the slots (keyed by addresses, id and protocol).
        byte[] Reassemble(IpAddr src, IpAddr dst, uint id, int proto, int off, bool more, ReadOnlySpan<byte> data, out int length)
        {
            length = 0;
            int n = data.Length;
            if (off + n > 65535 || (more && (n & 7) != 0) || n == 0) { Drops++; return null; }
            int s = -1;
            for (int i = 0; i < ReasmSlots; i++)
                if (_reasm[i].Data != null && _reasm[i].Src == src && _reasm[i].Dst == dst && _reasm[i].Id == id && _reasm[i].Proto == proto) { s = i; break; }
            if (s < 0)
            {
                for (int i = 0; i < ReasmSlots; i++) if (_reasm[i].Data == null) { s = i; break; }
                if (s < 0)
                {
                    s = 0;          // all busy: the oldest gives way
                    for (int i = 1; i < ReasmSlots; i++) if (_reasm[i].Expires < _reasm[s].Expires) s = i;
                    _reasm[s] = default; _reasmCount--;
                }
                _reasm[s] = new Reasm { Src = src, Dst = dst, Id = id, Proto = proto, Data = new byte[65536], Have = new byte[8192 / 8 + 1], Total = -1, Expires = Now + ReasmTimeoutMs };
                _reasmCount++;
            }
            ref Reasm r = ref _reasm[s];
            data.CopyTo(r.Data.AsSpan(off, r.Data.Length - off));
            int lastBlock = (off + n + 7) / 8;
            for (int b = off / 8; b < lastBlock; b++) r.Have[b >> 3] |= (byte)(1 << (b & 7));
            if (!more)
            {
                if (r.Total >= 0 && r.Total != off + n) { _reasm[s] = default; _reasmCount--; Drops++; return null; }
                r.Total = off + n;
            }
            if (r.Total < 0) return null;
            int blocks = (r.Total + 7) / 8;
            for (int b = 0; b < blocks; b++) if ((r.Have[b >> 3] & (1 << (b & 7))) == 0) return null;
            byte[] whole = r.Data;
            length = r.Total;
            _reasm[s] = default; _reasmCount--;
            return whole;
        }

        void ReassemblyTick()
        {
            for (int i = 0; i < ReasmSlots; i++)
                if (_reasm[i].Data != null && _reasm[i].Expires <= Now) { _reasm[i] = default; _reasmCount--; }
        }

        // ---- ICMP ----

        void IcmpInput(uint src, uint dst, ReadOnlySpan<byte> m, bool broadcast)
        {
            if (m.Length < 8 || Wire.Checksum(m) != 0) { Drops++; return; }
            int type = m[0], code = m[1];
            if (type == 8 && code == 0)
            {
                if (broadcast || m.Length > Tx.Length - Payload) return;      // no broadcast echo (as Linux's default)
                Span<byte> r = Tx.AsSpan(Payload, m.Length);
                m.CopyTo(r);
                r[0] = 0; r[2] = 0; r[3] = 0;
                Wire.Put16(r, 2, Wire.Checksum(r));
                IpOutput(IpAddr.V4(dst), IpAddr.V4(src), ProtoIcmp, m.Length);
                return;
            }
            if (type == 0) { IcmpEchoReplies++; return; }
            if (type == 3 && m.Length >= 8 + 28)
            {
                // An error about a packet we sent: its header and first 8 bytes follow.
                ReadOnlySpan<byte> inner = m.Slice(8);
                int ihl = (inner[0] & 15) * 4;
                if (ihl < IpHeader || inner.Length < ihl + 8) return;
                uint isrc = Wire.U32(inner, 12), idst = Wire.U32(inner, 16);
                int iproto = inner[9];
                int sport = Wire.U16(inner, ihl), dport = Wire.U16(inner, ihl + 2);
                if (iproto == ProtoUdp) UdpIcmpError(IpAddr.V4(isrc), sport, IpAddr.V4(idst), dport, code == 3 ? NetErr.ECONNREFUSED : NetErr.EHOSTUNREACH);
                else if (iproto == ProtoTcp) TcpIcmpError(IpAddr.V4(isrc), sport, IpAddr.V4(idst), dport, code == 4 ? -1 : code == 3 ? NetErr.ECONNREFUSED : NetErr.EHOSTUNREACH, code == 4 ? Wire.U16(m, 6) : 0);
            }
        }

        public ulong IcmpEchoReplies;

        /// Sends an ICMP echo request (for tests and ping-like self checks).
        public int SendEcho(uint dst, ushort id, ushort seq, ReadOnlySpan<byte> data)
        {
            IpAddr src = SourceFor(IpAddr.V4(dst));
            if (src.IsUnspecified) return NetErr.ENETUNREACH;
            Span<byte> r = Tx.AsSpan(Payload, 8 + data.Length);
            r[0] = 8; r[1] = 0; r[2] = 0; r[3] = 0; Wire.Put16(r, 4, id); Wire.Put16(r, 6, seq);
            data.CopyTo(r.Slice(8));
            Wire.Put16(r, 2, Wire.Checksum(r));
            return IpOutput(src, IpAddr.V4(dst), ProtoIcmp, r.Length);
        }

        /// An ICMP error about a received packet (RFC 792: its IP header and 8 bytes).
        void IcmpError(int type, int code, ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> payload, uint origSrc, uint origDst)
        {
            if ((origDst >> 28) == 14 || origSrc == 0) return;
            int quote = payload.Length < 8 ? payload.Length : 8;
            int len = 8 + ipHeader.Length + quote;
            Span<byte> r = Tx.AsSpan(Payload, len);
            r[0] = (byte)type; r[1] = (byte)code; r[2] = 0; r[3] = 0; r[4] = 0; r[5] = 0; r[6] = 0; r[7] = 0;
            ipHeader.CopyTo(r.Slice(8));
            payload.Slice(0, quote).CopyTo(r.Slice(8 + ipHeader.Length));
            Wire.Put16(r, 2, Wire.Checksum(r));
            IpOutput(IpAddr.V4(origDst), IpAddr.V4(origSrc), ProtoIcmp, len, 0xc0);
        }
    }
}
