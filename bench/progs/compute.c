/* Pure user-mode CPU loop, no syscalls inside: a control. Under the same
 * QEMU both kernels should give the same figure (ratio ~1.0); if not, the
 * in-guest clock or the CPU setup differs and other ratios are suspect. */
#include <stdio.h>
#include <stdint.h>
#include "bench.h"
int main(int argc, char **argv) {
    long n = bench_iters(argc, argv, 20000000);
    volatile uint64_t sink;
    uint64_t x = 88172645463325252ull;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
    double t1 = bench_now_ns();
    sink = x; (void)sink;
    printf("compute_ns_per_iter %.2f\n", (t1 - t0) / n);
    return 0;
}
