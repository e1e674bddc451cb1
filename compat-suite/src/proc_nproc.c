/* RLIMIT_NPROC: a process that is not root forks until the user's task count reaches the
 * limit, then fork fails with EAGAIN (a fork bomb stops cleanly); zombies count until
 * reaped; root is exempt. (Runs as root; uid 54321 has no other process.) */
#include "compat.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (geteuid() != 0) { printf("not root\n"); return 0; }
    pid_t p = fork();
    if (p == 0) {
        struct rlimit rl = { 4, 4 };
        EXPECT_OK("setrlimit NPROC 4", setrlimit(RLIMIT_NPROC, &rl));
        EXPECT_OK("setgid", setgid(54321));
        EXPECT_OK("setuid", setuid(54321));
        int gate[2];
        pipe(gate);
        int made = 0, err = 0;
        pid_t kids[16];
        for (int i = 0; i < 16; i++) {
            pid_t k = fork();
            if (k == 0) { char c; close(gate[1]); read(gate[0], &c, 1); _exit(0); }
            if (k < 0) { err = errno; break; }
            kids[made++] = k;
        }
        printf("forks before the limit: %d, then %s\n", made, errname(err));
        close(gate[1]);                     /* the children end: zombies until reaped */
        for (int i = 0; i < made; i++) {
            siginfo_t si;
            waitid(P_PID, kids[i], &si, WEXITED | WNOWAIT);
        }
        pid_t k = fork();
        if (k == 0) _exit(0);
        printf("fork with zombies left: %s\n", k < 0 ? errname(errno) : "OK");
        if (k > 0) waitpid(k, NULL, 0);
        for (int i = 0; i < made; i++) waitpid(kids[i], NULL, 0);
        k = fork();
        if (k == 0) _exit(0);
        printf("fork after reaping: %s\n", k < 0 ? errname(errno) : "OK");
        if (k > 0) waitpid(k, NULL, 0);
        _exit(finish());
    }
    int st;
    waitpid(p, &st, 0);
    /* Root is not limited. */
    struct rlimit rl = { 1, 1 };
    setrlimit(RLIMIT_NPROC, &rl);
    pid_t k = fork();
    if (k == 0) _exit(0);
    printf("root with limit 1: %s\n", k < 0 ? errname(errno) : "OK");
    if (k > 0) waitpid(k, NULL, 0);
    printf("child status %d\n", WEXITSTATUS(st));
    return WEXITSTATUS(st);
}
