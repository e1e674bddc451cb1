/* timers: alarm + pause, setitimer/getitimer ITIMER_REAL (periodic), POSIX timers with
 * SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE and SIGEV_THREAD (settime/gettime/getoverrun/
 * delete), times(), getrusage, clock_gettime/clock_getres on every clock id,
 * clock_nanosleep TIMER_ABSTIME. */
#include "compat.h"
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid /* glibc < 2.41 */
#endif

#define MS 1000000LL
#define SIGT 40 /* a real-time signal clear of both libcs' internal ones */

static long long ns_of(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }
static long long now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return ns_of(&t); }
static struct timespec ts_of(long long ns) { struct timespec t = { ns / 1000000000LL, ns % 1000000000LL }; return t; }

static volatile sig_atomic_t alrm_count, sigt_count;
static siginfo_t sigt_info;
static void on_alrm(int s) { (void)s; alrm_count++; }
static void on_sigt(int s, siginfo_t *si, void *uc) { (void)s; (void)uc; sigt_info = *si; sigt_count++; }

static void handle(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static const char *code_name(int c)
{
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_TIMER: return "SI_TIMER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    default: { static char b[32]; snprintf(b, sizeof b, "code %d", c); return b; }
    }
}

/* ---- SIGEV_THREAD_ID target ---- */
static sem_t ready, fired;
static long target_tid;
static int target_got, target_code, target_value;
static void *target_thread(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGT);
    target_tid = syscall(SYS_gettid);
    sem_post(&ready);
    siginfo_t si;
    struct timespec to = { 5, 0 };
    target_got = sigtimedwait(&s, &si, &to);
    target_code = si.si_code;
    target_value = si.si_value.sival_int;
    return NULL;
}

/* ---- SIGEV_THREAD callback ---- */
static int thread_cb_value, thread_cb_calls;
static void thread_cb(union sigval v)
{
    thread_cb_value = v.sival_int;
    __atomic_fetch_add(&thread_cb_calls, 1, __ATOMIC_SEQ_CST);
    sem_post(&fired);
}

