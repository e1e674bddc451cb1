using System.Buffers.Binary;
using Kernel.Fs;
using Ukpack;

namespace HostTests;

public class ImageTests
{
    static byte[] Build(int kernelSize = 5000)
    {
        var kernel = new byte[kernelSize];
        kernel[0] = 0x7f; kernel[1] = (byte)'E'; kernel[2] = (byte)'L'; kernel[3] = (byte)'F';
        var fs = new RootFsBuilder();
        fs.AddFileIfMissing("/app/prog", "program bytes", 0x1ed);
        var ms = new MemoryStream();
        ImageWriter.WriteImage(ms, kernel, ["/app/prog", "a b", "c"], ["PATH=/bin", "HOME=/"], "/app/prog", fs);
        return ms.ToArray();
    }

    [Fact]
    public void Crc32MatchesZlib()
    {
        Crc32.Compute("123456789"u8).Should().Be(0xCBF43926u);
        Crc32.Compute(default).Should().Be(0u);
        var t = Crc32.MakeTable();
        Crc32.Update(t, Crc32.Update(t, 0, "12345"u8), "6789"u8).Should().Be(0xCBF43926u);
    }

    [Fact]
    public void RoundTrips()
    {
        var b = Build();
        var img = ImageFile.Parse("x", b);
        img.Trailer.PayloadOffset.Should().Be(8192);
        ((long)img.Trailer.PayloadOffset + (long)img.Trailer.PayloadLength + 32).Should().Be(b.Length);
        b.AsSpan(5000, 8192 - 5000).ToArray().Should().OnlyContain(x => x == 0);
        img.Argv.Should().Equal("/app/prog", "a b", "c");
        img.Env.Should().Equal("PATH=/bin", "HOME=/");
        img.Program.Should().Be("/app/prog");
        PayloadReader.FindSection(img.Payload, img.SectionCount, PayloadFormat.KindRootFs, out int off, out _).Should().BeTrue();
        (((long)img.Trailer.PayloadOffset + off) % 4096).Should().Be(0);
        RootFsReader.Validate(img.RootFs, out _).Should().Be(RootFsError.None);
        BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(b.Length - 4)).Should().Be(2u);
        // Version 2: the CRC covers kernel, padding and payload.
        BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(b.Length - 8)).Should().Be(Crc32.Compute(b.AsSpan(0, b.Length - 32)));
        System.Text.Encoding.ASCII.GetString(b, b.Length - 32, 8).Should().Be("UKPAYLD1");
    }

    [Fact]
    public void KernelOfExactPageSizeNeedsNoPadding()
    {
        ImageFile.Parse("x", Build(4096)).Trailer.PayloadOffset.Should().Be(4096);
    }

    [Fact]
    public void IsDeterministic() => Build().Should().Equal(Build());

    [Fact]
    public void DetectsCorruptByte()
    {
        var b = Build();
        b[8192 + 200] ^= 0x55;
        var act = () => ImageFile.Parse("x.img", b);
        act.Should().Throw<UkpackException>().WithMessage("*CRC mismatch*");
    }

    [Fact]
    public void DetectsCorruptByteInTheKernelPart()
    {
        var b = Build();
        b[100] ^= 0x55;                                      // issue 8.7: the kernel part is covered too
        var act = () => ImageFile.Parse("x.img", b);
        act.Should().Throw<UkpackException>().WithMessage("*CRC mismatch*");
        b = Build();
        b[6000] ^= 0x55;                                     // and the padding after it
        act.Should().Throw<UkpackException>().WithMessage("*CRC mismatch*");
    }

    [Fact]
    public void DetectsTruncation()
    {
        var b = Build();
        foreach (var n in new[] { 0, 10, 31, 4096, b.Length - 1 })
        {
            var act = () => ImageFile.Parse("x.img", b[..n]);
            act.Should().Throw<UkpackException>();
        }
    }

    [Fact]
    public void TrailerChecks()
    {
        var b = Build();
        var t = b.AsSpan(b.Length - 32);
        PayloadReader.ReadTrailer(b, (ulong)b.Length, out _).Should().Be(PayloadError.None);
        var c = (byte[])b.Clone(); BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(c.Length - 24), 8193);
        PayloadReader.ReadTrailer(c, (ulong)c.Length, out _).Should().Be(PayloadError.PayloadMisaligned);
        c = (byte[])b.Clone(); BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(c.Length - 16), ulong.MaxValue);
        PayloadReader.ReadTrailer(c, (ulong)c.Length, out _).Should().Be(PayloadError.PayloadOutOfBounds);
        c = (byte[])b.Clone(); BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(c.Length - 4), 1);   // version 1: payload-only CRC
        PayloadReader.ReadTrailer(c, (ulong)c.Length, out _).Should().Be(PayloadError.BadTrailerVersion);
        t[0].Should().Be((byte)'U');
    }
}
