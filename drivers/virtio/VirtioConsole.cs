using System;
using Kernel.Arch;
using Kernel.Console;

namespace Kernel.Drivers
{
    /// virtio-console (virtio 1.x, 5.3) with VIRTIO_CONSOLE_F_MULTIPORT when offered: ports
    /// 0 to MaxPorts-1, each with a receive and a transmit queue, and the control queues
    /// through which the device announces ports (PORT_ADD), says whether the host side is
    /// connected (PORT_OPEN) and names them, and the driver says which ports it has opened.
    /// Without MULTIPORT there is port 0 only, which the device treats as open.
    ///
    /// Received bytes wait in the buffers they arrived in (an RxRing per port) until read.
    /// Bytes written are copied into transmit buffers, which the device returns once its
    /// chardev has taken the data. Program stdio uses ports 1 and 2 when ukpack attaches them
    /// (fs/VirtioStdio.cs); the boot test uses port 0.
    public sealed unsafe class VirtioConsole : VirtioDevice
    {
        public const int FeatureSize = 0, FeatureMultiport = 1;
        public const ushort DeviceReady = 0, PortAdd = 1, PortRemove = 2, PortReady = 3, ConsolePortEvent = 4,
            Resize = 5, PortOpen = 6, PortName = 7;
        public const int MaxPorts = 3;
        const int ControlBuffers = 8, ControlBufferBytes = 128, ControlTxSlots = 16;

        public static VirtioConsole First;
        /// Called (interrupt context) when a port received data or its host side opened or closed.
        public delegate*<int, void> OnPortChange;

        public readonly ConsolePort[] Ports = new ConsolePort[MaxPorts];
        public int PortCount;
        public bool Multiport => Has(FeatureMultiport);

        VirtQueue _ctrlTx;
        RxRing _ctrlRx;
        byte* _ctrlTxMem; ulong _ctrlTxPhys;
        readonly bool[] _ctrlTxBusy = new bool[ControlTxSlots];
        int[] _ctrlTxSlotOfHead;
        internal WaitPoint Wait;

        VirtioConsole(VirtioTransport t) : base(t) { }

        public static VirtioConsole Start(VirtioTransport t, int vector)
        {
            if (WaitPoint.Create == null || First != null) return null;
            var d = new VirtioConsole(t);
            if (!d.Begin(1UL << FeatureMultiport)) return null;
            if (!VirtioBus.Route(t, vector)) { d.Fail("no interrupt route"); return null; }
            int ports = 1;
            if (d.Multiport)
            {
                uint max = t.Config32(4);
                ports = max < MaxPorts ? (int)max : MaxPorts;
                if (ports < 1) ports = 1;
            }
            d.Wait = WaitPoint.Create();
            for (int p = 0; p < ports; p++)
            {
                // Port 0 serves the boot test; the others may carry a program's stdio.
                int rxBuffers = p == 0 ? 8 : 32, txBuffers = 8, txBytes = p == 0 ? 4096 : 16384;
                var port = ConsolePort.Create(d, p, rxBuffers, txBuffers, txBytes);
                if (port == null) return null;
                d.Ports[p] = port;
            }
            d.PortCount = ports;
            if (d.Multiport)
            {
                var crxq = d.SetupQueue(2, ControlBuffers);
                d._ctrlTx = d.SetupQueue(3, ControlTxSlots);
                if (crxq == null || d._ctrlTx == null) return null;
                d._ctrlRx = NewRxRing(crxq, t, 2, ControlBuffers, ControlBufferBytes);
                d._ctrlTxMem = Dma.Allocate(ControlTxSlots * 8, out d._ctrlTxPhys);
                if (d._ctrlRx == null || d._ctrlTxMem == null) { d.Fail("no memory"); return null; }
                d._ctrlTxSlotOfHead = new int[d._ctrlTx.Size];
                d._ctrlRx.PostAll();
            }
            else d.Ports[0].Added = d.Ports[0].HostOpen = true;
            for (int p = 0; p < ports; p++) d.Ports[p].Rx.PostAll();
            d.Ready();
            for (int p = 0; p < ports; p++) d.Transport.Notify(RxQueue(p));
            if (d.Multiport)
            {
                d.Transport.Notify(2);
                d.SendControl(0, DeviceReady, 1);      // the device answers with a PORT_ADD per port
            }
            First = d;
            return d;
        }

