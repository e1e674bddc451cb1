/* timerfd: create/settime/gettime errors, one-shot and periodic expirations, the 8-byte
 * count, EAGAIN and EINVAL on reads, absolute times, old values, disarming, TFD_IOC_SET_TICKS,
 * poll/epoll readiness and a blocked read. Only timing-insensitive facts are printed (counts
 * as ranges); the clock is never set (cancel-on-set is a boot test). */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#define BADP ((void *)0xffff800000001000UL)
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static struct itimerspec its(long vs, long vns, long is, long ins)
{
    struct itimerspec t = {{is, ins}, {vs, vns}};
    return t;
}

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    EXPECT_ERR("create bad clock 2", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    EXPECT_ERR("create bad clock 4 (MONOTONIC_RAW)", timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL);
    EXPECT_ERR("create bad clock -1", timerfd_create(-1, 0), EINVAL);
    EXPECT_ERR("create bad flags", timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
    int rt = timerfd_create(CLOCK_REALTIME, 0), bt = timerfd_create(CLOCK_BOOTTIME, 0);
    CHECK("REALTIME and BOOTTIME", rt >= 0 && bt >= 0);
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK("MONOTONIC NONBLOCK|CLOEXEC", t >= 0 && (fcntl(t, F_GETFL) & O_NONBLOCK) && fcntl(t, F_GETFD) == FD_CLOEXEC);
    CHECK("O_RDWR", (fcntl(t, F_GETFL) & O_ACCMODE) == O_RDWR);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", t);
    readlink(path, link, sizeof link - 1);
    printf("link: %s\n", link);

    uint64_t v = 0;
    struct itimerspec cur;
    EXPECT_ERR("read disarmed, nonblocking", read(t, &v, 8), EAGAIN);
    EXPECT_ERR("read 7 bytes", read(t, &v, 7), EINVAL);
    EXPECT_ERR("write", write(t, &v, 8), EINVAL);
    EXPECT_OK("gettime disarmed", timerfd_gettime(t, &cur));
    printf("disarmed: %lld %lld\n", ns_of(cur.it_value), ns_of(cur.it_interval));

    struct itimerspec n = its(0, 20000000, 0, 0), old;
    EXPECT_ERR("settime bad flags", timerfd_settime(t, 4, &n, NULL), EINVAL);
    struct itimerspec bad = its(0, 1000000000, 0, 0);
    EXPECT_ERR("settime nsec 1e9", timerfd_settime(t, 0, &bad, NULL), EINVAL);
    bad = its(-1, 0, 0, 0);
    EXPECT_ERR("settime negative", timerfd_settime(t, 0, &bad, NULL), EINVAL);
    bad = its(1, 0, 0, -1);
    EXPECT_ERR("settime negative interval nsec", timerfd_settime(t, 0, &bad, NULL), EINVAL);
    EXPECT_ERR("settime bad pointer", timerfd_settime(t, 0, BADP, NULL), EFAULT);
    EXPECT_ERR("settime bad fd", timerfd_settime(-1, 0, &n, NULL), EBADF);
    int nf = open("/dev/null", O_RDONLY);
    EXPECT_ERR("settime not a timerfd", timerfd_settime(nf, 0, &n, NULL), EINVAL);
    EXPECT_ERR("gettime not a timerfd", timerfd_gettime(nf, &cur), EINVAL);
    EXPECT_ERR("gettime bad fd", timerfd_gettime(-1, &cur), EBADF);
    EXPECT_ERR("gettime bad pointer", timerfd_gettime(t, BADP), EFAULT);

    /* one-shot, relative */
    n = its(5, 0, 0, 0);
    EXPECT_OK("arm 5 s", timerfd_settime(t, 0, &n, NULL));
    timerfd_gettime(t, &cur);
    CHECK("remaining in (4 s, 5 s]", ns_of(cur.it_value) > 4000000000LL && ns_of(cur.it_value) <= 5000000000LL);
    n = its(0, 20000000, 0, 0);
    EXPECT_OK("re-arm 20 ms, old value returned", timerfd_settime(t, 0, &n, &old));
    CHECK("old value in (4 s, 5 s]", ns_of(old.it_value) > 4000000000LL && ns_of(old.it_value) <= 5000000000LL && ns_of(old.it_interval) == 0);
    struct pollfd p = {t, POLLIN, 0};
    EXPECT_ERR("poll until it fires", poll(&p, 1, 5000), 0);
    printf("revents %#x\n", p.revents);
    EXPECT_ERR("read the count", read(t, &v, 8), 0);
    printf("count %llu\n", (unsigned long long)v);
    EXPECT_ERR("read again", read(t, &v, 8), EAGAIN);
    timerfd_gettime(t, &cur);
    printf("after a one-shot: %lld %lld\n", ns_of(cur.it_value), ns_of(cur.it_interval));

    /* periodic */
    n = its(0, 10000000, 0, 10000000);
    timerfd_settime(t, 0, &n, NULL);
    struct timespec sl = {0, 60000000};
    nanosleep(&sl, NULL);
    uint64_t two[2];
    EXPECT_ERR("read periodic (16-byte buffer)", read(t, two, 16), 0);
    v = two[0];
    CHECK("at least 5 expirations in 60 ms", v >= 5 && v < 1000);
    timerfd_gettime(t, &cur);
    CHECK("next expiry within the interval", ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 10000000 && ns_of(cur.it_interval) == 10000000);
    n = its(0, 0, 0, 0);
    EXPECT_OK("disarm", timerfd_settime(t, 0, &n, &old));
    CHECK("old interval", ns_of(old.it_interval) == 10000000);
    EXPECT_ERR("disarmed: nothing to read", read(t, &v, 8), EAGAIN);

    /* absolute */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    n.it_interval.tv_sec = 0; n.it_interval.tv_nsec = 0;
    n.it_value = now;
    EXPECT_OK("absolute time in the past", timerfd_settime(t, TFD_TIMER_ABSTIME, &n, NULL));
    EXPECT_ERR("fires at once", read(t, &v, 8), 0);
    printf("count %llu\n", (unsigned long long)v);
    n.it_value.tv_sec = now.tv_sec + 100;
    timerfd_settime(t, TFD_TIMER_ABSTIME, &n, NULL);
    timerfd_gettime(t, &cur);
    CHECK("absolute reported relative", ns_of(cur.it_value) > 99000000000LL && ns_of(cur.it_value) <= 100000000000LL);
    clock_gettime(CLOCK_REALTIME, &now);
    n.it_value.tv_sec = now.tv_sec + 100;
    EXPECT_OK("REALTIME absolute with CANCEL_ON_SET", timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &n, NULL));
    EXPECT_OK("CANCEL_ON_SET alone", timerfd_settime(bt, TFD_TIMER_CANCEL_ON_SET, &n, NULL));

    /* TFD_IOC_SET_TICKS */
    uint64_t ticks = 42;
    EXPECT_OK("TFD_IOC_SET_TICKS", ioctl(t, TFD_IOC_SET_TICKS, &ticks));
    EXPECT_ERR("read set ticks", read(t, &v, 8), 0);
    printf("count %llu\n", (unsigned long long)v);
    ticks = 0;
    EXPECT_ERR("TFD_IOC_SET_TICKS 0", ioctl(t, TFD_IOC_SET_TICKS, &ticks), EINVAL);
    EXPECT_ERR("unknown ioctl", ioctl(t, 0x1234, &ticks), ENOTTY);

    /* a blocking read and epoll */
    int b = timerfd_create(CLOCK_MONOTONIC, 0);
    n = its(0, 30000000, 0, 0);
    timerfd_settime(b, 0, &n, NULL);
    EXPECT_ERR("blocking read waits for the expiry", read(b, &v, 8), 0);
    printf("count %llu\n", (unsigned long long)v);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 1}}, out[2];
    epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev);
    EXPECT_ERR("epoll: nothing pending", epoll_wait(ep, out, 2, 0), 0);
    timerfd_settime(b, 0, &n, NULL);
    EXPECT_ERR("epoll_wait until it fires", epoll_wait(ep, out, 2, 5000), 0);
    printf("events %#x\n", out[0].events);
    read(b, &v, 8);
    EXPECT_ERR("epoll: read resets", epoll_wait(ep, out, 2, 0), 0);
    struct stat st;
    fstat(b, &st);
    printf("fstat mode %o\n", st.st_mode);
    close(ep); close(b); close(t); close(rt); close(bt); close(nf);

    /* the _ALARM clocks need CAP_WAKE_ALARM (root has it; dropped last, as it stays dropped) */
    int al = timerfd_create(CLOCK_BOOTTIME_ALARM, 0);
    CHECK("BOOTTIME_ALARM as root", al >= 0);
    struct { uint32_t version; int pid; } h = {0x20080522, 0};
    struct { uint32_t effective, permitted, inheritable; } d[2];
    syscall(SYS_capget, &h, d);
    d[1].effective &= ~(1u << (35 - 32));                  /* CAP_WAKE_ALARM */
    EXPECT_OK("drop CAP_WAKE_ALARM", syscall(SYS_capset, &h, d));
    EXPECT_ERR("REALTIME_ALARM without it", timerfd_create(CLOCK_REALTIME_ALARM, 0), EPERM);
    EXPECT_ERR("BOOTTIME_ALARM without it", timerfd_create(CLOCK_BOOTTIME_ALARM, 0), EPERM);
    n = its(10, 0, 0, 0);
    EXPECT_ERR("settime of an alarm timer without it", timerfd_settime(al, 0, &n, NULL), EPERM);
    EXPECT_OK("MONOTONIC still fine", timerfd_create(CLOCK_MONOTONIC, 0));
    return finish();
}
