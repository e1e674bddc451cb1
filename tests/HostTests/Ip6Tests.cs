using Kernel.Net;
using W = Kernel.Net.Wire;
using Net = HostTests.NetStackTests.Net;

namespace HostTests;

/// IPv6 in the stack (net/Ip6.cs and the dual-stack tables): two stacks on a simulated
/// Ethernet wire, each with IPv6 enabled (link-local addresses from their MACs), and
/// hand-made frames for router advertisements and malformed packets.
public class Ip6Tests
{
    static IpAddr P(string s) { IpAddr.TryParse(System.Text.Encoding.ASCII.GetBytes(s), out var a).Should().BeTrue(s); return a; }
    static string F(IpAddr a) { var b = new byte[64]; return System.Text.Encoding.ASCII.GetString(b, 0, a.Format(b)); }

    static byte[] Pattern(int n) { var b = new byte[n]; for (int i = 0; i < n; i++) b[i] = (byte)(i * 13 + i / 253); return b; }

    static bool Is6(byte[] f) => f.Length >= 54 && f[12] == 0x86 && f[13] == 0xdd;
    static int Icmp6Type(byte[] f) => Is6(f) && f[20] == 58 ? f[54] : -1;

    /// A frame from `srcMac` carrying an IPv6 packet (header built here; `payload` after it).
    static byte[] Frame6(byte[] dstMac, ulong srcMac, IpAddr src, IpAddr dst, int nh, byte[] payload, int hops = 64)
    {
        var f = new byte[54 + payload.Length];
        dstMac.CopyTo(f, 0);
        for (int i = 0; i < 6; i++) f[6 + i] = (byte)(srcMac >> (40 - 8 * i));
        f[12] = 0x86; f[13] = 0xdd;
        f[14] = 0x60; W.Put16(f, 18, payload.Length); f[20] = (byte)nh; f[21] = (byte)hops;
        src.Write(f, 22); dst.Write(f, 38);
        payload.CopyTo(f, 54);
        return f;
    }

    /// Fills in the ICMPv6 checksum of a message inside a frame built by Frame6.
    static byte[] Icmp6Frame(byte[] dstMac, ulong srcMac, IpAddr src, IpAddr dst, byte[] m, int hops = 255)
    {
        m[2] = 0; m[3] = 0;
        ushort c = W.Fold(W.Sum(m, W.PseudoSum(src, dst, 58, m.Length)));
        m[2] = (byte)(c >> 8); m[3] = (byte)c;
        return Frame6(dstMac, srcMac, src, dst, 58, m, hops);
    }

    static readonly IpAddr RouterLl = new(0xfe80UL << 48, 2);
    const ulong RouterMac = 0x525500000002;

    /// A router advertisement as QEMU's user network sends it: prefix fec0::/64 (on-link,
    /// autonomous), the router's link address, an MTU and an RDNSS option.
    static byte[] RouterAdvert(NetIf to, int lifetime = 1800, int mtu = 0)
    {
        var m = new List<byte> { 134, 0, 0, 0, 64, 0, (byte)(lifetime >> 8), (byte)lifetime, 0, 0, 0, 0, 0, 0, 0, 0 };
        m.AddRange(new byte[] { 1, 1, 0x52, 0x55, 0, 0, 0, 2 });
        var pi = new byte[32]; pi[0] = 3; pi[1] = 4; pi[2] = 64; pi[3] = 0xc0;
        W.Put32(pi, 4, 86400); W.Put32(pi, 8, 14400); P("fec0::").Write(pi, 16);
        m.AddRange(pi);
        if (mtu > 0) { var o = new byte[8]; o[0] = 5; o[1] = 1; W.Put32(o, 4, (uint)mtu); m.AddRange(o); }
        var dns = new byte[24]; dns[0] = 25; dns[1] = 3; W.Put32(dns, 4, 3600); P("fec0::3").Write(dns, 8);
        m.AddRange(dns);
        return Icmp6Frame(new byte[] { 0x33, 0x33, 0, 0, 0, 1 }, RouterMac, RouterLl, IpAddr.AllNodes, m.ToArray());
    }

    [Fact]
    public void AddressesParseAndFormatAsRfc5952()
    {
        foreach (var s in new[] { "::", "::1", "fe80::5055:56ff:fe57:5859", "fec0::2", "2001:db8::1:0:0:1", "1::", "2001:db8:0:1:1:1:1:1", "ff02::1:ff00:1" })
            F(P(s)).Should().Be(s);
        F(P("2001:0DB8:0000:0000:0000:0000:0000:0001")).Should().Be("2001:db8::1");
        F(P("2001:db8:0:0:1:0:0:1")).Should().Be("2001:db8::1:0:0:1");       // the first of equal runs
        P("::ffff:10.0.2.15").Should().Be(IpAddr.V4(W.Ip(10, 0, 2, 15)));
        P("::ffff:10.0.2.15").IsV4.Should().BeTrue();
        foreach (var bad in new[] { "", ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "fe80::g", "1:2:3:4:5:6:7", "::1:" })
            IpAddr.TryParse(System.Text.Encoding.ASCII.GetBytes(bad), out _).Should().BeFalse(bad);
        P("fe80::1").IsLinkLocal.Should().BeTrue();
        P("fec0::1").IsLinkLocal.Should().BeFalse();
        P("fe80::1:2:3").SolicitedNode.Should().Be(P("ff02::1:ff02:3"));
        P("fec0::1").SamePrefix(P("fec0::2"), 64).Should().BeTrue();
        P("fec0:0:0:1::1").SamePrefix(P("fec0::2"), 64).Should().BeFalse();
        // The IPv6 pseudo-header sum of RFC 8200 8.1 agrees with summing the bytes.
        var ph = new byte[40]; P("fe80::1").Write(ph, 0); P("ff02::1:ff00:2").Write(ph, 16); W.Put32(ph, 32, 1234); ph[39] = 58;
        W.Fold(W.PseudoSum(P("fe80::1"), P("ff02::1:ff00:2"), 58, 1234)).Should().Be(W.Checksum(ph));
    }

