#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// Block images keyed by block number: open addressing with linear probing, deletion by
    /// backward shift. The journal's running transaction and its committed-but-not-yet-
    /// checkpointed blocks.
    public sealed class Ext4BlockTable
    {
        ulong[] _keys = new ulong[64];       // block + 1; 0 = empty slot
        byte[][] _vals = new byte[64][];
        public int Count;

        int Slot(ulong blk) => (int)((blk * 0x9E3779B97F4A7C15UL) >> 40) & (_keys.Length - 1);

        public byte[] Get(ulong blk)
        {
            if (Count == 0) return null;
            ulong k = blk + 1;
            for (int i = Slot(blk); ; i = (i + 1) & (_keys.Length - 1))
            {
                if (_keys[i] == k) return _vals[i];
                if (_keys[i] == 0) return null;
            }
        }

        public void Put(ulong blk, byte[] img)
        {
            if ((Count + 1) * 2 > _keys.Length) Grow();
            ulong k = blk + 1;
            int i = Slot(blk);
            while (_keys[i] != 0 && _keys[i] != k) i = (i + 1) & (_keys.Length - 1);
            if (_keys[i] == 0) Count++;
            _keys[i] = k;
            _vals[i] = img;
        }

        public bool Remove(ulong blk)
        {
            if (Count == 0) return false;
            ulong k = blk + 1;
            int mask = _keys.Length - 1, i = Slot(blk);
            while (_keys[i] != k) { if (_keys[i] == 0) return false; i = (i + 1) & mask; }
            _keys[i] = 0; _vals[i] = null; Count--;
            // Shift later members of the run back so that no lookup stops early.
            for (int j = (i + 1) & mask; _keys[j] != 0; j = (j + 1) & mask)
            {
                int home = Slot(_keys[j] - 1);
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
                if (!movable) continue;
                _keys[i] = _keys[j]; _vals[i] = _vals[j];
                _keys[j] = 0; _vals[j] = null;
                i = j;
            }
            return true;
        }

        public void Clear()
        {
            if (_keys.Length > 1024) { _keys = new ulong[64]; _vals = new byte[64][]; }
            else for (int i = 0; i < _keys.Length; i++) { _keys[i] = 0; _vals[i] = null; }
            Count = 0;
        }

        void Grow()
        {
            ulong[] ok = _keys; byte[][] ov = _vals;
            _keys = new ulong[ok.Length * 2]; _vals = new byte[ok.Length * 2][];
            Count = 0;
            for (int i = 0; i < ok.Length; i++) if (ok[i] != 0) Put(ok[i] - 1, ov[i]);
        }

        /// The slots, for iteration: KeyAt(i) is the block or ulong.MaxValue for an empty slot.
        public int Capacity => _keys.Length;
        public ulong KeyAt(int i) => _keys[i] == 0 ? ulong.MaxValue : _keys[i] - 1;
        public byte[] ValueAt(int i) => _vals[i];
    }

    /// The JBD2 journal of an ext4 volume (the journal inode's blocks), written from the
    /// on-disk format's documentation (kernel.org "ext4 Data Structures and Algorithms",
    /// section Journal). Two jobs:
    ///
    /// Replay at mount: the three passes over the log from s_start (scan to the last
    /// transaction whose commit block is present and, with checksums v2/v3, valid; collect
    /// the revoke records; write every journaled block not revoked by the same or a later
    /// transaction to its place), then the journal is marked empty.
    ///
    /// Ordered-mode metadata journaling: every metadata write of the volume (WriteBytes)
    /// patches a copy of its block in the running transaction instead of the disk, and reads
    /// see those copies. Commit writes descriptor blocks with the copies after them (and
    /// revoke blocks for freed blocks that earlier transactions still hold), flushes the
    /// device (file data, written directly, is then on the disk before the commit), writes
    /// the commit block and flushes again. Checkpoint writes the committed copies in place,
    /// flushes and marks the journal empty; it runs when the next transaction does not fit
    /// in the rest of the log, when 16 MiB of committed copies are held in memory, and at
    /// unmount. The log is never wrapped: every checkpoint restarts it at s_first.
    public sealed unsafe class Ext4Journal
    {
        public const uint Magic = 0xC03B3998;
        public const int TypeDescriptor = 1, TypeCommit = 2, TypeSbV1 = 3, TypeSbV2 = 4, TypeRevoke = 5;
        public const uint CompatChecksum = 0x1;
        public const uint IncompatRevoke = 0x1, Incompat64Bit = 0x2, IncompatAsyncCommit = 0x4, IncompatCsumV2 = 0x8,
            IncompatCsumV3 = 0x10, IncompatFastCommit = 0x20;
        public const uint IncompatKnown = IncompatRevoke | Incompat64Bit | IncompatAsyncCommit | IncompatCsumV2 | IncompatCsumV3;
        public const uint TagEscape = 0x1, TagSameUuid = 0x2, TagDeleted = 0x4, TagLast = 0x8;
        // Journal superblock fields (big-endian).
        public const int JsBlockSize = 0xC, JsMaxLen = 0x10, JsFirst = 0x14, JsSequence = 0x18, JsStart = 0x1C, JsErrno = 0x20,
            JsFeatureCompat = 0x24, JsFeatureIncompat = 0x28, JsFeatureRoCompat = 0x2C, JsUuid = 0x30, JsChecksumType = 0x50,
            JsChecksum = 0xFC;
        public const int SbJournalInum = 0xE0, SbJournalDev = 0xE4;
        /// Seconds of activity after which the running transaction commits (Linux's default).
        public const int CommitInterval = 5;

        readonly Ext4Volume _v;
        readonly int _bs;
        ulong[] _map;                    // journal block -> volume block
        byte[] _jsb;                     // the journal superblock's block
        public uint MaxLen, First, Sequence, Start, Compat, Incompat;
        uint _seed;
        bool _v1;

        // Journaling state.
        public bool Active;
        readonly Ext4BlockTable _running = new Ext4BlockTable();
        readonly Ext4BlockTable _committed = new Ext4BlockTable();
        ulong[] _revokes = new ulong[16];
        int _revokeCount;
        uint _head;                      // next free journal block
        uint _nextSeq;                   // the running transaction's id
        long _runningSince;
        /// Called before the commit block is written: writes back the file data the
        /// transaction's metadata points at (ordered mode). Nothing to do while file data is
        /// written through; a page cache puts its write-back of the volume's dirty pages here.
        public delegate*<object, void> WriteBackData;
        public object WriteBackOwner;        // WriteBackData's argument (the mount)
        /// Statistics: transactions committed, blocks journaled, checkpoints.
        public long Commits, BlocksLogged, Checkpoints;

        byte[] _buf;                     // the commit's write buffer, kept between commits
        Ext4Journal(Ext4Volume v) { _v = v; _bs = v.BlockSize; }

        public static uint BE32(byte[] b, int o) => (uint)(b[o] << 24 | b[o + 1] << 16 | b[o + 2] << 8 | b[o + 3]);
        public static void PutBE32(byte[] b, int o, uint x) { b[o] = (byte)(x >> 24); b[o + 1] = (byte)(x >> 16); b[o + 2] = (byte)(x >> 8); b[o + 3] = (byte)x; }
        public static void PutBE16(byte[] b, int o, uint x) { b[o] = (byte)(x >> 8); b[o + 1] = (byte)x; }
        public static ushort BE16(byte[] b, int o) => (ushort)(b[o] << 8 | b[o + 1]);

        /// n bytes from src[so] to dst[d], eight at a time.
        public static void Copy(byte[] src, int so, byte[] dst, int d, int n)
        {
            fixed (byte* ps = src, pd = dst)
            {
                int i = 0;
                for (; i + 8 <= n; i += 8) *(ulong*)(pd + d + i) = *(ulong*)(ps + so + i);
                for (; i < n; i++) pd[d + i] = ps[so + i];
            }
        }

        bool CsumV2 => (Incompat & IncompatCsumV2) != 0;
        bool CsumV3 => (Incompat & IncompatCsumV3) != 0;
        bool Csum => CsumV2 || CsumV3;
        bool Wide => (Incompat & Incompat64Bit) != 0;

        /// Bytes of one block tag (without the UUID that follows unless SAME_UUID).
        int TagBytes
        {
            get
            {
                if (CsumV3) return 16;
                int sz = 12;
                if (CsumV2) sz += 2;
                return Wide ? sz : sz - 4;
            }
        }

        /// Opens the journal of volume v (internal journal inode): reads its superblock and
        /// maps its blocks. null with a message when it cannot be used.
        public static Ext4Journal Open(Ext4Volume v, out string message)
        {
            message = null;
            uint inum = Ext4.U32(v.Sb, SbJournalInum);
            if (inum == 0 || Ext4.U32(v.Sb, SbJournalDev) != 0) { message = "external journals are not supported"; return null; }
            if (v.GetFile(inum, out Ext4File f) != 0) { message = "cannot read the journal inode"; return null; }
            var j = new Ext4Journal(v);
            uint blocks = (uint)(f.Size / v.BlockSize);
            if (blocks < 16) { message = "the journal is too small"; return null; }
            j._map = new ulong[blocks];
            for (uint l = 0; l < blocks;)
            {
                if (v.Map(f, l, out ulong phys, out uint run, out bool uninit) != 0 || phys == 0 || uninit) { message = "the journal inode has holes"; return null; }
                for (uint k = 0; k < run && l < blocks; k++, l++) j._map[l] = phys + k;
            }
            j._jsb = new byte[v.BlockSize];
            if (!j.ReadJ(0, j._jsb)) { message = "cannot read the journal superblock"; return null; }
            byte[] s = j._jsb;
            uint type = BE32(s, 4);
            if (BE32(s, 0) != Magic || (type != TypeSbV1 && type != TypeSbV2)) { message = "bad journal superblock"; return null; }
            j._v1 = type == TypeSbV1;
            if (BE32(s, JsBlockSize) != (uint)v.BlockSize) { message = "the journal's block size differs from the volume's"; return null; }
            j.MaxLen = BE32(s, JsMaxLen);
            j.First = BE32(s, JsFirst);
            j.Sequence = BE32(s, JsSequence);
            j.Start = BE32(s, JsStart);
            if (!j._v1) { j.Compat = BE32(s, JsFeatureCompat); j.Incompat = BE32(s, JsFeatureIncompat); }
            if (j.MaxLen > blocks || j.First == 0 || j.First >= j.MaxLen) { message = "corrupt journal superblock geometry"; return null; }
            if ((j.Incompat & ~IncompatKnown) != 0) { message = "unsupported journal features (fast_commit or newer)"; return null; }
            if (j.Csum)
            {
                if (s[JsChecksumType] != 4) { message = "unknown journal checksum type"; return null; }
                if (BE32(s, JsChecksum) != j.SuperCsum()) { message = "journal superblock checksum mismatch"; return null; }
            }
            j._seed = Ext4.Crc32c(0xffffffff, s, JsUuid, 16);
            return j;
        }

        uint SuperCsum()
        {
            var c = new byte[1024];
            for (int i = 0; i < 1024; i++) c[i] = _jsb[i];
            PutBE32(c, JsChecksum, 0);
            return Ext4.Crc32c(0xffffffff, c, 0, 1024);
        }

        bool ReadJ(uint jblk, byte[] b) => jblk < _map.Length && _v.ReadRaw((long)_map[jblk] * _bs, b, 0, _bs);
        bool WriteJ(uint jblk, byte[] b, int off, int count)
        {
            // count journal blocks from jblk, in runs of physically contiguous blocks.
            int i = 0;
            while (i < count)
            {
                int n = 1;
                while (i + n < count && _map[jblk + i + n] == _map[jblk + i] + (ulong)n) n++;
                if (!_v.WriteRaw((long)_map[jblk + i] * _bs, b, off + i * _bs, n * _bs)) return false;
                i += n;
            }
            return true;
        }

        uint Next(uint jblk) => jblk + 1 >= MaxLen ? First : jblk + 1;

        bool WriteSuper()
        {
            PutBE32(_jsb, JsSequence, Sequence);
            PutBE32(_jsb, JsStart, Start);
            if (!_v1)
            {
                PutBE32(_jsb, JsFeatureCompat, Compat);
                PutBE32(_jsb, JsFeatureIncompat, Incompat);
                if (Csum) { _jsb[JsChecksumType] = 4; PutBE32(_jsb, JsChecksum, SuperCsum()); }
            }
            return WriteJ(0, _jsb, 0, 1);
        }

        bool BlockCsumOk(byte[] b)
        {
            if (!Csum) return true;
            uint stored = BE32(b, _bs - 4);
            PutBE32(b, _bs - 4, 0);
            uint c = Ext4.Crc32c(_seed, b, 0, _bs);
            PutBE32(b, _bs - 4, stored);
            return c == stored;
        }

        void SetBlockCsum(byte[] b)
        {
            if (!Csum) return;
            PutBE32(b, _bs - 4, 0);
            PutBE32(b, _bs - 4, Ext4.Crc32c(_seed, b, 0, _bs));
        }

        bool CommitCsumOk(byte[] b)
        {
            if (!Csum) return true;        // a v1 (compat CHECKSUM) commit checksum is not verified
            uint stored = BE32(b, 0x10);
            PutBE32(b, 0x10, 0);
            uint c = Ext4.Crc32c(_seed, b, 0, _bs);
            PutBE32(b, 0x10, stored);
            return c == stored;
        }

        uint TagCsum(uint seq, byte[] data, int off)
        {
            var s = new byte[4];
            PutBE32(s, 0, seq);
            uint c = Ext4.Crc32c(_seed, s, 0, 4);
            return Ext4.Crc32c(c, data, off, _bs);
        }

        // ------------------------------------------------------------------ replay

        /// One tag of a descriptor block.
        struct Tag { public ulong Block; public uint Flags, Csum; }

        /// The tags of descriptor block d, in order; false when it is malformed.
        bool ParseTags(byte[] d, Tag[] tags, out int count)
        {
            count = 0;
            int tb = TagBytes, end = _bs - (Csum ? 4 : 0), o = 12;
            while (o + tb <= end)
            {
                Tag t;
                if (CsumV3)
                {
                    t.Block = BE32(d, o); t.Flags = BE32(d, o + 4);
                    if (Wide) t.Block |= (ulong)BE32(d, o + 8) << 32;
                    t.Csum = BE32(d, o + 12);
                }
                else
                {
                    t.Block = BE32(d, o); t.Csum = BE16(d, o + 4); t.Flags = BE16(d, o + 6);
                    if (Wide) t.Block |= (ulong)BE32(d, o + 8) << 32;
                }
                if (count == tags.Length) return false;
                tags[count++] = t;
                o += tb;
                if ((t.Flags & TagSameUuid) == 0) o += 16;
                if ((t.Flags & TagLast) != 0) return true;
            }
            return count > 0;
        }

        /// Replays the journal when it holds transactions (s_start != 0), then marks it
        /// empty. `replayed` counts the blocks written. Needs a writable device.
        public Errno Recover(out int transactions, out int replayed, out string message)
        {
            transactions = 0; replayed = 0; message = null;
            if (Start == 0) return 0;
            var b = new byte[_bs];
            var tags = new Tag[_bs / 8 + 1];
            // Pass 1, scan: the end of the log.
            uint seq = Sequence, at = Start;
            for (uint steps = 0; steps < MaxLen; steps++)
            {
                if (!ReadJ(at, b)) { message = "cannot read the journal"; return Errno.EIO; }
                if (BE32(b, 0) != Magic || BE32(b, 8) != seq) break;
                uint type = BE32(b, 4);
                if (type == TypeDescriptor)
                {
                    if (!BlockCsumOk(b) || !ParseTags(b, tags, out int n)) break;
                    for (int i = 0; i < n; i++) at = Next(at);
                    at = Next(at);
                }
                else if (type == TypeRevoke)
                {
                    if (!BlockCsumOk(b)) break;
                    at = Next(at);
                }
                else if (type == TypeCommit)
                {
                    if (!CommitCsumOk(b)) break;
                    seq++;
                    at = Next(at);
                }
                else break;
            }
            uint endSeq = seq;
            transactions = (int)(endSeq - Sequence);
            // Pass 2, revoke: block -> the latest transaction that revoked it.
            var revoked = new Ext4BlockTable();
            seq = Sequence; at = Start;
            while (seq != endSeq)
            {
                if (!ReadJ(at, b)) { message = "cannot read the journal"; return Errno.EIO; }
                uint type = BE32(b, 4);
                if (type == TypeDescriptor) { ParseTags(b, tags, out int n); for (int i = 0; i < n; i++) at = Next(at); }
                else if (type == TypeRevoke)
                {
                    int used = (int)BE32(b, 12), rec = Wide ? 8 : 4;
                    if (used > _bs) used = _bs;
                    for (int o = 16; o + rec <= used; o += rec)
                    {
                        ulong blk = Wide ? (ulong)BE32(b, o) << 32 | BE32(b, o + 4) : BE32(b, o);
                        revoked.Put(blk, SeqBox(seq));
                    }
                }
                else if (type == TypeCommit) seq++;
                at = Next(at);
            }
            // Pass 3, replay.
            var data = new byte[_bs];
            seq = Sequence; at = Start;
            while (seq != endSeq)
            {
                if (!ReadJ(at, b)) { message = "cannot read the journal"; return Errno.EIO; }
                uint type = BE32(b, 4);
                if (type == TypeDescriptor)
                {
                    ParseTags(b, tags, out int n);
                    for (int i = 0; i < n; i++)
                    {
                        at = Next(at);
                        Tag t = tags[i];
                        byte[] r = revoked.Get(t.Block);
                        if (r != null && (int)(SeqOf(r) - seq) >= 0) continue;
                        if (!ReadJ(at, data)) { message = "cannot read the journal"; return Errno.EIO; }
                        if (Csum)
                        {
                            uint c = TagCsum(seq, data, 0);
                            if (CsumV2) c &= 0xffff;
                            if (c != t.Csum) continue;     // a block whose checksum is bad is not replayed
                        }
                        if ((t.Flags & TagEscape) != 0) PutBE32(data, 0, Magic);
                        if (t.Block >= _v.BlocksCount) { message = "the journal names a block past the volume's end"; return Errno.EIO; }
                        if (!_v.WriteRaw((long)t.Block * _bs, data, 0, _bs)) { message = "cannot write a replayed block"; return Errno.EIO; }
                        replayed++;
                    }
                }
                else if (type == TypeCommit) seq++;
                at = Next(at);
            }
            if (!_v.Dev.Flush()) { message = "flush failed"; return Errno.EIO; }
            Sequence = endSeq;
            Start = 0;
            if (!WriteSuper() || !_v.Dev.Flush()) { message = "cannot write the journal superblock"; return Errno.EIO; }
            return 0;
        }

        static byte[] SeqBox(uint seq) { var b = new byte[4]; Ext4.Put32(b, 0, seq); return b; }
        static uint SeqOf(byte[] b) => Ext4.U32(b, 0);

        // ------------------------------------------------------------------ journaling

        /// Starts journaling the volume's metadata writes (the journal must be empty).
        public bool Begin()
        {
            if (Start != 0) return false;
            // What Linux's ext4 sets: revoke records, 64-bit block numbers on a 64bit volume,
            // and v3 checksums on a metadata_csum volume.
            if (_v1) return false;
            Incompat |= IncompatRevoke;
            if (_v.Has64Bit) Incompat |= Incompat64Bit;
            if (_v.MetadataCsum && !CsumV3) { Incompat = (Incompat & ~IncompatCsumV2) | IncompatCsumV3; Compat &= ~CompatChecksum; }
            if (!WriteSuper()) return false;
            _head = First;
            _nextSeq = Sequence;
            Active = true;
            return true;
        }

        /// Blocks a transaction may hold before it is committed at the end of an operation.
        public int SoftLimit { get { int n = (int)(MaxLen - First) / 4; return n < MaxCommitted / 2 ? n : MaxCommitted / 2; } }
        /// Committed blocks kept in memory until they are checkpointed: at most 16 MiB of
        /// copies (a large volume's log holds far more), then a checkpoint.
        public int MaxCommitted => (16 << 20) / _bs;

        /// A metadata read: the newest copy of each block (running, then committed), else the disk.
        public bool Read(long at, byte[] b, int off, int len)
        {
            if (_running.Count == 0 && _committed.Count == 0) return _v.ReadRaw(at, b, off, len);
            while (len > 0)
            {
                ulong blk = (ulong)(at / _bs);
                int within = (int)(at % _bs), n = _bs - within;
                if (n > len) n = len;
                byte[] img = _running.Get(blk) ?? _committed.Get(blk);
                if (img != null) Copy(img, within, b, off, n);
                else if (!_v.ReadRaw(at, b, off, n)) return false;
                at += n; off += n; len -= n;
            }
            return true;
        }

        /// A metadata write: patches the running transaction's copy of each block.
        public bool Write(long at, byte[] b, int off, int len)
        {
            if (_running.Count == 0) Ext4Volume.Now(out _runningSince, out _);
            while (len > 0)
            {
                ulong blk = (ulong)(at / _bs);
                int within = (int)(at % _bs), n = _bs - within;
                if (n > len) n = len;
                byte[] img = _running.Get(blk);
                if (img == null)
                {
                    img = NewImage();
                    byte[] old = _committed.Get(blk);
                    if (old != null) Copy(old, 0, img, 0, _bs);
                    else if (n != _bs && !_v.ReadRaw((long)blk * _bs, img, 0, _bs)) return false;
                    _running.Put(blk, img);
                }
                Copy(b, off, img, within, n);
                at += n; off += n; len -= n;
            }
            return true;
        }

        /// A block was freed: no transaction may write it in place any more, and replay must
        /// not write an older copy over what it holds after reuse (a revoke record).
        public void Forget(ulong blk)
        {
            _running.Remove(blk);
            if (_committed.Remove(blk))
            {
                if (_revokeCount == _revokes.Length)
                {
                    var n = new ulong[_revokes.Length * 2];
                    for (int i = 0; i < _revokeCount; i++) n[i] = _revokes[i];
                    _revokes = n;
                }
                _revokes[_revokeCount++] = blk;
                if (_running.Count == 0) Ext4Volume.Now(out _runningSince, out _);
            }
        }

        public bool HasRunning => _running.Count > 0 || _revokeCount > 0;

        /// At the end of an operation: commits when the transaction is old or large.
        public bool MaybeCommit()
        {
            if (!HasRunning) return true;
            Ext4Volume.Now(out long now, out _);
            if (_running.Count >= SoftLimit || now - _runningSince >= CommitInterval) return Commit();
            return true;
        }

        /// Commits the running transaction: descriptor and revoke blocks, the blocks, a
        /// flush, the commit block, a flush. Nothing is written when it is empty.
        public bool Commit()
        {
            if (!HasRunning) { _v.TransactionDone(); return true; }
            if (WriteBackData != null) WriteBackData(WriteBackOwner);
            int tb = TagBytes, room = _bs - 12 - (Csum ? 4 : 0);
            int perDesc = (room - 16) / tb;          // the first tag carries the UUID
            if (perDesc < 1) perDesc = 1;
            int n = _running.Count;
            int descs = (n + perDesc - 1) / perDesc;
            int rec = Wide ? 8 : 4, perRevoke = (_bs - 16 - (Csum ? 4 : 0)) / rec;
            int revokeBlocks = (_revokeCount + perRevoke - 1) / perRevoke;
            int total = revokeBlocks + descs + n + 1;
            if (_head + (uint)total > MaxLen || _committed.Count >= MaxCommitted)
            {
                if (!Checkpoint()) return false;
            }
            if (First + (uint)total > MaxLen)
            {
                // Larger than the whole log (one operation touched more blocks than the journal
                // holds): written in place without the journal's atomicity.
                for (int i = 0; i < _running.Capacity; i++)
                {
                    ulong blk = _running.KeyAt(i);
                    if (blk != ulong.MaxValue && !_v.WriteRaw((long)blk * _bs, _running.ValueAt(i), 0, _bs)) return false;
                }
                _running.Clear(); _revokeCount = 0;
                _v.TransactionDone();
                return _v.Dev.Flush();
            }
            uint seq = _nextSeq;
            if (_committed.Count == 0 && _head == First)
            {
                // The log was empty: it starts with this transaction.
                Sequence = seq; Start = First;
                if (!WriteSuper()) return false;
            }
            // Revoke blocks.
            if (_buf == null) _buf = new byte[_bs * (_bs >= 4096 ? 16 : 64)];
            byte[] buf = _buf;
            int bufBlocks = 0;
            uint bufAt = _head;
            int r = 0;
            while (r < _revokeCount)
            {
                byte[] rb = new byte[_bs];
                Header(rb, TypeRevoke, seq);
                int o = 16;
                for (int k = 0; k < perRevoke && r < _revokeCount; k++, r++)
                {
                    if (Wide) { PutBE32(rb, o, (uint)(_revokes[r] >> 32)); PutBE32(rb, o + 4, (uint)_revokes[r]); }
                    else PutBE32(rb, o, (uint)_revokes[r]);
                    o += rec;
                }
                PutBE32(rb, 12, (uint)o);
                SetBlockCsum(rb);
                if (!Append(buf, ref bufBlocks, ref bufAt, rb)) return false;
            }
            // Descriptors, each followed by its blocks.
            int slot = 0;
            if (_tagBlocks == null || _tagBlocks.Length < perDesc) { _tagBlocks = new ulong[perDesc]; _tagImgs = new byte[perDesc][]; }
            ulong[] blocks = _tagBlocks;
            byte[][] imgs = _tagImgs;
            while (slot < _running.Capacity)
            {
                int k = 0;
                for (; slot < _running.Capacity && k < perDesc; slot++)
                {
                    ulong blk = _running.KeyAt(slot);
                    if (blk == ulong.MaxValue) continue;
                    blocks[k] = blk; imgs[k] = _running.ValueAt(slot); k++;
                }
                if (k == 0) break;
                byte[] d = Zeroed(ref _descBuf);
                Header(d, TypeDescriptor, seq);
                int o = 12;
                for (int i = 0; i < k; i++)
                {
                    byte[] img = imgs[i];
                    uint flags = i == 0 ? 0 : TagSameUuid;
                    if (i == k - 1) flags |= TagLast;
                    byte[] logged = img;
                    if (BE32(img, 0) == Magic)
                    {
                        logged = new byte[_bs];
                        Copy(img, 4, logged, 4, _bs - 4);
                        flags |= TagEscape;
                    }
                    uint c = Csum ? TagCsum(seq, logged, 0) : 0;
                    if (CsumV3)
                    {
                        PutBE32(d, o, (uint)blocks[i]); PutBE32(d, o + 4, flags);
                        if (Wide) PutBE32(d, o + 8, (uint)(blocks[i] >> 32));
                        PutBE32(d, o + 12, c);
                    }
                    else
                    {
                        PutBE32(d, o, (uint)blocks[i]); PutBE16(d, o + 4, c & 0xffff); PutBE16(d, o + 6, flags);
                        if (Wide) PutBE32(d, o + 8, (uint)(blocks[i] >> 32));
                    }
                    o += tb;
                    if (i == 0) { for (int x = 0; x < 16; x++) d[o + x] = _jsb[JsUuid + x]; o += 16; }
                    imgs[i] = logged;
                }
                SetBlockCsum(d);
                if (!Append(buf, ref bufBlocks, ref bufAt, d)) return false;
                for (int i = 0; i < k; i++) if (!Append(buf, ref bufBlocks, ref bufAt, imgs[i])) return false;
            }
            if (!FlushBuf(buf, ref bufBlocks, ref bufAt)) return false;
            // Everything before the commit block, file data included, reaches the disk first.
            if (!_v.Dev.Flush()) return false;
            byte[] cb = Zeroed(ref _commitBuf);
            Header(cb, TypeCommit, seq);
            Ext4Volume.Now(out long sec, out long nsec);
            PutBE32(cb, 0x30, (uint)((ulong)sec >> 32)); PutBE32(cb, 0x34, (uint)sec);
            PutBE32(cb, 0x38, (uint)nsec);
            if (Csum) PutBE32(cb, 0x10, Ext4.Crc32c(_seed, cb, 0, _bs));
            if (!WriteJ(bufAt, cb, 0, 1)) return false;
            bufAt++;
            if (!_v.Dev.Flush()) return false;
            _head = bufAt;
            // The transaction's blocks are now the committed copies (the copies they replace
            // are kept for the next transaction's blocks).
            for (int i = 0; i < _running.Capacity; i++)
            {
                ulong blk = _running.KeyAt(i);
                if (blk == ulong.MaxValue) continue;
                Recycle(_committed.Get(blk));
                _committed.Put(blk, _running.ValueAt(i));
            }
            BlocksLogged += n;
            Commits++;
            _running.Clear();
            _revokeCount = 0;
            _nextSeq = seq + 1;
            _v.TransactionDone();
            return true;
        }

        static void Header(byte[] b, int type, uint seq) { PutBE32(b, 0, Magic); PutBE32(b, 4, (uint)type); PutBE32(b, 8, seq); }

        bool Append(byte[] buf, ref int bufBlocks, ref uint bufAt, byte[] blk)
        {
            if (bufBlocks * _bs == buf.Length && !FlushBuf(buf, ref bufBlocks, ref bufAt)) return false;
            Copy(blk, 0, buf, bufBlocks * _bs, _bs);
            bufBlocks++;
            return true;
        }

        bool FlushBuf(byte[] buf, ref int bufBlocks, ref uint bufAt)
        {
            if (bufBlocks == 0) return true;
            if (!WriteJ(bufAt, buf, 0, bufBlocks)) return false;
            bufAt += (uint)bufBlocks;
            bufBlocks = 0;
            return true;
        }

        // Block images no table holds any more, for the next ones (a create and fsync would
        // otherwise leave some 24 KiB of garbage per commit for the collector).
        readonly byte[][] _free = new byte[256][];
        int _freeCount;

        ulong[] _tagBlocks;               // one descriptor's blocks and their images, while it is built
        byte[][] _tagImgs;
        byte[] _descBuf, _commitBuf;      // a descriptor and a commit block being built (copied out before reuse)

        byte[] Zeroed(ref byte[] b)
        {
            if (b == null) b = new byte[_bs];
            else for (int i = 0; i < b.Length; i++) b[i] = 0;
            return b;
        }

        byte[] NewImage() => _freeCount > 0 ? _free[--_freeCount] : new byte[_bs];

        void Recycle(byte[] img)
        {
            if (img != null && _freeCount < _free.Length) _free[_freeCount++] = img;
        }

        /// Writes the committed blocks in place, flushes, and marks the log empty.
        public bool Checkpoint()
        {
            if (_committed.Count == 0 && _head == First) return true;
            for (int i = 0; i < _committed.Capacity; i++)
            {
                ulong blk = _committed.KeyAt(i);
                if (blk != ulong.MaxValue && !_v.WriteRaw((long)blk * _bs, _committed.ValueAt(i), 0, _bs)) return false;
            }
            if (!_v.Dev.Flush()) return false;
            for (int i = 0; i < _committed.Capacity && _freeCount < _free.Length; i++)
                if (_committed.KeyAt(i) != ulong.MaxValue) Recycle(_committed.ValueAt(i));
            _committed.Clear();
            Sequence = _nextSeq;
            Start = 0;
            _head = First;
            Checkpoints++;
            return WriteSuper() && _v.Dev.Flush();
        }

        /// At unmount: commit, checkpoint; the journal is empty afterwards.
        public bool Close()
        {
            bool ok = Commit() && Checkpoint();
            Active = false;
            return ok;
        }
    }
}
