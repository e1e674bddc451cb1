/* Every system call number with hostile arguments (an invalid fd, kernel-half pointers,
   huge lengths) must fail cleanly: the program survives, the kernel never panics. Calls
   that would end, block or reconfigure the (native) host are skipped. Only survival is
   printed, since which error each call gives is checked by the family programs. */
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

static int skipped(long nr)
{
    switch (nr) {
    case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn: case SYS_clone: case SYS_fork:
    case SYS_vfork: case SYS_execve: case SYS_pause: case SYS_reboot: case SYS_kill: case SYS_tkill:
    case SYS_tgkill: case SYS_rt_sigsuspend: case SYS_vhangup: case SYS_sync: case SYS_syncfs:
    case SYS_munmap: case SYS_mremap: case SYS_brk: case SYS_madvise: case SYS_mprotect:
    case SYS_setrlimit: case SYS_prlimit64: case SYS_arch_prctl: case SYS_set_tid_address:
    case SYS_prctl: case SYS_setsid: case SYS_setpgid: case SYS_umask: case SYS_chroot:
    case SYS_unshare: case SYS_setns: case SYS_personality: case SYS_rt_sigprocmask:
    case SYS_sched_setaffinity: case SYS_close_range: case SYS_execveat: case 435 /* clone3 */:
    case SYS_sched_yield: case SYS_io_uring_setup: case SYS_seccomp: case SYS_ptrace:
    case SYS_setpriority: case SYS_sched_setscheduler: case SYS_sched_setparam: case SYS_ioprio_set:
    case SYS_mlockall: case SYS_munlockall: case SYS_sigaltstack: case SYS_rt_sigaction:
    case SYS_alarm: case SYS_setitimer: case SYS_wait4: case SYS_waitid:
        return 1;
    }
    return nr >= 335 && nr < 424;   /* unassigned numbers */
}

int main(void)
{
    const long bad = (long)0xffff800000001000UL;
    long calls = 0;
    for (long nr = 0; nr < 460; nr++) {
        if (skipped(nr)) continue;
        syscall(nr, -1L, bad, bad, bad, bad, bad);
        syscall(nr, bad, 0x7fffffffffffL, -1L, 0L, 1L << 40, -1L);
        syscall(nr, 3L, 0x1000L, 16L, 0x1000L, 0L, 0L);      /* a closed fd, unmapped low pointers */
        calls += 3;
    }
    printf("survived %ld hostile calls\n", calls);
    return 0;
}
