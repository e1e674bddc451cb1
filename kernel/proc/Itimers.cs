using Kernel.Abi;
using Kernel.Sched;

namespace Kernel.Proc
{
    /// Interval timers: setitimer/alarm (ITIMER_REAL -> SIGALRM) and POSIX timers
    /// (timer_create with SIGEV_SIGNAL / SIGEV_THREAD_ID / SIGEV_NONE), checked on every tick.
    public static class Itimers
    {
        public struct PosixTimer
        {
            public bool InUse;
            public int Clock, Signal, Notify, TargetTid;
            public ulong Value;            // sigev_value
            public ulong NextNs, IntervalNs;
            public int Overrun, PendingOverrun;
        }

        public static ulong RealNextNs, RealIntervalNs;
        // ITIMER_VIRTUAL (user CPU time) and ITIMER_PROF (all CPU time): time left and reload.
        public static ulong VirtualLeftNs, VirtualIntervalNs, ProfLeftNs, ProfIntervalNs;

        /// Charges one timer tick of CPU time to the CPU-time itimers (sampled, as Linux does
        /// at its tick): `user` when the tick interrupted the program itself.
        public static void ChargeTick(ulong tickNs, bool user)
        {
            if (Process.Current == null) return;
            if (user && VirtualLeftNs != 0) Charge(ref VirtualLeftNs, VirtualIntervalNs, tickNs, Abi.Signal.SIGVTALRM);
            if (ProfLeftNs != 0) Charge(ref ProfLeftNs, ProfIntervalNs, tickNs, Abi.Signal.SIGPROF);
        }

        static void Charge(ref ulong left, ulong interval, ulong tickNs, int sig)
        {
            if (left > tickNs) { left -= tickNs; return; }
            left = interval;
            Signals.Send(null, sig, new SigInfoData { Code = 0x80 });
        }
        public static readonly PosixTimer[] Timers = new PosixTimer[32];
        const int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD_ID = 4;

        public static void Tick(ulong now)
        {
            if (Process.Current == null) return;
            if (RealNextNs != 0 && now >= RealNextNs)
            {
                RealNextNs = RealIntervalNs != 0 ? Advance(RealNextNs, RealIntervalNs, now, out _) : 0;
                Signals.Send(null, Signal.SIGALRM, new SigInfoData { Code = 0x80 });
            }
            for (int i = 0; i < Timers.Length; i++)
            {
                ref PosixTimer t = ref Timers[i];
                if (!t.InUse || t.NextNs == 0 || now < t.NextNs) continue;
                int overrun = 0;
                t.NextNs = t.IntervalNs != 0 ? Advance(t.NextNs, t.IntervalNs, now, out overrun) : 0;
                if (t.IntervalNs == 0) overrun = 0;
                if (t.Notify == SIGEV_NONE) continue;
                t.Overrun = overrun;
                Thread target = t.Notify == SIGEV_THREAD_ID ? Scheduler.Find(t.TargetTid) : null;
                Signals.Send(target, t.Signal, new SigInfoData { Code = Signals.SI_TIMER, TimerId = i, Overrun = overrun, Value = t.Value });
            }
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
