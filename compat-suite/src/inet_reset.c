/* TCP connections reset, half-closed and timed out over the loopback, as Linux reports them:
 * RST on close with unread data (poll bits, ECONNRESET then EOF, EPIPE), the order of
 * ECONNRESET and EPIPE on writes after a reset, writing to a peer that has closed (EPIPE
 * from its RST in CLOSE_WAIT), a listener closed with connections not yet accepted,
 * shutdown(SHUT_RD) with data before and after, write after SHUT_WR, SO_RCVTIMEO and
 * SO_SNDTIMEO ending in EAGAIN after the timeout, IP_RECVERR on an unconnected UDP
 * socket (port unreachable reported as ECONNREFUSED only with it), and the source address
 * a UDP connect fixes. */
#include "compat.h"
#include "compat_inet.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

static int listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(0);
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0) { perror("listen"); exit(2); }
    getsockname(s, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return s;
}

/* A connected pair over the loopback: *c the client end, *s the accepted end. */
static void pair(int l, int port, int *c, int *s)
{
    *c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port);
    if (connect(*c, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(2); }
    *s = accept(l, NULL, NULL);
    if (*s < 0) { perror("accept"); exit(2); }
}

/* Waits (up to 5 s) until fd reports one of the events (POLLERR/POLLHUP always count). */
static int wait_for(int fd, short events)
{
    struct pollfd p = { fd, events, 0 };
    return poll(&p, 1, 5000) == 1 ? p.revents : 0;
}