    [Fact]
    public void LinkLocalFromTheMacAndRouterSolicitations()
    {
        var n = new Net(ip6: false);
        n.A.EnableIp6(n.IA);
        // The link-local address is tentative until duplicate address detection is done.
        n.IA.Addr6Count.Should().Be(1);
        F(n.IA.Addr6[0]).Should().Be("fe80::5053:54ff:fe55:5657");   // modified EUI-64: the U/L bit flipped
        n.IA.Flags6[0].Should().Be(NetIf.Tentative);
        n.LlA.IsV6Any.Should().BeTrue();
        // A router solicitation to ff02::2 at once, from :: (the address is tentative) and so
        // without a link-layer option; 3 in all, 4 s apart, the later ones from the address.
        var rs = n.WA.Out.Where(f => Icmp6Type(f) == 133).ToList();
        rs.Should().HaveCount(1);
        rs[0].Take(6).Should().Equal(new byte[] { 0x33, 0x33, 0, 0, 0, 2 });
        rs[0][21].Should().Be(255);
        IpAddr.Read(rs[0], 22).Should().Be(IpAddr.Any);
        rs[0].Length.Should().Be(54 + 8);
        n.WA.Out.Clear();
        int sent = 0;
        var from = new List<IpAddr>();
        n.DropAtoB = f => { if (Icmp6Type(f) == 133) { sent++; from.Add(IpAddr.Read(f, 22)); } return true; };
        n.Advance(20000, 500);
        sent.Should().Be(2);
        F(n.LlA).Should().Be("fe80::5053:54ff:fe55:5657");
        from.Should().AllBeEquivalentTo(n.LlA);
    }

    [Fact]
    public void NeighbourDiscoveryResolvesQueuesAndAnswersEcho()
    {
        var n = new Net(ip6: true);
        n.WA.Out.Clear();
        n.A.SendEcho6(n.LlB, 7, 1, "ping"u8).Should().Be(0);
        // The solicitation goes to B's solicited-node group (33:33:ff:..), the echo waits for the advertisement.
        n.WA.Out.Should().HaveCount(1);
        Icmp6Type(n.WA.Out[0]).Should().Be(135);
        n.WA.Out[0].Take(3).Should().Equal(new byte[] { 0x33, 0x33, 0xff });
        IpAddr.Read(n.WA.Out[0], 38).Should().Be(n.LlB.SolicitedNode);
        n.Run();
        n.A.Icmp6EchoReplies.Should().Be(1);
        n.A.ArpCount.Should().Be(1); n.B.ArpCount.Should().Be(1);       // B learnt A from the solicitation's option
        // The next echo needs no resolution.
        n.A.SendEcho6(n.LlB, 7, 2, "ping"u8).Should().Be(0);
        n.WA.Out.Should().HaveCount(1);
        Icmp6Type(n.WA.Out[0]).Should().Be(128);
        n.Run();
        n.A.Icmp6EchoReplies.Should().Be(2);
        // A neighbour that never answers: three solicitations, then the queue is dropped.
        n.Advance(61000, 1000);
        n.A.ArpCount.Should().Be(0);
        int ns = 0;
        n.DropAtoB = f => { if (Icmp6Type(f) == 135) ns++; return true; };
        n.A.SendEcho6(P("fe80::99"), 1, 1, "x"u8);
        n.Advance(5000, 100);
        ns.Should().Be(4);
        n.A.NextTimer().Should().Be(0);
        n.B.Drops.Should().Be(0);
    }

    [Fact]
    public void SlaacFromARouterAdvertisement()
    {
        var n = new Net(ip6: true);
        n.A.Input(n.IA, RouterAdvert(n.IA, mtu: 1400));
        n.IA.Addr6Count.Should().Be(2);
        F(n.IA.Addr6[1]).Should().Be("fec0::5053:54ff:fe55:5657");
        n.IA.Prefix6[1].Should().Be(64);
        // Tentative for a second: meanwhile a global destination gets the link-local source.
        n.IA.Flags6[1].Should().Be(NetIf.Tentative);
        F(n.A.SourceFor(P("2001:db8::1"))).Should().Be("fe80::5053:54ff:fe55:5657");
        n.Advance(NetStack.RetransTimerMs + 10);
        n.IA.Flags6[1].Should().Be(0);
        n.IA.Router6.Should().Be(RouterLl);
        n.IA.Mtu.Should().Be(1400);
        F(n.A.Dns6).Should().Be("fec0::3");
        n.A.ArpCount.Should().Be(1);                                   // the router's link address from its option
        // Global destinations: the global source, through the router; link-local ones: the link-local source.
        F(n.A.SourceFor(P("2001:db8::1"))).Should().Be("fec0::5053:54ff:fe55:5657");
        F(n.A.SourceFor(P("fe80::1234"))).Should().Be("fe80::5053:54ff:fe55:5657");
        n.WA.Out.Clear();
        n.A.SendEcho6(P("2001:db8::1"), 1, 1, "x"u8).Should().Be(0);
        n.WA.Out.Should().HaveCount(1);
        n.WA.Out[0].Take(6).Should().Equal(new byte[] { 0x52, 0x55, 0, 0, 0, 2 });     // to the router's MAC
        // The same advertisement again adds nothing; a router lifetime of 0 removes the default route.
        n.A.Input(n.IA, RouterAdvert(n.IA));
        n.IA.Addr6Count.Should().Be(2);
        n.A.Input(n.IA, RouterAdvert(n.IA, lifetime: 0));
        n.A.SendEcho6(P("2001:db8::1"), 1, 2, "x"u8).Should().Be(NetErr.ENETUNREACH);
        n.A.SendEcho6(P("fec0::77"), 1, 2, "x"u8).Should().Be(0);      // the prefix stays on-link
        // An advertisement that is not from a link-local address or not at hop limit 255 is ignored.
        var bad = RouterAdvert(n.IA); bad[21] = 64;
        var m = new Net(ip6: true);
        m.A.Input(m.IA, bad);
        m.IA.Addr6Count.Should().Be(1);
    }

    static Net SlaacPair()
    {
        var n = new Net(ip6: true);
        n.A.Input(n.IA, RouterAdvert(n.IA)); n.B.Input(n.IB, RouterAdvert(n.IB));
        n.Advance(NetStack.RetransTimerMs + 10);              // the SLAAC addresses pass DAD
        n.WA.Out.Clear(); n.WB.Out.Clear();
        return n;
    }

