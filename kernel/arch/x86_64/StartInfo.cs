using System;
using System.Buffers.Binary;
using Kernel.Memory;

namespace Kernel.Arch
{
    /// What QEMU's PVH boot hands us (Xen's hvm_start_info, version 1).
    public unsafe struct StartInfo
    {
        public const uint Magic = 0x336ec578;
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
