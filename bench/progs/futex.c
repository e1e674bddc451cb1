/* Futex ping-pong: two threads hand a turn word back and forth with raw
 * FUTEX_WAIT/FUTEX_WAKE, N (argv[1], default 20000) round trips (two
 * hand-offs each); prints µs per round trip. With argv[2] "pin" (and two CPUs
 * or more) the threads are bound to the first two CPUs: every hand-off crosses CPUs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"
#define FUTEX_WAIT_PRIVATE 128   /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (musl ships no linux/futex.h) */
#define FUTEX_WAKE_PRIVATE 129
static int turn;   /* 0: main's turn, 1: partner's turn */
static long rounds;
static void fwait(int *a, int v) { syscall(SYS_futex, a, FUTEX_WAIT_PRIVATE, v, 0, 0, 0); }
static void fwake(int *a) { syscall(SYS_futex, a, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0); }
/* Wait until turn == me, then pass it to the other side and wake it. */
static void play(int me) {
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me) fwait(&turn, !me);
    __atomic_store_n(&turn, !me, __ATOMIC_RELEASE);
    fwake(&turn);
}
static int pinned;
static void pin(int nth) {
    cpu_set_t all, one;
    if (!pinned || sched_getaffinity(0, sizeof all, &all) != 0) return;
    for (int c = 0, k = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all) && k++ == nth) { CPU_ZERO(&one); CPU_SET(c, &one); sched_setaffinity(0, sizeof one, &one); return; }
}
static void *partner(void *arg) {
    pin(1);
    for (long i = 0; i < rounds; i++) play(1);
    return arg;
}
int main(int argc, char **argv) {
    rounds = bench_iters(argc, argv, 20000);
    pinned = argc > 2 && strcmp(argv[2], "pin") == 0;
    pin(0);
    pthread_t t;
    double t0 = bench_now_ns();
    if (pthread_create(&t, 0, partner, 0) != 0) { perror("pthread_create"); return 1; }
    for (long i = 0; i < rounds; i++) play(0);
    pthread_join(t, 0);
    double t1 = bench_now_ns();
    printf("futex_us_per_round_trip %.2f\n", (t1 - t0) / 1e3 / rounds);
    return 0;
}
