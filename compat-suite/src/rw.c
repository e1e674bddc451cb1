/* rw: write/read/writev/readv on the standard fds, bad fds, bad pointers, zero lengths.
 * stdin is inputs/rw.in: "0123456789abcdefghijklmnopqrstuvwxyz\n" */
#include "compat.h"
#include <sys/uio.h>
#include <limits.h>

static long sys_write(int fd, const void *p, size_t n) { return syscall(SYS_write, fd, p, n); }
static long sys_read(int fd, void *p, size_t n) { return syscall(SYS_read, fd, p, n); }

int main(void)
{
    char buf[256];
    long r;

    setvbuf(stdout, NULL, _IONBF, 0); /* our own lines interleave with raw writes */

    r = sys_write(1, "raw write to stdout\n", 20);
    CHECK("write stdout returns 20", r == 20);
    r = sys_write(2, "raw write to stderr\n", 20);
    CHECK("write stderr returns 20", r == 20);
    EXPECT_ERR("write len 0 stdout", sys_write(1, "x", 0), 0);
    EXPECT_ERR("write NULL len 0 stdout", sys_write(1, NULL, 0), 0);
    EXPECT_ERR("write fd -1", sys_write(-1, "x", 1), EBADF);
    EXPECT_ERR("write fd 999", sys_write(999, "x", 1), EBADF);
    EXPECT_ERR("write fd 0x7fffffff", sys_write(0x7fffffff, "x", 1), EBADF);
    EXPECT_ERR("write bad pointer 0x1", sys_write(1, (void *)1, 10), EFAULT);
    EXPECT_ERR("write kernel pointer", sys_write(1, (void *)0xffffffff80000000UL, 10), EFAULT);
    EXPECT_ERR("write NULL len 5", sys_write(1, NULL, 5), EFAULT);

    struct iovec iov[3] = {
        { "writev ", 7 }, { "", 0 }, { "three parts\n", 12 },
    };
    r = syscall(SYS_writev, 1, iov, 3);
    CHECK("writev returns 19", r == 19);
    EXPECT_ERR("writev iovcnt 0", syscall(SYS_writev, 1, iov, 0), 0);
    EXPECT_ERR("writev iovcnt -1", syscall(SYS_writev, 1, iov, -1), EINVAL);
    EXPECT_ERR("writev iovcnt 1025", syscall(SYS_writev, 1, iov, 1025), EINVAL);
    EXPECT_ERR("writev bad iov pointer", syscall(SYS_writev, 1, (void *)8, 2), EFAULT);
    struct iovec badiov[2] = { { "ok", 0 }, { (void *)1, 4 } };
    EXPECT_ERR("writev bad base", syscall(SYS_writev, 1, badiov, 2), EFAULT);
    EXPECT_ERR("writev fd 999", syscall(SYS_writev, 999, iov, 3), EBADF);
    r = syscall(SYS_writev, 2, iov, 3);
    CHECK("writev stderr returns 19", r == 19);

    /* stdin */
    EXPECT_ERR("read len 0", sys_read(0, buf, 0), 0);
    EXPECT_ERR("read fd -1", sys_read(-1, buf, 1), EBADF);
    EXPECT_ERR("read fd 999", sys_read(999, buf, 1), EBADF);
    EXPECT_ERR("read bad pointer", sys_read(0, (void *)1, 4), EFAULT);
    r = sys_read(0, buf, 10);
    CHECK("read 10 returns 10", r == 10);
    buf[r > 0 ? r : 0] = 0;
    printf("read data: %s\n", buf);

    char a[5], b[7];
    struct iovec riov[2] = { { a, 4 }, { b, 6 } };
    r = syscall(SYS_readv, 0, riov, 2);
    CHECK("readv returns 10", r == 10);
    a[4] = 0; b[6] = 0;
    printf("readv data: %s|%s\n", a, b);
    EXPECT_ERR("readv iovcnt -1", syscall(SYS_readv, 0, riov, -1), EINVAL);
    EXPECT_ERR("readv fd 999", syscall(SYS_readv, 999, riov, 2), EBADF);

    /* rest of the input, then EOF */
    size_t total = 0;
    for (;;) {
        r = sys_read(0, buf + total, sizeof buf - 1 - total);
        if (r <= 0) break;
        total += r;
    }
    CHECK("read to EOF ends with 0", r == 0);
    buf[total] = 0;
    printf("rest (%zu bytes): %s", total, buf);
    EXPECT_ERR("read at EOF", sys_read(0, buf, 10), 0);

    /* stdio on top */
    printf("printf after raw writes\n");
    fprintf(stderr, "fprintf stderr\n");
    EXPECT_ERR("close fd 999", syscall(SYS_close, 999), EBADF);
    return finish();
}
