/* TCP urgent data (MSG_OOB) over the loopback, one thread: the urgent byte out of band and
 * its mark in the stream (reads stop at it, SIOCATMARK), MSG_PEEK, SO_OOBINLINE, a second
 * mark replacing the first, POLLPRI / select's exceptfds / EPOLLPRI, SIGURG to the
 * F_SETOWN owner (process, group, thread), the urgent pointer arriving before its byte
 * (EAGAIN), and the error cases. Every wait is for an event (with a generous limit). */
#include "compat.h"
#include "compat_inet.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>

#ifndef SIOCATMARK
#define SIOCATMARK 0x8905
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ 0x5411
#endif

static volatile sig_atomic_t urgs;
static void on_urg(int sig) { (void)sig; urgs++; }

/* A connected pair over 127.0.0.1: *tx the client, *rx the accepted end (non-blocking).
 * rcvbuf/sndbuf (0: default) are set on the listener and the client before connecting. */
static void pair_bufs(int *tx, int *rx, int rcvbuf, int sndbuf)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(0);
    socklen_t len = sizeof a;
    if (rcvbuf) setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4) < 0) { perror("listen"); exit(2); }
    getsockname(l, (struct sockaddr *)&a, &len);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (sndbuf) setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(2); }
    int s = accept(l, NULL, NULL);
    if (s < 0) { perror("accept"); exit(2); }
    close(l);
    fcntl(s, F_SETFL, O_NONBLOCK);
    *tx = c; *rx = s;
}

static void pair(int *tx, int *rx) { pair_bufs(tx, rx, 0, 0); }

static int inq(int fd) { int n = -1; ioctl(fd, FIONREAD, &n); return n; }
static int atmark(int fd) { int n = -1; return ioctl(fd, SIOCATMARK, &n) < 0 ? -1 : n; }

/* Waits (up to 10 s) until the peer acknowledged everything `fd` sent (SIOCOUTQ 0):
 * all of it has arrived. (FIONREAD cannot tell: it stops at the urgent mark.) */
static void settle(int fd)
{
    int n = -1;
    for (int i = 0; i < 10000 && (ioctl(fd, SIOCOUTQ, &n) < 0 || n != 0); i++) usleep(1000);
}

/* Waits (up to 10 s) for `events` on fd; returns the readiness of interest. */
static int wait_ev(int fd, short events)
{
    struct pollfd p = { fd, events, 0 };
    poll(&p, 1, 10000);
    return p.revents & (POLLIN | POLLPRI | POLLERR | POLLHUP);
}

static int ready(int fd)
{
    struct pollfd p = { fd, POLLIN | POLLPRI, 0 };
    poll(&p, 1, 0);
    return p.revents & (POLLIN | POLLPRI | POLLERR | POLLHUP);
}

static const char *evname(int ev)
{
    static char b[64];
    b[0] = 0;
    if (ev & POLLIN) strcat(b, "IN ");
    if (ev & POLLPRI) strcat(b, "PRI ");
    if (ev & POLLERR) strcat(b, "ERR ");
    if (ev & POLLHUP) strcat(b, "HUP ");
    if (!b[0]) strcpy(b, "none");
    return b;
}

/* Prints what a read returns: the bytes or the errno. */
static void show_read(const char *label, int fd, int flags)
{
    char buf[128];
    ssize_t n = recv(fd, buf, sizeof buf - 1, flags);
    if (n < 0) printf("%s: %s\n", label, errname(errno));
    else { buf[n] = 0; printf("%s: %zd \"%s\"\n", label, n, buf); }
}

/* recvmsg with MSG_OOB (plus `flags`): the byte, the count and msg_flags' OOB/TRUNC bits. */
static void show_oob(const char *label, int fd, int flags, size_t len)
{
    char c = '?';
    struct iovec v = { &c, len };
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &v; m.msg_iovlen = 1;
    ssize_t n = recvmsg(fd, &m, MSG_OOB | flags);
    if (n < 0) { printf("%s: %s\n", label, errname(errno)); return; }
    printf("%s: %zd '%c'%s%s\n", label, n, n > 0 ? c : '-', m.msg_flags & MSG_OOB ? " MSG_OOB" : "",
           m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "");
}

