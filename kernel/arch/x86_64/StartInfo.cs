using System;
using System.Buffers.Binary;
using Kernel.Memory;

namespace Kernel.Arch
{
    /// What the boot loader hands us: QEMU's PVH boot (Xen's hvm_start_info, version 1) or
    /// GRUB's multiboot2 information (disk images), reduced to the same few facts.
    public unsafe struct StartInfo
    {
        public const uint Magic = 0x336ec578;
        /// %eax at entry from a multiboot2 loader.
        public const uint Multiboot2Magic = 0x36d76289;
        public ulong CommandLine;          // physical address of a NUL-terminated string, or 0
        public ulong ModulePhys, ModuleSize;
        public ulong MemMapPhys;
        public uint MemMapEntries;
        public ulong RsdpPhys;

        public static bool TryRead(ulong phys, out StartInfo info, out string error)
        {
            info = default;
            error = null;
            byte* p = (byte*)PhysicalMemory.ToVirtual(phys);
            if (phys == 0 || *(uint*)p != Magic) { error = "no PVH start_info (bad magic)"; return false; }
            uint version = *(uint*)(p + 4);
            uint modules = *(uint*)(p + 12);
            if (modules > 0)
            {
                byte* mod = (byte*)PhysicalMemory.ToVirtual(*(ulong*)(p + 16));
                info.ModulePhys = *(ulong*)mod;
                info.ModuleSize = *(ulong*)(mod + 8);
            }
            info.CommandLine = *(ulong*)(p + 24);
            info.RsdpPhys = *(ulong*)(p + 32);
            if (version >= 1)
            {
                info.MemMapPhys = *(ulong*)(p + 40);
                info.MemMapEntries = *(uint*)(p + 48);
            }
            if (info.MemMapEntries == 0) { error = "PVH start_info has no memory map (version 0)"; return false; }
            return true;
        }

        /// Multiboot2: the information at `phys` is first copied to `copy` (physical address
        /// `copyPhys`, `copySize` bytes) so that what it holds (command line, memory map, the
        /// RSDP) outlives the RAM GRUB left it in; the facts then point into the copy.
        public static bool TryReadMultiboot2(ulong phys, byte* copy, int copySize, ulong copyPhys, out StartInfo info, out string error)
        {
            info = default;
            error = null;
            byte* p = (byte*)PhysicalMemory.ToVirtual(phys);
            uint total = *(uint*)p;
            if (total < 16 || total > (uint)copySize) { error = "multiboot2 information of a bad size"; return false; }
            for (uint i = 0; i < total; i++) copy[i] = p[i];
            return ParseMultiboot2(new ReadOnlySpan<byte>(copy, (int)total), copyPhys, out info, out error);
        }

        /// The tags we use: 1 command line, 3 module (the first: the image), 6 memory map
        /// (24-byte entries laid out as the e820 ones MemoryMap reads), 14/15 the ACPI RSDP
        /// (a copy inside the tag; 15, ACPI 2.0, wins). Pure logic, tested on the host.
        public static bool ParseMultiboot2(ReadOnlySpan<byte> mbi, ulong mbiPhys, out StartInfo info, out string error)
        {
            info = default;
            error = null;
            for (int off = 8; off + 8 <= mbi.Length;)
            {
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(mbi.Slice(off));
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(mbi.Slice(off + 4));
                if (type == 0) break;
                if (size < 8 || size > (uint)(mbi.Length - off)) { error = "malformed multiboot2 tag"; return false; }
                switch (type)
                {
                    case 1:
                        info.CommandLine = mbiPhys + (ulong)off + 8;
                        break;
                    case 3 when info.ModuleSize == 0 && size >= 16:
                        uint start = BinaryPrimitives.ReadUInt32LittleEndian(mbi.Slice(off + 8));
                        uint end = BinaryPrimitives.ReadUInt32LittleEndian(mbi.Slice(off + 12));
                        if (end > start) { info.ModulePhys = start; info.ModuleSize = end - start; }
                        break;
                    case 6 when size >= 16:
                        if (BinaryPrimitives.ReadUInt32LittleEndian(mbi.Slice(off + 8)) != MemoryMap.EntrySize) { error = "multiboot2 memory map entries are not 24 bytes"; return false; }
                        info.MemMapPhys = mbiPhys + (ulong)off + 16;
                        info.MemMapEntries = (size - 16) / MemoryMap.EntrySize;
                        break;
                    case 14 when info.RsdpPhys == 0:
                    case 15:
                        info.RsdpPhys = mbiPhys + (ulong)off + 8;
                        break;
                }
                off += (int)((size + 7) & ~7u);
            }
            if (info.MemMapEntries == 0) { error = "multiboot2 information has no memory map"; return false; }
            return true;
        }
    }

    /// Turns the firmware memory map (24-byte entries: address, size, type) into sorted,
    /// page-aligned, non-overlapping RAM ranges. Pure logic, tested on the host.
    public static class MemoryMap
    {
        public const uint TypeRam = 1;
        public const int EntrySize = 24;

        public static int Parse(ReadOnlySpan<byte> raw, Span<MemoryRegion> output)
        {
            int n = 0;
            for (int off = 0; off + EntrySize <= raw.Length; off += EntrySize)
            {
                ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(off));
                ulong size = BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(off + 8));
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(off + 16));
                if (type != TypeRam || size == 0 || addr + size < addr || addr > ulong.MaxValue - 4095) continue;
                ulong start = (addr + 4095) & ~4095UL, end = (addr + size) & ~4095UL;
                if (end <= start || n == output.Length) continue;
                output[n++] = new MemoryRegion(start, end);
            }
            // Insertion sort by start, then merge overlapping or touching ranges.
            for (int i = 1; i < n; i++)
            {
                MemoryRegion r = output[i];
                int j = i - 1;
                while (j >= 0 && output[j].Start > r.Start) { output[j + 1] = output[j]; j--; }
                output[j + 1] = r;
            }
            int m = 0;
            for (int i = 0; i < n; i++)
            {
                if (m > 0 && output[i].Start <= output[m - 1].End)
                {
                    if (output[i].End > output[m - 1].End) output[m - 1].End = output[i].End;
                }
                else output[m++] = output[i];
            }
            return m;
        }
    }
}
