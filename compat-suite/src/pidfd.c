/* pidfds: pidfd_open (flags, close-on-exec, errors), poll readable once the process has
 * ended, pidfd_send_signal (to a child, to itself with a siginfo, through an open
 * /proc/PID directory, after the reap: ESRCH), waitid(P_PIDFD) and a non-blocking pidfd's
 * EAGAIN. What Python's asyncio PidfdChildWatcher and os.pidfd_open use. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static long pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static long pidfd_send(int fd, int sig, siginfo_t *si, unsigned flags) { return syscall(SYS_pidfd_send_signal, fd, sig, si, flags); }

static int ready(int fd, int timeout)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout);
    return n == 1 ? p.revents : n;
}

static volatile sig_atomic_t got_code, got_value;
static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    (void)sig; (void)ctx;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
}

static pid_t sleeper(void)
{
    pid_t c = fork();
    if (c == 0) { for (;;) pause(); }
    return c;
}

int main(void)
{
    EXPECT_ERR("pidfd_open(-1)", pidfd_open(-1, 0), EINVAL);
    EXPECT_ERR("pidfd_open(0)", pidfd_open(0, 0), EINVAL);
    EXPECT_ERR("pidfd_open bad flags", pidfd_open(getpid(), 1), EINVAL);

    int self = pidfd_open(getpid(), 0);
    CHECK("pidfd_open(self)", self >= 0);
    CHECK("close-on-exec", fcntl(self, F_GETFD) == FD_CLOEXEC);
    CHECK("O_RDWR", (fcntl(self, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR);
    char link[64], path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", self);
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    printf("fd link: %s\n", link);
    char b[8];
    EXPECT_ERR("read", read(self, b, sizeof b), EINVAL);
    printf("self readable: %d\n", ready(self, 0));

    /* pidfd_send_signal's argument checks. */
    EXPECT_ERR("send unknown flags", pidfd_send(self, 0, NULL, 0x100), EINVAL);
    EXPECT_ERR("send bad signal", pidfd_send(self, 65, NULL, 0), EINVAL);
    int devnull = open("/dev/null", O_RDONLY);
    EXPECT_ERR("send on a plain file", pidfd_send(devnull, 0, NULL, 0), EBADF);
    EXPECT_ERR("send on a closed fd", pidfd_send(999, 0, NULL, 0), EBADF);
    EXPECT_OK("send 0 to self", pidfd_send(self, 0, NULL, 0));
    int procdir = open("/proc/self", O_RDONLY | O_DIRECTORY);
    EXPECT_OK("send 0 through /proc/self", pidfd_send(procdir, 0, NULL, 0));

    /* To itself with a siginfo: the handler sees its code and value. */
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1; si.si_code = SI_QUEUE; si.si_value.sival_int = 42;
    EXPECT_OK("send SIGUSR1 with siginfo", pidfd_send(self, SIGUSR1, &si, 0));
    printf("handler: code %s value %d\n", got_code == SI_QUEUE ? "SI_QUEUE" : "?", (int)got_value);
    si.si_signo = SIGUSR2;
    EXPECT_ERR("siginfo of another signal", pidfd_send(self, SIGUSR1, &si, 0), EINVAL);

    /* A child: not readable while it runs, readable once killed, then waited for. */
    pid_t c = sleeper();
    int cfd = pidfd_open(c, 0);
    CHECK("pidfd_open(child)", cfd >= 0);
    printf("running child readable: %d\n", ready(cfd, 0));
    si.si_signo = SIGTERM; si.si_code = SI_USER;
    EXPECT_ERR("siginfo SI_USER to another process", pidfd_send(cfd, SIGTERM, &si, 0), EPERM);
    EXPECT_OK("send SIGTERM", pidfd_send(cfd, SIGTERM, NULL, 0));
    printf("ended child readable: %s\n", ready(cfd, 10000) & POLLIN ? "POLLIN" : "no");
    EXPECT_OK("send 0 to the zombie", pidfd_send(cfd, 0, NULL, 0));
    memset(&si, 0, sizeof si);
    EXPECT_OK("waitid(P_PIDFD)", waitid(P_PIDFD, cfd, &si, WEXITED));
    CHECK("waitid pid", si.si_pid == c);
    printf("waitid: %s status %d\n", si.si_code == CLD_KILLED ? "CLD_KILLED" : "?", si.si_status);
    EXPECT_ERR("send after the reap", pidfd_send(cfd, 0, NULL, 0), ESRCH);
    printf("reaped child readable: %s\n", ready(cfd, 0) & POLLIN ? "POLLIN" : "no");
    EXPECT_ERR("waitid(P_PIDFD) after the reap", waitid(P_PIDFD, cfd, &si, WEXITED), ECHILD);
    EXPECT_ERR("pidfd_open(reaped pid)", pidfd_open(c, 0), ESRCH);
    EXPECT_ERR("waitid(P_PIDFD) on a plain file", waitid(P_PIDFD, devnull, &si, WEXITED), EBADF);
    EXPECT_ERR("waitid(P_PIDFD) of itself", waitid(P_PIDFD, self, &si, WEXITED), ECHILD);

    /* PIDFD_NONBLOCK: waitid says EAGAIN while the child runs (0 with WNOHANG). */
    c = sleeper();
    int nfd = pidfd_open(c, PIDFD_NONBLOCK);
    CHECK("O_NONBLOCK", (fcntl(nfd, F_GETFL) & O_NONBLOCK) != 0);
    EXPECT_ERR("non-blocking waitid", waitid(P_PIDFD, nfd, &si, WEXITED), EAGAIN);
    memset(&si, 0, sizeof si);
    EXPECT_OK("non-blocking waitid WNOHANG", waitid(P_PIDFD, nfd, &si, WEXITED | WNOHANG));
    CHECK("nothing yet", si.si_pid == 0);
    kill(c, SIGKILL);
    printf("killed child readable: %s\n", ready(nfd, 10000) & POLLIN ? "POLLIN" : "no");
    EXPECT_OK("non-blocking waitid after the end", waitid(P_PIDFD, nfd, &si, WEXITED));
    printf("waitid: %s status %d\n", si.si_code == CLD_KILLED ? "CLD_KILLED" : "?", si.si_status);
    return finish();
}
