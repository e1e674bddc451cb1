using Kernel.Net;

namespace HostTests;

/// The TCP/IP stack driven by scripted frames: two stacks on a simulated Ethernet wire
/// (with loss and reordering under test control), time advanced by hand.
public class NetStackTests
{
    internal sealed class Wire : NetLink
    {
        public readonly List<byte[]> Out = new();
        public override void Transmit(ReadOnlySpan<byte> frame) { Sent++; Out.Add(frame.ToArray()); }

        /// A device queue for autocorking: frames up to Left have left it (all, unless a
        /// test holds them).
        public ulong Sent, Left = ulong.MaxValue;
        public override ulong TxMark => Sent;
        public override bool TxDone(ulong mark) => Left >= mark;

        /// Partial-checksum frames (the interface has DeviceChecksums): recorded with their
        /// csum_start/csum_offset and, unless Finish is off, finished as a virtio-net device
        /// does: the one's-complement sum from csum_start to the end, stored at
        /// csum_start + csum_offset.
        public readonly List<(byte[] Frame, int Start, int Offset)> Partial = new();
        public bool Finish = true;
        public override void TransmitPartial(ReadOnlySpan<byte> frame, int csumStart, int csumOffset)
        {
            Sent++;
            var f = frame.ToArray();
            Partial.Add((f.ToArray(), csumStart, csumOffset));
            if (Finish)
            {
                ushort c = Kernel.Net.Wire.Fold(Kernel.Net.Wire.Sum(f.AsSpan(csumStart), 0));
                f[csumStart + csumOffset] = (byte)(c >> 8); f[csumStart + csumOffset + 1] = (byte)c;
            }
            Out.Add(f);
        }
    }

    sealed class Counter : NetEvents { public int N; public override void Changed(object? owner) => N++; }

    /// Two hosts, A = 10.0.0.1 and B = 10.0.0.2 on 10.0.0.0/24, joined by a wire; with
    /// `ip6`, IPv6 is enabled on both (link-local addresses from their MACs: LlA, LlB).
    internal sealed class Net
    {
        public readonly NetStack A = new(1), B = new(2);
        public readonly Wire WA = new(), WB = new();
        public readonly NetIf IA, IB;
        public Func<byte[], bool>? DropAtoB, DropBtoA;
        public int Delivered;

        public Net(bool ip6 = false)
        {
            IA = A.AddInterface("eth0"u8, WA, 1500); IB = B.AddInterface("eth0"u8, WB, 1500);
            for (int i = 0; i < 6; i++) { IA.Mac[i] = (byte)(0x52 + i); IB.Mac[i] = (byte)(0x62 + i); }
            IA.Addr = Kernel.Net.Wire.Ip(10, 0, 0, 1); IB.Addr = Kernel.Net.Wire.Ip(10, 0, 0, 2);
            IA.Mask = IB.Mask = 0xffffff00;
            A.Events = new Counter(); B.Events = new Counter();
            // Both addresses pass duplicate address detection (one probe, RetransTimer 1 s).
            if (ip6) { A.EnableIp6(IA); B.EnableIp6(IB); Run(); Advance(NetStack.RetransTimerMs + 10); }
        }

        public IpAddr LlA => NetStack.LinkLocal(IA);
        public IpAddr LlB => NetStack.LinkLocal(IB);

        /// Moves frames both ways until the wire is quiet.
        public void Run(int maxRounds = 10000)
        {
            for (int r = 0; r < maxRounds; r++)
            {
                if (WA.Out.Count == 0 && WB.Out.Count == 0) return;
                var a = WA.Out.ToArray(); WA.Out.Clear();
                var b = WB.Out.ToArray(); WB.Out.Clear();
                foreach (var f in a) if (DropAtoB == null || !DropAtoB(f)) { B.Input(IB, f); Delivered++; }
                foreach (var f in b) if (DropBtoA == null || !DropBtoA(f)) { A.Input(IA, f); Delivered++; }
            }
            throw new Exception("the wire never went quiet");
        }

        /// Advances both clocks by `ms` in steps, running timers and the wire.
        public void Advance(ulong ms, ulong step = 10)
        {
            for (ulong t = 0; t < ms; t += step)
            {
                A.Now += step; B.Now += step;
                A.Tick(); B.Tick();
                Run();
            }
        }
    }

    static bool IsTcp(byte[] f, int flags = -1, bool withData = false)
    {
        if (f.Length < 54 || f[12] != 8 || f[13] != 0 || f[23] != 6) return false;
        int ihl = (f[14] & 15) * 4, total = f[16] << 8 | f[17];
        int hl = (f[14 + ihl + 12] >> 4) * 4;
        int data = total - ihl - hl;
        if (withData && data == 0) return false;
        return flags < 0 || (f[14 + ihl + 13] & flags) == flags;
    }