    [Fact]
    public void TcpOverIpv6GlobalAndLinkLocal()
    {
        var n = SlaacPair();
        IpAddr gb = n.IB.Addr6[1];
        var l = n.B.NewTcp(); n.B.BindTcp(l, IpAddr.Any, 80).Should().Be(0); l.Listen(8).Should().Be(0);
        var c = n.A.NewTcp();
        c.Connect(gb, 80).Should().Be(0);
        n.Run();
        c.State.Should().Be(TcpState.Established);
        c.Mss.Should().Be(1500 - 60 - 0);
        c.LocalAddr.Should().Be(n.IA.Addr6[1]);
        var s = l.Accept()!;
        s.RemoteAddr.Should().Be(n.IA.Addr6[1]); s.LocalAddr.Should().Be(gb);
        // Every frame is IPv6 with a checksum B verifies (nothing dropped).
        int v4 = 0; n.DropAtoB = f => { if (f[12] == 8) v4++; return false; };
        NetStackTests.Transfer(n, c, s, Pattern(200000));
        NetStackTests.Transfer(n, s, c, Pattern(30000));
        v4.Should().Be(0);
        n.B.Drops.Should().Be(0); n.A.Drops.Should().Be(0);
        c.Close(); s.Close(); n.Advance(1000);
        // Link-local, with the interface as scope.
        var c2 = n.A.NewTcp(); c2.IfIndex = n.IA.Index;
        c2.Connect(n.LlB, 80).Should().Be(0);
        n.Run();
        c2.State.Should().Be(TcpState.Established);
        c2.LocalAddr.Should().Be(n.LlA);
        var s2 = l.Accept()!;
        s2.IfIndex.Should().Be(n.IB.Index);
        NetStackTests.Transfer(n, s2, c2, Pattern(5000));
        // A closed port answers with a RST: ECONNREFUSED.
        var c3 = n.A.NewTcp(); c3.Connect(gb, 81).Should().Be(0); n.Run();
        c3.State.Should().Be(TcpState.Closed); c3.Error.Should().Be(NetErr.ECONNREFUSED);
    }

    [Fact]
    public void DualStackListenerAndV6Only()
    {
        var n = SlaacPair();
        // [::]:80 takes IPv4 and IPv6 connections.
        var l = n.B.NewTcp(); n.B.BindTcp(l, IpAddr.Any, 80).Should().Be(0); l.Listen(8);
        var c4 = n.A.NewTcp(); c4.Connect(IpAddr.V4(n.IB.Addr), 80).Should().Be(0); n.Run();
        c4.State.Should().Be(TcpState.Established);
        l.Accept()!.RemoteAddr.Should().Be(IpAddr.V4(n.IA.Addr));
        var c6 = n.A.NewTcp(); c6.Connect(n.IB.Addr6[1], 80).Should().Be(0); n.Run();
        c6.State.Should().Be(TcpState.Established);
        // 0.0.0.0:80 collides with a dual-stack [::]:80, not with a v6-only one.
        var x = n.B.NewTcp(); n.B.BindTcp(x, IpAddr.V4Any, 80).Should().Be(NetErr.EADDRINUSE);
        var v6 = n.B.NewTcp(); v6.V6Only = true; n.B.BindTcp(v6, IpAddr.Any, 90).Should().Be(0); v6.Listen(8);
        var v4 = n.B.NewTcp(); n.B.BindTcp(v4, IpAddr.V4Any, 90).Should().Be(0);
        var v6b = n.B.NewTcp(); n.B.BindTcp(v6b, IpAddr.Any, 90).Should().Be(NetErr.EADDRINUSE);
        // A v6-only listener refuses IPv4 clients (nobody else listens on 90 for IPv4).
        var r4 = n.A.NewTcp(); r4.Connect(IpAddr.V4(n.IB.Addr), 90).Should().Be(0); n.Run();
        r4.State.Should().Be(TcpState.Closed); r4.Error.Should().Be(NetErr.ECONNREFUSED);
        var r6 = n.A.NewTcp(); r6.Connect(n.IB.Addr6[1], 90).Should().Be(0); n.Run();
        r6.State.Should().Be(TcpState.Established);
        // UDP the same way: a v6-only [::]:53 and a 0.0.0.0:53 side by side, each gets its family.
        var u6 = n.B.NewUdp(); u6.V6Only = true; n.B.BindUdp(u6, IpAddr.Any, 53).Should().Be(0);
        var u4 = n.B.NewUdp(); n.B.BindUdp(u4, IpAddr.V4Any, 53).Should().Be(0);
        var cu = n.A.NewUdp();
        cu.SendTo("six"u8, n.IB.Addr6[1], 53).Should().Be(0);
        cu.SendTo("four"u8, IpAddr.V4(n.IB.Addr), 53).Should().Be(0);
        n.Run();
        var buf = new byte[100];
        u6.Receive(buf, false, out IpAddr f6, out _).Should().Be(3); f6.Should().Be(n.IA.Addr6[1]);
        u4.Receive(buf, false, out IpAddr f4, out _).Should().Be(4); f4.Should().Be(IpAddr.V4(n.IA.Addr));
    }

    [Fact]
    public void LoopbackIsARealIpv6Address()
    {
        var st = new NetStack(5);
        st.Lo.HasAddr6(IpAddr.Loopback6).Should().BeTrue();
        var l = st.NewTcp(); st.BindTcp(l, IpAddr.Loopback6, 8080).Should().Be(0); l.Listen(4);
        var c = st.NewTcp(); c.Connect(IpAddr.Loopback6, 8080).Should().Be(0);
        c.State.Should().Be(TcpState.Established);
        c.LocalAddr.Should().Be(IpAddr.Loopback6);
        c.Mss.Should().Be(NetStack.LoopbackMtu - 60);
        var s = l.Accept()!;
        s.Send(Pattern(100000)).Should().BeGreaterThan(0);
        var buf = new byte[200000]; c.Receive(buf, false).Should().BeGreaterThan(0);
        // An IPv4 client does not reach a listener bound to ::1, and ::1 is not 127.0.0.1.
        var c4 = st.NewTcp(); c4.Connect(IpAddr.Loopback4, 8080).Should().Be(0);
        c4.State.Should().Be(TcpState.Closed);
        // UDP over ::1, to a closed port: ICMPv6 port unreachable makes a connected socket's error ECONNREFUSED.
        var u = st.NewUdp(); st.BindUdp(u, IpAddr.Any, 0);
        u.RemoteAddr = IpAddr.Loopback6; u.RemotePort = 9;
        u.SendTo("x"u8, IpAddr.Loopback6, 9).Should().Be(0);
        u.Error.Should().Be(NetErr.ECONNREFUSED);
        // Without an Ethernet interface, nothing else is reachable.
        st.SourceFor(P("fec0::2")).IsUnspecified.Should().BeTrue();
    }

