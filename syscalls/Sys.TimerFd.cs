using Kernel.Abi;
using Kernel.Fs;
using Kernel.Proc;
using static Kernel.Abi.TimerFdFlags;

namespace Kernel.Syscalls
{
    /// timerfd_create, timerfd_settime, timerfd_gettime (kernel/proc/TimerFd.cs).
    public static unsafe partial class Sys
    {
        const int CAP_WAKE_ALARM = 35;

        /// timerfd_create(2)
        public static SysResult TimerfdCreate(SyscallArgs* a)
        {
            int clock = (int)a->A0, flags = (int)a->A1;
            if ((flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) != 0) return Errno.EINVAL;
            if (clock != TimerFd.CLOCK_REALTIME && clock != TimerFd.CLOCK_MONOTONIC && clock != TimerFd.CLOCK_BOOTTIME &&
                clock != TimerFd.CLOCK_REALTIME_ALARM && clock != TimerFd.CLOCK_BOOTTIME_ALARM) return Errno.EINVAL;
            if ((clock == TimerFd.CLOCK_REALTIME_ALARM || clock == TimerFd.CLOCK_BOOTTIME_ALARM) && !Capable(CAP_WAKE_ALARM)) return Errno.EPERM;
            var f = new TimerFd(clock, OpenFlags.O_RDWR | (uint)(flags & TFD_NONBLOCK));
            int fd = Files.Allocate(f, 0, (flags & TFD_CLOEXEC) != 0);
            return fd < 0 ? Errno.EMFILE : fd;
        }

        static bool ValidTs(Timespec t) => t.Sec >= 0 && (ulong)t.Nsec < 1000000000;

        static Timespec ToTs(ulong ns) => new Timespec { Sec = (long)(ns / 1000000000), Nsec = (long)(ns % 1000000000) };

        static Errno TimerFdOf(int fd, out TimerFd t)
        {
            t = null;
            OpenFile f = Fd(fd);
            if (f == null) return Errno.EBADF;
            t = f as TimerFd;
            return t == null ? Errno.EINVAL : 0;
        }

        /// timerfd_settime(2)
        public static SysResult TimerfdSettime(SyscallArgs* a)
        {
            int flags = (int)a->A1;
            Itimerspec n;
            if (new UserRef<Itimerspec>(a->A2).Read(out n) != 0) return Errno.EFAULT;
            if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) != 0 || !ValidTs(n.Value) || !ValidTs(n.Interval)) return Errno.EINVAL;
            Errno e = TimerFdOf((int)a->A0, out TimerFd t);
            if (e != 0) return e;
            if (t.IsAlarm && !Capable(CAP_WAKE_ALARM)) return Errno.EPERM;
            t.Get(out ulong oldValue, out ulong oldInterval);
            ulong value = Sched.Deadline.Ns(n.Value), interval = Sched.Deadline.Ns(n.Interval);
            if (value == ulong.MaxValue) value = ulong.MaxValue / 2;
            if (interval == ulong.MaxValue) interval = ulong.MaxValue / 2;
            t.Set(value, interval, (flags & TFD_TIMER_ABSTIME) != 0, (flags & TFD_TIMER_CANCEL_ON_SET) != 0);
            if (a->A3 != 0)
            {
                var old = new Itimerspec { Value = ToTs(oldValue), Interval = ToTs(oldInterval) };
                if (new UserRef<Itimerspec>(a->A3).Write(old) != 0) return Errno.EFAULT;
            }
            return SysResult.Ok;
        }

        /// timerfd_gettime(2)
        public static SysResult TimerfdGettime(SyscallArgs* a)
        {
            Errno e = TimerFdOf((int)a->A0, out TimerFd t);
            if (e != 0) return e;
            t.Get(out ulong value, out ulong interval);
            var cur = new Itimerspec { Value = ToTs(value), Interval = ToTs(interval) };
            return new UserRef<Itimerspec>(a->A1).Write(cur) != 0 ? Errno.EFAULT : SysResult.Ok;
        }
    }
}
