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
            Add(158, "arch_prctl", &Sys.ArchPrctl);
            Add(318, "getrandom", &Sys.Getrandom);
            Add(204, "sched_getaffinity", &Sys.SchedGetaffinity);
            Add(203, "sched_setaffinity", &Sys.SchedSetaffinity, Support.Partial, "one CPU: any set containing CPU 0 is accepted");
            Add(57, "fork", null, Support.None, "processes not yet");
            Add(58, "vfork", null, Support.None, "processes not yet");
            Add(59, "execve", null, Support.None, "processes not yet");
            Add(61, "wait4", null, Support.None, "processes not yet");
            Add(334, "rseq", null, Support.None, "ENOSYS: libc falls back");
            Add(449, "futex_waitv", &Sys.FutexWaitv);
            Add(289, "signalfd4", &Sys.Signalfd4);
            Add(282, "signalfd", &Sys.SignalfdCall);

            // Threads and scheduling (Sys.Thread.cs)
            Add(56, "clone", &Sys.Clone, Support.Partial, "threads (CLONE_VM|CLONE_THREAD); new processes get ENOSYS");
            Add(435, "clone3", &Sys.Clone3, Support.Partial, "threads (CLONE_VM|CLONE_THREAD); new processes get ENOSYS");
            Add(60, "exit", &Sys.ExitThread);
            Add(186, "gettid", &Sys.Gettid);
            Add(218, "set_tid_address", &Sys.SetTidAddress);
            Add(273, "set_robust_list", &Sys.SetRobustList);
            Add(274, "get_robust_list", &Sys.GetRobustList);
            Add(202, "futex", &Sys.Futex, Support.Partial, "all but the priority-inheritance operations (ENOSYS)");
            Add(24, "sched_yield", &Sys.SchedYield);
            Add(309, "getcpu", &Sys.Getcpu);
            Add(324, "membarrier", &Sys.Membarrier);
            Add(157, "prctl", &Sys.Prctl, Support.Partial, "names, death signal, dumpable, no_new_privs, timer slack (recorded), subreaper; others EINVAL");
            Add(145, "sched_getscheduler", &Sys.SchedGetscheduler);
            Add(144, "sched_setscheduler", &Sys.SchedSetscheduler, Support.Partial, "SCHED_OTHER/BATCH/IDLE accepted; real-time policies EPERM");
            Add(143, "sched_getparam", &Sys.SchedGetparam);
            Add(142, "sched_setparam", &Sys.SchedSetparam);
            Add(146, "sched_get_priority_max", &Sys.SchedPriorityMax);
            Add(147, "sched_get_priority_min", &Sys.SchedPriorityMin);
            Add(140, "getpriority", &Sys.Getpriority);
            Add(141, "setpriority", &Sys.Setpriority, Support.Partial, "nice value recorded; scheduling is round-robin");

            // Signals (Sys.Signal.cs, kernel/proc/Signals.cs)
            Add(13, "rt_sigaction", &Sys.RtSigaction);
            Add(14, "rt_sigprocmask", &Sys.RtSigprocmask);
            Add(15, "rt_sigreturn", &Sys.RtSigreturn);
            Add(127, "rt_sigpending", &Sys.RtSigpending);
            Add(128, "rt_sigtimedwait", &Sys.RtSigtimedwait);
            Add(129, "rt_sigqueueinfo", &Sys.RtSigqueueinfo);
            Add(130, "rt_sigsuspend", &Sys.RtSigsuspend);
            Add(297, "rt_tgsigqueueinfo", &Sys.RtTgsigqueueinfo);
            Add(131, "sigaltstack", &Sys.Sigaltstack);
            Add(34, "pause", &Sys.Pause);
            Add(62, "kill", &Sys.Kill, Support.Partial, "the only process is pid 1");
            Add(200, "tkill", &Sys.Tkill);
            Add(234, "tgkill", &Sys.Tgkill);

            // Waiting for files (Sys.Poll.cs)
            Add(7, "poll", &Sys.PollCall);
            Add(271, "ppoll", &Sys.Ppoll);
            Add(23, "select", &Sys.Select);
            Add(270, "pselect6", &Sys.Pselect6);
            Add(213, "epoll_create", &Sys.EpollCreate);
            Add(291, "epoll_create1", &Sys.EpollCreate1);
            Add(233, "epoll_ctl", &Sys.EpollCtl);
            Add(232, "epoll_wait", &Sys.EpollWait);
            Add(281, "epoll_pwait", &Sys.EpollPwait);
            Add(441, "epoll_pwait2", &Sys.EpollPwait2);
            Add(284, "eventfd", &Sys.Eventfd);
            Add(290, "eventfd2", &Sys.Eventfd2);

            // Timers (Sys.Timers.cs)
            Add(36, "getitimer", &Sys.Getitimer);
            Add(38, "setitimer", &Sys.Setitimer, Support.Partial, "CPU-time timers are charged per timer tick (4 ms), as sampled accounting");
            Add(37, "alarm", &Sys.Alarm);
            Add(222, "timer_create", &Sys.TimerCreate, Support.Partial, "SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE; CPU clocks count wall time");
            Add(223, "timer_settime", &Sys.TimerSettime);
            Add(224, "timer_gettime", &Sys.TimerGettime);
            Add(225, "timer_getoverrun", &Sys.TimerGetoverrun);
            Add(226, "timer_delete", &Sys.TimerDelete);
            Add(100, "times", &Sys.Times, Support.Partial, "user time only");
            Add(98, "getrusage", &Sys.Getrusage, Support.Partial, "user time only; memory and I/O counters are zero");

            // Time (Sys.Time.cs)
            Add(228, "clock_gettime", &Sys.ClockGettime);
            Add(229, "clock_getres", &Sys.ClockGetres);
            Add(96, "gettimeofday", &Sys.Gettimeofday);
            Add(201, "time", &Sys.TimeCall);
            Add(35, "nanosleep", &Sys.Nanosleep);
            Add(230, "clock_nanosleep", &Sys.ClockNanosleep, Support.Partial, "CPU-time clocks give EOPNOTSUPP");
        }
    }
}
