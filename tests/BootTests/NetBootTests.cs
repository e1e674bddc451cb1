using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BootTests;

/// <summary>
/// The TCP/IP stack end to end through `ukpack run -p` on QEMU's user network: a guest
/// HTTP server answering the host (a 1 MiB body byte-exact, a few thousand keep-alive
/// requests), a guest client reaching a server on the host's loopback through 10.0.2.2,
/// a UDP echo, and name lookups. Every host port is on 127.0.0.1 and every guest is
/// stopped by its own request or killed by its process id.
/// </summary>
public class NetBootTests
{
    /// <summary>httpd PORT: HTTP/1.1 with keep-alive over poll(); /big is 1 MiB, /quit ends it.</summary>
    public const string HttpdC = """
        #include <netinet/in.h>
        #include <poll.h>
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/socket.h>
        #include <unistd.h>
        #define BIG (1 << 20)
        static char big[BIG];
        struct conn { int fd; int len; char req[4096]; } cs[16];
        static int send_all(int fd, const char *p, long n) {
            while (n > 0) { long w = write(fd, p, n); if (w <= 0) return -1; p += w; n -= w; }
            return 0;
        }
        int main(int argc, char **argv) {
            signal(SIGPIPE, SIG_IGN);
            for (int i = 0; i < BIG; i++) big[i] = (char)(i * 7 + i / 1000);
            int l = socket(AF_INET6, SOCK_STREAM, 0), one = 1;
            setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[1])) };
            if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 64)) { perror("listen"); return 1; }
            printf("listening\n"); fflush(stdout);
            long served = 0;
            for (int i = 0; i < 16; i++) cs[i].fd = -1;
            for (;;) {
                struct pollfd p[17]; int n = 0;
                p[n].fd = l; p[n].events = POLLIN; n++;
                for (int i = 0; i < 16; i++) if (cs[i].fd >= 0) { p[n].fd = cs[i].fd; p[n].events = POLLIN; n++; }
                if (poll(p, n, -1) < 0) { perror("poll"); return 1; }
                if (p[0].revents & POLLIN) {
                    int c = accept(l, NULL, NULL);
                    int k = 0; while (k < 16 && cs[k].fd >= 0) k++;
                    if (c >= 0 && k < 16) { cs[k].fd = c; cs[k].len = 0; setsockopt(c, IPPROTO_TCP, 1, &one, sizeof one); } else if (c >= 0) close(c);
                }
                for (int j = 1; j < n; j++) {
                    if (!p[j].revents) continue;
                    struct conn *c = 0; for (int i = 0; i < 16; i++) if (cs[i].fd == p[j].fd) c = &cs[i];
                    long r = read(c->fd, c->req + c->len, sizeof c->req - 1 - c->len);
                    if (r <= 0) { close(c->fd); c->fd = -1; continue; }
                    c->len += r; c->req[c->len] = 0;
                    char *end;
                    while ((end = strstr(c->req, "\r\n\r\n"))) {
                        char path[256] = ""; sscanf(c->req, "GET %255s", path);
                        char hdr[256]; const char *body; long blen; char small[64];
                        if (!strcmp(path, "/big")) { body = big; blen = BIG; }
                        else { blen = snprintf(small, sizeof small, "hello %ld %s\n", served, path); body = small; }
                        int quit = !strcmp(path, "/quit");
                        int hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\nContent-Type: text/plain\r\n%s\r\n", blen, quit ? "Connection: close\r\n" : "");
                        if (send_all(c->fd, hdr, hl) || send_all(c->fd, body, blen)) { close(c->fd); c->fd = -1; break; }
                        served++;
                        if (quit) {
                            /* An orderly close: the client has the whole answer before the VM powers off. */
                            shutdown(c->fd, SHUT_WR);
                            struct pollfd q = { c->fd, POLLIN, 0 };
                            while (poll(&q, 1, 10000) > 0 && read(c->fd, hdr, sizeof hdr) > 0) {}
                            printf("served %ld\n", served);
                            return 0;
                        }
                        int used = end + 4 - c->req;
                        memmove(c->req, end + 4, c->len - used + 1); c->len -= used;
                    }
                }
            }
        }
        """;

