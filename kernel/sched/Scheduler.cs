using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Arch;
using Kernel.Console;
using Kernel.Memory;
using Kernel.Time;

namespace Kernel.Sched
{
    /// Round-robin scheduling of the program's threads on every CPU (docs/smp.md): one run
    /// queue per CPU, all under the big kernel lock. A thread made runnable goes to its last
    /// CPU's queue when that CPU is idle, else to an idle CPU its affinity allows, else to its
    /// last CPU's (or the shortest allowed) queue; a CPU with nothing of its own steals from
    /// the busiest queue, and at the end of a slice one with a much shorter queue than
    /// another takes a thread from it. The kernel is not preempted: a thread switches only
    /// when it blocks, exits or yields, or when the timer interrupts it in user mode after its
    /// slice. With nothing runnable a CPU switches to its idle thread, which halts without
    /// the lock; a thread queued on a halted CPU sends it an IPI.
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

        static readonly Thread[] _current = new Thread[Smp.MaxCpus];
        static readonly Thread[] _idleThreads = new Thread[Smp.MaxCpus];
        static readonly ulong[] _sliceStart = new ulong[Smp.MaxCpus];

        /// The thread this CPU runs (its idle thread while it has none).
        public static Thread Current
        {
            get => _current[Smp.CurrentIndex];
            private set => _current[Smp.CurrentIndex] = value;
        }

        // The process layer (signals, interval timers) sits above the scheduler and installs
        // these at start-up (kernel/Kmain.cs).
        /// Whether a signal would interrupt thread `t`'s interruptible wait.
        public static delegate*<Thread, bool> SignalPending;
        /// Each timer tick: the time now, and the tick's length when it interrupted a thread
        /// (0 when the CPU was idle), and whether that was in user mode.
        public static delegate*<ulong, ulong, bool, void> OnTimerTick;
        /// On the way back to user mode from a tick: deliver pending signals.
        public static delegate*<InterruptFrame*, void> BeforeUserReturn;
        // Run queue of each CPU: a list through Thread.NextRun, and its length.
        static readonly Thread[] _runHead = new Thread[Smp.MaxCpus];
        static readonly Thread[] _runTail = new Thread[Smp.MaxCpus];
        static readonly int[] _queued = new int[Smp.MaxCpus];
        static Thread[] _all = new Thread[64];
        static int _count;
        public const ulong SliceNs = 10000000;   // 10 ms

        public static void Init(Thread first)
        {
            if (Current != null) Current.OnCpu = -1;       // the self-tests start over
            Current = first;
            first.OnCpu = 0;
            Register(first);
            _sliceStart[0] = Clock.MonotonicNs();
            first.RanSinceNs = _sliceStart[0];
            Timer.OnTick = &OnTick;
            Interrupts.IrqHandlers[Smp.WakeVector] = &OnWakeIpi;
            Interrupts.QuietUserTick = &IsQuietUserTick;
            PrepareCpu(0);
        }

        /// CPU `cpu`'s idle thread, made before the CPU starts (Smp.StartAll) so that the
        /// CPU itself allocates nothing before it runs threads.
        public static void PrepareCpu(int cpu)
        {
            if (_idleThreads[cpu] != null) return;
            var t = new Thread(null, -1) { IsKernel = true, IsIdle = true };
            t.KernelStackTop = KernelStacks.Allocate(ThreadStackPages);
            ulong* sp = (ulong*)(t.KernelStackTop - 8 * 8);
            delegate*<ulong, void> fn = &IdleLoop;
            sp[0] = 0; sp[1] = 0; sp[2] = (ulong)cpu; sp[3] = (ulong)fn; sp[4] = 0; sp[5] = 0;
            sp[6] = KthreadStart();
            t.SavedRsp = (ulong)sp;
            t.State = ThreadState.Runnable;                  // never queued: a CPU with nothing else to do switches to it
            Register(t);
            _idleThreads[cpu] = t;
        }

        /// An application processor joins (Smp.OnCpuOnline): it leaves its start-up stack for
        /// its idle thread and never returns.
        public static void RunCpu(int cpu)
        {
            Thread idle = _idleThreads[cpu];
            Current = idle;
            idle.OnCpu = cpu;
            ulong discard;
            SwitchContext(&discard, idle.SavedRsp);
        }

