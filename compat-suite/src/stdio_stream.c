/* stdio_stream: stdin -> stdout in bulk. Copies all of stdin to stdout with read() and
 * write() sizes that cycle through 1 byte to 1 MiB (a read may return less, as from a
 * pipe), then prints on stderr the byte count and the SHA-256 of what it read. Fed 24 MiB
 * of bytes with every value and runs of 0xFF, it checks that the program's streams are
 * byte exact in bulk both ways, and with a prefix read of a few bytes that a short read
 * loses nothing. */
#include "compat.h"
#include "sha256.h"

static unsigned char buf[1 << 20];

int main(void)
{
    static const size_t sizes[] = { 1, 7, 4096, 65536, 1 << 20, 3, 100000, 16384 };
    sha256_ctx c;
    sha256_init(&c);
    unsigned long long total = 0;
    for (size_t k = 0;; k++) {
        size_t want = sizes[k % (sizeof sizes / sizeof sizes[0])];
        ssize_t n = read(0, buf, want);
        if (n < 0) { fprintf(stderr, "read: %s\n", strerror(errno)); return 1; }
        if (n == 0) break;
        sha256_update(&c, buf, (size_t)n);
        total += (unsigned long long)n;
        for (ssize_t o = 0; o < n;) {
            ssize_t w = write(1, buf + o, (size_t)(n - o));
            if (w <= 0) { fprintf(stderr, "write: %s\n", w < 0 ? strerror(errno) : "0"); return 1; }
            o += w;
        }
    }
    char hex[65];
    sha256_final(&c, hex);
    fprintf(stderr, "read %llu bytes, sha256 %s\n", total, hex);
    return 0;
}