    /// <summary>netclient HOST PORT: sends a line to a TCP server and prints the answer;
    /// names: resolves localhost; cat FILE: prints a file; udpecho: a UDP echo server on port 7 until "quit"; churn N:
    /// N loopback connections, kernel memory before and after.</summary>
    public const string NetClientC = """
        #include <arpa/inet.h>
        #include <netdb.h>
        #include <stdlib.h>
        #include <netinet/in.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/socket.h>
        #include <unistd.h>
        static long in_use_kib(void) {
            usleep(20000);                 /* an idle moment: the kernel may collect */
            FILE *f = fopen("/proc/meminfo", "r");
            char line[128]; long total = -1, free_ = -1, v;
            while (f && fgets(line, sizeof line, f)) {
                if (sscanf(line, "MemTotal: %ld kB", &v) == 1) total = v;
                if (sscanf(line, "MemFree: %ld kB", &v) == 1) free_ = v;
            }
            if (f) fclose(f);
            return total - free_;
        }
        int main(int argc, char **argv) {
            if (!strcmp(argv[1], "tcp")) {
                int c = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
                inet_pton(AF_INET, argv[2], &a.sin_addr);
                if (connect(c, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
                write(c, "ping from the guest\n", 20);
                shutdown(c, SHUT_WR);
                char buf[256]; long n, total = 0;
                while ((n = read(c, buf + total, sizeof buf - 1 - total)) > 0) total += n;
                buf[total] = 0;
                printf("got: %s", buf);
                return 0;
            }
            if (!strcmp(argv[1], "hold")) {
                /* connects, writes, and exits with the connection open: the kernel closes it */
                int c = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
                inet_pton(AF_INET, argv[2], &a.sin_addr);
                if (connect(c, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
                write(c, "bye from a program that never closes\n", 37);
                printf("exiting\n");
                return 0;
            }
            if (!strcmp(argv[1], "sink")) {
                /* accepts one connection on PORT, reads to its end checking the pattern
                 * byte i == i * 7 + i / 1000 and answers (and prints) what it found */
                int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
                setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
                if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4)) { perror("listen"); return 1; }
                printf("listening\n"); fflush(stdout);
                int c = accept(l, NULL, NULL);
                static char buf[65536]; long n, total = 0, bad = -1;
                while ((n = read(c, buf, sizeof buf)) > 0) {
                    for (long k = 0; k < n; k++, total++)
                        if (bad < 0 && buf[k] != (char)(total * 7 + total / 1000)) bad = total;
                }
                char msg[128];
                int m = snprintf(msg, sizeof msg, "received %ld bytes, first difference at %ld\n", total, bad);
                write(c, msg, m); close(c);
                printf("%s", msg);
                return 0;
            }
            if (!strcmp(argv[1], "names")) {
                struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
                int e = getaddrinfo("localhost", "http", &hints, &res);
                if (e) { printf("getaddrinfo: %s\n", gai_strerror(e)); return 1; }
                struct sockaddr_in *s = (struct sockaddr_in *)res->ai_addr;
                printf("localhost: %s port %d\n", inet_ntoa(s->sin_addr), ntohs(s->sin_port));
                char host[64];
                gethostname(host, sizeof host);
                printf("hostname: %s\n", host);
                return 0;
            }
            if (!strcmp(argv[1], "cat")) {
                char buf[4096]; FILE *f = fopen(argv[2], "r");
                if (!f) { perror(argv[2]); return 1; }
                size_t n = fread(buf, 1, sizeof buf, f);
                fwrite(buf, 1, n, stdout);
                return 0;
            }
            if (!strcmp(argv[1], "udpecho")) {
                int u = socket(AF_INET, SOCK_DGRAM, 0);
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7) };
                if (bind(u, (struct sockaddr *)&a, sizeof a)) { perror("bind"); return 1; }
                printf("listening\n"); fflush(stdout);
                /* echoes until "quit": the host resends what a slow echo has not yet
                 * answered, so the count of datagrams is not known in advance */
                for (int echoed = 0;; echoed++) {
                    char buf[2048]; struct sockaddr_in from; socklen_t fl = sizeof from;
                    long n = recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
                    if (n < 0) { perror("recvfrom"); return 1; }
                    if (n == 4 && !memcmp(buf, "quit", 4)) { printf("echoed %d\n", echoed >= 3 ? 3 : echoed); break; }
                    for (long k = 0; k < n; k++) if (buf[k] >= 'a' && buf[k] <= 'z') buf[k] -= 32;
                    sendto(u, buf, n, 0, (struct sockaddr *)&from, fl);
                }
                return 0;
            }
            if (!strcmp(argv[1], "churn")) {
                /* TCP connections over the loopback, each carrying a request and an answer, the
                 * client closing with SO_LINGER 0 (a RST: no TIME_WAIT left behind); kernel
                 * memory in use is read after a warm-up and after the run. */
                long n = atol(argv[2]);
                int l = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                socklen_t al = sizeof a;
                if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16) || getsockname(l, (struct sockaddr *)&a, &al)) { perror("listen"); return 1; }
                long before = 0;
                for (long i = 0; i < n + 100; i++) {
                    if (i == 100) before = in_use_kib();
                    int c = socket(AF_INET, SOCK_STREAM, 0);
                    if (connect(c, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
                    int s = accept(l, NULL, NULL);
                    char buf[600]; memset(buf, 'x', sizeof buf);
                    if (write(c, buf, 512) != 512 || read(s, buf, sizeof buf) != 512 || write(s, buf, 100) != 100 || read(c, buf, sizeof buf) != 100) { perror("io"); return 1; }
                    struct linger lg = { 1, 0 };
                    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                    close(c); close(s);
                }
                long after = in_use_kib();
                printf("tcp churn %ld: growth %s\n", n, after - before <= 1024 ? "within 1 MiB" : "too much");
                fprintf(stderr, "tcp churn: %ld -> %ld KiB\n", before, after);
                return 0;
            }
            return 2;
        }
        """;

