/* File mappings and read/write sharing one page: MAP_SHARED writes seen by read() at once and
 * write()s seen by the mapping, msync, MAP_PRIVATE copy-on-write, SIGBUS past the end of the
 * file (also after a truncate), zeros past EOF within the last page, mappings at an offset,
 * EACCES for a shared writable mapping of a read-only descriptor.
 * file_mmap [DIR] (default /tmp): the boot tests run it on an ext4 volume too. */
#include "compat.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define PG 4096
static sigjmp_buf jb;
static volatile int got_sig;
static void on_sig(int s) { got_sig = s; siglongjmp(jb, 1); }

/* Reads one byte at p: the byte, or -SIGNAL when the access faults. */
static int probe(volatile unsigned char *p)
{
    got_sig = 0;
    if (sigsetjmp(jb, 1)) return -got_sig;
    return *p;
}

static int probe_write(volatile unsigned char *p, unsigned char v)
{
    got_sig = 0;
    if (sigsetjmp(jb, 1)) return -got_sig;
    *p = v;
    return 0;
}

static void pattern(unsigned char *b, long n, int seed) { for (long i = 0; i < n; i++) b[i] = (unsigned char)(seed + i * 13 + (i >> 9)); }

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/file_mmap.%d", dir, (int)getpid());   /* variants run at once */
    unlink(path);
    struct sigaction sa = { 0 };
    sa.sa_handler = on_sig;
    sigaction(SIGBUS, &sa, 0);
    sigaction(SIGSEGV, &sa, 0);

    static unsigned char buf[5 * PG], rd[64];
    long size = 3 * PG + 100;
    pattern(buf, size, 1);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { printf("open: %s\n", errname(errno)); return 1; }
    printf("write: %ld\n", (long)write(fd, buf, size));

    unsigned char *m = mmap(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { printf("mmap shared: %s\n", errname(errno)); return 1; }
    printf("mapping matches the file: %d\n", memcmp(m, buf, size) == 0);
    printf("past EOF in the last page reads zero: %d %d\n", probe(m + size), probe(m + 4 * PG - 1));
    memcpy(m + 5000, "MAPPED", 6);
    memset(rd, 0, sizeof rd);
    printf("pread sees the mapping's write: %ld %.6s\n", (long)pread(fd, rd, 6, 5000), rd);
    printf("pwrite: %ld\n", (long)pwrite(fd, "WRITTEN", 7, 9000));
    printf("the mapping sees pwrite: %.7s\n", m + 9000);
    printf("msync MS_SYNC: %d\n", msync(m, 4 * PG, MS_SYNC));
    printf("msync MS_ASYNC: %d\n", msync(m + PG, PG, MS_ASYNC));
    printf("msync unaligned: %s\n", msync(m + 1, PG, MS_SYNC) < 0 ? errname(errno) : "OK");

    /* A second mapping of the same page, at an offset. */
    unsigned char *m2 = mmap(0, PG, PROT_READ, MAP_SHARED, fd, PG);
    printf("offset mapping sees the write: %.6s\n", m2 + (5000 - PG));
    m[5001] = 'a';
    printf("and later writes: %.6s\n", m2 + (5000 - PG));
    munmap(m2, PG);

    /* Beyond the file's last page: SIGBUS. Writing the tail of the last page does not grow
     * the file. */
    unsigned char *big = mmap(0, 6 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("read past the last page: %d\n", probe(big + 4 * PG));
    printf("write past the last page: %d\n", probe_write(big + 5 * PG + 7, 1));
    printf("write in the last page past EOF: %d\n", probe_write(big + size + 10, 'z'));
    struct stat st;
    fstat(fd, &st);
    printf("size unchanged: %ld\n", (long)st.st_size);
    munmap(big, 6 * PG);

    /* Truncate while mapped: the pages past the end SIGBUS, the last page's tail reads zero;
     * growing the file again gives zeros, not the old bytes. */
    printf("ftruncate: %d\n", ftruncate(fd, 5000 + 3));
    printf("after truncate: page 2 %d, tail %d, kept %c\n", probe(m + 2 * PG + 1), probe(m + 5003), m[5000]);
    printf("ftruncate up: %d\n", ftruncate(fd, size));
    printf("grown again reads zero: %d %d\n", probe(m + 9000), probe(m + 5004));
    memset(rd, 1, sizeof rd);
    pread(fd, rd, 8, 9000);
    printf("pread there: %d %d\n", rd[0], rd[7]);
    memcpy(m + 2 * PG, "AGAIN", 5);
    printf("munmap: %d\n", munmap(m, 4 * PG));
    memset(rd, 0, sizeof rd);
    pread(fd, rd, 5, 2 * PG);
    printf("after munmap the write is in the file: %.5s\n", rd);

    /* MAP_PRIVATE: the mapping's writes stay private; the file is unchanged. */
    unsigned char *p = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private mapping reads the file: %d\n", memcmp(p, buf, 100) == 0);
    memcpy(p + 100, "PRIV", 4);
    memset(rd, 0, sizeof rd);
    pread(fd, rd, 4, 100);
    printf("private write not in the file: %d, in the mapping: %.4s\n", memcmp(rd, buf + 100, 4) == 0, p + 100);
    munmap(p, 2 * PG);
    p = mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("a new private mapping sees the file: %d\n", memcmp(p + 100, buf + 100, 4) == 0);
    munmap(p, PG);

    /* Mapping checks against the descriptor's access mode. */
    int ro = open(path, O_RDONLY);
    void *x = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("shared writable of O_RDONLY: %s\n", x == MAP_FAILED ? errname(errno) : "mapped");
    x = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    printf("private writable of O_RDONLY: %s\n", x == MAP_FAILED ? errname(errno) : "mapped");
    if (x != MAP_FAILED) munmap(x, PG);
    x = mmap(0, PG, PROT_READ, MAP_SHARED, ro, 4 * PG);
    printf("shared map at EOF: %s", x == MAP_FAILED ? errname(errno) : "mapped");
    printf(" then %d\n", x == MAP_FAILED ? 0 : probe(x));
    close(ro);

    /* A mapping outlives its descriptor; a file that only grows by write is seen. */
    m = mmap(0, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    fd = open(path, O_RDWR | O_APPEND);
    pattern(buf, 2 * PG, 7);
    write(fd, buf, 2 * PG);
    printf("appended pages seen: %d\n", memcmp(m + size, buf, 2 * PG) == 0);
    m[size + 2] = 'Q';
    fsync(fd);
    memset(rd, 0, sizeof rd);
    pread(fd, rd, 1, size + 2);
    printf("fsync'd mapping write: %c\n", rd[0]);
    munmap(m, 8 * PG);
    close(fd);
    printf("unlink: %d\n", unlink(path));
    return 0;
}
