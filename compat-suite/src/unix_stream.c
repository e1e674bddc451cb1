/* unix_stream: AF_UNIX SOCK_STREAM and SOCK_SEQPACKET: socketpair, filesystem and abstract
 * names, listen/accept, shutdown, EOF and ECONNRESET, SIGPIPE/EPIPE, MSG_PEEK/DONTWAIT/
 * WAITALL, timeouts and signals, buffer limits, poll/epoll readiness. Two threads or a
 * socketpair in one thread; names carry the pid so parallel runs do not collide. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

static volatile int sigpipes, sigusr1s;
static void on_pipe(int s) { (void)s; sigpipes++; }
static void on_usr1(int s) { (void)s; sigusr1s++; }

static void sleep_ms(int ms) { struct timespec t = {ms / 1000, (ms % 1000) * 1000000L}; nanosleep(&t, NULL); }

static const char *pollbits(short r)
{
    static char b[96];
    b[0] = 0;
    if (r & POLLIN) strcat(b, "IN ");
    if (r & POLLOUT) strcat(b, "OUT ");
    if (r & POLLERR) strcat(b, "ERR ");
    if (r & POLLHUP) strcat(b, "HUP ");
    if (r & POLLRDHUP) strcat(b, "RDHUP ");
    if (r & POLLNVAL) strcat(b, "NVAL ");
    if (!b[0]) strcpy(b, "none");
    return b;
}

static short pollone(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    return p.revents;
}

static socklen_t mkpath(struct sockaddr_un *a, const char *tag)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "/tmp/compat-us-%d-%s", (int)getpid(), tag);
    return sizeof *a;
}

static socklen_t mkabstract(struct sockaddr_un *a, const char *tag)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "compat-us-%d-%s", (int)getpid(), tag);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

struct writer { int fd; int chunks; int size; int delay_ms; };
static void *writer_main(void *p)
{
    struct writer *w = p;
    char buf[65536];
    for (int i = 0; i < w->chunks; i++) {
        if (w->delay_ms) sleep_ms(w->delay_ms);
        for (int k = 0; k < w->size; k++) buf[k] = (char)(i * 7 + k);
        if (write(w->fd, buf, w->size) != w->size) return (void *)1;
    }
    return NULL;
}

struct bulk { int fd; long total; unsigned sum; };
static void *reader_main(void *p)
{
    struct bulk *b = p;
    char buf[8192];
    long n;
    while ((n = read(b->fd, buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++) b->sum = b->sum * 31 + (unsigned char)buf[i];
        b->total += n;
    }
    return NULL;
}

struct killer { pthread_t target; int delay_ms; int fd; };
static void *killer_main(void *p)
{
    struct killer *k = p;
    sleep_ms(k->delay_ms);
    pthread_kill(k->target, SIGUSR1);
    if (k->fd >= 0) { sleep_ms(k->delay_ms); write(k->fd, "late", 4); }
    return NULL;
}

static void pairs(void)
{
    int sv[2];
    char buf[256];
    EXPECT_OK("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    EXPECT_ERR("write 5", write(sv[0], "hello", 5), 0);
    EXPECT_ERR("write 6", write(sv[0], " world", 6), 0);
    int n = 0;
    EXPECT_OK("FIONREAD", ioctl(sv[1], FIONREAD, &n));
    printf("FIONREAD = %d\n", n);
    EXPECT_ERR("recv PEEK 3", recv(sv[1], buf, 3, MSG_PEEK), 0);
    EXPECT_ERR("recv PEEK all (crosses writes)", recv(sv[1], buf, sizeof buf, MSG_PEEK), 0);
    buf[11] = 0;
    printf("peeked: %s\n", buf);
    EXPECT_ERR("read 4", read(sv[1], buf, 4), 0);
    EXPECT_ERR("read rest", read(sv[1], buf, sizeof buf), 0);
    buf[7] = 0;
    printf("rest: %s\n", buf);
    EXPECT_ERR("recv DONTWAIT empty", recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
    EXPECT_ERR("read 0 bytes", read(sv[1], buf, 0), 0);
    printf("poll idle: %s\n", pollbits(pollone(sv[1])));
    write(sv[0], "x", 1);
    printf("poll with data: %s\n", pollbits(pollone(sv[1])));
    read(sv[1], buf, 1);

    /* getsockname/getpeername of unnamed sockets */
    struct sockaddr_un a;
    socklen_t al = sizeof a;
    EXPECT_OK("getsockname unnamed", getsockname(sv[0], (struct sockaddr *)&a, &al));
    printf("unnamed len %d family %d\n", (int)al, a.sun_family);
    al = sizeof a;
    EXPECT_OK("getpeername unnamed peer", getpeername(sv[0], (struct sockaddr *)&a, &al));
    printf("peer len %d\n", (int)al);
    struct ucred uc;
    socklen_t ul = sizeof uc;
    EXPECT_OK("SO_PEERCRED pair", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    CHECK("peercred pid is ours", uc.pid == getpid() && uc.uid == getuid() && uc.gid == getgid() && ul == sizeof uc);

    /* shutdown(SHUT_WR): the peer reads what is queued, then EOF; writing gives EPIPE + SIGPIPE */
    write(sv[0], "tail", 4);
    EXPECT_OK("shutdown WR", shutdown(sv[0], SHUT_WR));
    printf("poll writer after SHUT_WR: %s\n", pollbits(pollone(sv[0])));
    printf("poll reader after peer SHUT_WR: %s\n", pollbits(pollone(sv[1])));
    EXPECT_ERR("read queued", read(sv[1], buf, sizeof buf), 0);
    EXPECT_ERR("read EOF", read(sv[1], buf, sizeof buf), 0);
    EXPECT_ERR("read EOF again", read(sv[1], buf, sizeof buf), 0);
    sigpipes = 0;
    EXPECT_ERR("write after SHUT_WR", write(sv[0], "x", 1), EPIPE);
    printf("sigpipes: %d\n", sigpipes);
    EXPECT_ERR("send NOSIGNAL after SHUT_WR", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERR("write 0 bytes after SHUT_WR", write(sv[0], "x", 0), EPIPE);
    printf("sigpipes: %d\n", sigpipes);
    EXPECT_ERR("other direction still works", write(sv[1], "back", 4), 0);
    EXPECT_ERR("read other direction", read(sv[0], buf, sizeof buf), 0);
    EXPECT_OK("shutdown RD too", shutdown(sv[0], SHUT_RD));
    printf("poll after both: %s\n", pollbits(pollone(sv[0])));
    printf("peer poll after both: %s\n", pollbits(pollone(sv[1])));
    EXPECT_ERR("peer write after our SHUT_RD", send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    EXPECT_ERR("shutdown how 3", shutdown(sv[0], 3), EINVAL);
    EXPECT_ERR("shutdown how -1", shutdown(sv[0], -1), EINVAL);
    close(sv[0]); close(sv[1]);

    /* close with unread data: the peer gets ECONNRESET once, then EOF */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[1], "unread", 6);
    write(sv[0], "queued", 6);
    close(sv[0]);
    printf("poll after reset: %s\n", pollbits(pollone(sv[1])));
    EXPECT_ERR("read data still queued", read(sv[1], buf, sizeof buf), 0);
    EXPECT_ERR("read after reset", read(sv[1], buf, sizeof buf), ECONNRESET);
    EXPECT_ERR("read after reset again", read(sv[1], buf, sizeof buf), 0);
    EXPECT_ERR("send to closed peer", send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
    close(sv[1]);

    /* close without unread data: EOF, HUP */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[0]);
    printf("poll after clean close: %s\n", pollbits(pollone(sv[1])));
    EXPECT_ERR("read EOF after close", read(sv[1], buf, sizeof buf), 0);
    int err = -1;
    socklen_t el = sizeof err;
    getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &err, &el);
    printf("SO_ERROR: %s\n", errname(err));
    close(sv[1]);

    /* SO_PEEK_OFF: successive peeks walk forward; reading pulls the offset back */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int po = -7;
    socklen_t pol = sizeof po;
    getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &po, &pol);
    printf("SO_PEEK_OFF default %d\n", po);
    po = 0;
    EXPECT_OK("SO_PEEK_OFF 0", setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &po, sizeof po));
    write(sv[0], "abc", 3);
    write(sv[0], "def", 3);
    memset(buf, 0, sizeof buf);
    recv(sv[1], buf, 2, MSG_PEEK);
    recv(sv[1], buf + 2, 2, MSG_PEEK);
    printf("two peeks: %s\n", buf);
    getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &po, &pol);
    printf("offset %d\n", po);
    read(sv[1], buf, 3);
    getsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &po, &pol);
    printf("after reading 3: %d\n", po);
    memset(buf, 0, sizeof buf);
    EXPECT_ERR("peek from the offset", recv(sv[1], buf, sizeof buf, MSG_PEEK), 0);
    printf("peeked %s\n", buf);
    close(sv[0]); close(sv[1]);

    /* SOCK_NONBLOCK | SOCK_CLOEXEC */
    EXPECT_OK("socketpair NONBLOCK|CLOEXEC", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    CHECK("O_NONBLOCK set", (fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[1], F_GETFL) & O_NONBLOCK));
    CHECK("FD_CLOEXEC set", fcntl(sv[0], F_GETFD) == FD_CLOEXEC && fcntl(sv[1], F_GETFD) == FD_CLOEXEC);
    CHECK("O_RDWR", (fcntl(sv[0], F_GETFL) & O_ACCMODE) == O_RDWR);
    EXPECT_ERR("read nonblocking empty", read(sv[0], buf, 1), EAGAIN);
    int off = 0;
    EXPECT_OK("FIONBIO off", ioctl(sv[0], FIONBIO, &off));
    CHECK("O_NONBLOCK cleared", !(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
    struct stat st;
    EXPECT_OK("fstat", fstat(sv[0], &st));
    CHECK("S_IFSOCK 0777", st.st_mode == (S_IFSOCK | 0777));
    close(sv[0]); close(sv[1]);
}

static void limits(void)
{
    int sv[2];
    static char big[65536];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    long total = 0, r;
    while ((r = write(sv[0], big, sizeof big)) > 0) total += r;
    printf("fill ends with: %s\n", r < 0 ? errname(errno) : "0");
    CHECK("buffered between 64 KiB and 4 MiB", total >= 65536 && total <= 4 << 20);
    printf("poll full writer: %s\n", pollbits(pollone(sv[0])));
    /* draining everything makes it writable again */
    long got = 0;
    while ((r = read(sv[1], big, sizeof big)) > 0) got += r;
    CHECK("read back all", got == total);
    printf("poll drained writer: %s\n", pollbits(pollone(sv[0])));
    close(sv[0]); close(sv[1]);

    /* a blocking writer waits for the reader: 4 MiB through, checksum compared */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct bulk b = {sv[1], 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, reader_main, &b);
    unsigned sum = 0;
    for (int i = 0; i < 64; i++) {
        for (int k = 0; k < 65536; k++) big[k] = (char)(i + k * 3);
        for (int k = 0; k < 65536; k++) sum = sum * 31 + (unsigned char)big[k];
        if (write(sv[0], big, sizeof big) != (long)sizeof big) { printf("short write\n"); break; }
    }
    close(sv[0]);
    pthread_join(t, NULL);
    CHECK("4 MiB through a blocking writer", b.total == 64L * 65536 && b.sum == sum);
    close(sv[1]);
}

static void waits(void)
{
    int sv[2];
    char buf[64];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);

    /* MSG_WAITALL gathers several writes */
    struct writer w = {sv[0], 4, 5, 10};
    pthread_t t;
    pthread_create(&t, NULL, writer_main, &w);
    EXPECT_ERR("recv WAITALL 20", recv(sv[1], buf, 20, MSG_WAITALL), 0);
    pthread_join(t, NULL);

    /* SO_RCVTIMEO: EAGAIN after the timeout */
    struct timeval tv = {0, 20000};
    EXPECT_OK("SO_RCVTIMEO 20ms", setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    EXPECT_ERR("recv times out", recv(sv[1], buf, 1, 0), EAGAIN);

    /* a signal without SA_RESTART: EINTR */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    struct timeval none = {0, 0};
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    struct killer k = {pthread_self(), 30, -1};
    pthread_create(&t, NULL, killer_main, &k);
    EXPECT_ERR("recv interrupted", recv(sv[1], buf, 1, 0), EINTR);
    pthread_join(t, NULL);

    /* SA_RESTART: the call resumes and gets the data written after the signal */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    k.fd = sv[0];
    pthread_create(&t, NULL, killer_main, &k);
    EXPECT_ERR("recv restarted", recv(sv[1], buf, sizeof buf, 0), 0);
    pthread_join(t, NULL);

    /* SA_RESTART but a timeout set: EINTR all the same (sock_intr_errno) */
    tv.tv_sec = 5; tv.tv_usec = 0;
    setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    k.fd = -1;
    pthread_create(&t, NULL, killer_main, &k);
    EXPECT_ERR("recv with timeout interrupted", recv(sv[1], buf, 1, 0), EINTR);
    pthread_join(t, NULL);
    printf("sigusr1s: %d\n", sigusr1s);
    close(sv[0]); close(sv[1]);
}

static void named(void)
{
    struct sockaddr_un a, b;
    socklen_t al = mkpath(&a, "srv");
    unlink(a.sun_path);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("listen unbound", listen(srv, 5), EINVAL);
    EXPECT_ERR("accept not listening", accept(srv, NULL, NULL), EINVAL);
    EXPECT_OK("bind path", bind(srv, (struct sockaddr *)&a, al));
    struct stat st;
    EXPECT_OK("stat socket node", stat(a.sun_path, &st));
    CHECK("node is S_IFSOCK", S_ISSOCK(st.st_mode));
    printf("node perms %o\n", st.st_mode & 0777);
    EXPECT_ERR("bind again (the node exists)", bind(srv, (struct sockaddr *)&a, al), EADDRINUSE);
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("bind existing path", bind(other, (struct sockaddr *)&a, al), EADDRINUSE);
    int cl = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("connect before listen", connect(cl, (struct sockaddr *)&a, al), ECONNREFUSED);
    EXPECT_OK("listen 1", listen(srv, 1));
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
    printf("SO_ACCEPTCONN %d\n", v);
    printf("poll listener idle: %s\n", pollbits(pollone(srv)));
    EXPECT_OK("connect", connect(cl, (struct sockaddr *)&a, al));
    printf("poll listener pending: %s\n", pollbits(pollone(srv)));
    EXPECT_ERR("connect again", connect(cl, (struct sockaddr *)&a, al), EISCONN);
    int cl2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_OK("second connect (backlog + 1)", connect(cl2, (struct sockaddr *)&a, al));
    int cl3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    EXPECT_ERR("third connect nonblocking", connect(cl3, (struct sockaddr *)&a, al), EAGAIN);
    int cl4 = socket(AF_UNIX, SOCK_STREAM, 0);
    struct timeval tv = {0, 20000};
    setsockopt(cl4, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    EXPECT_ERR("blocking connect times out", connect(cl4, (struct sockaddr *)&a, al), EAGAIN);
    write(cl, "before accept", 13);

    memset(&b, 0, sizeof b);
    socklen_t bl = sizeof b;
    int c = accept4(srv, (struct sockaddr *)&b, &bl, SOCK_CLOEXEC | SOCK_NONBLOCK);
    CHECK("accept4", c >= 0);
    printf("accepted peer len %d\n", (int)bl);
    CHECK("accept4 flags", (fcntl(c, F_GETFL) & O_NONBLOCK) && fcntl(c, F_GETFD) == FD_CLOEXEC);
    char buf[64];
    EXPECT_ERR("read data sent before accept", read(c, buf, sizeof buf), 0);
    bl = sizeof b;
    getsockname(c, (struct sockaddr *)&b, &bl);
    CHECK("accepted getsockname is the path", bl == offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1 && strcmp(b.sun_path, a.sun_path) == 0);
    bl = sizeof b;
    getpeername(cl, (struct sockaddr *)&b, &bl);
    CHECK("client getpeername is the path", bl == offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1 && strcmp(b.sun_path, a.sun_path) == 0);
    bl = 4;
    memset(&b, 0x55, sizeof b);
    EXPECT_OK("getpeername truncated", getpeername(cl, (struct sockaddr *)&b, &bl));
    CHECK("truncated copy, full length back", bl == offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1 && ((unsigned char *)&b)[4] == 0x55);
    bl = sizeof b;
    EXPECT_ERR("getpeername listener", getpeername(srv, (struct sockaddr *)&b, &bl), ENOTCONN);
    struct ucred uc;
    socklen_t ul = sizeof uc;
    getsockopt(cl, SOL_SOCKET, SO_PEERCRED, &uc, &ul);
    CHECK("client SO_PEERCRED is the listener's", uc.pid == getpid());
    int c2 = accept(srv, NULL, NULL);
    CHECK("second accept", c2 >= 0);
    fcntl(srv, F_SETFL, O_NONBLOCK);
    EXPECT_ERR("accept empty nonblocking", accept(srv, NULL, NULL), EAGAIN);

    /* a connection made while the listener has SO_PASSCRED inherits it */
    int on = 1;
    setsockopt(srv, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    fcntl(srv, F_SETFL, 0);
    int clp = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_OK("connect to a SO_PASSCRED listener", connect(clp, (struct sockaddr *)&a, al));
    int cp = accept(srv, NULL, NULL);
    v = 0;
    getsockopt(cp, SOL_SOCKET, SO_PASSCRED, &v, &vl);
    printf("accepted socket inherits SO_PASSCRED: %d\n", v);
    close(cp); close(clp);
    fcntl(srv, F_SETFL, O_NONBLOCK);

    /* the accepted side closing resets nothing when nothing is unread */
    close(c);
    EXPECT_ERR("client reads EOF", read(cl, buf, sizeof buf), 0);

    /* a listener closing with a connection not yet accepted resets it */
    int cl5 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_OK("connect pending", connect(cl5, (struct sockaddr *)&a, al));
    close(srv);
    EXPECT_ERR("pending connection reset", read(cl5, buf, sizeof buf), ECONNRESET);
    int cl6 = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("connect after listener closed", connect(cl6, (struct sockaddr *)&a, al), ECONNREFUSED);
    EXPECT_OK("unlink node", unlink(a.sun_path));
    EXPECT_ERR("connect after unlink", connect(cl6, (struct sockaddr *)&a, al), ENOENT);
    int f = open("/tmp", O_RDONLY);
    struct sockaddr_un r;
    socklen_t rl = mkpath(&r, "regular");
    int rf = open(r.sun_path, O_CREAT | O_WRONLY, 0600);
    close(rf);
    EXPECT_ERR("connect to a regular file", connect(cl6, (struct sockaddr *)&r, rl), ECONNREFUSED);
    unlink(r.sun_path);
    close(f);
    close(cl); close(cl2); close(cl3); close(cl4); close(cl5); close(cl6); close(c2); close(other);

    /* abstract names */
    al = mkabstract(&a, "abs");
    srv = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_OK("bind abstract", bind(srv, (struct sockaddr *)&a, al));
    bl = sizeof b;
    getsockname(srv, (struct sockaddr *)&b, &bl);
    CHECK("abstract getsockname length exact", bl == al && b.sun_path[0] == 0 && memcmp(&a, &b, al) == 0);
    other = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("bind abstract twice", bind(other, (struct sockaddr *)&a, al), EADDRINUSE);
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_OK("same abstract name, other type", bind(dg, (struct sockaddr *)&a, al));
    listen(srv, 4);
    cl = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("connect shorter abstract name", connect(cl, (struct sockaddr *)&a, al - 1), ECONNREFUSED);
    EXPECT_OK("connect abstract", connect(cl, (struct sockaddr *)&a, al));
    c = accept(srv, NULL, NULL);
    EXPECT_ERR("abstract connection carries data", write(cl, "abc", 3), 0);
    EXPECT_ERR("read it", read(c, buf, sizeof buf), 0);
    close(c); close(cl); close(srv); close(other); close(dg);

    /* autobind */
    srv = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    EXPECT_OK("autobind", bind(srv, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)));
    bl = sizeof b;
    getsockname(srv, (struct sockaddr *)&b, &bl);
    CHECK("autobind name: 5 hex digits, abstract", bl == 8 && b.sun_path[0] == 0);
    close(srv);
}

static void *accept_later(void *p)
{
    int srv = *(int *)p;
    sleep_ms(20);
    int c = accept(srv, NULL, NULL);
    write(c, "hi", 2);
    return (void *)(long)c;
}

static void seqpacket(void)
{
    int sv[2];
    char buf[64];
    EXPECT_OK("socketpair seqpacket", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    write(sv[0], "one", 3);
    write(sv[0], "three", 5);
    EXPECT_ERR("record 1", read(sv[1], buf, sizeof buf), 0);
    struct iovec iov = {buf, 2};
    struct msghdr m = {0};
    m.msg_iov = &iov; m.msg_iovlen = 1;
    EXPECT_ERR("record 2 truncated", recvmsg(sv[1], &m, 0), 0);
    CHECK("MSG_TRUNC in msg_flags", (m.msg_flags & MSG_TRUNC) != 0);
    write(sv[0], "four", 4);
    EXPECT_ERR("recv MSG_TRUNC returns the real length", recv(sv[1], buf, 1, MSG_TRUNC), 0);
    write(sv[0], "", 0);
    EXPECT_ERR("empty record", read(sv[1], buf, sizeof buf), 0);
    close(sv[0]);
    printf("seqpacket poll after close: %s\n", pollbits(pollone(sv[1])));
    EXPECT_ERR("seqpacket EOF", read(sv[1], buf, sizeof buf), 0);
    close(sv[1]);

    /* a seqpacket peer closing with our data unread: the reset is taken by the next send or
     * receive, before queued records; then EPIPE without SIGPIPE, and EOF */
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    write(sv[0], "mine", 4);
    write(sv[1], "unread", 6);
    close(sv[1]);
    sigpipes = 0;
    EXPECT_ERR("seqpacket write: the reset", write(sv[0], "x", 1), ECONNRESET);
    EXPECT_ERR("seqpacket write again", write(sv[0], "x", 1), EPIPE);
    printf("sigpipes: %d\n", sigpipes);
    EXPECT_ERR("seqpacket: the queued record", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), 0);
    EXPECT_ERR("seqpacket: then EOF", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), 0);
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    write(sv[0], "mine", 4);
    write(sv[1], "unread", 6);
    close(sv[1]);
    EXPECT_ERR("seqpacket recv: the reset before the queued record", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), ECONNRESET);
    EXPECT_ERR("seqpacket recv: then the record", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), 0);
    close(sv[0]);

    int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    EXPECT_ERR("seqpacket send unconnected", send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
    EXPECT_ERR("seqpacket recv unconnected", recv(s, buf, 1, MSG_DONTWAIT), ENOTCONN);
    printf("seqpacket unconnected poll: %s\n", pollbits(pollone(s)));
    struct sockaddr_un a;
    socklen_t al = mkabstract(&a, "seq");
    bind(s, (struct sockaddr *)&a, al);
    EXPECT_OK("seqpacket listen", listen(s, 2));
    pthread_t t;
    pthread_create(&t, NULL, accept_later, &s);
    int cl = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    EXPECT_OK("seqpacket connect", connect(cl, (struct sockaddr *)&a, al));
    EXPECT_ERR("seqpacket read from accepted", read(cl, buf, sizeof buf), 0);
    void *rc;
    pthread_join(t, &rc);
    close((int)(long)rc); close(cl); close(s);
}

