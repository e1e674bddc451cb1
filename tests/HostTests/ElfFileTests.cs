using System.Buffers.Binary;
using System.Text;
using Kernel.Abi;

namespace HostTests;

public class ElfFileTests
{
    static byte[] Static() => File.ReadAllBytes(TestUtil.StaticBinary);

    [Fact]
    public void ParsesStaticExecutable()
    {
        var b = Static();
        ElfFile.Parse(b, out var elf).Should().Be(ElfError.None);
        elf.Machine.Should().Be(ElfConst.EM_X86_64);
        elf.HasInterp().Should().BeFalse();
        elf.LoadCount.Should().BeGreaterThan(0);
        elf.Entry.Should().BeGreaterThanOrEqualTo(elf.MinVAddr).And.BeLessThan(elf.MaxVAddr);
        elf.GnuStackIndex.Should().BeGreaterThanOrEqualTo(0);
        elf.ExecStack().Should().BeFalse();
    }

    [Fact]
    public void ParsesDynamicSystemBinary()
    {
        if (!File.Exists("/bin/ls")) return;
        var b = File.ReadAllBytes("/bin/ls");
        ElfFile.Parse(b, out var elf).Should().Be(ElfError.None);
        elf.HasInterp().Should().BeTrue();
        Encoding.ASCII.GetString(elf.Interp(b)).Should().StartWith("/lib");
        elf.DynamicIndex.Should().BeGreaterThanOrEqualTo(0);
        elf.PhdrVAddr(out _).Should().BeTrue();
    }

    [Fact]
    public void ParsesStaticPie()
    {
        var dir = TestUtil.TempDir();
        var p = TestUtil.CompileC("gcc", TestUtil.HelloC, "-static-pie -O1", dir, "spie");
        if (p == null) return;
        var b = File.ReadAllBytes(p);
        ElfFile.Parse(b, out var elf).Should().Be(ElfError.None);
        elf.IsPie().Should().BeTrue();
        elf.HasInterp().Should().BeFalse();
    }

    [Fact]
    public void ParsesTlsSegment()
    {
        var dir = TestUtil.TempDir();
        var src = "__thread int t = 5; int main(){return t;}\n";
        var p = TestUtil.CompileC("musl-gcc", src, "-static", dir, "tls") ?? TestUtil.CompileC("gcc", src, "-static", dir, "tls");
        if (p == null) return;
        var b = File.ReadAllBytes(p);
        ElfFile.Parse(b, out var elf).Should().Be(ElfError.None);
        elf.TlsIndex.Should().BeGreaterThanOrEqualTo(0);
        elf.Segments[elf.TlsIndex].MemSize.Should().BeGreaterThanOrEqualTo(4);
    }

    [Fact]
    public void SymbolisesAddressInsideFunction()
    {
        var path = TestUtil.StaticBinary;
        var nm = TestUtil.Run(TestUtil.Which("nm")!, ["--defined-only", path]);
        var line = nm.Out.Split('\n').First(l => l.EndsWith(" helper") && (l.Contains(" T ") || l.Contains(" t ")));
        ulong addr = Convert.ToUInt64(line.Split(' ')[0], 16);
        var b = File.ReadAllBytes(path);
        ElfFile.Parse(b, out var elf).Should().Be(ElfError.None);
        elf.HasSymbols(b).Should().BeTrue();
        elf.FindSymbol(b, addr + 2, out var sym).Should().BeTrue();
        Encoding.ASCII.GetString(b, sym.NameOffset, sym.NameLength).Should().Be("helper");
        sym.Offset.Should().Be(2);
        elf.FindSymbol(b, 0x10, out _).Should().BeFalse();
    }

    static byte[] Mutate(Action<byte[]> f) { var b = Static(); f(b); return b; }

    public static IEnumerable<object[]> Corrupt()
    {
        yield return [new byte[] { 1, 2, 3 }, ElfError.BadMagic];
        yield return [Encoding.ASCII.GetBytes("hello world, this is text\n"), ElfError.BadMagic];
        yield return [Static()[..40], ElfError.TooSmall];
        yield return [Mutate(b => b[4] = 1), ElfError.Elf32];
        yield return [Mutate(b => b[4] = 9), ElfError.BadClass];
        yield return [Mutate(b => b[5] = 2), ElfError.BigEndian];
        yield return [Mutate(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 3)), ElfError.WrongMachine];
        yield return [Mutate(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), 1)), ElfError.BadType];
        yield return [Mutate(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(54), 32)), ElfError.BadPhentsize];
        yield return [Mutate(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(56), 0)), ElfError.NoProgramHeaders];
        yield return [Mutate(b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(32), (ulong)b.Length - 8)), ElfError.PhdrOutOfBounds];
        yield return [Mutate(b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(32), ulong.MaxValue - 10)), ElfError.PhdrOutOfBounds];
        yield return [Static()[..2000], ElfError.SegmentOutOfBounds];
        yield return [Mutate(b => FirstLoad(b, (p) => BinaryPrimitives.WriteUInt64LittleEndian(p[40..], 0))), ElfError.FileszExceedsMemsz];
        yield return [Mutate(b => FirstLoad(b, (p) => BinaryPrimitives.WriteUInt64LittleEndian(p[48..], 0x1001))), ElfError.BadAlignment];
        yield return [Mutate(b => FirstLoad(b, (p) => BinaryPrimitives.WriteUInt64LittleEndian(p[16..], BinaryPrimitives.ReadUInt64LittleEndian(p[16..]) + 8))), ElfError.MisalignedSegment];
        yield return [Mutate(b => FirstLoad(b, (p) => BinaryPrimitives.WriteUInt64LittleEndian(p[40..], ulong.MaxValue))), ElfError.AddressOverflow];
    }

    /// <summary>Applies f to the first PT_LOAD with a non-zero p_filesz.</summary>
    static void FirstLoad(byte[] b, SpanAction f)
    {
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(32));
        int n = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(56));
        for (int i = 0; i < n; i++)
        {
            var p = b.AsSpan((int)phoff + i * 56, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(p) == 1 && BinaryPrimitives.ReadUInt64LittleEndian(p[32..]) != 0) { f(p); return; }
        }
        throw new InvalidOperationException("no PT_LOAD");
    }
    public delegate void SpanAction(Span<byte> p);

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void RejectsCorrupt(byte[] file, ElfError expected)
    {
        ElfFile.Parse(file, out var elf).Should().Be(expected);
        elf.Should().BeNull();
        ElfFile.ErrorMessage(expected).Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void InterpMustBeNulTerminated()
    {
        if (!File.Exists("/bin/ls")) return;
        var b = File.ReadAllBytes("/bin/ls");
        ElfFile.Parse(b, out var elf).Should().Be(ElfError.None);
        var ph = elf.Segments[elf.InterpIndex];
        b[(int)(ph.Offset + ph.FileSize - 1)] = (byte)'x';
        ElfFile.Parse(b, out _).Should().Be(ElfError.BadInterp);
    }
}
