using Kernel.Memory;

namespace HostTests;

/// <summary>kernel/memory/VmaList.cs: sorted, non-overlapping, merged VMAs.</summary>
public class VmaListTests
{
    const ulong P = 4096;

    static Vma V(ulong startPage, ulong endPage, uint prot = 3, uint kind = VmaKind.Anonymous)
        => new() { Start = startPage * P, End = endPage * P, Prot = prot, Kind = kind };

    static List<(ulong, ulong, uint, uint)> Items(VmaList l)
    {
        var r = new List<(ulong, ulong, uint, uint)>();
        for (int i = 0; i < l.Count; i++) r.Add((l[i].Start / P, l[i].End / P, l[i].Prot, l[i].Kind));
        return r;
    }

    [Fact]
    public void InsertKeepsOrderAndMergesNeighbours()
    {
        var l = new VmaList();
        l.Insert(V(10, 20));
        l.Insert(V(30, 40));
        l.Insert(V(0, 5));
        Items(l).Should().Equal((0UL, 5UL, 3u, 0u), (10UL, 20UL, 3u, 0u), (30UL, 40UL, 3u, 0u));
        l.Insert(V(20, 30));    // bridges both: one VMA
        Items(l).Should().Equal((0UL, 5UL, 3u, 0u), (10UL, 40UL, 3u, 0u));
        l.Insert(V(5, 10, prot: 1));    // different protection: no merge
        Items(l).Should().Equal((0UL, 5UL, 3u, 0u), (5UL, 10UL, 1u, 0u), (10UL, 40UL, 3u, 0u));
        l.Insert(V(40, 41, kind: VmaKind.Stack));   // different kind: no merge
        l.Count.Should().Be(4);
    }

    [Fact]
    public void BytesInCountsWhatTheMemoryLimitsCount()
    {
        var l = new VmaList();
        l.Insert(V(0, 10));                                  // private rw: data
        l.Insert(V(20, 30, prot: 1));                        // read-only: not data
        l.Insert(V(40, 50, kind: VmaKind.FileShared));       // shared rw: not data
        l.Insert(V(60, 70, kind: VmaKind.FilePrivate));      // private file rw: data
        l.Insert(V(100, 200, kind: VmaKind.Stack));          // the stack's reserve: neither
        l.BytesIn(0, ulong.MaxValue, false).Should().Be(40 * P);
        l.BytesIn(0, ulong.MaxValue, true).Should().Be(20 * P);
        l.BytesIn(5 * P, 25 * P, false).Should().Be(10 * P);    // clipped at both ends
        l.BytesIn(5 * P, 25 * P, true).Should().Be(5 * P);
        l.BytesIn(10 * P, 20 * P, false).Should().Be(0);        // a gap
    }

    [Fact]
    public void GrowsPastInitialCapacity()
    {
        var l = new VmaList();
        for (ulong i = 0; i < 100; i++) l.Insert(V(i * 2, i * 2 + 1));
        l.Count.Should().Be(100);
        for (int i = 0; i < 100; i++) l[i].Start.Should().Be((ulong)i * 2 * P);
        for (ulong i = 0; i < 100; i++) l.Insert(V(i * 2 + 1, i * 2 + 2));
        Items(l).Should().Equal((0UL, 200UL, 3u, 0u));
    }

    [Fact]
    public void RemoveSplitsTrimsAndDeletes()
    {
        var l = new VmaList();
        l.Insert(V(0, 100));
        l.Remove(40 * P, 60 * P);
        Items(l).Should().Equal((0UL, 40UL, 3u, 0u), (60UL, 100UL, 3u, 0u));
        l.Remove(30 * P, 70 * P);       // trims both sides
        Items(l).Should().Equal((0UL, 30UL, 3u, 0u), (70UL, 100UL, 3u, 0u));
        l.Remove(0, 10 * P);            // front
        l.Remove(90 * P, 200 * P);      // back, past the end
        Items(l).Should().Equal((10UL, 30UL, 3u, 0u), (70UL, 90UL, 3u, 0u));
        l.Remove(0, 1000 * P);          // everything
        l.Count.Should().Be(0);
        l.Remove(0, 1000 * P);          // nothing to do
        l.Count.Should().Be(0);
    }

