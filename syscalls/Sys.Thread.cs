using Kernel.Abi;
using Kernel.Arch;
using Kernel.Memory;
using Kernel.Sched;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        const ulong CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800, CLONE_PIDFD = 0x1000,
            CLONE_PTRACE = 0x2000, CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000, CLONE_THREAD = 0x10000, CLONE_NEWNS = 0x20000,
            CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000,
            CLONE_DETACHED = 0x400000, CLONE_UNTRACED = 0x800000, CLONE_CHILD_SETTID = 0x1000000, CLONE_IO = 0x80000000;

        static Thread Me => Scheduler.Current;

        /// clone(2): threads (CLONE_THREAD) here; new processes (fork, vfork, posix_spawn's
        /// CLONE_VM|CLONE_VFORK) in Sys.Fork.cs.
        public static SysResult Clone(SyscallArgs* a) => DoClone(a->Frame, a->A0, a->A1, a->A2, a->A3, a->A4);

        /// clone3(2)
        public static SysResult Clone3(SyscallArgs* a)
        {
            ulong size = a->A1;
            if (size < CloneArgs.SizeVer0 || size > 4096) return Errno.EINVAL;
            CloneArgs c = default;                         // a shorter (older) struct reads as zeros past its end
            ulong n = size < (ulong)sizeof(CloneArgs) ? size : (ulong)sizeof(CloneArgs);
            if (new UserPtr(a->A0).CopyIn(&c, n) != 0) return Errno.EFAULT;
            if (c.ExitSignal != 0 && (c.Flags & CLONE_THREAD) != 0) return Errno.EINVAL;
            if (c.SetTid != 0 || c.SetTidSize != 0) return Errno.EINVAL;
            ulong stack = c.Stack != 0 ? c.Stack + c.StackSize : 0;
            if ((c.Stack == 0) != (c.StackSize == 0)) return Errno.EINVAL;
            return DoClone(a->Frame, c.Flags | (c.ExitSignal & 0xff), stack, c.ParentTid, c.ChildTid, c.Tls);
        }

        static SysResult DoClone(InterruptFrame* parent, ulong flags, ulong stack, ulong parentTid, ulong childTid, ulong tls)
        {
            if ((flags & CLONE_THREAD) != 0 && (flags & CLONE_SIGHAND) == 0) return Errno.EINVAL;
            if ((flags & CLONE_SIGHAND) != 0 && (flags & CLONE_VM) == 0) return Errno.EINVAL;
            if ((flags & CLONE_NEWNS) != 0) return Errno.EINVAL;
            if ((flags & CLONE_THREAD) == 0) return CloneProcess(parent, flags, stack, parentTid, childTid, tls);
            if ((flags & (CLONE_VFORK | CLONE_PIDFD | CLONE_PARENT)) != 0) return Errno.EINVAL;     // no such threads on Linux

            if ((flags & CLONE_SETTLS) != 0 && tls >= AddressSpace.UserLimit) return Errno.EPERM;
            var p = Cur;
            // Out of memory for another thread (its kernel stack, FPU area and bookkeeping):
            // EAGAIN, as Linux gives when it cannot create a thread.
            // The whole reserve must be left, plus room for the thread's first user pages: a
            // program that creates threads until memory runs out gets EAGAIN from clone
            // before its own page faults run dry.
            if (!PhysicalMemory.HasRoom((Scheduler.ThreadStackPages + 8) * 4096 + (64 << 10))) return Errno.EAGAIN;
            var t = new Thread(p, p.AllocateTid());
            t.KernelStackTop = KernelStacks.TryAllocate(Scheduler.ThreadStackPages);
            if (t.KernelStackTop == 0) { Heap.Free(t.FpuArea, 512); return Errno.EAGAIN; }
            t.FsBase = (flags & CLONE_SETTLS) != 0 ? tls : Me.FsBase;
            t.GsBase = Me.GsBase;
            t.SignalMask = Me.SignalMask;
            var f = (InterruptFrame*)(t.KernelStackTop - (ulong)sizeof(InterruptFrame));
            *f = *parent;
            f->Rax = 0;
            if (stack != 0) f->Rsp = stack;
            FpuState.Capture(parent, FpuState.AreaOf(f));       // the child starts with the parent's FPU state
            f->Vector = 0;                                         // resumed through isr_resume (full fxrstor)
            if ((flags & CLONE_CHILD_CLEARTID) != 0) t.ClearChildTid = childTid;
            int tid = t.Tid;
            if (((flags & CLONE_PARENT_SETTID) != 0 && new UserPtr(parentTid).CopyOut(&tid, 4) != 0) ||
                ((flags & CLONE_CHILD_SETTID) != 0 && new UserPtr(childTid).CopyOut(&tid, 4) != 0))
            {
                KernelStacks.Free(t.KernelStackTop, Scheduler.ThreadStackPages);
                Heap.Free(t.FpuArea, 512);
                return Errno.EFAULT;
            }
            p.LiveThreads++;
            Scheduler.Start(t, f);
            return tid;
        }

        /// exit(2): ends the calling thread; the last one ends the process.
        public static SysResult ExitThread(SyscallArgs* a)
        {
            Process p = Cur;
            if (p.LiveThreads <= 1 && !p.Exiting) { p.Exit((int)a->A0); return SysResult.Ok; }
            p.ExitThread(Me);                      // never returns
            return SysResult.Ok;
        }

        /// Thread teardown visible to the program: robust futexes and CLONE_CHILD_CLEARTID.
        public static void ReleaseThread(Thread me)
        {
            DropCallRefs(me);                      // it ends inside a call (exit, a fatal signal, execve)
            Signals.Purge(Process.Of(me), 0, me.Tid);
            RobustCleanup(me);
            if (me.ClearChildTid != 0)
            {
                int zero = 0;
                if (new UserPtr(me.ClearChildTid).CopyOut(&zero, 4) == 0) Sched.Futex.Wake(FutexKey(me.ClearChildTid), 1, 0xffffffff);
            }
        }

        /// Marks futexes held by a dying thread (robust list) with FUTEX_OWNER_DIED and wakes a waiter.
        static void RobustCleanup(Thread me)
        {
            if (me.RobustList == 0) return;
            if (new UserRef<RobustListHead>(me.RobustList).Read(out RobustListHead head) != 0) return;
            long offset = head.FutexOffset;
            ulong entry = head.Next;
            for (int n = 0; n < 2048 && entry != me.RobustList && entry != 0; n++)
            {
                ReleaseRobust(entry + (ulong)offset, me.Tid);
                ulong next;
                if (new UserPtr(entry).CopyIn(&next, 8) != 0) break;
                entry = next;
            }
            if (head.ListOpPending != 0) ReleaseRobust(head.ListOpPending + (ulong)offset, me.Tid);
        }

        static void ReleaseRobust(ulong addr, int tid)
        {
            uint v;
            if (new UserPtr(addr).CopyIn(&v, 4) != 0 || (v & 0x3fffffff) != (uint)tid) return;
            uint nv = (v & 0x80000000) | 0x40000000;           // keep FUTEX_WAITERS, set FUTEX_OWNER_DIED
            new UserPtr(addr).CopyOut(&nv, 4);
            if ((v & 0x80000000) != 0) Sched.Futex.Wake(FutexKey(addr), 1, 0xffffffff);
        }

        /// gettid(2)
        public static SysResult Gettid(SyscallArgs* a) => Me.Tid;

        /// set_tid_address(2)
        public static SysResult SetTidAddress(SyscallArgs* a) { Me.ClearChildTid = a->A0; return Me.Tid; }

        /// set_robust_list(2)
        public static SysResult SetRobustList(SyscallArgs* a)
        {
            if (a->A1 != 24) return Errno.EINVAL;
            Me.RobustList = a->A0;
            return SysResult.Ok;
        }

        /// get_robust_list(2)
        public static SysResult GetRobustList(SyscallArgs* a)
        {
            Thread t = a->A0 == 0 ? Me : Scheduler.Find((int)a->A0);
            if (t == null) return Errno.ESRCH;
            ulong head = t.RobustList, len = 24;
            if (new UserPtr(a->A1).CopyOut(&head, 8) != 0 || new UserPtr(a->A2).CopyOut(&len, 8) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// futex(2)
        public static SysResult Futex(SyscallArgs* a)
        {
            ulong uaddr = a->A0;
            int op = (int)a->A1;
            int cmd = op & 0x7f;
            bool realtime = (op & 256) != 0;                    // FUTEX_CLOCK_REALTIME
            const int WAIT = 0, WAKE = 1, REQUEUE = 3, CMP_REQUEUE = 4, WAKE_OP = 5, LOCK_PI = 6, UNLOCK_PI = 7,
                TRYLOCK_PI = 8, WAIT_BITSET = 9, WAKE_BITSET = 10, WAIT_REQUEUE_PI = 11, CMP_REQUEUE_PI = 12, LOCK_PI2 = 13;
            if ((uaddr & 3) != 0) return Errno.EINVAL;
            if (realtime && cmd != WAIT && cmd != WAIT_BITSET && cmd != WAIT_REQUEUE_PI && cmd != LOCK_PI2) return Errno.ENOSYS;
            switch (cmd)
            {
                case WAIT:
                case WAIT_BITSET:
                    {
                        uint bitset = cmd == WAIT ? 0xffffffff : (uint)a->A5;
                        if (bitset == 0) return Errno.EINVAL;
                        ulong deadline = 0;
                        if (a->A3 != 0)
                        {
                            if (new UserRef<Timespec>(a->A3).Read(out Timespec ts) != 0) return Errno.EFAULT;
                            if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
                            // WAIT takes a relative timeout; WAIT_BITSET an absolute one on its clock.
                            ulong t = Deadline.Ns(ts);
                            deadline = t == ulong.MaxValue ? 0 : cmd == WAIT ? Deadline.After(ts) : AbsoluteToMonotonic(t, realtime);
                            if (t != ulong.MaxValue && deadline == 0) deadline = 1;
                        }
                        uint v;
                        if (new UserPtr(uaddr).CopyIn(&v, 4) != 0) return Errno.EFAULT;
                        if (v != (uint)a->A2) return Errno.EAGAIN;
                        WakeReason r = Sched.Futex.Wait(FutexKey(uaddr), bitset, deadline);
                        if (r == WakeReason.TimedOut) return Errno.ETIMEDOUT;
                        if (r == WakeReason.Interrupted) return a->A3 == 0 ? Errno.ERESTARTSYS : Errno.EINTR;
                        return SysResult.Ok;
                    }
                case WAKE:
                case WAKE_BITSET:
                    {
                        uint bitset = cmd == WAKE ? 0xffffffff : (uint)a->A5;
                        if (bitset == 0) return Errno.EINVAL;
                        // Linux finds a shared futex's key through the page, so an unmapped one
                        // is EFAULT; a private key is the address itself (only range-checked).
                        if (uaddr > AddressSpace.UserLimit - 4) return Errno.EFAULT;
                        uint probe;
                        if ((op & 128) == 0 && new UserPtr(uaddr).CopyIn(&probe, 4) != 0) return Errno.EFAULT;
                        return Sched.Futex.Wake(FutexKey(uaddr), (int)(uint)a->A2 > 0 ? (int)(uint)a->A2 : 0, bitset);
                    }
                case REQUEUE:
                case CMP_REQUEUE:
                    {
                        int wake = (int)(uint)a->A2, requeue = (int)(uint)a->A3;
                        if (wake < 0 || requeue < 0) return Errno.EINVAL;
                        if ((a->A4 & 3) != 0) return Errno.EINVAL;
                        uint probe;
                        if (a->A4 == 0 || new UserPtr(a->A4).CopyIn(&probe, 4) != 0) return Errno.EFAULT;
                        if (cmd == CMP_REQUEUE)
                        {
                            uint v;
                            if (new UserPtr(uaddr).CopyIn(&v, 4) != 0) return Errno.EFAULT;
                            if (v != (uint)a->A5) return Errno.EAGAIN;
                        }
                        int woken = Sched.Futex.Wake(FutexKey(uaddr), wake, 0xffffffff);
                        return woken + Sched.Futex.Requeue(FutexKey(uaddr), FutexKey(a->A4), requeue);
                    }
                case WAKE_OP:
                    {
                        ulong uaddr2 = a->A4;
                        uint encoded = (uint)a->A5;
                        if ((uaddr2 & 3) != 0) return Errno.EINVAL;
                        int opType = (int)((encoded >> 28) & 7), cmp = (int)((encoded >> 24) & 15);
                        // 12-bit fields, sign-extended as Linux has done since 4.15.
                        int opargS = (int)(encoded << 8) >> 20, cmpargS = (int)(encoded << 20) >> 20;
                        uint oparg = (uint)opargS, cmparg = (uint)cmpargS;
                        if ((encoded & 0x80000000) != 0) oparg = 1u << (opargS & 31);
                        if (cmp > 5 || opType > 4) return Errno.ENOSYS;
                        uint old;
                        if (new UserPtr(uaddr2).CopyIn(&old, 4) != 0) return Errno.EFAULT;
                        uint nv;
                        switch (opType)
                        {
                            case 0: nv = oparg; break;
                            case 1: nv = old + oparg; break;
                            case 2: nv = old | oparg; break;
                            case 3: nv = old & ~oparg; break;
                            case 4: nv = old ^ oparg; break;
                            default: return Errno.ENOSYS;
                        }
                        if (new UserPtr(uaddr2).CopyOut(&nv, 4) != 0) return Errno.EFAULT;
                        int woken = Sched.Futex.Wake(FutexKey(uaddr), (int)(uint)a->A2, 0xffffffff);
                        int o = (int)old, c = (int)cmparg;
                        bool hit = cmp switch { 0 => o == c, 1 => o != c, 2 => o < c, 3 => o <= c, 4 => o > c, 5 => o >= c, _ => false };
                        if (hit) woken += Sched.Futex.Wake(FutexKey(uaddr2), (int)(uint)a->A3, 0xffffffff);
                        return woken;
                    }
                case LOCK_PI: case UNLOCK_PI: case TRYLOCK_PI: case WAIT_REQUEUE_PI: case CMP_REQUEUE_PI: case LOCK_PI2:
                    return Errno.ENOSYS;                         // priority inheritance: not yet
                default:
                    return Errno.ENOSYS;
            }
        }

        /// futex_waitv(2): waits on up to 128 32-bit futexes; returns the index of the one woken.
        public static SysResult FutexWaitv(SyscallArgs* a)
        {
            const uint FUTEX2_SIZE_U32 = 2, FUTEX2_PRIVATE = 128;
            ulong nr = a->A1;
            if (a->A2 != 0 || nr == 0 || nr > 128) return Errno.EINVAL;
            int clock = (int)a->A4;
            ulong deadline = 0;
            if (a->A3 != 0)
            {
                if (clock != 0 && clock != 1) return Errno.EINVAL;
                if (new UserRef<Timespec>(a->A3).Read(out Timespec ts) != 0) return Errno.EFAULT;
                if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
                deadline = AbsoluteToMonotonic((ulong)ts.Sec * 1000000000 + (ulong)ts.Nsec, clock == 0);
                if (deadline == 0) deadline = 1;
            }
            ulong[] keys = Me.WaitvBuffer ??= new ulong[128];
            for (ulong i = 0; i < nr; i++)
            {
                if (new UserRef<FutexWaitv>(a->A0 + i * (ulong)sizeof(FutexWaitv)).Read(out FutexWaitv w) != 0) return Errno.EFAULT;
                uint flags = w.Flags;
                if ((flags & ~(FUTEX2_SIZE_U32 | FUTEX2_PRIVATE)) != 0 || (flags & 3) != FUTEX2_SIZE_U32 || w.Reserved != 0) return Errno.EINVAL;
                ulong addr = w.Uaddr;
                if ((addr & 3) != 0) return Errno.EINVAL;
                keys[i] = addr;
            }
            // Values are checked after every address is known good, as Linux does.
            for (ulong i = 0; i < nr; i++)
            {
                if (new UserRef<FutexWaitv>(a->A0 + i * (ulong)sizeof(FutexWaitv)).Read(out FutexWaitv w) != 0) return Errno.EFAULT;
                uint v;
                if (new UserPtr(keys[i]).CopyIn(&v, 4) != 0) return Errno.EFAULT;
                if (v != (uint)w.Val) return Errno.EAGAIN;
            }
            for (ulong i = 0; i < nr; i++) keys[i] = FutexKey(keys[i]);
            int woken = Sched.Futex.WaitMultiple(keys, (int)nr, deadline, out WakeReason r);
            if (woken >= 0) return woken;
            if (r == WakeReason.TimedOut) return Errno.ETIMEDOUT;
            return Errno.ERESTARTSYS;
        }

        /// Futexes are keyed by address space and address, or by the backing page of a shared
        /// file mapping (kernel/proc/UserMemory.cs).
        static ulong FutexKey(ulong uaddr) => Cur.Memory.FutexKey(uaddr);

        static ulong AbsoluteToMonotonic(ulong t, bool realtime)
        {
            if (!realtime) return t;
            ulong now = Time.Rtc.BootEpochNs + Time.Clock.MonotonicNs();
            return t <= now ? 1 : Time.Clock.MonotonicNs() + (t - now);
        }

        /// sched_yield(2)
        public static SysResult SchedYield(SyscallArgs* a) { Scheduler.Yield(); return SysResult.Ok; }

        /// getcpu(2): this CPU, node 0.
        public static SysResult Getcpu(SyscallArgs* a)
        {
            uint zero = 0, cpu = (uint)Arch.Smp.CurrentIndex;
            if (a->A0 != 0 && new UserPtr(a->A0).CopyOut(&cpu, 4) != 0) return Errno.EFAULT;
            if (a->A1 != 0 && new UserPtr(a->A1).CopyOut(&zero, 4) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// membarrier(2): every other CPU running user code takes an interrupt (the TLB
        /// shoot-down's handshake, which serialises it) before the call returns.
        public static SysResult Membarrier(SyscallArgs* a)
        {
            int cmd = (int)a->A0;
            if (a->A1 != 0) return Errno.EINVAL;                 // flags: only for RSEQ commands, which we do not offer
            switch (cmd)
            {
                case 0: return 1 | 8 | 16 | 32 | 64;            // QUERY: GLOBAL, PRIVATE_EXPEDITED (+REGISTER), SYNC_CORE
                case 1: case 8: case 32: Arch.Smp.ShootdownPending = true; return SysResult.Ok;
                case 16: case 64: return SysResult.Ok;
                default: return Errno.EINVAL;
            }
        }

        static string _threadName;

        /// prctl(2)
        public static SysResult Prctl(SyscallArgs* a)
        {
            const int PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4,
                PR_SET_NAME = 15, PR_GET_NAME = 16, PR_GET_SECCOMP = 21, PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39,
                PR_SET_TIMERSLACK = 29, PR_GET_TIMERSLACK = 30, PR_SET_CHILD_SUBREAPER = 36, PR_GET_CHILD_SUBREAPER = 37,
                PR_GET_KEEPCAPS = 7, PR_SET_KEEPCAPS = 8, PR_CAPBSET_READ = 23, PR_CAPBSET_DROP = 24;
            const ulong CapLast = 40;
            switch ((int)a->A0)
            {
                case PR_GET_KEEPCAPS: return Cur.KeepCaps ? 1 : 0;
                case PR_SET_KEEPCAPS: if (a->A1 > 1) return Errno.EINVAL; Cur.KeepCaps = a->A1 == 1; return SysResult.Ok;
                case PR_CAPBSET_READ: if (a->A1 > CapLast) return Errno.EINVAL; return (Cur.CapBounding >> (int)a->A1 & 1) != 0 ? 1 : 0;
                case PR_CAPBSET_DROP:
                    if (!Capable(Kernel.Sched.Capabilities.CAP_SETPCAP)) return Errno.EPERM;
                    if (a->A1 > CapLast) return Errno.EINVAL;
                    Cur.CapBounding &= ~(1UL << (int)a->A1);
                    return SysResult.Ok;
                case PR_SET_PDEATHSIG: if (a->A1 > 64) return Errno.EINVAL; Cur.DeathSignal = (int)a->A1; return SysResult.Ok;
                case PR_GET_PDEATHSIG: { int s = Cur.DeathSignal; return new UserPtr(a->A1).CopyOut(&s, 4) == 0 ? SysResult.Ok : Errno.EFAULT; }
                case PR_GET_DUMPABLE: return Cur.Dumpable;
                case PR_SET_DUMPABLE: if (a->A1 > 1) return Errno.EINVAL; Cur.Dumpable = (int)a->A1; return SysResult.Ok;
                case PR_SET_NAME:
                    {
                        byte* name = stackalloc byte[16];
                        for (int i = 0; i < 16; i++) name[i] = 0;
                        // Range first: the string is only measured inside the user half.
                        if (a->A1 >= AddressSpace.UserLimit) return Errno.EFAULT;
                        ulong max = AddressSpace.UserLimit - a->A1 < 15 ? AddressSpace.UserLimit - a->A1 : 15;
                        long n = UserCopy.StrNLen((void*)a->A1, max);
                        if (n < 0) return Errno.EFAULT;
                        if (new UserPtr(a->A1).CopyIn(name, (ulong)n) != 0) return Errno.EFAULT;
                        for (int i = 0; i < 16; i++) Me.Name[i] = name[i];
                        return SysResult.Ok;
                    }
                case PR_GET_NAME:
                    {
                        byte* name = stackalloc byte[16];
                        for (int i = 0; i < 16; i++) name[i] = Me.Name[i];
                        return new UserPtr(a->A1).CopyOut(name, 16) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
                case PR_GET_SECCOMP: return SysResult.Ok;
                case PR_SET_NO_NEW_PRIVS: if (a->A1 != 1 || a->A2 != 0 || a->A3 != 0 || a->A4 != 0) return Errno.EINVAL; Cur.NoNewPrivs = true; return SysResult.Ok;
                case PR_GET_NO_NEW_PRIVS: if (a->A1 != 0 || a->A2 != 0 || a->A3 != 0 || a->A4 != 0) return Errno.EINVAL; return Cur.NoNewPrivs ? 1 : 0;
                case PR_SET_TIMERSLACK: Me.TimerSlackNs = a->A1 == 0 ? 50000 : a->A1; return SysResult.Ok;
                case PR_GET_TIMERSLACK: return (long)Me.TimerSlackNs;
                case PR_SET_CHILD_SUBREAPER: Cur.ChildSubreaper = a->A1 != 0; return SysResult.Ok;
                case PR_GET_CHILD_SUBREAPER: { int v = Cur.ChildSubreaper ? 1 : 0; return new UserPtr(a->A1).CopyOut(&v, 4) == 0 ? SysResult.Ok : Errno.EFAULT; }
                default: return Errno.EINVAL;
            }
        }

        /// sched_getscheduler(2): the recorded policy (all run round-robin here).
        public static SysResult SchedGetscheduler(SyscallArgs* a)
        {
            if ((int)a->A0 < 0) return Errno.EINVAL;
            Thread t = a->A0 == 0 ? Me : Scheduler.Find((int)a->A0);
            return t == null ? Errno.ESRCH : t.Policy;
        }

        /// sched_rr_get_interval(2): the scheduler's time slice, which every thread gets here.
        public static SysResult SchedRrGetInterval(SyscallArgs* a)
        {
            if ((int)a->A0 < 0) return Errno.EINVAL;
            if (!FindTask(a->A0)) return Errno.ESRCH;
            long* ts = stackalloc long[2];
            ts[0] = (long)(Scheduler.SliceNs / 1000000000);
            ts[1] = (long)(Scheduler.SliceNs % 1000000000);
            return new UserPtr(a->A1).CopyOut(ts, 16) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// sched_setparam(2): only priority 0 is valid for the normal policies.
        public static SysResult SchedSetparam(SyscallArgs* a)
        {
            if ((int)a->A0 < 0 || a->A1 == 0) return Errno.EINVAL;
            Thread t = a->A0 == 0 ? Me : Scheduler.Find((int)a->A0);
            if (t == null) return Errno.ESRCH;
            int prio;
            if (new UserPtr(a->A1).CopyIn(&prio, 4) != 0) return Errno.EFAULT;
            return prio == 0 ? SysResult.Ok : Errno.EINVAL;
        }

        /// sched_setscheduler(2)
        public static SysResult SchedSetscheduler(SyscallArgs* a)
        {
            if ((int)a->A0 < 0 || a->A2 == 0) return Errno.EINVAL;
            Thread t = a->A0 == 0 ? Me : Scheduler.Find((int)a->A0);
            if (t == null) return Errno.ESRCH;
            int prio;
            if (new UserPtr(a->A2).CopyIn(&prio, 4) != 0) return Errno.EFAULT;
            int policy = (int)a->A1 & ~0x40000000;                 // SCHED_RESET_ON_FORK
            if (policy == 0 || policy == 3 || policy == 5)
            {
                if (prio != 0) return Errno.EINVAL;
                t.Policy = policy;
                return SysResult.Ok;
            }
            if (policy == 1 || policy == 2) return prio < 1 || prio > 99 ? Errno.EINVAL : Errno.EPERM;   // real-time: refused, like an unprivileged Linux
            return Errno.EINVAL;
        }

        /// sched_getparam(2)
        public static SysResult SchedGetparam(SyscallArgs* a)
        {
            if ((long)a->A0 < 0 || a->A1 == 0) return Errno.EINVAL;
            if (!FindTask(a->A0)) return Errno.ESRCH;
            int zero = 0;
            return new UserPtr(a->A1).CopyOut(&zero, 4) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// sched_get_priority_max(2)
        public static SysResult SchedPriorityMax(SyscallArgs* a) => a->A0 == 1 || a->A0 == 2 ? 99 : a->A0 == 0 || a->A0 == 3 || a->A0 == 5 || a->A0 == 6 ? SysResult.Ok : Errno.EINVAL;
        /// sched_get_priority_min(2)
        public static SysResult SchedPriorityMin(SyscallArgs* a) => a->A0 == 1 || a->A0 == 2 ? 1 : a->A0 == 0 || a->A0 == 3 || a->A0 == 5 || a->A0 == 6 ? SysResult.Ok : Errno.EINVAL;

        static bool FindTask(ulong id) => id == 0 || Scheduler.Find((int)id) != null;

        /// getpriority(2): returns 20 - nice, as the raw syscall does.
        public static SysResult Getpriority(SyscallArgs* a)
        {
            if (a->A0 > 2) return Errno.EINVAL;
            if (a->A0 == 0 && !FindTask(a->A1)) return Errno.ESRCH;
            if (a->A0 != 0 && a->A1 != 0 && a->A1 != 1 && a->A1 != 0) return Errno.ESRCH;
            return 20 - Cur.Nice;
        }

        /// setpriority(2)
        public static SysResult Setpriority(SyscallArgs* a)
        {
            if (a->A0 > 2) return Errno.EINVAL;
            if (a->A0 == 0 && !FindTask(a->A1)) return Errno.ESRCH;
            int nice = (int)a->A2;
            if (nice < -20) nice = -20;
            if (nice > 19) nice = 19;
            Cur.Nice = nice;                                      // recorded; one CPU, round-robin
            return SysResult.Ok;
        }
    }
}