    static readonly Lazy<string> _httpd = new(() => Image("httpd", HttpdC));
    static readonly Lazy<string> _client = new(() => Image("netclient", NetClientC));

    static string Image(string name, string source)
    {
        var exe = Programs.Compile(name, source);
        var img = Path.Combine(Repo.TempDir(), name + ".img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    }

    internal static int FreePort(bool udp = false)
    {
        if (udp)
        {
            using var u = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            return ((IPEndPoint)u.Client.LocalEndPoint!).Port;
        }
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    /// <summary>A guest started with `ukpack run` in the background: its stdout lines as they
    /// come, killed by its process id when the test is done with it.</summary>
    internal sealed class Guest : IDisposable
    {
        readonly Process _p;
        readonly StringBuilder _out = new(), _err = new();
        readonly SemaphoreSlim _line = new(0);

        public Guest(string image, params string[] extra)
        {
            var psi = new ProcessStartInfo(Repo.Ukpack) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var a in new[] { "run", image, "--timeout", "120" }.Concat(extra)) psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            _p.OutputDataReceived += (_, e) => { if (e.Data != null) { lock (_out) _out.Append(e.Data).Append('\n'); _line.Release(); } };
            _p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_err) _err.Append(e.Data).Append('\n'); };
            _p.BeginOutputReadLine(); _p.BeginErrorReadLine();
        }

        public string Out { get { lock (_out) return _out.ToString(); } }
        public string Err { get { lock (_err) return _err.ToString(); } }
        public override string ToString() => $"guest stdout: [{Out}]\nstderr: [{Err}]";

        public void WaitFor(string text, int seconds = 60)
        {
            var until = DateTime.UtcNow.AddSeconds(seconds);
            while (!Out.Contains(text))
            {
                if (_p.HasExited) { _p.WaitForExit(); throw new Exception($"the guest exited ({_p.ExitCode}) before printing {text}\n{this}"); }
                if (DateTime.UtcNow > until) throw new TimeoutException($"no {text} from the guest\n{this}");
                _line.Wait(200);
            }
        }

        public bool HasExited => _p.HasExited;
        public bool WaitForExit(int ms) => _p.WaitForExit(ms);
        public int Exit(int seconds = 60)
        {
            if (!_p.WaitForExit(seconds * 1000)) throw new TimeoutException("the guest did not exit\n" + this);
            _p.WaitForExit();
            return _p.ExitCode;
        }

        public void Dispose()
        {
            try { if (!_p.HasExited) { _p.Kill(true); _p.WaitForExit(10000); } } catch { }
            _p.Dispose();
        }
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void GuestHttpServerAnswersTheHost(string machine)
    {
        int port = FreePort();
        using var g = new Guest(_httpd.Value, "-v", "-M", machine, "-p", $"{port}:8080", "--", "8080");
        g.WaitFor("listening");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        byte[] big;
        try { big = http.GetByteArrayAsync("/big").GetAwaiter().GetResult(); }
        catch (HttpRequestException e) { throw new Exception($"GET /big on port {port}: {e.Message}\n{g}"); }
        var expected = new byte[1 << 20];
        for (int i = 0; i < expected.Length; i++) expected[i] = (byte)(i * 7 + i / 1000);
        big.Should().Equal(expected, g.ToString());
        // Keep-alive requests on one connection, each answered in order.
        int n = machine == "microvm" ? 2000 : 300;
        for (int i = 0; i < n; i++)
        {
            string s;
            try { s = http.GetStringAsync($"/r{i}").GetAwaiter().GetResult(); }
            catch (HttpRequestException e) { Thread.Sleep(1000); throw new Exception($"GET /r{i}: {e.Message}\n{g}"); }
            s.Should().EndWith($" /r{i}\n", g.ToString());
        }
        http.GetStringAsync("/quit").GetAwaiter().GetResult().Should().EndWith(" /quit\n");
        g.Exit().Should().Be(0, g.ToString());
        g.Out.Should().Contain($"served {n + 2}\n", g.ToString());
    }

    [Fact]
    public void GuestClientReachesTheHostLoopbackThrough10_0_2_2()
    {
        using var host = new HostHeardServer(IPAddress.Loopback);
        var r = Ukpack.Boot(_client.Value, null, "--net", "user", "--", "tcp", "10.0.2.2", host.Port.ToString());
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("got: host heard: ping from the guest\n", r.ToString());
        host.Served.Wait(TimeSpan.FromSeconds(10)).Should().BeTrue();
    }

    /// <summary>The program exits with a TCP connection open: the kernel closes it as
    /// Linux's exit would (FIN after the data), and waits for the acknowledgement before
    /// the VM powers off; the host peer reads the data and then the end of the stream.</summary>
    [Fact]
    public void ProgramExitWithAConnectionOpenSendsFin()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        var server = Task.Run(() =>
        {
            using var c = l.AcceptTcpClient();
            c.ReceiveTimeout = 60000;
            var s = c.GetStream();
            var got = new MemoryStream();
            var buf = new byte[256];
            try
            {
                int k;
                while ((k = s.Read(buf)) > 0) got.Write(buf, 0, k);
                return "eof after: " + Encoding.ASCII.GetString(got.ToArray());
            }
            catch (IOException e) { return $"{e.Message} after: {Encoding.ASCII.GetString(got.ToArray())}"; }
        });
        try
        {
            var r = Ukpack.Boot(_client.Value, null, "-v", "--net", "user", "--", "hold", "10.0.2.2", port.ToString());
            r.Code.Should().Be(0, r.ToString());
            r.OutText.Should().Be("exiting\n", r.ToString());
            r.ErrText.Should().Contain("net: closed 1 TCP socket(s) at exit; all acknowledged", r.ToString());
            server.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue();
            server.Result.Should().Be("eof after: bye from a program that never closes\n");
        }
        finally { l.Stop(); }
    }

