/* A virtio-blk disk (argv[1], default /dev/vda), opened O_RDWR|O_DIRECT (without O_DIRECT
 * if the kernel refuses it), in three phases, each timed alone:
 *   - one sequential pass of read() in 1 MiB chunks over the whole device, MiB/s;
 *   - N (argv[2], default 2000) pread()s of 4 KiB at random 4 KiB-aligned offsets, IOPS;
 *   - one sequential pass of write() in 1 MiB chunks, then fsync(), MiB/s (fsync included).
 * O_DIRECT makes Linux go to the device instead of its page cache (our kernel has none).
 * Prints blk_direct (1 if O_DIRECT was accepted), blk_bytes and the three metrics.
 * If the device node is not there yet (a Linux guest's devtmpfs), waits up to 2 s for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#define CHUNK (1 << 20)

int main(int argc, char **argv) {
    const char *dev = argc > 1 ? argv[1] : "/dev/vda";
    long nrand = argc > 2 ? strtol(argv[2], 0, 0) : 2000;
    if (nrand <= 0) nrand = 2000;
    int fd = -1, direct = 1;
    for (int i = 0; i < 100; i++) {
        fd = open(dev, O_RDWR | O_DIRECT);
        if (fd < 0 && errno == EINVAL) { direct = 0; fd = open(dev, O_RDWR); }
        if (fd >= 0 || errno != ENOENT) break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, 0);
    }
    if (fd < 0) { perror(dev); return 1; }
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0 || size < CHUNK) { fprintf(stderr, "%s: size %llu\n", dev, (unsigned long long)size); return 1; }
    size -= size % CHUNK;
    char *buf;
    if (posix_memalign((void **)&buf, 4096, CHUNK)) { fprintf(stderr, "no memory\n"); return 1; }
    memset(buf, 0, CHUNK);   /* fault the buffer in before timing */

    /* sequential read */
    double t0 = bench_now_ns();
    unsigned long sum = 0;
    for (uint64_t off = 0; off < size; off += CHUNK) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n != CHUNK) { fprintf(stderr, "read at %llu: %zd %s\n", (unsigned long long)off, n, strerror(errno)); return 1; }
        sum += (unsigned char)buf[0];
    }
    double t1 = bench_now_ns();
    double mib = size / 1048576.0;
    printf("blk_direct %d\n", direct);
    printf("blk_bytes %llu\n", (unsigned long long)size);
    printf("blk_seq_read_mib_per_s %.1f\n", mib / ((t1 - t0) / 1e9));
    fflush(stdout);

    /* 4 KiB random reads (xorshift; the same offsets on every kernel) */
    uint64_t x = 88172645463325252ull, blocks = size / 4096;
    t0 = bench_now_ns();
    for (long i = 0; i < nrand; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        off_t off = (off_t)(x % blocks) * 4096;
        if (pread(fd, buf, 4096, off) != 4096) { fprintf(stderr, "pread at %lld: %s\n", (long long)off, strerror(errno)); return 1; }
        sum += (unsigned char)buf[0];
    }
    t1 = bench_now_ns();
    printf("blk_rand_read_iops %.0f\n", nrand / ((t1 - t0) / 1e9));
    fflush(stdout);

    /* sequential write + fsync */
    for (int i = 0; i < CHUNK; i++) buf[i] = (char)(i * 7 + 3);
    if (lseek(fd, 0, SEEK_SET) != 0) { perror("lseek"); return 1; }
    t0 = bench_now_ns();
    for (uint64_t off = 0; off < size; off += CHUNK) {
        buf[0] = (char)(off >> 20);
        ssize_t n = write(fd, buf, CHUNK);
        if (n != CHUNK) { fprintf(stderr, "write at %llu: %zd %s\n", (unsigned long long)off, n, strerror(errno)); return 1; }
    }
    if (fsync(fd)) { perror("fsync"); return 1; }
    t1 = bench_now_ns();
    printf("blk_seq_write_fsync_mib_per_s %.1f\n", mib / ((t1 - t0) / 1e9));
    close(fd);
    (void)sum;
    return 0;
}
