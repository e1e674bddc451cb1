/* The process tree beyond fork and wait: PR_SET_CHILD_SUBREAPER (orphans go to the nearest
 * subreaper ancestor, not to init), PR_SET_PDEATHSIG (a child hears of its parent's end),
 * and MAP_SHARED|MAP_ANONYMOUS memory that MADV_DONTNEED must not lose. */
#include "compat.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

/* Polls until getppid() is no longer `was` (the parent ended and the child was reparented). */
static int wait_reparented(pid_t was)
{
    for (int i = 0; i < 200000; i++) {
        if (getppid() != was) return 1;
        usleep(1000);
    }
    return 0;
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1++; }

static int child_status(pid_t p)
{
    int st;
    if (waitpid(p, &st, 0) != p) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* setpgid on a child that exec'd (fds 10: "ready", 11: "go on"), in its own session or ours. */
static void setpgid_execd(int own_session, const char *label)
{
    int rp[2], hp[2];
    CHECK("pipes", pipe(rp) == 0 && pipe(hp) == 0);
    pid_t p = fork();
    if (p == 0) {
        if (own_session) setsid();
        dup2(rp[1], 10);
        dup2(hp[0], 11);
        close(rp[0]); close(rp[1]); close(hp[0]); close(hp[1]);
        char *args[] = { "proc_tree", "exec-child", NULL };
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(rp[1]); close(hp[0]);
    char c;
    CHECK("the child exec'd", read(rp[0], &c, 1) == 1);
    errno = 0;
    int r = setpgid(p, p);
    printf("%s: %d %s\n", label, r, errname(errno));
    close(hp[1]);
    printf("its status: %d\n", child_status(p));
    close(rp[0]);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        char c;
        write(10, "e", 1);
        read(11, &c, 1);
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    /* This process reaps whatever is orphaned below it (natively it is not pid 1). */
    CHECK("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0);

    /* A (a subreaper) forks B, B forks C and exits: C's parent becomes A, and A waits for it. */
    pid_t a = fork();
    if (a == 0) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) _exit(90);
        int v = -1;
        if (prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0) != 0 || v != 1) _exit(91);
        pid_t b = fork();
        if (b == 0) {
            pid_t me = getpid();
            pid_t c = fork();
            if (c == 0) {
                if (!wait_reparented(me)) _exit(92);
                _exit(0);
            }
            _exit(0);
        }
        if (child_status(b) != 0) _exit(94);
        int st;
        pid_t w = waitpid(-1, &st, 0);                 /* C, now A's child */
        if (w <= 0) _exit(95);
        _exit(WIFEXITED(st) ? 0 : 96);
    }
    printf("subreaper: A waited for its grandchild: %d\n", child_status(a));

    /* The same, C reporting its new parent's pid through a pipe. */
    int pfd[2];
    CHECK("pipe", pipe(pfd) == 0);
    a = fork();
    if (a == 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        pid_t b = fork();
        if (b == 0) {
            pid_t me = getpid();
            if (fork() == 0) {
                int ok = wait_reparented(me);
                pid_t now = getppid();
                int r = ok ? (int)now : -1;
                write(pfd[1], &r, sizeof r);
                _exit(0);
            }
            _exit(0);
        }
        child_status(b);
        int r = 0;
        read(pfd[0], &r, sizeof r);
        if (r == (int)getpid()) waitpid(r, NULL, 0);
        while (waitpid(-1, NULL, WNOHANG) > 0) { }
        _exit(r == (int)getpid() ? 0 : 1);
    }
    printf("subreaper: the orphan's getppid() is the subreaper: %s\n", child_status(a) == 0 ? "yes" : "no");
    close(pfd[0]); close(pfd[1]);

    /* PR_SET_PDEATHSIG: B asks for SIGUSR1 when its parent A ends; A ends; B gets it
     * (it is reparented to this process, a subreaper, which waits for it). */
    CHECK("pipe", pipe(pfd) == 0);
    int qfd[2];
    CHECK("pipe", pipe(qfd) == 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    a = fork();
    if (a == 0) {
        pid_t was = getpid();
        pid_t b = fork();
        if (b == 0) {
            sigprocmask(SIG_BLOCK, &usr1, NULL);
            if (prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) != 0) _exit(80);
            int v = 0;
            if (prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0) != 0 || v != SIGUSR1) _exit(81);
            pid_t me = getpid();
            write(pfd[1], &me, sizeof me);
            if (!wait_reparented(was)) _exit(82);
            struct timespec ts = { 10, 0 };
            siginfo_t si;
            int s = sigtimedwait(&usr1, &si, &ts);
            _exit(s == SIGUSR1 ? 0 : 83);
        }
        pid_t bpid = 0;
        read(pfd[0], &bpid, sizeof bpid);
        write(qfd[1], &bpid, sizeof bpid);
        _exit(0);
    }
    printf("pdeathsig: parent A: %d\n", child_status(a));
    pid_t orphan = 0;
    int st = 0;
    CHECK("B's pid", read(qfd[0], &orphan, sizeof orphan) == sizeof orphan);
    CHECK("the orphan is ours to wait for", waitpid(orphan, &st, 0) == orphan);
    printf("pdeathsig: the orphan got SIGUSR1: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) printf("  (status 0x%x)\n", st);
    close(qfd[0]); close(qfd[1]);
    /* A forked child does not inherit the parent's death signal. */
    CHECK("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0) == 0);
    a = fork();
    if (a == 0) { int v = -1; prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0); _exit(v); }
    printf("pdeathsig after fork: %d\n", child_status(a));
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    close(pfd[0]); close(pfd[1]);

    /* MAP_SHARED|MAP_ANONYMOUS is shared memory: MADV_DONTNEED drops the mapping, not the data. */
    volatile int *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap shared anon", m != MAP_FAILED);
    m[0] = 42;
    CHECK("MADV_DONTNEED", madvise((void *)m, 8192, MADV_DONTNEED) == 0);
    printf("shared anon after MADV_DONTNEED: %d\n", m[0]);
    a = fork();
    if (a == 0) { m[0] = 7; m[1024] = 8; _exit(0); }
    child_status(a);
    madvise((void *)m, 8192, MADV_DONTNEED);
    printf("after fork, the child's write, MADV_DONTNEED: %d %d\n", m[0], m[1024]);
    a = fork();
    if (a == 0) { _exit(m[0] == 7 ? 0 : 1); }
    printf("a second child sees it: %d\n", child_status(a));
    errno = 0;
    int r = madvise((void *)m, 8192, MADV_FREE);
    printf("MADV_FREE on shared anon: %d %s\n", r, errname(errno));
    munmap((void *)m, 8192);
    /* A parent waiting in vfork for its child is killable: SIGKILL ends it at once, while
     * the child (which still runs) goes on until it is killed too. */
    CHECK("pipe", pipe(pfd) == 0);
    a = fork();
    if (a == 0) {
        if (vfork() == 0) {
            pid_t me = getpid();
            write(pfd[1], &me, sizeof me);
            for (;;) pause();
        }
        _exit(0);
    }
    pid_t vchild = 0;
    CHECK("the vfork child's pid", read(pfd[0], &vchild, sizeof vchild) == sizeof vchild);
    CHECK("SIGKILL to the vfork parent", kill(a, SIGKILL) == 0);
    int died = 0;
    for (int i = 0; i < 10000 && !died; i++) {
        if (waitpid(a, &st, WNOHANG) == a) died = 1;
        else usleep(1000);
    }
    printf("the vfork parent died of SIGKILL while its child ran: %s\n", died && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "yes" : "no");
    kill(vchild, SIGKILL);
    if (!died) waitpid(a, &st, 0);
    CHECK("the vfork child, orphaned to us, is reaped", waitpid(vchild, &st, 0) == vchild && WIFSIGNALED(st));
    close(pfd[0]); close(pfd[1]);
    /* A "clone" child (exit signal SIGUSR1) orphaned: its exit signal becomes SIGCHLD, so
     * its new parent is not sent SIGUSR1 and waits for it without __WCLONE. */
    CHECK("pipe", pipe(pfd) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    a = fork();
    if (a == 0) {
        pid_t apid = getpid();
        long b = syscall(SYS_clone, (long)SIGUSR1, 0L, 0L, 0L, 0L);
        if (b == 0) {
            wait_reparented(apid);
            pid_t me = (pid_t)syscall(SYS_getpid);
            write(pfd[1], &me, sizeof me);
            syscall(SYS_exit_group, 0);
        }
        _exit(b > 0 ? 0 : 1);
    }
    printf("clone child's parent: %d\n", child_status(a));
    pid_t cl = 0;
    CHECK("the clone child's pid", read(pfd[0], &cl, sizeof cl) == sizeof cl);
    pid_t w = waitpid(cl, &st, 0);
    printf("the orphaned clone child is waited for without __WCLONE: %s\n", w == cl && WIFEXITED(st) ? "yes" : "no");
    if (w != cl) waitpid(cl, &st, __WALL);
    printf("SIGUSR1 received: %d\n", (int)got_usr1);
    close(pfd[0]); close(pfd[1]);
    /* setpgid: a child in another session is EPERM before "has exec'd" is EACCES. */
    setpgid_execd(1, "setpgid, exec'd child in its own session");
    setpgid_execd(0, "setpgid, exec'd child in our session");
    return compat_failures ? 1 : 0;
}