    static (TcpConnection client, TcpConnection server, TcpConnection listener) Connect(Net n, int port = 80)
    {
        var l = n.B.NewTcp();
        n.B.BindTcp(l, IpAddr.V4Any, port).Should().Be(0);
        l.Listen(16).Should().Be(0);
        var c = n.A.NewTcp();
        c.Connect(IpAddr.V4(n.IB.Addr), port).Should().Be(0);
        n.Run();
        c.State.Should().Be(TcpState.Established);
        var s = l.Accept();
        s.Should().NotBeNull();
        s!.State.Should().Be(TcpState.Established);
        return (c, s, l);
    }

    static byte[] Pattern(int n) { var b = new byte[n]; for (int i = 0; i < n; i++) b[i] = (byte)(i * 7 + i / 251); return b; }

    static byte[] Pull(Net n, TcpConnection from, int want)
    {
        var got = new List<byte>();
        var buf = new byte[8192];
        for (int guard = 0; got.Count < want && guard < 100000; guard++)
        {
            int r = from.Receive(buf, false);
            if (r > 0) { got.AddRange(buf.AsSpan(0, r).ToArray()); continue; }
            if (r == 0) break;
            n.Advance(10);
        }
        return got.ToArray();
    }

    static void Push(Net n, TcpConnection to, byte[] data)
    {
        int off = 0;
        for (int guard = 0; off < data.Length && guard < 100000; guard++)
        {
            int r = to.Send(data.AsSpan(off));
            r.Should().BeGreaterThanOrEqualTo(0);
            off += r;
            n.Run();
            if (r == 0) n.Advance(10);
        }
        off.Should().Be(data.Length);
    }

    internal static void Transfer(Net n, TcpConnection from, TcpConnection to, byte[] data)
    {
        int off = 0; var got = new List<byte>(); var buf = new byte[65536];
        for (int guard = 0; got.Count < data.Length && guard < 100000; guard++)
        {
            if (off < data.Length) off += from.Send(data.AsSpan(off));
            n.Run();
            int k = to.Receive(buf, false);
            if (k > 0) got.AddRange(buf.AsSpan(0, k).ToArray());
            else n.Advance(10);
        }
        got.ToArray().Should().Equal(data);
    }

    static int DataFrames(Net n) => n.WA.Out.Count(f => IsTcp(f, withData: true));

    [Fact]
    public void ChecksumMatchesRfc1071Example()
    {
        // RFC 1071 section 3's example bytes: the one's-complement sum is 0xddf2.
        byte[] b = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
        Kernel.Net.Wire.Fold(Kernel.Net.Wire.Sum(b, 0)).Should().Be(unchecked((ushort)~0xddf2));
        byte[] odd = { 0x01 };
        Kernel.Net.Wire.Checksum(odd).Should().Be(unchecked((ushort)~0x0100));
    }

    [Fact]
    public void ChecksumMatchesAWordAtATimeSumForEveryLengthAndOffset()
    {
        // Wire.Sum adds eight bytes at a time in the machine's byte order: compare it with
        // RFC 1071's definition (16-bit big-endian words, an odd byte padded) over random
        // bytes, every length up to 100 and a full frame, at odd and even offsets, with a
        // starting sum that needs carries.
        var rng = new Random(12);
        var buf = new byte[1600];
        rng.NextBytes(buf);
        for (int len = 0; len <= 1514; len = len < 100 ? len + 1 : len + 283)
            for (int off = 0; off < 4; off++)
                foreach (uint start in new uint[] { 0, 0xffff, 0x1fffe, 0xfffffff0 })
                {
                    ulong r = start;
                    for (int i = 0; i < len; i += 2) r += (uint)(buf[off + i] << 8 | (i + 1 < len ? buf[off + i + 1] : 0));
                    while ((r >> 32) != 0) r = (r & 0xffffffff) + (r >> 32);
                    Kernel.Net.Wire.Fold(Kernel.Net.Wire.Sum(buf.AsSpan(off, len), start)).Should().Be(Kernel.Net.Wire.Fold((uint)r), $"length {len}, offset {off}, start {start:x}");
                }
        var ones = new byte[1500];
        Array.Fill(ones, (byte)0xff);
        Kernel.Net.Wire.Checksum(ones).Should().Be(0);      // all ones sum to 0xffff (negative zero)
    }

