#nullable disable
using System;

namespace Kernel.Fs
{
    /// ext2/3/4 on-disk constants and the pure functions over them: little-endian field
    /// access, crc32c (metadata_csum), crc16 (uninit_bg group descriptors) and the htree
    /// name hashes (legacy, half_md4, tea). Written from the on-disk format's documentation
    /// (kernel.org "ext4 Data Structures and Algorithms"); built into the host tests too.
    public static class Ext4
    {
        public const ushort Magic = 0xEF53;
        // Superblock field offsets (struct ext4_super_block).
        public const int SbInodesCount = 0x0, SbBlocksCountLo = 0x4, SbRBlocksCountLo = 0x8, SbFreeBlocksLo = 0xC,
            SbFreeInodes = 0x10, SbFirstDataBlock = 0x14, SbLogBlockSize = 0x18, SbLogClusterSize = 0x1C,
            SbBlocksPerGroup = 0x20, SbClustersPerGroup = 0x24, SbInodesPerGroup = 0x28, SbMtime = 0x2C, SbWtime = 0x30,
            SbMntCount = 0x34, SbMagic = 0x38, SbState = 0x3A, SbRevLevel = 0x4C, SbFirstIno = 0x54, SbInodeSize = 0x58,
            SbFeatureCompat = 0x5C, SbFeatureIncompat = 0x60, SbFeatureRoCompat = 0x64, SbUuid = 0x68,
            SbReservedGdtBlocks = 0xCE, SbLastOrphan = 0xE8, SbHashSeed = 0xEC, SbDefHashVersion = 0xFC, SbDescSize = 0xFE,
            SbFirstMetaBg = 0x104, SbBlocksCountHi = 0x150, SbRBlocksCountHi = 0x154, SbFreeBlocksHi = 0x158,
            SbFlags = 0x160, SbLogGroupsPerFlex = 0x174, SbKbytesWritten = 0x178, SbChecksumSeed = 0x270, SbChecksum = 0x3FC;

        public const uint CompatHasJournal = 0x4, CompatDirIndex = 0x20;
        public const uint IncompatFiletype = 0x2, IncompatRecover = 0x4, IncompatJournalDev = 0x8, IncompatMetaBg = 0x10,
            IncompatExtents = 0x40, Incompat64Bit = 0x80, IncompatMmp = 0x100, IncompatFlexBg = 0x200, IncompatEaInode = 0x400,
            IncompatDirData = 0x1000, IncompatCsumSeed = 0x2000, IncompatLargeDir = 0x4000, IncompatInlineData = 0x8000,
            IncompatEncrypt = 0x10000, IncompatCasefold = 0x20000, IncompatCompression = 0x1;
        /// What we read and write (RECOVER is accepted only when there is nothing to replay).
        public const uint IncompatKnown = IncompatFiletype | IncompatRecover | IncompatExtents | Incompat64Bit |
            IncompatFlexBg | IncompatCsumSeed | IncompatLargeDir | IncompatInlineData;
        public const uint RoCompatSparseSuper = 0x1, RoCompatLargeFile = 0x2, RoCompatHugeFile = 0x8, RoCompatGdtCsum = 0x10,
            RoCompatDirNlink = 0x20, RoCompatExtraIsize = 0x40, RoCompatMetadataCsum = 0x400;
        public const uint RoCompatKnown = RoCompatSparseSuper | RoCompatLargeFile | RoCompatHugeFile | RoCompatGdtCsum |
            RoCompatDirNlink | RoCompatExtraIsize | RoCompatMetadataCsum;

        public static string IncompatName(uint bit)
        {
            switch (bit)
            {
                case 0x1: return "compression"; case 0x4: return "needs_recovery"; case 0x8: return "journal_dev";
                case 0x10: return "meta_bg"; case 0x100: return "mmp"; case 0x400: return "ea_inode";
                case 0x1000: return "dirdata"; case 0x8000: return "inline_data"; case 0x10000: return "encrypt";
                case 0x20000: return "casefold";
            }
            return null;
        }

