namespace Kernel.Sched
{
    /// Threads waiting for one condition (data in a pipe, space in it, ...). Waiters recheck
    /// their condition after waking, so WakeAll is always safe.
    public sealed class WaitQueue
    {
        Thread[] _waiters = new Thread[4];
        int _count;

        /// Blocks the current thread until WakeAll, a signal (unless not `interruptible`), or
        /// `wakeAtNs` (0: no timeout).
        public WakeReason Wait(ulong wakeAtNs = 0, bool interruptible = true)
        {
            Thread me = Scheduler.Current;
            if (_count == _waiters.Length)
            {
                var bigger = new Thread[_waiters.Length * 2];
                for (int i = 0; i < _count; i++) bigger[i] = _waiters[i];
                _waiters = bigger;
            }
            _waiters[_count++] = me;
            WakeReason r = Scheduler.Block(wakeAtNs, interruptible);
            Remove(me);
            return r;
        }

        void Remove(Thread t)
        {
            for (int i = 0; i < _count; i++)
                if (_waiters[i] == t)
                {
                    _waiters[i] = _waiters[--_count];
                    _waiters[_count] = null;
                    return;
                }
        }

        public void WakeAll()
        {
            for (int i = 0; i < _count; i++) Scheduler.Wake(_waiters[i], WakeReason.Woken);
        }

        public bool HasWaiters => _count > 0;
    }
}
