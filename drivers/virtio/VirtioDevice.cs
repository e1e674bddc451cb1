using System;
using Kernel.Arch;
using Kernel.Console;

namespace Kernel.Drivers
{
    /// What every virtio driver shares: the initialisation handshake (virtio 1.x, 3.1.1)
    /// with feature negotiation, queue set-up, and the interrupt that drains the queues.
    /// Each device type is a thin class over its transport and queues.
    public abstract unsafe class VirtioDevice
    {
        public readonly VirtioTransport Transport;
        public ulong Features;
        protected VirtioDevice(VirtioTransport t) { Transport = t; }

        public bool Has(int feature) => (Features & (1UL << feature)) != 0;

        /// Reset, ACKNOWLEDGE, DRIVER, negotiate (VERSION_1 required), FEATURES_OK. On
        /// failure the device is reset and left alone.
        protected bool Begin(ulong wanted)
        {
            var t = Transport;
            t.Reset();
            t.Status = Virtio.StatusAcknowledge;
            t.Status = Virtio.StatusAcknowledge | Virtio.StatusDriver;
            if (!Virtio.Negotiate(t.DeviceFeatures(), wanted, out Features)) return Fail("device does not offer VIRTIO_F_VERSION_1");
            t.DriverFeatures(Features);
            t.Status = Virtio.StatusAcknowledge | Virtio.StatusDriver | Virtio.StatusFeaturesOk;
            if ((t.Status & Virtio.StatusFeaturesOk) == 0)
            {
                var w = Log.Begin(LogLevel.Debug, stackalloc byte[160]);
                w.Str("virtio: offered "); w.Hex(t.DeviceFeatures()); w.Str(" accepted "); w.Hex(Features); w.Str(" status "); w.Hex(t.Status);
                if (Log.Enabled(LogLevel.Debug)) Log.End(ref w);
                return Fail("device refused the features");
            }
            return true;
        }

        /// Sets up queue `q` with up to `maxSize` entries; null (device reset) on failure.
        protected VirtQueue SetupQueue(int q, ushort maxSize)
        {
            ushort size = Transport.QueueMax(q);
            if (size == 0) { Fail("queue missing"); return null; }
            if (size > maxSize) size = maxSize;
            ushort p2 = 1;
            while ((ushort)(p2 << 1) != 0 && (p2 << 1) <= size) p2 <<= 1;
            size = p2;
            byte* mem = Dma.Allocate(VirtQueue.Bytes(size), out ulong phys);
            if (mem == null) { Fail("no memory for a queue"); return null; }
            var vq = new VirtQueue(mem, Dma.DirectMapOffset, size, Has(Virtio.FeatureEventIdx), Has(Virtio.FeatureIndirect));
            Transport.QueueSetup(q, size, vq.DescPhys, vq.AvailPhys, vq.UsedPhys);
            return vq;
        }

        /// DRIVER_OK: the device is live.
        protected void Ready() => Transport.Status = (byte)(Transport.Status | Virtio.StatusDriverOk);

        protected bool Fail(string why)
        {
            Transport.Status = (byte)(Transport.Status | Virtio.StatusFailed);
            var w = Log.Begin(LogLevel.Warn, stackalloc byte[200]);
            w.Str("virtio-"); w.Str(Virtio.TypeName(Transport.DeviceType)); w.Str(" "); Transport.Describe(ref w);
            w.Str(": "); w.Str(why); w.Str("; device reset");
            if (Log.Enabled(LogLevel.Warn)) Log.End(ref w);
            Transport.Reset();
            return false;
        }

        /// Takes every completed request off the queues (interrupt context).
        public abstract void OnInterrupt();
    }

    /// Finds the virtio devices (virtio-mmio from the ACPI DSDT or the command line, PCI), starts a
    /// driver for each type we know, and dispatches their interrupts.
    public static unsafe class VirtioBus
    {
        public const int FirstVector = 0x30;
        const int MaxDevices = 16;
        static readonly VirtioDevice[] _byVector = new VirtioDevice[MaxDevices];
        static int _count;
        /// Devices found, by type, for the boot tests' log line.
        public static int Found;

        /// `cmdline`: the kernel command line (virtio_mmio.device=SIZE@ADDR:IRQ words).
        public static void Probe(byte* cmdline, ulong rsdpPhys)
        {
            if (cmdline != null && Log.Enabled(LogLevel.Debug))
            {
                int len = 0;
                while (cmdline[len] != 0 && len < 400) len++;
                var w = Log.Begin(LogLevel.Debug, stackalloc byte[480]);
                w.Str("command line: "); w.Bytes(new ReadOnlySpan<byte>(cmdline, len));
                Log.End(ref w);
            }
            ulong t0 = Time.Clock.MonotonicNs();
            AcpiDevices.Scan(rsdpPhys, &FoundMmio);
            if (cmdline != null) ProbeMmio(cmdline);
            if (Pci.Present()) ProbePci();
            var tw = Log.Begin(LogLevel.Debug, stackalloc byte[80]);
            tw.Str("virtio: "); tw.Udec((ulong)Found); tw.Str(" devices set up in "); tw.Udec((Time.Clock.MonotonicNs() - t0) / 1000); tw.Str(" us");
            if (Log.Enabled(LogLevel.Debug)) Log.End(ref tw);
        }

