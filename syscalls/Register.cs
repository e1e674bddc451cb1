namespace Kernel.Syscalls
{
    public static unsafe partial class SyscallTable
    {
        /// Binds a handler to every system call SyscallList.cs lists as supported, by family.
        static void Register()
        {
            RegisterFiles();
            RegisterSockets();

            // Memory (Sys.Memory.cs)
            Bind(9, &Sys.Mmap);
            Bind(10, &Sys.Mprotect);
            Bind(11, &Sys.Munmap);
            Bind(12, &Sys.Brk);
            Bind(25, &Sys.Mremap);
            Bind(26, &Sys.Msync);
            Bind(28, &Sys.Madvise);
            Bind(330, &Sys.PkeyAlloc);
            Bind(331, &Sys.PkeyFree);
            Bind(329, &Sys.PkeyMprotect);

            // System V shared memory (Sys.Shm.cs)
            Bind(29, &Sys.Shmget);
            Bind(30, &Sys.Shmat);
            Bind(67, &Sys.Shmdt);
            Bind(31, &Sys.Shmctl);

            // Process, identity and limits (Sys.Process.cs)
            Bind(39, &Sys.Getpid);
            Bind(231, &Sys.ExitGroup);
            Bind(63, &Sys.Uname);
            Bind(170, &Sys.Sethostname);
            Bind(171, &Sys.Setdomainname);
            Bind(95, &Sys.Umask);
            Bind(97, &Sys.Getrlimit);
            Bind(160, &Sys.Setrlimit);
            Bind(302, &Sys.Prlimit64);
            Bind(99, &Sys.SysinfoCall);
            Bind(110, &Sys.Getppid);

            // Credentials (Sys.Cred.cs)
            Bind(102, &Sys.Getuid);
            Bind(104, &Sys.Getgid);
            Bind(107, &Sys.Geteuid);
            Bind(108, &Sys.Getegid);
            Bind(118, &Sys.Getresuid);
            Bind(120, &Sys.Getresgid);
            Bind(115, &Sys.Getgroups);
            Bind(116, &Sys.Setgroups);
            Bind(105, &Sys.Setuid);
            Bind(106, &Sys.Setgid);
            Bind(113, &Sys.Setreuid);
            Bind(114, &Sys.Setregid);
            Bind(117, &Sys.Setresuid);
            Bind(119, &Sys.Setresgid);
            Bind(122, &Sys.Setfsuid);
            Bind(123, &Sys.Setfsgid);
            Bind(111, &Sys.Getpgrp);
            Bind(121, &Sys.Getpgid);
            Bind(124, &Sys.Getsid);

            // Processes (Sys.Fork.cs)
            Bind(57, &Sys.Fork);
            Bind(58, &Sys.Vfork);
            Bind(59, &Sys.Execve);
            Bind(322, &Sys.Execveat);
            Bind(61, &Sys.Wait4);
            Bind(247, &Sys.Waitid);
            Bind(434, &Sys.PidfdOpen);
            Bind(109, &Sys.Setpgid);
            Bind(112, &Sys.Setsid);
            Bind(125, &Sys.Capget);
            Bind(126, &Sys.Capset);
            Bind(158, &Sys.ArchPrctl);
            Bind(318, &Sys.Getrandom);
            Bind(204, &Sys.SchedGetaffinity);
            Bind(203, &Sys.SchedSetaffinity);

            // Threads and scheduling (Sys.Thread.cs)
            Bind(56, &Sys.Clone);
            Bind(435, &Sys.Clone3);
            Bind(60, &Sys.ExitThread);
            Bind(186, &Sys.Gettid);
            Bind(218, &Sys.SetTidAddress);
            Bind(273, &Sys.SetRobustList);
            Bind(274, &Sys.GetRobustList);
            Bind(202, &Sys.Futex);
            Bind(449, &Sys.FutexWaitv);
            Bind(24, &Sys.SchedYield);
            Bind(309, &Sys.Getcpu);
            Bind(324, &Sys.Membarrier);
            Bind(157, &Sys.Prctl);
            Bind(145, &Sys.SchedGetscheduler);
            Bind(144, &Sys.SchedSetscheduler);
            Bind(143, &Sys.SchedGetparam);
            Bind(142, &Sys.SchedSetparam);
            Bind(146, &Sys.SchedPriorityMax);
            Bind(147, &Sys.SchedPriorityMin);
            Bind(148, &Sys.SchedRrGetInterval);
            Bind(140, &Sys.Getpriority);
            Bind(141, &Sys.Setpriority);

            // Signals (Sys.Signal.cs, signalfd in Sys.Poll.cs, kernel/proc/Signals.cs)
            Bind(13, &Sys.RtSigaction);
            Bind(14, &Sys.RtSigprocmask);
            Bind(15, &Sys.RtSigreturn);
            Bind(127, &Sys.RtSigpending);
            Bind(128, &Sys.RtSigtimedwait);
            Bind(129, &Sys.RtSigqueueinfo);
            Bind(130, &Sys.RtSigsuspend);
            Bind(297, &Sys.RtTgsigqueueinfo);
            Bind(131, &Sys.Sigaltstack);
            Bind(34, &Sys.Pause);
            Bind(62, &Sys.Kill);
            Bind(424, &Sys.PidfdSendSignal);
            Bind(200, &Sys.Tkill);
            Bind(234, &Sys.Tgkill);
            Bind(289, &Sys.Signalfd4);
            Bind(282, &Sys.SignalfdCall);

            // Waiting for files (Sys.Poll.cs)
            Bind(7, &Sys.PollCall);
            Bind(271, &Sys.Ppoll);
            Bind(23, &Sys.Select);
            Bind(270, &Sys.Pselect6);
            Bind(213, &Sys.EpollCreate);
            Bind(291, &Sys.EpollCreate1);
            Bind(233, &Sys.EpollCtl);
            Bind(232, &Sys.EpollWait);
            Bind(281, &Sys.EpollPwait);
            Bind(441, &Sys.EpollPwait2);
            Bind(284, &Sys.Eventfd);
            Bind(290, &Sys.Eventfd2);
            Bind(253, &Sys.InotifyInit);
            Bind(294, &Sys.InotifyInit1);
            Bind(254, &Sys.InotifyAddWatch);
            Bind(255, &Sys.InotifyRmWatch);

            // Timers (Sys.Timers.cs)
            Bind(36, &Sys.Getitimer);
            Bind(38, &Sys.Setitimer);
            Bind(37, &Sys.Alarm);
            Bind(222, &Sys.TimerCreate);
            Bind(223, &Sys.TimerSettime);
            Bind(224, &Sys.TimerGettime);
            Bind(225, &Sys.TimerGetoverrun);
            Bind(226, &Sys.TimerDelete);
            Bind(100, &Sys.Times);
            Bind(98, &Sys.Getrusage);
            Bind(283, &Sys.TimerfdCreate);
            Bind(286, &Sys.TimerfdSettime);
            Bind(287, &Sys.TimerfdGettime);

            // Time (Sys.Time.cs)
            Bind(228, &Sys.ClockGettime);
            Bind(229, &Sys.ClockGetres);
            Bind(227, &Sys.ClockSettime);
            Bind(96, &Sys.Gettimeofday);
            Bind(164, &Sys.Settimeofday);
            Bind(201, &Sys.TimeCall);
            Bind(35, &Sys.Nanosleep);
            Bind(230, &Sys.ClockNanosleep);
        }
    }
}
