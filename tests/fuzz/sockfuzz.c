/* sockfuzz: a socket-call fuzzer. From a seed it keeps a pool of AF_UNIX sockets (pairs of
 * each type, bound and listening ones, filesystem and abstract names) plus a few other files,
 * and makes random socket calls on them: addresses of every length (good, truncated, garbage,
 * NULL, kernel and non-canonical pointers), msghdrs with random iovecs and control data
 * (SCM_RIGHTS with pool descriptors and junk, credentials, bad lengths), random flags and
 * options. A 1 ms interval timer interrupts any call that blocks. The run must end with the
 * summary line: a kernel panic, a hang or a killed program is a failure.
 *
 *   sockfuzz SEED CALLS        built static with musl (tests/BootTests/SockFuzzTests.cs) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static uint64_t rng;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static long below(long n) { return (long)(next() % (uint64_t)n); }

#define POOL 48
static int pool[POOL];
static int npool;
static char scratch[1 << 17];
static char names[4][108];

static void noop(int s) { (void)s; }

static void add(long fd)
{
    if (fd < 3) return;
    if (npool < POOL) { pool[npool++] = (int)fd; return; }
    int i = (int)below(POOL);
    close(pool[i]);
    pool[i] = (int)fd;
}

static long anyfd(void)
{
    switch (below(10)) {
    case 0: return -1;
    case 1: return 3 + below(1100);                 /* never stdin, stdout, stderr */
    default: return npool ? pool[below(npool)] : -1;
    }
}

static void *badptr(void)
{
    static void *const bad[] = {NULL, (void *)16, (void *)0xffff800000001000UL, (void *)0x8000000000000000UL, (void *)0x00007ffffffff000UL};
    return bad[below(5)];
}

/* A sockaddr_un of some kind into scratch-like storage; returns its length. */
static socklen_t mkaddr(struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = below(8) ? AF_UNIX : (sa_family_t)below(50);
    switch (below(5)) {
    case 0: return (socklen_t)below(131);                                         /* random length */
    case 1: return 2;                                                               /* autobind */
    case 2: { int k = (int)below(4); memcpy(a->sun_path, names[k], strlen(names[k])); return sizeof *a; }
    case 3: { a->sun_path[0] = 0; int n = (int)below(20); for (int i = 1; i <= n; i++) a->sun_path[i] = 'a' + below(3); return 2 + 1 + n; }
    default: for (int i = 0; i < 108; i++) a->sun_path[i] = (char)next(); return (socklen_t)(2 + below(109));
    }
}

static struct iovec iovs[8];
static char ctl[1024];

static void mkmsg(struct msghdr *m, struct sockaddr_un *a)
{
    memset(m, 0, sizeof *m);
    if (below(3) == 0) { m->msg_namelen = mkaddr(a); m->msg_name = below(10) ? (void *)a : badptr(); }
    if (below(20) == 0) m->msg_namelen = (socklen_t)next();
    int n = (int)below(9);
    for (int i = 0; i < n; i++) {
        iovs[i].iov_base = below(15) ? scratch + below(1024) : badptr();
        iovs[i].iov_len = below(20) ? (size_t)below(70000) : (size_t)next();
        if (iovs[i].iov_base != badptr() && (char *)iovs[i].iov_base >= scratch && iovs[i].iov_len > sizeof scratch - 1024) iovs[i].iov_len = sizeof scratch - 1024;
    }
    m->msg_iov = below(20) ? iovs : badptr();
    m->msg_iovlen = below(30) ? (size_t)n : (size_t)below(3000);
    if (below(3) == 0) {
        size_t len = 0;
        int k = (int)below(4);
        for (int i = 0; i < k && len + 64 < sizeof ctl; i++) {
            struct cmsghdr *h = (struct cmsghdr *)(ctl + len);
            int nfd = (int)below(6);
            h->cmsg_level = below(6) ? SOL_SOCKET : (int)below(300);
            h->cmsg_type = below(5) ? (int)(1 + below(2)) : (int)below(100);
            size_t data = h->cmsg_type == SCM_RIGHTS ? nfd * sizeof(int) : sizeof(struct ucred);
            h->cmsg_len = below(10) ? CMSG_LEN(data) : (size_t)below(200);
            if (h->cmsg_type == SCM_RIGHTS) for (int j = 0; j < nfd; j++) ((int *)CMSG_DATA(h))[j] = (int)anyfd();
            else { struct ucred u = {below(4) ? getpid() : (pid_t)below(5), below(4) ? 0 : (uid_t)next(), 0}; memcpy(CMSG_DATA(h), &u, sizeof u); }
            len += CMSG_SPACE(data);
        }
        m->msg_control = below(15) ? (void *)ctl : badptr();
        m->msg_controllen = below(10) ? len : (size_t)below(40000);
    } else if (below(4) == 0) {
        m->msg_control = ctl;
        m->msg_controllen = below(300);
    }
}

