using System.Net;

namespace Ukpack;

/// <summary>`-p [IP:]HOSTPORT:GUESTPORT[/udp]`: a host port forwarded to the guest through
/// QEMU's user network (the host side binds 127.0.0.1 unless an address is given).</summary>
public sealed record PortForward(string HostAddress, int HostPort, int GuestPort, bool Udp)
{
    public static PortForward Parse(string spec)
    {
        string s = spec;
        bool udp = false;
        if (s.EndsWith("/udp", StringComparison.Ordinal)) { udp = true; s = s[..^4]; }
        else if (s.EndsWith("/tcp", StringComparison.Ordinal)) s = s[..^4];
        var parts = s.Split(':');
        string addr = "127.0.0.1";
        if (parts.Length == 3)
        {
            addr = parts[0];
            if (!IPAddress.TryParse(addr, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                throw new UkpackException($"-p {spec}: {addr} is not an IPv4 address");
            parts = parts[1..];
        }
        if (parts.Length != 2 || !Port(parts[0], out int host) || !Port(parts[1], out int guest))
            throw new UkpackException($"-p {spec}: expected [IP:]HOSTPORT:GUESTPORT[/udp] with ports 1-65535");
        return new PortForward(addr, host, guest, udp);
    }

    static bool Port(string s, out int p) => int.TryParse(s, System.Globalization.NumberStyles.None, null, out p) && p is >= 1 and <= 65535;

    public string HostFwd => $"{(Udp ? "udp" : "tcp")}:{HostAddress}:{HostPort}-:{GuestPort}";
}

/// <summary>The guest's network: none, QEMU's user network (slirp: the guest gets
/// 10.0.2.15/24 by DHCP, the host is 10.0.2.2, DNS 10.0.2.3) or a tap device, with an
/// optional static address. A NIC costs boot time, so there is none unless asked for
/// (`--net` or a `-p`).</summary>
public sealed record NetSpec(string Mode, string? Tap, string? Ip, string? Gateway, string? Dns, IReadOnlyList<PortForward> Ports)
{
    public static readonly NetSpec None = new("none", null, null, null, null, []);

    public static NetSpec Parse(string? net, IReadOnlyList<string> ports, string? ip, string? gateway, string? dns)
    {
        var fwd = ports.Select(PortForward.Parse).ToList();
        var dup = fwd.GroupBy(f => (f.HostAddress, f.HostPort, f.Udp)).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new UkpackException($"-p: host port {dup.Key.HostPort}{(dup.Key.Udp ? "/udp" : "")} is forwarded twice");
        string mode; string? tap = null;
        if (net == null) mode = fwd.Count > 0 || ip != null ? "user" : "none";
        else if (net == "none" || net == "user") mode = net;
        else if (net.StartsWith("tap=", StringComparison.Ordinal) && net.Length > 4) { mode = "tap"; tap = net[4..]; }
        else throw new UkpackException($"--net {net}: expected none, user or tap=NAME");
        if (mode == "none" && (fwd.Count > 0 || ip != null || gateway != null || dns != null))
            throw new UkpackException("--net none: -p, --ip, --gateway and --dns need a network");
        if (mode == "tap" && fwd.Count > 0) throw new UkpackException("-p forwards ports of QEMU's user network; with --net tap the guest is reachable at its own address");
        if (ip != null)
        {
            var p = ip.Split('/');
            if (p.Length > 2 || !IsV4(p[0]) || p.Length == 2 && !(int.TryParse(p[1], out int n) && n is >= 0 and <= 32))
                throw new UkpackException($"--ip {ip}: expected A.B.C.D[/PREFIX]");
            if (p.Length == 1) ip += "/24";
        }
        if (gateway != null && !IsV4(gateway)) throw new UkpackException($"--gateway {gateway}: expected A.B.C.D");
        if (dns != null && !IsV4(dns)) throw new UkpackException($"--dns {dns}: expected A.B.C.D");
        if ((gateway != null || dns != null) && ip == null) throw new UkpackException("--gateway and --dns go with --ip (without it the address comes from DHCP)");
        return new NetSpec(mode, tap, ip, gateway, dns, fwd);
    }

    /// <summary>A static IPv6 address (beside SLAAC) and default router: `--ip6 ADDR[/PREFIX]`, `--gateway6 ADDR`.</summary>
    public string? Ip6 { get; init; }
    public string? Gateway6 { get; init; }

    public NetSpec WithIp6(string? ip6, string? gateway6)
    {
        if (ip6 == null && gateway6 == null) return this;
        if (Mode == "none") throw new UkpackException("--ip6 and --gateway6 need a network (--net user or --net tap=NAME)");
        if (ip6 != null)
        {
            var p = ip6.Split('/');
            if (p.Length > 2 || !IsV6(p[0]) || p.Length == 2 && !(int.TryParse(p[1], out int n) && n is >= 1 and <= 128))
                throw new UkpackException($"--ip6 {ip6}: expected an IPv6 address[/PREFIX]");
            if (p.Length == 1) ip6 += "/64";
        }
        if (gateway6 != null && !IsV6(gateway6)) throw new UkpackException($"--gateway6 {gateway6}: expected an IPv6 address");
        return this with { Ip6 = ip6, Gateway6 = gateway6 };
    }

    static bool IsV6(string s) => IPAddress.TryParse(s, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !s.Contains('%');

    static bool IsV4(string s) => s.Split('.').Length == 4 && IPAddress.TryParse(s, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;

    /// <summary>Kernel command line words: the static address when given (DHCP otherwise).</summary>
    public string KernelArgs()
    {
        if (Mode == "none") return "";
        var s = "";
        if (Ip != null) s += $" net.ip={Ip}";
        if (Gateway != null) s += $" net.gw={Gateway}";
        if (Dns != null) s += $" net.dns={Dns}";
        if (Ip6 != null) s += $" net.ip6={Ip6}";
        if (Gateway6 != null) s += $" net.gw6={Gateway6}";
        return s;
    }

    /// <summary>QEMU arguments: the netdev and a virtio-net on the machine's transport
    /// (virtio-mmio on microvm, modern-only virtio-pci on pc and q35).</summary>
    public List<string> QemuArgs(string machine, bool mmioGlobalSet)
    {
        var a = new List<string>();
        if (Mode == "none") return a;
        string netdev = Mode == "tap"
            ? $"tap,id=n0,ifname={Tap},script=no,downscript=no"
            : "user,id=n0" + string.Concat(Ports.Select(p => ",hostfwd=" + p.HostFwd));
        a.AddRange(["-netdev", netdev]);
        bool mmio = machine.StartsWith("microvm", StringComparison.Ordinal);
        if (mmio && !mmioGlobalSet) a.AddRange(["-global", "virtio-mmio.force-legacy=false"]);
        a.AddRange(["-device", mmio ? "virtio-net-device,netdev=n0" : "virtio-net-pci,disable-legacy=on,netdev=n0"]);
        return a;
    }
}
