using System;
using Kernel.Console;

namespace Kernel.Drivers
{
    /// virtio-console (virtio 1.x, 5.3), port 0 only: its receive queue (0) and transmit
    /// queue (1), without VIRTIO_CONSOLE_F_MULTIPORT (QEMU then treats port 0 as open).
    /// Bytes written are copied into transmit buffers; received bytes wait in the buffers
    /// they arrived in until read, then the buffer is reposted. Program stdio does not use
    /// it yet (the serial console still carries it).
    public sealed unsafe class VirtioConsole : VirtioDevice
    {
        const int BufferBytes = 4096, RxBuffers = 8, TxBuffers = 8;
        public static VirtioConsole First;
        public ulong BytesIn, BytesOut;

        VirtQueue _rx, _tx;
        WaitPoint _wait;
        byte* _rxMem, _txMem; ulong _rxPhys, _txPhys;
        readonly bool[] _txBusy = new bool[TxBuffers];
        readonly int[] _txSlotOfHead = new int[256], _rxIndexOfHead = new int[256];
        readonly int[] _ready = new int[RxBuffers], _readyLen = new int[RxBuffers];
        int _readyHead, _readyCount, _readOffset;

        VirtioConsole(VirtioTransport t) : base(t) { }

        public static VirtioConsole Start(VirtioTransport t, int vector)
        {
            if (WaitPoint.Create == null || First != null) return null;
            var d = new VirtioConsole(t);
            if (!d.Begin(0)) return null;
            if (!VirtioBus.Route(t, vector)) { d.Fail("no interrupt route"); return null; }
            d._rx = d.SetupQueue(0, RxBuffers);
            if (d._rx == null) return null;
            d._tx = d.SetupQueue(1, TxBuffers);
            if (d._tx == null) return null;
            d._rxMem = Dma.AllocateUninitialized((ulong)RxBuffers * BufferBytes, out d._rxPhys);
            d._txMem = Dma.AllocateUninitialized((ulong)TxBuffers * BufferBytes, out d._txPhys);
            if (d._rxMem == null || d._txMem == null) { d.Fail("no memory"); return null; }
            d._wait = WaitPoint.Create();
            for (int i = 0; i < d._rx.Size && i < RxBuffers; i++) d.PostRx(i);
            d.Ready();
            d.Transport.Notify(0);
            First = d;
            return d;
        }

        void PostRx(int i)
        {
            Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_rxPhys + (ulong)i * BufferBytes, BufferBytes, true);
            int head = _rx.Add(b);
            if (head >= 0) _rxIndexOfHead[head] = i;
        }

        /// Writes all of `data`, blocking while every transmit buffer is in flight.
        public void Write(ReadOnlySpan<byte> data)
        {
            int done = 0;
            while (done < data.Length)
            {
                int slot = -1;
                while (true)
                {
                    for (int i = 0; i < TxBuffers && i < _tx.Size; i++) if (!_txBusy[i]) { slot = i; break; }
                    if (slot >= 0) break;
                    _wait.Wait();
                }
                int n = data.Length - done < BufferBytes ? data.Length - done : BufferBytes;
                byte* p = _txMem + slot * BufferBytes;
                for (int k = 0; k < n; k++) p[k] = data[done + k];
                Span<VirtBuffer> b = stackalloc VirtBuffer[1];
                b[0] = new VirtBuffer(_txPhys + (ulong)slot * BufferBytes, (uint)n, false);
                int head = _tx.Add(b);
                _txSlotOfHead[head] = slot;
                _txBusy[slot] = true;
                if (_tx.ShouldNotify()) Transport.Notify(1);
                done += n;
                BytesOut += (ulong)n;
            }
        }

        /// Blocks until the device has taken every byte written (it returns a transmit
        /// buffer once its chardev has the data): call before powering off.
        public void Drain()
        {
            while (true)
            {
                bool busy = false;
                for (int i = 0; i < TxBuffers; i++) busy |= _txBusy[i];
                if (!busy) return;
                _wait.Wait();
            }
        }

        /// Bytes received and not yet read.
        public int Available
        {
            get
            {
                int n = 0;
                for (int k = 0; k < _readyCount; k++) n += _readyLen[(_readyHead + k) % RxBuffers];
                return n - _readOffset;
            }
        }

        /// Copies received bytes into `dst` without blocking; the count (0 when none).
        public int Read(Span<byte> dst)
        {
            int done = 0;
            while (done < dst.Length && _readyCount > 0)
            {
                int i = _ready[_readyHead], len = _readyLen[_readyHead];
                byte* p = _rxMem + i * BufferBytes;
                while (done < dst.Length && _readOffset < len) dst[done++] = p[_readOffset++];
                if (_readOffset == len)
                {
                    _readyHead = (_readyHead + 1) % RxBuffers; _readyCount--; _readOffset = 0;
                    PostRx(i);
                    if (_rx.ShouldNotify()) Transport.Notify(0);
                }
            }
            return done;
        }

        /// Blocks until input is waiting.
        public void WaitForInput() { while (_readyCount == 0) _wait.Wait(); }

        public override void OnInterrupt()
        {
            bool any = false;
            while (_tx.TryPopUsed(out int head, out _)) { _txBusy[_txSlotOfHead[head]] = false; any = true; }
            while (_rx.TryPopUsed(out int head, out uint written))
            {
                int i = _rxIndexOfHead[head];
                if (written == 0 || written > BufferBytes) { PostRx(i); continue; }
                int e = (_readyHead + _readyCount) % RxBuffers;
                _ready[e] = i; _readyLen[e] = (int)written; _readyCount++;
                BytesIn += written;
                any = true;
            }
            if (any) _wait.WakeAll();
        }
    }
}
