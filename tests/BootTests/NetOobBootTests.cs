using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BootTests;

/// <summary>
/// TCP urgent data between the host's Linux TCP and the guest through `ukpack run -p`
/// (QEMU's user network carries the urgent pointer both ways): the host sends a byte with
/// MSG_OOB, the guest sees POLLPRI and SIGURG, reads up to the mark (SIOCATMARK) and takes
/// the byte with recv(MSG_OOB); then the guest sends one and the host reads it out of band.
/// </summary>
public class NetOobBootTests
{
    const string OobServerC = """
        #include <fcntl.h>
        #include <netinet/in.h>
        #include <poll.h>
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <sys/socket.h>
        #include <unistd.h>
        static volatile sig_atomic_t urgs;
        static void on_urg(int s) { (void)s; urgs++; }
        int main(int argc, char **argv) {
            struct sigaction sa; memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_urg; sa.sa_flags = SA_RESTART;
            sigaction(SIGURG, &sa, NULL);
            int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
            setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
            if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4)) { perror("listen"); return 1; }
            printf("listening\n"); fflush(stdout);
            int c = accept(l, NULL, NULL);
            if (c < 0) { perror("accept"); return 1; }
            fcntl(c, F_SETOWN, getpid());
            char buf[256]; int len = 0, r;
            while (len < 3) {
                r = read(c, buf + len, 3 - len);
                if (r <= 0) { printf("read: %d\n", r); return 1; }
                len += r;
            }
            printf("got %.3s\n", buf); fflush(stdout);
            struct pollfd p = { c, POLLPRI, 0 };
            if (poll(&p, 1, 100000) != 1) { printf("no POLLPRI\n"); return 1; }
            int m = -1;
            ioctl(c, SIOCATMARK, &m);
            char o = '-';
            r = recv(c, &o, 1, MSG_OOB);
            printf("urgent: %c (%d), at mark %d, SIGURG: %s\n", o, r, m, urgs > 0 ? "yes" : "no"); fflush(stdout);
            send(c, "k", 1, 0);              /* acknowledges the urgent byte (see the test) */
            len = 0;
            while (!memchr(buf, '.', len)) {
                r = read(c, buf + len, sizeof buf - 1 - len);
                if (r <= 0) { printf("read after the mark: %d\n", r); return 1; }
                len += r;
            }
            buf[len] = 0;
            printf("after mark: %s\n", buf); fflush(stdout);
            send(c, "xyz", 3, 0);
            send(c, "#", 1, MSG_OOB);
            send(c, "uvw.", 4, 0);
            while ((r = read(c, buf, sizeof buf)) > 0) { }
            printf("done\n");
            return 0;
        }
        """;

    static readonly Lazy<string> _server = new(() =>
    {
        var exe = Programs.Compile("oobsrv", OobServerC);
        var img = Path.Combine(Repo.TempDir(), "oobsrv.img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    [Fact]
    public void UrgentDataBothWaysWithTheHostsTcp()
    {
        int port = NetBootTests.FreePort();
        using var g = new NetBootTests.Guest(_server.Value, "-p", $"{port}:7000", "--", "7000");
        g.WaitFor("listening");
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 100000 };
        s.Connect(IPAddress.Loopback, port);
        // One step at a time, as QEMU's user network (slirp) needs: it reads the host
        // socket with SO_OOBINLINE and takes all that one read returns as urgent, so data
        // right behind the urgent byte would move the mark; and until the guest
        // acknowledges the urgent byte it sends the next data with URG and pointer 0,
        // which Linux (and so the guest) reads as a new urgent byte. So the host waits
        // for the guest's "k", whose segment carries that acknowledgement.
        s.Send("abc"u8.ToArray());
        g.WaitFor("got abc", 100);
        s.Send("!"u8.ToArray(), SocketFlags.OutOfBand);
        g.WaitFor("urgent:", 100);
        var k = new byte[1];
        s.Receive(k).Should().Be(1, g.ToString());
        k[0].Should().Be((byte)'k');
        s.Send("def."u8.ToArray());
        g.WaitFor("after mark:", 100);
        g.Out.Should().Contain("got abc\nurgent: ! (1), at mark 1, SIGURG: yes\nafter mark: def.\n", g.ToString());

        // The guest's urgent byte: EINVAL until it has come, then the byte; the ordinary
        // data reads around it.
        var one = new byte[1];
        string urgent = "";
        var until = DateTime.UtcNow.AddSeconds(100);
        while (urgent == "" && DateTime.UtcNow < until)
        {
            try { if (s.Receive(one, SocketFlags.OutOfBand) == 1) urgent = Encoding.ASCII.GetString(one); }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.InvalidArgument or SocketError.WouldBlock) { Thread.Sleep(50); }
        }
        urgent.Should().Be("#", g.ToString());
        var got = new StringBuilder();
        var buf = new byte[64];
        while (!got.ToString().Contains('.'))
        {
            int n = s.Receive(buf);
            if (n <= 0) break;
            got.Append(Encoding.ASCII.GetString(buf, 0, n));
        }
        got.ToString().Should().Be("xyzuvw.", g.ToString());
        s.Shutdown(SocketShutdown.Send);
        g.WaitFor("done", 100);
        g.Exit().Should().Be(0, g.ToString());
    }
}
