/* pty_job: a pty as the controlling terminal of a child session, as script(1) or expect
 * run a program: setsid + open of the slave without O_NOCTTY makes it the session's
 * terminal (tcgetsid, tcgetpgrp, /dev/tty, ttyname), ^C and ^\ typed on the master signal
 * the foreground process group (a grandchild's group after tcsetpgrp, then the child's),
 * TIOCSWINSZ sends SIGWINCH, TIOCSCTTY's rules, and closing the master hangs the slave
 * up (SIGHUP and SIGCONT to the session leader, reads 0, writes EIO, no more /dev/tty).
 * The child reports through one byte per check, so the output order is fixed. */
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <sys/ioctl.h>

static volatile sig_atomic_t got_int, got_quit, got_winch, got_hup, got_cont;
static void on_sig(int sig)
{
    if (sig == SIGINT) got_int++;
    if (sig == SIGQUIT) got_quit++;
    if (sig == SIGWINCH) got_winch++;
    if (sig == SIGHUP) got_hup++;
    if (sig == SIGCONT) got_cont++;
}

static int m;
static char name[64];

static int readn(int fd, char *b, int n)
{
    int got = 0;
    while (got < n) { ssize_t k = read(fd, b + got, n - got); if (k <= 0) break; got += k; }
    return got;
}

/* Reads one report byte per label from the master and prints it as a check. */
static void report(const char **labels, int n)
{
    char b[16];
    int got = readn(m, b, n);
    for (int i = 0; i < n; i++) CHECK(labels[i], i < got && b[i] == '1');
}

