using Kernel.Abi;


namespace Kernel.Fs
{
    /// Advisory locks: flock(2) locks (whole file) and OFD byte-range locks (F_OFD_*) owned by
    /// an open file description, POSIX record locks (F_SETLK...) owned by a process. Record
    /// locks of both kinds conflict with each other; an owner never conflicts with itself.
    public static class FileLocks
    {
        public const int F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;

        sealed class Lock
        {
            public object Owner;             // an OpenFile (flock, OFD) or a process (POSIX)
            public int Pid;                  // F_GETLK's l_pid: the owning process, -1 for OFD locks
            public Inode Node;
            public long Start, End;          // [Start, End], End inclusive; long.MaxValue = EOF onwards
            public int Type;
            public bool Flock;
            public Lock Next;
        }

        static Lock _all;

        /// The first lock by another owner that conflicts with (type, [start, end]), or null.
        static Lock Conflict(object owner, Inode node, bool flock, long start, long end, int type)
        {
            for (Lock l = _all; l != null; l = l.Next)
            {
                if (l.Node != node || l.Flock != flock || l.Owner == owner) continue;
                if (l.End < start || l.Start > end) continue;
                if (l.Type == F_WRLCK || type == F_WRLCK) return l;
            }
            return null;
        }

        public static bool Test(object owner, Inode node, long start, long end, int type, out int ctype, out long cstart, out long cend, out int cpid)
        {
            Lock l = Conflict(owner, node, false, start, end, type);
            ctype = F_UNLCK; cstart = 0; cend = 0; cpid = 0;
            if (l == null) return false;
            ctype = l.Type; cstart = l.Start; cend = l.End; cpid = l.Pid;
            return true;
        }

        /// Woken whenever locks are released, for F_OFD_SETLKW and flock without LOCK_NB.
        public static readonly Sched.WaitQueue Released = new Sched.WaitQueue();

        /// Sets a lock, waiting while another description holds a conflicting one; ERESTARTSYS
        /// when a signal interrupts the wait.
        public static Errno SetWait(object owner, Inode node, bool flock, long start, long end, int type, int pid = -1)
        {
            while (true)
            {
                Errno r = Set(owner, node, flock, start, end, type, pid);
                if (r != Errno.EAGAIN) return r;
                if (Released.Wait() == Sched.WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
        }

        /// Sets or clears a lock. Returns EAGAIN on conflict.
        public static Errno Set(object owner, Inode node, bool flock, long start, long end, int type, int pid = -1)
        {
            if (type != F_UNLCK && Conflict(owner, node, flock, start, end, type) != null) return Errno.EAGAIN;
            // Remove the owner's overlap with [start, end], splitting as needed.
            Lock prev = null;
            for (Lock l = _all; l != null; )
            {
                Lock next = l.Next;
                if (l.Owner == owner && l.Node == node && l.Flock == flock && !(l.End < start || l.Start > end))
                {
                    if (l.Start < start && l.End > end)
                    {
                        var tail = new Lock { Owner = owner, Pid = l.Pid, Node = node, Flock = flock, Start = end + 1, End = l.End, Type = l.Type, Next = l.Next };
                        l.End = start - 1; l.Next = tail;
                        prev = tail; l = tail.Next; continue;
                    }
                    if (l.Start < start) l.End = start - 1;
                    else if (l.End > end) l.Start = end + 1;
                    else { if (prev == null) _all = next; else prev.Next = next; l = next; continue; }
                }
                prev = l;
                l = next;
            }
            if (owner is OpenFile of) of.Locks = of;       // marks the description as holding (or having held) locks
            Released.WakeAll();        // anything removed above may unblock a waiter
            if (type != F_UNLCK)
                _all = new Lock { Owner = owner, Pid = pid, Node = node, Flock = flock, Start = start, End = end, Type = type, Next = _all };
            return 0;
        }

        /// A process closed one of `node`'s descriptors: its POSIX locks on the file go, as on Linux.
        public static void ReleasePosix(object owner, Inode node)
        {
            Lock prev = null;
            bool any = false;
            for (Lock l = _all; l != null; l = l.Next)
            {
                if (l.Owner == owner && l.Node == node && !l.Flock) { if (prev == null) _all = l.Next; else prev.Next = l.Next; any = true; }
                else prev = l;
            }
            if (any) Released.WakeAll();
        }

        public static void ReleaseAll(object owner)
        {
            Lock prev = null;
            for (Lock l = _all; l != null; l = l.Next)
            {
                if (l.Owner == owner) { if (prev == null) _all = l.Next; else prev.Next = l.Next; }
                else prev = l;
            }
            Released.WakeAll();
        }
    }
}
