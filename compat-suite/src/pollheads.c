/* Who a change wakes, for the files whose readiness is not their own data: the console's
 * input (stdin), signalfd across fork, timerfds, inotify instances.
 * signalfd reads the reader's signals: a signalfd inherited by fork reads the child's own;
 * parent and child each wait in epoll on their own signalfd and a signal to one wakes that
 * one; an interest the parent added before the fork is not woken by the child's signals
 * (signalfd(2), "epoll(7) semantics"), one the child adds is; a child's poll of the
 * inherited signalfd is woken by a signal to the child; one a child made and passed over a
 * unix socket reads the parent's signals, and the parent's poll of it is woken by them.
 * Two timerfds in one epoll instance
 * are reported each for its own expiry. Two inotify instances in poll: an event in one's
 * directory wakes that one only. Waits are for events (10 s bounds that only a broken
 * wake-up reaches); what is printed does not depend on timing. */
#include "compat.h"
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <fcntl.h>
#include <sys/socket.h>

static const char *signame(unsigned s)
{
    return s == SIGUSR1 ? "SIGUSR1" : s == SIGUSR2 ? "SIGUSR2" : "?";
}

/* One byte through a pipe: the two processes take turns. */
static void say(int fd, char c) { if (write(fd, &c, 1) != 1) { perror("write"); exit(2); } }
static char hear(int fd)
{
    char c = 0;
    if (read(fd, &c, 1) != 1) { perror("read"); exit(2); }
    return c;
}

/* Reads one record; prints the signal and whether it came from `from`. */
static void take(const char *label, int sfd, pid_t from)
{
    struct signalfd_siginfo si;
    ssize_t r = read(sfd, &si, sizeof si);
    if (r != (ssize_t)sizeof si) { printf("%s: read %s\n", label, compat_res(r)); compat_failures++; return; }
    printf("%s: %s from %s\n", label, signame(si.ssi_signo), (pid_t)si.ssi_pid == from ? "the expected sender" : "another");
    if ((pid_t)si.ssi_pid != from) compat_failures++;
}

static int wait1(int ep, int ms, uint32_t *data)
{
    struct epoll_event ev = {0, {0}};
    int n = epoll_wait(ep, &ev, 1, ms);
    *data = n > 0 ? ev.data.u32 : 0;
    return n;
}

static void console(void)
{
    struct pollfd p = {0, POLLIN, 0};
    int n = poll(&p, 1, 10000);
    printf("stdin poll: %d %s\n", n, p.revents == POLLIN ? "POLLIN" : "other");
    char buf[4096];
    long total = 0, r;
    while ((r = read(0, buf, sizeof buf)) > 0) total += r;
    printf("stdin read: %ld bytes, then %s\n", total, r == 0 ? "end" : compat_res(r));
    p.revents = 0;
    n = poll(&p, 1, 10000);
    printf("stdin poll at its end: %d %s\n", n, p.revents == POLLIN ? "POLLIN" : "other");
}

