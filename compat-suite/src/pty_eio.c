/* pty_eio: the master after the slave closes (what was written is still read, then EIO;
 * poll says POLLHUP), a reopened slave clears it; poll and epoll on both ends, a reader
 * blocked on the master woken by a child's write to the slave, and the master's /proc
 * link. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>

static void show(const char *label, const char *b, long n)
{
    printf("%s: ", label);
    if (n < 0) { printf("%s\n", errname(errno)); return; }
    printf("\"");
    for (long i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c == '\r') printf("\\r"); else if (c == '\n') printf("\\n"); else putchar(c);
    }
    printf("\" (%ld)\n", n);
}

int main(void)
{
    char b[64], path[64];
    setvbuf(stdout, NULL, _IONBF, 0);
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m); unlockpt(m);
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m));
    snprintf(path, sizeof path, "/proc/self/fd/%d", m);
    ssize_t l = readlink(path, b, sizeof b - 1);
    if (l > 0) b[l] = 0;
    CHECK("the master's /proc link is /dev/ptmx", l > 0 && strcmp(b, "/dev/ptmx") == 0);

    struct pollfd pm = { .fd = m, .events = POLLIN | POLLOUT };
    CHECK("master before the slave opens: writable only", poll(&pm, 1, 0) == 1 && pm.revents == POLLOUT);

    int s = open(name, O_RDWR | O_NOCTTY);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = s };
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    ev.data.fd = m;
    epoll_ctl(ep, EPOLL_CTL_ADD, m, &ev);
    struct epoll_event out[4];
    CHECK("epoll: nothing readable yet", epoll_wait(ep, out, 4, 0) == 0);
    write(m, "typed\n", 6);
    int n = epoll_wait(ep, out, 4, -1);
    int sawm = 0, saws = 0;
    /* the echo makes the master readable, the line the slave */
    for (int tries = 0; tries < 1000 && !(sawm && saws); tries++) {
        for (int i = 0; i < n; i++) { if (out[i].data.fd == m) sawm = 1; if (out[i].data.fd == s) saws = 1; }
        if (!(sawm && saws)) n = epoll_wait(ep, out, 4, -1);
    }
    CHECK("epoll: the master (echo) and the slave (a line) become readable", sawm && saws);
    show("slave reads", b, read(s, b, sizeof b));
    int got = 0;
    while (got < 7) { ssize_t k = read(m, b + got, 7 - got); if (k <= 0) break; got += k; }
    show("master reads the echo", b, got);

    /* a child writes while the parent sleeps in read */
    pid_t c = fork();
    if (c == 0) {
        close(m);
        struct pollfd w = { .fd = s, .events = POLLOUT };
        poll(&w, 1, -1);
        write(s, "from child\n", 11);
        _exit(0);
    }
    got = 0;
    while (got < 12) { ssize_t k = read(m, b + got, 12 - got); if (k <= 0) break; got += k; }
    show("blocked master read woken", b, got);
    waitpid(c, NULL, 0);

    /* the slave writes and closes: the master still reads it, then EIO */
    write(s, "last words\n", 11);
    close(s);
    CHECK("poll: POLLHUP on the master", poll(&pm, 1, -1) == 1 && (pm.revents & POLLHUP) && (pm.revents & POLLIN));
    got = 0;
    while (got < 12) { ssize_t k = read(m, b + got, 12 - got); if (k <= 0) break; got += k; }
    show("master reads what was written", b, got);
    show("then", b, read(m, b, sizeof b));
    show("and again", b, read(m, b, sizeof b));
    pm.events = POLLIN;
    CHECK("poll: POLLHUP without POLLIN once drained", poll(&pm, 1, 0) == 1 && pm.revents == POLLHUP);

    /* reopening the slave makes the master usable again */
    s = open(name, O_RDWR | O_NOCTTY);
    CHECK("the slave reopens", s >= 0);
    fcntl(m, F_SETFL, O_NONBLOCK);
    show("master read with a slave again", b, read(m, b, sizeof b));
    write(s, "again\n", 6);
    fcntl(m, F_SETFL, 0);
    got = 0;
    while (got < 7) { ssize_t k = read(m, b + got, 7 - got); if (k <= 0) break; got += k; }
    show("and it reads", b, got);
    close(s);
    close(ep);
    close(m);
    return finish();
}
