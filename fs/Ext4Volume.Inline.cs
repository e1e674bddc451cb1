#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// inline_data, read: files and directories small enough to live in the inode itself,
    /// their first 60 bytes in i_block and the rest in the value of the in-inode extended
    /// attribute "system.data" (ext4's on-disk format, "Inline Data"). A volume with the
    /// feature mounts read-only: writing would have to move inline data out to blocks as a
    /// file grows, which we do not do.
    public sealed unsafe partial class Ext4Volume
    {
        const int InlineBlockBytes = 60;                // i_block
        const int XattrIndexSystem = 7;

        static bool IsInline(Ext4File f) => (f.Flags & Ext4.FlagInlineData) != 0;

        /// The value of the in-inode extended attribute (index, name), or null: the entries
        /// follow a 4-byte magic after the inode's extra fields; each names its value's
        /// offset from the first entry; a zero word ends the list.
        byte[] InodeXattr(Ext4File f, int index, ReadOnlySpan<byte> name)
        {
            byte[] r = f.Raw;
            if (r == null || InodeSize <= 128 || r.Length < InodeSize) return null;
            int start = 128 + Ext4.U16(r, Ext4.IExtraIsize);
            if (start + 4 > InodeSize || Ext4.U32(r, start) != 0xEA020000) return null;
            int first = start + 4;
            for (int e = first; e + 16 <= InodeSize && Ext4.U32(r, e) != 0;)
            {
                int nameLen = r[e], valueOffs = Ext4.U16(r, e + 2);
                uint valueInum = Ext4.U32(r, e + 4), valueSize = Ext4.U32(r, e + 8);
                if (e + 16 + nameLen > InodeSize) return null;
                if (r[e + 1] == index && valueInum == 0 && new ReadOnlySpan<byte>(r, e + 16, nameLen).SequenceEqual(name))
                {
                    if ((long)first + valueOffs + valueSize > InodeSize) return null;
                    var v = new byte[valueSize];
                    for (int i = 0; i < v.Length; i++) v[i] = r[first + valueOffs + i];
                    return v;
                }
                e += (16 + nameLen + 3) & ~3;
            }
            return null;
        }

        /// An inline file's bytes: i_block's then system.data's (empty when it is missing).
        byte[] InlineBytes(Ext4File f)
        {
            byte[] extra = InodeXattr(f, XattrIndexSystem, "data"u8) ?? new byte[0];
            var all = new byte[InlineBlockBytes + extra.Length];
            for (int i = 0; i < InlineBlockBytes; i++) all[i] = f.Raw[Ext4.IBlock + i];
            for (int i = 0; i < extra.Length; i++) all[InlineBlockBytes + i] = extra[i];
            return all;
        }

        /// ReadData for an inline file: up to `len` bytes at `off`, within its size.
        long ReadInline(Ext4File f, long off, byte* dst, long len)
        {
            byte[] all = InlineBytes(f);
            long size = f.Size < all.Length ? f.Size : all.Length;
            if (off >= size) return 0;
            if (len > size - off) len = size - off;
            for (long i = 0; i < len; i++) dst[i] = all[off + i];
            return len;
        }

        /// An inline directory as one linear directory block, so that lookup and readdir
        /// need nothing else: "." and ".." (the parent's number is i_block's first word),
        /// then the entries of i_block's other 56 bytes and those of system.data (each area
        /// is its own chain of records), then an empty record to the block's end (before the
        /// checksum tail on metadata_csum volumes).
        byte[] InlineDirBlock(Ext4File dir)
        {
            var b = new byte[BlockSize];
            int o = 0;
            static void Entry(byte[] blk, ref int at, uint ino, ReadOnlySpan<byte> name, int recLen, byte type)
            {
                Ext4.Put32(blk, at, ino); Ext4.Put16(blk, at + 4, (ushort)recLen);
                blk[at + 6] = (byte)name.Length; blk[at + 7] = type;
                for (int i = 0; i < name.Length; i++) blk[at + 8 + i] = name[i];
                at += recLen;
            }
            byte dirType = FileType ? (byte)2 : (byte)0;
            Entry(b, ref o, dir.Ino, "."u8, 12, dirType);
            Entry(b, ref o, Ext4.U32(dir.Raw, Ext4.IBlock), ".."u8, 12, dirType);
            byte[] all = InlineBytes(dir);
            int used = all.Length - 4;
            int end = BlockSize - (MetadataCsum ? 12 : 0);
            if (o + used + 12 > end) return null;        // cannot be: inline data is under a block
            for (int i = 0; i < used; i++) b[o + i] = all[4 + i];
            o += used;
            Entry(b, ref o, 0, default, end - o, 0);
            SealDirBlock(dir, b);
            return b;
        }

        /// The directory block cache's entry 0 for an inline directory, made once.
        byte[] InlineDirCached(Ext4File dir)
        {
            byte[] c = dir.DirCache != null && dir.DirCache.Length > 0 ? dir.DirCache[0] : null;
            if (c != null) return c;
            c = InlineDirBlock(dir);
            if (c != null) Remember(dir, 0, c);
            return c;
        }

    }
}
