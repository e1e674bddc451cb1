using Kernel.Sched;

namespace Kernel.Fs
{
    /// Readiness for poll, select and epoll. Files report their state through
    /// OpenFile.Poll(); any change that could make a file ready calls Changed(), which wakes
    /// every poller to re-check (there are few threads, so one queue is enough).
    public static class PollEvents
    {
        public const uint In = 0x001, Pri = 0x002, Out = 0x004, Err = 0x008, Hup = 0x010, Nval = 0x020,
            RdNorm = 0x040, RdBand = 0x080, WrNorm = 0x100, WrBand = 0x200, RdHup = 0x2000;

        static readonly WaitQueue _waiters = new WaitQueue();
        /// Bumped on every change, so edge-triggered epoll can tell new events from old ones.
        public static ulong Generation;

        public static void Changed()
        {
            Generation++;
            _waiters.WakeAll();
        }

        /// Waits for the next change, a signal or the deadline (0: none).
        public static WakeReason Wait(ulong deadlineNs) => _waiters.Wait(deadlineNs);

        /// Normal data bits reported alongside In and Out, as Linux does.
        public static uint WithNormal(uint mask) =>
            mask | ((mask & In) != 0 ? RdNorm : 0) | ((mask & Out) != 0 ? WrNorm : 0);
    }
}
