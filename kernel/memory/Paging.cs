using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Arch;
using Kernel.Console;

namespace Kernel.Memory
{
    /// x86-64 4-level page tables. One AddressSpace per program (lower half); the kernel
    /// half (PML4 entries 256-511) is shared by all of them.
    public unsafe class AddressSpace
    {
        public const ulong Present = 1, Writable = 2, User = 4, CacheDisable = 0x10, Huge = 0x80, NoExecute = 1UL << 63;
        const ulong AddrMask = 0x000ffffffffff000;
        public const ulong UserLimit = 0x0000800000000000;

        public readonly ulong Root;        // physical address of the PML4

        public static AddressSpace Kernel;

        public AddressSpace(ulong root) { Root = root; }

        static ulong* Table(ulong entry) => (ulong*)PhysicalMemory.ToVirtual(entry & AddrMask);

        /// A new address space sharing the kernel half of the current kernel tables.
        public static AddressSpace CreateUser()
        {
            ulong root = PhysicalMemory.AllocateFrames(1);
            ulong* dst = (ulong*)PhysicalMemory.ToVirtual(root);
            ulong* src = (ulong*)PhysicalMemory.ToVirtual(Kernel.Root);
            for (int i = 256; i < 512; i++) dst[i] = src[i];
            return new AddressSpace(root);
        }

        /// Frees this user address space's page tables (its PML4 and every table below the
        /// user half) once its pages are unmapped; the kernel half is shared and stays. The
        /// space must not be the one in CR3; it is unusable afterwards.
        public void FreeUserTables()
        {
            ulong* pml4 = (ulong*)PhysicalMemory.ToVirtual(Root);
            for (int i = 0; i < 256; i++)
            {
                if ((pml4[i] & Present) == 0) continue;
                FreeTable(pml4[i] & AddrMask, 3);
                pml4[i] = 0;
            }
            PhysicalMemory.FreeFrames(Root, 1);
        }

        /// Frees table `phys` at `level` (3 = PDPT, 2 = PD, 1 = PT) and the tables below it.
        static void FreeTable(ulong phys, int level)
        {
            if (level > 1)
            {
                ulong* t = (ulong*)PhysicalMemory.ToVirtual(phys);
                for (int i = 0; i < 512; i++)
                    if ((t[i] & Present) != 0 && (t[i] & Huge) == 0) FreeTable(t[i] & AddrMask, level - 1);
            }
            PhysicalMemory.FreeFrames(phys, 1);
        }

        /// Walks to the entry for `virt` at `level` (1 = 4 KiB PTE, 2 = 2 MiB PDE),
        /// creating intermediate tables when `create`.
        ulong* Walk(ulong virt, int level, bool create)
        {
            ulong* table = (ulong*)PhysicalMemory.ToVirtual(Root);
            bool user = virt < UserLimit;
            for (int l = 4; l > level; l--)
            {
                int index = (int)((virt >> (12 + 9 * (l - 1))) & 511);
                ulong e = table[index];
                if ((e & Present) == 0)
                {
                    if (!create) return null;
                    ulong frame = PhysicalMemory.AllocateFrames(1);
                    if (frame == ulong.MaxValue) return null;
                    e = frame | Present | Writable | (user ? User : 0);
                    table[index] = e;
                }
                else if ((e & Huge) != 0) return null;
                table = Table(e);
            }
            return &table[(virt >> (12 + 9 * (level - 1))) & 511];
        }

        public bool Map(ulong virt, ulong phys, ulong flags)
        {
            ulong* pte = Walk(virt, 1, true);
            if (pte == null) return false;
            *pte = phys | flags | Present;
            return true;
        }

        public bool MapLarge(ulong virt, ulong phys, ulong flags)
        {
            ulong* pde = Walk(virt, 2, true);
            if (pde == null) return false;
            *pde = phys | flags | Present | Huge;
            return true;
        }

        /// The PTE slot for 4 KiB page `virt` when its page table exists; otherwise null, with
        /// `next` the first address past the missing table (for walks over sparse ranges).
        public ulong* Slot(ulong virt, out ulong next)
        {
            ulong* table = (ulong*)PhysicalMemory.ToVirtual(Root);
            for (int l = 4; l > 1; l--)
            {
                int shift = 12 + 9 * (l - 1);
                ulong e = table[(virt >> shift) & 511];
                if ((e & Present) == 0 || (e & Huge) != 0)
                {
                    next = (virt & ~((1UL << shift) - 1)) + (1UL << shift);
                    return null;
                }
                table = Table(e);
            }
            next = (virt & ~0xfffUL) + 4096;
            return &table[(virt >> 12) & 511];
        }

        /// Whether this space's tables are the ones in CR3.
        public bool IsActive => (Cpu.ReadCr3() & AddrMask) == Root;

        /// Flushes this space's TLB entries (when it is active): after many PTE changes.
        public void FlushAll() { if (IsActive) Cpu.WriteCr3(Cpu.ReadCr3()); Smp.ShootdownPending = true; }

        /// The PTE for a 4 KiB page, or 0 when unmapped.
        public ulong Lookup(ulong virt)
        {
            ulong* pte = Walk(virt, 1, false);
            return pte == null ? 0 : *pte;
        }

        /// Removes a 4 KiB mapping; returns its physical frame or ulong.MaxValue.
        public ulong Unmap(ulong virt)
        {
            ulong* pte = Walk(virt, 1, false);
            if (pte == null || (*pte & Present) == 0) return ulong.MaxValue;
            ulong phys = *pte & AddrMask;
            *pte = 0;
            Cpu.Invlpg(virt);
            Smp.ShootdownPending = true;                     // other CPUs' TLBs: before the lock goes
            return phys;
        }

