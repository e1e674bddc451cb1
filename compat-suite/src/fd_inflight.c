/* fd_inflight: a call blocked on an fd keeps its open file alive when another thread
 * closes the fd (Linux's fdget/fdput). close() removes only the fd: the blocked read,
 * recv or epoll_wait still gets what the peer writes afterwards, and the file is released
 * when that call returns (then the peer sees EPIPE). */
#include "compat.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/epoll.h>

static int target_fd, use_recv, epfd;
static volatile int about_to_block;
static volatile pid_t blocker_tid;
static long got;
static int got_errno;
static char buf[16];

static void *blocker(void *arg)
{
    (void)arg;
    blocker_tid = (pid_t)syscall(SYS_gettid);
    __atomic_store_n(&about_to_block, 1, __ATOMIC_SEQ_CST);
    errno = 0;
    if (epfd >= 0) {
        struct epoll_event ev;
        got = epoll_wait(epfd, &ev, 1, -1);
        got_errno = errno;
        if (got == 1 && ev.data.u32 == 77) got = read(target_fd, buf, sizeof buf);
        return NULL;
    }
    got = use_recv ? recv(target_fd, buf, sizeof buf, 0) : read(target_fd, buf, sizeof buf);
    got_errno = errno;
    return NULL;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Waits until the blocker thread sleeps in its call: on Linux /proc/self/task/TID/stat says
 * 'S'; where that file is missing, the thread has been started and is given time to block. */
static void wait_blocked(void)
{
    while (!__atomic_load_n(&about_to_block, __ATOMIC_SEQ_CST)) sched_yield();
    char path[64], st[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)blocker_tid);
    for (int i = 0; i < 20000; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) { nap_ms(200); return; }
        ssize_t n = read(fd, st, sizeof st - 1);
        close(fd);
        if (n <= 0) { nap_ms(200); return; }
        st[n] = 0;
        char *p = strrchr(st, ')');
        if (p && p[1] == ' ' && p[2] == 'S') return;
        nap_ms(1);
    }
}

static long send_or_write(int fd, int sock)
{
    return sock ? send(fd, "hello", 5, MSG_NOSIGNAL) : write(fd, "hello", 5);
}

/* Blocks a thread on fds[0], closes fds[0] under it, then writes to fds[1]. */
static void run(const char *name, int fds[2], int recv_mode)
{
    char label[96];
    pthread_t t;
    target_fd = fds[0]; use_recv = recv_mode; about_to_block = 0; got = -2; got_errno = 0;
    memset(buf, 0, sizeof buf);
    pthread_create(&t, NULL, blocker, NULL);
    wait_blocked();
    int victim = epfd >= 0 ? epfd : fds[0];
    snprintf(label, sizeof label, "%s: close the blocked fd", name);
    EXPECT_OK(label, close(victim));
    snprintf(label, sizeof label, "%s: fd gone (F_GETFD)", name);
    EXPECT_ERR(label, fcntl(victim, F_GETFD), EBADF);
    snprintf(label, sizeof label, "%s: peer writes", name);
    EXPECT_ERR(label, send_or_write(fds[1], recv_mode), 0);
    pthread_join(t, NULL);
    printf("%s: blocked call returned %ld (%s) \"%s\"\n", name, got, got < 0 ? errname(got_errno) : "OK", buf);
    if (got != 5 || strcmp(buf, "hello") != 0) compat_failures++;
    snprintf(label, sizeof label, "%s: peer writes after the call ended", name);
    EXPECT_ERR(label, send_or_write(fds[1], recv_mode), epfd >= 0 ? 0 : EPIPE);
    if (epfd >= 0) close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    int fds[2];
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IONBF, 0);
    epfd = -1;
    if (pipe(fds) != 0) { perror("pipe"); return 2; }
    run("pipe read", fds, 0);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) { perror("socketpair"); return 2; }
    run("socketpair recv", fds, 1);
    /* epoll_wait on an epoll fd that another thread closes: the instance and its interest
     * in the pipe live on until the call returns. */
    if (pipe(fds) != 0) { perror("pipe"); return 2; }
    epfd = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 77 };
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fds[0], &ev) != 0) { perror("epoll"); return 2; }
    run("epoll_wait", fds, 0);
    return finish();
}
