#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// Where a file's blocks are: extent trees (read at any depth, rewritten as full leaves)
    /// and ext2/3 indirect block maps.
    public sealed unsafe partial class Ext4Volume
    {
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
            if (IsInline(f)) return 0;                  // no blocks: i_block holds the data
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
    }
}
