using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernel.Console;
using Kernel.Memory;
using Kernel.Time;

namespace Kernel.Arch
{
    /// One CPU's own data, reached through GS in kernel mode (smp.S's offsets).
    [StructLayout(LayoutKind.Sequential)]
    public struct PerCpu
    {
        public ulong Self;              // 0: this block's address
        public ulong UserRsp;           // 8: syscall_entry's scratch
        public ulong KernelRsp;         // 16: the current thread's kernel stack top (syscall entry)
        public uint Index;              // 24: 0 for the boot CPU
        public uint InUser;             // 28: runs (or is about to run) user code, without the lock
        public uint FlushPending;       // 32: owes a TLB flush (a shoot-down)
        public uint ApicId;             // 36
        public ulong LockWaitTicks;     // 40: TSC ticks spent waiting for the big kernel lock
        public ulong LockAcquires;      // 48
        public ulong LockContended;     // 56: acquisitions that had to wait
        public ulong Tss;               // 64: this CPU's TSS
        public uint Idle;               // 72: halted in the idle loop
        public uint WakePending;        // 76: a wake IPI ended an idle halt that did not take the lock
        public ulong QuietWakes;        // 80: idle halts ended by an interrupt and resumed without the lock
        public ulong QuietTicks;        // 88: ticks from user mode answered without the lock
    }

