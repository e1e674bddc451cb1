/* perm: file permissions checked against the caller's ids (path_resolution(7),
 * credentials(7), capabilities(7)). As root, build a tree with various modes, owners and
 * sticky directories; then forked children drop to other ids (setgroups, setresgid,
 * setresuid) and print the errno of each operation: open for read/write/truncate, create,
 * unlink and rename in a sticky directory, mkdir, rmdir, chmod, chown, utimensat, truncate,
 * access against faccessat2(AT_EACCESS), execve of a file without x, a path whose search is
 * denied, connect to a socket without write, /proc/self after the drop. Nothing depends on
 * the fs.protected_* sysctls (no links to others' files, no symlinks followed in sticky
 * directories, no O_CREAT of others' files there). */
#include "compat.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <sys/sysmacros.h>

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

static char base[64];
static char pbuf[4][256];
static int pi;

/* base/REL (a few rotating buffers, so one call can take two paths). */
static const char *P(const char *rel)
{
    char *b = pbuf[pi++ & 3];
    snprintf(b, 256, "%s/%s", base, rel);
    return b;
}

static void mkfile(const char *rel, unsigned mode, uid_t u, gid_t g)
{
    int fd = open(P(rel), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "data\n", 5) != 5) { printf("setup %s failed\n", rel); exit(1); }
    close(fd);
    if (chown(P(rel), u, g) || chmod(P(rel), mode)) { printf("setup %s failed\n", rel); exit(1); }
}

static void mkd(const char *rel, unsigned mode, uid_t u, gid_t g)
{
    if (mkdir(P(rel), 0700) || chown(P(rel), u, g) || chmod(P(rel), mode)) { printf("setup %s failed\n", rel); exit(1); }
}

static unsigned mode_of(const char *rel)
{
    struct stat st;
    return stat(P(rel), &st) ? 0xffff : st.st_mode & 07777;
}

static void in_child(const char *what, void (*scenario)(void))
{
    printf("-- %s\n", what);
    compat_in_child(scenario);
}

/* uid 1000, gid 1000, supplementary group 3000. */
static void become_user(void)
{
    gid_t g[] = { 3000 };
    if (syscall(SYS_setgroups, 1, g) || syscall(SYS_setresgid, 1000, 1000, 1000) || syscall(SYS_setresuid, 1000, 1000, 1000)) {
        printf("drop failed\n"); _exit(1);
    }
}

static long op_open(const char *rel, int flags)
{
    long fd = open(rel[0] == '/' ? rel : P(rel), flags, 0644);
    if (fd >= 0) close((int)fd);
    return fd < 0 ? -1 : 0;
}

