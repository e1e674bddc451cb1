/* sysfuzz: a syscall fuzzer run under the kernel (never natively: as root it would chmod,
 * kill and unlink for real). From a seed it makes random syscalls with random and plausible
 * arguments: fds, flags, lengths, and pointers that are good (a scratch area with guard
 * pages), NULL, unmapped, in the kernel half, non-canonical or at the edge of the user half.
 * The kernel passes when the program gets to the end: no panic, no hang.
 *
 *   sysfuzz SEED CALLS [FROM|fill]   prints (FROM: print each call from that index on;
 *                                    fill: first fill /tmp, so memory is short)
 *                            "sysfuzz: seed S: N calls, E errors, T ms, R calls/s"
 *
 * The program protects itself so that it, not the kernel, is never the reason a run stops:
 * calls that end or replace the process, hand out its memory or can block forever are left
 * out or have their arguments steered (see skip() and steer()); every catchable signal has a
 * no-op handler; a 1 ms interval timer interrupts any blocking call. Built static with musl. */
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

#define SCRATCH ((char *)0x200000000000UL)     /* scratch area, guard pages on both sides */
#define SCRATCH_LEN (256UL << 10)
#define SANDBOX 0x300000000000UL               /* mmap/munmap/mprotect... play here */
#define SANDBOX_LEN (16UL << 20)

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static uint64_t rs;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

static void out(const char *s) { sys6(SYS_write, 1, (long)s, strlen(s), 0, 0, 0); }
static void outnum(const char *label, uint64_t v)
{
    char b[32]; int i = 31; b[i] = 0;
    do { b[--i] = '0' + v % 10; v /= 10; } while (v);
    out(label); out(b + i);
}

static void noop(int sig, siginfo_t *si, void *uc) { (void)sig; (void)si; (void)uc; }
static void fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (si->si_code <= 0) return;                 /* sent by kill/tgkill/sigqueue: harmless */
    outnum("sysfuzz: the fuzzer itself faulted: signal ", sig);
    outnum(" code ", si->si_code); out("\n");
    sys6(SYS_exit_group, 70, 0, 0, 0, 0, 0);
}

struct ksa { void *handler; unsigned long flags; void *restorer; uint64_t mask; };
extern void sysfuzz_restorer(void);
__asm__(".text\nsysfuzz_restorer:\n mov $15, %eax\n syscall\n hlt\n");

static void protect(void)
{
    for (int s = 1; s < 65; s++)
    {
        if (s == SIGKILL || s == SIGSTOP) continue;
        int isfault = s == SIGSEGV || s == SIGBUS || s == SIGILL || s == SIGFPE || s == SIGTRAP;
        struct ksa a = { (void *)(isfault ? fault : noop), SA_SIGINFO | 0x04000000 /* SA_RESTORER */, (void *)sysfuzz_restorer, 0 };
        sys6(SYS_rt_sigaction, s, (long)&a, 0, 8, 0, 0);
    }
    uint64_t none = 0;
    sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0, 0);
    long it[4] = { 0, 1000, 0, 1000 };          /* ITIMER_REAL every 1 ms: EINTR for blocking calls */
    sys6(SYS_setitimer, 0, (long)it, 0, 0, 0, 0);
}

/* Calls left out: they end, replace or fork the process, give its memory or registers to
 * garbage, lower its limits, or wait with a signal mask that could hold off the timer. */
static int skip(long nr)
{
    switch (nr)
    {
    case SYS_exit: case SYS_exit_group: case SYS_execve: case SYS_execveat: case SYS_fork:
    case SYS_vfork: case SYS_clone: case SYS_clone3: case SYS_rt_sigreturn: case SYS_reboot:
    case SYS_kexec_load: case SYS_kexec_file_load: case SYS_seccomp: case SYS_ptrace:
    case SYS_process_vm_readv: case SYS_process_vm_writev: case SYS_arch_prctl: case SYS_setrlimit:
    case SYS_prlimit64: case SYS_rt_sigsuspend: case SYS_ppoll: case SYS_pselect6:
    case SYS_epoll_pwait: case SYS_epoll_pwait2: case SYS_modify_ldt: case SYS_set_thread_area:
        return 1;
    }
    return 0;
}

