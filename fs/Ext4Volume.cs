#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// The block device under an ext4 volume: byte-addressed reads and writes at any
    /// alignment (the implementation does the sector read-modify-write), and a cache flush.
    public unsafe interface IExt4Device
    {
        long Bytes { get; }
        bool ReadOnly { get; }
        bool Read(long offset, byte* dst, int len);
        bool Write(long offset, byte* src, int len);
        bool Flush();
    }

    /// One inode of an ext4 volume in memory: its fields, its block map (the extent list,
    /// or the ext2/3 indirect map), and the adapter's VFS node.
    public sealed class Ext4File
    {
        public uint Ino;
        public uint Mode, Uid, Gid, Links, Flags, Generation, Dtime;
        public long Size;
        public ulong Blocks512;                 // i_blocks in 512-byte units
        public ulong FileAcl;
        public long Atime, AtimeNs, Mtime, MtimeNs, Ctime, CtimeNs, Crtime, CrtimeNs;
        public byte[] Raw;                      // the on-disk inode (inode_size bytes)
        public object Node;                     // the VFS inode over this one
        public uint CsumSeed;
        internal Ext4File HashNext;
        internal byte[][] DirCache;             // a directory's blocks by logical number, as on disk
        internal long[] NameIndex;              // a linear directory's names: hash -> (block << 16 | offset) + 1; -1 deleted
        internal int NameCount, NameUsed;
        internal int ListIndex = -1;
        // The extent list, sorted by logical block, when Flags has Extents.
        internal bool ExtentsLoaded;
        internal uint[] ELblk = new uint[4], ELen = new uint[4];
        internal ulong[] EPblk = new ulong[4];
        internal bool[] EUninit = new bool[4];
        internal int ECount;
        internal ulong[] TreeBlocks = new ulong[0];       // the index/leaf blocks the tree occupies
        internal byte[][] TreeImages = new byte[0][];     // what each holds on disk
        public bool IsDir => (Mode & 0xF000) == 0x4000;
        public bool IsReg => (Mode & 0xF000) == 0x8000;
        public bool IsSymlink => (Mode & 0xF000) == 0xA000;
        public bool HasExtents => (Flags & Ext4.FlagExtents) != 0;
    }

    /// A mounted ext2/3/4 volume: the superblock, group descriptors, bitmaps, inodes, extent
    /// trees and directories, read and written through an IExt4Device. No block cache of
    /// file data: metadata blocks are written through when they change (bitmaps and group
    /// descriptors stay in memory as well), so the volume on disk is consistent after each
    /// operation apart from the superblock's free counters (written at sync and unmount).
    /// The journal is not written: a read-write mount marks the volume not clean until the
    /// unmount, so a crash leaves a volume e2fsck checks in full.
    public sealed unsafe class Ext4Volume
    {
        public IExt4Device Dev;
        public bool ReadOnly;
        public byte[] Sb = new byte[1024];
        public int BlockSize, InodeSize, DescSize;
        public uint GroupCount, BlocksPerGroup, InodesPerGroup, FirstDataBlock, FirstIno;
        public ulong BlocksCount;
        public uint CompatFeatures, IncompatFeatures, RoCompatFeatures;
        public bool MetadataCsum, GdtCsum, Has64Bit, FileType, DirIndex, Sparse, HugeFile;
        public uint CsumSeed;
        public uint[] HashSeed = new uint[4];
        public int DefHashVersion;
        byte[] _gdt;                    // all group descriptors, as on disk
        byte[][] _blockBitmaps, _inodeBitmaps;
        uint _inodeTableBlocks;
        // The inodes in memory: by number (chained buckets) and as a list.
        readonly Ext4File[] _buckets = new Ext4File[4096];
        Ext4File[] _files = new Ext4File[256];
        int _fileCount;
        /// Now, in seconds and nanoseconds since the epoch (the kernel's clock, or the host's in tests).
        public static delegate*<long*, long*, void> Clock;

        public static void Now(out long sec, out long nsec)
        {
            long s = 0, n = 0;
            if (Clock != null) Clock(&s, &n);
            sec = s; nsec = n;
        }

        // ------------------------------------------------------------------ mount

        /// Reads and checks the superblock and group descriptors. `message` says what is
        /// wrong when the mount is refused, or why it became read-only; `features` are the
        /// feature bits it is about (Ext4.IncompatName / RoCompatName name them).
        public static Errno Mount(IExt4Device dev, bool readOnly, out Ext4Volume vol, out string message, out uint features)
        {
            vol = null; message = null; features = 0;
            var v = new Ext4Volume { Dev = dev, ReadOnly = readOnly || dev.ReadOnly };
            if (!v.ReadBytes(1024, v.Sb, 0, 1024)) { message = "cannot read the superblock"; return Errno.EIO; }
            byte[] sb = v.Sb;
            if (Ext4.U16(sb, Ext4.SbMagic) != Ext4.Magic) { message = "no ext2/3/4 superblock (bad magic)"; return Errno.EINVAL; }
            uint logBs = Ext4.U32(sb, Ext4.SbLogBlockSize);
            if (logBs > 6) { message = "unsupported block size"; return Errno.EINVAL; }
            v.BlockSize = 1024 << (int)logBs;
            uint rev = Ext4.U32(sb, Ext4.SbRevLevel);
            v.InodeSize = rev == 0 ? 128 : Ext4.U16(sb, Ext4.SbInodeSize);
            v.FirstIno = rev == 0 ? 11 : Ext4.U32(sb, Ext4.SbFirstIno);
            v.CompatFeatures = rev == 0 ? 0 : Ext4.U32(sb, Ext4.SbFeatureCompat);
            v.IncompatFeatures = rev == 0 ? 0 : Ext4.U32(sb, Ext4.SbFeatureIncompat);
            v.RoCompatFeatures = rev == 0 ? 0 : Ext4.U32(sb, Ext4.SbFeatureRoCompat);
            uint unknown = v.IncompatFeatures & ~Ext4.IncompatKnown;
            if (unknown != 0)
            {
                message = "unsupported incompatible features:";
                features = unknown;
                return Errno.EINVAL;
            }
            if ((v.IncompatFeatures & Ext4.IncompatRecover) != 0)
            {
                message = "the journal needs recovery (replay is not supported): run e2fsck on the host first";
                return Errno.EINVAL;
            }
            uint unknownRo = v.RoCompatFeatures & ~Ext4.RoCompatKnown;
            if (unknownRo != 0 && !v.ReadOnly)
            {
                v.ReadOnly = true;
                message = "mounted read-only: unsupported read-only-compatible features:";
                features = unknownRo;
            }
            v.MetadataCsum = (v.RoCompatFeatures & Ext4.RoCompatMetadataCsum) != 0;
            v.GdtCsum = !v.MetadataCsum && (v.RoCompatFeatures & Ext4.RoCompatGdtCsum) != 0;
            v.Has64Bit = (v.IncompatFeatures & Ext4.Incompat64Bit) != 0;
            v.FileType = (v.IncompatFeatures & Ext4.IncompatFiletype) != 0;
            v.DirIndex = (v.CompatFeatures & Ext4.CompatDirIndex) != 0;
            v.Sparse = (v.RoCompatFeatures & Ext4.RoCompatSparseSuper) != 0;
            v.HugeFile = (v.RoCompatFeatures & Ext4.RoCompatHugeFile) != 0;
            if (v.MetadataCsum && Ext4.U32(sb, Ext4.SbChecksum) != Ext4.Crc32c(0xffffffff, sb, 0, Ext4.SbChecksum))
            { message = "superblock checksum mismatch"; return Errno.EINVAL; }
            if (Ext4.U32(sb, Ext4.SbLogClusterSize) != logBs) { message = "unsupported features: bigalloc"; return Errno.EINVAL; }
            v.DescSize = v.Has64Bit ? Ext4.U16(sb, Ext4.SbDescSize) : 32;
            if (v.DescSize < 32 || v.DescSize > 1024 || (v.DescSize & (v.DescSize - 1)) != 0) { message = "bad group descriptor size"; return Errno.EINVAL; }
            v.BlocksPerGroup = Ext4.U32(sb, Ext4.SbBlocksPerGroup);
            v.InodesPerGroup = Ext4.U32(sb, Ext4.SbInodesPerGroup);
            v.FirstDataBlock = Ext4.U32(sb, Ext4.SbFirstDataBlock);
            v.BlocksCount = Ext4.U32(sb, Ext4.SbBlocksCountLo) | (v.Has64Bit ? (ulong)Ext4.U32(sb, Ext4.SbBlocksCountHi) << 32 : 0);
            if (v.BlocksPerGroup == 0 || v.InodesPerGroup == 0 || v.BlocksPerGroup > (uint)v.BlockSize * 8 || v.InodesPerGroup > (uint)v.BlockSize * 8
                || v.InodeSize < 128 || v.InodeSize > v.BlockSize)
            { message = "corrupt superblock geometry"; return Errno.EINVAL; }
            if ((ulong)v.BlockSize * v.BlocksCount > (ulong)dev.Bytes) { message = "the filesystem is larger than the device"; return Errno.EINVAL; }
            v.GroupCount = (uint)((v.BlocksCount - v.FirstDataBlock + v.BlocksPerGroup - 1) / v.BlocksPerGroup);
            v._inodeTableBlocks = (uint)(((ulong)v.InodesPerGroup * (uint)v.InodeSize + (uint)v.BlockSize - 1) / (uint)v.BlockSize);
            if ((v.IncompatFeatures & Ext4.IncompatCsumSeed) != 0) v.CsumSeed = Ext4.U32(sb, Ext4.SbChecksumSeed);
            else v.CsumSeed = Ext4.Crc32c(0xffffffff, sb, Ext4.SbUuid, 16);
            for (int i = 0; i < 4; i++) v.HashSeed[i] = Ext4.U32(sb, Ext4.SbHashSeed + 4 * i);
            v.DefHashVersion = sb[Ext4.SbDefHashVersion];
            if ((Ext4.U32(sb, Ext4.SbFlags) & 2) != 0 && v.DefHashVersion <= 2) v.DefHashVersion += 3;
            // Group descriptors follow the superblock's block.
            v._gdt = new byte[(int)v.GroupCount * v.DescSize];
            long gdtAt = (long)(v.FirstDataBlock + 1) * v.BlockSize;
            if (!v.ReadBytes(gdtAt, v._gdt, 0, v._gdt.Length)) { message = "cannot read the group descriptors"; return Errno.EIO; }
            for (uint g = 0; g < v.GroupCount; g++)
                if ((v.MetadataCsum || v.GdtCsum) && Ext4.U16(v._gdt, (int)g * v.DescSize + Ext4.GdChecksum) != v.GroupDescCsum(g))
                { message = "group descriptor checksum mismatch"; return Errno.EINVAL; }
            v._blockBitmaps = new byte[v.GroupCount][];
            v._inodeBitmaps = new byte[v.GroupCount][];
            if (!v.ReadOnly)
            {
                // Not clean until the unmount: a crash leaves a volume e2fsck checks in full.
                Ext4.Put16(sb, Ext4.SbState, (uint)(Ext4.U16(sb, Ext4.SbState) & ~1));
                Ext4.Put16(sb, Ext4.SbMntCount, (uint)(Ext4.U16(sb, Ext4.SbMntCount) + 1));
                Now(out long s, out _);
                Ext4.Put32(sb, Ext4.SbMtime, (uint)s);
                if (!v.WriteSuper()) { message = "cannot write the superblock"; return Errno.EIO; }
            }
            vol = v;
            return 0;
        }

        /// Writes everything back and marks the volume clean.
        public bool Unmount()
        {
            if (ReadOnly) return true;
            Ext4.Put16(Sb, Ext4.SbState, (uint)(Ext4.U16(Sb, Ext4.SbState) | 1));
            bool ok = Sync();
            return ok;
        }

        /// The superblock's counters from the group descriptors, written; then a device flush.
        public bool Sync()
        {
            if (ReadOnly) return true;
            bool ok = WriteSuper();
            return Dev.Flush() && ok;
        }

        bool WriteSuper()
        {
            ulong freeBlocks = 0, freeInodes = 0;
            for (uint g = 0; g < GroupCount; g++) { freeBlocks += GdFreeBlocks(g); freeInodes += GdFreeInodes(g); }
            Ext4.Put32(Sb, Ext4.SbFreeBlocksLo, (uint)freeBlocks);
            if (Has64Bit) Ext4.Put32(Sb, Ext4.SbFreeBlocksHi, (uint)(freeBlocks >> 32));
            Ext4.Put32(Sb, Ext4.SbFreeInodes, (uint)freeInodes);
            Now(out long s, out _);
            Ext4.Put32(Sb, Ext4.SbWtime, (uint)s);
            if (MetadataCsum) Ext4.Put32(Sb, Ext4.SbChecksum, Ext4.Crc32c(0xffffffff, Sb, 0, Ext4.SbChecksum));
            return WriteBytes(1024, Sb, 0, 1024);
        }

        public ulong FreeBlocksCount { get { ulong n = 0; for (uint g = 0; g < GroupCount; g++) n += GdFreeBlocks(g); return n; } }
        public ulong FreeInodesCount { get { ulong n = 0; for (uint g = 0; g < GroupCount; g++) n += GdFreeInodes(g); return n; } }
        public ulong ReservedBlocks => Ext4.U32(Sb, Ext4.SbRBlocksCountLo) | (Has64Bit ? (ulong)Ext4.U32(Sb, Ext4.SbRBlocksCountHi) << 32 : 0);
        public uint InodesCount => Ext4.U32(Sb, Ext4.SbInodesCount);

        // ------------------------------------------------------------------ raw I/O

        public bool ReadBytes(long at, byte[] b, int off, int len) { fixed (byte* p = b) return Dev.Read(at, p + off, len); }
        public bool WriteBytes(long at, byte[] b, int off, int len)
        {
            if (ReadOnly) return false;
            fixed (byte* p = b) return Dev.Write(at, p + off, len);
        }
        public bool ReadBlock(ulong blk, byte[] b) => blk < BlocksCount && ReadBytes((long)blk * BlockSize, b, 0, BlockSize);
        public bool WriteBlock(ulong blk, byte[] b) => blk < BlocksCount && blk > FirstDataBlock && WriteBytes((long)blk * BlockSize, b, 0, BlockSize);

        // ------------------------------------------------------------------ group descriptors

        int Gd(uint g) => (int)g * DescSize;
        ulong GdField(uint g, int lo, int hi, bool wide)
        {
            int o = Gd(g);
            ulong v = wide ? Ext4.U32(_gdt, o + lo) : Ext4.U16(_gdt, o + lo);
            if (DescSize >= 64) v |= wide ? (ulong)Ext4.U32(_gdt, o + hi) << 32 : (ulong)Ext4.U16(_gdt, o + hi) << 16;
            return v;
        }
        void SetGdField(uint g, int lo, int hi, bool wide, ulong v)
        {
            int o = Gd(g);
            if (wide) Ext4.Put32(_gdt, o + lo, (uint)v); else Ext4.Put16(_gdt, o + lo, (uint)v);
            if (DescSize >= 64) { if (wide) Ext4.Put32(_gdt, o + hi, (uint)(v >> 32)); else Ext4.Put16(_gdt, o + hi, (uint)(v >> 16)); }
        }
        public ulong GdBlockBitmap(uint g) => GdField(g, Ext4.GdBlockBitmapLo, Ext4.GdBlockBitmapHi, true);
        public ulong GdInodeBitmap(uint g) => GdField(g, Ext4.GdInodeBitmapLo, Ext4.GdInodeBitmapHi, true);
        public ulong GdInodeTable(uint g) => GdField(g, Ext4.GdInodeTableLo, Ext4.GdInodeTableHi, true);
        public uint GdFreeBlocks(uint g) => (uint)GdField(g, Ext4.GdFreeBlocksLo, Ext4.GdFreeBlocksHi, false);
        public uint GdFreeInodes(uint g) => (uint)GdField(g, Ext4.GdFreeInodesLo, Ext4.GdFreeInodesHi, false);
        uint GdUsedDirs(uint g) => (uint)GdField(g, Ext4.GdUsedDirsLo, Ext4.GdUsedDirsHi, false);
        uint GdItableUnused(uint g) => (uint)GdField(g, Ext4.GdItableUnusedLo, Ext4.GdItableUnusedHi, false);
        ushort GdFlags(uint g) => Ext4.U16(_gdt, Gd(g) + Ext4.GdFlags);

        public ushort GroupDescCsum(uint g)
        {
            int o = Gd(g);
            if (MetadataCsum)
            {
                uint c = Ext4.Crc32cU32(CsumSeed, g);
                c = Ext4.Crc32c(c, _gdt, o, Ext4.GdChecksum);
                var zero = new byte[2];
                c = Ext4.Crc32c(c, zero, 0, 2);
                if (DescSize > Ext4.GdChecksum + 2) c = Ext4.Crc32c(c, _gdt, o + Ext4.GdChecksum + 2, DescSize - Ext4.GdChecksum - 2);
                return (ushort)c;
            }
            if (GdtCsum)
            {
                ushort c = Ext4.Crc16(0xffff, Sb, Ext4.SbUuid, 16);
                var gb = new byte[4];
                Ext4.Put32(gb, 0, g);
                c = Ext4.Crc16(c, gb, 0, 4);
                c = Ext4.Crc16(c, _gdt, o, Ext4.GdChecksum);
                if (DescSize > Ext4.GdChecksum + 2) c = Ext4.Crc16(c, _gdt, o + Ext4.GdChecksum + 2, DescSize - Ext4.GdChecksum - 2);
                return c;
            }
            return 0;
        }

        /// Rewrites group g's descriptor (checksum updated) in the primary table.
        bool WriteGd(uint g)
        {
            if (MetadataCsum || GdtCsum) Ext4.Put16(_gdt, Gd(g) + Ext4.GdChecksum, GroupDescCsum(g));
            long at = (long)(FirstDataBlock + 1) * BlockSize + Gd(g);
            return WriteBytes(at, _gdt, Gd(g), DescSize);
        }

        // ------------------------------------------------------------------ bitmaps

        /// Blocks in group g (the last group may be short).
        uint BlocksInGroup(uint g)
        {
            ulong start = FirstDataBlock + (ulong)g * BlocksPerGroup;
            ulong n = BlocksCount - start;
            return n < BlocksPerGroup ? (uint)n : BlocksPerGroup;
        }

        byte[] BlockBitmap(uint g)
        {
            byte[] b = _blockBitmaps[g];
            if (b != null) return b;
            b = new byte[BlockSize];
            if ((MetadataCsum || GdtCsum) && (GdFlags(g) & Ext4.BgBlockUninit) != 0) SynthesizeBlockBitmap(g, b);
            else if (!ReadBlock(GdBlockBitmap(g), b)) return null;
            _blockBitmaps[g] = b;
            return b;
        }

        /// The block bitmap an uninitialised group has: its superblock backup and descriptor
        /// blocks, any group's bitmaps and inode table that live in it (flex_bg), the padding.
        void SynthesizeBlockBitmap(uint g, byte[] b)
        {
            ulong start = FirstDataBlock + (ulong)g * BlocksPerGroup;
            uint n = BlocksInGroup(g);
            if (Ext4.GroupHasSuper(g, Sparse))
            {
                uint gdtBlocks = (uint)((GroupCount * (uint)DescSize + (uint)BlockSize - 1) / (uint)BlockSize);
                uint meta = 1 + gdtBlocks + Ext4.U16(Sb, Ext4.SbReservedGdtBlocks);
                for (uint i = 0; i < meta && i < n; i++) SetBit(b, i);
            }
            for (uint h = 0; h < GroupCount; h++)
            {
                MarkIn(b, start, n, GdBlockBitmap(h), 1);
                MarkIn(b, start, n, GdInodeBitmap(h), 1);
                MarkIn(b, start, n, GdInodeTable(h), _inodeTableBlocks);
            }
            for (uint i = n; i < BlockSize * 8; i++) SetBit(b, i);
        }

        static void MarkIn(byte[] b, ulong start, uint n, ulong blk, uint count)
        {
            for (uint i = 0; i < count; i++)
                if (blk + i >= start && blk + i < start + n) SetBit(b, (uint)(blk + i - start));
        }

        byte[] InodeBitmap(uint g)
        {
            byte[] b = _inodeBitmaps[g];
            if (b != null) return b;
            b = new byte[BlockSize];
            if ((MetadataCsum || GdtCsum) && (GdFlags(g) & Ext4.BgInodeUninit) != 0)
            {
                for (uint i = InodesPerGroup; i < BlockSize * 8; i++) SetBit(b, i);
            }
            else if (!ReadBlock(GdInodeBitmap(g), b)) return null;
            _inodeBitmaps[g] = b;
            return b;
        }

        static bool Bit(byte[] b, uint i) => (b[i >> 3] & (1 << (int)(i & 7))) != 0;
        static void SetBit(byte[] b, uint i) => b[i >> 3] |= (byte)(1 << (int)(i & 7));
        static void ClearBit(byte[] b, uint i) => b[i >> 3] &= (byte)~(1 << (int)(i & 7));

        public uint BlockBitmapCsum(byte[] b) => Ext4.Crc32c(CsumSeed, b, 0, (int)(BlocksPerGroup / 8));
        public uint InodeBitmapCsum(byte[] b) => Ext4.Crc32c(CsumSeed, b, 0, (int)(InodesPerGroup / 8));

        bool WriteBlockBitmap(uint g)
        {
            byte[] b = _blockBitmaps[g];
            ushort fl = GdFlags(g);
            if ((fl & Ext4.BgBlockUninit) != 0) Ext4.Put16(_gdt, Gd(g) + Ext4.GdFlags, (uint)(fl & ~Ext4.BgBlockUninit));
            if (MetadataCsum)
            {
                uint c = BlockBitmapCsum(b);
                Ext4.Put16(_gdt, Gd(g) + Ext4.GdBlockBitmapCsumLo, c);
                if (DescSize >= 64) Ext4.Put16(_gdt, Gd(g) + Ext4.GdBlockBitmapCsumHi, c >> 16);
            }
            return WriteBlock(GdBlockBitmap(g), b);
        }

        bool WriteInodeBitmap(uint g)
        {
            byte[] b = _inodeBitmaps[g];
            ushort fl = GdFlags(g);
            if ((fl & Ext4.BgInodeUninit) != 0) Ext4.Put16(_gdt, Gd(g) + Ext4.GdFlags, (uint)(fl & ~Ext4.BgInodeUninit));
            if (MetadataCsum)
            {
                uint c = InodeBitmapCsum(b);
                Ext4.Put16(_gdt, Gd(g) + Ext4.GdInodeBitmapCsumLo, c);
                if (DescSize >= 64) Ext4.Put16(_gdt, Gd(g) + Ext4.GdInodeBitmapCsumHi, c >> 16);
            }
            return WriteBlock(GdInodeBitmap(g), b);
        }

        // ------------------------------------------------------------------ block allocation

        /// Allocates up to `want` contiguous blocks, at `goal` or the first free run after it.
        public Errno AllocBlocks(ulong goal, uint want, out ulong start, out uint count)
        {
            start = 0; count = 0;
            if (ReadOnly) return Errno.EROFS;
            if (goal < FirstDataBlock || goal >= BlocksCount) goal = FirstDataBlock;
            uint g0 = (uint)((goal - FirstDataBlock) / BlocksPerGroup);
            for (uint k = 0; k <= GroupCount; k++)
            {
                uint g = (g0 + k) % GroupCount;
                if (GdFreeBlocks(g) == 0) continue;
                byte[] b = BlockBitmap(g);
                if (b == null) return Errno.EIO;
                uint n = BlocksInGroup(g);
                uint goalOff = (uint)((goal - FirstDataBlock) % BlocksPerGroup);
                uint from = k == 0 ? goalOff : 0;
                if (k == GroupCount) { if (goalOff == 0) break; n = goalOff; }   // wrapped to the goal group's start
                for (uint i = from; i < n; i++)
                {
                    if ((i & 7) == 0 && i + 8 <= n && b[i >> 3] == 0xff) { i += 7; continue; }
                    if (Bit(b, i)) continue;
                    uint j = i;
                    while (j < n && j - i < want && !Bit(b, j)) j++;
                    for (uint x = i; x < j; x++) SetBit(b, x);
                    SetGdField(g, Ext4.GdFreeBlocksLo, Ext4.GdFreeBlocksHi, false, GdFreeBlocks(g) - (j - i));
                    if (!WriteBlockBitmap(g) || !WriteGd(g)) return Errno.EIO;
                    start = FirstDataBlock + (ulong)g * BlocksPerGroup + i;
                    count = j - i;
                    return 0;
                }
            }
            return Errno.ENOSPC;
        }

        public Errno FreeBlocks(ulong start, ulong count)
        {
            while (count > 0)
            {
                if (start < FirstDataBlock || start >= BlocksCount) return Errno.EIO;
                uint g = (uint)((start - FirstDataBlock) / BlocksPerGroup);
                uint i = (uint)((start - FirstDataBlock) % BlocksPerGroup);
                byte[] b = BlockBitmap(g);
                if (b == null) return Errno.EIO;
                uint n = 0;
                while (count > 0 && i < BlocksInGroup(g)) { ClearBit(b, i); i++; n++; count--; start++; }
                SetGdField(g, Ext4.GdFreeBlocksLo, Ext4.GdFreeBlocksHi, false, GdFreeBlocks(g) + n);
                if (!WriteBlockBitmap(g) || !WriteGd(g)) return Errno.EIO;
            }
            return 0;
        }

        // ------------------------------------------------------------------ inodes

        long InodeOffset(uint ino)
        {
            uint g = (ino - 1) / InodesPerGroup, idx = (ino - 1) % InodesPerGroup;
            return (long)GdInodeTable(g) * BlockSize + (long)idx * InodeSize;
        }

        public uint InodeCsum(byte[] raw, uint ino)
        {
            uint gen = Ext4.U32(raw, Ext4.IGeneration);
            uint seed = Ext4.Crc32cU32(Ext4.Crc32cU32(CsumSeed, ino), gen);
            var copy = new byte[InodeSize];
            for (int i = 0; i < InodeSize; i++) copy[i] = raw[i];
            Ext4.Put16(copy, Ext4.IChecksumLo, 0);
            bool hi = InodeSize > 128 && Ext4.U16(raw, Ext4.IExtraIsize) >= 4;
            if (hi) Ext4.Put16(copy, Ext4.IChecksumHi, 0);
            uint c = Ext4.Crc32c(seed, copy, 0, InodeSize);
            return hi ? c : c & 0xffff;
        }

        public bool InodeCsumOk(byte[] raw, uint ino)
        {
            if (!MetadataCsum) return true;
            uint c = InodeCsum(raw, ino);
            uint stored = Ext4.U16(raw, Ext4.IChecksumLo);
            if (InodeSize > 128 && Ext4.U16(raw, Ext4.IExtraIsize) >= 4) stored |= (uint)Ext4.U16(raw, Ext4.IChecksumHi) << 16;
            return c == stored;
        }

        /// The inode `ino`, read once and kept (one Ext4File per inode while mounted).
        public Errno GetFile(uint ino, out Ext4File f)
        {
            f = null;
            if (ino == 0 || ino > InodesCount) return Errno.EIO;
            for (Ext4File c = _buckets[ino & 4095]; c != null; c = c.HashNext)
                if (c.Ino == ino) { f = c; return 0; }
            var raw = new byte[InodeSize];
            if (!ReadBytes(InodeOffset(ino), raw, 0, InodeSize)) return Errno.EIO;
            if (!InodeCsumOk(raw, ino)) return Errno.EIO;
            f = new Ext4File { Ino = ino, Raw = raw };
            Parse(f);
            AddFile(f);
            return 0;
        }

        void AddFile(Ext4File f)
        {
            if (_fileCount == _files.Length)
            {
                var n = new Ext4File[_files.Length * 2];
                for (int i = 0; i < _fileCount; i++) n[i] = _files[i];
                _files = n;
            }
            f.ListIndex = _fileCount;
            _files[_fileCount++] = f;
            f.HashNext = _buckets[f.Ino & 4095];
            _buckets[f.Ino & 4095] = f;
        }

        /// Forgets a freed inode.
        void DropFile(Ext4File f)
        {
            int i = f.ListIndex;
            if (i < 0 || i >= _fileCount || _files[i] != f) return;
            _files[i] = _files[--_fileCount];
            _files[i].ListIndex = i;
            _files[_fileCount] = null;
            f.ListIndex = -1;
            ref Ext4File link = ref _buckets[f.Ino & 4095];
            while (link != null && link != f) link = ref link.HashNext;
            if (link != null) link = f.HashNext;
            f.HashNext = null;
        }

        public int FileCount => _fileCount;
        public Ext4File FileAt(int i) => _files[i];

        static long ExtraNs(byte[] r, int o, ref long sec)
        {
            uint x = Ext4.U32(r, o);
            sec += (long)(x & 3) << 32;
            return x >> 2;
        }

        void Parse(Ext4File f)
        {
            byte[] r = f.Raw;
            f.Mode = Ext4.U16(r, Ext4.IMode);
            f.Uid = Ext4.U16(r, Ext4.IUid) | ((uint)Ext4.U16(r, Ext4.IUidHigh) << 16);
            f.Gid = Ext4.U16(r, Ext4.IGid) | ((uint)Ext4.U16(r, Ext4.IGidHigh) << 16);
            f.Links = Ext4.U16(r, Ext4.ILinks);
            f.Flags = Ext4.U32(r, Ext4.IFlags);
            f.Size = (long)(Ext4.U32(r, Ext4.ISizeLo) | ((ulong)Ext4.U32(r, Ext4.ISizeHigh) << 32));
            f.Blocks512 = Ext4.U32(r, Ext4.IBlocksLo) | ((ulong)Ext4.U16(r, Ext4.IBlocksHigh) << 32);
            if ((f.Flags & Ext4.FlagHugeFile) != 0) f.Blocks512 *= (ulong)(BlockSize / 512);
            f.FileAcl = Ext4.U32(r, Ext4.IFileAclLo) | ((ulong)Ext4.U16(r, Ext4.IFileAclHigh) << 32);
            f.Generation = Ext4.U32(r, Ext4.IGeneration);
            f.Dtime = Ext4.U32(r, Ext4.IDtime);
            f.Atime = (int)Ext4.U32(r, Ext4.IAtime); f.Mtime = (int)Ext4.U32(r, Ext4.IMtime); f.Ctime = (int)Ext4.U32(r, Ext4.ICtime);
            int extra = InodeSize > 128 ? Ext4.U16(r, Ext4.IExtraIsize) : 0;
            if (extra >= 0x88 - 0x80) f.CtimeNs = ExtraNs(r, Ext4.ICtimeExtra, ref f.Ctime);
            if (extra >= 0x8C - 0x80) f.MtimeNs = ExtraNs(r, Ext4.IMtimeExtra, ref f.Mtime);
            if (extra >= 0x90 - 0x80) f.AtimeNs = ExtraNs(r, Ext4.IAtimeExtra, ref f.Atime);
            if (extra >= 0x98 - 0x80) { f.Crtime = (int)Ext4.U32(r, Ext4.ICrtime); f.CrtimeNs = ExtraNs(r, Ext4.ICrtimeExtra, ref f.Crtime); }
            f.CsumSeed = Ext4.Crc32cU32(Ext4.Crc32cU32(CsumSeed, f.Ino), f.Generation);
            f.ExtentsLoaded = false;
        }

        static uint EncodeTime(long sec, long ns) => (uint)(((sec - (int)sec) >> 32) & 3) | (uint)(ns << 2);

        /// Writes f's fields back into its inode on disk (checksum updated).
        public Errno WriteInode(Ext4File f)
        {
            if (ReadOnly) return Errno.EROFS;
            byte[] r = f.Raw;
            Ext4.Put16(r, Ext4.IMode, f.Mode);
            Ext4.Put16(r, Ext4.IUid, f.Uid); Ext4.Put16(r, Ext4.IUidHigh, f.Uid >> 16);
            Ext4.Put16(r, Ext4.IGid, f.Gid); Ext4.Put16(r, Ext4.IGidHigh, f.Gid >> 16);
            Ext4.Put16(r, Ext4.ILinks, f.Links);
            Ext4.Put32(r, Ext4.IFlags, f.Flags & ~Ext4.FlagHugeFile);
            Ext4.Put32(r, Ext4.ISizeLo, (uint)f.Size); Ext4.Put32(r, Ext4.ISizeHigh, (uint)((ulong)f.Size >> 32));
            Ext4.Put32(r, Ext4.IBlocksLo, (uint)f.Blocks512); Ext4.Put16(r, Ext4.IBlocksHigh, (uint)(f.Blocks512 >> 32));
            Ext4.Put32(r, Ext4.IFileAclLo, (uint)f.FileAcl); Ext4.Put16(r, Ext4.IFileAclHigh, (uint)(f.FileAcl >> 32));
            Ext4.Put32(r, Ext4.IGeneration, f.Generation);
            Ext4.Put32(r, Ext4.IDtime, f.Dtime);
            Ext4.Put32(r, Ext4.IAtime, (uint)f.Atime); Ext4.Put32(r, Ext4.IMtime, (uint)f.Mtime); Ext4.Put32(r, Ext4.ICtime, (uint)f.Ctime);
            int extra = InodeSize > 128 ? Ext4.U16(r, Ext4.IExtraIsize) : 0;
            if (extra >= 0x88 - 0x80) Ext4.Put32(r, Ext4.ICtimeExtra, EncodeTime(f.Ctime, f.CtimeNs));
            if (extra >= 0x8C - 0x80) Ext4.Put32(r, Ext4.IMtimeExtra, EncodeTime(f.Mtime, f.MtimeNs));
            if (extra >= 0x90 - 0x80) Ext4.Put32(r, Ext4.IAtimeExtra, EncodeTime(f.Atime, f.AtimeNs));
            if (extra >= 0x98 - 0x80) { Ext4.Put32(r, Ext4.ICrtime, (uint)f.Crtime); Ext4.Put32(r, Ext4.ICrtimeExtra, EncodeTime(f.Crtime, f.CrtimeNs)); }
            if (MetadataCsum)
            {
                uint c = InodeCsum(r, f.Ino);
                Ext4.Put16(r, Ext4.IChecksumLo, c);
                if (InodeSize > 128 && extra >= 4) Ext4.Put16(r, Ext4.IChecksumHi, c >> 16);
            }
            return WriteBytes(InodeOffset(f.Ino), r, 0, InodeSize) ? 0 : Errno.EIO;
        }

        /// Allocates an inode near group `near` and initialises it (mode, owner, times).
        public Errno NewInode(uint near, uint mode, uint uid, uint gid, out Ext4File f)
        {
            f = null;
            if (ReadOnly) return Errno.EROFS;
            bool dir = (mode & 0xF000) == 0x4000;
            for (uint k = 0; k < GroupCount; k++)
            {
                uint g = (near + k) % GroupCount;
                if (GdFreeInodes(g) == 0) continue;
                byte[] b = InodeBitmap(g);
                if (b == null) return Errno.EIO;
                for (uint i = 0; i < InodesPerGroup; i++)
                {
                    if (Bit(b, i)) continue;
                    uint ino = g * InodesPerGroup + i + 1;
                    if (ino < FirstIno) continue;
                    SetBit(b, i);
                    SetGdField(g, Ext4.GdFreeInodesLo, Ext4.GdFreeInodesHi, false, GdFreeInodes(g) - 1);
                    if (dir) SetGdField(g, Ext4.GdUsedDirsLo, Ext4.GdUsedDirsHi, false, GdUsedDirs(g) + 1);
                    if (MetadataCsum || GdtCsum)
                    {
                        uint unused = GdItableUnused(g);
                        if (i >= InodesPerGroup - unused) SetGdField(g, Ext4.GdItableUnusedLo, Ext4.GdItableUnusedHi, false, InodesPerGroup - i - 1);
                    }
                    if (!WriteInodeBitmap(g) || !WriteGd(g)) return Errno.EIO;
                    var raw = new byte[InodeSize];
                    if (InodeSize > 128) Ext4.Put16(raw, Ext4.IExtraIsize, 32);
                    f = new Ext4File { Ino = ino, Raw = raw, Mode = mode, Uid = uid, Gid = gid, Links = 0 };
                    f.Generation = (uint)(ino * 2654435761u) ^ (uint)GdFreeInodes(g);
                    f.CsumSeed = Ext4.Crc32cU32(Ext4.Crc32cU32(CsumSeed, ino), f.Generation);
                    Now(out long s, out long ns);
                    f.Atime = f.Mtime = f.Ctime = f.Crtime = s; f.AtimeNs = f.MtimeNs = f.CtimeNs = f.CrtimeNs = ns;
                    if ((IncompatFeatures & Ext4.IncompatExtents) != 0 && (f.IsReg || f.IsDir || f.IsSymlink))
                    {
                        f.Flags |= Ext4.FlagExtents;
                        WriteExtentHeader(raw, Ext4.IBlock, 0, 4, 0);
                    }
                    f.ExtentsLoaded = true;
                    AddFile(f);
                    return 0;
                }
            }
            return Errno.ENOSPC;
        }

        /// Frees an inode with no links left: its blocks, then its bitmap bit.
        public Errno FreeInode(Ext4File f)
        {
            if (ReadOnly) return Errno.EROFS;
            Errno e = 0;
            if (f.IsReg || f.IsDir || (f.IsSymlink && !IsFastSymlink(f))) e = TruncateBlocks(f, 0);
            if (e != 0) return e;
            if (f.FileAcl != 0) FreeXattrBlock(f);
            f.DirCache = null;
            f.NameIndex = null;
            bool dir = f.IsDir;
            Now(out long s, out _);
            f.Dtime = (uint)s;
            f.Links = 0;
            f.Size = 0;
            if (f.IsSymlink) { for (int i = 0; i < 60; i++) f.Raw[Ext4.IBlock + i] = 0; }
            e = WriteInode(f);
            if (e != 0) return e;
            uint g = (f.Ino - 1) / InodesPerGroup, idx = (f.Ino - 1) % InodesPerGroup;
            byte[] b = InodeBitmap(g);
            if (b == null) return Errno.EIO;
            ClearBit(b, idx);
            SetGdField(g, Ext4.GdFreeInodesLo, Ext4.GdFreeInodesHi, false, GdFreeInodes(g) + 1);
            if (dir) SetGdField(g, Ext4.GdUsedDirsLo, Ext4.GdUsedDirsHi, false, GdUsedDirs(g) - 1);
            DropFile(f);
            return WriteInodeBitmap(g) && WriteGd(g) ? 0 : Errno.EIO;
        }

        /// An extended-attribute block only this inode uses is freed (shared ones are left).
        void FreeXattrBlock(Ext4File f)
        {
            var b = new byte[BlockSize];
            if (ReadBlock(f.FileAcl, b) && Ext4.U32(b, 0) == 0xEA020000 && Ext4.U32(b, 4) == 1)
            {
                FreeBlocks(f.FileAcl, 1);
                f.Blocks512 -= (ulong)(BlockSize / 512);
            }
            f.FileAcl = 0;
        }

        /// A device inode's number in Linux's st_rdev encoding.
        public static uint DeviceOf(Ext4File f)
        {
            uint old = Ext4.U32(f.Raw, Ext4.IBlock);
            uint major, minor;
            if (old != 0) { major = (old >> 8) & 0xff; minor = old & 0xff; }
            else { uint n = Ext4.U32(f.Raw, Ext4.IBlock + 4); major = (n >> 8) & 0xfff; minor = (n & 0xff) | ((n >> 12) & 0xfff00); }
            return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
        }

        public bool IsFastSymlink(Ext4File f)
        {
            ulong ea = f.FileAcl != 0 ? (ulong)(BlockSize / 512) : 0;
            return f.Blocks512 - ea == 0 && f.Size < 60;
        }

        // ------------------------------------------------------------------ block maps

        static void WriteExtentHeader(byte[] b, int o, int entries, int max, int depth)
        {
            Ext4.Put16(b, o, Ext4.ExtentMagic); Ext4.Put16(b, o + 2, (uint)entries); Ext4.Put16(b, o + 4, (uint)max);
            Ext4.Put16(b, o + 6, (uint)depth); Ext4.Put32(b, o + 8, 0);
        }

        Errno LoadExtents(Ext4File f)
        {
            if (f.ExtentsLoaded) return 0;
            f.ECount = 0;
            f.TreeBlocks = new ulong[0]; f.TreeImages = new byte[0][];
            if (f.HasExtents)
            {
                Errno e = LoadNode(f, f.Raw, Ext4.IBlock, 0, -1);
                if (e != 0) return e;
            }
            f.ExtentsLoaded = true;
            return 0;
        }

        Errno LoadNode(Ext4File f, byte[] b, int o, int level, int expectDepth)
        {
            if (Ext4.U16(b, o) != Ext4.ExtentMagic) return Errno.EIO;
            int entries = Ext4.U16(b, o + 2), depth = Ext4.U16(b, o + 6);
            if (depth > 5 || (expectDepth >= 0 && depth != expectDepth)) return Errno.EIO;
            for (int i = 0; i < entries; i++)
            {
                int p = o + 12 + 12 * i;
                if (p + 12 > b.Length) return Errno.EIO;
                if (depth == 0)
                {
                    uint len = Ext4.U16(b, p + 4);
                    bool uninit = len > Ext4.MaxInitLen;
                    if (uninit) len -= Ext4.MaxInitLen;
                    ulong pb = Ext4.U32(b, p + 8) | ((ulong)Ext4.U16(b, p + 6) << 32);
                    AppendExtent(f, Ext4.U32(b, p), len, pb, uninit);
                }
                else
                {
                    ulong child = Ext4.U32(b, p + 4) | ((ulong)Ext4.U16(b, p + 8) << 32);
                    var cb = new byte[BlockSize];
                    if (!ReadBlock(child, cb)) return Errno.EIO;
                    AddTreeBlock(f, child, cb);
                    Errno e = LoadNode(f, cb, 0, level + 1, depth - 1);
                    if (e != 0) return e;
                }
            }
            return 0;
        }

        static void AddTreeBlock(Ext4File f, ulong blk, byte[] image)
        {
            int n = f.TreeBlocks.Length;
            var nb = new ulong[n + 1];
            var ni = new byte[n + 1][];
            for (int i = 0; i < n; i++) { nb[i] = f.TreeBlocks[i]; ni[i] = f.TreeImages[i]; }
            nb[n] = blk; ni[n] = image;
            f.TreeBlocks = nb; f.TreeImages = ni;
        }

        static void AppendExtent(Ext4File f, uint l, uint len, ulong p, bool uninit)
        {
            if (f.ECount == f.ELblk.Length) Grow(f, f.ECount * 2);
            f.ELblk[f.ECount] = l; f.ELen[f.ECount] = len; f.EPblk[f.ECount] = p; f.EUninit[f.ECount] = uninit;
            f.ECount++;
        }

        static void Grow(Ext4File f, int cap)
        {
            var a = new uint[cap]; var b = new uint[cap]; var c = new ulong[cap]; var d = new bool[cap];
            for (int i = 0; i < f.ECount; i++) { a[i] = f.ELblk[i]; b[i] = f.ELen[i]; c[i] = f.EPblk[i]; d[i] = f.EUninit[i]; }
            f.ELblk = a; f.ELen = b; f.EPblk = c; f.EUninit = d;
        }

        /// The mapping of logical block `l`: the physical block (0 for a hole), how many
        /// blocks from l the answer holds for (the hole's or extent's rest), and whether the
        /// extent is unwritten (reads as zeros).
        public Errno Map(Ext4File f, uint l, out ulong phys, out uint run, out bool uninit)
        {
            phys = 0; run = 1; uninit = false;
            if (!f.HasExtents) return MapIndirect(f, l, out phys, out run);
            Errno e = LoadExtents(f);
            if (e != 0) return e;
            int lo = 0, hi = f.ECount - 1, found = -1;
            while (lo <= hi) { int mid = (lo + hi) / 2; if (f.ELblk[mid] <= l) { found = mid; lo = mid + 1; } else hi = mid - 1; }
            if (found >= 0 && l < (ulong)f.ELblk[found] + f.ELen[found])
            {
                phys = f.EPblk[found] + (l - f.ELblk[found]);
                run = f.ELblk[found] + f.ELen[found] - l;
                uninit = f.EUninit[found];
                return 0;
            }
            int next = found + 1;
            run = next < f.ECount ? f.ELblk[next] - l : 0xffffffffu - l;
            return 0;
        }

        /// ext2/3 block maps: 12 direct blocks, then single, double and triple indirect.
        Errno MapIndirect(Ext4File f, uint l, out ulong phys, out uint run)
        {
            phys = 0; run = 1;
            uint per = (uint)BlockSize / 4;
            if (l < 12) { phys = Ext4.U32(f.Raw, Ext4.IBlock + 4 * (int)l); return 0; }
            l -= 12;
            int level; uint slot;
            if (l < per) { level = 1; slot = 12; }
            else if ((l -= per) < per * per) { level = 2; slot = 13; }
            else { l -= per * per; level = 3; slot = 14; }
            ulong blk = Ext4.U32(f.Raw, Ext4.IBlock + 4 * (int)slot);
            var b = new byte[BlockSize];
            for (int lv = level; lv > 0; lv--)
            {
                if (blk == 0) return 0;
                if (!ReadBlock(blk, b)) return Errno.EIO;
                uint div = 1;
                for (int k = 1; k < lv; k++) div *= per;
                blk = Ext4.U32(b, (int)(l / div % per) * 4);
            }
            phys = blk;
            return 0;
        }

        /// Replaces the mapping of [l, l+n) with `p` (0: a hole); merges neighbours.
        void SetRange(Ext4File f, uint l, uint n, ulong p, bool uninit)
        {
            // Cut the overlapping extents.
            uint end = l + n;
            for (int i = 0; i < f.ECount; i++)
            {
                uint s = f.ELblk[i], e = s + f.ELen[i];
                if (e <= l || s >= end) continue;
                if (s < l && e > end)
                {
                    // Split in two around the range.
                    InsertAt(f, i + 1, end, e - end, f.EPblk[i] + (end - s), f.EUninit[i]);
                    f.ELen[i] = l - s;
                    break;
                }
                if (s < l) { f.ELen[i] = l - s; continue; }
                if (e > end) { f.EPblk[i] += end - s; f.ELen[i] = e - end; f.ELblk[i] = end; continue; }
                RemoveAt(f, i); i--;
            }
            if (p == 0) return;
            int at = 0;
            while (at < f.ECount && f.ELblk[at] < l) at++;
            uint max = uninit ? (uint)Ext4.MaxUninitLen : Ext4.MaxInitLen;
            // Merge with the previous extent.
            if (at > 0 && f.EUninit[at - 1] == uninit && f.ELblk[at - 1] + f.ELen[at - 1] == l && f.EPblk[at - 1] + f.ELen[at - 1] == p)
            {
                uint take = max - f.ELen[at - 1];
                if (take > n) take = n;
                f.ELen[at - 1] += take; l += take; p += take; n -= take;
            }
            while (n > 0)
            {
                uint take = n > max ? max : n;
                InsertAt(f, at++, l, take, p, uninit);
                l += take; p += take; n -= take;
            }
            // Merge with the next extent.
            if (at > 0 && at < f.ECount && f.EUninit[at] == uninit && f.ELblk[at - 1] + f.ELen[at - 1] == f.ELblk[at]
                && f.EPblk[at - 1] + f.ELen[at - 1] == f.EPblk[at] && f.ELen[at - 1] + f.ELen[at] <= max)
            {
                f.ELen[at - 1] += f.ELen[at];
                RemoveAt(f, at);
            }
        }

        static void InsertAt(Ext4File f, int at, uint l, uint len, ulong p, bool uninit)
        {
            if (f.ECount == f.ELblk.Length) Grow(f, f.ECount * 2);
            for (int i = f.ECount; i > at; i--) { f.ELblk[i] = f.ELblk[i - 1]; f.ELen[i] = f.ELen[i - 1]; f.EPblk[i] = f.EPblk[i - 1]; f.EUninit[i] = f.EUninit[i - 1]; }
            f.ELblk[at] = l; f.ELen[at] = len; f.EPblk[at] = p; f.EUninit[at] = uninit;
            f.ECount++;
        }

        static void RemoveAt(Ext4File f, int at)
        {
            for (int i = at; i + 1 < f.ECount; i++) { f.ELblk[i] = f.ELblk[i + 1]; f.ELen[i] = f.ELen[i + 1]; f.EPblk[i] = f.EPblk[i + 1]; f.EUninit[i] = f.EUninit[i + 1]; }
            f.ECount--;
        }

        /// Writes the extent list as a tree: up to 4 extents in the inode, else leaf blocks
        /// (full) under as many index levels as it takes for the root to fit in the inode.
        /// The tree's old blocks are reused in order; blocks whose content did not change are
        /// not rewritten. The inode itself is written by the caller.
        Errno SaveExtents(Ext4File f)
        {
            int perBlock = (BlockSize - 12) / 12;
            // Entries of the current level: (first logical block, payload) pairs.
            int n = f.ECount;
            int levels = 0;
            int count = n;
            int needBlocks = 0;
            while (count > 4) { int blocks = (count + perBlock - 1) / perBlock; needBlocks += blocks; count = blocks; levels++; }
            ulong[] old = f.TreeBlocks;
            byte[][] oldImg = f.TreeImages;
            var blocksNew = new ulong[needBlocks];
            var imgNew = new byte[needBlocks][];
            int reuse = old.Length < needBlocks ? old.Length : needBlocks;
            for (int i = 0; i < reuse; i++) blocksNew[i] = old[i];
            ulong goal = n > 0 ? f.EPblk[0] : 0;
            for (int i = reuse; i < needBlocks; i++)
            {
                Errno e = AllocBlocks(goal, 1, out ulong b, out _);
                if (e != 0) return e;
                blocksNew[i] = b;
                f.Blocks512 += (ulong)(BlockSize / 512);
            }
            for (int i = needBlocks; i < old.Length; i++)
            {
                FreeBlocks(old[i], 1);
                f.Blocks512 -= (ulong)(BlockSize / 512);
            }
            // Level 0 (leaves) from the extents; each next level indexes the one below.
            uint[] keys = new uint[n];
            ulong[] ptrs = new ulong[n];
            for (int i = 0; i < n; i++) keys[i] = f.ELblk[i];
            int used = 0;
            int entries = n;
            int depth = 0;
            bool leaf = true;
            while (entries > 4)
            {
                int blocks = (entries + perBlock - 1) / perBlock;
                var nk = new uint[blocks];
                var np = new ulong[blocks];
                for (int bi = 0; bi < blocks; bi++)
                {
                    var img = new byte[BlockSize];
                    int from = bi * perBlock, cnt = entries - from < perBlock ? entries - from : perBlock;
                    WriteExtentHeader(img, 0, cnt, perBlock, depth);
                    for (int k = 0; k < cnt; k++)
                    {
                        int src = from + k;
                        if (leaf) PutExtent(img, 12 + 12 * k, f.ELblk[src], f.ELen[src], f.EPblk[src], f.EUninit[src]);
                        else PutIndex(img, 12 + 12 * k, keys[src], ptrs[src]);
                    }
                    if (MetadataCsum) Ext4.Put32(img, 12 + 12 * perBlock, Ext4.Crc32c(f.CsumSeed, img, 0, 12 + 12 * perBlock));
                    ulong blk = blocksNew[used];
                    imgNew[used] = img;
                    int oi = used < oldImg.Length ? used : -1;
                    if (oi < 0 || !Same(oldImg[oi], img))
                        if (!WriteBlock(blk, img)) return Errno.EIO;
                    used++;
                    nk[bi] = leaf ? f.ELblk[from] : keys[from];
                    np[bi] = blk;
                }
                keys = nk; ptrs = np; entries = blocks; depth++; leaf = false;
            }
            // The root in the inode.
            byte[] r = f.Raw;
            for (int i = 0; i < 60; i++) r[Ext4.IBlock + i] = 0;
            WriteExtentHeader(r, Ext4.IBlock, entries, 4, depth);
            for (int k = 0; k < entries; k++)
            {
                if (leaf) PutExtent(r, Ext4.IBlock + 12 + 12 * k, f.ELblk[k], f.ELen[k], f.EPblk[k], f.EUninit[k]);
                else PutIndex(r, Ext4.IBlock + 12 + 12 * k, keys[k], ptrs[k]);
            }
            f.TreeBlocks = blocksNew; f.TreeImages = imgNew;
            return 0;
        }

        static bool Same(byte[] a, byte[] b)
        {
            if (a == null || a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }

        static void PutExtent(byte[] b, int o, uint l, uint len, ulong p, bool uninit)
        {
            Ext4.Put32(b, o, l); Ext4.Put16(b, o + 4, uninit ? len + Ext4.MaxInitLen : len);
            Ext4.Put16(b, o + 6, (uint)(p >> 32)); Ext4.Put32(b, o + 8, (uint)p);
        }

        static void PutIndex(byte[] b, int o, uint l, ulong p)
        {
            Ext4.Put32(b, o, l); Ext4.Put32(b, o + 4, (uint)p); Ext4.Put16(b, o + 8, (uint)(p >> 32)); Ext4.Put16(b, o + 10, 0);
        }

        /// Frees every block from logical block `from` on (the file is being truncated).
        Errno TruncateBlocks(Ext4File f, uint from)
        {
            if (!f.HasExtents) return TruncateIndirect(f, from);
            Errno e = LoadExtents(f);
            if (e != 0) return e;
            bool changed = false;
            for (int i = f.ECount - 1; i >= 0; i--)
            {
                uint s = f.ELblk[i], end = s + f.ELen[i];
                if (end <= from) break;
                uint cut = s >= from ? 0 : from - s;
                ulong pb = f.EPblk[i] + cut;
                uint cnt = f.ELen[i] - cut;
                e = FreeBlocks(pb, cnt);
                if (e != 0) return e;
                f.Blocks512 -= (ulong)cnt * (ulong)(BlockSize / 512);
                if (cut == 0) RemoveAt(f, i); else f.ELen[i] = cut;
                changed = true;
            }
            if (changed || f.TreeBlocks.Length > 0) return SaveExtents(f);
            return 0;
        }

        /// ext2/3 files: frees the blocks from `from` on, and the indirect blocks left empty.
        Errno TruncateIndirect(Ext4File f, uint from)
        {
            uint per = (uint)BlockSize / 4;
            for (uint i = from; i < 12; i++)
            {
                uint b = Ext4.U32(f.Raw, Ext4.IBlock + 4 * (int)i);
                if (b != 0) { FreeBlocks(b, 1); f.Blocks512 -= (ulong)(BlockSize / 512); Ext4.Put32(f.Raw, Ext4.IBlock + 4 * (int)i, 0); }
            }
            ulong baseL = 12;
            ulong span = per;
            for (int level = 1; level <= 3; level++)
            {
                int slot = Ext4.IBlock + 4 * (11 + level);
                uint b = Ext4.U32(f.Raw, slot);
                if (b != 0)
                {
                    bool empty;
                    Errno e = TruncateIndirectBlock(f, b, level, baseL, from, out empty);
                    if (e != 0) return e;
                    if (empty) { FreeBlocks(b, 1); f.Blocks512 -= (ulong)(BlockSize / 512); Ext4.Put32(f.Raw, slot, 0); }
                }
                baseL += span;
                span *= per;
            }
            return 0;
        }

        Errno TruncateIndirectBlock(Ext4File f, ulong blk, int level, ulong baseL, uint from, out bool empty)
        {
            empty = false;
            uint per = (uint)BlockSize / 4;
            var b = new byte[BlockSize];
            if (!ReadBlock(blk, b)) return Errno.EIO;
            ulong each = 1;
            for (int k = 1; k < level; k++) each *= per;
            bool dirty = false, any = false;
            for (uint i = 0; i < per; i++)
            {
                uint c = Ext4.U32(b, (int)i * 4);
                if (c == 0) continue;
                ulong l0 = baseL + i * each;
                if (l0 + each <= from) { any = true; continue; }
                bool childEmpty = true;
                if (level > 1)
                {
                    Errno e = TruncateIndirectBlock(f, c, level - 1, l0, from, out childEmpty);
                    if (e != 0) return e;
                }
                if (childEmpty) { FreeBlocks(c, 1); f.Blocks512 -= (ulong)(BlockSize / 512); Ext4.Put32(b, (int)i * 4, 0); dirty = true; }
                else any = true;
            }
            empty = !any;
            if (dirty && !empty && !WriteBlock(blk, b)) return Errno.EIO;
            return 0;
        }

        /// ext2/3 files: maps logical block l to newly allocated block p (allocating the
        /// indirect blocks on the way).
        Errno SetIndirect(Ext4File f, uint l, ulong p)
        {
            uint per = (uint)BlockSize / 4;
            if (l < 12) { Ext4.Put32(f.Raw, Ext4.IBlock + 4 * (int)l, (uint)p); return 0; }
            l -= 12;
            int level; int slot;
            if (l < per) { level = 1; slot = 12; }
            else if ((l -= per) < per * per) { level = 2; slot = 13; }
            else { l -= per * per; level = 3; slot = 14; }
            int so = Ext4.IBlock + 4 * slot;
            ulong blk = Ext4.U32(f.Raw, so);
            if (blk == 0)
            {
                Errno e = NewZeroBlock(f, p, out blk);
                if (e != 0) return e;
                Ext4.Put32(f.Raw, so, (uint)blk);
            }
            var b = new byte[BlockSize];
            for (int lv = level; lv > 0; lv--)
            {
                if (!ReadBlock(blk, b)) return Errno.EIO;
                uint div = 1;
                for (int k = 1; k < lv; k++) div *= per;
                int at = (int)(l / div % per) * 4;
                if (lv == 1) { Ext4.Put32(b, at, (uint)p); return WriteBlock(blk, b) ? 0 : Errno.EIO; }
                ulong next = Ext4.U32(b, at);
                if (next == 0)
                {
                    Errno e = NewZeroBlock(f, p, out next);
                    if (e != 0) return e;
                    Ext4.Put32(b, at, (uint)next);
                    if (!WriteBlock(blk, b)) return Errno.EIO;
                }
                blk = next;
            }
            return 0;
        }

        Errno NewZeroBlock(Ext4File f, ulong goal, out ulong blk)
        {
            Errno e = AllocBlocks(goal, 1, out blk, out _);
            if (e != 0) return e;
            f.Blocks512 += (ulong)(BlockSize / 512);
            var z = new byte[BlockSize];
            return WriteBlock(blk, z) ? 0 : Errno.EIO;
        }

        /// Maps [l, l+n) (a hole) to newly allocated blocks; returns how many it mapped.
        Errno AllocateRange(Ext4File f, uint l, uint n, bool uninit, out ulong phys, out uint got)
        {
            phys = 0; got = 0;
            ulong goal = GoalFor(f, l);
            if (!f.HasExtents && n > 1) n = 1;
            Errno e = AllocBlocks(goal, n, out phys, out got);
            if (e != 0) return e;
            f.Blocks512 += (ulong)got * (ulong)(BlockSize / 512);
            if (f.HasExtents) { SetRange(f, l, got, phys, uninit); return 0; }
            return SetIndirect(f, l, phys);
        }

        ulong GoalFor(Ext4File f, uint l)
        {
            if (f.HasExtents)
            {
                for (int i = f.ECount - 1; i >= 0; i--)
                    if (f.ELblk[i] < l) return f.EPblk[i] + (l - f.ELblk[i]);
                if (f.ECount > 0) return f.EPblk[0];
            }
            else if (l > 0)
            {
                if (MapIndirect(f, l - 1, out ulong p, out _) == 0 && p != 0) return p + 1;
            }
            uint g = (f.Ino - 1) / InodesPerGroup;
            return FirstDataBlock + (ulong)g * BlocksPerGroup;
        }

        // ------------------------------------------------------------------ file data

        /// Reads up to `len` bytes at `off` (stops at the file's size).
        public long ReadData(Ext4File f, long off, byte* dst, long len)
        {
            if (off >= f.Size || len <= 0) return 0;
            if (len > f.Size - off) len = f.Size - off;
            long done = 0;
            while (done < len)
            {
                long pos = off + done;
                uint l = (uint)(pos / BlockSize);
                int within = (int)(pos % BlockSize);
                Errno e = Map(f, l, out ulong phys, out uint run, out bool uninit);
                if (e != 0) return done > 0 ? done : -(long)e;
                long n = (long)run * BlockSize - within;
                if (n > len - done) n = len - done;
                if (n > 1 << 20) n = 1 << 20;
                if (phys == 0 || uninit) Zero(dst + done, n);
                else if (!Dev.Read((long)phys * BlockSize + within, dst + done, (int)n)) return done > 0 ? done : -(long)Errno.EIO;
                done += n;
            }
            return done;
        }

        static void Zero(byte* p, long n) { for (long i = 0; i < n; i++) p[i] = 0; }

        /// Writes `len` bytes at `off`, allocating blocks for holes; the size grows to cover
        /// them. Data goes to disk before the block map that points at it.
        public long WriteData(Ext4File f, long off, byte* src, long len)
        {
            if (ReadOnly) return -(long)Errno.EROFS;
            if (len <= 0) return 0;
            long maxSize = f.HasExtents ? (long)0xffffffff * BlockSize : MaxIndirectSize();
            if (off >= maxSize) return -(long)Errno.EFBIG;
            if (len > maxSize - off) len = maxSize - off;
            long done = 0;
            bool mapChanged = false;
            Errno err = 0;
            byte[] zero = null;
            while (done < len)
            {
                long pos = off + done;
                uint l = (uint)(pos / BlockSize);
                int within = (int)(pos % BlockSize);
                Errno e = Map(f, l, out ulong phys, out uint run, out bool uninit);
                if (e != 0) { err = e; break; }
                long want = len - done;
                uint blocksWanted = (uint)((within + want + BlockSize - 1) / BlockSize);
                bool fresh = false;
                if (phys == 0)
                {
                    uint n = blocksWanted < run ? blocksWanted : run;
                    e = AllocateRange(f, l, n, false, out phys, out run);
                    if (e != 0) { err = e; break; }
                    mapChanged = true;
                    fresh = true;
                }
                else if (uninit)
                {
                    uint n = blocksWanted < run ? blocksWanted : run;
                    run = n;
                    SetRange(f, l, n, phys, false);
                    mapChanged = true;
                    fresh = true;
                }
                long chunk = (long)run * BlockSize - within;
                if (chunk > want) chunk = want;
                long at = (long)phys * BlockSize;
                if (fresh)
                {
                    // The parts of new blocks this write does not cover read as zeros.
                    if (zero == null) zero = new byte[BlockSize];
                    fixed (byte* z = zero)
                    {
                        if (within > 0) Dev.Write(at, z, within);
                        long endIn = (within + chunk) % BlockSize;
                        if (endIn != 0) Dev.Write(at + within + chunk, z, (int)(BlockSize - endIn));
                    }
                }
                if (!Dev.Write(at + within, src + done, (int)chunk)) { err = Errno.EIO; break; }
                done += chunk;
            }
            if (off + done > f.Size) f.Size = off + done;
            if (mapChanged && f.HasExtents)
            {
                Errno e = SaveExtents(f);
                if (e != 0 && err == 0) err = e;
            }
            Errno we = WriteInode(f);
            if (we != 0 && err == 0) err = we;
            if (done > 0) return done;
            return err != 0 ? -(long)err : 0;
        }

        long MaxIndirectSize()
        {
            long per = BlockSize / 4;
            long blocks = 12 + per + per * per + per * per * per;
            if (blocks > 0xffffffffL) blocks = 0xffffffffL;
            return blocks * BlockSize;
        }

        /// Sets the size: blocks past it are freed, the rest of the last block zeroed.
        public Errno Truncate(Ext4File f, long size)
        {
            if (ReadOnly) return Errno.EROFS;
            if (size < f.Size)
            {
                uint keep = (uint)((size + BlockSize - 1) / BlockSize);
                Errno e = TruncateBlocks(f, keep);
                if (e != 0) return e;
                int within = (int)(size % BlockSize);
                if (within != 0)
                {
                    e = Map(f, (uint)(size / BlockSize), out ulong phys, out _, out bool uninit);
                    if (e == 0 && phys != 0 && !uninit)
                    {
                        var z = new byte[BlockSize - within];
                        fixed (byte* zp = z) Dev.Write((long)phys * BlockSize + within, zp, z.Length);
                    }
                }
            }
            else if (f.HasExtents && size > f.Size)
            {
                // Unwritten blocks past the old size stay unwritten (they read as zeros).
            }
            f.Size = size;
            return WriteInode(f);
        }

        /// fallocate: unwritten extents over the holes of [off, off+len); the size grows
        /// unless keepSize.
        public Errno Fallocate(Ext4File f, long off, long len, bool keepSize)
        {
            if (ReadOnly) return Errno.EROFS;
            if (!f.HasExtents) return Errno.EOPNOTSUPP;
            uint l = (uint)(off / BlockSize);
            uint end = (uint)((off + len + BlockSize - 1) / BlockSize);
            bool changed = false;
            Errno err = 0;
            while (l < end)
            {
                Errno e = Map(f, l, out ulong phys, out uint run, out _);
                if (e != 0) { err = e; break; }
                uint n = end - l < run ? end - l : run;
                if (phys == 0)
                {
                    e = AllocateRange(f, l, n, true, out _, out uint got);
                    if (e != 0) { err = e; break; }
                    n = got;
                    changed = true;
                }
                l += n;
            }
            if (changed) { Errno e = SaveExtents(f); if (e != 0 && err == 0) err = e; }
            if (!keepSize && off + len > f.Size && err == 0) f.Size = off + len;
            Errno we = WriteInode(f);
            return err != 0 ? err : we;
        }

        /// The next data (or hole) offset at or after `off`, for SEEK_DATA/SEEK_HOLE.
        public long NextData(Ext4File f, long off, bool hole)
        {
            while (off < f.Size)
            {
                uint l = (uint)(off / BlockSize);
                if (Map(f, l, out ulong phys, out uint run, out bool uninit) != 0) return -1;
                bool data = phys != 0 && !uninit;
                if (data != hole) return off;
                long next = ((long)l + run) * BlockSize;
                if (next <= off) break;
                off = next;
            }
            return hole ? f.Size : -1;
        }

        // ------------------------------------------------------------------ symlinks

        public int ReadLink(Ext4File f, Span<byte> buf)
        {
            int n = (int)(f.Size < buf.Length ? f.Size : buf.Length);
            if (IsFastSymlink(f))
            {
                for (int i = 0; i < n; i++) buf[i] = f.Raw[Ext4.IBlock + i];
                return n;
            }
            fixed (byte* p = buf)
            {
                long r = ReadData(f, 0, p, n);
                return r < 0 ? -1 : (int)r;
            }
        }

        Errno WriteLinkTarget(Ext4File f, ReadOnlySpan<byte> target)
        {
            if (target.Length < 60)
            {
                f.Flags &= ~Ext4.FlagExtents;
                for (int i = 0; i < 60; i++) f.Raw[Ext4.IBlock + i] = i < target.Length ? target[i] : (byte)0;
                f.Size = target.Length;
                return WriteInode(f);
            }
            var copy = new byte[target.Length];
            for (int i = 0; i < copy.Length; i++) copy[i] = target[i];
            fixed (byte* p = copy)
            {
                long r = WriteData(f, 0, p, copy.Length);
                return r < 0 ? (Errno)(int)-r : 0;
            }
        }

        // ------------------------------------------------------------------ directories

        int TailSize => MetadataCsum ? 12 : 0;

        void SealDirBlock(Ext4File dir, byte[] b)
        {
            if (!MetadataCsum) return;
            int t = BlockSize - 12;
            Ext4.Put32(b, t, 0); Ext4.Put16(b, t + 4, 12); b[t + 6] = 0; b[t + 7] = Ext4.DirTailType;
            Ext4.Put32(b, t + 8, Ext4.Crc32c(dir.CsumSeed, b, 0, t));
        }

        public bool DirBlockCsumOk(Ext4File dir, byte[] b)
        {
            if (!MetadataCsum) return true;
            int t = BlockSize - 12;
            if (Ext4.U16(b, t + 4) != 12 || b[t + 7] != Ext4.DirTailType) return false;
            return Ext4.U32(b, t + 8) == Ext4.Crc32c(dir.CsumSeed, b, 0, t);
        }

        /// Directory block `l` into b, through the directory's block cache (directories are
        /// read far more often than written: every create looks its name up first).
        Errno ReadDirBlock(Ext4File dir, uint l, byte[] b, out ulong phys)
        {
            Errno e = Map(dir, l, out phys, out _, out bool uninit);
            if (e != 0) return e;
            if (phys == 0 || uninit) return Errno.EIO;
            byte[] c = dir.DirCache != null && l < dir.DirCache.Length ? dir.DirCache[l] : null;
            if (c == null)
            {
                if (!ReadBlock(phys, b)) return Errno.EIO;
                Remember(dir, l, b);
                return 0;
            }
            for (int i = 0; i < BlockSize; i++) b[i] = c[i];
            return 0;
        }

        /// Directory block `l` itself, from the cache (read once); null for a hole or an
        /// error. Callers that change it write it back with WriteDirBlock.
        byte[] CachedDirBlock(Ext4File dir, uint l, out ulong phys)
        {
            if (Map(dir, l, out phys, out _, out bool uninit) != 0 || phys == 0 || uninit) return null;
            byte[] c = dir.DirCache != null && l < dir.DirCache.Length ? dir.DirCache[l] : null;
            if (c != null) return c;
            var b = new byte[BlockSize];
            if (!ReadBlock(phys, b)) return null;
            Remember(dir, l, b);
            return dir.DirCache != null && l < dir.DirCache.Length ? dir.DirCache[l] : b;
        }

        void Remember(Ext4File dir, uint l, byte[] b)
        {
            if (l >= 1u << 20) return;
            if (dir.DirCache == null || l >= dir.DirCache.Length)
            {
                int n = dir.DirCache == null ? 8 : dir.DirCache.Length;
                while (n <= l) n *= 2;
                var nc = new byte[n][];
                if (dir.DirCache != null) for (int i = 0; i < dir.DirCache.Length; i++) nc[i] = dir.DirCache[i];
                dir.DirCache = nc;
            }
            byte[] c = dir.DirCache[l];
            if (c == b) return;
            if (c == null) { c = new byte[BlockSize]; dir.DirCache[l] = c; }
            for (int i = 0; i < BlockSize; i++) c[i] = b[i];
        }

        Errno WriteDirBlock(Ext4File dir, uint l, ulong phys, byte[] b)
        {
            SealDirBlock(dir, b);
            Remember(dir, l, b);
            return WriteBlock(phys, b) ? 0 : Errno.EIO;
        }

        int NameLen(byte[] b, int o) => FileType ? b[o + 6] : Ext4.U16(b, o + 6);

        static bool NameIs(byte[] b, int o, int nl, ReadOnlySpan<byte> name)
        {
            if (nl != name.Length) return false;
            for (int i = 0; i < nl; i++) if (b[o + 8 + i] != name[i]) return false;
            return true;
        }

        uint DirBlocks(Ext4File dir) => (uint)(dir.Size / BlockSize);

        /// Finds `name` in one directory block: the entry's offset, and the previous entry's.
        int FindInBlock(byte[] b, ReadOnlySpan<byte> name, out int prev)
        {
            prev = -1;
            int o = 0, end = BlockSize;
            while (o + 8 <= end)
            {
                int rl = Ext4.U16(b, o + 4);
                if (rl < 8 || o + rl > end) return -1;
                uint ino = Ext4.U32(b, o);
                int nl = NameLen(b, o);
                if (ino != 0 && nl <= rl - 8 && NameIs(b, o, nl, name)) return o;
                prev = o;
                o += rl;
            }
            return -1;
        }

        bool Indexed(Ext4File dir) => DirIndex && (dir.Flags & Ext4.FlagIndex) != 0;

        /// The htree leaf (logical block) where `hash` belongs, and the index entry after it
        /// (for a run of equal hashes continued into the next leaf): nextHash, or 0 if none.
        Errno DxFindLeaf(Ext4File dir, uint hash, out uint leaf, out uint nextHash, out uint nextLeaf, out bool ok)
        {
            leaf = 0; nextHash = 0; nextLeaf = 0; ok = false;
            var b = new byte[BlockSize];
            Errno e = ReadDirBlock(dir, 0, b, out _);
            if (e != 0) return e;
            if (Ext4.U32(b, 0x18) != 0 || b[0x1D] != 8) return 0;   // reserved_zero, info_length
            int levels = b[0x1E];
            if (levels > 2) return 0;
            int at = 0x20;
            for (int lv = 0; ; lv++)
            {
                int limit = Ext4.U16(b, at), count = Ext4.U16(b, at + 2);
                if (count == 0 || count > limit) return 0;
                int lo = 1, hi = count - 1, pick = 0;
                while (lo <= hi) { int mid = (lo + hi) / 2; if (Ext4.U32(b, at + 8 * mid) <= hash) { pick = mid; lo = mid + 1; } else hi = mid - 1; }
                uint blk = Ext4.U32(b, at + 8 * pick + 4) & 0x0fffffff;
                if (pick + 1 < count) { nextHash = Ext4.U32(b, at + 8 * (pick + 1)); nextLeaf = Ext4.U32(b, at + 8 * (pick + 1) + 4) & 0x0fffffff; }
                else { nextHash = 0; }
                if (lv == levels) { leaf = blk; ok = true; return 0; }
                e = ReadDirBlock(dir, blk, b, out _);
                if (e != 0) return e;
                at = 8;
            }
        }

        uint HashOf(Ext4File dir, ReadOnlySpan<byte> name, byte[] root)
        {
            int v = root[0x1C];
            if (v <= 2 && (Ext4.U32(Sb, Ext4.SbFlags) & 2) != 0) v += 3;
            return Ext4.DirHash(name, v, HashSeed);
        }

        /// Looks `name` up: its inode number and file type byte.
        public Errno Lookup(Ext4File dir, ReadOnlySpan<byte> name, out uint ino, out byte ftype)
        {
            Errno e = FindEntry(dir, name, out _, out _, out _, out ino, out ftype);
            return e;
        }

        /// Where `name` is: logical block, offset in it, the previous entry's offset (-1 first).
        Errno FindEntry(Ext4File dir, ReadOnlySpan<byte> name, out uint block, out int offset, out int prev, out uint ino, out byte ftype)
        {
            block = 0; offset = -1; prev = -1; ino = 0; ftype = 0;
            var b = new byte[BlockSize];
            if (Indexed(dir))
            {
                var root = new byte[BlockSize];
                Errno e = ReadDirBlock(dir, 0, root, out _);
                if (e != 0) return e;
                uint hash = HashOf(dir, name, root);
                e = DxFindLeaf(dir, hash, out uint leaf, out uint nextHash, out uint nextLeaf, out bool ok);
                if (e != 0) return e;
                if (ok)
                {
                    while (true)
                    {
                        e = ReadDirBlock(dir, leaf, b, out _);
                        if (e != 0) return e;
                        int o = FindInBlock(b, name, out int p);
                        if (o >= 0) { block = leaf; offset = o; prev = p; ino = Ext4.U32(b, o); ftype = FileType ? b[o + 7] : (byte)0; return 0; }
                        // Equal hashes continued into the next leaf (low bit of its index hash).
                        if ((nextHash & 1) == 0 || (nextHash & ~1u) != hash) return Errno.ENOENT;
                        leaf = nextLeaf; nextHash = 0;
                    }
                }
            }
            uint nb = DirBlocks(dir);
            if (nb > 2 && !Indexed(dir))
            {
                if (dir.NameIndex == null) BuildNameIndex(dir);
                if (dir.NameIndex != null)
                {
                    long[] t = dir.NameIndex;
                    int mask = t.Length - 1;
                    for (int k = (int)NameHash(name) & mask; t[k] != 0; k = (k + 1) & mask)
                    {
                        if (t[k] < 0) continue;
                        uint l = (uint)((t[k] - 1) >> 16);
                        int o = (int)((t[k] - 1) & 0xffff);
                        byte[] c = CachedDirBlock(dir, l, out _);
                        if (c == null || Ext4.U32(c, o) == 0 || !NameIs(c, o, NameLen(c, o), name)) continue;
                        int p = -1;
                        for (int q = 0; q < o; q += Ext4.U16(c, q + 4)) { p = q; if (Ext4.U16(c, q + 4) < 8) break; }
                        block = l; offset = o; prev = p; ino = Ext4.U32(c, o); ftype = FileType ? c[o + 7] : (byte)0;
                        return 0;
                    }
                    return Errno.ENOENT;
                }
            }
            for (uint l = 0; l < nb; l++)
            {
                byte[] c = CachedDirBlock(dir, l, out _);
                if (c == null) continue;
                int o = FindInBlock(c, name, out int p);
                if (o >= 0) { block = l; offset = o; prev = p; ino = Ext4.U32(c, o); ftype = FileType ? c[o + 7] : (byte)0; return 0; }
            }
            return Errno.ENOENT;
        }

        /// The entry at or after byte position `pos` of the directory ("." and ".." and
        /// empty slots skipped); pos becomes the position after it. False at the end.
        public bool ReadDir(Ext4File dir, ref long pos, Span<byte> name, out uint ino, out byte ftype, out int nameLen)
        {
            ino = 0; ftype = 0; nameLen = 0;
            byte[] b;
            uint nb = DirBlocks(dir);
            while (pos < (long)nb * BlockSize)
            {
                uint l = (uint)(pos / BlockSize);
                int start = (int)(pos % BlockSize);
                b = CachedDirBlock(dir, l, out _);
                if (b == null) { pos = (long)(l + 1) * BlockSize; continue; }
                int o = 0;
                while (o + 8 <= BlockSize)
                {
                    int rl = Ext4.U16(b, o + 4);
                    if (rl < 8 || o + rl > BlockSize) break;
                    if (o >= start)
                    {
                        uint i = Ext4.U32(b, o);
                        int nl = NameLen(b, o);
                        bool dot = nl == 1 && b[o + 8] == '.', dotdot = nl == 2 && b[o + 8] == '.' && b[o + 9] == '.';
                        if (i != 0 && nl <= rl - 8 && !dot && !dotdot)
                        {
                            for (int k = 0; k < nl && k < name.Length; k++) name[k] = b[o + 8 + k];
                            ino = i; ftype = FileType ? b[o + 7] : (byte)0; nameLen = nl;
                            pos = (long)l * BlockSize + o + rl;
                            return true;
                        }
                    }
                    o += rl;
                }
                pos = (long)(l + 1) * BlockSize;
            }
            return false;
        }

        /// Whether the directory has no entries but "." and "..".
        public bool IsEmptyDir(Ext4File dir)
        {
            long pos = 0;
            Span<byte> n = stackalloc byte[256];
            return !ReadDir(dir, ref pos, n, out _, out _, out _);
        }

        // ---- an in-memory index of a linear directory's names (open addressing), built on
        // its first lookup and kept up to date by AddEntry and RemoveEntry.

        static uint NameHash(ReadOnlySpan<byte> name)
        {
            uint h = 2166136261;
            for (int i = 0; i < name.Length; i++) h = (h ^ name[i]) * 16777619;
            return h ^ (h >> 15);
        }

        void BuildNameIndex(Ext4File dir)
        {
            uint nb = DirBlocks(dir);
            if (BlockSize > 65536) return;
            int live = 0;
            for (int pass = 0; pass < 2; pass++)
            {
                if (pass == 1)
                {
                    int cap = 64;
                    while (cap < live * 4) cap *= 2;
                    dir.NameIndex = new long[cap];
                    dir.NameCount = 0; dir.NameUsed = 0;
                }
                for (uint l = 0; l < nb; l++)
                {
                    byte[] c = CachedDirBlock(dir, l, out _);
                    if (c == null) continue;
                    int o = 0;
                    while (o + 8 <= BlockSize)
                    {
                        int rl = Ext4.U16(c, o + 4);
                        if (rl < 8 || o + rl > BlockSize) break;
                        int nl = NameLen(c, o);
                        if (Ext4.U32(c, o) != 0 && nl <= rl - 8)
                        {
                            if (pass == 0) live++;
                            else IndexAdd(dir, new ReadOnlySpan<byte>(c, o + 8, nl), l, o);
                        }
                        o += rl;
                    }
                }
            }
        }

        void IndexAdd(Ext4File dir, ReadOnlySpan<byte> name, uint l, int o)
        {
            long[] t = dir.NameIndex;
            if (t == null) return;
            if ((dir.NameUsed + 1) * 2 > t.Length) { dir.NameIndex = null; BuildNameIndex(dir); return; }
            int mask = t.Length - 1;
            int k = (int)NameHash(name) & mask;
            while (t[k] > 0) k = (k + 1) & mask;
            if (t[k] == 0) dir.NameUsed++;
            t[k] = ((long)l << 16 | (uint)o) + 1;
            dir.NameCount++;
        }

        void IndexRemove(Ext4File dir, ReadOnlySpan<byte> name, uint l, int o)
        {
            long[] t = dir.NameIndex;
            if (t == null) return;
            long v = ((long)l << 16 | (uint)o) + 1;
            int mask = t.Length - 1;
            for (int k = (int)NameHash(name) & mask; t[k] != 0; k = (k + 1) & mask)
                if (t[k] == v) { t[k] = -1; dir.NameCount--; return; }
        }

        static int RecLenFor(int nameLen) => (8 + nameLen + 3) & ~3;

        /// Tries to place an entry in block b; true if it fit.
        bool PlaceInBlock(byte[] b, ReadOnlySpan<byte> name, uint ino, byte ftype) => PlaceAt(b, name, ino, ftype) >= 0;

        /// Places an entry in block b if it fits: its offset, else -1.
        int PlaceAt(byte[] b, ReadOnlySpan<byte> name, uint ino, byte ftype)
        {
            int need = RecLenFor(name.Length);
            int o = 0, end = BlockSize - TailSize;
            while (o + 8 <= end)
            {
                int rl = Ext4.U16(b, o + 4);
                if (rl < 8 || o + rl > end) return -1;
                uint cur = Ext4.U32(b, o);
                int used = cur != 0 ? RecLenFor(NameLen(b, o)) : 0;
                if (rl - used >= need)
                {
                    int at = o;
                    if (used > 0) { Ext4.Put16(b, o + 4, (uint)used); at = o + used; Ext4.Put16(b, at + 4, (uint)(rl - used)); }
                    Ext4.Put32(b, at, ino);
                    if (FileType) { b[at + 6] = (byte)name.Length; b[at + 7] = ftype; } else Ext4.Put16(b, at + 6, (uint)name.Length);
                    for (int i = 0; i < name.Length; i++) b[at + 8 + i] = name[i];
                    for (int i = 8 + name.Length; i < need && i < rl - used; i++) b[at + i] = 0;
                    return at;
                }
                o += rl;
            }
            return -1;
        }

        /// Adds an entry. An htree directory keeps its index while the leaf the name hashes
        /// to has room; when it is full the index is dropped (the index flag cleared and the
        /// index blocks turned into empty leaves, which e2fsck accepts: e2fsck -D rebuilds it).
        public Errno AddEntry(Ext4File dir, ReadOnlySpan<byte> name, uint ino, byte ftype)
        {
            if (ReadOnly) return Errno.EROFS;
            if (!FileType) ftype = 0;
            var b = new byte[BlockSize];
            Errno e;
            if (Indexed(dir))
            {
                var root = new byte[BlockSize];
                e = ReadDirBlock(dir, 0, root, out _);
                if (e != 0) return e;
                e = DxFindLeaf(dir, HashOf(dir, name, root), out uint leaf, out _, out _, out bool ok);
                if (e != 0) return e;
                if (ok)
                {
                    e = ReadDirBlock(dir, leaf, b, out ulong lp);
                    if (e != 0) return e;
                    if (PlaceInBlock(b, name, ino, ftype)) return Touch(dir, WriteDirBlock(dir, leaf, lp, b));
                }
                e = DropIndex(dir);
                if (e != 0) return e;
            }
            uint nb = DirBlocks(dir);
            // The last block first (where appends land), then the others.
            for (uint k = 0; k < nb; k++)
            {
                uint l = k == 0 ? nb - 1 : k - 1;
                byte[] c = CachedDirBlock(dir, l, out ulong phys);
                if (c == null) continue;
                int at = PlaceAt(c, name, ino, ftype);
                if (at >= 0) { IndexAdd(dir, name, l, at); return Touch(dir, WriteDirBlock(dir, l, phys, c)); }
            }
            // A new block at the end.
            for (int i = 0; i < BlockSize; i++) b[i] = 0;
            Ext4.Put16(b, 4, (uint)(BlockSize - TailSize));
            PlaceInBlock(b, name, ino, ftype);
            e = AppendDirBlock(dir, b);
            if (e != 0) return e;
            IndexAdd(dir, name, nb, 0);
            return Touch(dir, 0);
        }

        Errno Touch(Ext4File dir, Errno e)
        {
            if (e != 0) return e;
            Now(out long s, out long ns);
            dir.Mtime = dir.Ctime = s; dir.MtimeNs = dir.CtimeNs = ns;
            return WriteInode(dir);
        }

        Errno AppendDirBlock(Ext4File dir, byte[] b)
        {
            uint l = DirBlocks(dir);
            Errno e = AllocateRange(dir, l, 1, false, out ulong phys, out _);
            if (e != 0) return e;
            e = WriteDirBlock(dir, l, phys, b);
            if (e != 0) return e;
            dir.Size = (long)(l + 1) * BlockSize;
            if (dir.HasExtents) { e = SaveExtents(dir); if (e != 0) return e; }
            return WriteInode(dir);
        }

        /// Turns an htree directory into a linear one: the root keeps "." and ".." (".."
        /// spanning the block), every index node becomes an empty leaf.
        Errno DropIndex(Ext4File dir)
        {
            var root = new byte[BlockSize];
            Errno e = ReadDirBlock(dir, 0, root, out ulong rootPhys);
            if (e != 0) return e;
            int levels = root[0x1E];
            if (levels > 0 && levels <= 2)
            {
                var node = new byte[BlockSize];
                int count = Ext4.U16(root, 0x22);
                for (int i = 0; i < count; i++)
                {
                    uint blk = Ext4.U32(root, 0x20 + 8 * i + 4) & 0x0fffffff;
                    e = EmptyIndexNode(dir, blk, levels - 1, node);
                    if (e != 0) return e;
                }
            }
            int dotLen = Ext4.U16(root, 4);
            Ext4.Put16(root, dotLen + 4, (uint)(BlockSize - TailSize - dotLen));
            for (int i = dotLen + RecLenFor(2); i < BlockSize; i++) root[i] = 0;
            e = WriteDirBlock(dir, 0, rootPhys, root);
            if (e != 0) return e;
            dir.Flags &= ~Ext4.FlagIndex;
            dir.NameIndex = null;
            return WriteInode(dir);
        }

        Errno EmptyIndexNode(Ext4File dir, uint l, int below, byte[] b)
        {
            Errno e = ReadDirBlock(dir, l, b, out ulong phys);
            if (e != 0) return e;
            if (below > 0)
            {
                int count = Ext4.U16(b, 8 + 2);
                var copy = new byte[BlockSize];
                for (int i = 0; i < BlockSize; i++) copy[i] = b[i];
                for (int i = 0; i < count; i++)
                {
                    e = EmptyIndexNode(dir, Ext4.U32(copy, 8 + 8 * i + 4) & 0x0fffffff, below - 1, b);
                    if (e != 0) return e;
                }
                e = ReadDirBlock(dir, l, b, out phys);
                if (e != 0) return e;
            }
            for (int i = 0; i < BlockSize; i++) b[i] = 0;
            Ext4.Put16(b, 4, (uint)(BlockSize - TailSize));
            return WriteDirBlock(dir, l, phys, b);
        }

        /// Removes `name`; returns the inode number it named.
        public Errno RemoveEntry(Ext4File dir, ReadOnlySpan<byte> name, out uint ino)
        {
            if (ReadOnly) { ino = 0; return Errno.EROFS; }
            Errno e = FindEntry(dir, name, out uint l, out int o, out int prev, out ino, out _);
            if (e != 0) return e;
            var b = new byte[BlockSize];
            e = ReadDirBlock(dir, l, b, out ulong phys);
            if (e != 0) return e;
            if (prev >= 0) Ext4.Put16(b, prev + 4, (uint)(Ext4.U16(b, prev + 4) + Ext4.U16(b, o + 4)));
            else Ext4.Put32(b, o, 0);
            IndexRemove(dir, name, l, o);
            return Touch(dir, WriteDirBlock(dir, l, phys, b));
        }

        /// Points an existing entry at another inode (rename over an existing name, "..").
        public Errno RetargetEntry(Ext4File dir, ReadOnlySpan<byte> name, uint ino, byte ftype)
        {
            if (ReadOnly) return Errno.EROFS;
            Errno e = FindEntry(dir, name, out uint l, out int o, out _, out _, out _);
            if (e != 0) return e;
            var b = new byte[BlockSize];
            e = ReadDirBlock(dir, l, b, out ulong phys);
            if (e != 0) return e;
            Ext4.Put32(b, o, ino);
            if (FileType) b[o + 7] = ftype;
            return Touch(dir, WriteDirBlock(dir, l, phys, b));
        }

        // ------------------------------------------------------------------ creating

        /// A new inode linked as `name` in `dir`: a regular file, directory, symlink (target)
        /// or special file.
        public Errno Create(Ext4File dir, ReadOnlySpan<byte> name, uint mode, uint rdev, ReadOnlySpan<byte> target, uint uid, uint gid, out Ext4File f)
        {
            f = null;
            if (ReadOnly) return Errno.EROFS;
            if (name.Length > 255) return Errno.ENAMETOOLONG;
            bool isDir = (mode & 0xF000) == 0x4000;
            if (isDir && dir.Links >= 65000 && (RoCompatFeatures & Ext4.RoCompatDirNlink) == 0) return Errno.EMLINK;
            uint near = (dir.Ino - 1) / InodesPerGroup;
            Errno e = NewInode(near, mode, uid, gid, out f);
            if (e != 0) return e;
            f.Links = isDir ? 2u : 1u;
            uint t = mode & 0xF000;
            if (t == 0x2000 || t == 0x6000)
            {
                // Device numbers: the old 16-bit encoding in i_block[0] when it fits, else the new one in i_block[1].
                uint major = (rdev >> 8) & 0xfff, minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
                if (major < 256 && minor < 256) Ext4.Put32(f.Raw, Ext4.IBlock, (major << 8) | minor);
                else Ext4.Put32(f.Raw, Ext4.IBlock + 4, (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12));
            }
            if (isDir)
            {
                var b = new byte[BlockSize];
                Ext4.Put32(b, 0, f.Ino); Ext4.Put16(b, 4, 12); SetNameAt(b, 0, "."u8, 2);
                Ext4.Put32(b, 12, dir.Ino); Ext4.Put16(b, 16, (uint)(BlockSize - 12 - TailSize)); SetNameAt(b, 12, ".."u8, 2);
                e = AppendDirBlock(f, b);
            }
            else if (t == 0xA000) e = WriteLinkTarget(f, target);
            else e = WriteInode(f);
            if (e == 0) e = AddEntry(dir, name, f.Ino, Ext4.FileTypeOf(mode));
            if (e != 0)
            {
                f.Links = 0;
                FreeInode(f);
                f = null;
                return e;
            }
            if (isDir)
            {
                IncLinks(dir);
                return WriteInode(dir);
            }
            return 0;
        }

        void SetNameAt(byte[] b, int o, ReadOnlySpan<byte> name, byte ftype)
        {
            if (FileType) { b[o + 6] = (byte)name.Length; b[o + 7] = ftype; } else Ext4.Put16(b, o + 6, (uint)name.Length);
            for (int i = 0; i < name.Length; i++) b[o + 8 + i] = name[i];
        }

        /// dir_nlink: a directory with more than 64999 subdirectories counts 1.
        public void IncLinks(Ext4File dir)
        {
            if (dir.Links == 1 && dir.IsDir) return;
            dir.Links++;
            if (dir.IsDir && dir.Links >= 65000) dir.Links = 1;
        }

        public void DecLinks(Ext4File dir)
        {
            if (dir.IsDir && dir.Links == 1) return;
            if (dir.Links > 0) dir.Links--;
        }
    }
}
