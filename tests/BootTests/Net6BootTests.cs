using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BootTests;

/// <summary>
/// IPv6 on the wire end to end: over QEMU's user network (slirp advertises fec0::/64 with
/// the router fec0::2, which is also the host's ::1 seen from the guest) a guest client
/// reaches TCP and UDP servers on the host's ::1 from its SLAAC address; over a tap device
/// the host reaches a guest server at the guest's link-local address. QEMU 7.2 (Debian 12)
/// refuses an IPv6 host forward (`hostfwd=tcp:[::1]:P-:P` is "Bad host address"), so the
/// user network cannot carry a connection from the host to the guest over IPv6.
/// </summary>
public class Net6BootTests
{
    /// <summary>net6 client HOST PORT | udp HOST PORT | server PORT | dad. The client retries
    /// while connect says EADDRNOTAVAIL: the guest's addresses are tentative for about a
    /// second after boot (duplicate address detection), as on Linux.</summary>
    public const string Net6C = """
        #include <arpa/inet.h>
        #include <netinet/in.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <errno.h>
        #include <sys/socket.h>
        #include <unistd.h>
        static void show(const char *what, struct sockaddr_in6 *a) {
            char t[64]; inet_ntop(AF_INET6, &a->sin6_addr, t, sizeof t);
            printf("%s [%s] scope %s\n", what, t, a->sin6_scope_id ? "set" : "0");
        }
        static struct sockaddr_in6 addr(const char *host, const char *port) {
            struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(atoi(port)) };
            inet_pton(AF_INET6, host, &a.sin6_addr);
            return a;
        }
        /* Waits until eth0 has two addresses (link-local and SLAAC) and none is tentative
           (IFA_F_TENTATIVE: duplicate address detection still runs), as a program on Linux
           must; returns them with their flags as /proc/net/if_inet6 shows them. */
        static const char *wait_dad(void) {
            static char out[512];
            char line[256], a[64], name[32];
            unsigned idx, plen, scope, flags;
            for (int i = 0; i < 400; i++) {
                FILE *f = fopen("/proc/net/if_inet6", "r");
                int n = 0, tentative = 0;
                out[0] = 0;
                while (f && fgets(line, sizeof line, f))
                    if (sscanf(line, "%63s %x %x %x %x %31s", a, &idx, &plen, &scope, &flags, name) == 6 && !strcmp(name, "eth0")) {
                        n++; tentative += (flags & 0x40) != 0;
                        snprintf(out + strlen(out), sizeof out - strlen(out), "%s/%u flags %02x\n", a, plen, flags);
                    }
                if (f) fclose(f);
                if (n >= 2 && !tentative) break;
                usleep(25000);
            }
            return out;
        }
        int main(int argc, char **argv) {
            if (!strcmp(argv[1], "client") || !strcmp(argv[1], "udp")) wait_dad();
            if (!strcmp(argv[1], "client")) {
                struct sockaddr_in6 a = addr(argv[2], argv[3]);
                int c;
                for (int i = 0; ; i++) {
                    c = socket(AF_INET6, SOCK_STREAM, 0);
                    if (!connect(c, (struct sockaddr *)&a, sizeof a)) break;
                    if (errno != EADDRNOTAVAIL || i == 400) { perror("connect"); return 1; }
                    close(c);
                    usleep(25000);
                }
                struct sockaddr_in6 me; socklen_t ml = sizeof me;
                getsockname(c, (struct sockaddr *)&me, &ml); show("local", &me);
                write(c, "ping6 from the guest\n", 21);
                shutdown(c, SHUT_WR);
                char buf[256]; long n, total = 0;
                while ((n = read(c, buf + total, sizeof buf - 1 - total)) > 0) total += n;
                buf[total] = 0;
                printf("got: %s", buf);
                return 0;
            }
            if (!strcmp(argv[1], "udp")) {
                int u = socket(AF_INET6, SOCK_DGRAM, 0);
                struct sockaddr_in6 a = addr(argv[2], argv[3]);
                struct timeval tv = { 1, 0 };
                setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
                for (int i = 0; i < 20; i++) {
                    sendto(u, "datagram six", 12, 0, (struct sockaddr *)&a, sizeof a);
                    char buf[256]; struct sockaddr_in6 from; socklen_t fl = sizeof from;
                    long n = recvfrom(u, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
                    if (n < 0) continue;
                    buf[n] = 0;
                    show("from", &from);
                    printf("got: %s\n", buf);
                    return 0;
                }
                printf("no answer\n");
                return 1;
            }
            if (!strcmp(argv[1], "server")) {
                int l = socket(AF_INET6, SOCK_STREAM, 0), one = 1;
                setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                struct sockaddr_in6 a = addr("::", argv[2]);
                if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4)) { perror("listen"); return 1; }
                printf("listening\n"); fflush(stdout);
                struct sockaddr_in6 p; socklen_t pl = sizeof p;
                int c = accept(l, (struct sockaddr *)&p, &pl);
                show("peer", &p);
                struct sockaddr_in6 me; socklen_t ml = sizeof me;
                getsockname(c, (struct sockaddr *)&me, &ml); show("local", &me);
                char buf[256]; long n = read(c, buf, sizeof buf);
                write(c, "guest heard: ", 13); write(c, buf, n > 0 ? n : 0);
                close(c);
                return 0;
            }
            if (!strcmp(argv[1], "dad")) {
                printf("%s", wait_dad());
                return 0;
            }
            return 2;
        }
        """;

