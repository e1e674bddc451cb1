/* AF_INET6 over ::1 (needs the loopback's ::1, which Linux hosts and CI have): TCP with
 * data both ways, getsockname/getpeername/accept addresses, a dual-stack [::] listener
 * taking an IPv4 client as ::ffff:127.0.0.1, IPV6_V6ONLY refusing it and its binding
 * rules, UDP over ::1 and v4-mapped, ICMPv6 port unreachable as ECONNREFUSED, and the
 * address errors (link-local without a scope, an address not on the host). */
#include "compat.h"
#include "compat_inet.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

/* "family [address] len N scope S" of a socket's own or peer address (never the port). */
static void show(const char *label, int fd, int peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0xaa, sizeof ss);
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
    if (r < 0) { printf("%s: %s\n", label, errname(errno)); return; }
    char t[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s->sin6_addr, t, sizeof t);
        printf("%s: AF_INET6 [%s] len %u scope %u flow %u\n", label, t, (unsigned)len, s->sin6_scope_id, s->sin6_flowinfo);
    } else if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, t, sizeof t);
        printf("%s: AF_INET %s len %u\n", label, t, (unsigned)len);
    } else printf("%s: family %d\n", label, ss.ss_family);
}

static int port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
}

static int listener6(const char *addr, int v6only)
{
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    if (v6only >= 0) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    struct sockaddr_in6 a = addr6(addr, 0);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0) { printf("listen on %s: %s\n", addr, errname(errno)); exit(2); }
    return s;
}

#define BIG (256 * 1024)
static unsigned sum(const unsigned char *p, size_t n, unsigned s) { for (size_t i = 0; i < n; i++) s = s * 31 + p[i]; return s; }
static int big_port;
static unsigned char big_out[BIG], big_in[BIG];

static void *sender(void *arg)
{
    (void)arg;
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = addr6("::1", big_port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) return NULL;
    for (size_t off = 0; off < BIG;) { ssize_t w = write(c, big_out + off, BIG - off); if (w <= 0) break; off += w; }
    close(c);
    return NULL;
}

static void tcp(void)
{
    int l = listener6("::1", -1);
    show("listener", l, 0);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    show("unbound", c, 0);
    EXPECT_ERR("peer of unconnected", getpeername(c, &(struct sockaddr){0}, &(socklen_t){sizeof(struct sockaddr)}), ENOTCONN);
    struct sockaddr_in6 to = addr6("::1", port_of(l));
    EXPECT_OK("connect [::1]", connect(c, (struct sockaddr *)&to, sizeof to));
    struct sockaddr_in6 from; socklen_t fl = sizeof from;
    int s = accept(l, (struct sockaddr *)&from, &fl);
    char t[INET6_ADDRSTRLEN]; inet_ntop(AF_INET6, &from.sin6_addr, t, sizeof t);
    printf("accept from: [%s] len %u, port is the client's: %s\n", t, (unsigned)fl, yesno(ntohs(from.sin6_port) == port_of(c)));
    show("client local", c, 0); show("client peer", c, 1); show("server local", s, 0);
    char buf[64];
    write(c, "over six", 8);
    ssize_t n = read(s, buf, sizeof buf);
    printf("server read %zd: %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    write(s, "and back", 8);
    n = read(c, buf, sizeof buf);
    printf("client read %zd: %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    close(c); close(s);
    /* 256 KiB from a thread, checked by sum. */
    for (int i = 0; i < BIG; i++) big_out[i] = (unsigned char)(i * 7 + i / 1000);
    big_port = port_of(l);
    pthread_t th; pthread_create(&th, NULL, sender, NULL);
    s = accept(l, NULL, NULL);
    size_t got = 0;
    for (ssize_t r; got < BIG && (r = read(s, big_in + got, BIG - got)) > 0;) got += r;
    pthread_join(th, NULL);
    printf("bulk: %zu bytes, same: %s\n", got, yesno(got == BIG && sum(big_in, BIG, 0) == sum(big_out, BIG, 0)));
    close(s);
    int port = port_of(l);
    close(l);
    c = socket(AF_INET6, SOCK_STREAM, 0);
    to = addr6("::1", port);
    EXPECT_ERR("connect to a closed port", connect(c, (struct sockaddr *)&to, sizeof to), ECONNREFUSED);
    close(c);
}

static void dual(void)
{
    /* [::] without IPV6_V6ONLY takes IPv4 clients too, as ::ffff:127.0.0.1. */
    int l = listener6("::", -1);
    int v = -1; socklen_t vl = sizeof v;
    getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl);
    printf("V6ONLY default: %d\n", v);
    show("dual listener", l, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = lo4(port_of(l));
    EXPECT_OK("IPv4 connect to [::]", connect(c, (struct sockaddr *)&to, sizeof to));
    int s = accept(l, NULL, NULL);
    show("v4 client's peer as seen", s, 1);
    show("v4 client's local as seen", s, 0);
    show("v4 client local", c, 0);
    close(c); close(s);
    /* 0.0.0.0 on the same port collides with the dual-stack [::]. */
    int x = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any4 = lo4(port_of(l)); any4.sin_addr.s_addr = 0;
    EXPECT_ERR("bind 0.0.0.0 beside [::]", bind(x, (struct sockaddr *)&any4, sizeof any4), EADDRINUSE);
    close(x); close(l);

    /* IPV6_V6ONLY: IPv4 clients are refused, and 0.0.0.0 may share the port. */
    l = listener6("::", 1);
    vl = sizeof v; getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl);
    printf("V6ONLY set: %d\n", v);
    int one = 1;
    EXPECT_ERR("V6ONLY after bind", setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one), EINVAL);
    c = socket(AF_INET, SOCK_STREAM, 0);
    to = lo4(port_of(l));
    EXPECT_ERR("IPv4 connect to v6-only [::]", connect(c, (struct sockaddr *)&to, sizeof to), ECONNREFUSED);
    close(c);
    x = socket(AF_INET, SOCK_STREAM, 0);
    any4 = lo4(port_of(l)); any4.sin_addr.s_addr = 0;
    EXPECT_OK("bind 0.0.0.0 beside v6-only [::]", bind(x, (struct sockaddr *)&any4, sizeof any4));
    close(x);
    c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 t6 = addr6("::1", port_of(l));
    EXPECT_OK("IPv6 connect to v6-only [::]", connect(c, (struct sockaddr *)&t6, sizeof t6));
    close(c); close(l);
    /* A v6-only socket has no IPv4: v4-mapped addresses fail. */
    c = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    t6 = addr6("::ffff:127.0.0.1", 9);
    EXPECT_ERR("v6-only bind to v4-mapped", bind(c, (struct sockaddr *)&t6, sizeof t6), EINVAL);
    EXPECT_ERR("v6-only connect to v4-mapped", connect(c, (struct sockaddr *)&t6, sizeof t6), ENETUNREACH);
    close(c);
    /* A dual-stack socket bound to a v4-mapped address is an IPv4 socket underneath. */
    c = socket(AF_INET6, SOCK_STREAM, 0);
    t6 = addr6("::ffff:127.0.0.1", 0);
    EXPECT_OK("bind v4-mapped loopback", bind(c, (struct sockaddr *)&t6, sizeof t6));
    show("v4-mapped bound", c, 0);
    close(c);
}

