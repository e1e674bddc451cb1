/* timed_waits: pthread_cond_timedwait (CLOCK_REALTIME and, via pthread_condattr_setclock,
 * CLOCK_MONOTONIC), sem_timedwait, pthread_mutex_timedlock and pthread_rwlock_timed*lock
 * time out with ETIMEDOUT no earlier than the deadline; waits woken before the deadline
 * succeed; deadlines in the past and invalid timespecs. */
#include "compat.h"
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#define PT(label, call, experr) do { int e_ = (call); printf("%s: %s\n", (label), errname(e_)); \
    if (e_ != (experr)) compat_failures++; } while (0)

#define MS 1000000LL

static long long now_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct timespec deadline(clockid_t c, long long delta_ns)
{
    long long d = now_ns(c) + delta_ns;
    struct timespec t = { d / 1000000000LL, d % 1000000000LL };
    return t;
}

static long long ts_ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

/* "label: reached deadline" check: clock c reads at least the deadline after the wait */
static void check_reached(const char *what, clockid_t c, const struct timespec *dl)
{
    char label[128];
    snprintf(label, sizeof label, "%s: returned no earlier than the deadline", what);
    CHECK(label, now_ns(c) >= ts_ns(dl));
}

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_rt = PTHREAD_COND_INITIALIZER, cv_mono;
static int flag;
static sem_t sem;

/* holder thread: takes a lock, posts, waits for release permission */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static sem_t holding, release;
static int rw_mode; /* 0 mutex, 1 rwlock write, 2 rwlock read */

static void *holder(void *arg)
{
    (void)arg;
    if (rw_mode == 0) pthread_mutex_lock(&held);
    else if (rw_mode == 1) pthread_rwlock_wrlock(&rw);
    else pthread_rwlock_rdlock(&rw);
    sem_post(&holding);
    sem_wait(&release);
    if (rw_mode == 0) pthread_mutex_unlock(&held);
    else pthread_rwlock_unlock(&rw);
    return NULL;
}

static void *waker(void *arg)
{
    pthread_cond_t *cv = arg;
    struct timespec ts = { 0, 30 * MS };
    nanosleep(&ts, NULL);
    if (cv) {
        pthread_mutex_lock(&mtx);
        flag = 1;
        pthread_cond_signal(cv);
        pthread_mutex_unlock(&mtx);
    } else {
        sem_post(&sem);
    }
    return NULL;
}