static const char *paths[] = {
    "/tmp/fz0", "/tmp/fz1", "/tmp/fzd", "/tmp/fzd/x", "/tmp", "/", ".", "..", "/proc/self/maps",
    "/proc/self/status", "/dev/null", "/dev/zero", "/dev/urandom", "/nonexistent/a", "", "/tmp/fz0/",
    "/proc/self/fd/3", "/etc", "fz-rel", "/tmp/../tmp/fz1",
};
#define NPATHS (sizeof paths / sizeof paths[0])

static uint64_t badptr(void)
{
    static const uint64_t bad[] = {
        0, 1, 0x1000, 0xfff, 0x10000, 0x7ffffffff000, 0x7ffffffffff8, 0x7fffffffffff, 0x800000000000,
        0x8000000000000000UL, 0xffff800000000000UL, 0xffffffff80000000UL, 0xffffffffff600000UL,
        0xfffffffffffff000UL, ~0UL, 0x0000dead0000beefUL, 0xdead000000000000UL, 0x100000000UL,
    };
    return bad[below(sizeof bad / sizeof bad[0])];
}

/* Bad addresses for the calls that change mappings: none may cover the program or its stack. */
static uint64_t badmapaddr(void)
{
    static const uint64_t bad[] = {
        0x800000000000, 0x8000000000000000UL, 0xffff800000000000UL, 0xffffffff80000000UL,
        0xfffffffffffff000UL, ~0UL, 0xdead000000000000UL, 0xffffffffff600000UL, SANDBOX + 1, SANDBOX + 4095,
    };
    return bad[below(sizeof bad / sizeof bad[0])];
}

static uint64_t goodptr(void) { return (uint64_t)SCRATCH + (below(4) ? below(64) * 8 : below(SCRATCH_LEN)); }
static uint64_t sandboxaddr(void) { return SANDBOX + below(SANDBOX_LEN / 4096) * 4096; }

static uint64_t length(void)
{
    switch (below(8))
    {
    case 0: return 0;
    case 1: return below(16);
    case 2: return below(4096);
    case 3: return below(SCRATCH_LEN);
    case 4: return 1UL << below(64);
    case 5: return ~0UL - below(4096);
    case 6: return 0x7fffffff + below(3);
    default: return 8 * below(64);
    }
}

static uint64_t anyarg(void)
{
    switch (below(12))
    {
    case 0: case 1: return goodptr();
    case 2: return badptr();
    case 3: return (uint64_t)paths[below(NPATHS)];
    case 4: return 3 + below(40);                               /* an fd, maybe open */
    case 5: return length();
    case 6: return 1UL << below(64);                            /* a flag bit */
    case 7: return rnd() & (rnd() | rnd());                     /* flag soup */
    case 8: return (uint64_t)(int64_t)(int)(rnd() & 0x8000000f ? -(long)below(5) : (long)below(5));
    case 9: return sandboxaddr();
    case 10: return below(64);
    default: return rnd();
    }
}

/* Fills the scratch area with plausible data: small ints, pointers, path pointers, zeros. */
static void refill(void)
{
    uint64_t *s = (uint64_t *)SCRATCH;
    for (unsigned long i = 0; i < 512; i++)
    {
        uint64_t v;
        switch (below(6))
        {
        case 0: v = 0; break;
        case 1: v = below(64); break;
        case 2: v = goodptr(); break;
        case 3: v = badptr(); break;
        case 4: v = (uint64_t)paths[below(NPATHS)]; break;
        default: v = rnd(); break;
        }
        if ((v & 0xffffffff) == SIGKILL || (v & 0xffffffff) == SIGSTOP) v++;   /* as a sigevent signal */
        s[i] = v;
    }
}