    [Fact]
    public void ReadsSendAWindowUpdateOnlyWhenTheKnownWindowFellToHalf()
    {
        // A reader that keeps up sends no window update (the ACKs for the data carry the
        // window); once the window the peer knows has fallen to half the buffer or less, a
        // read that at least doubles it is announced at once, as Linux does after a read.
        var n = new Net();
        var (c, s, _) = Connect(n);
        var buf = new byte[65536];
        c.Send(Pattern(8 * 1448)).Should().Be(8 * 1448);
        n.Run();
        s.Unread.Should().Be(8 * 1448);
        n.WB.Out.Clear();
        s.Receive(buf, false).Should().Be(8 * 1448);
        n.WB.Out.Should().BeEmpty("the peer still sees 64 KiB - 11,584 bytes: more than half");

        // Full segments (Nagle would hold a remainder). Fill the buffer until the peer knows a window of half or less.
        c.Send(Pattern(28 * 1448)).Should().Be(28 * 1448);
        n.Run();
        s.Unread.Should().Be(28 * 1448);
        n.WB.Out.Clear();
        s.Receive(buf.AsSpan(0, 1000), false).Should().Be(1000);
        n.WB.Out.Should().BeEmpty("1,000 bytes do not double a 24,992-byte window");
        s.Receive(buf, false).Should().Be(28 * 1448 - 1000);
        n.WB.Out.Should().ContainSingle("the read opened the window from 24,992 bytes to 64 KiB");
        IsTcp(n.WB.Out[0], TcpConnection.FlagAck, withData: false).Should().BeTrue();
        int field = n.WB.Out[0][48] << 8 | n.WB.Out[0][49];
        (field << s.RcvScale).Should().Be(65536);
        n.Run();
    }

    [Fact]
    public void DeferredAcksMakeOneAckPerBatchOfSegments()
    {
        // The kernel's netd feeds a batch of received frames with DeferAcks set: in-order
        // data is then acknowledged once, at FlushAcks, not every second segment; a reply
        // sent within the batch carries the ACK, and nothing is left to send after it.
        var n = new Net();
        var (c, s, _) = Connect(n);
        c.Send(Pattern(10 * 1400)).Should().Be(10 * 1400);
        var data = n.WA.Out.Where(f => IsTcp(f, withData: true)).ToArray();
        data.Length.Should().BeGreaterThanOrEqualTo(7);
        n.WA.Out.Clear();
        n.B.DeferAcks = true;
        foreach (var f in data) n.B.Input(n.IB, f);
        n.B.DeferAcks = false;
        n.WB.Out.Should().BeEmpty("ACKs wait for the end of the batch");
        n.B.FlushAcks();
        n.WB.Out.Should().HaveCount(1);
        uint ack = (uint)(n.WB.Out[0][42] << 24 | n.WB.Out[0][43] << 16 | n.WB.Out[0][44] << 8 | n.WB.Out[0][45]);
        ack.Should().Be(s.RcvNxt, "one ACK covers the whole batch");
        n.Run();
        Pull(n, s, 10 * 1400).Should().Equal(Pattern(10 * 1400));
        n.Run();
        n.Advance(50);          // the delayed ACK of an odd last segment (reads send no window update)

        // Without the batch flag: an ACK every second segment, as before.
        c.Send(Pattern(4 * 1400)).Should().Be(4 * 1400);
        data = n.WA.Out.Where(f => IsTcp(f, withData: true)).ToArray();
        n.WA.Out.Clear();
        foreach (var f in data) n.B.Input(n.IB, f);
        n.WB.Out.Count.Should().Be(data.Length / 2, $"{data.Length} segments: {string.Join(",", n.WB.Out.Select(f => f.Length))}");

        // A reply within the batch carries the ACK: FlushAcks then sends nothing.
        n.Run();
        c.Send(Pattern(4 * 1400)).Should().Be(4 * 1400);
        data = n.WA.Out.Where(f => IsTcp(f, withData: true)).ToArray();
        n.WA.Out.Clear();
        n.B.DeferAcks = true;
        foreach (var f in data) n.B.Input(n.IB, f);
        s.Send("answer"u8).Should().Be(6);
        n.B.DeferAcks = false;
        n.B.FlushAcks();
        n.WB.Out.Should().HaveCount(1);
        IsTcp(n.WB.Out[0], withData: true).Should().BeTrue();
    }

    [Fact]
    public void ArpResolvesQueuesAndAnswers()
    {
        var n = new Net();
        n.A.SendEcho(n.IB.Addr, 1, 1, "ping"u8).Should().Be(0);
        n.WA.Out.Should().HaveCount(1);                    // the ARP request; the echo waits for the reply
        n.WA.Out[0][12].Should().Be(0x08); n.WA.Out[0][13].Should().Be(0x06);
        n.Run();
        n.A.IcmpEchoReplies.Should().Be(1);
        n.A.ArpCount.Should().Be(1); n.B.ArpCount.Should().Be(1);   // B learnt A from the request
        // Entries expire after a minute; a host that never answers costs three requests, then the queue drops.
        n.Advance(61000, 1000);
        n.A.ArpCount.Should().Be(0);
        n.DropAtoB = f => true;
        n.A.SendEcho(Kernel.Net.Wire.Ip(10, 0, 0, 9), 1, 2, "x"u8);
        int requests = 0;
        n.DropAtoB = f => { if (f[12] == 8 && f[13] == 6) requests++; return true; };
        n.Advance(5000, 100);
        requests.Should().Be(4);
        n.A.NextTimer().Should().Be(0);
    }