static void basic(void)
{
    int a, b;
    pair(&a, &b);
    int v = -1; socklen_t vl = sizeof v;
    getsockopt(b, SOL_SOCKET, SO_OOBINLINE, &v, &vl);
    printf("SO_OOBINLINE default: %d\n", v);
    send(a, "abc", 3, 0);
    send(a, "d", 1, MSG_OOB);
    send(a, "efg", 3, 0);
    settle(a);
    wait_ev(b, POLLPRI);
    printf("FIONREAD (up to the mark): %d\n", inq(b));
    printf("poll: %s\n", evname(ready(b)));
    printf("at mark: %d\n", atmark(b));
    show_oob("recv OOB|PEEK", b, MSG_PEEK, 1);
    show_oob("recv OOB|PEEK, no room", b, MSG_PEEK, 0);
    show_oob("recv OOB|TRUNC", b, MSG_TRUNC | MSG_PEEK, 1);
    show_oob("recv OOB", b, 0, 1);
    show_oob("recv OOB again", b, 0, 1);
    printf("poll after OOB read: %s\n", evname(ready(b)));
    show_read("read (stops at the mark)", b, 0);
    printf("at mark: %d\n", atmark(b));
    printf("FIONREAD at mark: %d\n", inq(b));
    show_read("read after the mark", b, 0);
    printf("at mark: %d\n", atmark(b));
    show_read("read, empty", b, 0);
    close(a); close(b);
}

static void unread_mark(void)
{
    int a, b;
    pair(&a, &b);
    send(a, "hello", 5, 0);
    send(a, "X", 1, MSG_OOB);
    send(a, "world", 5, 0);
    settle(a);
    wait_ev(b, POLLPRI);
    char buf[32];
    ssize_t n = recv(b, buf, sizeof buf, MSG_WAITALL);
    printf("MSG_WAITALL stops at the mark: %zd \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
    printf("at mark: %d, poll: %s\n", atmark(b), evname(ready(b)));
    show_read("peek skips the urgent byte", b, MSG_PEEK);
    printf("at mark after peek: %d\n", atmark(b));
    show_read("read skips it", b, 0);
    printf("at mark: %d, poll: %s\n", atmark(b), evname(ready(b)));
    show_oob("recv OOB once read past", b, 0, 1);
    close(a); close(b);

    /* Only the urgent byte: not readable, and a read at the mark loses it. */
    pair(&a, &b);
    send(a, "!", 1, MSG_OOB);
    settle(a);
    wait_ev(b, POLLPRI);
    printf("lone urgent byte: at mark %d, FIONREAD %d, poll %s\n", atmark(b), inq(b), evname(ready(b)));
    show_read("peek at the lone mark", b, MSG_PEEK);
    printf("still at mark: %d\n", atmark(b));
    show_read("read at the lone mark", b, 0);
    printf("after: at mark %d, FIONREAD %d, poll %s\n", atmark(b), inq(b), evname(ready(b)));
    show_oob("recv OOB after losing it", b, 0, 1);
    send(a, "z", 1, 0);
    settle(a);
    show_read("next data", b, 0);
    close(a); close(b);
}

static void inline_mode(void)
{
    int a, b;
    pair(&a, &b);
    int on = 1, v = -1;
    socklen_t vl = sizeof v;
    printf("set SO_OOBINLINE: %s\n", compat_res(setsockopt(b, SOL_SOCKET, SO_OOBINLINE, &on, sizeof on)));
    getsockopt(b, SOL_SOCKET, SO_OOBINLINE, &v, &vl);
    printf("SO_OOBINLINE: %d\n", v);
    send(a, "ab", 2, 0);
    send(a, "cd", 2, MSG_OOB);
    send(a, "ef", 2, 0);
    settle(a);
    wait_ev(b, POLLPRI);
    printf("inline: poll %s, at mark %d\n", evname(ready(b)), atmark(b));
    show_oob("inline recv OOB", b, 0, 1);
    show_read("inline read", b, 0);
    printf("at mark: %d, poll %s\n", atmark(b), evname(ready(b)));
    show_read("inline read through the mark", b, 0);
    printf("at mark: %d, poll %s\n", atmark(b), evname(ready(b)));
    close(a); close(b);

    /* Turned on while a byte waits: it stays in the stream. */
    pair(&a, &b);
    send(a, "xy", 2, MSG_OOB);
    settle(a);
    wait_ev(b, POLLPRI);
    setsockopt(b, SOL_SOCKET, SO_OOBINLINE, &on, sizeof on);
    show_oob("recv OOB after SO_OOBINLINE", b, 0, 1);
    show_read("read x", b, 0);
    show_read("read y inline", b, 0);
    close(a); close(b);
}

static void two_marks(void)
{
    int a, b;
    pair(&a, &b);
    send(a, "ab", 2, MSG_OOB);
    settle(a);
    send(a, "cd", 2, MSG_OOB);
    send(a, "e", 1, 0);
    settle(a);
    wait_ev(b, POLLPRI);
    show_oob("second mark's byte", b, 0, 1);
    show_read("the first urgent byte is data now", b, 0);
    printf("at mark: %d\n", atmark(b));
    show_read("after the second mark", b, 0);
    close(a); close(b);

    /* A new mark while the old one is next to read: the old byte leaves the stream. */
    pair(&a, &b);
    send(a, "x", 1, MSG_OOB);
    settle(a);
    wait_ev(b, POLLPRI);
    send(a, "y", 1, MSG_OOB);
    settle(a);
    printf("replaced mark: FIONREAD %d, at mark %d\n", inq(b), atmark(b));
    show_oob("recv OOB", b, 0, 1);
    show_read("read", b, 0);
    close(a); close(b);
}

static void readiness(void)
{
    int a, b;
    pair(&a, &b);
    int ep = epoll_create1(0);
    struct epoll_event e = { .events = EPOLLIN | EPOLLPRI, .data.fd = b }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, b, &e);
    printf("epoll, nothing: %d\n", epoll_wait(ep, &out, 1, 0));
    send(a, "pq", 2, MSG_OOB);
    settle(a);
    int n = epoll_wait(ep, &out, 1, 10000);
    printf("epoll: %d%s%s\n", n, n > 0 && (out.events & EPOLLIN) ? " EPOLLIN" : "", n > 0 && (out.events & EPOLLPRI) ? " EPOLLPRI" : "");
    fd_set r, x;
    FD_ZERO(&r); FD_ZERO(&x); FD_SET(b, &r); FD_SET(b, &x);
    struct timeval tv = { 0, 0 };
    n = select(b + 1, &r, NULL, &x, &tv);
    printf("select: %d read %d except %d\n", n, FD_ISSET(b, &r) ? 1 : 0, FD_ISSET(b, &x) ? 1 : 0);
    show_oob("recv OOB", b, 0, 1);
    n = epoll_wait(ep, &out, 1, 0);
    printf("epoll after: %d%s%s\n", n, n > 0 && (out.events & EPOLLIN) ? " EPOLLIN" : "", n > 0 && (out.events & EPOLLPRI) ? " EPOLLPRI" : "");
    FD_ZERO(&r); FD_ZERO(&x); FD_SET(b, &r); FD_SET(b, &x);
    n = select(b + 1, &r, NULL, &x, &tv);
    printf("select after: %d read %d except %d\n", n, FD_ISSET(b, &r) ? 1 : 0, FD_ISSET(b, &x) ? 1 : 0);
    close(ep); close(a); close(b);
}

