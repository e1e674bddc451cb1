/* threads_sync: pthread mutexes (normal, errorcheck, recursive), condition variables,
 * barriers, rwlocks, pthread_once, spinlocks, thread-local storage, join values,
 * detached threads with a semaphore, and sched_yield from many threads. */
#include "compat.h"
#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <stdint.h>

#define NT 16
#define ITERS 2000

/* pthread_* return an error number: print its name and compare with the expected one. */
#define PT(label, call, experr) do { int e_ = (call); printf("%s: %s\n", (label), errname(e_)); \
    if (e_ != (experr)) compat_failures++; } while (0)

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static pthread_cond_t turn_cv = PTHREAD_COND_INITIALIZER;
static int turn, order[NT], norder;

static pthread_barrier_t barrier;
static int slots[NT];
static int serial_count, barrier_sum_ok;

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_a, rw_b;
static int rw_torn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;

static pthread_spinlock_t spin;
static long spin_counter;

static __thread int tls = 7;
static __thread long tls_big[64] = { [0] = 1, [63] = 63 };
static int tls_init_ok[NT], tls_keep_ok[NT];
static long tids[NT];

static pthread_key_t key;
static int key_dtor_runs;
static void key_dtor(void *p) { (void)p; __atomic_fetch_add(&key_dtor_runs, 1, __ATOMIC_SEQ_CST); }

static void once_fn(void) { once_runs++; }

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;

    /* TLS starts with its initial image in every thread */
    tls_init_ok[id] = tls == 7 && tls_big[0] == 1 && tls_big[63] == 63 && tls_big[5] == 0;
    tls = id * 10;
    tls_big[5] = id;
    tids[id] = syscall(SYS_gettid);
    pthread_setspecific(key, (void *)(intptr_t)(id + 1));

    /* mutex-protected counter */
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&mtx);
        counter++;
        pthread_mutex_unlock(&mtx);
        if ((i & 255) == 0) sched_yield();
    }

    /* spinlock-protected counter */
    for (int i = 0; i < ITERS / 4; i++) {
        pthread_spin_lock(&spin);
        spin_counter++;
        pthread_spin_unlock(&spin);
    }

    pthread_once(&once, once_fn);

    /* condition variable: threads append themselves strictly in id order */
    pthread_mutex_lock(&mtx);
    while (turn != id) pthread_cond_wait(&turn_cv, &mtx);
    order[norder++] = id;
    turn++;
    pthread_cond_broadcast(&turn_cv);
    pthread_mutex_unlock(&mtx);

    /* barrier: every slot is filled before anyone passes */
    slots[id] = id + 1;
    int r = pthread_barrier_wait(&barrier);
    int sum = 0;
    for (int i = 0; i < NT; i++) sum += slots[i];
    pthread_mutex_lock(&mtx);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) serial_count++;
    else if (r != 0) serial_count += 100;
    if (sum == NT * (NT + 1) / 2) barrier_sum_ok++;
    pthread_mutex_unlock(&mtx);

    /* rwlock: writers keep rw_a == rw_b, readers must never see them differ */
    for (int i = 0; i < 200; i++) {
        if (id % 4 == 0) {
            pthread_rwlock_wrlock(&rw);
            rw_a++;
            if ((i & 15) == 0) sched_yield();
            rw_b++;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            long a = rw_a;
            if ((i & 15) == 0) sched_yield();
            long b = rw_b;
            if (a != b) __atomic_store_n(&rw_torn, 1, __ATOMIC_SEQ_CST);
            pthread_rwlock_unlock(&rw);
        }
    }

    /* TLS is still this thread's after all the switching */
    tls_keep_ok[id] = tls == id * 10 && tls_big[5] == id &&
        pthread_getspecific(key) == (void *)(intptr_t)(id + 1);
    return (void *)(intptr_t)(id * id + 1);
}

/* ---- lock probes run in another thread ---- */
struct probe { pthread_mutex_t *m; pthread_rwlock_t *rw; int r1, r2; };

static void *probe_mutex(void *arg)
{
    struct probe *p = arg;
    p->r1 = pthread_mutex_trylock(p->m);
    if (p->r1 == 0) pthread_mutex_unlock(p->m);
    return NULL;
}

