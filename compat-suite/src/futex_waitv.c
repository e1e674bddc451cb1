/* futex_waitv(2): wake one of two futexes from another thread, a changed value (EAGAIN), an absolute timeout. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>
#define FUTEX_WAKE_PRIVATE 129
#include <time.h>
#include <errno.h>
struct fwv { uint64_t val, uaddr; uint32_t flags, res; };
static uint32_t f1, f2;
/* Wakes f2 without changing it, until a waiter was there to wake: setting it after a fixed
 * sleep raced with a loaded host, where the waiter may not have reached futex_waitv yet. */
static void *waker(void *a) { while (syscall(SYS_futex, &f2, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0) == 0) usleep(2000); return 0; }
int main(void) {
    struct fwv w[2] = {{0, (uintptr_t)&f1, 2 | 128, 0}, {0, (uintptr_t)&f2, 2 | 128, 0}};
    pthread_t t; pthread_create(&t, 0, waker, 0);
    long r = syscall(449, w, 2, 0, NULL, 0);
    printf("waitv woke index %ld\n", r);
    pthread_join(t, 0);
    f1 = 5;
    r = syscall(449, w, 2, 0, NULL, 0);
    printf("changed value: %ld errno=%s\n", r, errno == EAGAIN ? "EAGAIN" : "?");
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); ts.tv_nsec += 10000000; if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    w[0].val = 5; f2 = 0; w[1].val = 0;
    r = syscall(449, w, 2, 0, &ts, CLOCK_MONOTONIC);
    printf("timeout: %ld errno=%s\n", r, errno == ETIMEDOUT ? "ETIMEDOUT" : "?");
    return 0;
}