        /// An RxRing over DMA memory whose reposts notify queue `q` of `t`; null without memory.
        internal static RxRing NewRxRing(VirtQueue vq, VirtioTransport t, int q, int count, int bufferBytes)
        {
            byte* mem = Dma.AllocateUninitialized((ulong)count * (ulong)bufferBytes, out ulong phys);
            if (mem == null) return null;
            return new RxRing(vq, mem, phys, count, bufferBytes, new TransportNotifier(t, q));
        }

        public static int RxQueue(int port) => port == 0 ? 0 : 2 + 2 * port;
        public static int TxQueue(int port) => port == 0 ? 1 : 3 + 2 * port;

        internal VirtQueue Queue(int q, ushort size) => SetupQueue(q, size);

        /// The port numbered `id`, or null when we did not set it up.
        public ConsolePort Port(int id) => (uint)id < (uint)PortCount ? Ports[id] : null;

        void SendControl(uint id, ushort ev, ushort value)
        {
            while (_ctrlTx.TryPopUsed(out int h, out _)) _ctrlTxBusy[_ctrlTxSlotOfHead[h]] = false;
            int slot = -1;
            for (int i = 0; i < ControlTxSlots; i++) if (!_ctrlTxBusy[i]) { slot = i; break; }
            if (slot < 0) { Log.Warn("virtio-console: control queue full; message dropped"); return; }
            byte* m = _ctrlTxMem + 8 * slot;
            *(uint*)m = id; *(ushort*)(m + 4) = ev; *(ushort*)(m + 6) = value;
            Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_ctrlTxPhys + 8UL * (ulong)slot, 8, false);
            int head = _ctrlTx.Add(b);
            if (head < 0) return;
            _ctrlTxSlotOfHead[head] = slot;
            _ctrlTxBusy[slot] = true;
            if (_ctrlTx.ShouldNotify()) Transport.Notify(3);
        }

        void HandleControl()
        {
            _ctrlRx.Collect();
            while (_ctrlRx.Peek(out byte* m, out int len))
            {
                if (len >= 8)
                {
                    uint id = *(uint*)m;
                    ushort ev = *(ushort*)(m + 4), value = *(ushort*)(m + 6);
                    var port = Port((int)id);
                    if (port != null)
                    {
                        switch (ev)
                        {
                            case PortAdd:
                                port.Added = true;
                                SendControl(id, PortReady, 1);
                                SendControl(id, PortOpen, 1);     // we take its data from now on
                                break;
                            case PortRemove: port.Added = false; port.HostOpen = false; break;
                            case PortOpen:
                                port.HostOpen = value != 0;
                                if (OnPortChange != null) OnPortChange(port.Id);
                                break;
                        }
                    }
                }
                _ctrlRx.Release();
            }
        }

        public override void OnInterrupt()
        {
            if (_ctrlRx != null) HandleControl();
            for (int p = 0; p < PortCount; p++)
            {
                var port = Ports[p];
                port.ReclaimTx();
                if (port.Rx.Collect() && OnPortChange != null) OnPortChange(p);
            }
            Wait.WakeAll();
        }

