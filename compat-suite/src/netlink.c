/* AF_NETLINK / NETLINK_ROUTE: getifaddrs, if_nametoindex/if_nameindex, and raw RTM_GETLINK,
 * RTM_GETADDR and RTM_GETROUTE dumps walked by hand, errors as NLMSG_ERROR. Only "lo" is
 * looked at (the host running the native side has other interfaces), and only its IPv4
 * and link entries (IPv6 on lo may or may not be configured). */
#include "compat.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* The uapi definitions this needs (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
 * linux/if_addr.h), written out: musl-gcc has no linux/ headers. */
struct nlmsghdr { unsigned nlmsg_len; unsigned short nlmsg_type, nlmsg_flags; unsigned nlmsg_seq, nlmsg_pid; };
struct nlmsgerr { int error; struct nlmsghdr msg; };
struct sockaddr_nl { unsigned short nl_family, nl_pad; unsigned nl_pid, nl_groups; };
struct rtattr { unsigned short rta_len, rta_type; };
struct ifinfomsg { unsigned char ifi_family, __ifi_pad; unsigned short ifi_type; int ifi_index; unsigned ifi_flags, ifi_change; };
struct ifaddrmsg { unsigned char ifa_family, ifa_prefixlen, ifa_flags, ifa_scope; unsigned ifa_index; };
struct rtmsg { unsigned char rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table, rtm_protocol, rtm_scope, rtm_type; unsigned rtm_flags; };
#define NETLINK_ROUTE 0
#define NLM_F_REQUEST 1
#define NLM_F_MULTI 2
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define NLM_F_CAPPED 0x100
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLMSG_ALIGN(len) (((len) + 3) & ~3)
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_LENGTH(len) ((len) + NLMSG_HDRLEN)
#define NLMSG_DATA(nlh) ((void *)(((char *)(nlh)) + NLMSG_HDRLEN))
#define NLMSG_NEXT(nlh, len) ((len) -= NLMSG_ALIGN((nlh)->nlmsg_len), (struct nlmsghdr *)(((char *)(nlh)) + NLMSG_ALIGN((nlh)->nlmsg_len)))
#define NLMSG_OK(nlh, len) ((len) >= (int)sizeof(struct nlmsghdr) && (nlh)->nlmsg_len >= sizeof(struct nlmsghdr) && (nlh)->nlmsg_len <= (len))
#define NLMSG_PAYLOAD(nlh, len) ((nlh)->nlmsg_len - NLMSG_LENGTH(len))
#define RTA_ALIGN(len) (((len) + 3) & ~3)
#define RTA_OK(rta, len) ((len) >= (int)sizeof(struct rtattr) && (rta)->rta_len >= sizeof(struct rtattr) && (rta)->rta_len <= (len))
#define RTA_NEXT(rta, attrlen) ((attrlen) -= RTA_ALIGN((rta)->rta_len), (struct rtattr *)(((char *)(rta)) + RTA_ALIGN((rta)->rta_len)))
#define RTA_LENGTH(len) (RTA_ALIGN(sizeof(struct rtattr)) + (len))
#define RTA_DATA(rta) ((void *)(((char *)(rta)) + RTA_LENGTH(0)))
#define RTA_PAYLOAD(rta) ((int)((rta)->rta_len) - RTA_LENGTH(0))
#define IFLA_RTA(r) ((struct rtattr *)(((char *)(r)) + NLMSG_ALIGN(sizeof(struct ifinfomsg))))
#define IFLA_PAYLOAD(n) NLMSG_PAYLOAD(n, sizeof(struct ifinfomsg))
#define IFA_RTA(r) ((struct rtattr *)(((char *)(r)) + NLMSG_ALIGN(sizeof(struct ifaddrmsg))))
#define IFA_PAYLOAD(n) NLMSG_PAYLOAD(n, sizeof(struct ifaddrmsg))
#define RTM_RTA(r) ((struct rtattr *)(((char *)(r)) + NLMSG_ALIGN(sizeof(struct rtmsg))))
#define RTM_PAYLOAD(n) NLMSG_PAYLOAD(n, sizeof(struct rtmsg))
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define RTM_NEWROUTE 24
#define RTM_GETROUTE 26
#define IFLA_ADDRESS 1
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFLA_TXQLEN 13
#define IFLA_OPERSTATE 16
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define IFA_BROADCAST 4
#define IFA_F_PERMANENT 0x80
#define RTA_DST 1
#define RTA_OIF 4
#define RTA_PREFSRC 7
#define RTA_TABLE 15
#define RT_TABLE_LOCAL 255
#define RTN_LOCAL 2
#define IFF_LOWER_UP_ 0x10000

