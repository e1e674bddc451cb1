using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernel.Console;
using Kernel.Memory;

namespace Kernel.Arch
{
    /// Saved state at every kernel entry (isr.S, syscall.S), lowest address first.
    [StructLayout(LayoutKind.Sequential)]
    public struct InterruptFrame
    {
        public ulong R15, R14, R13, R12, R11, R10, R9, R8, Rbp, Rdi, Rsi, Rdx, Rcx, Rbx, Rax;
        public ulong Vector, Error;
        public ulong Rip, Cs, Rflags, Rsp, Ss;

        public bool FromUser => (Cs & 3) == 3;
    }

    /// The IDT and the first-level dispatch of every vector.
    public static unsafe class Interrupts
    {
        public const int TimerVector = 0x20, SpuriousVector = 0xff;
        public const ulong SyscallVector = 0x100;

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "isr_stub_table_addr")]
        static extern ulong* StubTable();

        static ulong* _idt;

        /// Handler for hardware interrupts by vector; returns the frame to resume.
        public static delegate*<InterruptFrame*, InterruptFrame*>[] IrqHandlers;
        /// Handler for faults taken in user mode (signals); set by the process layer.
        public static delegate*<InterruptFrame*, InterruptFrame*> UserFaultHandler;
        /// Demand paging of program memory touched by kernel code (copy-in/out).
        public static delegate*<ulong, bool, bool> DemandPage;
        /// Handler for system calls.
        public static delegate*<InterruptFrame*, InterruptFrame*> SyscallHandler;
        /// Whether a tick from user mode on this CPU (not the boot CPU) has nothing to do
        /// under the lock (kernel/sched/Scheduler.cs): then it is answered without it.
        public static delegate*<int, bool> QuietUserTick;

        public static void Init()
        {
            IrqHandlers = new delegate*<InterruptFrame*, InterruptFrame*>[256];
            _idt = (ulong*)Heap.AllocZeroed(256 * 16);
            ulong* stubs = StubTable();
            for (int v = 0; v < 256; v++)
            {
                ulong h = stubs[v];
                int ist = v == 8 ? Gdt.IstDoubleFault : v == 2 ? Gdt.IstNmi : 0;
                ulong dpl = v == 3 ? 3UL : 0UL;   // int3 may come from user mode
                _idt[v * 2] = (h & 0xffff) | ((ulong)Gdt.KernelCode << 16) | ((ulong)ist << 32)
                    | ((0x8EUL | (dpl << 5)) << 40) | ((h >> 16) & 0xffff) << 48;
                _idt[v * 2 + 1] = h >> 32;
            }
            LoadThisCpu();
        }

        /// Loads the (shared) IDT on this CPU.
        public static void LoadThisCpu()
        {
            byte* ptr = stackalloc byte[10];
            *(ushort*)ptr = 256 * 16 - 1;
            *(ulong*)(ptr + 2) = (ulong)_idt;
            Cpu.Lidt(ptr);
        }

        [UnmanagedCallersOnly(EntryPoint = "uk_interrupt")]
        static InterruptFrame* Entry(InterruptFrame* f)
        {
            // A TLB shoot-down is answered without the big kernel lock: its sender holds it.
            if (f->Vector == Smp.TlbVector) { Smp.OnTlbInterrupt(); return f; }
            bool user = f->FromUser;
            // An idle CPU's tick or wake IPI, and a tick from user mode that finds nothing to
            // do, need no lock.
            if (Smp.AnswerWithoutLock(f->Vector, user, QuietUserTick)) return f;
            // From user mode: take the lock, give it back on the way out. From kernel code:
            // either this CPU holds it (a fault in kernel code) or it was idle (halted
            // without it), and then it takes it for the handler.
            bool take = user || !Smp.HoldsLock;
            if (user) Smp.EnterFromUserFor(Smp.ReasonVector + (int)f->Vector);
            else if (take) Smp.EnterFromIdle();
            InterruptFrame* r;
            // Interrupted kernel code may be anywhere: no collection until it resumes. From
            // user mode this is a safe point like a syscall (and the thread may switch away);
            // so is a page fault in the user-copy routines, whose caller's registers are all
            // in the frame on this stack, so that touching a new user page may collect.
            if (user || (f->Vector == 14 && UserCopy.IsCopySite(f->Rip))) r = Dispatch(f);
            else
            {
                Runtime.Collector.EnterNoCollect();
                r = Dispatch(f);
                Runtime.Collector.LeaveNoCollect();
            }
            if (user) Smp.ReturnToUser();
            else if (take) Smp.LeaveKernel();
            return r;
        }

        static InterruptFrame* Dispatch(InterruptFrame* f)
        {
            ulong v = f->Vector;
            if (v < 32)
            {
                if (f->FromUser && UserFaultHandler != null) return UserFaultHandler(f);
                if (v == 14 && ((f->Error & 1) == 0 || (f->Error & 2) != 0) && DemandPage != null && DemandPage(Cpu.ReadCr2(), (f->Error & 2) != 0)) return f;
                // A bad user pointer in copy-in/out: #PF when unmapped, #GP when non-canonical.
                if ((v == 14 || v == 13) && UserCopy.TryFixup(f)) return f;
                KernelFault(f);
            }
            var handler = IrqHandlers[(int)v];
            if (handler != null) return handler(f);
            if (v != SpuriousVector) Log.Warn("unexpected interrupt vector ", (long)v);
            return f;
        }

        [UnmanagedCallersOnly(EntryPoint = "uk_syscall")]
        static InterruptFrame* Syscall(InterruptFrame* f)
        {
            Smp.EnterFromUserFor(f->Rax < 511 ? (int)f->Rax : 511);       // 511: any larger number
            InterruptFrame* r = SyscallHandler(f);
            Smp.ReturnToUser();
            return r;
        }

        /// The first return of a thread (or the program) to user mode (switch.S, syscall.S).
        [UnmanagedCallersOnly(EntryPoint = "uk_return_to_user")]
        static void FirstReturnToUser() => Smp.ReturnToUser();

        static readonly string[] ExceptionNames = {
            "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
            "device not available", "double fault", "coprocessor overrun", "invalid TSS",
            "segment not present", "stack fault", "general protection", "page fault", "reserved",
            "x87 floating point", "alignment check", "machine check", "SIMD floating point",
            "virtualization", "control protection", "reserved", "reserved", "reserved", "reserved",
            "reserved", "reserved", "hypervisor injection", "VMM communication", "security", "reserved" };

        /// An exception in kernel code is a kernel bug: report everything and power off.
        static void KernelFault(InterruptFrame* f)
        {
            var w = Log.Begin(LogLevel.Error, stackalloc byte[256]);
            w.Str("panic: CPU exception "); w.Dec((long)f->Vector); w.Str(" ("); w.Str(ExceptionNames[(int)f->Vector]);
            w.Str(") error="); w.Hex(f->Error); w.Str(" cr2="); w.Hex(Cpu.ReadCr2());
            Log.End(ref w);
            w = Log.Begin(LogLevel.Error, stackalloc byte[256]);
            w.Str("  in "); Symbols.Append(ref w, f->Rip);
            Log.End(ref w);
            DumpRegisters(f);
            Backtrace.Print(f->Rbp, f->Rsp);
            Power.Exit(Power.PanicCode);
        }

        public static void DumpRegisters(InterruptFrame* f)
        {
            Reg3("rip", f->Rip, "rsp", f->Rsp, "rflags", f->Rflags);
            Reg3("rax", f->Rax, "rbx", f->Rbx, "rcx", f->Rcx);
            Reg3("rdx", f->Rdx, "rsi", f->Rsi, "rdi", f->Rdi);
            Reg3("rbp", f->Rbp, "r8", f->R8, "r9", f->R9);
            Reg3("r10", f->R10, "r11", f->R11, "r12", f->R12);
            Reg3("r13", f->R13, "r14", f->R14, "r15", f->R15);
            Reg3("cs", f->Cs, "ss", f->Ss, "cr3", Cpu.ReadCr3());
        }

        static void Reg3(string a, ulong va, string b, ulong vb, string c, ulong vc)
        {
            var w = Log.Begin(LogLevel.Error, stackalloc byte[160]);
            w.Str("  "); w.Str(a); w.Str("="); w.Hex(va, 16);
            w.Str(" "); w.Str(b); w.Str("="); w.Hex(vb, 16);
            w.Str(" "); w.Str(c); w.Str("="); w.Hex(vc, 16);
            Log.End(ref w);
        }
    }
}
