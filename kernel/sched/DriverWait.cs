namespace Kernel.Sched
{
    /// The scheduler's side of Drivers.WaitPoint: a driver's thread blocks here
    /// (uninterruptibly, like Linux's disk waits) until the device's interrupt wakes it.
    public sealed class DriverWait : Drivers.WaitPoint
    {
        Thread[] _waiters = new Thread[4];
        int _count;

        public static Drivers.WaitPoint Create() => new DriverWait();

        public override void Wait()
        {
            Thread me = Scheduler.Current;
            if (_count == _waiters.Length)
            {
                var bigger = new Thread[_waiters.Length * 2];
                for (int i = 0; i < _count; i++) bigger[i] = _waiters[i];
                _waiters = bigger;
            }
            _waiters[_count++] = me;
            Scheduler.Block(0, false);
            for (int i = 0; i < _count; i++)
                if (_waiters[i] == me) { _waiters[i] = _waiters[--_count]; _waiters[_count] = null; break; }
        }

        public override void WakeAll()
        {
            for (int i = 0; i < _count; i++) Scheduler.Wake(_waiters[i], WakeReason.Woken);
        }
    }
}
