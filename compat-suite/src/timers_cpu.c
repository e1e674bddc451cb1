/* timers_cpu: CPU-time clocks and timers: clock ids from pthread_getcpuclockid /
 * clock_getcpuclockid, CPU clocks not advancing while asleep, ITIMER_VIRTUAL and ITIMER_PROF,
 * POSIX timers on CLOCK_PROCESS_CPUTIME_ID / CLOCK_THREAD_CPUTIME_ID, and clock_nanosleep on
 * CPU clocks. Kept apart from timers.c because it needs real CPU-time accounting. */
#include "compat.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/time.h>

#define MS 1000000LL

static long long ns_of(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }
static long long now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return ns_of(&t); }
static struct timespec ts_of(long long ns) { struct timespec t = { ns / 1000000000LL, ns % 1000000000LL }; return t; }

static volatile sig_atomic_t got[65];
static void on_sig(int s) { got[s]++; }
static void handle(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static volatile unsigned long sink;
/* spin until SIG arrives or LIMIT ms of wall time pass; returns 1 if it arrived */
static int spin_until(int sig, long long limit_ms)
{
    long long end = now(CLOCK_MONOTONIC) + limit_ms * MS;
    while (!got[sig] && now(CLOCK_MONOTONIC) < end)
        for (int i = 0; i < 1000; i++) sink += i;
    return got[sig] != 0;
}

static void busy(long long ms)
{
    long long end = now(CLOCK_MONOTONIC) + ms * MS;
    while (now(CLOCK_MONOTONIC) < end)
        for (int i = 0; i < 1000; i++) sink += i;
}

static volatile int stop;
static void *spinner(void *arg) { (void)arg; while (!stop) sink++; return NULL; }
static void *sleeper(void *arg) { (void)arg; while (!stop) { struct timespec t = ts_of(5 * MS); nanosleep(&t, NULL); } return NULL; }

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct timespec t;

    /* ---- dynamic CPU clock ids ---- */
    clockid_t cc;
    printf("pthread_getcpuclockid self: %s\n", errname(pthread_getcpuclockid(pthread_self(), &cc)));
    EXPECT_OK("clock_gettime on it", clock_gettime(cc, &t));
    EXPECT_OK("clock_getres on it", clock_getres(cc, &t));
    long long a = now(cc);
    busy(30);
    CHECK("own thread CPU clock advances while busy", now(cc) > a);
    printf("clock_getcpuclockid(0): %s\n", errname(clock_getcpuclockid(0, &cc)));
    EXPECT_OK("clock_gettime on it", clock_gettime(cc, &t));
    printf("clock_getcpuclockid(getpid()): %s\n", errname(clock_getcpuclockid(getpid(), &cc)));
    EXPECT_OK("clock_gettime on it", clock_gettime(cc, &t));
    pthread_t th;
    stop = 0;
    pthread_create(&th, NULL, sleeper, NULL);
    printf("pthread_getcpuclockid other thread: %s\n", errname(pthread_getcpuclockid(th, &cc)));
    EXPECT_OK("clock_gettime on it", clock_gettime(cc, &t));
    stop = 1;
    pthread_join(th, NULL);

    /* ---- CPU clocks do not advance while asleep ---- */
    long long th0 = now(CLOCK_THREAD_CPUTIME_ID), p0 = now(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec nap = ts_of(200 * MS);
    nanosleep(&nap, NULL);
    long long th1 = now(CLOCK_THREAD_CPUTIME_ID), p1 = now(CLOCK_PROCESS_CPUTIME_ID);
    CHECK("THREAD_CPUTIME advanced < 100ms during a 200ms sleep", th1 - th0 < 100 * MS);
    CHECK("PROCESS_CPUTIME advanced < 100ms during a 200ms sleep", p1 - p0 < 100 * MS);

    /* ---- ITIMER_VIRTUAL / ITIMER_PROF ---- */
    handle(SIGVTALRM);
    handle(SIGPROF);
    struct itimerval it = { { 0, 0 }, { 0, 20000 } }, ot;
    EXPECT_OK("setitimer VIRTUAL 20ms", setitimer(ITIMER_VIRTUAL, &it, NULL));
    EXPECT_OK("getitimer VIRTUAL", getitimer(ITIMER_VIRTUAL, &ot));
    /* Linux rounds CPU itimers up to a tick (1/HZ) */
    CHECK("VIRTUAL armed reads in (0, 30ms]", ot.it_value.tv_sec == 0 && ot.it_value.tv_usec > 0 &&
          ot.it_value.tv_usec <= 30000);
    nanosleep(&nap, NULL);
    printf("SIGVTALRM during 200ms of sleep: %d\n", (int)got[SIGVTALRM]);
    printf("SIGVTALRM while spinning: %s\n", yesno(spin_until(SIGVTALRM, 2000)));
    EXPECT_OK("setitimer PROF 20ms", setitimer(ITIMER_PROF, &it, NULL));
    nanosleep(&nap, NULL);
    printf("SIGPROF during 200ms of sleep: %d\n", (int)got[SIGPROF]);
    printf("SIGPROF while spinning: %s\n", yesno(spin_until(SIGPROF, 2000)));

    /* ---- POSIX timers on CPU clocks ---- */
    static const struct { clockid_t id; const char *name; int sig; } cpu[] = {
        { CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID", SIGUSR1 },
        { CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID", SIGUSR2 },
    };
    for (int i = 0; i < 2; i++) {
        struct sigevent ev;
        timer_t tm;
        char label[96];
        memset(&ev, 0, sizeof ev);
        ev.sigev_notify = SIGEV_SIGNAL;
        ev.sigev_signo = cpu[i].sig;
        handle(cpu[i].sig);
        snprintf(label, sizeof label, "timer_create %s", cpu[i].name);
        errno = 0;
        int cr = timer_create(cpu[i].id, &ev, &tm);
        printf("%s: %s\n", label, compat_res(cr));
        if (cr < 0) { compat_failures++; continue; }
        struct itimerspec its = { { 0, 0 }, ts_of(30 * MS) };
        timer_settime(tm, 0, &its, NULL);
        nanosleep(&nap, NULL);
        printf("%s timer: fired during 200ms of sleep %d\n", cpu[i].name, (int)got[cpu[i].sig]);
        printf("%s timer: fired while spinning %s\n", cpu[i].name, yesno(spin_until(cpu[i].sig, 2000)));
        timer_delete(tm);
    }

    /* ---- clock_nanosleep on CPU clocks ---- */
    struct timespec rel = ts_of(20 * MS);
    printf("clock_nanosleep THREAD_CPUTIME_ID: %s\n", errname(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &rel, NULL)));
    stop = 0;
    pthread_create(&th, NULL, spinner, NULL);
    long long c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    printf("clock_nanosleep PROCESS_CPUTIME_ID 20ms (another thread spinning): %s\n",
           errname(clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &rel, NULL)));
    CHECK("  process CPU time advanced >= 20ms", now(CLOCK_PROCESS_CPUTIME_ID) - c0 >= 20 * MS);
    stop = 1;
    pthread_join(th, NULL);
    return finish();
}
