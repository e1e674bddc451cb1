using System.Runtime.InteropServices;
using Kernel.Runtime;

namespace HostTests;

/// <summary>The collector's pure parts (kernel/runtime): GC descriptor decoding against
/// hand-built descriptors in ILC's format, size-class spans, and the mark stack.</summary>
public unsafe class CollectorTests
{
    static readonly List<ulong> Seen = new();
    struct Recorder : IReferenceVisitor { public void Visit(ulong* slot) => Seen.Add((ulong)slot); }

    /// A fake MethodTable with `descWords` GC-descriptor words placed right below it.
    sealed class FakeType : IDisposable
    {
        readonly byte* _block;
        public readonly byte* Mt;
        public FakeType(uint flags, uint baseSize, params long[] descWordsHighToLow)
        {
            _block = (byte*)NativeMemory.AllocZeroed(512);
            Mt = _block + 256;
            *(uint*)Mt = flags;
            *((uint*)Mt + 1) = baseSize;
            // descWordsHighToLow[0] is at mt-8 (the series count), [1] at mt-16, ...
            for (int i = 0; i < descWordsHighToLow.Length; i++) *(long*)(Mt - 8 * (i + 1)) = descWordsHighToLow[i];
        }
        public void Dispose() => NativeMemory.Free(_block);
    }

    static List<ulong> Offsets(FakeType t, byte* obj)
    {
        Seen.Clear();
        var r = new Recorder();
        GcDesc.VisitReferences(t.Mt, obj, ref r);
        return Seen.Select(a => a - (ulong)obj).ToList();
    }

    [Fact]
    public void ClassWithTwoRuns()
    {
        // An object of base size 48 (header word, MT, then 32 bytes of fields) with
        // references at 8..16 and 32: series {size - base, offset}, lowest series first in memory.
        const uint baseSize = 48;
        using var t = new FakeType(GcDesc.HasPointersFlag, baseSize,
            2,                              // two series
            8, 16 - (long)baseSize,         // highest series: offset 8, 16 bytes (two refs)
            32, 8 - (long)baseSize);        // next: offset 32, one ref
        byte* obj = stackalloc byte[64];
        Offsets(t, obj).Should().Equal(8UL, 16UL, 32UL);
    }

    [Fact]
    public void NoPointersFlagMeansNoSlots()
    {
        using var t = new FakeType(0, 32, 1, 8, 8 - 32);
        byte* obj = stackalloc byte[32];
        Offsets(t, obj).Should().BeEmpty();
    }

    [Fact]
    public void ArrayOfReferencesCoversEveryElement()
    {
        // object[]: base size 24, component size 8; one series from offset 16 whose size is
        // stored as -base, so the run is exactly count * 8 bytes.
        using var t = new FakeType(GcDesc.HasPointersFlag | GcDesc.HasComponentSizeFlag | 8, 24, 1, 16, -24);
        byte* obj = stackalloc byte[16 + 5 * 8];
        *(int*)(obj + 8) = 5;
        Offsets(t, obj).Should().Equal(16UL, 24UL, 32UL, 40UL, 48UL);
        GcDesc.ObjectSize(t.Mt, obj).Should().Be(24 + 5 * 8);
        *(int*)(obj + 8) = 0;
        Offsets(t, obj).Should().BeEmpty();
    }

    [Fact]
    public void ArrayOfStructsRepeatsThePattern()
    {
        // struct { object O; long N; object P; }[]: 24-byte elements from offset 16, pattern
        // {1 ref, skip 8}, {1 ref, skip 0}: series count -2, start offset at mt-16, pairs at
        // mt-24 (first) and mt-32 (second) as {nptrs, skip} half-words.
        long Pair(uint refs, uint skip) => (long)((ulong)skip << 32 | refs);
        using var t = new FakeType(GcDesc.HasPointersFlag | GcDesc.HasComponentSizeFlag | 24, 24,
            -2, 16, Pair(1, 8), Pair(1, 0));
        byte* obj = stackalloc byte[16 + 3 * 24];
        *(int*)(obj + 8) = 3;
        Offsets(t, obj).Should().Equal(16UL, 32UL, 40UL, 56UL, 64UL, 80UL);
    }

    static byte* NewPage() => (byte*)NativeMemory.AlignedAlloc(GcSpan.PageSize, GcSpan.PageSize);

    [Fact]
    public void SpanHandsOutDistinctBlocksUntilFull()
    {
        byte* page = NewPage();
        try
        {
            int c = GcSpan.ClassOf(40);
            GcSpan.ClassSize(c).Should().Be(48);
            GcSpan.Init(page, c);
            int cap = GcSpan.Capacity(page);
            cap.Should().Be((4096 - 64) / 48);
            var blocks = new HashSet<ulong>();
            for (int i = 0; i < cap; i++)
            {
                byte* b = GcSpan.Take(page);
                ((ulong)b).Should().NotBe(0);
                (((ulong)b - (ulong)page - 64) % 48).Should().Be(0);
                *(ulong*)b = 0x1000;            // a "MethodTable": the block is in use
                blocks.Add((ulong)b);
            }
            blocks.Count.Should().Be(cap);
            ((ulong)GcSpan.Take(page)).Should().Be(0);
            GcSpan.HasFree(page).Should().BeFalse();
        }
        finally { NativeMemory.AlignedFree(page); }
    }

