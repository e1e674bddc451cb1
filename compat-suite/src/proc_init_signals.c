/* Pid 1 (a container's init, the image's program here) drops signals other processes send
 * it when it has no handler for them: SIGTERM, SIGINT, SIGUSR2 and even SIGKILL do nothing;
 * a handled SIGUSR1 is delivered, and so is a blocked SIGUSR2 (it stays pending; unblocked,
 * it is dropped then). Natively the test runs as pid 1 of a new PID namespace (needs root);
 * under the kernel the program is pid 1 already. */
#define _GNU_SOURCE
#include "compat.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got++; }

static void send_from_child(int sig)
{
    pid_t k = fork();
    if (k == 0) _exit(kill(1, sig) == 0 ? 0 : 1);
    int st;
    waitpid(k, &st, 0);
    printf("a child's kill(1, %s): %s\n", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : sig == SIGUSR2 ? "SIGUSR2" :
           sig == SIGKILL ? "SIGKILL" : sig == SIGUSR1 ? "SIGUSR1" : "?", WEXITSTATUS(st) == 0 ? "sent" : "failed");
}

static int as_init(void)
{
    printf("pid %d\n", (int)getpid());
    send_from_child(SIGTERM);
    send_from_child(SIGINT);
    send_from_child(SIGUSR2);
    send_from_child(SIGKILL);
    printf("still running\n");
    signal(SIGUSR1, on_usr1);
    send_from_child(SIGUSR1);
    printf("handled SIGUSR1: %d\n", (int)got);
    /* Ignored is ignored; its own signals act as for anyone (a blocked one stays pending). */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGUSR2);
    sigset_t pend;
    sigpending(&pend);
    printf("own SIGUSR2 pending: %s\n", yesno(sigismember(&pend, SIGUSR2)));
    /* A blocked signal from another process is never dropped (a signalfd may read it). */
    struct timespec zero = {0, 0};
    printf("own SIGUSR2 taken: %s\n", yesno(sigtimedwait(&s, NULL, &zero) == SIGUSR2));
    send_from_child(SIGUSR2);
    sigpending(&pend);
    printf("a child's SIGUSR2, blocked: pending: %s\n", yesno(sigismember(&pend, SIGUSR2)));
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    printf("unblocked with no handler: still running\n");
    signal(SIGUSR2, SIG_IGN);
    return finish();
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (getpid() == 1) return as_init();
    if (unshare(CLONE_NEWPID) != 0) { printf("unshare: %s\n", errname(errno)); return 1; }
    pid_t p = fork();
    if (p == 0) _exit(as_init());
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
