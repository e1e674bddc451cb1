/* N (argv[1], default 2000) pthread_create + pthread_join pairs, one after the
 * other; prints µs per pair. */
#include <pthread.h>
#include <stdio.h>
#include "bench.h"
static void *body(void *arg) { return arg; }
int main(int argc, char **argv) {
    long n = bench_iters(argc, argv, 2000);
    pthread_t t;
    void *r;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        if (pthread_create(&t, 0, body, (void *)i) != 0) { perror("pthread_create"); return 1; }
        if (pthread_join(t, &r) != 0 || r != (void *)i) { fprintf(stderr, "pthread_join failed\n"); return 1; }
    }
    double t1 = bench_now_ns();
    printf("threads_us_per_create_join %.2f\n", (t1 - t0) / 1e3 / n);
    return 0;
}
