/* Capability sets per process, moved by user-id changes and execve as capabilities(7)
 * says: leaving uid 0 drops them (unless PR_SET_KEEPCAPS), seteuid away and back, setfsuid
 * and the file capabilities, the bounding set and execve, /proc/PID/status agreeing with
 * capget. Runs as root; prints only relations, not the raw sets (a host may hold fewer). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

/* <linux/capability.h>'s ABI, spelled out: musl's headers do not carry it. */
#define CAP_VERSION_3 0x20080522
#define CAP_CHOWN 0
#define CAP_DAC_OVERRIDE 1
#define CAP_SETUID 7
#define CAP_MKNOD 27
struct cap_header { unsigned version; int pid; };
struct cap_data { unsigned effective, permitted, inheritable; };

static unsigned long long eff, prm, inh;
static void get(void) {
    struct cap_header h = {CAP_VERSION_3, 0};
    struct cap_data d[2];
    syscall(SYS_capget, &h, d);
    eff = d[0].effective | (unsigned long long)d[1].effective << 32;
    prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
    inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
}
static int set_eff(unsigned long long e) {
    struct cap_header h = {CAP_VERSION_3, 0};
    struct cap_data d[2];
    get();
    d[0].effective = (unsigned)e; d[1].effective = (unsigned)(e >> 32);
    d[0].permitted = (unsigned)prm; d[1].permitted = (unsigned)(prm >> 32);
    d[0].inheritable = (unsigned)inh; d[1].inheritable = (unsigned)(inh >> 32);
    return syscall(SYS_capset, &h, d);
}
#define BIT(c) (1ULL << (c))
static void show(const char *what) {
    get();
    printf("%s: eff{setuid=%d dac_override=%d chown=%d} prm{setuid=%d dac_override=%d} eff==0:%d prm==0:%d\n", what,
           !!(eff & BIT(CAP_SETUID)), !!(eff & BIT(CAP_DAC_OVERRIDE)), !!(eff & BIT(CAP_CHOWN)),
           !!(prm & BIT(CAP_SETUID)), !!(prm & BIT(CAP_DAC_OVERRIDE)), eff == 0, prm == 0);
}
static void status_agrees(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256]; unsigned long long v; int ok = 0;
    get();
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "CapEff: %llx", &v) == 1) ok += v == eff;
        if (sscanf(line, "CapPrm: %llx", &v) == 1) ok += v == prm;
    }
    if (f) fclose(f);
    printf("/proc/self/status agrees with capget: %s\n", ok == 2 ? "yes" : "no");
}
static void run(void (*fn)(void)) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { fn(); fflush(stdout); _exit(0); }
    int st; waitpid(c, &st, 0);
}

static void drop_all(void) {
    setresuid(1000, 1000, 1000);
    show("setresuid(1000) as root");
    status_agrees();
    errno = 0;
    printf("setuid(0) after: %s\n", setuid(0) == 0 ? "ok" : errno == EPERM ? "EPERM" : "other");
    struct timeval tv; gettimeofday(&tv, 0);
    errno = 0;
    printf("settimeofday: %s\n", settimeofday(&tv, 0) == 0 ? "ok" : errno == EPERM ? "EPERM" : "other");
    printf("PR_CAPBSET_DROP: %s\n", prctl(PR_CAPBSET_DROP, CAP_MKNOD) == 0 ? "ok" : errno == EPERM ? "EPERM" : "other");
}
static void keep(void) {
    printf("PR_GET_KEEPCAPS: %d\n", prctl(PR_GET_KEEPCAPS));
    prctl(PR_SET_KEEPCAPS, 1);
    printf("PR_GET_KEEPCAPS after set: %d\n", prctl(PR_GET_KEEPCAPS));
    setresuid(1000, 1000, 1000);
    show("keepcaps + setresuid(1000)");
    printf("capset eff=setuid: %d\n", set_eff(BIT(CAP_SETUID)));
    show("after capset");
    printf("setuid(0): %d\n", setuid(0));
    show("after setuid(0)");
}
static void euid(void) {
    setresuid(-1, 1000, -1);
    show("seteuid(1000)");
    setresuid(-1, 0, -1);
    show("seteuid(0)");
    setfsuid(1000);
    show("setfsuid(1000)");
    setfsuid(0);
    show("setfsuid(0)");
}
static char *self;
static void bset(void) {
    printf("PR_CAPBSET_READ(CAP_MKNOD): %d\n", prctl(PR_CAPBSET_READ, CAP_MKNOD));
    prctl(PR_CAPBSET_DROP, CAP_MKNOD);
    printf("after drop: %d\n", prctl(PR_CAPBSET_READ, CAP_MKNOD));
    errno = 0;
    int r = prctl(PR_CAPBSET_READ, 999);
    printf("PR_CAPBSET_READ(999): %d %s\n", r, errno == EINVAL ? "EINVAL" : "?");
    fflush(stdout);
    execl("/proc/self/exe", self, "after-exec-root", (char *)0);
}
static void nonroot_exec(void) {
    prctl(PR_SET_KEEPCAPS, 1);
    setresuid(1000, 1000, 1000);
    fflush(stdout);
    execl("/proc/self/exe", self, "after-exec-user", (char *)0);
}

int main(int argc, char **argv) {
    self = argv[0];
    if (argc == 2 && strcmp(argv[1], "after-exec-root") == 0) {
        get();
        printf("exec as root after dropping CAP_MKNOD from the bounding set: prm mknod=%d setuid=%d, eff==prm:%d\n",
               !!(prm & BIT(CAP_MKNOD)), !!(prm & BIT(CAP_SETUID)), eff == prm);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "after-exec-user") == 0) {
        show("exec as uid 1000 with kept capabilities");
        printf("PR_GET_KEEPCAPS after exec: %d\n", prctl(PR_GET_KEEPCAPS));
        return 0;
    }
    show("root");
    status_agrees();
    run(drop_all);
    run(keep);
    run(euid);
    run(bset);
    run(nonroot_exec);
    show("parent unchanged");
    return 0;
}
