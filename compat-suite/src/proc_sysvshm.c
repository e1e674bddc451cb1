/* System V shared memory (svipc(7)): shmget with IPC_PRIVATE, keys, IPC_CREAT/IPC_EXCL;
 * shmat/shmdt with nattch counted across fork and exit; IPC_STAT fields; IPC_RMID while
 * attached (the key is free at once, the memory stays until the last detach); SHM_RND,
 * SHM_RDONLY and the errors. PostgreSQL's postmaster relies on these. */
#include "compat.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

static int nattch(int id)
{
    struct shmid_ds d;
    if (shmctl(id, IPC_STAT, &d) != 0) return -1;
    return (int)d.shm_nattch;
}

static sigjmp_buf jb;
static void on_segv(int s) { (void)s; siglongjmp(jb, 1); }

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    key_t key = 0x5c000000 | (getpid() & 0xffffff);

    /* A private segment: IPC_STAT describes it. */
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0640);
    CHECK("shmget private", id >= 0);
    struct shmid_ds d;
    EXPECT_OK("IPC_STAT", shmctl(id, IPC_STAT, &d));
    printf("size %zu mode %o nattch %lu key %d cpid is me %s lpid %d atime %ld\n", (size_t)d.shm_segsz,
           (unsigned)d.shm_perm.mode, (unsigned long)d.shm_nattch, (int)d.shm_perm.__key, yesno(d.shm_cpid == getpid()),
           (int)d.shm_lpid, (long)d.shm_atime);
    printf("owner is me %s creator is me %s ctime set %s\n", yesno(d.shm_perm.uid == geteuid() && d.shm_perm.gid == getegid()),
           yesno(d.shm_perm.cuid == geteuid() && d.shm_perm.cgid == getegid()), yesno(d.shm_ctime > 0));

    /* Attach: zero-filled, nattch 1; a child shares the pages and its attachment counts. */
    char *m = shmat(id, NULL, 0);
    CHECK("shmat", m != (char *)-1);
    CHECK("zero filled", m[0] == 0 && m[9999] == 0);
    printf("nattch after shmat %d\n", nattch(id));
    EXPECT_OK("IPC_STAT", shmctl(id, IPC_STAT, &d));
    printf("lpid is me %s atime set %s\n", yesno(d.shm_lpid == getpid()), yesno(d.shm_atime > 0));
    int up[2], down[2];
    pipe(up);
    pipe(down);
    pid_t p = fork();
    if (p == 0) {
        char c;
        printf("child sees nattch %d\n", nattch(id));
        strcpy(m + 5000, "written by the child");
        write(up[1], "x", 1);
        read(down[0], &c, 1);             /* stays attached until the parent has looked */
        _exit(0);
    }
    char c;
    read(up[0], &c, 1);
    printf("parent reads: %s\n", m + 5000);
    printf("nattch with the child %d\n", nattch(id));
    write(down[1], "y", 1);
    int st;
    waitpid(p, &st, 0);
    printf("nattch after the child exits %d\n", nattch(id));

    /* A second attachment at a chosen, rounded address; read-only one faults on write. */
    char *hint = m + 64 * 4096 * 16 + 123;
    char *m2 = shmat(id, hint, SHM_RND | SHM_RDONLY);
    CHECK("shmat SHM_RND", m2 == (char *)((unsigned long)hint & ~4095UL));
    CHECK("same pages", strcmp(m2 + 5000, "written by the child") == 0);
    printf("nattch with two %d\n", nattch(id));
    signal(SIGSEGV, on_segv);
    int faulted = 0;
    if (sigsetjmp(jb, 1) == 0) { *(volatile char *)m2 = 1; } else faulted = 1;
    printf("write to SHM_RDONLY faults: %s\n", yesno(faulted));
    EXPECT_ERR("shmat unaligned", (long)shmat(id, hint, 0), EINVAL);
    EXPECT_ERR("shmat over a mapping", (long)shmat(id, m2, 0), EINVAL);
    EXPECT_OK("shmdt second", shmdt(m2));
    EXPECT_ERR("shmdt again", shmdt(m2), EINVAL);
    EXPECT_ERR("shmdt inside", shmdt(m + 4096), EINVAL);
    EXPECT_ERR("shmat bad id", (long)shmat(-1, NULL, 0), EINVAL);

    /* IPC_RMID while attached: IPC_STAT still works (SHM_DEST, key private), the memory too. */
    EXPECT_OK("IPC_RMID attached", shmctl(id, IPC_RMID, NULL));
    EXPECT_OK("IPC_STAT after RMID", shmctl(id, IPC_STAT, &d));
    printf("dest %s key %d nattch %lu\n", yesno(d.shm_perm.mode & SHM_DEST), (int)d.shm_perm.__key, (unsigned long)d.shm_nattch);
    printf("still readable: %s\n", m + 5000);
    EXPECT_OK("shmdt last", shmdt(m));
    EXPECT_ERR("IPC_STAT after the last detach", shmctl(id, IPC_STAT, &d), EINVAL);

    /* Keys: IPC_CREAT|IPC_EXCL, lookup, a bigger size, ENOENT. */
    EXPECT_ERR("shmget missing key", shmget(key, 4096, 0600), ENOENT);
    int k = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
    CHECK("shmget new key", k >= 0);
    EXPECT_ERR("shmget IPC_EXCL again", shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    CHECK("shmget finds the key", shmget(key, 100, 0) == k);
    CHECK("shmget IPC_CREAT finds the key", shmget(key, 4096, IPC_CREAT | 0600) == k);
    EXPECT_ERR("shmget bigger size", shmget(key, 8192, 0), EINVAL);
    EXPECT_ERR("shmget size 0", shmget(IPC_PRIVATE, 0, 0600), EINVAL);
    /* IPC_SET changes the mode bits only. */
    EXPECT_OK("IPC_STAT", shmctl(k, IPC_STAT, &d));
    d.shm_perm.mode = 0604 | 01000;
    EXPECT_OK("IPC_SET", shmctl(k, IPC_SET, &d));
    EXPECT_OK("IPC_STAT", shmctl(k, IPC_STAT, &d));
    printf("mode after IPC_SET %o\n", (unsigned)d.shm_perm.mode);
    /* Not attached: IPC_RMID removes it at once and frees the key. */
    EXPECT_OK("IPC_RMID", shmctl(k, IPC_RMID, NULL));
    EXPECT_ERR("IPC_STAT removed", shmctl(k, IPC_STAT, &d), EINVAL);
    EXPECT_ERR("key gone", shmget(key, 4096, 0600), ENOENT);
    EXPECT_ERR("IPC_RMID removed", shmctl(k, IPC_RMID, NULL), EINVAL);
    EXPECT_ERR("shmctl bad cmd", shmctl(id, 99, &d), EINVAL);

    /* An attachment survives until exit: a child attaches and exits without shmdt. */
    int e = shmget(IPC_PRIVATE, 4096, 0600);
    p = fork();
    if (p == 0) { char *x = shmat(e, NULL, 0); strcpy(x, "left attached"); _exit(0); }
    waitpid(p, &st, 0);
    printf("nattch after an exit without shmdt %d\n", nattch(e));
    char *y = shmat(e, NULL, 0);
    printf("data: %s\n", y);
    shmctl(e, IPC_RMID, NULL);
    shmdt(y);
    return finish();
}
