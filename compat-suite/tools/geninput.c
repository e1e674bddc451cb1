/* Writes N deterministic pseudo-random bytes (every byte value occurs, including 0xFF,
 * which the host->guest serial channel has to escape) to stdout. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 65536, x = 88172645463325252UL;
    for (unsigned long i = 0; i < n; i++) {
        if (i < 512) { putchar(i < 256 ? (int)i : 0xff); continue; } /* all values, then a run of 0xFF */
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        putchar((int)(x >> 56));
    }
    return 0;
}
