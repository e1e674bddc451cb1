/* tty: ioctl/fcntl/fstat/dup on the standard fds. Whether fd 0/1/2 are terminals differs
 * between runs (the native runner uses files and pipes, the kernel a serial port), so only
 * facts that hold either way are printed. */
#include "compat.h"
#include <fcntl.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

int main(void)
{
    char sb[96];
    struct termios t;
    struct winsize ws;

    setvbuf(stdout, NULL, _IONBF, 0); /* our lines interleave with raw writes */

    EXPECT_ERR("ioctl TCGETS fd 99", syscall(SYS_ioctl, 99, TCGETS, &t), EBADF);
    EXPECT_ERR("ioctl TIOCGWINSZ fd 99", syscall(SYS_ioctl, 99, TIOCGWINSZ, &ws), EBADF);
    EXPECT_ERR("ioctl TCGETS fd -1", syscall(SYS_ioctl, -1, TCGETS, &t), EBADF);
    for (int fd = 0; fd <= 2; fd++) {
        errno = 0;
        long r1 = syscall(SYS_ioctl, fd, TCGETS, &t);
        int e1 = errno;
        errno = 0;
        long r2 = syscall(SYS_ioctl, fd, TIOCGWINSZ, &ws);
        int e2 = errno;
        snprintf(sb, sizeof sb, "fd %d TCGETS and TIOCGWINSZ agree", fd);
        CHECK(sb, (r1 == 0) == (r2 == 0));
        snprintf(sb, sizeof sb, "fd %d TCGETS fails only with ENOTTY", fd);
        CHECK(sb, r1 == 0 || e1 == ENOTTY);
        snprintf(sb, sizeof sb, "fd %d TIOCGWINSZ fails only with ENOTTY", fd);
        CHECK(sb, r2 == 0 || e2 == ENOTTY);
        snprintf(sb, sizeof sb, "fd %d isatty agrees with TCGETS", fd);
        CHECK(sb, isatty(fd) == (r1 == 0));
        snprintf(sb, sizeof sb, "fd %d unknown ioctl gives ENOTTY", fd);
        errno = 0;
        CHECK(sb, syscall(SYS_ioctl, fd, 0x5401dead, 0) < 0 && errno == ENOTTY);
    }
    CHECK("isatty(99) is 0 with EBADF", isatty(99) == 0 && errno == EBADF);

    /* fcntl */
    for (int fd = 0; fd <= 2; fd++) {
        long fl = syscall(SYS_fcntl, fd, F_GETFL);
        snprintf(sb, sizeof sb, "fd %d F_GETFL ok", fd);
        CHECK(sb, fl >= 0);
        snprintf(sb, sizeof sb, "fd %d %s", fd, fd == 0 ? "readable" : "writable");
        CHECK(sb, fd == 0 ? (fl & O_ACCMODE) != O_WRONLY : (fl & O_ACCMODE) != O_RDONLY);
        snprintf(sb, sizeof sb, "fd %d F_GETFD is 0 (no FD_CLOEXEC)", fd);
        CHECK(sb, syscall(SYS_fcntl, fd, F_GETFD) == 0);
        struct stat st;
        snprintf(sb, sizeof sb, "fd %d fstat", fd);
        EXPECT_OK(sb, syscall(SYS_fstat, fd, &st));
        snprintf(sb, sizeof sb, "fd %d is a char device, fifo, socket or file", fd);
        CHECK(sb, S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode));
    }
    EXPECT_ERR("fcntl F_GETFL fd 99", syscall(SYS_fcntl, 99, F_GETFL), EBADF);
    EXPECT_ERR("fcntl bad cmd", syscall(SYS_fcntl, 1, 99999), EINVAL);
    struct stat st;
    EXPECT_ERR("fstat fd 99", syscall(SYS_fstat, 99, &st), EBADF);
    EXPECT_ERR("fstat bad pointer", syscall(SYS_fstat, 1, (void *)1), EFAULT);

    /* dup family: fds come back lowest-first */
    int lowest = 3;
    while (syscall(SYS_fcntl, lowest, F_GETFD) >= 0) lowest++;
    long d = syscall(SYS_dup, 1);
    CHECK("dup(1) returns the lowest free fd", d == lowest);
    CHECK("write through dup", syscall(SYS_write, d, "via dup\n", 8) == 8);
    EXPECT_OK("close dup", syscall(SYS_close, d));
    EXPECT_ERR("close it again", syscall(SYS_close, d), EBADF);
    CHECK("dup2(1, 40) returns 40", syscall(SYS_dup2, 1, 40) == 40);
    CHECK("dup2(1, 1) returns 1", syscall(SYS_dup2, 1, 1) == 1);
    EXPECT_ERR("dup3(1, 1, 0)", syscall(SYS_dup3, 1, 1, 0), EINVAL);
    EXPECT_ERR("dup3 bad flags", syscall(SYS_dup3, 1, 41, 0x12345), EINVAL);
    CHECK("dup3(1, 41, O_CLOEXEC) returns 41", syscall(SYS_dup3, 1, 41, O_CLOEXEC) == 41);
    CHECK("fd 41 has FD_CLOEXEC", syscall(SYS_fcntl, 41, F_GETFD) == FD_CLOEXEC);
    CHECK("F_DUPFD_CLOEXEC from 50 returns 50", syscall(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 50) == 50);
    CHECK("F_DUPFD from 40 skips used 40, 41", syscall(SYS_fcntl, 1, F_DUPFD, 40) == 42);
    CHECK("F_SETFD clears FD_CLOEXEC", syscall(SYS_fcntl, 50, F_SETFD, 0) == 0 && syscall(SYS_fcntl, 50, F_GETFD) == 0);
    EXPECT_ERR("dup fd 99", syscall(SYS_dup, 99), EBADF);
    EXPECT_ERR("dup2 to -1", syscall(SYS_dup2, 1, -1), EBADF);
    CHECK("write through dup2'd fd 40", syscall(SYS_write, 40, "via dup2\n", 9) == 9);
    for (int fd = 40; fd <= 50; fd++) syscall(SYS_close, fd);
    CHECK("stdout still works after closing dups", syscall(SYS_write, 1, "still here\n", 11) == 11);
    fflush(stdout);
    /* The controlling-terminal requests on a file that is not a terminal: ENOTTY. */
    int pfd[2], pg = 1;
    if (pipe(pfd) == 0) {
        EXPECT_ERR("TIOCGPGRP on a pipe", syscall(SYS_ioctl, pfd[0], TIOCGPGRP, &pg), ENOTTY);
        EXPECT_ERR("TIOCSPGRP on a pipe", syscall(SYS_ioctl, pfd[0], TIOCSPGRP, &pg), ENOTTY);
        EXPECT_ERR("TIOCGSID on a pipe", syscall(SYS_ioctl, pfd[0], TIOCGSID, &pg), ENOTTY);
        EXPECT_ERR("TIOCSCTTY on a pipe", syscall(SYS_ioctl, pfd[0], TIOCSCTTY, 0), ENOTTY);
        EXPECT_ERR("TIOCNOTTY on a pipe", syscall(SYS_ioctl, pfd[1], TIOCNOTTY, 0), ENOTTY);
        EXPECT_ERR("tcgetpgrp on a pipe", tcgetpgrp(pfd[0]), ENOTTY);
        close(pfd[0]); close(pfd[1]);
    }
    return finish();
}