    [Fact]
    public void UdpOverIpv6WithFragmentsAndPortUnreachable()
    {
        var n = SlaacPair();
        var srv = n.B.NewUdp(); n.B.BindUdp(srv, IpAddr.Any, 53).Should().Be(0);
        var cli = n.A.NewUdp();
        cli.SendTo("query"u8, n.IB.Addr6[1], 53).Should().Be(0);
        n.Run();
        var buf = new byte[70000];
        srv.Receive(buf, false, out IpAddr from, out int port, out int ifi).Should().Be(5);
        from.Should().Be(n.IA.Addr6[1]); port.Should().Be(cli.LocalPort); ifi.Should().Be(n.IB.Index);
        // 4000 bytes leave as three fragments (a fragment header, 8-byte multiples) and come back whole.
        int frags = 0; n.DropAtoB = f => { if (Is6(f) && f[20] == 44) frags++; return false; };
        var big = Pattern(4000);
        cli.SendTo(big, n.IB.Addr6[1], 53).Should().Be(0);
        n.Run();
        frags.Should().Be(3);
        srv.Receive(buf, false, out _, out _).Should().Be(4000);
        buf.AsSpan(0, 4000).ToArray().Should().Equal(big);
        // Out of order and with one fragment lost: nothing until it expires.
        var held = new List<byte[]>();
        n.DropAtoB = f => { if (Is6(f) && f[20] == 44) { held.Add(f); return true; } return false; };
        cli.SendTo(big, n.IB.Addr6[1], 53); n.Run();
        n.DropAtoB = null;
        n.B.Input(n.IB, held[2]); n.B.Input(n.IB, held[0]);
        srv.Receive(buf, false, out _, out _).Should().Be(-1);
        n.B.ReassemblyInProgress.Should().Be(1);
        n.Advance(31000, 1000);
        n.B.ReassemblyInProgress.Should().Be(0);
        // A closed port: ICMPv6 destination unreachable (port) quoting the datagram; the connected sender gets ECONNREFUSED.
        var c2 = n.A.NewUdp(); n.A.BindUdp(c2, IpAddr.Any, 0);
        c2.RemoteAddr = n.IB.Addr6[1]; c2.RemotePort = 54;
        byte[]? err = null; n.DropBtoA = f => { if (Icmp6Type(f) == 1) err = f; return false; };
        c2.SendTo("x"u8, n.IB.Addr6[1], 54).Should().Be(0);
        n.Run();
        err.Should().NotBeNull();
        err![55].Should().Be(4);                                        // code: port unreachable
        IpAddr.Read(err, 54 + 8 + 8).Should().Be(n.IA.Addr6[1]);        // the quoted packet's source
        c2.Error.Should().Be(NetErr.ECONNREFUSED);
    }

    [Fact]
    public void ExtensionHeadersAreSkippedOrAnsweredWithParameterProblems()
    {
        var n = SlaacPair();
        IpAddr a = n.IA.Addr6[1], b = n.IB.Addr6[1];
        var srv = n.B.NewUdp(); n.B.BindUdp(srv, IpAddr.Any, 53);
        n.A.SendEcho6(b, 1, 1, default); n.Run();                     // neighbours resolved both ways
        ulong macA = 0; for (int i = 0; i < 6; i++) macA = macA << 8 | n.IA.Mac[i];
        byte[] Udp(string text)
        {
            var d = System.Text.Encoding.ASCII.GetBytes(text);
            var u = new byte[8 + d.Length]; W.Put16(u, 0, 4000); W.Put16(u, 2, 53); W.Put16(u, 4, u.Length); d.CopyTo(u, 8);
            ushort c = W.Fold(W.Sum(u, W.PseudoSum(a, b, 17, u.Length))); W.Put16(u, 6, c);
            return u;
        }
        List<byte[]> Send(int nh, byte[] payload)
        {
            n.WB.Out.Clear();
            n.B.Input(n.IB, Frame6(n.IB.Mac, macA, a, b, nh, payload));
            var o = n.WB.Out.ToList(); n.WB.Out.Clear();
            return o;
        }
        var rbuf = new byte[100];
        // Hop-by-hop with PadN, then destination options with an unknown skippable option (00xxxxxx): delivered.
        var hbh = new byte[8] { 60, 0, 1, 4, 0, 0, 0, 0 };
        var dst = new byte[8] { 17, 0, 0x1e, 1, 0, 1, 0, 0 };              // type 0x1e, length 1, then PadN... (Pad1, Pad1)
        dst[5] = 0; dst[6] = 0; dst[7] = 0;
        Send(0, hbh.Concat(dst).Concat(Udp("opts")).ToArray()).Should().BeEmpty();
        srv.Receive(rbuf, false, out _, out _).Should().Be(4);
        // An option of type 10xxxxxx: dropped with a parameter problem, code 2, pointing at the option.
        var bad = new byte[8] { 17, 0, 0x80, 4, 0, 0, 0, 0 };
        var pp = Send(60, bad.Concat(Udp("no")).ToArray());
        pp.Should().HaveCount(1);
        Icmp6Type(pp[0]).Should().Be(4); pp[0][55].Should().Be(2); W.U32(pp[0], 58).Should().Be(42u);
        // 01xxxxxx: dropped silently.
        bad[2] = 0x40;
        Send(60, bad.Concat(Udp("no")).ToArray()).Should().BeEmpty();
        srv.Receive(rbuf, false, out _, out _).Should().Be(-1);
        // A routing header with segments left: parameter problem code 0 at its routing type field.
        var rh = new byte[8] { 17, 0, 4, 1, 0, 0, 0, 0 };
        pp = Send(43, rh.Concat(Udp("no")).ToArray());
        Icmp6Type(pp[0]).Should().Be(4); pp[0][55].Should().Be(0); W.U32(pp[0], 58).Should().Be(42u);
        // ... and with none left it is skipped.
        rh[3] = 0;
        Send(43, rh.Concat(Udp("rh0")).ToArray()).Should().BeEmpty();
        srv.Receive(rbuf, false, out _, out _).Should().Be(3);
        // An unknown next header: code 1 pointing at the field that named it (the IPv6 header's, offset 6).
        pp = Send(253, new byte[16]);
        Icmp6Type(pp[0]).Should().Be(4); pp[0][55].Should().Be(1); W.U32(pp[0], 58).Should().Be(6u);
        // A hop-by-hop header anywhere but first is an unrecognized next header too.
        pp = Send(60, new byte[8] { 0, 0, 1, 4, 0, 0, 0, 0 }.Concat(new byte[8] { 17, 0, 1, 4, 0, 0, 0, 0 }).ToArray());
        Icmp6Type(pp[0]).Should().Be(4); pp[0][55].Should().Be(1); W.U32(pp[0], 58).Should().Be(40u);
        // No error about an ICMPv6 error, nor to a multicast destination.
        n.WB.Out.Clear();
        n.B.Input(n.IB, Frame6(n.IB.Mac, macA, a, IpAddr.AllNodes, 253, new byte[16]));
        n.WB.Out.Should().BeEmpty();
        n.B.ParamProblems.Should().Be(5);
    }

