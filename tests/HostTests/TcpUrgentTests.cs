using Kernel.Net;
using Net = HostTests.NetStackTests.Net;

namespace HostTests;

/// TCP urgent data (RFC 9293 3.8.5 read as RFC 6093's compatible behaviour, as Linux):
/// the URG flag and pointer on the segments a send(MSG_OOB) makes, on retransmissions and
/// probes, and the receiver's mark, urgent byte and reads around it, between two stacks
/// on the simulated wire of NetStackTests.
public class TcpUrgentTests
{
    sealed class Events : NetEvents
    {
        public int Urgents;
        public override void Changed(object? owner) { }
        public override void Urgent(object? owner) => Urgents++;
    }

    static (TcpConnection c, TcpConnection s, Events ev) Connect(Net n, int rcvBuf = TcpConnection.DefaultBuf)
    {
        var ev = new Events();
        n.B.Events = ev;
        var l = n.B.NewTcp();
        l.RcvBufSize = rcvBuf;
        n.B.BindTcp(l, IpAddr.V4Any, 80).Should().Be(0);
        l.Listen(4).Should().Be(0);
        var c = n.A.NewTcp();
        c.SndBufSize = 1 << 20;
        c.Connect(IpAddr.V4(n.IB.Addr), 80).Should().Be(0);
        n.Run();
        var s = l.Accept();
        s.Should().NotBeNull();
        return (c, s!, ev);
    }

    /// The TCP header of an IPv4 frame: flags, urgent pointer, sequence number, data length.
    static (int Flags, int Urg, uint Seq, int Data) Tcp(byte[] f)
    {
        int ihl = (f[14] & 15) * 4, total = f[16] << 8 | f[17];
        int t = 14 + ihl, hl = (f[t + 12] >> 4) * 4;
        return (f[t + 13], f[t + 18] << 8 | f[t + 19], (uint)(f[t + 4] << 24 | f[t + 5] << 16 | f[t + 6] << 8 | f[t + 7]), total - ihl - hl);
    }

    static bool IsTcp(byte[] f) => f.Length >= 54 && f[12] == 8 && f[13] == 0 && f[23] == 6;

    /// send(MSG_OOB) as the socket layer does it: queue, mark, send.
    static void SendOob(Net n, TcpConnection c, string text)
    {
        var b = System.Text.Encoding.ASCII.GetBytes(text);
        c.Send(b, hold: true).Should().Be(b.Length);
        c.MarkUrgent();
        c.Output();
    }

    static string Read(TcpConnection s, bool peek = false)
    {
        var buf = new byte[256];
        int r = s.Receive(buf, peek);
        return r > 0 ? System.Text.Encoding.ASCII.GetString(buf, 0, r) : r.ToString();
    }

    [Fact]
    public void UrgentSegmentsCarryThePointerAfterTheLastByteAlsoWhenRetransmitted()
    {
        var n = new Net();
        var (c, s, ev) = Connect(n);
        uint start = c.SndNxt;
        var seen = new List<(int Flags, int Urg, uint Seq, int Data)>();
        n.DropAtoB = f => { if (!IsTcp(f)) return false; var h = Tcp(f); seen.Add(h); return h.Data > 0 && seen.Count(x => x.Data > 0) == 1; };
        SendOob(n, c, "abcd");
        n.Run();
        seen.Should().HaveCount(1);
        seen[0].Flags.Should().Be(TcpConnection.FlagUrg | TcpConnection.FlagAck | TcpConnection.FlagPsh);
        seen[0].Urg.Should().Be(4);                          // points after the urgent byte
        seen[0].Seq.Should().Be(start);
        c.UrgentMode.Should().BeTrue();
        n.Advance(1500);                                     // the retransmission carries it too
        var rtx = seen.Where(h => h.Data > 0).ToList();
        rtx.Count.Should().BeGreaterThan(1);
        (rtx[1].Flags & TcpConnection.FlagUrg).Should().Be(TcpConnection.FlagUrg);
        rtx[1].Urg.Should().Be(4);
        c.UrgentMode.Should().BeFalse();                     // acknowledged: urgent mode over
        ev.Urgents.Should().Be(1);
        s.UrgState.Should().Be(TcpConnection.UrgValid);
        s.UrgByte.Should().Be((byte)'d');
        s.AtMark.Should().BeFalse();
        s.InQueue.Should().Be(3);                            // FIONREAD stops at the mark
        Read(s).Should().Be("abc");
        s.AtMark.Should().BeTrue();
        s.ReadableNow.Should().Be(0);                        // the urgent byte alone is not readable
        seen.Clear();
        n.DropAtoB = f => { if (IsTcp(f)) seen.Add(Tcp(f)); return false; };
        c.Send("e"u8).Should().Be(1);
        n.Run();
        seen.Where(h => h.Data > 0).Should().OnlyContain(h => (h.Flags & TcpConnection.FlagUrg) == 0 && h.Urg == 0);
        Read(s).Should().Be("e");                            // the urgent byte skipped
        s.UrgState.Should().Be(TcpConnection.UrgNone);
        ev.Urgents.Should().Be(1);
    }

