using Kernel.Memory;

namespace Kernel.Arch
{
    /// Segments: kernel code/data, user data/code in the order SYSRET needs, and the TSS
    /// whose RSP0 is the kernel stack for interrupts from user mode and whose IST stacks
    /// take double faults and NMIs on known-good stacks. Each CPU has its own GDT and TSS
    /// (the TSS's address is in its PerCpu block).
    public static unsafe class Gdt
    {
        public const ushort KernelCode = 0x08, KernelData = 0x10, UserData = 0x1b, UserCode = 0x23, TssSelector = 0x28, CpuNumber = 0x3b;
        public const int IstDoubleFault = 1, IstNmi = 2;

        /// This CPU's GDT and TSS, loaded.
        public static void Init()
        {
            ulong* _gdt = (ulong*)Heap.AllocZeroed(8 * 8);
            byte* _tss = (byte*)Heap.AllocZeroed(104);
            Smp.Current->Tss = (ulong)_tss;
            _gdt[1] = 0x00af9a000000ffff;      // kernel code, 64-bit
            _gdt[2] = 0x00cf92000000ffff;      // kernel data
            _gdt[3] = 0x00cff2000000ffff;      // user data (dpl 3)
            _gdt[4] = 0x00affa000000ffff;      // user code, 64-bit (dpl 3)
            ulong tss = (ulong)_tss;
            ulong limit = 103;
            _gdt[5] = (limit & 0xffff) | ((tss & 0xffffff) << 16) | (0x89UL << 40) | (((tss >> 24) & 0xff) << 56);
            _gdt[6] = tss >> 32;
            *(ushort*)(_tss + 102) = 104;      // no I/O permission bitmap
            // A user-readable data segment whose limit is this CPU's number (node 0): the
            // vDSO's getcpu reads it with lsl, as Linux's does.
            _gdt[7] = (ulong)Smp.CurrentIndex | (0xF2UL << 40);

            SetIst(_tss, IstDoubleFault, KernelStacks.Allocate(4));
            SetIst(_tss, IstNmi, KernelStacks.Allocate(4));

            byte* ptr = stackalloc byte[10];
            *(ushort*)ptr = 8 * 8 - 1;
            *(ulong*)(ptr + 2) = (ulong)_gdt;
            Cpu.Lgdt(ptr);
            Cpu.Ltr(TssSelector);
        }

        static void SetIst(byte* tss, int index, ulong top) => *(ulong*)(tss + 36 + (index - 1) * 8) = top;

        /// The stack this CPU switches to on an interrupt or exception from user mode.
        public static void SetKernelStack(ulong top) => *(ulong*)(Smp.Current->Tss + 4) = top;
    }
}