static const char *ifflags(unsigned f)
{
    static char buf[128];
    buf[0] = 0;
    if (f & IFF_UP) strcat(buf, "UP|");
    if (f & IFF_BROADCAST) strcat(buf, "BROADCAST|");
    if (f & IFF_LOOPBACK) strcat(buf, "LOOPBACK|");
    if (f & IFF_RUNNING) strcat(buf, "RUNNING|");
    if (f & IFF_MULTICAST) strcat(buf, "MULTICAST|");
    size_t n = strlen(buf);
    if (n) buf[n - 1] = 0;
    return buf;
}

static void test_getifaddrs(void)
{
    struct ifaddrs *ifa, *p;
    if (getifaddrs(&ifa) < 0) { printf("getifaddrs: %s\n", errname(errno)); compat_failures++; return; }
    int packet = 0, inet = 0;
    for (p = ifa; p; p = p->ifa_next) {
        if (strcmp(p->ifa_name, "lo") != 0) continue;
        int fam = p->ifa_addr ? p->ifa_addr->sa_family : -1;
        if (fam == AF_INET6) continue;
        if (fam == AF_PACKET) {
            packet++;
            printf("getifaddrs lo packet flags=%s data=%s\n", ifflags(p->ifa_flags), yesno(p->ifa_data != NULL));
        } else if (fam == AF_INET) {
            char a[32], m[32];
            inet_ntop(AF_INET, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, a, sizeof a);
            inet_ntop(AF_INET, &((struct sockaddr_in *)p->ifa_netmask)->sin_addr, m, sizeof m);
            inet++;
            printf("getifaddrs lo inet %s netmask %s flags=%s\n", a, m, ifflags(p->ifa_flags));
        } else printf("getifaddrs lo family %d\n", fam);
    }
    CHECK("getifaddrs lo packet once", packet == 1);
    CHECK("getifaddrs lo inet once", inet == 1);
    freeifaddrs(ifa);
}

static void test_ifindex(void)
{
    printf("if_nametoindex(lo): %u\n", if_nametoindex("lo"));
    errno = 0;
    unsigned r = if_nametoindex("nosuchif0");
    printf("if_nametoindex(nosuchif0): %u %s\n", r, errname(errno));
    char name[IF_NAMESIZE];
    printf("if_indextoname(1): %s\n", if_indextoname(1, name) ? name : errname(errno));
    struct if_nameindex *ni = if_nameindex(), *q;
    int found = 0;
    for (q = ni; q && q->if_index; q++) if (strcmp(q->if_name, "lo") == 0 && q->if_index == 1) found = 1;
    CHECK("if_nameindex has lo as 1", found);
    if (ni) if_freenameindex(ni);
}

static int nl_open(unsigned *pid)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) { printf("socket: %s\n", errname(errno)); exit(2); }
    struct sockaddr_nl a = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { printf("bind: %s\n", errname(errno)); exit(2); }
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *pid = a.nl_pid;
    return fd;
}

static void nl_send(int fd, int type, int flags, unsigned seq, const void *body, size_t blen)
{
    char buf[256];
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    memset(buf, 0, sizeof buf);
    h->nlmsg_len = NLMSG_LENGTH(blen);
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    h->nlmsg_seq = seq;
    memcpy(NLMSG_DATA(h), body, blen);
    struct sockaddr_nl k = { .nl_family = AF_NETLINK };
    if (sendto(fd, buf, h->nlmsg_len, 0, (struct sockaddr *)&k, sizeof k) != (ssize_t)h->nlmsg_len) {
        printf("sendto: %s\n", errname(errno)); exit(2);
    }
}

