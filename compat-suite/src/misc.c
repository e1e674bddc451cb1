/* misc: uname, ids, getrandom, clocks, nanosleep, rlimits, affinity, sysinfo,
 * arch_prctl, set_tid_address, umask, getcwd, /proc/self/exe. */
#include "compat.h"
#include <stdint.h>
#include <time.h>
#include <sched.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <fcntl.h>
#include <sys/stat.h>
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

#define BAD ((void *)1)

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

int main(int argc, char **argv)
{
    char buf[4096], sb[64];
    (void)argc;

    /* ---- uname ---- */
    struct utsname u;
    EXPECT_OK("uname", syscall(SYS_uname, &u));
    printf("sysname: %s\n", u.sysname);
    printf("machine: %s\n", u.machine);
    CHECK("release non-empty", u.release[0] != 0);
    CHECK("release starts with a digit", u.release[0] >= '0' && u.release[0] <= '9');
    EXPECT_ERR("uname bad pointer", syscall(SYS_uname, BAD), EFAULT);

    /* sethostname/setdomainname (to the names they have: the native run changes nothing);
     * /proc/sys/kernel/{hostname,domainname} show what uname shows. */
    char procname[128] = { 0 };
    int pfd = open("/proc/sys/kernel/hostname", O_RDONLY);
    long pn = pfd < 0 ? -1 : read(pfd, procname, sizeof procname - 1);
    if (pfd >= 0) close(pfd);
    CHECK("/proc/sys/kernel/hostname is the nodename", pn > 0 && procname[pn - 1] == '\n' &&
          strlen(u.nodename) == (size_t)pn - 1 && memcmp(procname, u.nodename, pn - 1) == 0);
    EXPECT_OK("sethostname same", syscall(SYS_sethostname, u.nodename, strlen(u.nodename)));
    struct utsname u2;
    syscall(SYS_uname, &u2);
    CHECK("nodename kept", strcmp(u.nodename, u2.nodename) == 0);
    EXPECT_ERR("sethostname 65 bytes", syscall(SYS_sethostname, buf, 65), EINVAL);
    EXPECT_ERR("sethostname negative length", syscall(SYS_sethostname, buf, -1), EINVAL);
    EXPECT_ERR("sethostname bad pointer", syscall(SYS_sethostname, BAD, 4), EFAULT);
    pfd = open("/proc/sys/kernel/domainname", O_RDONLY);
    pn = pfd < 0 ? -1 : read(pfd, procname, sizeof procname - 1);
    if (pfd >= 0) close(pfd);
    CHECK("/proc/sys/kernel/domainname is the domainname", pn > 0 &&
          strlen(u.domainname) == (size_t)pn - 1 && memcmp(procname, u.domainname, pn - 1) == 0);
    EXPECT_OK("setdomainname same", syscall(SYS_setdomainname, u.domainname, strlen(u.domainname)));
    EXPECT_ERR("setdomainname 65 bytes", syscall(SYS_setdomainname, buf, 65), EINVAL);

    /* ---- ids ---- */
    long pid = syscall(SYS_getpid), ppid = syscall(SYS_getppid), tid = syscall(SYS_gettid);
    CHECK("getpid > 0", pid > 0);
    CHECK("getppid >= 0", ppid >= 0);
    CHECK("getppid != getpid", ppid != pid);
    CHECK("gettid == getpid", tid == pid);
    CHECK("libc getpid == raw getpid", getpid() == pid);
    long uid = syscall(SYS_getuid), euid = syscall(SYS_geteuid);
    long gid = syscall(SYS_getgid), egid = syscall(SYS_getegid);
    CHECK("getuid >= 0", uid >= 0);
    CHECK("getuid == geteuid", uid == euid);
    CHECK("getgid == getegid", gid == egid);
    unsigned r1, r2, r3;
    EXPECT_OK("getresuid", syscall(SYS_getresuid, &r1, &r2, &r3));
    CHECK("getresuid matches getuid", r1 == uid && r2 == euid && r3 == uid);
    EXPECT_OK("getresgid", syscall(SYS_getresgid, &r1, &r2, &r3));
    CHECK("getresgid matches getgid", r1 == gid && r2 == egid && r3 == gid);

    /* ---- getrandom ---- */
    unsigned char a[64], b[64];
    long n1 = syscall(SYS_getrandom, a, sizeof a, 0);
    long n2 = syscall(SYS_getrandom, b, sizeof b, 0);
    CHECK("getrandom 64 returns 64", n1 == 64 && n2 == 64);
    CHECK("two getrandom calls differ", memcmp(a, b, sizeof a) != 0);
    EXPECT_ERR("getrandom len 0", syscall(SYS_getrandom, a, 0, 0), 0);
    CHECK("getrandom GRND_NONBLOCK returns 16", syscall(SYS_getrandom, a, 16, 1) == 16);
    CHECK("getrandom GRND_RANDOM returns > 0", syscall(SYS_getrandom, a, 16, 2) > 0);
    static unsigned char big[65536];
    CHECK("getrandom 65536 returns 65536", syscall(SYS_getrandom, big, sizeof big, 0) == (long)sizeof big);
    int zeros = 0;
    for (size_t i = 0; i < sizeof big; i++) zeros += big[i] == 0;
    CHECK("getrandom 65536 bytes look random (zeros < 1000)", zeros < 1000);
    EXPECT_ERR("getrandom bad flags", syscall(SYS_getrandom, a, 16, 0x100), EINVAL);
    EXPECT_ERR("getrandom bad pointer", syscall(SYS_getrandom, BAD, 16, 0), EFAULT);

    /* ---- clocks ---- */
    struct timespec t0, t1, res;
    EXPECT_OK("clock_gettime MONOTONIC", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t0));
    int mono_ok = 1;
    for (int i = 0; i < 1000; i++) {
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t1);
        if (ns(&t1) < ns(&t0)) mono_ok = 0;
        t0 = t1;
    }
    CHECK("monotonic non-decreasing over 1000 raw calls", mono_ok);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (ns(&t1) < ns(&t0)) mono_ok = 0;
        t0 = t1;
    }
    CHECK("monotonic non-decreasing over 1000 libc calls", mono_ok);
    CHECK("tv_nsec in range", t1.tv_nsec >= 0 && t1.tv_nsec < 1000000000);
    struct timespec rt;
    EXPECT_OK("clock_gettime REALTIME", syscall(SYS_clock_gettime, CLOCK_REALTIME, &rt));
    CHECK("realtime after 2020-01-01", rt.tv_sec > 1577836800);
    CHECK("realtime before 2100-01-01", rt.tv_sec < 4102444800LL);
    static const struct { int id; const char *name; } clocks[] = {
        { CLOCK_REALTIME, "REALTIME" }, { CLOCK_MONOTONIC, "MONOTONIC" },
        { CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" }, { CLOCK_REALTIME_COARSE, "REALTIME_COARSE" },
        { CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE" }, { CLOCK_BOOTTIME, "BOOTTIME" },
        { CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID" }, { CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID" },
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec t;
        snprintf(sb, sizeof sb, "clock_gettime %s", clocks[i].name);
        EXPECT_OK(sb, syscall(SYS_clock_gettime, clocks[i].id, &t));
        long r = syscall(SYS_clock_getres, clocks[i].id, &res);
        snprintf(sb, sizeof sb, "clock_getres %s ok, 0 < res <= 10ms", clocks[i].name);
        CHECK(sb, r == 0 && ns(&res) > 0 && ns(&res) <= 10000000);
    }
    EXPECT_ERR("clock_getres NULL res", syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), 0);
    EXPECT_ERR("clock_gettime bad clock 9999", syscall(SYS_clock_gettime, 9999, &t0), EINVAL);
    EXPECT_ERR("clock_gettime bad clock -100", syscall(SYS_clock_gettime, -100000, &t0), EINVAL);
    EXPECT_ERR("clock_getres bad clock 9999", syscall(SYS_clock_getres, 9999, &res), EINVAL);
    EXPECT_ERR("clock_gettime bad pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD), EFAULT);
    EXPECT_ERR("clock_gettime NULL pointer", syscall(SYS_clock_gettime, CLOCK_REALTIME, NULL), EFAULT);
    struct timeval tv;
    EXPECT_OK("gettimeofday", syscall(SYS_gettimeofday, &tv, NULL));
    CHECK("gettimeofday tv_usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    CHECK("gettimeofday within 5 s of REALTIME", tv.tv_sec - rt.tv_sec >= -1 && tv.tv_sec - rt.tv_sec <= 5);
    EXPECT_OK("gettimeofday NULL NULL", syscall(SYS_gettimeofday, NULL, NULL));
    EXPECT_ERR("gettimeofday bad pointer", syscall(SYS_gettimeofday, BAD, NULL), EFAULT);
    long tt = syscall(SYS_time, NULL);
    CHECK("time(NULL) within 5 s of REALTIME", tt - rt.tv_sec >= -1 && tt - rt.tv_sec <= 5);
    long tt2 = 0;
    CHECK("time(&t) stores its result", syscall(SYS_time, &tt2) == tt2 && tt2 >= tt);
    CHECK("libc time() after 2020", time(NULL) > 1577836800);

    /* ---- nanosleep ---- */
    struct timespec req = { 0, 10000000 }, rem = { 7, 7 };
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_OK("nanosleep 10ms", syscall(SYS_nanosleep, &req, &rem));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK("nanosleep slept >= 10ms", ns(&t1) - ns(&t0) >= 10000000);
    CHECK("nanosleep slept < 2s", ns(&t1) - ns(&t0) < 2000000000LL);
    req.tv_nsec = 1000000000;
    EXPECT_ERR("nanosleep tv_nsec 1e9", syscall(SYS_nanosleep, &req, NULL), EINVAL);
    req.tv_nsec = -1;
    EXPECT_ERR("nanosleep tv_nsec -1", syscall(SYS_nanosleep, &req, NULL), EINVAL);
    req.tv_sec = -1; req.tv_nsec = 0;
    EXPECT_ERR("nanosleep tv_sec -1", syscall(SYS_nanosleep, &req, NULL), EINVAL);
    EXPECT_ERR("nanosleep bad pointer", syscall(SYS_nanosleep, BAD, NULL), EFAULT);
    req.tv_sec = 0; req.tv_nsec = 0;
    EXPECT_OK("nanosleep 0", syscall(SYS_nanosleep, &req, NULL));
    req.tv_nsec = 1000000;
    EXPECT_OK("clock_nanosleep MONOTONIC 1ms", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t0.tv_nsec += 5000000;
    if (t0.tv_nsec >= 1000000000) { t0.tv_sec++; t0.tv_nsec -= 1000000000; }
    EXPECT_OK("clock_nanosleep TIMER_ABSTIME +5ms", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &t0, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK("clock_nanosleep ABSTIME reached deadline", ns(&t1) >= ns(&t0));
    /* clock_nanosleep returns the error number, not -1/errno: use the raw value */
    long cr = syscall(SYS_clock_nanosleep, 9999, 0, &req, NULL);
    printf("clock_nanosleep bad clock: %s\n", cr < 0 ? errname(errno) : "OK");

    /* ---- rlimits ---- */
    struct rlimit rl, rl2;
    EXPECT_OK("prlimit64 get STACK", syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &rl));
    CHECK("STACK cur <= max", rl.rlim_cur <= rl.rlim_max);
    CHECK("STACK cur >= 128 KiB", rl.rlim_cur >= 128 * 1024);
    EXPECT_OK("getrlimit STACK", getrlimit(RLIMIT_STACK, &rl2));
    CHECK("getrlimit STACK == prlimit64", rl.rlim_cur == rl2.rlim_cur && rl.rlim_max == rl2.rlim_max);
    EXPECT_OK("getrlimit NOFILE", syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl));
    CHECK("NOFILE cur <= max", rl.rlim_cur <= rl.rlim_max);
    CHECK("NOFILE cur >= 64", rl.rlim_cur >= 64);
    rl2.rlim_cur = 64; rl2.rlim_max = rl.rlim_max;
    EXPECT_OK("setrlimit NOFILE cur=64", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl2, NULL));
    syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl2);
    CHECK("NOFILE cur reads back 64", rl2.rlim_cur == 64);
    rl2.rlim_cur = 64; rl2.rlim_max = 32;
    EXPECT_ERR("setrlimit cur > max", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl2, NULL), EINVAL);
    EXPECT_OK("restore NOFILE", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, NULL));
    EXPECT_ERR("prlimit64 bad resource", syscall(SYS_prlimit64, 0, 9999, NULL, &rl), EINVAL);
    EXPECT_ERR("getrlimit bad pointer", syscall(SYS_getrlimit, RLIMIT_STACK, BAD), EFAULT);
    EXPECT_OK("getrlimit AS", syscall(SYS_getrlimit, RLIMIT_AS, &rl));
    EXPECT_OK("prlimit64 own pid", syscall(SYS_prlimit64, pid, RLIMIT_STACK, NULL, &rl));

    /* ---- scheduler ---- */
    unsigned long mask[16];
    memset(mask, 0, sizeof mask);
    long ar = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    CHECK("sched_getaffinity returns a size > 0", ar > 0 && ar % 8 == 0);
    int cpus = 0;
    for (size_t i = 0; i < sizeof mask / sizeof mask[0]; i++) cpus += __builtin_popcountl(mask[i]);
    CHECK("at least 1 cpu in affinity mask", cpus >= 1);
    cpu_set_t set;
    CHECK("libc sched_getaffinity CPU_COUNT >= 1", sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1);
    EXPECT_ERR("sched_getaffinity len 1", syscall(SYS_sched_getaffinity, 0, 1, mask), EINVAL);
    EXPECT_ERR("sched_getaffinity bad pointer", syscall(SYS_sched_getaffinity, 0, sizeof mask, BAD), EFAULT);
    EXPECT_OK("sched_yield", syscall(SYS_sched_yield));
    CHECK("sysconf NPROCESSORS_ONLN >= 1", sysconf(_SC_NPROCESSORS_ONLN) >= 1);

    /* ---- sysinfo ---- */
    struct sysinfo si;
    memset(&si, 0, sizeof si);
    EXPECT_OK("sysinfo", syscall(SYS_sysinfo, &si));
    CHECK("sysinfo totalram > 0", si.totalram > 0 && si.mem_unit >= 1);
    CHECK("sysinfo freeram <= totalram", si.freeram <= si.totalram);
    CHECK("sysinfo procs >= 1", si.procs >= 1);
    CHECK("sysinfo uptime >= 0", si.uptime >= 0);
    EXPECT_ERR("sysinfo bad pointer", syscall(SYS_sysinfo, BAD), EFAULT);

    /* ---- arch_prctl / TLS ---- */
    unsigned long fs = 0, self;
    EXPECT_OK("arch_prctl ARCH_GET_FS", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs));
    __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
    CHECK("ARCH_GET_FS equals the TLS self pointer", fs == self && fs != 0);
    static __thread int tls_var = 42;
    CHECK("TLS variable initialised", tls_var == 42);
    CHECK("TLS variable lies below the thread pointer", (uintptr_t)&tls_var < fs && fs - (uintptr_t)&tls_var < 65536);
    EXPECT_ERR("arch_prctl ARCH_GET_FS bad pointer", syscall(SYS_arch_prctl, ARCH_GET_FS, BAD), EFAULT);
    EXPECT_ERR("arch_prctl bad code", syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);
    unsigned long gs = 1;
    EXPECT_OK("arch_prctl ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
    CHECK("GS base is 0", gs == 0);
    EXPECT_OK("arch_prctl ARCH_SET_FS same value", syscall(SYS_arch_prctl, ARCH_SET_FS, fs));
    CHECK("TLS still works after ARCH_SET_FS", tls_var == 42);

    /* ---- set_tid_address ---- */
    static int ctid;
    long st = syscall(SYS_set_tid_address, &ctid);
    CHECK("set_tid_address returns the tid", st == tid);

    /* ---- umask, getcwd ---- */
    long m1 = syscall(SYS_umask, 027);
    long m2 = syscall(SYS_umask, 022);
    CHECK("umask returns the previous mask", m2 == 027 && m1 >= 0 && m1 <= 0777);
    char *cwd = getcwd(buf, sizeof buf);
    CHECK("getcwd succeeds", cwd != NULL);
    printf("getcwd: %s\n", cwd ? cwd : "(null)");
    EXPECT_ERR("getcwd size 1", syscall(SYS_getcwd, buf, 1), ERANGE);
    EXPECT_ERR("getcwd bad pointer", syscall(SYS_getcwd, BAD, 100), EFAULT);

    /* ---- /proc/self/exe ---- */
    long rl_n = syscall(SYS_readlink, "/proc/self/exe", buf, sizeof buf - 1);
    CHECK("readlink /proc/self/exe succeeds", rl_n > 0);
    if (rl_n > 0) {
        buf[rl_n] = 0;
        CHECK("/proc/self/exe is absolute", buf[0] == '/');
        printf("/proc/self/exe basename stem: %s\n", stem(buf, sb, sizeof sb));
        char sb2[64];
        CHECK("/proc/self/exe stem == argv[0] stem", strcmp(sb, stem(argv[0], sb2, sizeof sb2)) == 0);
    }
    CHECK("readlink truncates silently (len 3 -> 3)", syscall(SYS_readlink, "/proc/self/exe", buf, 3) == 3);
    EXPECT_ERR("readlink missing path", syscall(SYS_readlink, "/no/such/file", buf, sizeof buf), ENOENT);
    EXPECT_ERR("readlink of a directory", syscall(SYS_readlink, "/", buf, sizeof buf), EINVAL);
    EXPECT_ERR("readlink bad path pointer", syscall(SYS_readlink, BAD, buf, sizeof buf), EFAULT);
    EXPECT_ERR("readlink bufsiz 0", syscall(SYS_readlink, "/proc/self/exe", buf, 0), EINVAL);

    /* ---- unknown syscall ---- */
    EXPECT_ERR("syscall 999", syscall(999), ENOSYS);
    EXPECT_ERR("syscall 100000", syscall(100000), ENOSYS);
    return finish();
}
