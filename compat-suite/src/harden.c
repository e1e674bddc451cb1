/* Issue 8: what a syscall fuzzer found. Each check is a hostile argument Linux answers with
 * an errno (or ignores), which must not panic the kernel or kill the program:
 * non-canonical and kernel-half pointers on every kind of user access (8.1), a 1-byte write
 * at 256 GiB in /tmp (8.2, sparse), brk at the top of the address space (8.3), lengths from
 * 2^64-4095 (8.6), FUTEX_WAKE on an unmapped word (8.6), syscall numbers with high bits
 * (8.6), and the vsyscall page of old static binaries (8.6). */
#include "compat.h"
#include <fcntl.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#define FUTEX_WAKE 1
#define FUTEX_WAKE_PRIVATE 129

#define NONCANON ((void *)0x8000000000000000UL)
#define KERNEL   ((void *)0xffff800000001000UL)
#define HOLE     ((void *)0x0000123400000000UL)   /* canonical, user half, unmapped */

int main(void)
{
    /* 8.1: the string length was taken before the range check (#GP in user_strnlen). */
    EXPECT_ERR("prctl PR_SET_NAME non-canonical", syscall(SYS_prctl, PR_SET_NAME, NONCANON, 0, 0, 0), EFAULT);
    EXPECT_ERR("prctl PR_SET_NAME kernel half", syscall(SYS_prctl, PR_SET_NAME, KERNEL, 0, 0, 0), EFAULT);
    EXPECT_ERR("prctl PR_SET_NAME top of user half", syscall(SYS_prctl, PR_SET_NAME, (void *)0x7ffffffffffeUL, 0, 0, 0), EFAULT);
    EXPECT_ERR("prctl PR_GET_NAME non-canonical", syscall(SYS_prctl, PR_GET_NAME, NONCANON, 0, 0, 0), EFAULT);
    void *bad[] = { NONCANON, KERNEL, HOLE, (void *)0x0001000000000000UL, (void *)~0UL };
    const char *names[] = { "non-canonical", "kernel half", "unmapped", "just past the user half", "-1" };
    int fd = open("/dev/null", O_RDWR), pp[2];
    pipe(pp);                                   /* a pipe's write reads the buffer (/dev/null's does not) */
    for (int i = 0; i < 5; i++)
    {
        char label[96];
        snprintf(label, sizeof label, "open path %s", names[i]);
        EXPECT_ERR(label, syscall(SYS_open, bad[i], O_RDONLY), EFAULT);
        snprintf(label, sizeof label, "stat path %s", names[i]);
        struct stat st;
        EXPECT_ERR(label, syscall(SYS_stat, bad[i], &st), EFAULT);
        snprintf(label, sizeof label, "fstat buffer %s", names[i]);
        EXPECT_ERR(label, syscall(SYS_fstat, fd, bad[i]), EFAULT);
        snprintf(label, sizeof label, "write buffer %s", names[i]);
        EXPECT_ERR(label, syscall(SYS_write, pp[1], bad[i], 16), EFAULT);
        snprintf(label, sizeof label, "uname buffer %s", names[i]);
        EXPECT_ERR(label, syscall(SYS_uname, bad[i]), EFAULT);
        snprintf(label, sizeof label, "clock_gettime buffer %s", names[i]);
        EXPECT_ERR(label, syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad[i]), EFAULT);
        snprintf(label, sizeof label, "writev iovec %s", names[i]);
        EXPECT_ERR(label, syscall(SYS_writev, fd, bad[i], 1), EFAULT);
        snprintf(label, sizeof label, "getrandom buffer %s", names[i]);
        EXPECT_ERR(label, syscall(SYS_getrandom, bad[i], 8, 0), EFAULT);
    }
    struct iovec iov = { NONCANON, 8 };
    EXPECT_ERR("readv into a non-canonical buffer", syscall(SYS_readv, open("/dev/zero", O_RDONLY), &iov, 1), EFAULT);

    /* 8.2: a sparse write far out in /tmp: one page, not an array sized to the offset. */
    int t = open("/tmp/harden-sparse", O_RDWR | O_CREAT | O_TRUNC, 0600);
    long long far = 256LL << 30;
    EXPECT_OK("pwrite 1 byte at 256 GiB", pwrite(t, "x", 1, far));
    struct stat st;
    fstat(t, &st);
    CHECK("size is 256 GiB + 1", st.st_size == far + 1);
    CHECK("few blocks allocated", st.st_blocks > 0 && st.st_blocks <= 64);
    char c = 0;
    CHECK("reads back", pread(t, &c, 1, far) == 1 && c == 'x');
    c = 1;
    CHECK("the hole reads as zero", pread(t, &c, 1, far / 2) == 1 && c == 0);
    CHECK("SEEK_DATA finds it", lseek(t, 0, SEEK_DATA) == far);
    CHECK("SEEK_HOLE after it is the end", lseek(t, far, SEEK_HOLE) == far + 1);
    EXPECT_OK("truncate back to 0", ftruncate(t, 0));
    close(t);
    unlink("/tmp/harden-sparse");

    /* 8.3: brk from 2^64-4095 up wrapped while rounding and unmapped the program. */
    long cur = syscall(SYS_brk, 0);
    CHECK("brk(-1) leaves the break", syscall(SYS_brk, ~0UL) == cur);
    CHECK("brk(2^64-4095) leaves the break", syscall(SYS_brk, ~0UL - 4094) == cur);
    CHECK("brk(non-canonical) leaves the break", syscall(SYS_brk, 0x8000000000000000UL) == cur);
    char *m = malloc(100000);
    CHECK("the program still runs (malloc)", m != NULL && (m[99999] = 1));

    /* 8.6: lengths that wrap when rounded up to a page. */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR("munmap length 2^64-4095", syscall(SYS_munmap, p, ~0UL - 4094), EINVAL);
    EXPECT_ERR("munmap length -1", syscall(SYS_munmap, p, ~0UL), EINVAL);
    EXPECT_ERR("mprotect length 2^64-4095", syscall(SYS_mprotect, p, ~0UL - 4094, PROT_READ), ENOMEM);
    EXPECT_ERR("mprotect length -1", syscall(SYS_mprotect, p, ~0UL, PROT_READ), ENOMEM);
    EXPECT_ERR("madvise length 2^64-4095", syscall(SYS_madvise, p, ~0UL - 4094, MADV_NORMAL), EINVAL);
    p[0] = 1;
    CHECK("the mapping is still there", p[0] == 1);

    /* 8.6: FUTEX_WAKE finds a shared futex through its page: unmapped is EFAULT. */
    EXPECT_ERR("FUTEX_WAKE unmapped", syscall(SYS_futex, HOLE, FUTEX_WAKE, 1, 0, 0, 0), EFAULT);
    EXPECT_ERR("FUTEX_WAKE kernel half", syscall(SYS_futex, KERNEL, FUTEX_WAKE, 1, 0, 0, 0), EFAULT);
    EXPECT_ERR("FUTEX_WAKE_PRIVATE unmapped (key is the address)", syscall(SYS_futex, HOLE, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), 0);
    EXPECT_ERR("FUTEX_WAKE_PRIVATE kernel half", syscall(SYS_futex, KERNEL, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0), EFAULT);

    /* 8.6: the number is an int: bits 32-63 are ignored; the x32 bit and -1 are ENOSYS. */
    CHECK("syscall 0x1_0000_0027 is getpid", syscall(0x100000027L) == getpid());
    EXPECT_ERR("syscall 0x4000_0027 (x32 bit)", syscall(0x40000027L), ENOSYS);
    EXPECT_ERR("syscall -1", syscall(-1L), ENOSYS);
    EXPECT_ERR("syscall 0xffffffff_0000_0200", syscall((long)0xffffffff00000200UL), ENOSYS);

    /* 8.6: old static binaries call the vsyscall page (emulated, as Linux's default xonly). */
    time_t (*vtime)(time_t *) = (time_t (*)(time_t *))0xffffffffff600400UL;
    time_t a = time(NULL), vt = 0, b = vtime(&vt);
    /* Linux's vsyscall time() reads the tick-updated seconds, which can trail the clock
       time() read by up to a tick: near a second's boundary b may be a - 1. */
    CHECK("vsyscall time", b >= a - 1 && b <= a + 5 && vt == b);
    struct timeval { long s, us; } tv = { 0, 0 };
    long (*vgtod)(struct timeval *, void *) = (long (*)(struct timeval *, void *))0xffffffffff600000UL;
    CHECK("vsyscall gettimeofday", vgtod(&tv, NULL) == 0 && tv.s >= a && tv.s <= a + 5);
    unsigned cpu = 99;
    long (*vgetcpu)(unsigned *, unsigned *, void *) = (long (*)(unsigned *, unsigned *, void *))0xffffffffff600800UL;
    CHECK("vsyscall getcpu", vgetcpu(&cpu, NULL, NULL) == 0 && cpu < 4096);
    return finish();
}
