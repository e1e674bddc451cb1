// Image payload and root filesystem archive format (docs/image-format.md).
// SHARED SOURCE: compiled into the kernel (tiny corelib) and into the host tools
// (ukpack, HostTests). Keep to: primitives, structs, classes with fields, static methods,
// arrays, spans, string literals, enums, out parameters, BinaryPrimitives.
// No exceptions, no generics, no LINQ, no string building.
#nullable disable
using System;
using System.Buffers.Binary;

namespace Kernel.Fs
{
    public static class RootFsFormat
    {
        public const uint Magic = 0x5346_4b55;      // "UKFS"
        public const uint Version = 1;
        public const int HeaderSize = 32;
        public const int EntrySize = 64;
        public const int DataAlign = 4096;

        // st_mode type bits, as the entries store them (Linux's, abi/FileMode.cs).
        public const uint S_IFMT = Abi.FileMode.S_IFMT;
        public const uint S_IFSOCK = Abi.FileMode.S_IFSOCK;
        public const uint S_IFLNK = Abi.FileMode.S_IFLNK;
        public const uint S_IFREG = Abi.FileMode.S_IFREG;
        public const uint S_IFBLK = Abi.FileMode.S_IFBLK;
        public const uint S_IFDIR = Abi.FileMode.S_IFDIR;
        public const uint S_IFCHR = Abi.FileMode.S_IFCHR;
        public const uint S_IFIFO = Abi.FileMode.S_IFIFO;

        public static bool IsDir(uint mode) { return (mode & S_IFMT) == S_IFDIR; }
        public static bool IsRegular(uint mode) { return (mode & S_IFMT) == S_IFREG; }
        public static bool IsSymlink(uint mode) { return (mode & S_IFMT) == S_IFLNK; }
    }

    public enum RootFsError
    {
        None = 0,
        TooSmall,            // shorter than the header
        BadMagic,
        BadVersion,
        NoEntries,           // entry count 0 (there must be a root)
        EntriesOutOfBounds,  // entry table past the end
        NamesOutOfBounds,    // names blob past the end
        BadRoot,             // entry 0 not a directory, not its own parent, or named
        BadParent,           // parent index >= own index
        ParentNotDirectory,
        NameOutOfBounds,     // name past the end of the names blob
        BadName,             // empty, ".", "..", contains '/' or NUL
        DataOutOfBounds,     // data past the end of the archive
        DataMisaligned,      // regular file data not 4096-aligned
        BadType,             // st_mode type not dir, regular file or symlink
    }

    /// <summary>One 64-byte archive entry, decoded.</summary>
    public struct RootFsEntry
    {
        public uint Ino;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        public uint Parent;
        public uint NameOffset;
        public uint NameLength;
        public long MtimeSec;
        public uint MtimeNsec;
        public ulong DataOffset;
        public ulong DataSize;

