/* unix_dgram: AF_UNIX SOCK_DGRAM: boundaries, truncation, addresses of senders, connect and
 * its rules (EPERM, ECONNREFUSED after the peer closes, AF_UNSPEC), queue limits,
 * SO_PASSCRED, shutdown, sendmmsg/recvmmsg, readiness. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>

static socklen_t mkpath(struct sockaddr_un *a, const char *tag)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "/tmp/compat-ud-%d-%s", (int)getpid(), tag);
    unlink(a->sun_path);
    return sizeof *a;
}

static short pollone(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int sv[2];
    char buf[256];
    EXPECT_OK("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    printf("poll empty: %#x\n", pollone(sv[1]));
    send(sv[0], "first", 5, 0);
    send(sv[0], "second!", 7, 0);
    send(sv[0], "", 0, 0);
    printf("poll data: %#x\n", pollone(sv[1]));
    int n = -1;
    ioctl(sv[1], FIONREAD, &n);
    printf("FIONREAD (first datagram) = %d\n", n);
    EXPECT_ERR("PEEK", recv(sv[1], buf, sizeof buf, MSG_PEEK), 0);
    EXPECT_ERR("datagram 1", recv(sv[1], buf, sizeof buf, 0), 0);
    struct iovec iov[2] = {{buf, 3}, {buf + 100, 2}};
    struct msghdr m = {0};
    m.msg_iov = iov; m.msg_iovlen = 2;
    EXPECT_ERR("datagram 2 into 3+2 bytes", recvmsg(sv[1], &m, 0), 0);
    CHECK("MSG_TRUNC set", m.msg_flags & MSG_TRUNC);
    CHECK("scattered", memcmp(buf, "sec", 3) == 0 && memcmp(buf + 100, "on", 2) == 0);
    EXPECT_ERR("empty datagram", recv(sv[1], buf, sizeof buf, 0), 0);
    EXPECT_ERR("empty queue", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    send(sv[0], "longer", 6, 0);
    EXPECT_ERR("recv MSG_TRUNC into 2 gives 6", recv(sv[1], buf, 2, MSG_TRUNC), 0);
    send(sv[0], "x", 1, 0);
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    EXPECT_ERR("recvfrom unnamed sender", recvfrom(sv[1], buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 0);
    printf("from len %d\n", (int)fl);
    write(sv[0], "w", 1);
    EXPECT_ERR("read a datagram", read(sv[1], buf, sizeof buf), 0);

    /* shutdown on datagrams */
    EXPECT_OK("shutdown WR", shutdown(sv[0], SHUT_WR));
    EXPECT_ERR("send after SHUT_WR (no SIGPIPE)", send(sv[0], "x", 1, 0), EPIPE);
    EXPECT_OK("shutdown RD", shutdown(sv[1], SHUT_RD));
    EXPECT_ERR("recv after SHUT_RD: EOF", recv(sv[1], buf, sizeof buf, 0), 0);
    printf("poll after SHUT_RD: %#x\n", pollone(sv[1]));
    EXPECT_ERR("send from the side that shut down reading", send(sv[1], "x", 1, 0), 0);
    close(sv[0]); close(sv[1]);

    /* the peer closing */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[1], "pending", 7, 0);
    close(sv[0]);
    printf("poll after peer close: %#x\n", pollone(sv[1]));
    EXPECT_ERR("send to closed peer", send(sv[1], "x", 1, 0), ECONNREFUSED);
    EXPECT_ERR("send again", send(sv[1], "x", 1, 0), ENOTCONN);
    EXPECT_ERR("recv nothing", recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
    close(sv[1]);

    /* named receivers */
    struct sockaddr_un a, b, c;
    socklen_t al = mkpath(&a, "a"), bl = mkpath(&b, "b"), cl = mkpath(&c, "c");
    int sa = socket(AF_UNIX, SOCK_DGRAM, 0), sb = socket(AF_UNIX, SOCK_DGRAM, 0), sc = socket(AF_UNIX, SOCK_DGRAM, 0);
    int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERR("send unconnected, no address", send(anon, "x", 1, 0), ENOTCONN);
    EXPECT_ERR("sendto missing path", sendto(anon, "x", 1, 0, (struct sockaddr *)&a, al), ENOENT);
    bind(sa, (struct sockaddr *)&a, al);
    bind(sb, (struct sockaddr *)&b, bl);
    bind(sc, (struct sockaddr *)&c, cl);
    EXPECT_ERR("sendto a from unnamed", sendto(anon, "hi", 2, 0, (struct sockaddr *)&a, al), 0);
    fl = sizeof from;
    EXPECT_ERR("recvfrom", recvfrom(sa, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 0);
    printf("unnamed sender len %d\n", (int)fl);
    EXPECT_ERR("sendto a from b", sendto(sb, "hey", 3, 0, (struct sockaddr *)&a, al), 0);
    fl = sizeof from;
    recvfrom(sa, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    CHECK("sender b's name", fl == offsetof(struct sockaddr_un, sun_path) + strlen(b.sun_path) + 1 && strcmp(from.sun_path, b.sun_path) == 0);
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("stream sendto a dgram name", sendto(st, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, al), EOPNOTSUPP);
    EXPECT_ERR("stream connect to a dgram name", connect(st, (struct sockaddr *)&a, al), EPROTOTYPE);
    close(st);

    /* connect: a default destination; EPERM when the target is connected elsewhere */
    EXPECT_OK("b connects to a", connect(sb, (struct sockaddr *)&a, al));
    EXPECT_ERR("send without address", send(sb, "c1", 2, 0), 0);
    socklen_t pl = sizeof from;
    EXPECT_OK("getpeername", getpeername(sb, (struct sockaddr *)&from, &pl));
    CHECK("peer is a", strcmp(from.sun_path, a.sun_path) == 0);
    EXPECT_OK("a connects to c", connect(sa, (struct sockaddr *)&c, cl));
    EXPECT_ERR("b sends to a (a connected to c)", send(sb, "no", 2, 0), EPERM);
    EXPECT_ERR("c sends to a", sendto(sc, "ok", 2, 0, (struct sockaddr *)&a, al), 0);
    EXPECT_ERR("a reads b's earlier datagram", recv(sa, buf, sizeof buf, 0), 0);
    EXPECT_ERR("a reads c's", recv(sa, buf, sizeof buf, 0), 0);
    struct sockaddr unspec = {AF_UNSPEC};
    EXPECT_OK("a disconnects (AF_UNSPEC)", connect(sa, &unspec, sizeof unspec));
    pl = sizeof from;
    EXPECT_ERR("getpeername after disconnect", getpeername(sa, (struct sockaddr *)&from, &pl), ENOTCONN);
    EXPECT_ERR("b can send again", send(sb, "yes", 3, 0), 0);
    EXPECT_ERR("connect to missing name", connect(anon, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/nonexistent/x"}, sizeof(struct sockaddr_un)), ENOENT);
    EXPECT_ERR("connect short address", connect(anon, (struct sockaddr *)&a, 1), EINVAL);

    /* reconnecting elsewhere drops our queue; a peer connected back to us learns it first */
    {
        struct sockaddr_un x, y, z;
        socklen_t xl = mkpath(&x, "x"), yl = mkpath(&y, "y"), zl = mkpath(&z, "z");
        int sx = socket(AF_UNIX, SOCK_DGRAM, 0), sy = socket(AF_UNIX, SOCK_DGRAM, 0), sz2 = socket(AF_UNIX, SOCK_DGRAM, 0);
        bind(sx, (struct sockaddr *)&x, xl); bind(sy, (struct sockaddr *)&y, yl); bind(sz2, (struct sockaddr *)&z, zl);
        connect(sx, (struct sockaddr *)&y, yl); connect(sy, (struct sockaddr *)&x, xl);
        send(sx, "1", 1, 0);
        send(sy, "2", 1, 0);
        EXPECT_OK("y reconnects to z", connect(sy, (struct sockaddr *)&z, zl));
        EXPECT_ERR("x: the reset comes before its queued datagram", recv(sx, buf, sizeof buf, MSG_DONTWAIT), ECONNRESET);
        EXPECT_ERR("x: then the datagram", recv(sx, buf, sizeof buf, MSG_DONTWAIT), 0);
        EXPECT_ERR("y: its queue was dropped", recv(sy, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
        close(sx); close(sy); close(sz2);
        unlink(x.sun_path); unlink(y.sun_path); unlink(z.sun_path);
    }

    /* a receiver that is not connected back has a queue limit */
    int lim = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un l;
    socklen_t ll = mkpath(&l, "limit");
    bind(lim, (struct sockaddr *)&l, ll);
    int snd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int count = 0;
    long r;
    while ((r = sendto(snd, "q", 1, 0, (struct sockaddr *)&l, ll)) == 1 && count < 100000) count++;
    printf("queue full: %s\n", r < 0 ? errname(errno) : "no");
    CHECK("between 11 and 1000 queued", count >= 11 && count <= 1000);
    connect(snd, (struct sockaddr *)&l, ll);
    printf("poll sender to a full queue: %#x\n", pollone(snd));
    recv(lim, buf, sizeof buf, 0);
    recv(lim, buf, sizeof buf, 0);
    printf("poll after two reads: %#x\n", pollone(snd));
    close(lim); close(snd);

    /* size limits */
    int sz[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sz);
    int v = 8192;
    setsockopt(sz[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    static char big[32768];
    EXPECT_ERR("datagram of sndbuf - 32", send(sz[0], big, 16384 - 32, 0), 0);
    EXPECT_ERR("datagram over sndbuf - 32", send(sz[0], big, 16384 - 31, 0), EMSGSIZE);
    EXPECT_ERR("receive it whole", recv(sz[1], big, sizeof big, 0), 0);
    close(sz[0]); close(sz[1]);

    /* SO_PASSCRED: credentials on every datagram, autobind of the sender */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int on = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    send(sv[0], "cred", 4, 0);
    union { char b[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr h; } u;
    struct iovec io = {buf, sizeof buf};
    memset(&m, 0, sizeof m);
    m.msg_iov = &io; m.msg_iovlen = 1; m.msg_control = u.b; m.msg_controllen = sizeof u.b;
    EXPECT_ERR("recvmsg with SO_PASSCRED", recvmsg(sv[1], &m, 0), 0);
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    CHECK("SCM_CREDENTIALS", h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len == CMSG_LEN(sizeof(struct ucred)));
    struct ucred uc;
    if (h) memcpy(&uc, CMSG_DATA(h), sizeof uc);
    CHECK("our pid, uid, gid", h && uc.pid == getpid() && uc.uid == getuid() && uc.gid == getgid());
    printf("controllen %d flags %#x\n", (int)m.msg_controllen, m.msg_flags);
    send(sv[0], "cred", 4, 0);
    m.msg_control = NULL; m.msg_controllen = 0;
    EXPECT_ERR("recvmsg without control buffer", recvmsg(sv[1], &m, 0), 0);
    CHECK("MSG_CTRUNC", m.msg_flags & MSG_CTRUNC);
    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    send(sv[0], "x", 1, 0);
    struct sockaddr_un an;
    socklen_t anl = sizeof an;
    getsockname(sv[0], (struct sockaddr *)&an, &anl);
    CHECK("sending with SO_PASSCRED autobinds", anl == 8 && an.sun_path[0] == 0);
    close(sv[0]); close(sv[1]);

    /* SO_PEEK_OFF on datagrams: a peek past a datagram moves on to the next one */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int po = 0;
    socklen_t pol = sizeof po;
    setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &po, sizeof po);
    send(sv[0], "one", 3, 0);
    send(sv[0], "two", 3, 0);
    memset(buf, 0, sizeof buf);
    EXPECT_ERR("peek 2 of the first", recv(sv[1], buf, 2, MSG_PEEK), 0);
    EXPECT_ERR("peek the rest of it", recv(sv[1], buf + 2, sizeof buf, MSG_PEEK), 0);
    EXPECT_ERR("peek the second", recv(sv[1], buf + 3, sizeof buf, MSG_PEEK), 0);
    printf("peeked %s\n", buf);
    getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &po, &pol);
    printf("offset %d\n", po);
    EXPECT_ERR("nothing past the last", recv(sv[1], buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT), EAGAIN);
    EXPECT_ERR("read the first", recv(sv[1], buf, sizeof buf, 0), 0);
    getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &po, &pol);
    printf("offset %d\n", po);
    close(sv[0]); close(sv[1]);

    /* sendmmsg / recvmmsg */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct mmsghdr mm[3];
    struct iovec mi[3] = {{"one", 3}, {"two!", 4}, {"three", 5}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) { mm[i].msg_hdr.msg_iov = &mi[i]; mm[i].msg_hdr.msg_iovlen = 1; }
    EXPECT_ERR("sendmmsg 3", sendmmsg(sv[0], mm, 3, 0), 0);
    printf("msg_len %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char rb[3][8];
    struct iovec ri[3] = {{rb[0], 8}, {rb[1], 8}, {rb[2], 2}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) { mm[i].msg_hdr.msg_iov = &ri[i]; mm[i].msg_hdr.msg_iovlen = 1; }
    EXPECT_ERR("recvmmsg DONTWAIT", recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL), 0);
    printf("msg_len %u %u %u, third truncated %d\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len, !!(mm[2].msg_hdr.msg_flags & MSG_TRUNC));
    send(sv[0], "w1", 2, 0);
    EXPECT_ERR("recvmmsg WAITFORONE", recvmmsg(sv[1], mm, 3, MSG_WAITFORONE, NULL), 0);
    EXPECT_ERR("recvmmsg empty", recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL), EAGAIN);
    EXPECT_ERR("sendmmsg vlen 0", sendmmsg(sv[0], mm, 0, 0), 0);
    close(sv[0]); close(sv[1]);

    unlink(a.sun_path); unlink(b.sun_path); unlink(c.sun_path); unlink(l.sun_path);
    close(sa); close(sb); close(sc); close(anon);
    return finish();
}