/* Waits (up to 10 s) for the SIGURG count to pass `n`. */
static int wait_urg(int n)
{
    for (int i = 0; i < 10000 && urgs <= n; i++) usleep(1000);
    return urgs;
}

static void sigurg(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_urg;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGURG, &sa, NULL);
    setpgid(0, 0);
    int a, b;
    pair(&a, &b);
    printf("F_GETOWN unset: %d\n", fcntl(b, F_GETOWN));
    send(a, "1", 1, MSG_OOB);
    settle(a);
    wait_ev(b, POLLPRI);
    printf("no owner: SIGURGs %d\n", (int)urgs);
    printf("F_SETOWN self: %s\n", compat_res(fcntl(b, F_SETOWN, getpid())));
    printf("F_GETOWN is self: %d\n", fcntl(b, F_GETOWN) == getpid());
    send(a, "2", 1, MSG_OOB);
    printf("owner: SIGURGs %d\n", wait_urg(0));
    show_oob("recv OOB", b, 0, 1);

    printf("F_SETOWN -pgrp: %s\n", compat_res(fcntl(b, F_SETOWN, -getpgrp())));
    printf("F_GETOWN is -pgrp: %d\n", fcntl(b, F_GETOWN) == -getpgrp());
    struct f_owner_ex ex = { 0, 0 };
    fcntl(b, F_GETOWN_EX, &ex);
    printf("F_GETOWN_EX: type %s, id is pgrp %d\n", ex.type == F_OWNER_PGRP ? "F_OWNER_PGRP" : "?", ex.pid == getpgrp());
    send(a, "3", 1, MSG_OOB);
    printf("group owner: SIGURGs %d\n", wait_urg(1));

    ex.type = F_OWNER_TID; ex.pid = (pid_t)syscall(SYS_gettid);
    printf("F_SETOWN_EX tid: %s\n", compat_res(fcntl(b, F_SETOWN_EX, &ex)));
    struct f_owner_ex got = { -1, -1 };
    fcntl(b, F_GETOWN_EX, &got);
    printf("F_GETOWN_EX: type %s, id is tid %d\n", got.type == F_OWNER_TID ? "F_OWNER_TID" : "?", got.pid == ex.pid);
    send(a, "4", 1, MSG_OOB);
    printf("thread owner: SIGURGs %d\n", wait_urg(2));
    /* The same urgent pointer seen again (a plain segment before it is acknowledged)
     * is no new mark: SIGURG once per send. */
    send(a, "5", 1, 0);
    settle(a);
    printf("plain data after: SIGURGs %d\n", (int)urgs);

    ex.type = 7;
    printf("F_SETOWN_EX bad type: %s\n", compat_res(fcntl(b, F_SETOWN_EX, &ex)));
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    printf("F_SETOWN reaped pid: %s\n", compat_res(fcntl(b, F_SETOWN, child)));
    printf("F_SETOWN 0: %s\n", compat_res(fcntl(b, F_SETOWN, 0)));
    printf("F_GETOWN: %d\n", fcntl(b, F_GETOWN));
    send(a, "6", 1, MSG_OOB);
    settle(a);
    wait_ev(b, POLLPRI);
    printf("owner cleared: SIGURGs %d\n", (int)urgs);
    close(a); close(b);
}

