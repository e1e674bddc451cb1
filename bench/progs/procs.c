/* Processes: N (argv[1], default 1000) rounds each of fork + _exit + waitpid,
 * vfork + execve of this static program (which exits at once) + waitpid, and posix_spawn of
 * it + waitpid; prints µs per round of each. Then copy-on-write: 10 times, a child writes
 * one byte to each of 1,024 pages its parent had touched; prints µs per page written, the
 * child's page faults per page (getrusage ru_minflt, from either kernel) and, where the
 * kernel has the counter (ours: /proc/vmstat cow_copied), pages copied per page. */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

extern char **environ;

/* /proc/vmstat's cow_copied, or -1 where there is none (Linux). */
static long cow_copied(void) {
    FILE *f = fopen("/proc/vmstat", "r");
    char line[128]; long v = -1;
    while (f && fgets(line, sizeof line, f)) if (sscanf(line, "cow_copied %ld", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

static long minflt(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static int reap(pid_t p) {
    int st;
    return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--exit") == 0) return 0;       /* the exec'd copy */
    long n = bench_iters(argc, argv, 1000);
    char *args[] = { "procs", "--exit", 0 };
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p == 0) _exit(0);
        if (!reap(p)) { fprintf(stderr, "fork: bad child\n"); return 1; }
    }
    double t1 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pid_t p = vfork();
        if (p < 0) { perror("vfork"); return 1; }
        if (p == 0) { execve("/proc/self/exe", args, environ); _exit(127); }
        if (!reap(p)) { fprintf(stderr, "vfork+execve: bad child\n"); return 1; }
    }
    double t2 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pid_t p;
        if (posix_spawn(&p, "/proc/self/exe", 0, 0, args, environ) != 0) { perror("posix_spawn"); return 1; }
        if (!reap(p)) { fprintf(stderr, "posix_spawn: bad child\n"); return 1; }
    }
    double t3 = bench_now_ns();
    /* Copy-on-write: the child's writes to pages the parent touched before fork. */
    enum { Pages = 1024, Rounds = 10 };
    char *mem = mmap(0, Pages * 4096L, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < Pages; i++) mem[i * 4096] = 1;
    int fds[2];
    if (pipe(fds) != 0) { perror("pipe"); return 1; }
    double cow_ns = 0; long faults = 0, copied = 0;
    for (int r = 0; r < Rounds; r++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p == 0) {
            long c0 = cow_copied(), f0 = minflt();
            double a = bench_now_ns();
            for (long i = 0; i < Pages; i++) mem[i * 4096] = 2;
            double b = bench_now_ns();
            long f1 = minflt(), c1 = cow_copied();
            double res[3] = { b - a, (double)(f1 - f0), c0 < 0 ? -1 : (double)(c1 - c0) };
            write(fds[1], res, sizeof res);
            _exit(0);
        }
        double res[3];
        if (read(fds[0], res, sizeof res) != sizeof res || !reap(p)) { fprintf(stderr, "cow: bad child\n"); return 1; }
        cow_ns += res[0]; faults += (long)res[1]; copied = res[2] < 0 || copied < 0 ? -1 : copied + (long)res[2];
    }
    printf("procs_us_per_fork_exit_wait %.2f\n", (t1 - t0) / 1e3 / n);
    printf("procs_us_per_vfork_execve_wait %.2f\n", (t2 - t1) / 1e3 / n);
    printf("procs_us_per_posix_spawn_wait %.2f\n", (t3 - t2) / 1e3 / n);
    printf("procs_us_per_cow_page %.3f\n", cow_ns / 1e3 / (Pages * Rounds));
    printf("procs_cow_faults_per_page %.3f\n", (double)faults / (Pages * Rounds));
    if (copied >= 0) printf("procs_cow_copied_per_page %.3f\n", (double)copied / (Pages * Rounds));
    return 0;
}
