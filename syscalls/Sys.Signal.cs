using Kernel.Abi;
using Kernel.Sched;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        const ulong Unblockable = (1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1));

        /// rt_sigaction(2)
        public static SysResult RtSigaction(SyscallArgs* a)
        {
            int sig = (int)a->A0;
            if (a->A3 != 8) return Errno.EINVAL;
            if (sig < 1 || sig > Signal.Count) return Errno.EINVAL;
            SigAction old = Cur.Actions[sig];
            if (a->A1 != 0)
            {
                if (sig == Signal.SIGKILL || sig == Signal.SIGSTOP) return Errno.EINVAL;
                if (new UserRef<SigAction>(a->A1).Read(out SigAction act) != 0) return Errno.EFAULT;
                act.Mask &= ~Unblockable;
                Cur.Actions[sig] = act;
                // Setting SIG_IGN (or a default-ignore SIG_DFL) discards what is pending.
                if (act.Handler == 1 || (act.Handler == 0 && Signal.DefaultIgnored(sig)))
                {
                    Cur.PendingSignals &= ~Signals.Bit(sig);
                    for (int i = 0; i < Scheduler.Slots; i++)
                    {
                        Thread t = Scheduler.At(i);
                        if (t != null && t.Group == Cur) t.PendingSignals &= ~Signals.Bit(sig);
                    }
                    Signals.Purge(Cur, sig, 0);
                }
            }
            if (a->A2 != 0 && new UserRef<SigAction>(a->A2).Write(old) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// rt_sigprocmask(2)
        public static SysResult RtSigprocmask(SyscallArgs* a)
        {
            int how = (int)a->A0;
            if (a->A3 != 8) return Errno.EINVAL;
            ulong old = Me.SignalMask;
            if (a->A1 != 0)
            {
                ulong set;
                if (new UserPtr(a->A1).CopyIn(&set, 8) != 0) return Errno.EFAULT;
                set &= ~Unblockable;
                if (how == 0) Me.SignalMask |= set;
                else if (how == 1) Me.SignalMask &= ~set;
                else if (how == 2) Me.SignalMask = set;
                else return Errno.EINVAL;
            }
            else if (how < 0 || how > 2) { }
            if (a->A2 != 0 && new UserPtr(a->A2).CopyOut(&old, 8) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// rt_sigpending(2)
        public static SysResult RtSigpending(SyscallArgs* a)
        {
            if (a->A1 > 8) return Errno.EINVAL;
            ulong set = (Me.PendingSignals | Cur.PendingSignals) & Me.SignalMask;
            return new UserPtr(a->A0).CopyOut(&set, a->A1) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// rt_sigreturn(2)
        public static SysResult RtSigreturn(SyscallArgs* a) => (long)Signals.Return(a->Frame);

        /// rt_sigsuspend(2): waits with a temporary mask until a signal is delivered.
        public static SysResult RtSigsuspend(SyscallArgs* a)
        {
            if (a->A1 != 8) return Errno.EINVAL;
            ulong mask;
            if (new UserPtr(a->A0).CopyIn(&mask, 8) != 0) return Errno.EFAULT;
            Me.SavedMaskForSuspend = Me.SignalMask;
            Me.RestoreMaskAfterSignal = true;
            Me.SignalMask = mask & ~Unblockable;
            while (Scheduler.Block(0, true) != WakeReason.Interrupted) { }
            return Errno.EINTR;
        }

        /// pause(2)
        public static SysResult Pause(SyscallArgs* a)
        {
            while (Scheduler.Block(0, true) != WakeReason.Interrupted) { }
            return Errno.EINTR;
        }

        /// rt_sigtimedwait(2): takes a pending signal from `set` without running its handler.
        public static SysResult RtSigtimedwait(SyscallArgs* a)
        {
            if (a->A3 != 8) return Errno.EINVAL;
            ulong set;
            if (new UserPtr(a->A0).CopyIn(&set, 8) != 0) return Errno.EFAULT;
            set &= ~Unblockable;
            ulong deadline = 0;
            if (a->A2 != 0)
            {
                if (new UserRef<Timespec>(a->A2).Read(out Timespec ts) != 0) return Errno.EFAULT;
                if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
                deadline = Deadline.After(ts);
            }
            while (true)
            {
                ulong ready = (Me.PendingSignals | Cur.PendingSignals) & set;
                if (ready != 0)
                {
                    int sig = 1;
                    while ((ready & Signals.Bit(sig)) == 0) sig++;
                    SigInfoData info = Signals.Take(Me, sig);
                    if (a->A1 != 0 && WriteSiginfo(a->A1, sig, info) != 0) return Errno.EFAULT;
                    return sig;
                }
                if (a->A2 != 0 && Time.Clock.MonotonicNs() >= deadline) return Errno.EAGAIN;
                // Wait with the awaited signals unblocked, so they wake us, then restore.
                ulong saved = Me.SignalMask;
                Me.RealBlocked = saved;
                Me.SignalMask &= ~set;
                WakeReason r = Scheduler.Block(deadline, true);
                Me.SignalMask = saved;
                Me.RealBlocked = 0;
                if (r == WakeReason.TimedOut) return Errno.EAGAIN;
                if (((Me.PendingSignals | Cur.PendingSignals) & set) == 0 && r == WakeReason.Interrupted) return Errno.EINTR;
            }
        }

        static Errno WriteSiginfo(ulong addr, int sig, SigInfoData d) => new UserRef<SigInfo>(addr).Write(Signals.ToSigInfo(sig, d));

        /// sigaltstack(2)
        public static SysResult Sigaltstack(SyscallArgs* a)
        {
            ulong sp = a->Frame->Rsp;
            bool onStack = Me.AltStackFlags == 0 && Me.AltStackSize != 0 && sp - Me.AltStackSp <= Me.AltStackSize;
            var old = new StackT { Sp = Me.AltStackSp, Flags = onStack ? SigCodes.SS_ONSTACK : Me.AltStackFlags, Size = Me.AltStackSize };
            if (a->A0 != 0)
            {
                if (new UserRef<StackT>(a->A0).Read(out StackT ss) != 0) return Errno.EFAULT;
                if (onStack) return Errno.EPERM;
                int flags = ss.Flags;
                if ((flags & ~(SigCodes.SS_ONSTACK | SigCodes.SS_DISABLE | SigCodes.SS_AUTODISARM)) != 0) return Errno.EINVAL;   // SS_ONSTACK is accepted as 0
                flags &= ~SigCodes.SS_ONSTACK;
                if ((flags & SigCodes.SS_DISABLE) == 0 && ss.Size < SigCodes.MINSIGSTKSZ) return Errno.ENOMEM;
                if ((flags & SigCodes.SS_DISABLE) != 0) { Me.AltStackSp = 0; Me.AltStackSize = 0; Me.AltStackFlags = SigCodes.SS_DISABLE; }
                else { Me.AltStackSp = ss.Sp; Me.AltStackFlags = 0; Me.AltStackSize = ss.Size; }
            }
            if (a->A1 != 0 && new UserRef<StackT>(a->A1).Write(old) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        static SysResult SendSignal(Process to, Thread target, int sig, int code)
        {
            if (sig < 0 || sig > Signal.Count) return Errno.EINVAL;
            if (!MaySignal(to, sig)) return Errno.EPERM;
            if (sig == 0 || to.Zombie || InitIgnores(to, target, sig)) return SysResult.Ok;
            Signals.Send(to, target, sig, new SigInfoData { Code = code, Pid = Cur.Pid, Uid = (int)Cur.Ruid });
            return SysResult.Ok;
        }

        /// Linux's kill permission (kill(2)): the sender's real or effective uid is the
        /// target's real or saved uid, or the sender has CAP_KILL; SIGCONT within a session
        /// is always allowed. Signal 0 asks exactly this.
        static bool MaySignal(Process to, int sig)
        {
            Process me = Cur;
            if (me.Euid == to.Suid || me.Euid == to.Ruid || me.Ruid == to.Suid || me.Ruid == to.Ruid) return true;
            if (sig == Signal.SIGCONT && me.Sid == to.Sid) return true;
            return Capable(5);                                   // CAP_KILL
        }

        /// As Linux's init (SIGNAL_UNKILLABLE): pid 1 drops a signal another process sends it
        /// when it has no handler for it (SIGKILL and SIGSTOP included); SIGCONT still
        /// continues it. Its own signals (raise, abort) and the kernel's (SIGPIPE on a closed
        /// stdout, timers, faults) act as for any process, as when the program runs directly.
        /// A blocked signal is never dropped (Linux's sig_ignored: a handler may be set before
        /// it is unblocked, or a signalfd or sigwait take it): blocked by the target thread,
        /// or for a process-directed one by the thread whose tid is the pid.
        static bool InitIgnores(Process to, Thread target, int sig)
        {
            if (to.Pid != 1 || to == Cur || sig == Signal.SIGCONT || to.Actions[sig].Handler != 0) return false;
            Thread t = target ?? Scheduler.Find(to.Pid);
            return t == null || Process.Of(t) != to || (t.SignalMask & Signals.Bit(sig)) == 0;
        }

        /// kill(2): a process (pid > 0), the caller's process group (0), every process but
        /// pid 1 and the caller (-1), or process group -pid.
        public static SysResult Kill(SyscallArgs* a)
        {
            int pid = (int)a->A0, sig = (int)a->A1;
            if (sig < 0 || sig > Signal.Count) return Errno.EINVAL;
            if (pid > 0)
            {
                Process p = Process.Find(pid);
                return p == null ? Errno.ESRCH : SendSignal(p, null, sig, SigCodes.SI_USER);
            }
            if (pid == int.MinValue) return Errno.ESRCH;
            int group = pid == 0 ? Cur.Pgid : -pid;
            bool any = false, sent = false;
            Process me = Cur;
            // Sending may wake the caller's own threads but never switches: the list is stable.
            // As Linux: a group succeeds when one process could be signalled, else EPERM; -1
            // succeeds when it found any (the ones it may not signal are passed over).
            for (int i = 0; i < Process.Count; i++)
            {
                Process p = Process.At(i);
                if (pid == -1 ? (p.Pid == 1 || p == me) : p.Pgid != group) continue;
                any = true;
                if (SendSignal(p, null, sig, SigCodes.SI_USER).IsError) continue;     // a zombie takes a signal and ignores it
                sent = true;
            }
            if (!any) return Errno.ESRCH;
            return sent || pid == -1 ? SysResult.Ok : Errno.EPERM;
        }

        /// tkill(2)
        public static SysResult Tkill(SyscallArgs* a)
        {
            if ((int)a->A0 <= 0) return Errno.EINVAL;
            Thread t = Scheduler.Find((int)a->A0);
            return t == null ? Errno.ESRCH : SendSignal(Process.Of(t), t, (int)a->A1, SigCodes.SI_TKILL);
        }

        /// tgkill(2)
        public static SysResult Tgkill(SyscallArgs* a)
        {
            if ((int)a->A0 <= 0 || (int)a->A1 <= 0) return Errno.EINVAL;
            Thread t = Scheduler.Find((int)a->A1);
            if (t == null || (int)a->A0 != Process.Of(t).Pid) return Errno.ESRCH;
            return SendSignal(Process.Of(t), t, (int)a->A2, SigCodes.SI_TKILL);
        }

        /// pidfd_send_signal(2): a signal to the process of a pidfd (or of an open /proc/PID
        /// directory); with a siginfo, as rt_sigqueueinfo (its si_signo must be `sig`).
        public static SysResult PidfdSendSignal(SyscallArgs* a)
        {
            int sig = (int)a->A1;
            if (sig < 0 || sig > Signal.Count) return Errno.EINVAL;
            if (a->A3 != 0) return Errno.EINVAL;
            Process to = PidFd.Of(Fd((int)a->A0));
            if (to == null) return Errno.EBADF;
            var data = new SigInfoData { Code = SigCodes.SI_USER, Pid = Cur.Pid, Uid = (int)Cur.Ruid };
            if (a->A2 != 0)
            {
                if (new UserRef<SigInfo>(a->A2).Read(out SigInfo si) != 0) return Errno.EFAULT;
                if (si.Signo != sig) return Errno.EINVAL;
                if (to != Cur && (si.Code >= 0 || si.Code == SigCodes.SI_TKILL)) return Errno.EPERM;   // only to itself
                data = new SigInfoData { Code = si.Code, Pid = si.Pid, Uid = si.Uid, Value = si.Value };
            }
            if (Process.Find(to.Pid) != to) return Errno.ESRCH;      // reaped
            if (!MaySignal(to, sig)) return Errno.EPERM;
            if (sig == 0 || to.Zombie || InitIgnores(to, null, sig)) return SysResult.Ok;
            Signals.Send(to, null, sig, data);
            return SysResult.Ok;
        }

        /// rt_sigqueueinfo(2)
        public static SysResult RtSigqueueinfo(SyscallArgs* a) => QueueInfo(null, (int)a->A0, (int)a->A1, a->A2);

        /// rt_tgsigqueueinfo(2)
        public static SysResult RtTgsigqueueinfo(SyscallArgs* a)
        {
            Thread t = Scheduler.Find((int)a->A1);
            if (t == null || (int)a->A0 != Process.Of(t).Pid) return Errno.ESRCH;
            return QueueInfo(t, (int)a->A0, (int)a->A2, a->A3);
        }

        static SysResult QueueInfo(Thread t, int pid, int sig, ulong infoPtr)
        {
            if (sig < 0 || sig > Signal.Count) return Errno.EINVAL;
            Process to = pid > 0 ? Process.Find(pid) : null;
            if (to == null) return Errno.ESRCH;
            if (new UserRef<SigInfo>(infoPtr).Read(out SigInfo si) != 0) return Errno.EFAULT;
            int code = si.Code;
            if (code >= 0 || code == SigCodes.SI_TKILL) return Errno.EPERM;   // only SI_QUEUE-like codes from user space
            if (!MaySignal(to, sig)) return Errno.EPERM;
            if (sig == 0 || to.Zombie || InitIgnores(to, t, sig)) return SysResult.Ok;
            Signals.Send(to, t, sig, new SigInfoData { Code = code, Pid = si.Pid, Uid = si.Uid, Value = si.Value });
            return SysResult.Ok;
        }
    }
}
