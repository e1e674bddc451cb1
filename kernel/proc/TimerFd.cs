using Kernel.Abi;
using Kernel.Fs;
using Kernel.Sched;

namespace Kernel.Proc
{
    /// timerfd(2): a timer read through a file. Expirations are counted from the clock when
    /// the file is read, polled or the timer tick looks at it (so a periodic timer that
    /// nobody reads costs nothing); the tick wakes readers and pollers once it expired, on
    /// this timer's own head.
    /// CLOCK_REALTIME timers keep an absolute realtime expiry, so setting the clock moves
    /// them as on Linux; TFD_TIMER_CANCEL_ON_SET ones are cancelled (ECANCELED) by it.
    public sealed unsafe class TimerFd : OpenFile
    {
        public const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7, CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9;

        readonly int _clock;
        readonly bool _realtime;
        ulong _next;            // expiry in the clock's ns; 0 = disarmed
        ulong _interval;
        ulong _ticks;           // expirations not yet read
        bool _mightCancel, _canceled;
        readonly WaitQueue _wait = new WaitQueue();
        readonly PollHead _head = new PollHead();
        public override PollHead PollHead => _head;

        static TimerFd[] _armed = new TimerFd[8];
        static int _armedCount;

        public TimerFd(int clock, uint flags)
        {
            _clock = clock;
            _realtime = clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_ALARM;
            StatusFlags = flags;
        }

        bool NonBlock => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

        ulong Now()
        {
            ulong mono = Time.Clock.MonotonicNs();
            return _realtime ? Time.Rtc.BootEpochNs + mono : mono;
        }

        /// Counts expirations up to now.
        void Update()
        {
            if (_next == 0) return;
            ulong now = Now();
            if (now < _next) return;
            if (_interval != 0)
            {
                ulong n = 1 + (now - _next) / _interval;
                _ticks += n;
                _next += n * _interval;
            }
            else
            {
                _ticks++;
                _next = 0;
                Disarm(this);
            }
        }

        static void Arm(TimerFd t)
        {
            for (int i = 0; i < _armedCount; i++) if (_armed[i] == t) return;
            if (_armedCount == _armed.Length)
            {
                var bigger = new TimerFd[_armed.Length * 2];
                for (int i = 0; i < _armedCount; i++) bigger[i] = _armed[i];
                _armed = bigger;
            }
            _armed[_armedCount++] = t;
        }

        static void Disarm(TimerFd t)
        {
            for (int i = 0; i < _armedCount; i++)
                if (_armed[i] == t) { _armed[i] = _armed[--_armedCount]; _armed[_armedCount] = null; return; }
        }

        /// The timer tick (Itimers.OnTick): wakes the readers and pollers of expired timers.
        public static void OnTick()
        {
            for (int i = 0; i < _armedCount; i++)
            {
                TimerFd t = _armed[i];
                ulong before = t._ticks;
                t.Update();
                if (t._ticks != before)
                {
                    t._wait.WakeAll();
                    t._head.Changed();
                    if (i < _armedCount && _armed[i] != t) i--;     // a one-shot left the list
                }
            }
        }

        /// CLOCK_REALTIME was set: cancel-on-set timers report ECANCELED to their readers.
        public static void ClockWasSet()
        {
            for (int i = 0; i < _armedCount; i++)
            {
                TimerFd t = _armed[i];
                if (!t._mightCancel) continue;
                t._canceled = true;
                t._wait.WakeAll();
                t._head.Changed();
            }
        }

        /// Time left and interval, as timerfd_gettime reports them.
        public void Get(out ulong valueNs, out ulong intervalNs)
        {
            Update();
            intervalNs = _interval;
            if (_next == 0) { valueNs = 0; return; }
            ulong now = Now();
            valueNs = _next > now ? _next - now : 0;
            if (valueNs == 0) valueNs = 1;                  // armed and due: not "disarmed"
        }

        /// timerfd_settime: `valueNs` 0 disarms; `abs` takes it as an absolute clock value.
        public void Set(ulong valueNs, ulong intervalNs, bool abs, bool cancelOnSet)
        {
            _ticks = 0;
            _canceled = false;
            _interval = intervalNs;
            _mightCancel = _realtime && abs && cancelOnSet;
            if (valueNs == 0) { _next = 0; Disarm(this); }
            else
            {
                _next = abs ? valueNs : Now() + valueNs;
                if (_next == 0) _next = 1;
                Arm(this);
            }
            _wait.WakeAll();
            _head.Changed();
        }

        public bool IsAlarm => _clock == CLOCK_REALTIME_ALARM || _clock == CLOCK_BOOTTIME_ALARM;

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (length < 8) return Errno.EINVAL;
            while (true)
            {
                Update();
                if (_canceled) { _canceled = false; _ticks = 0; return Errno.ECANCELED; }
                if (_ticks > 0) break;
                if (NonBlock) return Errno.EAGAIN;
                ulong deadline = 0;
                if (_next != 0)
                {
                    ulong now = Now();
                    deadline = Time.Clock.MonotonicNs() + (_next > now ? _next - now : 0);
                    if (deadline == 0) deadline = 1;
                }
                if (_wait.Wait(deadline) == WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
            ulong v = _ticks;
            if (buffer.CopyOut(&v, 8) != 0) return Errno.EFAULT;
            _ticks = 0;
            return 8;
        }

        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EINVAL;

        public override SysResult Ioctl(uint request, ulong arg)
        {
            if (request != TimerFdFlags.TFD_IOC_SET_TICKS) return Errno.ENOTTY;
            ulong v;
            if (new UserPtr(arg).CopyIn(&v, 8) != 0) return Errno.EFAULT;
            if (v == 0) return Errno.EINVAL;
            _ticks = v;
            _wait.WakeAll();
            _head.Changed();
            return 0;
        }

        public override uint Poll()
        {
            Update();
            return _ticks > 0 || _canceled ? PollEvents.In : 0;
        }

        protected override void Closed() { Disarm(this); _next = 0; }

        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(System.Span<byte> buf) => EventFd.Copy(buf, "anon_inode:[timerfd]");
    }
}