        public static string RoCompatName(uint bit)
        {
            switch (bit)
            {
                case 0x4: return "btree_dir"; case 0x80: return "snapshot"; case 0x100: return "quota"; case 0x200: return "bigalloc";
                case 0x800: return "replica"; case 0x1000: return "read-only"; case 0x2000: return "project";
                case 0x4000: return "shared_blocks"; case 0x8000: return "verity"; case 0x10000: return "orphan_present";
            }
            return null;
        }

        // Group descriptor field offsets (struct ext4_group_desc).
        public const int GdBlockBitmapLo = 0x0, GdInodeBitmapLo = 0x4, GdInodeTableLo = 0x8, GdFreeBlocksLo = 0xC,
            GdFreeInodesLo = 0xE, GdUsedDirsLo = 0x10, GdFlags = 0x12, GdBlockBitmapCsumLo = 0x18, GdInodeBitmapCsumLo = 0x1A,
            GdItableUnusedLo = 0x1C, GdChecksum = 0x1E, GdBlockBitmapHi = 0x20, GdInodeBitmapHi = 0x24, GdInodeTableHi = 0x28,
            GdFreeBlocksHi = 0x2C, GdFreeInodesHi = 0x2E, GdUsedDirsHi = 0x30, GdItableUnusedHi = 0x32,
            GdBlockBitmapCsumHi = 0x38, GdInodeBitmapCsumHi = 0x3A;
        public const ushort BgInodeUninit = 0x1, BgBlockUninit = 0x2, BgInodeZeroed = 0x4;

        // Inode field offsets (struct ext4_inode).
        public const int IMode = 0x0, IUid = 0x2, ISizeLo = 0x4, IAtime = 0x8, ICtime = 0xC, IMtime = 0x10, IDtime = 0x14,
            IGid = 0x18, ILinks = 0x1A, IBlocksLo = 0x1C, IFlags = 0x20, IBlock = 0x28, IGeneration = 0x64, IFileAclLo = 0x68,
            ISizeHigh = 0x6C, IBlocksHigh = 0x74, IFileAclHigh = 0x76, IUidHigh = 0x78, IGidHigh = 0x7A, IChecksumLo = 0x7C,
            IExtraIsize = 0x80, IChecksumHi = 0x82, ICtimeExtra = 0x84, IMtimeExtra = 0x88, IAtimeExtra = 0x8C,
            ICrtime = 0x90, ICrtimeExtra = 0x94;
        public const uint FlagIndex = 0x1000, FlagHugeFile = 0x40000, FlagExtents = 0x80000, FlagEaInode = 0x200000,
            FlagInlineData = 0x10000000;

        public const ushort ExtentMagic = 0xF30A;
        public const int MaxInitLen = 32768, MaxUninitLen = 32767;
        public const byte DirTailType = 0xDE;

