/* mremap of file mappings (grown in place and moved, they keep mapping the file) and of
 * shared anonymous memory after fork (the pages stay shared; a page past the object's size
 * gives SIGBUS, as Linux's shmem), and how /proc/self/maps names shared anonymous memory. */
#include "compat.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static sigjmp_buf jb;
static void on_fault(int s) { siglongjmp(jb, s); }

/* The signal a read of *p raises (0 if none). */
static int probe(volatile char *p, int write)
{
    int s = sigsetjmp(jb, 1);
    if (s == 0) { if (write) *p = 1; else (void)*p; return 0; }
    return s;
}

static const char *signame(int s) { return s == 0 ? "none" : s == SIGBUS ? "SIGBUS" : s == SIGSEGV ? "SIGSEGV" : "other"; }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGBUS, on_fault);
    signal(SIGSEGV, on_fault);
    char path[64];
    snprintf(path, sizeof path, "/tmp/compat_remap.%d", (int)getpid());
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    char page[4096];
    for (int i = 0; i < 4; i++) { memset(page, 'a' + i, sizeof page); write(fd, page, sizeof page); }

    /* Grown in place: the new page is the file's second page. */
    char *area = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);      /* room after it */
    char *m = mmap(area, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    munmap(area + 4096, 4096);
    char *g = mremap(m, 4096, 8192, 0);
    CHECK("grown in place", g == m);
    printf("pages: %c %c\n", g[0], g[4096]);
    g[4096] = 'X';
    char c = 0;
    pread(fd, &c, 1, 4096);
    printf("a write to the grown page reaches the file: %c\n", c);

    /* Moved: a mapping in the way forces MREMAP_MAYMOVE to move it; the offset is kept. */
    char *p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 4096);
    char *blocker = mmap(p + 8192, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("blocker", blocker == p + 8192);
    char *q = mremap(p, 8192, 12288, MREMAP_MAYMOVE);
    CHECK("moved", q != MAP_FAILED && q != p);
    printf("moved pages: %c %c %c\n", q[0], q[4096], q[8192]);
    printf("old place after the move: %s\n", signame(probe(p, 0)));
    /* Past the end of the file: SIGBUS. */
    char *r = mremap(q, 12288, 16384, MREMAP_MAYMOVE);
    printf("page past EOF: %s\n", signame(probe(r + 12288, 0)));

    /* Shared anonymous memory: shared across fork, also after the parent moves it. */
    char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(s, "before fork");
    pid_t pid = fork();
    if (pid == 0) {
        char *t = mremap(s, 4096, 8192, MREMAP_MAYMOVE);
        strcpy(t, "from the child");
        printf("child: grown page: %s\n", signame(probe(t + 4096, 1)));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("parent reads: %s\n", s);
    char *u = mremap(s, 4096, 8192, MREMAP_MAYMOVE);
    printf("parent: grown page: %s\n", signame(probe(u + 4096, 0)));
    printf("parent: first page after the move: %s\n", u);

    /* /proc/self/maps names it /dev/zero (deleted). */
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512], want[32];
    snprintf(want, sizeof want, "%lx-", (unsigned long)u);
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, want, strlen(want))) { found = 1; printf("maps: %s %s", strstr(line, " rw-s ") ? "rw-s" : "?", strchr(line, '/') ? strchr(line, '/') : "no name\n"); }
    fclose(f);
    CHECK("in maps", found);
    unlink(path);
    return finish();
}
