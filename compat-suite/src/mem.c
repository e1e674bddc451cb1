/* mem: brk, anonymous mmap/munmap/mprotect/mremap/madvise, including the EINVAL cases. */
#include "compat.h"
#include <stdint.h>
#include <sys/mman.h>

#define PG 4096UL

static long sys_brk(unsigned long a) { return syscall(SYS_brk, a); }
static void *sys_mmap(void *a, size_t l, int p, int f, int fd, long off)
{
    return (void *)syscall(SYS_mmap, a, l, p, f, fd, off);
}
static long mm_err(void *p) { return (long)p; } /* syscall() gives -1 + errno */

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++) if (p[i] != v) return 0;
    return 1;
}

static char outbuf[1 << 16];

int main(void)
{
    /* glibc's malloc uses brk: give stdout a static buffer so printing allocates nothing
     * while we move the break around, and never go below the break we found. */
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    /* ---- brk ---- */
    unsigned long b0 = sys_brk(0);
    CHECK("brk(0) nonzero", b0 != 0);
    CHECK("brk(0) stable", (unsigned long)sys_brk(0) == b0);
    unsigned long b1 = sys_brk(b0 + (1 << 20));
    CHECK("brk grow 1 MiB returns new break", b1 == b0 + (1 << 20));
    memset((void *)b0, 0xab, 1 << 20);
    CHECK("brk memory writable", all_bytes((void *)b0, 1 << 20, 0xab));
    unsigned long b2 = sys_brk(b0 + 4096);
    CHECK("brk shrink returns new break", b2 == b0 + 4096);
    CHECK("brk(0) after shrink", (unsigned long)sys_brk(0) == b0 + 4096);
    unsigned long b3 = sys_brk(b0 + 3 * PG);
    CHECK("brk regrow", b3 == b0 + 3 * PG);
    /* the break need not be page aligned: check the first whole page past the shrunk break */
    unsigned long z = (b0 + PG + PG - 1) & ~(PG - 1);
    CHECK("brk regrown page beyond old break zeroed", all_bytes((void *)z, PG, 0));
    CHECK("brk below start fails (returns old break)", (unsigned long)sys_brk(1) == b0 + 3 * PG);
    CHECK("brk huge fails (returns old break)", (unsigned long)sys_brk(0x7ffffffff000UL) == b0 + 3 * PG);
    CHECK("brk back to start", (unsigned long)sys_brk(b0) == b0);

    /* ---- mmap basics ---- */
    unsigned char *p = sys_mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap anon 4 pages", p != MAP_FAILED);
    CHECK("mmap page aligned", ((uintptr_t)p & (PG - 1)) == 0);
    CHECK("mmap zero filled", all_bytes(p, 4 * PG, 0));
    memset(p, 0x5a, 4 * PG);
    CHECK("mmap writable", all_bytes(p, 4 * PG, 0x5a));
    EXPECT_OK("mprotect PROT_READ", syscall(SYS_mprotect, p, PG, PROT_READ));
    CHECK("read after PROT_READ", p[10] == 0x5a);
    EXPECT_OK("mprotect RW again", syscall(SYS_mprotect, p, PG, PROT_READ | PROT_WRITE));
    p[10] = 1;
    CHECK("write after RW again", p[10] == 1);
    EXPECT_ERR("mprotect unaligned", syscall(SYS_mprotect, p + 1, PG, PROT_READ), EINVAL);
    EXPECT_ERR("mprotect bad prot bits", syscall(SYS_mprotect, p, PG, 0x1000), EINVAL);
    EXPECT_ERR("munmap unaligned", syscall(SYS_munmap, p + 1, PG), EINVAL);
    EXPECT_ERR("munmap len 0", syscall(SYS_munmap, p, 0), EINVAL);
    /* punch a hole in the middle, then mprotect across it fails with ENOMEM */
    EXPECT_OK("munmap middle page", syscall(SYS_munmap, p + PG, PG));
    EXPECT_ERR("mprotect over hole", syscall(SYS_mprotect, p, 3 * PG, PROT_READ), ENOMEM);
    CHECK("pages around hole intact", p[0] == 0x5a && p[2 * PG] == 0x5a && p[4 * PG - 1] == 0x5a);
    EXPECT_OK("munmap whole range incl. hole", syscall(SYS_munmap, p, 4 * PG));
    EXPECT_OK("munmap already unmapped", syscall(SYS_munmap, p, 4 * PG));
    EXPECT_ERR("mprotect unmapped", syscall(SYS_mprotect, p, PG, PROT_READ), ENOMEM);

    /* ---- mmap error cases ---- */
    EXPECT_ERR("mmap len 0", mm_err(sys_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)), EINVAL);
    EXPECT_ERR("mmap neither SHARED nor PRIVATE", mm_err(sys_mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0)), EINVAL);
    EXPECT_ERR("mmap FIXED unaligned", mm_err(sys_mmap((void *)0x10000001, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)), EINVAL);
    EXPECT_ERR("mmap offset unaligned", mm_err(sys_mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 0, 1)), EINVAL);
    EXPECT_ERR("mmap file with fd -1", mm_err(sys_mmap(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0)), EBADF);
    EXPECT_ERR("mmap huge len", mm_err(sys_mmap(NULL, (size_t)-PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)), ENOMEM);

    /* ---- MAP_FIXED over an existing mapping ---- */
    unsigned char *q = sys_mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap 3 pages", q != MAP_FAILED);
    memset(q, 0x11, 3 * PG);
    unsigned char *f = sys_mmap(q + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK("MAP_FIXED returns requested address", f == q + PG);
    CHECK("MAP_FIXED page is zeroed", all_bytes(q + PG, PG, 0));
    CHECK("neighbours of MAP_FIXED page kept", all_bytes(q, PG, 0x11) && all_bytes(q + 2 * PG, PG, 0x11));
    EXPECT_ERR("MAP_FIXED_NOREPLACE over mapping",
               mm_err(sys_mmap(q, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)), EEXIST);
    /* a hint is only a hint: a non-fixed mmap at an occupied address goes elsewhere */
    f = sys_mmap(q, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("hint at occupied address gives another address", f != MAP_FAILED && f != q);
    CHECK("hinted mapping did not clobber", all_bytes(q, PG, 0x11));
    syscall(SYS_munmap, f, PG);

    /* ---- PROT_NONE then mprotect ---- */
    unsigned char *n = sys_mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap PROT_NONE", n != MAP_FAILED);
    EXPECT_OK("mprotect PROT_NONE -> RW", syscall(SYS_mprotect, n, 2 * PG, PROT_READ | PROT_WRITE));
    n[PG + 5] = 7;
    CHECK("PROT_NONE page usable after mprotect", n[PG + 5] == 7 && n[0] == 0);
    syscall(SYS_munmap, n, 2 * PG);

    /* ---- madvise ---- */
    memset(q, 0x22, 3 * PG);
    EXPECT_OK("madvise DONTNEED", syscall(SYS_madvise, q, PG, MADV_DONTNEED));
    CHECK("DONTNEED page reads zero", all_bytes(q, PG, 0));
    CHECK("DONTNEED left next page", all_bytes(q + PG, PG, 0x22));
    EXPECT_OK("madvise WILLNEED", syscall(SYS_madvise, q, 3 * PG, MADV_WILLNEED));
    EXPECT_OK("madvise NORMAL", syscall(SYS_madvise, q, 3 * PG, MADV_NORMAL));
    EXPECT_ERR("madvise unaligned", syscall(SYS_madvise, q + 1, PG, MADV_NORMAL), EINVAL);
    EXPECT_ERR("madvise bad advice", syscall(SYS_madvise, q, PG, 12345), EINVAL);
    syscall(SYS_munmap, q, 3 * PG);

    /* ---- mremap ---- */
    /* two pages; the second becomes PROT_NONE, a separate mapping that blocks growth in place */
    unsigned char *m = sys_mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (unsigned i = 0; i < PG; i++) m[i] = (unsigned char)(i * 7);
    unsigned char *blk = m + PG;
    int blocked = syscall(SYS_mprotect, blk, PG, PROT_NONE) == 0;
    CHECK("page after mremap source blocked", blocked);
    EXPECT_ERR("mremap grow without MAYMOVE when blocked", syscall(SYS_mremap, m, PG, 4 * PG, 0), ENOMEM);
    unsigned char *m2 = (void *)syscall(SYS_mremap, m, PG, 4 * PG, MREMAP_MAYMOVE);
    CHECK("mremap MAYMOVE grow", m2 != MAP_FAILED);
    CHECK("mremap moved", m2 != m);
    int ok = 1;
    for (unsigned i = 0; i < PG; i++) if (m2[i] != (unsigned char)(i * 7)) ok = 0;
    CHECK("mremap kept contents", ok);
    CHECK("mremap new pages zero", all_bytes(m2 + PG, 3 * PG, 0));
    m2[4 * PG - 1] = 9;
    CHECK("mremap grown area writable", m2[4 * PG - 1] == 9);
    unsigned char *m3 = (void *)syscall(SYS_mremap, m2, 4 * PG, 2 * PG, 0);
    CHECK("mremap shrink in place", m3 == m2);
    CHECK("mremap shrink kept contents", m3[PG - 1] == (unsigned char)((PG - 1) * 7));
    EXPECT_ERR("mremap bad flags", syscall(SYS_mremap, m3, 2 * PG, 3 * PG, 0x100), EINVAL);
    EXPECT_ERR("mremap unaligned", syscall(SYS_mremap, m3 + 1, PG, 2 * PG, MREMAP_MAYMOVE), EINVAL);
    EXPECT_ERR("mremap new len 0", syscall(SYS_mremap, m3, 2 * PG, 0, MREMAP_MAYMOVE), EINVAL);
    EXPECT_ERR("mremap FIXED without MAYMOVE", syscall(SYS_mremap, m3, PG, PG, MREMAP_FIXED, m3 + 100 * PG), EINVAL);
    syscall(SYS_munmap, m3, 2 * PG);
    if (blocked) syscall(SYS_munmap, blk, PG);

    /* ---- 64 MiB, touched sparsely ---- */
    size_t big = 64UL << 20;
    unsigned char *g = sys_mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK("mmap 64 MiB", g != MAP_FAILED);
    unsigned long sum = 0;
    for (size_t off = 0; off < big; off += 1 << 20) g[off + (off >> 20)] = (unsigned char)(off >> 20);
    for (size_t off = 0; off < big; off += 1 << 20) sum += g[off + (off >> 20)];
    g[big - 1] = 1; sum += g[big - 1];
    printf("64 MiB sparse sum: %lu\n", sum);
    CHECK("64 MiB untouched byte zero", g[big / 2 + 12345] == 0);
    EXPECT_OK("munmap 64 MiB", syscall(SYS_munmap, g, big));

    /* ---- many small mappings ---- */
    void *v[64];
    int okm = 1;
    for (int i = 0; i < 64; i++) {
        v[i] = sys_mmap(NULL, (i % 4 + 1) * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (v[i] == MAP_FAILED) okm = 0; else memset(v[i], i, (i % 4 + 1) * PG);
    }
    for (int i = 0; i < 64; i++) if (v[i] != MAP_FAILED && !all_bytes(v[i], (i % 4 + 1) * PG, i)) okm = 0;
    for (int i = 0; i < 64; i += 2) if (syscall(SYS_munmap, v[i], (i % 4 + 1) * PG)) okm = 0;
    for (int i = 1; i < 64; i += 2) if (!all_bytes(v[i], (i % 4 + 1) * PG, i)) okm = 0;
    CHECK("64 small mappings independent", okm);

    /* ---- malloc on top ---- */
    char *big_m = malloc(10 << 20);
    CHECK("malloc 10 MiB", big_m != NULL);
    if (big_m) { memset(big_m, 1, 10 << 20); free(big_m); }
    return finish();
}
