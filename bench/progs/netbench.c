/* netbench: the guest side of the network rows (bench/netclient.py drives it from the host
 * through the user network's port forward). One connection at a time; its first line is a
 * command:
 *   sink\n        read to end of input, answer "got BYTES\n"          (host -> guest stream)
 *   source N\n    write N bytes, then close                           (guest -> host stream)
 *   ping\n        answer "pong\n" and close                           (connections per second)
 *   rr\n          answer each 16-byte request with 16 bytes until end (request latency)
 *   mem\n         answer "used_kib K\n": MemTotal - MemFree            (kernel memory in use)
 *   quit\n        answer "bye\n" and exit 0
 *
 *   netbench PORT [ADDR/PREFIX GATEWAY]
 * With an address (the Linux guest, which has no DHCP client in its initramfs) it brings up
 * lo and eth0 with ioctls and adds the default route first; our kernel takes its address
 * from DHCP. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[1 << 16];

static int send_all(int fd, const char *p, long n) {
    while (n > 0) { long w = write(fd, p, n); if (w <= 0) return -1; p += w; n -= w; }
    return 0;
}

static long used_kib(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) { mkdir("/proc", 0555); mount("proc", "/proc", "proc", 0, 0); f = fopen("/proc/meminfo", "r"); }
    char line[128]; long total = -1, free_ = -1, v;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %ld kB", &v) == 1) total = v;
        if (sscanf(line, "MemFree: %ld kB", &v) == 1) free_ = v;
    }
    if (f) fclose(f);
    return total - free_;
}

static void ifup(const char *name, const char *addr, int prefix) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strncpy(r.ifr_name, name, IFNAMSIZ - 1);
    struct sockaddr_in *a = (struct sockaddr_in *)&r.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &a->sin_addr);
    if (ioctl(s, SIOCSIFADDR, &r)) perror("SIOCSIFADDR");
    a->sin_addr.s_addr = htonl(prefix ? 0xffffffffu << (32 - prefix) : 0);
    if (ioctl(s, SIOCSIFNETMASK, &r)) perror("SIOCSIFNETMASK");
    if (ioctl(s, SIOCGIFFLAGS, &r)) perror("SIOCGIFFLAGS");
    r.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &r)) perror("SIOCSIFFLAGS");
    close(s);
}

static void configure(const char *cidr, const char *gw) {
    char addr[32]; int prefix = 24;
    snprintf(addr, sizeof addr, "%s", cidr);
    char *slash = strchr(addr, '/');
    if (slash) { *slash = 0; prefix = atoi(slash + 1); }
    ifup("lo", "127.0.0.1", 8);
    ifup("eth0", addr, prefix);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *d = (struct sockaddr_in *)&rt.rt_dst, *g = (struct sockaddr_in *)&rt.rt_gateway, *m = (struct sockaddr_in *)&rt.rt_genmask;
    d->sin_family = g->sin_family = m->sin_family = AF_INET;
    inet_pton(AF_INET, gw, &g->sin_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    if (ioctl(s, SIOCADDRT, &rt)) perror("SIOCADDRT");
    close(s);
}

/* Reads one line (up to 63 bytes) byte by byte: the rest of the stream stays unread. */
static int read_line(int fd, char *line, int max) {
    int n = 0;
    while (n < max - 1) {
        long r = read(fd, line + n, 1);
        if (r <= 0) return -1;
        if (line[n] == '\n') break;
        n++;
    }
    line[n] = 0;
    return n;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) { fprintf(stderr, "usage: netbench PORT [ADDR/PREFIX GATEWAY]\n"); return 2; }
    if (argc >= 4) configure(argv[2], argv[3]);
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 128)) { perror("listen"); return 1; }
    memset(buf, 'x', sizeof buf);
    printf("netbench listening\n"); fflush(stdout);
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) { perror("accept"); return 1; }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char line[64], out[64];
        if (read_line(c, line, sizeof line) < 0) { close(c); continue; }
        if (!strcmp(line, "sink")) {
            long n, total = 0;
            while ((n = read(c, buf, sizeof buf)) > 0) total += n;
            int m = snprintf(out, sizeof out, "got %ld\n", total);
            send_all(c, out, m);
        } else if (!strncmp(line, "source ", 7)) {
            long left = atol(line + 7);
            while (left > 0) {
                long k = left < (long)sizeof buf ? left : (long)sizeof buf;
                if (send_all(c, buf, k)) break;
                left -= k;
            }
            shutdown(c, SHUT_WR);
            while (read(c, line, sizeof line) > 0) {}
        } else if (!strcmp(line, "ping")) {
            send_all(c, "pong\n", 5);
            while (read(c, line, sizeof line) > 0) {}
        } else if (!strcmp(line, "rr")) {
            /* Each 16-byte request gets its 16-byte answer with one write. */
            char req[16]; int have = 0; long n;
            while ((n = read(c, buf, sizeof buf)) > 0) {
                for (long i = 0; i < n; i++) {
                    req[have++] = buf[i];
                    if (have == 16) { req[0] = 'R'; if (send_all(c, req, 16)) { n = -1; break; } have = 0; }
                }
                if (n < 0) break;
            }
            memset(buf, 'x', sizeof buf);
        } else if (!strcmp(line, "mem")) {
            usleep(100000);                /* an idle moment first: our kernel may collect */
            int m = snprintf(out, sizeof out, "used_kib %ld\n", used_kib());
            send_all(c, out, m);
        } else if (!strcmp(line, "quit")) {
            send_all(c, "bye\n", 4);
            shutdown(c, SHUT_WR);
            while (read(c, line, sizeof line) > 0) {}
            close(c);
            printf("netbench done\n");
            return 0;
        }
        close(c);
    }
}
