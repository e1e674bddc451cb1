/* execve, vfork+exec, posix_spawn: what survives an exec (pid, fds without O_CLOEXEC,
 * ignored signals, the mask) and what does not (handlers, O_CLOEXEC fds), the arguments
 * and environment, #! scripts, and the errors Linux gives for what it cannot run. The
 * program re-executes itself through /proc/self/exe in its "child" modes. */
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

static int child_mode(int argc, char **argv)
{
    const char *mode = argv[2];
    if (strcmp(mode, "args") == 0) {
        /* exit status: argc, and 100 + a mismatch */
        if (argc != 6 || strcmp(argv[3], "one") || strcmp(argv[4], "two words") || strcmp(argv[5], "")) return 100;
        if (!getenv("PROC_EXEC_VAR") || strcmp(getenv("PROC_EXEC_VAR"), "value=x")) return 101;
        return argc;
    }
    if (strcmp(mode, "long") == 0) {
        /* argv[3]: 'a'..'z' repeated, argv[4]: its length; an environment string as long */
        size_t n = (size_t)atoi(argv[4]);
        if (strlen(argv[3]) != n) return 1;
        for (size_t i = 0; i < n; i++) if (argv[3][i] != 'a' + i % 26) return 2;
        const char *e = getenv("LONG");
        if (!e || strlen(e) != n || strncmp(e, argv[3], n)) return 3;
        return 0;
    }
    if (strcmp(mode, "fds") == 0) {
        int keep = atoi(argv[3]), gone = atoi(argv[4]);
        int r = 0;
        if (fcntl(keep, F_GETFD) < 0) r |= 1;
        if (fcntl(gone, F_GETFD) >= 0 || errno != EBADF) r |= 2;
        if (write(keep, "k", 1) != 1) r |= 4;
        return r;
    }
    if (strcmp(mode, "signals") == 0) {
        struct sigaction sa;
        int r = 0;
        sigaction(SIGUSR1, NULL, &sa);
        if (sa.sa_handler != SIG_DFL) r |= 1;              /* a handler is reset */
        sigaction(SIGUSR2, NULL, &sa);
        if (sa.sa_handler != SIG_IGN) r |= 2;              /* ignored stays ignored */
        sigset_t m;
        sigprocmask(SIG_SETMASK, NULL, &m);
        if (!sigismember(&m, SIGHUP)) r |= 4;               /* the mask is kept */
        return r;
    }
    if (strcmp(mode, "pid") == 0) {
        /* argv[3]: the pid before exec */
        return atoi(argv[3]) == getpid() ? 0 : 1;
    }
    if (strcmp(mode, "hello") == 0) {
        printf("hello from the exec'd program\n");
        return 0;
    }
    return 127;
}

