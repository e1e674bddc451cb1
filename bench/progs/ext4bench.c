/* ext4 volume workloads: ext4bench DIR [MiB] [FILES] [DEV]. With DEV (the Linux guest),
 * mounts DEV (ext4) on DIR first and drops the page cache before the read phase.
 * Prints sequential write MiB/s (1 MiB writes, then fsync), sequential read MiB/s, and
 * create+write(100 B)+fsync+close per second for FILES small files in one directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"
static char buf[1 << 20];
int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/vol";
    long mib = argc > 2 ? atol(argv[2]) : 64, files = argc > 3 ? atol(argv[3]) : 10000;
    char path[256];
    if (argc > 4) {
        mkdir(dir, 0755);
        if (mount(argv[4], dir, "ext4", 0, 0) != 0) { perror("mount"); return 1; }
    }
    snprintf(path, sizeof path, "%s/seq", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) { perror(path); return 1; }
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (char)(i * 13);
    double t0 = bench_now_ns();
    for (long i = 0; i < mib; i++) if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) { perror("write"); return 1; }
    if (fsync(fd)) { perror("fsync"); return 1; }
    double t1 = bench_now_ns();
    close(fd);
    if (argc > 4) { sync(); int d = open("/proc/sys/vm/drop_caches", O_WRONLY); if (d >= 0) { write(d, "3", 1); close(d); } }
    fd = open(path, O_RDONLY);
    double t2 = bench_now_ns();
    long total = 0, n;
    while ((n = read(fd, buf, sizeof buf)) > 0) total += n;
    double t3 = bench_now_ns();
    close(fd);
    if (total != mib << 20) { fprintf(stderr, "read %ld\n", total); return 1; }
    snprintf(path, sizeof path, "%s/small", dir);
    mkdir(path, 0755);
    double t4 = bench_now_ns();
    for (long i = 0; i < files; i++) {
        snprintf(path, sizeof path, "%s/small/f%ld", dir, i);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 || write(fd, buf, 100) != 100 || fsync(fd)) { perror(path); return 1; }
        close(fd);
    }
    double t5 = bench_now_ns();
    printf("seq write %.1f MiB/s, seq read %.1f MiB/s, create+fsync %.0f files/s (%ld files)\n",
           mib / ((t1 - t0) / 1e9), mib / ((t3 - t2) / 1e9), files / ((t5 - t4) / 1e9), files);
    if (argc > 4) { sync(); umount(dir); }
    return 0;
}
