using Kernel.Console;
using Kernel.Memory;

namespace Kernel.Drivers
{
    /// virtio-mmio, version 2 (virtio 1.x, 4.2.2): QEMU's -M microvm and Firecracker. The
    /// legacy layout (version 1) is refused.
    public sealed unsafe class MmioTransport : VirtioTransport
    {
        public const uint Magic = 0x74726976;    // "virt"
        const int RegMagic = 0x000, RegVersion = 0x004, RegDeviceId = 0x008, RegDeviceFeatures = 0x010,
            RegDeviceFeaturesSel = 0x014, RegDriverFeatures = 0x020, RegDriverFeaturesSel = 0x024,
            RegQueueSel = 0x030, RegQueueNumMax = 0x034, RegQueueNum = 0x038, RegQueueReady = 0x044,
            RegQueueNotify = 0x050, RegInterruptStatus = 0x060, RegInterruptAck = 0x064, RegStatus = 0x070,
            RegQueueDesc = 0x080, RegQueueDriver = 0x090, RegQueueDevice = 0x0a0, RegConfig = 0x100;

        readonly ulong _phys, _base;
        readonly int _irq;

        MmioTransport(ulong phys, ulong regs, int irq, uint type) { _phys = phys; _base = regs; _irq = irq; DeviceType = type; }

        /// The transport at `phys` (announced as SIZE@ADDR:IRQ), or null when nothing usable
        /// is there (no device, an empty slot, or a legacy device: logged).
        public static MmioTransport Probe(ulong phys, ulong size, int irq)
        {
            if (size < 0x200) size = 0x200;
            ulong regs = KernelPaging.MapDevice(phys, size);
            if (Mmio.Read32(regs + RegMagic) != Magic) { Log.Warn("virtio-mmio: no magic at ", (long)phys); return null; }
            uint type = Mmio.Read32(regs + RegDeviceId);
            if (type == 0) return null;             // an empty slot
            uint version = Mmio.Read32(regs + RegVersion);
            if (version != 2)
            {
                var w = Log.Begin(LogLevel.Warn, stackalloc byte[160]);
                w.Str("virtio-mmio@"); w.Hex(phys); w.Str(": legacy device (version "); w.Udec(version);
                w.Str(") refused; QEMU: -global virtio-mmio.force-legacy=false");
                if (Log.Enabled(LogLevel.Warn)) Log.End(ref w);
                return null;
            }
            return new MmioTransport(phys, regs, irq, type);
        }

        uint R(int reg) => Mmio.Read32(_base + (ulong)reg);
        void W(int reg, uint v) => Mmio.Write32(_base + (ulong)reg, v);

        public override void Describe(ref LineWriter w) { w.Str("mmio@"); w.Hex(_phys); w.Str(" irq "); w.Udec((ulong)_irq); }

        public override ulong DeviceFeatures()
        {
            W(RegDeviceFeaturesSel, 0); ulong lo = R(RegDeviceFeatures);
            W(RegDeviceFeaturesSel, 1); ulong hi = R(RegDeviceFeatures);
            return lo | hi << 32;
        }

        public override void DriverFeatures(ulong f)
        {
            W(RegDriverFeaturesSel, 0); W(RegDriverFeatures, (uint)f);
            W(RegDriverFeaturesSel, 1); W(RegDriverFeatures, (uint)(f >> 32));
        }

        public override byte Status { get => (byte)R(RegStatus); set => W(RegStatus, value); }

        public override ushort QueueMax(int q)
        {
            W(RegQueueSel, (uint)q);
            if (R(RegQueueReady) != 0) return 0;
            uint m = R(RegQueueNumMax);
            return m > 0x8000 ? (ushort)0x8000 : (ushort)m;
        }

        public override void QueueSetup(int q, ushort size, ulong desc, ulong avail, ulong used)
        {
            W(RegQueueSel, (uint)q);
            W(RegQueueNum, size);
            W(RegQueueDesc, (uint)desc); W(RegQueueDesc + 4, (uint)(desc >> 32));
            W(RegQueueDriver, (uint)avail); W(RegQueueDriver + 4, (uint)(avail >> 32));
            W(RegQueueDevice, (uint)used); W(RegQueueDevice + 4, (uint)(used >> 32));
            W(RegQueueReady, 1);
        }

        public override void Notify(int q) => W(RegQueueNotify, (uint)q);
        public override byte Config8(int offset) => Mmio.Read8(_base + RegConfig + (ulong)offset);
        public override uint Config32(int offset) => Mmio.Read32(_base + RegConfig + (ulong)offset);

        public override bool RouteInterrupt(int vector)
        {
            if (_irq <= 0) return false;
            return IoApic.RouteGsi(_irq, vector);
        }

        public override bool AcknowledgeInterrupt()
        {
            uint s = R(RegInterruptStatus);
            if (s == 0) return false;
            W(RegInterruptAck, s);
            return true;
        }
    }
}
