using Kernel.Abi;
using Kernel.Arch;
using Kernel.Sched;

namespace Kernel.Proc
{
    /// What a pending signal carries into siginfo_t.
    public struct SigInfoData
    {
        public int Code;           // si_code
        public ulong Addr;         // si_addr for faults
        public int Pid, Uid;       // sender
        public ulong Value;        // sigval for queued/timer signals
        public int TimerId, Overrun;
    }

    /// Signal generation and delivery (Linux x86-64 rt_sigframe layout).
    public static unsafe class Signals
    {
        public const ulong SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000,
            SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000, SA_RESTORER = 0x04000000;
        public const int SI_USER = 0, SI_TKILL = -6, SI_QUEUE = -1, SI_TIMER = -2, SEGV_MAPERR = 1, SEGV_ACCERR = 2,
            ILL_ILLOPN = 2, FPE_INTDIV = 1, BUS_ADRALN = 1, TRAP_BRKPT = 1, SI_KERNEL = 0x80;
        const ulong Unblockable = (1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1));

        static Proc.Process P => Proc.Process.Current;

        public static ulong Bit(int sig) => 1UL << (sig - 1);

        static bool Ignored(int sig)
        {
            ulong h = P.Actions[sig].Handler;
            return h == 1 || (h == 0 && Signal.DefaultIgnored(sig));
        }

        /// Sends a signal to a thread (tgkill) or, with target null, to the process (kill).
        public static void Send(Thread target, int sig, SigInfoData info)
        {
            if (Ignored(sig) && sig != Signal.SIGKILL) return;
            if (sig >= SIGRTMIN)
            {
                // Real-time signals queue: every send is delivered, with its own siginfo.
                if (!Enqueue(sig, target != null ? target.Tid : 0, info)) return;     // queue full: dropped, as at RLIMIT_SIGPENDING
            }
            else P.SigInfos[sig] = info;
            if (target != null) target.PendingSignals |= Bit(sig);
            else
            {
                P.PendingSignals |= Bit(sig);
                // Prefer a thread that does not block it.
                for (int i = 0; i < Scheduler.Slots; i++)
                {
                    Thread t = Scheduler.At(i);
                    if (t.State != ThreadState.Dead && (t.SignalMask & Bit(sig)) == 0) { target = t; break; }
                }
            }
            Fs.PollEvents.Changed();                         // signalfd readers and pollers re-check
            if (target != null && target.State == ThreadState.Blocked && target.Interruptible && (target.SignalMask & Bit(sig)) == 0)
            {
                Futex.Forget(target);
                Scheduler.Wake(target, WakeReason.Interrupted);
            }
        }

        public const int SIGRTMIN = 32;
        const int QueueMax = 256;
        struct Queued { public int Sig, Tid; public SigInfoData Info; }
        static readonly Queued[] _queue = new Queued[QueueMax];
        static int _queued;

        static bool Enqueue(int sig, int tid, SigInfoData info)
        {
            if (_queued == QueueMax) return false;
            _queue[_queued++] = new Queued { Sig = sig, Tid = tid, Info = info };
            return true;
        }

        /// Takes one pending instance of `sig` for thread `me` (thread-directed first) and
        /// clears the pending bit when none is left.
        public static SigInfoData Take(Thread me, int sig)
        {
            bool fromThread = (me.PendingSignals & Bit(sig)) != 0;
            if (sig < SIGRTMIN)
            {
                if (fromThread) me.PendingSignals &= ~Bit(sig); else P.PendingSignals &= ~Bit(sig);
                SigInfoData d = P.SigInfos[sig];
                if (d.Code == SI_TIMER) d.Overrun = Proc.Itimers.TakeOverrun(d.TimerId, d.Overrun);
                return d;
            }
            int want = fromThread ? me.Tid : 0;
            SigInfoData info = default;
            bool found = false, more = false;
            for (int i = 0; i < _queued; i++)
            {
                if (_queue[i].Sig != sig || _queue[i].Tid != want) continue;
                if (!found)
                {
                    info = _queue[i].Info;
                    for (int j = i; j < _queued - 1; j++) _queue[j] = _queue[j + 1];
                    _queued--;
                    found = true;
                    i--;
                }
                else { more = true; break; }
            }
            if (!more) { if (fromThread) me.PendingSignals &= ~Bit(sig); else P.PendingSignals &= ~Bit(sig); }
            if (info.Code == SI_TIMER) info.Overrun = Proc.Itimers.TakeOverrun(info.TimerId, info.Overrun);
            return info;
        }

        /// Drops queued instances: of `sig` (it became ignored), or aimed at thread `tid` (it exited).
        public static void Purge(int sig, int tid)
        {
            int kept = 0;
            for (int i = 0; i < _queued; i++)
                if (!((sig != 0 && _queue[i].Sig == sig) || (tid != 0 && _queue[i].Tid == tid))) _queue[kept++] = _queue[i];
            _queued = kept;
        }