    [Fact]
    public void HandshakeDataBothWaysAndOrderlyClose()
    {
        var n = new Net();
        var (c, s, l) = Connect(n);
        c.TsOk.Should().BeTrue(); c.SndScale.Should().Be(s.RcvScale);
        c.Mss.Should().Be(1460);
        var data = Pattern(300000);
        Transfer(n, c, s, data.AsSpan(0, 100000).ToArray());
        Transfer(n, s, c, data);
        // Client closes first: FIN_WAIT_2 / CLOSE_WAIT, then the server's FIN: TIME_WAIT / CLOSED.
        c.Shutdown(false, true); n.Run();
        c.State.Should().Be(TcpState.FinWait2); s.State.Should().Be(TcpState.CloseWait);
        s.Receive(new byte[10], false).Should().Be(0);      // end of stream
        s.CanRead.Should().BeTrue();
        s.Send("after"u8).Should().Be(5);                  // half-close: the other way still works
        n.Run();
        Pull(n, c, 5).Should().Equal("after"u8.ToArray());
        s.Close(); n.Run();
        s.State.Should().Be(TcpState.Closed);
        c.State.Should().Be(TcpState.TimeWait);
        n.Advance(61000, 1000);
        c.State.Should().Be(TcpState.Closed);
        n.A.TcpCount.Should().Be(0); n.B.TcpCount.Should().Be(0);
        l.Close();
        n.B.TcpList.Should().BeNull();
    }

