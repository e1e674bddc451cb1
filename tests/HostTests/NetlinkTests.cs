using Kernel.Net;

namespace HostTests;

/// NETLINK_ROUTE's message building and parsing (net/NetlinkRoute.cs) on a stack with the
/// loopback and an Ethernet interface, byte for byte against the uapi layouts.
public class NetlinkTests
{
    static NetStack Stack(bool withGateway = true)
    {
        var s = new NetStack(7);
        NetIf eth = s.AddInterface("eth0"u8, null, 1500)!;
        for (int i = 0; i < 6; i++) eth.Mac[i] = (byte)(0x52 + i);
        eth.Addr = Kernel.Net.Wire.Ip(10, 0, 2, 15); eth.Mask = 0xffffff00;
        if (withGateway) eth.Gateway = Kernel.Net.Wire.Ip(10, 0, 2, 2);
        return s;
    }

    static byte[] Request(int type, int flags, uint seq, params byte[] body)
    {
        var b = new byte[16 + ((body.Length + 3) & ~3)];
        NetlinkRoute.Put32(b, 0, (uint)(16 + body.Length)); NetlinkRoute.Put16(b, 4, type); NetlinkRoute.Put16(b, 6, flags);
        NetlinkRoute.Put32(b, 8, seq); NetlinkRoute.Put32(b, 12, 0);
        body.CopyTo(b, 16);
        return b;
    }

    record Msg(int Type, int Flags, uint Seq, uint Pid, byte[] Body);

    /// Every message of every queued datagram, taking them all.
    static List<(List<Msg> Msgs, int Length)> Drain(NetlinkRoute r)
    {
        var all = new List<(List<Msg>, int)>();
        while (r.HasData)
        {
            byte[] d = r.Peek(out int len, out uint from)!;
            from.Should().Be(0u);
            var msgs = new List<Msg>();
            int off = 0;
            while (off + 16 <= len)
            {
                int ml = (int)NetlinkRoute.U32(d, off);
                ml.Should().BeGreaterThanOrEqualTo(16);
                (off + ml).Should().BeLessThanOrEqualTo(len);
                msgs.Add(new Msg(NetlinkRoute.U16(d, off + 4), NetlinkRoute.U16(d, off + 6), NetlinkRoute.U32(d, off + 8),
                    NetlinkRoute.U32(d, off + 12), d.AsSpan(off + 16, ml - 16).ToArray()));
                off += NetlinkRoute.Align(ml);
            }
            off.Should().Be(len);
            all.Add((msgs, len));
            r.Dequeue();
        }
        return all;
    }

    static Dictionary<int, byte[]> Attrs(byte[] body, int start)
    {
        var a = new Dictionary<int, byte[]>();
        int at = start;
        while (at + 4 <= body.Length)
        {
            int len = NetlinkRoute.U16(body, at), type = NetlinkRoute.U16(body, at + 2);
            len.Should().BeGreaterThanOrEqualTo(4);
            a[type] = body.AsSpan(at + 4, len - 4).ToArray();
            at += NetlinkRoute.Align(len);
        }
        at.Should().Be(body.Length);
        return a;
    }