        /// Whether `sig` is pending for the process or thread `t`.
        public static bool IsPending(Thread t, int sig) => ((P.PendingSignals | (t != null ? t.PendingSignals : 0)) & Bit(sig)) != 0;

        /// A write found no reader (pipe, closed console): SIGPIPE to the writing thread.
        public static void SendSigpipe() => Send(Scheduler.Current, Signal.SIGPIPE, new SigInfoData { Pid = P.Pid });

        public static bool HasDeliverable(Thread t) => ((t.PendingSignals | P.PendingSignals) & ~t.SignalMask) != 0;

        /// A fault signal: synchronous and forced (a blocked or ignored one kills, as on Linux).
        public static void Fault(InterruptFrame* f, int sig, int code, ulong addr)
        {
            Thread me = Scheduler.Current;
            ulong h = P.Actions[sig].Handler;
            if ((me.SignalMask & Bit(sig)) != 0 || h == 1) { P.Actions[sig].Handler = 0; h = 0; }
            if (h == 0) { P.KillBySignal(sig, f, addr, sig == Signal.SIGSEGV || sig == Signal.SIGBUS); return; }
            var info = new SigInfoData { Code = code, Addr = addr };
            if (!SetupFrame(f, me, sig, info)) P.KillBySignal(Signal.SIGSEGV, f, addr, false);
        }

        /// On the way back to user mode: act on the first deliverable signal.
        public static void DeliverPending(InterruptFrame* f)
        {
            Thread me = Scheduler.Current;
            while (true)
            {
                ulong ready = (me.PendingSignals | P.PendingSignals) & ~(me.SignalMask & ~Unblockable);
                if (ready == 0) return;
                int sig = 1;
                while ((ready & Bit(sig)) == 0) sig++;
                SigInfoData info = Take(me, sig);
                ulong h = P.Actions[sig].Handler;
                if (h == 1) continue;
                if (h == 0)
                {
                    if (Signal.DefaultIgnored(sig) || sig == Signal.SIGSTOP || sig == Signal.SIGTSTP || sig == 21 || sig == 22) continue;
                    P.KillBySignal(sig, null, 0, false);
                    return;
                }
                // Each handled signal gets a frame; further deliverable ones stack on top (the
                // last one set up runs first), as Linux does before returning to user mode.
                if (!SetupFrame(f, me, sig, info)) { P.KillBySignal(Signal.SIGSEGV, f, 0, false); return; }
            }
        }

        /// Whether the interrupted syscall should restart rather than fail with EINTR,
        /// given the signal about to be delivered.
        public static bool ShouldRestart(Thread me)
        {
            ulong ready = (me.PendingSignals | P.PendingSignals) & ~me.SignalMask;
            if (ready == 0) return true;                 // nothing will run: retry transparently
            int sig = 1;
            while ((ready & Bit(sig)) == 0) sig++;
            ulong h = P.Actions[sig].Handler;
            bool stop = sig == Signal.SIGSTOP || sig == Signal.SIGTSTP || sig == 21 || sig == 22;
            if (h == 1 || (h == 0 && (Signal.DefaultIgnored(sig) || stop))) return true;
            return h > 1 && (P.Actions[sig].Flags & SA_RESTART) != 0;
        }

        const int UcontextSize = 304, SiginfoSize = 128, FrameSize = 8 + UcontextSize + SiginfoSize;

        const ulong UserTop = 0x0000800000000000;

