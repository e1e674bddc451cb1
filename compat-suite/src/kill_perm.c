/* kill(2)'s permission rule: a sender may signal a process whose real or saved uid is its
 * real or effective uid, or any with CAP_KILL; SIGCONT within a session always; signal 0
 * asks the same; a process group answers EPERM only when no member could be signalled,
 * kill(-1) passes over the ones it may not signal. si_uid is the sender's real uid. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

static int report[2];
static void on_usr1(int sig, siginfo_t *si, void *uc) {
    char m[64];
    int n = snprintf(m, sizeof m, "target got SIGUSR1 from uid %d\n", (int)si->si_uid);
    write(report[1], m, n);
}
static const char *res(int r) { return r == 0 ? "ok" : errno == EPERM ? "EPERM" : errno == ESRCH ? "ESRCH" : "other"; }

static void as(uid_t r, uid_t e, uid_t s, void (*fn)(pid_t), pid_t target) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { setresuid(r, e, s); fn(target); fflush(stdout); _exit(0); }
    int st; waitpid(c, &st, 0);
}

static void stranger(pid_t a) {
    printf("uid 2000: kill(target, 0): %s\n", res(kill(a, 0)));
    printf("uid 2000: kill(target, SIGUSR1): %s\n", res(kill(a, SIGUSR1)));
    printf("uid 2000: kill(target, SIGCONT) in the same session: %s\n", res(kill(a, SIGCONT)));
    printf("uid 2000: kill(-target's group, SIGUSR1): %s\n", res(kill(-a, SIGUSR1)));
    printf("uid 2000: kill(-1, 0): %s\n", res(kill(-1, 0)));
    printf("uid 2000: kill(999999, 0): %s\n", res(kill(999999, 0)));
}
static void same_ruid(pid_t a) {
    printf("ruid 1000 euid 3000: kill(target, SIGUSR1): %s\n", res(kill(a, SIGUSR1)));
}
static void same_euid(pid_t a) {
    printf("ruid 4000 euid 1000: kill(target, 0): %s\n", res(kill(a, 0)));
}

int main(void) {
    pipe(report);
    int ready[2]; pipe(ready);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        struct sigaction sa; memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_usr1; sa.sa_flags = SA_SIGINFO;
        sigaction(SIGUSR1, &sa, 0);
        setpgid(0, 0);
        setresuid(1000, 1000, 1000);
        write(ready[1], "r", 1);
        for (;;) pause();
    }
    char b; read(ready[0], &b, 1);
    as(2000, 2000, 2000, stranger, a);
    as(1000, 3000, 3000, same_ruid, a);
    char m[64]; ssize_t n = read(report[0], m, sizeof m - 1);
    if (n > 0) { m[n] = 0; fputs(m, stdout); }
    as(4000, 1000, 4000, same_euid, a);
    printf("root: kill(target, SIGTERM): %s\n", res(kill(a, SIGTERM)));
    int st; waitpid(a, &st, 0);
    printf("target ended by signal %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "SIGTERM" : "?");
    return 0;
}
