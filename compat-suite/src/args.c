/* args: argv, the COMPAT_* environment variables, and the auxiliary vector. */
#include "compat.h"
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

extern char **environ;
extern char _start[];

/* The auxiliary vector as the kernel laid it out: right after envp's NULL (read it
 * directly; glibc rewrites some values, e.g. AT_HWCAP, behind getauxval). */
static Elf64_auxv_t *auxv;
static unsigned long aux(unsigned long type)
{
    for (Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++)
        if (a->a_type == type) return a->a_un.a_val;
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(int argc, char **argv, char **envp)
{
    char sb[64];
    printf("argc: %d\n", argc);
    printf("argv[0] stem: %s\n", stem(argv[0], sb, sizeof sb));
    for (int i = 1; i < argc; i++) printf("argv[%d]: [%s] (%zu bytes)\n", i, argv[i], strlen(argv[i]));
    CHECK("argv[argc] is NULL", argv[argc] == NULL);
    CHECK("envp == environ", envp == environ);
    CHECK("envp follows argv", envp == argv + argc + 1);

    /* environment: only COMPAT_* variables, sorted (the runner sets them both ways) */
    char *vars[256];
    int n = 0, total = 0;
    for (char **e = envp; *e; e++, total++)
        if (strncmp(*e, "COMPAT_", 7) == 0 && n < 256) vars[n++] = *e;
    qsort(vars, n, sizeof vars[0], cmp);
    printf("COMPAT_* variables: %d\n", n);
    for (int i = 0; i < n; i++) printf("env %s\n", vars[i]);
    const char *g = getenv("COMPAT_GREETING");
    printf("getenv COMPAT_GREETING: %s\n", g ? g : "(unset)");
    printf("getenv COMPAT_NOPE: %s\n", getenv("COMPAT_NOPE") ? "set" : "(unset)");
    CHECK("every env string has '='", ({ int ok = 1; for (char **e = envp; *e; e++) if (!strchr(*e, '=')) ok = 0; ok; }));

    /* auxv */
    char **e = envp;
    while (*e) e++;
    auxv = (Elf64_auxv_t *)(e + 1);
    int count = 0;
    for (Elf64_auxv_t *a = auxv; a->a_type != AT_NULL; a++) count++;
    CHECK("auxv has at least 10 entries", count >= 10);
    unsigned long pagesz = aux(AT_PAGESZ);
    CHECK("getauxval(AT_PAGESZ) agrees", getauxval(AT_PAGESZ) == pagesz);
    CHECK("getauxval(AT_RANDOM) agrees", getauxval(AT_RANDOM) == aux(AT_RANDOM));
    printf("AT_PAGESZ: %lu\n", pagesz);
    CHECK("sysconf(_SC_PAGESIZE) == 4096", sysconf(_SC_PAGESIZE) == 4096);
    unsigned long phdr = aux(AT_PHDR), phent = aux(AT_PHENT), phnum = aux(AT_PHNUM);
    CHECK("AT_PHDR nonzero", phdr != 0);
    printf("AT_PHENT: %lu\n", phent);
    CHECK("AT_PHNUM > 0", phnum > 0);
    int loads = 0;
    if (phdr && phent == sizeof(Elf64_Phdr)) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)phdr;
        for (unsigned long i = 0; i < phnum; i++) {
            if (ph[i].p_type == PT_LOAD) loads++;
        }
    }
    CHECK("AT_PHDR table has PT_LOAD entries", loads > 0);
    unsigned long entry = aux(AT_ENTRY);
    CHECK("AT_ENTRY nonzero", entry != 0);
    CHECK("AT_ENTRY == &_start", entry == (unsigned long)_start);
    const unsigned char *rnd = (const unsigned char *)aux(AT_RANDOM);
    CHECK("AT_RANDOM nonzero", rnd != NULL);
    if (rnd) {
        int nz = 0;
        for (int i = 0; i < 16; i++) nz |= rnd[i];
        CHECK("AT_RANDOM 16 bytes readable, not all zero", nz != 0);
    }
    const char *execfn = (const char *)aux(AT_EXECFN);
    CHECK("AT_EXECFN set", execfn != NULL);
    if (execfn) printf("AT_EXECFN stem: %s\n", stem(execfn, sb, sizeof sb));
    CHECK("AT_HWCAP nonzero", aux(AT_HWCAP) != 0);
    CHECK("AT_HWCAP has SSE2 (bit 26, CPUID.1:EDX)", (aux(AT_HWCAP) >> 26) & 1);
    printf("AT_CLKTCK: %lu\n", aux(AT_CLKTCK));
    printf("AT_SECURE: %lu\n", aux(AT_SECURE));
    const char *plat = (const char *)aux(AT_PLATFORM);
    printf("AT_PLATFORM: %s\n", plat ? plat : "(none)");
    CHECK("AT_UID == getuid", aux(AT_UID) == (unsigned long)getuid());
    CHECK("AT_EUID == geteuid", aux(AT_EUID) == (unsigned long)geteuid());
    CHECK("AT_GID == getgid", aux(AT_GID) == (unsigned long)getgid());
    CHECK("AT_EGID == getegid", aux(AT_EGID) == (unsigned long)getegid());

    /* the initial stack: argv strings live above the argv array */
    CHECK("argv[0] string above argv array", (unsigned long)argv[0] > (unsigned long)argv);
    CHECK("main's stack frame 16-byte aligned", ({ long x __attribute__((aligned(16))); ((unsigned long)&x & 15) == 0; }));
    return finish();
}
