using Kernel.Arch;
using Kernel.Memory;

namespace Kernel.Proc
{
    /// A program's memory: VMAs over an address space, filled on demand (a fault in a VMA
    /// maps a zeroed frame with the VMA's permissions). Frames are owned here and freed on
    /// unmap.
    public sealed unsafe class UserMemory
    {
        public const uint ProtRead = 1, ProtWrite = 2, ProtExec = 4;
        public const ulong MmapTop = 0x00007f0000000000, MmapBottom = 0x0000100000000000;
        public readonly AddressSpace Space;
        public readonly VmaList Vmas = new VmaList();
        public ulong BrkStart, Brk;
        public ulong MmapBase = MmapTop;

        public UserMemory() { Space = AddressSpace.CreateUser(); }

        /// PROT_NONE pages stay mapped (keeping their contents) but supervisor-only, so any
        /// access by the program faults.
        public static ulong PteFlags(uint prot)
        {
            if (prot == 0) return AddressSpace.NoExecute;
            ulong f = AddressSpace.User;
            if ((prot & ProtWrite) != 0) f |= AddressSpace.Writable;
            if ((prot & ProtExec) == 0) f |= AddressSpace.NoExecute;
            return f;
        }

        /// Resolves a fault at `addr`: true when it was a not-yet-populated page of a VMA
        /// that allows the access.
        public bool HandleFault(ulong addr, bool write, bool exec)
        {
            int i = Vmas.IndexOf(addr);
            if (i < 0) return false;
            ref Vma v = ref Vmas[i];
            if (v.Prot == 0 || (write && (v.Prot & ProtWrite) == 0) || (exec && (v.Prot & ProtExec) == 0)) return false;
            ulong page = addr & ~0xfffUL;
            if ((Space.Lookup(page) & AddressSpace.Present) != 0) return false;   // a real protection fault
            ulong frame = PhysicalMemory.AllocateFrames(1);
            if (frame == ulong.MaxValue) return false;
            Space.Map(page, frame, PteFlags(v.Prot));
            return true;
        }

        /// Creates a VMA (the caller ensured the range is free) without populating it.
        public void AddVma(ulong start, ulong end, uint prot, uint kind)
        {
            Vmas.Insert(new Vma { Start = start, End = end, Prot = prot, Kind = kind });
        }

        /// Unmaps [start, end): page-table entries go and their frames are freed.
        public void Unmap(ulong start, ulong end)
        {
            for (int i = 0; i < Vmas.Count; i++)
            {
                ref Vma v = ref Vmas[i];
                ulong s = v.Start > start ? v.Start : start, e = v.End < end ? v.End : end;
                for (ulong p = s; p < e; p += 4096)
                {
                    ulong frame = Space.Unmap(p);
                    if (frame != ulong.MaxValue) PhysicalMemory.FreeFrames(frame, 1);
                }
            }
            Vmas.Remove(start, end);
        }

        /// Changes the permissions of [start, end), splitting VMAs at the edges.
        public void Protect(ulong start, ulong end, uint prot)
        {
            ulong a = start;
            while (a < end)
            {
                int i = Vmas.IndexOf(a);
                if (i < 0) break;
                Vma v = Vmas[i];
                ulong e = v.End < end ? v.End : end;
                Vmas.Remove(a, e);
                Vmas.Insert(new Vma { Start = a, End = e, Prot = prot, Kind = v.Kind });
                a = e;
            }
            RemapProtection(start, end, prot);
        }

        public void RemapProtection(ulong start, ulong end, uint prot)
        {
            ulong flags = PteFlags(prot);
            for (ulong p = start; p < end; p += 4096)
            {
                if ((Space.Lookup(p) & AddressSpace.Present) == 0) continue;
                Space.Protect(p, flags);
            }
        }
    }
}
