using Kernel.Net;
using W = Kernel.Net.Wire;

namespace HostTests;

/// SACK (RFC 2018, recovery after RFC 6675) and PAWS (RFC 7323 5) between two stacks on
/// a simulated wire, with losses chosen by sequence number and the wire stepped one
/// round trip at a time.
public class TcpSackPawsTests
{
    sealed class Link : NetLink
    {
        public readonly List<byte[]> Out = new();
        public override void Transmit(ReadOnlySpan<byte> frame) => Out.Add(frame.ToArray());
    }

    sealed class Net
    {
        public readonly NetStack A = new(21), B = new(22);
        public readonly Link WA = new(), WB = new();
        public readonly NetIf IA, IB;
        public Func<byte[], bool>? DropAtoB;
        public readonly List<byte[]> FromB = new();

        public Net()
        {
            IA = A.AddInterface("eth0"u8, WA, 1500); IB = B.AddInterface("eth0"u8, WB, 1500);
            for (int i = 0; i < 6; i++) { IA.Mac[i] = (byte)(0x52 + i); IB.Mac[i] = (byte)(0x62 + i); }
            IA.Addr = W.Ip(10, 0, 0, 1); IB.Addr = W.Ip(10, 0, 0, 2);
            IA.Mask = IB.Mask = 0xffffff00;
        }

        /// One round: A's frames to B, then B's to A (what each sends in answer waits for the next round).
        public void Step()
        {
            var a = WA.Out.ToArray(); WA.Out.Clear();
            foreach (var f in a) if (DropAtoB == null || !DropAtoB(f)) B.Input(IB, f);
            var b = WB.Out.ToArray(); WB.Out.Clear();
            FromB.AddRange(b);
            foreach (var f in b) A.Input(IA, f);
        }

        public void Run() { for (int r = 0; r < 10000 && (WA.Out.Count > 0 || WB.Out.Count > 0); r++) Step(); }

        public void Advance(ulong ms, ulong step = 10)
        {
            for (ulong t = 0; t < ms; t += step) { A.Now += step; B.Now += step; A.Tick(); B.Tick(); Run(); }
        }
    }

    static (TcpConnection c, TcpConnection s) Connect(Net n, bool sackOnB = true)
    {
        var l = n.B.NewTcp(); l.SackEnabled = sackOnB;
        n.B.BindTcp(l, IpAddr.V4Any, 80).Should().Be(0); l.Listen(4);
        var c = n.A.NewTcp(); c.Connect(IpAddr.V4(n.IB.Addr), 80).Should().Be(0);
        n.Run();
        var s = l.Accept()!;
        c.State.Should().Be(TcpState.Established);
        return (c, s);
    }

    static byte[] Pattern(int n) { var b = new byte[n]; for (int i = 0; i < n; i++) b[i] = (byte)(i * 5 + i / 247); return b; }

    static bool IsData(byte[] f) => f.Length > 54 && f[12] == 8 && f[13] == 0 && f[23] == 6 && (W.U16(f, 16) - 20 - (f[46] >> 4) * 4) > 0;
    static uint Seq(byte[] f) => W.U32(f, 38);

    /// The SACK blocks of a frame's TCP options (none: empty).
    static List<(uint, uint)> Blocks(byte[] f)
    {
        var r = new List<(uint, uint)>();
        int hl = (f[46] >> 4) * 4;
        for (int i = 54; i < 34 + hl;)
        {
            if (f[i] == 0) break;
            if (f[i] == 1) { i++; continue; }
            if (f[i] == 5) for (int k = i + 2; k < i + f[i + 1]; k += 8) r.Add((W.U32(f, k), W.U32(f, k + 4)));
            i += f[i + 1];
        }
        return r;
    }

    static void Drain(Net n, TcpConnection s, List<byte> into)
    {
        var buf = new byte[1 << 17];
        for (int k; (k = s.Receive(buf, false)) > 0;) into.AddRange(buf.AsSpan(0, k).ToArray());
    }

    /// A window of 20 segments with segments 3, 7 and 12 lost: with SACK the receiver's
    /// duplicate ACKs name what arrived, and the sender retransmits exactly those three
    /// segments, all of them in the round trip after the losses (one recovery); without
    /// SACK, NewReno learns of one hole per round trip.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SackRetransmitsOnlyTheHolesInOneRoundTrip(bool sack)
    {
        var n = new Net();
        var (c, s) = Connect(n, sackOnB: sack);
        c.SackOk.Should().Be(sack); s.SackOk.Should().Be(sack);
        var got = new List<byte>();
        // Grow the window first.
        var warm = Pattern(300000);
        for (int off = 0; off < warm.Length;) { off += c.Send(warm.AsSpan(off)); n.Run(); Drain(n, s, got); }
        n.Advance(100); Drain(n, s, got);
        got.Count.Should().Be(warm.Length);
        got.Clear();
        uint retransmitsBefore = c.TotalRetransmits;
        int mss = c.Mss - (c.TsOk ? 12 : 0);
        var data = Pattern(20 * mss);
        c.Send(data).Should().Be(data.Length);
        n.WA.Out.Count(IsData).Should().Be(20);                  // one window, all at once
        uint base0 = c.SndUna;
        var lost = new HashSet<uint> { base0 + 3u * (uint)mss, base0 + 7u * (uint)mss, base0 + 12u * (uint)mss };
        var dropped = new HashSet<uint>();
        var rtx = new List<uint>();
        n.FromB.Clear();
        n.DropAtoB = f =>
        {
            if (!IsData(f)) return false;
            uint q = Seq(f);
            if (dropped.Contains(q)) rtx.Add(q);
            if (lost.Contains(q) && dropped.Add(q)) return true;
            return false;
        };
        // Round 1: the window reaches B (17 of 20 segments) and B's duplicate ACKs reach A.
        n.Step();
        var lastAck = n.FromB[^1];
        var firstAnswer = n.WA.Out.Where(IsData).Select(Seq).ToList();
        n.Run();
        Drain(n, s, got);
        got.Should().Equal(data);
        rtx.Should().BeEquivalentTo(lost);                       // exactly the holes, each once
        (c.TotalRetransmits - retransmitsBefore).Should().Be(3u);
        if (sack)
        {
            firstAnswer.Should().BeEquivalentTo(lost);           // every hole in the first round trip
            c.SackRetransmits.Should().Be(3u);
            // B's last duplicate ACK named the three ranges it held, the latest first.
            uint S(int k) => base0 + (uint)(k * mss);
            W.U32(lastAck, 42).Should().Be(S(3));
            Blocks(lastAck).Should().Equal((S(13), S(20)), (S(4), S(7)), (S(8), S(12)));
        }
        else
        {
            firstAnswer.Should().Equal(new[] { base0 + 3u * (uint)mss });   // NewReno: one hole per round trip
            c.SackRetransmits.Should().Be(0u);
            Blocks(lastAck).Should().BeEmpty();
        }
        c.SackedRanges.Should().Be(0);
    }

