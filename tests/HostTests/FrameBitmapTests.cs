using Kernel.Memory;

namespace HostTests;

/// <summary>kernel/memory/FrameAllocator.cs: the frame bitmap, over a pinned host array.</summary>
public unsafe class FrameBitmapTests
{
    /// <summary>A bitmap plus the pinned words it lives in.</summary>
    sealed class Frames
    {
        readonly ulong[] _words;
        public FrameBitmap Map;
        public Frames(ulong frames)
        {
            _words = GC.AllocateArray<ulong>((int)((frames + 63) / 64) + 1, pinned: true);
            _words[^1] = 0xdeadbeef;   // guard word past the bitmap
            fixed (ulong* p = _words) Map = new FrameBitmap(p, frames);
        }
        public ulong Guard => _words[^1];
    }

    [Fact]
    public void StartsAllUsed()
    {
        var f = new Frames(100);
        f.Map.Frames.Should().Be(100);
        f.Map.FreeFrames.Should().Be(0);
        f.Map.Allocate(1).Should().Be(ulong.MaxValue);
        for (ulong i = 0; i < 100; i++) f.Map.IsUsed(i).Should().BeTrue();
        f.Map.IsUsed(100).Should().BeTrue("frames past the end count as used");
        f.Guard.Should().Be(0xdeadbeef);
    }

    [Fact]
    public void ReleaseReserveAccounting()
    {
        var f = new Frames(200);
        f.Map.Release(10, 50);
        f.Map.FreeFrames.Should().Be(50);
        f.Map.Release(40, 30);              // overlaps: only 10..69 is new -> 10 more
        f.Map.FreeFrames.Should().Be(60);
        f.Map.Reserve(0, 15);               // 10..14 were free
        f.Map.FreeFrames.Should().Be(55);
        f.Map.Reserve(0, 15);               // idempotent
        f.Map.FreeFrames.Should().Be(55);
        f.Map.Release(190, 100);            // clipped at the end
        f.Map.FreeFrames.Should().Be(65);
        f.Map.IsUsed(199).Should().BeFalse();
        f.Map.IsUsed(200).Should().BeTrue();
        f.Guard.Should().Be(0xdeadbeef, "Release must not write past the bitmap");
        f.Map.IsUsed(14).Should().BeTrue();
        f.Map.IsUsed(15).Should().BeFalse();
        f.Map.IsUsed(69).Should().BeFalse();
        f.Map.IsUsed(70).Should().BeTrue();
    }

    [Fact]
    public void AllocatesSingleFramesUntilExhausted()
    {
        var f = new Frames(130);
        f.Map.Release(0, 130);
        var seen = new HashSet<ulong>();
        for (int i = 0; i < 130; i++)
        {
            ulong a = f.Map.Allocate(1);
            a.Should().BeLessThan(130);
            seen.Add(a).Should().BeTrue("frame {0} handed out twice", a);
        }
        f.Map.FreeFrames.Should().Be(0);
        f.Map.Allocate(1).Should().Be(ulong.MaxValue);
        f.Map.Release(77, 1);
        f.Map.Allocate(1).Should().Be(77, "the only free frame, found by wrapping past the hint");
        f.Map.Allocate(0).Should().Be(ulong.MaxValue, "a zero-frame request is refused");
    }

    [Fact]
    public void ContiguousRunSkipsHoles()
    {
        var f = new Frames(256);
        f.Map.Release(0, 256);
        f.Map.Reserve(3, 1);
        f.Map.Reserve(70, 1);
        ulong a = f.Map.Allocate(10);
        a.Should().Be(4);
        for (ulong i = a; i < a + 10; i++) f.Map.IsUsed(i).Should().BeTrue();
        f.Map.FreeFrames.Should().Be(256 - 2 - 10);
        ulong b = f.Map.Allocate(60);       // 14..69 is 56 frames: too short
        b.Should().Be(71);
    }

