/* Processes: fork, every wait variant and status encoding, copy-on-write memory, pipes
 * between processes, orphans, SIGCHLD, process groups and sessions, kill of a pid and of a
 * group. Only the first process prints; children report through exit statuses and pipes. */
#include "compat.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void status_line(const char *label, int st)
{
    if (WIFEXITED(st)) printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by %d core %d\n", label, WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
    else printf("%s: other 0x%x\n", label, st);
}

static pid_t child_exit(int code)
{
    pid_t p = fork();
    if (p == 0) _exit(code);
    return p;
}

static volatile sig_atomic_t got_chld, chld_code, chld_status, chld_pid_ok;
static pid_t expect_pid;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    got_chld++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid_ok = si->si_pid == expect_pid;
}

static void on_usr1(int sig) { (void)sig; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int st;

    /* Exit codes through wait4/waitpid. */
    int codes[] = { 0, 1, 42, 255, 256 + 3 };
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        pid_t p = child_exit(codes[i]);
        pid_t w = waitpid(p, &st, 0);
        char label[32];
        snprintf(label, sizeof label, "exit %d", codes[i]);
        CHECK("waitpid returns the child", w == p);
        status_line(label, st);
    }

    /* Deaths by signal: raised, sent by the parent, a fault. */
    pid_t p = fork();
    if (p == 0) { raise(SIGTERM); _exit(0); }
    waitpid(p, &st, 0);
    status_line("raise SIGTERM", st);
    p = fork();
    if (p == 0) { for (;;) pause(); }
    CHECK("kill child", kill(p, SIGKILL) == 0);
    waitpid(p, &st, 0);
    status_line("kill SIGKILL", st);
    p = fork();
    if (p == 0) { signal(SIGUSR1, SIG_DFL); for (;;) pause(); }
    kill(p, SIGUSR1);
    wait(&st);
    status_line("kill SIGUSR1", st);
    p = fork();
    if (p == 0) { struct rlimit r = { 0, 0 }; setrlimit(RLIMIT_CORE, &r); *(volatile int *)16 = 1; _exit(0); }
    waitpid(p, &st, 0);
    status_line("segv", st);

    /* WNOHANG before the child ends; then blocking wait. */
    int pfd[2];
    pipe(pfd);
    p = fork();
    if (p == 0) { char c; close(pfd[1]); read(pfd[0], &c, 1); _exit(c); }
    close(pfd[0]);
    CHECK("WNOHANG while running gives 0", waitpid(p, &st, WNOHANG) == 0);
    write(pfd[1], "\x05", 1);
    close(pfd[1]);
    CHECK("then the child", waitpid(p, &st, 0) == p);
    status_line("code through a pipe", st);

    /* No children at all: ECHILD; a pid that is not a child: ECHILD. */
    EXPECT_ERR("wait with no children", wait(&st), ECHILD);
    EXPECT_ERR("waitpid of a non-child", waitpid(1, &st, 0), ECHILD);
    EXPECT_ERR("wait4 bad options", wait4(-1, &st, 0x100, NULL), EINVAL);

    /* waitid: WNOWAIT leaves the zombie; siginfo fields. */
    p = child_exit(9);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK("waitid WNOWAIT", waitid(P_PID, p, &si, WEXITED | WNOWAIT) == 0);
    CHECK("si_pid", si.si_pid == p);
    printf("waitid: signo %d code %d status %d\n", si.si_signo, si.si_code, si.si_status);
    memset(&si, 0, sizeof si);
    CHECK("waitid P_ALL takes it", waitid(P_ALL, 0, &si, WEXITED) == 0 && si.si_pid == p);
    EXPECT_ERR("waitid no flags", waitid(P_ALL, 0, &si, 0), EINVAL);
    EXPECT_ERR("waitid bad idtype", waitid(7, 0, &si, WEXITED), EINVAL);
    p = fork();
    if (p == 0) { kill(getpid(), SIGTERM); _exit(0); }
    memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WEXITED);
    printf("waitid killed: code %d status %d\n", si.si_code, si.si_status);
    p = fork();
    if (p == 0) { for (;;) pause(); }
    memset(&si, 0xff, sizeof si);
    CHECK("waitid WNOHANG while running", waitid(P_PID, p, &si, WEXITED | WNOHANG) == 0);
    printf("waitid WNOHANG: signo %d pid %d\n", si.si_signo, si.si_pid);
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);

    /* wait4 with rusage; wait for any of several children. */
    struct rusage ru;
    p = child_exit(4);
    CHECK("wait4 rusage", wait4(p, &st, 0, &ru) == p && WEXITSTATUS(st) == 4);
    int sum = 0;
    for (int i = 1; i <= 5; i++) child_exit(i);
    for (int i = 0; i < 5; i++) { wait(&st); sum += WEXITSTATUS(st); }
    printf("five children, codes sum %d\n", sum);
    EXPECT_ERR("all reaped", wait(&st), ECHILD);

    /* Copy-on-write: the child's writes stay in the child. */
    static int global = 1;
    size_t big = 1 << 20;
    unsigned char *heap = malloc(big);
    memset(heap, 0xaa, big);
    int stackvar = 5;
    p = fork();
    if (p == 0) {
        global = 2; stackvar = 6; memset(heap, 0x55, big);
        _exit(global + stackvar + heap[big - 1] - 0x55);     /* 8 */
    }
    waitpid(p, &st, 0);
    printf("child saw its own writes: %d\n", WEXITSTATUS(st));
    int same = 1;
    for (size_t i = 0; i < big; i++) if (heap[i] != 0xaa) { same = 0; break; }
    CHECK("parent memory unchanged", global == 1 && stackvar == 5 && same);
    /* The parent writes after fork; the child still sees the old value. */
    int sync1[2], sync2[2];
    pipe(sync1); pipe(sync2);
    p = fork();
    if (p == 0) {
        char c;
        read(sync1[0], &c, 1);
        _exit(global == 1 ? 0 : 1);
    }
    global = 3;
    write(sync1[1], "x", 1);
    waitpid(p, &st, 0);
    CHECK("child keeps the value at fork", WEXITSTATUS(st) == 0);
    global = 1;

    /* MAP_SHARED anonymous memory is shared across fork; MAP_PRIVATE is not. */
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *shared = 1; *priv = 1;
    p = fork();
    if (p == 0) { *shared = 77; *priv = 77; _exit(0); }
    waitpid(p, NULL, 0);
    printf("after the child wrote: shared %d private %d\n", *shared, *priv);

    /* A pipe between processes: the reader sees EOF once every writer has closed. */
    pipe(pfd);
    p = fork();
    if (p == 0) {
        close(pfd[1]);
        char buf[4096];
        long total = 0, n;
        while ((n = read(pfd[0], buf, sizeof buf)) > 0) total += n;
        _exit(total == 100000 ? 0 : 1);
    }
    close(pfd[0]);
    char chunk[1000];
    memset(chunk, 'p', sizeof chunk);
    for (int i = 0; i < 100; i++) write(pfd[1], chunk, sizeof chunk);
    close(pfd[1]);
    waitpid(p, &st, 0);
    CHECK("100000 bytes then EOF in the child", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* Writer in the child, reader here; a pipeline of two children. */
    pipe(pfd);
    if (fork() == 0) { close(pfd[0]); dup2(pfd[1], 1); close(pfd[1]); printf("from the child\n"); fflush(stdout); _exit(0); }
    close(pfd[1]);
    char line[64] = { 0 };
    long n = 0, r;
    while ((r = read(pfd[0], line + n, sizeof line - 1 - n)) > 0) n += r;
    close(pfd[0]);
    wait(NULL);
    printf("read from the child: %s", line);
    /* SIGPIPE: the reader went away. */
    pipe(pfd);
    p = fork();
    if (p == 0) { close(pfd[0]); signal(SIGPIPE, SIG_DFL); for (;;) write(pfd[1], "x", 1); }
    close(pfd[0]); close(pfd[1]);
    waitpid(p, &st, 0);
    status_line("writer without a reader", st);

    /* The fd table is copied: closing in the child leaves the parent's open; offsets are shared. */
    int fd = open("/proc/self/cmdline", O_RDONLY);
    (void)fd;
    pipe(pfd);
    p = fork();
    if (p == 0) { close(pfd[1]); _exit(0); }
    waitpid(p, NULL, 0);
    CHECK("parent's fd still open after the child closed it", write(pfd[1], "a", 1) == 1);
    close(pfd[0]); close(pfd[1]);
    if (fd >= 0) close(fd);

    /* SIGCHLD with SA_SIGINFO. */
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t blk, old;
    sigemptyset(&blk); sigaddset(&blk, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blk, &old);
    expect_pid = p = child_exit(12);
    waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("SIGCHLD: %d, code %d status %d pid ok %d\n", (int)got_chld, (int)chld_code, (int)chld_status, (int)chld_pid_ok);
    waitpid(p, NULL, 0);
    /* SIGCHLD ignored: children are reaped by themselves. */
    signal(SIGCHLD, SIG_IGN);
    p = child_exit(1);
    EXPECT_ERR("SIG_IGN: wait finds no child", waitpid(p, &st, 0), ECHILD);
    signal(SIGCHLD, SIG_DFL);

    /* Orphans go to init (or a subreaper): the grandchild sees another parent. */
    pipe(pfd);
    p = fork();
    if (p == 0) {
        pid_t mid = getpid();
        if (fork() == 0) {
            while (getppid() == mid) usleep(1000);
            char ok = 1;
            write(pfd[1], &ok, 1);
            _exit(0);
        }
        _exit(0);
    }
    close(pfd[1]);
    waitpid(p, NULL, 0);
    char ok = 0;
    read(pfd[0], &ok, 1);
    close(pfd[0]);
    CHECK("orphan reparented", ok == 1);

    /* Process groups and sessions. */
    pipe(pfd);
    p = fork();
    if (p == 0) {
        char c;
        close(pfd[1]);
        read(pfd[0], &c, 1);
        _exit(getpgid(0) == getpid() ? 0 : 1);
    }
    close(pfd[0]);
    CHECK("setpgid(child, 0)", setpgid(p, 0) == 0);
    CHECK("getpgid(child)", getpgid(p) == p);
    CHECK("getsid(child) is ours", getsid(p) == getsid(0));
    EXPECT_ERR("setpgid to a missing group", setpgid(p, 999999), EPERM);
    EXPECT_ERR("getpgid of no process", getpgid(999999), ESRCH);
    EXPECT_ERR("setpgid negative", setpgid(0, -1), EINVAL);
    write(pfd[1], "x", 1);
    close(pfd[1]);
    waitpid(p, &st, 0);
    CHECK("child saw its own group", WEXITSTATUS(st) == 0);
    p = fork();
    if (p == 0) {
        pid_t s = setsid();
        int good = s == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
        _exit(good ? (setsid() < 0 && errno == EPERM ? 0 : 2) : 1);
    }
    waitpid(p, &st, 0);
    printf("setsid in a child: %d\n", WEXITSTATUS(st));
    /* kill of a process group: both members die. */
    pid_t a = fork();
    if (a == 0) { setpgid(0, 0); for (;;) pause(); }
    setpgid(a, a);
    pid_t b = fork();
    if (b == 0) { setpgid(0, a); for (;;) pause(); }
    setpgid(b, a);
    CHECK("kill(-pgrp)", kill(-a, SIGTERM) == 0);
    int st2;
    waitpid(a, &st, 0); waitpid(b, &st2, 0);
    status_line("group member a", st);
    status_line("group member b", st2);
    EXPECT_ERR("kill(-pgrp) of an empty group", kill(-a, SIGTERM), ESRCH);
    EXPECT_ERR("kill a reaped pid", kill(a, 0), ESRCH);
    /* A handler in the child survives fork. */
    /* The child waits with SIGUSR1 blocked until sigsuspend, so a signal sent before it
     * waits is not lost to a pause() that never returns. */
    signal(SIGUSR1, on_usr1);
    sigset_t usr1, before, none;
    sigemptyset(&usr1); sigaddset(&usr1, SIGUSR1); sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, &before);
    p = fork();
    if (p == 0) { sigsuspend(&none); _exit(3); }
    sigprocmask(SIG_SETMASK, &before, NULL);
    kill(p, SIGUSR1);
    waitpid(p, &st, 0);
    status_line("handler inherited", st);
    signal(SIGUSR1, SIG_DFL);

    /* /proc/PID of another process, /proc/self in a child, a zombie's stat. */
    p = fork();
    if (p == 0) {
        char buf[32], want[32];
        long n = readlink("/proc/self", buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = 0;
        snprintf(want, sizeof want, "%d", (int)getpid());
        if (strcmp(buf, want) != 0) _exit(1);
        for (;;) pause();
    }
    char path[64], pa[4096], pb[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)p);
    int fa = open(path, O_RDONLY), fb = open("/proc/self/cmdline", O_RDONLY);
    long na = read(fa, pa, sizeof pa), nb = read(fb, pb, sizeof pb);
    close(fa); close(fb);
    CHECK("child's cmdline is ours", na > 0 && na == nb && memcmp(pa, pb, na) == 0);
    snprintf(path, sizeof path, "/proc/%d/exe", (int)p);
    na = readlink(path, pa, sizeof pa); nb = readlink("/proc/self/exe", pb, sizeof pb);
    CHECK("child's exe is ours", na > 0 && na == nb && memcmp(pa, pb, na) == 0);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
    FILE *sf = fopen(path, "r");
    int spid = 0, sppid = 0; char state = 0;
    if (sf) { fscanf(sf, "%d %*s %c %d", &spid, &state, &sppid); fclose(sf); }
    CHECK("stat: pid and ppid", spid == p && sppid == getpid());
    snprintf(path, sizeof path, "/proc/%d/status", (int)p);
    sf = fopen(path, "r");
    int ppid_line = 0;
    char sline[256];
    while (sf && fgets(sline, sizeof sline, sf)) if (strncmp(sline, "PPid:", 5) == 0) ppid_line = atoi(sline + 5);
    if (sf) fclose(sf);
    CHECK("status: PPid", ppid_line == getpid());
    DIR *dir = opendir("/proc");
    struct dirent *de;
    int listed = 0;
    while (dir && (de = readdir(dir))) if (atoi(de->d_name) == p) listed = 1;
    if (dir) closedir(dir);
    CHECK("the child is listed in /proc", listed);
    kill(p, SIGKILL);
    waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
    sf = fopen(path, "r");
    state = 0;
    if (sf) { fscanf(sf, "%*d %*s %c", &state); fclose(sf); }
    printf("a zombie's state: %c\n", state);
    waitpid(p, NULL, 0);
    CHECK("reaped: /proc/PID is gone", access(path, F_OK) != 0);

    /* Job control: stopped and continued children through wait4 and waitid. */
    p = fork();
    if (p == 0) { for (;;) pause(); }
    CHECK("WNOHANG|WUNTRACED while running gives 0", waitpid(p, &st, WNOHANG | WUNTRACED) == 0);
    kill(p, SIGSTOP);
    CHECK("WUNTRACED reports the stop", waitpid(p, &st, WUNTRACED) == p);
    printf("stopped: %d by %d\n", WIFSTOPPED(st) ? 1 : 0, WSTOPSIG(st));
    CHECK("a stop is reported once", waitpid(p, &st, WNOHANG | WUNTRACED) == 0);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
    sf = fopen(path, "r");
    state = 0;
    if (sf) { fscanf(sf, "%*d %*s %c", &state); fclose(sf); }
    printf("a stopped process's state: %c\n", state);
    kill(p, SIGCONT);
    CHECK("WCONTINUED reports the continue", waitpid(p, &st, WCONTINUED) == p);
    printf("continued: %d\n", WIFCONTINUED(st) ? 1 : 0);
    kill(p, SIGTSTP);
    memset(&si, 0, sizeof si);
    CHECK("waitid WSTOPPED", waitid(P_PID, p, &si, WSTOPPED) == 0);
    printf("waitid stop: code %d status %d\n", si.si_code, si.si_status);
    kill(p, SIGCONT);
    memset(&si, 0, sizeof si);
    CHECK("waitid WCONTINUED", waitid(P_PID, p, &si, WCONTINUED) == 0);
    printf("waitid continue: code %d status %d\n", si.si_code, si.si_status);
    kill(p, SIGSTOP);
    waitpid(p, &st, WUNTRACED);
    kill(p, SIGTERM);                   /* stays pending while stopped */
    usleep(20000);
    CHECK("a stopped child does not die of SIGTERM", waitpid(p, &st, WNOHANG) == 0);
    kill(p, SIGCONT);
    waitpid(p, &st, 0);
    status_line("SIGTERM once continued", st);
    p = fork();
    if (p == 0) { for (;;) pause(); }
    kill(p, SIGSTOP);
    waitpid(p, &st, WUNTRACED);
    kill(p, SIGKILL);
    waitpid(p, &st, 0);
    status_line("SIGKILL while stopped", st);

    /* Many fork+exit+wait rounds. */
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        pid_t c = child_exit(i & 0x7f);
        if (waitpid(c, &st, 0) != c || WEXITSTATUS(st) != (i & 0x7f)) bad++;
    }
    CHECK("200 fork+exit+wait", bad == 0);
    return finish();
}
