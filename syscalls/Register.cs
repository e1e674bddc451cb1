namespace Kernel.Syscalls
{
    public static unsafe partial class SyscallTable
    {
        /// Every system call the kernel knows, by family. A name without a handler is
        /// listed so the support page shows it; calling it gives ENOSYS.
        static void Register()
        {
            RegisterFiles();

            // Memory (Sys.Memory.cs)
            Add(9, "mmap", &Sys.Mmap, Support.Partial, "anonymous and file mappings (MAP_PRIVATE, MAP_SHARED); a page beyond EOF gives SIGSEGV, not SIGBUS; mremap of a file mapping loses its file");
            Add(10, "mprotect", &Sys.Mprotect);
            Add(11, "munmap", &Sys.Munmap);
            Add(12, "brk", &Sys.Brk);
            Add(25, "mremap", &Sys.Mremap);
            Add(26, "msync", &Sys.Msync, Support.Full, "shared file mappings map the file's own pages: nothing to write back");
            Add(28, "madvise", &Sys.Madvise, Support.Partial, "MADV_DONTNEED and MADV_FREE drop pages; other advice is accepted and ignored");

            // Process, identity and limits (Sys.Process.cs)
            Add(39, "getpid", &Sys.Getpid);
            Add(60, "exit", &Sys.Exit, Support.Partial, "ends the process: there is one thread");
            Add(231, "exit_group", &Sys.ExitGroup);
            Add(63, "uname", &Sys.Uname);
            Add(95, "umask", &Sys.Umask);
            Add(97, "getrlimit", &Sys.Getrlimit);
            Add(160, "setrlimit", &Sys.Setrlimit, Support.Partial, "limits are recorded, not enforced");
            Add(302, "prlimit64", &Sys.Prlimit64, Support.Partial, "limits are recorded, not enforced");
            Add(99, "sysinfo", &Sys.SysinfoCall);
            Add(102, "getuid", &Sys.Zero);
            Add(104, "getgid", &Sys.Zero);
            Add(107, "geteuid", &Sys.Zero);
            Add(108, "getegid", &Sys.Zero);
            Add(110, "getppid", &Sys.Getppid);
            Add(118, "getresuid", &Sys.Getresid);
            Add(120, "getresgid", &Sys.Getresid);
            Add(186, "gettid", &Sys.Getpid);
            Add(158, "arch_prctl", &Sys.ArchPrctl);
            Add(218, "set_tid_address", &Sys.SetTidAddress);
            Add(273, "set_robust_list", &Sys.SetRobustList);
            Add(274, "get_robust_list", null, Support.None);
            Add(334, "rseq", null, Support.None, "ENOSYS: libc falls back");
            Add(318, "getrandom", &Sys.Getrandom);
            Add(24, "sched_yield", &Sys.Zero);
            Add(204, "sched_getaffinity", &Sys.SchedGetaffinity);
            Add(203, "sched_setaffinity", &Sys.SchedSetaffinity, Support.Partial, "one CPU: any set containing CPU 0 is accepted");
            Add(56, "clone", null, Support.None, "threads and processes not yet");
            Add(57, "fork", null, Support.None);
            Add(58, "vfork", null, Support.None);
            Add(59, "execve", null, Support.None);
            Add(61, "wait4", null, Support.None);
            Add(435, "clone3", null, Support.None);
            Add(202, "futex", &Sys.Futex, Support.Partial, "one thread: WAKE wakes nobody; WAIT checks the value, then sleeps until its timeout");

            // Signals (Sys.Signal.cs)
            Add(13, "rt_sigaction", &Sys.RtSigaction, Support.Partial, "dispositions are stored; handlers are not invoked yet, default actions apply");
            Add(14, "rt_sigprocmask", &Sys.RtSigprocmask, Support.Partial, "mask is stored; signals are not queued yet");
            Add(131, "sigaltstack", &Sys.Sigaltstack);
            Add(62, "kill", &Sys.Kill, Support.Partial, "to itself only; default action");
            Add(200, "tkill", &Sys.Tkill, Support.Partial, "to itself only; default action");
            Add(234, "tgkill", &Sys.Tgkill, Support.Partial, "to itself only; default action");

            // Time (Sys.Time.cs)
            Add(228, "clock_gettime", &Sys.ClockGettime);
            Add(229, "clock_getres", &Sys.ClockGetres);
            Add(96, "gettimeofday", &Sys.Gettimeofday);
            Add(201, "time", &Sys.TimeCall);
            Add(35, "nanosleep", &Sys.Nanosleep);
            Add(230, "clock_nanosleep", &Sys.ClockNanosleep);
        }
    }
}