    [Fact]
    public void RunLargerThanFreeTotalOrAnyGapFails()
    {
        var f = new Frames(128);
        f.Map.Release(0, 128);
        f.Map.Reserve(64, 1);
        f.Map.Allocate(65).Should().Be(ulong.MaxValue, "no gap of 65 frames exists");
        f.Map.FreeFrames.Should().Be(127, "a failed allocation takes nothing");
        f.Map.Allocate(200).Should().Be(ulong.MaxValue);
        f.Map.Allocate(64).Should().Be(0);
        f.Map.Allocate(63).Should().Be(65);
        f.Map.FreeFrames.Should().Be(0);
    }

    [Theory]
    [InlineData(2UL)]
    [InlineData(8UL)]
    [InlineData(16UL)]
    [InlineData(64UL)]
    public void AlignedRuns(ulong align)
    {
        var f = new Frames(1024);
        f.Map.Release(0, 1024);
        f.Map.Reserve(0, 1);
        for (int i = 0; i < 6; i++)
        {
            ulong a = f.Map.Allocate(3, align);
            a.Should().NotBe(ulong.MaxValue);
            (a % align).Should().Be(0, "allocation {0} at frame {1} must be {2}-aligned", i, a, align);
        }
    }

    /// <summary>
    /// Alignment larger than one bitmap word (64 frames), as a 2 MiB huge page needs (512).
    /// </summary>
    [Theory]
    [InlineData(128UL)]
    [InlineData(512UL)]
    public void AlignedRunsBeyondOneWord(ulong align)
    {
        var f = new Frames(4096);
        f.Map.Release(0, 4096);
        f.Map.Reserve(0, 64);       // a whole used word at frame 0
        ulong a = f.Map.Allocate(1, align);
        a.Should().NotBe(ulong.MaxValue);
        (a % align).Should().Be(0, "frame {0} must be {1}-aligned", a, align);
    }

    [Fact]
    public void RandomisedAgainstModel()
    {
        var rng = new Random(1234);
        const ulong N = 700;
        var f = new Frames(N);
        var used = new bool[N];
        Array.Fill(used, true);
        ulong free = 0;
        for (int step = 0; step < 4000; step++)
        {
            int op = rng.Next(4);
            ulong first = (ulong)rng.Next((int)N + 10), count = (ulong)rng.Next(1, 40);
            if (op == 0)
            {
                f.Map.Release(first, count);
                for (ulong i = first; i < first + count && i < N; i++) if (used[i]) { used[i] = false; free++; }
            }
            else if (op == 1)
            {
                f.Map.Reserve(first, count);
                for (ulong i = first; i < first + count && i < N; i++) if (!used[i]) { used[i] = true; free--; }
            }
            else
            {
                ulong align = 1UL << rng.Next(0, 7);   // up to 64
                count = (ulong)rng.Next(1, 20);
                ulong a = f.Map.Allocate(count, align);
                bool fits = false;
                for (ulong s = 0; s + count <= N && !fits; s += align)
                {
                    bool ok = true;
                    for (ulong i = s; i < s + count; i++) if (used[i]) { ok = false; break; }
                    fits = ok;
                }
                if (a == ulong.MaxValue)
                    fits.Should().BeFalse("step {0}: Allocate({1}, {2}) failed though an aligned run was free", step, count, align);
                else
                {
                    (a % align).Should().Be(0);
                    (a + count).Should().BeLessThanOrEqualTo(N);
                    for (ulong i = a; i < a + count; i++)
                    {
                        used[i].Should().BeFalse("step {0}: frame {1} handed out while in use", step, i);
                        used[i] = true;
                    }
                    free -= count;
                }
            }
            f.Map.FreeFrames.Should().Be(free, "step {0}", step);
        }
        for (ulong i = 0; i < N; i++) f.Map.IsUsed(i).Should().Be(used[i], "frame {0}", i);
        f.Guard.Should().Be(0xdeadbeef);
    }
}
