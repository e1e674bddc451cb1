/* threads_cancel: pthread_cancel at cancellation points (cond_wait, nanosleep, sem_wait,
 * pthread_join, pause), deferred vs disabled vs asynchronous cancellation, cleanup handler
 * order, pthread_exit running cleanup handlers, PTHREAD_CANCELED join values. */
#include "compat.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <time.h>

#define PT(label, call, experr) do { int e_ = (call); printf("%s: %s\n", (label), errname(e_)); \
    if (e_ != (experr)) compat_failures++; } while (0)

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t started;          /* posted by a thread right before it blocks */
static char log_buf[256];      /* cleanup handler trace */
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;
static volatile int after_block; /* set if a thread ran past a point it must not pass */

static void logc(const char *s)
{
    pthread_mutex_lock(&log_mtx);
    strncat(log_buf, s, sizeof log_buf - strlen(log_buf) - 1);
    pthread_mutex_unlock(&log_mtx);
}

static void cleanup_str(void *arg) { logc((const char *)arg); }
static void cleanup_unlock(void *arg) { logc("U"); pthread_mutex_unlock((pthread_mutex_t *)arg); }

static void *t_condwait(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mtx);
    pthread_cleanup_push(cleanup_unlock, &mtx);
    sem_post(&started);
    for (;;) pthread_cond_wait(&cv, &mtx); /* never signalled */
    after_block = 1;
    pthread_cleanup_pop(1);
    return NULL;
}

static void *t_sleep(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup_str, "a");
    pthread_cleanup_push(cleanup_str, "b");
    pthread_cleanup_push(cleanup_str, "c");
    sem_post(&started);
    sleep(100);
    after_block = 1;
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return (void *)1;
}

static sem_t never;
static void *t_semwait(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup_str, "S");
    sem_post(&started);
    sem_wait(&never);
    after_block = 1;
    pthread_cleanup_pop(0);
    return NULL;
}

static void *t_pause(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup_str, "P");
    sem_post(&started);
    for (;;) pause();
    pthread_cleanup_pop(0);
    return NULL;
}

static pthread_t sleeper_for_join;
static void *t_join(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup_str, "J");
    sem_post(&started);
    pthread_join(sleeper_for_join, NULL);
    after_block = 1;
    pthread_cleanup_pop(0);
    return NULL;
}

static void *t_forever_sleep(void *arg)
{
    (void)arg;
    for (;;) sleep(100);
    return NULL;
}

/* cancellation disabled: the request stays pending until re-enabled + testcancel */
static sem_t go_on;
static int disabled_work_done;
static void *t_disabled(void *arg)
{
    (void)arg;
    int old = -1;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    pthread_cleanup_push(cleanup_str, "D");
    sem_post(&started);
    sem_wait(&go_on);            /* cancel arrives here but is disabled */
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);        /* a cancellation point, but disabled */
    disabled_work_done = old == PTHREAD_CANCEL_ENABLE ? 1 : 2;
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    pthread_testcancel();
    after_block = 1;
    pthread_cleanup_pop(0);
    return NULL;
}

/* asynchronous cancellation of a busy loop without cancellation points */
static volatile unsigned long spins;
static void *t_async(void *arg)
{
    (void)arg;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    sem_post(&started);
    for (;;) spins++;
    return NULL;
}