        /// A CPU's idle thread: runs whatever becomes runnable, halts (without the lock) when
        /// nothing is.
        static void IdleLoop(ulong cpu)
        {
            while (true)
            {
                IdleRun((int)cpu);
                ulong h0 = Clock.MonotonicNs();
                Smp.IdleHalt(&MayHaveWork);
                IdleNs += Clock.MonotonicNs() - h0;
            }
        }

        /// Whether idle CPU `cpu` should take the lock and look: a thread queued on it, or on
        /// another CPU for it to steal. Read without the lock (Smp.IdleHalt).
        static bool MayHaveWork(int cpu)
        {
            for (int c = 0; c < Smp.Count; c++) if (_queued[c] != 0) return true;
            return false;
        }

        /// Whether a tick that interrupted user code on `cpu` (not CPU 0, whose tick does the
        /// global work: deadlines, interval timers, timerfds) can be answered without the
        /// lock: no thread queued anywhere (no slice to end, nothing to balance), no signal to
        /// deliver, and no CPU-time itimer or RLIMIT_CPU to charge (NeedsTick). Read without
        /// the lock: the running thread and its process stay reachable, and the collector does
        /// not move objects; a stale read delays the work by one tick.
        static bool IsQuietUserTick(int cpu)
        {
            if (MayHaveWork(cpu)) return false;
            Thread cur = _current[cpu];
            if (cur == null || cur.IsIdle || cur.Group == null) return false;
            if (SignalPending != null && SignalPending(cur)) return false;
            return NeedsTick == null || !NeedsTick(cur);
        }

        /// Whether thread `t`'s ticks must be charged (its process has a CPU-time itimer or
        /// RLIMIT_CPU): the process layer's answer (kernel/Kmain.cs).
        public static delegate*<Thread, bool> NeedsTick;

        static void IdleRun(int cpu)
        {
            while (true)
            {
                CheckTimeouts(Clock.MonotonicNs());
                if (!HasWorkFor(cpu)) Runtime.Collector.Idle();
                Thread next = Dequeue(cpu) ?? Steal(cpu, 1);
                if (next == null) return;
                SwitchTo(Current, next, cpu);
            }
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
            MakeRunnable(t);
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
            MakeRunnable(t);
            return t;
        }

        [System.Runtime.InteropServices.UnmanagedCallersOnly(EntryPoint = "kthread_exit")]
        static void KernelThreadExit() => ExitCurrent();

        /// Queues `t` (runnable, not running) on the CPU that should run it (Place) and wakes
        /// that CPU if it is halted.
        static void MakeRunnable(Thread t)
        {
            int cpu = Place(t);
            Enqueue(t, cpu);
            if (cpu != Smp.CurrentIndex) Smp.Kick(cpu);     // an IPI only if it halts
        }

        static bool Allowed(Thread t, int cpu) => (t.Affinity & (1UL << cpu)) != 0;

        /// Idle: running its idle thread with nothing queued (halted, or about to look again).
        static bool IsIdleCpu(int cpu) => _queued[cpu] == 0 && (_current[cpu] == null || _current[cpu].IsIdle);

        /// The CPU whose queue `t` goes to: this one if it is idle (an interrupt in its idle
        /// halt: it is awake, no IPI needed), else its last CPU if that one is idle, else an
        /// idle CPU it may run on, else its last CPU if allowed, else the allowed CPU with the
        /// shortest queue.
        static int Place(Thread t)
        {
            int n = Smp.Count, here = Smp.CurrentIndex, last = t.LastCpu;
            if (n == 1) return 0;
            if (Allowed(t, here) && IsIdleCpu(here)) return here;
            bool lastOk = last >= 0 && last < n && Allowed(t, last);
            if (lastOk && IsIdleCpu(last)) return last;
            for (int k = 0; k < n; k++)
            {
                int c = (here + k) % n;
                if (Allowed(t, c) && IsIdleCpu(c)) return c;
            }
            if (lastOk) return last;
            int best = -1;
            for (int c = 0; c < n; c++)
                if (Allowed(t, c) && (best < 0 || _queued[c] < _queued[best])) best = c;
            return best >= 0 ? best : here;     // no online CPU in the mask: cannot happen (sched_setaffinity checks)
        }

