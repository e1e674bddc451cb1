/* Who a change wakes: poll, select and epoll_wait blocked in other threads on different
 * pipes are each woken by a write to their own; nested epoll (a blocked wait on the outer
 * instance, a write to a file of the inner one); EPOLLEXCLUSIVE (its epoll_ctl errors, and
 * a waiter gets its event); an interest lives as long as its file, not its fd (a dup keeps
 * it reporting, the last close drops it); level-triggered events reported again, edge-
 * triggered once per write; several threads in epoll_wait on one instance all get served. */
#include "compat.h"
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>

struct job { int kind, fd, result; short revents; };

static void *waiter(void *p)
{
    struct job *j = p;
    if (j->kind == 0)
    {
        struct pollfd pf = {j->fd, POLLIN, 0};
        j->result = poll(&pf, 1, 10000);
        j->revents = pf.revents;
    }
    else if (j->kind == 1)
    {
        fd_set in;
        FD_ZERO(&in);
        FD_SET(j->fd, &in);
        struct timeval tv = {10, 0};
        j->result = select(j->fd + 1, &in, NULL, NULL, &tv);
        j->revents = FD_ISSET(j->fd, &in);
    }
    else
    {
        struct epoll_event ev;
        j->result = epoll_wait(j->fd, &ev, 1, 10000);
        j->revents = j->result > 0 ? (short)ev.data.u32 : 0;
    }
    return NULL;
}

/* Gives the threads time to block first (what is printed does not depend on it). */
static void settle(void) { usleep(100000); }

static void three_waiters(void)
{
    int p[3][2];
    for (int i = 0; i < 3; i++) if (pipe(p[i]) != 0) { perror("pipe"); exit(2); }
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 42}};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[2][0], &ev);
    struct job j[3] = {{0, p[0][0], -9, 0}, {1, p[1][0], -9, 0}, {2, ep, -9, 0}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, waiter, &j[i]);
    settle();
    /* wake them one at a time, in reverse order, each by its own pipe */
    for (int i = 2; i >= 0; i--)
    {
        if (write(p[i][1], "x", 1) != 1) perror("write");
        pthread_join(t[i], NULL);
        printf("%s waiter: ret=%d got=%d\n", i == 0 ? "poll" : i == 1 ? "select" : "epoll", j[i].result, j[i].revents);
        for (int k = 0; k < i; k++) CHECK("others still waiting", j[k].result == -9);
    }
    for (int i = 0; i < 3; i++) { close(p[i][0]); close(p[i][1]); }
    close(ep);
}

static void nested(void)
{
    int p[2];
    if (pipe(p) != 0) { perror("pipe"); exit(2); }
    int inner = epoll_create1(0), outer = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 1}};
    epoll_ctl(inner, EPOLL_CTL_ADD, p[0], &ev);
    ev.data.u32 = 2;
    EXPECT_ERR("add inner to outer", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev), 0);
    struct epoll_event out[2];
    EXPECT_ERR("outer: nothing", epoll_wait(outer, out, 2, 0), 0);
    struct job j = {2, outer, -9, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter, &j);
    settle();
    if (write(p[1], "x", 1) != 1) perror("write");
    pthread_join(t, NULL);
    printf("outer woken: ret=%d data=%d\n", j.result, j.revents);
    struct pollfd pf = {inner, POLLIN, 0};
    EXPECT_ERR("poll on the inner instance", poll(&pf, 1, 0), 0);
    printf("inner revents %#x\n", pf.revents);
    char c;
    if (read(p[0], &c, 1) != 1) perror("read");
    EXPECT_ERR("outer after the read", epoll_wait(outer, out, 2, 0), 0);
    close(p[0]); close(p[1]); close(inner); close(outer);
}

