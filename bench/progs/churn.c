/* Kernel memory under churn: each workload allocates and releases kernel objects N times;
 * memory in use (MemTotal - MemFree from /proc/meminfo) is read after a warm-up round and
 * after the run. A kernel that keeps anything per open file, thread, pipe, eventfd, epoll
 * instance, inotify instance or watch, socket, or process (fork + exit + wait, posix_spawn) grows with N.
 *
 *   churn SCALE [LIMIT_KIB]   SCALE multiplies the base counts (1: 10k opens, 1k threads,
 *                             ..., and always 10k forks, 1k spawns); with LIMIT_KIB, exits 1 if any workload grew more.
 * Prints one line per workload: "churn NAME COUNT BEFORE_KIB AFTER_KIB SECONDS", then
 * "churn_NAME_growth_kib G" (the metric form bench/run.sh reads).
 * Before each reading it sleeps briefly so an idle kernel may collect its garbage. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

extern char **environ;

static long in_use_kib(void) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, 0);
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) { perror("/proc/meminfo"); exit(2); }
    char line[128];
    long total = -1, free_ = -1, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %ld kB", &v) == 1) total = v;
        if (sscanf(line, "MemFree: %ld kB", &v) == 1) free_ = v;
    }
    fclose(f);
    if (total < 0 || free_ < 0) { fprintf(stderr, "churn: no MemTotal/MemFree\n"); exit(2); }
    return total - free_;
}

static void die(const char *what) { perror(what); exit(2); }

static void open_close(long n) {
    for (long i = 0; i < n; i++) {
        int fd = open("/tmp/churn.file", O_RDONLY);
        if (fd < 0) die("open");
        close(fd);
    }
}

static void *body(void *arg) { return arg; }
static void threads(long n) {
    for (long i = 0; i < n; i++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, 0, body, (void *)i) != 0) die("pthread_create");
        if (pthread_join(t, &r) != 0 || r != (void *)i) die("pthread_join");
    }
}

static void pipes(long n) {
    for (long i = 0; i < n; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) die("pipe2");
        if (write(p[1], "x", 1) != 1) die("write");
        close(p[0]);
        close(p[1]);
    }
}

static void eventfds(long n) {
    for (long i = 0; i < n; i++) {
        int fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0) die("eventfd");
        close(fd);
    }
}

static void epolls(long n) {
    int p[2];
    if (pipe(p) != 0) die("pipe");
    for (long i = 0; i < n; i++) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) die("epoll_create1");
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0) die("epoll_ctl");
        close(ep);
    }
    close(p[0]);
    close(p[1]);
}

/* AF_UNIX socket pairs with data in flight both ways: closing must free the queues. Every
 * fourth pair also sends one end into its own queue (SCM_RIGHTS): a cycle only the unix
 * collector frees. */
static void socketpairs(long n) {
    for (long i = 0; i < n; i++) {
        int sv[2];
        char c;
        if (socketpair(AF_UNIX, (i & 1) ? SOCK_DGRAM : SOCK_STREAM, 0, sv) != 0) die("socketpair");
        if (write(sv[0], "x", 1) != 1 || read(sv[1], &c, 1) != 1) die("socketpair write/read");
        if (write(sv[1], "unread", 6) != 6) die("socketpair write");
        if (i % 4 == 2) {
            char ctl[CMSG_SPACE(sizeof(int))] = {0};
            struct iovec io = {"s", 1};
            struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
            struct cmsghdr *h = CMSG_FIRSTHDR(&m);
            h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(h), &sv[1], sizeof(int));
            if (sendmsg(sv[0], &m, 0) != 1) die("sendmsg to self");
        }
        close(sv[0]);
        close(sv[1]);
    }
}

/* AF_UNIX connections to a named listener, each passing an open file (SCM_RIGHTS) that is
 * received once and left unread once, then closed. */
static void unix_conns(long n) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "churn-%d", (int)getpid());
    socklen_t al = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    if (srv < 0 || bind(srv, (struct sockaddr *)&a, al) != 0 || listen(srv, 16) != 0) die("listen");
    for (long i = 0; i < n; i++) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, al) != 0) die("connect");
        int s = accept(srv, 0, 0);
        if (s < 0) die("accept");
        char ctl[CMSG_SPACE(sizeof(int))] = {0}, b;
        struct iovec io = {"f", 1};
        struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &s, sizeof s);
        if (sendmsg(c, &m, 0) != 1) die("sendmsg");
        if (i & 1) {
            struct iovec ri = {&b, 1};
            struct msghdr rm = {.msg_iov = &ri, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
            if (recvmsg(s, &rm, 0) != 1) die("recvmsg");
            int got;
            memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof got);
            close(got);
        }
        close(c);
        close(s);
    }
    close(srv);
}

