/* POSIX record locks between processes (fcntl F_SETLK, F_SETLKW, F_GETLK): a lock held by
 * the parent conflicts with the child's, F_GETLK names the holder, F_SETLKW waits for the
 * release, and closing any descriptor of the file or exiting releases the process's locks.
 * OFD locks conflict with POSIX ones. */
#include "compat.h"
#include <fcntl.h>
#include <sys/wait.h>

static int lock(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    return fcntl(fd, cmd, &fl);
}

static int status_of(pid_t p)
{
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    char path[64];
    snprintf(path, sizeof path, "/tmp/compat_locks.%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(fd, "0123456789", 10);
    CHECK("parent write-locks [0,5)", lock(fd, F_SETLK, F_WRLCK, 0, 5) == 0);
    CHECK("its own lock never conflicts", lock(fd, F_SETLK, F_RDLCK, 0, 10) == 0 && lock(fd, F_SETLK, F_WRLCK, 0, 5) == 0);
    pid_t parent = getpid();
    pid_t p = fork();
    if (p == 0) {
        int r = 0;
        if (!(lock(fd, F_SETLK, F_WRLCK, 0, 1) < 0 && (errno == EAGAIN || errno == EACCES))) r |= 1;
        if (lock(fd, F_SETLK, F_RDLCK, 5, 5) != 0) r |= 2;                 /* read locks share [5,10) */
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 1 };
        if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type != F_WRLCK || fl.l_pid != parent || fl.l_start != 0 || fl.l_len != 5) r |= 4;
        _exit(r);
    }
    printf("child against the parent's lock: %d\n", status_of(p));
    /* The child's lock on [5,10) went with its exit. */
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 5 };
    fcntl(fd, F_GETLK, &fl);
    printf("after the child exited, [5,10): %s\n", fl.l_type == F_UNLCK ? "unlocked" : "locked");

    /* F_SETLKW waits until the parent unlocks. */
    int pipefd[2];
    pipe(pipefd);
    p = fork();
    if (p == 0) {
        close(pipefd[0]);
        write(pipefd[1], "w", 1);
        int r = lock(fd, F_SETLKW, F_WRLCK, 0, 5);
        write(pipefd[1], "g", 1);
        _exit(r == 0 ? 0 : 1);
    }
    close(pipefd[1]);
    char c = 0;
    read(pipefd[0], &c, 1);
    usleep(50000);
    CHECK("unlock", lock(fd, F_SETLK, F_UNLCK, 0, 0) == 0);
    read(pipefd[0], &c, 1);
    printf("the waiter got the lock: %c, status %d\n", c, status_of(p));
    close(pipefd[0]);

    /* Closing another descriptor of the same file drops the process's locks. */
    CHECK("lock again", lock(fd, F_SETLK, F_WRLCK, 0, 0) == 0);
    int fd2 = open(path, O_RDONLY);
    close(fd2);
    p = fork();
    if (p == 0) _exit(lock(fd, F_SETLK, F_WRLCK, 0, 0) == 0 ? 0 : 1);
    printf("after closing another descriptor, the child can lock: %s\n", status_of(p) == 0 ? "yes" : "no");

    /* An OFD lock conflicts with a POSIX lock of another process. */
    CHECK("POSIX lock", lock(fd, F_SETLK, F_WRLCK, 0, 1) == 0);
    p = fork();
    if (p == 0) {
        int ofd = open(path, O_RDWR);
        int r = lock(ofd, F_OFD_SETLK, F_WRLCK, 0, 1);
        _exit(r < 0 && errno == EAGAIN ? 0 : 1);
    }
    printf("OFD against POSIX: %s\n", status_of(p) == 0 ? "EAGAIN" : "granted");
    close(fd);
    unlink(path);
    return finish();
}
