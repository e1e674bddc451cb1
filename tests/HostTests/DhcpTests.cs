using System.Text;
using Kernel.Net;
using Ukpack;
using W = Kernel.Net.Wire;

namespace HostTests;

/// The DHCPv4 client against a scripted server on the wire: the lease's address, mask,
/// router and DNS servers land on the interface and in the stack, and the resolv.conf the
/// kernel writes from them.
public class DhcpTests
{
    static readonly byte[] ServerMac = [0x52, 0x55, 0x0a, 0x00, 0x09, 0x01];
    static readonly uint Server = W.Ip(10, 0, 9, 1), Offered = W.Ip(10, 0, 9, 50);

    /// The BOOTP message inside a frame the client sent, or null.
    static byte[]? Bootp(byte[] f) =>
        f.Length >= 42 + 240 && f[12] == 8 && f[13] == 0 && f[23] == 17 && W.U16(f, 36) == 67 ? f[42..] : null;

    static int MessageType(byte[] m)
    {
        for (int o = 240; o + 1 < m.Length && m[o] != 255;)
        {
            if (m[o] == 0) { o++; continue; }
            if (m[o] == 53) return m[o + 2];
            o += 2 + m[o + 1];
        }
        return 0;
    }

    /// A server's answer of DHCP type `type` to the client message `req`, with `options`
    /// (already encoded) after the message type.
    static byte[] Answer(byte[] req, int type, byte[] options)
    {
        var m = new byte[240 + 3 + options.Length + 1];
        m[0] = 2; m[1] = 1; m[2] = 6;
        req.AsSpan(4, 4).CopyTo(m.AsSpan(4));              // xid
        W.Put32(m, 16, Offered);                           // yiaddr
        req.AsSpan(28, 16).CopyTo(m.AsSpan(28));           // chaddr
        m[236] = 99; m[237] = 130; m[238] = 83; m[239] = 99;
        m[240] = 53; m[241] = 1; m[242] = (byte)type;
        options.CopyTo(m, 243);
        m[^1] = 255;
        var f = new byte[14 + 20 + 8 + m.Length];
        for (int i = 0; i < 6; i++) f[i] = 0xff;
        ServerMac.CopyTo(f, 6);
        f[12] = 8;
        f[14] = 0x45; W.Put16(f, 16, 20 + 8 + m.Length); f[22] = 64; f[23] = 17;
        W.Put32(f, 26, Server); W.Put32(f, 30, 0xffffffff);
        W.Put16(f, 24, W.Checksum(f.AsSpan(14, 20)));
        W.Put16(f, 34, 67); W.Put16(f, 36, 68); W.Put16(f, 38, 8 + m.Length);  // UDP checksum 0: none
        m.CopyTo(f, 42);
        return f;
    }

    static byte[] Opt(int code, params uint[] addrs)
    {
        var o = new byte[2 + 4 * addrs.Length];
        o[0] = (byte)code; o[1] = (byte)(4 * addrs.Length);
        for (int i = 0; i < addrs.Length; i++) W.Put32(o, 2 + 4 * i, addrs[i]);
        return o;
    }

    /// Runs DISCOVER/OFFER/REQUEST/ACK with a server naming `dns`; the client's stack.
    static (NetStack Stack, NetIf If) Lease(params uint[] dns)
    {
        var stack = new NetStack(7);
        var wire = new NetStackTests.Wire();
        var nif = stack.AddInterface("eth0"u8, wire, 1500);
        for (int i = 0; i < 6; i++) nif.Mac[i] = (byte)(0x52 + i);
        byte[] options = [.. Opt(54, Server), .. Opt(1, 0xffffff00), .. Opt(3, W.Ip(10, 0, 9, 2)), .. Opt(51, 3600),
            .. (dns.Length > 0 ? Opt(6, dns) : [])];
        stack.StartDhcp(nif);
        foreach (var (want, reply) in new[] { (1, 2), (3, 5) })
        {
            var sent = wire.Out.Select(Bootp).LastOrDefault(m => m != null);
            sent.Should().NotBeNull();
            MessageType(sent!).Should().Be(want);
            wire.Out.Clear();
            stack.Input(nif, Answer(sent!, reply, options));
        }
        stack.DhcpBound.Should().BeTrue();
        return (stack, nif);
    }

    [Fact]
    public void ALeaseConfiguresTheInterfaceAndItsDnsServers()
    {
        var (stack, nif) = Lease(W.Ip(10, 0, 9, 3), W.Ip(192, 168, 7, 7));
        nif.Addr.Should().Be(Offered);
        nif.Mask.Should().Be(0xffffff00);
        nif.Gateway.Should().Be(W.Ip(10, 0, 9, 2));
        stack.Dns.AsSpan(0, stack.DnsCount).ToArray().Should().Equal(W.Ip(10, 0, 9, 3), W.Ip(192, 168, 7, 7));
        stack.DnsChanged.Should().BeTrue();

        var buf = new byte[512];
        int n = stack.FormatResolvConf(buf);
        Encoding.ASCII.GetString(buf, 0, n).Should().Be(
            Encoding.ASCII.GetString(NetStack.ResolvConfMarker) + "nameserver 10.0.9.3\nnameserver 192.168.7.7\n");
    }

    [Fact]
    public void MoreThanThreeServersKeepTheFirstThreeAsGlibcWould()
    {
        var (stack, _) = Lease(W.Ip(1, 1, 1, 1), W.Ip(2, 2, 2, 2), W.Ip(3, 3, 3, 3), W.Ip(4, 4, 4, 4));
        stack.DnsCount.Should().Be(3);
        stack.Dns.Should().Equal(W.Ip(1, 1, 1, 1), W.Ip(2, 2, 2, 2), W.Ip(3, 3, 3, 3));
    }

    [Fact]
    public void ALeaseWithoutDnsChangesNothing()
    {
        var (stack, _) = Lease();
        stack.DnsCount.Should().Be(0);
        stack.DnsChanged.Should().BeFalse();
    }

    /// ukpack's default resolv.conf is the one the kernel may rewrite: it starts with the marker.
    [Fact]
    public void UkpacksDefaultResolvConfCarriesTheKernelsMarker()
    {
        var (_, text) = Builder.DefaultEtc.Single(e => e.Path == "/etc/resolv.conf");
        text.Should().StartWith(Encoding.ASCII.GetString(NetStack.ResolvConfMarker));
        text.Should().EndWith("nameserver 10.0.2.3\n");
    }
}
