namespace BootTests;

/// <summary>Changes are announced on the poll head of the object that changed (fs/Poll.cs):
/// a signal or a timer in one process calls no poll entry of another. The kernel counts the
/// entries its heads call (PollEvents.Callbacks, printed at exit with -v); the compat case
/// pollheads checks who is woken, this one that nobody else is called.</summary>
public class PollHeadBootTests
{
    /// Eight children wait in epoll_wait on their own signalfd and timerfd; the parent then
    /// sends itself 2,000 blocked signals (read back through its own signalfd) and reads its
    /// own periodic timerfd 100 times, and at last wakes each child with a signal.
    const string StormC = """
        #include <signal.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <sys/epoll.h>
        #include <sys/signalfd.h>
        #include <sys/timerfd.h>
        #include <sys/wait.h>
        #include <unistd.h>
        enum { CHILDREN = 8, SIGNALS = 2000, TICKS = 100 };
        int main(void) {
            sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1);
            sigprocmask(SIG_BLOCK, &m, NULL);
            int ready[2]; pipe(ready);
            pid_t kids[CHILDREN];
            for (int i = 0; i < CHILDREN; i++) {
                kids[i] = fork();
                if (kids[i] == 0) {
                    int s = signalfd(-1, &m, SFD_NONBLOCK), t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), ep = epoll_create1(0);
                    struct itimerspec far = {{0, 0}, {1000, 0}};
                    timerfd_settime(t, 0, &far, NULL);
                    struct epoll_event ev = {EPOLLIN, {.u32 = 1}};
                    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
                    ev.data.u32 = 2;
                    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
                    write(ready[1], "r", 1);
                    int n = epoll_wait(ep, &ev, 1, 60000);
                    _exit(n == 1 && ev.data.u32 == 1 ? 0 : 1);
                }
            }
            char c;
            for (int i = 0; i < CHILDREN; i++) read(ready[0], &c, 1);
            usleep(100000);                      /* all of them in epoll_wait (only the sensitivity depends on it) */
            int s = signalfd(-1, &m, SFD_NONBLOCK);
            struct signalfd_siginfo si;
            int got = 0;
            for (int i = 0; i < SIGNALS; i++) {
                kill(getpid(), SIGUSR1);
                if (read(s, &si, sizeof si) == sizeof si) got++;
            }
            int t = timerfd_create(CLOCK_MONOTONIC, 0);
            struct itimerspec every = {{0, 1000000}, {0, 1000000}};
            timerfd_settime(t, 0, &every, NULL);
            uint64_t v;
            int reads = 0;
            for (int i = 0; i < TICKS; i++) if (read(t, &v, 8) == 8) reads++;
            int ok = 0;
            for (int i = 0; i < CHILDREN; i++) {
                kill(kids[i], SIGUSR1);
                int st;
                waitpid(kids[i], &st, 0);
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0) ok++;
            }
            printf("signals read %d, timer reads %d, children woken by their own signal %d\n", got, reads, ok);
            return 0;
        }
        """;

    [Fact]
    public void ASignalOrTimerInOneProcessCallsNoEntryOfAnother()
    {
        var exe = Programs.Compile("pollstorm", StormC);
        var img = Path.Combine(Repo.TempDir(), "pollstorm.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Boot(img, null, "-v");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("signals read 2000, timer reads 100, children woken by their own signal 8\n", r.ToString());
        var m = System.Text.RegularExpressions.Regex.Match(r.ErrText, @"poll heads: (\d+) changes announced, (\d+) entries called");
        m.Success.Should().BeTrue(r.ToString());
        long announced = long.Parse(m.Groups[1].Value), called = long.Parse(m.Groups[2].Value);
        // 2,100 changes at least (the parent's signals and timer expiries), and the children's
        // epoll entries called only for their own wake-up: each signal or tick announced to
        // every waiting child would call 8 entries or more per change (16,800).
        announced.Should().BeGreaterThanOrEqualTo(2100, r.ToString());
        called.Should().BeLessThan(500, "no change of the parent calls the children's entries\n{0}", r);
    }
}
