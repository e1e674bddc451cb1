/* Processes: N (argv[1], default 1000) rounds each of fork + _exit + waitpid,
 * vfork + execve of this static program (which exits at once) + waitpid, and posix_spawn of
 * it + waitpid; prints µs per round of each. */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

extern char **environ;

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
    printf("procs_us_per_fork_exit_wait %.2f\n", (t1 - t0) / 1e3 / n);
    printf("procs_us_per_vfork_execve_wait %.2f\n", (t2 - t1) / 1e3 / n);
    printf("procs_us_per_posix_spawn_wait %.2f\n", (t3 - t2) / 1e3 / n);
    return 0;
}
