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
        internal bool Orphan;                   // on the superblock's orphan list (Dtime is the next one)
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
    public sealed unsafe partial class Ext4Volume
    {
        public IExt4Device Dev;
        public bool ReadOnly;
        /// The journal, while metadata writes go through it (a read-write mount of a volume
        /// with has_journal); null for ext2, read-only mounts and volumes without one.
        public Ext4Journal Journal;
        public int ReplayedTransactions, ReplayedBlocks;
        // Blocks freed by the running transaction, per group: not reused until it commits.
        byte[][] _busy;
        bool _anyBusy;
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
            bool recover = (v.IncompatFeatures & Ext4.IncompatRecover) != 0;
            if (recover && (v.CompatFeatures & Ext4.CompatHasJournal) == 0) { message = "needs_recovery set without a journal"; return Errno.EINVAL; }
            if (recover && dev.ReadOnly) { message = "the journal needs recovery and the device is read-only"; return Errno.EROFS; }
            if ((v.IncompatFeatures & Ext4.IncompatInlineData) != 0 && !v.ReadOnly)
            {
                // Inline files and directories are read (Ext4Volume.Inline.cs), never written.
                v.ReadOnly = true;
                message = "mounted read-only: inline_data is read, not written";
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
            v._busy = new byte[v.GroupCount][];
            if (recover)
            {
                // Replay the journal, mark it and the volume recovered, then mount what it left.
                Ext4Journal rj = Ext4Journal.Open(v, out message);
                if (rj == null) return Errno.EINVAL;       // the message says why the journal cannot be read
                Errno re = rj.Recover(out int txs, out int blocks, out message);
                if (re != 0) return re;
                if (!v.ReadRaw(1024, sb, 0, 1024)) { message = "cannot read the superblock"; return Errno.EIO; }
                Ext4.Put32(sb, Ext4.SbFeatureIncompat, Ext4.U32(sb, Ext4.SbFeatureIncompat) & ~Ext4.IncompatRecover);
                if (v.MetadataCsum) Ext4.Put32(sb, Ext4.SbChecksum, Ext4.Crc32c(0xffffffff, sb, 0, Ext4.SbChecksum));
                if (!v.WriteRaw(1024, sb, 0, 1024) || !dev.Flush()) { message = "cannot write the superblock"; return Errno.EIO; }
                Errno me = Mount(dev, readOnly, out vol, out message, out features);
                if (me == 0) { vol.ReplayedTransactions = txs; vol.ReplayedBlocks = blocks; }
                if (me == 0 && message == null) message = "journal replayed";
                return me;
            }
            Ext4Journal journal = null;
            if (!v.ReadOnly && (v.CompatFeatures & Ext4.CompatHasJournal) != 0)
            {
                journal = Ext4Journal.Open(v, out string jmsg);
                if (journal == null || !journal.Begin())
                {
                    journal = null;
                    if (message == null) message = jmsg ?? "the journal is not empty: metadata is written in place";
                }
            }
            if (!v.ReadOnly)
            {
                // Not clean until the unmount: a crash leaves a volume e2fsck checks in full.
                // With a journal, needs_recovery is set while mounted (written in place).
                if (journal != null) { v.IncompatFeatures |= Ext4.IncompatRecover; Ext4.Put32(sb, Ext4.SbFeatureIncompat, v.IncompatFeatures); }
                Ext4.Put16(sb, Ext4.SbState, (uint)(Ext4.U16(sb, Ext4.SbState) & ~1));
                Ext4.Put16(sb, Ext4.SbMntCount, (uint)(Ext4.U16(sb, Ext4.SbMntCount) + 1));
                Now(out long s, out _);
                Ext4.Put32(sb, Ext4.SbMtime, (uint)s);
                if (!v.WriteSuper()) { message = "cannot write the superblock"; return Errno.EIO; }
                if (journal != null && !dev.Flush()) { message = "cannot flush the device"; return Errno.EIO; }
                v.Journal = journal;
                // Inodes a crash left on the orphan list (unlinked while open) are freed now,
                // in the mount's first transaction, committed before the mount returns.
                if (v.LastOrphan != 0)
                {
                    Errno oe = v.ProcessOrphans();
                    if (oe == 0 && !v.Flush()) oe = Errno.EIO;
                    if (oe != 0) { message = "cannot process the orphan list"; return oe; }
                }
            }
            vol = v;
            return 0;
        }

        /// Writes everything back and marks the volume clean (with a journal: the last
        /// transaction committed and checkpointed, the journal empty, needs_recovery cleared).
        public bool Unmount()
        {
            if (ReadOnly) return true;
            Ext4.Put16(Sb, Ext4.SbState, (uint)(Ext4.U16(Sb, Ext4.SbState) | 1));
            bool ok = Sync();
            if (Journal != null)
            {
                ok = Journal.Close() && ok;
                Journal = null;
                IncompatFeatures &= ~Ext4.IncompatRecover;
                Ext4.Put32(Sb, Ext4.SbFeatureIncompat, IncompatFeatures);
                ok = WriteSuper() && Dev.Flush() && ok;
            }
            return ok;
        }

        /// The superblock's counters from the group descriptors, written; then a device flush
        /// (with a journal: the running transaction committed).
        public bool Sync()
        {
            if (ReadOnly) return true;
            bool ok = WriteSuper();
            return Flush() && ok;
        }

        /// What fsync needs after the inode is written: the running transaction committed
        /// (which flushes the device around its commit block), else a device flush.
        public bool Flush()
        {
            if (Journal != null && Journal.HasRunning) return Journal.Commit();
            return Dev.Flush();
        }

        /// The end of one operation (the adapter's lock released): commits the running
        /// transaction when it is older than the commit interval or large.
        public bool OperationDone() => Journal == null || Journal.MaybeCommit();

        /// The journal's transaction committed: blocks it freed may be reused.
        internal void TransactionDone()
        {
            if (!_anyBusy) return;
            for (int g = 0; g < _busy.Length; g++) _busy[g] = null;
            _anyBusy = false;
        }

        bool IsBusy(uint g, uint i) => _anyBusy && _busy[g] != null && Bit(_busy[g], i);

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

        /// Metadata reads and writes: through the journal's transactions when it is active.
        public bool ReadBytes(long at, byte[] b, int off, int len) => Journal != null ? Journal.Read(at, b, off, len) : ReadRaw(at, b, off, len);
        public bool WriteBytes(long at, byte[] b, int off, int len)
        {
            if (ReadOnly) return false;
            return Journal != null ? Journal.Write(at, b, off, len) : WriteRaw(at, b, off, len);
        }
        /// The device itself, past the journal.
        public bool ReadRaw(long at, byte[] b, int off, int len) { fixed (byte* p = b) return Dev.Read(at, p + off, len); }
        public bool WriteRaw(long at, byte[] b, int off, int len) { fixed (byte* p = b) return Dev.Write(at, p + off, len); }
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

        bool WriteBlockBitmap(uint g) => WriteBitmap(g, _blockBitmaps[g], GdBlockBitmap(g), Ext4.BgBlockUninit,
            MetadataCsum ? BlockBitmapCsum(_blockBitmaps[g]) : 0, Ext4.GdBlockBitmapCsumLo, Ext4.GdBlockBitmapCsumHi);

        bool WriteInodeBitmap(uint g) => WriteBitmap(g, _inodeBitmaps[g], GdInodeBitmap(g), Ext4.BgInodeUninit,
            MetadataCsum ? InodeBitmapCsum(_inodeBitmaps[g]) : 0, Ext4.GdInodeBitmapCsumLo, Ext4.GdInodeBitmapCsumHi);

        /// Writes group g's bitmap `b` to `block`: the group is no longer uninitialised for it
        /// (`uninit` cleared from the descriptor's flags), and with metadata_csum its checksum
        /// `csum` goes into the descriptor's `csumLo` (and, 64-byte descriptors, `csumHi`) field.
        bool WriteBitmap(uint g, byte[] b, ulong block, ushort uninit, uint csum, int csumLo, int csumHi)
        {
            ushort fl = GdFlags(g);
            if ((fl & uninit) != 0) Ext4.Put16(_gdt, Gd(g) + Ext4.GdFlags, (uint)(fl & ~uninit));
            if (MetadataCsum)
            {
                Ext4.Put16(_gdt, Gd(g) + csumLo, csum);
                if (DescSize >= 64) Ext4.Put16(_gdt, Gd(g) + csumHi, csum >> 16);
            }
            return WriteBlock(block, b);
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
                    if (Bit(b, i) || IsBusy(g, i)) continue;
                    uint j = i;
                    while (j < n && j - i < want && !Bit(b, j) && !IsBusy(g, j)) j++;
                    for (uint x = i; x < j; x++) SetBit(b, x);
                    SetGdField(g, Ext4.GdFreeBlocksLo, Ext4.GdFreeBlocksHi, false, GdFreeBlocks(g) - (j - i));
                    if (!WriteBlockBitmap(g) || !WriteGd(g)) return Errno.EIO;
                    start = FirstDataBlock + (ulong)g * BlocksPerGroup + i;
                    count = j - i;
                    return 0;
                }
            }
            if (_anyBusy && Journal != null)
            {
                // Only blocks freed by the running transaction are left: commit it (in the
                // middle of this operation) so that they can be reused.
                if (!Journal.Commit()) return Errno.EIO;
                return AllocBlocks(goal, want, out start, out count);
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
                byte[] busy = null;
                if (Journal != null)
                {
                    busy = _busy[g];
                    if (busy == null) _busy[g] = busy = new byte[BlockSize];
                    _anyBusy = true;
                }
                while (count > 0 && i < BlocksInGroup(g))
                {
                    ClearBit(b, i);
                    if (busy != null) { SetBit(busy, i); Journal.Forget(start); }
                    i++; n++; count--; start++;
                }
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
            // The inode with its checksum fields counted as zeros.
            bool hi = InodeSize > 128 && Ext4.U16(raw, Ext4.IExtraIsize) >= 4;
            uint c = Ext4.Crc32c(seed, raw, 0, Ext4.IChecksumLo);
            c = Ext4.Crc32cZeros(c, 2);
            if (hi)
            {
                c = Ext4.Crc32c(c, raw, Ext4.IChecksumLo + 2, Ext4.IChecksumHi - Ext4.IChecksumLo - 2);
                c = Ext4.Crc32cZeros(c, 2);
                c = Ext4.Crc32c(c, raw, Ext4.IChecksumHi + 2, InodeSize - Ext4.IChecksumHi - 2);
            }
            else c = Ext4.Crc32c(c, raw, Ext4.IChecksumLo + 2, InodeSize - Ext4.IChecksumLo - 2);
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
            Errno e = RemoveOrphan(f);
            if (e == 0 && (f.IsReg || f.IsDir || (f.IsSymlink && !IsFastSymlink(f)))) e = TruncateBlocks(f, 0);
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

        /// An extended-attribute block only this inode uses is freed; a shared one loses this
        /// inode's reference.
        void FreeXattrBlock(Ext4File f)
        {
            var b = new byte[BlockSize];
            if (ReadBlock(f.FileAcl, b) && Ext4.U32(b, 0) == XattrMagic)
            {
                uint refs = Ext4.U32(b, 4);
                if (refs <= 1) FreeBlocks(f.FileAcl, 1);
                else
                {
                    Ext4.Put32(b, 4, refs - 1);
                    if (MetadataCsum) Ext4.Put32(b, 16, XattrBlockCsum(f.FileAcl, b));
                    WriteBlock(f.FileAcl, b);
                }
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
    }
}
