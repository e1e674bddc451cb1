/* /proc/self/task: one directory per thread; a thread blocked in read() shows state S in its
 * task/TID/stat and status, and its status names its tid as Pid. */
#include <stdio.h>
#include <pthread.h>
#include <unistd.h>
#include <dirent.h>
#include <string.h>
#include <stdlib.h>
#include <sys/syscall.h>
static int pfd[2]; static volatile long tid2;
static void *blk(void *a) { char c; tid2 = syscall(SYS_gettid); read(pfd[0], &c, 1); return 0; }
int main(void) {
    pipe(pfd); pthread_t t; pthread_create(&t, 0, blk, 0);
    while (!tid2) usleep(1000);
    char path[64], buf[512];
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid2);
        FILE *f = fopen(path, "r"); if (!f) { printf("no %s\n", path); return 1; }
        fgets(buf, sizeof buf, f); fclose(f);
        char *p = strrchr(buf, ')');
        if (p[2] == 'S') break;
        usleep(1000);
    }
    char *p = strrchr(buf, ')'); printf("blocked thread state %c\n", p[2]);
    int n = 0; DIR *d = opendir("/proc/self/task"); struct dirent *e;
    while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
    printf("threads listed %d\n", n);
    snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid2);
    FILE *f = fopen(path, "r"); while (fgets(buf, sizeof buf, f)) if (!strncmp(buf, "State:", 6) || !strncmp(buf, "Pid:", 4)) { if (buf[0]=='P') printf("Pid is tid: %d\n", atol(buf+5) == tid2); else fputs(buf, stdout); }
    write(pfd[1], "x", 1); pthread_join(t, 0);
    return 0;
}