    [Fact]
    public void UdpEchoFromTheHost()
    {
        int port = FreePort(udp: true);
        using var g = new Guest(_client.Value, "-p", $"{port}:7/udp", "--", "udpecho");
        g.WaitFor("listening");
        using var u = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        u.Client.ReceiveTimeout = 2000;
        var words = new[] { "one", "two datagrams", "and three" };
        var to = new IPEndPoint(IPAddress.Loopback, port);
        int answered = 0;
        for (int attempt = 0; answered < 3 && attempt < 60; attempt++)
        {
            // UDP may be lost before the forward is up, and an echo may come after the
            // receive timeout: resend until each is echoed, skipping stale echoes.
            var msg = Encoding.ASCII.GetBytes(words[answered]);
            u.Send(msg, msg.Length, to);
            try
            {
                IPEndPoint? from = null;
                string back = Encoding.ASCII.GetString(u.Receive(ref from));
                while (back != words[answered].ToUpperInvariant())
                {
                    words[..answered].Select(w => w.ToUpperInvariant()).Should().Contain(back, "only stale echoes differ");
                    back = Encoding.ASCII.GetString(u.Receive(ref from));
                }
                answered++;
            }
            catch (SocketException) { }
        }
        answered.Should().Be(3, g.ToString());
        for (int i = 0; i < 60 && !g.HasExited; i++)
        {
            u.Send("quit"u8.ToArray(), 4, to);
            g.WaitForExit(1000);
        }
        g.Exit().Should().Be(0, g.ToString());
        g.Out.Should().Contain("echoed 3\n");
    }