static void files(void)
{
    become_user();
    EXPECT_ERR("open pub O_RDONLY", op_open("pub", O_RDONLY), 0);
    EXPECT_ERR("open pub O_WRONLY", op_open("pub", O_WRONLY), EACCES);
    EXPECT_ERR("open pub O_RDWR", op_open("pub", O_RDWR), EACCES);
    EXPECT_ERR("open pub O_RDONLY|O_TRUNC", op_open("pub", O_RDONLY | O_TRUNC), EACCES);
    EXPECT_ERR("open pub O_PATH", op_open("pub", O_PATH), 0);
    EXPECT_ERR("open mine O_RDWR", op_open("mine", O_RDWR), 0);
    EXPECT_ERR("open grp O_RDWR (a supplementary group)", op_open("grp", O_RDWR), 0);
    EXPECT_ERR("open grpdeny O_RDONLY (group bits rule)", op_open("grpdeny", O_RDONLY), EACCES);
    EXPECT_ERR("open ownerdeny O_RDONLY (owner bits rule)", op_open("ownerdeny", O_RDONLY), EACCES);
    EXPECT_ERR("open secret/f (search denied)", op_open("secret/f", O_RDONLY), EACCES);
    EXPECT_ERR("open secret O_RDONLY (no read)", op_open("secret", O_RDONLY | O_DIRECTORY), EACCES);
    EXPECT_ERR("open secret O_PATH", op_open("secret", O_PATH), 0);
    EXPECT_ERR("open xonly O_RDONLY (x only)", op_open("xonly", O_RDONLY | O_DIRECTORY), EACCES);
    EXPECT_ERR("open xonly/f", op_open("xonly/f", O_RDONLY), 0);
    struct stat st;
    EXPECT_ERR("stat secret/f", stat(P("secret/f"), &st), EACCES);
    EXPECT_ERR("stat secret/missing", stat(P("secret/missing"), &st), EACCES);
    EXPECT_ERR("stat secret", stat(P("secret"), &st), 0);
    EXPECT_ERR("chdir secret", chdir(P("secret")), EACCES);
    EXPECT_ERR("creat in ro dir", op_open("ro/new", O_CREAT | O_WRONLY), EACCES);
    EXPECT_ERR("creat existing pub O_EXCL in ro dir", op_open("pub", O_CREAT | O_EXCL | O_WRONLY), EEXIST);
    EXPECT_ERR("creat in w dir", op_open("w/new", O_CREAT | O_RDWR), 0);
    EXPECT_ERR("creat mode 0 then O_RDWR works", (long)open(P("w/zero"), O_CREAT | O_RDWR, 0) < 0 ? -1 : 0, 0);
    EXPECT_ERR("reopen the 0 file", op_open("w/zero", O_RDONLY), EACCES);
    EXPECT_ERR("O_NOATIME on pub", op_open("pub", O_RDONLY | O_NOATIME), EPERM);
    EXPECT_ERR("O_NOATIME on mine", op_open("mine", O_RDONLY | O_NOATIME), 0);
    EXPECT_ERR("mkdir in ro", mkdir(P("ro/d"), 0755), EACCES);
    EXPECT_ERR("mkdir existing in ro", mkdir(P("ro/sub"), 0755), EEXIST);
    EXPECT_ERR("mkdir in w", mkdir(P("w/d"), 0755), 0);
    EXPECT_ERR("rmdir in ro", rmdir(P("ro/sub")), EACCES);
    EXPECT_ERR("unlink in ro", unlink(P("ro/f")), EACCES);
    EXPECT_ERR("unlink pub (base is root's 0755)", unlink(P("pub")), EACCES);
    EXPECT_ERR("symlink in ro", symlink("x", P("ro/l")), EACCES);
    EXPECT_ERR("link mine into ro", link(P("mine"), P("ro/m")), EACCES);
    EXPECT_ERR("link mine into w", link(P("mine"), P("w/m")), 0);
    EXPECT_ERR("mknod fifo in w", mknod(P("w/fifo"), S_IFIFO | 0644, 0), 0);
    EXPECT_ERR("mknod chr in w", mknod(P("w/chr"), S_IFCHR | 0644, makedev(1, 3)), EPERM);
    EXPECT_ERR("mknod chr in ro", mknod(P("ro/chr"), S_IFCHR | 0644, makedev(1, 3)), EACCES);
    EXPECT_ERR("truncate pub", truncate(P("pub"), 1), EACCES);
    EXPECT_ERR("truncate grp", truncate(P("grp"), 1), 0);
    EXPECT_ERR("truncate secret/f", truncate(P("secret/f"), 1), EACCES);
    /* execve of a file without x, and of a directory */
    char *argv[] = { "noexec", NULL }, *envp[] = { NULL };
    EXPECT_ERR("execve noexec (0644)", execve(P("noexec"), argv, envp), EACCES);
    EXPECT_ERR("execve a directory", execve(P("w"), argv, envp), EACCES);
    EXPECT_ERR("execve secret/f", execve(P("secret/f"), argv, envp), EACCES);
}

static void sticky(void)
{
    become_user();
    EXPECT_ERR("unlink sticky/rootf", unlink(P("sticky/rootf")), EPERM);
    EXPECT_ERR("rename sticky/rootf", rename(P("sticky/rootf"), P("sticky/x")), EPERM);
    EXPECT_ERR("rename onto sticky/rootf", rename(P("sticky/userf"), P("sticky/rootf")), EPERM);
    EXPECT_ERR("rmdir sticky/rootd", rmdir(P("sticky/rootd")), EPERM);
    EXPECT_ERR("rename sticky/userf", rename(P("sticky/userf"), P("sticky/userf2")), 0);
    EXPECT_ERR("unlink sticky/userf2", unlink(P("sticky/userf2")), 0);
    EXPECT_ERR("create in sticky", op_open("sticky/mine", O_CREAT | O_WRONLY | O_EXCL), 0);
    EXPECT_ERR("unlink other's file in own sticky dir", unlink(P("usticky/other")), 0);
    /* renames: both parents need write; a directory that changes parent needs write on itself */
    EXPECT_ERR("rename w/f to ro", rename(P("w/f"), P("ro/f2")), EACCES);
    EXPECT_ERR("rename ro/f to w", rename(P("ro/f"), P("w/f2")), EACCES);
    EXPECT_ERR("rename w/rootd within w", rename(P("w/rootd"), P("w/rootd2")), 0);
    EXPECT_ERR("rename w/rootd2 to w2 (no write on it)", rename(P("w/rootd2"), P("w2/rootd")), EACCES);
    EXPECT_ERR("rename w/userd to w2", rename(P("w/userd"), P("w2/userd")), 0);
}

