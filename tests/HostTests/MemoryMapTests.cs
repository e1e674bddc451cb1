using System.Buffers.Binary;
using Kernel.Arch;
using Kernel.Memory;

namespace HostTests;

/// <summary>kernel/arch/x86_64/StartInfo.cs: MemoryMap.Parse over PVH/E820-style entries.</summary>
public class MemoryMapTests
{
    const uint Ram = 1, Reserved = 2, Acpi = 3;

    static byte[] Raw(params (ulong Addr, ulong Size, uint Type)[] entries)
    {
        var b = new byte[entries.Length * MemoryMap.EntrySize];
        for (int i = 0; i < entries.Length; i++)
        {
            var s = b.AsSpan(i * MemoryMap.EntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(s, entries[i].Addr);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], entries[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[16..], entries[i].Type);
            BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 0xffffffff);   // reserved field: ignored
        }
        return b;
    }

    static (ulong, ulong)[] Parse(byte[] raw, int capacity = 32)
    {
        var output = new MemoryRegion[capacity];
        int n = MemoryMap.Parse(raw, output);
        return output.Take(n).Select(r => (r.Start, r.End)).ToArray();
    }

    [Fact]
    public void QemuStyleMap()
    {
        // What QEMU's PVH boot reports for -m 512M on q35 (low RAM, a BIOS hole, reserved ranges).
        var raw = Raw((0, 0x9fc00, Ram), (0x9fc00, 0x400, Reserved), (0xf0000, 0x10000, Reserved),
                      (0x100000, 0x1ff00000, Ram), (0xfeffc000, 0x4000, Reserved), (0xfd00000000, 0x300000000, Reserved));
        Parse(raw).Should().Equal((0UL, 0x9f000UL), (0x100000UL, 0x20000000UL));
    }

    [Fact]
    public void SortsUnorderedEntries()
    {
        var raw = Raw((0x300000, 0x1000, Ram), (0x100000, 0x1000, Ram), (0x200000, 0x1000, Ram), (0x0, 0x1000, Ram));
        Parse(raw).Should().Equal((0UL, 0x1000UL), (0x100000UL, 0x101000UL), (0x200000UL, 0x201000UL), (0x300000UL, 0x301000UL));
    }

    [Fact]
    public void MergesOverlappingTouchingAndContainedRanges()
    {
        var raw = Raw((0x10000, 0x10000, Ram), (0x18000, 0x10000, Ram),   // overlap
                      (0x28000, 0x8000, Ram),                            // touching
                      (0x12000, 0x1000, Ram),                            // contained
                      (0x100000, 0x1000, Ram));                          // separate
        Parse(raw).Should().Equal((0x10000UL, 0x30000UL), (0x100000UL, 0x101000UL));
    }

    [Fact]
    public void DropsNonRamEmptyAndSubPageRanges()
    {
        var raw = Raw((0x1000, 0x5000, Reserved), (0x10000, 0x5000, Acpi), (0x20000, 0, Ram),
                      (0x30001, 0xfff, Ram),          // inside one page once aligned
                      (0x40800, 0x1000, Ram),         // straddles a boundary, covers no whole page
                      (0x50000, 0x800, Ram));         // half a page
        Parse(raw).Should().BeEmpty();
    }

    [Fact]
    public void AlignsInwardToPages()
    {
        Parse(Raw((0x1001, 0x3000, Ram))).Should().Equal((0x2000UL, 0x4000UL));
        Parse(Raw((0x1000, 0x2fff, Ram))).Should().Equal((0x1000UL, 0x3000UL));
    }

    [Fact]
    public void IgnoresWrappingEntriesAndTrailingPartialEntry()
    {
        var raw = Raw((0xfffffffffffff000, 0x2000, Ram), (0x1000, 0x1000, Ram));
        var withTail = raw.Concat(new byte[10]).ToArray();
        Parse(withTail).Should().Equal((0x1000UL, 0x2000UL));
        Parse([]).Should().BeEmpty();
    }

    /// <summary>An entry in the last page of the address space: rounding its start up must not wrap to 0.</summary>
    [Fact]
    public void EntryInTheLastPageDoesNotWrap()
    {
        Parse(Raw((0xfffffffffffff001, 0x10, Ram))).Should().BeEmpty();
    }

    [Fact]
    public void StopsAtOutputCapacity()
    {
        var raw = Raw((0x1000, 0x1000, Ram), (0x3000, 0x1000, Ram), (0x5000, 0x1000, Ram));
        Parse(raw, capacity: 2).Should().HaveCount(2);
    }

    [Fact]
    public void RandomisedAgainstPageSet()
    {
        var rng = new Random(7);
        for (int round = 0; round < 300; round++)
        {
            var entries = new List<(ulong, ulong, uint)>();
            var pages = new SortedSet<ulong>();
            int count = rng.Next(0, 12);
            for (int i = 0; i < count; i++)
            {
                ulong addr = (ulong)rng.Next(0, 64 * 4096), size = (ulong)rng.Next(0, 16 * 4096);
                uint type = rng.Next(4) == 0 ? Reserved : Ram;
                entries.Add((addr, size, type));
                if (type != Ram) continue;
                for (ulong p = (addr + 4095) / 4096; p < (addr + size) / 4096; p++) pages.Add(p);
            }
            var got = Parse(Raw(entries.ToArray()));
            for (int i = 0; i < got.Length; i++)
            {
                got[i].Item1.Should().BeLessThan(got[i].Item2);
                (got[i].Item1 % 4096).Should().Be(0);
                (got[i].Item2 % 4096).Should().Be(0);
                if (i > 0) got[i].Item1.Should().BeGreaterThan(got[i - 1].Item2, "sorted with gaps between ranges");
            }
            var gotPages = got.SelectMany(r => Enumerable.Range(0, (int)((r.Item2 - r.Item1) / 4096)).Select(k => r.Item1 / 4096 + (ulong)k));
            gotPages.Should().Equal(pages, "round {0}", round);
        }
    }
}