        static void Enqueue(Thread t, int cpu)
        {
            t.NextRun = null;
            t.QueuedOn = cpu;
            if (_runTail[cpu] == null) _runHead[cpu] = _runTail[cpu] = t;
            else { _runTail[cpu].NextRun = t; _runTail[cpu] = t; }
            _queued[cpu]++;
        }

        /// Takes `t` out of queue `q`, `prev` being the thread before it there (or null).
        static void Unlink(int q, Thread prev, Thread t)
        {
            if (prev == null) _runHead[q] = t.NextRun; else prev.NextRun = t.NextRun;
            if (_runTail[q] == t) _runTail[q] = prev;
            t.NextRun = null;
            t.QueuedOn = -1;
            _queued[q]--;
        }

        /// The first thread of queue `q` that may run on `cpu`, taken out of the queue.
        static Thread TakeFrom(int q, int cpu)
        {
            Thread prev = null;
            for (Thread t = _runHead[q]; t != null; prev = t, t = t.NextRun)
            {
                if (!Allowed(t, cpu)) continue;
                Unlink(q, prev, t);
                return t;
            }
            return null;
        }

        /// The first thread of this CPU's own queue that may run here.
        static Thread Dequeue(int cpu) => TakeFrom(cpu, cpu);

        /// A thread taken from the longest other queue that holds at least `min` threads and
        /// one that may run on `cpu`, or null.
        static Thread Steal(int cpu, int min)
        {
            int victim = -1;
            for (int c = 0; c < Smp.Count; c++)
            {
                if (c == cpu || _queued[c] < min || (victim >= 0 && _queued[c] <= _queued[victim])) continue;
                for (Thread t = _runHead[c]; t != null; t = t.NextRun)
                    if (Allowed(t, cpu)) { victim = c; break; }
            }
            return victim < 0 ? null : TakeFrom(victim, cpu);
        }

        /// Whether a queued thread may run on `cpu` (in its queue or another's).
        static bool HasWorkFor(int cpu)
        {
            for (int q = 0; q < Smp.Count; q++)
                for (Thread t = _runHead[q]; t != null; t = t.NextRun) if (Allowed(t, cpu)) return true;
            return false;
        }

        /// `t` runs on another CPU: an IPI brings it into the kernel, where it sees what
        /// changed for it (a signal, the end of its process) on its way back to user mode.
        /// A queued thread whose queue's CPU its affinity no longer allows moves to another
        /// queue.
        public static void Interrupt(Thread t)
        {
            int c = t.OnCpu;
            if (c >= 0 && c != Smp.CurrentIndex && !t.IsIdle) Smp.SendWake(c);
            int q = t.QueuedOn;
            if (q >= 0 && !Allowed(t, q))
            {
                Thread prev = null;
                for (Thread x = _runHead[q]; x != null && x != t; x = x.NextRun) prev = x;
                Unlink(q, prev, t);
                MakeRunnable(t);
            }
        }

        static InterruptFrame* OnWakeIpi(InterruptFrame* f)
        {
            Timer.EndOfInterrupt();
            if (f->FromUser)
            {
                Migrate();                              // its affinity changed from another CPU
                if (BeforeUserReturn != null) BeforeUserReturn(f);
            }
            return f;
        }

        /// The CPU `t` runs on, or -1.
        public static int CpuOf(Thread t) => t.OnCpu;

