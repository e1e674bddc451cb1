/* Files: O_TMPFILE, openat2, renameat2 flags, symlink chains, long paths, getdents
 * while deleting, directory seeks, creat/mknod. Prints only facts and errno names. */
#include "compat.h"
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <limits.h>

struct open_how_ { unsigned long long flags, mode, resolve; };

int main(void)
{
    char dir[64], buf[8192];
    struct stat st;
    strcpy(dir, "/tmp/compat-more-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    chdir(dir);

    int fd = open(".", O_TMPFILE | O_RDWR, 0600);
    CHECK("O_TMPFILE", fd >= 0 && write(fd, "tmp", 3) == 3);
    fstat(fd, &st);
    printf("tmpfile nlink=%ld\n", (long)st.st_nlink);
    EXPECT_OK("linkat tmpfile", linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("linked nlink=%ld\n", (long)st.st_nlink);
    close(fd);
    CHECK("named content", (fd = open("named", O_RDONLY)) >= 0 && read(fd, buf, 10) == 3);
    close(fd);
    EXPECT_ERR("O_TMPFILE on file", open("named", O_TMPFILE | O_RDWR, 0600), ENOTDIR);

    struct open_how_ how = {O_RDONLY, 0, 0};
    EXPECT_OK("openat2", fd = syscall(SYS_openat2, AT_FDCWD, "named", &how, sizeof how));
    close(fd);
    how.mode = 0644;
    EXPECT_ERR("openat2 mode without O_CREAT", syscall(SYS_openat2, AT_FDCWD, "named", &how, sizeof how), EINVAL);
    EXPECT_ERR("openat2 small size", syscall(SYS_openat2, AT_FDCWD, "named", &how, 8), EINVAL);

    int c = creat("x", 0644);
    CHECK("creat", c >= 0 && write(c, "xx", 2) == 2);
    close(c);
    EXPECT_ERR("renameat2 noreplace", syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "named", 1), EEXIST);
    EXPECT_OK("renameat2 exchange", syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "named", 2));
    stat("x", &st);
    printf("after exchange x size=%ld\n", (long)st.st_size);
    EXPECT_ERR("renameat2 exchange missing", syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "nothere", 2), ENOENT);
    EXPECT_ERR("renameat2 bad flags", syscall(SYS_renameat2, AT_FDCWD, "x", AT_FDCWD, "y", 3), EINVAL);
    EXPECT_OK("rename same file", rename("x", "x"));
    link("x", "x2");
    EXPECT_OK("rename hard links of one file", rename("x", "x2"));
    CHECK("both names remain", access("x", F_OK) == 0 && access("x2", F_OK) == 0);

    /* symlink chains */
    symlink("x", "l0");
    char a[16], b[16];
    for (int i = 1; i <= 45; i++) { snprintf(a, sizeof a, "l%d", i); snprintf(b, sizeof b, "l%d", i - 1); symlink(b, a); }
    CHECK("chain of 40 ok", open("l39", O_RDONLY) >= 0);
    EXPECT_ERR("chain of 41", open("l40", O_RDONLY), ELOOP);
    symlink(dir, "abs");
    CHECK("absolute symlink to dir", stat("abs/x", &st) == 0 && S_ISREG(st.st_mode));
    CHECK("symlink dir with trailing slash", lstat("abs/", &st) == 0 && S_ISDIR(st.st_mode));
    EXPECT_ERR("unlink symlink with slash", unlink("abs/"), ENOTDIR);
    EXPECT_ERR("rmdir symlink with slash", rmdir("abs/"), ENOTDIR);
    EXPECT_OK("unlink symlink", unlink("abs"));

    /* long paths */
    memset(buf, 'a', 5000); buf[5000] = 0;
    EXPECT_ERR("path too long", open(buf, O_RDONLY), ENAMETOOLONG);
    strcpy(buf, "./");
    for (int i = 0; i < 1000; i++) strcat(buf, "./");
    strcat(buf, "x");
    CHECK("long dotted path", access(buf, F_OK) == 0);
    EXPECT_ERR("dotdot past file", access("x/..", F_OK), ENOTDIR);
    CHECK("root dotdot", stat("/../../tmp", &st) == 0 && S_ISDIR(st.st_mode));

    /* getdents while deleting */
    mkdir("many", 0755);
    for (int i = 0; i < 200; i++) { snprintf(buf, sizeof buf, "many/f%03d", i); close(open(buf, O_CREAT | O_WRONLY, 0644)); }
    DIR *d = opendir("many");
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        seen++;
        snprintf(buf, sizeof buf, "many/%s", e->d_name);
        unlink(buf);
    }
    closedir(d);
    printf("readdir while unlinking saw=%d\n", seen);
    EXPECT_OK("rmdir emptied", rmdir("many"));

    /* directory offsets */
    mkdir("dd", 0755);
    close(open("dd/one", O_CREAT | O_WRONLY, 0644));
    close(open("dd/two", O_CREAT | O_WRONLY, 0644));
    d = opendir("dd");
    int n1 = 0;
    while (readdir(d)) n1++;
    rewinddir(d);
    int n2 = 0;
    while (readdir(d)) n2++;
    closedir(d);
    printf("dir entries=%d rewind=%d\n", n1, n2);
    fd = open("dd", O_RDONLY | O_DIRECTORY);
    EXPECT_ERR("read dir", read(fd, buf, 10), EISDIR);
    close(fd);

    /* mknod, fchmodat, faccessat2 */
    EXPECT_OK("mknod fifo", mknod("fifo", S_IFIFO | 0600, 0));
    EXPECT_ERR("mknod dir", mknod("ndir", S_IFDIR | 0755, 0), EPERM);
    EXPECT_OK("fchmodat", fchmodat(AT_FDCWD, "x", 0755, 0));
    EXPECT_OK("faccessat2 X_OK", syscall(SYS_faccessat2, AT_FDCWD, "x", X_OK, 0));
    EXPECT_ERR("faccessat bad mode", syscall(SYS_faccessat, AT_FDCWD, "x", 8), EINVAL);
    EXPECT_ERR("readlinkat bad size", syscall(SYS_readlinkat, AT_FDCWD, "l0", buf, 0), EINVAL);
    long n = readlinkat(AT_FDCWD, "l0", buf, 1);
    printf("readlinkat truncated=%ld\n", n);

    /* cleanup */
    chdir("/");
    snprintf(buf, sizeof buf, "rm -rf %s", dir);
    for (int i = 0; i <= 45; i++) { snprintf(buf, sizeof buf, "%s/l%d", dir, i); unlink(buf); }
    const char *rest[] = {"named", "x", "x2", "fifo", "dd/one", "dd/two"};
    for (unsigned i = 0; i < sizeof rest / sizeof *rest; i++) { snprintf(buf, sizeof buf, "%s/%s", dir, rest[i]); unlink(buf); }
    snprintf(buf, sizeof buf, "%s/dd", dir); rmdir(buf);
    EXPECT_OK("rmdir", rmdir(dir));
    return finish();
}
