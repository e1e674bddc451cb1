using Kernel.Console;

namespace Kernel.Drivers
{
    /// virtio-blk (virtio 1.x, 5.2): read, write, flush and discard requests on one queue,
    /// several in flight. The driver owns a fixed set of request slots, each with a DMA
    /// bounce buffer of SlotBytes: the file layer fills or drains a slot's buffer, starts
    /// the request, and blocks until the interrupt handler marks it done. The state of
    /// in-flight requests lives in managed arrays indexed by slot and descriptor id, never
    /// only in the DMA memory the collector does not scan.
    public sealed unsafe class VirtioBlk : VirtioDevice
    {
        public const int SectorSize = 512;
        public const uint SlotBytes = 256 * 1024;
        public const int FeatureSizeMax = 1, FeatureSegMax = 2, FeatureRo = 5, FeatureBlkSize = 6, FeatureFlush = 9, FeatureDiscard = 13;
        public const uint TypeIn = 0, TypeOut = 1, TypeFlush = 4, TypeDiscard = 11;
        public const byte StatusOk = 0, StatusIoErr = 1, StatusUnsupported = 2;
        const int MaxSlots = 8;

        public static readonly VirtioBlk[] Disks = new VirtioBlk[26];
        public static int DiskCount;

        public int Index;                 // 0 for vda, 1 for vdb, ...
        public ulong Sectors;             // capacity in 512-byte sectors
        public bool ReadOnly => Has(FeatureRo);
        public bool CanFlush => Has(FeatureFlush);
        public bool CanDiscard => Has(FeatureDiscard);
        public ulong Requests, BytesRead, BytesWritten;
        /// Request slots (requests that can be in flight at once).
        public int SlotCount => _slots;

        VirtQueue _q;
        WaitPoint _wait;
        int _slots;
        byte* _headers; ulong _headersPhys;           // per slot: header (16), status (1) at +16, discard segment (16) at +32
        readonly byte*[] _buf = new byte*[MaxSlots];
        readonly ulong[] _bufPhys = new ulong[MaxSlots];
        readonly bool[] _busy = new bool[MaxSlots], _done = new bool[MaxSlots];
        int[] _slotOfHead;

        VirtioBlk(VirtioTransport t) : base(t) { }

        public static VirtioBlk Start(VirtioTransport t, int vector)
        {
            if (DiskCount == Disks.Length || WaitPoint.Create == null) return null;
            var d = new VirtioBlk(t);
            ulong wanted = (1UL << FeatureRo) | (1UL << FeatureBlkSize) | (1UL << FeatureFlush) | (1UL << FeatureDiscard);
            if (!d.Begin(wanted)) return null;
            if (!VirtioBus.Route(t, vector)) { d.Fail("no interrupt route"); return null; }
            d._q = d.SetupQueue(0, 64);
            if (d._q == null) return null;
            int slots = d.Has(Virtio.FeatureIndirect) ? d._q.Size : d._q.Size / 3;
            d._slots = slots < MaxSlots ? slots : MaxSlots;
            d._slotOfHead = new int[d._q.Size];
            d._headers = Dma.Allocate(4096, out d._headersPhys);
            if (d._headers == null) { d.Fail("no memory"); return null; }
            byte* bufs = Dma.AllocateUninitialized((ulong)d._slots * SlotBytes, out ulong bufsPhys);   // written before read
            if (bufs == null) { d.Fail("no memory"); return null; }
            for (int i = 0; i < d._slots; i++) { d._buf[i] = bufs + (ulong)i * SlotBytes; d._bufPhys[i] = bufsPhys + (ulong)i * SlotBytes; }
            d.Sectors = t.Config64(0);
            d._wait = WaitPoint.Create();
            d.Ready();
            d.Index = DiskCount;
            Disks[DiskCount++] = d;
            var w = Log.Begin(LogLevel.Info, stackalloc byte[160]);
            w.Str("virtio-blk: vd"); w.Byte((byte)('a' + d.Index)); w.Str(" "); w.Udec(d.Sectors); w.Str(" sectors");
            if (d.ReadOnly) w.Str(", read-only");
            if (d.CanFlush) w.Str(", flush");
            if (d.CanDiscard) w.Str(", discard");
            w.Str(", "); w.Udec((ulong)d._slots); w.Str(" requests in flight");
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
            return d;
        }

        /// A free request slot; blocks while all are in flight.
        public int Acquire()
        {
            while (true)
            {
                for (int i = 0; i < _slots; i++)
                    if (!_busy[i]) { _busy[i] = true; _done[i] = false; return i; }
                _wait.Wait();
            }
        }

        /// A free request slot, or -1 when all are in flight (never blocks).
        public int TryAcquire()
        {
            for (int i = 0; i < _slots; i++)
                if (!_busy[i]) { _busy[i] = true; _done[i] = false; return i; }
            return -1;
        }

        public void Release(int slot) { _busy[slot] = false; _wait.WakeAll(); }

        /// The slot's bounce buffer (SlotBytes, physically contiguous).
        public byte* Buffer(int slot) => _buf[slot];

        /// Starts a request on `slot`: read or write `bytes` (a multiple of 512) at `sector`
        /// through the slot's buffer, a flush, or a discard of `bytes` at `sector`.
        public void StartRequest(int slot, uint type, ulong sector, uint bytes)
        {
            byte* h = _headers + 64 * slot;
            ulong hp = _headersPhys + 64UL * (ulong)slot;
            *(uint*)h = type; *(uint*)(h + 4) = 0; *(ulong*)(h + 8) = type == TypeFlush ? 0 : sector;
            h[16] = 0xff;
            _done[slot] = false;
            System.Span<VirtBuffer> b = stackalloc VirtBuffer[3];
            int n = 0;
            b[n++] = new VirtBuffer(hp, 16, false);
            if (type == TypeIn || type == TypeOut) b[n++] = new VirtBuffer(_bufPhys[slot], bytes, type == TypeIn);
            else if (type == TypeDiscard)
            {
                *(ulong*)(h + 32) = sector; *(uint*)(h + 40) = bytes / SectorSize; *(uint*)(h + 44) = 0;
                b[n++] = new VirtBuffer(hp + 32, 16, false);
            }
            b[n++] = new VirtBuffer(hp + 16, 1, true);
            int head;
            while ((head = _q.Add(b.Slice(0, n))) < 0) _wait.Wait();     // descriptors come back with completions
            _slotOfHead[head] = slot;
            Requests++;
            if (type == TypeIn) BytesRead += bytes; else if (type == TypeOut) BytesWritten += bytes;
            if (_q.ShouldNotify()) Transport.Notify(0);
        }

        /// Blocks until the slot's request completes; its virtio status (StatusOk, ...).
        public byte Finish(int slot)
        {
            while (!_done[slot]) _wait.Wait();
            return _headers[64 * slot + 16];
        }

        public override void OnInterrupt()
        {
            bool any = false;
            while (_q.TryPopUsed(out int head, out _))
            {
                _done[_slotOfHead[head]] = true;
                any = true;
            }
            if (any) _wait.WakeAll();
        }
    }
}
