/* fault_abort: abort(); expected to die of SIGABRT (status 134). Needs rt_sigprocmask,
 * rt_sigaction and tgkill/kill to work, not just CPU exceptions. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("about to abort\n");
    fflush(stdout);
    abort();
}
