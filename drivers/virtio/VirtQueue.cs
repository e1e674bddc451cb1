using System;
using System.Runtime.CompilerServices;

namespace Kernel.Drivers
{
    /// One buffer of a request: a physical address range, and whether the device writes it.
    public struct VirtBuffer
    {
        public ulong Phys;
        public uint Length;
        public bool DeviceWrites;
        public VirtBuffer(ulong phys, uint length, bool deviceWrites) { Phys = phys; Length = length; DeviceWrites = deviceWrites; }
    }

    /// A split virtqueue (virtio 1.x, section 2.7): the descriptor table, the available
    /// ring the driver fills and the used ring the device fills, all in memory the caller
    /// provides (DMA frames in the kernel, a plain buffer in the host tests). Pure ring
    /// logic: it knows nothing of devices, transports or interrupts, so host tests drive it
    /// against a simulated device. Memory addresses handed to the device are `phys` =
    /// `virt - VirtToPhys`.
    ///
    /// Free descriptors form a list through their `next` fields. With indirect descriptors
    /// a chain of several buffers takes one ring descriptor pointing at a per-slot table.
    /// With VIRTIO_F_EVENT_IDX the driver asks for an interrupt only when the used index
    /// passes `used_event`, and notifies only when the device's `avail_event` says so.
    public sealed unsafe class VirtQueue
    {
        public const ushort DescNext = 1, DescWrite = 2, DescIndirect = 4;
        public const ushort AvailNoInterrupt = 1, UsedNoNotify = 1;
        public const int MaxIndirect = 8;          // buffers per chain held in one indirect table

        public readonly ushort Size;
        readonly byte* _desc, _avail, _used, _indirect;
        readonly ulong _virtToPhys;
        readonly bool _eventIdx, _useIndirect;
        ushort _freeHead, _numFree, _availIdx, _lastUsed;
        bool _interrupts = true;          // whether popping re-arms the used event (SetInterrupts)

        /// Bytes of memory the rings of a queue of `size` need (desc, avail, used, indirect tables).
        public static ulong Bytes(ushort size) => IndirectOffset(size) + (ulong)size * MaxIndirect * 16;
        public static ulong AvailOffset(ushort size) => 16UL * size;
        public static ulong UsedOffset(ushort size) => (AvailOffset(size) + 6 + 2UL * size + 3) & ~3UL;
        static ulong IndirectOffset(ushort size) => (UsedOffset(size) + 6 + 8UL * size + 15) & ~15UL;

        /// `memory` holds Bytes(size) zeroed bytes; `virtToPhys` turns its addresses into
        /// the device's. `size` is a power of two.
        public VirtQueue(byte* memory, ulong virtToPhys, ushort size, bool eventIdx, bool indirect)
        {
            Size = size;
            _desc = memory; _avail = memory + AvailOffset(size); _used = memory + UsedOffset(size);
            _indirect = memory + IndirectOffset(size);
            _virtToPhys = virtToPhys;
            _eventIdx = eventIdx; _useIndirect = indirect;
            for (int i = 0; i < size; i++) DescNextField(i) = (ushort)(i + 1 < size ? i + 1 : 0);
            _freeHead = 0; _numFree = size;
        }

        public ulong DescPhys => (ulong)_desc - _virtToPhys;
        public ulong AvailPhys => (ulong)_avail - _virtToPhys;
        public ulong UsedPhys => (ulong)_used - _virtToPhys;
        public int FreeDescriptors => _numFree;
        /// Chains given to the device and not yet returned.
        public int InFlight { get; private set; }

        ref ulong DescAddr(int i) => ref *(ulong*)(_desc + 16 * i);
        ref uint DescLen(int i) => ref *(uint*)(_desc + 16 * i + 8);
        ref ushort DescFlags(int i) => ref *(ushort*)(_desc + 16 * i + 12);
        ref ushort DescNextField(int i) => ref *(ushort*)(_desc + 16 * i + 14);
        ref ushort AvailIdx => ref *(ushort*)(_avail + 2);
        ref ushort AvailRing(int i) => ref *(ushort*)(_avail + 4 + 2 * i);
        ref ushort UsedEvent => ref *(ushort*)(_avail + 4 + 2 * Size);
        ushort UsedFlags => *(ushort*)_used;
        ushort UsedIdx => *(ushort*)(_used + 2);
        uint UsedId(int i) => *(uint*)(_used + 4 + 8 * i);
        uint UsedLen(int i) => *(uint*)(_used + 8 + 8 * i);
        ushort AvailEvent => *(ushort*)(_used + 4 + 8 * Size);