static char rbuf[65536];

/* Receives one datagram, sized first with MSG_PEEK|MSG_TRUNC as glibc does. */
static ssize_t nl_recv(int fd, int *bad)
{
    ssize_t want = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
    struct sockaddr_nl from;
    struct iovec iov = { rbuf, sizeof rbuf };
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n = recvmsg(fd, &m, 0);
    if (n < 0 || n != want || m.msg_namelen != sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0 || (m.msg_flags & MSG_TRUNC))
        (*bad)++;
    return n;
}

/* Walks a dump to NLMSG_DONE; calls `each` for every message. Returns the message count. */
static int nl_dump(int fd, unsigned pid, unsigned seq, void (*each)(struct nlmsghdr *), int *bad)
{
    int count = 0;
    for (;;) {
        ssize_t n = nl_recv(fd, bad);
        if (n <= 0) { (*bad)++; return count; }
        struct nlmsghdr *h;
        for (h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != seq || h->nlmsg_pid != pid || !(h->nlmsg_flags & NLM_F_MULTI)) (*bad)++;
            if (h->nlmsg_type == NLMSG_DONE) return count;
            if (h->nlmsg_type == NLMSG_ERROR) { (*bad)++; return count; }
            count++;
            each(h);
        }
    }
}

static int lo_link, lo_addr, lo_local_route, lo_local_host_route;

static void each_link(struct nlmsghdr *h)
{
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (h->nlmsg_type != RTM_NEWLINK) return;
    struct rtattr *rta = IFLA_RTA(ifi);
    int len = IFLA_PAYLOAD(h);
    const char *name = NULL;
    int addrlen = -1, mtu = 0, txq = -1, oper = -1, zero = 1;
    for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if (rta->rta_type == IFLA_IFNAME) name = RTA_DATA(rta);
        if (rta->rta_type == IFLA_ADDRESS) {
            addrlen = RTA_PAYLOAD(rta);
            for (int i = 0; i < addrlen; i++) if (((unsigned char *)RTA_DATA(rta))[i]) zero = 0;
        }
        if (rta->rta_type == IFLA_MTU) mtu = *(int *)RTA_DATA(rta);
        if (rta->rta_type == IFLA_TXQLEN) txq = *(int *)RTA_DATA(rta);
        if (rta->rta_type == IFLA_OPERSTATE) oper = *(unsigned char *)RTA_DATA(rta);
    }
    if (!name || strcmp(name, "lo") != 0) return;
    lo_link++;
    printf("link lo: index=%d type=%d flags=%s lower_up=%s address=%d zero=%s mtu>0=%s txqlen=%d operstate=%d\n",
           ifi->ifi_index, ifi->ifi_type, ifflags(ifi->ifi_flags), yesno(ifi->ifi_flags & IFF_LOWER_UP_),
           addrlen, yesno(zero), yesno(mtu > 0), txq, oper);
}

static void each_addr(struct nlmsghdr *h)
{
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (h->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET) return;
    struct rtattr *rta = IFA_RTA(ifa);
    int len = IFA_PAYLOAD(h);
    char addr[32] = "-", local[32] = "-", label[32] = "-";
    int brd = 0;
    for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if (rta->rta_type == IFA_ADDRESS) inet_ntop(AF_INET, RTA_DATA(rta), addr, sizeof addr);
        if (rta->rta_type == IFA_LOCAL) inet_ntop(AF_INET, RTA_DATA(rta), local, sizeof local);
        if (rta->rta_type == IFA_LABEL) snprintf(label, sizeof label, "%s", (char *)RTA_DATA(rta));
        if (rta->rta_type == IFA_BROADCAST) brd = 1;
    }
    if (ifa->ifa_index != 1) return;
    lo_addr++;
    printf("addr lo: %s/%d local=%s label=%s scope=%d brd=%s permanent=%s\n", addr, ifa->ifa_prefixlen, local, label,
           ifa->ifa_scope, yesno(brd), yesno(ifa->ifa_flags & IFA_F_PERMANENT));
}