    [Fact]
    public void LinkDumpDescribesEachInterfaceAndEndsWithDone()
    {
        var r = new NetlinkRoute(Stack()) { PortId = 4242 };
        r.Input(Request(NetlinkRoute.RTM_GETLINK, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_DUMP, 9, new byte[16]));
        var msgs = Drain(r).SelectMany(d => d.Msgs).ToList();
        msgs.Select(m => m.Type).Should().Equal(NetlinkRoute.RTM_NEWLINK, NetlinkRoute.RTM_NEWLINK, NetlinkRoute.NLMSG_DONE);
        msgs.Should().OnlyContain(m => m.Seq == 9 && m.Pid == 4242 && (m.Flags & NetlinkRoute.NLM_F_MULTI) != 0);
        msgs[2].Body.Should().Equal(0, 0, 0, 0);

        byte[] lo = msgs[0].Body;
        NetlinkRoute.U16(lo, 2).Should().Be(NetlinkRoute.ARPHRD_LOOPBACK);
        NetlinkRoute.U32(lo, 4).Should().Be(1u);
        NetlinkRoute.U32(lo, 8).Should().Be(0x10049u);                // UP|LOOPBACK|RUNNING|LOWER_UP
        var la = Attrs(lo, 16);
        la[NetlinkRoute.IFLA_IFNAME].Should().Equal((byte)'l', (byte)'o', 0);
        la[NetlinkRoute.IFLA_ADDRESS].Should().Equal(0, 0, 0, 0, 0, 0);
        la[NetlinkRoute.IFLA_OPERSTATE].Should().Equal(NetlinkRoute.IF_OPER_UNKNOWN);
        la[NetlinkRoute.IFLA_STATS].Length.Should().Be(96);
        la[NetlinkRoute.IFLA_STATS64].Length.Should().Be(200);

        byte[] eth = msgs[1].Body;
        NetlinkRoute.U16(eth, 2).Should().Be(NetlinkRoute.ARPHRD_ETHER);
        NetlinkRoute.U32(eth, 4).Should().Be(2u);
        NetlinkRoute.U32(eth, 8).Should().Be(0x11043u);               // UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
        var ea = Attrs(eth, 16);
        ea[NetlinkRoute.IFLA_ADDRESS].Should().Equal(0x52, 0x53, 0x54, 0x55, 0x56, 0x57);
        ea[NetlinkRoute.IFLA_BROADCAST].Should().Equal(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
        NetlinkRoute.U32(ea[NetlinkRoute.IFLA_MTU], 0).Should().Be(1500u);
        ea[NetlinkRoute.IFLA_OPERSTATE].Should().Equal(NetlinkRoute.IF_OPER_UP);
        r.Dumping.Should().BeFalse();
    }

    [Fact]
    public void AddrDumpFiltersByFamily()
    {
        var r = new NetlinkRoute(Stack());
        r.Input(Request(NetlinkRoute.RTM_GETADDR, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_DUMP, 1, 2));   // AF_INET, rtgenmsg only
        var msgs = Drain(r).SelectMany(d => d.Msgs).ToList();
        msgs.Select(m => m.Type).Should().Equal(NetlinkRoute.RTM_NEWADDR, NetlinkRoute.RTM_NEWADDR, NetlinkRoute.NLMSG_DONE);
        byte[] lo = msgs[0].Body;
        lo.Take(8).Should().Equal(2, 8, 0x80, 254, 1, 0, 0, 0);
        var la = Attrs(lo, 8);
        la[NetlinkRoute.IFA_ADDRESS].Should().Equal(127, 0, 0, 1);
        la[NetlinkRoute.IFA_LOCAL].Should().Equal(127, 0, 0, 1);
        la.Should().NotContainKey(NetlinkRoute.IFA_BROADCAST);
        la[NetlinkRoute.IFA_LABEL].Should().Equal((byte)'l', (byte)'o', 0);
        byte[] eth = msgs[1].Body;
        eth.Take(8).Should().Equal(2, 24, 0x80, 0, 2, 0, 0, 0);
        Attrs(eth, 8)[NetlinkRoute.IFA_BROADCAST].Should().Equal(10, 0, 2, 255);

        r.Input(Request(NetlinkRoute.RTM_GETADDR, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_DUMP, 2, 10));  // AF_INET6: the loopback's ::1
        var six = Drain(r).SelectMany(d => d.Msgs).ToList();
        six.Select(m => m.Type).Should().Equal(NetlinkRoute.RTM_NEWADDR, NetlinkRoute.NLMSG_DONE);
        six[0].Body.Take(8).Should().Equal(10, 128, 0x80, 254, 1, 0, 0, 0);
        Attrs(six[0].Body, 8)[NetlinkRoute.IFA_ADDRESS].Should().Equal(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    }

    [Fact]
    public void RouteDumpListsMainThenLocal()
    {
        var r = new NetlinkRoute(Stack());
        r.Input(Request(NetlinkRoute.RTM_GETROUTE, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_DUMP, 3, new byte[12]));
        var routes = Drain(r).SelectMany(d => d.Msgs).Where(m => m.Type == NetlinkRoute.RTM_NEWROUTE)
            .Select(m =>
            {
                var a = Attrs(m.Body, 12);
                string dst = a.TryGetValue(NetlinkRoute.RTA_DST, out var d) ? string.Join(".", d) : "default";
                string gw = a.TryGetValue(NetlinkRoute.RTA_GATEWAY, out var g) ? " via " + string.Join(".", g) : "";
                return $"{m.Body[4]} {m.Body[7]} {dst}/{m.Body[1]}{gw} scope {m.Body[6]} oif {NetlinkRoute.U32(a[NetlinkRoute.RTA_OIF], 0)}";
            }).ToList();
        routes.Should().Equal(
            "254 1 default/0 via 10.0.2.2 scope 0 oif 2",
            "254 1 10.0.2.0/24 scope 253 oif 2",
            "255 2 10.0.2.15/32 scope 254 oif 2",
            "255 3 10.0.2.255/32 scope 253 oif 2",
            "255 2 127.0.0.0/8 scope 254 oif 1",
            "255 2 127.0.0.1/32 scope 254 oif 1",
            "255 3 127.255.255.255/32 scope 253 oif 1");
    }

    [Fact]
    public void DumpDatagramsAreMadeOneAtATime()
    {
        var s = new NetStack(1);
        for (int i = 0; i < 3; i++) s.AddInterface(System.Text.Encoding.ASCII.GetBytes("eth" + i), null, 1500);
        var r = new NetlinkRoute(s);
        r.Input(Request(NetlinkRoute.RTM_GETLINK, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_DUMP, 5, new byte[16]));
        r.Peek(out int len, out _);
        len.Should().BeLessThanOrEqualTo(NetlinkRoute.GoodSize);
        // The whole dump fit the first datagram, NLMSG_DONE included: a second dump may start.
        r.Dumping.Should().BeFalse();
        r.Input(Request(NetlinkRoute.RTM_GETADDR, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_DUMP, 6, 0));
        var msgs = Drain(r).SelectMany(d => d.Msgs).ToList();
        msgs.Count(m => m.Type == NetlinkRoute.RTM_NEWLINK).Should().Be(4);
        msgs.Where(m => m.Type == NetlinkRoute.NLMSG_DONE).Select(m => m.Seq).Should().Equal(5u, 6u);
        r.Dumping.Should().BeFalse();
    }

    [Fact]
    public void ErrorsEchoTheRequestAndAcksAreCapped()
    {
        var r = new NetlinkRoute(Stack()) { PortId = 77 };
        byte[] req = Request(NetlinkRoute.RTM_NEWADDR, NetlinkRoute.NLM_F_REQUEST, 11, new byte[8]);
        r.Input(req);
        var m = Drain(r).Single().Msgs.Single();
        m.Type.Should().Be(NetlinkRoute.NLMSG_ERROR);
        m.Flags.Should().Be(0);
        m.Pid.Should().Be(77u);
        ((int)NetlinkRoute.U32(m.Body, 0)).Should().Be(-NetlinkRoute.EOPNOTSUPP);
        m.Body.Skip(4).Should().Equal(req.Take(24));

        r.CapAck = true;
        r.Input(req);
        m = Drain(r).Single().Msgs.Single();
        m.Body.Length.Should().Be(20);
        m.Flags.Should().Be(NetlinkRoute.NLM_F_CAPPED);

        // GETLINK by name: found (reply + ack), then not found (ENODEV).
        byte[] named = new byte[16 + 12];
        NetlinkRoute.Put16(named, 16, 4 + 5); NetlinkRoute.Put16(named, 18, NetlinkRoute.IFLA_IFNAME);
        "eth0"u8.CopyTo(named.AsSpan(20));
        r.Input(Request(NetlinkRoute.RTM_GETLINK, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_ACK, 12, named));
        var two = Drain(r).SelectMany(d => d.Msgs).ToList();
        two.Select(x => x.Type).Should().Equal(NetlinkRoute.RTM_NEWLINK, NetlinkRoute.NLMSG_ERROR);
        two[0].Flags.Should().Be(0);
        NetlinkRoute.U32(two[0].Body, 4).Should().Be(2u);
        NetlinkRoute.U32(two[1].Body, 0).Should().Be(0u);
        "eth9"u8.CopyTo(named.AsSpan(20));
        r.Input(Request(NetlinkRoute.RTM_GETLINK, NetlinkRoute.NLM_F_REQUEST, 13, named));
        ((int)NetlinkRoute.U32(Drain(r).Single().Msgs.Single().Body, 0)).Should().Be(-NetlinkRoute.ENODEV);

        // Not requests, control types, empty bodies: silent unless NLM_F_ACK.
        r.Input(Request(NetlinkRoute.RTM_GETLINK, 0, 14, new byte[16]));
        r.Input(Request(NetlinkRoute.NLMSG_NOOP, NetlinkRoute.NLM_F_REQUEST, 15));
        r.Input(Request(NetlinkRoute.RTM_GETLINK, NetlinkRoute.NLM_F_REQUEST, 16));
        r.HasData.Should().BeFalse();
        r.Input(Request(NetlinkRoute.RTM_GETLINK, NetlinkRoute.NLM_F_ACK, 17, new byte[16]));
        Drain(r).Single().Msgs.Single().Seq.Should().Be(17u);
    }

    [Fact]
    public void SeveralMessagesInOneSendAndGarbage()
    {
        var r = new NetlinkRoute(Stack());
        byte[] a = Request(NetlinkRoute.RTM_GETLINK, NetlinkRoute.NLM_F_REQUEST | NetlinkRoute.NLM_F_ACK, 1, new byte[16]);
        NetlinkRoute.Put32(a, 4 + 16, 1);            // ifi_index 1
        byte[] b = Request(200, NetlinkRoute.NLM_F_REQUEST, 2, new byte[4]);
        r.Input(a.Concat(b).ToArray());
        Drain(r).SelectMany(d => d.Msgs).Select(m => (m.Type, m.Seq)).Should().Equal(
            (NetlinkRoute.RTM_NEWLINK, 1u), (NetlinkRoute.NLMSG_ERROR, 1u), (NetlinkRoute.NLMSG_ERROR, 2u));
        var rnd = new Random(3);
        for (int i = 0; i < 2000; i++)
        {
            var junk = new byte[rnd.Next(0, 200)];
            rnd.NextBytes(junk);
            if (junk.Length >= 16 && rnd.Next(2) == 0) NetlinkRoute.Put32(junk, 0, (uint)rnd.Next(16, junk.Length + 1));
            r.Input(junk);
            Drain(r);
        }
    }
}