static void signalfd_fork(void)
{
    sigset_t m;
    sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int s0 = signalfd(-1, &m, SFD_NONBLOCK);
    int e0 = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 100}};
    epoll_ctl(e0, EPOLL_CTL_ADD, s0, &ev);
    int c2p[2], p2c[2];
    if (pipe(c2p) || pipe(p2c)) { perror("pipe"); exit(2); }
    fflush(stdout);
    pid_t parent = getpid(), child = fork();
    if (child < 0) { perror("fork"); exit(2); }
    if (child == 0)
    {
        uint32_t d;
        sigset_t one; sigemptyset(&one); sigaddset(&one, SIGUSR1);
        int sc = signalfd(-1, &one, SFD_NONBLOCK);
        int ec = epoll_create1(0);
        struct epoll_event e = {EPOLLIN, {.u32 = 200}};
        epoll_ctl(ec, EPOLL_CTL_ADD, sc, &e);
        say(c2p[1], 'a');                                 /* parent: SIGUSR1 to the child */
        int n = wait1(ec, 10000, &d);
        printf("child: its own epoll woken by a signal to it: %d data=%u\n", n, d);
        take("child: its own signalfd", sc, parent);

        kill(getpid(), SIGUSR2);
        n = wait1(e0, 0, &d);
        printf("child: the parent's interest in the inherited epoll after the child's signal: %d\n", n);
        struct pollfd p = {s0, POLLIN, 0};
        n = poll(&p, 1, 0);
        printf("child: poll of the inherited signalfd: %d %s\n", n, p.revents == POLLIN ? "POLLIN" : "other");
        take("child: the inherited signalfd reads the child's own", s0, getpid());
        n = poll(&p, 1, 0);
        printf("child: then empty: %d\n", n);

        say(c2p[1], 'b');                                 /* parent: SIGUSR2 to the child */
        p.revents = 0;
        n = poll(&p, 1, 10000);
        printf("child: a blocked poll of the inherited signalfd woken: %d %s\n", n, p.revents == POLLIN ? "POLLIN" : "other");
        take("child: the inherited signalfd", s0, parent);

        e.data.u32 = 300;
        epoll_ctl(ec, EPOLL_CTL_ADD, s0, &e);             /* now on the child's signals */
        say(c2p[1], 'c');                                 /* parent: SIGUSR2 to the child */
        n = wait1(ec, 10000, &d);
        printf("child: the inherited signalfd added in the child woken: %d data=%u\n", n, d);
        take("child: the inherited signalfd", s0, parent);
        printf("child: EPOLL_CTL_DEL of the parent's interest: %s\n", compat_res(epoll_ctl(e0, EPOLL_CTL_DEL, s0, NULL)));

        hear(p2c[0]);                                     /* the parent waits in its epoll */
        kill(parent, SIGUSR1);
        fflush(stdout);
        _exit(compat_failures);
    }
    uint32_t d;
    hear(c2p[0]);
    kill(child, SIGUSR1);
    hear(c2p[0]);
    int n = wait1(e0, 0, &d);
    printf("parent: its epoll after signals to the child: %d\n", n);
    kill(child, SIGUSR2);
    hear(c2p[0]);
    kill(child, SIGUSR2);
    /* The child dropped the interest from the shared instance: add it again. */
    int st;
    say(p2c[1], 'd');
    int e1 = epoll_create1(0);
    ev.data.u32 = 101;
    epoll_ctl(e1, EPOLL_CTL_ADD, s0, &ev);
    n = wait1(e1, 10000, &d);
    printf("parent: its epoll woken by a signal from the child: %d data=%u\n", n, d);
    take("parent: its signalfd", s0, child);
    waitpid(child, &st, 0);
    CHECK("child ended cleanly", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("parent: the shared epoll after the child's EPOLL_CTL_DEL: %d\n", wait1(e0, 0, &d));
    printf("parent: EPOLL_CTL_DEL again: %s\n", compat_res(epoll_ctl(e0, EPOLL_CTL_DEL, s0, NULL)));
    close(e0); close(e1); close(s0);
    close(c2p[0]); close(c2p[1]); close(p2c[0]); close(p2c[1]);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

/* A child makes a signalfd and passes it to the parent over a unix socket. */
static void signalfd_passed(void)
{
    sigset_t m;
    sigemptyset(&m); sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) { perror("socketpair"); exit(2); }
    fflush(stdout);
    pid_t parent = getpid(), child = fork();
    if (child == 0)
    {
        int sfd = signalfd(-1, &m, SFD_NONBLOCK);
        char byte = 's';
        struct iovec io = {&byte, 1};
        union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
        struct msghdr msg = {0};
        msg.msg_iov = &io; msg.msg_iovlen = 1;
        msg.msg_control = u.b; msg.msg_controllen = sizeof u.b;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &sfd, sizeof(int));
        if (sendmsg(sv[1], &msg, 0) != 1) perror("sendmsg");
        kill(getpid(), SIGUSR1);                         /* the child's own: not the parent's to read */
        hear(sv[1]);                                     /* the parent polls the passed signalfd */
        kill(parent, SIGUSR1);
        _exit(0);
    }
    char byte;
    struct iovec io = {&byte, 1};
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr msg = {0};
    msg.msg_iov = &io; msg.msg_iovlen = 1;
    msg.msg_control = u.b; msg.msg_controllen = sizeof u.b;
    int sfd = -1;
    if (recvmsg(sv[0], &msg, 0) == 1 && CMSG_FIRSTHDR(&msg)) memcpy(&sfd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
    printf("passed signalfd: received %s\n", yesno(sfd >= 0));
    struct pollfd p = {sfd, POLLIN, 0};
    printf("passed signalfd: the child's signal is not the parent's: %d\n", poll(&p, 1, 0));
    say(sv[0], 'p');
    int n = poll(&p, 1, 10000);
    printf("passed signalfd: the parent's poll woken by a signal to the parent: %d %s\n", n, p.revents == POLLIN ? "POLLIN" : "other");
    take("passed signalfd", sfd, child);
    int st;
    waitpid(child, &st, 0);
    close(sfd); close(sv[0]); close(sv[1]);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
}