static void each_route(struct nlmsghdr *h)
{
    struct rtmsg *r = NLMSG_DATA(h);
    if (h->nlmsg_type != RTM_NEWROUTE || r->rtm_family != AF_INET) return;
    struct rtattr *rta = RTM_RTA(r);
    int len = RTM_PAYLOAD(h);
    unsigned dst = 0, table = r->rtm_table;
    int oif = 0;
    char src[32] = "-";
    for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if (rta->rta_type == RTA_DST) memcpy(&dst, RTA_DATA(rta), 4);
        if (rta->rta_type == RTA_OIF) oif = *(int *)RTA_DATA(rta);
        if (rta->rta_type == RTA_TABLE) table = *(unsigned *)RTA_DATA(rta);
        if (rta->rta_type == RTA_PREFSRC) inet_ntop(AF_INET, RTA_DATA(rta), src, sizeof src);
    }
    if (oif != 1 || table != RT_TABLE_LOCAL || r->rtm_type != RTN_LOCAL) return;
    char d[32];
    inet_ntop(AF_INET, &dst, d, sizeof d);
    if (ntohl(dst) == 0x7f000000 && r->rtm_dst_len == 8) lo_local_route++;
    else if (ntohl(dst) == 0x7f000001 && r->rtm_dst_len == 32) lo_local_host_route++;
    else return;
    printf("route local %s/%d dev lo table=%u proto=%d scope=%d src=%s\n", d, r->rtm_dst_len, table, r->rtm_protocol,
           r->rtm_scope, src);
}

