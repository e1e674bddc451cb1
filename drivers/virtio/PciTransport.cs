using Kernel.Arch;
using Kernel.Console;
using Kernel.Memory;

namespace Kernel.Drivers
{
    /// PCI configuration space through the legacy ports 0xCF8/0xCFC (-M pc and -M q35).
    public static class Pci
    {
        public static uint Read32(int bus, int dev, int fn, int off)
        {
            Cpu.Outl(0xcf8, 0x80000000u | (uint)(bus << 16) | (uint)(dev << 11) | (uint)(fn << 8) | (uint)(off & 0xfc));
            return Cpu.Inl(0xcfc);
        }

        public static void Write32(int bus, int dev, int fn, int off, uint value)
        {
            Cpu.Outl(0xcf8, 0x80000000u | (uint)(bus << 16) | (uint)(dev << 11) | (uint)(fn << 8) | (uint)(off & 0xfc));
            Cpu.Outl(0xcfc, value);
        }

        public static byte Read8(int bus, int dev, int fn, int off) => (byte)(Read32(bus, dev, fn, off) >> (8 * (off & 3)));
        public static ushort Read16(int bus, int dev, int fn, int off) => (ushort)(Read32(bus, dev, fn, off) >> (8 * (off & 2)));

        /// Whether anything answers at 0xCF8 (microvm has no PCI: the read floats).
        public static bool Present()
        {
            Cpu.Outl(0xcf8, 0x80000000u);
            return Cpu.Inl(0xcf8) == 0x80000000u && Read32(0, 0, 0, 0) != 0xffffffff;
        }

        /// Physical address of memory BAR `bar`, 0 when it is not a memory BAR.
        public static ulong BarAddress(int bus, int dev, int fn, int bar)
        {
            uint lo = Read32(bus, dev, fn, 0x10 + 4 * bar);
            if ((lo & 1) != 0) return 0;                      // I/O space
            ulong a = lo & ~0xfUL;
            if (((lo >> 1) & 3) == 2 && bar < 5) a |= (ulong)Read32(bus, dev, fn, 0x14 + 4 * bar) << 32;
            return a;
        }
    }

    /// virtio-pci, modern (virtio 1.x, 4.1): the common, notify, ISR and device
    /// configuration structures found through vendor capabilities in memory BARs, and
    /// MSI-X for interrupts (one vector for all queues). Transitional devices are driven
    /// through their modern interface; legacy-only ones are refused by the probe.
    public sealed unsafe class PciTransport : VirtioTransport
    {
        const int CapVendor = 0x09, CapMsix = 0x11;
        const int CfgCommon = 1, CfgNotify = 2, CfgIsr = 3, CfgDevice = 4;

        readonly int _bus, _dev, _fn;
        ulong _common, _notify, _isr, _device;
        uint _notifyMultiplier;
        int _msixCap;

        PciTransport(int bus, int dev, int fn, uint type) { _bus = bus; _dev = dev; _fn = fn; DeviceType = type; }

        /// The modern transport of the virtio function at bus:dev.fn, or null (logged).
        public static PciTransport Probe(int bus, int dev, int fn, ushort deviceId)
        {
            uint type = deviceId >= 0x1040 ? (uint)(deviceId - 0x1040) : Pci.Read16(bus, dev, fn, 0x2e);   // transitional: subsystem id
            var t = new PciTransport(bus, dev, fn, type);
            // Memory space and bus mastering on.
            uint cmd = Pci.Read32(bus, dev, fn, 0x04);
            Pci.Write32(bus, dev, fn, 0x04, (cmd & 0xffff) | 0x6);
            if ((Pci.Read16(bus, dev, fn, 0x06) & 0x10) != 0)
            {
                int cap = Pci.Read8(bus, dev, fn, 0x34) & 0xfc;
                for (int guard = 0; cap != 0 && guard < 48; guard++)
                {
                    int id = Pci.Read8(bus, dev, fn, cap);
                    if (id == CapMsix) t._msixCap = cap;
                    if (id == CapVendor)
                    {
                        int cfgType = Pci.Read8(bus, dev, fn, cap + 3);
                        int bar = Pci.Read8(bus, dev, fn, cap + 4);
                        uint off = Pci.Read32(bus, dev, fn, cap + 8), len = Pci.Read32(bus, dev, fn, cap + 12);
                        ulong barPhys = bar < 6 ? Pci.BarAddress(bus, dev, fn, bar) : 0;
                        if (barPhys != 0 && len != 0)
                        {
                            ulong addr = 0;
                            if (cfgType == CfgCommon || cfgType == CfgNotify || cfgType == CfgIsr || cfgType == CfgDevice)
                                addr = KernelPaging.MapDevice(barPhys + off, len);
                            if (cfgType == CfgCommon && t._common == 0) t._common = addr;
                            else if (cfgType == CfgNotify && t._notify == 0) { t._notify = addr; t._notifyMultiplier = Pci.Read32(bus, dev, fn, cap + 16); }
                            else if (cfgType == CfgIsr && t._isr == 0) t._isr = addr;
                            else if (cfgType == CfgDevice && t._device == 0) t._device = addr;
                        }
                    }
                    cap = Pci.Read8(bus, dev, fn, cap + 1) & 0xfc;
                }
            }
            if (t._common == 0 || t._notify == 0 || t._isr == 0)
            {
                var w = Log.Begin(LogLevel.Warn, stackalloc byte[160]);
                w.Str("virtio-pci "); t.Describe(ref w); w.Str(": legacy-only device (no modern capabilities) refused");
                if (Log.Enabled(LogLevel.Warn)) Log.End(ref w);
                return null;
            }
            return t;
        }