static void arm(int fd, long ms, long interval_ms)
{
    struct itimerspec t = {{interval_ms / 1000, interval_ms % 1000 * 1000000}, {ms / 1000, ms % 1000 * 1000000}};
    if (timerfd_settime(fd, 0, &t, NULL) != 0) perror("timerfd_settime");
}

static uint64_t ticks(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, 8) != 8) return 0;
    return v;
}

struct poller { int fd, n; short revents; };

static void *poll_thread(void *a)
{
    struct poller *p = a;
    struct pollfd pf = {p->fd, POLLIN, 0};
    p->n = poll(&pf, 1, 10000);
    p->revents = pf.revents;
    return NULL;
}

static void timers(void)
{
    int t1 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), t2 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 1}};
    epoll_ctl(ep, EPOLL_CTL_ADD, t1, &ev);
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, t2, &ev);
    uint32_t d;
    printf("timers: none armed: %d\n", wait1(ep, 0, &d));
    arm(t1, 20, 0);
    int n = wait1(ep, 10000, &d);
    printf("timers: first expiry: %d data=%u ticks=%llu\n", n, d, (unsigned long long)ticks(t1));
    printf("timers: then none: %d\n", wait1(ep, 0, &d));
    arm(t2, 20, 0);
    n = wait1(ep, 10000, &d);
    printf("timers: second expiry: %d data=%u ticks=%llu\n", n, d, (unsigned long long)ticks(t2));
    arm(t1, 10, 10);
    uint64_t sum = 0;
    int others = 0;
    for (int i = 0; i < 3; i++)
    {
        n = wait1(ep, 10000, &d);
        if (n != 1 || d != 1) others++;
        sum += ticks(t1);
    }
    printf("timers: periodic first timer: 3 wake-ups, at least 3 ticks: %s, the other quiet: %s\n",
           yesno(sum >= 3), yesno(others == 0));
    arm(t1, 0, 0);
    ticks(t1);
    /* A poll waiting in another thread on a timer armed far away, re-armed near. */
    arm(t2, 100000, 0);
    struct poller p = {t2, -9, 0};
    pthread_t th;
    pthread_create(&th, NULL, poll_thread, &p);
    usleep(50000);                                       /* (the output does not depend on it) */
    arm(t2, 10, 0);
    pthread_join(th, NULL);
    printf("timers: a poll woken by the re-armed timer: %d %s ticks=%llu\n", p.n, p.revents == POLLIN ? "POLLIN" : "other",
           (unsigned long long)ticks(t2));
    close(ep); close(t1); close(t2);
}

static void inotify_two(void)
{
    char d1[] = "/tmp/pollheads.XXXXXX", d2[] = "/tmp/pollheads.XXXXXX";
    if (!mkdtemp(d1) || !mkdtemp(d2)) { perror("mkdtemp"); exit(2); }
    int i1 = inotify_init1(IN_NONBLOCK), i2 = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(i1, d1, IN_CREATE);
    inotify_add_watch(i2, d2, IN_CREATE);
    struct pollfd p[2] = {{i1, POLLIN, 0}, {i2, POLLIN, 0}};
    printf("inotify: none ready: %d\n", poll(p, 2, 0));
    int go[2];
    if (pipe(go)) { perror("pipe"); exit(2); }
    fflush(stdout);
    pid_t c = fork();
    if (c == 0)
    {
        char path[64];
        hear(go[0]);
        snprintf(path, sizeof path, "%s/made", d1);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0) close(fd);
        _exit(0);
    }
    say(go[1], 'x');
    int n = poll(p, 2, 10000);
    printf("inotify: a create in the first's directory: %d first=%s second=%s\n", n,
           p[0].revents == POLLIN ? "POLLIN" : "-", p[1].revents == POLLIN ? "POLLIN" : "-");
    char buf[256] __attribute__((aligned(8)));
    ssize_t r = read(i1, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("inotify: event %s %s\n", r > 0 && (e->mask & IN_CREATE) ? "IN_CREATE" : "?", r > 0 && e->len ? e->name : "?");
    int st;
    waitpid(c, &st, 0);
    p[0].revents = p[1].revents = 0;
    printf("inotify: then none ready: %d\n", poll(p, 2, 0));
    char path[64];
    snprintf(path, sizeof path, "%s/made", d1);
    unlink(path);
    rmdir(d1); rmdir(d2);
    close(i1); close(i2); close(go[0]); close(go[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    console();
    signalfd_fork();
    signalfd_passed();
    timers();
    inotify_two();
    return finish();
}
