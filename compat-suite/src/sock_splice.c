/* Sockets with pipes and files: splice socket<->pipe, pipe<->file, pipe->pipe, tee,
 * sendfile file->socket, their argument errors; and close() with SO_LINGER: waits (up to
 * the timeout) while its data is not acknowledged, returns at once when it is. */
#include "compat.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* A connected pair over the loopback: *c the client, *s the accepted end. */
static void pair(int *c, int *s, int rcvbuf)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf) setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0) { perror("listen"); exit(2); }
    getsockname(l, (struct sockaddr *)&a, &len);
    *c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*c, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(2); }
    *s = accept(l, NULL, NULL);
    close(l);
}

static void show(const char *label, int fd, size_t n)
{
    char buf[128];
    ssize_t r = read(fd, buf, n < sizeof buf ? n : sizeof buf);
    printf("%s: %s [%.*s]\n", label, compat_res(r), r > 0 ? (int)r : 0, buf);
}

static void test_splice(void)
{
    int c, s, p[2], q[2];
    pair(&c, &s, 0);
    if (pipe(p) < 0 || pipe(q) < 0) { perror("pipe"); exit(2); }

    write(c, "hello splice", 12);
    EXPECT_OK("splice socket->pipe", splice(s, NULL, p[1], NULL, 100, 0));
    show("pipe has", p[0], 12);

    write(p[1], "to the socket", 13);
    printf("splice pipe->socket: %zd\n", splice(p[0], NULL, c, NULL, 100, 0));
    show("socket has", s, 13);

    write(p[1], "abcdef", 6);
    printf("splice pipe->pipe 4: %zd\n", splice(p[0], NULL, q[1], NULL, 4, 0));
    show("second pipe has", q[0], 4);
    show("first pipe keeps", p[0], 2);

    write(p[1], "tee data", 8);
    printf("tee: %zd\n", tee(p[0], q[1], 100, 0));
    show("tee copy", q[0], 8);
    show("tee source kept", p[0], 8);

    /* A file: at an offset (the file position stays), and at the position. */
    char path[] = "/tmp/compat-splice-XXXXXX";
    int f = mkstemp(path);
    unlink(path);
    write(f, "0123456789", 10);
    loff_t off = 2;
    ssize_t r = splice(f, &off, p[1], NULL, 5, 0);
    printf("splice file@2->pipe 5: %zd off=%lld pos=%lld\n", r, (long long)off, (long long)lseek(f, 0, SEEK_CUR));
    show("from file", p[0], 5);
    write(p[1], "XY", 2);
    off = 4;
    r = splice(p[0], NULL, f, &off, 10, 0);
    printf("splice pipe->file@4: %zd off=%lld\n", r, (long long)off);
    char fb[16] = {0};
    pread(f, fb, 10, 0);
    printf("file now: %s\n", fb);

    /* sendfile from the file to the socket. */
    off = 3;
    r = sendfile(c, f, &off, 4);
    printf("sendfile file->socket: %zd off=%lld\n", r, (long long)off);
    show("socket got", s, 4);

    /* Errors. */
    EXPECT_ERR("len 0", splice(s, NULL, c, NULL, 0, 0), 0);
    EXPECT_ERR("no pipe", splice(s, NULL, c, NULL, 10, 0), EINVAL);
    EXPECT_ERR("bad flags", splice(p[0], NULL, c, NULL, 10, 0x100), EINVAL);
    EXPECT_ERR("bad fd", splice(999, NULL, p[1], NULL, 10, 0), EBADF);
    off = 0;
    EXPECT_ERR("offset on the pipe", splice(p[0], &off, c, NULL, 10, 0), ESPIPE);
    EXPECT_ERR("write end as source", splice(p[1], NULL, c, NULL, 10, 0), EBADF);
    EXPECT_ERR("same pipe", splice(p[0], NULL, p[1], NULL, 10, 0), EINVAL);
    EXPECT_ERR("empty pipe nonblock", splice(p[0], NULL, c, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
    /* SPLICE_F_NONBLOCK is about the pipe; the socket's own O_NONBLOCK about the socket. */
    fcntl(s, F_SETFL, O_NONBLOCK);
    EXPECT_ERR("no data, socket O_NONBLOCK", splice(s, NULL, p[1], NULL, 10, 0), EAGAIN);
    fcntl(s, F_SETFL, 0);
    EXPECT_ERR("tee socket", tee(s, p[1], 10, 0), EINVAL);
    EXPECT_ERR("tee same pipe", tee(p[0], p[1], 10, 0), EINVAL);
    EXPECT_ERR("tee empty nonblock", tee(p[0], q[1], 10, SPLICE_F_NONBLOCK), EAGAIN);

    /* End of stream: the peer shut down its side. */
    shutdown(c, SHUT_WR);
    EXPECT_ERR("socket at EOF", splice(s, NULL, p[1], NULL, 10, 0), 0);
    close(c); close(s); close(f);
    close(p[0]); close(p[1]); close(q[0]); close(q[1]);
}

static void test_linger(void)
{
    int c, s;
    /* 1. Data the peer never reads: close waits the whole timeout, and returns 0. */
    pair(&c, &s, 4096);
    fcntl(c, F_SETFL, O_NONBLOCK);
    static char buf[1 << 16];
    long sent = 0;
    for (;;) {
        ssize_t w = write(c, buf, sizeof buf);
        if (w <= 0) break;
        sent += w;
    }
    fcntl(c, F_SETFL, 0);
    struct linger lg = { 1, 1 };
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    double t0 = now();
    int r = close(c);
    double dt = now() - t0;
    printf("linger 1s, unread peer: close=%d waited>=0.9s=%s <10s=%s\n", r, yesno(dt >= 0.9), yesno(dt < 10));
    /* The data still arrives after the close, then the end of the stream. */
    long got = 0;
    ssize_t n;
    while ((n = read(s, buf, sizeof buf)) > 0) got += n;
    CHECK("all data arrives after the close", got == sent && n == 0);
    close(s);

    /* 2. Everything acknowledged: close returns well before the timeout. */
    pair(&c, &s, 0);
    write(c, "x", 1);
    read(s, buf, 1);
    lg.l_linger = 30;
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    t0 = now();
    r = close(c);
    dt = now() - t0;
    printf("linger 30s, all acknowledged: close=%d quick=%s\n", r, yesno(dt < 10));
    n = read(s, buf, 1);
    printf("peer sees EOF: %zd\n", n);
    close(s);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_splice();
    test_linger();
    return finish();
}
