/* Memory and synchronisation shared between processes: POSIX shared memory (shm_open in
 * /dev/shm), named and process-shared semaphores, memfd and MAP_SHARED anonymous memory
 * across fork, a FIFO between two processes. */
#include "compat.h"
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int child_status(pid_t p)
{
    int st;
    if (waitpid(p, &st, 0) != p) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char name[64];
    snprintf(name, sizeof name, "/compat_shm.%d", (int)getpid());

    /* shm_open: the child writes, the parent reads the same page. */
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK("shm_open", fd >= 0);
    CHECK("ftruncate", ftruncate(fd, 8192) == 0);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK("mmap shared", m != MAP_FAILED);
    pid_t p = fork();
    if (p == 0) { strcpy(m + 4096, "written by the child"); _exit(0); }
    child_status(p);
    printf("parent reads: %s\n", m + 4096);
    int fd2 = shm_open(name, O_RDONLY, 0);
    char buf[32] = { 0 };
    pread(fd2, buf, 20, 4096);
    printf("through a second shm_open: %s\n", buf);
    close(fd2);
    CHECK("shm_unlink", shm_unlink(name) == 0);
    EXPECT_ERR("shm_open after unlink", shm_open(name, O_RDWR, 0), ENOENT);
    munmap(m, 8192);
    close(fd);

    /* A named semaphore: the child posts, the parent waits. */
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    CHECK("sem_open", s != SEM_FAILED);
    p = fork();
    if (p == 0) {
        sem_t *c = sem_open(name, 0);
        usleep(20000);
        sem_post(c);
        _exit(0);
    }
    CHECK("sem_wait returns after the child's post", sem_wait(s) == 0);
    child_status(p);
    int v = -1;
    sem_getvalue(s, &v);
    printf("semaphore value: %d\n", v);
    sem_close(s);
    CHECK("sem_unlink", sem_unlink(name) == 0);

    /* A process-shared unnamed semaphore in MAP_SHARED anonymous memory: a ping-pong. */
    sem_t *pair = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *counter = (int *)(pair + 2);
    sem_init(&pair[0], 1, 0);
    sem_init(&pair[1], 1, 0);
    *counter = 0;
    p = fork();
    if (p == 0) {
        for (int i = 0; i < 100; i++) { sem_wait(&pair[0]); (*counter)++; sem_post(&pair[1]); }
        _exit(0);
    }
    for (int i = 0; i < 100; i++) { sem_post(&pair[0]); sem_wait(&pair[1]); }
    printf("ping-pong rounds: %d, child status %d\n", *counter, child_status(p));

    /* memfd: the mapping and the file are shared with the child. */
    int mfd = memfd_create("compat", 0);
    ftruncate(mfd, 4096);
    int *mm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    *mm = 1;
    p = fork();
    if (p == 0) { *mm = 42; write(mfd, "x", 1); _exit(0); }
    child_status(p);
    printf("memfd after the child: %d, offset %ld\n", *mm, (long)lseek(mfd, 0, SEEK_CUR));
    close(mfd);

    /* A FIFO: a writer process and this reader. */
    char fifo[64];
    snprintf(fifo, sizeof fifo, "/tmp/compat_fifo.%d", (int)getpid());
    CHECK("mkfifo", mkfifo(fifo, 0600) == 0);
    p = fork();
    if (p == 0) {
        int w = open(fifo, O_WRONLY);
        for (int i = 0; i < 10; i++) write(w, "0123456789", 10);
        _exit(0);
    }
    int r = open(fifo, O_RDONLY);
    long total = 0, n;
    while ((n = read(r, buf, sizeof buf)) > 0) total += n;
    close(r);
    printf("through the FIFO: %ld bytes, then EOF\n", total);
    child_status(p);
    unlink(fifo);
    return finish();
}
