using Kernel.Abi;
using Kernel.Arch;
using Kernel.Time;
using Kernel.Proc;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
            CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7,
            CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9, CLOCK_TAI = 11;

        /// The clock's current value; false for an unknown clock id (Itimers.ClockNow knows them all).
        static bool ClockNow(int id, out ulong ns) => Proc.Itimers.ClockNow(Cur, id, 0, out ns);

        /// clock_gettime(2)
        public static SysResult ClockGettime(SyscallArgs* a)
        {
            if (!ClockNow((int)a->A0, out ulong ns)) return Errno.EINVAL;
            var ts = new Timespec { Sec = (long)(ns / 1000000000), Nsec = (long)(ns % 1000000000) };
            return new UserRef<Timespec>(a->A1).Write(ts) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// clock_getres(2)
        public static SysResult ClockGetres(SyscallArgs* a)
        {
            int id = (int)a->A0;
            if (!ClockNow(id, out _)) return Errno.EINVAL;
            if (a->A1 == 0) return SysResult.Ok;
            bool coarse = id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE;
            var ts = new Timespec { Sec = 0, Nsec = coarse ? 1000000000 / Timer.Hz : 1 };
            return new UserRef<Timespec>(a->A1).Write(ts) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// gettimeofday(2)
        public static SysResult Gettimeofday(SyscallArgs* a)
        {
            ulong ns = Rtc.BootEpochNs + Clock.MonotonicNs();
            if (a->A0 != 0)
            {
                var tv = new Timeval { Sec = (long)(ns / 1000000000), Usec = (long)(ns % 1000000000 / 1000) };
                if (new UserRef<Timeval>(a->A0).Write(tv) != 0) return Errno.EFAULT;
            }
            if (a->A1 != 0)
            {
                ulong tz = _timezone;
                if (new UserPtr(a->A1).CopyOut(&tz, 8) != 0) return Errno.EFAULT;
            }
            return SysResult.Ok;
        }

        // The kernel's timezone (struct timezone: minuteswest, dsttime), set by settimeofday.
        static ulong _timezone;
        static bool _timezoneSet;

        /// Sets CLOCK_REALTIME, as Linux's do_settimeofday: a time before CLOCK_MONOTONIC's
        /// value (before boot) or too far ahead is EINVAL. CLOCK_MONOTONIC does not move; the
        /// vDSO reads the new offset.
        static SysResult SetRealtime(long sec, long nsec)
        {
            const long SetTodSecMax = 9223372036L - 30L * 365 * 86400;    // KTIME_SEC_MAX - 30 years of uptime
            if (sec < 0 || nsec < 0 || nsec >= 1000000000 || sec >= SetTodSecMax) return Errno.EINVAL;
            if (!Capable(CAP_SYS_TIME)) return Errno.EPERM;
            ulong want = (ulong)sec * 1000000000 + (ulong)nsec, mono = Clock.MonotonicNs();
            if (want < mono) return Errno.EINVAL;
            Rtc.BootEpochNs = want - mono;
            Vdso.VdsoImage.RealtimeChanged();
            TimerFd.ClockWasSet();
            return SysResult.Ok;
        }

        /// clock_settime(2): CLOCK_REALTIME is the VM's own clock and can be set; the other
        /// fixed clocks are EINVAL and CPU-time clocks EPERM, as on Linux.
        public static SysResult ClockSettime(SyscallArgs* a)
        {
            int id = (int)a->A0;
            if (id >= 0 && id != CLOCK_REALTIME) return Errno.EINVAL;
            if (new UserRef<Timespec>(a->A1).Read(out Timespec ts) != 0) return Errno.EFAULT;
            if (id < 0) return ClockNow(id, out _) ? Errno.EPERM : Errno.EINVAL;
            return SetRealtime(ts.Sec, ts.Nsec);
        }

        /// settimeofday(2): sets CLOCK_REALTIME and/or the kernel's timezone. As on Linux, the
        /// first call that sets only a timezone also shifts the clock by it (an RTC kept in
        /// local time).
        public static SysResult Settimeofday(SyscallArgs* a)
        {
            Timeval tv = default;
            if (a->A0 != 0)
            {
                if (new UserRef<Timeval>(a->A0).Read(out tv) != 0) return Errno.EFAULT;
                if (tv.Usec < 0 || tv.Usec >= 1000000) return Errno.EINVAL;
            }
            ulong tz = 0;
            if (a->A1 != 0 && new UserPtr(a->A1).CopyIn(&tz, 8) != 0) return Errno.EFAULT;
            if (a->A0 != 0 && (tv.Sec < 0 || tv.Sec >= 9223372036L - 30L * 365 * 86400)) return Errno.EINVAL;
            if (!Capable(CAP_SYS_TIME)) return Errno.EPERM;
            if (a->A1 != 0)
            {
                int minutesWest = (int)(uint)tz;
                if (minutesWest > 15 * 60 || minutesWest < -15 * 60) return Errno.EINVAL;
                _timezone = tz;
                if (!_timezoneSet)
                {
                    _timezoneSet = true;
                    if (a->A0 == 0 && minutesWest != 0)
                    {
                        Rtc.BootEpochNs += (ulong)((long)minutesWest * 60 * 1000000000L);
                        Vdso.VdsoImage.RealtimeChanged();
                    }
                }
            }
            return a->A0 != 0 ? SetRealtime(tv.Sec, tv.Usec * 1000) : SysResult.Ok;
        }

        /// time(2)
        public static SysResult TimeCall(SyscallArgs* a)
        {
            long t = (long)((Rtc.BootEpochNs + Clock.MonotonicNs()) / 1000000000);
            if (a->A0 != 0 && new UserPtr(a->A0).CopyOut(&t, 8) != 0) return Errno.EFAULT;
            return t;
        }

        /// Sleeps until the monotonic clock passes `deadline`; false when a signal interrupted it.
        static bool SleepUntil(ulong deadline)
        {
            bool completed = true;
            while (Clock.MonotonicNs() < deadline)
            {
                if (Sched.Scheduler.Block(deadline, true) == Sched.WakeReason.Interrupted) { completed = false; break; }
            }
            return completed;
        }

        static Errno WriteRemaining(ulong remPtr, ulong deadline)
        {
            if (remPtr == 0) return 0;
            ulong now = Clock.MonotonicNs();
            ulong left = deadline > now ? deadline - now : 0;
            var ts = new Timespec { Sec = (long)(left / 1000000000), Nsec = (long)(left % 1000000000) };
            return new UserRef<Timespec>(remPtr).Write(ts);
        }

        /// nanosleep(2)
        public static SysResult Nanosleep(SyscallArgs* a)
        {
            if (new UserRef<Timespec>(a->A0).Read(out Timespec ts) != 0) return Errno.EFAULT;
            if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
            ulong deadline = Deadline.After(ts);
            if (deadline == 0) deadline = ulong.MaxValue;          // centuries away: sleep "forever"
            if (SleepUntil(deadline)) return SysResult.Ok;
            if (WriteRemaining(a->A1, deadline) != 0) return Errno.EFAULT;
            return Errno.EINTR;
        }

        /// Waits until the process's CPU time (other threads running) reaches the target.
        static SysResult SleepOnProcessCpu(int flags, ulong req, ulong rem)
        {
            if (new UserRef<Timespec>(req).Read(out Timespec ts) != 0) return Errno.EFAULT;
            if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
            ulong want = (ulong)ts.Sec * 1000000000 + (ulong)ts.Nsec;
            ulong target = (flags & 1) != 0 ? want : Sched.Scheduler.ProcessCpuTime() + want;
            while (Sched.Scheduler.ProcessCpuTime() < target)
                if (Sched.Scheduler.Block(Clock.MonotonicNs() + 1000000000UL / (ulong)Timer.Hz, true) == Sched.WakeReason.Interrupted)
                {
                    if ((flags & 1) == 0 && rem != 0)
                    {
                        ulong left = target - Sched.Scheduler.ProcessCpuTime();
                        var r = new Timespec { Sec = (long)(left / 1000000000), Nsec = (long)(left % 1000000000) };
                        if (new UserRef<Timespec>(rem).Write(r) != 0) return Errno.EFAULT;
                    }
                    return Errno.EINTR;
                }
            return SysResult.Ok;
        }

        /// clock_nanosleep(2): returns the error number itself, not -1/errno.
        public static SysResult ClockNanosleep(SyscallArgs* a)
        {
            int id = (int)a->A0, flags = (int)a->A1;
            if (id == CLOCK_THREAD_CPUTIME_ID) return Errno.EINVAL;
            if (!ClockNow(id, out ulong now) || id == CLOCK_MONOTONIC_RAW || id == CLOCK_REALTIME_COARSE || id == CLOCK_MONOTONIC_COARSE)
                return Errno.EINVAL;
            if (id == CLOCK_PROCESS_CPUTIME_ID || (id < 0 && (id & 4) == 0))
                return SleepOnProcessCpu(flags, a->A2, a->A3);
            if (id < 0) return Errno.EINVAL;                                   // a thread's CPU clock
            if (new UserRef<Timespec>(a->A2).Read(out Timespec ts) != 0) return Errno.EFAULT;
            if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
            ulong want = Deadline.Ns(ts);
            ulong mono = Clock.MonotonicNs();
            if (want == ulong.MaxValue) want = ulong.MaxValue / 2;  // centuries away
            ulong deadline = (flags & 1) != 0 ? (want > now ? mono + (want - now) : mono) : mono + want;
            if (SleepUntil(deadline)) return SysResult.Ok;
            if ((flags & 1) == 0 && WriteRemaining(a->A3, deadline) != 0) return Errno.EFAULT;
            return Errno.EINTR;
        }
    }
}