/* The urgent pointer reaches the receiver before its byte: the sender's data fills the
 * receiver's window and the urgent byte waits behind it; the sender's next segment (the
 * ACK of a byte the receiver sends) carries the pointer. SIGURG comes, recv(MSG_OOB) says
 * EAGAIN, and the byte arrives as the receiver reads. */
static void pointer_first(void)
{
    enum { N = 40000 };
    int a, b;
    pair_bufs(&a, &b, 4096, 262144);
    fcntl(b, F_SETOWN, getpid());
    int base = urgs;
    static char big[N];
    memset(big, 'q', sizeof big);
    fcntl(a, F_SETFL, O_NONBLOCK);
    ssize_t put = send(a, big, N, 0);
    printf("queued: %zd\n", put);
    printf("urgent send: %zd\n", send(a, "!", 1, MSG_OOB));
    send(b, "k", 1, 0);
    printf("pointer first: SIGURG %d\n", wait_urg(base) - base);
    printf("at mark %d, poll %s\n", atmark(b), (ready(b) & POLLPRI) ? "PRI" : "no PRI");
    show_oob("recv OOB before the byte", b, 0, 1);
    long got = 0;
    char buf[4096];
    for (int i = 0; i < 20000 && got < N; i++) {
        ssize_t n = read(b, buf, sizeof buf);
        if (n > 0) got += n;
        else if (n < 0 && errno == EAGAIN) wait_ev(b, POLLIN);
        else break;
    }
    printf("read before the mark: %ld\n", got);
    wait_ev(b, POLLPRI);
    printf("at mark %d\n", atmark(b));
    show_oob("recv OOB", b, 0, 1);
    printf("SIGURGs for it: %d\n", (int)urgs - base);
    close(a); close(b);
}

static void errors(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    char c;
    EXPECT_ERR("recv OOB unconnected", recv(l, &c, 1, MSG_OOB), EINVAL);
    EXPECT_ERR("send OOB unconnected", send(l, "x", 1, MSG_OOB | MSG_NOSIGNAL), EPIPE);
    EXPECT_ERR("SIOCATMARK unconnected", atmark(l), 0);
    struct sockaddr_in a = lo4(0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 1);
    EXPECT_ERR("recv OOB listening", recv(l, &c, 1, MSG_OOB), ENOTCONN);
    EXPECT_ERR("SIOCATMARK listening", atmark(l), 0);
    close(l);

    int a2, b2;
    pair(&a2, &b2);
    EXPECT_ERR("recv OOB, none sent", recv(b2, &c, 1, MSG_OOB), EINVAL);
    EXPECT_ERR("send OOB, nothing", send(a2, "", 0, MSG_OOB), 0);
    EXPECT_ERR("recv OOB after an empty OOB send", recv(b2, &c, 1, MSG_OOB), EINVAL);
    send(a2, "u", 1, MSG_OOB);
    settle(a2);
    wait_ev(b2, POLLPRI);
    shutdown(a2, SHUT_WR);
    wait_ev(b2, POLLIN | POLLRDHUP);
    show_oob("recv OOB after the peer's FIN", b2, 0, 1);
    show_read("read at the mark before EOF", b2, 0);
    close(a2); close(b2);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_ERR("UDP recv OOB (ignored)", recv(u, &c, 1, MSG_OOB | MSG_DONTWAIT), EAGAIN);
    struct sockaddr_in to = lo4(9);
    EXPECT_ERR("UDP send OOB", sendto(u, "x", 1, MSG_OOB, (struct sockaddr *)&to, sizeof to), EOPNOTSUPP);
    int m = -1;
    EXPECT_ERR("UDP SIOCATMARK", ioctl(u, SIOCATMARK, &m), ENOTTY);
    close(u);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    printf("-- basic\n"); basic();
    printf("-- marks\n"); unread_mark();
    printf("-- SO_OOBINLINE\n"); inline_mode();
    printf("-- two marks\n"); two_marks();
    printf("-- readiness\n"); readiness();
    printf("-- SIGURG\n"); sigurg();
    printf("-- pointer before byte\n"); pointer_first();
    printf("-- errors\n"); errors();
    return 0;
}