static volatile unsigned long sink;
/* spin until this process used MS of CPU time (at most 5 s of wall time, for a loaded host) */
static void busy(long long ms)
{
    long long end = now(CLOCK_PROCESS_CPUTIME_ID) + ms * MS, wall = now(CLOCK_MONOTONIC) + 5000 * MS;
    while (now(CLOCK_PROCESS_CPUTIME_ID) < end && now(CLOCK_MONOTONIC) < wall)
        for (int i = 0; i < 10000; i++) sink += i;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long long t0, t1;
    sigset_t s, old;

    /* ---- alarm + pause ---- */
    handle(SIGALRM, on_alrm);
    t0 = now(CLOCK_MONOTONIC);
    printf("alarm(1) first: %u\n", alarm(1));
    errno = 0;
    int r = pause();
    t1 = now(CLOCK_MONOTONIC);
    printf("pause: ret %d %s, SIGALRM %d\n", r, errname(errno), (int)alrm_count);
    CHECK("pause returned after >= 1s", t1 - t0 >= 1000 * MS);
    alarm(5);
    printf("alarm(0) after alarm(5): %u\n", alarm(0));
    printf("alarm(0) again: %u\n", alarm(0));

    /* ---- setitimer ITIMER_REAL periodic ---- */
    struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, ot;
    alrm_count = 0;
    EXPECT_OK("getitimer REAL disarmed", getitimer(ITIMER_REAL, &ot));
    CHECK("disarmed timer reads zero", !ot.it_value.tv_sec && !ot.it_value.tv_usec && !ot.it_interval.tv_usec);
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    sigprocmask(SIG_BLOCK, &s, &old);
    t0 = now(CLOCK_MONOTONIC);
    EXPECT_OK("setitimer REAL 20ms periodic", setitimer(ITIMER_REAL, &it, NULL));
    EXPECT_OK("getitimer REAL armed", getitimer(ITIMER_REAL, &ot));
    printf("getitimer interval: %ld.%06ld\n", (long)ot.it_interval.tv_sec, (long)ot.it_interval.tv_usec);
    CHECK("getitimer value in (0, 20ms]", ot.it_value.tv_sec == 0 && ot.it_value.tv_usec > 0 &&
          ot.it_value.tv_usec <= 20000);
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGALRM);
    while (alrm_count < 5) sigsuspend(&wait_mask);
    t1 = now(CLOCK_MONOTONIC);
    struct itimerval zero = { { 0, 0 }, { 0, 0 } };
    EXPECT_OK("setitimer REAL disarm (old value returned)", setitimer(ITIMER_REAL, &zero, &ot));
    CHECK("old interval returned by disarming setitimer", ot.it_interval.tv_usec == 20000);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("periodic SIGALRM count: %d\n", (int)alrm_count);
    CHECK("5 periods took >= 100ms", t1 - t0 >= 100 * MS);
    getitimer(ITIMER_REAL, &ot);
    CHECK("disarmed again", !ot.it_value.tv_sec && !ot.it_value.tv_usec);
    EXPECT_ERR("setitimer bad which", setitimer(17, &it, NULL), EINVAL);
    it.it_value.tv_usec = 1000000;
    EXPECT_ERR("setitimer tv_usec 1e6", setitimer(ITIMER_REAL, &it, NULL), EINVAL);
    EXPECT_OK("getitimer VIRTUAL", getitimer(ITIMER_VIRTUAL, &ot));
    EXPECT_OK("getitimer PROF", getitimer(ITIMER_PROF, &ot));
    EXPECT_ERR("getitimer bad which", getitimer(17, &ot), EINVAL);

    /* ---- POSIX timer, SIGEV_SIGNAL, one-shot, handler ---- */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigt;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGT, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGT;
    ev.sigev_value.sival_int = 4242;
    timer_t tm;
    EXPECT_OK("timer_create MONOTONIC SIGEV_SIGNAL", timer_create(CLOCK_MONOTONIC, &ev, &tm));
    struct itimerspec its = { { 0, 0 }, ts_of(50 * MS) }, oits;
    sigemptyset(&s);
    sigaddset(&s, SIGT);
    sigprocmask(SIG_BLOCK, &s, &old);
    t0 = now(CLOCK_MONOTONIC);
    EXPECT_OK("timer_settime 50ms one-shot", timer_settime(tm, 0, &its, NULL));
    EXPECT_OK("timer_gettime", timer_gettime(tm, &oits));
    CHECK("timer_gettime value in (0, 50ms]", ns_of(&oits.it_value) > 0 && ns_of(&oits.it_value) <= 50 * MS);
    CHECK("timer_gettime interval 0", ns_of(&oits.it_interval) == 0);
    sigset_t w = old;
    sigdelset(&w, SIGT);
    sigt_count = 0;
    while (sigt_count == 0) sigsuspend(&w);
    t1 = now(CLOCK_MONOTONIC);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("SIGEV_SIGNAL: delivered %d, si_signo %d, si_code %s, si_value %d\n", (int)sigt_count,
           sigt_info.si_signo, code_name(sigt_info.si_code), sigt_info.si_value.sival_int);
    CHECK("one-shot timer fired no earlier than 50ms", t1 - t0 >= 50 * MS);
    timer_gettime(tm, &oits);
    CHECK("expired one-shot timer reads zero", ns_of(&oits.it_value) == 0);
    EXPECT_OK("timer_getoverrun", timer_getoverrun(tm));

    /* ---- periodic with the signal blocked: overruns accumulate ---- */
    sigprocmask(SIG_BLOCK, &s, &old);
    its.it_interval = ts_of(10 * MS);
    its.it_value = ts_of(10 * MS);
    EXPECT_OK("timer_settime 10ms periodic", timer_settime(tm, 0, &its, NULL));
    struct timespec nap = ts_of(120 * MS);
    nanosleep(&nap, NULL);
    siginfo_t si;
    struct timespec to = { 2, 0 };
    r = sigtimedwait(&s, &si, &to);
    int ovr = timer_getoverrun(tm);
    printf("periodic blocked: sigtimedwait %s si_code %s\n", r == SIGT ? "got SIGT" : errname(errno),
           code_name(si.si_code));
    printf("overrun >= 5 after 120ms of a 10ms timer: %s (overrun %s)\n", yesno(ovr >= 5),
           ovr < 0 ? errname(errno) : ovr == 0 ? "0" : ">0");
    if (ovr < 5) compat_failures++;
    CHECK("si_overrun == timer_getoverrun", si.si_overrun == ovr);
    EXPECT_OK("timer_settime disarm", timer_settime(tm, 0, &(struct itimerspec){ { 0, 0 }, { 0, 0 } }, &oits));
    CHECK("old value had a 10ms interval", ns_of(&oits.it_interval) == 10 * MS);
    to.tv_sec = 0; to.tv_nsec = 0;
    while (sigtimedwait(&s, &si, &to) == SIGT) {}
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* ---- TIMER_ABSTIME ---- */
    its.it_interval = ts_of(0);
    its.it_value = ts_of(now(CLOCK_MONOTONIC) + 30 * MS);
    long long target = ns_of(&its.it_value);
    sigt_count = 0;
    sigprocmask(SIG_BLOCK, &s, &old);
    EXPECT_OK("timer_settime TIMER_ABSTIME", timer_settime(tm, TIMER_ABSTIME, &its, NULL));
    while (sigt_count == 0) sigsuspend(&w);
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK("absolute timer fired at or after its time", now(CLOCK_MONOTONIC) >= target);
    its.it_value = ts_of(1000 * MS);
    its.it_value.tv_nsec = 1000000000L;
    EXPECT_ERR("timer_settime bad nsec", timer_settime(tm, 0, &its, NULL), EINVAL);
    EXPECT_OK("timer_delete", timer_delete(tm));

    /* raw syscalls on a deleted / bogus id (libc timer_t wrappers may not forward them) */
    EXPECT_ERR("timer_gettime bogus id", syscall(SYS_timer_gettime, 9999, &oits), EINVAL);
    EXPECT_ERR("timer_delete bogus id", syscall(SYS_timer_delete, 9999), EINVAL);
    EXPECT_ERR("timer_getoverrun bogus id", syscall(SYS_timer_getoverrun, 9999), EINVAL);
    EXPECT_ERR("timer_create bad clock", syscall(SYS_timer_create, 12345, &ev, &(int){ 0 }), EINVAL);
    ev.sigev_signo = 65;
    EXPECT_ERR("timer_create bad signal", syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &(int){ 0 }), EINVAL);
    ev.sigev_signo = SIGT;

    /* ---- default sigevent (NULL): SIGALRM with si_value = timer id ---- */
    int kid = -1;
    EXPECT_OK("timer_create NULL sigevent (raw)", syscall(SYS_timer_create, CLOCK_REALTIME, NULL, &kid));
    struct itimerspec one = { { 0, 0 }, ts_of(20 * MS) };
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    sigprocmask(SIG_BLOCK, &s, &old);
    syscall(SYS_timer_settime, kid, 0, &one, NULL);
    to.tv_sec = 2;
    r = sigtimedwait(&s, &si, &to);
    printf("NULL sigevent: %s si_code %s si_value == timer id %s\n", r == SIGALRM ? "SIGALRM" : errname(errno),
           code_name(si.si_code), yesno(si.si_value.sival_int == kid));
    sigprocmask(SIG_SETMASK, &old, NULL);
    EXPECT_OK("timer_delete (raw)", syscall(SYS_timer_delete, kid));
    EXPECT_ERR("timer_delete again (raw)", syscall(SYS_timer_delete, kid), EINVAL);

    /* ---- SIGEV_THREAD_ID ---- */
    sigemptyset(&s);
    sigaddset(&s, SIGT);
    sigprocmask(SIG_BLOCK, &s, &old); /* blocked everywhere: only sigtimedwait takes it */
    sem_init(&ready, 0, 0);
    pthread_t th;
    pthread_create(&th, NULL, target_thread, NULL);
    sem_wait(&ready);
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGT;
    ev.sigev_value.sival_int = 777;
    ev.sigev_notify_thread_id = (pid_t)target_tid;
    timer_t tt;
    EXPECT_OK("timer_create SIGEV_THREAD_ID", timer_create(CLOCK_MONOTONIC, &ev, &tt));
    one.it_value = ts_of(30 * MS);
    EXPECT_OK("timer_settime", timer_settime(tt, 0, &one, NULL));
    pthread_join(th, NULL);
    printf("SIGEV_THREAD_ID: target got %s, si_code %s, value %d\n", target_got == SIGT ? "SIGT" : "nothing",
           code_name(target_code), target_value);
    to.tv_sec = 0; to.tv_nsec = 0;
    errno = 0;
    r = sigtimedwait(&s, &si, &to);
    printf("main thread sees it too: %s\n", r == SIGT ? "yes" : errname(errno));
    timer_delete(tt);
    ev.sigev_notify_thread_id = 0x3fffff00;
    EXPECT_ERR("timer_create SIGEV_THREAD_ID bad tid (raw)",
               syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &(int){ 0 }), EINVAL);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* ---- SIGEV_NONE: no signal, but gettime counts down ---- */
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    timer_t tn;
    EXPECT_OK("timer_create SIGEV_NONE", timer_create(CLOCK_MONOTONIC, &ev, &tn));
    one.it_value = ts_of(40 * MS);
    timer_settime(tn, 0, &one, NULL);
    timer_gettime(tn, &oits);
    CHECK("SIGEV_NONE armed reads > 0", ns_of(&oits.it_value) > 0);
    nap = ts_of(60 * MS);
    nanosleep(&nap, NULL);
    timer_gettime(tn, &oits);
    CHECK("SIGEV_NONE expired reads 0", ns_of(&oits.it_value) == 0);
    EXPECT_OK("timer_delete SIGEV_NONE", timer_delete(tn));

    /* ---- SIGEV_THREAD (libc runs the callback in a thread) ---- */
    sem_init(&fired, 0, 0);
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = thread_cb;
    ev.sigev_value.sival_int = 31337;
    timer_t tth;
    EXPECT_OK("timer_create SIGEV_THREAD", timer_create(CLOCK_MONOTONIC, &ev, &tth));
    one.it_value = ts_of(30 * MS);
    EXPECT_OK("timer_settime SIGEV_THREAD", timer_settime(tth, 0, &one, NULL));
    struct timespec dl = ts_of(now(CLOCK_REALTIME) + 5000 * MS);
    int sr;
    do sr = sem_timedwait(&fired, &dl); while (sr < 0 && errno == EINTR);
    printf("SIGEV_THREAD: callback %s, value %d\n", sr == 0 ? "ran" : errname(errno), thread_cb_value);
    EXPECT_OK("timer_delete SIGEV_THREAD", timer_delete(tth));

    /* ---- times / getrusage ---- */
    struct tms tb;
    clock_t c0 = times(&tb);
    CHECK("times() != -1", c0 != (clock_t)-1);
    printf("sysconf(_SC_CLK_TCK): %ld\n", sysconf(_SC_CLK_TCK));
    nap = ts_of(100 * MS);
    nanosleep(&nap, NULL);
    busy(60);
    clock_t c1 = times(&tb);
    CHECK("times() advanced by >= 10 ticks over 150ms", c1 - c0 >= 10);
    CHECK("tms_utime + tms_stime > 0 after busy loop", tb.tms_utime + tb.tms_stime > 0);
    struct rusage ru;
    EXPECT_OK("getrusage SELF", getrusage(RUSAGE_SELF, &ru));
    CHECK("ru_utime + ru_stime > 0", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
          ru.ru_stime.tv_usec > 0);
    EXPECT_OK("getrusage CHILDREN", getrusage(RUSAGE_CHILDREN, &ru));
    EXPECT_OK("getrusage THREAD", getrusage(RUSAGE_THREAD, &ru));
    EXPECT_ERR("getrusage bad who", getrusage(42, &ru), EINVAL);

    /* ---- every clock ---- */
    static const struct { clockid_t id; const char *name; int mono; } clocks[] = {
        { CLOCK_REALTIME, "REALTIME", 0 },
        { CLOCK_MONOTONIC, "MONOTONIC", 1 },
        { CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID", 1 },
        { CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID", 1 },
        { CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW", 1 },
        { CLOCK_REALTIME_COARSE, "REALTIME_COARSE", 0 },
        { CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE", 1 },
        { CLOCK_BOOTTIME, "BOOTTIME", 1 },
        { CLOCK_TAI, "TAI", 0 },
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec a, b, res;
        char label[96];
        int ok = 1;
        snprintf(label, sizeof label, "clock_gettime %s", clocks[i].name);
        EXPECT_OK(label, clock_gettime(clocks[i].id, &a));
        snprintf(label, sizeof label, "clock_gettime %s (raw)", clocks[i].name);
        EXPECT_OK(label, syscall(SYS_clock_gettime, clocks[i].id, &b));
        snprintf(label, sizeof label, "clock_getres %s", clocks[i].name);
        EXPECT_OK(label, clock_getres(clocks[i].id, &res));
        CHECK("  resolution in (0, 1s)", ns_of(&res) > 0 && ns_of(&res) < 1000000000LL);
        a = b;
        for (int k = 0; k < 200; k++) {
            clock_gettime(clocks[i].id, &b);
            if (b.tv_nsec < 0 || b.tv_nsec >= 1000000000L) ok = 0;
            if (clocks[i].mono && ns_of(&b) < ns_of(&a)) ok = 0;
            a = b;
        }
        CHECK(clocks[i].mono ? "  non-decreasing, tv_nsec valid" : "  tv_nsec valid", ok);
    }
    CHECK("REALTIME is after 2020", now(CLOCK_REALTIME) > 1577836800LL * 1000000000LL);
    long long m = now(CLOCK_MONOTONIC), bt = now(CLOCK_BOOTTIME);
    CHECK("BOOTTIME >= MONOTONIC", bt >= m);
    long long rt = now(CLOCK_REALTIME), tai = now(CLOCK_TAI);
    CHECK("TAI >= REALTIME", tai >= rt);
    long long p0 = now(CLOCK_PROCESS_CPUTIME_ID), th0 = now(CLOCK_THREAD_CPUTIME_ID);
    busy(20);
    long long p1 = now(CLOCK_PROCESS_CPUTIME_ID), th1 = now(CLOCK_THREAD_CPUTIME_ID);
    CHECK("PROCESS_CPUTIME advanced during a busy loop", p1 > p0);
    CHECK("THREAD_CPUTIME advanced during a busy loop", th1 > th0);
    CHECK("PROCESS_CPUTIME > 0", p1 > 0);
    struct timespec bad;
    EXPECT_ERR("clock_gettime bad clock", syscall(SYS_clock_gettime, 12345, &bad), EINVAL);
    EXPECT_ERR("clock_getres bad clock", syscall(SYS_clock_getres, 12345, &bad), EINVAL);
    EXPECT_OK("clock_getres NULL res", syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL));

    /* ---- clock_nanosleep ---- */
    for (int c = 0; c < 2; c++) {
        clockid_t id = c ? CLOCK_REALTIME : CLOCK_MONOTONIC;
        long long tgt = now(id) + 50 * MS;
        struct timespec abs = ts_of(tgt);
        printf("clock_nanosleep %s TIMER_ABSTIME 50ms: %s\n", c ? "REALTIME" : "MONOTONIC",
               errname(clock_nanosleep(id, TIMER_ABSTIME, &abs, NULL)));
        CHECK("  woke at or after the target", now(id) >= tgt);
    }
    struct timespec past = ts_of(now(CLOCK_MONOTONIC) - 1000 * MS);
    printf("clock_nanosleep absolute time in the past: %s\n",
           errname(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL)));
    struct timespec rel = ts_of(30 * MS);
    t0 = now(CLOCK_MONOTONIC);
    printf("clock_nanosleep relative 30ms: %s\n", errname(clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL)));
    CHECK("  slept >= 30ms", now(CLOCK_MONOTONIC) - t0 >= 30 * MS);
    rel.tv_nsec = 1000000000L;
    printf("clock_nanosleep tv_nsec 1e9: %s\n", errname(clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL)));
    rel.tv_nsec = 1000;
    printf("clock_nanosleep bad clock: %s\n", errname(clock_nanosleep(12345, 0, &rel, NULL)));
    return finish();
}
