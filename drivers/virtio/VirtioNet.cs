using System;
using Kernel.Console;

namespace Kernel.Drivers
{
    /// virtio-net (virtio 1.x, 5.1): raw Ethernet frames in and out, the MAC address from
    /// the config space, link status. Queue 0 receives into device-writable buffers kept
    /// posted by an RxRing (with VIRTIO_NET_F_MRG_RXBUF a frame may span several: the
    /// header's num_buffers says how many, and they are joined here); queue 1 transmits
    /// from a ring of driver-owned buffers. Checksum offload both ways when offered:
    /// VIRTIO_NET_F_CSUM (frames sent with NEEDS_CSUM, csum_start, csum_offset: the device
    /// finishes the TCP/UDP checksum) and VIRTIO_NET_F_GUEST_CSUM (received frames flagged
    /// DATA_VALID or NEEDS_CSUM need no verification). No segmentation offloads. The
    /// network stack (net/NetKernel.cs) takes frames from here.
    public sealed unsafe class VirtioNet : VirtioDevice
    {
        public const int FeatureCsum = 0, FeatureGuestCsum = 1, FeatureMac = 5, FeatureMrgRxbuf = 15, FeatureStatus = 16;
        public const int FlagNeedsCsum = 1, FlagDataValid = 2;      // virtio_net_hdr.flags
        public const int HeaderBytes = 12;               // virtio_net_hdr with num_buffers (VERSION_1)
        public const int BufferBytes = 2048;             // a 1514-byte frame plus the header
        public const int MaxFrame = BufferBytes - HeaderBytes;
        const int RxBuffers = 64, TxBuffers = 64;

        public static VirtioNet First;
        public readonly byte[] Mac = new byte[6];
        public ulong FramesIn, FramesOut;

        VirtQueue _rx, _tx;
        RxRing _ring;
        WaitPoint _wait;
        byte* _rxMem, _txMem; ulong _rxPhys, _txPhys;
        readonly bool[] _txBusy = new bool[TxBuffers];
        readonly int[] _txSlotOfHead = new int[256];
        public ulong FramesMerged, FramesChecksummed;      // received over several buffers; without verification needed
        /// Profiling counters (docs/net.md "Performance"): interrupts taken, and notifications
        /// (each one a VM exit) for the transmit queue and for receive buffers given back.
        public ulong Interrupts, TxNotifies;
        public ulong RxNotifies => _rxNotifier.Count;
        RxNotifier _rxNotifier;

        sealed class RxNotifier : QueueNotifier
        {
            readonly VirtioTransport _t;
            public ulong Count;
            public RxNotifier(VirtioTransport t) { _t = t; }
            public override void Notify() { Count++; _t.Notify(0); }
        }

        VirtioNet(VirtioTransport t) : base(t) { }

        /// Whether frames sent may carry a partial TCP/UDP checksum (VIRTIO_NET_F_CSUM).
        public bool ChecksumOffload => Has(FeatureCsum);
        /// Whether received frames say their checksum is good (VIRTIO_NET_F_GUEST_CSUM).
        public bool GuestChecksum => Has(FeatureGuestCsum);
        public bool Mergeable => Has(FeatureMrgRxbuf);

        public static VirtioNet Start(VirtioTransport t, int vector)
        {
            if (WaitPoint.Create == null) return null;
            var d = new VirtioNet(t);
            if (!d.Begin((1UL << FeatureMac) | (1UL << FeatureStatus) | (1UL << FeatureMrgRxbuf) | (1UL << FeatureCsum) | (1UL << FeatureGuestCsum))) return null;
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
            d._rxNotifier = new RxNotifier(t);
            d._ring = new RxRing(d._rx, d._rxMem, d._rxPhys, RxBuffers, BufferBytes, d._rxNotifier);
            d._ring.PostAll();
            d._tx.SetInterrupts(false);      // sent buffers are taken back by the next send (ReclaimTx)
            d._txSlots = d._tx.Size < TxBuffers ? d._tx.Size : TxBuffers;
            d._txFree = d._txSlots;
            d.Ready();
            d.Transport.Notify(0);
            First ??= d;
            var w = Log.Begin(LogLevel.Info, stackalloc byte[120]);
            w.Str("virtio-net: mac ");
            for (int i = 0; i < 6; i++) { if (i > 0) w.Byte((byte)':'); w.Byte((byte)"0123456789abcdef"[d.Mac[i] >> 4]); w.Byte((byte)"0123456789abcdef"[d.Mac[i] & 15]); }
            w.Str(d.LinkUp ? ", link up" : ", link down");
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
            var f = Log.Begin(LogLevel.Debug, stackalloc byte[160]);
            f.Str("virtio-net: offered "); f.Hex(t.DeviceFeatures()); f.Str(", negotiated");
            if (d.Mergeable) f.Str(" MRG_RXBUF");
            if (d.ChecksumOffload) f.Str(" CSUM");
            if (d.GuestChecksum) f.Str(" GUEST_CSUM");
            if (!d.Mergeable && !d.ChecksumOffload && !d.GuestChecksum) f.Str(" no offloads");
            if (Log.Enabled(LogLevel.Debug)) Log.End(ref f);
            return d;
        }

