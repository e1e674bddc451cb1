/* /init for the Linux comparison guest. Linux panics if init exits, so this
 * wrapper gives the workload a console, fork+execs it (the workload binary is
 * byte-identical to the one our kernel runs), waits, prints its exit status
 * between markers that linux-guest.sh parses, then the guest's memory in use
 * (MemTotal - MemAvailable from /proc/meminfo, after the workload exited) on a
 * line of its own, and powers the machine off. Kernel modules in /modules (put there by
 * linux-guest.sh for LG_MODULES, named NN-NAME.ko so name order is load order) are loaded
 * first with finit_module, and devtmpfs is then mounted on /dev so their devices appear.
 * When a network interface eth0 exists (virtio_net among the modules), lo and eth0 come up
 * with QEMU's user-network address, 10.0.2.15/24 (what our kernel gets by DHCP there).
 *
 *   /init [WORKLOAD [ARGS...]]   (args come from the kernel command line
 *                                 after "--"; default workload /workload) */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *s) { (void)!write(1, s, strlen(s)); }

/* "@@UKBENCH-MEM used_kib=U total_kib=T@@": MemTotal - MemAvailable, MemTotal. */
static void meminfo(void) {
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, 0);
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return;
    char line[128];
    long total = -1, avail = -1, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %ld kB", &v) == 1) total = v;
        else if (sscanf(line, "MemAvailable: %ld kB", &v) == 1) avail = v;
    }
    fclose(f);
    if (total < 0 || avail < 0) return;
    char buf[96];
    snprintf(buf, sizeof buf, "@@UKBENCH-MEM used_kib=%ld total_kib=%ld@@\n", total - avail, total);
    say(buf);
}

static void console(void) {
    if (fcntl(1, F_GETFD) >= 0) return;          /* kernel opened /dev/console */
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    int fd = open("/dev/console", O_RDWR);
    if (fd < 0) return;
    for (int i = 0; i < 3; i++) if (fd != i) dup2(fd, i);
    if (fd > 2) close(fd);
}

static int byname(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }
static int isko(const struct dirent *d) { size_t n = strlen(d->d_name); return n > 3 && !strcmp(d->d_name + n - 3, ".ko"); }

static void modules(void) {
    struct dirent **e;
    int n = scandir("/modules", &e, isko, byname);
    if (n <= 0) return;
    char path[300], buf[400];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/modules/%s", e[i]->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0) {
            snprintf(buf, sizeof buf, "init: loading %s: %s\n", path, strerror(errno));
            say(buf);
        }
        if (fd >= 0) close(fd);
        free(e[i]);
    }
    free(e);
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
}

/* Brings interface `name` up, with address/mask if given (SIOCSIFADDR, SIOCSIFNETMASK). */
static void ifup(int s, const char *name, const char *addr, const char *mask) {
    struct ifreq r;
    struct sockaddr_in *a = (struct sockaddr_in *)&r.ifr_addr;
    if (addr) {
        memset(&r, 0, sizeof r); strncpy(r.ifr_name, name, IFNAMSIZ - 1);
        a->sin_family = AF_INET; inet_pton(AF_INET, addr, &a->sin_addr);
        if (ioctl(s, SIOCSIFADDR, &r)) say("init: SIOCSIFADDR failed\n");
        memset(&r, 0, sizeof r); strncpy(r.ifr_name, name, IFNAMSIZ - 1);
        a->sin_family = AF_INET; inet_pton(AF_INET, mask, &a->sin_addr);
        if (ioctl(s, SIOCSIFNETMASK, &r)) say("init: SIOCSIFNETMASK failed\n");
    }
    memset(&r, 0, sizeof r); strncpy(r.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &r) == 0) {
        r.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &r)) say("init: SIOCSIFFLAGS failed\n");
    }
}

static void network(void) {
    if (if_nametoindex("eth0") == 0) return;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return;
    ifup(s, "lo", 0, 0);
    ifup(s, "eth0", "10.0.2.15", "255.255.255.0");
    close(s);
}

int main(int argc, char **argv) {
    console();
    /* What the workloads expect, as under our kernel: /proc, and a tmpfs /tmp. */
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, 0);
    mkdir("/tmp", 01777);
    mount("tmpfs", "/tmp", "tmpfs", 0, 0);
    char *dflt[] = { "/workload", 0 };
    char **wargv = argc > 1 ? argv + 1 : dflt;
    say("\n@@UKBENCH-BEGIN@@\n");
    modules();   /* after the marker, so a failure shows in the workload's output */
    network();
    pid_t pid = fork();
    if (pid == 0) {
        char *envp[] = { "PATH=/", "HOME=/", 0 };
        execve(wargv[0], wargv, envp);
        say("init: execve failed\n");
        _exit(127);
    }
    int st = 0, rc = 127;
    if (pid > 0 && waitpid(pid, &st, 0) == pid)
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char buf[64];
    snprintf(buf, sizeof buf, "@@UKBENCH-END rc=%d@@\n", rc);
    say(buf);
    meminfo();
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause();
}
