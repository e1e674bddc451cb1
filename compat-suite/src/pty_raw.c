/* pty_raw: non-canonical mode: VMIN/VTIME (all four combinations), O_NONBLOCK, poll's
 * readiness with VMIN, no translation with cfmakeraw, ^C as data without ISIG, output
 * stopped with TCXONC and VSTOP/VSTART, TCFLSH. Timings are only lower bounds. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <termios.h>
#include <sys/ioctl.h>

static int m, s;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mode(int min, int time)
{
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    t.c_cc[VMIN] = min;
    t.c_cc[VTIME] = time;
    tcsetattr(s, TCSANOW, &t);
}

/* Waits until the slave holds n bytes (the master's writes reach it asynchronously on Linux). */
static void wait_queued(int n)
{
    int q = -1;
    for (int i = 0; i < 100000; i++) {
        if (ioctl(s, FIONREAD, &q) == 0 && q >= n) return;
        struct pollfd p = { .fd = s, .events = POLLIN };
        poll(&p, 1, 1);
    }
    printf("timed out waiting for %d queued bytes (have %d)\n", n, q);
}

static void show(const char *label, const char *b, long n)
{
    printf("%s: ", label);
    if (n < 0) { printf("%s\n", errname(errno)); return; }
    printf("\"");
    for (long i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c < 32 || c >= 127) printf("\\x%02x", c); else putchar(c);
    }
    printf("\" (%ld)\n", n);
}

int main(void)
{
    char b[64];
    setvbuf(stdout, NULL, _IONBF, 0);
    m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m); unlockpt(m);
    s = open(ptsname(m), O_RDWR | O_NOCTTY);
    CHECK("pair", m >= 0 && s >= 0);

    mode(0, 0);
    double t0 = now();
    show("MIN 0 TIME 0, nothing queued", b, read(s, b, sizeof b));
    write(m, "abc", 3);
    wait_queued(3);
    show("MIN 0 TIME 0, three queued", b, read(s, b, sizeof b));
    CHECK("MIN 0 TIME 0 never waited long", now() - t0 < 5);

    mode(0, 2);
    t0 = now();
    show("MIN 0 TIME 2, nothing comes", b, read(s, b, sizeof b));
    CHECK("waited at least 0.15 s", now() - t0 >= 0.15);
    write(m, "d", 1);
    show("MIN 0 TIME 2, one byte comes", b, read(s, b, sizeof b));

    mode(3, 0);
    write(m, "ef", 2);
    wait_queued(2);
    struct pollfd p = { .fd = s, .events = POLLIN };
    CHECK("poll: two bytes are not VMIN 3", poll(&p, 1, 0) == 0);
    write(m, "g", 1);
    CHECK("poll: the third makes it readable", poll(&p, 1, -1) == 1 && (p.revents & POLLIN));
    show("MIN 3 TIME 0", b, read(s, b, sizeof b));
    write(m, "hijkl", 5);
    wait_queued(5);
    show("MIN 3 TIME 0, read of 2", b, read(s, b, 2));
    show("MIN 3 TIME 0, the rest", b, read(s, b, sizeof b));

    mode(4, 1);
    write(m, "m", 1);
    wait_queued(1);
    t0 = now();
    show("MIN 4 TIME 1, one byte then silence", b, read(s, b, sizeof b));
    CHECK("the inter-byte timer ran", now() - t0 >= 0.05);

    mode(1, 0);
    fcntl(s, F_SETFL, O_NONBLOCK);
    show("MIN 1 nonblocking, empty", b, read(s, b, sizeof b));
    mode(0, 0);
    show("MIN 0 TIME 0 nonblocking, empty", b, read(s, b, sizeof b));
    fcntl(s, F_SETFL, 0);

    /* raw: no translation, no signals, no echo */
    mode(1, 0);
    write(m, "\r\003\177\n", 4);
    wait_queued(4);
    show("raw input", b, read(s, b, sizeof b));
    write(s, "x\ny", 3);
    int got = 0;
    while (got < 3) { ssize_t k = read(m, b + got, 3 - got); if (k <= 0) break; got += k; }
    show("raw output", b, got);
    int q = -1;
    ioctl(m, FIONREAD, &q);
    printf("no echo queued: %d\n", q);

    /* output stopped: the slave's writes wait (nonblocking: EAGAIN) */
    EXPECT_OK("TCOOFF", tcflow(s, TCOOFF));
    fcntl(s, F_SETFL, O_NONBLOCK);
    show("write while stopped", "z", write(s, "z", 1));
    struct pollfd po = { .fd = s, .events = POLLOUT };
    CHECK("not writable while stopped", poll(&po, 1, 0) == 0);
    EXPECT_OK("TCOON", tcflow(s, TCOON));
    show("write after TCOON", "z", write(s, "z", 1));
    fcntl(s, F_SETFL, 0);
    show("master reads it", b, read(m, b, sizeof b));

    /* IXON: VSTOP typed on the master stops output, VSTART starts it */
    struct termios t;
    tcgetattr(s, &t);
    t.c_iflag |= IXON;
    tcsetattr(s, TCSANOW, &t);
    write(m, "\023w", 2);
    wait_queued(1);                      /* "w" came after VSTOP: both were taken */
    CHECK("VSTOP stops output", poll(&po, 1, 0) == 0);
    write(m, "\021", 1);
    CHECK("VSTART starts it", poll(&po, 1, -1) == 1 && (po.revents & POLLOUT));
    q = -1;
    ioctl(s, FIONREAD, &q);
    printf("VSTOP and VSTART are not input: %d\n", q);

    /* TCFLSH */
    write(m, "junk", 4);
    wait_queued(4);
    EXPECT_OK("tcflush(slave, TCIFLUSH)", tcflush(s, TCIFLUSH));
    ioctl(s, FIONREAD, &q);
    printf("queued after TCIFLUSH: %d\n", q);
    write(s, "out", 3);
    struct pollfd pm = { .fd = m, .events = POLLIN };
    poll(&pm, 1, -1);
    EXPECT_OK("tcflush(master, TCIFLUSH)", tcflush(m, TCIFLUSH));
    ioctl(m, FIONREAD, &q);
    printf("master queued after TCIFLUSH: %d\n", q);
    close(s);
    close(m);
    return finish();
}
