/* Hostile but legal-looking requests the kernel must survive (found in review): futex
   requeue to NULL and to itself, a timeout centuries away, an epoll cycle, and a signal
   handler that rewrites its return address to a non-canonical one (the program, not the
   kernel, must die: SIGSEGV). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/epoll.h>
#include <time.h>
#include <errno.h>

static volatile int hits;
static void handler(int s, siginfo_t *i, void *uc)
{
    ucontext_t *u = uc;
    (void)s; (void)i;
    if (hits++ == 0) u->uc_mcontext.gregs[REG_RIP] = (greg_t)0x0001000000000000UL;
}

static void report(const char *what, long r)
{
    printf("%s: %ld errno=%d\n", what, r, r < 0 ? errno : 0);
}

int main(void)
{
    uint32_t f = 0;
    report("requeue to NULL", syscall(SYS_futex, &f, 3 /* FUTEX_REQUEUE */, 0, 1, (void *)0, 0));
    report("requeue to itself", syscall(SYS_futex, &f, 3, 0, 1, &f, 0));
    struct timespec far = {0x7fffffffffffffffL, 0};
    report("wait, value differs, far timeout", syscall(SYS_futex, &f, 0 /* FUTEX_WAIT */, 1, &far, 0, 0));
    int a = epoll_create1(0), b = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    report("epoll inside epoll", epoll_ctl(a, EPOLL_CTL_ADD, b, &ev));
    report("epoll cycle", epoll_ctl(b, EPOLL_CTL_ADD, a, &ev));
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    fflush(stdout);
    raise(SIGUSR1);
    printf("not reached\n");
    return 0;
}
