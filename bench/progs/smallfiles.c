/* N (argv[1], default 10000) small files (100 bytes) in /tmp: create+write+close
 * each, then stat each, then unlink each; prints µs per file for every phase
 * and for the three together. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"
int main(int argc, char **argv) {
    long n = bench_iters(argc, argv, 10000);
    char path[64], data[100];
    memset(data, 'x', sizeof data);
    const char *dir = "/tmp/smallfiles";
    if (mkdir(dir, 0755) != 0) { perror(dir); return 1; }
    struct stat st;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%ld", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) { perror(path); return 1; }
        if (write(fd, data, sizeof data) != (ssize_t)sizeof data) { perror("write"); return 1; }
        close(fd);
    }
    double t1 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%ld", dir, i);
        if (stat(path, &st) != 0 || st.st_size != (off_t)sizeof data) { perror(path); return 1; }
    }
    double t2 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%ld", dir, i);
        if (unlink(path) != 0) { perror(path); return 1; }
    }
    double t3 = bench_now_ns();
    rmdir(dir);
    printf("smallfiles_create_us_per_file %.2f\n", (t1 - t0) / 1e3 / n);
    printf("smallfiles_stat_us_per_file %.2f\n", (t2 - t1) / 1e3 / n);
    printf("smallfiles_unlink_us_per_file %.2f\n", (t3 - t2) / 1e3 / n);
    printf("smallfiles_us_per_file %.2f\n", (t3 - t0) / 1e3 / n);
    return 0;
}