        public static void Decode(ReadOnlySpan<byte> e, out RootFsEntry r)
        {
            r.Ino = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(0, 4));
            r.Mode = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(4, 4));
            r.Uid = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(8, 4));
            r.Gid = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(12, 4));
            r.Parent = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(16, 4));
            r.NameOffset = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(20, 4));
            r.NameLength = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(24, 4));
            r.MtimeSec = BinaryPrimitives.ReadInt64LittleEndian(e.Slice(32, 8));
            r.MtimeNsec = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(40, 4));
            r.DataOffset = BinaryPrimitives.ReadUInt64LittleEndian(e.Slice(48, 8));
            r.DataSize = BinaryPrimitives.ReadUInt64LittleEndian(e.Slice(56, 8));
        }

        public static void Encode(Span<byte> e, ref RootFsEntry r)
        {
            for (int i = 0; i < RootFsFormat.EntrySize; i++) e[i] = 0;
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(0, 4), r.Ino);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(4, 4), r.Mode);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(8, 4), r.Uid);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(12, 4), r.Gid);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(16, 4), r.Parent);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(20, 4), r.NameOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(24, 4), r.NameLength);
            BinaryPrimitives.WriteInt64LittleEndian(e.Slice(32, 8), r.MtimeSec);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(40, 4), r.MtimeNsec);
            BinaryPrimitives.WriteUInt64LittleEndian(e.Slice(48, 8), r.DataOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(e.Slice(56, 8), r.DataSize);
        }
    }

    public struct RootFsHeader
    {
        public uint Count;
        public ulong NamesOffset;
        public ulong NamesLength;
    }

    /// <summary>Writer half of the archive header (ukpack): the same layout RootFsReader reads.</summary>
    public static class RootFsHeaderWriter
    {
        public static void Write(Span<byte> a, uint count, ulong namesOffset, ulong namesLength)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(a.Slice(0, 4), RootFsFormat.Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(a.Slice(4, 4), RootFsFormat.Version);
            BinaryPrimitives.WriteUInt32LittleEndian(a.Slice(8, 4), count);
            BinaryPrimitives.WriteUInt64LittleEndian(a.Slice(16, 8), namesOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(a.Slice(24, 8), namesLength);
        }
    }

    /// <summary>Reader over an archive held in memory. Call Validate once; after it
    /// returns None, GetEntry/Name/Data need no further checks for indexes below Count.</summary>
    public static class RootFsReader
    {
        public static RootFsError Validate(ReadOnlySpan<byte> a, out RootFsHeader h)
        {
            h = new RootFsHeader();
            if (a.Length < RootFsFormat.HeaderSize) return RootFsError.TooSmall;
            if (BinaryPrimitives.ReadUInt32LittleEndian(a.Slice(0, 4)) != RootFsFormat.Magic) return RootFsError.BadMagic;
            if (BinaryPrimitives.ReadUInt32LittleEndian(a.Slice(4, 4)) != RootFsFormat.Version) return RootFsError.BadVersion;
            h.Count = BinaryPrimitives.ReadUInt32LittleEndian(a.Slice(8, 4));
            h.NamesOffset = BinaryPrimitives.ReadUInt64LittleEndian(a.Slice(16, 8));
            h.NamesLength = BinaryPrimitives.ReadUInt64LittleEndian(a.Slice(24, 8));
            ulong len = (ulong)a.Length;
            if (h.Count == 0) return RootFsError.NoEntries;
            if ((ulong)h.Count * RootFsFormat.EntrySize > len - RootFsFormat.HeaderSize) return RootFsError.EntriesOutOfBounds;
            if (!InBounds(h.NamesOffset, h.NamesLength, len)) return RootFsError.NamesOutOfBounds;

            for (uint i = 0; i < h.Count; i++)
            {
                RootFsEntry e;
                GetEntry(a, i, out e);
                uint type = e.Mode & RootFsFormat.S_IFMT;
                if (type != RootFsFormat.S_IFDIR && type != RootFsFormat.S_IFREG && type != RootFsFormat.S_IFLNK)
                    return RootFsError.BadType;
                if (i == 0)
                {
                    if (type != RootFsFormat.S_IFDIR || e.Parent != 0 || e.NameLength != 0) return RootFsError.BadRoot;
                }
                else
                {
                    if (e.Parent >= i) return RootFsError.BadParent;
                    RootFsEntry p;
                    GetEntry(a, e.Parent, out p);
                    if (!RootFsFormat.IsDir(p.Mode)) return RootFsError.ParentNotDirectory;
                    if (!InBounds(e.NameOffset, e.NameLength, h.NamesLength)) return RootFsError.NameOutOfBounds;
                    ReadOnlySpan<byte> name = a.Slice((int)(h.NamesOffset + e.NameOffset), (int)e.NameLength);
                    if (!NameOk(name)) return RootFsError.BadName;
                }
                if (type == RootFsFormat.S_IFDIR)
                {
                    // directories carry no data
                }
                else
                {
                    if (!InBounds(e.DataOffset, e.DataSize, len)) return RootFsError.DataOutOfBounds;
                    if (type == RootFsFormat.S_IFREG && (e.DataOffset % RootFsFormat.DataAlign) != 0) return RootFsError.DataMisaligned;
                }
            }
            return RootFsError.None;
        }

        public static void GetEntry(ReadOnlySpan<byte> a, uint i, out RootFsEntry e)
        {
            RootFsEntry.Decode(a.Slice(RootFsFormat.HeaderSize + (int)i * RootFsFormat.EntrySize, RootFsFormat.EntrySize), out e);
        }

        public static ReadOnlySpan<byte> Name(ReadOnlySpan<byte> a, scoped ref RootFsHeader h, scoped ref RootFsEntry e)
        {
            return a.Slice((int)(h.NamesOffset + e.NameOffset), (int)e.NameLength);
        }

        /// <summary>File contents or symlink target; empty for directories.</summary>
        public static ReadOnlySpan<byte> Data(ReadOnlySpan<byte> a, scoped ref RootFsEntry e)
        {
            if (RootFsFormat.IsDir(e.Mode) || e.DataSize == 0) return default(ReadOnlySpan<byte>);
            return a.Slice((int)e.DataOffset, (int)e.DataSize);
        }

        /// <summary>Index of the child of directory 'dir' named 'name', or -1. Children of a
        /// directory are contiguous when written by ukpack (breadth-first), but this does not
        /// rely on it.</summary>
        public static int Lookup(ReadOnlySpan<byte> a, ref RootFsHeader h, uint dir, ReadOnlySpan<byte> name)
        {
            for (uint i = dir + 1; i < h.Count; i++)
            {
                RootFsEntry e;
                GetEntry(a, i, out e);
                if (e.Parent != dir || e.NameLength != (uint)name.Length) continue;
                ReadOnlySpan<byte> n = Name(a, ref h, ref e);
                bool same = true;
                for (int k = 0; k < n.Length; k++) if (n[k] != name[k]) { same = false; break; }
                if (same) return (int)i;
            }
            return -1;
        }

        static bool NameOk(ReadOnlySpan<byte> n)
        {
            if (n.Length == 0 || n.Length > 255) return false;
            if (n.Length == 1 && n[0] == (byte)'.') return false;
            if (n.Length == 2 && n[0] == (byte)'.' && n[1] == (byte)'.') return false;
            for (int i = 0; i < n.Length; i++) if (n[i] == (byte)'/' || n[i] == 0) return false;
            return true;
        }

        static bool InBounds(ulong offset, ulong length, ulong total)
        {
            return offset <= total && length <= total - offset;
        }
    }

    // ---------------------------------------------------------------- image payload

    public static class PayloadFormat
    {
        public const int TrailerSize = 32;
        public const uint TrailerVersion = 2;      // 2: the CRC covers the whole image (1: the payload only)
        public const uint Magic = 0x4b50_4b55;      // "UKPK"
        public const uint Version = 1;
        public const int HeaderSize = 16;
        public const int SectionRowSize = 24;
        public const int PageSize = 4096;

        public const uint KindArgv = 1;
        public const uint KindEnv = 2;
        public const uint KindProgram = 3;
        public const uint KindRootFs = 4;
        /// <summary>The root filesystem is an ext4 filesystem on a disk (ukpack build --root-disk):
        /// u64 its offset in the image file, u64 its length, u8[16] its UUID. The ROOTFS
        /// section is then an archive of the root directory alone.</summary>
        public const uint KindRootDisk = 5;
        public const int RootDiskSectionSize = 32;

        /// <summary>True if t (8 bytes) is the trailer magic "UKPAYLD1".</summary>
        public static bool IsTrailerMagic(ReadOnlySpan<byte> t)
        {
            return t.Length >= 8 && t[0] == (byte)'U' && t[1] == (byte)'K' && t[2] == (byte)'P' && t[3] == (byte)'A'
                && t[4] == (byte)'Y' && t[5] == (byte)'L' && t[6] == (byte)'D' && t[7] == (byte)'1';
        }

        public static void WriteTrailerMagic(Span<byte> t)
        {
            t[0] = (byte)'U'; t[1] = (byte)'K'; t[2] = (byte)'P'; t[3] = (byte)'A';
            t[4] = (byte)'Y'; t[5] = (byte)'L'; t[6] = (byte)'D'; t[7] = (byte)'1';
        }
    }

    public enum PayloadError
    {
        None = 0,
        TooSmall,             // image shorter than a trailer
        BadTrailerMagic,      // no UKPAYLD1 at the end: not an image, or truncated
        BadTrailerVersion,
        PayloadMisaligned,    // payload offset not 4096-aligned
        PayloadOutOfBounds,   // payload overlaps the trailer or starts past the end
        BadCrc,
        BadMagic,             // payload header magic
        BadVersion,
        SectionsOutOfBounds,  // section table past the payload's end
        SectionOutOfBounds,   // a section past the payload's end
        RootFsMisaligned,     // ROOTFS section not 4096-aligned
        MissingSection,       // no ARGV / PROGRAM / ROOTFS
    }

    public struct ImageTrailer
    {
        public ulong PayloadOffset;
        public ulong PayloadLength;
        public uint Crc;
        public uint Version;
    }

    public struct PayloadSection
    {
        public uint Kind;
        public ulong Offset;
        public ulong Length;
    }

    /// <summary>Writer half of the payload format (ukpack): the layout PayloadReader reads.</summary>
    public static class PayloadWriter
    {
        public static void WriteHeader(Span<byte> payload, uint sectionCount)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(payload.Slice(0, 4), PayloadFormat.Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(payload.Slice(4, 4), PayloadFormat.Version);
            BinaryPrimitives.WriteUInt32LittleEndian(payload.Slice(8, 4), sectionCount);
        }

        public static void WriteSection(Span<byte> payload, uint i, uint kind, ulong offset, ulong length)
        {
            Span<byte> r = payload.Slice(PayloadFormat.HeaderSize + (int)i * PayloadFormat.SectionRowSize, PayloadFormat.SectionRowSize);
            BinaryPrimitives.WriteUInt32LittleEndian(r.Slice(0, 4), kind);
            BinaryPrimitives.WriteUInt64LittleEndian(r.Slice(8, 8), offset);
            BinaryPrimitives.WriteUInt64LittleEndian(r.Slice(16, 8), length);
        }

        public static void WriteTrailer(Span<byte> t, ulong payloadOffset, ulong payloadLength, uint crc)
        {
            PayloadFormat.WriteTrailerMagic(t);
            BinaryPrimitives.WriteUInt64LittleEndian(t.Slice(8, 8), payloadOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(t.Slice(16, 8), payloadLength);
            BinaryPrimitives.WriteUInt32LittleEndian(t.Slice(24, 4), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(t.Slice(28, 4), PayloadFormat.TrailerVersion);
        }
    }

    public static class PayloadReader
    {
        /// <summary>Parses the 32-byte trailer at the end of an image (or of the module the
        /// kernel was given) and checks the payload range. Does not check the CRC.</summary>
        public static PayloadError ReadTrailer(ReadOnlySpan<byte> tail, ulong imageLength, out ImageTrailer t)
        {
            t = new ImageTrailer();
            if (imageLength < PayloadFormat.TrailerSize || tail.Length < PayloadFormat.TrailerSize) return PayloadError.TooSmall;
            ReadOnlySpan<byte> r = tail.Slice(tail.Length - PayloadFormat.TrailerSize, PayloadFormat.TrailerSize);
            if (!PayloadFormat.IsTrailerMagic(r)) return PayloadError.BadTrailerMagic;
            t.PayloadOffset = BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(8, 8));
            t.PayloadLength = BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(16, 8));
            t.Crc = BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(24, 4));
            t.Version = BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(28, 4));
            if (t.Version != PayloadFormat.TrailerVersion) return PayloadError.BadTrailerVersion;
            if ((t.PayloadOffset % PayloadFormat.PageSize) != 0) return PayloadError.PayloadMisaligned;
            ulong limit = imageLength - PayloadFormat.TrailerSize;
            if (t.PayloadOffset > limit || t.PayloadLength > limit - t.PayloadOffset) return PayloadError.PayloadOutOfBounds;
            return PayloadError.None;
        }

        /// <summary>Validates the payload header and section table (payload = the payload
        /// bytes only, starting at its header).</summary>
        public static PayloadError Validate(ReadOnlySpan<byte> payload, out uint sectionCount)
        {
            sectionCount = 0;
            if (payload.Length < PayloadFormat.HeaderSize) return PayloadError.SectionsOutOfBounds;
            if (BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(0, 4)) != PayloadFormat.Magic) return PayloadError.BadMagic;
            if (BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(4, 4)) != PayloadFormat.Version) return PayloadError.BadVersion;
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(8, 4));
            ulong len = (ulong)payload.Length;
            if ((ulong)count * PayloadFormat.SectionRowSize > len - PayloadFormat.HeaderSize) return PayloadError.SectionsOutOfBounds;
            bool argv = false, prog = false, rootfs = false;
            for (uint i = 0; i < count; i++)
            {
                PayloadSection s;
                GetSection(payload, i, out s);
                if (s.Offset > len || s.Length > len - s.Offset) return PayloadError.SectionOutOfBounds;
                if (s.Kind == PayloadFormat.KindArgv) argv = true;
                if (s.Kind == PayloadFormat.KindProgram) prog = true;
                if (s.Kind == PayloadFormat.KindRootFs)
                {
                    if ((s.Offset % PayloadFormat.PageSize) != 0) return PayloadError.RootFsMisaligned;
                    rootfs = true;
                }
            }
            if (!argv || !prog || !rootfs) return PayloadError.MissingSection;
            sectionCount = count;
            return PayloadError.None;
        }

        public static void GetSection(ReadOnlySpan<byte> payload, uint i, out PayloadSection s)
        {
            ReadOnlySpan<byte> r = payload.Slice(PayloadFormat.HeaderSize + (int)i * PayloadFormat.SectionRowSize, PayloadFormat.SectionRowSize);
            s.Kind = BinaryPrimitives.ReadUInt32LittleEndian(r.Slice(0, 4));
            s.Offset = BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(8, 8));
            s.Length = BinaryPrimitives.ReadUInt64LittleEndian(r.Slice(16, 8));
        }

        /// <summary>The bytes of the first section of the given kind (after Validate).</summary>
        public static bool FindSection(ReadOnlySpan<byte> payload, uint count, uint kind, out int offset, out int length)
        {
            offset = 0;
            length = 0;
            for (uint i = 0; i < count; i++)
            {
                PayloadSection s;
                GetSection(payload, i, out s);
                if (s.Kind == kind) { offset = (int)s.Offset; length = (int)s.Length; return true; }
            }
            return false;
        }

        /// <summary>Counts NUL-terminated strings in a list (ARGV/ENV sections). A final
        /// unterminated string is counted too.</summary>
        public static int CountStrings(ReadOnlySpan<byte> list)
        {
            int n = 0;
            for (int i = 0; i < list.Length; i++) if (list[i] == 0) n++;
            if (list.Length > 0 && list[list.Length - 1] != 0) n++;
            return n;
        }
    }

    /// <summary>CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), same as zlib's crc32.</summary>
    public static class Crc32
    {
        public static uint[] MakeTable()
        {
            uint[] t = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            return t;
        }

        /// <summary>Continues a CRC: crc = Update(table, crc, data); start with crc = 0.</summary>
        public static uint Update(uint[] table, uint crc, ReadOnlySpan<byte> data)
        {
            uint c = ~crc;
            for (int i = 0; i < data.Length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
            return ~c;
        }

        public static uint Compute(ReadOnlySpan<byte> data)
        {
            return Update(MakeTable(), 0, data);
        }
    }
}
