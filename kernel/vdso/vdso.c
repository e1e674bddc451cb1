/* The vDSO: clock reads without a system call. The kernel maps a read-only data page
   (struct vvar, written by kernel/vdso/Vdso.cs) one page below this object; the TSC
   calibration never changes after boot, so no sequence lock is needed. Clocks that need
   kernel state (CPU time) fall back to the real system call. This is user-space code. */
#include <stdint.h>

struct vvar {
    uint64_t ns_per_tick;   /* 32.32 fixed point */
    uint64_t boot_tsc;
    uint64_t boot_epoch_ns; /* CLOCK_REALTIME at boot_tsc */
    uint64_t coarse_res_ns;
};

struct timespec_k { long tv_sec; long tv_nsec; };
struct timeval_k { long tv_sec; long tv_usec; };

extern const char __ehdr_start[] __attribute__((visibility("hidden")));
#define VVAR ((const volatile struct vvar *)(__ehdr_start - 4096))

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline long sys2(long nr, long a, long b)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

static inline uint64_t mono_ns(void)
{
    const volatile struct vvar *v = VVAR;
    uint64_t ticks = rdtsc() - v->boot_tsc;
    return (uint64_t)(((unsigned __int128)ticks * v->ns_per_tick) >> 32);
}

int __vdso_clock_gettime(int clk, struct timespec_k *ts)
{
    uint64_t ns;
    switch (clk) {
    case 0: case 5: case 8: case 11:            /* REALTIME, _COARSE, _ALARM, TAI */
        ns = VVAR->boot_epoch_ns + mono_ns(); break;
    case 1: case 4: case 6: case 7: case 9:     /* MONOTONIC, _RAW, _COARSE, BOOTTIME, _ALARM */
        ns = mono_ns(); break;
    default:
        return (int)sys2(228, clk, (long)ts);
    }
    ts->tv_sec = (long)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
    return 0;
}

int __vdso_gettimeofday(struct timeval_k *tv, void *tz)
{
    if (tz) return (int)sys2(96, (long)tv, (long)tz);
    if (tv) {
        uint64_t ns = VVAR->boot_epoch_ns + mono_ns();
        tv->tv_sec = (long)(ns / 1000000000u);
        tv->tv_usec = (long)(ns % 1000000000u / 1000u);
    }
    return 0;
}

long __vdso_time(long *t)
{
    long s = (long)((VVAR->boot_epoch_ns + mono_ns()) / 1000000000u);
    if (t) *t = s;
    return s;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
    (void)unused;
    /* The GDT's CPU-number segment (Gdt.cs, selector 0x3b): its limit is node << 12 | cpu. */
    unsigned p;
    __asm__ volatile("lsl %1, %0" : "=r"(p) : "r"(0x3bu));
    if (cpu) *cpu = p & 0xfff;
    if (node) *node = p >> 12;
    return 0;
}

int __vdso_clock_getres(int clk, struct timespec_k *res)
{
    return (int)sys2(229, clk, (long)res);
}

int clock_gettime(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval_k *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
int clock_getres(int, struct timespec_k *) __attribute__((weak, alias("__vdso_clock_getres")));