    [Fact]
    public void InteriorPointersFindTheirBlockAndFreeBlocksAreIgnored()
    {
        byte* page = NewPage();
        try
        {
            GcSpan.Init(page, GcSpan.ClassOf(32));
            byte* a = GcSpan.Take(page);
            *(ulong*)a = 0x1000;
            ((ulong)GcSpan.BlockAt(page, (ulong)a)).Should().Be((ulong)a);
            ((ulong)GcSpan.BlockAt(page, (ulong)a + 31)).Should().Be((ulong)a, "an interior pointer");
            ((ulong)GcSpan.BlockAt(page, (ulong)a + 32)).Should().Be(0, "the next block is free");
            ((ulong)GcSpan.BlockAt(page, (ulong)page + 8)).Should().Be(0, "the header is no object");
            ((ulong)GcSpan.BlockAt(page, (ulong)page + 4095)).Should().Be(0, "the slack at the end");
        }
        finally { NativeMemory.AlignedFree(page); }
    }

    [Fact]
    public void SweepFreesUnmarkedBlocksAndClearsMarks()
    {
        byte* page = NewPage();
        try
        {
            GcSpan.Init(page, GcSpan.ClassOf(64));
            int cap = GcSpan.Capacity(page);
            var all = new List<ulong>();
            for (int i = 0; i < cap; i++) { byte* b = GcSpan.Take(page); *(ulong*)b = 0x1000; all.Add((ulong)b); }
            for (int i = 0; i < cap; i += 2) GcSpan.Mark(page, (byte*)all[i]).Should().BeTrue();
            GcSpan.Mark(page, (byte*)all[0]).Should().BeFalse("already marked");
            ulong freed = GcSpan.Sweep(page, poison: true);
            freed.Should().Be((ulong)(cap / 2 * 64));
            GcSpan.FreeCount(page).Should().Be(cap / 2);
            for (int i = 0; i < cap; i++)
            {
                GcSpan.IsMarked(page, (byte*)all[i]).Should().BeFalse("marks are cleared");
                (*(ulong*)all[i] != 0).Should().Be(i % 2 == 0, "survivors keep their type word");
            }
            (*(ulong*)(all[1] + 16)).Should().Be(0xDEADDEADDEADDEAD, "freed blocks are poisoned");
            // The freed blocks are handed out again, and only those.
            var again = new HashSet<ulong>();
            for (byte* b; (b = GcSpan.Take(page)) != null;) again.Add((ulong)b);
            again.Should().BeEquivalentTo(all.Where((_, i) => i % 2 == 1));
        }
        finally { NativeMemory.AlignedFree(page); }
    }

    [Fact]
    public void MarkAtMarksTheContainingBlockOnce()
    {
        byte* page = NewPage();
        try
        {
            GcSpan.Init(page, GcSpan.ClassOf(80));
            byte* a = GcSpan.Take(page), b = GcSpan.Take(page);
            *(ulong*)a = 0x1000;                 // a is in use; b stays a free block
            ((ulong)GcSpan.MarkAt(page, (ulong)a + 79)).Should().Be((ulong)a, "an interior pointer marks its block");
            ((ulong)GcSpan.MarkAt(page, (ulong)a)).Should().Be(0, "already marked");
            GcSpan.IsMarked(page, a).Should().BeTrue();
            ((ulong)GcSpan.MarkAt(page, (ulong)b + 8)).Should().Be(0, "not in use");
            GcSpan.IsMarked(page, b).Should().BeFalse();
            ((ulong)GcSpan.MarkAt(page, (ulong)page + 40)).Should().Be(0, "the header");
        }
        finally { NativeMemory.AlignedFree(page); }
    }

    [Fact]
    public void SizeClassesCoverEverySmallSize()
    {
        for (ulong size = 1; size <= GcSpan.MaxSmall; size++)
        {
            int c = GcSpan.ClassOf(size);
            c.Should().BeGreaterThanOrEqualTo(0);
            ((ulong)GcSpan.ClassSize(c)).Should().BeGreaterThanOrEqualTo(size);
            if (c > 0) ((ulong)GcSpan.ClassSize(c - 1)).Should().BeLessThan(size, "the smallest class that fits");
            ((4096 - GcSpan.HeaderSize) / GcSpan.ClassSize(c)).Should().BeLessThanOrEqualTo(GcSpan.MaxBlocks);
        }
        GcSpan.ClassOf(GcSpan.MaxSmall + 1).Should().Be(-1);
    }

    [Fact]
    public void ReciprocalDivisionIsExactForEveryOffsetInAPage()
    {
        for (int c = 0; c < GcSpan.Classes; c++)
        {
            uint size = GcSpan.ClassSize(c), recip = GcSpan.Reciprocal(size);
            for (ulong off = 0; off < GcSpan.PageSize; off++)
                ((off * recip) >> 32).Should().Be(off / size, "offset {0}, size {1}", off, size);
        }
    }

    static int _pagesOut, _pageBudget;
    static void* GetPage()
    {
        if (_pageBudget-- <= 0) return null;
        _pagesOut++;
        return NativeMemory.AlignedAlloc(4096, 4096);
    }
    static void FreePage(void* p) { _pagesOut--; NativeMemory.AlignedFree(p); }

    [Fact]
    public void MarkStackGrowsShrinksAndReportsOverflow()
    {
        _pagesOut = 0; _pageBudget = 3;
        var s = new MarkStack();
        s.Init(&GetPage, &FreePage);
        s.IsEmpty.Should().BeTrue();
        const int perChunk = 511;
        for (ulong i = 1; i <= 3 * perChunk; i++) s.Push(i).Should().BeTrue();
        _pagesOut.Should().Be(3);
        s.Push(99999).Should().BeFalse("no page is left");
        s.Overflowed.Should().BeTrue();
        for (ulong i = 3 * perChunk; i >= 1; i--)
        {
            s.TryPop(out ulong v).Should().BeTrue();
            v.Should().Be(i);
        }
        s.TryPop(out _).Should().BeFalse();
        s.IsEmpty.Should().BeTrue();
        _pagesOut.Should().Be(1, "the first chunk is kept, the others are returned");
    }
}