    [Fact]
    public void CorkAndNagleDoNotHoldUrgentData()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        c.Cork = true;
        c.Send("x"u8);
        n.WA.Out.Count(f => IsTcp(f) && Tcp(f).Data > 0).Should().Be(0);      // corked
        SendOob(n, c, "!");
        var data = n.WA.Out.Where(f => IsTcp(f) && Tcp(f).Data > 0).Select(Tcp).ToList();
        data.Should().HaveCount(1);
        data[0].Data.Should().Be(2);
        data[0].Urg.Should().Be(2);
        n.Run();
        Read(s).Should().Be("x");
        c.Cork = false;
        // Nagle: a small segment in flight; the urgent one goes anyway.
        n.WA.Out.Clear();
        c.Send("y"u8);
        SendOob(n, c, "z");
        n.WA.Out.Count(f => IsTcp(f) && Tcp(f).Data > 0).Should().Be(2);
    }

    [Fact]
    public void InlineReadsThroughTheMarkAndPeekSkipsTheByte()
    {
        var n = new Net();
        var (c, s, _) = Connect(n);
        c.Send("ab"u8);
        SendOob(n, c, "cd");
        c.NoDelay = true;
        c.Send("ef"u8);
        n.Run();
        Read(s).Should().Be("abc");
        s.AtMark.Should().BeTrue();
        Read(s, peek: true).Should().Be("ef");               // peek skips the urgent byte too, leaves it
        s.AtMark.Should().BeTrue();
        s.OobInline = true;
        s.InQueue.Should().Be(3);
        Read(s).Should().Be("def");                          // inline: the byte is data
        s.UrgState.Should().Be(TcpConnection.UrgNone);
    }

    [Fact]
    public void ANewMarkReplacesTheOldAndDropsItsByteWhenItIsNextToRead()
    {
        var n = new Net();
        var (c, s, ev) = Connect(n);
        c.NoDelay = true;
        SendOob(n, c, "ab");
        n.Run();
        SendOob(n, c, "cd");
        n.Run();
        ev.Urgents.Should().Be(2);
        s.UrgByte.Should().Be((byte)'d');
        Read(s).Should().Be("abc");                          // 'b' is ordinary data now
        s.AtMark.Should().BeTrue();
        SendOob(n, c, "x");
        n.Run();
        s.Unread.Should().Be(1);                             // 'd' left the stream with the new mark
        s.AtMark.Should().BeTrue();
        s.UrgByte.Should().Be((byte)'x');
        Read(s).Should().Be("0");                            // 'x' skipped, nothing after it
        s.Unread.Should().Be(0);
        s.UrgState.Should().Be(TcpConnection.UrgNone);
    }

    [Fact]
    public void ThePointerReachesAZeroWindowBeforeItsByte()
    {
        var n = new Net();
        var (c, s, ev) = Connect(n, rcvBuf: 12 * 1448);          // whole segments: the window closes to 0
        var fill = new byte[40000];
        Array.Fill(fill, (byte)'q');
        c.Send(fill).Should().Be(fill.Length);
        n.Run();
        c.SndWnd.Should().Be(0u);
        SendOob(n, c, "!");
        n.Run();
        ev.Urgents.Should().Be(0);                            // nothing could go out yet
        n.Advance(3000, 50);                                 // the window probe at SND.UNA carries it
        ev.Urgents.Should().Be(1);
        s.UrgState.Should().Be(TcpConnection.UrgNotYet);
        s.AtMark.Should().BeFalse();
        var buf = new byte[65536];
        int got = 0;
        for (int guard = 0; guard < 10000 && got < fill.Length; guard++)
        {
            int r = s.Receive(buf, false);
            if (r > 0) got += r; else n.Advance(10);
        }
        got.Should().Be(fill.Length);                        // the read stopped at the mark
        n.Advance(100);
        s.UrgState.Should().Be(TcpConnection.UrgValid);
        s.UrgByte.Should().Be((byte)'!');
        s.AtMark.Should().BeTrue();
        ev.Urgents.Should().Be(1);
    }

    [Fact]
    public void PointersThatAreOldOrAlreadyReadAreIgnored()
    {
        var n = new Net();
        var (c, s, ev) = Connect(n);
        byte[]? first = null;
        n.DropAtoB = f => { if (first == null && IsTcp(f) && Tcp(f).Data > 0) first = f; return false; };
        SendOob(n, c, "ab");
        n.Run();
        Read(s).Should().Be("a");
        Read(s).Should().Be("0");                            // 'b' skipped, nothing after it
        s.UrgState.Should().Be(TcpConnection.UrgNone);
        // A duplicate of the urgent segment from the network is no new mark.
        n.B.Input(n.IB, first!);
        n.Run();
        s.UrgState.Should().Be(TcpConnection.UrgNone);
        ev.Urgents.Should().Be(1);
    }
}