    [Fact]
    public void LocalhostResolvesFromTheSuppliedHostsFile()
    {
        var r = Ukpack.Boot(_client.Value, null, "--", "names");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("localhost: 127.0.0.1 port 80\nhostname: ukvm\n", r.ToString());
    }

    /// <summary>The kernel writes the network's DNS servers into the resolv.conf ukpack
    /// supplies (a static --dns here; DHCP's in DhcpTests), and leaves an image's own alone.</summary>
    [Fact]
    public void ResolvConfNamesTheNetworksDnsServers()
    {
        const string marker = "# ukpack: DNS servers from the network (DHCP or --dns), written by the kernel at boot\n";
        var r = Ukpack.Boot(_client.Value, null, "--ip", "10.0.2.15/24", "--gateway", "10.0.2.2", "--dns", "10.0.2.2", "--", "cat", "/etc/resolv.conf");
        r.Code.Should().Be(0, r.ToString());
        // QEMU's router advertisement may add its RDNSS server (fec0::3) after ours.
        r.OutText.Should().MatchRegex("^" + System.Text.RegularExpressions.Regex.Escape(marker + "nameserver 10.0.2.2\n") + "(nameserver fec0::3\n)?$", r.ToString());

        var fs = Repo.TempDir();
        Directory.CreateDirectory(Path.Combine(fs, "etc"));
        File.WriteAllText(Path.Combine(fs, "etc/resolv.conf"), "nameserver 192.0.2.53\n");
        var img = Path.Combine(Repo.TempDir(), "ownresolv.img");
        var b = Ukpack.Run(["build", Programs.Compile("netclient", NetClientC), "--fs", fs, "-o", img]);
        b.Code.Should().Be(0, b.ToString());
        r = Ukpack.Boot(img, null, "--ip", "10.0.2.15/24", "--gateway", "10.0.2.2", "--dns", "10.0.2.2", "--", "cat", "/etc/resolv.conf");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("nameserver 192.0.2.53\n", r.ToString());
    }

    [Fact]
    public void TcpConnectionChurnLeavesKernelMemoryFlat()
    {
        // Each connection allocates its send and receive rings (about 200 KiB); 2,000 of them
        // must leave kernel memory within 1 MiB of where it was after the warm-up.
        var r = Ukpack.Boot(_client.Value, null, "--", "churn", "2000");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("tcp churn 2000: growth within 1 MiB\n", r.ToString());
    }

    [Fact]
    public void BadNetOptionsGetOneErrorLine()
    {
        Ukpack.OneErrorLine(Ukpack.Run(["run", _client.Value, "-p", "80"]), "a port without a guest port");
        Ukpack.OneErrorLine(Ukpack.Run(["run", _client.Value, "-p", "70000:80"]), "a port out of range");
        Ukpack.OneErrorLine(Ukpack.Run(["run", _client.Value, "--net", "none", "-p", "8080:80"]), "-p without a network");
        Ukpack.OneErrorLine(Ukpack.Run(["run", _client.Value, "--net", "bridge"]), "an unknown network");
        Ukpack.OneErrorLine(Ukpack.Run(["run", _client.Value, "--ip", "10.0.0"]), "a bad address");
    }