static void attrs(void)
{
    become_user();
    EXPECT_ERR("chmod pub", chmod(P("pub"), 0666), EPERM);
    EXPECT_ERR("chmod mine 0640", chmod(P("mine"), 0640), 0);
    EXPECT_ERR("chmod g+s mine (group 4000: not a member)", chmod(P("mine"), 02640), 0);
    printf("mine mode %o\n", mode_of("mine"));
    EXPECT_ERR("chmod g+s grpmine (group 3000)", chmod(P("grpmine"), 02640), 0);
    printf("grpmine mode %o\n", mode_of("grpmine"));
    EXPECT_ERR("chown mine to 2000", chown(P("mine"), 2000, -1), EPERM);
    EXPECT_ERR("chown mine to 1000 (itself)", chown(P("mine"), 1000, -1), 0);
    EXPECT_ERR("chown mine group 5000", chown(P("mine"), -1, 5000), EPERM);
    EXPECT_ERR("chown mine group 3000", chown(P("mine"), -1, 3000), 0);
    EXPECT_ERR("chown mine group 1000", chown(P("mine"), -1, 1000), 0);
    EXPECT_ERR("chown pub group 3000", chown(P("pub"), -1, 3000), EPERM);
    EXPECT_ERR("chown pub -1 -1", chown(P("pub"), -1, -1), 0);
    struct timespec ts[2] = { { 1000000, 0 }, { 2000000, 0 } }, now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } },
        omit[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } }, nowomit[2] = { { 0, UTIME_NOW }, { 0, UTIME_OMIT } };
    EXPECT_ERR("utimensat pub times", utimensat(AT_FDCWD, P("pub"), ts, 0), EPERM);
    EXPECT_ERR("utimensat pub NULL", utimensat(AT_FDCWD, P("pub"), NULL, 0), EACCES);
    EXPECT_ERR("utimensat pub NOW NOW", utimensat(AT_FDCWD, P("pub"), now, 0), EACCES);
    EXPECT_ERR("utimensat pub NOW OMIT", utimensat(AT_FDCWD, P("pub"), nowomit, 0), EPERM);
    EXPECT_ERR("utimensat pub OMIT OMIT", utimensat(AT_FDCWD, P("pub"), omit, 0), 0);
    EXPECT_ERR("utimensat grp NULL (writable)", utimensat(AT_FDCWD, P("grp"), NULL, 0), 0);
    EXPECT_ERR("utimensat grp times", utimensat(AT_FDCWD, P("grp"), ts, 0), EPERM);
    EXPECT_ERR("utimensat mine times", utimensat(AT_FDCWD, P("mine"), ts, 0), 0);
    EXPECT_ERR("utimes pub NULL", utimes(P("pub"), NULL), EACCES);
    /* a write by a non-root caller clears set-user-ID and executable set-group-ID */
    int fd = open(P("suid"), O_WRONLY);
    EXPECT_ERR("open suid", fd < 0 ? -1 : 0, 0);
    printf("suid mode before %o\n", mode_of("suid"));
    EXPECT_ERR("write suid", write(fd, "x", 1), 0);
    printf("suid mode after %o\n", mode_of("suid"));
    close(fd);
}

