/* System V shared memory access checks (Linux's ipcperms): the segment's mode bits for its
 * owner or creator, their group, or others, against the caller's effective ids; IPC_SET and
 * IPC_RMID for the owner or creator only; SHM_LOCK likewise without CAP_IPC_LOCK. Root
 * (CAP_IPC_OWNER) passes every mode check. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

static int id, key;
static const char *r(long v) { return v != -1 ? "ok" : errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" : errno == EINVAL ? "EINVAL" : "other"; }
static const char *at(int shmid, int flags) {
    void *p = shmat(shmid, 0, flags);
    if (p == (void *)-1) return r(-1);
    shmdt(p);
    return "ok";
}
static void as(uid_t u, gid_t g, void (*fn)(void)) {
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { setresgid(g, g, g); setresuid(u, u, u); fn(); fflush(stdout); _exit(0); }
    int st; waitpid(c, &st, 0);
}
static void other(void) {
    struct shmid_ds ds;
    printf("other: shmget(key, 0, 0): %s\n", r(shmget(key, 0, 0)));
    printf("other: shmget(key, 0, 0600): %s\n", r(shmget(key, 0, 0600)));
    printf("other: shmget(key, 0, 0004): %s\n", r(shmget(key, 0, 0004)));
    printf("other: shmat read-only: %s\n", at(id, SHM_RDONLY));
    printf("other: IPC_STAT: %s\n", r(shmctl(id, IPC_STAT, &ds)));
    printf("other: IPC_RMID: %s\n", r(shmctl(id, IPC_RMID, 0)));
    printf("other: SHM_LOCK: %s\n", r(shmctl(id, SHM_LOCK, 0)));
}
static void group(void) {
    printf("group member: shmat read-only: %s\n", at(id, SHM_RDONLY));
    printf("group member: shmat read-write: %s\n", at(id, 0));
}
static void anyone(void) {
    printf("after mode 0666: shmat read-write: %s\n", at(id, 0));
}
static void owner(void) {
    int mine = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0400);
    printf("owner of a 0400 segment: shmat read-write: %s\n", at(mine, 0));
    printf("owner of a 0400 segment: shmat read-only: %s\n", at(mine, SHM_RDONLY));
    struct shmid_ds ds;
    shmctl(mine, IPC_STAT, &ds);
    ds.shm_perm.mode = 0600;
    printf("owner: IPC_SET mode 0600: %s\n", r(shmctl(mine, IPC_SET, &ds)));
    printf("owner: now read-write: %s\n", at(mine, 0));
    printf("owner: IPC_RMID: %s\n", r(shmctl(mine, IPC_RMID, 0)));
}

int main(void) {
    for (int i = 0; i < 100; i++) {
        key = 0x5e000000 | ((getpid() * 131 + i) & 0xffffff);
        id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0640);
        if (id >= 0) break;
    }
    if (id < 0) { printf("shmget failed\n"); return 1; }
    as(1000, 1000, other);
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    ds.shm_perm.gid = 1000;
    shmctl(id, IPC_SET, &ds);
    as(2000, 1000, group);
    ds.shm_perm.mode = 0666;
    shmctl(id, IPC_SET, &ds);
    as(3000, 3000, anyone);
    as(1000, 1000, owner);
    ds.shm_perm.mode = 0;
    shmctl(id, IPC_SET, &ds);
    printf("root: shmat of a mode 0 segment: %s\n", at(id, 0));
    printf("root: IPC_RMID: %s\n", r(shmctl(id, IPC_RMID, 0)));
    return 0;
}