static void child(void)
{
    char r[16];
    int k = 0;
    close(m);                                   /* the parent's closing it must be the last */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT); sigaddset(&block, SIGQUIT); sigaddset(&block, SIGWINCH);
    sigaddset(&block, SIGHUP); sigaddset(&block, SIGCONT); sigaddset(&block, SIGTTOU);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGINT, &sa, NULL); sigaction(SIGQUIT, &sa, NULL); sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); sigaction(SIGCONT, &sa, NULL);

    errno = 0;
    int s1 = open(name, O_RDWR | O_NOCTTY);
    r[k++] = ioctl(s1, TIOCSCTTY, 0) < 0 && errno == EPERM ? '1' : '0';   /* not a session leader */
    close(s1);
    setsid();
    errno = 0;
    r[k++] = open("/dev/tty", O_RDWR) < 0 && errno == ENXIO ? '1' : '0';
    int s = open(name, O_RDWR);
    r[k++] = s >= 0 ? '1' : '0';
    r[k++] = tcgetsid(s) == getpid() ? '1' : '0';
    r[k++] = tcgetpgrp(s) == getpid() ? '1' : '0';
    int t = open("/dev/tty", O_RDWR);
    r[k++] = t >= 0 ? '1' : '0';
    char *tn = ttyname(t);
    r[k++] = tn && strcmp(tn, "/dev/tty") == 0 ? '1' : '0';
    r[k++] = ttyname(0) == NULL || strcmp(ttyname(0), name) != 0 ? '1' : '0';
    errno = 0;
    r[k++] = ioctl(s, TIOCSCTTY, 0) == 0 ? '1' : '0';            /* already ours: fine */
    struct termios tio;
    tcgetattr(s, &tio);
    tio.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &tio);
    write(t, r, k);                                              /* 9 bytes through /dev/tty */
    close(t);

    /* a grandchild in its own group takes the foreground */
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        while (!got_int) sigsuspend(&old);
        write(s, "G", 1);
        _exit(0);
    }
    setpgid(g, g);
    k = 0;
    r[k++] = tcsetpgrp(s, g) == 0 ? '1' : '0';
    r[k++] = tcgetpgrp(s) == g ? '1' : '0';
    write(s, r, k);                                              /* 2 bytes */
    int st;
    waitpid(g, &st, 0);
    k = 0;
    r[k++] = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? '1' : '0';
    r[k++] = got_int == 0 ? '1' : '0';
    r[k++] = tcsetpgrp(s, getpid()) == 0 ? '1' : '0';
    write(s, r, k);                                              /* 3 bytes */

    while (!got_int) sigsuspend(&old);
    write(s, "I", 1);
    while (!got_quit) sigsuspend(&old);
    write(s, "Q", 1);
    while (!got_winch) sigsuspend(&old);
    struct winsize ws;
    ioctl(s, TIOCGWINSZ, &ws);
    write(s, ws.ws_row == 30 && ws.ws_col == 100 ? "W" : "w", 1);
    while (!got_hup) sigsuspend(&old);
    /* hung up */
    int bits = 0;
    char b[8];
    if (got_winch == 1) bits |= 1;
    if (got_cont) bits |= 2;
    if (read(s, b, sizeof b) == 0) bits |= 4;
    errno = 0;
    if (write(s, "x", 1) < 0 && errno == EIO) bits |= 8;
    errno = 0;
    if (open("/dev/tty", O_RDWR) < 0 && errno == ENXIO) bits |= 16;
    _exit(bits);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK("posix_openpt", m >= 0);
    grantpt(m); unlockpt(m);
    snprintf(name, sizeof name, "%s", ptsname(m));
    int pg = -1;
    EXPECT_OK("TIOCGPGRP on the master of a pair nobody controls", ioctl(m, TIOCGPGRP, &pg));
    CHECK("it is 0", pg == 0);
    EXPECT_ERR("tcgetsid on it", tcgetsid(m), ENOTTY);
    int s0 = open(name, O_RDWR | O_NOCTTY);
    EXPECT_ERR("tcgetpgrp on a slave that is not our terminal", tcgetpgrp(s0), ENOTTY);

    pid_t c = fork();
    if (c == 0) child();

    static const char *first[] = { "child: TIOCSCTTY by a process that leads no session is EPERM",
        "child: /dev/tty without a terminal is ENXIO", "child: opens the slave", "child: tcgetsid is its pid",
        "child: tcgetpgrp is its pid", "child: /dev/tty opens", "child: ttyname of /dev/tty",
        "child: its stdin is not the pty", "child: TIOCSCTTY of its own terminal" };
    report(first, 9);
    close(s0);              /* kept open until the child had the slave open: else the master reads EIO */
    static const char *fg[] = { "child: tcsetpgrp to the grandchild", "child: tcgetpgrp says so" };
    report(fg, 2);
    int p = 0;
    ioctl(m, TIOCGPGRP, &p);
    CHECK("TIOCGPGRP on the master: the grandchild", p != 0 && p != c);
    CHECK("tcgetsid on the master: the child", tcgetsid(m) == c);
    write(m, "\003", 1);
    char b[8];
    CHECK("^C reached the grandchild", readn(m, b, 1) == 1 && b[0] == 'G');
    static const char *back[] = { "child: grandchild exited", "child: ^C did not reach it", "child: takes the foreground back" };
    report(back, 3);
    write(m, "\003", 1);
    CHECK("^C reached the child", readn(m, b, 1) == 1 && b[0] == 'I');
    write(m, "\034", 1);
    CHECK("^\\ reached the child", readn(m, b, 1) == 1 && b[0] == 'Q');
    struct winsize ws = { .ws_row = 30, .ws_col = 100 };
    EXPECT_OK("TIOCSWINSZ on the master", ioctl(m, TIOCSWINSZ, &ws));
    CHECK("SIGWINCH, and the child sees the size", readn(m, b, 1) == 1 && b[0] == 'W');
    EXPECT_OK("TIOCSWINSZ, same size", ioctl(m, TIOCSWINSZ, &ws));
    close(m);
    int st;
    waitpid(c, &st, 0);
    int bits = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    CHECK("child exited", WIFEXITED(st));
    CHECK("hang-up: one SIGWINCH only (same size sends none)", bits & 1);
    CHECK("hang-up: SIGCONT with SIGHUP", bits & 2);
    CHECK("hang-up: read gives 0", bits & 4);
    CHECK("hang-up: write gives EIO", bits & 8);
    CHECK("hang-up: no controlling terminal left", bits & 16);
    return finish();
}
