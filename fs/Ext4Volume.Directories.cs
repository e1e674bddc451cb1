#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// Directories: linear and htree lookup, entries added and removed with their checksums,
    /// the in-memory name index of linear directories, and inodes created in them.
    public sealed unsafe partial class Ext4Volume
    {
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
            if (IsInline(dir))
            {
                phys = 0;
                byte[] ic = l == 0 ? InlineDirCached(dir) : null;
                if (ic == null) return Errno.EIO;
                for (int i = 0; i < BlockSize; i++) b[i] = ic[i];
                return 0;
            }
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
            if (IsInline(dir)) { phys = 0; return l == 0 ? InlineDirCached(dir) : null; }
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

        uint DirBlocks(Ext4File dir) => IsInline(dir) ? 1u : (uint)(dir.Size / BlockSize);

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
            if (Indexed(dir))
            {
                var b = new byte[BlockSize];
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
            byte[] b;
            Errno e;
            if (Indexed(dir))
            {
                b = new byte[BlockSize];
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
            b = new byte[BlockSize];
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
