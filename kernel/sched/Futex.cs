

namespace Kernel.Sched
{
    /// Futex wait queues by key (the process layer makes keys from an address space and an
    /// address, or a shared page: UserMemory.FutexKey), in hashed buckets kept in FIFO order.
    public static class Futex
    {
        const int Buckets = 256;
        static readonly Thread[] _heads = new Thread[Buckets];

        static int Bucket(ulong key) => (int)((key >> 2) * 0x9E3779B1UL >> 24) & (Buckets - 1);

        /// Queues the current thread on `key` and blocks; returns why it woke.
        public static WakeReason Wait(ulong key, uint bitset, ulong wakeAtNs)
        {
            Thread me = Scheduler.Current;
            me.FutexKey = key;
            me.FutexBitset = bitset;
            Append(me);
            WakeReason r = Scheduler.Block(wakeAtNs, true);
            if (me.FutexKey != 0) Forget(me);          // timed out or interrupted: still queued
            return r;
        }

        static void Append(Thread t)
        {
            int b = Bucket(t.FutexKey);
            t.NextWaiter = null;
            if (_heads[b] == null) { _heads[b] = t; return; }
            Thread p = _heads[b];
            while (p.NextWaiter != null) p = p.NextWaiter;
            p.NextWaiter = t;
        }

        /// Removes a thread from its futex queue (if any).
        public static void Forget(Thread t)
        {
            if (t.FutexKey == 0) return;
            int b = Bucket(t.FutexKey);
            Thread prev = null;
            for (Thread p = _heads[b]; p != null; prev = p, p = p.NextWaiter)
            {
                if (p != t) continue;
                if (prev == null) _heads[b] = p.NextWaiter; else prev.NextWaiter = p.NextWaiter;
                break;
            }
            t.NextWaiter = null;
            t.FutexKey = 0;
        }

        // Threads in futex_waitv: each waits on several keys at once, so they are kept in a
        // list of their own that Wake also scans (there are few such threads).
        static Thread[] _vectored = new Thread[8];
        static int _vectoredCount;

        /// futex_waitv: blocks until one of `keys` is woken; returns its index, or -1 with
        /// the reason in `reason` (timed out or interrupted).
        public static int WaitMultiple(ulong[] keys, int n, ulong wakeAtNs, out WakeReason reason)
        {
            Thread me = Scheduler.Current;
            me.WaitvKeys = keys;
            me.WaitvCount = n;
            me.WaitvWoken = -1;
            if (_vectoredCount == _vectored.Length)
            {
                var bigger = new Thread[_vectored.Length * 2];
                for (int i = 0; i < _vectoredCount; i++) bigger[i] = _vectored[i];
                _vectored = bigger;
            }
            _vectored[_vectoredCount++] = me;
            reason = Scheduler.Block(wakeAtNs, true);
            RemoveVectored(me);
            me.WaitvKeys = null;
            return me.WaitvWoken;
        }

        static void RemoveVectored(Thread t)
        {
            for (int i = 0; i < _vectoredCount; i++)
                if (_vectored[i] == t) { _vectored[i] = _vectored[--_vectoredCount]; _vectored[_vectoredCount] = null; return; }
        }

        /// Wakes up to `count` waiters on `key` whose bitset intersects `bitset`.
        public static int Wake(ulong key, int count, uint bitset)
        {
            int woken = WakeVectored(key, count);
            int b = Bucket(key);
            Thread prev = null, p = _heads[b];
            while (p != null && woken < count)
            {
                Thread next = p.NextWaiter;
                if (p.FutexKey == key && (p.FutexBitset & bitset) != 0)
                {
                    if (prev == null) _heads[b] = next; else prev.NextWaiter = next;
                    p.NextWaiter = null;
                    p.FutexKey = 0;
                    Scheduler.Wake(p, WakeReason.Woken);
                    woken++;
                }
                else prev = p;
                p = next;
            }
            return woken;
        }

        static int WakeVectored(ulong key, int count)
        {
            int woken = 0;
            for (int i = 0; i < _vectoredCount && woken < count; i++)
            {
                Thread t = _vectored[i];
                if (t.State != ThreadState.Blocked || t.WaitvWoken >= 0) continue;
                for (int k = 0; k < t.WaitvCount; k++)
                    if (t.WaitvKeys[k] == key)
                    {
                        t.WaitvWoken = k;
                        Scheduler.Wake(t, WakeReason.Woken);
                        woken++;
                        break;
                    }
            }
            return woken;
        }

        /// Moves up to `count` waiters from `from` to `to` (FUTEX_REQUEUE); returns how many.
        public static int Requeue(ulong from, ulong to, int count)
        {
            if (from == to)
            {
                // Nothing moves; report how many would have (as if requeued in place).
                int n = 0;
                for (Thread p2 = _heads[Bucket(from)]; p2 != null && n < count; p2 = p2.NextWaiter) if (p2.FutexKey == from) n++;
                return n;
            }
            int moved = 0;
            int b = Bucket(from);
            Thread prev = null, p = _heads[b];
            while (p != null && moved < count)
            {
                Thread next = p.NextWaiter;
                if (p.FutexKey == from)
                {
                    if (prev == null) _heads[b] = next; else prev.NextWaiter = next;
                    p.FutexKey = to;
                    Append(p);
                    moved++;
                }
                else prev = p;
                p = next;
            }
            return moved;
        }
    }
}
