using System;
using Kernel.Console;

namespace Kernel.Drivers
{
    /// virtio-net (virtio 1.x, 5.1): raw Ethernet frames in and out, the MAC address from
    /// the config space, link status. Queue 0 receives into a ring of device-writable
    /// buffers that are reposted as soon as their frame is taken; queue 1 transmits from
    /// a ring of driver-owned buffers. No offloads, no mergeable buffers, no IP stack:
    /// the layer above (a network stack, later) takes frames from here.
    public sealed unsafe class VirtioNet : VirtioDevice
    {
        public const int FeatureMac = 5, FeatureStatus = 16;
        public const int HeaderBytes = 12;               // virtio_net_hdr with num_buffers (VERSION_1)
        public const int BufferBytes = 2048;             // a 1514-byte frame plus the header
        public const int MaxFrame = BufferBytes - HeaderBytes;
        const int RxBuffers = 64, TxBuffers = 64;

        public static VirtioNet First;
        public readonly byte[] Mac = new byte[6];
        public ulong FramesIn, FramesOut;

        VirtQueue _rx, _tx;
        WaitPoint _wait;
        byte* _rxMem, _txMem; ulong _rxPhys, _txPhys;
        readonly bool[] _txBusy = new bool[TxBuffers];
        readonly int[] _txSlotOfHead = new int[256];
        // Received frames not yet taken: buffer index and length, in arrival order.
        readonly int[] _ready = new int[RxBuffers], _readyLen = new int[RxBuffers];
        int _readyHead, _readyCount;

        VirtioNet(VirtioTransport t) : base(t) { }

        public static VirtioNet Start(VirtioTransport t, int vector)
        {
            if (WaitPoint.Create == null) return null;
            var d = new VirtioNet(t);
            if (!d.Begin((1UL << FeatureMac) | (1UL << FeatureStatus))) return null;
            if (!VirtioBus.Route(t, vector)) { d.Fail("no interrupt route"); return null; }
            d._rx = d.SetupQueue(0, RxBuffers);
            if (d._rx == null) return null;
            d._tx = d.SetupQueue(1, TxBuffers);
            if (d._tx == null) return null;
            d._rxMem = Dma.Allocate((ulong)RxBuffers * BufferBytes, out d._rxPhys);
            d._txMem = Dma.Allocate((ulong)TxBuffers * BufferBytes, out d._txPhys);
            if (d._rxMem == null || d._txMem == null) { d.Fail("no memory"); return null; }
            if (d.Has(FeatureMac)) for (int i = 0; i < 6; i++) d.Mac[i] = t.Config8(i);
            d._wait = WaitPoint.Create();
            for (int i = 0; i < d._rx.Size && i < RxBuffers; i++) d.PostRx(i);
            d.Ready();
            d.Transport.Notify(0);
            First ??= d;
            var w = Log.Begin(LogLevel.Info, stackalloc byte[120]);
            w.Str("virtio-net: mac ");
            for (int i = 0; i < 6; i++) { if (i > 0) w.Byte((byte)':'); w.Byte((byte)"0123456789abcdef"[d.Mac[i] >> 4]); w.Byte((byte)"0123456789abcdef"[d.Mac[i] & 15]); }
            w.Str(d.LinkUp ? ", link up" : ", link down");
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
            return d;
        }

        /// Link status from the config space (always up when the device does not report it).
        public bool LinkUp => !Has(FeatureStatus) || (Transport.Config8(6) & 1) != 0;

        void PostRx(int i)
        {
            Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_rxPhys + (ulong)i * BufferBytes, BufferBytes, true);
            int head = _rx.Add(b);
            if (head >= 0) _rxIndexOfHead[head] = i;
        }
        readonly int[] _rxIndexOfHead = new int[256];

        /// Called from the interrupt when frames arrived or transmit buffers came back (the
        /// network stack's thread wakes on it).
        public static delegate*<void> OnActivity;

        /// Sends one frame (Ethernet header onwards, at most MaxFrame bytes); blocks while
        /// every transmit buffer is in flight. False when the frame is too long.
        public bool Send(ReadOnlySpan<byte> frame)
        {
            if (frame.Length > MaxFrame || frame.Length < 14) return false;
            while (FreeTx() < 0) _wait.Wait();
            return TrySend(frame);
        }

        /// Sends one frame if a transmit buffer is free, without blocking; false otherwise
        /// (or when the frame is too long).
        public bool TrySend(ReadOnlySpan<byte> frame)
        {
            if (frame.Length > MaxFrame || frame.Length < 14) return false;
            int slot = FreeTx();
            if (slot < 0) return false;
            byte* p = _txMem + slot * BufferBytes;
            for (int i = 0; i < HeaderBytes; i++) p[i] = 0;          // no offloads
            for (int i = 0; i < frame.Length; i++) p[HeaderBytes + i] = frame[i];
            Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_txPhys + (ulong)slot * BufferBytes, (uint)(HeaderBytes + frame.Length), false);
            int head = _tx.Add(b);
            _txSlotOfHead[head] = slot;
            _txBusy[slot] = true;
            FramesOut++;
            if (_tx.ShouldNotify()) Transport.Notify(1);
            return true;
        }

        int FreeTx()
        {
            for (int i = 0; i < TxBuffers && i < _tx.Size; i++) if (!_txBusy[i]) return i;
            return -1;
        }

        /// Takes the next received frame into `dst`; its length, or 0 when none is waiting
        /// (-1 when `dst` is too small: the frame is dropped).
        public int TryReceive(Span<byte> dst)
        {
            if (_readyCount == 0) return 0;
            int i = _ready[_readyHead], len = _readyLen[_readyHead];
            _readyHead = (_readyHead + 1) % RxBuffers; _readyCount--;
            int n = len - HeaderBytes;
            byte* p = _rxMem + i * BufferBytes + HeaderBytes;
            if (n > dst.Length) n = -1;
            else for (int k = 0; k < n; k++) dst[k] = p[k];
            PostRx(i);
            if (_rx.ShouldNotify()) Transport.Notify(0);
            return n;
        }

        public bool FrameWaiting => _readyCount > 0;

        /// Whether frames are still in the transmit ring (the device has not used them).
        public bool Transmitting { get { for (int i = 0; i < TxBuffers; i++) if (_txBusy[i]) return true; return false; } }

        /// Blocks until a frame is waiting.
        public void WaitForFrame() { while (_readyCount == 0) _wait.Wait(); }

        public override void OnInterrupt()
        {
            bool any = false;
            while (_tx.TryPopUsed(out int head, out _)) { _txBusy[_txSlotOfHead[head]] = false; any = true; }
            while (_rx.TryPopUsed(out int head, out uint written))
            {
                int i = _rxIndexOfHead[head];
                if (written <= HeaderBytes || _readyCount == RxBuffers) { PostRx(i); continue; }
                int e = (_readyHead + _readyCount) % RxBuffers;
                _ready[e] = i; _readyLen[e] = (int)written; _readyCount++;
                FramesIn++;
                any = true;
            }
            if (any) { _wait.WakeAll(); if (OnActivity != null) OnActivity(); }
        }
    }
}
