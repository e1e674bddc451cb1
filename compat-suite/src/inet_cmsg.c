/* Ancillary data and IP-level options of UDP sockets over the loopback (::1 and
 * 127.0.0.1): IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS and IP_PKTINFO,
 * IP_RECVTTL, IP_RECVTOS on receive (a dual-stack socket taking an IPv4 datagram gets
 * IPV6_PKTINFO with a v4-mapped address and the IPv4 messages, no hop limit); IPV6_PKTINFO,
 * IPV6_HOPLIMIT, IPV6_TCLASS and IP_PKTINFO, IP_TTL, IP_TOS in sendmsg with their errors;
 * IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_TCLASS, IP_TTL and IP_TOS as socket options;
 * MSG_CTRUNC; IPV6_ADD_MEMBERSHIP/IPV6_DROP_MEMBERSHIP's errors on the loopback. */
#include "compat.h"
#include "compat_inet.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
}

static int udp6(void)
{
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = addr6("::1", 0);
    if (bind(s, (struct sockaddr *)&a, sizeof a)) printf("bind ::1: %s\n", errname(errno));
    return s;
}

static int udp4(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = lo4(0);
    if (bind(s, (struct sockaddr *)&a, sizeof a)) printf("bind 127.0.0.1: %s\n", errname(errno));
    return s;
}

static void setint(int s, int level, int name, int v)
{
    if (setsockopt(s, level, name, &v, sizeof v)) printf("setsockopt %d/%d: %s\n", level, name, errname(errno));
}

static int getint(int s, int level, int name)
{
    int v = -12345;
    socklen_t l = sizeof v;
    if (getsockopt(s, level, name, &v, &l)) { printf("getsockopt %d/%d: %s\n", level, name, errname(errno)); return -999; }
    if (l != sizeof v) printf("getsockopt %d/%d: length %u\n", level, name, (unsigned)l);
    return v;
}

/* Receives one datagram with a control buffer of `ctl` bytes and prints every message. */
static void show_recv(const char *label, int s, size_t ctl)
{
    char data[64], cbuf[512];
    struct iovec iov = { data, sizeof data };
    struct msghdr m;
    memset(&m, 0, sizeof m);
    memset(cbuf, 0xaa, sizeof cbuf);
    m.msg_iov = &iov; m.msg_iovlen = 1;
    m.msg_control = ctl ? cbuf : NULL; m.msg_controllen = ctl;
    long n = recvmsg(s, &m, MSG_DONTWAIT);
    if (n < 0) { printf("%s: recvmsg %s\n", label, errname(errno)); return; }
    printf("%s: %ld bytes, controllen %zu%s\n", label, n, (size_t)m.msg_controllen, (m.msg_flags & MSG_CTRUNC) ? ", MSG_CTRUNC" : "");
    if (!ctl) return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        unsigned char *d = CMSG_DATA(c);
        size_t dl = c->cmsg_len - CMSG_LEN(0);
        printf("  level %d type %d len %zu:", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        char t[INET6_ADDRSTRLEN];
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && dl >= sizeof(struct in6_pktinfo)) {
            struct in6_pktinfo pi; memcpy(&pi, d, sizeof pi);
            inet_ntop(AF_INET6, &pi.ipi6_addr, t, sizeof t);
            printf(" IPV6_PKTINFO addr %s ifindex %d\n", t, pi.ipi6_ifindex);
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && dl >= sizeof(struct in_pktinfo)) {
            struct in_pktinfo pi; memcpy(&pi, d, sizeof pi);
            char t2[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &pi.ipi_spec_dst, t, sizeof t);
            inet_ntop(AF_INET, &pi.ipi_addr, t2, sizeof t2);
            printf(" IP_PKTINFO ifindex %d spec_dst %s addr %s\n", pi.ipi_ifindex, t, t2);
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && dl == 1) {
            printf(" IP_TOS 0x%02x\n", d[0]);
        } else if (dl == sizeof(int)) {
            int v; memcpy(&v, d, sizeof v);
            printf(" int %d\n", v);
        } else {
            printf(" %zu bytes\n", dl);
        }
    }
}