        /// Link status from the config space (always up when the device does not report it).
        public bool LinkUp => !Has(FeatureStatus) || (Transport.Config8(6) & 1) != 0;

        /// Called from the interrupt when frames arrived or transmit buffers came back (the
        /// network stack's thread wakes on it).
        public static delegate*<void> OnActivity;

        /// Sends one frame (Ethernet header onwards, at most MaxFrame bytes); blocks while
        /// every transmit buffer is in flight. False when the frame is too long.
        public bool Send(ReadOnlySpan<byte> frame)
        {
            if (frame.Length > MaxFrame || frame.Length < 14) return false;
            while (FreeTx() < 0) { WantTxInterrupt(); if (FreeTx() < 0) _wait.Wait(); }
            return TrySend(frame);
        }

        /// While every transmit buffer is in flight, the caller (or the network stack's
        /// backlog) needs to hear when one comes back: the interrupt is asked for then only.
        public void WantTxInterrupt()
        {
            _tx.SetInterrupts(true);
            ReclaimTx();                     // what completed before it was asked for raised none
        }

        /// Takes back the transmit buffers the device has sent. Transmit interrupts are off
        /// unless asked for (WantTxInterrupt), so every send and check calls this.
        bool ReclaimTx()
        {
            bool any = false;
            while (_tx.TryPopUsed(out int head, out _)) { _txBusy[_txSlotOfHead[head]] = false; _txFree++; any = true; }
            return any;
        }
        int _txFree, _txSlots;      // free transmit buffers; how many are used (at most the queue's size)

        /// Batching for the network stack's thread: while held, sends queue their frames
        /// without notifying the device (a VM exit each under TCG); Release notifies once
        /// for all of them.
        public void HoldNotify() => _hold = true;
        public void ReleaseNotify()
        {
            _hold = false;
            if (_notifyHeld) { _notifyHeld = false; if (_tx.ShouldNotify()) { TxNotifies++; Transport.Notify(1); } }
        }
        bool _hold, _notifyHeld;

        /// Sends one frame if a transmit buffer is free, without blocking; false otherwise
        /// (or when the frame is too long).
        public bool TrySend(ReadOnlySpan<byte> frame) => TrySend(frame, 0, 0);

        /// As TrySend; with `csumStart` > 0 (only when ChecksumOffload) the device finishes
        /// the checksum whose partial sum is at `csumStart + csumOffset` (NEEDS_CSUM).
        public bool TrySend(ReadOnlySpan<byte> frame, int csumStart, int csumOffset)
        {
            if (frame.Length > MaxFrame || frame.Length < 14) return false;
            int slot = FreeTx();
            if (slot < 0)
            {
                // Full: the device must hear of what is queued (even while held) to give buffers back.
                if (_notifyHeld) { _notifyHeld = false; if (_tx.ShouldNotify()) { TxNotifies++; Transport.Notify(1); } }
                WantTxInterrupt();
                slot = FreeTx();
                if (slot < 0) return false;
            }
            byte* p = _txMem + slot * BufferBytes;
            for (int i = 0; i < HeaderBytes; i++) p[i] = 0;
            if (csumStart > 0)
            {
                p[0] = FlagNeedsCsum;
                p[6] = (byte)csumStart; p[7] = (byte)(csumStart >> 8);
                p[8] = (byte)csumOffset; p[9] = (byte)(csumOffset >> 8);
            }
            frame.CopyTo(new Span<byte>(p + HeaderBytes, frame.Length));
            Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_txPhys + (ulong)slot * BufferBytes, (uint)(HeaderBytes + frame.Length), false);
            int head = _tx.Add(b);
            _txSlotOfHead[head] = slot;
            _txBusy[slot] = true; _txFree--;
            FramesOut++;
            if (_hold) _notifyHeld = true;
            else if (_tx.ShouldNotify()) { TxNotifies++; Transport.Notify(1); }
            return true;
        }

        int FreeTx()
        {
            if (_txFree == 0) ReclaimTx();
            if (_txFree == 0) return -1;
            for (int i = _txNext, k = 0; k < _txSlots; k++, i = i + 1 == _txSlots ? 0 : i + 1)
                if (!_txBusy[i]) { _txNext = i + 1 == _txSlots ? 0 : i + 1; return i; }
            return -1;
        }
        int _txNext;