static int run(char *const argv[], char *const envp[])
{
    pid_t p = fork();
    if (p == 0) { execve("/proc/self/exe", argv, envp); _exit(126); }
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write(fd, data, n);
    close(fd);
    chmod(path, mode);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "child") == 0) return child_mode(argc, argv);
    if (argc > 1 && strcmp(argv[1], "child-script") == 0) {
        /* the interpreter of a #! script: argv = self "child-script" SCRIPT extra */
        const char *slash = argc == 4 ? strrchr(argv[2], '/') : NULL;
        return slash && strcmp(slash, "/script.sh") == 0 && strcmp(argv[3], "extra") == 0 ? 0 : 91;
    }
    if (argc > 1) return 127;                 /* never recurse on unexpected arguments */
    setvbuf(stdout, NULL, _IONBF, 0);

    /* Arguments and environment reach the new program exactly. */
    char *args[] = { "self", "child", "args", "one", "two words", "", NULL };
    char *envs[] = { "PROC_EXEC_VAR=value=x", "OTHER=1", NULL };
    printf("args and env: %d\n", run(args, envs));

    /* Strings longer than a few pages (one argument, one environment string). */
    static char big[20001], bigenv[20006];
    for (int i = 0; i < 20000; i++) big[i] = 'a' + i % 26;
    snprintf(bigenv, sizeof bigenv, "LONG=%s", big);
    char *largs[] = { "self", "child", "long", big, "20000", NULL };
    char *lenvs[] = { bigenv, NULL };
    printf("long argument and environment string: %d\n", run(largs, lenvs));

    /* fds: one kept, one O_CLOEXEC closed; the kept one works in the new program. */
    int keep[2], gone[2];
    pipe(keep);
    pipe2(gone, O_CLOEXEC);
    char k1[16], k2[16];
    snprintf(k1, sizeof k1, "%d", keep[1]);
    snprintf(k2, sizeof k2, "%d", gone[1]);
    char *fargs[] = { "self", "child", "fds", k1, k2, NULL };
    printf("fds across exec: %d\n", run(fargs, environ));
    char c = 0;
    read(keep[0], &c, 1);
    printf("byte from the exec'd program: %c\n", c);
    close(keep[0]); close(keep[1]); close(gone[0]); close(gone[1]);

    /* Signals: handler reset, ignored kept, mask kept. */
    signal(SIGUSR1, (void (*)(int))child_mode);
    signal(SIGUSR2, SIG_IGN);
    sigset_t m, old;
    sigemptyset(&m); sigaddset(&m, SIGHUP);
    sigprocmask(SIG_BLOCK, &m, &old);
    char *sargs[] = { "self", "child", "signals", NULL };
    printf("signals across exec: %d\n", run(sargs, environ));
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);

    /* The pid is kept (exec from a forked child). */
    pid_t p = fork();
    if (p == 0) {
        char pid[16];
        snprintf(pid, sizeof pid, "%d", getpid());
        char *pargs[] = { "self", "child", "pid", pid, NULL };
        execv("/proc/self/exe", pargs);
        _exit(126);
    }
    int st;
    waitpid(p, &st, 0);
    printf("pid kept: %d\n", WEXITSTATUS(st));

    /* vfork + exec: stdout shared with the parent; the parent resumes after the exec. */
    p = vfork();
    if (p == 0) {
        char *hargs[] = { "self", "child", "hello", NULL };
        execv("/proc/self/exe", hargs);
        _exit(126);
    }
    waitpid(p, &st, 0);
    printf("vfork+exec status: %d\n", WEXITSTATUS(st));
    /* vfork + _exit */
    p = vfork();
    if (p == 0) _exit(33);
    waitpid(p, &st, 0);
    printf("vfork+_exit status: %d\n", WEXITSTATUS(st));

    /* posix_spawn with file actions. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int out[2];
    pipe(out);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    char *hargs[] = { "self", "child", "hello", NULL };
    int e = posix_spawn(&p, "/proc/self/exe", &fa, NULL, hargs, environ);
    close(out[1]);
    char buf[128] = { 0 };
    long n = 0, r;
    while ((r = read(out[0], buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(out[0]);
    waitpid(p, &st, 0);
    printf("posix_spawn: %s, status %d, output: %s", errname(e), WEXITSTATUS(st), buf);
    posix_spawn_file_actions_destroy(&fa);
    e = posix_spawn(&p, "/no/such/program", NULL, NULL, hargs, environ);
    if (e == 0) { waitpid(p, &st, 0); printf("posix_spawn missing: status %d\n", WEXITSTATUS(st)); }
    else printf("posix_spawn missing: %s\n", errname(e));

    /* #! script: interpreter, its one argument, the script path, then the arguments. */
    char self[4096];
    long len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len < 0 ? 0 : len] = 0;
    char script[4200];
    int sl = snprintf(script, sizeof script, "#!%s child-script \nexit 1\n", self);
    /* A directory of our own: the variants run natively side by side. */
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/proc_exec.%d", (int)getpid());
    mkdir(dir, 0755);
#define AT(name) (snprintf(path, sizeof path, "%s/%s", dir, name), path)
    write_file(AT("script.sh"), script, sl, 0755);
    p = fork();
    if (p == 0) {
        char *targs[] = { "script.sh", "extra", NULL };
        execv(AT("script.sh"), targs);
        _exit(126);
    }
    waitpid(p, &st, 0);
    printf("#! script: %d\n", WEXITSTATUS(st));

    /* Errors: nothing there, a directory, no x bit, not an ELF, a foreign ELF, a script
     * whose interpreter is missing, an empty path, a bad pointer. */
    char *nargs[] = { "x", NULL };
    EXPECT_ERR("execve missing", execve("/no/such/file", nargs, environ), ENOENT);
    EXPECT_ERR("execve missing dir", execve("/no/such/dir/file", nargs, environ), ENOENT);
    EXPECT_ERR("execve directory", execve("/tmp", nargs, environ), EACCES);
    write_file(AT("nox"), "#!/bin/true\n", 12, 0644);
    EXPECT_ERR("execve no x bit", execve(AT("nox"), nargs, environ), EACCES);
    write_file(AT("text"), "just some text\n", 15, 0755);
    EXPECT_ERR("execve not an ELF", execve(AT("text"), nargs, environ), ENOEXEC);
    unsigned char elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
    elf[16] = 2; elf[18] = 183;             /* ET_EXEC, EM_AARCH64 */
    elf[20] = 1;
    write_file(AT("arm"), elf, sizeof elf, 0755);
    EXPECT_ERR("execve foreign ELF", execve(AT("arm"), nargs, environ), ENOEXEC);
    write_file(AT("noint"), "#!/no/such/interpreter\n", 23, 0755);
    EXPECT_ERR("execve script without interpreter", execve(AT("noint"), nargs, environ), ENOENT);
    EXPECT_ERR("execve empty path", execve("", nargs, environ), ENOENT);
    EXPECT_ERR("execve bad path pointer", syscall(SYS_execve, (char *)8, nargs, environ), EFAULT);
    EXPECT_ERR("execve bad argv", syscall(SYS_execve, "/proc/self/exe", (char **)8, environ), EFAULT);
    EXPECT_ERR("execveat bad flags", syscall(SYS_execveat, AT_FDCWD, "/proc/self/exe", nargs, environ, 0x4), EINVAL);
    const char *names[] = { "script.sh", "nox", "text", "arm", "noint" };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) unlink(AT(names[i]));
    rmdir(dir);
    return finish();
}