        // ---- little-endian access on byte arrays
        public static ushort U16(byte[] b, int o) => (ushort)(b[o] | (b[o + 1] << 8));
        public static uint U32(byte[] b, int o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
        public static ulong U64(byte[] b, int o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);
        public static void Put16(byte[] b, int o, uint v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
        public static void Put32(byte[] b, int o, uint v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); b[o + 2] = (byte)(v >> 16); b[o + 3] = (byte)(v >> 24); }
        public static void Put64(byte[] b, int o, ulong v) { Put32(b, o, (uint)v); Put32(b, o + 4, (uint)(v >> 32)); }

        // ---- crc32c (Castagnoli, reflected 0x82F63B78), without the final inversion, as
        // ext4 chains it: the seed is crc32c(~0, uuid), each structure continues from a seed.
        static uint[] _crc32c;
        public static uint Crc32c(uint crc, byte[] b, int off, int len)
        {
            uint[] t = _crc32c;
            if (t == null)
            {
                t = new uint[256];
                for (uint i = 0; i < 256; i++)
                {
                    uint c = i;
                    for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
                    t[i] = c;
                }
                _crc32c = t;
            }
            for (int i = 0; i < len; i++) crc = t[(crc ^ b[off + i]) & 0xff] ^ (crc >> 8);
            return crc;
        }

        public static uint Crc32cU32(uint crc, uint v)
        {
            if (_crc32c == null) Crc32c(0, _zeros, 0, 0);
            uint[] t = _crc32c;
            for (int i = 0; i < 4; i++) { crc = t[(crc ^ v) & 0xff] ^ (crc >> 8); v >>= 8; }
            return crc;
        }

        static readonly byte[] _zeros = new byte[4];

        /// crc32c of `len` (at most 4) zero bytes, continuing from `crc`: a checksum field
        /// counted as zero without copying the structure.
        public static uint Crc32cZeros(uint crc, int len) => Crc32c(crc, _zeros, 0, len);

        // ---- crc16 (0x8005 reflected = 0xA001), for GDT_CSUM group descriptors.
        public static ushort Crc16(ushort crc, byte[] b, int off, int len)
        {
            for (int i = 0; i < len; i++)
            {
                crc ^= b[off + i];
                for (int k = 0; k < 8; k++) crc = (ushort)((crc & 1) != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1);
            }
            return crc;
        }

        // ---- htree hashes. Versions: 0 legacy, 1 half_md4, 2 tea; +3 for the unsigned-char variants.
        public const int HashLegacy = 0, HashHalfMd4 = 1, HashTea = 2, HashLegacyUnsigned = 3, HashHalfMd4Unsigned = 4, HashTeaUnsigned = 5;

        /// The major hash of `name` (low bit clear), as the htree index orders entries.
        public static uint DirHash(ReadOnlySpan<byte> name, int version, uint[] seed)
        {
            uint a0 = 0x67452301, a1 = 0xefcdab89, a2 = 0x98badcfe, a3 = 0x10325476;
            if (seed != null && (seed[0] | seed[1] | seed[2] | seed[3]) != 0) { a0 = seed[0]; a1 = seed[1]; a2 = seed[2]; a3 = seed[3]; }
            bool unsigned = version >= 3;
            uint hash;
            var buf = new uint[4] { a0, a1, a2, a3 };
            var input = new uint[8];
            switch (version)
            {
                case HashLegacy:
                case HashLegacyUnsigned:
                    {
                        uint h0 = 0x12a3fe2d, h1 = 0x37abe8f9;
                        for (int i = 0; i < name.Length; i++)
                        {
                            int c = unsigned ? name[i] : (sbyte)name[i];
                            uint h = h1 + (h0 ^ (uint)(c * 7152373));
                            if ((h & 0x80000000) != 0) h -= 0x7fffffff;
                            h1 = h0; h0 = h;
                        }
                        hash = h0 << 1;
                        break;
                    }
                case HashHalfMd4:
                case HashHalfMd4Unsigned:
                    for (int p = 0; p < name.Length; p += 32)
                    {
                        PackName(name, p, input, 8, unsigned);
                        HalfMd4(buf, input);
                    }
                    hash = buf[1];
                    break;
                case HashTea:
                case HashTeaUnsigned:
                    for (int p = 0; p < name.Length; p += 16)
                    {
                        PackName(name, p, input, 4, unsigned);
                        Tea(buf, input);
                    }
                    hash = buf[0];
                    break;
                default: return 0;
            }
            hash &= ~1u;
            if (hash == (0x7fffffffu << 1)) hash = (0x7fffffffu - 1) << 1;
            return hash;
        }

        /// Packs name[from..] into `num` words, 4 characters each (the first in the high
        /// byte), the remainder padded with the length pattern.
        static void PackName(ReadOnlySpan<byte> name, int from, uint[] w, int num, bool unsigned)
        {
            int len = name.Length - from;
            uint pad = (uint)len | ((uint)len << 8);
            pad |= pad << 16;
            uint val = pad;
            if (len > num * 4) len = num * 4;
            int o = 0;
            for (int i = 0; i < len; i++)
            {
                int c = unsigned ? name[from + i] : (sbyte)name[from + i];
                val = (uint)c + (val << 8);
                if (i % 4 == 3) { w[o++] = val; val = pad; num--; }
            }
            if (--num >= 0) w[o++] = val;
            while (--num >= 0) w[o++] = pad;
        }

        static uint Rol(uint x, int s) => (x << s) | (x >> (32 - s));

        static void HalfMd4(uint[] buf, uint[] x)
        {
            uint a = buf[0], b = buf[1], c = buf[2], d = buf[3];
            // Round 1: F = z ^ (x & (y ^ z))
            a = Rol(a + (d ^ (b & (c ^ d))) + x[0], 3); d = Rol(d + (c ^ (a & (b ^ c))) + x[1], 7);
            c = Rol(c + (b ^ (d & (a ^ b))) + x[2], 11); b = Rol(b + (a ^ (c & (d ^ a))) + x[3], 19);
            a = Rol(a + (d ^ (b & (c ^ d))) + x[4], 3); d = Rol(d + (c ^ (a & (b ^ c))) + x[5], 7);
            c = Rol(c + (b ^ (d & (a ^ b))) + x[6], 11); b = Rol(b + (a ^ (c & (d ^ a))) + x[7], 19);
            // Round 2: G = (x & y) + ((x ^ y) & z), constant 0x5A827999
            const uint K2 = 0x5A827999, K3 = 0x6ED9EBA1;
            a = Rol(a + ((b & c) + ((b ^ c) & d)) + x[1] + K2, 3); d = Rol(d + ((a & b) + ((a ^ b) & c)) + x[3] + K2, 5);
            c = Rol(c + ((d & a) + ((d ^ a) & b)) + x[5] + K2, 9); b = Rol(b + ((c & d) + ((c ^ d) & a)) + x[7] + K2, 13);
            a = Rol(a + ((b & c) + ((b ^ c) & d)) + x[0] + K2, 3); d = Rol(d + ((a & b) + ((a ^ b) & c)) + x[2] + K2, 5);
            c = Rol(c + ((d & a) + ((d ^ a) & b)) + x[4] + K2, 9); b = Rol(b + ((c & d) + ((c ^ d) & a)) + x[6] + K2, 13);
            // Round 3: H = x ^ y ^ z, constant 0x6ED9EBA1
            a = Rol(a + (b ^ c ^ d) + x[3] + K3, 3); d = Rol(d + (a ^ b ^ c) + x[7] + K3, 9);
            c = Rol(c + (d ^ a ^ b) + x[2] + K3, 11); b = Rol(b + (c ^ d ^ a) + x[6] + K3, 15);
            a = Rol(a + (b ^ c ^ d) + x[1] + K3, 3); d = Rol(d + (a ^ b ^ c) + x[5] + K3, 9);
            c = Rol(c + (d ^ a ^ b) + x[0] + K3, 11); b = Rol(b + (c ^ d ^ a) + x[4] + K3, 15);
            buf[0] += a; buf[1] += b; buf[2] += c; buf[3] += d;
        }

        static void Tea(uint[] buf, uint[] x)
        {
            uint sum = 0, b0 = buf[0], b1 = buf[1];
            for (int n = 0; n < 16; n++)
            {
                sum += 0x9E3779B9;
                b0 += ((b1 << 4) + x[0]) ^ (b1 + sum) ^ ((b1 >> 5) + x[1]);
                b1 += ((b0 << 4) + x[2]) ^ (b0 + sum) ^ ((b0 >> 5) + x[3]);
            }
            buf[0] += b0; buf[1] += b1;
        }

        /// Whether group `g` holds a superblock backup (sparse_super: 0, 1 and powers of 3, 5, 7).
        public static bool GroupHasSuper(uint g, bool sparse)
        {
            if (!sparse || g <= 1) return true;
            return IsPower(g, 3) || IsPower(g, 5) || IsPower(g, 7);
        }

        static bool IsPower(uint g, uint b)
        {
            ulong p = b;
            while (p < g) p *= b;
            return p == g;
        }

        /// The file type byte of a directory entry for mode `mode`.
        public static byte FileTypeOf(uint mode)
        {
            switch (mode & 0xF000)
            {
                case 0x8000: return 1; case 0x4000: return 2; case 0x2000: return 3; case 0x6000: return 4;
                case 0x1000: return 5; case 0xC000: return 6; case 0xA000: return 7;
            }
            return 0;
        }

        /// d_type (DT_*) of a directory entry file type byte.
        public static byte DirTypeOf(byte ft)
        {
            switch (ft)
            {
                case 1: return 8; case 2: return 4; case 3: return 2; case 4: return 6; case 5: return 1; case 6: return 12; case 7: return 10;
            }
            return 0;
        }
    }
}