static void epolls(void)
{
    int sv[2];
    char buf[16];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLET, {.u32 = 7}}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
    EXPECT_ERR("ET nothing yet", epoll_wait(ep, out, 4, 0), 0);
    write(sv[0], "a", 1);
    EXPECT_ERR("ET first", epoll_wait(ep, out, 4, 0), 0);
    EXPECT_ERR("ET no new event", epoll_wait(ep, out, 4, 0), 0);
    write(sv[0], "b", 1);
    EXPECT_ERR("ET new data", epoll_wait(ep, out, 4, 0), 0);
    read(sv[1], buf, sizeof buf);
    ev.events = EPOLLIN | EPOLLONESHOT | EPOLLRDHUP;
    epoll_ctl(ep, EPOLL_CTL_MOD, sv[1], &ev);
    write(sv[0], "c", 1);
    EXPECT_ERR("ONESHOT", epoll_wait(ep, out, 4, 0), 0);
    EXPECT_ERR("ONESHOT disarmed", epoll_wait(ep, out, 4, 0), 0);
    epoll_ctl(ep, EPOLL_CTL_MOD, sv[1], &ev);
    shutdown(sv[0], SHUT_WR);
    int n = epoll_wait(ep, out, 4, 0);
    printf("after SHUT_WR: %d events %#x\n", n, n > 0 ? out[0].events : 0);
    close(sv[0]);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    epoll_ctl(ep, EPOLL_CTL_MOD, sv[1], &ev);
    n = epoll_wait(ep, out, 4, 0);
    printf("after close: %d events %#x\n", n, n > 0 ? out[0].events : 0);
    close(sv[1]); close(ep);

    /* a blocked epoll_wait wakes when the peer writes */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
    struct writer w = {sv[0], 1, 3, 20};
    pthread_t t;
    pthread_create(&t, NULL, writer_main, &w);
    EXPECT_ERR("epoll_wait woken by a write", epoll_wait(ep, out, 4, 5000), 0);
    pthread_join(t, NULL);
    close(sv[0]); close(sv[1]); close(ep);
}

