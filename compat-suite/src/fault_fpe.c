/* fault_fpe: integer division by zero; expected to die of SIGFPE (status 136). */
#include <stdio.h>

int main(int argc, char **argv)
{
    volatile int zero = argc - 1, num = 42; /* run with no arguments */
    (void)argv;
    printf("about to divide by zero\n");
    fflush(stdout);
    volatile int q = num / zero;
    printf("still alive, q=%d (should not happen)\n", q);
    return 0;
}
