/* execve of programs written at run time: a copy of this program in a fresh directory of
 * /tmp (tmpfs under the kernel), run directly and through a #! script naming it. */
#include "compat.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int run(const char *path, const char *arg)
{
    pid_t p = fork();
    if (p == 0) { execl(path, "copy", arg, (char *)0); printf("execl %s: %s\n", strrchr(path, '/') + 1, errname(errno)); _exit(99); }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) { printf("the copy runs, given %s\n", strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1]); return 7; }
    char dir[] = "/tmp/execw.XXXXXX", copy[64], script[64], plain[64];
    CHECK("mkdtemp", mkdtemp(dir) != NULL);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    snprintf(script, sizeof script, "%s/run.sh", dir);
    snprintf(plain, sizeof plain, "%s/noexec", dir);
    int in = open("/proc/self/exe", O_RDONLY), out = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    static char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in); close(out);
    printf("direct: status %d\n", run(copy, "hello"));
    FILE *f = fopen(script, "w");
    fprintf(f, "#!%s\n", copy);
    fclose(f);
    chmod(script, 0755);
    printf("script: status %d\n", run(script, "x"));
    f = fopen(plain, "w"); fprintf(f, "data\n"); fclose(f);
    EXPECT_ERR("execve of a file without x", execl(plain, "noexec", (char *)0), EACCES);
    chmod(plain, 0755);
    printf("a data file marked executable: status %d\n", run(plain, "y"));
    unlink(copy); unlink(script); unlink(plain); rmdir(dir);
    return finish();
}
