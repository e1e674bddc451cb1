/* socket_errors: the generic checks of the socket calls, in Linux's order: bad fds and
 * non-sockets, socket()'s domain/type/protocol and flags, address lengths and copies,
 * msghdr and iovec limits, getsockopt/setsockopt lengths and the SOL_SOCKET options. */
#include "compat.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <time.h>

#define BADP ((void *)0xffff800000001000UL)

static int geti(int s, int opt)
{
    int v = -7;
    socklen_t l = sizeof v;
    if (getsockopt(s, SOL_SOCKET, opt, &v, &l) < 0) return -1000 - errno;
    return v;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* socket() */
    EXPECT_ERR("bad type flag", syscall(SYS_socket, AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL);
    EXPECT_ERR("domain -1", syscall(SYS_socket, -1, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR("domain 46", syscall(SYS_socket, 46, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR("domain 1000", syscall(SYS_socket, 1000, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR("type 11", syscall(SYS_socket, AF_UNIX, 11, 0), EINVAL);
    EXPECT_ERR("type 15", syscall(SYS_socket, AF_UNIX, 15, 0), EINVAL);
    EXPECT_ERR("type 0", syscall(SYS_socket, AF_UNIX, 0, 0), ESOCKTNOSUPPORT);
    EXPECT_ERR("SOCK_RDM", syscall(SYS_socket, AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
    EXPECT_ERR("protocol 2", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 2), EPROTONOSUPPORT);
    EXPECT_ERR("protocol -1", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, -1), EPROTONOSUPPORT);
    int s1 = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, AF_UNIX);
    CHECK("protocol PF_UNIX", s1 >= 0);
    int raw = socket(AF_UNIX, SOCK_RAW, 0);
    CHECK("SOCK_RAW is a datagram socket", raw >= 0 && geti(raw, SO_TYPE) == SOCK_DGRAM);
    EXPECT_ERR("socketpair NULL", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, NULL), EFAULT);
    EXPECT_ERR("socketpair type 0", syscall(SYS_socketpair, AF_UNIX, 0, 0, (int[2]){0}), ESOCKTNOSUPPORT);
    EXPECT_ERR("socketpair bad flag", syscall(SYS_socketpair, AF_UNIX, SOCK_DGRAM | 0x10, 0, (int[2]){0}), EINVAL);

    /* bad fds and files that are not sockets */
    int nf = open("/dev/null", O_RDWR);
    struct sockaddr_un a = {AF_UNIX, "/tmp/x"};
    char buf[16];
    socklen_t al = sizeof a;
    int v = 1;
    struct msghdr m = {0};
    EXPECT_ERR("bind -1", bind(-1, (struct sockaddr *)&a, sizeof a), EBADF);
    EXPECT_ERR("bind 999", bind(999, (struct sockaddr *)&a, sizeof a), EBADF);
    EXPECT_ERR("bind file", bind(nf, (struct sockaddr *)&a, sizeof a), ENOTSOCK);
    EXPECT_ERR("listen file", listen(nf, 1), ENOTSOCK);
    EXPECT_ERR("accept file", accept(nf, NULL, NULL), ENOTSOCK);
    EXPECT_ERR("accept4 bad flags, bad fd", syscall(SYS_accept4, -1, NULL, NULL, 1), EBADF);
    EXPECT_ERR("accept4 bad flags, file", syscall(SYS_accept4, nf, NULL, NULL, 1), EINVAL);
    EXPECT_ERR("connect file", connect(nf, (struct sockaddr *)&a, sizeof a), ENOTSOCK);
    EXPECT_ERR("connect file, bad address (copied first)", connect(nf, BADP, sizeof a), EFAULT);
    EXPECT_ERR("connect -1", connect(-1, (struct sockaddr *)&a, sizeof a), EBADF);
    EXPECT_ERR("getsockname file", getsockname(nf, (struct sockaddr *)&a, &al), ENOTSOCK);
    EXPECT_ERR("getpeername file", getpeername(nf, (struct sockaddr *)&a, &al), ENOTSOCK);
    EXPECT_ERR("sendto file", sendto(nf, "x", 1, 0, NULL, 0), ENOTSOCK);
    EXPECT_ERR("sendto bad buffer before bad fd", sendto(-1, BADP, 1, 0, NULL, 0), EFAULT);
    EXPECT_ERR("recvfrom file", recvfrom(nf, buf, 1, 0, NULL, NULL), ENOTSOCK);
    EXPECT_ERR("recvfrom bad buffer before bad fd", recvfrom(-1, BADP, 1, 0, NULL, NULL), EFAULT);
    EXPECT_ERR("sendmsg file", sendmsg(nf, &m, 0), ENOTSOCK);
    EXPECT_ERR("recvmsg file", recvmsg(nf, &m, 0), ENOTSOCK);
    EXPECT_ERR("shutdown file", shutdown(nf, SHUT_RD), ENOTSOCK);
    EXPECT_ERR("setsockopt file", setsockopt(nf, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v), ENOTSOCK);
    EXPECT_ERR("getsockopt file", getsockopt(nf, SOL_SOCKET, SO_TYPE, &v, &al), ENOTSOCK);
    EXPECT_ERR("sendmmsg file", syscall(SYS_sendmmsg, nf, NULL, 1, 0), ENOTSOCK);
    EXPECT_ERR("recvmmsg file", syscall(SYS_recvmmsg, nf, NULL, 1, 0, NULL), ENOTSOCK);

    /* addresses */
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_ERR("bind addrlen 200", bind(s, (struct sockaddr *)&a, 200), EINVAL);
    EXPECT_ERR("bind addrlen -1", bind(s, (struct sockaddr *)&a, -1), EINVAL);
    EXPECT_ERR("bind bad pointer", bind(s, BADP, sizeof a), EFAULT);
    EXPECT_ERR("bind addrlen 1", bind(s, (struct sockaddr *)&a, 1), EINVAL);
    EXPECT_ERR("bind addrlen 0", bind(s, (struct sockaddr *)&a, 0), EINVAL);
    struct sockaddr_un w = {AF_INET, "/tmp/y"};
    EXPECT_ERR("bind wrong family", bind(s, (struct sockaddr *)&w, sizeof w), EINVAL);
    EXPECT_ERR("bind 111 bytes", bind(s, (struct sockaddr *)&a, 111), EINVAL);
    EXPECT_ERR("bind into a missing directory", bind(s, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/nonexistent/dir/s"}, sizeof a), ENOENT);
    al = sizeof a;
    EXPECT_ERR("getsockname bad length pointer", getsockname(s, (struct sockaddr *)&a, BADP), EFAULT);
    al = -1;
    EXPECT_ERR("getsockname negative length", getsockname(s, (struct sockaddr *)&a, &al), EINVAL);
    al = 1;
    EXPECT_OK("getsockname length 1", getsockname(s, (struct sockaddr *)&a, &al));
    printf("length written back: %d\n", (int)al);
    al = sizeof a;
    EXPECT_ERR("getsockname bad buffer", getsockname(s, BADP, &al), EFAULT);
    al = 0;
    EXPECT_OK("getsockname length 0, bad buffer unused", getsockname(s, BADP, &al));
    al = sizeof a;
    EXPECT_ERR("getpeername unconnected", getpeername(s, (struct sockaddr *)&a, &al), ENOTCONN);
    EXPECT_ERR("sendto addrlen 200", sendto(s, "x", 1, 0, (struct sockaddr *)&a, 200), EINVAL);
    EXPECT_ERR("sendto address NULL, length ignored", sendto(s, "x", 1, 0, NULL, 200), ENOTCONN);
    EXPECT_ERR("sendto bad address", sendto(s, "x", 1, 0, BADP, sizeof a), EFAULT);

    /* msghdr and iovecs */
    struct iovec iov = {buf, 1};
    m.msg_iov = &iov; m.msg_iovlen = 1;
    EXPECT_ERR("sendmsg NULL msghdr", sendmsg(s, NULL, 0), EFAULT);
    m.msg_iovlen = 1025;
    EXPECT_ERR("sendmsg iovlen 1025", syscall(SYS_sendmsg, s, &m, 0), EMSGSIZE);
    EXPECT_ERR("recvmsg iovlen 1025", syscall(SYS_recvmsg, s, &m, MSG_DONTWAIT), EMSGSIZE);
    m.msg_iovlen = 1;
    m.msg_name = &a; m.msg_namelen = -1;
    EXPECT_ERR("sendmsg namelen -1", syscall(SYS_sendmsg, s, &m, 0), EINVAL);
    EXPECT_ERR("recvmsg namelen -1", syscall(SYS_recvmsg, s, &m, MSG_DONTWAIT), EINVAL);
    m.msg_name = NULL; m.msg_namelen = -1;
    EXPECT_ERR("sendmsg namelen -1 without a name", syscall(SYS_sendmsg, s, &m, 0), ENOTCONN);
    m.msg_namelen = 0;
    iov.iov_len = (size_t)-1;
    EXPECT_ERR("sendmsg negative iov_len", syscall(SYS_sendmsg, s, &m, 0), EINVAL);
    iov.iov_base = BADP; iov.iov_len = 1;
    EXPECT_ERR("sendmsg bad iov_base", syscall(SYS_sendmsg, s, &m, 0), EFAULT);
    m.msg_iov = BADP;
    EXPECT_ERR("sendmsg bad iov array", syscall(SYS_sendmsg, s, &m, 0), EFAULT);
    iov.iov_base = buf; m.msg_iov = &iov;
    EXPECT_ERR("recvmsg MSG_CMSG_COMPAT", syscall(SYS_recvmsg, s, &m, 0x80000000), EINVAL);
    EXPECT_ERR("recvmmsg bad timeout", syscall(SYS_recvmmsg, s, &m, 1, 0, BADP), EFAULT);
    struct timespec badts = {0, 1000000000};
    EXPECT_ERR("recvmmsg timeout nsec 1e9", syscall(SYS_recvmmsg, s, &m, 1, 0, &badts), EINVAL);

    /* options */
    EXPECT_ERR("setsockopt optlen -1", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, -1), EINVAL);
    EXPECT_ERR("setsockopt optlen 2", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, 2), EINVAL);
    EXPECT_ERR("setsockopt unknown", setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v), ENOPROTOOPT);
    EXPECT_ERR("setsockopt SO_TYPE", setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v), ENOPROTOOPT);
    EXPECT_ERR("setsockopt bad pointer", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, BADP, sizeof v), EFAULT);
    EXPECT_ERR("setsockopt level 999 on AF_UNIX", setsockopt(s, 999, 1, &v, sizeof v), EOPNOTSUPP);
    EXPECT_ERR("getsockopt level 999 on AF_UNIX", getsockopt(s, 999, 1, &v, &al), EOPNOTSUPP);
    EXPECT_ERR("getsockopt unknown", getsockopt(s, SOL_SOCKET, 9999, &v, &al), ENOPROTOOPT);
    al = -1;
    EXPECT_ERR("getsockopt negative optlen", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &al), EINVAL);
    EXPECT_ERR("getsockopt bad optlen pointer", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, BADP), EFAULT);
    al = 2; v = 0x7f7f7f7f;
    EXPECT_OK("getsockopt SO_TYPE into 2 bytes", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &al));
    printf("optlen %d value %#x\n", (int)al, v);
    al = 64;
    EXPECT_OK("getsockopt SO_TYPE with optlen 64", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &al));
    printf("optlen %d\n", (int)al);
    printf("SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d SO_ACCEPTCONN %d SO_ERROR %d\n", geti(s, SO_TYPE), geti(s, SO_DOMAIN),
           geti(s, SO_PROTOCOL), geti(s, SO_ACCEPTCONN), geti(s, SO_ERROR));
    printf("SO_KEEPALIVE %d SO_REUSEADDR %d SO_PASSCRED %d SO_RCVLOWAT %d SO_SNDLOWAT %d SO_BROADCAST %d SO_OOBINLINE %d\n",
           geti(s, SO_KEEPALIVE), geti(s, SO_REUSEADDR), geti(s, SO_PASSCRED), geti(s, SO_RCVLOWAT), geti(s, SO_SNDLOWAT),
           geti(s, SO_BROADCAST), geti(s, SO_OOBINLINE));
    int opts[] = {SO_KEEPALIVE, SO_REUSEADDR, SO_PASSCRED, SO_BROADCAST, SO_OOBINLINE, SO_DONTROUTE};
    for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        v = 5;
        setsockopt(s, SOL_SOCKET, opts[i], &v, sizeof v);
        printf("option %d set 5 reads %d\n", opts[i], geti(s, opts[i]));
    }
    v = 4096; setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    printf("SO_RCVBUF 4096 -> %d\n", geti(s, SO_RCVBUF));
    v = 1; setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    printf("SO_RCVBUF 1 -> %d\n", geti(s, SO_RCVBUF));
    v = 1; setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    printf("SO_SNDBUF 1 -> %d\n", geti(s, SO_SNDBUF));
    v = 10000; setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    printf("SO_SNDBUF 10000 -> %d\n", geti(s, SO_SNDBUF));
    v = 0; setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
    printf("SO_RCVLOWAT 0 -> %d\n", geti(s, SO_RCVLOWAT));
    v = -5; setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v);
    printf("SO_RCVLOWAT -5 -> %d\n", geti(s, SO_RCVLOWAT));
    v = 3; setsockopt(s, SOL_SOCKET, SO_PRIORITY, &v, sizeof v);
    printf("SO_PRIORITY -> %d\n", geti(s, SO_PRIORITY));

    struct timeval tv = {1, 500000}, got;
    socklen_t tl = sizeof got;
    EXPECT_OK("SO_RCVTIMEO 1.5 s", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &got, &tl);
    printf("reads %ld.%06ld (len %d)\n", (long)got.tv_sec, (long)got.tv_usec, (int)tl);
    tv.tv_sec = 0; tv.tv_usec = 20000;
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &got, &tl);
    printf("SO_SNDTIMEO reads %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);
    tv.tv_usec = 1000000;
    EXPECT_ERR("SO_RCVTIMEO usec 1e6", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM);
    tv.tv_usec = -1;
    EXPECT_ERR("SO_RCVTIMEO usec -1", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM);
    EXPECT_ERR("SO_RCVTIMEO short", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, 8), EINVAL);
    tv.tv_sec = -1; tv.tv_usec = 0;
    EXPECT_OK("SO_RCVTIMEO negative: never wait", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &got, &tl);
    printf("reads %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);
    EXPECT_ERR("so a blocking recv returns at once", recv(s, buf, 1, 0), EAGAIN);

    struct linger l = {1, 5}, lg;
    socklen_t ll = sizeof lg;
    EXPECT_OK("SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l));
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &ll);
    printf("linger %d %d len %d\n", lg.l_onoff, lg.l_linger, (int)ll);
    EXPECT_ERR("SO_LINGER short", setsockopt(s, SOL_SOCKET, SO_LINGER, &l, 4), EINVAL);
    l.l_onoff = 0;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &ll);
    printf("linger off %d %d\n", lg.l_onoff, lg.l_linger);

    struct ucred uc;
    socklen_t ul = sizeof uc;
    EXPECT_OK("SO_PEERCRED unconnected", getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    printf("pid %d uid %d gid %d len %d\n", uc.pid, (int)uc.uid, (int)uc.gid, (int)ul);
    ul = 64;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul);
    printf("optlen 64 -> %d\n", (int)ul);

    /* calls a datagram socket does not do */
    EXPECT_ERR("listen on a datagram socket", listen(s, 1), EOPNOTSUPP);
    EXPECT_ERR("accept on a datagram socket", accept(s, NULL, NULL), EOPNOTSUPP);
    EXPECT_ERR("shutdown unconnected", shutdown(s, SHUT_RDWR), 0);
    EXPECT_ERR("recv MSG_OOB", recv(s, buf, 1, MSG_OOB | MSG_DONTWAIT), EOPNOTSUPP);
    EXPECT_ERR("unknown ioctl", ioctl(s, 0x1234, &v), ENOTTY);
    int st = socket(AF_UNIX, SOCK_STREAM, 0);
    EXPECT_ERR("stream read unconnected", read(st, buf, 1), EINVAL);
    EXPECT_ERR("stream read 0 bytes unconnected", read(st, buf, 0), 0);
    EXPECT_ERR("stream write unconnected", write(st, buf, 1), ENOTCONN);
    EXPECT_ERR("stream recv unconnected", recv(st, buf, 1, 0), EINVAL);
    EXPECT_ERR("stream sendto with an address, unconnected", sendto(st, "x", 1, 0, (struct sockaddr *)&a, sizeof a), EOPNOTSUPP);
    v = -1;
    EXPECT_OK("FIONREAD unconnected stream", ioctl(st, FIONREAD, &v));
    printf("FIONREAD %d\n", v);
    close(st); close(s); close(nf); close(s1); close(raw);
    return finish();
}
