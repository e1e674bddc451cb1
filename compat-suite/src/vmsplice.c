/* vmsplice(2): user memory into a pipe's write end and out of its read end, the flags and
   the errors Linux gives. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <signal.h>
#include <unistd.h>

static const char *err(long r) { return r < 0 ? strerror(errno) : "ok"; }

int main(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    char a[] = "hello, ", b[] = "vmsplice\n";
    struct iovec in[2] = {{a, strlen(a)}, {b, strlen(b)}};
    long n = vmsplice(p[1], in, 2, 0);
    printf("into the pipe: %ld (%s)\n", n, err(n));

    char x[5] = {0}, y[64] = {0};
    struct iovec out[2] = {{x, 4}, {y, sizeof y - 1}};
    n = vmsplice(p[0], out, 2, 0);
    printf("out of the pipe: %ld [%.4s][%s]", n, x, y);

    n = vmsplice(p[1], in, 0, 0);
    printf("no vectors: %ld\n", n);
    n = vmsplice(p[1], in, 1, 0x10);
    printf("unknown flag: %ld %s\n", n, err(n));
    int f = open("/proc/self/cmdline", O_RDONLY);
    n = vmsplice(f, in, 1, 0);
    printf("not a pipe: %ld %s\n", n, err(n));
    n = vmsplice(p[1], (struct iovec *)8, 1, 0);
    printf("bad iovec array: %ld %s\n", n, err(n));
    n = vmsplice(99, in, 1, 0);
    printf("closed fd: %ld %s\n", n, err(n));

    /* Empty pipe, read end, SPLICE_F_NONBLOCK: EAGAIN. Full pipe, write end: EAGAIN. */
    n = vmsplice(p[0], out, 1, SPLICE_F_NONBLOCK);
    printf("empty, nonblocking read: %ld %s\n", n, err(n));
    static char big[1 << 16];
    struct iovec bv = {big, sizeof big};
    long total = 0;
    while ((n = vmsplice(p[1], &bv, 1, SPLICE_F_NONBLOCK)) > 0) total += n;
    /* How much fits depends on how Linux lends pages; that it fills and then says EAGAIN does not. */
    printf("filled some, at most 64 KiB: %s, then: %ld %s\n", total > 0 && total <= 65536 ? "yes" : "no", n, err(n));
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    n = vmsplice(p[1], in, 1, SPLICE_F_NONBLOCK);
    printf("no reader: %ld %s\n", n, err(n));
    return 0;
}