/* sendmsg of "hi" to `to` with the control data in `ctl` (`ctllen` bytes); the result. */
static const char *send_ctl(int s, const void *to, socklen_t tolen, const void *ctl, size_t ctllen)
{
    struct iovec iov = { "hi", 2 };
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = (void *)to; m.msg_namelen = tolen;
    m.msg_iov = &iov; m.msg_iovlen = 1;
    m.msg_control = (void *)ctl; m.msg_controllen = ctllen;
    return compat_res(sendmsg(s, &m, 0));
}

/* A control buffer holding one message of `len` data bytes. */
static size_t one_cmsg(unsigned char *buf, int level, int type, const void *data, size_t len)
{
    memset(buf, 0, CMSG_SPACE(len));
    struct cmsghdr *c = (struct cmsghdr *)buf;
    c->cmsg_level = level; c->cmsg_type = type; c->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(c), data, len);
    return CMSG_SPACE(len);
}

static void drain(int s)
{
    char b[64];
    while (recv(s, b, sizeof b, MSG_DONTWAIT) >= 0) {}
}

static void ipv6_side(void)
{
    int r = udp6(), s = udp6();
    struct sockaddr_in6 to = addr6("::1", port_of(r));

    printf("-- IPv6 options\n");
    printf("UNICAST_HOPS %d MULTICAST_HOPS %d TCLASS %d RECVPKTINFO %d RECVHOPLIMIT %d RECVTCLASS %d\n",
           getint(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS), getint(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS),
           getint(s, IPPROTO_IPV6, IPV6_TCLASS), getint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO),
           getint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT), getint(r, IPPROTO_IPV6, IPV6_RECVTCLASS));
    int v = 256, m1 = -1, m2 = -2;
    EXPECT_ERR("UNICAST_HOPS 256", setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v), EINVAL);
    EXPECT_ERR("UNICAST_HOPS -2", setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &m2, sizeof m2), EINVAL);
    EXPECT_ERR("UNICAST_HOPS short", setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, 2), EINVAL);
    EXPECT_ERR("TCLASS 256", setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v), EINVAL);
    EXPECT_ERR("MULTICAST_HOPS 256", setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, sizeof v), EINVAL);
    EXPECT_ERR("RECVPKTINFO short", setsockopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, &v, 1), EINVAL);
    setint(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9);
    setint(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 5);
    setint(s, IPPROTO_IPV6, IPV6_TCLASS, 0x28);
    printf("set: UNICAST_HOPS %d MULTICAST_HOPS %d TCLASS 0x%x\n", getint(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS),
           getint(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), getint(s, IPPROTO_IPV6, IPV6_TCLASS));
    setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &m1, sizeof m1);
    printf("MULTICAST_HOPS -1 reads %d\n", getint(s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS));

    printf("-- received without options\n");
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("plain", r, 256);

    setint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    setint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    setint(r, IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
    printf("RECVPKTINFO %d RECVHOPLIMIT %d RECVTCLASS %d\n", getint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO),
           getint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT), getint(r, IPPROTO_IPV6, IPV6_RECVTCLASS));
    printf("-- socket's hop limit 9 and traffic class 0x28\n");
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("sticky", r, 256);
    setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &m1, sizeof m1);
    setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &m1, sizeof m1);
    printf("after -1: UNICAST_HOPS %d TCLASS %d\n", getint(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS), getint(s, IPPROTO_IPV6, IPV6_TCLASS));
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("defaults", r, 256);

    printf("-- sendmsg control messages\n");
    unsigned char cb[256];
    size_t n = 0;
    struct cmsghdr *c;
    int hl = 3, tc = 0xb8;
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    inet_pton(AF_INET6, "::1", &pi.ipi6_addr);
    memset(cb, 0, sizeof cb);
    c = (struct cmsghdr *)cb; c->cmsg_level = IPPROTO_IPV6; c->cmsg_type = IPV6_HOPLIMIT; c->cmsg_len = CMSG_LEN(sizeof hl);
    memcpy(CMSG_DATA(c), &hl, sizeof hl); n += CMSG_SPACE(sizeof hl);
    c = (struct cmsghdr *)(cb + n); c->cmsg_level = IPPROTO_IPV6; c->cmsg_type = IPV6_TCLASS; c->cmsg_len = CMSG_LEN(sizeof tc);
    memcpy(CMSG_DATA(c), &tc, sizeof tc); n += CMSG_SPACE(sizeof tc);
    c = (struct cmsghdr *)(cb + n); c->cmsg_level = IPPROTO_IPV6; c->cmsg_type = IPV6_PKTINFO; c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi); n += CMSG_SPACE(sizeof pi);
    c = (struct cmsghdr *)(cb + n); c->cmsg_level = IPPROTO_TCP; c->cmsg_type = 1; c->cmsg_len = CMSG_LEN(sizeof hl);
    n += CMSG_SPACE(sizeof hl);
    printf("hoplimit 3 + tclass 0xb8 + pktinfo ::1 + a TCP-level one: %s\n", send_ctl(s, &to, sizeof to, cb, n));
    show_recv("cmsgs", r, 256);
    pi.ipi6_ifindex = 1;
    printf("pktinfo ::1 on ifindex 1: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi)));
    show_recv("pktinfo lo", r, 256);
    hl = -1;
    printf("hoplimit -1: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_HOPLIMIT, &hl, sizeof hl)));
    show_recv("hoplimit -1", r, 256);

    hl = 256;
    printf("hoplimit 256: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_HOPLIMIT, &hl, sizeof hl)));
    unsigned char one = 1;
    printf("hoplimit as a byte: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_HOPLIMIT, &one, 1)));
    tc = -2;
    printf("tclass -2: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof tc)));
    inet_pton(AF_INET6, "2001:db8::1", &pi.ipi6_addr); pi.ipi6_ifindex = 0;
    printf("pktinfo not ours: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi)));
    inet_pton(AF_INET6, "fe80::1", &pi.ipi6_addr);
    printf("pktinfo link-local without an interface: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi)));
    memset(&pi.ipi6_addr, 0, sizeof pi.ipi6_addr); pi.ipi6_ifindex = 9999;
    printf("pktinfo ifindex 9999: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi)));
    printf("pktinfo short: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_PKTINFO, &pi, 16)));
    printf("unknown IPv6 type: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, 99, &hl, sizeof hl)));
    printf("unknown SOL_SOCKET type: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, SOL_SOCKET, 99, &hl, sizeof hl)));
    n = one_cmsg(cb, IPPROTO_IPV6, IPV6_HOPLIMIT, &hl, sizeof hl);
    ((struct cmsghdr *)cb)->cmsg_len = n + 8;
    printf("cmsg_len past the buffer: %s\n", send_ctl(s, &to, sizeof to, cb, n));
    drain(r);

    printf("-- control buffer sizes\n");
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("room for pktinfo only", r, CMSG_SPACE(sizeof(struct in6_pktinfo)));
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("room for a header and 4 bytes", r, CMSG_LEN(4));
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("no control buffer", r, 0);
    close(s);
    close(r);
}

static void ipv4_side(void)
{
    int r = udp4(), s = udp4();
    struct sockaddr_in to = lo4(port_of(r));
    printf("-- IPv4 options\n");
    printf("TTL %d TOS %d PKTINFO %d RECVTTL %d RECVTOS %d\n", getint(s, IPPROTO_IP, IP_TTL), getint(s, IPPROTO_IP, IP_TOS),
           getint(r, IPPROTO_IP, IP_PKTINFO), getint(r, IPPROTO_IP, IP_RECVTTL), getint(r, IPPROTO_IP, IP_RECVTOS));
    unsigned char b = 9;
    EXPECT_OK("IP_TTL as a byte", setsockopt(s, IPPROTO_IP, IP_TTL, &b, 1));
    printf("TTL %d\n", getint(s, IPPROTO_IP, IP_TTL));
    setint(s, IPPROTO_IP, IP_TOS, 0xff);
    printf("TOS 0xff on UDP reads 0x%x\n", getint(s, IPPROTO_IP, IP_TOS));
    setint(s, IPPROTO_IP, IP_TOS, 0x10);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    setint(t, IPPROTO_IP, IP_TOS, 0xff);
    printf("TOS 0xff on TCP reads 0x%x\n", getint(t, IPPROTO_IP, IP_TOS));
    close(t);

    setint(r, IPPROTO_IP, IP_PKTINFO, 1);
    setint(r, IPPROTO_IP, IP_RECVTTL, 1);
    setint(r, IPPROTO_IP, IP_RECVTOS, 1);
    printf("PKTINFO %d RECVTTL %d RECVTOS %d\n", getint(r, IPPROTO_IP, IP_PKTINFO), getint(r, IPPROTO_IP, IP_RECVTTL), getint(r, IPPROTO_IP, IP_RECVTOS));
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("ttl 9 tos 0x10", r, 256);

    unsigned char cb[256];
    int ttl = 5;
    unsigned char tos = 0x20;
    size_t n = one_cmsg(cb, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    struct cmsghdr *c = (struct cmsghdr *)(cb + n);
    memset(c, 0, CMSG_SPACE(1));
    c->cmsg_level = IPPROTO_IP; c->cmsg_type = IP_TOS; c->cmsg_len = CMSG_LEN(1); *CMSG_DATA(c) = tos;
    n += CMSG_SPACE(1);
    printf("IP_TTL 5 + IP_TOS byte 0x20: %s\n", send_ctl(s, &to, sizeof to, cb, n));
    show_recv("cmsgs", r, 256);
    int itos = 0x48;
    printf("IP_TOS int 0x48: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_TOS, &itos, sizeof itos)));
    show_recv("tos int", r, 256);
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK);
    printf("IP_PKTINFO spec_dst 127.0.0.1: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi)));
    show_recv("pktinfo", r, 256);
    inet_pton(AF_INET, "192.0.2.1", &pi.ipi_spec_dst);
    printf("IP_PKTINFO spec_dst not ours: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi)));
    pi.ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK);

    ttl = 0;
    printf("IP_TTL 0: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl)));
    ttl = 256;
    printf("IP_TTL 256: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl)));
    printf("IP_TTL as a byte: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_TTL, &tos, 1)));
    itos = 256;
    printf("IP_TOS 256: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_TOS, &itos, sizeof itos)));
    printf("IP_TOS in 2 bytes: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_TOS, &itos, 2)));
    printf("IP_PKTINFO short: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_PKTINFO, &pi, 8)));
    pi.ipi_ifindex = 9999;
    printf("IP_PKTINFO ifindex 9999: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi)));
    printf("unknown IP type: %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IP, 99, &ttl, sizeof ttl)));
    printf("an IPv6 one on AF_INET (skipped): %s\n", send_ctl(s, &to, sizeof to, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_HOPLIMIT, &ttl, sizeof ttl)));
    show_recv("after the errors", r, 256);
    EXPECT_ERR("IPV6_RECVPKTINFO on AF_INET", setsockopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, &ttl, sizeof ttl), ENOPROTOOPT);
    close(s);
    close(r);
}

static void dual_stack(void)
{
    printf("-- dual stack: IPv4 to an AF_INET6 socket\n");
    int r = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 any = addr6("::", 0);
    bind(r, (struct sockaddr *)&any, sizeof any);
    setint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    setint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    setint(r, IPPROTO_IPV6, IPV6_RECVTCLASS, 1);
    setint(r, IPPROTO_IP, IP_RECVTTL, 1);
    setint(r, IPPROTO_IP, IP_RECVTOS, 1);
    int s = udp4();
    setint(s, IPPROTO_IP, IP_TTL, 7);
    setint(s, IPPROTO_IP, IP_TOS, 0x10);
    struct sockaddr_in to = lo4(port_of(r));
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("v4 on dual stack", r, 256);
    setint(r, IPPROTO_IP, IP_PKTINFO, 1);
    sendto(s, "hi", 2, 0, (struct sockaddr *)&to, sizeof to);
    show_recv("v4 with IP_PKTINFO too", r, 256);

    printf("-- dual stack: an AF_INET6 socket sending to ::ffff:127.0.0.1\n");
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    setint(s6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 3);       /* IPv6's: not for IPv4 */
    setint(s6, IPPROTO_IP, IP_TTL, 11);
    int r4 = udp4();
    setint(r4, IPPROTO_IP, IP_RECVTTL, 1);
    setint(r4, IPPROTO_IP, IP_RECVTOS, 1);
    struct sockaddr_in6 mapped = addr6("::ffff:127.0.0.1", port_of(r4));
    sendto(s6, "hi", 2, 0, (struct sockaddr *)&mapped, sizeof mapped);
    show_recv("mapped plain", r4, 256);
    unsigned char cb[256];
    int hl = 2, ttl = 4;
    size_t n = one_cmsg(cb, IPPROTO_IPV6, IPV6_HOPLIMIT, &hl, sizeof hl);
    printf("IPV6_HOPLIMIT to mapped (ignored): %s\n", send_ctl(s6, &mapped, sizeof mapped, cb, n));
    show_recv("mapped hoplimit", r4, 256);
    printf("IP_TTL 4 to mapped: %s\n", send_ctl(s6, &mapped, sizeof mapped, cb, one_cmsg(cb, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl)));
    show_recv("mapped ttl", r4, 256);
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    printf("IPV6_PKTINFO :: to mapped: %s\n", send_ctl(s6, &mapped, sizeof mapped, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi)));
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &pi.ipi6_addr);
    printf("IPV6_PKTINFO ::ffff:127.0.0.1 to mapped: %s\n", send_ctl(s6, &mapped, sizeof mapped, cb, one_cmsg(cb, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi)));
    show_recv("mapped pktinfo", r4, 256);
    close(s6); close(r4); close(s); close(r);
}

static void membership(void)
{
    printf("-- IPV6_ADD_MEMBERSHIP on the loopback\n");
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    struct ipv6_mreq mr;
    memset(&mr, 0, sizeof mr);
    inet_pton(AF_INET6, "ff02::1:3", &mr.ipv6mr_multiaddr);
    mr.ipv6mr_interface = 1;
    EXPECT_OK("join ff02::1:3 on 1", setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr));
    EXPECT_ERR("join again", setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr), EADDRINUSE);
    EXPECT_ERR("join short", setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr - 1), EINVAL);
    EXPECT_OK("leave", setsockopt(s, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &mr, sizeof mr));
    EXPECT_ERR("leave again", setsockopt(s, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &mr, sizeof mr), EADDRNOTAVAIL);
    EXPECT_OK("join with IPV6_JOIN_GROUP", setsockopt(s, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr));
    mr.ipv6mr_interface = 0;
    EXPECT_OK("leave with interface 0", setsockopt(s, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mr, sizeof mr));
    mr.ipv6mr_interface = 9999;
    EXPECT_ERR("join on 9999", setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr), ENODEV);
    mr.ipv6mr_interface = 1;
    inet_pton(AF_INET6, "::1", &mr.ipv6mr_multiaddr);
    EXPECT_ERR("join a unicast address", setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr), EINVAL);
    EXPECT_ERR("leave a unicast address", setsockopt(s, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &mr, sizeof mr), EINVAL);
    int t = socket(AF_INET6, SOCK_STREAM, 0);
    inet_pton(AF_INET6, "ff02::1:3", &mr.ipv6mr_multiaddr);
    EXPECT_ERR("join on TCP", setsockopt(t, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr), EPROTO);
    close(t);
    close(s);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    ipv6_side();
    ipv4_side();
    dual_stack();
    membership();
    printf("failures: %d\n", compat_failures);
    return compat_failures != 0;
}
