/* signalfd4(2): blocked signals read as records, queued real-time values, poll readiness, EAGAIN and EINVAL. */
#include <stdio.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <poll.h>
#include <errno.h>
int main(void) {
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &m, 0);
    int fd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    struct signalfd_siginfo si;
    printf("empty read: %s\n", read(fd, &si, sizeof si) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    kill(getpid(), SIGUSR1);
    union sigval v; v.sival_int = 77; sigqueue(getpid(), SIGRTMIN + 2, v);
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, 1000);
    printf("poll: %d revents=%d\n", pr, p.revents);
    while (read(fd, &si, sizeof si) == sizeof si) printf("got signo=%s code=%d int=%d\n", si.ssi_signo == SIGUSR1 ? "SIGUSR1" : si.ssi_signo == (unsigned)SIGRTMIN + 2 ? "SIGRTMIN+2" : "?", si.ssi_code, si.ssi_int);
    printf("bad size: %s\n", read(fd, &si, 10) < 0 && errno == EINVAL ? "EINVAL" : "?");
    return 0;
}
