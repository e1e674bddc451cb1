/* fault_ill: executes ud2; expected to die of SIGILL (status 132). */
#include <stdio.h>

int main(void)
{
    printf("about to execute ud2\n");
    fflush(stdout);
    __asm__ volatile("ud2");
    printf("still alive (should not happen)\n");
    return 0;
}
