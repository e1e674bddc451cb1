#nullable disable
namespace Kernel.Syscalls
{
    public enum Support { Full, Partial, None }

    /// One row of the system-call support table.
    public readonly struct SyscallEntry
    {
        public readonly int Number;
        public readonly string Name;
        public readonly Support Level;
        public readonly string Note;

        public SyscallEntry(int number, string name, Support level = Support.Full, string note = null)
        {
            Number = number; Name = name; Level = level; Note = note;
        }
    }

    /// The system-call support table as plain data: number, name, how complete, and a note.
    /// This file builds into the kernel, ukpack and the host tests, so the support page
    /// (docs/syscalls.md, `ukpack syscalls`) needs no boot. The kernel binds a handler to
    /// every entry that is not Support.None (syscalls/Register*.cs); a boot test checks
    /// that the bound numbers are exactly these. Keep it plain data (shared source).
    public static class SyscallList
    {
        const string noXattrs = "no filesystem stores extended attributes: none found, setting one gives EOPNOTSUPP";

        public static readonly SyscallEntry[] All =
        {
            // Files, paths and I/O (Sys.ReadWrite.cs, Sys.Path.cs, Sys.Files.cs)
            new(0, "read"),
            new(1, "write"),
            new(2, "open"),
            new(3, "close"),
            new(4, "stat"),
            new(5, "fstat"),
            new(6, "lstat"),
            new(8, "lseek"),
            new(16, "ioctl", Support.Partial, "TCGETS, TCSETS*, TIOCGWINSZ, TIOCGPGRP on the console; FIOCLEX, FIONCLEX, FIONBIO, FIONREAD"),
            new(17, "pread64"),
            new(18, "pwrite64"),
            new(19, "readv"),
            new(20, "writev"),
            new(21, "access", Support.Partial, "the caller is root: only X_OK can fail (no x bit)"),
            new(22, "pipe"),
            new(32, "dup"),
            new(33, "dup2"),
            new(40, "sendfile"),
            new(72, "fcntl", Support.Partial, "POSIX locks (per process) and OFD locks conflict and F_SETLKW/F_OFD_SETLKW wait (no EDEADLK detection); POSIX locks go on any close of the file and at exit, not yet on dup2 over a descriptor or close-on-exec; F_SETPIPE_SZ keeps the fixed 64 KiB capacity; no SIGIO, leases or seals"),
            new(73, "flock"),
            new(74, "fsync", Support.Full, "tmpfs semantics: data is in memory"),
            new(75, "fdatasync", Support.Full, "tmpfs semantics: data is in memory"),
            new(76, "truncate"),
            new(77, "ftruncate"),
            new(79, "getcwd"),
            new(80, "chdir"),
            new(81, "fchdir"),
            new(82, "rename"),
            new(83, "mkdir"),
            new(84, "rmdir"),
            new(85, "creat"),
            new(86, "link"),
            new(87, "unlink"),
            new(88, "symlink"),
            new(89, "readlink"),
            new(90, "chmod"),
            new(91, "fchmod"),
            new(92, "chown", Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)"),
            new(93, "fchown", Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)"),
            new(94, "lchown", Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)"),
            new(132, "utime"),
            new(133, "mknod", Support.Partial, "FIFOs, regular files and socket nodes; device nodes exist but open gives ENXIO"),
            new(137, "statfs"),
            new(138, "fstatfs"),
            new(162, "sync"),
            new(217, "getdents64"),
            new(221, "fadvise64", Support.Partial, "advice is accepted and ignored (no page cache)"),
            new(235, "utimes"),
            new(257, "openat"),
            new(258, "mkdirat"),
            new(259, "mknodat", Support.Partial, "FIFOs, regular files and socket nodes; device nodes exist but open gives ENXIO"),
            new(260, "fchownat", Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)"),
            new(262, "newfstatat"),
            new(263, "unlinkat"),
            new(264, "renameat"),
            new(265, "linkat"),
            new(266, "symlinkat"),
            new(267, "readlinkat"),
            new(268, "fchmodat"),
            new(269, "faccessat", Support.Partial, "the caller is root: only X_OK can fail"),
            new(277, "sync_file_range"),
            new(280, "utimensat"),
            new(285, "fallocate", Support.Partial, "modes 0, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE (punched pages are zeroed, not freed)"),
            new(292, "dup3"),
            new(293, "pipe2"),
            new(295, "preadv"),
            new(296, "pwritev"),
            new(306, "syncfs"),
            new(316, "renameat2", Support.Partial, "RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT gives EINVAL"),
            new(319, "memfd_create", Support.Partial, "no file seals (F_ADD_SEALS gives EINVAL)"),
            new(326, "copy_file_range"),
            new(327, "preadv2", Support.Partial, "RWF_* flags are accepted and ignored"),
            new(328, "pwritev2", Support.Partial, "RWF_* flags are accepted and ignored (RWF_APPEND included)"),
            new(332, "statx", Support.Partial, "STATX_BASIC_STATS; no birth time or mount id"),
            new(436, "close_range"),
            new(437, "openat2", Support.Partial, "RESOLVE_* flags give EINVAL"),
            new(439, "faccessat2", Support.Partial, "the caller is root: only X_OK can fail"),
            new(452, "fchmodat2"),

            // Extended attributes (Sys.Xattr.cs): none are stored
            new(188, "setxattr", Support.Partial, noXattrs),
            new(189, "lsetxattr", Support.Partial, noXattrs),
            new(190, "fsetxattr", Support.Partial, noXattrs),
            new(191, "getxattr", Support.Partial, noXattrs),
            new(192, "lgetxattr", Support.Partial, noXattrs),
            new(193, "fgetxattr", Support.Partial, noXattrs),
            new(194, "listxattr", Support.Partial, noXattrs),
            new(195, "llistxattr", Support.Partial, noXattrs),
            new(196, "flistxattr", Support.Partial, noXattrs),
            new(197, "removexattr", Support.Partial, noXattrs),
            new(198, "lremovexattr", Support.Partial, noXattrs),
            new(199, "fremovexattr", Support.Partial, noXattrs),
            // Memory (Sys.Memory.cs)
            new(9, "mmap", Support.Partial, "anonymous and file mappings (MAP_PRIVATE, MAP_SHARED); a page beyond EOF gives SIGSEGV, not SIGBUS; mremap of a file mapping loses its file"),
            new(10, "mprotect"),
            new(11, "munmap"),
            new(12, "brk"),
            new(25, "mremap"),
            new(26, "msync", Support.Full, "shared file mappings map the file's own pages: nothing to write back"),
            new(28, "madvise", Support.Partial, "MADV_DONTNEED and MADV_FREE drop pages; other advice is accepted and ignored"),
            new(330, "pkey_alloc", Support.Partial, "as on a CPU without protection keys: ENOSPC"),
            new(331, "pkey_free", Support.Partial, "no key can be allocated: EINVAL"),
            new(329, "pkey_mprotect", Support.Partial, "key -1 is mprotect; no other key exists (EINVAL)"),

            // Process, identity and limits (Sys.Process.cs)
            new(39, "getpid"),
            new(231, "exit_group"),
            new(63, "uname"),
            new(95, "umask"),
            new(97, "getrlimit"),
            new(160, "setrlimit", Support.Partial, "limits are recorded, not enforced"),
            new(302, "prlimit64", Support.Partial, "limits are recorded, not enforced"),
            new(99, "sysinfo"),
            new(102, "getuid"),
            new(104, "getgid"),
            new(107, "geteuid"),
            new(108, "getegid"),
            new(110, "getppid"),
            new(118, "getresuid"),
            new(120, "getresgid"),
            new(115, "getgroups", Support.Full, "root with no supplementary groups"),
            new(111, "getpgrp"),
            new(121, "getpgid"),
            new(124, "getsid"),
            new(125, "capget", Support.Full, "root with every capability inside the VM, as in a container"),
            new(126, "capset", Support.Partial, "this process only; capabilities can be dropped, and only CAP_SYS_TIME is checked (by clock_settime, settimeofday)"),
            new(158, "arch_prctl"),
            new(318, "getrandom"),
            new(204, "sched_getaffinity"),
            new(203, "sched_setaffinity", Support.Partial, "one CPU: any set containing CPU 0 is accepted"),
            new(57, "fork", Support.Full, "copy-on-write; only the calling thread goes on in the child"),
            new(58, "vfork"),
            new(59, "execve", Support.Partial, "static, PIE, dynamic and #! programs from the image's files; a program written at run time (tmpfs) gives ENOEXEC"),
            new(322, "execveat", Support.Partial, "as execve; AT_EMPTY_PATH and AT_SYMLINK_NOFOLLOW"),
            new(61, "wait4"),
            new(247, "waitid", Support.Partial, "P_ALL, P_PID, P_PGID; no pidfds (P_PIDFD: EBADF)"),
            new(109, "setpgid"),
            new(112, "setsid", Support.Partial, "no controlling terminal is attached or lost"),
            new(334, "rseq", Support.None, "ENOSYS: libc falls back"),

            // Threads and scheduling (Sys.Thread.cs)
            new(56, "clone", Support.Partial, "threads (CLONE_VM|CLONE_THREAD), and processes (memory copied on write or shared with CLONE_VM, CLONE_FILES, CLONE_FS, CLONE_VFORK, CLONE_PARENT, CLONE_SETTLS, CLONE_*TID); CLONE_SIGHAND without CLONE_THREAD copies the handlers instead of sharing them; CLONE_PIDFD and namespaces give EINVAL"),
            new(435, "clone3", Support.Partial, "as clone; set_tid and cgroup are refused (EINVAL)"),
            new(60, "exit"),
            new(186, "gettid"),
            new(218, "set_tid_address"),
            new(273, "set_robust_list"),
            new(274, "get_robust_list"),
            new(202, "futex", Support.Partial, "all but the priority-inheritance operations (ENOSYS)"),
            new(449, "futex_waitv"),
            new(24, "sched_yield"),
            new(309, "getcpu"),
            new(324, "membarrier"),
            new(157, "prctl", Support.Partial, "names, death signal, dumpable, no_new_privs, timer slack (recorded), subreaper; others EINVAL"),
            new(145, "sched_getscheduler"),
            new(144, "sched_setscheduler", Support.Partial, "SCHED_OTHER/BATCH/IDLE accepted; real-time policies EPERM"),
            new(143, "sched_getparam"),
            new(142, "sched_setparam"),
            new(146, "sched_get_priority_max"),
            new(147, "sched_get_priority_min"),
            new(140, "getpriority"),
            new(141, "setpriority", Support.Partial, "nice value recorded; scheduling is round-robin"),

            // Signals (Sys.Signal.cs, signalfd in Sys.Poll.cs, kernel/proc/Signals.cs)
            new(13, "rt_sigaction"),
            new(14, "rt_sigprocmask"),
            new(15, "rt_sigreturn"),
            new(127, "rt_sigpending"),
            new(128, "rt_sigtimedwait"),
            new(129, "rt_sigqueueinfo"),
            new(130, "rt_sigsuspend"),
            new(297, "rt_tgsigqueueinfo"),
            new(131, "sigaltstack"),
            new(34, "pause"),
            new(62, "kill", Support.Partial, "a pid, a process group, or every process (-1); pid 1 ignores stop signals, but not others it has no handler for (Linux's init would)"),
            new(200, "tkill"),
            new(234, "tgkill"),
            new(289, "signalfd4"),
            new(282, "signalfd"),

            // Waiting for files (Sys.Poll.cs)
            new(7, "poll"),
            new(271, "ppoll"),
            new(23, "select"),
            new(270, "pselect6"),
            new(213, "epoll_create"),
            new(291, "epoll_create1"),
            new(233, "epoll_ctl"),
            new(232, "epoll_wait"),
            new(281, "epoll_pwait"),
            new(441, "epoll_pwait2"),
            new(284, "eventfd"),
            new(290, "eventfd2"),

            // Timers (Sys.Timers.cs)
            new(36, "getitimer"),
            new(38, "setitimer", Support.Partial, "CPU-time timers are charged per timer tick (4 ms), as sampled accounting"),
            new(37, "alarm"),
            new(222, "timer_create", Support.Partial, "SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE; CPU-time clocks advance per timer tick (4 ms), as sampled accounting"),
            new(223, "timer_settime"),
            new(224, "timer_gettime"),
            new(225, "timer_getoverrun"),
            new(226, "timer_delete"),
            new(100, "times", Support.Partial, "user time only"),
            new(98, "getrusage", Support.Partial, "user time only; memory and I/O counters are zero"),

            // Time (Sys.Time.cs)
            new(228, "clock_gettime"),
            new(229, "clock_getres"),
            new(227, "clock_settime", Support.Full, "CLOCK_REALTIME is the VM's own clock: setting it moves realtime and the vDSO, not CLOCK_MONOTONIC"),
            new(96, "gettimeofday"),
            new(164, "settimeofday", Support.Full, "sets the VM's realtime clock and the kernel timezone"),
            new(201, "time"),
            new(35, "nanosleep"),
            new(230, "clock_nanosleep", Support.Full, "a process CPU-time clock is checked per timer tick (4 ms)"),
        };
    }
}