/* Arguments that would let a call hurt the fuzzer rather than the kernel are steered. */
static void steer(long nr, uint64_t *a)
{
    switch (nr)
    {
    case SYS_close: case SYS_dup2: case SYS_dup3: case SYS_close_range:   /* fds are 32-bit */
        if ((uint32_t)a[0] < 3) a[0] += 3;
        if (nr != SYS_close && (uint32_t)a[1] < 3) a[1] += 3;
        break;
    case SYS_mmap:
        if (a[3] & (0x10 | 0x100000)) a[0] = below(4) ? sandboxaddr() : badmapaddr();
        else if (a[0] != 0 && below(2)) a[0] = sandboxaddr();
        if (a[1] < (1UL << 62)) a[1] &= SANDBOX_LEN - 1;
        if (a[1] > (1UL << 20)) a[3] &= ~0x8000UL;             /* MAP_POPULATE of small lengths only */
        break;
    case SYS_munmap: case SYS_mprotect: case SYS_madvise: case SYS_msync: case SYS_mlock:
    case SYS_munlock: case SYS_mincore: case SYS_remap_file_pages: case SYS_mbind:
    case SYS_pkey_mprotect: case SYS_mremap: case SYS_shmdt: case SYS_mlock2:
        a[0] = below(5) ? sandboxaddr() : badmapaddr();
        if (a[1] < (1UL << 62)) a[1] &= SANDBOX_LEN - 1;
        if (nr == SYS_mremap) { a[2] &= SANDBOX_LEN - 1; a[4] = below(5) ? sandboxaddr() : badmapaddr(); }
        break;
    case SYS_shmat: a[1] = sandboxaddr(); break;
    case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo:
    case SYS_rt_tgsigqueueinfo: case SYS_pidfd_send_signal:
        for (int i = 0; i < 3; i++) if (a[i] == SIGKILL || a[i] == SIGSTOP) a[i] = 0;
        break;
    /* Keep the console for the summary: nothing writes to, duplicates or reconfigures fds 0-2
     * (garbage on the serial console is slow, not a kernel bug). */
    case SYS_write: case SYS_pwrite64: case SYS_writev: case SYS_pwritev: case SYS_pwritev2:
    case SYS_sendfile: case SYS_vmsplice: case SYS_dup: case SYS_fcntl: case SYS_ioctl:
    case SYS_ftruncate: case SYS_fallocate: case SYS_fsync: case SYS_fdatasync:
        if ((uint32_t)a[0] < 3) a[0] = 3 + below(40);
        break;
    case SYS_tee:
        if ((uint32_t)a[1] < 3) a[1] = 3 + below(40);
        break;
    case SYS_splice: case SYS_copy_file_range:
        if ((uint32_t)a[2] < 3) a[2] = 3 + below(40);
        break;
    case SYS_read: case SYS_readv: case SYS_pread64:
        if ((uint32_t)a[0] == 0) a[0] = 3 + below(40);
        break;
    }
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, calls = 10000, trace = ~0UL;
    if (argc > 1) { seed = 0; for (char *p = argv[1]; *p; p++) seed = seed * 10 + (*p - '0'); }
    if (argc > 2) { calls = 0; for (char *p = argv[2]; *p; p++) calls = calls * 10 + (*p - '0'); }
    int fill = argc > 3 && strcmp(argv[3], "fill") == 0;
    if (argc > 3 && !fill) { trace = 0; for (char *p = argv[3]; *p; p++) trace = trace * 10 + (*p - '0'); }
    rs = seed * 0x9E3779B97F4A7C15UL + 1;
    /* Scratch with a PROT_NONE page below and above, so a long copy stops at a fault. */
    if (sys6(SYS_mmap, (long)SCRATCH - 4096, SCRATCH_LEN + 8192, 0, 0x32 /* PRIVATE|ANON|FIXED */, -1, 0) < 0 ||
        sys6(SYS_mprotect, (long)SCRATCH, SCRATCH_LEN, 3, 0, 0, 0) < 0) { out("sysfuzz: no scratch\n"); return 2; }
    sys6(SYS_mmap, SANDBOX, SANDBOX_LEN, 3, 0x32, -1, 0);
    protect();
    /* A few fds of each kind to aim at: a file, a directory, a pipe, an eventfd, an epoll, /dev/null. */
    int p[2];
    sys6(SYS_open, (long)"/tmp/fz0", 0102 /* O_RDWR|O_CREAT */, 0644, 0, 0, 0);
    sys6(SYS_open, (long)"/tmp", 0, 0, 0, 0, 0);
    sys6(SYS_pipe2, (long)p, 04000 /* O_NONBLOCK */, 0, 0, 0, 0);
    sys6(SYS_eventfd2, 0, 0, 0, 0, 0, 0);
    sys6(SYS_epoll_create1, 0, 0, 0, 0, 0, 0);
    sys6(SYS_open, (long)"/dev/null", 2, 0, 0, 0, 0);

    if (fill)
    {
        /* Memory pressure: /tmp takes every page it can get (ENOSPC), so the calls below
         * run with only the kernel's reserve left, where its allocations must fail as errnos. */
        int f = (int)sys6(SYS_open, (long)"/tmp/fill", 0101 /* O_WRONLY|O_CREAT */, 0644, 0, 0, 0);
        long n, total = 0;
        while ((n = sys6(SYS_write, f, (long)SCRATCH, 65536, 0, 0, 0)) > 0) total += n;
        outnum("sysfuzz: /tmp filled with ", (uint64_t)total >> 20);
        outnum(" MiB, then ", (uint64_t)-n); out(" (errno)\n");
    }
    struct timespec { long s, ns; } t0, t1;
    sys6(SYS_clock_gettime, 1, (long)&t0, 0, 0, 0, 0);
    uint64_t errors = 0;
    for (uint64_t i = 0; i < calls; i++)
    {
        if (i % 64 == 0) refill();
        long nr;
        switch (below(8))
        {
        case 0: nr = (long)below(1024); break;                  /* unknown numbers too */
        case 1: nr = (long)(rnd() | (below(2) << 63)); break;   /* high bits set */
        default: nr = (long)below(463); break;
        }
        if (skip(nr) || skip((int)nr)) continue;
        uint64_t a[6];
        for (int k = 0; k < 6; k++) a[k] = anyarg();
        steer((int)nr, a);
        if (i >= trace)                                         /* sysfuzz SEED CALLS FROM: show calls from FROM on */
        {
            outnum("call ", i); outnum(" nr ", (uint64_t)nr);
            for (int k = 0; k < 6; k++) { out(k ? " " : " args "); char h[20]; int n = 0; for (int b = 60; b >= 0; b -= 4) { int d = (a[k] >> b) & 15; if (d || n || b == 0) h[n++] = "0123456789abcdef"[d]; } h[n] = 0; out("0x"); out(h); }
            out("\n");
        }
        long r = sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r < 0 && r > -4096) errors++;
        if ((int)nr == SYS_rt_sigaction || (int)nr == SYS_rt_sigprocmask || (int)nr == SYS_setitimer ||
            (int)nr == SYS_alarm || (int)nr == SYS_signalfd || (int)nr == SYS_signalfd4 || (int)nr == SYS_sigaltstack)
            protect();
    }
    sys6(SYS_clock_gettime, 1, (long)&t1, 0, 0, 0, 0);
    long it[4] = { 0, 0, 0, 0 };
    sys6(SYS_setitimer, 0, (long)it, 0, 0, 0, 0);
    uint64_t ns = (uint64_t)((t1.s - t0.s) * 1000000000L + (t1.ns - t0.ns));
    outnum("sysfuzz: seed ", seed); outnum(": ", calls); outnum(" calls, ", errors);
    outnum(" errors, ", ns / 1000000); outnum(" ms, ", ns ? calls * 1000000000UL / ns : 0); out(" calls/s\n");
    return 0;
}