static void *probe_rw(void *arg)
{
    struct probe *p = arg;
    p->r1 = pthread_rwlock_tryrdlock(p->rw);
    if (p->r1 == 0) pthread_rwlock_unlock(p->rw);
    p->r2 = pthread_rwlock_trywrlock(p->rw);
    if (p->r2 == 0) pthread_rwlock_unlock(p->rw);
    return NULL;
}

static void run_probe(void *(*fn)(void *), struct probe *p)
{
    pthread_t t;
    pthread_create(&t, NULL, fn, p);
    pthread_join(t, NULL);
}

/* ---- detached threads ---- */
static sem_t done_sem;
static int detached_ran;

static void *detached(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&detached_ran, 1, __ATOMIC_SEQ_CST);
    sem_post(&done_sem);
    return NULL;
}

/* ---- semaphore ping-pong ---- */
static sem_t ping, pong;
static int pp_log[20], pp_n;

static void *ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        sem_wait(&ping);
        pp_log[pp_n++] = 2 * i + 1;
        sem_post(&pong);
    }
    return NULL;
}

int main(void)
{
    pthread_t th[NT];
    char label[96];

    PT("barrier_init", pthread_barrier_init(&barrier, NULL, NT), 0);
    PT("spin_init", pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE), 0);
    PT("key_create", pthread_key_create(&key, key_dtor), 0);
    tls = -1;

    for (int i = 0; i < NT; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
            printf("pthread_create %d failed\n", i);
            compat_failures++;
        }
    int join_ok = 1;
    for (int i = 0; i < NT; i++) {
        void *ret = NULL;
        if (pthread_join(th[i], &ret) != 0 || ret != (void *)(intptr_t)(i * i + 1)) join_ok = 0;
    }
    CHECK("16 threads joined with their return values (i*i+1)", join_ok);
    printf("mutex counter: %ld\n", counter);
    CHECK("mutex counter == 16*2000", counter == NT * ITERS);
    printf("spin counter: %ld\n", spin_counter);
    CHECK("spin counter == 16*500", spin_counter == NT * ITERS / 4);
    printf("pthread_once runs: %d\n", once_runs);
    printf("condvar order:");
    int ord_ok = norder == NT;
    for (int i = 0; i < norder; i++) { printf(" %d", order[i]); if (order[i] != i) ord_ok = 0; }
    printf("\n");
    CHECK("condvar enforced order 0..15", ord_ok);
    printf("barrier serial threads: %d\n", serial_count);
    CHECK("barrier: all threads saw every slot filled", barrier_sum_ok == NT);
    CHECK("rwlock: readers never saw a torn update", !rw_torn);
    printf("rwlock writes: %ld\n", rw_a);
    int ti = 1, tk = 1, tid_distinct = 1;
    long mytid = syscall(SYS_gettid);
    for (int i = 0; i < NT; i++) {
        ti &= tls_init_ok[i];
        tk &= tls_keep_ok[i];
        if (tids[i] == mytid || tids[i] <= 0) tid_distinct = 0;
        for (int j = 0; j < i; j++) if (tids[i] == tids[j]) tid_distinct = 0;
    }
    CHECK("TLS initial image in every thread", ti);
    CHECK("TLS and pthread_getspecific kept per thread", tk);
    CHECK("main thread TLS untouched by workers", tls == -1 && tls_big[5] == 0);
    CHECK("thread ids distinct and != main", tid_distinct);
    printf("key destructor runs: %d\n", key_dtor_runs);
    PT("barrier_destroy", pthread_barrier_destroy(&barrier), 0);

    /* ---- mutex types ---- */
    pthread_mutexattr_t ma;
    pthread_mutex_t m_ec, m_rec;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m_ec, &ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m_rec, &ma);
    pthread_mutexattr_destroy(&ma);
    PT("errorcheck lock", pthread_mutex_lock(&m_ec), 0);
    PT("errorcheck relock", pthread_mutex_lock(&m_ec), EDEADLK);
    PT("errorcheck trylock (held by self)", pthread_mutex_trylock(&m_ec), EBUSY);
    struct probe pr = { .m = &m_ec };
    run_probe(probe_mutex, &pr);
    PT("errorcheck trylock from other thread", pr.r1, EBUSY);
    PT("errorcheck unlock", pthread_mutex_unlock(&m_ec), 0);
    PT("errorcheck unlock when unlocked", pthread_mutex_unlock(&m_ec), EPERM);
    run_probe(probe_mutex, &pr);
    PT("errorcheck trylock from other thread after unlock", pr.r1, 0);
    PT("recursive lock", pthread_mutex_lock(&m_rec), 0);
    PT("recursive lock again", pthread_mutex_lock(&m_rec), 0);
    PT("recursive trylock", pthread_mutex_trylock(&m_rec), 0);
    pr.m = &m_rec;
    run_probe(probe_mutex, &pr);
    PT("recursive trylock from other thread", pr.r1, EBUSY);
    PT("recursive unlock 1", pthread_mutex_unlock(&m_rec), 0);
    PT("recursive unlock 2", pthread_mutex_unlock(&m_rec), 0);
    run_probe(probe_mutex, &pr);
    PT("recursive trylock from other thread (count 1)", pr.r1, EBUSY);
    PT("recursive unlock 3", pthread_mutex_unlock(&m_rec), 0);
    run_probe(probe_mutex, &pr);
    PT("recursive trylock from other thread (released)", pr.r1, 0);
    PT("normal trylock", pthread_mutex_trylock(&mtx), 0);
    PT("normal trylock while held", pthread_mutex_trylock(&mtx), EBUSY);
    PT("normal unlock", pthread_mutex_unlock(&mtx), 0);

    /* ---- rwlock exclusion seen from another thread ---- */
    struct probe rp = { .rw = &rw };
    PT("wrlock", pthread_rwlock_wrlock(&rw), 0);
    run_probe(probe_rw, &rp);
    PT("tryrdlock while write-locked", rp.r1, EBUSY);
    PT("trywrlock while write-locked", rp.r2, EBUSY);
    PT("unlock", pthread_rwlock_unlock(&rw), 0);
    PT("rdlock", pthread_rwlock_rdlock(&rw), 0);
    run_probe(probe_rw, &rp);
    PT("tryrdlock while read-locked", rp.r1, 0);
    PT("trywrlock while read-locked", rp.r2, EBUSY);
    PT("unlock", pthread_rwlock_unlock(&rw), 0);
    run_probe(probe_rw, &rp);
    PT("tryrdlock when free", rp.r1, 0);
    PT("trywrlock when free", rp.r2, 0);

    /* ---- detached threads signal completion through a semaphore ---- */
    sem_init(&done_sem, 0, 0);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int det_ok = 1;
    for (int i = 0; i < 4; i++) {
        pthread_t t;
        if (pthread_create(&t, &at, detached, NULL) != 0) det_ok = 0;
    }
    for (int i = 0; i < 4; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, detached, NULL) != 0 || pthread_detach(t) != 0) det_ok = 0;
    }
    pthread_attr_destroy(&at);
    CHECK("8 detached threads created", det_ok);
    for (int i = 0; i < 8; i++) sem_wait(&done_sem);
    printf("detached threads completed: %d\n", detached_ran);
    int sv = -1;
    sem_getvalue(&done_sem, &sv);
    printf("semaphore value after 8 waits: %d\n", sv);
    errno = 0;
    int tw = sem_trywait(&done_sem);
    printf("sem_trywait on 0: %s\n", tw < 0 ? errname(errno) : "OK");
    if (!(tw < 0 && errno == EAGAIN)) compat_failures++;

    /* ---- semaphore ping-pong: strict alternation ---- */
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    pthread_t pt;
    pthread_create(&pt, NULL, ponger, NULL);
    for (int i = 0; i < 10; i++) {
        pp_log[pp_n++] = 2 * i;
        sem_post(&ping);
        sem_wait(&pong);
    }
    pthread_join(pt, NULL);
    int pp_ok = pp_n == 20;
    for (int i = 0; i < pp_n; i++) if (pp_log[i] != i) pp_ok = 0;
    CHECK("semaphore ping-pong alternated 20 steps", pp_ok);

    /* ---- pthread_self / equal / join errors ---- */
    CHECK("pthread_equal(self, self)", pthread_equal(pthread_self(), pthread_self()));
    snprintf(label, sizeof label, "sched_yield");
    EXPECT_OK(label, sched_yield());
    return finish();
}
