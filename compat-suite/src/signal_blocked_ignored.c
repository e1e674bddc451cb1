/* A blocked signal is never discarded as ignored when it is sent, since its disposition may
 * change before it is unblocked (signal(7)): SIGURG (default: ignore) blocked and read from
 * a signalfd in epoll is how PostgreSQL's latches wake a process. Also SIG_IGN + blocked,
 * sigtimedwait for a blocked SIGCHLD, unblocking a pending ignored signal, and setting
 * SIG_IGN discarding a pending one. */
#include <stdio.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>
#include <time.h>

static int pending(int sig) { sigset_t p; sigpending(&p); return sigismember(&p, sig); }

int main(void) {
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGURG);
    sigprocmask(SIG_BLOCK, &m, 0);

    /* 1. default-ignored SIGURG, blocked: stays pending, readable through a signalfd */
    kill(getpid(), SIGURG);
    printf("SIGURG blocked, default: pending=%d\n", pending(SIGURG));
    int sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    int n = epoll_wait(ep, &out, 1, 1000);
    printf("epoll_wait: %d data=%u\n", n, n == 1 ? out.data.u32 : 0);
    struct signalfd_siginfo si;
    printf("read: %s\n", read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGURG ? "SIGURG" : "?");
    printf("after read: pending=%d\n", pending(SIGURG));

    /* 2. another process wakes one sleeping in epoll_wait with no timeout (a latch) */
    int ready[2], done[2];
    pipe(ready); pipe(done);
    pid_t c = fork();
    if (c == 0) {
        int cfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
        int cep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event cev = {.events = EPOLLIN, .data.u32 = 9}, cout;
        epoll_ctl(cep, EPOLL_CTL_ADD, cfd, &cev);
        write(ready[1], "r", 1);
        int k = epoll_wait(cep, &cout, 1, -1);
        struct signalfd_siginfo csi;
        ssize_t r = read(cfd, &csi, sizeof csi);
        char msg[64];
        int len = snprintf(msg, sizeof msg, "child woke: %d %s from parent=%d\n", k,
                           r == sizeof csi && csi.ssi_signo == SIGURG ? "SIGURG" : "?", csi.ssi_pid == (unsigned)getppid());
        write(done[1], msg, len);
        _exit(0);
    }
    char b; read(ready[0], &b, 1);
    kill(c, SIGURG);
    char msg[64]; ssize_t got = read(done[0], msg, sizeof msg - 1);
    if (got > 0) { msg[got] = 0; fputs(msg, stdout); }
    int st; waitpid(c, &st, 0);
    printf("child status %d\n", WEXITSTATUS(st));

    /* 3. SIG_IGN and blocked: still pending; setting SIG_IGN again discards it */
    sigset_t u; sigemptyset(&u); sigaddset(&u, SIGUSR2);
    sigprocmask(SIG_BLOCK, &u, 0);
    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    printf("SIGUSR2 blocked, SIG_IGN: pending=%d\n", pending(SIGUSR2));
    signal(SIGUSR2, SIG_IGN);
    printf("after sigaction(SIG_IGN): pending=%d\n", pending(SIGUSR2));

    /* 4. not blocked and ignored: discarded at once */
    kill(getpid(), SIGWINCH);
    printf("SIGWINCH unblocked, default: pending=%d\n", pending(SIGWINCH));

    /* 5. a pending default-ignored signal, unblocked: discarded, the process goes on */
    sigset_t w; sigemptyset(&w); sigaddset(&w, SIGWINCH);
    sigprocmask(SIG_BLOCK, &w, 0);
    kill(getpid(), SIGWINCH);
    printf("SIGWINCH blocked: pending=%d\n", pending(SIGWINCH));
    sigprocmask(SIG_UNBLOCK, &w, 0);
    printf("SIGWINCH unblocked again: pending=%d\n", pending(SIGWINCH));

    /* 6. sigtimedwait for a blocked SIGCHLD (default: ignore) */
    sigset_t ch; sigemptyset(&ch); sigaddset(&ch, SIGCHLD);
    sigprocmask(SIG_BLOCK, &ch, 0);
    pid_t c2 = fork();
    if (c2 == 0) _exit(5);
    struct timespec to = {30, 0};
    siginfo_t info;
    int s = sigtimedwait(&ch, &info, &to);
    printf("sigtimedwait: %s code=%s pid=%d status=%d\n", s == SIGCHLD ? "SIGCHLD" : "?",
           info.si_code == CLD_EXITED ? "CLD_EXITED" : "?", info.si_pid == c2, info.si_status);
    waitpid(c2, &st, 0);
    return 0;
}
