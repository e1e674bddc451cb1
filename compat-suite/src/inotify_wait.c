/* inotify readiness and waiting: poll, select, epoll (level- and edge-triggered, a merged
 * event is no new edge), a blocking read woken by another process's create, a blocking read
 * interrupted by a signal (EINTR without SA_RESTART, restarted with it), and closing an
 * instance that still has watches. Runs in a fresh directory under /tmp. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[64];
static int ifd;

static const char *P(const char *name)
{
    static char buf[4][160];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void touch(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
}

/* Reads one batch and prints "mask name" of each event. */
static void show(const char *label, int fd)
{
    char buf[1024] __attribute__((aligned(8)));
    errno = 0;
    ssize_t r = read(fd, buf, sizeof buf);
    printf("%s:", label);
    if (r < 0) printf(" %s", errname(errno));
    for (char *p = buf; r > 0 && p < buf + r;) {
        struct inotify_event *e = (struct inotify_event *)p;
        printf(" [0x%x %s]", e->mask, e->len ? e->name : "-");
        p += sizeof *e + e->len;
    }
    printf("\n");
}

static int epoll_ready(int ep)
{
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, 0);
    if (n > 0 && ev[0].events != EPOLLIN) printf("(events 0x%x)\n", ev[0].events);
    return n;
}

static void readiness(void)
{
    ifd = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(ifd, dir, IN_CREATE | IN_MODIFY | IN_DELETE);
    struct pollfd p = {ifd, POLLIN | POLLOUT | POLLPRI, 0};
    int pr = poll(&p, 1, 0);
    printf("poll empty: %d revents 0x%x\n", pr, p.revents);
    touch(P("a"));
    pr = poll(&p, 1, 0);
    printf("poll after create: %d revents 0x%x\n", pr, p.revents);
    fd_set rs, ws;
    FD_ZERO(&rs); FD_ZERO(&ws); FD_SET(ifd, &rs); FD_SET(ifd, &ws);
    struct timeval tv = {0, 0};
    int n = select(ifd + 1, &rs, &ws, NULL, &tv);
    printf("select: %d readable %s writable %s\n", n, yesno(FD_ISSET(ifd, &rs)), yesno(FD_ISSET(ifd, &ws)));
    show("read", ifd);
    printf("poll drained: %d\n", poll(&p, 1, 0));

    int lt = epoll_create1(0), et = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    epoll_ctl(lt, EPOLL_CTL_ADD, ifd, &ev);
    ev.events = EPOLLIN | EPOLLET;
    epoll_ctl(et, EPOLL_CTL_ADD, ifd, &ev);
    printf("epoll empty: LT %d ET %d\n", epoll_ready(lt), epoll_ready(et));
    int fd = open(P("a"), O_WRONLY);
    write(fd, "x", 1);
    printf("after a write: LT %d ET %d\n", epoll_ready(lt), epoll_ready(et));
    printf("again: LT %d ET %d\n", epoll_ready(lt), epoll_ready(et));
    write(fd, "y", 1);
    printf("a second write (merged into the first): LT %d ET %d\n", epoll_ready(lt), epoll_ready(et));
    touch(P("b"));
    printf("a create (new event): LT %d ET %d\n", epoll_ready(lt), epoll_ready(et));
    show("read", ifd);
    printf("drained: LT %d ET %d\n", epoll_ready(lt), epoll_ready(et));
    close(fd);
    unlink(P("a")); unlink(P("b"));
    show("read deletes", ifd);
    close(lt); close(et);
    close(ifd);
}

/* The signal must arrive while the reader is asleep in read(), not before (a 20 ms timer
 * could fire first when the host is slow): a child sends it once /proc says the parent
 * sleeps. */
static pid_t signal_when_asleep(int sig)
{
    pid_t parent = getpid(), pid = fork();
    if (pid != 0) return pid;
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)parent);
    for (;;) {
        int fd = open(path, O_RDONLY);
        ssize_t n = fd < 0 ? -1 : read(fd, st, sizeof st - 1);
        if (fd >= 0) close(fd);
        if (n <= 0) _exit(1);
        st[n] = 0;
        char *e = strrchr(st, ')');
        if (e && e[1] == ' ' && e[2] == 'S') { kill(parent, sig); _exit(0); }
        usleep(1000);
    }
}

static volatile int handled;
static void on_alarm(int sig) { (void)sig; handled++; mkdir(P("from-handler"), 0755); }

static void blocking(void)
{
    ifd = inotify_init();
    inotify_add_watch(ifd, dir, IN_CREATE | IN_ONLYDIR);
    pid_t pid = fork();
    if (pid == 0) { touch(P("from-child")); _exit(0); }
    show("blocking read, child creates", ifd);
    waitpid(pid, NULL, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    char buf[256] __attribute__((aligned(8)));
    pid_t k = signal_when_asleep(SIGALRM);
    errno = 0;
    ssize_t r = read(ifd, buf, sizeof buf);
    waitpid(k, NULL, 0);
    printf("blocking read, signal without SA_RESTART: %s handled %d\n", compat_res(r), handled);
    int fl = fcntl(ifd, F_GETFL);
    fcntl(ifd, F_SETFL, fl | O_NONBLOCK);
    show("the handler's event is queued", ifd);
    fcntl(ifd, F_SETFL, fl);
    rmdir(P("from-handler"));

    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    k = signal_when_asleep(SIGALRM);
    show("blocking read, signal with SA_RESTART", ifd);
    waitpid(k, NULL, 0);
    printf("handled %d\n", handled);
    rmdir(P("from-handler"));
    unlink(P("from-child"));

    /* Closing an instance with watches drops them: a new instance starts from wd 1. */
    int w = inotify_add_watch(ifd, P("."), IN_ALL_EVENTS);
    close(ifd);
    ifd = inotify_init1(IN_NONBLOCK);
    int w2 = inotify_add_watch(ifd, dir, IN_ALL_EVENTS);
    printf("old wd %d, new instance's wd %d\n", w, w2);
    close(ifd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(dir, sizeof dir, "/tmp/compat-inotify-XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    readiness();
    blocking();
    rmdir(dir);
    return finish();
}