        /// Wakes a blocked thread with a reason.
        public static void Wake(Thread t, WakeReason reason)
        {
            if (t.State != ThreadState.Blocked) return;
            t.Wake = reason;
            t.State = ThreadState.Runnable;
            MakeRunnable(t);
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

        /// Gives up the CPU if another thread is queued on it (sched_yield: other CPUs'
        /// queues are theirs).
        public static void Yield()
        {
            int cpu = Smp.CurrentIndex;
            Thread me = Current;
            if (me.IsIdle) return;
            bool any = false;
            for (Thread t = _runHead[cpu]; t != null && !any; t = t.NextRun) any = Allowed(t, cpu);
            if (!any) return;
            Enqueue(me, cpu);
            Reschedule();
        }

        /// The end of a slice: a CPU whose queue is at least two threads shorter than the
        /// longest one takes a thread from it (then Yield runs it), so that threads spread
        /// over busy CPUs too, not only to idle ones.
        static void Balance(int cpu)
        {
            if (Smp.Count == 1) return;
            Thread t = Steal(cpu, _queued[cpu] + 2);
            if (t != null) Enqueue(t, cpu);
        }

        /// Moves the current thread to a CPU its (new) affinity allows.
        public static void Migrate()
        {
            Thread me = Current;
            if ((me.Affinity & (1UL << Smp.CurrentIndex)) != 0) return;
            MakeRunnable(me);           // Place picks an allowed CPU, not this one
            Reschedule();
        }

        /// Ends the current thread: it is never scheduled again.
        public static void ExitCurrent()
        {
            Current.State = ThreadState.Dead;
            Reschedule();
            Panic.Halt("a dead thread was resumed");
        }

        /// Picks the next runnable thread and switches to it; with none, to this CPU's idle
        /// thread (which halts until there is one).
        static void Reschedule()
        {
            Thread me = Current;
            int cpu = Smp.CurrentIndex;
            ulong t0 = Clock.MonotonicNs();
            me.CpuTimeNs += t0 - me.RanSinceNs;
            me.RanSinceNs = t0;
            Thread next = Dequeue(cpu);
            if (next == null)
            {
                // Still runnable and allowed here: it goes on. Runnable but not allowed here
                // (Migrate), it waits in another CPU's queue.
                if (me.State == ThreadState.Runnable && !me.IsIdle && me.QueuedOn < 0 && Allowed(me, cpu)) return;
                next = Steal(cpu, 1) ?? _idleThreads[cpu];
            }
            if (next == me) { _sliceStart[cpu] = t0; return; }
            SwitchTo(me, next, cpu);
        }

        static void SwitchTo(Thread me, Thread next, int cpu)
        {
            ulong now = Clock.MonotonicNs();
            next.RanSinceNs = now;
            _sliceStart[cpu] = now;
            me.OnCpu = -1;
            next.OnCpu = cpu;
            next.LastCpu = cpu;
            Current = next;
            Gdt.SetKernelStack(next.KernelStackTop);
            *SyscallKernelRsp() = next.KernelStackTop;
            // Another process's thread: its page tables (kernel threads run on whatever is loaded,
            // the kernel half being the same everywhere).
            if (next.Group != null && next.Group.PageRoot != 0) { if (next.Group.PageRoot != Cpu.ReadCr3()) Cpu.WriteCr3(next.Group.PageRoot); }
            // With several CPUs, a CPU that goes idle (or runs a kernel thread) leaves the last
            // program's tables: another CPU may free them once that program has ended.
            else if (Smp.Count > 1 && Cpu.ReadCr3() != AddressSpace.Kernel.Root) Cpu.WriteCr3(AddressSpace.Kernel.Root);
            // The user's FS and GS bases: this CPU last ran some thread, not necessarily `me`.
            if (!next.IsKernel)
            {
                Cpu.Wrmsr(0xC0000100, next.FsBase);
                Cpu.SetUserGsBase(next.GsBase);
            }
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
                if (t.State == ThreadState.Dead && t.OnCpu < 0)
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
            Thread current = Current;
            for (int i = 0; i < _count; i++)
            {
                Thread t = _all[i];
                bool running = t == current;
                if (t.State == ThreadState.Dead && !running) continue;     // its stack is no longer used
                // Running on another CPU, which does not hold the lock: in user mode, halted
                // in its idle loop or waiting for the lock, with no reference on its stack.
                if (!running && t.OnCpu >= 0) continue;
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
            Thread cur = Current;
            bool charged = f->FromUser || (!cur.IsIdle && cur.State == ThreadState.Runnable);
            if (OnTimerTick != null) OnTimerTick(now, charged ? 1000000000UL / (ulong)Timer.Hz : 0, f->FromUser);
            if (f->FromUser)
            {
                int cpu = Smp.CurrentIndex;
                if (now - _sliceStart[cpu] >= SliceNs) { Balance(cpu); Yield(); }
                Migrate();
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
        public static ulong CpuTime(Thread t) => t.CpuTimeNs + (t.OnCpu >= 0 && !t.IsIdle && t.State == ThreadState.Runnable ? Clock.MonotonicNs() - t.RanSinceNs : 0);

        /// Time CPUs spent halted with nothing to run, since boot, summed over CPUs (the
        /// network profile's busy time).
        public static ulong IdleNs;
    }
}