        /// Takes the next received frame into `dst`; its length, or 0 when none is waiting
        /// (-1 when it is malformed or `dst` is too small: the frame is dropped).
        /// `checksummed`: the device flagged it DATA_VALID or NEEDS_CSUM (GUEST_CSUM only).
        public int TryReceive(Span<byte> dst, out bool checksummed)
        {
            checksummed = false;
            int buffers = BuffersOfNext();
            if (buffers == 0) return 0;
            byte* h = _ring.Data(0);
            int n = -1;
            if (_ring.Length(0) >= HeaderBytes)
            {
                n = 0;
                for (int k = 0; k < buffers && n >= 0; k++)
                {
                    int skip = k == 0 ? HeaderBytes : 0, len = _ring.Length(k) - skip;
                    if (n + len > dst.Length) { n = -1; break; }
                    byte* p = _ring.Data(k) + skip;
                    new ReadOnlySpan<byte>(p, len).CopyTo(dst.Slice(n));
                    n += len;
                }
                if (n < 14) n = -1;
                checksummed = GuestChecksum && (h[0] & (FlagDataValid | FlagNeedsCsum)) != 0;
                if (buffers > 1) FramesMerged++;
                if (n > 0) { FramesIn++; if (checksummed) FramesChecksummed++; }
            }
            for (int k = 0; k < buffers; k++) _ring.Release();
            return n;
        }

        public int TryReceive(Span<byte> dst) => TryReceive(dst, out _);

        /// The next received frame in place, when it lies in one buffer (always without
        /// MRG_RXBUF, and for every frame of at most MaxFrame bytes with it): its length (0
        /// when none is waiting; -1 when it spans several buffers, which TryReceive then
        /// copies out) and where it is. The caller gives the buffer back with ReleaseFrame
        /// before it looks at the next one. Saves the copy TryReceive makes.
        public int PeekFrame(out byte* frame, out bool checksummed)
        {
            frame = null; checksummed = false;
            int buffers = BuffersOfNext();
            if (buffers == 0) return 0;
            if (buffers > 1) return -1;
            int n = _ring.Length(0) - HeaderBytes;
            byte* h = _ring.Data(0);
            if (n < 14) { _ring.Release(); return PeekFrame(out frame, out checksummed); }   // malformed: dropped
            frame = h + HeaderBytes;
            checksummed = GuestChecksum && (h[0] & (FlagDataValid | FlagNeedsCsum)) != 0;
            FramesIn++; if (checksummed) FramesChecksummed++;
            return n;
        }

        /// Gives the frame PeekFrame returned back to the device.
        public void ReleaseFrame() => _ring.Release();

        /// How many filled buffers the oldest waiting frame takes (0: none, or not all of
        /// its buffers are filled yet). Without MRG_RXBUF every frame is one buffer.
        int BuffersOfNext()
        {
            if (_ring.ReadyCount == 0) _ring.Collect();     // receive interrupts may be off (Polled)
            if (_ring.ReadyCount == 0) return 0;
            if (!Mergeable || _ring.Length(0) < HeaderBytes) return 1;
            byte* h = _ring.Data(0);
            int n = h[10] | h[11] << 8;
            if (n < 1 || n > _ring.Count) return 1;        // malformed: taken (and dropped) alone
            if (n > _ring.ReadyCount) _ring.Collect();
            return n <= _ring.ReadyCount ? n : 0;
        }

        public bool FrameWaiting => BuffersOfNext() > 0;

        /// Whether frames are still in the transmit ring (the device has not used them).
        public bool Transmitting { get { ReclaimTx(); return _txFree < _txSlots; } }
        /// Frames in the transmit ring the device has not given back yet.
        public int TxInFlight { get { ReclaimTx(); return _txSlots - _txFree; } }

        /// Blocks until a frame is waiting.
        public void WaitForFrame() { while (!ArmReceive()) _wait.Wait(); }

        public override void OnInterrupt()
        {
            Interrupts++;
            bool any = false;
            if (ReclaimTx()) { any = true; _tx.SetInterrupts(false); }
            if (_ring.Collect()) { any = true; if (Polled) _rx.SetInterrupts(false); }
            if (any) { _wait.WakeAll(); if (OnActivity != null) OnActivity(); }
        }

        /// Set by a reader that polls (the network stack's thread, as NAPI does): after an
        /// interrupt brought frames, receive interrupts stay off while it takes them, and
        /// it turns them back on (ArmReceive) before it sleeps.
        public bool Polled;

        /// Receive interrupts on again; whether frames came meanwhile (then the caller
        /// should take them instead of sleeping).
        public bool ArmReceive()
        {
            _rx.SetInterrupts(true);
            return FrameWaiting;
        }
    }
}
