/* execve of files the program writes itself: a copy of its own binary runs (also after the
 * file is removed while it runs); a file that is no ELF and no #! script, an empty one, an
 * ELF for another machine give ENOEXEC; an ELF whose PT_INTERP is missing and a script whose
 * #! interpreter is missing give ENOENT; no x bit or a directory give EACCES. */
#include "compat.h"
#include <elf.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char dir[64];

static void put(const char *name, const void *data, size_t len, int mode, char *path)
{
    sprintf(path, "%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (len) write(fd, data, len);
    fchmod(fd, mode);
    close(fd);
}

static void try_exec(const char *label, const char *path)
{
    pid_t p = fork();
    if (p == 0) {
        char *argv[] = { (char *)path, "--child", 0 };
        char *envp[] = { 0 };
        execve(path, argv, envp);
        printf("%s: %s\n", label, errname(errno));
        _exit(100);
    }
    int st;
    waitpid(p, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) != 100) printf("%s: ran, status %d\n", label, WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--child")) {
        printf("the copy runs\n");
        fflush(stdout);
        if (argc > 2) unlink(argv[2]);
        return 3;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    sprintf(dir, "/tmp/compat_execf.%d", (int)getpid());
    mkdir(dir, 0755);

    /* A copy of this program, written now. */
    int in = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    fstat(in, &st);
    char *self = malloc(st.st_size);
    long got = 0, n;
    while ((n = read(in, self + got, st.st_size - got)) > 0) got += n;
    close(in);
    CHECK("read own binary", got == st.st_size);
    char path[128];
    put("copy", self, got, 0755, path);
    try_exec("copy", path);

    /* Another machine's ELF: e_machine changed to AArch64. */
    Elf64_Ehdr *eh = (Elf64_Ehdr *)self;
    eh->e_machine = EM_AARCH64;
    put("arm64", self, got, 0755, path);
    try_exec("wrong machine", path);

    /* Neither ELF nor #!, empty, a script without #!. */
    put("garbage", "garbage bytes\n", 14, 0755, path);
    try_exec("garbage", path);
    put("empty", "", 0, 0755, path);
    try_exec("empty", path);
    put("nohashbang", "echo hi\n", 8, 0755, path);
    try_exec("script without #!", path);

    /* Missing interpreters. */
    put("script", "#!/no/such/shell\necho hi\n", 25, 0755, path);
    try_exec("#! interpreter missing", path);
    struct minelf { Elf64_Ehdr e; Elf64_Phdr ph[2]; char interp[32]; } elf;
    memset(&elf, 0, sizeof elf);
    memcpy(elf.e.e_ident, ELFMAG, SELFMAG);
    elf.e.e_ident[EI_CLASS] = ELFCLASS64; elf.e.e_ident[EI_DATA] = ELFDATA2LSB; elf.e.e_ident[EI_VERSION] = EV_CURRENT;
    elf.e.e_type = ET_EXEC; elf.e.e_machine = EM_X86_64; elf.e.e_version = EV_CURRENT;
    elf.e.e_entry = 0x400000 + sizeof elf; elf.e.e_phoff = sizeof elf.e; elf.e.e_ehsize = sizeof elf.e;
    elf.e.e_phentsize = sizeof(Elf64_Phdr); elf.e.e_phnum = 2;
    strcpy(elf.interp, "/no/such/ld-linux.so.2");
    elf.ph[0].p_type = PT_INTERP; elf.ph[0].p_offset = offsetof(struct minelf, interp);
    elf.ph[0].p_vaddr = 0x400000 + elf.ph[0].p_offset; elf.ph[0].p_filesz = elf.ph[0].p_memsz = strlen(elf.interp) + 1; elf.ph[0].p_flags = PF_R; elf.ph[0].p_align = 1;
    elf.ph[1].p_type = PT_LOAD; elf.ph[1].p_offset = 0; elf.ph[1].p_vaddr = 0x400000;
    elf.ph[1].p_filesz = elf.ph[1].p_memsz = sizeof elf; elf.ph[1].p_flags = PF_R | PF_X; elf.ph[1].p_align = 0x1000;
    put("interp", &elf, sizeof elf, 0755, path);
    try_exec("PT_INTERP missing", path);

    /* Permissions: no x bit, a directory. */
    put("noexec", self, got, 0644, path);
    try_exec("no x bit", path);
    try_exec("directory", dir);

    /* A copy that removes itself while it runs. */
    eh->e_machine = EM_X86_64;
    put("selfremove", self, got, 0755, path);
    pid_t p = fork();
    if (p == 0) {
        char *av[] = { path, "--child", path, 0 };
        char *ev[] = { 0 };
        execve(path, av, ev);
        _exit(100);
    }
    int s;
    waitpid(p, &s, 0);
    printf("self-removing copy: status %d, file left: %s\n", WEXITSTATUS(s), yesno(access(path, F_OK) == 0));

    const char *names[] = { "copy", "arm64", "garbage", "empty", "nohashbang", "script", "interp", "noexec" };
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) { sprintf(path, "%s/%s", dir, names[i]); unlink(path); }
    rmdir(dir);
    return finish();
}