static void exclusive(void)
{
    int p[2];
    if (pipe(p) != 0) { perror("pipe"); exit(2); }
    int ep = epoll_create1(0), ep2 = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLEXCLUSIVE, {.u32 = 5}};
    EXPECT_ERR("EXCLUSIVE with EPOLLONESHOT", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &(struct epoll_event){EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, {0}}), EINVAL);
    EXPECT_ERR("EXCLUSIVE with EPOLLRDHUP", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &(struct epoll_event){EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, {0}}), EINVAL);
    EXPECT_ERR("EXCLUSIVE on an epoll fd", epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev), EINVAL);
    EXPECT_ERR("add EXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
    EXPECT_ERR("MOD with EXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), EINVAL);
    ev.events = EPOLLIN;
    EXPECT_ERR("MOD of an EXCLUSIVE interest", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), EINVAL);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE; ev.data.u32 = 6;
    EXPECT_ERR("add EXCLUSIVE to a second instance", epoll_ctl(ep2, EPOLL_CTL_ADD, p[0], &ev), 0);
    struct job j = {2, ep, -9, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter, &j);
    settle();
    if (write(p[1], "x", 1) != 1) perror("write");
    pthread_join(t, NULL);
    printf("exclusive waiter: ret=%d data=%d\n", j.result, j.revents);
    EXPECT_ERR("DEL of an EXCLUSIVE interest", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
    close(p[0]); close(p[1]); close(ep); close(ep2);
}

static void lifetime(void)
{
    int p[2];
    if (pipe(p) != 0) { perror("pipe"); exit(2); }
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 9}}, out[2];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    int d = dup(p[0]);
    int old = p[0];
    close(old);
    if (write(p[1], "x", 1) != 1) perror("write");
    int n = epoll_wait(ep, out, 2, 0);
    printf("closed fd, dup open: %d events, data %u\n", n, n > 0 ? out[0].data.u32 : 0);
    EXPECT_ERR("DEL by the closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, old, NULL), EBADF);
    close(d);                                     /* the last reference: the interest goes */
    int q[2];
    if (pipe(q) != 0) { perror("pipe"); exit(2); }
    printf("new pipe reuses the fd: %s\n", yesno(q[0] == old));
    if (write(q[1], "y", 1) != 1) perror("write");
    EXPECT_ERR("nothing from the closed file", epoll_wait(ep, out, 2, 0), 0);
    EXPECT_ERR("DEL: not watched", epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL), ENOENT);
    ev.data.u32 = 10;
    EXPECT_ERR("ADD the new file at the same fd", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev), 0);
    n = epoll_wait(ep, out, 2, 0);
    printf("new file: %d events, data %u\n", n, n > 0 ? out[0].data.u32 : 0);
    close(p[1]); close(q[0]); close(q[1]); close(ep);
}

static void levels(void)
{
    int p[2], p2[2];
    if (pipe(p) != 0 || pipe(p2) != 0) { perror("pipe"); exit(2); }
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 1}}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    ev.events = EPOLLIN | EPOLLET; ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, p2[0], &ev);
    if (write(p[1], "ab", 2) != 2 || write(p2[1], "ab", 2) != 2) perror("write");
    for (int round = 0; round < 3; round++)
    {
        int n = epoll_wait(ep, out, 4, 0);
        unsigned sum = 0;
        for (int i = 0; i < n; i++) sum += out[i].data.u32;
        printf("round %d: %d events, data sum %u\n", round, n, sum);
    }
    /* one event slot: the level-triggered and edge-triggered files take turns */
    if (write(p2[1], "c", 1) != 1) perror("write");
    int a = epoll_wait(ep, out, 1, 0);
    unsigned first = a > 0 ? out[0].data.u32 : 0;
    int b = epoll_wait(ep, out, 1, 0);
    unsigned second = b > 0 ? out[0].data.u32 : 0;
    printf("maxevents 1: %d+%d events, both files seen: %s\n", a, b, yesno(first + second == 3));
    char buf[8];
    if (read(p[0], buf, 8) != 2) perror("read");
    EXPECT_ERR("drained LT, ET already reported", epoll_wait(ep, out, 4, 0), 0);
    close(p[0]); close(p[1]); close(p2[0]); close(p2[1]); close(ep);
}

static void *many_main(void *p)
{
    int *a = p;
    struct epoll_event ev;
    int n = epoll_wait(a[0], &ev, 1, 10000);
    if (n == 1)
    {
        char c;
        if (read(ev.data.fd, &c, 1) != 1) n = -2;   /* ET: each thread takes its own byte */
    }
    a[1] = n;
    return NULL;
}

static void many_threads(void)
{
    int p[2];
    if (pipe(p) != 0) { perror("pipe"); exit(2); }
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN | EPOLLET, {.fd = p[0]}};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    int args[4][2];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) { args[i][0] = ep; args[i][1] = -9; pthread_create(&t[i], NULL, many_main, args[i]); }
    settle();
    int served = 0;
    for (int i = 0; i < 4; i++)
    {
        if (write(p[1], "z", 1) != 1) perror("write");
        /* wait until one more thread has its byte */
        for (int tries = 0; tries < 500; tries++)
        {
            int done = 0;
            for (int k = 0; k < 4; k++) done += args[k][1] == 1;
            if (done > served) { served = done; break; }
            usleep(10000);
        }
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    int ok = 0;
    for (int i = 0; i < 4; i++) ok += args[i][1] == 1;
    printf("4 threads in epoll_wait, 4 writes: %d served\n", ok);
    close(p[0]); close(p[1]); close(ep);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    three_waiters();
    nested();
    exclusive();
    lifetime();
    levels();
    many_threads();
    return finish();
}