        public override void Describe(ref LineWriter w)
        {
            w.Str("pci "); Hex2(ref w, _bus); w.Str(":"); Hex2(ref w, _dev); w.Str("."); w.Udec((ulong)_fn);
        }

        static void Hex2(ref LineWriter w, int v) { w.Byte((byte)"0123456789abcdef"[(v >> 4) & 15]); w.Byte((byte)"0123456789abcdef"[v & 15]); }

        uint C32(int off) => Mmio.Read32(_common + (ulong)off);
        void C32(int off, uint v) => Mmio.Write32(_common + (ulong)off, v);
        ushort C16(int off) => Mmio.Read16(_common + (ulong)off);
        void C16(int off, ushort v) => Mmio.Write16(_common + (ulong)off, v);
        void C64(int off, ulong v) { C32(off, (uint)v); C32(off + 4, (uint)(v >> 32)); }

        public override ulong DeviceFeatures()
        {
            C32(0x00, 0); ulong lo = C32(0x04);
            C32(0x00, 1); ulong hi = C32(0x04);
            return lo | hi << 32;
        }

        public override void DriverFeatures(ulong f)
        {
            C32(0x08, 0); C32(0x0c, (uint)f);
            C32(0x08, 1); C32(0x0c, (uint)(f >> 32));
        }

        public override byte Status { get => Mmio.Read8(_common + 0x14); set => Mmio.Write8(_common + 0x14, value); }

        public override ushort QueueMax(int q)
        {
            if (q >= C16(0x12)) return 0;
            C16(0x16, (ushort)q);
            return C16(0x18);
        }

        public override void QueueSetup(int q, ushort size, ulong desc, ulong avail, ulong used)
        {
            C16(0x16, (ushort)q);
            C16(0x18, size);
            C64(0x20, desc); C64(0x28, avail); C64(0x30, used);
            if (_msixCap != 0) C16(0x1a, 0);       // queue interrupts: MSI-X table entry 0
            C16(0x1c, 1);
        }

        public override void Notify(int q)
        {
            C16(0x16, (ushort)q);
            ulong off = (ulong)C16(0x1e) * _notifyMultiplier;
            Mmio.Write16(_notify + off, (ushort)q);
        }

        public override byte Config8(int offset) => Mmio.Read8(_device + (ulong)offset);
        public override uint Config32(int offset) => Mmio.Read32(_device + (ulong)offset);

        /// The I/O APIC input of the device's INTx line when it uses one (no MSI-X); -1 otherwise.
        public override int IntxGsi => _gsi;
        int _gsi = -1;

        /// MSI-X entry 0 -> `vector` on the boot CPU (LAPIC 0, fixed delivery). Without
        /// MSI-X, INTx where the line is known without ACPI's _PRT (RouteIntx).
        public override bool RouteInterrupt(int vector)
        {
            if (_msixCap == 0) return RouteIntx(vector);
            uint table = Pci.Read32(_bus, _dev, _fn, _msixCap + 4);
            ulong barPhys = Pci.BarAddress(_bus, _dev, _fn, (int)(table & 7));
            if (barPhys == 0) return false;
            ulong entry = KernelPaging.MapDevice(barPhys + (table & ~7u), 16);
            Mmio.Write32(entry, 0xfee00000);
            Mmio.Write32(entry + 4, 0);
            Mmio.Write32(entry + 8, (uint)vector);
            Mmio.Write32(entry + 12, 0);                                // unmasked
            uint ctl = Pci.Read32(_bus, _dev, _fn, _msixCap);
            Pci.Write32(_bus, _dev, _fn, _msixCap, (ctl & 0x3fffffff) | 0x80000000u);   // enable, function unmasked
            C16(0x10, 0xffff);                                       // no configuration-change interrupt
            return true;
        }

        /// INTx (virtio 1.x, 4.1.4.5): on pc's i440FX/PIIX the firmware's interrupt line
        /// register names the ISA IRQ that the PCI link is routed to, which QEMU wires to the
        /// I/O APIC input of the same number, level-triggered and active high (as its MADT
        /// says). q35's ICH9 routes the links to GSIs 16-23 in a way only ACPI's _PRT names:
        /// not supported there (false: the device is not started, and the log says why).
        bool RouteIntx(int vector)
        {
            int pin = Pci.Read8(_bus, _dev, _fn, 0x3d), line = Pci.Read8(_bus, _dev, _fn, 0x3c);
            if (pin == 0 || line == 0 || line >= 16) return false;
            if (Pci.Read32(0, 0, 0, 0) != 0x12378086) return false;      // host bridge: i440FX
            if (!IoApic.RouteGsi(line, vector, level: true)) return false;
            uint cmd = Pci.Read32(_bus, _dev, _fn, 0x04);
            Pci.Write32(_bus, _dev, _fn, 0x04, cmd & 0xffff & ~0x400u);   // INTx on (status bits untouched)
            _gsi = line;
            return true;
        }

        /// MSI-X: the vector is ours alone. INTx: reading the ISR status says whether this
        /// device raised the (possibly shared) line, and lowers it.
        public override bool AcknowledgeInterrupt() => _gsi < 0 || (Mmio.Read8(_isr) & 3) != 0;
    }
}
