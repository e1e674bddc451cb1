/* Files: open flags, read/write/seek, stat, directories, names, links, attributes.
 * Works in a fresh directory under /tmp; prints only facts and errno names. */
#include "compat.h"
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <sys/statfs.h>
#include <sys/file.h>
#include <limits.h>

static char dir[64];

static void sorted_listing(const char *path)
{
    DIR *d = opendir(path);
    char names[64][280]; int n = 0;
    struct dirent *e;
    if (!d) { printf("opendir %s: %s\n", path, errname(errno)); compat_failures++; return; }
    while ((e = readdir(d)) && n < 64) snprintf(names[n++], 280, "%s%s", e->d_name, e->d_type == DT_DIR ? "/" : e->d_type == DT_LNK ? "@" : "");
    closedir(d);
    for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++)
        if (strcmp(names[i], names[j]) > 0) { char t[280]; strcpy(t, names[i]); strcpy(names[i], names[j]); strcpy(names[j], t); }
    printf("ls:");
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");
}

int main(void)
{
    strcpy(dir, "/tmp/compat-files-XXXXXX");
    if (!mkdtemp(dir)) { printf("mkdtemp: %s\n", errname(errno)); return 1; }
    umask(022);
    EXPECT_OK("chdir", chdir(dir));
    char cwd[PATH_MAX];
    CHECK("getcwd", getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0);
    EXPECT_ERR("getcwd small", (long)(getcwd(cwd, 3) ? 0 : -1), ERANGE);

    /* create, write, read back */
    int fd = open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0666);
    CHECK("open O_CREAT|O_EXCL", fd >= 0);
    EXPECT_ERR("open again O_EXCL", open("a.txt", O_CREAT | O_EXCL | O_RDWR, 0666), EEXIST);
    CHECK("write", write(fd, "hello world\n", 12) == 12);
    struct stat st;
    EXPECT_OK("fstat", fstat(fd, &st));
    printf("size=%ld mode=%o nlink=%ld isreg=%d\n", (long)st.st_size, st.st_mode & 07777, (long)st.st_nlink, S_ISREG(st.st_mode));
    CHECK("lseek SET", lseek(fd, 6, SEEK_SET) == 6);
    char buf[64] = {0};
    CHECK("read", read(fd, buf, sizeof buf) == 6 && memcmp(buf, "world\n", 6) == 0);
    CHECK("read at EOF", read(fd, buf, sizeof buf) == 0);
    CHECK("pread", pread(fd, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK("pwrite", pwrite(fd, "HELLO", 5, 0) == 5);
    CHECK("lseek END", lseek(fd, 0, SEEK_END) == 12);
    CHECK("lseek past + write", lseek(fd, 8192, SEEK_SET) == 8192 && write(fd, "x", 1) == 1);
    fstat(fd, &st);
    printf("sparse size=%ld\n", (long)st.st_size);
    CHECK("SEEK_DATA", lseek(fd, 0, SEEK_DATA) == 0);
    CHECK("SEEK_HOLE", lseek(fd, 0, SEEK_HOLE) == 4096);
    EXPECT_ERR("SEEK_DATA past end", lseek(fd, 9000, SEEK_DATA), ENXIO);
    CHECK("pread hole zero", pread(fd, buf, 4, 5000) == 4 && buf[0] == 0 && buf[3] == 0);
    EXPECT_ERR("lseek negative", lseek(fd, -1, SEEK_SET), EINVAL);
    EXPECT_OK("ftruncate", ftruncate(fd, 5));
    fstat(fd, &st);
    printf("truncated size=%ld\n", (long)st.st_size);
    EXPECT_OK("ftruncate grow", ftruncate(fd, 10));
    CHECK("grown reads zero", pread(fd, buf, 10, 0) == 10 && memcmp(buf, "HELLO\0\0\0\0\0", 10) == 0);
    close(fd);

    /* readv/writev/preadv/pwritev */
    fd = open("v.txt", O_CREAT | O_RDWR | O_TRUNC, 0600);
    struct iovec iov[2] = {{"abc", 3}, {"defg", 4}};
    CHECK("writev", writev(fd, iov, 2) == 7);
    char b1[2], b2[5];
    struct iovec riov[2] = {{b1, 2}, {b2, 5}};
    CHECK("preadv", preadv(fd, riov, 2, 0) == 7 && memcmp(b1, "ab", 2) == 0 && memcmp(b2, "cdefg", 5) == 0);
    struct iovec wiov[1] = {{"XY", 2}};
    CHECK("pwritev", pwritev(fd, wiov, 1, 1) == 2 && pread(fd, buf, 7, 0) == 7 && memcmp(buf, "aXYdefg", 7) == 0);
    close(fd);

    /* O_APPEND, O_TRUNC */
    fd = open("v.txt", O_WRONLY | O_APPEND);
    CHECK("append", write(fd, "Z", 1) == 1);
    close(fd);
    stat("v.txt", &st);
    printf("after append size=%ld\n", (long)st.st_size);
    fd = open("v.txt", O_WRONLY | O_TRUNC);
    fstat(fd, &st);
    printf("after O_TRUNC size=%ld\n", (long)st.st_size);
    EXPECT_ERR("read on O_WRONLY", read(fd, buf, 1), EBADF);
    close(fd);
    fd = open("v.txt", O_RDONLY);
    EXPECT_ERR("write on O_RDONLY", write(fd, "a", 1), EBADF);
    EXPECT_ERR("ftruncate on O_RDONLY", ftruncate(fd, 0), EINVAL);
    close(fd);

    /* errors of open */
    EXPECT_ERR("open missing", open("nope", O_RDONLY), ENOENT);
    EXPECT_ERR("open missing dir", open("nope/x", O_RDONLY), ENOENT);
    EXPECT_ERR("open file as dir", open("a.txt/x", O_RDONLY), ENOTDIR);
    EXPECT_ERR("open trailing slash", open("a.txt/", O_RDONLY), ENOTDIR);
    EXPECT_ERR("O_DIRECTORY on file", open("a.txt", O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERR("write dir", open(".", O_WRONLY), EISDIR);
    EXPECT_ERR("creat with slash", open("new/", O_CREAT | O_WRONLY, 0644), EISDIR);
    char longname[300]; memset(longname, 'n', 299); longname[299] = 0;
    EXPECT_ERR("long name", open(longname, O_RDONLY), ENAMETOOLONG);
    EXPECT_ERR("empty path", open("", O_RDONLY), ENOENT);
    EXPECT_ERR("bad fd close", close(999), EBADF);

    /* directories */
    EXPECT_OK("mkdir", mkdir("d", 0755));
    EXPECT_ERR("mkdir exists", mkdir("d", 0755), EEXIST);
    EXPECT_OK("mkdir trailing slash", mkdir("d2/", 0700));
    EXPECT_ERR("mkdir missing parent", mkdir("x/y", 0755), ENOENT);
    stat("d", &st);
    printf("dir mode=%o nlink=%ld\n", st.st_mode & 07777, (long)st.st_nlink);
    EXPECT_OK("mkdir sub", mkdir("d/sub", 0755));
    stat("d", &st);
    printf("dir nlink after sub=%ld\n", (long)st.st_nlink);
    EXPECT_ERR("rmdir nonempty", rmdir("d"), ENOTEMPTY);
    EXPECT_ERR("rmdir file", rmdir("a.txt"), ENOTDIR);
    EXPECT_ERR("rmdir dot", rmdir("d/."), EINVAL);
    EXPECT_ERR("unlink dir", unlink("d"), EISDIR);
    EXPECT_OK("chdir sub", chdir("d/sub"));
    CHECK("getcwd sub", getcwd(cwd, sizeof cwd) && strlen(cwd) > strlen(dir) && strcmp(cwd + strlen(dir), "/d/sub") == 0);
    EXPECT_OK("chdir ..", chdir("../.."));
    CHECK("getcwd back", getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) == 0);
    EXPECT_ERR("chdir file", chdir("a.txt"), ENOTDIR);

    /* links and renames */
    EXPECT_OK("link", link("a.txt", "b.txt"));
    stat("a.txt", &st);
    printf("nlink after link=%ld\n", (long)st.st_nlink);
    EXPECT_ERR("link exists", link("a.txt", "b.txt"), EEXIST);
    EXPECT_ERR("link dir", link("d", "dlink"), EPERM);
    EXPECT_OK("symlink", symlink("a.txt", "s"));
    EXPECT_OK("symlink dangling", symlink("missing", "dang"));
    EXPECT_OK("symlink loop", symlink("loop", "loop"));
    char lb[64];
    long ln = readlink("s", lb, sizeof lb);
    printf("readlink: %.*s\n", (int)ln, lb);
    EXPECT_ERR("readlink on file", readlink("a.txt", lb, sizeof lb), EINVAL);
    EXPECT_ERR("open dangling", open("dang", O_RDONLY), ENOENT);
    EXPECT_ERR("open loop", open("loop", O_RDONLY), ELOOP);
    EXPECT_ERR("O_NOFOLLOW", open("s", O_RDONLY | O_NOFOLLOW), ELOOP);
    struct stat lst;
    lstat("s", &lst); stat("s", &st);
    printf("lstat islnk=%d size=%ld; stat isreg=%d\n", S_ISLNK(lst.st_mode), (long)lst.st_size, S_ISREG(st.st_mode));
    fd = open("dang", O_CREAT | O_WRONLY, 0644);
    CHECK("create through dangling symlink", fd >= 0 && access("missing", F_OK) == 0);
    close(fd);
    EXPECT_OK("rename", rename("b.txt", "c.txt"));
    EXPECT_ERR("rename missing", rename("b.txt", "c.txt"), ENOENT);
    EXPECT_OK("rename over file", rename("c.txt", "v.txt"));
    EXPECT_ERR("rename dir over file", rename("d", "v.txt"), ENOTDIR);
    EXPECT_ERR("rename file over dir", rename("v.txt", "d"), EISDIR);
    EXPECT_ERR("rename dir into itself", rename("d", "d/sub/x"), EINVAL);
    EXPECT_OK("rename dir", rename("d2", "d3"));
    EXPECT_ERR("rename over nonempty dir", rename("d3", "d"), ENOTEMPTY);
    EXPECT_OK("unlink", unlink("v.txt"));
    stat("a.txt", &st);
    printf("nlink after unlink=%ld\n", (long)st.st_nlink);
    EXPECT_ERR("unlink missing", unlink("v.txt"), ENOENT);
    sorted_listing(".");

    /* unlinked but open */
    fd = open("tmpf", O_CREAT | O_RDWR, 0600);
    write(fd, "data", 4);
    unlink("tmpf");
    CHECK("read after unlink", pread(fd, buf, 4, 0) == 4 && memcmp(buf, "data", 4) == 0);
    fstat(fd, &st);
    printf("unlinked nlink=%ld\n", (long)st.st_nlink);
    close(fd);

    /* attributes */
    EXPECT_OK("chmod", chmod("a.txt", 0640));
    stat("a.txt", &st);
    printf("mode after chmod=%o\n", st.st_mode & 07777);
    EXPECT_OK("chown", chown("a.txt", 1234, 5678));
    stat("a.txt", &st);
    printf("owner %d:%d\n", (int)st.st_uid, (int)st.st_gid);
    struct timespec ts[2] = {{1000000000, 5}, {1234567890, 123456789}};
    EXPECT_OK("utimensat", utimensat(AT_FDCWD, "a.txt", ts, 0));
    stat("a.txt", &st);
    printf("mtime=%ld.%09ld atime=%ld\n", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long)st.st_atim.tv_sec);
    struct timespec bad[2] = {{0, 2000000000}, {0, 0}};
    EXPECT_ERR("utimensat bad nsec", utimensat(AT_FDCWD, "a.txt", bad, 0), EINVAL);
    EXPECT_OK("truncate", truncate("a.txt", 3));
    stat("a.txt", &st);
    printf("size after truncate=%ld\n", (long)st.st_size);
    EXPECT_ERR("truncate dir", truncate("d", 0), EISDIR);
    EXPECT_OK("access F_OK", access("a.txt", F_OK));
    EXPECT_ERR("access X_OK", access("a.txt", X_OK), EACCES);
    EXPECT_ERR("access missing", access("zzz", F_OK), ENOENT);
    umask(077);
    fd = open("masked", O_CREAT | O_WRONLY, 0666);
    fstat(fd, &st);
    printf("umask 077 mode=%o\n", st.st_mode & 0777);
    close(fd);

    /* *at with directory fds */
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    CHECK("open dir", dfd >= 0);
    fd = openat(dfd, "inner", O_CREAT | O_WRONLY, 0644);
    CHECK("openat", fd >= 0 && access("d/inner", F_OK) == 0);
    close(fd);
    EXPECT_OK("fstatat", fstatat(dfd, "inner", &st, 0));
    EXPECT_OK("fstatat empty path", fstatat(dfd, "", &st, AT_EMPTY_PATH));
    printf("empty path isdir=%d\n", S_ISDIR(st.st_mode));
    EXPECT_OK("mkdirat", mkdirat(dfd, "m", 0755));
    EXPECT_OK("renameat", renameat(dfd, "m", dfd, "m2"));
    EXPECT_OK("unlinkat dir", unlinkat(dfd, "m2", AT_REMOVEDIR));
    EXPECT_ERR("unlinkat file as dir", unlinkat(dfd, "inner", AT_REMOVEDIR), ENOTDIR);
    EXPECT_OK("unlinkat", unlinkat(dfd, "inner", 0));
    int afd = open("a.txt", O_RDONLY);
    EXPECT_ERR("openat non-dir fd", openat(afd, "x", O_RDONLY), ENOTDIR);
    EXPECT_ERR("openat bad fd", openat(555, "x", O_RDONLY), EBADF);
    CHECK("openat abs ignores fd", (fd = openat(555, dir, O_RDONLY)) >= 0);
    close(fd);
    EXPECT_OK("fchdir", fchdir(dfd));
    CHECK("getcwd after fchdir", getcwd(cwd, sizeof cwd) && strcmp(cwd + strlen(dir), "/d") == 0);
    chdir(dir);
    close(afd); close(dfd);

    /* O_PATH */
    fd = open("a.txt", O_PATH);
    CHECK("O_PATH open", fd >= 0);
    EXPECT_ERR("read O_PATH", read(fd, buf, 1), EBADF);
    EXPECT_OK("fstat O_PATH", fstat(fd, &st));
    close(fd);

    /* dup family and fcntl */
    fd = open("a.txt", O_RDONLY);
    int fd2 = dup(fd);
    lseek(fd, 1, SEEK_SET);
    CHECK("dup shares offset", lseek(fd2, 0, SEEK_CUR) == 1);
    CHECK("dup3 cloexec", dup3(fd, 50, O_CLOEXEC) == 50 && fcntl(50, F_GETFD) == FD_CLOEXEC);
    EXPECT_ERR("dup3 same", dup3(fd, fd, 0), EINVAL);
    CHECK("F_DUPFD min", fcntl(fd, F_DUPFD, 60) == 60);
    CHECK("F_GETFL", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    EXPECT_OK("close_range", syscall(SYS_close_range, 50, 60, 0));
    EXPECT_ERR("closed by close_range", close(60), EBADF);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    EXPECT_OK("F_SETLK rd", fcntl(fd, F_SETLK, &fl));
    fl.l_type = F_WRLCK;
    EXPECT_ERR("F_SETLK wr on rdonly", fcntl(fd, F_SETLK, &fl), EBADF);
    EXPECT_OK("F_GETLK", fcntl(fd, F_GETLK, &fl));
    printf("getlk type unlck=%d\n", fl.l_type == F_UNLCK);
    fl.l_type = F_UNLCK;
    EXPECT_OK("F_SETLK unlock", fcntl(fd, F_SETLK, &fl));
    int wfd = open("a.txt", O_RDWR);
    EXPECT_OK("flock ex", flock(wfd, LOCK_EX));
    EXPECT_ERR("flock conflict", flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    EXPECT_OK("flock un", flock(wfd, LOCK_UN));
    EXPECT_OK("flock sh now", flock(fd, LOCK_SH | LOCK_NB));
    struct flock ofl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    EXPECT_ERR("OFD wr on rdonly", fcntl(fd, F_OFD_SETLK, &ofl), EBADF);
    EXPECT_OK("OFD wr", fcntl(wfd, F_OFD_SETLK, &ofl));
    int wfd2 = open("a.txt", O_RDWR);
    EXPECT_ERR("OFD conflict", fcntl(wfd2, F_OFD_SETLK, &ofl), EAGAIN);
    ofl.l_type = F_RDLCK;
    EXPECT_OK("OFD getlk", fcntl(wfd2, F_OFD_GETLK, &ofl));
    printf("ofd getlk type=%s start=%ld len=%ld pid=%d\n", ofl.l_type == F_WRLCK ? "WR" : "other", (long)ofl.l_start, (long)ofl.l_len, ofl.l_pid);
    close(wfd);
    ofl.l_type = F_WRLCK; ofl.l_start = 0; ofl.l_len = 10; ofl.l_pid = 0;
    EXPECT_OK("OFD after close", fcntl(wfd2, F_OFD_SETLK, &ofl));
    close(wfd2); close(fd); close(fd2);

    /* statfs, fsync */
    struct statfs sf;
    EXPECT_OK("statfs /tmp", statfs("/tmp", &sf));
    printf("tmp namelen=%ld\n", (long)sf.f_namelen);
    EXPECT_OK("statfs /proc", statfs("/proc", &sf));
    printf("proc magic=%d\n", sf.f_type == 0x9fa0);
    fd = open("a.txt", O_RDWR);
    EXPECT_OK("fsync", fsync(fd));
    EXPECT_OK("fdatasync", fdatasync(fd));
    EXPECT_OK("fallocate", fallocate(fd, 0, 0, 100));
    fstat(fd, &st);
    printf("after fallocate size=%ld\n", (long)st.st_size);
    close(fd);

    /* cleanup with unlink/rmdir, checking emptiness */
    unlink("a.txt"); unlink("s"); unlink("dang"); unlink("missing"); unlink("loop"); unlink("masked");
    rmdir("d/sub"); rmdir("d"); rmdir("d3");
    sorted_listing(".");
    chdir("/");
    EXPECT_OK("rmdir tmpdir", rmdir(dir));
    return finish();
}