static void test_raw(void)
{
    unsigned pid;
    int bad = 0;
    int fd = nl_open(&pid);
    CHECK("autobind pid is getpid", pid == (unsigned)getpid());
    struct sockaddr_nl a;
    socklen_t len = sizeof a;
    memset(&a, 0xff, sizeof a);
    getpeername(fd, (struct sockaddr *)&a, &len);
    printf("getpeername: len=%d family=%d pid=%u groups=%u\n", (int)len, a.nl_family, a.nl_pid, a.nl_groups);

    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 101, &ifi, sizeof ifi);
    int links = nl_dump(fd, pid, 101, each_link, &bad);
    CHECK("link dump: lo once", lo_link == 1);
    CHECK("link dump: at least one link", links >= 1);

    struct ifaddrmsg ifa = { .ifa_family = AF_INET };
    nl_send(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 102, &ifa, sizeof ifa);
    nl_dump(fd, pid, 102, each_addr, &bad);
    CHECK("addr dump: lo once", lo_addr == 1);

    struct rtmsg rt = { .rtm_family = AF_INET };
    nl_send(fd, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 103, &rt, sizeof rt);
    nl_dump(fd, pid, 103, each_route, &bad);
    CHECK("route dump: local 127.0.0.0/8", lo_local_route == 1);
    CHECK("route dump: local 127.0.0.1", lo_local_host_route == 1);

    /* One link by index, acknowledged. */
    struct ifinfomsg one = { .ifi_family = AF_UNSPEC, .ifi_index = 1 };
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 104, &one, sizeof one);
    ssize_t n = nl_recv(fd, &bad);
    struct nlmsghdr *h = (struct nlmsghdr *)rbuf;
    printf("getlink 1: type=%d multi=%s seq=%u rest=%s\n", h->nlmsg_type, yesno(h->nlmsg_flags & NLM_F_MULTI), h->nlmsg_seq,
           yesno(NLMSG_ALIGN(h->nlmsg_len) < (size_t)n));
    n = nl_recv(fd, &bad);
    struct nlmsgerr *e = NLMSG_DATA(h);
    printf("getlink 1 ack: type=%d error=%d len=%u capped=%s seq=%u\n", h->nlmsg_type, e->error, h->nlmsg_len,
           yesno(h->nlmsg_flags & NLM_F_CAPPED), e->msg.nlmsg_seq);

    /* Errors: an unknown interface; a type past RTM_MAX. The request comes back after the errno. */
    char req[64];
    memset(req, 0, sizeof req);
    struct ifinfomsg *named = (struct ifinfomsg *)req;
    struct rtattr *ra = (struct rtattr *)(req + NLMSG_ALIGN(sizeof *named));
    ra->rta_type = IFLA_IFNAME;
    ra->rta_len = RTA_LENGTH(10);
    memcpy(RTA_DATA(ra), "nosuchif0", 10);
    size_t rlen = NLMSG_ALIGN(sizeof *named) + RTA_ALIGN(ra->rta_len);
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 105, req, rlen);
    n = nl_recv(fd, &bad);
    printf("getlink nosuchif0: type=%d error=%s len=%u echoed=%s\n", h->nlmsg_type, errname(-e->error), h->nlmsg_len,
           yesno(h->nlmsg_len == NLMSG_LENGTH(sizeof(int) + NLMSG_LENGTH(rlen))));
    nl_send(fd, 200, NLM_F_REQUEST, 106, &ifi, sizeof ifi);
    n = nl_recv(fd, &bad);
    printf("type 200: type=%d error=%s\n", h->nlmsg_type, errname(-e->error));
    /* Not a request: ignored, unless an ack is asked for. */
    nl_send(fd, RTM_GETLINK, 0, 107, &ifi, sizeof ifi);
    nl_send(fd, RTM_GETLINK, NLM_F_ACK, 108, &ifi, sizeof ifi);
    n = nl_recv(fd, &bad);
    printf("not a request: type=%d error=%d seq=%u\n", h->nlmsg_type, e->error, h->nlmsg_seq);
    errno = 0;
    n = recv(fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
    printf("queue empty: %s\n", compat_res(n));

    /* A small buffer truncates the datagram (MSG_TRUNC), and the rest is gone. */
    nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 109, &one, sizeof one);
    struct iovec iov = { rbuf, 8 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    n = recvmsg(fd, &m, 0);
    printf("small buffer: n=%zd trunc=%s\n", n, yesno(m.msg_flags & MSG_TRUNC));
    n = recv(fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
    printf("after truncation: %s\n", compat_res(n));
    CHECK("replies well-formed", bad == 0);

    /* Socket-level errors. */
    struct sockaddr_nl same = { .nl_family = AF_NETLINK, .nl_pid = pid };
    int fd2 = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    EXPECT_ERR("bind taken pid", bind(fd2, (struct sockaddr *)&same, sizeof same), EADDRINUSE);
    struct sockaddr_nl badfam = { .nl_family = AF_INET };
    EXPECT_ERR("bind AF_INET", bind(fd2, (struct sockaddr *)&badfam, sizeof badfam), EINVAL);
    EXPECT_ERR("bind short", bind(fd2, (struct sockaddr *)&same, 4), EINVAL);
    struct sockaddr_nl mine = { .nl_family = AF_NETLINK, .nl_pid = 0x7ffffff0 };
    EXPECT_OK("bind explicit pid", bind(fd2, (struct sockaddr *)&mine, sizeof mine));
    len = sizeof a;
    getsockname(fd2, (struct sockaddr *)&a, &len);
    printf("explicit pid: %s\n", yesno(a.nl_pid == 0x7ffffff0));
    EXPECT_ERR("rebind other pid", bind(fd2, (struct sockaddr *)&same, sizeof same), EINVAL);
    close(fd2);
    close(fd);
    EXPECT_ERR("SOCK_STREAM", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
    EXPECT_ERR("protocol 40", socket(AF_NETLINK, SOCK_RAW, 40), EPROTONOSUPPORT);
    EXPECT_ERR("protocol -1", socket(AF_NETLINK, SOCK_RAW, -1), EPROTONOSUPPORT);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_getifaddrs();
    test_ifindex();
    test_raw();
    return finish();
}
