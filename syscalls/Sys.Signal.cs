using Kernel.Abi;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        /// rt_sigaction(2): dispositions are recorded; delivery to handlers comes with the
        /// signals work, until then default actions apply.
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
                Cur.Actions[sig] = act;
            }
            if (a->A2 != 0 && new UserRef<SigAction>(a->A2).Write(old) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// rt_sigprocmask(2)
        public static SysResult RtSigprocmask(SyscallArgs* a)
        {
            int how = (int)a->A0;
            if (a->A3 != 8) return Errno.EINVAL;
            ulong old = Cur.SignalMask;
            if (a->A1 != 0)
            {
                ulong set;
                if (new UserPtr(a->A1).CopyIn(&set, 8) != 0) return Errno.EFAULT;
                set &= ~((1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1)));
                if (how == 0) Cur.SignalMask |= set;
                else if (how == 1) Cur.SignalMask &= ~set;
                else if (how == 2) Cur.SignalMask = set;
                else return Errno.EINVAL;
            }
            if (a->A2 != 0 && new UserPtr(a->A2).CopyOut(&old, 8) != 0) return Errno.EFAULT;
            DeliverUnblocked();
            return SysResult.Ok;
        }

        /// sigaltstack(2)
        public static SysResult Sigaltstack(SyscallArgs* a)
        {
            ulong* old = stackalloc ulong[3];
            old[0] = Cur.AltStackSp; old[1] = (ulong)Cur.AltStackFlags; old[2] = Cur.AltStackSize;
            if (a->A0 != 0)
            {
                ulong* ss = stackalloc ulong[3];
                if (new UserPtr(a->A0).CopyIn(ss, 24) != 0) return Errno.EFAULT;
                int flags = (int)ss[1];
                if ((flags & ~(2 | unchecked((int)0x80000000))) != 0) return Errno.EINVAL;
                if ((flags & 2) == 0 && ss[2] < 2048) return Errno.ENOMEM;
                Cur.AltStackSp = ss[0]; Cur.AltStackFlags = flags; Cur.AltStackSize = ss[2];
            }
            if (a->A1 != 0 && new UserPtr(a->A1).CopyOut(old, 24) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        static SysResult SendToSelf(int sig)
        {
            if (sig < 0 || sig > Signal.Count) return Errno.EINVAL;
            if (sig == 0) return SysResult.Ok;
            SigAction act = Cur.Actions[sig];
            if (act.Handler == 1 || (act.Handler == 0 && Signal.DefaultIgnored(sig))) return SysResult.Ok;   // SIG_IGN
            if ((Cur.SignalMask & (1UL << (sig - 1))) != 0 && sig != Signal.SIGKILL)
            {
                Cur.PendingSignals |= 1UL << (sig - 1);        // delivered when unblocked
                return SysResult.Ok;
            }
            Cur.KillBySignal(sig, null, 0, false);
            return SysResult.Ok;
        }

        /// Acts on pending signals that the mask no longer blocks (default actions only).
        static void DeliverUnblocked()
        {
            ulong ready = Cur.PendingSignals & ~Cur.SignalMask;
            for (int sig = 1; ready != 0 && sig <= Signal.Count; sig++)
            {
                ulong bit = 1UL << (sig - 1);
                if ((ready & bit) == 0) continue;
                Cur.PendingSignals &= ~bit;
                ready &= ~bit;
                SigAction act = Cur.Actions[sig];
                if (act.Handler == 1 || (act.Handler == 0 && Signal.DefaultIgnored(sig))) continue;
                Cur.KillBySignal(sig, null, 0, false);
            }
        }

        /// kill(2)
        public static SysResult Kill(SyscallArgs* a)
        {
            long pid = (long)a->A0;
            if (pid != Cur.Pid && pid != 0 && pid != -1) return Errno.ESRCH;
            return SendToSelf((int)a->A1);
        }

        /// tkill(2)
        public static SysResult Tkill(SyscallArgs* a) => (long)a->A0 != Cur.Pid ? Errno.ESRCH : SendToSelf((int)a->A1);

        /// tgkill(2)
        public static SysResult Tgkill(SyscallArgs* a) =>
            (long)a->A0 != Cur.Pid || (long)a->A1 != Cur.Pid ? Errno.ESRCH : SendToSelf((int)a->A2);
    }
}