        /// Changes the flags of a present 4 KiB mapping.
        public bool Protect(ulong virt, ulong flags)
        {
            ulong* pte = Walk(virt, 1, false);
            if (pte == null || (*pte & Present) == 0) return false;
            *pte = (*pte & AddrMask) | flags | Present;
            Cpu.Invlpg(virt);
            Smp.ShootdownPending = true;
            return true;
        }

        public void Activate() => Cpu.WriteCr3(Root);

        /// Whether a kernel address is mapped in the kernel tables (2 MiB or 4 KiB pages).
        public static bool IsKernelMapped(ulong virt)
        {
            if (Kernel == null) return true;
            ulong* table = (ulong*)PhysicalMemory.ToVirtual(Kernel.Root);
            for (int l = 4; l >= 1; l--)
            {
                ulong e = table[(virt >> (12 + 9 * (l - 1))) & 511];
                if ((e & Present) == 0) return false;
                if (l == 1 || (e & Huge) != 0) return true;
                table = Table(e);
            }
            return true;
        }
    }

    /// Builds the kernel's own tables: the image with per-section permissions, all RAM
    /// direct-mapped (no execute), and device MMIO uncached.
    public static unsafe class KernelPaging
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "kernel_layout")]
        static extern void Layout(ulong* output);   // text start/end, rodata start/end, data start/end, image end

        public static void Init()
        {
            ulong root = PhysicalMemory.AllocateFrames(1);
            var k = new AddressSpace(root);
            AddressSpace.Kernel = k;
            ulong* l = stackalloc ulong[7];
            Layout(l);
            MapRange(k, l[0], l[1], 0);                                                        // text: RX
            MapRange(k, l[2], l[3], AddressSpace.NoExecute);                                   // rodata: R
            MapRange(k, l[4], l[6], AddressSpace.NoExecute | AddressSpace.Writable);           // data, bss, symbols: RW
            ulong top = (PhysicalMemory.HighestAddress + (2UL << 20) - 1) & ~((2UL << 20) - 1);
            for (ulong p = 0; p < top; p += 2UL << 20)
                k.MapLarge(PhysicalMemory.DirectMapBase + p, p, AddressSpace.Writable | AddressSpace.NoExecute);
            k.Activate();
        }

        static void MapRange(AddressSpace k, ulong start, ulong end, ulong flags)
        {
            for (ulong v = start & ~0xfffUL; v < end; v += 4096)
                k.Map(v, v - PhysicalMemory.KernelVma, flags);
        }

        /// Maps device registers (uncached) into the direct-map window; returns their address.
        public static ulong MapDevice(ulong phys, ulong size)
        {
            for (ulong p = phys & ~0xfffUL; p < phys + size; p += 4096)
            {
                ulong v = PhysicalMemory.DirectMapBase + p;
                // Below the top of RAM the window uses 2 MiB pages; devices live above RAM here.
                if (AddressSpace.Kernel.Lookup(v) == 0)
                    AddressSpace.Kernel.Map(v, p, AddressSpace.Writable | AddressSpace.NoExecute | AddressSpace.CacheDisable);
            }
            return PhysicalMemory.DirectMapBase + phys;
        }
    }

    /// Kernel stacks with an unmapped guard page below each, so an overflow faults
    /// (and the double-fault handler, on its own IST stack, reports it).
    public static unsafe class KernelStacks
    {
        const ulong Base = 0xffffc00000000000;
        static ulong _next = Base;

        // Freed stacks by size (pages), reused before new address space is taken.
        const int MaxFree = 256;
        static readonly ulong[] _freeTops = new ulong[MaxFree];
        static readonly ulong[] _freePages = new ulong[MaxFree];
        static int _freeCount;

        /// Returns a stack for reuse (its pages stay mapped).
        public static void Free(ulong top, ulong pages)
        {
            if (_freeCount < MaxFree) { _freeTops[_freeCount] = top; _freePages[_freeCount] = pages; _freeCount++; return; }
            for (ulong i = 1; i <= pages; i++)
            {
                ulong frame = AddressSpace.Kernel.Unmap(top - i * 4096);
                if (frame != ulong.MaxValue) PhysicalMemory.FreeFrames(frame, 1);
            }
        }

        /// Maps `pages` pages of stack; returns the top (initial rsp). Boot-time stacks only:
        /// running out here is a panic (see TryAllocate for stacks a program asks for).
        public static ulong Allocate(ulong pages)
        {
            ulong top = TryAllocate(pages);
            if (top == 0) Panic.Halt("out of memory for kernel stacks");
            return top;
        }

        /// Like Allocate, but 0 when memory is short (clone then fails with EAGAIN). Keeps the
        /// kernel's reserve (PhysicalMemory.KernelReserve) for the allocations of other syscalls.
        public static ulong TryAllocate(ulong pages)
        {
            for (int i = 0; i < _freeCount; i++)
                if (_freePages[i] == pages)
                {
                    ulong top = _freeTops[i];
                    _freeCount--;
                    _freeTops[i] = _freeTops[_freeCount];
                    _freePages[i] = _freePages[_freeCount];
                    return top;
                }
            ulong bottom = _next + 4096;            // guard page stays unmapped
            // Page tables for the new range may take a few frames besides the stack's own.
            if (!PhysicalMemory.KernelHasRoom((pages + 4) * 4096)) return 0;
            for (ulong i = 0; i < pages; i++)
            {
                ulong phys = PhysicalMemory.AllocateFrames(1);
                if (phys == ulong.MaxValue) Panic.Halt("out of memory for kernel stacks");   // checked above
                AddressSpace.Kernel.Map(bottom + i * 4096, phys, AddressSpace.Writable | AddressSpace.NoExecute);
            }
            _next = bottom + pages * 4096;
            return _next;
        }
    }
}
