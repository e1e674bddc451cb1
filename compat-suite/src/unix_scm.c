/* unix_scm: ancillary data over AF_UNIX: SCM_RIGHTS (passing open files, several per
 * message, MSG_CTRUNC and the files that did not fit being closed, MSG_PEEK, MSG_CMSG_CLOEXEC,
 * stream boundaries at passed files), SCM_CREDENTIALS (sending explicit credentials and
 * their checks), and malformed control data. sendmsg goes through syscall(): musl refuses
 * large control buffers itself (ENOMEM). */
#include "compat.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

static long send_fds(int s, const char *data, size_t len, const int *fds, int nfds)
{
    char ctl[CMSG_SPACE(sizeof(int) * 300)];
    struct iovec io = {(void *)data, len};
    struct msghdr m = {0};
    m.msg_iov = &io; m.msg_iovlen = 1;
    if (nfds > 0) {
        memset(ctl, 0, sizeof ctl);
        m.msg_control = ctl;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(h), fds, sizeof(int) * nfds);
    }
    return syscall(SYS_sendmsg, s, &m, 0);
}

/* Receives into buf; fills fds with the descriptors received; returns bytes or -1. */
static long recv_fds(int s, char *buf, size_t len, int *fds, int *nfds, size_t ctllen, int flags, int *mflags)
{
    char ctl[4096];
    struct iovec io = {buf, len};
    struct msghdr m = {0};
    m.msg_iov = &io; m.msg_iovlen = 1;
    m.msg_control = ctllen ? ctl : NULL; m.msg_controllen = ctllen;
    long r = recvmsg(s, &m, flags);
    *nfds = 0;
    if (r < 0) return r;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
            int k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds + *nfds, CMSG_DATA(h), k * sizeof(int));
            *nfds += k;
        }
    *mflags = m.msg_flags;
    return r;
}

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    int sv[2], p[2], fds[300], n, mf;
    char buf[64];

    /* the most descriptors one message can carry */
    int mv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, mv);
    int many[254];
    int devnull = open("/dev/null", O_RDONLY);
    for (int i = 0; i < 254; i++) many[i] = devnull;
    EXPECT_ERR("254 descriptors", send_fds(mv[0], "e", 1, many, 254), EINVAL);
    EXPECT_ERR("253 descriptors", send_fds(mv[0], "e", 1, many, 253), 0);
    EXPECT_ERR("receive 253", recv_fds(mv[1], buf, sizeof buf, fds, &n, 4096, 0, &mf), 0);
    printf("received %d\n", n);
    for (int i = 0; i < n; i++) close(fds[i]);

    close(mv[0]); close(mv[1]); close(devnull);

    /* one pipe end through a stream pair */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    EXPECT_ERR("send read end", send_fds(sv[0], "F", 1, &p[0], 1), 0);
    close(p[0]);
    EXPECT_ERR("receive it", recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, 0, &mf), 0);
    printf("fds received %d, flags %#x\n", n, mf);
    CHECK("one descriptor", n == 1);
    write(p[1], "via pipe", 8);
    memset(buf, 0, sizeof buf);
    EXPECT_ERR("read through the passed file", read(fds[0], buf, sizeof buf), 0);
    printf("data: %s\n", buf);
    CHECK("not close-on-exec", fcntl(fds[0], F_GETFD) == 0);
    close(fds[0]);
    EXPECT_ERR("writer sees no reader now", write(p[1], "x", 1), EPIPE);
    close(p[1]);

    /* several files, MSG_CMSG_CLOEXEC */
    int three[3];
    three[0] = open("/", O_RDONLY | O_DIRECTORY);
    pipe(p);
    three[1] = p[0]; three[2] = p[1];
    EXPECT_ERR("send three", send_fds(sv[0], "3", 1, three, 3), 0);
    EXPECT_ERR("receive three", recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, MSG_CMSG_CLOEXEC, &mf), 0);
    printf("received %d\n", n);
    CHECK("all close-on-exec", n == 3 && fcntl(fds[0], F_GETFD) == FD_CLOEXEC && fcntl(fds[2], F_GETFD) == FD_CLOEXEC);
    struct stat st;
    fstat(fds[0], &st);
    CHECK("first is the directory", S_ISDIR(st.st_mode));
    write(fds[2], "p", 1);
    CHECK("pipe ends work", read(p[0], buf, 1) == 1);
    for (int i = 0; i < n; i++) close(fds[i]);

    /* control buffer with room for one descriptor: MSG_CTRUNC, the others closed */
    EXPECT_ERR("send three again", send_fds(sv[0], "T", 1, three, 3), 0);
    close(p[0]);
    EXPECT_ERR("receive into CMSG_LEN(4)", recv_fds(sv[1], buf, sizeof buf, fds, &n, CMSG_LEN(sizeof(int)), 0, &mf), 0);
    printf("received %d, MSG_CTRUNC %d\n", n, !!(mf & MSG_CTRUNC));
    EXPECT_ERR("the read end did not fit and was closed", write(p[1], "x", 1), EPIPE);
    for (int i = 0; i < n; i++) close(fds[i]);

    /* no room at all, and no control buffer */
    pipe(p);
    send_fds(sv[0], "Z", 1, &p[0], 1);
    close(p[0]);
    EXPECT_ERR("receive with controllen 16", recv_fds(sv[1], buf, sizeof buf, fds, &n, sizeof(struct cmsghdr), 0, &mf), 0);
    printf("received %d, MSG_CTRUNC %d\n", n, !!(mf & MSG_CTRUNC));
    EXPECT_ERR("file closed", write(p[1], "x", 1), EPIPE);
    close(p[1]);
    pipe(p);
    send_fds(sv[0], "N", 1, &p[0], 1);
    close(p[0]);
    EXPECT_ERR("plain recv drops the file", recv(sv[1], buf, sizeof buf, 0), 0);
    EXPECT_ERR("file closed again", write(p[1], "x", 1), EPIPE);
    close(p[1]);

    /* stream boundaries: data with files is not merged with what follows */
    pipe(p);
    send_fds(sv[0], "ab", 2, &p[0], 1);
    send(sv[0], "cd", 2, 0);
    EXPECT_ERR("recv stops after the files' data", recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, 0, &mf), 0);
    printf("files %d\n", n);
    close(fds[0]);
    send(sv[0], "ef", 2, 0);
    send_fds(sv[0], "gh", 2, &p[0], 1);
    EXPECT_ERR("plain data runs into the next files' data", recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, 0, &mf), 0);
    printf("files %d\n", n);
    for (int i = 0; i < n; i++) close(fds[i]);

    /* MSG_PEEK duplicates */
    send_fds(sv[0], "pk", 2, &p[0], 1);
    EXPECT_ERR("peek", recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, MSG_PEEK, &mf), 0);
    int peeked = n ? fds[0] : -1;
    EXPECT_ERR("receive", recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, 0, &mf), 0);
    CHECK("two different descriptors", peeked >= 0 && n == 1 && fds[0] != peeked && is_open(peeked));
    close(peeked); close(fds[0]);
    close(p[0]); close(p[1]);

    /* a socket passed over a socket */
    int inner[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, inner);
    send_fds(sv[0], "S", 1, &inner[1], 1);
    close(inner[1]);
    recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, 0, &mf);
    send(inner[0], "through", 7, 0);
    EXPECT_ERR("passed socket receives", recv(fds[0], buf, sizeof buf, 0), 0);
    close(fds[0]); close(inner[0]);

    /* datagrams carry files too, and closing with files queued releases them */
    int dv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, dv);
    pipe(p);
    EXPECT_ERR("dgram with a file", send_fds(dv[0], "D", 1, &p[0], 1), 0);
    close(p[0]);
    close(dv[1]);
    close(dv[0]);
    EXPECT_ERR("queued file released on close", write(p[1], "x", 1), EPIPE);
    close(p[1]);

    /* an O_PATH descriptor passes too */
    int op = open("/tmp", O_PATH);
    EXPECT_ERR("send an O_PATH descriptor", send_fds(sv[0], "O", 1, &op, 1), 0);
    EXPECT_ERR("receive it", recv_fds(sv[1], buf, sizeof buf, fds, &n, 256, 0, &mf), 0);
    CHECK("still O_PATH", n == 1 && (fcntl(fds[0], F_GETFL) & O_PATH) != 0);
    if (n == 1) close(fds[0]);
    close(op);

    /* errors in control data */
    int bad = 999;
    EXPECT_ERR("SCM_RIGHTS bad fd", send_fds(sv[0], "e", 1, &bad, 1), EBADF);
    char ctl[256];
    struct iovec io = {"e", 1};
    struct msghdr m = {0};
    m.msg_iov = &io; m.msg_iovlen = 1; m.msg_control = ctl;
    struct cmsghdr *h = (struct cmsghdr *)ctl;
    memset(ctl, 0, sizeof ctl);
    h->cmsg_len = 8; h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS;
    m.msg_controllen = CMSG_SPACE(0);
    EXPECT_ERR("cmsg_len below the header", syscall(SYS_sendmsg, sv[0], &m, 0), EINVAL);
    h->cmsg_len = 64;
    m.msg_controllen = 32;
    EXPECT_ERR("cmsg_len past the buffer", syscall(SYS_sendmsg, sv[0], &m, 0), EINVAL);
    h->cmsg_len = CMSG_LEN(4); h->cmsg_type = 77;
    m.msg_controllen = CMSG_SPACE(4);
    EXPECT_ERR("unknown SOL_SOCKET type", syscall(SYS_sendmsg, sv[0], &m, 0), EINVAL);
    h->cmsg_level = 0; h->cmsg_type = 1;
    EXPECT_ERR("other level ignored", syscall(SYS_sendmsg, sv[0], &m, 0), 0);
    h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(0);
    m.msg_controllen = CMSG_SPACE(0);
    EXPECT_ERR("SCM_RIGHTS with no descriptors", syscall(SYS_sendmsg, sv[0], &m, 0), 0);
    m.msg_controllen = 12;
    EXPECT_ERR("control shorter than a header is ignored", syscall(SYS_sendmsg, sv[0], &m, 0), 0);
    m.msg_controllen = 1 << 20;
    EXPECT_ERR("control over optmem_max", syscall(SYS_sendmsg, sv[0], &m, 0), ENOBUFS);
    while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0) {}

    /* SCM_CREDENTIALS */
    struct ucred uc = {getpid(), getuid(), getgid()};
    h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_CREDENTIALS; h->cmsg_len = CMSG_LEN(sizeof uc);
    memcpy(CMSG_DATA(h), &uc, sizeof uc);
    m.msg_controllen = CMSG_SPACE(sizeof uc);
    EXPECT_ERR("explicit credentials", syscall(SYS_sendmsg, sv[0], &m, 0), 0);
    struct ucred other = {999999, getuid(), getgid()};
    memcpy(CMSG_DATA(h), &other, sizeof other);
    EXPECT_ERR("credentials of a missing pid", syscall(SYS_sendmsg, sv[0], &m, 0), ESRCH);
    struct ucred baduid = {getpid(), (uid_t)-1, getgid()};
    memcpy(CMSG_DATA(h), &baduid, sizeof baduid);
    EXPECT_ERR("uid -1", syscall(SYS_sendmsg, sv[0], &m, 0), EINVAL);
    h->cmsg_len = CMSG_LEN(8);
    EXPECT_ERR("short ucred", syscall(SYS_sendmsg, sv[0], &m, 0), EINVAL);
    struct ucred root5 = {getpid(), 5, 6};
    h->cmsg_len = CMSG_LEN(sizeof uc);
    memcpy(CMSG_DATA(h), &root5, sizeof root5);
    int on = 1;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    EXPECT_ERR("root claims uid 5", syscall(SYS_sendmsg, sv[0], &m, 0), 0);
    send(sv[0], "plain", 5, 0);
    char cbuf[CMSG_SPACE(sizeof uc) * 2];
    struct iovec ri = {buf, sizeof buf};
    struct msghdr rm = {0};
    rm.msg_iov = &ri; rm.msg_iovlen = 1; rm.msg_control = cbuf; rm.msg_controllen = sizeof cbuf;
    EXPECT_ERR("first read: explicit credentials' data (and the earlier same-credential data)", recvmsg(sv[1], &rm, 0), 0);
    rm.msg_control = cbuf; rm.msg_controllen = sizeof cbuf;
    EXPECT_ERR("uid-5 data is not merged with ours", recvmsg(sv[1], &rm, 0), 0);
    h = CMSG_FIRSTHDR(&rm);
    if (h) memcpy(&uc, CMSG_DATA(h), sizeof uc);
    printf("credentials uid %u gid %u\n", h ? uc.uid : 0, h ? uc.gid : 0);
    rm.msg_control = cbuf; rm.msg_controllen = sizeof cbuf;
    EXPECT_ERR("then ours", recvmsg(sv[1], &rm, 0), 0);
    h = CMSG_FIRSTHDR(&rm);
    if (h) memcpy(&uc, CMSG_DATA(h), sizeof uc);
    CHECK("our uid again", h && uc.uid == getuid());
    send(sv[0], "t", 1, 0);
    rm.msg_control = cbuf; rm.msg_controllen = CMSG_LEN(4);
    EXPECT_ERR("credentials truncated", recvmsg(sv[1], &rm, 0), 0);
    printf("controllen %d MSG_CTRUNC %d\n", (int)rm.msg_controllen, !!(rm.msg_flags & MSG_CTRUNC));
    close(sv[0]); close(sv[1]);
    return finish();
}
