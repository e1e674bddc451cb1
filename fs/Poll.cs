using Kernel.Sched;

namespace Kernel.Fs
{
    /// Readiness for poll, select and epoll. Files report their state through
    /// OpenFile.Poll(); waiting is per object: each file names the PollHead its changes are
    /// announced on (OpenFile.PollHead), a waiter puts an entry on the heads of the files it
    /// watches, and a change calls only the entries of that head (poll/select: wake the
    /// thread; epoll: queue the interest on its instance's ready list and wake one thread
    /// waiting on the instance). Sockets, pipes, eventfds, epoll instances, timerfds and
    /// inotify instances have a head each, the console one for its input, and a process one
    /// for the signals its signalfd readers see; files whose readiness never changes share
    /// Steady, on which nothing is announced.
    public static class PollEvents
    {
        public const uint In = 0x001, Pri = 0x002, Out = 0x004, Err = 0x008, Hup = 0x010, Nval = 0x020,
            RdNorm = 0x040, RdBand = 0x080, WrNorm = 0x100, WrBand = 0x200, RdHup = 0x2000;

        /// The head of files whose readiness never changes (regular files, directories,
        /// devices, /proc files): nothing announces on it, so a wait for what such a file
        /// never reports ends only at its deadline or a signal, as on Linux.
        public static readonly PollHead Steady = new PollHead();
        /// Changed() calls and the entries they called, system-wide (`ukpack run -v` prints
        /// them at exit; a boot test bounds them).
        public static ulong Callbacks, Announcements;

        /// Normal data bits reported alongside In and Out, as Linux does.
        public static uint WithNormal(uint mask) =>
            mask | ((mask & In) != 0 ? RdNorm : 0) | ((mask & Out) != 0 ? WrNorm : 0);
    }

    /// Something to call when the files of a head change: a poll/select waiter, an epoll
    /// interest, a thread in epoll_wait. Exclusive entries sit after the others, and a
    /// change stops at the first exclusive one that takes it (returns true).
    public abstract class PollEntry
    {
        internal PollEntry Prev;
        public PollEntry Next { get; internal set; }
        internal PollHead Head;
        public bool Exclusive;
        /// Called on a change; true if it woke someone (what an exclusive entry reports).
        public abstract bool Woken();
        public bool Linked => Head != null;
    }

    /// The entries waiting on one object (a socket, a pipe, an eventfd, an epoll instance, a
    /// timerfd, an inotify instance, the console's input, a process's signals).
    public sealed class PollHead
    {
        PollEntry _first, _last;
        /// The poll/select waiter that last added an entry, so one scan adds one entry per head.
        internal PollWaiter LastWaiter;

        public bool Empty => _first == null;
        /// The first entry (then PollEntry.Next), for a look through them.
        public PollEntry First => _first;

        public void Add(PollEntry e)
        {
            if (e.Head != null) return;
            e.Head = this;
            if (e.Exclusive || _first == null)
            {
                e.Prev = _last; e.Next = null;
                if (_last != null) _last.Next = e; else _first = e;
                _last = e;
            }
            else
            {
                e.Next = _first; e.Prev = null;
                _first.Prev = e; _first = e;
            }
        }

        public void Remove(PollEntry e)
        {
            if (e.Head != this) return;
            if (e.Prev != null) e.Prev.Next = e.Next; else _first = e.Next;
            if (e.Next != null) e.Next.Prev = e.Prev; else _last = e.Prev;
            e.Next = e.Prev = null; e.Head = null;
        }

        /// Something about the files of this head changed: calls every non-exclusive entry
        /// and the exclusive ones up to the first that woke someone.
        public void Changed()
        {
            PollEvents.Announcements++;
            PollEntry e = _first;
            while (e != null)
            {
                PollEntry next = e.Next;           // an entry may unlink itself
                PollEvents.Callbacks++;
                if (e.Woken() && e.Exclusive) return;
                e = next;
            }
        }

        /// Blocks the calling thread until the next Changed(), a signal or the deadline (0:
        /// none); the caller checks its condition before and after.
        public WakeReason Wait(ulong deadlineNs)
        {
            var w = new PollWaiter();
            Add(w);
            WakeReason r = w.Block(deadlineNs);
            Remove(w);
            return r;
        }

        /// Wakes one entry (the first that takes it): threads in epoll_wait, one per event.
        public bool WakeOne()
        {
            for (PollEntry e = _first; e != null; e = e.Next)
                if (e.Woken()) return true;
            return false;
        }
    }

    /// A thread waiting in poll, select or epoll_wait: its entries wake it, and Fired says a
    /// change came since it last scanned (so it scans again instead of sleeping).
    public sealed class PollWaiter : PollEntry
    {
        public readonly Thread Thread;
        public bool Fired;
        PollLink _links;

        public PollWaiter() { Thread = Scheduler.Current; }

        public override bool Woken()
        {
            if (Fired) return false;               // already woken, not yet scanned again
            Fired = true;
            if (Thread.State == ThreadState.Blocked) Scheduler.Wake(Thread, WakeReason.Woken);
            return true;
        }

        /// Watches `f`'s head for the rest of this wait. Only the first scan that has a
        /// waiter registers (as Linux's poll: a file an fd comes to name during the wait is
        /// not watched); a head met twice in a row gets one entry (a repeat elsewhere in
        /// the scan only costs a second entry).
        public void Watch(OpenFile f)
        {
            if (!Registering) return;
            PollHead h = f.PollHead;
            if (h.LastWaiter == this) return;
            h.LastWaiter = this;
            var link = new PollLink(this) { NextLink = _links };
            _links = link;
            h.Add(link);
        }
        /// Set for the one scan that registers (WaitReady).
        public bool Registering;

        /// Ends the wait: every entry leaves its head.
        public void Done()
        {
            for (PollLink l = _links; l != null; l = l.NextLink)
            {
                if (l.Head != null)
                {
                    if (l.Head.LastWaiter == this) l.Head.LastWaiter = null;
                    l.Head.Remove(l);
                }
            }
            _links = null;
        }

        /// Blocks until an entry fires, a signal or the deadline (0: none).
        public WakeReason Block(ulong deadlineNs)
        {
            if (Fired) return WakeReason.Woken;
            return Scheduler.Block(deadlineNs, true);
        }

        sealed class PollLink : PollEntry
        {
            readonly PollWaiter _w;
            public PollLink NextLink;
            public PollLink(PollWaiter w) { _w = w; }
            public override bool Woken() => _w.Woken();
        }
    }
}