        /// Keeps the compiler from moving memory accesses across it (x86 keeps stores in order).
        [MethodImpl(MethodImplOptions.NoInlining)]
        static void Barrier() { }

        /// Whether a chain of `count` buffers fits now.
        public bool CanAdd(int count) => count > 0 && (_useIndirect && count > 1 && count <= MaxIndirect ? _numFree >= 1 : _numFree >= count);

        /// Puts a chain on the available ring; returns its head descriptor id (the caller's
        /// key for the request), or -1 when there are not enough free descriptors.
        public int Add(ReadOnlySpan<VirtBuffer> bufs)
        {
            if (!CanAdd(bufs.Length)) return -1;
            int head = _freeHead;
            if (_useIndirect && bufs.Length > 1 && bufs.Length <= MaxIndirect)
            {
                byte* table = _indirect + head * MaxIndirect * 16;
                for (int k = 0; k < bufs.Length; k++)
                {
                    byte* d = table + 16 * k;
                    *(ulong*)d = bufs[k].Phys;
                    *(uint*)(d + 8) = bufs[k].Length;
                    *(ushort*)(d + 12) = (ushort)((bufs[k].DeviceWrites ? DescWrite : 0) | (k + 1 < bufs.Length ? DescNext : 0));
                    *(ushort*)(d + 14) = (ushort)(k + 1);
                }
                _freeHead = DescNextField(head);
                _numFree--;
                DescAddr(head) = (ulong)table - _virtToPhys;
                DescLen(head) = (uint)(16 * bufs.Length);
                DescFlags(head) = DescIndirect;
            }
            else
            {
                int i = head, last = head;
                for (int k = 0; k < bufs.Length; k++)
                {
                    DescAddr(i) = bufs[k].Phys;
                    DescLen(i) = bufs[k].Length;
                    DescFlags(i) = (ushort)((bufs[k].DeviceWrites ? DescWrite : 0) | (k + 1 < bufs.Length ? DescNext : 0));
                    last = i;
                    i = DescNextField(i);
                }
                _freeHead = (ushort)i;
                _numFree -= (ushort)bufs.Length;
                // The last descriptor's `next` keeps pointing into the free list; its flags end the chain.
                _ = last;
            }
            AvailRing(_availIdx % Size) = (ushort)head;
            Barrier();                       // the entry before the index that publishes it
            _availIdx++;
            AvailIdx = _availIdx;
            InFlight++;
            return head;
        }

        ushort _lastNotifiedIdx;

        /// After Add(s): whether the device must be notified (event index or NO_NOTIFY flag).
        /// Call once per batch; it remembers what it told the device.
        public bool ShouldNotify()
        {
            Barrier();
            ushort old = _lastNotifiedIdx, now = _availIdx;
            _lastNotifiedIdx = now;
            if (_eventIdx) return (ushort)(now - AvailEvent - 1) < (ushort)(now - old);
            return (UsedFlags & UsedNoNotify) == 0;
        }

        /// Whether the device has returned a chain not yet popped.
        public bool HasUsed => _lastUsed != UsedIdx;

        /// Takes the next returned chain: its head id and the bytes the device wrote.
        /// Frees its descriptors. False when there is none.
        public bool TryPopUsed(out int head, out uint written)
        {
            head = -1; written = 0;
            if (_lastUsed == UsedIdx) return false;
            Barrier();                       // the index before the entry it covers
            int slot = _lastUsed % Size;
            uint id = UsedId(slot);
            written = UsedLen(slot);
            if (id >= Size) return false;    // a device bug: leave the ring alone
            head = (int)id;
            _lastUsed++;
            FreeChain(head);
            InFlight--;
            if (_eventIdx && _interrupts) UsedEvent = _lastUsed;    // interrupt me at the next completion
            return true;
        }

        void FreeChain(int head)
        {
            int i = head, n = 1;
            if ((DescFlags(i) & DescIndirect) == 0)
                while ((DescFlags(i) & DescNext) != 0) { i = DescNextField(i); n++; }
            DescNextField(i) = _freeHead;
            _freeHead = (ushort)head;
            _numFree += (ushort)n;
        }

        /// Asks the device not to interrupt (a hint without EVENT_IDX) or to interrupt again;
        /// after turning them on, check HasUsed: what completed meanwhile raised no interrupt.
        public void SetInterrupts(bool on)
        {
            _interrupts = on;
            if (_eventIdx) { UsedEvent = on ? _lastUsed : (ushort)(_lastUsed - 1); return; }
            *(ushort*)_avail = on ? (ushort)0 : AvailNoInterrupt;
        }
    }
}
