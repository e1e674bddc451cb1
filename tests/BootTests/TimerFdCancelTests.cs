namespace BootTests;

/// <summary>timerfd's TFD_TIMER_CANCEL_ON_SET needs the realtime clock set, which a compat
/// case may not do (natively it would move the host's clock): a boot test.</summary>
public class TimerFdCancelTests
{
    const string CancelC = """
        #include <errno.h>
        #include <poll.h>
        #include <pthread.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <time.h>
        #include <unistd.h>
        #include <sys/syscall.h>
        #include <sys/timerfd.h>
        static long r; static int e;
        static int waited, wrev;
        static void *waiter(void *a) {
            struct pollfd p = {*(int *)a, POLLIN, 0};
            waited = poll(&p, 1, 10000);
            wrev = p.revents;
            return 0;
        }
        #define RD(fd, v) (errno = 0, r = (long)read(fd, &v, 8), e = errno, r)
        int main(void) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            int c = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK), a = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
            int m = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
            struct itimerspec t = {{0, 0}, {now.tv_sec + 100, 0}}, rel = {{0, 0}, {100, 0}};
            timerfd_settime(c, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &t, NULL);
            timerfd_settime(a, TFD_TIMER_ABSTIME, &t, NULL);
            timerfd_settime(m, 0, &rel, NULL);
            int w = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
            timerfd_settime(w, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &t, NULL);
            pthread_t th;
            pthread_create(&th, NULL, waiter, &w);
            usleep(50000);                      /* the thread waits in poll (the output does not depend on it) */
            uint64_t v = 0;
            RD(c, v);
            printf("before: %ld %d\n", r, e == EAGAIN);
            struct timespec set = {now.tv_sec + 1000, 0};
            printf("clock_settime: %ld\n", syscall(SYS_clock_settime, CLOCK_REALTIME, &set));
            pthread_join(th, NULL);
            printf("a poll waiting in another thread: %d %#x\n", waited, wrev);
            struct pollfd p = {c, POLLIN, 0};
            int pr = poll(&p, 1, 1000);
            printf("poll cancel-on-set: %d %#x\n", pr, p.revents);
            RD(c, v);
            printf("read cancel-on-set: %ld %d\n", r, e == ECANCELED);
            RD(c, v);
            printf("read again: %ld %d\n", r, e == EAGAIN);
            RD(a, v);
            printf("absolute realtime timer passed: %ld %llu\n", r, (unsigned long long)v);
            RD(m, v);
            printf("monotonic timer unmoved: %ld %d\n", r, e == EAGAIN);
            struct timespec back = {now.tv_sec, 0};
            syscall(SYS_clock_settime, CLOCK_REALTIME, &back);
            return 0;
        }
        """;

    [Fact]
    public void SettingTheClockCancelsCancelOnSetTimers()
    {
        var exe = Programs.Compile("timerfd_cancel", CancelC);
        var img = Path.Combine(Repo.TempDir(), "timerfd_cancel.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(
            "before: -1 1\nclock_settime: 0\na poll waiting in another thread: 1 0x1\npoll cancel-on-set: 1 0x1\nread cancel-on-set: -1 1\nread again: -1 1\n" +
            "absolute realtime timer passed: 8 1\nmonotonic timer unmoved: -1 1\n", r.ToString());
    }
}
