/* A 100-command shell script: busybox sh (/busybox, static) runs /script.sh, 100 lines of
 * external commands (each a fork+execve of /busybox: true, echo to /dev/null, a command
 * substitution, a two-command pipeline), `ROUNDS` (argv[1], default 3) times; prints ms per
 * script run. bench/run.sh writes the script and puts /busybox and /script.sh in both
 * images. */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include "bench.h"

extern char **environ;

int main(int argc, char **argv) {
    long n = bench_iters(argc, argv, 3);
    char *args[] = { "sh", "/script.sh", 0 };
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pid_t p;
        int st;
        if (posix_spawn(&p, "/busybox", 0, 0, args, environ) != 0) { perror("posix_spawn /busybox"); return 1; }
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "script failed (%d)\n", st); return 1; }
    }
    double t1 = bench_now_ns();
    printf("shscript_ms_per_100_commands %.2f\n", (t1 - t0) / 1e6 / n);
    return 0;
}
