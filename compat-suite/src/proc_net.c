/* /proc/net/{tcp,tcp6,udp,unix,dev,route} and /proc/sys/net: the headers byte for byte, and
 * the rows of sockets this program opened (found by their ports and inodes; the host's
 * own sockets are skipped), listen backlog capped by somaxconn. */
#include "compat.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static char text[1 << 20];

static int slurp(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) { text[0] = 0; return -1; }
    int n = 0, r;
    while ((r = read(fd, text + n, sizeof text - 1 - n)) > 0) n += r;
    close(fd);
    text[n] = 0;
    return n;
}

static void first_line(const char *path)
{
    if (slurp(path) < 0) { printf("%s: %s\n", path, errname(errno)); compat_failures++; return; }
    char *nl = strchr(text, '\n');
    if (nl) *nl = 0;
    printf("%s header (%zu): [%s]\n", path, strlen(text), text);
}

static void file_text(const char *path)
{
    if (slurp(path) < 0) { printf("%s: %s\n", path, errname(errno)); compat_failures++; return; }
    printf("%s: [", path);
    for (char *p = text; *p; p++) putchar(*p == '\t' ? '|' : *p == '\n' ? '$' : *p);
    printf("]\n");
}

static unsigned long ino_of(int fd) { struct stat st; fstat(fd, &st); return st.st_ino; }

/* Finds the row of tcp/udp whose local port is `port` and remote port `rport`; prints its
 * addresses (ports are ephemeral: not printed), state, queues, whether the inode is the
 * socket's, and the padded width of the line. */
