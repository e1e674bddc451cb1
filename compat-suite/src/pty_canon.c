/* pty_canon: the line discipline in canonical mode, driven through the master as a terminal
 * emulator would: a line typed comes back as echo (ONLCR: \r\n) and is read whole by the
 * slave; VERASE, VKILL, VWERASE, VEOF, VLNEXT, ICRNL/INLCR/IGNCR, ECHONL, ECHOCTL, a line read
 * in pieces, OPOST/ONLCR on the slave's output, FIONREAD, and poll on both ends. */
#include "compat.h"
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <sys/ioctl.h>

static int m, s;

static void show(const char *label, const char *b, int n)
{
    printf("%s: \"", label);
    for (int i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c == '\n') printf("\\n");
        else if (c == '\r') printf("\\r");
        else if (c == '\b') printf("\\b");
        else if (c < 32 || c >= 127) printf("\\x%02x", c);
        else putchar(c);
    }
    printf("\" (%d)\n", n);
}

/* Reads exactly n bytes of echo (or output) from the master. */
static void master_expect(const char *label, int n)
{
    char b[512];
    int got = 0;
    while (got < n) {
        ssize_t k = read(m, b + got, n - got);
        if (k <= 0) break;
        got += k;
    }
    show(label, b, got);
}

/* Types `in` on the master, reads one line (one read) from the slave, then the echo. */
static void line(const char *label, const char *in, int inlen, int echolen)
{
    char b[512], l[128];
    write(m, in, inlen);
    ssize_t k = read(s, b, sizeof b);
    snprintf(l, sizeof l, "%s: read", label);
    show(l, b, k < 0 ? 0 : (int)k);
    snprintf(l, sizeof l, "%s: echo", label);
    master_expect(l, echolen);
}

static void setl(tcflag_t on, tcflag_t off)
{
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag = (t.c_lflag | on) & ~off;
    tcsetattr(s, TCSANOW, &t);
}

static void seti(tcflag_t on, tcflag_t off)
{
    struct termios t;
    tcgetattr(s, &t);
    t.c_iflag = (t.c_iflag | on) & ~off;
    tcsetattr(s, TCSANOW, &t);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK("posix_openpt", m >= 0);
    grantpt(m); unlockpt(m);
    s = open(ptsname(m), O_RDWR | O_NOCTTY);
    CHECK("open slave", s >= 0);

    struct pollfd p = { .fd = s, .events = POLLIN };
    CHECK("slave not readable before a line", poll(&p, 1, 0) == 0);
    write(m, "par", 3);
    master_expect("partial line echo", 3);
    CHECK("still not readable without a newline", poll(&p, 1, 0) == 0);
    int q = -1;
    ioctl(s, FIONREAD, &q);
    printf("FIONREAD of a partial line: %d\n", q);
    line("rest of the line", "tial\n", 5, 6);

    line("hello", "hello\n", 6, 7);
    line("erase", "abX\177c\n", 6, 9);
    line("erase past the start", "\177\177x\n", 4, 3);
    line("kill (ECHOKE)", "xyz\025ok\n", 7, 16);
    line("word erase", "one two\027three\n", 14, 23);
    line("control char echo", "a\001\n", 3, 5);
    line("lnext", "\026\003\n", 3, 6);
    line("CR is NL (ICRNL)", "cr\r", 3, 4);
    line("EOF after text", "ab\004", 3, 2);
    line("EOF alone", "\004", 1, 0);

    /* a line read in pieces */
    write(m, "longline\n", 9);
    master_expect("long line echo", 10);
    char b[64];
    ssize_t k = read(s, b, 4);
    show("first 4", b, (int)k);
    k = read(s, b, sizeof b);
    show("then", b, (int)k);

    /* two lines queued: one read returns one line */
    write(m, "l1\nl2\n", 6);
    master_expect("two lines echo", 8);
    ioctl(s, FIONREAD, &q);
    printf("FIONREAD with two lines: %d\n", q);
    k = read(s, b, sizeof b);
    show("line one", b, (int)k);
    k = read(s, b, sizeof b);
    show("line two", b, (int)k);

    /* ECHOKE off: kill echoes ^U and a newline (ECHOK) */
    setl(0, ECHOKE);
    line("kill (ECHOK)", "zz\025y\n", 5, 9);
    setl(ECHOKE, 0);
    /* ECHOE off: erase echoes the erase character */
    setl(0, ECHOE);
    line("erase (no ECHOE)", "ab\177\n", 4, 6);
    setl(ECHOE, 0);

    /* ECHO off, ECHONL on */
    setl(ECHONL, ECHO);
    line("ECHONL", "secret\n", 7, 2);
    setl(ECHO, ECHONL);

    /* INLCR / IGNCR */
    seti(IGNCR, 0);
    line("IGNCR", "a\rb\n", 4, 4);
    seti(INLCR, IGNCR | ICRNL);
    write(m, "x\n", 2);
    master_expect("INLCR: echo", 3);
    seti(ICRNL, INLCR);
    write(m, "\n", 1);
    k = read(s, b, sizeof b);
    show("INLCR: read (NL became CR, then a real NL)", b, (int)k);
    master_expect("and its echo", 2);

    /* output processing */
    write(s, "a\nb\n", 4);
    master_expect("ONLCR", 6);
    struct termios t;
    tcgetattr(s, &t);
    t.c_oflag &= ~OPOST;
    tcsetattr(s, TCSANOW, &t);
    write(s, "a\nb\n", 4);
    master_expect("no OPOST", 4);
    t.c_oflag |= OPOST | OCRNL;
    tcsetattr(s, TCSANOW, &t);
    write(s, "c\r", 2);
    master_expect("OCRNL", 2);

    struct pollfd pm = { .fd = m, .events = POLLIN | POLLOUT };
    CHECK("master writable, nothing to read", poll(&pm, 1, 0) == 1 && pm.revents == POLLOUT);
    write(s, "z", 1);
    CHECK("master readable after a slave write", poll(&pm, 1, -1) == 1 && (pm.revents & POLLIN));
    ioctl(m, FIONREAD, &q);
    printf("FIONREAD master: %d\n", q);
    master_expect("z", 1);

    /* ICANON off: what was typed becomes readable */
    write(m, "pend", 4);
    master_expect("pending echo", 4);
    setl(0, ICANON);
    k = read(s, b, sizeof b);
    show("read after leaving canonical mode", b, (int)k);
    close(s);
    close(m);
    return finish();
}
