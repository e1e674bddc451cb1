/* access_ok: a buffer outside the user half is EFAULT on entry to the calls that take one,
 * before anything is read or written and even when nothing would be copied (Linux checks
 * access_ok first). The fd and access-mode checks come before it, as on Linux. Only clearly
 * kernel addresses are used: the boundary of the user half moved between Linux versions. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#define KADDR ((void *)0xffff888000000000UL)   /* the direct map of a Linux kernel */
#define KTOP ((void *)0xfffffffffffff000UL)

static char buf[64];

int main(void)
{
    char path[] = "/tmp/compat_access_ok_XXXXXX";
    int f = mkstemp(path);
    if (f < 0) { perror("mkstemp"); return 2; }
    if (write(f, "0123456789", 10) != 10) return 2;
    int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    int p[2];
    if (ro < 0 || wo < 0 || dir < 0 || pipe(p) != 0) { perror("open"); return 2; }
    unlink(path);

    /* read/write: stdin is empty, so these would return 0 without the check */
    EXPECT_ERR("read(0, kernel, 4)", syscall(SYS_read, 0, KADDR, 4), EFAULT);
    EXPECT_ERR("read(0, kernel, 0)", syscall(SYS_read, 0, KADDR, 0), EFAULT);
    EXPECT_ERR("read(0, top page, 0)", syscall(SYS_read, 0, KTOP, 0), EFAULT);
    EXPECT_ERR("read(0, NULL, 0)", syscall(SYS_read, 0, NULL, 0), 0);
    EXPECT_ERR("read(0, buf, 0)", syscall(SYS_read, 0, buf, 0), 0);
    EXPECT_ERR("read(0, buf, SIZE_MAX) wraps", syscall(SYS_read, 0, buf, (size_t)-1), EFAULT);
    EXPECT_ERR("read(0, buf, 2^63-1)", syscall(SYS_read, 0, buf, 0x7fffffffffffffffUL), EFAULT);
    EXPECT_ERR("read(0, buf, 2^47) reaches the kernel half", syscall(SYS_read, 0, buf, 0x800000000000UL), EFAULT);
    EXPECT_ERR("read(0, buf, 0x7ffff001) is capped, not refused", syscall(SYS_read, 0, buf, 0x7ffff001UL), 0);
    EXPECT_ERR("read(99, kernel) is EBADF first", syscall(SYS_read, 99, KADDR, 4), EBADF);
    EXPECT_ERR("read(write-only, kernel) is EBADF first", syscall(SYS_read, wo, KADDR, 4), EBADF);
    EXPECT_ERR("read(dir, kernel) is EFAULT before EISDIR", syscall(SYS_read, dir, KADDR, 4), EFAULT);
    EXPECT_ERR("read(dir, buf)", syscall(SYS_read, dir, buf, 4), EISDIR);
    EXPECT_ERR("read(file, kernel) reads nothing", syscall(SYS_read, ro, KADDR, 4), EFAULT);
    CHECK("file offset unchanged", lseek(ro, 0, SEEK_CUR) == 0);
    EXPECT_ERR("write(1, kernel, 0)", syscall(SYS_write, 1, KADDR, 0), EFAULT);
    EXPECT_ERR("write(file, kernel, 0)", syscall(SYS_write, wo, KADDR, 0), EFAULT);
    EXPECT_ERR("write(1, buf, SIZE_MAX)", syscall(SYS_write, 1, buf, (size_t)-1), EFAULT);
    EXPECT_ERR("write(99, kernel, 0)", syscall(SYS_write, 99, KADDR, 0), EBADF);
    EXPECT_ERR("write(read-only, kernel, 0)", syscall(SYS_write, ro, KADDR, 0), EBADF);
    EXPECT_ERR("write(pipe, kernel, 4)", syscall(SYS_write, p[1], KADDR, 4), EFAULT);
    EXPECT_ERR("pipe still empty", syscall(SYS_read, p[0], buf, 0), 0);

    /* pread64/pwrite64 */
    EXPECT_ERR("pread64(file, kernel, 4, 0)", syscall(SYS_pread64, ro, KADDR, 4, 0L), EFAULT);
    EXPECT_ERR("pread64(file, kernel, 0, 0)", syscall(SYS_pread64, ro, KADDR, 0L, 0L), EFAULT);
    EXPECT_ERR("pread64(file, buf, 4, 0)", syscall(SYS_pread64, ro, buf, 4, 0L), 0);
    EXPECT_ERR("pread64(pipe, kernel) is ESPIPE first", syscall(SYS_pread64, p[0], KADDR, 4, 0L), ESPIPE);
    EXPECT_ERR("pread64(write-only, kernel) is EBADF first", syscall(SYS_pread64, wo, KADDR, 4, 0L), EBADF);
    EXPECT_ERR("pread64(99, kernel)", syscall(SYS_pread64, 99, KADDR, 4, 0L), EBADF);
    EXPECT_ERR("pwrite64(file, kernel, 0, 0)", syscall(SYS_pwrite64, wo, KADDR, 0L, 0L), EFAULT);
    EXPECT_ERR("pwrite64(pipe, kernel) is ESPIPE first", syscall(SYS_pwrite64, p[1], KADDR, 4, 0L), ESPIPE);
    EXPECT_ERR("pwrite64(read-only, kernel)", syscall(SYS_pwrite64, ro, KADDR, 4, 0L), EBADF);

    /* readv/writev and friends: every segment passes access_ok, even an empty one */
    struct iovec kz[2] = {{KADDR, 0}, {buf, 4}};
    struct iovec k4[1] = {{KADDR, 4}};
    struct iovec kneg[2] = {{KADDR, 4}, {buf, (size_t)-1}};
    struct iovec wrap[2] = {{buf, 0x7fffffffffffffffUL}, {buf, 1}};
    struct iovec huge[2] = {{buf, 0x7ffff000UL}, {buf, 0x7fffffffUL}};
    struct iovec ok[1] = {{buf, 4}};
    EXPECT_ERR("readv(0, [kernel 0, buf 4])", syscall(SYS_readv, 0, kz, 2), EFAULT);
    EXPECT_ERR("readv(0, [kernel 4])", syscall(SYS_readv, 0, k4, 1), EFAULT);
    EXPECT_ERR("readv(0, [kernel 4, negative]) is EINVAL first", syscall(SYS_readv, 0, kneg, 2), EINVAL);
    EXPECT_ERR("readv(0, [buf 2^63-1, buf 1])", syscall(SYS_readv, 0, wrap, 2), EFAULT);
    EXPECT_ERR("readv(0, [2 GiB, 2 GiB]) is capped, not refused", syscall(SYS_readv, 0, huge, 2), 0);
    EXPECT_ERR("readv(0, kernel iovec array)", syscall(SYS_readv, 0, KADDR, 1), EFAULT);
    EXPECT_ERR("readv(0, kernel, 0)", syscall(SYS_readv, 0, KADDR, 0), 0);
    EXPECT_ERR("readv(0, kernel, 1025)", syscall(SYS_readv, 0, KADDR, 1025), EINVAL);
    EXPECT_ERR("readv(write-only, kernel)", syscall(SYS_readv, wo, KADDR, 2), EBADF);
    EXPECT_ERR("readv(99, ...)", syscall(SYS_readv, 99, kz, 2), EBADF);
    EXPECT_ERR("readv(file, [kernel 4]) reads nothing", syscall(SYS_readv, ro, k4, 1), EFAULT);
    CHECK("file offset still 0", lseek(ro, 0, SEEK_CUR) == 0);
    EXPECT_ERR("writev(1, [kernel 0, buf 4])", syscall(SYS_writev, 1, kz, 2), EFAULT);
    EXPECT_ERR("writev(0, ...) is EBADF first", syscall(SYS_writev, 0, kz, 2), EBADF);
    EXPECT_ERR("writev(pipe, [kernel 4])", syscall(SYS_writev, p[1], k4, 1), EFAULT);
    EXPECT_ERR("preadv(file, [kernel 0, buf 4], 0)", syscall(SYS_preadv, ro, kz, 2, 0L, 0L), EFAULT);
    EXPECT_ERR("preadv(file, [buf 4], 0)", syscall(SYS_preadv, ro, ok, 1, 0L, 0L), 0);
    EXPECT_ERR("preadv(pipe, ...) is ESPIPE first", syscall(SYS_preadv, p[0], kz, 2, 0L, 0L), ESPIPE);
    EXPECT_ERR("preadv(write-only, ...)", syscall(SYS_preadv, wo, kz, 2, 0L, 0L), EBADF);
    EXPECT_ERR("pwritev(file, [kernel 0, buf 4], 0)", syscall(SYS_pwritev, wo, kz, 2, 0L, 0L), EFAULT);
    EXPECT_ERR("pwritev(read-only, ...)", syscall(SYS_pwritev, ro, kz, 2, 0L, 0L), EBADF);
    EXPECT_ERR("preadv2(0, [kernel 0, buf 4], -1)", syscall(SYS_preadv2, 0, kz, 2, (long)-1, 0L, 0L), EFAULT);
    EXPECT_ERR("pwritev2(1, [kernel 0, buf 4], -1)", syscall(SYS_pwritev2, 1, kz, 2, (long)-1, 0L, 0L), EFAULT);
    EXPECT_ERR("preadv2(pipe, ..., -1) reads the pipe", syscall(SYS_preadv2, p[0], kz, 2, (long)-1, 0L, 0L), EFAULT);

    /* other calls that check the buffer first */
    EXPECT_ERR("getrandom(kernel, 0)", syscall(SYS_getrandom, KADDR, 0L, 0L), EFAULT);
    EXPECT_ERR("getrandom(NULL, 0)", syscall(SYS_getrandom, NULL, 0L, 0L), 0);
    EXPECT_ERR("getrandom(kernel, 4, bad flags)", syscall(SYS_getrandom, KADDR, 4, 0x100), EINVAL);
    int ep = epoll_create1(0);
    EXPECT_ERR("epoll_wait(ep, kernel, 1, 0)", syscall(SYS_epoll_wait, ep, KADDR, 1, 0), EFAULT);
    EXPECT_ERR("epoll_wait(ep, kernel, 0, 0)", syscall(SYS_epoll_wait, ep, KADDR, 0L, 0L), EINVAL);
    EXPECT_ERR("epoll_wait(99, kernel, 1, 0)", syscall(SYS_epoll_wait, 99, KADDR, 1, 0), EBADF);
    EXPECT_ERR("epoll_wait(not epoll, kernel, 1, 0)", syscall(SYS_epoll_wait, 0, KADDR, 1, 0), EFAULT);
    EXPECT_ERR("epoll_wait(not epoll, buf, 1, 0)", syscall(SYS_epoll_wait, 0, buf, 1, 0), EINVAL);
    EXPECT_ERR("epoll_pwait(ep, kernel, 1, 0)", syscall(SYS_epoll_pwait, ep, KADDR, 1, 0, NULL, 8), EFAULT);
    EXPECT_ERR("poll(kernel, 0, 0)", syscall(SYS_poll, KADDR, 0L, 0L), EFAULT);
    EXPECT_ERR("poll(NULL, 0, 0)", syscall(SYS_poll, NULL, 0L, 0L), 0);
    return finish();
}
