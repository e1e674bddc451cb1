/* N (argv[1], default 500000) raw getppid syscalls; prints ns per call. */
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "bench.h"
int main(int argc, char **argv) {
    long n = bench_iters(argc, argv, 500000);
    for (long i = 0; i < 1000; i++) syscall(SYS_getppid);   /* warm up */
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    double t1 = bench_now_ns();
    printf("getppid_ns_per_call %.1f\n", (t1 - t0) / n);
    return 0;
}
