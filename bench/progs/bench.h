/* Shared helpers for the timed workloads. */
#include <stdlib.h>
#include <time.h>
static inline double bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
static inline long bench_iters(int argc, char **argv, long dflt) {
    long n = argc > 1 ? strtol(argv[1], 0, 0) : dflt;
    return n > 0 ? n : dflt;
}
