/* N (argv[1], default 500000) clock_gettime(CLOCK_MONOTONIC) calls (vDSO if
 * the kernel provides one, else the syscall); prints ns per call. */
#include <stdio.h>
#include <time.h>
#include "bench.h"
int main(int argc, char **argv) {
    long n = bench_iters(argc, argv, 500000);
    struct timespec ts;
    for (long i = 0; i < 1000; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) clock_gettime(CLOCK_MONOTONIC, &ts);
    double t1 = bench_now_ns();
    printf("clock_gettime_ns_per_call %.1f\n", (t1 - t0) / n);
    return 0;
}
