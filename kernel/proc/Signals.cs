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
        public int Status;         // SIGCHLD: si_status
    }

    /// A queued real-time signal (each send is delivered with its own siginfo).
    public struct QueuedSignal { public int Sig, Tid; public SigInfoData Info; }

    /// Signal generation and delivery (Linux x86-64 rt_sigframe layout).
    public static unsafe class Signals
    {
        /// Tracing hooks (`ukpack run --strace`, installed by Kmain): a signal delivered to a
        /// handler (signal, si_code, si_addr), and the process killed by one.
        public static delegate*<int, int, ulong, void> OnDeliver;
        public static delegate*<int, ulong, bool, void> OnKilled;

        const ulong Unblockable = (1UL << (Signal.SIGKILL - 1)) | (1UL << (Signal.SIGSTOP - 1));

        public static ulong Bit(int sig) => 1UL << (sig - 1);

        static bool Ignored(Process P, int sig)
        {
            ulong h = P.Actions[sig].Handler;
            return h == 1 || (h == 0 && Signal.DefaultIgnored(sig));
        }

        /// Whether a signal sent now is blocked where Linux looks at generation time: the
        /// target thread's mask, or for a process-directed signal the main thread's (any
        /// live thread's once the main thread has exited), counting the mask sigtimedwait
        /// lifted while it waits (Linux's real_blocked). A blocked signal is never
        /// discarded as ignored, since the disposition may change before it is unblocked:
        /// PostgreSQL's latches block SIGURG (default: ignore) and read it from a signalfd.
        static bool BlockedAtGeneration(Process P, Thread target, int sig)
        {
            if (target != null) return ((target.SignalMask | target.RealBlocked) & Bit(sig)) != 0;
            bool any = false;
            for (int i = 0; i < Scheduler.Slots; i++)
            {
                Thread t = Scheduler.At(i);
                if (t == null || t.Group != P || t.State == ThreadState.Dead) continue;
                bool blocked = ((t.SignalMask | t.RealBlocked) & Bit(sig)) != 0;
                if (t.Tid == P.Pid) return blocked;
                any |= blocked;
            }
            return any;
        }

        /// Sends a signal to thread `target` of process `P` (tgkill) or, with target null, to
        /// the process (kill).
        const ulong StopSignals = (1UL << (Signal.SIGSTOP - 1)) | (1UL << (Signal.SIGTSTP - 1)) | (1UL << (Signal.SIGTTIN - 1)) | (1UL << (Signal.SIGTTOU - 1));
        static bool IsStop(int sig) => (Bit(sig) & StopSignals) != 0;

        /// Generation-time effects of job-control signals, as on Linux: SIGCONT resumes a stopped
        /// process (even when blocked or ignored) and drops pending stops; a stop signal drops a
        /// pending SIGCONT; SIGKILL wakes a stopped process's threads so they can die.
        static void JobControl(Process P, int sig)
        {
            if (sig == Signal.SIGCONT)
            {
                P.PendingSignals &= ~StopSignals;
                for (int i = 0; i < Scheduler.Slots; i++) { Thread t = Scheduler.At(i); if (t != null && t.Group == P) t.PendingSignals &= ~StopSignals; }
                P.Continue();
            }
            else if (IsStop(sig))
            {
                P.PendingSignals &= ~Bit(Signal.SIGCONT);
                for (int i = 0; i < Scheduler.Slots; i++) { Thread t = Scheduler.At(i); if (t != null && t.Group == P) t.PendingSignals &= ~Bit(Signal.SIGCONT); }
            }
            else if (sig == Signal.SIGKILL) P.WakeStopped();             // stopped threads, and a vfork parent's wait
        }

        public static void Send(Process P, Thread target, int sig, SigInfoData info)
        {
            JobControl(P, sig);
            if (sig != Signal.SIGKILL && Ignored(P, sig) && !BlockedAtGeneration(P, target, sig)) return;
            if (sig >= Signal.SIGRTMIN)
            {
                // Real-time signals queue: every send is delivered, with its own siginfo.
                if (!Enqueue(P, sig, target != null ? target.Tid : 0, info)) return;     // queue full: dropped, as at RLIMIT_SIGPENDING
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
                    if (t != null && t.Group == P && t.State != ThreadState.Dead && (t.SignalMask & Bit(sig)) == 0) { target = t; break; }
                }
            }
            P.SignalHead.Changed();                          // its signalfd readers and pollers re-check
            if (target != null && target.State == ThreadState.Blocked && target.Interruptible && (target.SignalMask & Bit(sig)) == 0)
            {
                Futex.Forget(target);
                Scheduler.Wake(target, WakeReason.Interrupted);
            }
            else if (target != null) Scheduler.Interrupt(target);     // running on another CPU: into the kernel now
        }

        static bool Enqueue(Process P, int sig, int tid, SigInfoData info)
        {
            if (P.SigQueued == P.SigQueue.Length) return false;
            P.SigQueue[P.SigQueued++] = new QueuedSignal { Sig = sig, Tid = tid, Info = info };
            return true;
        }

        /// Takes one pending instance of `sig` for thread `me` (thread-directed first) and
        /// clears the pending bit when none is left.
        public static SigInfoData Take(Thread me, int sig)
        {
            Process P = Process.Of(me);
            QueuedSignal[] _queue = P.SigQueue;
            bool fromThread = (me.PendingSignals & Bit(sig)) != 0;
            if (sig < Signal.SIGRTMIN)
            {
                if (fromThread) me.PendingSignals &= ~Bit(sig); else P.PendingSignals &= ~Bit(sig);
                SigInfoData d = P.SigInfos[sig];
                if (d.Code == SigCodes.SI_TIMER) d.Overrun = P.Itimers.TakeOverrun(d.TimerId, d.Overrun);
                return d;
            }
            int want = fromThread ? me.Tid : 0;
            SigInfoData info = default;
            bool found = false, more = false;
            for (int i = 0; i < P.SigQueued; i++)
            {
                if (_queue[i].Sig != sig || _queue[i].Tid != want) continue;
                if (!found)
                {
                    info = _queue[i].Info;
                    for (int j = i; j < P.SigQueued - 1; j++) _queue[j] = _queue[j + 1];
                    P.SigQueued--;
                    found = true;
                    i--;
                }
                else { more = true; break; }
            }
            if (!more) { if (fromThread) me.PendingSignals &= ~Bit(sig); else P.PendingSignals &= ~Bit(sig); }
            if (info.Code == SigCodes.SI_TIMER) info.Overrun = P.Itimers.TakeOverrun(info.TimerId, info.Overrun);
            return info;
        }

        /// Drops queued instances: of `sig` (it became ignored), or aimed at thread `tid` (it exited).
        public static void Purge(Process P, int sig, int tid)
        {
            QueuedSignal[] _queue = P.SigQueue;
            int kept = 0;
            for (int i = 0; i < P.SigQueued; i++)
                if (!((sig != 0 && _queue[i].Sig == sig) || (tid != 0 && _queue[i].Tid == tid))) _queue[kept++] = _queue[i];
            P.SigQueued = kept;
        }

        /// Whether `sig` is pending for the process or thread `t`.
        public static bool IsPending(Process P, Thread t, int sig) => ((P.PendingSignals | (t != null ? t.PendingSignals : 0)) & Bit(sig)) != 0;

        /// A write found no reader (pipe, closed console): SIGPIPE to the writing thread.
        public static void SendSigpipe() => SendToSelf(Signal.SIGPIPE);
        public static void SendSigxfsz() => SendToSelf(Signal.SIGXFSZ);

        /// A signal the calling thread brought on itself (SIGPIPE, SIGXFSZ): SI_USER from its own pid.
        public static void SendToSelf(int sig)
        {
            Thread me = Scheduler.Current;
            Process P = Process.Of(me);
            Send(P, me, sig, new SigInfoData { Pid = P.Pid });
        }

        public static bool HasDeliverable(Thread t) => t.Killed || ((t.PendingSignals | Process.Of(t).PendingSignals) & ~t.SignalMask) != 0;

        /// A fault signal: synchronous and forced (a blocked or ignored one kills, as on Linux).
        public static void Fault(InterruptFrame* f, int sig, int code, ulong addr)
        {
            Thread me = Scheduler.Current;
            Process P = Process.Of(me);
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
            Process P = Process.Of(me);
            if (me.Killed) P.ExitThread(me);                        // its process is exiting: never returns
            while (true)
            {
                if (P.Stopped) StopWait(me, P);
                ulong ready = (me.PendingSignals | P.PendingSignals) & ~(me.SignalMask & ~Unblockable);
                if (ready == 0) return;
                int sig = 1;
                while ((ready & Bit(sig)) == 0) sig++;
                SigInfoData info = Take(me, sig);
                ulong h = P.Actions[sig].Handler;
                if (h == 1) continue;
                if (h == 0)
                {
                    if (Signal.DefaultIgnored(sig)) continue;
                    if (IsStop(sig))
                    {
                        // Init (pid 1) ignores stop signals it has no handler for, as Linux's init does.
                        if (P.Pid != 1) P.Stop(sig);
                        continue;
                    }
                    if (InitDrops(P, info)) continue;
                    P.KillBySignal(sig, null, 0, false);
                    return;
                }
                // Each handled signal gets a frame; further deliverable ones stack on top (the
                // last one set up runs first), as Linux does before returning to user mode.
                if (!SetupFrame(f, me, sig, info)) { P.KillBySignal(Signal.SIGSEGV, f, 0, false); return; }
            }
        }

        /// Pid 1 takes no default action for a signal another process sent it: the syscall
        /// layer drops such a signal when it is sent, unless it is blocked then (it stays
        /// pending for a signalfd, sigwait or a handler set meanwhile); if it is unblocked
        /// with no handler, it goes here, as Linux's init's (SIGNAL_UNKILLABLE) at delivery.
        static bool InitDrops(Process P, in SigInfoData info) =>
            P.Pid == 1 && info.Code <= 0 && info.Pid != 0 && info.Pid != P.Pid;

        /// Parks thread `me` while its process is stopped; SIGCONT or SIGKILL wakes it.
        static void StopWait(Thread me, Process P)
        {
            while (P.Stopped && !me.Killed && !IsPending(P, me, Signal.SIGKILL))
            {
                me.InStopWait = true;
                Scheduler.Block(0, false);
                me.InStopWait = false;
            }
            if (me.Killed) P.ExitThread(me);
        }

        /// Whether the interrupted syscall should restart rather than fail with EINTR,
        /// given the signal about to be delivered.
        public static bool ShouldRestart(Thread me)
        {
            Process P = Process.Of(me);
            ulong ready = (me.PendingSignals | P.PendingSignals) & ~me.SignalMask;
            if (ready == 0) return true;                 // nothing will run: retry transparently
            int sig = 1;
            while ((ready & Bit(sig)) == 0) sig++;
            ulong h = P.Actions[sig].Handler;
            bool stop = sig == Signal.SIGSTOP || sig == Signal.SIGTSTP || sig == Signal.SIGTTIN || sig == Signal.SIGTTOU;
            if (h == 1 || (h == 0 && (Signal.DefaultIgnored(sig) || stop))) return true;
            if (h == 0 && sig < Signal.SIGRTMIN && InitDrops(P, P.SigInfos[sig])) return true;
            return h > 1 && (P.Actions[sig].Flags & SigCodes.SA_RESTART) != 0;
        }

        const ulong UserTop = 0x0000800000000000;

        /// The siginfo_t a handler, sigtimedwait or signalfd sees for `sig`.
        public static SigInfo ToSigInfo(int sig, in SigInfoData d)
        {
            var si = new SigInfo { Signo = sig, Code = d.Code };
            // The union is chosen by si_code, as on Linux: a fault the kernel raised carries the
            // address; a signal sent by kill, tgkill or sigqueue carries its sender.
            bool fault = sig == Signal.SIGSEGV || sig == Signal.SIGBUS || sig == Signal.SIGILL || sig == Signal.SIGFPE || sig == Signal.SIGTRAP;
            if (fault && d.Code > 0) si.Addr = d.Addr;
            else if (d.Code == SigCodes.SI_TIMER) { si.TimerId = d.TimerId; si.Overrun = d.Overrun; si.Value = d.Value; }
            else { si.Pid = d.Pid; si.Uid = d.Uid; si.Value = d.Value; }
            if (sig == Signal.SIGCHLD && d.Code > 0) si.Status = d.Status;      // CLD_EXITED, CLD_KILLED, ...
            return si;
        }

        static bool SetupFrame(InterruptFrame* f, Thread me, int sig, SigInfoData d)
        {
            if (OnDeliver != null) OnDeliver(sig, d.Code, d.Addr);
            Process P = Process.Of(me);
            SigAction act = P.Actions[sig];
            // The handler becomes the return address: it must be a user address (a kernel or
            // non-canonical one would fault the kernel's return to user mode).
            if (act.Handler >= UserTop) return false;
            ulong sp = f->Rsp;
            bool onAlt = me.AltStackFlags == 0 && me.AltStackSize != 0 && sp - me.AltStackSp <= me.AltStackSize;
            if ((act.Flags & SigCodes.SA_ONSTACK) != 0 && me.AltStackFlags == 0 && !onAlt) sp = me.AltStackSp + me.AltStackSize;
            else sp -= 128;                                       // skip the red zone
            sp = (sp - 512) & ~63UL;
            ulong fpAddr = sp;
            sp = ((sp - (ulong)sizeof(RtSigFrame)) & ~15UL) - 8;
            ulong frame = sp;

            RtSigFrame fr = default;
            fr.Pretcode = act.Restorer;
            fr.Uc.Stack.Sp = me.AltStackSp;
            fr.Uc.Stack.Flags = me.AltStackFlags == 0 ? (onAlt ? SigCodes.SS_ONSTACK : 0) : SigCodes.SS_DISABLE;
            fr.Uc.Stack.Size = me.AltStackSize;
            ref SigContext g = ref fr.Uc.MContext;
            g.R8 = f->R8; g.R9 = f->R9; g.R10 = f->R10; g.R11 = f->R11; g.R12 = f->R12; g.R13 = f->R13; g.R14 = f->R14; g.R15 = f->R15;
            g.Rdi = f->Rdi; g.Rsi = f->Rsi; g.Rbp = f->Rbp; g.Rbx = f->Rbx; g.Rdx = f->Rdx; g.Rax = f->Rax; g.Rcx = f->Rcx;
            g.Rsp = f->Rsp; g.Rip = f->Rip; g.Eflags = f->Rflags;
            g.Cs = (ushort)Gdt.UserCode; g.Ss = (ushort)Gdt.UserData;
            g.Err = f->Vector < 32 ? f->Error : 0;
            g.Trapno = f->Vector < 32 ? f->Vector : 0;
            ulong ucMask = me.RestoreMaskAfterSignal ? me.SavedMaskForSuspend : me.SignalMask;
            me.RestoreMaskAfterSignal = false;
            g.Oldmask = ucMask;
            g.Cr2 = f->Vector == 14 ? Cpu.ReadCr2() : 0;
            g.FpState = fpAddr;
            fr.Uc.SigMask = ucMask;
            fr.Info = ToSigInfo(sig, d);

            byte* fp = stackalloc byte[512 + 16];
            fp = (byte*)(((ulong)fp + 15) & ~15UL);
            FpuState.Capture(f, fp);
            if (new UserPtr(fpAddr).CopyOut(fp, 512) != 0) return false;
            if (new UserPtr(frame).CopyOut(&fr, (ulong)sizeof(RtSigFrame)) != 0) return false;

            f->Rip = act.Handler;
            f->Rsp = frame;
            f->Rdi = (ulong)sig;
            f->Rsi = frame + (ulong)((byte*)&fr.Info - (byte*)&fr);
            f->Rdx = frame + (ulong)((byte*)&fr.Uc - (byte*)&fr);
            f->Rax = 0;
            f->Rflags &= ~0x50500UL;                               // clear AC, RF, DF and TF (0x100)
            me.SignalMask |= act.Mask & ~Unblockable;
            if ((act.Flags & SigCodes.SA_NODEFER) == 0) me.SignalMask |= Bit(sig);
            if ((act.Flags & SigCodes.SA_RESETHAND) != 0) P.Actions[sig].Handler = 0;
            return true;
        }

        /// rt_sigreturn: restore the context saved by SetupFrame. Returns the restored rax.
        public static ulong Return(InterruptFrame* f)
        {
            Thread me = Scheduler.Current;
            Process P = Process.Of(me);
            ulong ucAddr = f->Rsp;                                  // the handler's ret popped pretcode
            UContext uc;
            if (new UserPtr(ucAddr).CopyIn(&uc, (ulong)sizeof(UContext)) != 0) { P.KillBySignal(Signal.SIGSEGV, f, ucAddr, true); return 0; }
            ref SigContext g = ref uc.MContext;
            f->R8 = g.R8; f->R9 = g.R9; f->R10 = g.R10; f->R11 = g.R11; f->R12 = g.R12; f->R13 = g.R13; f->R14 = g.R14; f->R15 = g.R15;
            f->Rdi = g.Rdi; f->Rsi = g.Rsi; f->Rbp = g.Rbp; f->Rbx = g.Rbx; f->Rdx = g.Rdx; f->Rax = g.Rax; f->Rcx = g.Rcx;
            f->Rsp = g.Rsp;
            const ulong userFlags = 0x40dd5;                       // CF PF AF ZF SF TF DF OF AC
            f->Rflags = (f->Rflags & ~userFlags) | (g.Eflags & userFlags);
            me.SignalMask = uc.SigMask & ~Unblockable;
            // A non-canonical or kernel rip can never be returned to: as on Linux (where the
            // return to user mode faults), the frame is restored and a catchable SIGSEGV is
            // delivered at that rip. The frame below records it; the program's rip stays the
            // handler's or the thread ends.
            f->Rip = g.Rip;
            bool badRip = g.Rip >= UserTop;
            // An fpstate that cannot be read, or that fxrstor would refuse, makes the frame bad:
            // SIGSEGV (Linux's badframe), the registers above already restored.
            bool badFp = false;
            if (g.FpState != 0)
            {
                byte* fp = stackalloc byte[512 + 16];
                fp = (byte*)(((ulong)fp + 15) & ~15UL);
                if (new UserPtr(g.FpState).CopyIn(fp, 512) != 0 || !FpuState.IsValid(fp)) badFp = true;
                else FpuState.Install(f, fp);
            }
            if (badRip || badFp)
            {
                Fault(f, Signal.SIGSEGV, SigCodes.SI_KERNEL, 0);
                if (f->Rip >= UserTop) P.KillBySignal(Signal.SIGSEGV, f, 0, false);   // never return there
            }
            return f->Rax;
        }
    }
}