/* access checks the real ids; faccessat2 with AT_EACCESS the effective ones. */
static void access_ids(void)
{
    gid_t g[] = { 3000 };
    syscall(SYS_setgroups, 1, g);
    syscall(SYS_setresgid, 1000, 1000, 0);
    EXPECT_ERR("setresuid(1000, 2000, 0)", syscall(SYS_setresuid, 1000, 2000, 0), 0);
    EXPECT_ERR("access mine2 R_OK (real 1000)", access(P("mine2"), R_OK), 0);
    EXPECT_ERR("faccessat mine2 R_OK", syscall(SYS_faccessat, AT_FDCWD, P("mine2"), R_OK), 0);
    EXPECT_ERR("faccessat2 mine2 R_OK AT_EACCESS (2000)", syscall(SYS_faccessat2, AT_FDCWD, P("mine2"), R_OK, AT_EACCESS), EACCES);
    EXPECT_ERR("access his R_OK", access(P("his"), R_OK), EACCES);
    EXPECT_ERR("faccessat2 his R_OK AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, P("his"), R_OK, AT_EACCESS), 0);
    EXPECT_ERR("access pub W_OK", access(P("pub"), W_OK), EACCES);
    EXPECT_ERR("access pub F_OK", access(P("pub"), F_OK), 0);
    EXPECT_ERR("access secret/f F_OK", access(P("secret/f"), F_OK), EACCES);
    EXPECT_ERR("access noexec X_OK", access(P("noexec"), X_OK), EACCES);
    EXPECT_ERR("open mine2 (as 2000)", op_open("mine2", O_RDONLY), EACCES);
    EXPECT_ERR("open his (as 2000)", op_open("his", O_RDONLY), 0);
    /* real root, effective 1000: access says yes where open says no */
    EXPECT_ERR("setresuid(0, 1000, 0)", syscall(SYS_setresuid, 0, 1000, 0), 0);
    EXPECT_ERR("access pub W_OK (real root)", access(P("pub"), W_OK), 0);
    EXPECT_ERR("access secret/f R_OK (real root)", access(P("secret/f"), R_OK), 0);
    EXPECT_ERR("faccessat2 pub W_OK AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, P("pub"), W_OK, AT_EACCESS), EACCES);
    EXPECT_ERR("access noexec X_OK (real root)", access(P("noexec"), X_OK), EACCES);
    EXPECT_ERR("open pub O_WRONLY (euid 1000)", op_open("pub", O_WRONLY), EACCES);
}

/* The file capabilities follow the filesystem uid: gone while it is not 0, back after. */
static void fsuid(void)
{
    syscall(SYS_setfsuid, 1000);
    EXPECT_ERR("open pub O_WRONLY with fsuid 1000", op_open("pub", O_WRONLY), EACCES);
    EXPECT_ERR("open mine O_RDWR with fsuid 1000", op_open("mine", O_RDWR), 0);
    syscall(SYS_setfsuid, 0);
    EXPECT_ERR("open pub O_WRONLY with fsuid 0 again", op_open("pub", O_WRONLY), 0);
    EXPECT_ERR("open secret/f as root", op_open("secret/f", O_RDWR), 0);
    EXPECT_ERR("open ownerdeny as root", op_open("ownerdeny", O_RDWR), 0);
    char *argv[] = { "noexec", NULL }, *envp[] = { NULL };
    EXPECT_ERR("execve noexec as root (no x bit)", execve(P("noexec"), argv, envp), EACCES);
}

static void proc_and_sockets(void)
{
    become_user();
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int uidline = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4)) { printf("status %s", line); uidline = 1; }
    CHECK("read /proc/self/status after the drop", f && uidline);
    if (f) fclose(f);
    /* Changed ids make the process non-dumpable: its /proc files are root's, its
     * directories still its own; PR_SET_DUMPABLE gives the files back. */
    struct stat st;
    EXPECT_ERR("PR_GET_DUMPABLE", syscall(SYS_prctl, 3, 0, 0, 0, 0), 0);
    if (stat("/proc/self/status", &st) == 0) printf("/proc/self/status %u:%u\n", st.st_uid, st.st_gid);
    if (stat("/proc/self/", &st) == 0) printf("/proc/self %u:%u\n", st.st_uid, st.st_gid);
    EXPECT_ERR("open /proc/self/environ", op_open("/proc/self/environ", O_RDONLY), EACCES);
    EXPECT_ERR("PR_SET_DUMPABLE 1", syscall(SYS_prctl, 4, 1, 0, 0, 0), 0);
    if (stat("/proc/self/status", &st) == 0) printf("/proc/self/status %u:%u\n", st.st_uid, st.st_gid);
    EXPECT_ERR("open /proc/self/environ", op_open("/proc/self/environ", O_RDONLY), 0);
    EXPECT_ERR("open /dev/null O_RDWR", (long)open("/dev/null", O_RDWR) < 0 ? -1 : 0, 0);
    EXPECT_ERR("stat /dev/null", stat("/dev/null", &st), 0);
    printf("/dev/null mode %o\n", st.st_mode & 07777);
    /* connect needs write on the socket file */
    for (int i = 0; i < 2; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof a.sun_path, "%s", P(i ? "sock_rw" : "sock_ro"));
        EXPECT_ERR(i ? "connect sock_rw" : "connect sock_ro", connect(s, (struct sockaddr *)&a, sizeof a), i ? 0 : EACCES);
        close(s);
    }
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", P("ro/sock"));
    EXPECT_ERR("bind in ro", bind(s, (struct sockaddr *)&a, sizeof a), EACCES);
    close(s);
}