static void show_poll(const char *label, int fd)
{
    struct pollfd p = { fd, POLLIN | POLLOUT | POLLRDHUP, 0 };
    poll(&p, 1, 0);
    printf("%s: in=%d out=%d err=%d hup=%d rdhup=%d\n", label, !!(p.revents & POLLIN), !!(p.revents & POLLOUT),
           !!(p.revents & POLLERR), !!(p.revents & POLLHUP), !!(p.revents & POLLRDHUP));
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int port, c, s, v;
    socklen_t vl;
    char buf[256];
    int l = listener(&port);

    /* 1. Close with unread data sends a RST: the peer sees POLLERR|POLLHUP, ECONNRESET once
     *    from read, then end of file, and EPIPE on write. */
    pair(l, port, &c, &s);
    write(c, "unread", 6);
    wait_for(s, POLLIN);
    close(s);
    wait_for(c, 0);
    show_poll("after RST (unread data)", c);
    v = -1; vl = sizeof v;
    EXPECT_ERR("read after RST", read(c, buf, sizeof buf), ECONNRESET);
    EXPECT_ERR("read again", read(c, buf, sizeof buf), 0);
    EXPECT_ERR("write after RST", write(c, "x", 1), EPIPE);
    getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl);
    printf("SO_ERROR after: %s\n", errname(v));
    close(c);

    /* 2. After a RST, a write reports ECONNRESET first, then EPIPE; SO_ERROR is consumed. */
    pair(l, port, &c, &s);
    write(c, "unread", 6);
    wait_for(s, POLLIN);
    close(s);
    wait_for(c, 0);
    EXPECT_ERR("first write after RST", write(c, "x", 1), ECONNRESET);
    EXPECT_ERR("second write after RST", write(c, "x", 1), EPIPE);
    EXPECT_ERR("read after the writes", read(c, buf, sizeof buf), 0);
    close(c);

    /* 2b. SO_ERROR reads the reset and clears it: the next read is end of file. */
    pair(l, port, &c, &s);
    write(c, "unread", 6);
    wait_for(s, POLLIN);
    close(s);
    wait_for(c, 0);
    v = -1; vl = sizeof v;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl);
    printf("SO_ERROR after RST: %s\n", errname(v));
    v = -1; vl = sizeof v;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl);
    printf("SO_ERROR again: %s\n", errname(v));
    EXPECT_ERR("read after SO_ERROR", read(c, buf, sizeof buf), 0);
    close(c);

    /* 3. The peer closed normally (FIN, nothing unread): our first write is accepted, the
     *    peer answers it with a RST, and in CLOSE_WAIT that reset is EPIPE. */
    pair(l, port, &c, &s);
    close(s);
    wait_for(c, POLLIN);
    show_poll("after FIN", c);
    EXPECT_ERR("read at FIN", read(c, buf, sizeof buf), 0);
    EXPECT_ERR("write to a closed peer", write(c, "late", 4), 0);
    wait_for(c, 0);
    show_poll("after the peer's RST", c);
    EXPECT_ERR("write after the peer's RST", write(c, "x", 1), EPIPE);
    EXPECT_ERR("write again", write(c, "x", 1), EPIPE);
    EXPECT_ERR("read after the peer's RST", read(c, buf, sizeof buf), 0);
    close(c);

    /* 4. A listener closed with a connection it never accepted resets it. */
    {
        int p2, l2 = listener(&p2);
        c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = lo4(p2);
        EXPECT_OK("connect to a listener", connect(c, (struct sockaddr *)&a, sizeof a));
        write(c, "queued", 6);
        close(l2);
        wait_for(c, 0);
        show_poll("after the listener closed", c);
        EXPECT_ERR("read from an unaccepted connection", read(c, buf, sizeof buf), ECONNRESET);
        close(c);
    }

    /* 5. Half-close: our SHUT_WR makes our writes EPIPE, the peer reads EOF and can still
     *    answer; SHUT_RD makes reads return what is queued, then 0, and data that comes
     *    after it is still readable on Linux's TCP. */
    pair(l, port, &c, &s);
    EXPECT_OK("shutdown SHUT_WR", shutdown(c, SHUT_WR));
    EXPECT_ERR("write after SHUT_WR", write(c, "x", 1), EPIPE);
    wait_for(s, POLLIN);
    EXPECT_ERR("peer read after SHUT_WR", read(s, buf, sizeof buf), 0);
    EXPECT_ERR("peer answers", write(s, "answer", 6), 0);
    wait_for(c, POLLIN);
    EXPECT_ERR("read the answer", read(c, buf, sizeof buf), 0);
    EXPECT_OK("shutdown SHUT_WR twice", shutdown(c, SHUT_WR));
    close(s);
    wait_for(c, POLLRDHUP);
    show_poll("both directions closed", c);
    EXPECT_ERR("read at end", read(c, buf, sizeof buf), 0);
    close(c);

    pair(l, port, &c, &s);
    write(s, "before", 6);
    wait_for(c, POLLIN);
    EXPECT_OK("shutdown SHUT_RD", shutdown(c, SHUT_RD));
    show_poll("after SHUT_RD", c);
    EXPECT_ERR("read queued data after SHUT_RD", read(c, buf, sizeof buf), 0);
    EXPECT_ERR("read after SHUT_RD, nothing queued", read(c, buf, sizeof buf), 0);
    EXPECT_ERR("peer writes after SHUT_RD", write(s, "after", 5), 0);
    usleep(50000);
    EXPECT_ERR("read data sent after SHUT_RD", recv(c, buf, sizeof buf, MSG_DONTWAIT), 0);
    EXPECT_ERR("write after own SHUT_RD", write(c, "ok", 2), 0);
    wait_for(s, POLLIN);
    EXPECT_ERR("peer reads it", read(s, buf, sizeof buf), 0);
    EXPECT_ERR("shutdown with a bad how", shutdown(c, 3), EINVAL);
    close(c);
    close(s);

    /* 6. SO_RCVTIMEO: read and accept give EAGAIN after the timeout; SO_SNDTIMEO: a write
     *    into a full send buffer gives EAGAIN after it. */
    pair(l, port, &c, &s);
    struct timeval tv = { 0, 200000 }, tg;   /* a whole number of jiffies at HZ 100, 250 and 1000 */
    EXPECT_OK("SO_RCVTIMEO", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    vl = sizeof tg;
    getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tg, &vl);
    printf("SO_RCVTIMEO reads back: %ld.%06ld\n", (long)tg.tv_sec, (long)tg.tv_usec);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ERR("read with SO_RCVTIMEO", read(c, buf, sizeof buf), EAGAIN);
    CHECK("waited the timeout", ms_since(&t0) >= 190);
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ERR("accept with SO_RCVTIMEO", accept(l, NULL, NULL), EAGAIN);
    CHECK("accept waited the timeout", ms_since(&t0) >= 190);
    struct timeval zero = { 0, 0 };
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
    struct timeval bad = { 0, 1000000 };
    EXPECT_ERR("SO_SNDTIMEO with tv_usec 1000000", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &bad, sizeof bad), EDOM);
    EXPECT_ERR("SO_SNDTIMEO too short", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv - 1), EINVAL);
    EXPECT_OK("SO_SNDTIMEO", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    /* fill the send buffer (the peer reads nothing) without blocking, then write blocking */
    fcntl(c, F_SETFL, O_NONBLOCK);
    static char chunk[65536];
    long filled = 0, w;
    while ((w = write(c, chunk, sizeof chunk)) > 0) filled += w;
    printf("filled until: %s\n", errname(errno));
    fcntl(c, F_SETFL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_ERR("write with SO_SNDTIMEO into a full buffer", write(c, chunk, sizeof chunk), EAGAIN);
    CHECK("write waited the timeout", ms_since(&t0) >= 190);
    CHECK("filled more than 64 KiB", filled > 65536);
    close(c);
    close(s);

    /* 7. IP_RECVERR: an unconnected UDP socket hears of port unreachable only with it. */
    {
        int u = socket(AF_INET, SOCK_DGRAM, 0), dead = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = lo4(0), b = lo4(0);
        socklen_t al = sizeof a;
        bind(dead, (struct sockaddr *)&a, sizeof a);
        getsockname(dead, (struct sockaddr *)&a, &al);
        close(dead);                                          /* its port is now closed */
        bind(u, (struct sockaddr *)&b, sizeof b);
        v = -1; vl = sizeof v;
        getsockopt(u, SOL_IP, IP_RECVERR, &v, &vl);
        printf("IP_RECVERR default: %d\n", v);
        sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
        usleep(50000);
        EXPECT_ERR("unconnected recv without IP_RECVERR", recv(u, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
        int one = 1;
        EXPECT_OK("set IP_RECVERR", setsockopt(u, SOL_IP, IP_RECVERR, &one, sizeof one));
        v = -1; vl = sizeof v;
        getsockopt(u, SOL_IP, IP_RECVERR, &v, &vl);
        printf("IP_RECVERR set: %d\n", v);
        sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
        usleep(50000);
        EXPECT_ERR("unconnected recv with IP_RECVERR", recv(u, buf, sizeof buf, MSG_DONTWAIT), ECONNREFUSED);
        EXPECT_ERR("then nothing", recv(u, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
        close(u);
        int t = socket(AF_INET, SOCK_STREAM, 0);
        EXPECT_OK("IP_RECVERR on TCP", setsockopt(t, SOL_IP, IP_RECVERR, &one, sizeof one));
        EXPECT_ERR("IPV6_RECVERR on an AF_INET socket", setsockopt(t, SOL_IPV6, IPV6_RECVERR, &one, sizeof one), ENOPROTOOPT);
        close(t);
        int t6 = socket(AF_INET6, SOCK_DGRAM, 0);
        EXPECT_OK("IPV6_RECVERR on AF_INET6", setsockopt(t6, SOL_IPV6, IPV6_RECVERR, &one, sizeof one));
        v = -1; vl = sizeof v;
        getsockopt(t6, SOL_IPV6, IPV6_RECVERR, &v, &vl);
        printf("IPV6_RECVERR set: %d\n", v);
        close(t6);
    }
    /* 8. A UDP connect fixes the source address (resolvers sort answers by it) and
     *    connecting to AF_UNSPEC frees it again. */
    {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = lo4(9), me;
        socklen_t ml = sizeof me;
        EXPECT_OK("udp connect", connect(u, (struct sockaddr *)&a, sizeof a));
        getsockname(u, (struct sockaddr *)&me, &ml);
        printf("udp source after connect: %s, port set: %d\n", inet_ntoa(me.sin_addr), me.sin_port != 0);
        struct sockaddr un = { .sa_family = AF_UNSPEC };
        EXPECT_OK("udp connect AF_UNSPEC", connect(u, &un, sizeof un));
        ml = sizeof me;
        getsockname(u, (struct sockaddr *)&me, &ml);
        printf("udp source after dissolving: %s, port kept: %d\n", inet_ntoa(me.sin_addr), me.sin_port != 0);
        close(u);
    }
    close(l);
    return finish();
}