static void tcp_row(const char *file, const char *label, int port, int rport, unsigned long ino, int six)
{
    slurp(file);
    char *line = strchr(text, '\n');
    int found = 0;
    while (line && *++line) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char la[40], ra[40];
        unsigned lp, rp, st, tx, rx, tr, when, retr, uid, to;
        unsigned long in;
        int sl;
        int n = sscanf(line, "%d: %39[0-9A-F]:%X %39[0-9A-F]:%X %X %X:%X %X:%X %X %u %u %lu", &sl, la, &lp, ra, &rp, &st, &tx, &rx,
                       &tr, &when, &retr, &uid, &to, &in);
        /* Ours are on 127.0.0.1, or [::] for the v6 listener: a host socket elsewhere may
         * share a port number. */
        int ours = six ? strspn(la, "0") == 32 : strcmp(la, "0100007F") == 0;
        if (n == 14 && ours && (int)lp == port && (int)rp == rport) {
            found++;
            /* UDP's rx_queue counts Linux's buffer overhead (truesize): only whether it is 0. */
            char rxs[16];
            if (strstr(file, "udp")) snprintf(rxs, sizeof rxs, "%s", rx ? "some" : "0");
            else snprintf(rxs, sizeof rxs, "%u", rx);
            /* The client's 5 bytes may wait for a delayed ACK (Linux acks at once in its
             * quickack start; our stack acks every second segment or after 40 ms). */
            char txs[16];
            if (strcmp(label, "client") == 0 && tx == 5) tx = 0;
            snprintf(txs, sizeof txs, "%u", tx);
            printf("%s %s: local=%s rem=%s st=%02X tx=%s rx=%s inode=%s width=%zu\n", file, label, la, ra, st, txs, rxs,
                   yesno(in == ino), six ? 0 : len);
        }
        line = end;
    }
    if (found != 1) { printf("%s %s: found %d\n", file, label, found); compat_failures++; }
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    file_text("/proc/sys/net/core/somaxconn");
    file_text("/proc/sys/net/ipv4/ip_local_port_range");
    first_line("/proc/net/tcp");
    first_line("/proc/net/tcp6");
    first_line("/proc/net/udp");
    first_line("/proc/net/udp6");
    first_line("/proc/net/unix");
    first_line("/proc/net/route");
    slurp("/proc/net/dev");
    char *second = strchr(text, '\n');
    if (second) { char *e = strchr(second + 1, '\n'); if (e) *e = 0; }
    printf("/proc/net/dev header: [%.*s] [%s]\n", (int)(strchr(text, '\n') - text), text, second ? second + 1 : "");
    slurp("/proc/net/dev");
    CHECK("/proc/net/dev has lo", strstr(text, "\n    lo:") != NULL);

    /* A listener on 127.0.0.1, one connection to it not yet accepted, 5 bytes unread. */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 100000) < 0) { perror("listen"); return 2; }
    getsockname(ls, (struct sockaddr *)&a, &alen);
    int port = ntohs(a.sin_port);
    tcp_row("/proc/net/tcp", "listener", port, 0, ino_of(ls), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 2; }
    struct sockaddr_in ca;
    alen = sizeof ca;
    getsockname(c, (struct sockaddr *)&ca, &alen);
    int cport = ntohs(ca.sin_port);
    if (write(c, "hello", 5) != 5) { perror("write"); return 2; }
    tcp_row("/proc/net/tcp", "listener with one queued", port, 0, ino_of(ls), 0);
    tcp_row("/proc/net/tcp", "client", cport, port, ino_of(c), 0);
    int s = accept(ls, NULL, NULL);
    tcp_row("/proc/net/tcp", "server", port, cport, ino_of(s), 0);
    char buf[8];
    if (read(s, buf, 5) != 5) { perror("read"); return 2; }
    tcp_row("/proc/net/tcp", "server after read", port, cport, ino_of(s), 0);

    /* AF_INET6 on [::]: listed in tcp6, not tcp. */
    int l6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
    alen = sizeof a6;
    if (bind(l6, (struct sockaddr *)&a6, sizeof a6) < 0 || listen(l6, 1) < 0) { perror("listen6"); return 2; }
    getsockname(l6, (struct sockaddr *)&a6, &alen);
    int port6 = ntohs(a6.sin6_port);
    tcp_row("/proc/net/tcp6", "listener", port6, 0, ino_of(l6), 1);
    slurp("/proc/net/tcp");
    char pat[24];
    snprintf(pat, sizeof pat, " 00000000:%04X ", port6);     /* 0.0.0.0:port6, where a dual-stack listener would show */
    CHECK("v6 listener not in tcp", strstr(text, pat) == NULL);

    /* UDP: unconnected (07), then connected (01). */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    alen = sizeof ua;
    bind(u, (struct sockaddr *)&ua, sizeof ua);
    getsockname(u, (struct sockaddr *)&ua, &alen);
    int uport = ntohs(ua.sin_port);
    tcp_row("/proc/net/udp", "unconnected", uport, 0, ino_of(u), 0);
    sendto(u, "x", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    tcp_row("/proc/net/udp", "one datagram queued", uport, 0, ino_of(u), 0);
    connect(u, (struct sockaddr *)&a, sizeof a);
    tcp_row("/proc/net/udp", "connected", uport, port, ino_of(u), 0);

    /* A listening AF_UNIX socket with an abstract name. */
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    char name[64];
    snprintf(name, sizeof name, "compat-proc-net-%d", (int)getpid());
    memcpy(sun.sun_path + 1, name, strlen(name));
    if (bind(us, (struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name)) < 0 || listen(us, 1) < 0) {
        perror("unix"); return 2;
    }
    slurp("/proc/net/unix");
    char want[80];
    snprintf(want, sizeof want, " @%s\n", name);
    char *row = strstr(text, want);
    if (row) {
        while (row > text && row[-1] != '\n') row--;
        unsigned long refcnt, proto, flags, type, st, in;
        char ptr[40];
        int n = sscanf(row, "%39[0-9a-f]: %lX %lX %lX %lX %lX %lu", ptr, &refcnt, &proto, &flags, &type, &st, &in);
        printf("unix row: n=%d proto=%lu flags=%08lX type=%04lX st=%02lX inode=%s\n", n, proto, flags, type, st,
               yesno(in == ino_of(us)));
    } else { printf("unix row: missing\n"); compat_failures++; }

    /* listen(2)'s backlog is capped at somaxconn: SYN flood aside, invisible but for this. */
    int one = 1;
    CHECK("sockets still fine", setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    close(c); close(s); close(ls); close(l6); close(u); close(us);
    return finish();
}
