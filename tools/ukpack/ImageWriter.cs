using System.Buffers.Binary;
using System.Text;
using Kernel.Fs;

namespace Ukpack;

/// <summary>Writes an image: kernel ELF, zero padding to 4096, payload, 32-byte trailer
/// (docs/image-format.md).</summary>
public static class ImageWriter
{
    public static byte[] StringList(IEnumerable<string> items)
    {
        var ms = new MemoryStream();
        foreach (var s in items) { ms.Write(Encoding.UTF8.GetBytes(s)); ms.WriteByte(0); }
        return ms.ToArray();
    }

    /// <summary>Stream wrapper that computes the CRC-32 and length of what passes through.</summary>
    sealed class CrcStream(Stream inner, uint seed = 0) : Stream
    {
        static readonly uint[] Table = Crc32.MakeTable();
        public uint Crc = seed;
        public long Written;
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> b) { Crc = Crc32.Update(Table, Crc, b); Written += b.Length; inner.Write(b); }
        public override void WriteByte(byte value) => Write([value]);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Writes the payload (header, section table, ARGV, ENV, PROGRAM, ROOTFS) to s.
    /// Returns (length, crc), the CRC continuing from `crcSeed` (the CRC of the image bytes before
    /// the payload), so that it covers the whole image.
    /// `rootDisk`, when given, is the ROOTDISK section (ukpack build --root-disk, RootDisk.cs).</summary>
    public static (long Length, uint Crc) WritePayload(Stream s, IReadOnlyList<string> argv, IReadOnlyList<string> env, string program, RootFsBuilder rootfs, uint crcSeed = 0, byte[]? rootDisk = null)
    {
        var crc = new CrcStream(s, crcSeed);
        var argvB = StringList(argv);
        var envB = StringList(env);
        var progB = StringList([program]);
        uint count = rootDisk != null ? 5u : 4u;
        long off = PayloadFormat.HeaderSize + count * PayloadFormat.SectionRowSize;
        long argvOff = off; off += argvB.Length;
        long envOff = off; off += envB.Length;
        long progOff = off; off += progB.Length;
        long diskOff = off; off += rootDisk?.Length ?? 0;
        long fsOff = (off + PayloadFormat.PageSize - 1) / PayloadFormat.PageSize * PayloadFormat.PageSize;

        // The rootfs length is only known after writing; it is written last and the table
        // needs it, so build the archive first when it is small, or measure with a null pass.
        var measure = new CountingStream();
        long fsLen = rootfs.WriteTo(measure);

        var head = new byte[fsOff];
        var h = head.AsSpan();
        PayloadWriter.WriteHeader(h, count);
        static void Row(Span<byte> h, int i, uint kind, long o, long l) => PayloadWriter.WriteSection(h, (uint)i, kind, (ulong)o, (ulong)l);
        Row(h, 0, PayloadFormat.KindArgv, argvOff, argvB.Length);
        Row(h, 1, PayloadFormat.KindEnv, envOff, envB.Length);
        Row(h, 2, PayloadFormat.KindProgram, progOff, progB.Length);
        Row(h, 3, PayloadFormat.KindRootFs, fsOff, fsLen);
        if (rootDisk != null) { Row(h, 4, PayloadFormat.KindRootDisk, diskOff, rootDisk.Length); rootDisk.CopyTo(h[(int)diskOff..]); }
        argvB.CopyTo(h[(int)argvOff..]);
        envB.CopyTo(h[(int)envOff..]);
        progB.CopyTo(h[(int)progOff..]);
        crc.Write(head);
        long fsLen2;
        using (var progress = new Progress("writing the image", fsLen)) fsLen2 = rootfs.WriteTo(crc, progress);
        if (fsLen2 != fsLen) throw new UkpackException("root filesystem changed while the image was being written");
        return (crc.Written, crc.Crc);
    }

    sealed class CountingStream : Stream
    {
        long _n;
        public override void Write(byte[] buffer, int offset, int count) => _n += count;
        public override void Write(ReadOnlySpan<byte> b) => _n += b.Length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _n;
        public override long Position { get => _n; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    public static byte[] Trailer(long payloadOffset, long payloadLength, uint crc)
    {
        var t = new byte[PayloadFormat.TrailerSize];
        PayloadWriter.WriteTrailer(t, (ulong)payloadOffset, (ulong)payloadLength, crc);
        return t;
    }

    /// <summary>Writes the whole image to s.</summary>
    public static void WriteImage(Stream s, ReadOnlySpan<byte> kernel, IReadOnlyList<string> argv, IReadOnlyList<string> env, string program, RootFsBuilder rootfs)
    {
        s.Write(kernel);
        long payloadOffset = (kernel.Length + PayloadFormat.PageSize - 1) / PayloadFormat.PageSize * PayloadFormat.PageSize;
        var pad = new byte[payloadOffset - kernel.Length];
        s.Write(pad);
        // The trailer's CRC covers everything before it: kernel, padding and payload.
        var table = Crc32.MakeTable();
        uint head = Crc32.Update(table, Crc32.Update(table, 0, kernel), pad);
        var (len, crc) = WritePayload(s, argv, env, program, rootfs, head);
        s.Write(Trailer(payloadOffset, len, crc));
    }

    /// <summary>Writes the image to path atomically (temp file + rename).</summary>
    public static void WriteImageFile(string path, byte[] kernel, IReadOnlyList<string> argv, IReadOnlyList<string> env, string program, RootFsBuilder rootfs)
    {
        var full = Path.GetFullPath(path);
        var tmp = full + ".tmp" + Environment.ProcessId;
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                WriteImage(f, kernel, argv, env, program, rootfs);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch { }
            throw new UkpackException($"{path}: cannot write image: {e.Message}");
        }
        catch
        {
            try { File.Delete(tmp); } catch { }
            throw;
        }
    }
}

/// <summary>A validated image held in memory.</summary>
public sealed class ImageFile
{
    public required byte[] Bytes;
    public required ImageTrailer Trailer;
    public required uint SectionCount;

