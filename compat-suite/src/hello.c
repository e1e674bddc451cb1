/* hello: stdout, stderr, exit status 3. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    fprintf(stderr, "hello on stderr\n");
    return 3;
}