/* pthread_exit runs the cleanup handlers too; pop(1) runs one, pop(0) does not */
static void *t_exit(void *arg)
{
    (void)arg;
    pthread_cleanup_push(cleanup_str, "x");
    pthread_cleanup_push(cleanup_str, "y");
    pthread_cleanup_push(cleanup_str, "z");
    pthread_cleanup_pop(1);  /* runs z */
    pthread_cleanup_push(cleanup_str, "w");
    pthread_cleanup_pop(0);  /* drops w */
    pthread_exit((void *)42);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *t_quick(void *arg) { (void)arg; return (void *)7; }

/* run FN, wait for it to block, cancel it, join; prints join result and cleanup trace */
static void cancel_case(const char *name, void *(*fn)(void *), const char *want_trace)
{
    pthread_t t;
    void *ret = NULL;
    char label[128];
    log_buf[0] = 0;
    after_block = 0;
    pthread_create(&t, NULL, fn, NULL);
    sem_wait(&started);
    /* give it a moment to actually block (cancellation is deferred, so this is not needed
     * for correctness: the request is acted on at the next cancellation point anyway) */
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    snprintf(label, sizeof label, "%s: pthread_cancel", name);
    PT(label, pthread_cancel(t), 0);
    snprintf(label, sizeof label, "%s: pthread_join", name);
    PT(label, pthread_join(t, &ret), 0);
    snprintf(label, sizeof label, "%s: joined PTHREAD_CANCELED", name);
    CHECK(label, ret == PTHREAD_CANCELED);
    pthread_mutex_lock(&log_mtx);
    printf("%s: cleanup trace: '%s'\n", name, log_buf);
    if (strcmp(log_buf, want_trace) != 0) compat_failures++;
    pthread_mutex_unlock(&log_mtx);
    snprintf(label, sizeof label, "%s: did not run past the cancellation point", name);
    CHECK(label, !after_block);
}

int main(void)
{
    sem_init(&started, 0, 0);
    sem_init(&never, 0, 0);
    sem_init(&go_on, 0, 0);

    cancel_case("cond_wait", t_condwait, "U");
    /* the cancelled cond_wait re-acquired the mutex and the cleanup handler released it */
    PT("mutex free after cancelled cond_wait", pthread_mutex_trylock(&mtx), 0);
    pthread_mutex_unlock(&mtx);

    cancel_case("sleep", t_sleep, "cba");
    cancel_case("sem_wait", t_semwait, "S");
    cancel_case("pause", t_pause, "P");

    pthread_create(&sleeper_for_join, NULL, t_forever_sleep, NULL);
    cancel_case("pthread_join", t_join, "J");
    PT("cancel the joined-on sleeper", pthread_cancel(sleeper_for_join), 0);
    void *r = NULL;
    PT("join the sleeper", pthread_join(sleeper_for_join, &r), 0);
    CHECK("sleeper joined PTHREAD_CANCELED", r == PTHREAD_CANCELED);

    /* disabled cancellation */
    {
        pthread_t t;
        log_buf[0] = 0;
        after_block = 0;
        pthread_create(&t, NULL, t_disabled, NULL);
        sem_wait(&started);
        PT("disabled: pthread_cancel", pthread_cancel(t), 0);
        sem_post(&go_on);
        PT("disabled: pthread_join", pthread_join(t, &r), 0);
        CHECK("disabled: joined PTHREAD_CANCELED", r == PTHREAD_CANCELED);
        printf("disabled: work after the request done (old state ENABLE): %d\n", disabled_work_done);
        printf("disabled: cleanup trace: '%s'\n", log_buf);
        CHECK("disabled: stopped at pthread_testcancel", !after_block && !strcmp(log_buf, "D"));
    }

    /* asynchronous cancellation */
    {
        pthread_t t;
        pthread_create(&t, NULL, t_async, NULL);
        sem_wait(&started);
        while (spins < 1000) sched_yield();
        PT("async: pthread_cancel", pthread_cancel(t), 0);
        PT("async: pthread_join", pthread_join(t, &r), 0);
        CHECK("async: joined PTHREAD_CANCELED", r == PTHREAD_CANCELED);
    }

    /* pthread_exit with cleanup handlers */
    {
        pthread_t t;
        log_buf[0] = 0;
        pthread_create(&t, NULL, t_exit, NULL);
        PT("exit: pthread_join", pthread_join(t, &r), 0);
        printf("exit: join value: %ld\n", (long)(intptr_t)r);
        printf("exit: cleanup trace: '%s'\n", log_buf);
        CHECK("exit: trace is zyx", !strcmp(log_buf, "zyx"));
    }

    /* cancelling a thread that already finished is not an error; its value is kept */
    {
        pthread_t t;
        pthread_create(&t, NULL, t_quick, NULL);
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        PT("finished: pthread_cancel", pthread_cancel(t), 0);
        PT("finished: pthread_join", pthread_join(t, &r), 0);
        printf("finished: join value: %ld\n", (long)(intptr_t)r);
    }

    /* cancel state/type round trips */
    int old = -1;
    PT("setcancelstate DISABLE", pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old), 0);
    CHECK("old state was ENABLE", old == PTHREAD_CANCEL_ENABLE);
    PT("setcancelstate ENABLE", pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old), 0);
    CHECK("old state was DISABLE", old == PTHREAD_CANCEL_DISABLE);
    PT("setcanceltype DEFERRED", pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old), 0);
    CHECK("old type was DEFERRED", old == PTHREAD_CANCEL_DEFERRED);
    PT("setcancelstate bad", pthread_setcancelstate(12345, &old), EINVAL);
    return finish();
}