static int listener(const char *rel, unsigned mode)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", P(rel));
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4) || chmod(P(rel), mode)) { printf("setup %s failed\n", rel); exit(1); }
    return s;
}

int main(void)
{
    umask(022);
    strcpy(base, "/tmp/compat-perm-XXXXXX");
    if (!mkdtemp(base)) { printf("mkdtemp failed\n"); return 1; }
    chmod(base, 0755);
    mkfile("pub", 0644, 0, 0);
    mkfile("mine", 0600, 1000, 4000);
    mkfile("grpmine", 0640, 1000, 3000);
    mkfile("mine2", 0600, 1000, 4000);
    mkfile("his", 0600, 2000, 2000);
    mkfile("grp", 0660, 0, 3000);
    mkfile("grpdeny", 0606, 0, 3000);
    mkfile("ownerdeny", 0077, 1000, 1000);
    mkfile("noexec", 0644, 0, 0);
    mkfile("suid", 06775, 1000, 1000);
    mkd("secret", 0700, 0, 0);
    mkfile("secret/f", 0666, 0, 0);
    mkd("xonly", 0711, 0, 0);
    mkfile("xonly/f", 0644, 0, 0);
    mkd("ro", 0755, 0, 0);
    mkd("ro/sub", 0755, 0, 0);
    mkfile("ro/f", 0666, 1000, 1000);
    mkd("w", 0777, 0, 0);
    mkd("w2", 0777, 0, 0);
    mkfile("w/f", 0666, 1000, 1000);
    mkd("w/rootd", 0755, 0, 0);
    mkd("w/userd", 0755, 1000, 1000);
    mkd("sticky", 01777, 0, 0);
    mkfile("sticky/rootf", 0666, 0, 0);
    mkfile("sticky/userf", 0644, 1000, 1000);
    mkd("sticky/rootd", 0777, 0, 0);
    mkd("usticky", 01777, 1000, 1000);
    mkfile("usticky/other", 0644, 2000, 2000);
    int l1 = listener("sock_ro", 0755), l2 = listener("sock_rw", 0777);

    in_child("files", files);
    in_child("sticky and rename", sticky);
    in_child("attributes", attrs);
    in_child("access", access_ids);
    in_child("fsuid", fsuid);
    in_child("proc and sockets", proc_and_sockets);
    close(l1); close(l2);

    /* Clean up as root. */
    const char *rm[] = { "w/zero", "w/new", "w/m", "w/fifo", "w/f", "w/d", "w/rootd2", "w2/userd", "w/userd", "w/rootd",
        "sticky/mine", "sticky/userf", "sticky/userf2", "sticky/rootf", "sticky/rootd", "usticky/other",
        "ro/f", "ro/sub", "secret/f", "xonly/f", "pub", "mine", "mine2", "grpmine", "his", "grp", "grpdeny", "ownerdeny", "noexec",
        "suid", "sock_ro", "sock_rw", "w2/rootd", "w", "w2", "sticky", "usticky", "ro", "secret", "xonly", NULL };
    for (int i = 0; rm[i]; i++)
        if (unlink(P(rm[i]))) rmdir(P(rm[i]));
    CHECK("tree removed", rmdir(base) == 0);
    return finish();
}