    /// Several CPUs (docs/smp.md): finding them (ACPI MADT, else the MP table), starting the
    /// application processors (INIT-SIPI-SIPI into a real-mode trampoline), the big kernel
    /// lock every entry into the kernel takes, and TLB shoot-downs.
    public static unsafe class Smp
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "percpu_self")] static extern PerCpu* Self();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "percpu_index")] static extern int Index();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "bkl_acquire")] static extern void Acquire();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "bkl_enter")] static extern void EnterFromUser();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "bkl_release")] static extern void Release();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "bkl_release_to_user")] static extern void ReleaseToUser();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "bkl_owner_value")] static extern int Owner();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "smp_xchg_one")] static extern void SetOne(uint* p);
        // Loads and stores the compiler may not cache or reorder (another CPU writes these words).
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "smp_load32")] static extern uint Load(uint* p);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "smp_store32")] static extern void Store(uint* p, uint value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "ap_boot_vars")] static extern void BootVars(ulong* output);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "ap_trampoline_bounds")] static extern void TrampolineBounds(ulong* output);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "ap_tramp_boot_pml4")] static extern ulong BootPml4();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "ap_tramp_cr3_offset")] static extern ulong TrampolineCr3Offset();

        public const int MaxCpus = 64;
        public const int WakeVector = 0xf1, TlbVector = 0xf2;
        const ulong TrampolinePhys = 0x8000;

        /// CPUs running (1 until StartAll).
        public static int Count = 1;
        static readonly ulong[] _blocks = new ulong[MaxCpus];
        static ulong _star, _lstar, _fmask, _cr4;
        /// Set by a page-table change that another CPU's TLB may still cache (AddressSpace):
        /// the other CPUs flush before the lock is given up.
        public static bool ShootdownPending;
        public static ulong Shootdowns;
        /// Where an application processor goes once set up, holding the lock: the scheduler's
        /// idle loop (installed by Kmain). Never returns.
        public static delegate*<int, void> OnCpuOnline;
        /// Called on the boot CPU before CPU `index` starts (the scheduler makes its idle thread).
        public static delegate*<int, void> OnCpuPrepare;

        public static PerCpu* Current => Self();
        public static int CurrentIndex => Index();
        public static PerCpu* Block(int i) => (PerCpu*)_blocks[i];

        /// The boot CPU's block (boot.S pointed GS at it): numbered 0, with its APIC id.
        public static void InitBsp()
        {
            PerCpu* p = Self();
            p->Index = 0;
            _blocks[0] = (ulong)p;
        }

        /// Whether this CPU holds the big kernel lock.
        public static bool HoldsLock => Owner() == Index() + 1;

        /// Takes the lock on an entry into the kernel (from user mode: also marks the CPU as
        /// no longer running user code).
        public static void EnterKernel(bool fromUser)
        {
            if (fromUser) EnterFromUser(); else Acquire();
        }

        /// An entry from user mode for `reason` (a system call's number, or ReasonVector + an
        /// interrupt or exception vector): takes the lock like EnterKernel(true) and charges
        /// any wait for it to that reason (the debug log's "bkl: waited for" lines say which
        /// entries the lock slows down).
        public static void EnterFromUserFor(int reason)
        {
            ulong w0 = Self()->LockWaitTicks;
            EnterFromUser();
            Charge(reason, w0);
        }

        /// Takes the lock in an idle CPU (its halt ended: an interrupt, or the idle loop
        /// going on), charging any wait to ReasonIdle.
        public static void EnterFromIdle()
        {
            ulong w0 = Self()->LockWaitTicks;
            Acquire();
            Charge(ReasonIdle, w0);
        }

        static void Charge(int reason, ulong w0)
        {
            ulong d = Self()->LockWaitTicks - w0;
            if (d != 0 && (uint)reason < (uint)ReasonSlots) { _reasonWaitTicks[reason] += d; _reasonWaits[reason]++; }
        }

        public const int ReasonVector = 512, ReasonIdle = ReasonVector + 256;
        const int ReasonSlots = ReasonIdle + 1;
        static readonly ulong[] _reasonWaitTicks = new ulong[ReasonSlots];
        static readonly ulong[] _reasonWaits = new ulong[ReasonSlots];

        /// Gives the lock up on the way back to user mode, after any TLB shoot-down it owes.
        public static void ReturnToUser()
        {
            if (ShootdownPending) Shootdown();
            ReleaseToUser();
        }

        /// Gives the lock up to return to kernel code that ran without it (the idle halt).
        public static void LeaveKernel()
        {
            if (ShootdownPending) Shootdown();
            Release();
        }

        /// Halts until there may be work, without the lock (the idle loop): the lock is given
        /// up just before `sti; hlt` and taken again once a wake IPI came (WakePending), or
        /// `mayHaveWork(cpu)` says so (it reads words other CPUs write under the lock; a
        /// stale answer costs one more halt, never a lost thread: a CPU that queues work for
        /// this one sees Idle set and sends the IPI). The boot CPU takes the lock at every
        /// interrupt, as it does the tick's global work; the others' ticks and wake IPIs
        /// are answered without it (AnswerWithoutLock), so an idle CPU no longer takes the lock
        /// twice per tick (docs/smp.md, "Where the lock matters").
        public static void IdleHalt(delegate*<int, bool> mayHaveWork)
        {
            PerCpu* me = Self();
            // Marked idle before the lock goes: a CPU that then makes a thread runnable sees
            // it and sends the wake IPI, which stays pending until `sti; hlt` and ends the halt.
            Store(&me->Idle, 1);
            LeaveKernel();
            int cpu = (int)me->Index;
            while (true)
            {
                Cpu.Halt();
                Cpu.DisableInterrupts();
                if (cpu == 0 || Load(&me->WakePending) != 0 || mayHaveWork(cpu)) break;
                me->QuietWakes++;
            }
            Store(&me->WakePending, 0);
            Store(&me->Idle, 0);
            EnterFromIdle();
        }

        /// Answers an interrupt without the lock when it needs nothing of the kernel (docs/smp.md,
        /// "Where the lock matters"): the wake IPI that ends an idle halt (noted for IdleHalt),
        /// and a tick on a CPU other than the boot CPU (whose tick does the global work:
        /// sleepers' deadlines, itimers) that ends an idle halt or, from user mode, finds
        /// nothing to do (`quietUserTick`). True if it was answered.
        public static bool AnswerWithoutLock(ulong vector, bool fromUser, delegate*<int, bool> quietUserTick)
        {
            PerCpu* me = Self();
            bool idle = !fromUser && Load(&me->Idle) != 0 && !HoldsLock;
            if (idle && vector == WakeVector) { Store(&me->WakePending, 1); Timer.EndOfInterrupt(); return true; }
            if (vector != Interrupts.TimerVector || me->Index == 0) return false;
            if (!idle)
            {
                if (!fromUser || quietUserTick == null || !quietUserTick((int)me->Index)) return false;
                me->QuietTicks++;
            }
            Timer.EndOfInterrupt();
            return true;
        }

        /// Wakes CPU `i` if it is halted (a thread bound to it became runnable).
        public static void Kick(int i)
        {
            if (i == Index() || i >= Count) return;
            PerCpu* c = Block(i);
            if (Load(&c->Idle) != 0) Timer.SendIpi(c->ApicId, WakeVector);
        }

        /// Interrupts CPU `i` (it is halted, or runs a thread that must enter the kernel).
        public static void SendWake(int i) => Timer.SendIpi(Block(i)->ApicId, WakeVector);

        /// Every other CPU that runs user code flushes its TLB before this returns; the rest
        /// flush when they next take the lock. Called with the lock held.
        static void Shootdown()
        {
            ShootdownPending = false;
            if (Count == 1) return;
            Shootdowns++;
            int me = Index();
            for (int i = 0; i < Count; i++)
            {
                if (i == me) continue;
                PerCpu* c = Block(i);
                SetOne(&c->FlushPending);
                if (Load(&c->InUser) != 0) Timer.SendIpi(c->ApicId, TlbVector);
            }
            for (int i = 0; i < Count; i++)
            {
                if (i == me) continue;
                PerCpu* c = Block(i);
                // A CPU in the kernel (waiting for the lock, or idle) flushes when it takes it.
                while (Load(&c->InUser) != 0 && Load(&c->FlushPending) != 0) Cpu.Pause();
            }
        }

        public static void OnTlbInterrupt()
        {
            PerCpu* me = Self();
            Cpu.FlushTlb();
            Store(&me->FlushPending, 0);
            Timer.EndOfInterrupt();
        }

        static InterruptFrame* OnWake(InterruptFrame* f)
        {
            Timer.EndOfInterrupt();
            return f;
        }

        /// Finds the CPUs and starts every application processor (`wanted` at most). The
        /// caller holds the lock: they spin on it until the boot CPU gives it up.
        public static void StartAll(ulong rsdpPhys, int wanted)
        {
            PerCpu* bsp = Self();
            bsp->ApicId = Timer.LocalApicId;
            if (Interrupts.IrqHandlers[WakeVector] == null) Interrupts.IrqHandlers[WakeVector] = &OnWake;
            uint* ids = stackalloc uint[MaxCpus];
            int n = FindFromMadt(rsdpPhys, ids);
            bool madt = n > 0;
            if (n == 0) n = FindFromMpTable(ids);
            var w = Log.Begin(LogLevel.Debug, stackalloc byte[96]);
            w.Str("smp: "); w.Dec(n); w.Str(madt ? " CPUs in the MADT" : " CPUs in the MP table");
            if (Log.Enabled(LogLevel.Debug)) Log.End(ref w);
            if (n <= 1 || wanted <= 1) return;

            _star = Cpu.Rdmsr(0xC0000081); _lstar = Cpu.Rdmsr(0xC0000082); _fmask = Cpu.Rdmsr(0xC0000084);
            _cr4 = Cpu.ReadCr4();
            ulong* tb = stackalloc ulong[2];
            TrampolineBounds(tb);
            byte* dst = (byte*)PhysicalMemory.ToVirtual(TrampolinePhys);
            Mem.Copy(dst, (byte*)tb[0], tb[1] - tb[0]);
            *(ulong*)(dst + TrampolineCr3Offset()) = BootPml4();
            ulong* vars = stackalloc ulong[4];
            BootVars(vars);

            for (int k = 0; k < n && Count < wanted && Count < MaxCpus; k++)
            {
                if (ids[k] == bsp->ApicId) continue;
                var block = (PerCpu*)Heap.AllocZeroed(256);
                block->Self = (ulong)block;
                block->Index = (uint)Count;
                block->ApicId = ids[k];
                OnCpuPrepare(Count);
                *(ulong*)vars[0] = Cpu.ReadCr3();
                *(ulong*)vars[1] = KernelStacks.Allocate(16);
                *(ulong*)vars[2] = (ulong)block;
                Store((uint*)vars[3], 0);
                Timer.SendIpi(ids[k], 0xc500);                       // INIT, level assert
                Delay(10000);
                Timer.SendIpi(ids[k], 0x8500);                       // INIT de-assert
                for (int attempt = 0; attempt < 2 && Load((uint*)vars[3]) == 0; attempt++)
                {
                    Timer.SendIpi(ids[k], 0x4600 | (uint)(TrampolinePhys >> 12));   // STARTUP
                    ulong until = Clock.MonotonicNs() + 200000000;                // up to 200 ms
                    while (Load((uint*)vars[3]) == 0 && Clock.MonotonicNs() < until) Cpu.Pause();
                }
                if (Load((uint*)vars[3]) == 0)
                {
                    Log.Warn("smp: a CPU did not start, APIC id ", (long)ids[k]);
                    continue;
                }
                _blocks[Count] = (ulong)block;
                Count++;
            }
            w = Log.Begin(LogLevel.Debug, stackalloc byte[96]);
            w.Str("smp: "); w.Dec(Count); w.Str(" CPUs running");
            if (Log.Enabled(LogLevel.Debug)) Log.End(ref w);
        }

        static void Delay(ulong us)
        {
            ulong until = Clock.MonotonicNs() + us * 1000;
            while (Clock.MonotonicNs() < until) Cpu.Pause();
        }

        /// An application processor, in long mode on its own stack with GS set and the lock
        /// held (smp.S): its GDT, TSS, IDT, system-call MSRs and local APIC, then the idle loop.
        [UnmanagedCallersOnly(EntryPoint = "uk_ap_main")]
        static void ApMain()
        {
            PerCpu* me = Self();
            me->LockWaitTicks = 0; me->LockContended = 0; me->LockAcquires = 1;   // not the wait for the boot to finish
            Gdt.Init();
            Interrupts.LoadThisCpu();
            Cpu.WriteCr4(_cr4);
            Cpu.Wrmsr(0xC0000081, _star);
            Cpu.Wrmsr(0xC0000082, _lstar);
            Cpu.Wrmsr(0xC0000084, _fmask);
            Cpu.Wrmsr(0xC0000102, 0);
            Timer.InitThisCpu();
            OnCpuOnline(Index());
            Panic.Halt("smp: the idle loop returned");
        }

        /// The time every CPU spent waiting for the big kernel lock, for the debug log at exit.
        public static void Report()
        {
            if (!Log.Enabled(LogLevel.Debug)) return;
            for (int i = 0; i < Count; i++)
            {
                PerCpu* c = Block(i);
                var w = Log.Begin(LogLevel.Debug, stackalloc byte[160]);
                w.Str("bkl: cpu "); w.Dec(i); w.Str(": "); w.Udec(c->LockAcquires); w.Str(" acquisitions, ");
                w.Udec(c->LockContended); w.Str(" contended, waited "); w.Udec(Clock.TicksToNs(c->LockWaitTicks) / 1000); w.Str(" us");
                Log.End(ref w);
            }
            if (Count > 1)
            {
                Log.Debug("bkl: TLB shoot-downs ", (long)Shootdowns);
                ulong quiet = 0, ticks = 0;
                for (int i = 0; i < Count; i++) { quiet += Block(i)->QuietWakes; ticks += Block(i)->QuietTicks; }
                Log.Debug("bkl: idle wake-ups answered without the lock ", (long)quiet);
                Log.Debug("bkl: ticks from user mode answered without the lock ", (long)ticks);
            }
            // The entries that waited longest, longest first (at most 8).
            ulong total = 0;
            for (int r = 0; r < ReasonSlots; r++) total += _reasonWaitTicks[r];
            ulong above = ulong.MaxValue;
            for (int k = 0; k < 8; k++)
            {
                int best = -1;
                for (int r = 0; r < ReasonSlots; r++)
                    if (_reasonWaitTicks[r] != 0 && _reasonWaitTicks[r] < above && (best < 0 || _reasonWaitTicks[r] > _reasonWaitTicks[best])) best = r;
                if (best < 0) break;
                above = _reasonWaitTicks[best];
                var w = Log.Begin(LogLevel.Debug, stackalloc byte[160]);
                w.Str("bkl: waited for ");
                if (best < ReasonVector) { w.Str("syscall "); w.Dec(best); }
                else if (best == ReasonVector + 14) w.Str("page fault");
                else if (best == ReasonVector + Interrupts.TimerVector) w.Str("timer");
                else if (best == ReasonVector + WakeVector) w.Str("wake IPI");
                else if (best == ReasonIdle) w.Str("an idle CPU (to run what was queued for it, or look)");
                else { w.Str("vector "); w.Dec(best - ReasonVector); }
                w.Str(": "); w.Udec(_reasonWaits[best]); w.Str(" times, "); w.Udec(Clock.TicksToNs(_reasonWaitTicks[best]) / 1000);
                w.Str(" us ("); w.Udec(_reasonWaitTicks[best] * 100 / total); w.Str("% of the entries' wait)");
                Log.End(ref w);
            }
        }

        static uint Sum(byte* p, uint len)
        {
            uint s = 0;
            for (uint i = 0; i < len; i++) s += p[i];
            return s & 0xff;
        }

        /// Local APIC ids of the enabled processors in the MADT; 0 when there is none.
        static int FindFromMadt(ulong rsdpPhys, uint* ids)
        {
            if (rsdpPhys == 0) return 0;
            byte* rsdp = (byte*)KernelPaging.MapDevice(rsdpPhys, 36);
            if (rsdp[0] != 'R' || rsdp[1] != 'S' || rsdp[2] != 'D' || rsdp[3] != ' ') return 0;
            bool x = rsdp[15] >= 2 && *(ulong*)(rsdp + 24) != 0;
            ulong rootPhys = x ? *(ulong*)(rsdp + 24) : *(uint*)(rsdp + 16);
            byte* root = (byte*)KernelPaging.MapDevice(rootPhys, 36);
            uint rootLen = *(uint*)(root + 4);
            if (rootLen < 36 || rootLen > 65536) return 0;
            root = (byte*)KernelPaging.MapDevice(rootPhys, rootLen);
            int entry = x ? 8 : 4;
            for (uint off = 36; off + (uint)entry <= rootLen; off += (uint)entry)
            {
                ulong tPhys = x ? *(ulong*)(root + off) : *(uint*)(root + off);
                byte* t = (byte*)KernelPaging.MapDevice(tPhys, 36);
                if (t[0] != 'A' || t[1] != 'P' || t[2] != 'I' || t[3] != 'C') continue;
                uint len = *(uint*)(t + 4);
                if (len < 44 || len > (1u << 20)) return 0;
                t = (byte*)KernelPaging.MapDevice(tPhys, len);
                int n = 0;
                for (uint p = 44; p + 2 <= len && n < MaxCpus;)
                {
                    byte type = t[p], l = t[p + 1];
                    if (l < 2) break;
                    if (type == 0 && l >= 8 && (*(uint*)(t + p + 4) & 1) != 0) ids[n++] = t[p + 3];       // processor local APIC, enabled
                    else if (type == 9 && l >= 16 && (*(uint*)(t + p + 8) & 1) != 0) ids[n++] = *(uint*)(t + p + 4);   // local x2APIC
                    p += l;
                }
                return n;
            }
            return 0;
        }

        /// The MP table's enabled processors (Intel MP spec 1.4): the floating pointer "_MP_"
        /// in the EBDA's first KiB, the last KiB of base memory, or 0xf0000-0xfffff.
        static int FindFromMpTable(uint* ids)
        {
            ulong ebda = (ulong)*(ushort*)PhysicalMemory.ToVirtual(0x40e) << 4;
            byte* fp = null;
            if (ebda != 0) fp = ScanMp(ebda, 1024);
            if (fp == null) fp = ScanMp(0x9fc00, 1024);
            if (fp == null) fp = ScanMp(0xf0000, 0x10000);
            if (fp == null) return 0;
            uint cfgPhys = *(uint*)(fp + 4);
            if (cfgPhys == 0) return 0;
            byte* cfg = (byte*)PhysicalMemory.ToVirtual(cfgPhys);
            if (cfg[0] != 'P' || cfg[1] != 'C' || cfg[2] != 'M' || cfg[3] != 'P') return 0;
            ushort count = *(ushort*)(cfg + 34);
            byte* e = cfg + 44;
            int n = 0;
            for (int i = 0; i < count && n < MaxCpus; i++)
            {
                if (e[0] == 0) { if ((e[3] & 1) != 0) ids[n++] = e[1]; e += 20; }
                else if (e[0] <= 4) e += 8;
                else break;
            }
            return n;
        }

        static byte* ScanMp(ulong phys, ulong len)
        {
            byte* p = (byte*)PhysicalMemory.ToVirtual(phys);
            for (ulong i = 0; i + 16 <= len; i += 16)
                if (p[i] == '_' && p[i + 1] == 'M' && p[i + 2] == 'P' && p[i + 3] == '_' && Sum(p + i, 16) == 0) return p + i;
            return null;
        }
    }
}