int main(void)
{
    struct timespec dl;
    pthread_condattr_t ca;
    clockid_t got = -1;

    pthread_condattr_init(&ca);
    PT("condattr_getclock default", pthread_condattr_getclock(&ca, &got), 0);
    CHECK("default condvar clock is CLOCK_REALTIME", got == CLOCK_REALTIME);
    PT("condattr_setclock MONOTONIC", pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
    PT("condattr_getclock", pthread_condattr_getclock(&ca, &got), 0);
    CHECK("condvar clock is CLOCK_MONOTONIC", got == CLOCK_MONOTONIC);
    PT("condattr_setclock THREAD_CPUTIME", pthread_condattr_setclock(&ca, CLOCK_THREAD_CPUTIME_ID), EINVAL);
    PT("cond_init monotonic", pthread_cond_init(&cv_mono, &ca), 0);

    /* ---- condvar timeouts ---- */
    pthread_mutex_lock(&mtx);
    dl = deadline(CLOCK_REALTIME, 60 * MS);
    PT("cond_timedwait REALTIME 60ms", pthread_cond_timedwait(&cv_rt, &mtx, &dl), ETIMEDOUT);
    check_reached("cond_timedwait REALTIME", CLOCK_REALTIME, &dl);
    PT("mutex still held after timeout (trylock)", pthread_mutex_trylock(&mtx), EBUSY);
    dl = deadline(CLOCK_MONOTONIC, 60 * MS);
    PT("cond_timedwait MONOTONIC 60ms", pthread_cond_timedwait(&cv_mono, &mtx, &dl), ETIMEDOUT);
    check_reached("cond_timedwait MONOTONIC", CLOCK_MONOTONIC, &dl);
    dl = deadline(CLOCK_REALTIME, -1000 * MS);
    PT("cond_timedwait deadline in the past", pthread_cond_timedwait(&cv_rt, &mtx, &dl), ETIMEDOUT);
    dl.tv_sec = 0; dl.tv_nsec = 0;
    PT("cond_timedwait deadline 0", pthread_cond_timedwait(&cv_rt, &mtx, &dl), ETIMEDOUT);
    dl = deadline(CLOCK_REALTIME, 1000 * MS);
    dl.tv_nsec = 1000000000L;
    PT("cond_timedwait tv_nsec 1e9", pthread_cond_timedwait(&cv_rt, &mtx, &dl), EINVAL);
    pthread_mutex_unlock(&mtx);

    /* ---- condvar woken before the deadline ---- */
    for (int m = 0; m < 2; m++) {
        pthread_cond_t *cv = m ? &cv_mono : &cv_rt;
        clockid_t c = m ? CLOCK_MONOTONIC : CLOCK_REALTIME;
        pthread_t t;
        int r = 0;
        flag = 0;
        pthread_mutex_lock(&mtx);
        pthread_create(&t, NULL, waker, cv);
        dl = deadline(c, 10000 * MS);
        while (!flag && r == 0) r = pthread_cond_timedwait(cv, &mtx, &dl);
        pthread_mutex_unlock(&mtx);
        pthread_join(t, NULL);
        printf("cond_timedwait %s woken by signal: %s flag=%d\n", m ? "MONOTONIC" : "REALTIME", errname(r), flag);
        if (r || !flag) compat_failures++;
        CHECK("  ... well before the deadline", now_ns(c) < ts_ns(&dl) - 5000 * MS);
    }

    /* ---- sem_timedwait ---- */
    sem_init(&sem, 0, 0);
    dl = deadline(CLOCK_REALTIME, 60 * MS);
    errno = 0;
    int sr = sem_timedwait(&sem, &dl);
    printf("sem_timedwait 60ms: %s\n", sr < 0 ? errname(errno) : "OK");
    if (!(sr < 0 && errno == ETIMEDOUT)) compat_failures++;
    check_reached("sem_timedwait", CLOCK_REALTIME, &dl);
    dl = deadline(CLOCK_REALTIME, -5 * MS);
    errno = 0;
    sr = sem_timedwait(&sem, &dl);
    printf("sem_timedwait past deadline: %s\n", sr < 0 ? errname(errno) : "OK");
    if (!(sr < 0 && errno == ETIMEDOUT)) compat_failures++;
    sem_post(&sem);
    dl = deadline(CLOCK_REALTIME, -5 * MS);
    errno = 0;
    sr = sem_timedwait(&sem, &dl);
    printf("sem_timedwait past deadline, value 1: %s\n", sr < 0 ? errname(errno) : "OK");
    if (sr < 0) compat_failures++;
    {
        pthread_t t;
        pthread_create(&t, NULL, waker, NULL);
        dl = deadline(CLOCK_REALTIME, 10000 * MS);
        errno = 0;
        do sr = sem_timedwait(&sem, &dl); while (sr < 0 && errno == EINTR);
        pthread_join(t, NULL);
        printf("sem_timedwait posted by another thread: %s\n", sr < 0 ? errname(errno) : "OK");
        if (sr < 0) compat_failures++;
        CHECK("  ... well before the deadline", now_ns(CLOCK_REALTIME) < ts_ns(&dl) - 5000 * MS);
    }

    /* ---- mutex_timedlock and rwlock timed locks against a holder thread ---- */
    sem_init(&holding, 0, 0);
    sem_init(&release, 0, 0);
    for (rw_mode = 0; rw_mode < 3; rw_mode++) {
        pthread_t t;
        pthread_create(&t, NULL, holder, NULL);
        sem_wait(&holding);
        if (rw_mode == 0) {
            dl = deadline(CLOCK_REALTIME, 60 * MS);
            PT("mutex_timedlock held elsewhere 60ms", pthread_mutex_timedlock(&held, &dl), ETIMEDOUT);
            check_reached("mutex_timedlock", CLOCK_REALTIME, &dl);
            dl = deadline(CLOCK_REALTIME, -5 * MS);
            PT("mutex_timedlock past deadline", pthread_mutex_timedlock(&held, &dl), ETIMEDOUT);
        } else if (rw_mode == 1) {
            dl = deadline(CLOCK_REALTIME, 60 * MS);
            PT("rwlock_timedrdlock write-held 60ms", pthread_rwlock_timedrdlock(&rw, &dl), ETIMEDOUT);
            check_reached("rwlock_timedrdlock", CLOCK_REALTIME, &dl);
            dl = deadline(CLOCK_REALTIME, 60 * MS);
            PT("rwlock_timedwrlock write-held 60ms", pthread_rwlock_timedwrlock(&rw, &dl), ETIMEDOUT);
            check_reached("rwlock_timedwrlock", CLOCK_REALTIME, &dl);
        } else {
            dl = deadline(CLOCK_REALTIME, 60 * MS);
            PT("rwlock_timedwrlock read-held 60ms", pthread_rwlock_timedwrlock(&rw, &dl), ETIMEDOUT);
            check_reached("rwlock_timedwrlock (read-held)", CLOCK_REALTIME, &dl);
            dl = deadline(CLOCK_REALTIME, 60 * MS);
            PT("rwlock_timedrdlock read-held", pthread_rwlock_timedrdlock(&rw, &dl), 0);
            pthread_rwlock_unlock(&rw);
        }
        /* release and take it with a generous deadline */
        sem_post(&release);
        dl = deadline(CLOCK_REALTIME, 10000 * MS);
        if (rw_mode == 0) {
            PT("mutex_timedlock after release", pthread_mutex_timedlock(&held, &dl), 0);
            pthread_mutex_unlock(&held);
        } else {
            PT("rwlock_timedwrlock after release", pthread_rwlock_timedwrlock(&rw, &dl), 0);
            pthread_rwlock_unlock(&rw);
        }
        pthread_join(t, NULL);
    }
    dl.tv_sec = 0; dl.tv_nsec = -1;
    PT("mutex_timedlock free mutex, bad timespec", pthread_mutex_timedlock(&held, &dl), 0);
    pthread_mutex_unlock(&held);
    return finish();
}
