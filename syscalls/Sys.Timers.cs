using Kernel.Abi;
using Kernel.Proc;
using Kernel.Sched;
using Kernel.Time;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        static ulong ToNs(Timeval tv) => (ulong)tv.Sec * 1000000000 + (ulong)tv.Usec * 1000;
        static Timeval ToTimeval(ulong ns) => new Timeval { Sec = (long)(ns / 1000000000), Usec = (long)(ns % 1000000000 / 1000) };
        static Timespec ToTimespec(ulong ns) => new Timespec { Sec = (long)(ns / 1000000000), Nsec = (long)(ns % 1000000000) };

        static void RealTimer(out Timeval value, out Timeval interval)
        {
            ulong now = Clock.MonotonicNs();
            ulong left = Cur.Itimers.RealNextNs == 0 ? 0 : Cur.Itimers.RealNextNs > now ? Cur.Itimers.RealNextNs - now : 1000;
            value = ToTimeval(left);
            interval = ToTimeval(Cur.Itimers.RealIntervalNs);
        }

        /// getitimer(2)
        public static SysResult Getitimer(SyscallArgs* a)
        {
            if (a->A0 > 2) return Errno.EINVAL;
            Timeval* v = stackalloc Timeval[2];
            if (a->A0 == 0) RealTimer(out v[1], out v[0]);
            else if (a->A0 == 1) { v[0] = ToTimeval(Cur.Itimers.VirtualIntervalNs); v[1] = ToTimeval(Cur.Itimers.VirtualLeftNs); }
            else { v[0] = ToTimeval(Cur.Itimers.ProfIntervalNs); v[1] = ToTimeval(Cur.Itimers.ProfLeftNs); }
            return new UserPtr(a->A1).CopyOut(v, 32) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// setitimer(2)
        public static SysResult Setitimer(SyscallArgs* a)
        {
            if (a->A0 > 2) return Errno.EINVAL;
            Timeval* nv = stackalloc Timeval[2];
            if (a->A1 != 0 && new UserPtr(a->A1).CopyIn(nv, 32) != 0) return Errno.EFAULT;
            if (a->A1 == 0) { nv[0] = default; nv[1] = default; }
            if ((ulong)nv[0].Usec >= 1000000 || (ulong)nv[1].Usec >= 1000000 || nv[0].Sec < 0 || nv[1].Sec < 0) return Errno.EINVAL;
            Timeval* old = stackalloc Timeval[2];
            if (a->A0 != 0)
            {
                bool virt = a->A0 == 1;
                old[0] = ToTimeval(virt ? Cur.Itimers.VirtualIntervalNs : Cur.Itimers.ProfIntervalNs);
                old[1] = ToTimeval(virt ? Cur.Itimers.VirtualLeftNs : Cur.Itimers.ProfLeftNs);
                if (virt) { Cur.Itimers.VirtualLeftNs = ToNs(nv[1]); Cur.Itimers.VirtualIntervalNs = ToNs(nv[0]); }
                else { Cur.Itimers.ProfLeftNs = ToNs(nv[1]); Cur.Itimers.ProfIntervalNs = ToNs(nv[0]); }
                if (a->A2 != 0 && new UserPtr(a->A2).CopyOut(old, 32) != 0) return Errno.EFAULT;
                return SysResult.Ok;
            }
            RealTimer(out old[1], out old[0]);
            ulong value = ToNs(nv[1]);
            Cur.Itimers.RealNextNs = value == 0 ? 0 : Clock.MonotonicNs() + value;
            Cur.Itimers.RealIntervalNs = ToNs(nv[0]);
            if (a->A2 != 0 && new UserPtr(a->A2).CopyOut(old, 32) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// alarm(2)
        public static SysResult Alarm(SyscallArgs* a)
        {
            RealTimer(out Timeval left, out _);
            ulong secs = (ulong)left.Sec + (left.Usec >= 500000 || (left.Sec == 0 && left.Usec > 0) ? 1UL : 0UL);
            Cur.Itimers.RealNextNs = a->A0 == 0 ? 0 : Clock.MonotonicNs() + (ulong)(uint)a->A0 * 1000000000;
            Cur.Itimers.RealIntervalNs = 0;
            return (long)secs;
        }

        /// timer_create(2)
        public static SysResult TimerCreate(SyscallArgs* a)
        {
            int clock = (int)a->A0;
            if (clock != 0 && clock != 1 && clock != 7 && clock != 8 && clock != 9 && clock != 11 && (clock >= 0 && clock != 2 && clock != 3 || !Itimers.ClockNow(Cur, clock, 0, out _)))
                return Errno.EINVAL;
            int signo = Signal.SIGALRM, notify = 0, tid = 0;
            ulong value = 0;
            if (a->A1 != 0)
            {
                if (new UserRef<SigEvent>(a->A1).Read(out SigEvent ev) != 0) return Errno.EFAULT;
                value = ev.Value; signo = ev.Signo; notify = ev.Notify; tid = ev.ThreadId;
                if (notify != 0 && notify != 1 && notify != 4) return Errno.EINVAL;
                if (notify != 1 && (signo < 1 || signo > Signal.Count)) return Errno.EINVAL;
                if (notify == 4 && Scheduler.Find(tid) == null) return Errno.EINVAL;
            }
            for (int id = 0; id < Cur.Itimers.Timers.Length; id++)
            {
                if (Cur.Itimers.Timers[id].InUse) continue;
                if (a->A1 == 0) value = (ulong)id;
                Cur.Itimers.Timers[id] = new Itimers.PosixTimer { InUse = true, Clock = clock, Signal = signo, Notify = notify, TargetTid = tid, Value = value, CpuTid = clock == 3 ? Me.Tid : 0 };
                if (new UserPtr(a->A2).CopyOut(&id, 4) != 0) { Cur.Itimers.Timers[id].InUse = false; return Errno.EFAULT; }
                return SysResult.Ok;
            }
            return Errno.EAGAIN;
        }

        static bool ValidTimer(ulong id) => id < (ulong)Cur.Itimers.Timers.Length && Cur.Itimers.Timers[id].InUse;

        static void TimerValue(int id, out Timespec interval, out Timespec value)
        {
            ref Itimers.PosixTimer t = ref Cur.Itimers.Timers[id];
            Itimers.ClockNow(Cur, t.Clock, t.CpuTid, out ulong now);
            interval = ToTimespec(t.IntervalNs);
            value = ToTimespec(t.NextNs == 0 ? 0 : t.NextNs > now ? t.NextNs - now : 1);
        }

        /// timer_settime(2): expiries are kept in the timer's own clock.
        public static SysResult TimerSettime(SyscallArgs* a)
        {
            if (!ValidTimer(a->A0)) return Errno.EINVAL;
            int id = (int)a->A0;
            Timespec* nv = stackalloc Timespec[2];
            if (new UserPtr(a->A2).CopyIn(nv, 32) != 0) return Errno.EFAULT;
            if ((ulong)nv[0].Nsec >= 1000000000 || (ulong)nv[1].Nsec >= 1000000000 || nv[0].Sec < 0 || nv[1].Sec < 0) return Errno.EINVAL;
            Timespec* old = stackalloc Timespec[2];
            TimerValue(id, out old[0], out old[1]);
            ref Itimers.PosixTimer t = ref Cur.Itimers.Timers[id];
            ulong value = (ulong)nv[1].Sec * 1000000000 + (ulong)nv[1].Nsec;
            Itimers.ClockNow(Cur, t.Clock, t.CpuTid, out ulong now);
            if (value == 0) t.NextNs = 0;
            else if ((a->A1 & 1) != 0) t.NextNs = value;             // TIMER_ABSTIME
            else t.NextNs = now + value;
            t.IntervalNs = (ulong)nv[0].Sec * 1000000000 + (ulong)nv[0].Nsec;
            if (a->A3 != 0 && new UserPtr(a->A3).CopyOut(old, 32) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// timer_gettime(2)
        public static SysResult TimerGettime(SyscallArgs* a)
        {
            if (!ValidTimer(a->A0)) return Errno.EINVAL;
            Timespec* v = stackalloc Timespec[2];
            TimerValue((int)a->A0, out v[0], out v[1]);
            return new UserPtr(a->A1).CopyOut(v, 32) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// timer_getoverrun(2)
        public static SysResult TimerGetoverrun(SyscallArgs* a) => ValidTimer(a->A0) ? Cur.Itimers.Timers[a->A0].Overrun : Errno.EINVAL;

        /// timer_delete(2)
        public static SysResult TimerDelete(SyscallArgs* a)
        {
            if (!ValidTimer(a->A0)) return Errno.EINVAL;
            Cur.Itimers.Timers[a->A0] = default;
            return SysResult.Ok;
        }

        /// times(2): clock ticks at 100 Hz.
        public static SysResult Times(SyscallArgs* a)
        {
            ulong cpu = Scheduler.ProcessCpuTime() / 10000000;
            if (a->A0 != 0)
            {
                long children = (long)(Cur.ChildrenCpuNs / 10000000);          // waited-for children
                if (new UserRef<Tms>(a->A0).Write(new Tms { Utime = (long)cpu, Cutime = children }) != 0) return Errno.EFAULT;
            }
            return (long)(Clock.MonotonicNs() / 10000000) + 100;
        }

        /// getrusage(2): user time is the CPU time; system time and the rest are not tracked yet.
        public static SysResult Getrusage(SyscallArgs* a)
        {
            int who = (int)a->A0;
            if (who != 0 && who != -1 && who != 1) return Errno.EINVAL;
            ulong ns = who == 1 ? Scheduler.CpuTime(Scheduler.Current) : who == -1 ? Cur.ChildrenCpuNs : Scheduler.ProcessCpuTime();
            var r = new Rusage { Utime = ToTimeval(ns) };
            r.Rest[4] = (long)(who == -1 ? Cur.ChildrenMinFlt : Cur.MinFlt);     // ru_minflt (a thread's: its process's)
            return new UserRef<Rusage>(a->A1).Write(r) == 0 ? SysResult.Ok : Errno.EFAULT;
        }
    }
}
