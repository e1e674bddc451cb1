/* fault_segv MODE: no handler installed; expected to die of SIGSEGV (status 139).
 * MODE: null (read address 0), ro (write to a PROT_READ page), none (read a PROT_NONE page),
 * unmapped (touch a page after munmap), nx (jump into a non-executable page),
 * stack (unbounded recursion into the stack guard). */
#include "compat.h"
#include <sys/mman.h>

#pragma GCC diagnostic ignored "-Winfinite-recursion"

static volatile int sink;

static int recurse(int n)
{
    volatile char pad[4096];
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "null";
    printf("mode %s: about to fault\n", mode);
    fflush(stdout);
    if (strcmp(mode, "null") == 0) {
        sink = *(volatile int *)0;
    } else if (strcmp(mode, "ro") == 0) {
        volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        mprotect((void *)p, 4096, PROT_READ);
        sink = p[0];
        printf("read of PROT_READ page ok\n");
        fflush(stdout);
        p[0] = 2;
    } else if (strcmp(mode, "none") == 0) {
        volatile char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        sink = p[0];
    } else if (strcmp(mode, "unmapped") == 0) {
        volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        munmap((void *)p, 4096);
        sink = p[0];
    } else if (strcmp(mode, "nx") == 0) {
        unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 0xc3; /* ret */
        ((void (*)(void))p)();
    } else if (strcmp(mode, "stack") == 0) {
        sink = recurse(0);
    }
    printf("still alive after mode %s (should not happen)\n", mode);
    return 0;
}