/* inotify: an instance watching /tmp and a new file in it; the file is written, closed and
 * deleted (queued events: CREATE, OPEN, MODIFY, CLOSE_WRITE, ATTRIB, DELETE_SELF, IGNORED,
 * DELETE), half of the events are read, the directory's watch removed and re-added, and every
 * tenth instance closed with its watches and unread events. */
static void inotifies(long n) {
    int ifd = -1;
    char buf[4096];
    for (long i = 0; i < n; i++) {
        if (ifd < 0 && (ifd = inotify_init1(IN_NONBLOCK)) < 0) die("inotify_init1");
        int wd = inotify_add_watch(ifd, "/tmp", IN_ALL_EVENTS);
        int fd = open("/tmp/churn.watched", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (wd < 0 || fd < 0 || inotify_add_watch(ifd, "/tmp/churn.watched", IN_ALL_EVENTS) < 0) die("inotify_add_watch");
        if (write(fd, "x", 1) != 1) die("write watched");
        close(fd);
        if (unlink("/tmp/churn.watched") != 0) die("unlink watched");
        if (i & 1 && read(ifd, buf, sizeof buf) <= 0) die("read inotify");
        if (inotify_rm_watch(ifd, wd) != 0) die("inotify_rm_watch");
        if (i % 10 == 9) { close(ifd); ifd = -1; }
    }
    if (ifd >= 0) close(ifd);
}

/* Grows a /tmp file to n MiB, then deletes it: all of its memory must come back. */
static void big_file(long mib) {
    static char buf[1 << 16];
    memset(buf, 'z', sizeof buf);
    int fd = open("/tmp/churn.big", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("open big");
    for (long i = 0; i < mib * 16; i++)
        if (write(fd, buf, sizeof buf) != (long)sizeof buf) die("write big");
    close(fd);
    if (unlink("/tmp/churn.big") != 0) die("unlink");
}

/* Processes: fork + exit + wait (copy-on-write memory, a kernel stack, an fd table each). */
static void forks(long n) {
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) die("fork");
        if (p == 0) _exit(i & 0x7f);
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f)) die("waitpid");
    }
}

/* posix_spawn (vfork + execve) of this program, which exits at once: a new address space
 * and program image each time. */
static void spawns(long n) {
    char *argv[] = { "churn", "--exit", 0 };
    for (long i = 0; i < n; i++) {
        pid_t p;
        if (posix_spawn(&p, "/proc/self/exe", 0, 0, argv, environ) != 0) die("posix_spawn");
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) die("waitpid spawn");
    }
}

struct workload { const char *name; void (*run)(long); long base; };

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--exit") == 0) return 0;       /* a spawned copy */
    long scale = argc > 1 ? strtol(argv[1], 0, 0) : 1;
    long limit = argc > 2 ? strtol(argv[2], 0, 0) : -1;
    if (scale <= 0) scale = 1;
    int fd = open("/tmp/churn.file", O_WRONLY | O_CREAT, 0600);
    if (fd < 0 || write(fd, "data", 4) != 4) die("create /tmp/churn.file");
    close(fd);
    static const struct workload w[] = {
        {"open_close", open_close, 10000},
        {"threads", threads, 1000},
        {"pipes", pipes, 10000},
        {"eventfds", eventfds, 10000},
        {"epolls", epolls, 10000},
        {"inotifies", inotifies, 10000},
        {"socketpairs", socketpairs, 100000},
        {"unix_conns", unix_conns, 10000},
        {"tmpfs_file_mib", big_file, 8},
        {"forks", forks, 10000},
        {"spawns", spawns, 1000},
    };
    int bad = 0;
    for (unsigned i = 0; i < sizeof w / sizeof w[0]; i++) {
        long n = w[i].base * scale;
        if (w[i].run == big_file) n = w[i].base;   /* the file's size does not scale */
        if (w[i].run == forks || w[i].run == spawns) n = w[i].base;   /* nor processes: ~1 ms each under TCG */
        w[i].run(n < 100 ? n : 100);                /* warm-up: caches fill, tables grow once */
        long before = in_use_kib();
        double t0 = bench_now_ns();
        w[i].run(n);
        double secs = (bench_now_ns() - t0) / 1e9;
        long after = in_use_kib();
        printf("churn %s %ld %ld %ld %.2f\nchurn_%s_growth_kib %ld\n", w[i].name, n, before, after, secs,
               w[i].name, after - before);
        fflush(stdout);
        if (limit >= 0 && after - before > limit) {
            fprintf(stderr, "churn: %s grew kernel memory by %ld KiB (limit %ld)\n", w[i].name, after - before, limit);
            bad = 1;
        }
    }
    return bad;
}