static int flags(void)
{
    static const int f[] = {MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC, MSG_NOSIGNAL, MSG_OOB, MSG_CMSG_CLOEXEC, MSG_MORE, MSG_EOR, MSG_ERRQUEUE};
    int r = MSG_DONTWAIT * (below(3) != 0);
    int n = (int)below(4);
    for (int i = 0; i < n; i++) r |= f[below(10)];
    if (below(30) == 0) r = (int)next();
    return r;
}

int main(int argc, char **argv)
{
    long seed = argc > 1 ? atol(argv[1]) : 1, calls = argc > 2 ? atol(argv[2]) : 10000;
    rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)seed * 0x2545f4914f6cdd1dULL;
    if (!rng) rng = 1;
    struct sigaction sa = {0};
    sa.sa_handler = noop;
    for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, NULL);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (int i = 0; i < 4; i++) snprintf(names[i], sizeof names[i], "/tmp/sockfuzz-%d", i);

    int sv[2];
    for (int t = 1; t <= 5; t++) if (socketpair(AF_UNIX, t, 0, sv) == 0) { add(sv[0]); add(sv[1]); }
    int p[2];
    if (pipe(p) == 0) { add(p[0]); add(p[1]); }
    add(open("/tmp/sockfuzz-file", O_RDWR | O_CREAT, 0600));
    add(epoll_create1(0));

    for (long i = 0; i < calls; i++) {
        struct sockaddr_un a;
        struct msghdr m;
        socklen_t al;
        long fd = anyfd(), r = -1;
        int v;
        switch (below(24)) {
        case 0: r = syscall(SYS_socket, below(6) ? AF_UNIX : below(50), below(6) ? 1 + below(5) : next(), below(5) ? 0 : below(3)); add(r); break;
        case 1: r = syscall(SYS_socketpair, below(6) ? AF_UNIX : below(50), (1 + below(6)) | (below(2) ? SOCK_NONBLOCK : 0), 0, below(20) ? (void *)sv : badptr());
                if (r == 0) { add(sv[0]); add(sv[1]); } break;
        case 2: al = mkaddr(&a); r = syscall(SYS_bind, fd, below(15) ? (void *)&a : badptr(), below(15) ? al : next()); break;
        case 3: al = mkaddr(&a); r = syscall(SYS_connect, fd, below(15) ? (void *)&a : badptr(), below(15) ? al : next()); break;
        case 4: r = syscall(SYS_listen, fd, below(4) ? below(5) : next()); break;
        case 5: al = (socklen_t)below(200); r = syscall(SYS_accept4, fd, below(2) ? (void *)&a : badptr(), below(5) ? (void *)&al : badptr(), below(5) ? SOCK_NONBLOCK : next()); add(r); break;
        case 6: al = mkaddr(&a); r = syscall(SYS_sendto, fd, below(15) ? scratch : badptr(), below(70000), flags(), below(2) ? (void *)&a : NULL, al); break;
        case 7: al = (socklen_t)below(200); r = syscall(SYS_recvfrom, fd, below(15) ? scratch : badptr(), below(70000), flags(), below(2) ? (void *)&a : NULL, below(8) ? (void *)&al : badptr()); break;
        case 8: mkmsg(&m, &a); r = syscall(SYS_sendmsg, fd, below(20) ? (void *)&m : badptr(), flags()); break;
        case 9: mkmsg(&m, &a); r = syscall(SYS_recvmsg, fd, below(20) ? (void *)&m : badptr(), flags());
                if (r >= 0 && m.msg_control == ctl && m.msg_controllen <= sizeof ctl)
                    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
                        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
                            for (size_t k = 0; k < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) add(((int *)CMSG_DATA(h))[k]);
                break;
        case 10: { struct mmsghdr mm[3]; memset(mm, 0, sizeof mm); mkmsg(&mm[0].msg_hdr, &a); mm[1] = mm[0]; mm[2] = mm[0];
                 r = syscall(SYS_sendmmsg, fd, below(10) ? (void *)mm : badptr(), below(5), flags()); break; }
        case 11: { struct mmsghdr mm[3]; memset(mm, 0, sizeof mm); mkmsg(&mm[0].msg_hdr, &a); mm[0].msg_hdr.msg_control = NULL; mm[0].msg_hdr.msg_controllen = 0;
                 mm[1] = mm[0]; mm[2] = mm[0]; struct timespec ts = {0, below(2000000)};
                 r = syscall(SYS_recvmmsg, fd, below(10) ? (void *)mm : badptr(), below(5), flags(), below(2) ? (void *)&ts : NULL); break; }
        case 12: r = syscall(SYS_shutdown, fd, below(5) ? below(3) : next()); break;
        case 13: { static const int opts[] = {SO_RCVBUF, SO_SNDBUF, SO_RCVTIMEO, SO_SNDTIMEO, SO_PASSCRED, SO_PEEK_OFF, SO_LINGER, SO_RCVLOWAT, SO_SNDBUFFORCE, SO_KEEPALIVE};
                 long val[2] = {below(3) ? below(300000) : (long)next(), below(3) ? below(1000000) : (long)next()};
                 r = syscall(SYS_setsockopt, fd, below(8) ? SOL_SOCKET : below(300), below(8) ? opts[below(10)] : below(80), below(15) ? (void *)val : badptr(), below(6) ? 4 + 12 * below(2) : below(100) - 10); break; }
        case 14: { char buf[600]; al = (socklen_t)(below(5) ? below(600) : next());
                 r = syscall(SYS_getsockopt, fd, below(8) ? SOL_SOCKET : below(300), below(70), below(15) ? (void *)buf : badptr(), below(15) ? (void *)&al : badptr()); break; }
        case 15: al = (socklen_t)(below(5) ? below(200) : next()); r = syscall(below(2) ? SYS_getsockname : SYS_getpeername, fd, below(10) ? (void *)&a : badptr(), below(10) ? (void *)&al : badptr()); break;
        case 16: if (npool > 8) { int k = (int)below(npool); close(pool[k]); pool[k] = pool[--npool]; } break;
        case 17: add(dup((int)fd)); break;
        case 18: { struct pollfd pf[4]; for (int k = 0; k < 4; k++) { pf[k].fd = (int)anyfd(); pf[k].events = (short)next(); }
                 r = poll(pf, 4, below(3)); break; }
        case 19: v = (int)below(1 << 20); r = syscall(SYS_ioctl, fd, below(3) ? FIONREAD : below(2) ? 0x5411 : FIONBIO, below(10) ? (void *)&v : badptr()); break;
        case 20: r = syscall(below(2) ? SYS_read : SYS_write, fd, below(15) ? scratch : badptr(), below(70000)); break;
        case 21: { off_t off = below(100); r = syscall(SYS_sendfile, fd, anyfd(), below(5) ? (void *)&off : NULL, below(100000)); break; }
        case 22: { struct epoll_event ev = {(uint32_t)next(), {0}}; r = syscall(SYS_epoll_ctl, pool[0 < npool ? below(npool) : 0], 1 + below(3), fd, &ev);
                 struct epoll_event out[4]; int ep = (int)anyfd(); syscall(SYS_epoll_wait, ep, out, 4, 0); break; }
        default: r = syscall(SYS_fcntl, fd, F_SETFL, below(2) ? O_NONBLOCK : 0); break;
        }
        (void)r;
    }
    it.it_interval.tv_usec = it.it_value.tv_usec = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    for (int i = 0; i < 4; i++) unlink(names[i]);
    printf("sockfuzz: seed %ld: %ld calls\n", seed, calls);
    return 0;
}
