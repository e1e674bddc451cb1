/* Files: pipes, FIFOs, /dev, /proc, mmap of files, sendfile, copy_file_range, memfd,
 * getdents through readdir, statx. Prints only facts and errno names. */
#include "compat.h"
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/ioctl.h>
#include <limits.h>

static char dir[64];

int main(void)
{
    char buf[256];
    struct stat st;
    strcpy(dir, "/tmp/compat-misc-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    chdir(dir);

    /* pipes */
    int p[2];
    EXPECT_OK("pipe2", pipe2(p, O_CLOEXEC));
    CHECK("pipe cloexec", fcntl(p[0], F_GETFD) == FD_CLOEXEC);
    CHECK("pipe write", write(p[1], "abcdef", 6) == 6);
    int n = -1;
    EXPECT_OK("FIONREAD", ioctl(p[0], FIONREAD, &n));
    printf("fionread=%d\n", n);
    CHECK("pipe read", read(p[0], buf, 4) == 4 && memcmp(buf, "abcd", 4) == 0);
    fstat(p[0], &st);
    printf("pipe isfifo=%d\n", S_ISFIFO(st.st_mode));
    EXPECT_ERR("lseek pipe", lseek(p[0], 0, SEEK_SET), ESPIPE);
    EXPECT_ERR("write read end", write(p[0], "x", 1), EBADF);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    CHECK("drain", read(p[0], buf, 10) == 2);
    EXPECT_ERR("nonblock empty", read(p[0], buf, 10), EAGAIN);
    CHECK("pipe size", fcntl(p[0], F_GETPIPE_SZ) == 65536);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    long total = 0, r;
    memset(buf, 'p', sizeof buf);
    while ((r = write(p[1], buf, 256)) > 0) total += r;
    printf("pipe capacity=%ld then %s\n", total, errname(errno));
    close(p[1]);
    long got = 0;
    while ((r = read(p[0], buf, 256)) > 0) got += r;
    printf("read back=%ld eof=%ld\n", got, r);
    close(p[0]);

    /* F_SETPIPE_SZ: a power-of-two number of pages (rounded up), the bytes in the pipe kept. */
    pipe(p);
    EXPECT_ERR("setpipe 32768", fcntl(p[1], F_SETPIPE_SZ, 32768), 0);
    EXPECT_ERR("getpipe", fcntl(p[0], F_GETPIPE_SZ), 0);
    EXPECT_ERR("setpipe 5000", fcntl(p[0], F_SETPIPE_SZ, 5000), 0);
    EXPECT_ERR("setpipe 1", fcntl(p[0], F_SETPIPE_SZ, 1), 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    total = 0;
    while ((r = write(p[1], buf, 100)) > 0) total += r;
    printf("one-page pipe holds=%ld then %s\n", total, errname(errno));
    EXPECT_ERR("setpipe 0 while full", fcntl(p[1], F_SETPIPE_SZ, 0), 0);
    EXPECT_ERR("setpipe 200000", fcntl(p[1], F_SETPIPE_SZ, 200000), 0);
    r = write(p[1], "tail", 4);
    printf("write after growing=%ld\n", r);
    got = 0;
    int inorder = 1;
    char rb[64];
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    while ((r = read(p[0], rb, sizeof rb)) > 0) {
        for (long i = 0; i < r; i++) if (got + i < total && rb[i] != 'p') inorder = 0;
        if (got + r == total + 4 && memcmp(rb + r - 4, "tail", 4)) inorder = 0;
        got += r;
    }
    printf("read back after resize=%ld in order: %s\n", got, yesno(inorder));
    EXPECT_ERR("setpipe on a file", fcntl(0, F_SETPIPE_SZ, 4096), EBADF);
    close(p[0]); close(p[1]);
    pipe(p);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    EXPECT_ERR("EPIPE", write(p[1], "x", 1), EPIPE);
    close(p[1]);

    /* FIFO */
    EXPECT_OK("mkfifo", mkfifo("ff", 0644));
    stat("ff", &st);
    printf("fifo isfifo=%d\n", S_ISFIFO(st.st_mode));
    EXPECT_ERR("fifo wronly nonblock no reader", open("ff", O_WRONLY | O_NONBLOCK), ENXIO);
    int fr = open("ff", O_RDONLY | O_NONBLOCK);
    int fw = open("ff", O_WRONLY | O_NONBLOCK);
    CHECK("fifo open both", fr >= 0 && fw >= 0);
    CHECK("fifo transfer", write(fw, "fifo", 4) == 4 && read(fr, buf, 10) == 4 && memcmp(buf, "fifo", 4) == 0);
    close(fw); close(fr);

    /* /dev */
    int z = open("/dev/zero", O_RDONLY);
    memset(buf, 1, 16);
    CHECK("dev zero", read(z, buf, 16) == 16 && buf[0] == 0 && buf[15] == 0);
    close(z);
    int nl = open("/dev/null", O_RDWR);
    CHECK("dev null", write(nl, "x", 1) == 1 && read(nl, buf, 1) == 0);
    close(nl);
    int fu = open("/dev/full", O_WRONLY);
    EXPECT_ERR("dev full", write(fu, "x", 1), ENOSPC);
    close(fu);
    int ur = open("/dev/urandom", O_RDONLY);
    CHECK("dev urandom", read(ur, buf, 32) == 32);
    close(ur);
    stat("/dev/null", &st);
    printf("null chr=%d major=%d minor=%d\n", S_ISCHR(st.st_mode), (int)(st.st_rdev >> 8), (int)(st.st_rdev & 0xff));
    long l = readlink("/dev/stdin", buf, sizeof buf);
    printf("/dev/stdin -> %.*s\n", (int)(l > 0 ? l : 0), buf);
    l = readlink("/dev/fd", buf, sizeof buf);
    printf("/dev/fd -> %.*s\n", (int)(l > 0 ? l : 0), buf);

    /* /proc */
    l = readlink("/proc/self/cwd", buf, sizeof buf);
    CHECK("proc cwd", l == (long)strlen(dir) && memcmp(buf, dir, l) == 0);
    int fd = open("a", O_CREAT | O_RDWR, 0644);
    snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    char lb[256];
    l = readlink(buf, lb, sizeof lb);
    CHECK("proc fd link", l == (long)strlen(dir) + 2 && memcmp(lb, dir, strlen(dir)) == 0 && lb[l - 1] == 'a');
    int fd2 = open(buf, O_RDONLY);
    write(fd, "via", 3);
    CHECK("reopen via proc fd", fd2 >= 0 && read(fd2, lb, 3) == 3 && memcmp(lb, "via", 3) == 0);
    close(fd2);
    CHECK("proc exe", readlink("/proc/self/exe", lb, sizeof lb) > 0);
    CHECK("proc self is dir", stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode));
    FILE *f = fopen("/proc/self/status", "r");
    int seen = 0;
    while (f && fgets(lb, sizeof lb, f)) if (!strncmp(lb, "Pid:", 4) || !strncmp(lb, "Name:", 5) || !strncmp(lb, "VmRSS:", 6)) seen++;
    if (f) fclose(f);
    CHECK("proc status fields", seen == 3);
    f = fopen("/proc/self/maps", "r");
    seen = 0;
    while (f && fgets(lb, sizeof lb, f)) if (strstr(lb, "[stack]")) seen++;
    if (f) fclose(f);
    CHECK("proc maps stack", seen == 1);
    f = fopen("/proc/self/stat", "r");
    CHECK("proc stat", f && fscanf(f, "%d (%[^)])", &n, lb) == 2 && n == getpid());
    if (f) fclose(f);
    f = fopen("/proc/meminfo", "r");
    CHECK("meminfo", f && fgets(lb, sizeof lb, f) && !strncmp(lb, "MemTotal:", 9) && strstr(lb, " kB\n"));
    if (f) fclose(f);
    f = fopen("/proc/sys/kernel/ostype", "r");
    CHECK("ostype", f && fgets(lb, sizeof lb, f) && !strcmp(lb, "Linux\n"));
    if (f) fclose(f);
    f = fopen("/proc/cpuinfo", "r");
    CHECK("cpuinfo", f && fgets(lb, sizeof lb, f) && !strncmp(lb, "processor", 9));
    if (f) fclose(f);
    f = fopen("/proc/self/cmdline", "r");
    CHECK("cmdline", f && fread(lb, 1, sizeof lb, f) > 0 && strstr(lb, "files_misc"));
    if (f) fclose(f);
    DIR *d = opendir("/proc/self/fd");
    int fds = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) if (e->d_name[0] != '.') fds++;
    if (d) closedir(d);
    CHECK("proc fd entries", fds >= 4);

    /* mmap of files */
    ftruncate(fd, 8192);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap shared", m != MAP_FAILED && memcmp(m, "via", 3) == 0);
    memcpy(m + 4096, "shared", 6);
    CHECK("shared write visible", pread(fd, lb, 6, 4096) == 6 && memcmp(lb, "shared", 6) == 0);
    pwrite(fd, "W", 1, 0);
    CHECK("file write visible in map", m[0] == 'W');
    EXPECT_OK("msync", msync(m, 8192, MS_SYNC));
    munmap(m, 8192);
    char *pm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK("mmap private", pm != MAP_FAILED && pm[0] == 'W');
    pm[0] = 'P';
    CHECK("private write not in file", pread(fd, lb, 1, 0) == 1 && lb[0] == 'W');
    munmap(pm, 4096);
    int ro = open("a", O_RDONLY);
    EXPECT_ERR("shared write map of rdonly", (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
    char *rm = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, ro, 0);
    CHECK("mmap rdonly private", rm != MAP_FAILED && rm[0] == 'W');
    munmap(rm, 4096);
    close(ro);
    int dfd = open(".", O_RDONLY);
    EXPECT_ERR("mmap dir", (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV);
    close(dfd);

    /* sendfile, copy_file_range */
    int out = open("b", O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t off = 0;
    CHECK("sendfile", sendfile(out, fd, &off, 100) == 100 && off == 100);
    loff_t io = 4096, oo = 0;
    CHECK("copy_file_range", copy_file_range(fd, &io, out, &oo, 6, 0) == 6 && pread(out, lb, 6, 0) == 6 && memcmp(lb, "shared", 6) == 0);
    pipe(p);
    lseek(fd, 0, SEEK_SET);
    CHECK("sendfile to pipe", sendfile(p[1], fd, NULL, 3) == 3 && read(p[0], lb, 3) == 3 && memcmp(lb, "Wia", 3) == 0);
    close(p[0]); close(p[1]);
    close(out);

    /* memfd */
    int mfd = memfd_create("test", MFD_CLOEXEC);
    CHECK("memfd", mfd >= 0 && write(mfd, "mem", 3) == 3);
    snprintf(buf, sizeof buf, "/proc/self/fd/%d", mfd);
    l = readlink(buf, lb, sizeof lb);
    printf("memfd link=%.*s\n", (int)(l > 0 ? l : 0), lb);
    fstat(mfd, &st);
    printf("memfd size=%ld nlink=%ld\n", (long)st.st_size, (long)st.st_nlink);
    close(mfd);

    /* statx */
    unsigned char sx[256];
    EXPECT_OK("statx", syscall(SYS_statx, AT_FDCWD, "a", 0, 0x7ff, sx));
    unsigned long long sxsize; unsigned short sxmode; unsigned sxnlink, sxmask;
    memcpy(&sxsize, sx + 40, 8); memcpy(&sxmode, sx + 28, 2); memcpy(&sxnlink, sx + 16, 4); memcpy(&sxmask, sx, 4);
    printf("statx size=%llu mode=%o nlink=%u basic=%d\n", sxsize, sxmode & 07777, sxnlink, (sxmask & 0x7ff) == 0x7ff);
    close(fd);

    unlink("a"); unlink("b"); unlink("ff");
    chdir("/");
    EXPECT_OK("rmdir", rmdir(dir));
    return finish();
}