static void sendfiles(void)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/tmp/compat-us-%d-file", (int)getpid());
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (int i = 0; i < 8192; i++) buf[i] = (char)(i * 13);
    for (int i = 0; i < 16; i++) write(f, buf, sizeof buf);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct bulk b = {sv[1], 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, reader_main, &b);
    off_t off = 100;
    EXPECT_ERR("sendfile 128 KiB - 100 into a socket", sendfile(sv[0], f, &off, 200000), 0);
    printf("offset after: %ld\n", (long)off);
    close(sv[0]);
    pthread_join(t, NULL);
    unsigned sum = 0;
    for (int i = 100; i < 16 * 8192; i++) sum = sum * 31 + (unsigned char)(char)((i % 8192) * 13);
    CHECK("the reader got the file's bytes", b.total == 16 * 8192 - 100 && b.sum == sum);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    shutdown(sv[1], SHUT_RD);
    sigpipes = 0;
    off = 0;
    EXPECT_ERR("sendfile to a socket whose reader shut down", sendfile(sv[0], f, &off, 10), EPIPE);
    printf("sigpipes: %d\n", sigpipes);
    close(sv[0]); close(sv[1]);
    close(f);
    unlink(path);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, on_pipe);
    pairs();
    limits();
    waits();
    named();
    seqpacket();
    epolls();
    sendfiles();
    return finish();
}
