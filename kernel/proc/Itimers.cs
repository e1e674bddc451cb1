using Kernel.Abi;
using Kernel.Sched;

namespace Kernel.Proc
{
    /// Interval timers: setitimer/alarm (ITIMER_REAL -> SIGALRM) and POSIX timers
    /// (timer_create with SIGEV_SIGNAL / SIGEV_THREAD_ID / SIGEV_NONE), checked on every tick.
    public sealed class Itimers
    {
        public struct PosixTimer
        {
            public bool InUse;
            public int Clock, Signal, Notify, TargetTid;
            public int CpuTid;             // CLOCK_THREAD_CPUTIME_ID: the thread whose time counts
            public ulong Value;            // sigev_value
            public ulong NextNs, IntervalNs;
            public int Overrun, PendingOverrun;
            public bool SignalPending;
        }

        public ulong RealNextNs, RealIntervalNs;
        // ITIMER_VIRTUAL (user CPU time) and ITIMER_PROF (all CPU time): time left and reload.
        public ulong VirtualLeftNs, VirtualIntervalNs, ProfLeftNs, ProfIntervalNs;

        /// The scheduler's tick hook (wired in kernel/Kmain.cs): expire timers, then charge
        /// `chargedNs` of CPU time (0 when the tick found the CPU idle).
        public static void OnTick(ulong now, ulong chargedNs, bool user)
        {
            for (int i = 0; i < Process.Count; i++) Process.At(i).Itimers.Tick(Process.At(i), now);
            TimerFd.OnTick();
            if (chargedNs == 0) return;
            Process running = Process.Of(Scheduler.Current);      // null on a kernel thread
            if (running != null) running.Itimers.ChargeTick(running, chargedNs, user);
        }

        /// Whether `t`'s process must have its ticks charged: an armed ITIMER_VIRTUAL or
        /// ITIMER_PROF, or a finite RLIMIT_CPU (Scheduler.NeedsTick; read without the lock).
        public static bool NeedsTick(Thread t)
        {
            Process p = Process.Of(t);
            if (p == null) return true;
            Itimers it = p.Itimers;
            if (it.VirtualLeftNs != 0 || it.ProfLeftNs != 0) return true;
            ref Rlimit l = ref p.Limits[0];
            return l.Cur != ulong.MaxValue || l.Max != ulong.MaxValue;
        }

        /// Charges one timer tick of CPU time to the CPU-time itimers (sampled, as Linux does
        /// at its tick): `user` when the tick interrupted the program itself.
        void ChargeTick(Process p, ulong tickNs, bool user)
        {
            if (user && VirtualLeftNs != 0) Charge(p, ref VirtualLeftNs, VirtualIntervalNs, tickNs, Abi.Signal.SIGVTALRM);
            if (ProfLeftNs != 0) Charge(p, ref ProfLeftNs, ProfIntervalNs, tickNs, Abi.Signal.SIGPROF);
            CheckCpuLimit(p);
        }

        /// RLIMIT_CPU, as Linux checks it at the tick: SIGKILL at the hard limit; SIGXCPU at the
        /// soft one, which then moves on by a second (so SIGXCPU comes once a second up to the
        /// hard limit).
        static void CheckCpuLimit(Process p)
        {
            ref Rlimit l = ref p.Limits[0];
            if (l.Cur == ulong.MaxValue && l.Max == ulong.MaxValue) return;
            ulong sec = Scheduler.ProcessCpuTime() / 1_000_000_000UL;
            if (l.Max != ulong.MaxValue && sec >= l.Max)
            {
                Signals.Send(p, null, Abi.Signal.SIGKILL, new SigInfoData { Code = SigCodes.SI_KERNEL });
                return;
            }
            if (l.Cur == ulong.MaxValue || sec < l.Cur) return;
            if (l.Cur < l.Max) l.Cur++;
            Signals.Send(p, null, Abi.Signal.SIGXCPU, new SigInfoData { Code = SigCodes.SI_KERNEL });
        }

        static void Charge(Process p, ref ulong left, ulong interval, ulong tickNs, int sig)
        {
            if (left > tickNs) { left -= tickNs; return; }
            left = interval;
            Signals.Send(p, null, sig, new SigInfoData { Code = SigCodes.SI_KERNEL });
        }
        public readonly PosixTimer[] Timers = new PosixTimer[32];

