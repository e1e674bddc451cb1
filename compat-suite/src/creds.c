/* creds: how a server drops root, as nginx's workers do (setgid, setgroups, setuid to
 * www-data), and the rules for who may set which ids afterwards: setuid, setgid, setreuid,
 * setregid, setresuid, setresgid, setgroups/getgroups, inheritance by fork, and the ids in
 * /proc/self/status. Each scenario runs in a forked child (the parent stays root); the
 * program runs as root in both runs. */
#include "compat.h"
#include <sys/wait.h>

static void ids(const char *when)
{
    uid_t r, e, s; gid_t gr, ge, gs;
    syscall(SYS_getresuid, &r, &e, &s);
    syscall(SYS_getresgid, &gr, &ge, &gs);
    printf("%s: uid %u/%u/%u gid %u/%u/%u getuid %ld geteuid %ld getgid %ld getegid %ld\n", when,
           r, e, s, gr, ge, gs, syscall(SYS_getuid), syscall(SYS_geteuid), syscall(SYS_getgid), syscall(SYS_getegid));
}

static void groups(const char *when)
{
    gid_t g[16];
    long n = syscall(SYS_getgroups, 16, g);
    printf("%s: %ld groups:", when, n);
    for (long i = 0; i < n; i++) printf(" %u", g[i]);
    printf("\n");
}

/* The Uid, Gid and Groups lines of /proc/self/status. */
static void status_ids(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "Groups:", 7))
            printf("status %s", line);
    if (f) fclose(f);
}

/* nginx's worker: setgid, initgroups, setuid; then nothing brings root back. */
static void drop_like_a_worker(void)
{
    gid_t list[] = { 100, 33, 4 };
    EXPECT_ERR("setgid(33)", syscall(SYS_setgid, 33), 0);
    EXPECT_ERR("setgroups(3)", syscall(SYS_setgroups, 3, list), 0);
    groups("after setgroups");
    EXPECT_ERR("getgroups(0) counts", syscall(SYS_getgroups, 0, NULL), 0);
    gid_t small[2];
    EXPECT_ERR("getgroups(2) too small", syscall(SYS_getgroups, 2, small), EINVAL);
    EXPECT_ERR("setuid(33)", syscall(SYS_setuid, 33), 0);
    ids("worker");
    status_ids();
    EXPECT_ERR("setuid(0) after the drop", syscall(SYS_setuid, 0), EPERM);
    EXPECT_ERR("setgid(0) after the drop", syscall(SYS_setgid, 0), EPERM);
    EXPECT_ERR("seteuid(0) via setreuid", syscall(SYS_setreuid, -1, 0), EPERM);
    EXPECT_ERR("setresuid(-1, 0, -1)", syscall(SYS_setresuid, -1, 0, -1), EPERM);
    EXPECT_ERR("setgroups after the drop", syscall(SYS_setgroups, 0, NULL), EPERM);
    EXPECT_ERR("setuid(33) again", syscall(SYS_setuid, 33), 0);
    EXPECT_ERR("setresuid(-1,-1,-1)", syscall(SYS_setresuid, -1, -1, -1), 0);
    /* a grandchild inherits the ids */
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { ids("grandchild"); groups("grandchild"); fflush(stdout); _exit(0); }
    waitpid(p, NULL, 0);
}

/* A saved id of 0 lets the effective id come back to root, and root may then set all. */
static void keep_saved_root(void)
{
    EXPECT_ERR("setresuid(1000, 33, 0)", syscall(SYS_setresuid, 1000, 33, 0), 0);
    ids("saved root");
    EXPECT_ERR("setuid(2000) unprivileged", syscall(SYS_setuid, 2000), EPERM);
    EXPECT_ERR("setuid(0) from the saved id", syscall(SYS_setuid, 0), 0);
    ids("effective root again");
    EXPECT_ERR("setuid(44) as root sets all", syscall(SYS_setuid, 44), 0);
    ids("after setuid(44)");
}

/* setreuid's and setregid's saved-id rule, the -1 "unchanged" arguments, and the gid rules
 * once the effective uid is no longer 0. */
static void re_rules(void)
{
    EXPECT_ERR("setregid(5, 6) as root", syscall(SYS_setregid, 5, 6), 0);
    EXPECT_ERR("setreuid(10, 20)", syscall(SYS_setreuid, 10, 20), 0);
    ids("setreuid(10, 20)");
    EXPECT_ERR("setreuid(20, 10) swaps", syscall(SYS_setreuid, 20, 10), 0);
    ids("swapped");
    EXPECT_ERR("setreuid(-1, 30)", syscall(SYS_setreuid, -1, 30), EPERM);
    EXPECT_ERR("setresgid(-1, 5, -1)", syscall(SYS_setresgid, -1, 5, -1), 0);
    EXPECT_ERR("setresgid(7, -1, -1) unprivileged", syscall(SYS_setresgid, 7, -1, -1), EPERM);
    EXPECT_ERR("setregid(6, -1) unprivileged", syscall(SYS_setregid, 6, -1), EPERM);
    EXPECT_ERR("setgid(6) to the saved gid", syscall(SYS_setgid, 6), 0);
    ids("gids");
    EXPECT_ERR("setuid(-1)", syscall(SYS_setuid, -1), EINVAL);
}

int main(void)
{
    ids("start");
    gid_t none[1];
    EXPECT_ERR("setgroups(0) as root", syscall(SYS_setgroups, 0, none), 0);
    groups("no groups");
    EXPECT_ERR("setgroups(-1)", syscall(SYS_setgroups, -1, none), EINVAL);
    EXPECT_ERR("setgroups(bad pointer)", syscall(SYS_setgroups, 1, (void *)8), EFAULT);
    compat_in_child(drop_like_a_worker);
    compat_in_child(keep_saved_root);
    compat_in_child(re_rules);
    ids("parent still root");
    return finish();
}