    [Fact]
    public void LostSegmentsAreRetransmittedAndRttMeasured()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        int dropped = 0;
        // Drop every 5th data segment once.
        int seen = 0;
        n.DropAtoB = f => IsTcp(f, withData: true) && ++seen % 5 == 0 && dropped++ < 20;
        var data = Pattern(200000);
        var reader = Task.Run(() => 0);
        int off = 0; var got = new List<byte>(); var buf = new byte[65536];
        for (int guard = 0; got.Count < data.Length && guard < 200000; guard++)
        {
            if (off < data.Length) { int r = c.Send(data.AsSpan(off)); off += r; }
            n.Run();
            int k = s.Receive(buf, false);
            if (k > 0) got.AddRange(buf.AsSpan(0, k).ToArray());
            else n.Advance(10);
        }
        got.ToArray().Should().Equal(data);
        dropped.Should().BeGreaterThan(5);
        c.TotalRetransmits.Should().BeGreaterThan(0);
        c.FastRetransmits.Should().BeGreaterThan(0);        // three duplicate ACKs, not only timeouts
        s.OooSegments.Should().BeGreaterThan(0);
        c.Rto.Should().BeGreaterThanOrEqualTo(200);
    }

    [Fact]
    public void RetransmissionTimeoutBacksOffAndGivesUp()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        n.DropAtoB = f => IsTcp(f);
        c.Send("hello"u8).Should().Be(5);
        n.Run();
        var times = new List<ulong>();
        n.DropAtoB = f => { if (IsTcp(f, withData: true)) times.Add(n.A.Now); return true; };
        n.Advance(20000, 10);
        times.Count.Should().BeGreaterThan(3);
        // Each wait doubles (RFC 6298 5.5).
        for (int i = 2; i < times.Count; i++)
            ((double)(times[i] - times[i - 1]) / (times[i - 1] - times[i - 2])).Should().BeApproximately(2.0, 0.1);
        n.Advance(2_000_000, 1000);
        c.State.Should().Be(TcpState.Closed);
        c.Receive(new byte[4], false).Should().Be(-NetErr.ETIMEDOUT);
    }

    [Fact]
    public void ZeroWindowIsProbedAndReopens()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        var data = Pattern(200000);
        int off = 0;
        for (int i = 0; i < 100; i++) { off += c.Send(data.AsSpan(off)); n.Run(); }
        c.SndWnd.Should().Be(0u);                         // the server's buffer is full, nobody reads
        int probes = 0;
        n.DropBtoA = null;
        n.DropAtoB = f => { if (IsTcp(f) && !IsTcp(f, withData: true)) probes++; return false; };
        n.Advance(5000, 50);
        probes.Should().BeGreaterThan(1);
        c.WindowProbes.Should().BeGreaterThan(1);
        n.DropAtoB = null;
        int queued = c.SendQueued;
        var got = Pull(n, s, 65536);
        got.Should().Equal(data.AsSpan(0, 65536).ToArray());
        n.Advance(100);
        c.SendQueued.Should().BeLessThan(queued);          // the window reopened and the rest moved
    }

    [Fact]
    public void ConnectToClosedPortIsRefusedAndListenerQueueIsBounded()
    {
        var n = new Net();
        var c = n.A.NewTcp();
        c.Connect(IpAddr.V4(n.IB.Addr), 81).Should().Be(0);
        n.Run();
        c.State.Should().Be(TcpState.Closed);
        c.Error.Should().Be(NetErr.ECONNREFUSED);

        var l = n.B.NewTcp();
        n.B.BindTcp(l, IpAddr.V4Any, 80).Should().Be(0);
        l.Listen(2);
        var cs = new List<TcpConnection>();
        for (int i = 0; i < 6; i++) { var x = n.A.NewTcp(); x.Connect(IpAddr.V4(n.IB.Addr), 80); cs.Add(x); n.Run(); }
        l.AcceptCount.Should().Be(3);                      // backlog + 1, as Linux
        n.B.SynDropped.Should().BeGreaterThan(0);
        l.Accept().Should().NotBeNull();
        n.Advance(4000, 100);                              // the dropped SYNs are retried and now fit
        l.AcceptCount.Should().Be(3);
    }

    [Fact]
    public void ResetsAreValidatedPerRfc5961()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        // A forged RST inside the window but not at RCV.NXT gets a challenge ACK, the connection lives.
        byte[] rst = ForgeSegment(n, s, c, seqOffset: 100, TcpConnection.FlagRst);
        n.B.Input(n.IB, rst);
        s.State.Should().Be(TcpState.Established);
        n.B.ChallengeAcks.Should().Be(1);
        // A SYN on an established connection: a challenge ACK too.
        n.B.Input(n.IB, ForgeSegment(n, s, c, seqOffset: 0, TcpConnection.FlagSyn));
        n.B.ChallengeAcks.Should().Be(2);
        s.State.Should().Be(TcpState.Established);
        n.Run();
        // The exact RST resets.
        n.B.Input(n.IB, ForgeSegment(n, s, c, seqOffset: 0, TcpConnection.FlagRst));
        s.State.Should().Be(TcpState.Closed);
        s.Receive(new byte[1], false).Should().Be(-NetErr.ECONNRESET);
        s.Receive(new byte[1], false).Should().Be(0);
        s.Send("x"u8).Should().Be(-NetErr.EPIPE);
        // Abort sends a RST the other side accepts.
        var (c2, s2, _) = Connect(n, 81);
        c2.Abort(); n.Run();
        s2.State.Should().Be(TcpState.Closed); s2.Error.Should().Be(NetErr.ECONNRESET);
    }

    /// A segment from `from`'s peer to `to` as if sent by `from`'s remote end (IP and TCP checksummed).
    static byte[] ForgeSegment(Net n, TcpConnection to, TcpConnection peer, int seqOffset, int flags)
    {
        var f = new byte[54];
        n.IB.Mac.CopyTo(f, 0); n.IA.Mac.CopyTo(f, 6); f[12] = 8;
        var ip = f.AsSpan(14, 20);
        ip[0] = 0x45; Kernel.Net.Wire.Put16(ip, 2, 40); ip[8] = 64; ip[9] = 6;
        Kernel.Net.Wire.Put32(ip, 12, to.RemoteAddr.V4Value); Kernel.Net.Wire.Put32(ip, 16, to.LocalAddr.V4Value);
        Kernel.Net.Wire.Put16(ip, 10, Kernel.Net.Wire.Checksum(ip));
        var t = f.AsSpan(34, 20);
        Kernel.Net.Wire.Put16(t, 0, to.RemotePort); Kernel.Net.Wire.Put16(t, 2, to.LocalPort);
        Kernel.Net.Wire.Put32(t, 4, to.RcvNxt + (uint)seqOffset); Kernel.Net.Wire.Put32(t, 8, to.SndNxt);
        t[12] = 5 << 4; t[13] = (byte)(flags | ((flags & TcpConnection.FlagRst) == 0 ? 0 : 0)); Kernel.Net.Wire.Put16(t, 14, 1000);
        Kernel.Net.Wire.Put16(t, 16, Kernel.Net.Wire.Fold(Kernel.Net.Wire.Sum(t, Kernel.Net.Wire.PseudoSum(to.RemoteAddr, to.LocalAddr, 6, 20))));
        return f;
    }

    [Fact]
    public void SimultaneousOpenAndClose()
    {
        var n = new Net();
        var a = n.A.NewTcp(); var b = n.B.NewTcp();
        n.A.BindTcp(a, IpAddr.V4Any, 5000); n.B.BindTcp(b, IpAddr.V4Any, 6000);
        // Both SYNs cross on the wire.
        a.Connect(IpAddr.V4(n.IB.Addr), 6000); n.Advance(0); 
        n.WA.Out.Clear();                                  // A's SYN is lost in flight... (ARP came first)
        b.Connect(IpAddr.V4(n.IA.Addr), 5000);
        n.Run();
        n.Advance(3000, 50);                                // A's SYN is retransmitted, crossing B's
        a.State.Should().Be(TcpState.Established); b.State.Should().Be(TcpState.Established);
        a.Shutdown(false, true); b.Shutdown(false, true);   // FINs cross
        n.Run();
        a.State.Should().Be(TcpState.TimeWait); b.State.Should().Be(TcpState.TimeWait);
    }

    [Fact]
    public void NagleHoldsSmallSegmentsUnlessNoDelay()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        c.Send("a"u8); c.Send("b"u8); c.Send("c"u8);
        DataFrames(n).Should().Be(1);                       // one in flight, the rest waits for its ACK
        n.Run();
        n.Advance(100);
        Pull(n, s, 3).Should().Equal("abc"u8.ToArray());
        c.NoDelay = true;
        c.Send("a"u8); c.Send("b"u8); c.Send("c"u8);
        DataFrames(n).Should().Be(3);
        n.Run();
        c.Cork = true;
        c.Send("x"u8); c.Send("y"u8);
        DataFrames(n).Should().Be(0);                       // corked
        c.Cork = false; c.Output();
        DataFrames(n).Should().Be(1);
    }

    [Fact]
    public void AutocorkingHoldsSmallWritesWhileThePreviousFrameIsInTheDevice()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        c.NoDelay = true;
        n.WA.Left = n.WA.Sent;                              // from now on frames stay queued
        c.Send("a"u8);
        DataFrames(n).Should().Be(1);                       // nothing unacknowledged: at once
        c.Send("b"u8); c.Send("c"u8);
        DataFrames(n).Should().Be(1);                       // 'a' is still in the device: held
        n.A.AutocorkHolds.Should().BeGreaterThan(0);
        n.A.PushCorked();
        DataFrames(n).Should().Be(1);                       // still there: still held
        n.WA.Left = ulong.MaxValue;
        n.A.PushCorked();
        DataFrames(n).Should().Be(2);                       // "bc" in one segment
        n.WA.Out.Where(f => IsTcp(f, withData: true)).Last().Length.Should().Be(n.WA.Out.Where(f => IsTcp(f, withData: true)).First().Length + 1);
        n.Run();
        n.Advance(100);
        Pull(n, s, 3).Should().Equal("abc"u8.ToArray());
        // Full segments never wait for the device; only the small rest does.
        n.WA.Left = n.WA.Sent;
        c.Send(Pattern(3000));
        DataFrames(n).Should().Be(2);                       // two full segments; the rest waits
        n.WA.Left = ulong.MaxValue;
        n.A.PushCorked();
        DataFrames(n).Should().Be(3);
        n.Run();
        Pull(n, s, 3000).Should().Equal(Pattern(3000));
    }

    [Fact]
    public void UdpDeliversAndAnswersClosedPortsWithIcmp()
    {
        var n = new Net();
        var srv = n.B.NewUdp(); n.B.BindUdp(srv, IpAddr.V4Any, 53).Should().Be(0);
        var cli = n.A.NewUdp();
        cli.SendTo("query"u8, IpAddr.V4(n.IB.Addr), 53).Should().Be(0);
        n.Run();
        var buf = new byte[100];
        srv.Receive(buf, false, out IpAddr from, out int port).Should().Be(5);
        from.Should().Be((IpAddr)n.IA.Addr); port.Should().Be(cli.LocalPort);
        srv.SendTo("answer"u8, from, port); n.Run();
        cli.Receive(buf, false, out _, out _).Should().Be(6);
        // Connected socket to a closed port: ECONNREFUSED from the ICMP error.
        cli.RemoteAddr = IpAddr.V4(n.IB.Addr); cli.RemotePort = 54;
        cli.SendTo("x"u8, IpAddr.V4(n.IB.Addr), 54); n.Run();
        cli.Error.Should().Be(NetErr.ECONNREFUSED);
        var dup = n.B.NewUdp(); n.B.BindUdp(dup, IpAddr.V4Any, 53).Should().Be(NetErr.EADDRINUSE);
        // A datagram larger than the MTU goes as fragments and is reassembled.
        var big = Pattern(5000);
        cli.SendTo(big, IpAddr.V4(n.IB.Addr), 53).Should().Be(0);
        n.Run();
        var bigBuf = new byte[6000];
        srv.Receive(bigBuf, false, out _, out _).Should().Be(5000);
        bigBuf.AsSpan(0, 5000).ToArray().Should().Equal(big);
    }

    [Fact]
    public void FragmentsReassembleOutOfOrderAndExpire()
    {
        var n = new Net();
        var srv = n.B.NewUdp(); n.B.BindUdp(srv, IpAddr.V4Any, 7);
        var cli = n.A.NewUdp();
        n.A.SendEcho(n.IB.Addr, 1, 1, default); n.Run();           // resolve ARP first
        cli.SendTo(Pattern(4000), IpAddr.V4(n.IB.Addr), 7);
        var frags = n.WA.Out.ToList(); n.WA.Out.Clear();
        frags.Should().HaveCount(3);
        frags.Reverse();
        foreach (var f in frags) n.B.Input(n.IB, f);
        srv.Receive(new byte[5000], false, out _, out _).Should().Be(4000);
        // A missing piece: nothing is delivered and the slot is freed after 30 s.
        cli.SendTo(Pattern(4000), IpAddr.V4(n.IB.Addr), 7);
        frags = n.WA.Out.ToList(); n.WA.Out.Clear();
        n.B.Input(n.IB, frags[0]); n.B.Input(n.IB, frags[2]);
        n.B.ReassemblyInProgress.Should().Be(1);
        srv.Readable.Should().BeFalse();
        n.Advance(31000, 1000);
        n.B.ReassemblyInProgress.Should().Be(0);
    }

    [Fact]
    public void LoopbackConnectsWithinOneStack()
    {
        var st = new NetStack(9);
        var l = st.NewTcp(); st.BindTcp(l, IpAddr.Loopback4, 8080).Should().Be(0);
        l.Listen(4);
        var c = st.NewTcp(); c.Connect(IpAddr.Loopback4, 8080).Should().Be(0);
        c.State.Should().Be(TcpState.Established);
        var s = l.Accept()!;
        var data = Pattern(1 << 20);
        int off = 0; var got = new List<byte>(); var buf = new byte[100000];
        for (int i = 0; i < 100000 && got.Count < data.Length; i++)
        {
            if (off < data.Length) off += c.Send(data.AsSpan(off));
            int k = s.Receive(buf, false);
            if (k > 0) got.AddRange(buf.AsSpan(0, k).ToArray());
            else { st.Now += 50; st.Tick(); }
        }
        got.ToArray().Should().Equal(data);
        c.Mss.Should().Be(NetStack.LoopbackMtu - 40);
        var other = st.NewTcp(); st.BindTcp(other, IpAddr.V4Any, 8080).Should().Be(NetErr.EADDRINUSE);
    }

    [Fact]
    public void MalformedAndMutatedFramesNeverThrow()
    {
        var rng = new Random(12345);
        var n = new Net();
        var (c, s, l) = Connect(n);
        var u = n.B.NewUdp(); n.B.BindUdp(u, IpAddr.V4Any, 53);
        // Capture real frames to mutate.
        var samples = new List<byte[]>();
        n.DropAtoB = f => { samples.Add(f); return false; };
        c.Send(Pattern(3000)); n.Run();
        var cu = n.A.NewUdp(); cu.SendTo(Pattern(3000), IpAddr.V4(n.IB.Addr), 53); n.Run();
        n.A.SendEcho(n.IB.Addr, 1, 1, Pattern(100)); n.Run();
        n.DropAtoB = null;
        samples.Count.Should().BeGreaterThan(3);
        for (int i = 0; i < 40000; i++)
        {
            byte[] f;
            if (i % 4 == 0) { f = new byte[rng.Next(0, 1600)]; rng.NextBytes(f); if (f.Length > 14) { n.IB.Mac.CopyTo(f, 0); f[12] = 8; f[13] = (byte)(rng.Next(2) == 0 ? 0 : 6); } }
            else
            {
                f = (byte[])samples[rng.Next(samples.Count)].Clone();
                int flips = rng.Next(1, 6);
                for (int k = 0; k < flips; k++) f[rng.Next(14, f.Length)] = (byte)rng.Next(256);
                if (rng.Next(4) == 0) Array.Resize(ref f, rng.Next(0, f.Length));
            }
            n.B.Input(n.IB, f);
            if (i % 100 == 0) { n.B.Now += 100; n.B.Tick(); }
            n.WB.Out.Clear();
        }
        n.B.Drops.Should().BeGreaterThan(1000);
    }

    /// A TCP/UDP checksum over an IPv4 frame, verified as a receiver without offload does.
    static bool L4ChecksumOk(byte[] f)
    {
        int ihl = (f[14] & 15) * 4, total = f[16] << 8 | f[17];
        var seg = f.AsSpan(14 + ihl, total - ihl);
        uint src = Kernel.Net.Wire.U32(f, 26), dst = Kernel.Net.Wire.U32(f, 30);
        return Kernel.Net.Wire.Fold(Kernel.Net.Wire.Sum(seg, Kernel.Net.Wire.PseudoSum(src, dst, f[23], seg.Length))) == 0;
    }

    [Fact]
    public void DeviceChecksumsSendPartialTcpAndUdpThatTheDeviceFinishes()
    {
        var n = new Net();
        n.IA.DeviceChecksums = true;              // A's device finishes checksums; B verifies every one
        var (c, s, _) = Connect(n);
        var data = Pattern(100000);
        Transfer(n, c, s, data);
        Transfer(n, s, c, data.AsSpan(0, 30000).ToArray());
        n.B.Drops.Should().Be(0);
        n.WA.Partial.Count.Should().BeGreaterThan(60);
        foreach (var (f, start, offset) in n.WA.Partial)
        {
            start.Should().Be(34); offset.Should().Be(16);
            // The field holds the pseudo-header sum, not complemented (what NEEDS_CSUM expects).
            int ihl = (f[14] & 15) * 4, total = f[16] << 8 | f[17];
            uint pseudo = Kernel.Net.Wire.PseudoSum(Kernel.Net.Wire.U32(f, 26), Kernel.Net.Wire.U32(f, 30), 6, total - ihl);
            (f[50] << 8 | f[51]).Should().Be((ushort)~Kernel.Net.Wire.Fold(pseudo));
            L4ChecksumOk(f).Should().BeFalse();
        }
        n.WA.Out.Clear();
        // UDP too; a datagram sent as fragments is finished by the stack (no partial frame).
        var srv = n.B.NewUdp(); n.B.BindUdp(srv, IpAddr.V4Any, 53).Should().Be(0);
        var cli = n.A.NewUdp();
        n.WA.Partial.Clear();
        cli.SendTo("query"u8, IpAddr.V4(n.IB.Addr), 53).Should().Be(0);
        n.WA.Partial.Should().HaveCount(1);
        n.WA.Partial[0].Start.Should().Be(34); n.WA.Partial[0].Offset.Should().Be(6);
        n.Run();
        srv.Receive(new byte[100], false, out _, out _).Should().Be(5);
        cli.SendTo(Pattern(4000), IpAddr.V4(n.IB.Addr), 53).Should().Be(0);
        n.WA.Partial.Should().HaveCount(1);
        n.WA.Out.Should().HaveCount(3);
        n.Run();
        srv.Receive(new byte[5000], false, out _, out _).Should().Be(4000);
        n.B.Drops.Should().Be(0);
    }

    [Fact]
    public void UnfinishedPartialChecksumsAreDroppedByAVerifyingReceiver()
    {
        // The test above can fail: when the device does not finish the checksum, B drops.
        var n = new Net();
        n.IA.DeviceChecksums = true;
        n.WA.Finish = false;
        var l = n.B.NewTcp(); n.B.BindTcp(l, IpAddr.V4Any, 80); l.Listen(4);
        var c = n.A.NewTcp(); c.Connect(IpAddr.V4(n.IB.Addr), 80).Should().Be(0);
        n.Run();
        c.State.Should().Be(TcpState.SynSent);
        n.B.Drops.Should().BeGreaterThan(0);
        // Without DeviceChecksums the stack finishes every checksum itself.
        var m = new Net();
        int checkedFrames = 0, bad = 0;
        m.DropAtoB = f => { if (f[12] == 8 && f[13] == 0) { checkedFrames++; if (!L4ChecksumOk(f)) bad++; } return false; };
        var (mc, ms, _) = Connect(m);
        Transfer(m, mc, ms, Pattern(20000));
        m.WA.Partial.Should().BeEmpty();
        checkedFrames.Should().BeGreaterThan(10); bad.Should().Be(0);
    }

    [Fact]
    public void FramesTheDeviceVouchedForSkipVerification()
    {
        var n = new Net();
        var srv = n.B.NewUdp(); n.B.BindUdp(srv, IpAddr.V4Any, 53).Should().Be(0);
        var cli = n.A.NewUdp();
        n.A.SendEcho(n.IB.Addr, 1, 1, default); n.Run();           // ARP first
        cli.SendTo("query"u8, IpAddr.V4(n.IB.Addr), 53).Should().Be(0);
        var f = n.WA.Out.Single(); n.WA.Out.Clear();
        f[14 + 20 + 6] ^= 0x5a;                                      // a wrong UDP checksum
        ulong drops = n.B.Drops;
        n.B.Input(n.IB, f);
        n.B.Drops.Should().Be(drops + 1);
        srv.Receive(new byte[100], false, out _, out _).Should().Be(-1);
        n.B.Input(n.IB, f, checksummed: true);                       // DATA_VALID / NEEDS_CSUM from the device
        srv.Receive(new byte[100], false, out _, out _).Should().Be(5);
        // The verdict covers TCP/UDP only: a bad IP header checksum is still dropped.
        f[14 + 10] ^= 1;
        n.B.Input(n.IB, f, checksummed: true);
        n.B.Drops.Should().Be(drops + 2);
    }
}
