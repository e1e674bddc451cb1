/* Compute-bound threads: N (argv[2], default 4) threads each run the compute.c loop for
 * ITERS (argv[1], default 20,000,000) iterations with no system call; prints the wall time
 * from the first create to the last join. With several CPUs the threads run in parallel. */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include "bench.h"
static long iters;
static void *work(void *arg) {
    volatile uint64_t sink;
    uint64_t x = 88172645463325252ull + (uintptr_t)arg;
    for (long i = 0; i < iters; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
    sink = x; (void)sink;
    return 0;
}
int main(int argc, char **argv) {
    iters = bench_iters(argc, argv, 20000000);
    int n = argc > 2 ? atoi(argv[2]) : 4;
    if (n < 1 || n > 64) n = 4;
    pthread_t t[64];
    double t0 = bench_now_ns();
    for (int i = 0; i < n; i++) if (pthread_create(&t[i], 0, work, (void *)(uintptr_t)i) != 0) { perror("pthread_create"); return 1; }
    for (int i = 0; i < n; i++) pthread_join(t[i], 0);
    double t1 = bench_now_ns();
    printf("parallel_ms %.1f\n", (t1 - t0) / 1e6);
    return 0;
}