    static readonly Lazy<string> _net6 = new(() =>
    {
        var exe = Programs.Compile("net6", Net6C);
        var img = Path.Combine(Repo.TempDir(), "net6.img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    /// <summary>QEMU's default MAC 52:54:00:12:34:56 as a modified EUI-64 interface id.</summary>
    const string Iid = "5054:ff:fe12:3456";

    /// <summary>Duplicate address detection and MLD on the wire: QEMU's filter-dump records
    /// every frame of the guest's network (through a --qemu wrapper that adds it); the guest
    /// waits until /proc/net/if_inet6 shows its link-local and SLAAC addresses usable. The
    /// capture holds, for each, a neighbour solicitation from :: to its solicited-node group
    /// with no link-layer option, and an MLDv2 report (hop-by-hop Router Alert, hop limit 1,
    /// to ff02::16) joining the solicited-node group; the first router solicitation comes
    /// from :: at once.</summary>
    [Fact]
    public void DuplicateAddressDetectionProbesAndMldReportsOnTheWire()
    {
        string dir = Repo.TempDir(), pcap = Path.Combine(dir, "eth0.pcap"), wrapper = Path.Combine(dir, "qemu-dump");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec '{Qemu.Exe}' \"$@\" -object filter-dump,id=dump0,netdev=n0,file='{pcap}'\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var r = Ukpack.Boot(_net6.Value, null, "--net", "user", "--qemu", wrapper, "--", "dad");
        r.Code.Should().Be(0, r.ToString());
        // The link-local address permanent (0x80), the SLAAC one dynamic (0), neither tentative now.
        r.OutText.Should().Be("fe80000000000000505400fffe123456/64 flags 80\nfec0000000000000505400fffe123456/64 flags 00\n", r.ToString());
        var frames = Pcap(pcap);
        string ll = $"fe80::{Iid}", global = $"fec0::{Iid}", group = "ff02::1:ff12:3456";
        // IPv6 frames from the guest's MAC: (source, destination, ICMPv6 type, the message).
        // Target: a solicitation's target, or an MLDv2 report's first record's group.
        var sent = new List<(string Src, string Dst, int Type, int Len, int Hops, string Target, int Record)>();
        foreach (var f in frames)
        {
            if (f.Length < 62 || f[12] != 0x86 || f[13] != 0xdd || f[6] != 0x52 || f[7] != 0x54 || f[11] != 0x56) continue;
            int nh = f[20], at = 54;
            if (nh == 0) { nh = f[54]; at = 54 + (f[55] + 1) * 8; }
            if (nh != 58 || at >= f.Length) continue;
            byte[] m = f[at..];
            string target = m.Length >= 24 && m[0] == 135 ? new IPAddress(m[8..24]).ToString() : m.Length >= 28 && m[0] == 143 ? new IPAddress(m[12..28]).ToString() : "";
            sent.Add((new IPAddress(f[22..38]).ToString(), new IPAddress(f[38..54]).ToString(), m[0], m.Length, f[21], target, m.Length >= 28 ? m[8] : -1));
        }
        string Summary() => string.Join("\n", sent.Select(x => $"{x.Src} -> {x.Dst} type {x.Type}"));
        foreach (var target in new[] { ll, global })
            sent.Should().Contain(x => x.Type == 135 && x.Src == "::" && x.Dst == group && x.Hops == 255 && x.Len == 24 && x.Target == target,
                "a DAD probe for {0}:\n{1}", target, Summary());
        // CHANGE_TO_EXCLUDE_MODE (4) with no sources: a join of the solicited-node group.
        sent.Should().Contain(x => x.Type == 143 && x.Dst == "ff02::16" && x.Hops == 1 && x.Len == 28 && x.Record == 4 && x.Target == group, Summary());
        sent.First(x => x.Type == 133).Src.Should().Be("::", Summary());
    }

    /// <summary>The frames of a pcap file (the classic format QEMU's filter-dump writes).</summary>
    static List<byte[]> Pcap(string path)
    {
        var b = File.ReadAllBytes(path);
        var frames = new List<byte[]>();
        for (int at = 24; at + 16 <= b.Length;)
        {
            int len = BitConverter.ToInt32(b, at + 8);
            if (at + 16 + len > b.Length) break;
            frames.Add(b[(at + 16)..(at + 16 + len)]);
            at += 16 + len;
        }
        return frames;
    }

    [Fact]
    public void GuestClientReachesTheHostLoopbackOverIpv6()
    {
        using var host = new HostHeardServer(IPAddress.IPv6Loopback);
        var r = Ukpack.Boot(_net6.Value, null, "--net", "user", "--", "client", "fec0::2", host.Port.ToString());
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be($"local [fec0::{Iid}] scope 0\ngot: host heard: ping6 from the guest\n", r.ToString());
        host.Served.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();
        host.Served.Result.Should().Be("::1");        // slirp connects from the host's own loopback
    }

    /// <summary>`--ip6` adds a static address (net.ip6= on the kernel command line), which
    /// source selection prefers to the SLAAC one; bad values get one error line.</summary>
    [Fact]
    public void StaticIpv6AddressFromUkpackRun()
    {
        using (var host = new HostHeardServer(IPAddress.IPv6Loopback))
        {
            var r = Ukpack.Boot(_net6.Value, null, "--net", "user", "--ip6", "fec0::99/64", "--", "client", "fec0::2", host.Port.ToString());
            r.Code.Should().Be(0, r.ToString());
            r.OutText.Should().Be("local [fec0::99] scope 0\ngot: host heard: ping6 from the guest\n", r.ToString());
            host.Served.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();
        }
        Ukpack.OneErrorLine(Ukpack.Run(["run", _net6.Value, "--net", "user", "--ip6", "fec0::1::2"]), "a bad IPv6 address");
        Ukpack.OneErrorLine(Ukpack.Run(["run", _net6.Value, "--ip6", "fec0::99"]), "--ip6 without a network");
        Ukpack.OneErrorLine(Ukpack.Run(["run", _net6.Value, "--net", "user", "--gateway6", "10.0.2.2"]), "an IPv4 gateway6");
    }

    [Fact]
    public void GuestUdpReachesTheHostLoopbackOverIpv6()
    {
        using var u = new UdpClient(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        int port = ((IPEndPoint)u.Client.LocalEndPoint!).Port;
        using var cts = new CancellationTokenSource();
        var echo = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                var d = await u.ReceiveAsync(cts.Token);
                await u.SendAsync(Encoding.ASCII.GetBytes("echo " + Encoding.ASCII.GetString(d.Buffer)), d.RemoteEndPoint, cts.Token);
            }
        });
        try
        {
            var r = Ukpack.Boot(_net6.Value, null, "--net", "user", "--", "udp", "fec0::2", port.ToString());
            r.Code.Should().Be(0, r.ToString());
            r.OutText.Should().Be("from [fec0::2] scope 0\ngot: echo datagram six\n", r.ToString());
        }
        finally { cts.Cancel(); }
    }

    /// <summary>The host connects to a guest server on [::] at the guest's link-local
    /// address through a tap device (the host's tap has its own fe80:: address): neighbour
    /// discovery both ways, and the accepted peer's scope id set.</summary>
    [Fact]
    public void HostReachesAGuestServerAtItsLinkLocalAddressOverATap()
    {
        if (!NetBootTests.TapAvailable(out string why)) { Console.WriteLine($"HostReachesAGuestServerAtItsLinkLocalAddressOverATap: not run: {why}"); return; }
        int pid = Environment.ProcessId;
        string tap = $"ukv{pid % 100000}", net = $"10.{100 + pid % 150}.{pid / 150 % 250}";
        NetBootTests.Ip($"tuntap add dev {tap} mode tap");
        try
        {
            NetBootTests.Ip($"addr add {net}.1/24 dev {tap}");
            NetBootTests.Ip($"link set {tap} up");
            int index = int.Parse(File.ReadAllText($"/sys/class/net/{tap}/ifindex").Trim());
            using var g = new NetBootTests.Guest(_net6.Value, "--net", $"tap={tap}", "--ip", $"{net}.2/24", "--", "server", "8080");
            g.WaitFor("listening");
            var to = new IPEndPoint(IPAddress.Parse($"fe80::{Iid}%{index}"), 8080);
            using var c = new TcpClient(AddressFamily.InterNetworkV6);
            // The host's own link-local address on the tap is usable once its DAD ends (about a second).
            for (int i = 0; ; i++)
            {
                try { c.Connect(to); break; }
                catch (SocketException) when (i < 40) { Thread.Sleep(500); }
            }
            var s = c.GetStream();
            s.Write("ping6 from the host\n"u8);
            c.Client.Shutdown(SocketShutdown.Send);
            using var rd = new StreamReader(s);
            rd.ReadToEnd().Should().Be("guest heard: ping6 from the host\n", g.ToString());
            g.Exit().Should().Be(0, g.ToString());
            g.Out.Should().MatchRegex(@"peer \[fe80::[0-9a-f:]+\] scope set\n", g.ToString());
            g.Out.Should().Contain($"local [fe80::{Iid}] scope set\n", g.ToString());
        }
        finally { try { NetBootTests.Ip($"link del {tap}"); } catch { } }
    }
}
