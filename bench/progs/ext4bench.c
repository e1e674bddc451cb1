/* ext4 volume workloads: ext4bench DIR [MiB [FILES [APPENDS [DEV]]]]. With DEV (the Linux
 * guest), mounts DEV (ext4) on DIR first, drops the page cache before the read phase and
 * unmounts at the end. Four phases, each timed apart, printed as "name value" lines:
 *   ext4_seq_write_mib_per_s      MiB (64) written in 1 MiB write()s to one new file, then fsync
 *   ext4_seq_read_mib_per_s       the same file read back in 1 MiB read()s (cold on Linux)
 *   ext4_append_fsync_per_s       APPENDS (1,000) 4 KiB write()s to a new O_APPEND file, each fsync'd
 *   ext4_create_fsync_files_per_s FILES (10,000) small files in one new directory: open(O_CREAT|
 *                                 O_EXCL), write 100 B, fsync, close */
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
    long appends = argc > 4 ? atol(argv[4]) : 1000;
    const char *dev = argc > 5 ? argv[5] : 0;
    char path[256];
    if (dev) {
        mkdir(dir, 0755);
        if (mount(dev, dir, "ext4", 0, 0) != 0) { perror("mount"); return 1; }
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
    if (dev) { sync(); int d = open("/proc/sys/vm/drop_caches", O_WRONLY); if (d >= 0) { (void)!write(d, "3", 1); close(d); } }
    fd = open(path, O_RDONLY);
    double t2 = bench_now_ns();
    long total = 0, n;
    while ((n = read(fd, buf, sizeof buf)) > 0) total += n;
    double t3 = bench_now_ns();
    close(fd);
    if (total != mib << 20) { fprintf(stderr, "read %ld\n", total); return 1; }
    printf("ext4_seq_write_mib_per_s %.1f\n", mib / ((t1 - t0) / 1e9));
    printf("ext4_seq_read_mib_per_s %.1f\n", mib / ((t3 - t2) / 1e9));
    fflush(stdout);
    snprintf(path, sizeof path, "%s/log", dir);
    fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_APPEND, 0644);
    if (fd < 0) { perror(path); return 1; }
    double t4 = bench_now_ns();
    for (long i = 0; i < appends; i++)
        if (write(fd, buf, 4096) != 4096 || fsync(fd)) { perror("append"); return 1; }
    double t5 = bench_now_ns();
    close(fd);
    printf("ext4_append_fsync_per_s %.1f\n", appends / ((t5 - t4) / 1e9));
    fflush(stdout);
    snprintf(path, sizeof path, "%s/small", dir);
    mkdir(path, 0755);
    double t6 = bench_now_ns();
    for (long i = 0; i < files; i++) {
        snprintf(path, sizeof path, "%s/small/f%ld", dir, i);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 || write(fd, buf, 100) != 100 || fsync(fd)) { perror(path); return 1; }
        close(fd);
    }
    double t7 = bench_now_ns();
    printf("ext4_create_fsync_files_per_s %.1f\n", files / ((t7 - t6) / 1e9));
    if (dev) { sync(); umount(dir); }
    return 0;
}
