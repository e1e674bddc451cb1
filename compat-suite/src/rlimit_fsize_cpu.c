/* RLIMIT_FSIZE: writes to a regular file stop at the limit, a write or a growing truncate or
 * fallocate past it is EFBIG with SIGXFSZ (which kills by default); pipes are not files.
 * RLIMIT_CPU: SIGXCPU at the soft limit (which then moves on by a second), SIGKILL at the
 * hard one. */
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

static volatile sig_atomic_t xfsz, xcpu;
static void on_xfsz(int s) { (void)s; xfsz++; }
static void on_xcpu(int s) { (void)s; xcpu++; }

static void report(const char *what, int st)
{
    if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else printf("%s: exit %d\n", what, WEXITSTATUS(st));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[] = "/tmp/fsize.XXXXXX";
    int fd = mkstemp(path);
    CHECK("mkstemp", fd >= 0);
    unlink(path);
    static char buf[1500];
    memset(buf, 'x', sizeof buf);

    pid_t k = fork();
    if (k == 0) {
        signal(SIGXFSZ, on_xfsz);
        struct rlimit rl = { 1000, 1000 };
        EXPECT_OK("setrlimit FSIZE 1000", setrlimit(RLIMIT_FSIZE, &rl));
        EXPECT_ERR("write 1500 bytes", write(fd, buf, 1500), 0);
        printf("SIGXFSZ so far: %d\n", (int)xfsz);
        EXPECT_ERR("write at the limit", write(fd, buf, 10), EFBIG);
        printf("SIGXFSZ after it: %d\n", (int)xfsz);
        EXPECT_ERR("pwrite 10 at 995", pwrite(fd, buf, 10, 995), 0);
        EXPECT_ERR("pwrite 0 at 5000", pwrite(fd, buf, 0, 5000), 0);
        EXPECT_ERR("ftruncate to 2000", ftruncate(fd, 2000), EFBIG);
        EXPECT_ERR("ftruncate to 500", ftruncate(fd, 500), 0);
        EXPECT_ERR("ftruncate to 1000", ftruncate(fd, 1000), 0);
        EXPECT_ERR("fallocate past it", fallocate(fd, 0, 0, 4096), EFBIG);
        EXPECT_ERR("fallocate KEEP_SIZE past it", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
        printf("SIGXFSZ in all: %d\n", (int)xfsz);
        int p[2];
        pipe(p);
        EXPECT_ERR("a pipe takes more", write(p[1], buf, 1500), 0);
        signal(SIGXFSZ, SIG_DFL);
        write(fd, buf, 10);
        printf("not reached\n");
        _exit(0);
    }
    int st;
    waitpid(k, &st, 0);
    report("writer past the limit", st);
    struct stat sb;
    fstat(fd, &sb);
    printf("file size: %ld\n", (long)sb.st_size);

    k = fork();
    if (k == 0) {
        signal(SIGXCPU, on_xcpu);
        struct rlimit rl = { 1, 2 };
        EXPECT_OK("setrlimit CPU 1/2", setrlimit(RLIMIT_CPU, &rl));
        while (!xcpu) ;
        printf("SIGXCPU after a second of CPU time\n");
        getrlimit(RLIMIT_CPU, &rl);
        printf("soft limit now %lu, hard %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
        for (;;) ;
    }
    waitpid(k, &st, 0);
    report("spinner past the hard limit", st);
    return finish();
}
