/* smp_sched: threads that keep moving between CPUs all still run. 8 threads hand a token
 * round a ring through one futex word (each waits until the count says it is its turn,
 * adds one and wakes every waiter), changing their own affinity every few turns (one CPU,
 * the allowed set) and yielding; meanwhile a ninth thread keeps changing the workers'
 * affinity to other subsets of the allowed CPUs, whether they run, wait in a run queue or
 * sleep in the futex. Then the main thread moves itself to every allowed CPU in turn and
 * checks where it runs. With one CPU the same happens, only without parallelism; the
 * output does not depend on the number of CPUs. */
#include "compat.h"
#include <limits.h>
#define FUTEX_WAIT_PRIVATE 128     /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (linux/futex.h; musl has no kernel headers) */
#define FUTEX_WAKE_PRIVATE 129
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define WORKERS 8
#define TURNS 300                       /* per worker */

static _Atomic int turn;
static _Atomic int done;
static _Atomic int tids[WORKERS];
static int cpu_list[CPU_SETSIZE], ncpus;
static cpu_set_t allowed;

static void set_one(pid_t tid, int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(tid, sizeof s, &s);
}

static void *worker(void *arg)
{
    int me = (int)(long)arg;
    atomic_store(&tids[me], (int)syscall(SYS_gettid));
    for (int k = 0; k < TURNS; k++)
    {
        int v;
        while ((v = atomic_load(&turn)) % WORKERS != me)
            syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
        atomic_fetch_add(&turn, 1);
        syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        if (k % 5 == me % 5) set_one(0, cpu_list[(k + me) % ncpus]);
        if (k % 5 == (me + 2) % 5) sched_setaffinity(0, sizeof allowed, &allowed);
        if (k % 3 == 0) sched_yield();
    }
    return NULL;
}

static void *mixer(void *arg)
{
    (void)arg;
    unsigned x = 12345;
    while (!atomic_load(&done))
    {
        x = x * 1103515245u + 12345u;
        pid_t tid = atomic_load(&tids[(x >> 8) % WORKERS]);
        if (tid == 0) { sched_yield(); continue; }
        cpu_set_t s;
        CPU_ZERO(&s);
        for (int i = 0; i < ncpus; i++) if ((x >> (16 + i % 16)) & 1) CPU_SET(cpu_list[i], &s);
        if (CPU_COUNT(&s) == 0) CPU_SET(cpu_list[(x >> 4) % ncpus], &s);
        sched_setaffinity(tid, sizeof s, &s);     /* ESRCH once the worker has ended: fine */
        sched_yield();
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CPU_ZERO(&allowed);
    EXPECT_OK("sched_getaffinity", sched_getaffinity(0, sizeof allowed, &allowed));
    for (int i = 0; i < CPU_SETSIZE; i++) if (CPU_ISSET(i, &allowed)) cpu_list[ncpus++] = i;
    CHECK("at least one allowed CPU", ncpus >= 1);

    pthread_t w[WORKERS], m;
    for (long i = 0; i < WORKERS; i++) pthread_create(&w[i], NULL, worker, (void *)i);
    pthread_create(&m, NULL, mixer, NULL);
    for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
    atomic_store(&done, 1);
    pthread_join(m, NULL);
    printf("token passed %d times\n", atomic_load(&turn));
    CHECK("every turn taken", atomic_load(&turn) == WORKERS * TURNS);

    int wrong = 0;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < ncpus; i++)
        {
            set_one(0, cpu_list[i]);
            if (sched_getcpu() != cpu_list[i]) wrong++;
        }
    CHECK("moved to every allowed CPU in turn, runs there", wrong == 0);
    EXPECT_OK("affinity restored", sched_setaffinity(0, sizeof allowed, &allowed));
    return finish();
}
