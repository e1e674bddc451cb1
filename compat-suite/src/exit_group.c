/* exit_group STATUS [MODE]: exit with STATUS through MODE:
 * exit_group (raw syscall, default), exit (raw SYS_exit), libc (exit(3), flushes stdio),
 * return (return from main). Status is taken modulo 256 by the kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
    long status = argc > 1 ? strtol(argv[1], NULL, 0) : 0;
    const char *mode = argc > 2 ? argv[2] : "exit_group";
    printf("exiting with %ld via %s\n", status, mode);
    if (strcmp(mode, "libc") == 0) {
        printf("this buffered line must be flushed by exit()\n");
        exit((int)status);
    }
    fflush(stdout);
    if (strcmp(mode, "return") == 0) return (int)status;
    if (strcmp(mode, "exit") == 0) syscall(SYS_exit, status);
    syscall(SYS_exit_group, status);
    printf("still alive (should not happen)\n");
    return 99;
}
