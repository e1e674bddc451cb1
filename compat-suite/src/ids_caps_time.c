/* ids_caps_time: calls Debian programs make that once were ENOSYS here: getgroups, getpgrp,
 * getpgid/getsid, capget/capset, clock_settime/settimeofday, pkey_*, /dev/tty. The program
 * runs as root in both runs, but the native side must never move the host's clock: only the
 * error paths of the clock setters run here (setting the clock is a boot test). */
#include "compat.h"
#include <fcntl.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <stdint.h>

/* <linux/capability.h>, which musl-gcc does not see */
#define _LINUX_CAPABILITY_VERSION_1 0x19980330
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
struct __user_cap_header_struct { uint32_t version; int pid; };
struct __user_cap_data_struct { uint32_t effective, permitted, inheritable; };

#define KADDR ((void *)0xffff888000000000UL)

int main(void)
{
    /* identity */
    EXPECT_ERR("getgroups(0, NULL)", syscall(SYS_getgroups, 0, NULL), 0);
    gid_t g[4];
    long ng = syscall(SYS_getgroups, 4, g);
    CHECK("getgroups(4) lists no more than it counts", ng >= 0 && ng == syscall(SYS_getgroups, 0, NULL));
    EXPECT_ERR("getgroups(-1)", syscall(SYS_getgroups, -1, g), EINVAL);
    long pg = syscall(SYS_getpgrp);
    CHECK("getpgrp > 0", pg > 0);
    CHECK("getpgid(0) == getpgrp", syscall(SYS_getpgid, 0) == pg);
    CHECK("getpgid(getpid()) == getpgrp", syscall(SYS_getpgid, getpid()) == pg);
    /* the session id may be 0 on the host (a process of a container or CI runner that
     * never called setsid), so check consistency, not a value */
    long sid = syscall(SYS_getsid, 0);
    CHECK("getsid(0) >= 0 and equals getsid(getpid())", sid >= 0 && sid == syscall(SYS_getsid, getpid()));
    EXPECT_ERR("getpgid(no such pid)", syscall(SYS_getpgid, 0x3ffffff0), ESRCH);
    EXPECT_ERR("getsid(no such pid)", syscall(SYS_getsid, 0x3ffffff0), ESRCH);

    /* capabilities: root keeps CAP_SYS_ADMIN (21) and CAP_SYS_TIME (25) */
    struct __user_cap_header_struct h = {0, 0};
    struct __user_cap_data_struct d[2];
    EXPECT_ERR("capget bad version", syscall(SYS_capget, &h, d), EINVAL);
    CHECK("capget wrote version 3", h.version == _LINUX_CAPABILITY_VERSION_3);
    h.version = 0;
    EXPECT_ERR("capget version probe (NULL data)", syscall(SYS_capget, &h, NULL), 0);
    CHECK("probe wrote version 3", h.version == _LINUX_CAPABILITY_VERSION_3);
    EXPECT_ERR("capget v3", syscall(SYS_capget, &h, d), 0);
    CHECK("CAP_SYS_ADMIN effective and permitted", (d[0].effective >> 21 & 1) && (d[0].permitted >> 21 & 1));
    CHECK("CAP_SYS_TIME effective", d[0].effective >> 25 & 1);
    CHECK("effective == permitted", d[0].effective == d[0].permitted && d[1].effective == d[1].permitted);
    CHECK("nothing inheritable", d[0].inheritable == 0 && d[1].inheritable == 0);
    printf("caps 32-40: %x\n", d[1].permitted);
    h.version = _LINUX_CAPABILITY_VERSION_1;
    struct __user_cap_data_struct d1[2] = {{0}};
    EXPECT_ERR("capget v1", syscall(SYS_capget, &h, d1), 0);
    CHECK("v1 fills one set", d1[0].effective == d[0].effective && d1[1].effective == 0);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    h.pid = -1;
    EXPECT_ERR("capget pid -1", syscall(SYS_capget, &h, d), EINVAL);
    h.pid = 0x3ffffff0;
    EXPECT_ERR("capget no such pid", syscall(SYS_capget, &h, d), ESRCH);
    h.pid = getpid();
    EXPECT_ERR("capget own pid", syscall(SYS_capget, &h, d), 0);
    EXPECT_ERR("capget bad header", syscall(SYS_capget, KADDR, d), EFAULT);
    EXPECT_ERR("capget bad data", syscall(SYS_capget, &h, KADDR), EFAULT);
    h.pid = 0; h.version = 0;
    EXPECT_ERR("capset bad version", syscall(SYS_capset, &h, d), EINVAL);
    h.pid = 0x3ffffff0;
    EXPECT_ERR("capset other pid", syscall(SYS_capset, &h, d), EPERM);
    h.pid = 0;
    EXPECT_ERR("capset NULL data", syscall(SYS_capset, &h, NULL), EFAULT);
    EXPECT_ERR("capset unchanged", syscall(SYS_capset, &h, d), 0);
    d[0].effective &= ~(1u << 21);
    EXPECT_ERR("capset drop effective CAP_SYS_ADMIN", syscall(SYS_capset, &h, d), 0);
    EXPECT_ERR("capget", syscall(SYS_capget, &h, d), 0);
    CHECK("CAP_SYS_ADMIN no longer effective, still permitted", !(d[0].effective >> 21 & 1) && (d[0].permitted >> 21 & 1));
    d[0].effective |= 1u << 21;
    d[0].inheritable = 1;
    EXPECT_ERR("capset raise it again, CAP_CHOWN inheritable", syscall(SYS_capset, &h, d), 0);
    EXPECT_ERR("capget", syscall(SYS_capget, &h, d), 0);
    CHECK("CAP_SYS_ADMIN effective again", d[0].effective >> 21 & 1);
    CHECK("CAP_CHOWN inheritable", d[0].inheritable == 1 && d[1].inheritable == 0);
    d[0].inheritable = 0;
    d[0].permitted &= ~(1u << 21); d[0].effective &= ~(1u << 21);
    EXPECT_ERR("capset drop permitted CAP_SYS_ADMIN", syscall(SYS_capset, &h, d), 0);
    d[0].effective |= 1u << 21;
    EXPECT_ERR("capset effective beyond permitted", syscall(SYS_capset, &h, d), EPERM);
    d[0].permitted |= 1u << 21;
    EXPECT_ERR("capset permitted back", syscall(SYS_capset, &h, d), EPERM);

    /* clock_settime / settimeofday: errors only (see above) */
    struct timespec zero = {0, 0}, badns = {0, 1000000000}, neg = {-1, 0}, far = {8277292036L, 0};
    EXPECT_ERR("clock_settime MONOTONIC", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &zero), EINVAL);
    EXPECT_ERR("clock_settime MONOTONIC bad pointer", syscall(SYS_clock_settime, CLOCK_MONOTONIC, KADDR), EINVAL);
    EXPECT_ERR("clock_settime BOOTTIME", syscall(SYS_clock_settime, CLOCK_BOOTTIME, &zero), EINVAL);
    EXPECT_ERR("clock_settime MONOTONIC_RAW", syscall(SYS_clock_settime, CLOCK_MONOTONIC_RAW, &zero), EINVAL);
    EXPECT_ERR("clock_settime REALTIME_COARSE", syscall(SYS_clock_settime, CLOCK_REALTIME_COARSE, &zero), EINVAL);
    EXPECT_ERR("clock_settime TAI", syscall(SYS_clock_settime, CLOCK_TAI, &zero), EINVAL);
    EXPECT_ERR("clock_settime PROCESS_CPUTIME_ID", syscall(SYS_clock_settime, CLOCK_PROCESS_CPUTIME_ID, &zero), EINVAL);
    EXPECT_ERR("clock_settime THREAD_CPUTIME_ID", syscall(SYS_clock_settime, CLOCK_THREAD_CPUTIME_ID, &zero), EINVAL);
    EXPECT_ERR("clock_settime 100", syscall(SYS_clock_settime, 100, &zero), EINVAL);
    EXPECT_ERR("clock_settime own process CPU clock", syscall(SYS_clock_settime, -6, &zero), EPERM);
    EXPECT_ERR("clock_settime own thread CPU clock", syscall(SYS_clock_settime, -2, &zero), EPERM);
    EXPECT_ERR("clock_settime CPU clock, bad pointer", syscall(SYS_clock_settime, -6, KADDR), EFAULT);
    EXPECT_ERR("clock_settime clock -1", syscall(SYS_clock_settime, -1, &zero), EINVAL);
    EXPECT_ERR("clock_settime REALTIME bad pointer", syscall(SYS_clock_settime, CLOCK_REALTIME, KADDR), EFAULT);
    EXPECT_ERR("clock_settime REALTIME NULL", syscall(SYS_clock_settime, CLOCK_REALTIME, NULL), EFAULT);
    EXPECT_ERR("clock_settime REALTIME nsec 1e9", syscall(SYS_clock_settime, CLOCK_REALTIME, &badns), EINVAL);
    EXPECT_ERR("clock_settime REALTIME negative", syscall(SYS_clock_settime, CLOCK_REALTIME, &neg), EINVAL);
    EXPECT_ERR("clock_settime REALTIME before boot", syscall(SYS_clock_settime, CLOCK_REALTIME, &zero), EINVAL);
    EXPECT_ERR("clock_settime REALTIME too far", syscall(SYS_clock_settime, CLOCK_REALTIME, &far), EINVAL);
    struct timeval tvbad = {0, 1000000}, tvneg = {0, -1}, tvzero = {0, 0};
    struct timezone tzbad = {16 * 60, 0};
    EXPECT_ERR("settimeofday bad pointer", syscall(SYS_settimeofday, KADDR, NULL), EFAULT);
    EXPECT_ERR("settimeofday usec 1e6", syscall(SYS_settimeofday, &tvbad, NULL), EINVAL);
    EXPECT_ERR("settimeofday usec -1", syscall(SYS_settimeofday, &tvneg, NULL), EINVAL);
    EXPECT_ERR("settimeofday before boot", syscall(SYS_settimeofday, &tvzero, NULL), EINVAL);
    EXPECT_ERR("settimeofday bad timezone pointer", syscall(SYS_settimeofday, NULL, KADDR), EFAULT);
    EXPECT_ERR("settimeofday timezone 16 h west", syscall(SYS_settimeofday, NULL, &tzbad), EINVAL);
    EXPECT_ERR("settimeofday(NULL, NULL)", syscall(SYS_settimeofday, NULL, NULL), 0);

    /* protection keys: none on this CPU (or VM). Linux 6.18 on a CPU without them fails
     * a process's first pkey_alloc with EINVAL and later ones with ENOSPC; only the
     * later ones are compared. */
    CHECK("first pkey_alloc fails", syscall(SYS_pkey_alloc, 0L, 2L) < 0);
    EXPECT_ERR("pkey_alloc(0, PKEY_DISABLE_WRITE)", syscall(SYS_pkey_alloc, 0L, 2L), ENOSPC);
    EXPECT_ERR("pkey_alloc(0, PKEY_DISABLE_ACCESS)", syscall(SYS_pkey_alloc, 0L, 1L), ENOSPC);
    EXPECT_ERR("pkey_alloc bad flags", syscall(SYS_pkey_alloc, 1L, 0L), EINVAL);
    EXPECT_ERR("pkey_alloc bad rights", syscall(SYS_pkey_alloc, 0L, 4L), EINVAL);
    EXPECT_ERR("pkey_free(0)", syscall(SYS_pkey_free, 0), EINVAL);
    EXPECT_ERR("pkey_free(1)", syscall(SYS_pkey_free, 1), EINVAL);
    EXPECT_ERR("pkey_free(-1)", syscall(SYS_pkey_free, -1), EINVAL);
    char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_ERR("pkey_mprotect key -1", syscall(SYS_pkey_mprotect, m, 4096L, (long)(PROT_READ | PROT_WRITE), -1), 0);
    m[0] = 1;
    CHECK("page is writable", m[0] == 1);
    EXPECT_ERR("pkey_mprotect key 1", syscall(SYS_pkey_mprotect, m, 4096L, (long)PROT_READ, 1), EINVAL);
    EXPECT_ERR("pkey_mprotect key 0", syscall(SYS_pkey_mprotect, m, 4096L, (long)PROT_READ, 0), EINVAL);

    /* /dev/tty: the terminal when there is one, ENXIO otherwise */
    errno = 0;
    int t = open("/dev/tty", O_RDWR | O_NOCTTY);
    int te = errno;
    CHECK("/dev/tty opens as a terminal or gives ENXIO", t >= 0 ? isatty(t) : te == ENXIO);
    if (t >= 0) close(t);
    return finish();
}
