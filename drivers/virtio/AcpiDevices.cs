using System;
using Kernel.Arch;
using Kernel.Console;
using Kernel.Memory;

namespace Kernel.Drivers
{
    /// The little of ACPI the device layer needs, read from the firmware's tables: the I/O
    /// APICs (MADT) and the virtio-mmio devices -M microvm describes in its DSDT when ACPI
    /// is on (and then does not announce on the command line). No AML interpreter: a
    /// virtio-mmio device is a `Device` with _HID "LNRO0005" whose _CRS is a constant
    /// buffer holding a Memory32Fixed and an Interrupt descriptor, so those byte patterns
    /// are found after each _HID string.
    public static unsafe class AcpiDevices
    {
        /// Calls `found(size, addr, irq)` for each virtio-mmio device in the DSDT and
        /// registers the I/O APICs of the MADT. False when there are no usable tables.
        public static bool Scan(ulong rsdpPhys, delegate*<ulong, ulong, int, void> found)
        {
            if (rsdpPhys == 0) return false;
            byte* rsdp = Map(rsdpPhys, 36);
            if (!Is(rsdp, "RSD PTR ")) return false;
            bool x = rsdp[15] >= 2 && *(ulong*)(rsdp + 24) != 0;
            ulong rootPhys = x ? *(ulong*)(rsdp + 24) : *(uint*)(rsdp + 16);
            byte* root = Map(rootPhys, 36);
            uint rootLen = *(uint*)(root + 4);
            if (rootLen < 36 || rootLen > 65536) return false;
            root = Map(rootPhys, rootLen);
            int entry = x ? 8 : 4;
            ulong dsdtPhys = 0;
            ushort pm1a = 0, pm1b = 0;
            for (uint off = 36; off + (uint)entry <= rootLen; off += (uint)entry)
            {
                ulong tPhys = x ? *(ulong*)(root + off) : *(uint*)(root + off);
                byte* t = Map(tPhys, 36);
                uint len = *(uint*)(t + 4);
                if (len < 36 || len > (1u << 20)) continue;
                t = Map(tPhys, len);
                if (Is(t, "FACP"))
                {
                    dsdtPhys = len >= 148 && *(ulong*)(t + 140) != 0 ? *(ulong*)(t + 140) : *(uint*)(t + 40);
                    if (len >= 72) { pm1a = (ushort)*(uint*)(t + 64); pm1b = (ushort)*(uint*)(t + 68); }
                }
                else if (Is(t, "APIC"))
                {
                    for (uint p = 44; p + 2 <= len;)
                    {
                        byte type = t[p], l = t[p + 1];
                        if (l < 2) break;
                        if (type == 1 && l >= 12) IoApic.Register(*(uint*)(t + p + 4), (int)*(uint*)(t + p + 8));
                        p += l;
                    }
                }
            }
            if (dsdtPhys == 0) return true;
            byte* dsdt = Map(dsdtPhys, 36);
            uint dlen = *(uint*)(dsdt + 4);
            if (dlen < 36 || dlen > (4u << 20)) return true;
            dsdt = Map(dsdtPhys, dlen);
            var dsdtBytes = new ReadOnlySpan<byte>(dsdt, (int)dlen);
            if (pm1a != 0 && AcpiSleep.FindS5(dsdtBytes, out ushort slpA, out ushort slpB)) Power.SetSoftOff(pm1a, pm1b, slpA, slpB);
            MmioAnnouncement.ScanDsdt(dsdtBytes, found);
            return true;
        }

        static byte* Map(ulong phys, ulong len) => (byte*)KernelPaging.MapDevice(phys, len);
        static bool Is(byte* p, string sig)
        {
            for (int i = 0; i < sig.Length; i++) if (p[i] != sig[i]) return false;
            return true;
        }
    }
}
