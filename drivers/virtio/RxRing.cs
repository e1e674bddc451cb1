namespace Kernel.Drivers
{
    /// Device-writable buffers kept posted on a receive queue: `Count` buffers of
    /// `BufferBytes` each in one DMA allocation. The interrupt handler (or a reader that
    /// checks first) collects what the device filled, in the order it filled them; the
    /// reader takes the data from the oldest filled buffer and, once it is used up, the
    /// buffer goes back to the device. Drivers that keep receive buffers posted share it
    /// (virtio-console's ports; virtio-net's frames).
    ///
    /// The kernel runs with interrupts off, so the interrupt handler (at idle or from user
    /// mode) and the reader never touch the queue at the same time. The memory comes from
    /// the driver (DMA frames; a plain buffer in the host tests).
    public sealed unsafe class RxRing
    {
        public readonly int Count, BufferBytes;
        readonly VirtQueue _q;
        readonly QueueNotifier _notify;
        readonly byte* _mem;
        readonly ulong _phys;
        readonly int[] _bufferOfHead;
        // Filled buffers, oldest first: buffer index and bytes (which the reader may lower,
        // e.g. after decoding in place), and how much of the oldest is taken.
        readonly int[] _ready, _readyLen;
        int _readyHead, _readyCount, _offset;
        public ulong BytesReceived;
        /// How many of the oldest filled buffers the reader has already looked at (e.g.
        /// decoded in place); lowered as they are given back.
        public int Processed;

        /// `count` buffers of `bufferBytes` at `mem` (device address `phys`), at most one per
        /// ring slot of `q`; `notify` tells the device about reposted buffers (the transport's
        /// Notify for the queue). Pure ring logic: host tests drive it with a simulated device.
        public RxRing(VirtQueue q, byte* mem, ulong phys, int count, int bufferBytes, QueueNotifier notify)
        {
            if (count > q.Size) count = q.Size;
            _q = q; _notify = notify;
            Count = count; BufferBytes = bufferBytes; _mem = mem; _phys = phys;
            _bufferOfHead = new int[q.Size];
            _ready = new int[count]; _readyLen = new int[count];
        }

        /// Posts every buffer (once, before DRIVER_OK or right after); the device is told
        /// when it next looks at the queue or by Notify.
        public void PostAll()
        {
            for (int i = 0; i < Count; i++) Post(i);
        }

        void Post(int i)
        {
            System.Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_phys + (ulong)i * (ulong)BufferBytes, (uint)BufferBytes, true);
            int head = _q.Add(b);
            if (head >= 0) _bufferOfHead[head] = i;
        }

        public void Notify() { if (_q.ShouldNotify()) _notify.Notify(); }

        /// Takes the buffers the device has filled onto the ready list; whether there were
        /// any. Empty deliveries go straight back.
        public bool Collect()
        {
            bool any = false, reposted = false;
            while (_q.TryPopUsed(out int head, out uint written))
            {
                int i = _bufferOfHead[head];
                if (written == 0 || written > (uint)BufferBytes || _readyCount == Count) { Post(i); reposted = true; continue; }
                int e = (_readyHead + _readyCount) % Count;
                _ready[e] = i; _readyLen[e] = (int)written; _readyCount++;
                BytesReceived += written;
                any = true;
            }
            if (reposted) Notify();
            return any;
        }

        /// Filled buffers not yet given back (the oldest possibly partly taken).
        public int ReadyCount => _readyCount;

        /// The k-th filled buffer (0 the oldest), from its start, and its length; the
        /// reader may shorten it (SetLength) before taking from it.
        public byte* Data(int k) => _mem + (ulong)_ready[(_readyHead + k) % Count] * (ulong)BufferBytes;
        public int Length(int k) => _readyLen[(_readyHead + k) % Count];
        public void SetLength(int k, int length) => _readyLen[(_readyHead + k) % Count] = length;

        /// Bytes not yet taken, over all filled buffers.
        public long Available
        {
            get
            {
                long n = 0;
                for (int k = 0; k < _readyCount; k++) n += _readyLen[(_readyHead + k) % Count];
                return n - _offset;
            }
        }

        /// The untaken part of the oldest filled buffer (false when none is ready). A buffer
        /// left empty (length 0) is given back first.
        public bool Peek(out byte* data, out int length)
        {
            while (_readyCount > 0 && _offset >= _readyLen[_readyHead]) Release();
            if (_readyCount == 0) { data = null; length = 0; return false; }
            data = Data(0) + _offset;
            length = _readyLen[_readyHead] - _offset;
            return true;
        }

        /// Marks `n` bytes of the oldest buffer taken; gives it back to the device when done.
        public void Take(int n)
        {
            _offset += n;
            if (_readyCount > 0 && _offset >= _readyLen[_readyHead]) Release();
        }

        /// Gives the oldest filled buffer back to the device, whatever is left in it
        /// (a frame driver takes whole buffers).
        public void Release()
        {
            if (_readyCount == 0) return;
            int i = _ready[_readyHead];
            _readyHead = (_readyHead + 1) % Count; _readyCount--; _offset = 0;
            if (Processed > 0) Processed--;
            Post(i);
            Notify();
        }
    }

    /// Tells the device a queue has new buffers (the transport's Notify for that queue).
    public abstract class QueueNotifier
    {
        public abstract void Notify();
    }
}
