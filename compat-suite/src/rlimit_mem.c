/* RLIMIT_AS, RLIMIT_DATA and RLIMIT_STACK enforced as Linux does: mmap, mremap, mprotect and
 * brk fail with ENOMEM past them (what a replaced MAP_FIXED range held does not count twice;
 * shared and read-only mappings are not data), and the main thread's stack grows to the
 * RLIMIT_STACK it was exec'd with, then SIGSEGV. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define MiB (1UL << 20)

static const char *err(void *p) { return p == MAP_FAILED ? (errno == ENOMEM ? "ENOMEM" : "other error") : "ok"; }

static int recurse(int depth, int kib) {
    volatile char buf[1024];
    memset((char *)buf, depth, sizeof buf);
    if (depth >= kib) return buf[7];
    return recurse(depth + 1, kib) + buf[3];
}

static void child_stack(const char *limit_mib, const char *use_mib) {
    struct rlimit r = {atol(limit_mib) * MiB, RLIM_INFINITY};
    if (setrlimit(RLIMIT_STACK, &r) != 0) { perror("setrlimit"); _exit(2); }
    execl("/proc/self/exe", "rlimit_mem", "stack", use_mib, (char *)0);
    perror("execl"); _exit(2);
}

static void run_stack(const char *limit_mib, const char *use_mib) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) child_stack(limit_mib, use_mib);
    int st; waitpid(c, &st, 0);
    if (WIFEXITED(st)) printf("stack %s MiB used under a %s MiB limit: exit %d\n", use_mib, limit_mib, WEXITSTATUS(st));
    else printf("stack %s MiB used under a %s MiB limit: signal %s\n", use_mib, limit_mib, WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : "other");
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "stack") == 0) {
        int kib = atoi(argv[2]) * 1024;
        return recurse(0, kib) == 12345 ? 1 : 0;
    }
    struct rlimit r;

    /* RLIMIT_DATA: private writable memory */
    r.rlim_cur = r.rlim_max = 32 * MiB;
    setrlimit(RLIMIT_DATA, &r);
    printf("data: private rw 64 MiB: %s\n", err(mmap(0, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
    void *ro = mmap(0, 64 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("data: private ro 64 MiB: %s\n", err(ro));
    errno = 0;
    printf("data: mprotect it rw: %s\n", mprotect(ro, 64 * MiB, PROT_READ | PROT_WRITE) == 0 ? "ok" : errno == ENOMEM ? "ENOMEM" : "other");
    printf("data: mprotect 1 MiB of it rw: %s\n", mprotect(ro, 1 * MiB, PROT_READ | PROT_WRITE) == 0 ? "ok" : "failed");
    munmap(ro, 64 * MiB);
    void *sh = mmap(0, 64 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    printf("data: shared rw 64 MiB: %s\n", err(sh));
    munmap(sh, 64 * MiB);
    errno = 0;
    void *b = sbrk(64 * MiB);
    printf("data: sbrk 64 MiB: %s\n", b == (void *)-1 ? (errno == ENOMEM ? "ENOMEM" : "other") : "ok");
    printf("data: malloc 64 MiB: %s\n", malloc(64 * MiB) == NULL ? "NULL" : "ok");
    void *small = mmap(0, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("data: private rw 8 MiB: %s\n", err(small));
    errno = 0;
    printf("data: mremap it to 64 MiB: %s\n", err(mremap(small, 8 * MiB, 64 * MiB, MREMAP_MAYMOVE)));
    munmap(small, 8 * MiB);
    r.rlim_cur = r.rlim_max = RLIM_INFINITY;
    setrlimit(RLIMIT_DATA, &r);

    /* RLIMIT_AS: every mapping */
    r.rlim_cur = 256 * MiB; r.rlim_max = RLIM_INFINITY;
    setrlimit(RLIMIT_AS, &r);
    printf("as: 512 MiB: %s\n", err(mmap(0, 512 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
    void *a = mmap(0, 128 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("as: 128 MiB: %s\n", err(a));
    printf("as: 128 MiB more: %s\n", err(mmap(0, 128 * MiB, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)));
    printf("as: MAP_FIXED over the 128 MiB: %s\n", err(mmap(a, 128 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)));
    printf("as: mremap it to 256 MiB: %s\n", err(mremap(a, 128 * MiB, 256 * MiB, MREMAP_MAYMOVE)));
    munmap(a, 128 * MiB);
    printf("as: 128 MiB after munmap: %s\n", err(mmap(0, 128 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
    r.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_AS, &r);

    /* RLIMIT_STACK: the stack a program is exec'd with */
    run_stack("64", "32");
    run_stack("4", "16");
    return 0;
}