    [Fact]
    public void PacketTooBigLowersThePathMtuAndTheMss()
    {
        var n = SlaacPair();
        IpAddr gb = n.IB.Addr6[1];
        var l = n.B.NewTcp(); n.B.BindTcp(l, IpAddr.Any, 80); l.Listen(4);
        var c = n.A.NewTcp(); c.Connect(gb, 80); n.Run();
        var s = l.Accept()!;
        c.Mss.Should().Be(1440);
        // A router on the path says 1280: the quoted packet is one of c's segments.
        c.Send(Pattern(3000)); 
        byte[]? seg = null; n.DropAtoB = f => { if (Is6(f) && f[20] == 6 && f.Length > 1000) { seg ??= f; return true; } return false; };
        n.Run();
        n.DropAtoB = null;
        seg.Should().NotBeNull();
        var m = new byte[8 + 1232]; m[0] = 2; W.Put32(m, 4, 1280);
        Array.Copy(seg!, 14, m, 8, 1232);
        n.A.Input(n.IA, Icmp6Frame(n.IA.Mac, RouterMac, RouterLl, n.IA.Addr6[1], m, 64));
        c.Mss.Should().Be(1220);
        n.A.PathMtu6(n.IA, gb).Should().Be(1280);
        // Every segment from now on fits 1280 bytes; the data gets through.
        int biggest = 0; n.DropAtoB = f => { if (Is6(f)) biggest = Math.Max(biggest, f.Length - 14); return false; };
        var buf = new byte[10000]; int got = 0;
        for (int i = 0; i < 200 && got < 3000; i++) { n.Advance(50); int k = s.Receive(buf.AsSpan(got), false); if (k > 0) got += k; }
        got.Should().Be(3000);
        biggest.Should().BeLessThanOrEqualTo(1280);
        // A UDP datagram to that destination is fragmented at 1280 too.
        var u = n.A.NewUdp(); int frag = 0; n.DropAtoB = f => { if (Is6(f) && f[20] == 44) { frag++; (f.Length - 14).Should().BeLessThanOrEqualTo(1280); } return false; };
        u.SendTo(Pattern(1400), gb, 9).Should().Be(0);
        n.Run();
        frag.Should().Be(2);
    }