    /// <summary>Runs `ip ARGS` on the host (the tap test's set-up); throws with its output on failure.</summary>
    internal static void Ip(string args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args.Split(' ')) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string o = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new Exception($"ip {args}: {o} (this test needs root and /dev/net/tun, as CI has)");
    }

    internal static bool TapAvailable(out string why)
    {
        why = "";
        if (!File.Exists("/dev/net/tun")) { why = "no /dev/net/tun"; return false; }
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith("CapEff:") && (Convert.ToUInt64(l[7..].Trim(), 16) & (1UL << 12)) == 0) { why = "no CAP_NET_ADMIN"; return false; }
        return true;
    }

    /// <summary>
    /// QEMU's user network offers no checksum offload (its peer takes no virtio-net header),
    /// a tap device does: a guest on a tap of its own negotiates MRG_RXBUF, CSUM and
    /// GUEST_CSUM (shown at --log 3), sends 1 MiB to the host and receives 4 MiB from it,
    /// both byte-exact (the host sends partial checksums, NEEDS_CSUM, and takes ours).
    /// </summary>
    [Fact]
    public void OffloadsOverATapDeviceByteExactBothWays()
    {
        // A tap device needs /dev/net/tun and CAP_NET_ADMIN, which no package can install: on a
        // machine without them (a container with Docker's default capabilities) this test
        // says so on the console and ends; this machine and CI have both.
        if (!TapAvailable(out string why)) { Console.WriteLine($"OffloadsOverATapDeviceByteExactBothWays: not run: {why}"); return; }
        int pid = Environment.ProcessId;
        string tap = $"ukt{pid % 100000}", net = $"10.{100 + pid % 150}.{pid / 150 % 250}";
        Ip($"tuntap add dev {tap} mode tap");
        try
        {
            Ip($"addr add {net}.1/24 dev {tap}");
            Ip($"link set {tap} up");
            using (var g = new Guest(_httpd.Value, "-v", "--log", "3", "--net", $"tap={tap}", "--ip", $"{net}.2/24", "--", "8080"))
            {
                g.WaitFor("listening");
                g.Err.Should().Contain("negotiated MRG_RXBUF CSUM GUEST_CSUM", g.ToString());
                using var http = new HttpClient { BaseAddress = new Uri($"http://{net}.2:8080"), Timeout = TimeSpan.FromSeconds(60) };
                byte[] big;
                try { big = http.GetByteArrayAsync("/big").GetAwaiter().GetResult(); }
                catch (HttpRequestException e) { throw new Exception($"GET /big: {e.Message}\n{g}"); }
                var expected = new byte[1 << 20];
                for (int i = 0; i < expected.Length; i++) expected[i] = (byte)(i * 7 + i / 1000);
                big.Should().Equal(expected, g.ToString());
                http.GetStringAsync("/quit").GetAwaiter().GetResult().Should().EndWith(" /quit\n");
                g.Exit().Should().Be(0, g.ToString());
            }
            using (var g = new Guest(_client.Value, "--net", $"tap={tap}", "--ip", $"{net}.2/24", "--", "sink", "9000"))
            {
                g.WaitFor("listening");
                const int Size = 4 << 20;
                var data = new byte[Size];
                for (int i = 0; i < Size; i++) data[i] = (byte)(i * 7 + i / 1000);
                using var c = new TcpClient();
                c.Connect(IPAddress.Parse($"{net}.2"), 9000);
                var s = c.GetStream();
                s.Write(data);
                c.Client.Shutdown(SocketShutdown.Send);
                using var r = new StreamReader(s);
                r.ReadToEnd().Should().Be($"received {Size} bytes, first difference at -1\n", g.ToString());
                g.Exit().Should().Be(0, g.ToString());
            }
        }
        finally { try { Ip($"link del {tap}"); } catch { } }
    }
}

/// <summary>A one-connection TCP server on the host at `address` for guest clients: it
/// reads until the guest half-closes, answers "host heard: " and what it read, and gives
/// the peer's address. Stopped when disposed.</summary>
internal sealed class HostHeardServer : IDisposable
{
    readonly TcpListener _listener;
    public int Port { get; }
    public Task<string> Served { get; }

    public HostHeardServer(IPAddress address)
    {
        _listener = new TcpListener(address, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Served = Task.Run(() =>
        {
            using var c = _listener.AcceptTcpClient();
            string from = ((IPEndPoint)c.Client.RemoteEndPoint!).Address.ToString();
            var s = c.GetStream();
            var buf = new byte[256]; int total = 0, k;
            while ((k = s.Read(buf, total, buf.Length - total)) > 0) total += k;
            s.Write(Encoding.ASCII.GetBytes("host heard: " + Encoding.ASCII.GetString(buf, 0, total)));
            return from;
        });
    }

    public void Dispose() => _listener.Stop();
}
