/* execve of set-user-ID and set-group-ID programs: the effective ids become the file's
 * owner and group (set-group-ID only with group execute), the saved ids always take the
 * effective ones, AT_SECURE tells the loader, AT_UID/AT_EUID/AT_GID/AT_EGID carry the ids,
 * and no_new_privs turns the set-id bits off. Runs as root. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char prog[256], plain[256], sgid_noexec[256];

static void report(const char *what) {
    uid_t r, e, s; gid_t rg, eg, sg;
    getresuid(&r, &e, &s); getresgid(&rg, &eg, &sg);
    printf("%s: uid %d/%d/%d gid %d/%d/%d AT_SECURE=%lu AT_UID=%lu AT_EUID=%lu AT_GID=%lu AT_EGID=%lu\n", what,
           (int)r, (int)e, (int)s, (int)rg, (int)eg, (int)sg, getauxval(AT_SECURE),
           getauxval(AT_UID), getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID));
}

static int copy(const char *from, const char *to, mode_t mode, uid_t u, gid_t g) {
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    char buf[65536]; ssize_t n;
    if (in < 0 || out < 0) return -1;
    while ((n = read(in, buf, sizeof buf)) > 0) if (write(out, buf, n) != n) return -1;
    close(in); close(out);
    if (chown(to, u, g) != 0) return -1;
    return chmod(to, mode);        /* after chown, which clears the set-id bits */
}

static void run(const char *path, const char *label, uid_t r, uid_t e, gid_t rg, gid_t eg, int nnp) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (setresgid(rg, eg, eg) != 0 || setresuid(r, e, e) != 0) { perror("set ids"); _exit(2); }
        if (nnp) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        execl(path, "setid_exec", "report", label, (char *)0);
        printf("%s: exec failed errno=%d\n", label, errno);
        fflush(stdout);
        _exit(1);
    }
    int st; waitpid(c, &st, 0);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "report") == 0) { report(argv[2]); return 0; }
    char dir[] = "/tmp/compat-setid-XXXXXX";
    if (!mkdtemp(dir)) { printf("mkdtemp failed\n"); return 1; }
    chmod(dir, 0755);
    snprintf(prog, sizeof prog, "%s/suid", dir);
    snprintf(plain, sizeof plain, "%s/plain", dir);
    snprintf(sgid_noexec, sizeof sgid_noexec, "%s/sgid-noexec", dir);
    if (copy("/proc/self/exe", prog, 06755, 1000, 1100) || copy("/proc/self/exe", plain, 0755, 0, 0)
        || copy("/proc/self/exe", sgid_noexec, 02745, 0, 1100)) { printf("copy failed\n"); return 1; }
    struct stat st; stat(prog, &st);
    printf("mode %o owner %d:%d\n", st.st_mode & 07777, (int)st.st_uid, (int)st.st_gid);

    run(prog, "set-id program from uid 2000 gid 3000", 2000, 2000, 3000, 3000, 0);
    run(prog, "set-id program from root", 0, 0, 0, 0, 0);
    run(prog, "set-id program with no_new_privs", 2000, 2000, 3000, 3000, 1);
    run(plain, "plain program from ruid 2000 euid 1500", 2000, 1500, 3000, 3500, 0);
    run(sgid_noexec, "set-gid without group execute", 2000, 2000, 3000, 3000, 0);

    /* writing to a set-id file as its non-root owner clears the bits */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        setresuid(1000, 1000, 1000);
        int fd = open(prog, O_WRONLY | O_APPEND);
        if (fd < 0 || write(fd, "", 1) != 1) printf("write failed errno=%d\n", errno);
        close(fd);
        fflush(stdout);
        _exit(0);
    }
    int s; waitpid(c, &s, 0);
    stat(prog, &st);
    printf("after a write by its owner: mode %o\n", st.st_mode & 07777);
    unlink(prog); unlink(plain); unlink(sgid_noexec); rmdir(dir);
    return 0;
}
