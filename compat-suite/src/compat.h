/* Shared helpers for the compat suite. Every program prints one line per check,
 * only deterministic facts (never pids, addresses, times, random bytes). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int compat_failures;

/* errno value -> its name; musl and glibc word strerror differently. */
static const char *errname(int e)
{
    static char buf[32];
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EPIPE: return "EPIPE";
    case ERANGE: return "ERANGE";
    case ENODATA: return "ENODATA";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDEADLK: return "EDEADLK";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOTSOCK: return "ENOTSOCK";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EALREADY: return "EALREADY";
    case EINPROGRESS: return "EINPROGRESS";
    case ECANCELED: return "ECANCELED";
    case EDOM: return "EDOM";
    default:
        snprintf(buf, sizeof buf, "E#%d", e);
        return buf;
    }
}

/* Result of a call that returns -1/errno: "OK" or the errno name. */
static const char *compat_res(long r)
{
    return r < 0 ? errname(errno) : "OK";
}

static const char *yesno(int b) { return b ? "yes" : "no"; }

/* Print "label: yes|no" and count a "no" as a failure. */
#define CHECK(label, cond) do { int c_ = !!(cond); \
    printf("%s: %s\n", (label), yesno(c_)); if (!c_) compat_failures++; } while (0)

/* Print "label: ERRNAME" (or "label: ret=N" on success) for a raw syscall and
 * count it as a failure when it is not the expected errno (0 = success). */
#define EXPECT_ERR(label, call, experr) do { errno = 0; long r_ = (call); int e_ = r_ < 0 ? errno : 0; \
    if (r_ < 0) printf("%s: %s\n", (label), errname(e_)); else printf("%s: ret=%ld\n", (label), r_); \
    if (e_ != (experr)) compat_failures++; } while (0)

/* Like EXPECT_ERR but for successful calls; prints the return value only when asked. */
#define EXPECT_OK(label, call) do { errno = 0; long r_ = (call); \
    printf("%s: %s\n", (label), compat_res(r_)); if (r_ < 0) compat_failures++; } while (0)

/* basename of a path, stopped at the first '.' (strips the .musl/.glibc/.pie variant). */
static const char *stem(const char *path, char *buf, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t i = 0;
    while (b[i] && b[i] != '.' && i + 1 < n) { buf[i] = b[i]; i++; }
    buf[i] = 0;
    return buf;
}

/* Runs `scenario` in a forked child (e.g. one that drops privileges); its failures count
 * through its exit status. */
static void compat_in_child(void (*scenario)(void))
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) { scenario(); fflush(stdout); _exit(compat_failures); }
    int st;
    waitpid(p, &st, 0);
    CHECK("child ended cleanly", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int finish(void)
{
    printf("failures: %d\n", compat_failures);
    fflush(stdout);
    return compat_failures ? 1 : 0;
}
