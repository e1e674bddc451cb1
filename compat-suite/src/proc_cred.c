/* Credentials (credentials(7)): root sets groups and every id; a process that left uid 0
 * may only move among its real, effective and saved ids; setfsuid; files are owned by the
 * filesystem ids; fork inherits the ids. (Runs as root, natively and under the kernel.) */
#include "compat.h"
#include <fcntl.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void ids(const char *label)
{
    uid_t r, e, s; gid_t rg, eg, sg;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    printf("%s: uid %u %u %u gid %u %u %u getuid %u geteuid %u getgid %u getegid %u\n", label, r, e, s, rg, eg, sg,
           getuid(), geteuid(), getgid(), getegid());
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (geteuid() != 0) { printf("not root\n"); return 0; }
    pid_t p = fork();
    if (p == 0) {
        gid_t g[3] = { 7, 8, 9 }, got[8];
        EXPECT_OK("setgroups", setgroups(3, g));
        int n = getgroups(0, NULL);
        printf("getgroups count %d\n", n);
        n = getgroups(8, got);
        printf("groups %d: %u %u %u\n", n, got[0], got[1], got[2]);
        EXPECT_ERR("getgroups too small", getgroups(2, got), EINVAL);
        EXPECT_OK("setresgid", setresgid(10, 11, 12));
        EXPECT_OK("setresuid", setresuid(100, 101, 102));
        ids("after setres");
        char path[64];
        snprintf(path, sizeof path, "/tmp/compat_cred.%d", (int)getpid());
        int fd = open(path, O_CREAT | O_RDWR, 0600);
        struct stat st;
        fstat(fd, &st);
        printf("file owner %u:%u\n", st.st_uid, st.st_gid);
        close(fd);
        /* No longer privileged. */
        EXPECT_ERR("setuid 0", setuid(0), EPERM);
        EXPECT_ERR("setgroups", setgroups(0, NULL), EPERM);
        EXPECT_ERR("setresuid to 5", setresuid(5, -1, -1), EPERM);
        EXPECT_ERR("setgid 0", setgid(0), EPERM);
        EXPECT_OK("setuid to saved", setuid(102));
        ids("after setuid 102");
        EXPECT_OK("setreuid swap", setreuid(102, 100));
        ids("after setreuid");
        EXPECT_OK("setresuid keep", setresuid(-1, -1, -1));
        EXPECT_ERR("setuid -1", setuid(-1), EINVAL);
        printf("setfsuid 100 returns %d\n", setfsuid(100));
        printf("setfsuid 5 returns %d\n", setfsuid(5));
        printf("setfsuid -1 returns %d\n", setfsuid(-1));
        printf("setfsgid 11 returns %d\n", setfsgid(11));
        char path2[64];
        snprintf(path2, sizeof path2, "/tmp/compat_cred2.%d", (int)getpid());
        fd = open(path2, O_CREAT | O_RDWR, 0600);
        fstat(fd, &st);
        printf("file owner with fsuid %u:%u\n", st.st_uid, st.st_gid);
        close(fd);
        pid_t q = fork();
        if (q == 0) { ids("grandchild"); _exit(0); }
        waitpid(q, NULL, 0);
        unlink(path); unlink(path2);
        _exit(finish());
    }
    int st;
    waitpid(p, &st, 0);
    ids("parent");
    printf("child status %d\n", WEXITSTATUS(st));
    return WEXITSTATUS(st);
}
