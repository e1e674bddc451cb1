/* AF_INET over the loopback: a TCP client and server in two threads (data both ways,
 * half-close, a 1 MiB transfer with a checksum, reset by SO_LINGER 0), ECONNREFUSED,
 * EADDRINUSE, non-blocking connect, readiness, options and the UDP basics. */
#include "compat.h"
#include "compat_inet.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

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

static int port_a;
#define BIG (1 << 20)

static unsigned sum(const unsigned char *p, size_t n, unsigned s) { for (size_t i = 0; i < n; i++) s = s * 31 + p[i]; return s; }

static ssize_t readall(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) { ssize_t r = read(fd, (char *)buf + got, n - got); if (r <= 0) return r < 0 ? r : (ssize_t)got; got += r; }
    return got;
}

/* The client thread writes its lines here; main prints them after the join (one thread
 * does all the stdio). */
static char client_log[512];
static int client_len;
#define CLOG(...) (client_len += snprintf(client_log + client_len, sizeof client_log - client_len, __VA_ARGS__))

static void *client(void *arg)
{
    (void)arg;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(port_a);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) { CLOG("connect: %s\n", errname(errno)); return NULL; }
    write(c, "hello", 5);
    char buf[64];
    ssize_t n = readall(c, buf, 5);
    CLOG("client got: %.*s\n", (int)n, buf);
    shutdown(c, SHUT_WR);                                 /* half-close: the server sees EOF */
    n = readall(c, buf, 3);
    CLOG("client got after half-close: %.*s\n", (int)n, buf);
    /* The big transfer: the server sends 1 MiB, we check its sum. */
    unsigned char *big = malloc(BIG);
    n = readall(c, big, BIG);
    CLOG("client big: %ld bytes, sum %08x\n", (long)n, sum(big, n > 0 ? n : 0, 7));
    n = read(c, buf, sizeof buf);
    CLOG("client read at end: %ld\n", (long)n);
    free(big);
    close(c);
    return NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    int l = listener(&port_a);
    int v = 0; socklen_t vl = sizeof v;
    getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
    printf("SO_ACCEPTCONN: %d\n", v);
    struct pollfd p = { l, POLLIN, 0 };
    printf("listener ready before connect: %d\n", poll(&p, 1, 0));

    pthread_t t;
    pthread_create(&t, NULL, client, NULL);
    struct sockaddr_in peer; socklen_t pl = sizeof peer;
    int s = accept(l, (struct sockaddr *)&peer, &pl);
    printf("accept: %s, peer %s, len %d\n", s >= 0 ? "OK" : errname(errno), inet_ntoa(peer.sin_addr), (int)pl);
    char buf[64];
    ssize_t n = readall(s, buf, 5);
    for (int i = 0; i < n; i++) buf[i] -= 32;
    write(s, buf, n);
    n = read(s, buf, sizeof buf);
    printf("server read after client's SHUT_WR: %ld\n", (long)n);
    p.fd = s; p.events = POLLIN | POLLRDHUP | POLLOUT;
    poll(&p, 1, 1000);
    printf("server poll after FIN: in=%d rdhup=%d out=%d hup=%d\n", !!(p.revents & POLLIN), !!(p.revents & POLLRDHUP), !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
    write(s, "bye", 3);
    unsigned char *big = malloc(BIG);
    for (int i = 0; i < BIG; i++) big[i] = (unsigned char)(i * 7 + i / 1000);
    printf("server big sum %08x\n", sum(big, BIG, 7));
    size_t off = 0;
    while (off < BIG) { ssize_t w = write(s, big + off, BIG - off); if (w <= 0) { perror("write"); break; } off += w; }
    free(big);
    close(s);
    pthread_join(t, NULL);
    fputs(client_log, stdout);

    /* Connection refused: a port nobody listens on. */
    int tmp = listener(&v);
    close(tmp);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo4(v);
    EXPECT_ERR("connect to a closed port", connect(c, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
    close(c);

    /* EADDRINUSE: the listener's port, with and without SO_REUSEADDR. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    a = lo4(port_a);
    EXPECT_ERR("bind to a listening port", bind(c, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    int one = 1;
    setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    EXPECT_ERR("bind to a listening port with SO_REUSEADDR", bind(c, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
    EXPECT_ERR("getpeername unconnected", getpeername(c, (struct sockaddr *)&a, &pl), ENOTCONN);
    EXPECT_ERR("send unconnected", send(c, "x", 1, 0), EPIPE);
    p.fd = c; p.events = POLLIN | POLLOUT; p.revents = 0;
    poll(&p, 1, 0);
    printf("fresh socket poll: in=%d out=%d hup=%d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT), !!(p.revents & POLLHUP));
    close(c);

    /* Non-blocking connect: EINPROGRESS, then writable with SO_ERROR 0. */
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = lo4(port_a);
    EXPECT_ERR("non-blocking connect", connect(c, (struct sockaddr *)&a, sizeof a), EINPROGRESS);
    p.fd = c; p.events = POLLOUT; p.revents = 0;
    printf("poll for the connection: %d\n", poll(&p, 1, 5000));
    v = -1; vl = sizeof v;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl);
    printf("SO_ERROR: %s\n", errname(v));
    EXPECT_ERR("connect again completes it", connect(c, (struct sockaddr *)&a, sizeof a), 0);
    EXPECT_ERR("connect a third time", connect(c, (struct sockaddr *)&a, sizeof a), EISCONN);
    s = accept(l, NULL, NULL);
    EXPECT_ERR("recv with nothing there", recv(s, buf, 1, MSG_DONTWAIT), EAGAIN);
    write(c, "12345", 5);
    usleep(20000);
    int avail = 0;
    ioctl(s, FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    printf("peek: %ld\n", (long)recv(s, buf, 2, MSG_PEEK));
    printf("read: %ld\n", (long)read(s, buf, sizeof buf));
    v = 0; vl = sizeof v;
    getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl);
    printf("TCP_NODELAY default: %d\n", v);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl);
    printf("TCP_NODELAY set: %d\n", v);
    vl = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl);
    printf("SO_TYPE: %d\n", v);
    struct tcp_info ti; vl = sizeof ti;
    getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &vl);
    printf("TCP_INFO state: %d\n", ti.tcpi_state);

    /* Reset: SO_LINGER 0 on close sends a RST; the peer's read gets ECONNRESET, then 0. */
    struct linger lg = { 1, 0 };
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
    p.fd = c; p.events = POLLIN; p.revents = 0;
    poll(&p, 1, 5000);
    printf("poll after reset: in=%d err=%d hup=%d\n", !!(p.revents & POLLIN), !!(p.revents & POLLERR), !!(p.revents & POLLHUP));
    EXPECT_ERR("read after reset", read(c, buf, 1), ECONNRESET);
    EXPECT_ERR("read again", read(c, buf, 1), 0);
    EXPECT_ERR("write after reset", write(c, "x", 1), EPIPE);
    close(c);
    close(l);

    /* UDP: sendto/recvfrom, truncation, and a connected socket to a closed port. */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    a = lo4(0);
    bind(u1, (struct sockaddr *)&a, sizeof a);
    pl = sizeof a;
    getsockname(u1, (struct sockaddr *)&a, &pl);
    EXPECT_OK("udp sendto", sendto(u2, "datagram", 8, 0, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in from; socklen_t fl = sizeof from;
    n = recvfrom(u1, buf, 4, MSG_TRUNC, (struct sockaddr *)&from, &fl);
    printf("udp recvfrom with MSG_TRUNC into 4 bytes: %ld (%.4s) from %s\n", (long)n, buf, inet_ntoa(from.sin_addr));
    EXPECT_ERR("udp nothing left", recv(u1, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close(u1);
    connect(u2, (struct sockaddr *)&a, sizeof a);          /* u1 is gone: its port is closed */
    send(u2, "x", 1, 0);
    usleep(20000);
    EXPECT_ERR("udp recv after port unreachable", recv(u2, buf, sizeof buf, MSG_DONTWAIT), ECONNREFUSED);
    close(u2);
    return finish();
}