        // Port 0, as the boot test uses it.
        public void Write(ReadOnlySpan<byte> data) => Ports[0].Write(data);
        public void Drain() => Ports[0].Drain();
        public int Read(Span<byte> dst) => Ports[0].Read(dst);
        public ulong BytesIn => Ports[0].Rx.BytesReceived;
        public ulong BytesOut => Ports[0].BytesOut;
    }

    /// One port of a virtio-console: its receive buffers and its transmit buffers.
    public sealed unsafe class ConsolePort
    {
        public readonly int Id;
        public readonly RxRing Rx;
        /// The device announced the port (PORT_ADD), and whether its host side is connected.
        public bool Added, HostOpen;
        public ulong BytesOut;
        public readonly int TxBytes;
        readonly VirtioConsole _dev;
        readonly VirtQueue _tx;
        readonly byte* _txMem; readonly ulong _txPhys;
        readonly bool[] _txBusy;
        readonly int[] _txSlotOfHead;
        readonly int _txCount;

        ConsolePort(VirtioConsole dev, int id, RxRing rx, VirtQueue tx, int txCount, int txBytes, byte* txMem, ulong txPhys)
        {
            _dev = dev; Id = id; Rx = rx; _tx = tx; _txCount = txCount; TxBytes = txBytes; _txMem = txMem; _txPhys = txPhys;
            _txBusy = new bool[txCount];
            _txSlotOfHead = new int[tx.Size];
        }

        internal static ConsolePort Create(VirtioConsole dev, int id, int rxBuffers, int txBuffers, int txBytes)
        {
            var rxq = dev.Queue(VirtioConsole.RxQueue(id), (ushort)rxBuffers);
            var txq = dev.Queue(VirtioConsole.TxQueue(id), (ushort)txBuffers);
            if (rxq == null || txq == null) return null;
            var rx = VirtioConsole.NewRxRing(rxq, dev.Transport, VirtioConsole.RxQueue(id), rxBuffers, 4096);
            if (txBuffers > txq.Size) txBuffers = txq.Size;
            byte* txMem = Dma.AllocateUninitialized((ulong)txBuffers * (ulong)txBytes, out ulong txPhys);
            if (rx == null || txMem == null) return null;
            return new ConsolePort(dev, id, rx, txq, txBuffers, txBytes, txMem, txPhys);
        }

        internal void ReclaimTx()
        {
            while (_tx.TryPopUsed(out int head, out _)) _txBusy[_txSlotOfHead[head]] = false;
        }

        int FreeSlot()
        {
            for (int i = 0; i < _txCount; i++) if (!_txBusy[i]) return i;
            ReclaimTx();
            for (int i = 0; i < _txCount; i++) if (!_txBusy[i]) return i;
            return -1;
        }

        /// A transmit buffer of TxBytes to fill; blocks (uninterruptibly) while all are in
        /// flight. Give it back with Submit or Cancel.
        public byte* Acquire(out int slot)
        {
            while ((slot = FreeSlot()) < 0) _dev.Wait.Wait();
            _txBusy[slot] = true;
            return _txMem + (ulong)slot * (ulong)TxBytes;
        }

        public void Cancel(int slot) => _txBusy[slot] = false;

        /// Sends the first `length` bytes of the slot's buffer.
        public void Submit(int slot, int length)
        {
            Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_txPhys + (ulong)slot * (ulong)TxBytes, (uint)length, false);
            int head = _tx.Add(b);
            if (head < 0) { _txBusy[slot] = false; return; }     // cannot happen: a slot per ring entry
            _txSlotOfHead[head] = slot;
            BytesOut += (ulong)length;
            if (_tx.ShouldNotify()) _dev.Transport.Notify(VirtioConsole.TxQueue(Id));
        }

        /// Writes all of `data` (kernel memory), blocking while every transmit buffer is in flight.
        public void Write(ReadOnlySpan<byte> data)
        {
            int done = 0;
            while (done < data.Length)
            {
                byte* p = Acquire(out int slot);
                int n = data.Length - done < TxBytes ? data.Length - done : TxBytes;
                data.Slice(done, n).CopyTo(new Span<byte>(p, n));
                Submit(slot, n);
                done += n;
            }
        }

        /// Returns once the device has taken every byte written (before a power-off). Works
        /// from any context: it halts until an interrupt rather than blocking a thread.
        public void Drain()
        {
            while (true)
            {
                ReclaimTx();
                bool busy = false;
                for (int i = 0; i < _txCount; i++) busy |= _txBusy[i];
                if (!busy) return;
                Cpu.Halt();                  // sti; hlt: the device's interrupt or the timer
                Cpu.DisableInterrupts();
            }
        }

        /// Copies received bytes into `dst` without blocking; the count (0 when none).
        public int Read(Span<byte> dst)
        {
            Rx.Collect();
            int done = 0;
            while (done < dst.Length && Rx.Peek(out byte* p, out int len))
            {
                int n = dst.Length - done < len ? dst.Length - done : len;
                new ReadOnlySpan<byte>(p, n).CopyTo(dst.Slice(done));
                Rx.Take(n);
                done += n;
            }
            return done;
        }
    }

    sealed class TransportNotifier : QueueNotifier
    {
        readonly VirtioTransport _t;
        readonly int _q;
        public TransportNotifier(VirtioTransport t, int q) { _t = t; _q = q; }
        public override void Notify() => _t.Notify(_q);
    }
}
