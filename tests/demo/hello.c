/* The demo program `make demo` packs and boots: prints a greeting and its arguments. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("Hello from a Linux program on a C# unikernel!\n");
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    return 0;
}
