using Kernel.Abi;
using Kernel.Time;

namespace Kernel.Sched
{
    /// Deadlines from user-supplied timespecs, saturating instead of wrapping: a timeout too
    /// far away to matter (over ~300 years) means "no timeout" (0).
    public static class Deadline
    {
        const long MaxSec = 10000000000;            // ~317 years

        /// Nanoseconds of a validated timespec, or ulong.MaxValue when beyond MaxSec.
        public static ulong Ns(Timespec ts) => ts.Sec > MaxSec ? ulong.MaxValue : (ulong)ts.Sec * 1000000000 + (ulong)ts.Nsec;

        /// A monotonic deadline `ts` from now; 0 (none) when too far; never 0 otherwise.
        public static ulong After(Timespec ts)
        {
            ulong ns = Ns(ts);
            if (ns == ulong.MaxValue) return 0;
            ulong d = Clock.MonotonicNs() + ns;
            return d == 0 ? 1 : d;
        }
    }
}
