using Kernel.Arch;

namespace Kernel.Sched
{
    public enum ThreadState { Runnable, Blocked, Dead }

    /// Why a blocked thread woke up.
    public enum WakeReason { None, Woken, TimedOut, Interrupted }

    /// What threads belong to: the process layer's Process derives from it, so the scheduler
    /// knows a thread's owner without knowing what a process is.
    public abstract class ThreadGroup
    {
        /// Physical address of the page tables its threads run on (CR3), 0 for none: the
        /// scheduler switches CR3 when the next thread's group has other tables.
        public ulong PageRoot;
        /// CPU time of its threads that have exited and been reaped.
        public ulong ExitedCpuNs;

        // Credentials (credentials(7)): real, effective, saved set- and filesystem user and
        // group ids and the supplementary groups. Files this group creates are owned by its
        // filesystem ids, and file permissions are checked against them (fs/Permission.cs).
        public uint Ruid, Euid, Suid, Fsuid, Rgid, Egid, Sgid, Fsgid;
        public uint[] Groups = new uint[0];
        // Capability sets (Capabilities.cs): root with all of them until ids or capset change it.
        public ulong CapEffective = Capabilities.All, CapPermitted = Capabilities.All, CapInheritable, CapBounding = Capabilities.All;
        public bool KeepCaps;                   // PR_SET_KEEPCAPS

        /// The credentials of `g` (fork and clone copy them).
        public void CopyCredentials(ThreadGroup g)
        {
            Ruid = g.Ruid; Euid = g.Euid; Suid = g.Suid; Fsuid = g.Fsuid;
            Rgid = g.Rgid; Egid = g.Egid; Sgid = g.Sgid; Fsgid = g.Fsgid;
            Groups = g.Groups;                      // never changed in place: setgroups replaces it
            CapEffective = g.CapEffective; CapPermitted = g.CapPermitted; CapInheritable = g.CapInheritable;
            CapBounding = g.CapBounding; KeepCaps = g.KeepCaps;
        }
    }

    /// A thread of the program: its kernel stack and saved kernel context, its user-visible
    /// identity, and the per-thread parts of signal and TLS state.
    public sealed unsafe class Thread
    {
        public readonly ThreadGroup Group;     // its process (null for a kernel thread)
        public int Tid;                         // a thread that execs becomes its process's leader (tid = pid)
        public bool Killed;                     // its process is exiting: the thread ends before it returns to user mode
        public bool InStopWait;                 // parked by a stop signal until SIGCONT or SIGKILL (or in vfork, until the child lets go or SIGKILL)
        public ThreadState State;
        public ulong KernelStackTop;
        public ulong KernelStackBytes = Scheduler.ThreadStackPages * 4096;      // its size below the top
        public ulong SavedRsp;                  // kernel rsp while switched out
        public ulong FsBase, GsBase;
        public ulong SignalMask, PendingSignals;
        public ulong RealBlocked;               // the mask sigtimedwait lifted while it waits: still "blocked" when a signal is sent
        public ulong ClearChildTid;             // CLONE_CHILD_CLEARTID / set_tid_address
        public ulong RobustList;
        public ulong AltStackSp, AltStackSize;
        public int AltStackFlags = Abi.SigCodes.SS_DISABLE;

        // Blocking: at most one wait at a time.
        public ulong WakeAtNs;                  // 0 = no timeout
        public WakeReason Wake;
        public bool Interruptible;
        public ulong FutexKey;                  // address waited on, 0 when not in a futex wait
        public uint FutexBitset;
        public Thread NextWaiter;               // futex bucket chain
        public ulong[] WaitvKeys;               // futex_waitv: the addresses waited on
        public int WaitvCount, WaitvWoken;
        public ulong[] WaitvBuffer;             // reused by each futex_waitv call of this thread
        public Thread NextRun;                  // run queue link
        public int QueuedOn = -1;               // the CPU whose run queue holds it, or -1
        public int LastCpu = -1;                // the CPU that ran it last, or -1

        public InterruptFrame* SyscallFrame;   // frame of the syscall in progress (for signals)
        public ulong CpuTimeNs, RanSinceNs;
        public bool IsKernel;                   // a kernel thread: ring 0 only, no program state
        public bool IsIdle;                     // a CPU's idle thread (a kernel thread never queued)
        public int OnCpu = -1;                  // the CPU running it, or -1
        public ulong Affinity = ulong.MaxValue; // CPUs it may run on (sched_setaffinity), bit per CPU
        public int Policy;                      // SCHED_OTHER/BATCH/IDLE as set (all round-robin here)
        public ulong TimerSlackNs = 50000;
        public ulong SavedMaskForSuspend;       // rt_sigsuspend: mask to restore after the handler
        public bool RestoreMaskAfterSignal;     // the call set a temporary mask: restore SavedMaskForSuspend when it ends
        public readonly byte[] Name = new byte[16];

        /// What the syscall in progress holds a reference to (the syscall layer's open files, as
        /// Linux's fdget/fdput): released when the call returns, or when the thread ends in it.
        public object[] CallRefs;
        public int CallRefCount;

        public byte* FpuArea;          // x87/SSE state while switched out (16-byte aligned)

        public Thread(ThreadGroup group, int tid)
        {
            Group = group; Tid = tid;
            FpuArea = (byte*)Memory.Heap.AllocZeroed(512);        // the 512-byte class is 512-aligned
        }
    }
}