        /// The process ended: no timer fires for it any more.
        public void StopAll()
        {
            RealNextNs = 0; RealIntervalNs = 0;
            VirtualLeftNs = 0; VirtualIntervalNs = 0; ProfLeftNs = 0; ProfIntervalNs = 0;
            DeletePosixTimers();
        }

        /// execve: POSIX timers are deleted (interval timers survive it, as on Linux).
        public void DeletePosixTimers()
        {
            for (int i = 0; i < Timers.Length; i++) Timers[i] = default;
        }
        const int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD_ID = 4;

        /// The current value of a clock in its own units (ns): wall, monotonic or CPU time.
        /// CPU clocks: 2 (process), 3 (thread `cpuTid`) and the dynamic ids
        /// ~pid << 3 | perthread << 2 | kind. Returns false for an unknown clock.
        public static bool ClockNow(Process p, int clock, int cpuTid, out ulong ns)
        {
            ulong mono = Time.Clock.MonotonicNs();
            switch (clock)
            {
                case 0: case 5: case 8: case 11: ns = Time.Rtc.BootEpochNs + mono; return true;
                case 1: case 4: case 6: case 7: case 9: ns = mono; return true;
                case 2: ns = Scheduler.ProcessCpuTime(); return true;
                case 3:
                    {
                        Thread t = cpuTid == 0 ? Scheduler.Current : Scheduler.Find(cpuTid);
                        ns = t == null ? 0 : Scheduler.CpuTime(t);
                        return t != null;
                    }
            }
            ns = 0;
            if (clock >= 0 || (clock & 3) == 3) return false;
            int pid = ~(clock >> 3);
            if ((clock & 4) != 0)
            {
                Thread t = pid == 0 ? Scheduler.Current : Scheduler.Find(pid);
                if (t == null) return false;
                ns = Scheduler.CpuTime(t);
                return true;
            }
            if (pid != 0 && pid != p.Pid) return false;
            ns = Scheduler.ProcessCpuTime();
            return true;
        }

        void Tick(Process p, ulong now)
        {
            if (RealNextNs != 0 && now >= RealNextNs)
            {
                RealNextNs = RealIntervalNs != 0 ? Advance(RealNextNs, RealIntervalNs, now, out _) : 0;
                Signals.Send(p, null, Signal.SIGALRM, new SigInfoData { Code = SigCodes.SI_KERNEL });
            }
            for (int i = 0; i < Timers.Length; i++)
            {
                ref PosixTimer t = ref Timers[i];
                if (!t.InUse || t.NextNs == 0) continue;
                if (!ClockNow(p, t.Clock, t.CpuTid, out ulong clockNow) || clockNow < t.NextNs) continue;
                int overrun = 0;
                t.NextNs = t.IntervalNs != 0 ? Advance(t.NextNs, t.IntervalNs, clockNow, out overrun) : 0;
                if (t.IntervalNs == 0) overrun = 0;
                if (t.Notify == SIGEV_NONE) continue;
                Thread target = t.Notify == SIGEV_THREAD_ID ? Scheduler.Find(t.TargetTid) : null;
                // Still pending from an earlier expiry: count an overrun instead of queueing.
                if (t.SignalPending && Signals.IsPending(p, target, t.Signal)) { t.PendingOverrun += overrun + 1; continue; }
                t.SignalPending = true;
                t.PendingOverrun = 0;
                Signals.Send(p, target, t.Signal, new SigInfoData { Code = SigCodes.SI_TIMER, TimerId = i, Overrun = overrun, Value = t.Value });
            }
        }

        /// On delivery of a timer's signal: the overrun to report (also what
        /// timer_getoverrun returns until the next delivery).
        public int TakeOverrun(int id, int fromTick)
        {
            if ((uint)id >= (uint)Timers.Length || !Timers[id].InUse) return fromTick;
            ref PosixTimer t = ref Timers[id];
            t.Overrun = fromTick + t.PendingOverrun;
            t.PendingOverrun = 0;
            t.SignalPending = false;
            return t.Overrun;
        }

        /// Next expiry after `now`, counting the periods missed.
        static ulong Advance(ulong next, ulong interval, ulong now, out int overrun)
        {
            ulong missed = (now - next) / interval;
            overrun = (int)missed;
            return next + (missed + 1) * interval;
        }
    }
}
