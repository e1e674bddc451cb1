#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// Extended attributes on disk (the ext4 disk-layout documentation, "Extended
    /// Attributes"): entries in the inode's extra space (after i_extra_isize: the magic
    /// 0xEA020000, then entries, values packed from the end, offsets from the first entry)
    /// and in one attribute block (i_file_acl: a 32-byte header with magic, refcount, blocks,
    /// hash and checksum, entries sorted by index, name length and name, values packed from
    /// the block's end). Each entry names its namespace by index (user 1, ACLs 2 and 3,
    /// trusted 4, security 6, system 7) and stores the rest of the name; its hash covers
    /// name and value, the block's hash covers the entries' hashes. Every set rewrites both
    /// places from the whole list: what fits stays in (or goes to) the inode, the rest to the
    /// block; a block shared with other inodes (refcount > 1) is left to them with its count
    /// lowered and this inode gets a copy. Values in their own inode (ea_inode) do not occur:
    /// a volume with that feature is refused at mount, and a value that fits neither place
    /// is ENOSPC, as on Linux without it. POSIX ACLs are converted between the xattr form
    /// (version 2, 8-byte entries) and ext4's (version 1, 4-byte entries but for named users
    /// and groups).
    public sealed unsafe partial class Ext4Volume
    {
        const uint XattrMagic = 0xEA020000;
        const int XattrBlockHeader = 32, XattrEntryHeader = 16;
        const uint CompatExtAttr = 0x8;

        /// One attribute: namespace index, the name after its prefix, the value.
        public sealed class XattrEntry
        {
            public int Index;
            public byte[] Name;
            public byte[] Value;
            public bool InInode;
        }

        static int EntrySize(int nameLen) => (XattrEntryHeader + nameLen + 3) & ~3;
        static int Pad4(int n) => (n + 3) & ~3;

        /// The namespace index and prefix length of a full name; false for names ext4 has no
        /// index for.
        public static bool XattrIndex(ReadOnlySpan<byte> name, out int index, out int prefix)
        {
            index = 0; prefix = 0;
            if (name.SequenceEqual("system.posix_acl_access"u8)) { index = 2; prefix = name.Length; return true; }
            if (name.SequenceEqual("system.posix_acl_default"u8)) { index = 3; prefix = name.Length; return true; }
            if (Xattr.HasPrefix(name, "user."u8)) { index = 1; prefix = 5; return true; }
            if (Xattr.HasPrefix(name, "trusted."u8)) { index = 4; prefix = 8; return true; }
            if (Xattr.HasPrefix(name, "security."u8)) { index = 6; prefix = 9; return true; }
            return false;
        }

        static ReadOnlySpan<byte> IndexPrefix(int index) => index switch
        {
            1 => "user."u8,
            2 => "system.posix_acl_access"u8,
            3 => "system.posix_acl_default"u8,
            4 => "trusted."u8,
            6 => "security."u8,
            _ => default,
        };

        /// The entry hash: the name's bytes (as signed chars), then the value's 32-bit
        /// little-endian words (zero-padded), each step a rotate and an xor.
        public static uint XattrEntryHash(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            uint h = 0;
            for (int i = 0; i < name.Length; i++) h = (h << 5) ^ (h >> 27) ^ (uint)(int)(sbyte)name[i];
            for (int i = 0; i < value.Length; i += 4)
            {
                uint w = 0;
                for (int k = 0; k < 4 && i + k < value.Length; k++) w |= (uint)value[i + k] << (8 * k);
                h = (h << 16) ^ (h >> 16) ^ w;
            }
            return h;
        }

        /// Parses the entries of a region: `r[first..end)` holds entries from `first`, values at
        /// `valueBase + e_value_offs`. False on anything out of bounds (or a value in an inode).
        static bool ParseXattrEntries(byte[] r, int first, int end, int valueBase, bool inInode, XattrEntry[] into, ref int count)
        {
            for (int e = first; ; )
            {
                if (e + 4 > end) return false;
                if (Ext4.U32(r, e) == 0) return true;
                if (e + XattrEntryHeader > end) return false;
                int nameLen = r[e], index = r[e + 1], offs = Ext4.U16(r, e + 2);
                uint inum = Ext4.U32(r, e + 4), size = Ext4.U32(r, e + 8);
                if (e + XattrEntryHeader + nameLen > end || inum != 0) return false;
                if (size > 0 && ((long)valueBase + offs + size > end || valueBase + offs < e)) return false;
                if (count == into.Length) return false;
                var x = new XattrEntry { Index = index, Name = new byte[nameLen], Value = new byte[size], InInode = inInode };
                for (int i = 0; i < nameLen; i++) x.Name[i] = r[e + XattrEntryHeader + i];
                for (int i = 0; i < (int)size; i++) x.Value[i] = r[valueBase + offs + i];
                into[count++] = x;
                e += EntrySize(nameLen);
            }
        }

        int IbodyStart(Ext4File f) => InodeSize > 128 ? 128 + Ext4.U16(f.Raw, Ext4.IExtraIsize) : InodeSize;

        /// Every attribute of `f`: the inode's, then the block's.
        public Errno ReadXattrs(Ext4File f, out XattrEntry[] list, out int count)
        {
            list = new XattrEntry[16]; count = 0;
            byte[] r = f.Raw;
            int start = IbodyStart(f);
            for (int pass = 0; pass < 2; pass++)
            {
                count = 0;
                if (pass == 1) list = new XattrEntry[BlockSize / 4];
                if (start + 8 <= InodeSize && Ext4.U32(r, start) == XattrMagic
                    && !ParseXattrEntries(r, start + 4, InodeSize, start + 4, true, list, ref count))
                {
                    if (count < list.Length) return Errno.EIO;
                    continue;                               // more than 16: again with room
                }
                if (f.FileAcl != 0)
                {
                    var b = new byte[BlockSize];
                    if (!ReadBlock(f.FileAcl, b)) return Errno.EIO;
                    if (Ext4.U32(b, 0) != XattrMagic || Ext4.U32(b, 8) != 1) return Errno.EIO;
                    if (!ParseXattrEntries(b, XattrBlockHeader, BlockSize, 0, false, list, ref count))
                    {
                        if (count < list.Length) return Errno.EIO;
                        continue;
                    }
                }
                return 0;
            }
            return Errno.EIO;
        }

        static int FindXattr(XattrEntry[] list, int count, int index, ReadOnlySpan<byte> name)
        {
            for (int i = 0; i < count; i++)
                if (list[i].Index == index && name.SequenceEqual(list[i].Name)) return i;
            return -1;
        }

        /// getxattr: the value of full name `name`; ENODATA when missing.
        public Errno GetXattr(Ext4File f, ReadOnlySpan<byte> name, out byte[] value)
        {
            value = null;
            if (!XattrIndex(name, out int index, out int prefix)) return Errno.EOPNOTSUPP;
            Errno e = ReadXattrs(f, out XattrEntry[] list, out int count);
            if (e != 0) return e;
            int i = FindXattr(list, count, index, name.Slice(prefix));
            if (i < 0) return Errno.ENODATA;
            value = index == 2 || index == 3 ? AclFromDisk(list[i].Value) : list[i].Value;
            return value == null ? Errno.EIO : 0;
        }

        /// listxattr: the full names of the attributes a program can name, each NUL-ended.
        public Errno ListXattrs(Ext4File f, out byte[] names)
        {
            names = null;
            Errno e = ReadXattrs(f, out XattrEntry[] list, out int count);
            if (e != 0) return e;
            int len = 0;
            for (int i = 0; i < count; i++) { int p = IndexPrefix(list[i].Index).Length; if (p > 0) len += p + list[i].Name.Length + 1; }
            names = new byte[len];
            int o = 0;
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> p = IndexPrefix(list[i].Index);
                if (p.Length == 0) continue;
                p.CopyTo(new Span<byte>(names, o, p.Length)); o += p.Length;
                new ReadOnlySpan<byte>(list[i].Name).CopyTo(new Span<byte>(names, o, list[i].Name.Length)); o += list[i].Name.Length;
                names[o++] = 0;
            }
            return 0;
        }

        /// setxattr (value non-null, XATTR_CREATE/XATTR_REPLACE) or removexattr (value null):
        /// the new list is laid out again and the inode (and block) written.
        public Errno SetXattr(Ext4File f, ReadOnlySpan<byte> name, byte[] value, int flags)
        {
            if (ReadOnly) return Errno.EROFS;
            if (!XattrIndex(name, out int index, out int prefix)) return Errno.EOPNOTSUPP;
            ReadOnlySpan<byte> suffix = name.Slice(prefix);
            if (value != null && (index == 2 || index == 3))
            {
                value = AclToDisk(value);
                if (value == null) return Errno.EINVAL;
            }
            Errno e = ReadXattrs(f, out XattrEntry[] list, out int count);
            if (e != 0) return e;
            int i = FindXattr(list, count, index, suffix);
            if (value == null)
            {
                if (i < 0) return Errno.ENODATA;
                for (int k = i; k + 1 < count; k++) list[k] = list[k + 1];
                count--;
            }
            else
            {
                if (i >= 0 && (flags & Xattr.XATTR_CREATE) != 0) return Errno.EEXIST;
                if (i < 0 && (flags & Xattr.XATTR_REPLACE) != 0) return Errno.ENODATA;
                if (suffix.Length > 255) return Errno.ERANGE;
                if (i >= 0) list[i].Value = value;
                else
                {
                    if (count == list.Length) return Errno.ENOSPC;
                    var n = new byte[suffix.Length];
                    suffix.CopyTo(n);
                    list[count++] = new XattrEntry { Index = index, Name = n, Value = value, InInode = true };
                }
            }
            return WriteXattrs(f, list, count);
        }

        /// Lays `list` out: in order, each entry that still fits in the inode goes there (those
        /// already there first), the rest to the block; ENOSPC when the block overflows.
        Errno WriteXattrs(Ext4File f, XattrEntry[] list, int count)
        {
            int start = IbodyStart(f);
            int room = InodeSize - start - 4 - 4;           // the magic and the ending zero word
            int blockRoom = BlockSize - XattrBlockHeader - 4, blockUsed = 0, inBlock = 0;
            var order = new XattrEntry[count];
            int o = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < count; i++)
                    if (list[i].InInode == (pass == 0)) order[o++] = list[i];
            bool[] inInode = new bool[count];
            for (int i = 0; i < count; i++)
            {
                int need = EntrySize(order[i].Name.Length) + Pad4(order[i].Value.Length);
                if (room >= need) { inInode[i] = true; room -= need; continue; }
                blockUsed += need; inBlock++;
                if (blockUsed > blockRoom) return Errno.ENOSPC;
            }

            // The block first (it may need allocating, which may fail), then the inode.
            ulong old = f.FileAcl, blk = 0;
            bool oldShared = false;
            byte[] oldImage = null;
            if (old != 0)
            {
                oldImage = new byte[BlockSize];
                if (!ReadBlock(old, oldImage)) return Errno.EIO;
                oldShared = Ext4.U32(oldImage, 4) > 1;
            }
            if (inBlock > 0)
            {
                if (old != 0 && !oldShared) blk = old;
                else
                {
                    ulong goal = FirstDataBlock + (ulong)((f.Ino - 1) / InodesPerGroup) * BlocksPerGroup;
                    Errno ae = AllocBlocks(goal, 1, out blk, out uint got);
                    if (ae != 0) return ae;
                    if (got != 1) return Errno.ENOSPC;
                }
                var b = new byte[BlockSize];
                var sorted = new XattrEntry[inBlock];
                int n = 0;
                for (int i = 0; i < count; i++) if (!inInode[i]) sorted[n++] = order[i];
                SortBlockEntries(sorted);
                Ext4.Put32(b, 0, XattrMagic); Ext4.Put32(b, 4, 1); Ext4.Put32(b, 8, 1);
                uint bh = LayOutEntries(b, XattrBlockHeader, BlockSize, 0, sorted, inBlock, out bool zero);
                Ext4.Put32(b, 12, zero ? 0 : bh);
                if (MetadataCsum) Ext4.Put32(b, 16, XattrBlockCsum(blk, b));
                if (!WriteBlock(blk, b)) return Errno.EIO;
            }

            // The inode's region, rewritten whole.
            byte[] r = f.Raw;
            for (int k = start; k < InodeSize; k++) r[k] = 0;
            int inCount = 0;
            for (int i = 0; i < count; i++) if (inInode[i]) inCount++;
            if (inCount > 0 && start + 8 <= InodeSize)
            {
                var ins = new XattrEntry[inCount];
                int n = 0;
                for (int i = 0; i < count; i++) if (inInode[i]) { ins[n++] = order[i]; order[i].InInode = true; }
                Ext4.Put32(r, start, XattrMagic);
                LayOutEntries(r, start + 4, InodeSize, start + 4, ins, inCount, out _);
            }
            for (int i = 0; i < count; i++) if (!inInode[i]) order[i].InInode = false;

            if (old != 0 && blk != old)
            {
                // The old block: another inode's still (one reference fewer), or freed.
                if (oldShared)
                {
                    Ext4.Put32(oldImage, 4, Ext4.U32(oldImage, 4) - 1);
                    if (MetadataCsum) Ext4.Put32(oldImage, 16, XattrBlockCsum(old, oldImage));
                    if (!WriteBlock(old, oldImage)) return Errno.EIO;
                }
                else if (FreeBlocks(old, 1) != 0) return Errno.EIO;
                f.Blocks512 -= (ulong)(BlockSize / 512);
            }
            if (blk != 0 && blk != old) f.Blocks512 += (ulong)(BlockSize / 512);
            f.FileAcl = blk;
            if ((CompatFeatures & CompatExtAttr) == 0)
            {
                CompatFeatures |= CompatExtAttr;
                Ext4.Put32(Sb, Ext4.SbFeatureCompat, CompatFeatures);
                if (!WriteSuper()) return Errno.EIO;
            }
            return WriteInode(f);
        }

        /// Writes entries from `first` on and their values down from `end`; the offsets count
        /// from `valueBase`. Returns the hash over the entries' hashes (`zero` if one is 0).
        static uint LayOutEntries(byte[] b, int first, int end, int valueBase, XattrEntry[] es, int count, out bool zero)
        {
            int e = first, v = end;
            uint blockHash = 0;
            zero = false;
            for (int i = 0; i < count; i++)
            {
                XattrEntry x = es[i];
                int size = x.Value.Length;
                int offs = 0;
                if (size > 0)
                {
                    v -= Pad4(size);
                    for (int k = 0; k < size; k++) b[v + k] = x.Value[k];
                    offs = v - valueBase;
                }
                b[e] = (byte)x.Name.Length; b[e + 1] = (byte)x.Index;
                Ext4.Put16(b, e + 2, (uint)offs);
                Ext4.Put32(b, e + 4, 0);
                Ext4.Put32(b, e + 8, (uint)size);
                uint h = XattrEntryHash(x.Name, x.Value);
                Ext4.Put32(b, e + 12, h);
                for (int k = 0; k < x.Name.Length; k++) b[e + XattrEntryHeader + k] = x.Name[k];
                e += EntrySize(x.Name.Length);
                if (h == 0) zero = true;
                blockHash = (blockHash << 16) ^ (blockHash >> 16) ^ h;
            }
            return blockHash;
        }

        /// The order ext4 keeps a block's entries in: by index, then name length, then name.
        static int CompareEntries(XattrEntry a, XattrEntry b)
        {
            if (a.Index != b.Index) return a.Index - b.Index;
            if (a.Name.Length != b.Name.Length) return a.Name.Length - b.Name.Length;
            for (int i = 0; i < a.Name.Length; i++) if (a.Name[i] != b.Name[i]) return a.Name[i] - b.Name[i];
            return 0;
        }

        static void SortBlockEntries(XattrEntry[] es)
        {
            for (int i = 1; i < es.Length; i++)
            {
                XattrEntry x = es[i];
                int j = i - 1;
                while (j >= 0 && CompareEntries(es[j], x) > 0) { es[j + 1] = es[j]; j--; }
                es[j + 1] = x;
            }
        }

        /// metadata_csum: crc32c of the volume's seed, the 64-bit block number and the block
        /// with its checksum field as zeros.
        public uint XattrBlockCsum(ulong blk, byte[] b)
        {
            uint c = Ext4.Crc32cU32(Ext4.Crc32cU32(CsumSeed, (uint)blk), (uint)(blk >> 32));
            c = Ext4.Crc32c(c, b, 0, 16);
            c = Ext4.Crc32cZeros(c, 4);
            return Ext4.Crc32c(c, b, 20, BlockSize - 20);
        }

        // ---- POSIX ACLs: tags with an id (ACL_USER 2, ACL_GROUP 8) keep it on disk; the
        // others (USER_OBJ 1, GROUP_OBJ 4, MASK 0x10, OTHER 0x20) store tag and permission.

        static bool AclTagHasId(uint tag) => tag == 2 || tag == 8;
        static bool AclTagKnown(uint tag) => tag == 1 || tag == 2 || tag == 4 || tag == 8 || tag == 0x10 || tag == 0x20;

        /// The xattr form (version 2) to ext4's (version 1); null when it is not a valid one.
        public static byte[] AclToDisk(byte[] x)
        {
            if (x.Length < 4 || (x.Length - 4) % 8 != 0 || Ext4.U32(x, 0) != 2) return null;
            int n = (x.Length - 4) / 8, len = 4;
            for (int i = 0; i < n; i++)
            {
                uint tag = Ext4.U16(x, 4 + i * 8);
                if (!AclTagKnown(tag)) return null;
                len += AclTagHasId(tag) ? 8 : 4;
            }
            var d = new byte[len];
            Ext4.Put32(d, 0, 1);
            int o = 4;
            for (int i = 0; i < n; i++)
            {
                uint tag = Ext4.U16(x, 4 + i * 8);
                Ext4.Put16(d, o, tag); Ext4.Put16(d, o + 2, Ext4.U16(x, 6 + i * 8));
                if (AclTagHasId(tag)) { Ext4.Put32(d, o + 4, Ext4.U32(x, 8 + i * 8)); o += 8; }
                else o += 4;
            }
            return d;
        }

        /// ext4's form to the xattr form; null when the disk value is malformed.
        public static byte[] AclFromDisk(byte[] d)
        {
            if (d.Length < 4 || Ext4.U32(d, 0) != 1) return null;
            int n = 0;
            for (int o = 4; o < d.Length; n++)
            {
                if (o + 4 > d.Length) return null;
                uint tag = Ext4.U16(d, o);
                if (!AclTagKnown(tag)) return null;
                o += AclTagHasId(tag) ? 8 : 4;
                if (o > d.Length) return null;
            }
            var x = new byte[4 + n * 8];
            Ext4.Put32(x, 0, 2);
            int at = 4;
            for (int i = 0; i < n; i++)
            {
                uint tag = Ext4.U16(d, at);
                Ext4.Put16(x, 4 + i * 8, tag); Ext4.Put16(x, 6 + i * 8, Ext4.U16(d, at + 2));
                if (AclTagHasId(tag)) { Ext4.Put32(x, 8 + i * 8, Ext4.U32(d, at + 4)); at += 8; }
                else { Ext4.Put32(x, 8 + i * 8, 0xffffffff); at += 4; }
            }
            return x;
        }
    }
}
