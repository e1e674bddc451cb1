using System.Runtime.InteropServices;
using Kernel.Drivers;

namespace HostTests;

/// <summary>
/// The split virtqueue's ring logic (drivers/virtio/VirtQueue.cs) against a simulated
/// device that reads the rings as the virtio 1.x spec lays them out: descriptor chains,
/// indirect tables, the free list, EVENT_IDX notification suppression.
/// </summary>
public unsafe class VirtQueueTests : IDisposable
{
    readonly List<IntPtr> _blocks = [];

    public void Dispose() { foreach (var b in _blocks) NativeMemory.AlignedFree((void*)b); }

    (VirtQueue Q, SimDevice Dev) Make(ushort size, bool eventIdx, bool indirect)
    {
        ulong bytes = VirtQueue.Bytes(size);
        byte* mem = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 4096);
        _blocks.Add((IntPtr)mem);
        new Span<byte>(mem, (int)bytes).Clear();
        var q = new VirtQueue(mem, 0, size, eventIdx, indirect);   // host: "physical" == virtual
        return (q, new SimDevice(mem, size, eventIdx));
    }

    /// <summary>A device's view of the rings: takes available chains and returns them used.</summary>
    sealed class SimDevice(byte* mem, ushort size, bool eventIdx)
    {
        ushort _lastAvail, _usedIdx;
        byte* Desc => mem;
        byte* Avail => mem + VirtQueue.AvailOffset(size);
        byte* Used => mem + VirtQueue.UsedOffset(size);
        public ushort AvailIdx => *(ushort*)(Avail + 2);
        public ushort UsedEvent => *(ushort*)(Avail + 4 + 2 * size);
        public ushort AvailFlags => *(ushort*)Avail;
        public void SetAvailEvent(ushort v) => *(ushort*)(Used + 4 + 8 * size) = v;
        public void SetNoNotify(bool on) => *(ushort*)Used = (ushort)(on ? 1 : 0);

        /// <summary>The next available chain as (addr, len, write) triples, following
        /// NEXT links and indirect tables; null when none.</summary>
        public (ushort Head, List<(ulong Addr, uint Len, bool Write)> Bufs)? Take()
        {
            if (_lastAvail == AvailIdx) return null;
            ushort head = *(ushort*)(Avail + 4 + 2 * (_lastAvail % size));
            _lastAvail++;
            var bufs = new List<(ulong, uint, bool)>();
            byte* table = Desc;
            int i = head, limit = size;
            ushort flags = *(ushort*)(table + 16 * i + 12);
            if ((flags & VirtQueue.DescIndirect) != 0)
            {
                table = (byte*)*(ulong*)(table + 16 * i);
                limit = (int)(*(uint*)(Desc + 16 * i + 8) / 16);
                i = 0;
            }
            for (int n = 0; n <= limit; n++)
            {
                byte* d = table + 16 * i;
                flags = *(ushort*)(d + 12);
                (flags & VirtQueue.DescIndirect).Should().Be(0, "no nested indirect tables");
                bufs.Add((*(ulong*)d, *(uint*)(d + 8), (flags & VirtQueue.DescWrite) != 0));
                if ((flags & VirtQueue.DescNext) == 0) return (head, bufs);
                i = *(ushort*)(d + 14);
            }
            throw new InvalidOperationException("descriptor chain loops");
        }

        public void Complete(ushort head, uint written)
        {
            byte* e = Used + 4 + 8 * (_usedIdx % size);
            *(uint*)e = head; *(uint*)(e + 4) = written;
            _usedIdx++;
            *(ushort*)(Used + 2) = _usedIdx;
        }

        /// <summary>Whether a device honouring EVENT_IDX interrupts after publishing `count` entries.</summary>
        public bool ShouldInterrupt(ushort oldIdx) => eventIdx
            ? (ushort)(_usedIdx - UsedEvent - 1) < (ushort)(_usedIdx - oldIdx)
            : (AvailFlags & VirtQueue.AvailNoInterrupt) == 0;
        public ushort UsedIdx => _usedIdx;
    }

    static VirtBuffer[] Chain(params (ulong Addr, uint Len, bool Write)[] b) => b.Select(x => new VirtBuffer(x.Addr, x.Len, x.Write)).ToArray();

    [Fact]
    public void ChainsReachTheDeviceInOrderAndComeBack()
    {
        var (q, dev) = Make(8, eventIdx: false, indirect: false);
        int a = q.Add(Chain((0x1000, 16, false), (0x2000, 512, true), (0x3000, 1, true)));
        int b = q.Add(Chain((0x4000, 16, false), (0x5000, 1, true)));
        a.Should().BeGreaterThanOrEqualTo(0); b.Should().BeGreaterThanOrEqualTo(0); a.Should().NotBe(b);
        q.FreeDescriptors.Should().Be(3);
        q.InFlight.Should().Be(2);
        q.ShouldNotify().Should().BeTrue();

        var c1 = dev.Take()!.Value;
        c1.Head.Should().Be((ushort)a);
        c1.Bufs.Should().Equal((0x1000UL, 16u, false), (0x2000UL, 512u, true), (0x3000UL, 1u, true));
        var c2 = dev.Take()!.Value;
        c2.Bufs.Should().Equal((0x4000UL, 16u, false), (0x5000UL, 1u, true));
        dev.Take().Should().BeNull();

        q.HasUsed.Should().BeFalse();
        q.TryPopUsed(out _, out _).Should().BeFalse();
        // The device may complete out of order.
        dev.Complete(c2.Head, 1);
        dev.Complete(c1.Head, 513);
        q.TryPopUsed(out int h, out uint len).Should().BeTrue();
        (h, len).Should().Be((b, 1u));
        q.TryPopUsed(out h, out len).Should().BeTrue();
        (h, len).Should().Be((a, 513u));
        q.TryPopUsed(out _, out _).Should().BeFalse();
        q.FreeDescriptors.Should().Be(8);
        q.InFlight.Should().Be(0);
    }

    [Fact]
    public void AFullRingRefusesAndRecyclesDescriptorsOverManyWraps()
    {
        var (q, dev) = Make(4, eventIdx: false, indirect: false);
        q.Add(Chain((1, 1, false), (2, 1, true))).Should().BeGreaterThanOrEqualTo(0);
        q.Add(Chain((3, 1, false), (4, 1, true))).Should().BeGreaterThanOrEqualTo(0);
        q.Add(Chain((5, 1, false))).Should().Be(-1, "no descriptor is left");
        q.CanAdd(1).Should().BeFalse();
        // 70,000 requests wrap the 16-bit indices.
        var rng = new Random(7);
        for (int round = 0; round < 70000; round++)
        {
            var c = dev.Take()!.Value;
            dev.Complete(c.Head, (uint)round);
            q.TryPopUsed(out int head, out uint written).Should().BeTrue();
            head.Should().Be(c.Head);
            written.Should().Be((uint)round);
            ulong tag = (ulong)round << 8;
            int n = 1 + rng.Next(2);
            var bufs = Enumerable.Range(0, n).Select(k => (tag + (ulong)k, 1u, k == n - 1)).ToArray();
            int id = q.Add(Chain(bufs));
            id.Should().BeGreaterThanOrEqualTo(0, "round {0}", round);
            // The device sees exactly what was added, in order (the other chain is first).
        }
        q.InFlight.Should().Be(2);
    }

    [Fact]
    public void IndirectChainsTakeOneRingDescriptor()
    {
        var (q, dev) = Make(4, eventIdx: false, indirect: true);
        for (int i = 0; i < 4; i++) q.Add(Chain(((ulong)i * 0x100, 16, false), ((ulong)i * 0x100 + 16, 4096, true), ((ulong)i * 0x100 + 32, 1, true))).Should().Be(i);
        q.FreeDescriptors.Should().Be(0);
        for (int i = 0; i < 4; i++)
        {
            var c = dev.Take()!.Value;
            c.Bufs.Should().Equal(((ulong)i * 0x100, 16u, false), ((ulong)i * 0x100 + 16, 4096u, true), ((ulong)i * 0x100 + 32, 1u, true));
            dev.Complete(c.Head, 4097);
        }
        for (int i = 0; i < 4; i++) q.TryPopUsed(out _, out _).Should().BeTrue();
        q.FreeDescriptors.Should().Be(4);
        // A single buffer still goes direct.
        q.Add(Chain((0x9000, 8, true)));
        dev.Take()!.Value.Bufs.Should().Equal((0x9000UL, 8u, true));
    }

    [Fact]
    public void EventIdxSuppressesNotificationsAndInterrupts()
    {
        var (q, dev) = Make(8, eventIdx: true, indirect: false);
        dev.SetAvailEvent(0);                         // the device wants to hear about entry 0
        q.Add(Chain((1, 1, true)));
        q.ShouldNotify().Should().BeTrue();
        q.Add(Chain((2, 1, true)));
        q.ShouldNotify().Should().BeFalse("the device asked only for the first entry and is still busy");
        dev.SetAvailEvent(2);
        q.Add(Chain((3, 1, true)));
        q.ShouldNotify().Should().BeTrue("the index passed avail_event");

        // Completions: the driver asks to be interrupted at the next used entry after what it popped.
        ushort before = dev.UsedIdx;
        var c = dev.Take()!.Value;
        dev.Complete(c.Head, 1);
        dev.ShouldInterrupt(before).Should().BeTrue("used_event starts at 0");
        q.TryPopUsed(out _, out _).Should().BeTrue();
        dev.UsedEvent.Should().Be(1);
        q.SetInterrupts(false);
        before = dev.UsedIdx;
        c = dev.Take()!.Value; dev.Complete(c.Head, 1);
        dev.ShouldInterrupt(before).Should().BeFalse("interrupts are off");
        q.SetInterrupts(true);
        q.HasUsed.Should().BeTrue("what completed while interrupts were off is drained after turning them on");
        q.TryPopUsed(out _, out _).Should().BeTrue();
        before = dev.UsedIdx;
        q.Add(Chain((4, 1, true)));
        c = dev.Take()!.Value; dev.Complete(c.Head, 1);
        dev.ShouldInterrupt(before).Should().BeTrue();
    }

    [Fact]
    public void WithoutEventIdxTheDeviceFlagsRule()
    {
        var (q, _) = Make(4, eventIdx: false, indirect: false);
        q.Add(Chain((1, 1, true)));
        q.ShouldNotify().Should().BeTrue();
        // Device sets VIRTQ_USED_F_NO_NOTIFY.
        var mem = (byte*)_blocks[^1];
        *(ushort*)(mem + VirtQueue.UsedOffset(4)) = 1;
        q.Add(Chain((2, 1, true)));
        q.ShouldNotify().Should().BeFalse();
    }

    [Fact]
    public void RingLayoutFollowsTheSpecAlignment()
    {
        VirtQueue.AvailOffset(256).Should().Be(4096);
        (VirtQueue.UsedOffset(256) % 4).Should().Be(0);
        VirtQueue.UsedOffset(256).Should().BeGreaterThanOrEqualTo(4096 + 6 + 512);
        VirtQueue.Bytes(64).Should().BeLessThan(16384);
    }

    [Theory]
    [InlineData("virtio_mmio.device=512@0xfeb00e00:12", 512UL, 0xfeb00e00UL, 12)]
    [InlineData("virtio_mmio.device=4K@0xc0001000:5", 4096UL, 0xc0001000UL, 5)]
    [InlineData("virtio_mmio.device=1M@0x100000000:40:3", 1UL << 20, 0x100000000UL, 40)]
    [InlineData("virtio_mmio.device=0x200@4096:7", 0x200UL, 4096UL, 7)]
    public void MmioAnnouncementsParse(string word, ulong size, ulong addr, int irq)
    {
        MmioAnnouncement.TryParse(System.Text.Encoding.ASCII.GetBytes(word), out ulong s, out ulong a, out int i).Should().BeTrue();
        (s, a, i).Should().Be((size, addr, irq));
    }

    [Theory]
    [InlineData("virtio_mmio.device=512@0xfeb00e00")]
    [InlineData("virtio_mmio.device=@0xfeb00e00:12")]
    [InlineData("virtio_mmio.device=512@:12")]
    [InlineData("virtio_mmio.device=512@0xzz:12")]
    [InlineData("virtio_mmio.device=0@0x1000:12")]
    [InlineData("virtio_mmio.device=512@0x1000:")]
    [InlineData("console=ttyS0")]
    [InlineData("virtio_mmio.dev=512@0x1000:5")]
    public void BadAnnouncementsAreIgnored(string word)
    {
        MmioAnnouncement.TryParse(System.Text.Encoding.ASCII.GetBytes(word), out _, out _, out _).Should().BeFalse();
    }

    [Fact]
    public void NegotiationRequiresVersion1AndKeepsOnlyWhatBothSidesKnow()
    {
        ulong v1 = 1UL << Virtio.FeatureVersion1, ro = 1UL << 5, flush = 1UL << 9, unknown = 1UL << 40;
        Virtio.Negotiate(v1 | ro | flush | unknown | (1UL << Virtio.FeatureEventIdx), ro, out ulong acc).Should().BeTrue();
        acc.Should().Be(v1 | ro | (1UL << Virtio.FeatureEventIdx));
        Virtio.Negotiate(ro | flush, ro | flush, out _).Should().BeFalse("a legacy device lacks VERSION_1");
    }

    static readonly List<(ulong, ulong, int)> _dsdtFound = [];
    static void OnDsdtDevice(ulong size, ulong addr, int irq) => _dsdtFound.Add((size, addr, irq));

    [Fact]
    public void DsdtVirtioMmioDevicesAreFound()
    {
        // Device (VR02) { Name (_HID, "LNRO0005") Name (_UID, 2) Name (_CCA, One)
        //   Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, 0xFEB00400, 0x200)
        //   Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 26 } }) }
        byte[] device =
        [
            0x5b, 0x82, 0x3a, (byte)'V', (byte)'R', (byte)'0', (byte)'2',
            0x08, (byte)'_', (byte)'H', (byte)'I', (byte)'D', 0x0d, .. "LNRO0005"u8.ToArray(), 0x00,
            0x08, (byte)'_', (byte)'U', (byte)'I', (byte)'D', 0x0a, 0x02,
            0x08, (byte)'_', (byte)'C', (byte)'C', (byte)'A', 0x01,
            0x08, (byte)'_', (byte)'C', (byte)'R', (byte)'S', 0x11, 0x1a, 0x0a, 0x17,
            0x86, 0x09, 0x00, 0x01, 0x00, 0x04, 0xb0, 0xfe, 0x00, 0x02, 0x00, 0x00,
            0x89, 0x06, 0x00, 0x03, 0x01, 0x1a, 0x00, 0x00, 0x00,
            0x79, 0x00,
        ];
        byte[] other = [0x08, (byte)'_', (byte)'H', (byte)'I', (byte)'D', 0x0d, .. "PNP0501"u8.ToArray(), 0x00];
        byte[] aml = [.. new byte[36], .. other, .. device, .. device];
        aml[Array.LastIndexOf(aml, (byte)0x86) + 5] = 0x06;   // second copy at 0xfeb00600
        _dsdtFound.Clear();
        MmioAnnouncement.ScanDsdt(aml, &OnDsdtDevice).Should().Be(2);
        _dsdtFound.Should().Equal((0x200UL, 0xfeb00400UL, 26), (0x200UL, 0xfeb00600UL, 26));
    }

    /// <summary>RxRing: buffers stay posted; fills come out in the device's order across
    /// buffers, partly taken buffers keep their offset, each emptied buffer goes back to the
    /// device (notifying it), empty deliveries are reposted at once, and the reader may
    /// shorten a buffer it has processed (decoding in place).</summary>
    sealed class CountingNotifier : QueueNotifier { public int Count; public override void Notify() => Count++; }

    [Fact]
    public void RxRingKeepsBuffersPostedAndHandsOutFillsInOrder()
    {
        var (q, dev) = Make(8, eventIdx: false, indirect: false);
        byte* mem = (byte*)NativeMemory.AlignedAlloc(4 * 64, 4096);
        _blocks.Add((IntPtr)mem);
        var counter = new CountingNotifier();
        var rx = new RxRing(q, mem, (ulong)mem, 4, 64, counter);      // host: "physical" == virtual
        rx.PostAll();
        var posted = new Queue<(ushort Head, ulong Addr)>();
        while (dev.Take() is { } c) { c.Bufs.Should().ContainSingle(); c.Bufs[0].Len.Should().Be(64u); c.Bufs[0].Write.Should().BeTrue(); posted.Enqueue((c.Head, c.Bufs[0].Addr)); }
        posted.Should().HaveCount(4);
        rx.Collect().Should().BeFalse();
        rx.Peek(out _, out _).Should().BeFalse();

        void Fill(string text)
        {
            var (head, addr) = posted.Dequeue();
            var bytes = System.Text.Encoding.ASCII.GetBytes(text);
            bytes.CopyTo(new Span<byte>((byte*)addr, bytes.Length));
            dev.Complete(head, (uint)bytes.Length);
        }
        Fill("hello "); Fill(""); Fill("world");
        rx.Collect().Should().BeTrue();
        rx.ReadyCount.Should().Be(2, "the empty delivery went straight back");
        rx.Available.Should().Be(11);
        while (dev.Take() is { } c) posted.Enqueue((c.Head, c.Bufs[0].Addr));
        posted.Should().HaveCount(1 + 1, "the one never filled and the reposted empty buffer");

        string Read(int max)
        {
            var sb = new System.Text.StringBuilder();
            while (sb.Length < max && rx.Peek(out byte* p, out int len))
            {
                int n = Math.Min(len, max - sb.Length);
                sb.Append(System.Text.Encoding.ASCII.GetString(p, n));
                rx.Take(n);
            }
            return sb.ToString();
        }
        Read(3).Should().Be("hel");
        int before = counter.Count;
        Read(5).Should().Be("lo wo", "on into the next buffer");
        counter.Count.Should().BeGreaterThan(before, "the emptied first buffer went back to the device");
        rx.SetLength(0, 2);                        // "rld" -> the reader keeps 2 bytes of it
        rx.Available.Should().Be(0, "the offset 2 already covers the shortened length");
        rx.Peek(out _, out _).Should().BeFalse("the shortened, used-up buffer is given back");
        int reposted = 0;
        while (dev.Take() is { } c) { posted.Enqueue((c.Head, c.Bufs[0].Addr)); reposted++; }
        reposted.Should().Be(2);
        // 40 more fills through 4 buffers: every buffer keeps coming back.
        for (int i = 0; i < 40; i++)
        {
            Fill($"#{i:D2}");
            rx.Collect().Should().BeTrue();
            rx.Processed++;
            Read(100).Should().Be($"#{i:D2}");
            rx.Processed.Should().Be(0, "giving a buffer back lowers the processed count");
            while (dev.Take() is { } c) posted.Enqueue((c.Head, c.Bufs[0].Addr));
        }
        rx.BytesReceived.Should().Be(11 + 40 * 3);
    }
}