        static bool SetupFrame(InterruptFrame* f, Thread me, int sig, SigInfoData d)
        {
            SigAction act = P.Actions[sig];
            // The handler becomes the return address: it must be a user address (a kernel or
            // non-canonical one would fault the kernel's return to user mode).
            if (act.Handler >= UserTop) return false;
            ulong sp = f->Rsp;
            bool onAlt = me.AltStackFlags == 0 && me.AltStackSize != 0 && sp - me.AltStackSp <= me.AltStackSize;
            if ((act.Flags & SA_ONSTACK) != 0 && me.AltStackFlags == 0 && !onAlt) sp = me.AltStackSp + me.AltStackSize;
            else sp -= 128;                                       // skip the red zone
            sp = (sp - 512) & ~63UL;
            ulong fpAddr = sp;
            sp = ((sp - FrameSize) & ~15UL) - 8;
            ulong frame = sp;

            byte* buf = stackalloc byte[FrameSize];
            for (int i = 0; i < FrameSize; i++) buf[i] = 0;
            *(ulong*)buf = act.Restorer;
            byte* uc = buf + 8;
            *(ulong*)(uc + 16) = me.AltStackSp;
            *(int*)(uc + 24) = me.AltStackFlags == 0 ? (onAlt ? 1 : 0) : 2;
            *(ulong*)(uc + 32) = me.AltStackSize;
            ulong* g = (ulong*)(uc + 40);                          // struct sigcontext
            g[0] = f->R8; g[1] = f->R9; g[2] = f->R10; g[3] = f->R11; g[4] = f->R12; g[5] = f->R13; g[6] = f->R14; g[7] = f->R15;
            g[8] = f->Rdi; g[9] = f->Rsi; g[10] = f->Rbp; g[11] = f->Rbx; g[12] = f->Rdx; g[13] = f->Rax; g[14] = f->Rcx;
            g[15] = f->Rsp; g[16] = f->Rip; g[17] = f->Rflags;
            g[18] = Gdt.UserCode | ((ulong)Gdt.UserData << 48);   // cs, gs, fs, ss
            g[19] = f->Vector < 32 ? f->Error : 0;
            g[20] = f->Vector < 32 ? f->Vector : 0;
            ulong ucMask = me.RestoreMaskAfterSignal ? me.SavedMaskForSuspend : me.SignalMask;
            me.RestoreMaskAfterSignal = false;
            g[21] = ucMask;
            g[22] = f->Vector == 14 ? Cpu.ReadCr2() : 0;
            g[23] = fpAddr;
            *(ulong*)(uc + 296) = ucMask;                           // uc_sigmask
            byte* si = buf + 8 + UcontextSize;
            *(int*)si = sig;
            *(int*)(si + 8) = d.Code;
            if (sig == Signal.SIGSEGV || sig == Signal.SIGBUS || sig == Signal.SIGILL || sig == Signal.SIGFPE || sig == Signal.SIGTRAP)
                *(ulong*)(si + 16) = d.Addr;
            else if (d.Code == SI_TIMER)
            {
                *(int*)(si + 16) = d.TimerId; *(int*)(si + 20) = d.Overrun; *(ulong*)(si + 24) = d.Value;
            }
            else { *(int*)(si + 16) = d.Pid; *(int*)(si + 20) = d.Uid; *(ulong*)(si + 24) = d.Value; }

            byte* fp = stackalloc byte[512 + 16];
            fp = (byte*)(((ulong)fp + 15) & ~15UL);
            FpuState.Capture(f, fp);
            if (new UserPtr(fpAddr).CopyOut(fp, 512) != 0) return false;
            if (new UserPtr(frame).CopyOut(buf, FrameSize) != 0) return false;

            f->Rip = act.Handler;
            f->Rsp = frame;
            f->Rdi = (ulong)sig;
            f->Rsi = frame + 8 + UcontextSize;
            f->Rdx = frame + 8;
            f->Rax = 0;
            f->Rflags &= ~0x50400UL;                               // clear DF, TF, AC
            me.SignalMask |= act.Mask & ~Unblockable;
            if ((act.Flags & SA_NODEFER) == 0) me.SignalMask |= Bit(sig);
            if ((act.Flags & SA_RESETHAND) != 0) P.Actions[sig].Handler = 0;
            return true;
        }

        /// rt_sigreturn: restore the context saved by SetupFrame. Returns the restored rax.
        public static ulong Return(InterruptFrame* f)
        {
            Thread me = Scheduler.Current;
            ulong ucAddr = f->Rsp;                                  // the handler's ret popped pretcode
            byte* uc = stackalloc byte[UcontextSize];
            if (new UserPtr(ucAddr).CopyIn(uc, UcontextSize) != 0) { P.KillBySignal(Signal.SIGSEGV, f, ucAddr, true); return 0; }
            ulong* g = (ulong*)(uc + 40);
            f->R8 = g[0]; f->R9 = g[1]; f->R10 = g[2]; f->R11 = g[3]; f->R12 = g[4]; f->R13 = g[5]; f->R14 = g[6]; f->R15 = g[7];
            f->Rdi = g[8]; f->Rsi = g[9]; f->Rbp = g[10]; f->Rbx = g[11]; f->Rdx = g[12]; f->Rax = g[13]; f->Rcx = g[14];
            if (g[16] >= UserTop) { P.KillBySignal(Signal.SIGSEGV, f, g[16], true); return 0; }
            f->Rsp = g[15]; f->Rip = g[16];
            const ulong userFlags = 0x40dd5;                       // CF PF AF ZF SF TF DF OF AC
            f->Rflags = (f->Rflags & ~userFlags) | (g[17] & userFlags);
            if (g[23] != 0)
            {
                byte* fp = stackalloc byte[512 + 16];
                fp = (byte*)(((ulong)fp + 15) & ~15UL);
                if (new UserPtr(g[23]).CopyIn(fp, 512) == 0) FpuState.Install(f, fp);
            }
            me.SignalMask = *(ulong*)(uc + 296) & ~Unblockable;
            return f->Rax;
        }
    }
}
