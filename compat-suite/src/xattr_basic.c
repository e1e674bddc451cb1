/* Extended attributes: set/get/list/remove by path, l-variant and fd; XATTR_CREATE and
 * XATTR_REPLACE; sizes (size 0 asks for the size, ERANGE for a short buffer, E2BIG over
 * 64 KiB, empty values, a 255-byte name); name errors (ERANGE, EOPNOTSUPP, EINVAL); the
 * user.* rules (EPERM/ENODATA on symlinks, FIFOs and pipes; l* reaching the symlink itself);
 * trusted.* and security.* for root and for a user without capabilities (EPERM, ENODATA,
 * hidden from the list), EACCES without write permission, a sticky directory; path errors
 * (ENOENT, ENOTDIR, ELOOP), O_PATH descriptors (EBADF), ctime and IN_ATTRIB on changes.
 * Runs in a fresh directory under /tmp, or under argv[1] (an ext4 volume in
 * tests/BootTests/XattrBootTests.cs, which then reads the attributes with debugfs). */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

static char dir[128];
static void *volatile badp = (void *)8;      /* an unmapped address */

static const char *P(const char *name)
{
    static char buf[4][200];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Prints the names of a list that the test made (a host's LSM may add security.* names). */
static void print_list(const char *label, const char *list, long len)
{
    printf("%s:", label);
    /* sorted, so the order a filesystem keeps them in does not matter */
    const char *names[64];
    int n = 0;
    for (long i = 0; i < len && n < 64; i += strlen(list + i) + 1) {
        const char *s = list + i;
        if (!strncmp(s, "user.", 5) || !strncmp(s, "trusted.", 8) || !strcmp(s, "security.compat"))
            names[n++] = s;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) { const char *t = names[i]; names[i] = names[j]; names[j] = t; }
    for (int i = 0; i < n; i++) printf(" %s", strlen(names[i]) > 40 ? "user.<long>" : names[i]);
    printf("\n");
}

static void show_get(const char *label, const char *path, const char *name)
{
    char v[256];
    errno = 0;
    long r = getxattr(path, name, v, sizeof v - 1);
    if (r < 0) { printf("%s: %s\n", label, errname(errno)); return; }
    v[r] = 0;
    printf("%s: %ld \"%s\"\n", label, r, v);
}

static void basics(void)
{
    const char *f = P("file");
    close(open(f, O_CREAT | O_WRONLY, 0644));
    EXPECT_OK("set user.a", setxattr(f, "user.a", "hello", 5, 0));
    EXPECT_ERR("get size 0", getxattr(f, "user.a", NULL, 0), 0);
    char small[2];
    EXPECT_ERR("get short buffer", getxattr(f, "user.a", small, sizeof small), ERANGE);
    show_get("get user.a", f, "user.a");
    EXPECT_ERR("create existing", setxattr(f, "user.a", "x", 1, XATTR_CREATE), EEXIST);
    EXPECT_ERR("replace missing", setxattr(f, "user.b", "x", 1, XATTR_REPLACE), ENODATA);
    EXPECT_OK("replace existing", setxattr(f, "user.a", "world!", 6, XATTR_REPLACE));
    show_get("get replaced", f, "user.a");
    EXPECT_OK("create new", setxattr(f, "user.b", "bee", 3, XATTR_CREATE));
    EXPECT_ERR("bad flags", setxattr(f, "user.c", "x", 1, 4), EINVAL);
    EXPECT_ERR("both flags, missing", setxattr(f, "user.c", "x", 1, XATTR_CREATE | XATTR_REPLACE), ENODATA);
    EXPECT_ERR("get missing", getxattr(f, "user.zz", NULL, 0), ENODATA);
    EXPECT_ERR("remove missing", removexattr(f, "user.zz"), ENODATA);
    EXPECT_OK("set empty value", setxattr(f, "user.empty", "", 0, 0));
    EXPECT_ERR("get empty value", getxattr(f, "user.empty", NULL, 0), 0);
    show_get("get empty into buffer", f, "user.empty");

    /* names */
    EXPECT_ERR("empty name", setxattr(f, "", "x", 1, 0), ERANGE);
    EXPECT_ERR("empty name get", getxattr(f, "", NULL, 0), ERANGE);
    char name[300];
    memset(name, 'n', sizeof name);
    memcpy(name, "user.", 5);
    name[255] = 0;
    EXPECT_OK("255-byte name", setxattr(f, name, "long", 4, 0));
    EXPECT_ERR("255-byte name get", getxattr(f, name, NULL, 0), 0);
    name[255] = 'n'; name[256] = 0;
    EXPECT_ERR("256-byte name", setxattr(f, name, "x", 1, 0), ERANGE);
    EXPECT_ERR("256-byte name get", getxattr(f, name, NULL, 0), ERANGE);
    EXPECT_ERR("256-byte name remove", removexattr(f, name), ERANGE);
    EXPECT_ERR("unknown namespace", setxattr(f, "foo.bar", "x", 1, 0), EOPNOTSUPP);
    EXPECT_ERR("unknown namespace get", getxattr(f, "foo.bar", NULL, 0), EOPNOTSUPP);
    EXPECT_ERR("no namespace", setxattr(f, "plain", "x", 1, 0), EOPNOTSUPP);
    EXPECT_ERR("bare prefix", setxattr(f, "user.", "x", 1, 0), EINVAL);
    EXPECT_ERR("bare prefix get", getxattr(f, "user.", NULL, 0), EINVAL);
    EXPECT_ERR("unknown system name", setxattr(f, "system.nothing", "x", 1, 0), EOPNOTSUPP);
    EXPECT_ERR("upper-case prefix", setxattr(f, "USER.a", "x", 1, 0), EOPNOTSUPP);

    /* sizes */
    static char big[65537];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = (char)('a' + i % 26);
    EXPECT_ERR("value over 64 KiB", setxattr(f, "user.big", big, 65537, 0), E2BIG);
    EXPECT_OK("1000-byte value", setxattr(f, "user.k", big, 1000, 0));
    static char back[2000];
    long r = getxattr(f, "user.k", back, sizeof back);
    CHECK("1000-byte value reads back", r == 1000 && !memcmp(back, big, 1000));
    EXPECT_ERR("bad value pointer", setxattr(f, "user.bad", badp, 4, 0), EFAULT);
    EXPECT_ERR("bad buffer pointer", getxattr(f, "user.a", badp, 10), EFAULT);

    /* list */
    long total = listxattr(f, NULL, 0);
    char list[4096];
    long got = listxattr(f, list, sizeof list);
    CHECK("list size 0 gives the size", total > 0 && total == got);
    print_list("list", list, got);
    EXPECT_ERR("list short buffer", listxattr(f, list, 3), ERANGE);
    EXPECT_ERR("list bad pointer", listxattr(f, badp, sizeof list), EFAULT);

    EXPECT_OK("remove user.b", removexattr(f, "user.b"));
    EXPECT_ERR("removed is gone", getxattr(f, "user.b", NULL, 0), ENODATA);
    name[255] = 0;
    EXPECT_OK("remove long name", removexattr(f, name));
    EXPECT_OK("remove user.k", removexattr(f, "user.k"));
    got = listxattr(f, list, sizeof list);
    print_list("list after removes", list, got);

    /* a directory */
    const char *d = P("dir");
    mkdir(d, 0755);
    EXPECT_OK("dir set", setxattr(d, "user.d", "dv", 2, 0));
    show_get("dir get", d, "user.d");
}

static void links_and_nodes(void)
{
    const char *f = P("file"), *l = P("link"), *fifo = P("fifo");
    symlink("file", l);
    mkfifo(fifo, 0644);
    EXPECT_ERR("lset user on symlink", lsetxattr(l, "user.s", "x", 1, 0), EPERM);
    EXPECT_ERR("lget user on symlink", lgetxattr(l, "user.a", NULL, 0), ENODATA);
    EXPECT_ERR("lremove user on symlink", lremovexattr(l, "user.a"), EPERM);
    show_get("get through symlink", l, "user.a");
    EXPECT_OK("set through symlink", setxattr(l, "user.via", "link", 4, 0));
    show_get("target has it", f, "user.via");
    EXPECT_OK("lset trusted on symlink", lsetxattr(l, "trusted.s", "sym", 3, 0));
    char v[16];
    long r = lgetxattr(l, "trusted.s", v, sizeof v);
    CHECK("lget trusted on symlink", r == 3 && !memcmp(v, "sym", 3));
    EXPECT_ERR("target has no trusted.s", getxattr(f, "trusted.s", NULL, 0), ENODATA);
    char list[1024];
    long n = llistxattr(l, list, sizeof list);
    print_list("llist symlink", list, n);
    EXPECT_OK("lremove trusted on symlink", lremovexattr(l, "trusted.s"));
    EXPECT_ERR("set user on fifo", setxattr(fifo, "user.f", "x", 1, 0), EPERM);
    EXPECT_ERR("get user on fifo", getxattr(fifo, "user.f", NULL, 0), ENODATA);
    EXPECT_OK("set trusted on fifo", setxattr(fifo, "trusted.f", "x", 1, 0));

    /* path errors */
    EXPECT_ERR("missing file", getxattr(P("nope"), "user.a", NULL, 0), ENOENT);
    EXPECT_ERR("missing file set", setxattr(P("nope"), "user.a", "x", 1, 0), ENOENT);
    EXPECT_ERR("file as directory", getxattr(P("file/x"), "user.a", NULL, 0), ENOTDIR);
    EXPECT_ERR("file as directory list", listxattr(P("file/x"), NULL, 0), ENOTDIR);
    symlink("loop2", P("loop1"));
    symlink("loop1", P("loop2"));
    EXPECT_ERR("symlink loop", getxattr(P("loop1"), "user.a", NULL, 0), ELOOP);
    EXPECT_ERR("symlink loop remove", removexattr(P("loop1"), "user.a"), ELOOP);
    EXPECT_ERR("lget on dangling-loop link", lgetxattr(P("loop1"), "trusted.x", NULL, 0), ENODATA);
}

static void fds(void)
{
    const char *f = P("file");
    int fd = open(f, O_RDONLY);
    EXPECT_OK("fset", fsetxattr(fd, "user.fd", "via fd", 6, 0));
    char v[32];
    long r = fgetxattr(fd, "user.fd", v, sizeof v);
    CHECK("fget", r == 6 && !memcmp(v, "via fd", 6));
    char list[1024];
    long n = flistxattr(fd, list, sizeof list);
    print_list("flist", list, n);
    EXPECT_OK("fremove", fremovexattr(fd, "user.fd"));
    EXPECT_ERR("fget removed", fgetxattr(fd, "user.fd", NULL, 0), ENODATA);
    close(fd);
    EXPECT_ERR("closed fd", fgetxattr(fd, "user.a", NULL, 0), EBADF);
    EXPECT_ERR("closed fd set", fsetxattr(fd, "user.a", "x", 1, 0), EBADF);
    EXPECT_ERR("closed fd list", flistxattr(fd, NULL, 0), EBADF);
    int pfd = open(f, O_PATH);
    EXPECT_ERR("O_PATH fget", fgetxattr(pfd, "user.a", NULL, 0), EBADF);
    EXPECT_ERR("O_PATH fset", fsetxattr(pfd, "user.a", "x", 1, 0), EBADF);
    EXPECT_ERR("O_PATH flist", flistxattr(pfd, NULL, 0), EBADF);
    close(pfd);
    int p[2];
    pipe(p);
    EXPECT_ERR("pipe fget user", fgetxattr(p[0], "user.a", NULL, 0), ENODATA);
    EXPECT_ERR("pipe fset user", fsetxattr(p[0], "user.a", "x", 1, 0), EPERM);
    EXPECT_ERR("pipe flist", flistxattr(p[0], NULL, 0), 0);
    close(p[0]); close(p[1]);
}

static void changes(void)
{
    const char *f = P("file");
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, f, IN_ATTRIB);
    struct stat a, b;
    stat(f, &a);
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    EXPECT_OK("set for ctime", setxattr(f, "user.t", "1", 1, 0));
    stat(f, &b);
    CHECK("set changes ctime", b.st_ctim.tv_sec > a.st_ctim.tv_sec || (b.st_ctim.tv_sec == a.st_ctim.tv_sec && b.st_ctim.tv_nsec > a.st_ctim.tv_nsec));
    CHECK("set keeps mtime", b.st_mtim.tv_sec == a.st_mtim.tv_sec && b.st_mtim.tv_nsec == a.st_mtim.tv_nsec);
    char ev[256];
    long n = read(in, ev, sizeof ev);
    CHECK("set gives IN_ATTRIB", n >= (long)sizeof(struct inotify_event) && (((struct inotify_event *)ev)->mask & IN_ATTRIB));
    nanosleep(&ts, NULL);
    EXPECT_OK("remove for ctime", removexattr(f, "user.t"));
    stat(f, &a);
    CHECK("remove changes ctime", a.st_ctim.tv_sec > b.st_ctim.tv_sec || (a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec > b.st_ctim.tv_nsec));
    n = read(in, ev, sizeof ev);
    CHECK("remove gives IN_ATTRIB", n >= (long)sizeof(struct inotify_event) && (((struct inotify_event *)ev)->mask & IN_ATTRIB));
    errno = 0;
    getxattr(f, "user.a", NULL, 0);
    n = read(in, ev, sizeof ev);
    CHECK("get gives no event", n < 0 && errno == EAGAIN);
    close(in);
}

static void root_namespaces(void)
{
    const char *f = P("file");
    EXPECT_OK("root sets trusted", setxattr(f, "trusted.t", "tv", 2, 0));
    show_get("root gets trusted", f, "trusted.t");
    EXPECT_OK("root sets security", setxattr(f, "security.compat", "sv", 2, 0));
    show_get("root gets security", f, "security.compat");
    char list[1024];
    long n = listxattr(f, list, sizeof list);
    print_list("root list", list, n);
    mkdir(P("sticky"), 01777);
    chmod(P("sticky"), 01777);
    close(open(P("open"), O_CREAT | O_WRONLY, 0666));
    chmod(P("open"), 0666);
    chmod(dir, 0755);
}

static void as_nobody(void)
{
    if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) { printf("setresuid failed\n"); compat_failures++; return; }
    const char *f = P("file");
    EXPECT_ERR("nobody gets trusted", getxattr(f, "trusted.t", NULL, 0), ENODATA);
    EXPECT_ERR("nobody sets trusted", setxattr(f, "trusted.n", "x", 1, 0), EPERM);
    EXPECT_ERR("nobody removes trusted", removexattr(f, "trusted.t"), EPERM);
    char list[1024];
    long n = listxattr(f, list, sizeof list);
    print_list("nobody list", list, n);
    show_get("nobody gets security", f, "security.compat");
    EXPECT_ERR("nobody sets security", setxattr(f, "security.compat", "x", 1, 0), EPERM);
    EXPECT_ERR("nobody removes security", removexattr(f, "security.compat"), EPERM);
    show_get("nobody reads user.a", f, "user.a");
    EXPECT_ERR("nobody writes user.a (0644)", setxattr(f, "user.a", "x", 1, 0), EACCES);
    EXPECT_ERR("nobody removes user.a (0644)", removexattr(f, "user.a"), EACCES);
    EXPECT_OK("nobody writes a 0666 file", setxattr(P("open"), "user.n", "x", 1, 0));
    EXPECT_ERR("nobody on a sticky dir", setxattr(P("sticky"), "user.n", "x", 1, 0), EPERM);
    EXPECT_ERR("nobody gets on a sticky dir", getxattr(P("sticky"), "user.n", NULL, 0), ENODATA);
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "%s/compat-xattr-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
    basics();
    links_and_nodes();
    fds();
    changes();
    root_namespaces();
    compat_in_child(as_nobody);
    /* the boot test reads these back with debugfs: leave them when asked */
    if (argc > 2 && !strcmp(argv[2], "keep")) return finish();
    const char *names[] = {"file", "link", "fifo", "loop1", "loop2", "open", "dir", "sticky"};
    for (int i = 0; i < 8; i++) { unlink(P(names[i])); rmdir(P(names[i])); }
    rmdir(dir);
    return finish();
}