    [Fact]
    public void MalformedAndMutatedIpv6FramesNeverThrow()
    {
        var rng = new Random(4242);
        var n = SlaacPair();
        IpAddr gb = n.IB.Addr6[1];
        var l = n.B.NewTcp(); n.B.BindTcp(l, IpAddr.Any, 80); l.Listen(4);
        var c = n.A.NewTcp(); c.Connect(gb, 80); n.Run();
        var u = n.B.NewUdp(); n.B.BindUdp(u, IpAddr.Any, 53);
        var samples = new List<byte[]>();
        n.DropAtoB = f => { if (Is6(f)) samples.Add(f); return false; };
        c.Send(Pattern(3000)); n.Run();
        var cu = n.A.NewUdp(); cu.SendTo(Pattern(3000), gb, 53); n.Run();
        n.A.SendEcho6(gb, 1, 1, Pattern(100)); n.Run();
        n.A.SendEcho6(P("fe80::77"), 1, 1, default); n.Run();          // a solicitation
        samples.Add(RouterAdvert(n.IB, mtu: 1300));
        n.DropAtoB = null;
        samples.Count.Should().BeGreaterThan(5);
        for (int i = 0; i < 40000; i++)
        {
            byte[] f;
            if (i % 4 == 0)
            {
                f = new byte[rng.Next(0, 1600)]; rng.NextBytes(f);
                if (f.Length > 60) { n.IB.Mac.CopyTo(f, 0); f[12] = 0x86; f[13] = 0xdd; f[14] = 0x60; W.Put16(f, 18, f.Length - 54); f[20] = (byte)new[] { 0, 6, 17, 43, 44, 58, 60, 59 }[rng.Next(8)]; }
            }
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

    // ---- duplicate address detection (RFC 4862 5.4) and MLD (RFC 3810) ----

    /// The ICMPv6 message of an IPv6 frame, past a hop-by-hop header if there is one (or null).
    static byte[]? Icmp6Of(byte[] f)
    {
        if (!Is6(f)) return null;
        int nh = f[20], at = 54;
        if (nh == 0) { if (f.Length < 62) return null; nh = f[54]; at = 54 + (f[55] + 1) * 8; }
        return nh == 58 && at < f.Length ? f[at..] : null;
    }

    /// The ICMPv6 checksum of a frame's message verifies (over the pseudo-header).
    static bool Icmp6ChecksumOk(byte[] f, byte[] m) => W.Fold(W.Sum(m, W.PseudoSum(IpAddr.Read(f, 22), IpAddr.Read(f, 38), 58, m.Length))) == 0;

    static List<byte[]> Sent(List<byte[]> frames, int type) => frames.Where(f => Icmp6Of(f) is { } m && m[0] == type).ToList();

    [Fact]
    public void DadProbesATentativeAddressThatBecomesUsableAfterRetransTimer()
    {
        var n = new Net(ip6: false);
        n.A.EnableIp6(n.IA);
        IpAddr ll = n.IA.Addr6[0];
        // The probe: a solicitation from :: to the solicited-node group, at hop limit 255,
        // for the tentative address, without a link-layer option.
        var ns = Sent(n.WA.Out, 135);
        ns.Should().HaveCount(1);
        byte[] f = ns[0];
        f.Take(6).Should().Equal(new byte[] { 0x33, 0x33, 0xff, f[51], f[52], f[53] });
        IpAddr.Read(f, 22).Should().Be(IpAddr.Any);
        IpAddr.Read(f, 38).Should().Be(ll.SolicitedNode);
        f[21].Should().Be(255);
        f.Length.Should().Be(54 + 24);
        IpAddr.Read(f, 54 + 8).Should().Be(ll);
        Icmp6ChecksumOk(f, Icmp6Of(f)!).Should().BeTrue();
        // Tentative: not ours for bind, not a source, and packets to it are dropped; netlink
        // and /proc/net/if_inet6 see IFA_F_TENTATIVE (with IFA_F_PERMANENT).
        n.IA.Flags6[0].Should().Be(NetIf.Tentative);
        IfAddrs.Get(n.IA, 1).Flags.Should().Be(0xc0);
        n.A.IsLocal(ll).Should().BeFalse();
        var u = n.A.NewUdp(); n.A.BindUdp(u, ll, 0).Should().Be(NetErr.EADDRNOTAVAIL);
        n.A.SourceFor(P("fe80::99"), n.IA.Index).IsV6Any.Should().BeTrue();
        var c = n.A.NewUdp(); c.SendTo("x"u8, P("fe80::99"), 9, n.IA.Index).Should().Be(NetErr.EADDRNOTAVAIL);
        var t = n.A.NewTcp(); t.IfIndex = n.IA.Index; t.Connect(P("fe80::99"), 80).Should().Be(NetErr.EADDRNOTAVAIL);
        // No answer for RetransTimer (1 s): usable, and no more probes.
        n.WA.Out.Clear();
        n.DropAtoB = f => true;
        n.Advance(NetStack.RetransTimerMs - 20);
        n.IA.Flags6[0].Should().Be(NetIf.Tentative);
        n.Advance(40);
        n.IA.Flags6[0].Should().Be(0);
        n.A.DadPassed.Should().Be(1);
        IfAddrs.Get(n.IA, 1).Flags.Should().Be(0x80);
        n.A.BindUdp(u, ll, 0).Should().Be(0);
        n.A.SourceFor(P("fe80::99"), n.IA.Index).Should().Be(ll);
        n.A.DadTransmits.Should().Be(1);
    }

    [Fact]
    public void DadFindsADuplicateFromAnAdvertisementOrAnotherProbe()
    {
        // Another node's advertisement for the tentative address: a duplicate, never used.
        var n = new Net(ip6: false);
        n.A.EnableIp6(n.IA);
        IpAddr ll = n.IA.Addr6[0];
        var na = new byte[32]; na[0] = 136; na[4] = 0x20; ll.Write(na, 8); na[24] = 2; na[25] = 1; na[26] = 0x52; na[27] = 0x99;
        n.A.Input(n.IA, Icmp6Frame(new byte[] { 0x33, 0x33, 0, 0, 0, 1 }, 0x529900000001, ll, IpAddr.AllNodes, na));
        n.IA.Flags6[0].Should().Be(NetIf.Tentative | NetIf.DadFailed);
        n.A.DadFailures.Should().Be(1);
        n.A.LastDadFailed.Should().Be(ll);
        IfAddrs.Get(n.IA, 1).Flags.Should().Be(0x80 | 0x48);
        n.WA.Out.Clear();
        n.Advance(3000);
        n.IA.Flags6[0].Should().Be(NetIf.Tentative | NetIf.DadFailed);    // stays failed
        n.LlA.IsV6Any.Should().BeTrue();
        Sent(n.WA.Out, 135).Should().BeEmpty();
        // Another node probing for the same address at the same time: both fail.
        var m = new Net(ip6: false);
        for (int i = 0; i < 6; i++) m.IB.Mac[i] = m.IA.Mac[i];               // the same interface id
        m.A.EnableIp6(m.IA); m.B.EnableIp6(m.IB);
        m.Run();
        m.IA.Flags6[0].Should().Be(NetIf.Tentative | NetIf.DadFailed);
        m.IB.Flags6[0].Should().Be(NetIf.Tentative | NetIf.DadFailed);
        // A solicitation from a unicast source for a tentative address (someone resolving it)
        // is ignored: no answer, no failure.
        var k = new Net(ip6: false);
        k.A.EnableIp6(k.IA);
        IpAddr lk = k.IA.Addr6[0];
        k.WA.Out.Clear();
        var ns = new byte[32]; ns[0] = 135; lk.Write(ns, 8); ns[24] = 1; ns[25] = 1; ns[26] = 0x52; ns[27] = 0x99;
        k.A.Input(k.IA, Icmp6Frame(new byte[] { 0x33, 0x33, 0xff, 0, 0, 0 }, 0x529900000001, P("fe80::99"), lk.SolicitedNode, ns));
        k.IA.Flags6[0].Should().Be(NetIf.Tentative);
        Sent(k.WA.Out, 136).Should().BeEmpty();
        // Once usable, another node's probe is answered (defended) with an advertisement to all nodes.
        k.Advance(NetStack.RetransTimerMs + 10);
        k.WA.Out.Clear();
        var probe = new byte[24]; probe[0] = 135; lk.Write(probe, 8);
        k.A.Input(k.IA, Icmp6Frame(new byte[] { 0x33, 0x33, 0xff, 0, 0, 0 }, 0x529900000001, IpAddr.Any, lk.SolicitedNode, probe));
        var adv = Sent(k.WA.Out, 136);
        adv.Should().HaveCount(1);
        IpAddr.Read(adv[0], 38).Should().Be(IpAddr.AllNodes);
        k.IA.Flags6[0].Should().Be(0);
    }

    [Fact]
    public void SlaacAddressIsProbedToo()
    {
        var n = new Net(ip6: true);
        n.WA.Out.Clear();
        n.A.Input(n.IA, RouterAdvert(n.IA));
        IpAddr g = n.IA.Addr6[1];
        var ns = Sent(n.WA.Out, 135);
        ns.Should().ContainSingle(f => IpAddr.Read(f, 22) == IpAddr.Any && IpAddr.Read(f, 54 + 8) == g);
        n.A.IsLocal(g).Should().BeFalse();
        IfAddrs.Get(n.IA, 2).Flags.Should().Be(0x40);                       // dynamic, tentative
        n.Advance(NetStack.RetransTimerMs + 10);
        n.A.IsLocal(g).Should().BeTrue();
        IfAddrs.Get(n.IA, 2).Flags.Should().Be(0);
    }

    static byte[] MldQuery(NetIf to, IpAddr group, int maxCode, bool v1 = false, int hops = 1, IpAddr? from = null)
    {
        var m = new byte[v1 ? 24 : 28];
        m[0] = 130; W.Put16(m, 4, maxCode); group.Write(m, 8);
        IpAddr dst = group.IsV6Any ? IpAddr.AllNodes : group;
        var mac = new byte[] { 0x33, 0x33, (byte)(dst.Lo >> 24), (byte)(dst.Lo >> 16), (byte)(dst.Lo >> 8), (byte)dst.Lo };
        // With the hop-by-hop Router Alert option before the message, as queriers send it.
        var src = from ?? RouterLl;
        m[2] = 0; m[3] = 0;
        ushort c = W.Fold(W.Sum(m, W.PseudoSum(src, dst, 58, m.Length)));
        m[2] = (byte)(c >> 8); m[3] = (byte)c;
        var p = new byte[8 + m.Length];
        p[0] = 58; p[1] = 0; p[2] = 5; p[3] = 2; p[6] = 1;
        m.CopyTo(p, 8);
        return Frame6(mac, RouterMac, src, dst, 0, p, hops);
    }

    /// The MLDv2 report frames in `frames`: (record type, group) of each record.
    static List<List<(int Type, IpAddr Group)>> Reports(List<byte[]> frames)
    {
        var r = new List<List<(int, IpAddr)>>();
        foreach (var f in Sent(frames, NetStack.Mld2ReportType))
        {
            f[20].Should().Be(0);                                          // hop-by-hop first
            f.Skip(54).Take(8).Should().Equal(new byte[] { 58, 0, 5, 2, 0, 0, 1, 0 });      // Router Alert (MLD), PadN
            f[21].Should().Be(1);
            IpAddr.Read(f, 38).Should().Be(NetStack.AllMldRouters);
            f.Take(6).Should().Equal(new byte[] { 0x33, 0x33, 0, 0, 0, 0x16 });
            var m = Icmp6Of(f)!;
            Icmp6ChecksumOk(f, m).Should().BeTrue();
            int count = W.U16(m, 6);
            m.Length.Should().Be(8 + 20 * count);
            r.Add(Enumerable.Range(0, count).Select(i => ((int)m[8 + 20 * i], IpAddr.Read(m, 12 + 20 * i))).ToList());
        }
        return r;
    }

    [Fact]
    public void MldReportsJoinsAndLeavesAndAnswersQueries()
    {
        var n = new Net(ip6: false);
        var cap = new List<byte[]>();
        n.DropAtoB = f => { cap.Add(f); return true; };                   // what A sends, B never sees
        n.A.EnableIp6(n.IA);
        n.Run();
        IpAddr sn = n.IA.Addr6[0].SolicitedNode;
        // The solicited-node group is joined at once (from :: while the address is tentative), twice in all.
        var first = Reports(cap);
        first.Should().HaveCount(1);
        first[0].Should().Equal((NetStack.ChangeToExclude, sn));
        IpAddr.Read(Sent(cap, 143)[0], 22).Should().Be(IpAddr.Any);
        cap.Clear();
        n.Advance(NetStack.RetransTimerMs + 10);
        Reports(cap).Should().HaveCount(1);
        cap.Clear();
        // A socket's group: joined and reported (from the link-local address now), then delivered to.
        IpAddr grp = P("ff05::1:3");
        n.A.GroupIf6(0, grp).Should().Be(n.IA);
        n.A.JoinGroup6(n.IA, grp).Should().Be(0);
        n.A.JoinGroup6(n.IA, grp).Should().Be(0);                          // a second join: counted, not reported
        n.Run();
        var j = Reports(cap);
        j.Should().HaveCount(1);
        j[0].Should().Equal((NetStack.ChangeToExclude, grp));
        IpAddr.Read(Sent(cap, 143)[0], 22).Should().Be(n.LlA);
        n.IA.InGroup6(grp).Should().BeTrue();
        var u = n.A.NewUdp(); n.A.BindUdp(u, IpAddr.Any, 5000).Should().Be(0);
        var dgram = new byte[8 + 2]; W.Put16(dgram, 0, 1234); W.Put16(dgram, 2, 5000); W.Put16(dgram, 4, 10); dgram[8] = 7;
        W.Put16(dgram, 6, W.Fold(W.Sum(dgram, W.PseudoSum(RouterLl, grp, 17, 10))));
        n.A.Input(n.IA, Frame6(new byte[] { 0x33, 0x33, 0, 1, 0, 3 }, RouterMac, RouterLl, grp, 17, dgram));
        u.Receive(new byte[16], false, out _, out _).Should().Be(2);
        cap.Clear();
        n.Advance(NetStack.RetransTimerMs + 10);
        Reports(cap).Should().HaveCount(1);                              // the retransmission
        cap.Clear();
        // A general query (max response 500 ms): within it, one report of both groups' current state.
        n.A.Input(n.IA, MldQuery(n.IA, IpAddr.Any, 500));
        n.A.MldQueries.Should().Be(1);
        n.Advance(500);
        var g = Reports(cap);
        g.Should().HaveCount(1);
        g[0].Should().BeEquivalentTo(new[] { (NetStack.ModeIsExclude, sn), (NetStack.ModeIsExclude, grp) });
        cap.Clear();
        // A group-specific query: that group only. Queries not from a link-local address or not at hop limit 1: ignored.
        n.A.Input(n.IA, MldQuery(n.IA, grp, 100));
        n.Advance(100);
        Reports(cap).Should().ContainSingle().Which.Should().Equal((NetStack.ModeIsExclude, grp));
        cap.Clear();
        n.A.Input(n.IA, MldQuery(n.IA, IpAddr.Any, 100, hops: 2));
        n.A.Input(n.IA, MldQuery(n.IA, IpAddr.Any, 100, from: P("fec0::2")));
        n.Advance(200);
        Reports(cap).Should().BeEmpty();
        n.A.MldQueries.Should().Be(2);
        // Leaving: the last leave is reported (CHANGE_TO_INCLUDE {}), twice; packets for it are no longer taken.
        n.A.LeaveGroup6(n.IA, grp);
        n.Run();
        Reports(cap).Should().BeEmpty();
        n.A.LeaveGroup6(n.IA, grp);
        n.Run();
        Reports(cap).Should().ContainSingle().Which.Should().Equal((NetStack.ChangeToInclude, grp));
        n.IA.InGroup6(grp).Should().BeFalse();
        n.A.Input(n.IA, Frame6(new byte[] { 0x33, 0x33, 0, 1, 0, 3 }, RouterMac, RouterLl, grp, 17, dgram));
        u.Receive(new byte[16], false, out _, out _).Should().Be(-1);
        cap.Clear();
        n.Advance(NetStack.RetransTimerMs + 10);
        Reports(cap).Should().ContainSingle().Which.Should().Equal((NetStack.ChangeToInclude, grp));
        n.IA.Groups6Count.Should().Be(1);                                     // only the solicited-node group is left
        cap.Clear();
        // An MLDv1 query: MLDv1 reports to each group (RFC 3810 8.2), and a leave is a done to ff02::2.
        n.A.JoinGroup6(n.IA, grp);
        n.Run();
        cap.Clear();
        n.A.Input(n.IA, MldQuery(n.IA, IpAddr.Any, 300, v1: true));
        n.Advance(300);
        var v1 = Sent(cap, NetStack.Mld1ReportType);
        v1.Select(f => IpAddr.Read(f, 38)).Should().BeEquivalentTo(new[] { sn, grp });
        v1.Should().OnlyContain(f => IpAddr.Read(Icmp6Of(f)!, 8) == IpAddr.Read(f, 38) && f[21] == 1 && Icmp6ChecksumOk(f, Icmp6Of(f)!));
        cap.Clear();
        n.A.LeaveGroup6(n.IA, grp);
        n.Run();
        var done = Sent(cap, NetStack.Mld1DoneType);
        done.Should().ContainSingle();
        IpAddr.Read(done[0], 38).Should().Be(IpAddr.AllRouters);
        n.A.NextTimer().Should().NotBe(0);
        n.Advance(NetStack.RetransTimerMs + 10);
        n.A.Drops.Should().Be(2);                                             // the two bad queries
    }

    [Fact]
    public void MldMessagesBuildAndParse()
    {
        var p = new byte[200];
        IpAddr src = P("fe80::1"), g1 = P("ff02::1:ff00:1"), g2 = P("ff05::2");
        int len = NetStack.BuildMld2Report(p, src, NetStack.ModeIsExclude, new[] { g1, g2 });
        len.Should().Be(40 + 8 + 8 + 40);
        p[0].Should().Be(0x60); W.U16(p, 4).Should().Be(8 + 8 + 40); p[6].Should().Be(0); p[7].Should().Be(1);
        IpAddr.Read(p, 8).Should().Be(src); IpAddr.Read(p, 24).Should().Be(P("ff02::16"));
        p.Skip(40).Take(8).Should().Equal(new byte[] { 58, 0, 5, 2, 0, 0, 1, 0 });
        var m = p.AsSpan(48, 48).ToArray();
        m[0].Should().Be(143); W.U16(m, 4).Should().Be(0); W.U16(m, 6).Should().Be(2);
        m[8].Should().Be(2); m[9].Should().Be(0); W.U16(m, 10).Should().Be(0); IpAddr.Read(m, 12).Should().Be(g1);
        m[28].Should().Be(2); IpAddr.Read(m, 32).Should().Be(g2);
        W.Fold(W.Sum(m, W.PseudoSum(src, P("ff02::16"), 58, m.Length))).Should().Be(0);
        len = NetStack.BuildMld1(p, src, NetStack.Mld1DoneType, g2);
        len.Should().Be(40 + 8 + 24);
        IpAddr.Read(p, 24).Should().Be(IpAddr.AllRouters);
        p[48].Should().Be(132); IpAddr.Read(p, 56).Should().Be(g2);
        // Queries: MLDv1's 24 bytes (delay in ms), MLDv2's 28 or more (a code below 32768 in
        // ms, above it a mantissa and exponent: 0x8fff is 0x1fff << 3).
        var q = new byte[28]; q[0] = 130; W.Put16(q, 4, 1000);
        NetStack.ParseMldQuery(q, out IpAddr gq, out ulong ms, out bool isV1).Should().BeTrue();
        gq.IsV6Any.Should().BeTrue(); ms.Should().Be(1000); isV1.Should().BeFalse();
        W.Put16(q, 4, 0x8fff);
        NetStack.ParseMldQuery(q, out _, out ms, out _).Should().BeTrue(); ms.Should().Be(0x1fffUL << 3);
        W.Put16(q, 4, 0xf123);
        NetStack.ParseMldQuery(q, out _, out ms, out _).Should().BeTrue(); ms.Should().Be(0x1123UL << 10);
        NetStack.ParseMldQuery(q.AsSpan(0, 24), out _, out ms, out isV1).Should().BeTrue(); isV1.Should().BeTrue(); ms.Should().Be(0xf123);
        NetStack.ParseMldQuery(q.AsSpan(0, 26), out _, out _, out _).Should().BeFalse();
        P("fec0::1").Write(q, 8);
        NetStack.ParseMldQuery(q, out _, out _, out _).Should().BeFalse();         // not a multicast group
    }
}