    [Fact]
    public void AcksCarrySackBlocksForOutOfOrderData()
    {
        var n = new Net();
        var (c, s) = Connect(n);
        int mss = c.Mss - (c.TsOk ? 12 : 0);
        uint base0 = c.SndUna;
        var acks = new List<byte[]>();
        c.Send(Pattern(7 * mss));
        var a = n.WA.Out.ToArray(); n.WA.Out.Clear();
        a.Count(IsData).Should().Be(7);
        foreach (var f in a) if (!(IsData(f) && (Seq(f) == base0 + (uint)mss || Seq(f) == base0 + 4u * (uint)mss))) n.B.Input(n.IB, f);
        acks.AddRange(n.WB.Out);
        // Segment 0 in order; 2,3 then 5,6 out of order: the ACKs name [2,4) then [5,7) first, [2,4) after.
        var withBlocks = acks.Where(f => Blocks(f).Count > 0).ToList();
        withBlocks.Should().HaveCount(4);
        uint S(int k) => base0 + (uint)(k * mss);
        Blocks(withBlocks[0]).Should().Equal((S(2), S(3)));
        Blocks(withBlocks[1]).Should().Equal((S(2), S(4)));
        Blocks(withBlocks[2]).Should().Equal((S(5), S(6)), (S(2), S(4)));
        Blocks(withBlocks[3]).Should().Equal((S(5), S(7)), (S(2), S(4)));
        foreach (var f in withBlocks) W.U32(f, 42).Should().Be(S(1));     // the cumulative ACK stays at the hole
        n.Advance(2000);
        var got = new List<byte>(); Drain(n, s, got);
        got.Should().Equal(Pattern(7 * mss));
    }

    /// RFC 7323 5: once the sequence numbers might have wrapped, a segment whose timestamp
    /// is older than TS.Recent is an old duplicate: dropped (its data never delivered) and
    /// answered with an ACK; the same segment with a current timestamp is taken.
    [Fact]
    public void PawsDropsASegmentWithAnOldTimestamp()
    {
        var n = new Net();
        n.A.Now = n.B.Now = 1000;
        var (c, s) = Connect(n);
        c.TsOk.Should().BeTrue(); s.TsOk.Should().BeTrue();
        byte[]? old = null;
        n.DropAtoB = f => { if (IsData(f)) old ??= f; return false; };
        c.Send("first"u8); n.Run();
        old.Should().NotBeNull();
        n.DropAtoB = null;
        n.Advance(500);
        c.Send("second"u8); n.Run();
        var got = new List<byte>(); Drain(n, s, got);
        got.Should().Equal("firstsecond"u8.ToArray());
        // The old segment again, its sequence number moved to RCV.NXT (as after a wrap): PAWS drops it.
        var f = Retarget(old!, s.RcvNxt, s.RemoteAddr.V4Value, s.LocalAddr.V4Value);
        n.WB.Out.Clear();
        n.B.Input(n.IB, f);
        s.Unread.Should().Be(0);
        s.PawsDropped.Should().Be(1UL);
        n.WB.Out.Should().HaveCount(1);                          // an ACK in answer
        // The same bytes with a timestamp that is not older are new data.
        uint ts = W.U32(f, 58);
        W.Put32(f, 58, ts + 100000);
        Fix(f);
        n.B.Input(n.IB, f);
        s.Unread.Should().Be(5);
        s.PawsDropped.Should().Be(1UL);
    }

    static byte[] Retarget(byte[] frame, uint seq, uint src, uint dst)
    {
        var f = (byte[])frame.Clone();
        W.Put32(f, 38, seq);
        Fix(f);
        return f;
    }

    static void Fix(byte[] f)
    {
        int total = W.U16(f, 16);
        var seg = f.AsSpan(34, total - 20);
        W.Put16(seg, 16, 0);
        ushort cs = W.Fold(W.Sum(seg, W.PseudoSum(W.U32(f, 26), W.U32(f, 30), 6, seg.Length)));
        W.Put16(seg, 16, cs);
    }
}