        static void ProbeMmio(byte* s)
        {
            int i = 0;
            while (s[i] != 0)
            {
                while (s[i] == ' ') i++;
                int start = i;
                while (s[i] != 0 && s[i] != ' ') i++;
                if (MmioAnnouncement.TryParse(new System.ReadOnlySpan<byte>(s + start, i - start), out ulong size, out ulong addr, out int irq))
                    FoundMmio(size, addr, irq);
            }
        }

        static readonly ulong[] _mmioSeen = new ulong[MaxDevices];
        static int _mmioSeenCount;

        /// A virtio-mmio transport from the command line or the DSDT (each address once).
        static void FoundMmio(ulong size, ulong addr, int irq)
        {
            for (int k = 0; k < _mmioSeenCount; k++) if (_mmioSeen[k] == addr) return;
            if (_mmioSeenCount == MaxDevices) return;
            _mmioSeen[_mmioSeenCount++] = addr;
            var t = MmioTransport.Probe(addr, size, irq);
            if (t != null) Attach(t);
        }

        static void ProbePci()
        {
            // Bus 0 only: where QEMU's pc and q35 put -device without a bus= (a full walk
            // through bridges costs a config-space exit per slot under TCG).
            for (int bus = 0; bus < 1; bus++)
                for (int dev = 0; dev < 32; dev++)
                {
                    uint id = Pci.Read32(bus, dev, 0, 0);
                    if (id == 0xffffffff) continue;
                    int fns = (Pci.Read8(bus, dev, 0, 0x0e) & 0x80) != 0 ? 8 : 1;
                    for (int fn = 0; fn < fns; fn++)
                    {
                        id = Pci.Read32(bus, dev, fn, 0);
                        if ((id & 0xffff) != 0x1af4) continue;
                        ushort device = (ushort)(id >> 16);
                        if (device < 0x1000 || device > 0x107f) continue;
                        var t = PciTransport.Probe(bus, dev, fn, device);
                        if (t != null) Attach(t);
                    }
                }
        }

        static void Attach(VirtioTransport t)
        {
            if (_count == MaxDevices) { Log.Warn("virtio: more than 16 devices; the rest are not used"); return; }
            int vector = FirstVector + _count;
            VirtioDevice d = t.DeviceType switch
            {
                Virtio.DeviceRng => VirtioRng.Start(t, vector),
                Virtio.DeviceBlock => VirtioBlk.Start(t, vector),
                Virtio.DeviceNet => VirtioNet.Start(t, vector),
                Virtio.DeviceConsole => VirtioConsole.Start(t, vector),
                _ => null,
            };
            var w = Log.Begin(LogLevel.Info, stackalloc byte[200]);
            w.Str("virtio-"); w.Str(Virtio.TypeName(t.DeviceType)); w.Str(" "); t.Describe(ref w);
            bool known = t.DeviceType == Virtio.DeviceRng || t.DeviceType == Virtio.DeviceBlock || t.DeviceType == Virtio.DeviceNet || t.DeviceType == Virtio.DeviceConsole;
            if (d == null) { w.Str(known ? ": not started" : ": no driver (type "); if (!known) { w.Udec(t.DeviceType); w.Str(")"); } }
            else
            {
                w.Str(": vector "); w.Hex((ulong)vector);
                if (t.IntxGsi >= 0) { w.Str(" (INTx, IRQ "); w.Udec((ulong)t.IntxGsi); w.Str(")"); }
                w.Str(", features "); w.Hex(d.Features);
            }
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
            if (d == null) { t.Reset(); return; }
            _byVector[_count++] = d;
            Found++;
        }

        /// Routes `t`'s interrupts to `vector` and installs the dispatcher (before DRIVER_OK).
        public static bool Route(VirtioTransport t, int vector)
        {
            Interrupts.IrqHandlers[vector] = &OnInterrupt;
            return t.RouteInterrupt(vector);
        }

        static InterruptFrame* OnInterrupt(InterruptFrame* f)
        {
            int i = (int)f->Vector - FirstVector;
            VirtioDevice d = (uint)i < MaxDevices ? _byVector[i] : null;
            int gsi = d != null ? d.Transport.IntxGsi : -1;
            if (gsi < 0) { if (d != null && d.Transport.AcknowledgeInterrupt()) d.OnInterrupt(); }
            else
            {
                // A shared level-triggered line (PCI INTx): every device on it that says so,
                // each read of its ISR lowering its part of the line before the EOI.
                for (int k = 0; k < _count; k++)
                {
                    var e = _byVector[k];
                    if (e.Transport.IntxGsi == gsi && e.Transport.AcknowledgeInterrupt()) e.OnInterrupt();
                }
            }
            Time.Timer.EndOfInterrupt();
            return f;
        }
    }
}
