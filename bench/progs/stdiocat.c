/* stdin -> stdout throughput: copies its input to its output with 128 KiB read()s and
 * write()s, as cat does, and prints on stderr "stdio_bytes N" and "stdio_mib_per_s X",
 * timed from the first read that returned data to the end of input (the host's start-up
 * and the boot are left out).
 *
 *   stdiocat          stdin -> stdout (under our kernel: ukpack run's channels)
 *   stdiocat vport    the Linux guest: input from virtio-console port 1, output to port 2
 *                     (/dev/vportNp1 and /dev/vportNp2; separate ports so that the input's
 *                     end, which closes its port, never blocks the output) */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

static char buf[128 * 1024];

/* /dev/vport<N>p<port>, whatever N the guest gave the device. */
static int open_vport(int port, int flags) {
    DIR *d = opendir("/dev");
    if (!d) return -1;
    struct dirent *e;
    char suffix[16], path[300];
    snprintf(suffix, sizeof suffix, "p%d", port);
    int fd = -1;
    while (fd < 0 && (e = readdir(d))) {
        size_t n = strlen(e->d_name), s = strlen(suffix);
        if (strncmp(e->d_name, "vport", 5) || n <= s || strcmp(e->d_name + n - s, suffix)) continue;
        snprintf(path, sizeof path, "/dev/%s", e->d_name);
        fd = open(path, flags);
    }
    closedir(d);
    return fd;
}

int main(int argc, char **argv) {
    int in = 0, out = 1;
    if (argc > 1 && !strcmp(argv[1], "vport")) {
        in = open_vport(1, O_RDONLY);
        out = open_vport(2, O_WRONLY);
        if (in < 0 || out < 0) { fprintf(stderr, "stdiocat: no /dev/vport*p1 and p2\n"); return 1; }
    }
    long long total = 0;
    double t0 = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) { perror("stdiocat: read"); return 1; }
        if (n == 0) break;
        if (total == 0) t0 = bench_now_ns();
        total += n;
        for (ssize_t o = 0; o < n;) {
            ssize_t w = write(out, buf + o, n - o);
            if (w <= 0) { perror("stdiocat: write"); return 1; }
            o += w;
        }
    }
    double s = (bench_now_ns() - t0) / 1e9;
    fprintf(stderr, "stdio_bytes %lld\nstdio_mib_per_s %.3f\n", total, s > 0 ? total / 1048576.0 / s : 0);
    return 0;
}
