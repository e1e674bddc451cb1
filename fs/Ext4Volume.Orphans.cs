#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// The orphan list (ext4 disk layout, "Orphan list"): an inode whose last name is gone
    /// while a file still holds it open is chained from the superblock's s_last_orphan
    /// through each inode's i_dtime, in the same transaction as the unlink, and taken off
    /// when the last reference goes and the inode is freed. A mount after a crash frees the
    /// inodes left on it (or truncates one that still has links to its i_size, as Linux
    /// leaves a truncate cut short), so an open-unlinked file does not leak its blocks.
    public sealed unsafe partial class Ext4Volume
    {
        /// Inodes the mount found on the orphan list and freed or truncated.
        public int OrphansFreed, OrphansTruncated;

        public uint LastOrphan => Ext4.U32(Sb, Ext4.SbLastOrphan);

        /// Puts f (no links left, still open) at the head of the orphan list: its i_dtime
        /// names the old head, s_last_orphan names f. Nothing when it is already on it.
        public Errno AddOrphan(Ext4File f)
        {
            if (ReadOnly) return Errno.EROFS;
            if (f.Orphan) return WriteInode(f);
            f.Dtime = LastOrphan;
            f.Orphan = true;
            Errno e = WriteInode(f);
            if (e != 0) return e;
            Ext4.Put32(Sb, Ext4.SbLastOrphan, f.Ino);
            return WriteSuper() ? 0 : Errno.EIO;
        }

        /// Takes f off the orphan list: the superblock or the inode before it in the chain
        /// gets f's successor. f's own i_dtime is cleared in memory (the caller writes f).
        Errno RemoveOrphan(Ext4File f)
        {
            if (!f.Orphan) return 0;
            f.Orphan = false;
            uint next = f.Dtime;
            f.Dtime = 0;
            if (LastOrphan == f.Ino)
            {
                Ext4.Put32(Sb, Ext4.SbLastOrphan, next);
                return WriteSuper() ? 0 : Errno.EIO;
            }
            // Every inode on the list is one of ours (the mount emptied the list it found),
            // so the walk meets only inodes in memory.
            uint ino = LastOrphan;
            for (uint n = 0; ino != 0 && n < InodesCount; n++)
            {
                Errno e = GetFile(ino, out Ext4File p);
                if (e != 0) return e;
                if (p.Dtime == f.Ino)
                {
                    p.Dtime = next;
                    return WriteInode(p);
                }
                ino = p.Dtime;
            }
            return 0;
        }

        /// At a read-write mount (after the journal's replay): frees every inode on the
        /// orphan list with no links left, truncates one with links to its size, and
        /// empties the list. A number outside the inode table or a loop ends the walk.
        Errno ProcessOrphans()
        {
            uint ino = LastOrphan;
            uint seen = 0;
            while (ino != 0)
            {
                if (ino < FirstIno || ino > InodesCount || ++seen > InodesCount) break;
                Errno e = GetFile(ino, out Ext4File f);
                if (e != 0) return e;
                uint next = f.Dtime;
                // Off the list first: FreeInode sets i_dtime to the time of deletion.
                Ext4.Put32(Sb, Ext4.SbLastOrphan, next);
                f.Dtime = 0;
                uint g = (ino - 1) / InodesPerGroup;
                byte[] bm = InodeBitmap(g);
                if (bm == null) return Errno.EIO;
                if (!Bit(bm, (ino - 1) % InodesPerGroup)) { DropFile(f); ino = next; continue; }   // not in use: nothing to free
                if (f.Links == 0)
                {
                    e = FreeInode(f);
                    OrphansFreed++;
                }
                else
                {
                    e = f.IsReg || f.IsDir ? TruncateBlocks(f, (uint)((f.Size + BlockSize - 1) / BlockSize)) : 0;
                    if (e == 0) e = WriteInode(f);
                    OrphansTruncated++;
                }
                if (e != 0) return e;
                ino = next;
            }
            Ext4.Put32(Sb, Ext4.SbLastOrphan, 0);
            return WriteSuper() ? 0 : Errno.EIO;
        }
    }
}