static void udp(void)
{
    int r = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = addr6("::1", 0);
    EXPECT_OK("udp bind [::1]", bind(r, (struct sockaddr *)&a, sizeof a));
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 to = addr6("::1", port_of(r));
    EXPECT_OK("sendto [::1]", sendto(s, "datagram six", 12, 0, (struct sockaddr *)&to, sizeof to) == 12 ? 0 : -1);
    char buf[64]; struct sockaddr_in6 from; socklen_t fl = sizeof from;
    ssize_t n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    char t[INET6_ADDRSTRLEN]; inet_ntop(AF_INET6, &from.sin6_addr, t, sizeof t);
    printf("recvfrom %zd: %.*s from [%s] len %u, sender's port: %s\n", n, (int)(n > 0 ? n : 0), buf, t, (unsigned)fl, yesno(ntohs(from.sin6_port) == port_of(s)));
    show("udp sender local", s, 0);
    /* To an IPv4 socket through a v4-mapped address, and back. */
    int r4 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b = lo4(0);
    bind(r4, (struct sockaddr *)&b, sizeof b);
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    to = addr6("::ffff:127.0.0.1", port_of(r4));
    sendto(s6, "mapped", 6, 0, (struct sockaddr *)&to, sizeof to);
    struct sockaddr_in f4; socklen_t f4l = sizeof f4;
    n = recvfrom(r4, buf, sizeof buf, 0, (struct sockaddr *)&f4, &f4l);
    printf("IPv4 socket got %zd from %s\n", n, inet_ntoa(f4.sin_addr));
    sendto(r4, "reply", 5, 0, (struct sockaddr *)&f4, f4l);
    fl = sizeof from;
    n = recvfrom(s6, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    inet_ntop(AF_INET6, &from.sin6_addr, t, sizeof t);
    printf("IPv6 socket got %zd from [%s]\n", n, t);
    show("mapped sender local", s6, 0);
    /* A connected socket learns of a closed port from ICMPv6 port unreachable. */
    int port = port_of(r);
    close(r);
    to = addr6("::1", port);
    EXPECT_OK("udp connect [::1]", connect(s, (struct sockaddr *)&to, sizeof to));
    show("udp peer", s, 1);
    send(s, "x", 1, 0);
    EXPECT_ERR("recv after port unreachable", recv(s, buf, sizeof buf, 0), ECONNREFUSED);
    close(s); close(r4); close(s6);
}

static void errors(void)
{
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = addr6("fe80::1", 80);
    EXPECT_ERR("connect link-local without scope", connect(c, (struct sockaddr *)&a, sizeof a), EINVAL);
    a = addr6("2001:db8::1", 0);
    EXPECT_ERR("bind an address not here", bind(c, (struct sockaddr *)&a, sizeof a), EADDRNOTAVAIL);
    struct sockaddr_in b = lo4(0);
    EXPECT_ERR("AF_INET address to AF_INET6", bind(c, (struct sockaddr *)&b, sizeof b), EINVAL);
    a = addr6("::1", 0);
    EXPECT_ERR("short sockaddr_in6", bind(c, (struct sockaddr *)&a, 20), EINVAL);
    close(c);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a = addr6("::1", 9);
    EXPECT_ERR("AF_INET6 address to AF_INET", connect(u, (struct sockaddr *)&a, sizeof a), EAFNOSUPPORT);
    close(u);
}

int main(void)
{
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = addr6("::1", 0);
    if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("this host has no ::1 (%s): the case needs it\n", errname(errno));
        return 1;
    }
    close(probe);
    tcp();
    dual();
    udp();
    errors();
    printf("failures: %d\n", compat_failures);
    return compat_failures != 0;
}
