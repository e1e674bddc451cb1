using Kernel.Arch;
using Kernel.Console;
using Kernel.Memory;
using Kernel.Time;

namespace Kernel
{
    /// Kernel self-tests selected by `test=NAME` on the command line, for the boot tests
    /// (tests/BootTests). Each logs what it checked and powers off with a status.
    public static unsafe partial class SelfTest
    {
        public static void Run(BootOptions o)
        {
            if (o.Test == null) return;
            if (o.TestIs("page-fault")) PageFault();
            else if (o.TestIs("divide-error")) DivideError();
            else if (o.TestIs("throw")) Throw();
            else if (o.TestIs("basics")) Basics();
            else if (o.TestIs("kthreads")) KernelThreads();
            else if (o.TestIs("gc")) Gc();
            else if (o.TestIs("gc-bench")) GcBench();
            else if (o.TestIs("virtio")) VirtioDevices();
            else if (o.TestIs("address-space")) AddressSpaceTeardown();
            else if (o.TestIs("syscall-table")) { Syscalls.SyscallTable.DumpBound(); Power.Exit(0); }
            else { Log.Error("unknown self-test"); Power.Exit(3); }
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void PageFault()
        {
            Log.Info("self-test: touching an unmapped address");
            int* p = (int*)_badAddress;
            *p = 1;
        }

        static int _zero;
        static ulong _badAddress = 0x1234;
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void DivideError()
        {
            Log.Info("self-test: dividing by zero");
            int r = DivideBy(7, _zero);
            Log.Info("not reached ", r);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static int DivideBy(int a, int b) => a / b;   // JIT emits idiv; b == 0 raises #DE

        static void Throw()
        {
            Log.Info("self-test: an index out of range");
            var span = new System.Span<byte>(null, 0);
            int i = 3;
            span[i] = 1;
        }

        /// Allocator, heap, clock and timer behave; exits 0 when all hold, else 1.
        static void Basics()
        {
            bool ok = true;
            ulong before = Heap.BytesInUse;
            void* a = Heap.Alloc(24), b = Heap.Alloc(24), big = Heap.Alloc(20000);
            ok &= Check(a != b, "heap returns distinct blocks");
            ok &= Check(Heap.BytesInUse == before + 32 + 32 + 20480, "heap accounts bytes in use");
            Heap.Free(a, 24); Heap.Free(b, 24); Heap.Free(big, 20000);
            ok &= Check(Heap.BytesInUse == before, "heap frees everything");
            ok &= Check(Heap.Alloc(24) == b, "freed block is reused");
            var arr = new int[100];
            arr[99] = 5;
            ok &= Check(arr.Length == 100 && arr[99] == 5, "managed arrays");
            object boxed = 42;
            ok &= Check(boxed is int x && x == 42, "boxing and unboxing");
            ulong t0 = Clock.MonotonicNs();
            Cpu.EnableInterrupts();
            ulong ticks = Timer.Ticks;
            // Over 25 ticks, so that late ticks QEMU delivers back to back on a busy host
            // average out. Ticks cannot come much faster than the period (the lower bound
            // catches a timer calibrated too fast); a host that deschedules QEMU drops periods
            // (TCG does not replay them all), so the upper bound only catches a gross error.
            while (Timer.Ticks < ticks + 25) Cpu.Halt();
            Cpu.DisableInterrupts();
            ulong dt = Clock.MonotonicNs() - t0;
            ulong expect = 25 * 1000000000UL / Timer.Hz;
            ok &= Check(dt >= expect / 2 && dt <= expect * 10, "25 timer ticks take about 25 periods");
            // Calls through an interface the compiler cannot devirtualise: the receiver's type
            // depends on the timer.
            IThing[] things = { new Thing(), new OtherThing(), new ThirdThing(), new FourthThing() };
            int sum = 0;
            for (int i = 0; i < 8; i++) sum += things[(int)((Timer.Ticks + (ulong)i) & 3)].Value();
            ok &= Check(sum == 2 * (7 + 9 + 11 + 13), "interface dispatch");
            object o = things[(int)(Timer.Ticks & 1)];
            ok &= Check(o is IThing && !(o is string), "interface casts");
            Log.Info(ok ? "self-test basics: PASS" : "self-test basics: FAIL");
            Power.Exit(ok ? (byte)0 : (byte)1);
        }

        static int _kcounter;
        static Sched.WaitQueue _kwait;

        static void Worker(ulong rounds)
        {
            for (ulong i = 0; i < rounds; i++)
            {
                _kcounter++;
                _kwait.WakeAll();
                Sched.Scheduler.Yield();
            }
        }

        /// Kernel threads: two workers interleave with the boot thread through a wait queue
        /// and end when their function returns. Exits 0 when it all holds.
        static void KernelThreads()
        {
            var boot = new Sched.Thread(null, 0) { IsKernel = true };
            Sched.Scheduler.Init(boot);
            _kwait = new Sched.WaitQueue();
            var a = Sched.Scheduler.StartKernelThread(&Worker, 5);
            var b = Sched.Scheduler.StartKernelThread(&Worker, 7);
            while (_kcounter < 12) _kwait.Wait();
            Sched.Scheduler.Yield();                      // let both finish returning
            Sched.Scheduler.Yield();
            bool ok = Check(_kcounter == 12, "two kernel threads ran their rounds");
            ok &= Check(a.State == Sched.ThreadState.Dead && b.State == Sched.ThreadState.Dead, "kernel threads end when their function returns");
            Log.Info(ok ? "self-test kthreads: PASS" : "self-test kthreads: FAIL");
            Power.Exit(ok ? (byte)0 : (byte)1);
        }

        /// An address space with anonymous pages, a page that faulted in and the vDSO, torn
        /// down: every frame it took comes back. Exits 0 when it holds, else 1.
        static void AddressSpaceTeardown()
        {
            bool ok = true;
            Vdso.VdsoImage.Map(new Proc.UserMemory());      // the shared vvar page, allocated once
            // Managed objects come from the heap, which takes frames too: create them first.
            var m = new Proc.UserMemory();
            const ulong Base = 0x0000100000000000;
            m.AddVma(Base, Base + 64 * 4096, Proc.UserMemory.ProtRead | Proc.UserMemory.ProtWrite, VmaKind.Anonymous);
            ulong before = PhysicalMemory.FreeBytes;
            for (ulong p = 0; p < 64; p += 3) ok &= Check(m.HandleFault(Base + p * 4096, true, false), "a page faults in");
            ok &= Check(m.HandleFault(Base + 0x40000000, true, false) == false, "outside every VMA no page faults in");
            ok &= Check(Vdso.VdsoImage.Map(m) != 0, "the vDSO maps");
            ok &= Check(PhysicalMemory.FreeBytes < before, "the space took frames");
            m.Destroy();
            ok &= Check(PhysicalMemory.FreeBytes == before + PhysicalMemory.PageSize, "tearing it down gives every frame back, its PML4 too");
            Log.Info(ok ? "self-test address-space: PASS" : "self-test address-space: FAIL");
            Power.Exit(ok ? (byte)0 : (byte)1);
        }

        interface IThing { int Value(); }
        sealed class Thing : IThing { public int Value() => 7; }
        sealed class OtherThing : IThing { public int Value() => 9; }
        class ThirdThing : IThing { public virtual int Value() => 11; }
        sealed class FourthThing : ThirdThing { public override int Value() => 13; }

        static bool Check(bool cond, string what)
        {
            var level = cond ? LogLevel.Info : LogLevel.Error;
            if (!Log.Enabled(level)) return cond;
            var w = Log.Begin(level, stackalloc byte[160]);
            w.Str(cond ? "ok: " : "FAILED: "); w.Str(what);
            Log.End(ref w);
            return cond;
        }
    }
}
