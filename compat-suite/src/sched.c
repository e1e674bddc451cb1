/* sched: sched_yield, affinity, scheduling policy and parameters, priority ranges,
 * getpriority/setpriority, getcpu, prctl (names, death signal, dumpable, no_new_privs,
 * timer slack, child subreaper) and membarrier. Raw syscalls where musl stubs the call
 * (sched_setscheduler and friends return ENOSYS in musl). */
#include "compat.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#define SCHED_DEADLINE 6
#define MEMBARRIER_CMD_QUERY 0

static void *yielder(void *arg)
{
    long ok = 1;
    for (int i = 0; i < 50; i++) if (sched_yield() != 0) ok = 0;
    (void)arg;
    return (void *)ok;
}

static void *name_thread(void *arg)
{
    char buf[32] = { 0 };
    prctl(PR_SET_NAME, "worker-thread", 0, 0, 0);
    prctl(PR_GET_NAME, buf, 0, 0, 0);
    return (void *)(intptr_t)(strcmp(buf, "worker-thread") == 0);
}

int main(void)
{
    char buf[64];

    /* ---- sched_yield ---- */
    EXPECT_OK("sched_yield", sched_yield());
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, yielder, NULL);
    int all = 1;
    for (int i = 0; i < 4; i++) { void *r; pthread_join(th[i], &r); all &= r == (void *)1; }
    CHECK("sched_yield from 4 threads x 50", all);

    /* ---- affinity ---- */
    cpu_set_t set, orig;
    CPU_ZERO(&orig);
    EXPECT_OK("sched_getaffinity", sched_getaffinity(0, sizeof orig, &orig));
    CHECK("affinity has >= 1 CPU", CPU_COUNT(&orig) >= 1);
    long raw = syscall(SYS_sched_getaffinity, 0, sizeof orig, &orig);
    CHECK("raw sched_getaffinity returns a positive size multiple of 8", raw > 0 && raw % 8 == 0);
    EXPECT_ERR("raw sched_getaffinity len 4", syscall(SYS_sched_getaffinity, 0, 4, &set), EINVAL);
    EXPECT_ERR("sched_getaffinity bad pid", syscall(SYS_sched_getaffinity, 0x3fffffff, sizeof set, &set), ESRCH);
    EXPECT_ERR("sched_getaffinity bad pointer", syscall(SYS_sched_getaffinity, 0, sizeof set, (void *)1), EFAULT);
    int first = -1;
    for (int i = 0; i < CPU_SETSIZE; i++) if (CPU_ISSET(i, &orig)) { first = i; break; }
    CPU_ZERO(&set);
    CPU_SET(first, &set);
    EXPECT_OK("sched_setaffinity {first allowed CPU}", sched_setaffinity(0, sizeof set, &set));
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    CHECK("affinity is now exactly that CPU", CPU_COUNT(&set) == 1 && CPU_ISSET(first, &set));
    int cpu = sched_getcpu();
    CHECK("sched_getcpu() is that CPU", cpu == first);
    unsigned gc = 12345, node = 12345;
    EXPECT_OK("getcpu (raw)", syscall(SYS_getcpu, &gc, &node, NULL));
    CHECK("getcpu agrees with sched_getcpu", (int)gc == cpu);
    EXPECT_OK("getcpu NULL args (raw)", syscall(SYS_getcpu, NULL, NULL, NULL));
    CPU_ZERO(&set);
    EXPECT_ERR("sched_setaffinity empty set", sched_setaffinity(0, sizeof set, &set), EINVAL);
    EXPECT_OK("sched_setaffinity restore", sched_setaffinity(0, sizeof orig, &orig));

    /* ---- policy and parameters ---- */
    struct sched_param sp = { 0 };
    EXPECT_ERR("sched_getscheduler(0)", syscall(SYS_sched_getscheduler, 0), 0);
    EXPECT_ERR("sched_getscheduler bad pid", syscall(SYS_sched_getscheduler, 0x3fffffff), ESRCH);
    EXPECT_ERR("sched_getscheduler -1", syscall(SYS_sched_getscheduler, -1), EINVAL);
    sp.sched_priority = 99;
    EXPECT_OK("sched_getparam", syscall(SYS_sched_getparam, 0, &sp));
    printf("sched_priority: %d\n", sp.sched_priority);
    EXPECT_ERR("sched_getparam NULL", syscall(SYS_sched_getparam, 0, NULL), EINVAL);
    sp.sched_priority = 0;
    EXPECT_OK("sched_setparam 0", syscall(SYS_sched_setparam, 0, &sp));
    EXPECT_OK("sched_setscheduler OTHER", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp));
    EXPECT_OK("sched_setscheduler BATCH", syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp));
    EXPECT_ERR("sched_getscheduler after BATCH", syscall(SYS_sched_getscheduler, 0), 0);
    EXPECT_OK("sched_setscheduler back to OTHER", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp));
    EXPECT_ERR("sched_getscheduler after OTHER", syscall(SYS_sched_getscheduler, 0), 0);
    sp.sched_priority = 1;
    EXPECT_ERR("sched_setscheduler OTHER prio 1", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp), EINVAL);
    sp.sched_priority = 0;
    EXPECT_ERR("sched_setscheduler policy 42", syscall(SYS_sched_setscheduler, 0, 42, &sp), EINVAL);
    EXPECT_ERR("sched_setscheduler FIFO prio 0", syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp), EINVAL);
    static const struct { int p; const char *n; } pol[] = {
        { SCHED_OTHER, "OTHER" }, { SCHED_FIFO, "FIFO" }, { SCHED_RR, "RR" },
        { SCHED_BATCH, "BATCH" }, { SCHED_IDLE, "IDLE" }, { SCHED_DEADLINE, "DEADLINE" },
    };
    for (size_t i = 0; i < sizeof pol / sizeof pol[0]; i++) {
        long mn = syscall(SYS_sched_get_priority_min, pol[i].p);
        long mx = syscall(SYS_sched_get_priority_max, pol[i].p);
        printf("priority range %s: %ld..%ld\n", pol[i].n, mn, mx);
    }
    EXPECT_ERR("sched_get_priority_min 42", syscall(SYS_sched_get_priority_min, 42), EINVAL);
    EXPECT_ERR("sched_get_priority_max -1", syscall(SYS_sched_get_priority_max, -1), EINVAL);

    /* sched_rr_get_interval: a slice under a second (its length is the scheduler's own). */
    struct timespec rr = { -1, -1 };
    long rrr = syscall(SYS_sched_rr_get_interval, 0, &rr);
    printf("sched_rr_get_interval 0: %ld, %s\n", rrr,
           rrr == 0 && rr.tv_sec == 0 && rr.tv_nsec >= 0 && rr.tv_nsec < 1000000000 ? "under a second" : "bad");
    rrr = syscall(SYS_sched_rr_get_interval, getpid(), &rr);
    printf("sched_rr_get_interval self: %ld\n", rrr);
    EXPECT_ERR("sched_rr_get_interval -1", syscall(SYS_sched_rr_get_interval, -1, &rr), EINVAL);
    EXPECT_ERR("sched_rr_get_interval no such pid", syscall(SYS_sched_rr_get_interval, 0x7fffffff, &rr), ESRCH);
    EXPECT_ERR("sched_rr_get_interval bad pointer", syscall(SYS_sched_rr_get_interval, 0, (void *)8), EFAULT);

    /* ---- nice values ---- */
    errno = 0;
    int nice0 = getpriority(PRIO_PROCESS, 0);
    CHECK("getpriority succeeds", errno == 0);
    long rawp = syscall(SYS_getpriority, PRIO_PROCESS, 0);
    CHECK("raw getpriority == 20 - nice", rawp == 20 - nice0);
    int target = nice0 < 5 ? 5 : nice0;
    EXPECT_OK("setpriority(PRIO_PROCESS, 0, 5)", setpriority(PRIO_PROCESS, 0, target));
    CHECK("getpriority reads it back", getpriority(PRIO_PROCESS, 0) == target);
    EXPECT_OK("setpriority 19", setpriority(PRIO_PROCESS, 0, 19));
    CHECK("getpriority == 19", getpriority(PRIO_PROCESS, 0) == 19);
    EXPECT_OK("setpriority 100 (clamped)", setpriority(PRIO_PROCESS, 0, 100));
    CHECK("getpriority clamped to 19", getpriority(PRIO_PROCESS, 0) == 19);
    EXPECT_ERR("getpriority bad which", syscall(SYS_getpriority, 42, 0), EINVAL);
    EXPECT_ERR("setpriority bad which", syscall(SYS_setpriority, 42, 0, 0), EINVAL);
    EXPECT_ERR("getpriority bad pid", syscall(SYS_getpriority, PRIO_PROCESS, 0x3fffffff), ESRCH);
    EXPECT_OK("getpriority PRIO_PGRP 0 (raw)", syscall(SYS_getpriority, PRIO_PGRP, 0));
    EXPECT_OK("getpriority PRIO_USER 0 (raw)", syscall(SYS_getpriority, PRIO_USER, 0));

    /* ---- prctl: names ---- */
    EXPECT_OK("PR_SET_NAME compat-sched", prctl(PR_SET_NAME, "compat-sched", 0, 0, 0));
    memset(buf, 'x', sizeof buf);
    EXPECT_OK("PR_GET_NAME", prctl(PR_GET_NAME, buf, 0, 0, 0));
    printf("name: %s\n", buf);
    EXPECT_OK("PR_SET_NAME 21 chars", prctl(PR_SET_NAME, "abcdefghijklmnopqrstu", 0, 0, 0));
    prctl(PR_GET_NAME, buf, 0, 0, 0);
    printf("name truncated: %s (len %zu)\n", buf, strlen(buf));
    pthread_t nt;
    void *nr;
    pthread_create(&nt, NULL, name_thread, NULL);
    pthread_join(nt, &nr);
    CHECK("thread sets and reads its own name", nr == (void *)1);
    prctl(PR_GET_NAME, buf, 0, 0, 0);
    printf("main name unchanged: %s\n", buf);
    EXPECT_ERR("PR_SET_NAME bad pointer", prctl(PR_SET_NAME, (void *)1, 0, 0, 0), EFAULT);

    /* ---- prctl: death signal ---- */
    int v = -1;
    EXPECT_OK("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0));
    printf("pdeathsig initially: %d\n", v);
    EXPECT_OK("PR_SET_PDEATHSIG SIGUSR1", prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0));
    prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
    printf("pdeathsig: %d\n", v);
    EXPECT_ERR("PR_SET_PDEATHSIG 100", prctl(PR_SET_PDEATHSIG, 100, 0, 0, 0), EINVAL);
    EXPECT_OK("PR_SET_PDEATHSIG 0", prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0));
    prctl(PR_GET_PDEATHSIG, &v, 0, 0, 0);
    printf("pdeathsig cleared: %d\n", v);

    /* ---- prctl: dumpable ---- */
    EXPECT_ERR("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    EXPECT_OK("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    EXPECT_ERR("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    EXPECT_OK("PR_SET_DUMPABLE 1", prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
    EXPECT_ERR("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    EXPECT_ERR("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);

    /* ---- prctl: no_new_privs ---- */
    EXPECT_ERR("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
    EXPECT_ERR("PR_SET_NO_NEW_PRIVS 0", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
    EXPECT_ERR("PR_SET_NO_NEW_PRIVS 1 extra arg", prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
    EXPECT_OK("PR_SET_NO_NEW_PRIVS 1", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    EXPECT_ERR("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
    EXPECT_ERR("PR_GET_NO_NEW_PRIVS extra arg", prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);

    /* ---- prctl: timer slack, subreaper, bad option ---- */
    CHECK("PR_GET_TIMERSLACK > 0", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) > 0);
    EXPECT_OK("PR_SET_TIMERSLACK 100000", prctl(PR_SET_TIMERSLACK, 100000, 0, 0, 0));
    EXPECT_ERR("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), 0);
    v = -1;
    EXPECT_OK("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0));
    printf("subreaper initially: %d\n", v);
    EXPECT_OK("PR_SET_CHILD_SUBREAPER 1", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    prctl(PR_GET_CHILD_SUBREAPER, &v, 0, 0, 0);
    printf("subreaper: %d\n", v);
    EXPECT_ERR("prctl option 9999", prctl(9999, 0, 0, 0, 0), EINVAL);

    /* ---- membarrier ---- */
    long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    printf("membarrier QUERY: %s\n", q < 0 ? errname(errno) : "OK");
    if (q < 0) compat_failures++;
    EXPECT_ERR("membarrier QUERY with flags", syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 1, 0), EINVAL);
    EXPECT_ERR("membarrier bad cmd", syscall(SYS_membarrier, 1 << 30, 0, 0), EINVAL);
    return finish();
}
