/* RLIMIT_NOFILE: descriptors at or above the soft limit are never handed out (EMFILE for
 * open/pipe/socket/dup, EBADF for dup2's target, EINVAL for F_DUPFD's minimum, poll's nfds
 * above it EINVAL); setrlimit's checks; and a table that grows past 1024 descriptors when
 * the limit allows (select and poll on fd 2001, /proc/self/status's FDSize). Needs a hard
 * limit of at least 2100 (Linux's default is 4096); it never raises a hard limit (that needs
 * CAP_SYS_RESOURCE, which a container may lack). */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int set_nofile(rlim_t cur, rlim_t max)
{
    struct rlimit rl = { cur, max };
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static long fdsize(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128]; long v = -1;
    while (f && fgets(line, sizeof line, f)) sscanf(line, "FDSize: %ld", &v);
    if (f) fclose(f);
    return v;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    struct rlimit rl;
    EXPECT_OK("getrlimit", getrlimit(RLIMIT_NOFILE, &rl));
    CHECK("soft <= hard", rl.rlim_cur <= rl.rlim_max);

    /* A large table. */
    EXPECT_OK("soft limit 2100", set_nofile(2100, rl.rlim_max));
    EXPECT_ERR("dup2 to fd 2000", dup2(0, 2000), 0);
    EXPECT_ERR("F_DUPFD from 1500", fcntl(0, F_DUPFD, 1500), 0);
    printf("FDSize after fd 2000: %ld\n", fdsize());
    int null = open("/dev/null", O_WRONLY);
    EXPECT_ERR("dup2 /dev/null to fd 2001", dup2(null, 2001), 0);
    unsigned long wr[2048 / (8 * sizeof(unsigned long))] = { 0 };
    wr[2001 / (8 * sizeof(unsigned long))] |= 1UL << (2001 % (8 * sizeof(unsigned long)));
    struct timeval tv = { 0, 0 };
    EXPECT_ERR("select on fd 2001", select(2002, NULL, (fd_set *)wr, NULL, &tv), 0);
    CHECK("fd 2001 writable", (wr[2001 / (8 * sizeof(unsigned long))] >> (2001 % (8 * sizeof(unsigned long)))) & 1);
    struct pollfd one = { .fd = 2001, .events = POLLOUT };
    EXPECT_ERR("poll on fd 2001", poll(&one, 1, 0), 0);
    CHECK("POLLOUT", one.revents == POLLOUT);
    CHECK("/proc/self/fd/2000 exists", access("/proc/self/fd/2000", F_OK) == 0);
    EXPECT_OK("close fd 2000", close(2000));
    for (int fd = 3; fd < 2048; fd++) close(fd);

    /* prlimit on another process (its ids are ours). */
    int gate[2], back[2];
    pipe(gate); pipe(back);
    pid_t k = fork();
    if (k == 0) {
        char c; struct rlimit r;
        read(gate[0], &c, 1);
        getrlimit(RLIMIT_NOFILE, &r);
        write(back[1], &r, sizeof r);
        _exit(0);
    }
    struct rlimit nl = { 32, 64 }, ol, cl = { 0, 0 };
    EXPECT_OK("prlimit on a child", prlimit(k, RLIMIT_NOFILE, &nl, &ol));
    CHECK("its old limit was ours", ol.rlim_cur == 2100 && ol.rlim_max == rl.rlim_max);
    write(gate[1], "x", 1);
    read(back[0], &cl, sizeof cl);
    printf("the child sees %lu/%lu\n", (unsigned long)cl.rlim_cur, (unsigned long)cl.rlim_max);
    waitpid(k, NULL, 0);
    EXPECT_ERR("prlimit on the reaped child", prlimit(k, RLIMIT_NOFILE, NULL, &ol), ESRCH);
    close(gate[0]); close(gate[1]); close(back[0]); close(back[1]);

    /* A small one: lowering the hard limit needs no privilege (raising it does). */
    EXPECT_OK("setrlimit 16/64", set_nofile(16, 64));
    int opened = 0, last = -1;
    for (int i = 0; i < 20; i++) { int fd = open("/dev/null", O_RDONLY); if (fd < 0) break; opened++; last = fd; }
    printf("opened %d, the last fd %d, then %s\n", opened, last, errname(errno));
    int p[2];
    EXPECT_ERR("pipe at the limit", pipe(p), EMFILE);
    EXPECT_ERR("socket at the limit", socket(AF_UNIX, SOCK_STREAM, 0), EMFILE);
    EXPECT_ERR("dup at the limit", dup(0), EMFILE);
    EXPECT_ERR("dup2 to fd 16", dup2(0, 16), EBADF);
    EXPECT_ERR("dup3 to fd 100", dup3(0, 100, 0), EBADF);
    EXPECT_ERR("dup2 to fd 15 (open)", dup2(0, 15), 0);
    EXPECT_ERR("F_DUPFD from 16", fcntl(0, F_DUPFD, 16), EINVAL);
    EXPECT_ERR("F_DUPFD_CLOEXEC from 5 (all taken)", fcntl(0, F_DUPFD_CLOEXEC, 5), EMFILE);
    struct pollfd pf[17];
    for (int i = 0; i < 17; i++) { pf[i].fd = -1; pf[i].events = POLLIN; }
    EXPECT_ERR("poll 17 > limit", poll(pf, 17, 0), EINVAL);
    EXPECT_ERR("poll 16", poll(pf, 16, 0), 0);
    close(15);
    EXPECT_ERR("pipe with one fd free", pipe(p), EMFILE);
    EXPECT_ERR("open takes the freed fd", open("/dev/null", O_RDONLY), 0);

    EXPECT_OK("lower to 8 with 16 open", set_nofile(8, 64));
    EXPECT_ERR("open above the lowered limit", open("/dev/null", O_RDONLY), EMFILE);
    close(5);
    EXPECT_ERR("open below it", open("/dev/null", O_RDONLY), 0);
    EXPECT_OK("raise to 64", set_nofile(64, 64));
    EXPECT_ERR("open after raising", open("/dev/null", O_RDONLY), 0);

    EXPECT_ERR("soft above hard", set_nofile(100, 64), EINVAL);
    long nr_open = -1;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");
    if (f) { if (fscanf(f, "%ld", &nr_open) != 1) nr_open = -1; fclose(f); }
    CHECK("nr_open read", nr_open > 0);
    EXPECT_ERR("hard above nr_open", set_nofile(nr_open + 1, nr_open + 1), EPERM);

    return finish();
}