    [Fact]
    public void IndexOfAndCovers()
    {
        var l = new VmaList();
        l.Insert(V(10, 20));
        l.Insert(V(20, 30, prot: 1));
        l.Insert(V(40, 50));
        l.IndexOf(10 * P).Should().Be(0);
        l.IndexOf(20 * P - 1).Should().Be(0);
        l.IndexOf(20 * P).Should().Be(1);
        l.IndexOf(35 * P).Should().Be(-1);
        l.IndexOf(50 * P - 1).Should().Be(2);
        l.IndexOf(50 * P).Should().Be(-1);
        l.IndexOf(0).Should().Be(-1);
        l.Covers(10 * P, 30 * P).Should().BeTrue("two adjacent VMAs with no gap");
        l.Covers(15 * P, 25 * P).Should().BeTrue();
        l.Covers(10 * P, 31 * P).Should().BeFalse();
        l.Covers(9 * P, 12 * P).Should().BeFalse();
        l.Covers(25 * P, 45 * P).Should().BeFalse();
        l.Covers(40 * P, 50 * P).Should().BeTrue();
        l.Overlaps(30 * P, 40 * P).Should().BeFalse();
        l.Overlaps(29 * P, 40 * P).Should().BeTrue();
        new VmaList().IndexOf(0).Should().Be(-1);
    }

    [Fact]
    public void FindFreeTopDown()
    {
        var l = new VmaList();
        ulong bottom = 16 * P, top = 1000 * P;
        l.FindFreeTopDown(10 * P, bottom, top).Should().Be(990 * P, "empty list: just below top");
        l.Insert(V(995, 1100));         // straddles top
        l.FindFreeTopDown(10 * P, bottom, top).Should().Be(985 * P);
        l.Insert(V(900, 990));
        l.FindFreeTopDown(5 * P, bottom, top).Should().Be(990 * P, "exact 5-page gap 990..995");
        l.FindFreeTopDown(6 * P, bottom, top).Should().Be(894 * P);
        l.Insert(V(10, 20));            // straddles bottom
        l.FindFreeTopDown(880 * P, bottom, top).Should().Be(20 * P, "gap 20..900 holds exactly 880 pages");
        l.FindFreeTopDown(881 * P, bottom, top).Should().Be(0, "nothing fits");
    }

    /// <summary>Random inserts (after removing the range, as mmap does) and removals against a page model.</summary>
    [Fact]
    public void RandomisedAgainstPageModel()
    {
        var rng = new Random(42);
        const int N = 300;
        var model = new int[N];       // 0 = unmapped, else (prot<<4 | kind) + 1
        var l = new VmaList();
        for (int step = 0; step < 3000; step++)
        {
            int s = rng.Next(N), len = rng.Next(1, 30), e = Math.Min(N, s + len);
            if (rng.Next(3) != 0)
            {
                uint prot = (uint)rng.Next(1, 3), kind = (uint)rng.Next(2);
                l.Remove((ulong)s * P, (ulong)e * P);
                l.Insert(V((ulong)s, (ulong)e, prot, kind));
                for (int i = s; i < e; i++) model[i] = (int)(prot << 4 | kind) + 1;
            }
            else
            {
                l.Remove((ulong)s * P, (ulong)e * P);
                for (int i = s; i < e; i++) model[i] = 0;
            }
            Check(l, model, step);
            if (step % 50 == 0) CheckQueries(l, model, rng, step);
        }
    }

    static void Check(VmaList l, int[] model, int step)
    {
        // Expected: maximal runs of equal non-zero attributes.
        var expect = new List<(ulong, ulong, uint, uint)>();
        for (int i = 0; i < model.Length;)
        {
            if (model[i] == 0) { i++; continue; }
            int j = i;
            while (j < model.Length && model[j] == model[i]) j++;
            expect.Add(((ulong)i, (ulong)j, (uint)((model[i] - 1) >> 4), (uint)((model[i] - 1) & 15)));
            i = j;
        }
        Items(l).Should().Equal(expect, "step {0}: sorted, non-overlapping and merged", step);
    }

    static void CheckQueries(VmaList l, int[] model, Random rng, int step)
    {
        for (int i = 0; i < model.Length; i++)
        {
            int idx = l.IndexOf((ulong)i * P + 7);
            if (model[i] == 0) idx.Should().Be(-1);
            else { idx.Should().BeGreaterThanOrEqualTo(0); l[idx].Contains((ulong)i * P + 7).Should().BeTrue(); }
        }
        for (int k = 0; k < 20; k++)
        {
            int a = rng.Next(model.Length), b = Math.Min(model.Length, a + rng.Next(1, 40));
            bool covered = true;
            for (int i = a; i < b; i++) covered &= model[i] != 0;
            l.Covers((ulong)a * P, (ulong)b * P).Should().Be(covered, "step {0}: Covers({1}, {2})", step, a, b);
            int len = rng.Next(1, 20), bottom = rng.Next(1, 100), top = rng.Next(200, model.Length + 50);
            ulong expected = 0;
            for (int start = top - len; start >= bottom; start--)
            {
                bool free = true;
                for (int i = start; i < start + len; i++) if (i < model.Length && model[i] != 0) { free = false; break; }
                if (free) { expected = (ulong)start * P; break; }
            }
            l.FindFreeTopDown((ulong)len * P, (ulong)bottom * P, (ulong)top * P)
                .Should().Be(expected, "step {0}: FindFreeTopDown({1}, {2}, {3})", step, len, bottom, top);
        }
    }
}
