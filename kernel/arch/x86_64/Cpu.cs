using System.Runtime;
using System.Runtime.CompilerServices;

namespace Kernel.Arch
{
    /// Privileged instructions, implemented in cpu.S.
    public static unsafe class Cpu
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_outb")] public static extern void Outb(ushort port, byte value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_inb")] public static extern byte Inb(ushort port);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_outw")] public static extern void Outw(ushort port, ushort value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_outl")] public static extern void Outl(ushort port, uint value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_inl")] public static extern uint Inl(ushort port);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_rdmsr")] public static extern ulong Rdmsr(uint msr);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_wrmsr")] public static extern void Wrmsr(uint msr, ulong value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_rdtsc")] public static extern ulong Rdtsc();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_read_cr2")] public static extern ulong ReadCr2();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_read_cr3")] public static extern ulong ReadCr3();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_write_cr3")] public static extern void WriteCr3(ulong value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_read_cr4")] public static extern ulong ReadCr4();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_write_cr4")] public static extern void WriteCr4(ulong value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_invlpg")] public static extern void Invlpg(ulong addr);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_halt")] public static extern void Halt();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_sti")] public static extern void EnableInterrupts();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_cli")] public static extern void DisableInterrupts();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_cpuid")] public static extern void Cpuid(uint leaf, uint subleaf, uint* regs);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_rdrand")] public static extern int Rdrand(ulong* value);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_lgdt")] public static extern void Lgdt(void* pointer);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_lidt")] public static extern void Lidt(void* pointer);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_ltr")] public static extern void Ltr(ushort selector);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_stack_pointer")] public static extern ulong StackPointer();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_frame_pointer")] public static extern ulong FramePointer();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_pause")] public static extern void Pause();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "cpu_flush_tlb")] public static extern void FlushTlb();

        /// The program's GS base (arch_prctl ARCH_SET_GS): parked in KERNEL_GS_BASE while the
        /// kernel runs (swapgs on every entry and exit puts it back in GS for user mode).
        public static void SetUserGsBase(ulong value) => Wrmsr(0xC0000102, value);
    }
}
