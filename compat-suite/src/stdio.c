/* stdio: printf formats, floating point, malloc/free churn, qsort, 200 KB of output,
 * and a checksum of stdin read to EOF. */
#include "compat.h"
#include <math.h>
#include <stdint.h>
#include <inttypes.h>

static uint64_t lcg = 12345;
static uint32_t rnd(void) { lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL; return (uint32_t)(lcg >> 33); }
static int cmpint(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }

int main(void)
{
    /* integers and strings */
    printf("d=%d i=%i u=%u x=%x X=%X o=%o c=%c s=%s %%\n", -42, 17, 4000000000u, 0xbeef, 0xbeef, 0755, 'Z', "str");
    printf("ld=%ld lld=%lld llu=%llu hhd=%hhd hd=%hd zu=%zu\n", -1L << 40, -9223372036854775807LL - 1, 18446744073709551615ULL, (signed char)200, (short)70000, (size_t)123);
    printf("width [%8d] [%-8d] [%08d] [%+d] [% d] [%.3d] [%*d] [%-*d]\n", 42, 42, 42, 42, 42, 7, 6, 9, 6, 9);
    printf("strings [%10s] [%-10s] [%.2s] [%*.*s]\n", "abc", "abc", "abcdef", 8, 3, "abcdef");
    printf("hex [%#x] [%#o] [%#08x] [%" PRIx64 "] [%" PRId32 "]\n", 255, 8, 255, (uint64_t)0xdeadbeefcafeULL, (int32_t)-5);
    int cnt = 0;
    printf("count%n\n", &cnt);
    printf("%%n gave %d\n", cnt);
    char buf[256];
    const char *volatile longstr = "truncated string";
    int sn = snprintf(buf, 8, "%s", longstr);
    printf("snprintf returns %d, buf [%s]\n", sn, buf);

    /* floating point */
    double vals[] = { 0.0, -0.0, 1.0, -1.5, 3.14159265358979, 1e-10, 6.02214076e23, 123456.789, 1.0 / 3, 2.5, 0.125, 1e300 };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        printf("f=%f e=%e g=%g .3f=%.3f 10.2e=%10.2e .10g=%.10g\n", vals[i], vals[i], vals[i], vals[i], vals[i], vals[i]);
    printf("inf=%f -inf=%f nan=%f INF=%F\n", INFINITY, -INFINITY, NAN, INFINITY);
    printf("round-half-even: %.0f %.0f %.0f %.1f\n", 0.5, 1.5, 2.5, 0.25);
    printf("Lf=%.5Lf\n", (long double)1 / 7);
    printf("math: sqrt(2)=%.15f sin(1)=%.15f exp(1)=%.15f log(10)=%.15f pow(2,0.5)=%.15f\n", sqrt(2), sin(1), exp(1), log(10), pow(2, 0.5));
    printf("strtod: %.17g %.17g\n", strtod("0.1", NULL), strtod("1e-5", NULL));
    double acc = 0;
    for (int i = 1; i <= 100000; i++) acc += 1.0 / ((double)i * i);
    printf("basel sum 1e5 terms: %.12f\n", acc);

    /* malloc/free churn */
    void *slots[512] = { 0 };
    size_t sizes[512] = { 0 };
    uint64_t sum = 0;
    int bad = 0;
    for (int round = 0; round < 20000; round++) {
        int k = rnd() % 512;
        if (slots[k]) {
            unsigned char *p = slots[k];
            if (p[0] != (unsigned char)k || p[sizes[k] - 1] != (unsigned char)(k ^ 0x55)) bad++;
            sum += sizes[k];
            free(slots[k]);
            slots[k] = NULL;
        } else {
            size_t sz = 1 + (rnd() % 4 == 0 ? rnd() % 300000 : rnd() % 512);
            unsigned char *p = malloc(sz);
            if (!p) { bad++; continue; }
            p[0] = (unsigned char)k; p[sz - 1] = (unsigned char)(k ^ 0x55);
            slots[k] = p; sizes[k] = sz;
        }
    }
    for (int k = 0; k < 512; k++) free(slots[k]);
    printf("malloc churn: freed %" PRIu64 " bytes, corrupted blocks %d\n", sum, bad);
    char *r = realloc(NULL, 10);
    strcpy(r, "realloc");
    r = realloc(r, 1 << 20);
    printf("realloc kept: %s\n", r);
    free(r);
    int *cz = calloc(1000, sizeof(int));
    int nz = 0;
    for (int i = 0; i < 1000; i++) nz += cz[i] != 0;
    printf("calloc zeroed: %s\n", yesno(nz == 0));
    free(cz);

    /* qsort */
    enum { N = 100000 };
    int *arr = malloc(N * sizeof(int));
    for (int i = 0; i < N; i++) arr[i] = (int)(rnd() % 1000000) - 500000;
    qsort(arr, N, sizeof(int), cmpint);
    int sorted = 1;
    for (int i = 1; i < N; i++) if (arr[i - 1] > arr[i]) sorted = 0;
    printf("qsort %d ints sorted: %s min=%d median=%d max=%d\n", N, yesno(sorted), arr[0], arr[N / 2], arr[N - 1]);
    free(arr);

    /* 200 KB of output */
    size_t out = 0;
    for (int i = 0; i < 4000; i++)
        out += printf("line %05d %s\n", i, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    printf("bulk output bytes: %zu\n", out);

    /* stdin to EOF: FNV-1a 64 and a byte histogram summary */
    uint64_t h = 1469598103934665603ULL;
    size_t n, total = 0, ffs = 0;
    unsigned char ib[4096];
    while ((n = fread(ib, 1, sizeof ib, stdin)) > 0) {
        for (size_t i = 0; i < n; i++) { h ^= ib[i]; h *= 1099511628211ULL; ffs += ib[i] == 0xff; }
        total += n;
    }
    printf("stdin: %zu bytes, %zu bytes 0xFF, fnv1a64 %016" PRIx64 ", eof %s, error %s\n", total, ffs, h, yesno(feof(stdin)), yesno(ferror(stdin)));
    fprintf(stderr, "stdio done\n");
    return 0;
}
