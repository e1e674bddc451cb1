/* Times one command: `timecmd NAME OUT PROG [ARGS...]` posix_spawns PROG with ARGS (stdout
 * to OUT, e.g. /dev/null), waits for it and prints `NAME_ms WALL`. bench/smp.sh runs
 * Debian's xz and sort (dynamically linked) with it under both kernels. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include "bench.h"

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: timecmd NAME OUT PROG [ARGS...]\n"); return 2; }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t p;
    int st;
    double t0 = bench_now_ns();
    if (posix_spawn(&p, argv[3], &fa, 0, argv + 3, environ) != 0) { perror(argv[3]); return 1; }
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "%s failed (%d)\n", argv[3], st); return 1; }
    double t1 = bench_now_ns();
    printf("%s_ms %.0f\n", argv[1], (t1 - t0) / 1e6);
    return 0;
}
