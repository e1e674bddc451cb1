/* Waiting in the file layer: flock without LOCK_NB waits for the holder; a blocking FIFO open waits for the other end. */
#include <stdio.h>
#include <pthread.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>
static int a, b;
static void *holder(void *x) { usleep(30000); flock(a, LOCK_UN); return 0; }
static void *fifowriter(void *x) { usleep(20000); int w = open("/tmp/ff", O_WRONLY); write(w, "hi", 2); close(w); return 0; }
int main(void) {
    a = open("/tmp/lockfile", O_CREAT | O_RDWR, 0600); b = open("/tmp/lockfile", O_RDWR);
    flock(a, LOCK_EX);
    printf("nonblocking flock on a held lock: %s\n", flock(b, LOCK_EX | LOCK_NB) < 0 ? "EWOULDBLOCK" : "got it?");
    pthread_t t; pthread_create(&t, 0, holder, 0);
    printf("blocking flock waits for the holder: %s\n", flock(b, LOCK_EX) == 0 ? "yes" : "no");
    pthread_join(t, 0);
    mkfifo("/tmp/ff", 0600);
    pthread_create(&t, 0, fifowriter, 0);
    int r = open("/tmp/ff", O_RDONLY);
    char buf[8] = {0}; int n = read(r, buf, sizeof buf);
    printf("fifo open waited for the writer, read %d: %s\n", n, buf);
    pthread_join(t, 0);
    unlink("/tmp/ff");
    unlink("/tmp/lockfile");
    return 0;
}
