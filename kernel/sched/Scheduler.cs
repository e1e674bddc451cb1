using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Arch;
using Kernel.Console;
using Kernel.Memory;
using Kernel.Time;

namespace Kernel.Sched
{
    /// Round-robin scheduling of the program's threads on one CPU. The kernel is not
    /// preempted: a thread switches only when it blocks, exits or yields, or when the timer
    /// interrupts it in user mode after its slice. With nothing runnable the CPU halts.
    /// Data layout (run queue, sleeping list) is per-CPU-ready: one instance of the statics
    /// per CPU later.
    public static unsafe class Scheduler
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "switch_context")]
        static extern void SwitchContext(ulong* saveRsp, ulong newRsp);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "thread_start_addr")]
        static extern ulong ThreadStart();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "kthread_start_addr")]
        static extern ulong KthreadStart();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "syscall_kernel_rsp_addr")]
        static extern ulong* SyscallKernelRsp();

        public static Thread Current;

        // The process layer (signals, interval timers) sits above the scheduler and installs
        // these at start-up (kernel/Kmain.cs).
        /// Whether a signal would interrupt thread `t`'s interruptible wait.
        public static delegate*<Thread, bool> SignalPending;
        /// Each timer tick: the time now, and the tick's length when it interrupted a thread
        /// (0 when the CPU was idle), and whether that was in user mode.
        public static delegate*<ulong, ulong, bool, void> OnTimerTick;
        /// On the way back to user mode from a tick: deliver pending signals.
        public static delegate*<InterruptFrame*, void> BeforeUserReturn;
        static Thread _runHead, _runTail;
        static Thread[] _all = new Thread[64];
        static int _count;
        public const ulong SliceNs = 10000000;   // 10 ms
        static ulong _sliceStart;

        public static void Init(Thread first)
        {
            Current = first;
            Register(first);
            _sliceStart = Clock.MonotonicNs();
            first.RanSinceNs = _sliceStart;
            Timer.OnTick = &OnTick;
        }

        static void Register(Thread t)
        {
            if (_count == _all.Length)
            {
                var bigger = new Thread[_all.Length * 2];
                for (int i = 0; i < _count; i++) bigger[i] = _all[i];
                _all = bigger;
            }
            _all[_count++] = t;
        }

        /// Live threads of the program (kernel threads are not counted).
        public static int ThreadCount
        {
            get { int n = 0; for (int i = 0; i < _count; i++) if (_all[i].State != ThreadState.Dead && !_all[i].IsKernel) n++; return n; }
        }

        public static Thread Find(int tid)
        {
            for (int i = 0; i < _count; i++) if (_all[i].Tid == tid && _all[i].State != ThreadState.Dead && !_all[i].IsKernel) return _all[i];
            return null;
        }

        public static Thread At(int i) => i < _count ? _all[i] : null;
        public static int Slots => _count;

        /// Makes a new thread runnable; it starts by returning to user mode through `frame`,
        /// which must sit on its own kernel stack with the FPU save area right below it.
        public static void Start(Thread t, InterruptFrame* frame)
        {
            // Initial kernel stack image for switch_context: r15 r14 r13 r12 rbx rbp, ret.
            ulong* sp = (ulong*)((byte*)frame - 512 - 8 * 8);
            sp[0] = 0; sp[1] = 0; sp[2] = 0; sp[3] = (ulong)frame; sp[4] = 0; sp[5] = 0;
            sp[6] = ThreadStart();
            t.SavedRsp = (ulong)sp;
            t.State = ThreadState.Runnable;
            Register(t);
            Enqueue(t);
        }

        /// Starts a kernel thread: it runs `fn(arg)` in ring 0 on its own stack, is scheduled
        /// like any thread (it must block or yield to let others run: the kernel is not
        /// preempted) and ends when `fn` returns.
        public static Thread StartKernelThread(delegate*<ulong, void> fn, ulong arg)
        {
            var t = new Thread(null, -1) { IsKernel = true };
            t.KernelStackTop = KernelStacks.Allocate(ThreadStackPages);
            ulong* sp = (ulong*)(t.KernelStackTop - 8 * 8);
            // switch_context pops r15 r14 r13 r12 rbx rbp, then returns to kthread_start.
            sp[0] = 0; sp[1] = 0; sp[2] = arg; sp[3] = (ulong)fn; sp[4] = 0; sp[5] = 0;
            sp[6] = KthreadStart();
            t.SavedRsp = (ulong)sp;
            t.State = ThreadState.Runnable;
            Register(t);
            Enqueue(t);
            return t;
        }

        [System.Runtime.InteropServices.UnmanagedCallersOnly(EntryPoint = "kthread_exit")]
        static void KernelThreadExit() => ExitCurrent();

        static void Enqueue(Thread t)
        {
            t.NextRun = null;
            if (_runTail == null) _runHead = _runTail = t;
            else { _runTail.NextRun = t; _runTail = t; }
        }

        static Thread Dequeue()
        {
            Thread t = _runHead;
            if (t == null) return null;
            _runHead = t.NextRun;
            if (_runHead == null) _runTail = null;
            t.NextRun = null;
            return t;
        }

        /// Wakes a blocked thread with a reason.
        public static void Wake(Thread t, WakeReason reason)
        {
            if (t.State != ThreadState.Blocked) return;
            t.Wake = reason;
            t.State = ThreadState.Runnable;
            Enqueue(t);
        }

        /// Blocks the current thread until Wake (or its WakeAtNs passes); returns why.
        public static WakeReason Block(ulong wakeAtNs, bool interruptible)
        {
            Thread me = Current;
            me.State = ThreadState.Blocked;
            me.Wake = WakeReason.None;
            me.WakeAtNs = wakeAtNs;
            me.Interruptible = interruptible;
            if (interruptible && !me.IsKernel && SignalPending != null && SignalPending(me)) { me.State = ThreadState.Runnable; return WakeReason.Interrupted; }
            Reschedule();
            me.WakeAtNs = 0;
            me.Interruptible = false;
            return me.Wake;
        }

        /// Gives up the CPU if another thread is runnable.
        public static void Yield()
        {
            if (_runHead == null) return;
            Enqueue(Current);
            Reschedule();
        }

        /// Ends the current thread: it is never scheduled again.
        public static void ExitCurrent()
        {
            Current.State = ThreadState.Dead;
            Reschedule();
            Panic.Halt("a dead thread was resumed");
        }

        /// Picks the next runnable thread and switches to it; halts while none is runnable.
        static void Reschedule()
        {
            Thread me = Current;
            ulong t0 = Clock.MonotonicNs();
            me.CpuTimeNs += t0 - me.RanSinceNs;                      // idle time is nobody's CPU time
            me.RanSinceNs = t0;
            Thread next;
            while ((next = Dequeue()) == null)
            {
                if (me.State == ThreadState.Runnable) { me.RanSinceNs = Clock.MonotonicNs(); return; }
                CheckTimeouts(Clock.MonotonicNs());
                if (_runHead != null) continue;
                if (_count == 0) Panic.Halt("no threads left");
                Runtime.Collector.Idle();
                if (_runHead != null) continue;
                _idle = true;
                ulong h0 = Clock.MonotonicNs();
                Cpu.Halt();                                          // sti; hlt until an interrupt
                Cpu.DisableInterrupts();
                IdleNs += Clock.MonotonicNs() - h0;
                _idle = false;
                CheckTimeouts(Clock.MonotonicNs());
            }
            ulong now = Clock.MonotonicNs();
            next.RanSinceNs = now;
            if (next == me) { _sliceStart = now; return; }
            _sliceStart = now;
            Current = next;
            Gdt.SetKernelStack(next.KernelStackTop);
            *SyscallKernelRsp() = next.KernelStackTop;
            // Another process's thread: its page tables (kernel threads run on whatever is loaded,
            // the kernel half being the same everywhere).
            if (next.Group != null && next.Group.PageRoot != 0 && next.Group.PageRoot != Cpu.ReadCr3()) Cpu.WriteCr3(next.Group.PageRoot);
            if (me.FsBase != next.FsBase) Cpu.Wrmsr(0xC0000100, next.FsBase);
            if (me.GsBase != next.GsBase) Cpu.Wrmsr(0xC0000101, next.GsBase);
            // x87 state is live per thread (entries save only what kernel code clobbers).
            FpuState.Save(me.FpuArea);
            fixed (ulong* save = &me.SavedRsp) SwitchContext(save, next.SavedRsp);
            FpuState.Restore(me.FpuArea);
            Reap();
        }

        public const ulong ThreadStackPages = 8;

        /// Frees what dead threads held, once we are no longer running on their stacks.
        static void Reap()
        {
            int kept = 0;
            for (int i = 0; i < _count; i++)
            {
                Thread t = _all[i];
                if (t.State == ThreadState.Dead && t != Current)
                {
                    ExitedCpuNs += t.CpuTimeNs;
                    if (t.Group != null) t.Group.ExitedCpuNs += t.CpuTimeNs;
                    KernelStacks.Free(t.KernelStackTop, ThreadStackPages);
                    Heap.Free(t.FpuArea, 512);
                    continue;
                }
                _all[kept++] = t;
            }
            for (int i = kept; i < _count; i++) _all[i] = null;
            _count = kept;
        }

        /// The collector's view of the threads: every kernel stack that may hold references,
        /// from the saved stack pointer (or `currentRsp` for the running thread) to its top.
        public static void ScanStacks(ulong currentRsp)
        {
            for (int i = 0; i < _count; i++)
            {
                Thread t = _all[i];
                bool running = t == Current;
                if (t.State == ThreadState.Dead && !running) continue;     // its stack is no longer used
                ulong lo = running ? currentRsp : t.SavedRsp, top = t.KernelStackTop;
                if (lo > top || top - lo > t.KernelStackBytes)
                    Panic.Halt("gc: a thread's stack pointer is outside its kernel stack");
                Runtime.Collector.ScanRange(lo, top);
            }
        }

        /// Wakes sleepers whose deadline has passed.
        static void CheckTimeouts(ulong now)
        {
            for (int i = 0; i < _count; i++)
            {
                Thread t = _all[i];
                if (t.State == ThreadState.Blocked && t.WakeAtNs != 0 && t.WakeAtNs <= now)
                {
                    Futex.Forget(t);
                    Wake(t, WakeReason.TimedOut);
                }
            }
        }

        /// Timer tick: wake sleepers; preempt a user thread whose slice is over.
        static InterruptFrame* OnTick(InterruptFrame* f)
        {
            ulong now = Clock.MonotonicNs();
            CheckTimeouts(now);
            // A tick that interrupts a thread (not the idle halt) is charged to the CPU-time itimers.
            bool charged = f->FromUser || (!_idle && Current.State == ThreadState.Runnable);
            if (OnTimerTick != null) OnTimerTick(now, charged ? 1000000000UL / (ulong)Timer.Hz : 0, f->FromUser);
            if (f->FromUser)
            {
                if (_runHead != null && now - _sliceStart >= SliceNs) Yield();
                if (BeforeUserReturn != null) BeforeUserReturn(f);
            }
            return f;
        }

        /// CPU time of threads that have exited (the process clock keeps counting it).
        public static ulong ExitedCpuNs;

        /// CPU time of the calling thread's process: its threads, live and exited.
        public static ulong ProcessCpuTime()
        {
            ThreadGroup g = Current.Group;
            ulong total = g == null ? ExitedCpuNs : g.ExitedCpuNs;
            for (int i = 0; i < _count; i++) if (_all[i].Group == g) total += CpuTime(_all[i]);
            return total;
        }

        /// CPU time used by `t`; a blocked current thread (the CPU idling on its stack) is not running.
        public static ulong CpuTime(Thread t) => t.CpuTimeNs + (t == Current && !_idle && t.State == ThreadState.Runnable ? Clock.MonotonicNs() - t.RanSinceNs : 0);

        static bool _idle;          // halted in Reschedule: the CPU runs no thread
        /// Time spent halted with nothing to run, since boot (the network profile's busy time).
        public static ulong IdleNs;
    }
}
