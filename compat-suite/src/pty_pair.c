/* pty_pair: /dev/ptmx and devpts as glibc and musl use them: posix_openpt, grantpt,
 * unlockpt, ptsname, openpty, TIOCGPTN/TIOCSPTLCK/TIOCGPTPEER, the slave's stat (136:N,
 * mode 0620, the opener's), /dev/pts listing, isatty and ttyname, the default termios, and
 * the node disappearing when the master closes. Nothing here depends on the host's terminal. */
#include "compat.h"
#include <fcntl.h>
#include <dirent.h>
#include <pty.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static int listed(const char *name)
{
    DIR *d = opendir("/dev/pts");
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)) != NULL) if (strcmp(e->d_name, name) == 0) found = 1;
    closedir(d);
    return found;
}

int main(void)
{
    struct stat st, st2;
    char name[64], buf[64];

    CHECK("/dev/ptmx is a character device 5:2", stat("/dev/ptmx", &st) == 0 && S_ISCHR(st.st_mode)
          && major(st.st_rdev) == 5 && minor(st.st_rdev) == 2);
    CHECK("/dev/pts is a directory", stat("/dev/pts", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK("/dev/pts/ptmx is listed", listed("ptmx"));

    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK("posix_openpt", m >= 0);
    unsigned n = 9999;
    EXPECT_OK("TIOCGPTN", ioctl(m, TIOCGPTN, &n));
    snprintf(name, sizeof name, "/dev/pts/%u", n);
    CHECK("ptsname is /dev/pts/N", ptsname(m) && strcmp(ptsname(m), name) == 0);
    snprintf(buf, sizeof buf, "%u", n);
    CHECK("/dev/pts lists N", listed(buf));
    int lk = -1;
    EXPECT_OK("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lk));
    CHECK("a new pair is locked", lk == 1);
    EXPECT_ERR("open of a locked slave", open(name, O_RDWR | O_NOCTTY), EIO);
    EXPECT_OK("grantpt", grantpt(m));
    EXPECT_OK("unlockpt", unlockpt(m));
    EXPECT_OK("TIOCGPTLCK again", ioctl(m, TIOCGPTLCK, &lk));
    CHECK("unlocked", lk == 0);

    CHECK("stat of the slave", stat(name, &st) == 0);
    CHECK("slave is a character device", S_ISCHR(st.st_mode));
    CHECK("slave major is 136", major(st.st_rdev) == 136);
    CHECK("slave minor is N", minor(st.st_rdev) == n);
    /* 0620 as Debian mounts devpts (gid=5,mode=620); 0600 on a devpts mounted without options */
    CHECK("slave mode is 0620 (or 0600)", (st.st_mode & 07777) == 0620 || (st.st_mode & 07777) == 0600);
    CHECK("slave belongs to the opener", st.st_uid == geteuid());

    int s = open(name, O_RDWR | O_NOCTTY);
    CHECK("open slave", s >= 0);
    CHECK("fstat of the slave is the node", fstat(s, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev
          && st2.st_rdev == st.st_rdev);
    CHECK("isatty(master)", isatty(m) == 1);
    CHECK("isatty(slave)", isatty(s) == 1);
    char *tn = ttyname(s);
    CHECK("ttyname(slave) is ptsname", tn && strcmp(tn, name) == 0);
    char tb[64];
    CHECK("ttyname_r(slave)", ttyname_r(s, tb, sizeof tb) == 0 && strcmp(tb, name) == 0);
    snprintf(buf, sizeof buf, "/proc/self/fd/%d", s);
    ssize_t l = readlink(buf, tb, sizeof tb - 1);
    CHECK("/proc/self/fd of the slave", l > 0 && (tb[l] = 0, strcmp(tb, name) == 0));
    EXPECT_ERR("TIOCGPTN on the slave", ioctl(s, TIOCGPTN, &n), ENOTTY);

    struct termios t;
    EXPECT_OK("tcgetattr(slave)", tcgetattr(s, &t));
    CHECK("default lflag: ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN",
          (t.c_lflag & (ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN)) == (ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN));
    CHECK("default iflag: ICRNL IXON", (t.c_iflag & (ICRNL | IXON)) == (ICRNL | IXON));
    CHECK("default oflag: OPOST ONLCR", (t.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR));
    CHECK("default VINTR VQUIT VERASE VKILL VEOF", t.c_cc[VINTR] == 3 && t.c_cc[VQUIT] == 034 && t.c_cc[VERASE] == 0177
          && t.c_cc[VKILL] == 025 && t.c_cc[VEOF] == 4);
    struct termios tm;
    EXPECT_OK("tcgetattr(master)", tcgetattr(m, &tm));
    CHECK("the master reports the slave's settings", tm.c_lflag == t.c_lflag);
    t.c_lflag &= ~ECHO;
    EXPECT_OK("tcsetattr(master) -ECHO", tcsetattr(m, TCSANOW, &t));
    EXPECT_OK("tcgetattr(slave)", tcgetattr(s, &t));
    CHECK("the slave sees it", !(t.c_lflag & ECHO));

    struct winsize ws = { 0 };
    EXPECT_OK("TIOCGWINSZ", ioctl(s, TIOCGWINSZ, &ws));
    printf("initial size: %dx%d\n", ws.ws_row, ws.ws_col);
    int q = -1;
    EXPECT_OK("TIOCOUTQ", ioctl(s, TIOCOUTQ, &q));
    CHECK("TIOCOUTQ is 0", q == 0);
    EXPECT_OK("FIONREAD master", ioctl(m, FIONREAD, &q));
    CHECK("nothing to read", q == 0);
    EXPECT_ERR("TCFLSH 3", ioctl(m, TCFLSH, 3), EINVAL);
    EXPECT_OK("tcflush", tcflush(s, TCIOFLUSH));
    EXPECT_OK("tcdrain", tcdrain(s));
    EXPECT_ERR("TCXONC 7", ioctl(s, TCXONC, 7), EINVAL);

    fcntl(m, F_SETFL, O_NONBLOCK);
    EXPECT_ERR("nonblocking read of an empty master", read(m, buf, sizeof buf), EAGAIN);

    /* TIOCGPTPEER: the slave without a path */
    int p = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    CHECK("TIOCGPTPEER", p >= 0);
    tn = ttyname(p);
    CHECK("ttyname of the peer is ptsname", tn && strcmp(tn, name) == 0);
    EXPECT_ERR("TIOCGPTPEER on the slave", ioctl(s, TIOCGPTPEER, O_RDWR), EIO);
    close(p);

    /* a second pair gets another number */
    int m2 = posix_openpt(O_RDWR | O_NOCTTY);
    unsigned n2 = n;
    CHECK("second pair", m2 >= 0 && ioctl(m2, TIOCGPTN, &n2) == 0 && n2 != n);
    close(m2);

    /* the node goes with the master, even while the slave is open */
    close(m);
    EXPECT_ERR("stat after the master closed", stat(name, &st), ENOENT);
    snprintf(buf, sizeof buf, "%u", n);
    CHECK("no longer listed", !listed(buf));
    EXPECT_ERR("write to the hung-up slave", write(s, "x", 1), EIO);
    CHECK("read of the hung-up slave is 0", read(s, buf, sizeof buf) == 0);
    close(s);

    /* openpty: glibc and musl each their way */
    int am, as;
    struct winsize w2 = { .ws_row = 33, .ws_col = 77 };
    CHECK("openpty", openpty(&am, &as, name, NULL, &w2) == 0);
    CHECK("openpty's name", strncmp(name, "/dev/pts/", 9) == 0);
    CHECK("openpty set the size", ioctl(as, TIOCGWINSZ, &ws) == 0 && ws.ws_row == 33 && ws.ws_col == 77);
    CHECK("openpty's slave is ttyname's", ttyname(as) && strcmp(ttyname(as), name) == 0);
    write(as, "hi\n", 3);
    char r[8] = { 0 };
    int got = 0;
    while (got < 4) { ssize_t k = read(am, r + got, 4 - got); if (k <= 0) break; got += k; }
    CHECK("slave output reaches the master as hi\\r\\n", got == 4 && memcmp(r, "hi\r\n", 4) == 0);
    close(as); close(am);
    return finish();
}