    public ReadOnlySpan<byte> Payload => Bytes.AsSpan((int)Trailer.PayloadOffset, (int)Trailer.PayloadLength);
    public long KernelSize => (long)Trailer.PayloadOffset;

    public static string Describe(PayloadError e) => e switch
    {
        PayloadError.TooSmall => "not a ukpack image (too small)",
        PayloadError.BadTrailerMagic => "not a ukpack image, or truncated (no UKPAYLD1 trailer)",
        PayloadError.BadTrailerVersion => "unsupported image format version",
        PayloadError.PayloadMisaligned => "corrupt image (payload offset not page-aligned)",
        PayloadError.PayloadOutOfBounds => "corrupt or truncated image (payload past the end)",
        PayloadError.BadCrc => "corrupt image (CRC mismatch)",
        PayloadError.BadMagic => "corrupt image (bad payload header)",
        PayloadError.BadVersion => "unsupported payload version",
        PayloadError.SectionsOutOfBounds => "corrupt image (section table past the payload)",
        PayloadError.SectionOutOfBounds => "corrupt image (section past the payload)",
        PayloadError.RootFsMisaligned => "corrupt image (root filesystem not page-aligned)",
        PayloadError.MissingSection => "corrupt image (missing argv, program or rootfs section)",
        _ => "corrupt image",
    };

    /// <summary>Checks trailer, CRC and section table; throws UkpackException (one line).</summary>
    public static ImageFile Open(string path)
    {
        byte[] bytes;
        RootDiskInfo? disk;
        try
        {
            var fi = new FileInfo(path);
            if (!fi.Exists) throw new UkpackException(Directory.Exists(path) ? $"{path}: is a directory" : $"{path}: no such file");
            // An image with its root filesystem on a disk (--root-disk): only its head (kernel,
            // payload, trailer) is read; the ext4 filesystem after it is checked in place.
            disk = RootDisk.ReadTrailer(path, fi.Length);
            if (disk != null)
            {
                bytes = new byte[disk.HeadLength];
                using var f = File.OpenRead(path);
                f.ReadExactly(bytes);
            }
            else
            {
                if (fi.Length > int.MaxValue) throw new UkpackException($"{path}: image too large (over 2 GiB)");
                bytes = File.ReadAllBytes(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UkpackException($"{path}: {e.Message}");
        }
        var img = Parse(path, bytes);
        if (disk != null) disk = RootDisk.Check(path, img, disk);
        else if (img.Section(PayloadFormat.KindRootDisk).Length > 0) throw new UkpackException($"{path}: truncated image (its root disk part is missing)");
        img.Disk = disk;
        return img;
    }

    /// <summary>Where the image's root filesystem lies when it is on a disk (--root-disk); null
    /// when the root filesystem is in the payload.</summary>
    public RootDiskInfo? Disk { get; private set; }

    public static ImageFile Parse(string name, byte[] bytes)
    {
        var err = PayloadReader.ReadTrailer(bytes, (ulong)bytes.Length, out var t);
        if (err != PayloadError.None) throw new UkpackException($"{name}: {Describe(err)}");
        var payload = bytes.AsSpan((int)t.PayloadOffset, (int)t.PayloadLength);
        if (Crc32.Compute(bytes.AsSpan(0, (int)(t.PayloadOffset + t.PayloadLength))) != t.Crc) throw new UkpackException($"{name}: {Describe(PayloadError.BadCrc)}");
        err = PayloadReader.Validate(payload, out var count);
        if (err != PayloadError.None) throw new UkpackException($"{name}: {Describe(err)}");
        var img = new ImageFile { Bytes = bytes, Trailer = t, SectionCount = count };
        var fs = img.Section(PayloadFormat.KindRootFs);
        var fsErr = RootFsReader.Validate(fs, out _);
        if (fsErr != RootFsError.None) throw new UkpackException($"{name}: corrupt root filesystem ({fsErr})");
        return img;
    }

    public ReadOnlySpan<byte> Section(uint kind) =>
        PayloadReader.FindSection(Payload, SectionCount, kind, out int off, out int len) ? Payload.Slice(off, len) : default;

    public static List<string> Strings(ReadOnlySpan<byte> list)
    {
        var r = new List<string>();
        while (list.Length > 0)
        {
            int z = list.IndexOf((byte)0);
            if (z < 0) z = list.Length;
            r.Add(Encoding.UTF8.GetString(list[..z]));
            list = z < list.Length ? list[(z + 1)..] : default;
        }
        return r;
    }

    public List<string> Argv => Strings(Section(PayloadFormat.KindArgv));
    public List<string> Env => Strings(Section(PayloadFormat.KindEnv));
    public string Program => Strings(Section(PayloadFormat.KindProgram)).FirstOrDefault() ?? "";
    public ReadOnlySpan<byte> RootFs => Section(PayloadFormat.KindRootFs);
}
