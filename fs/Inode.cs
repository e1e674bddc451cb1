using System;
using Kernel.Abi;
using Kernel.Sched;

namespace Kernel.Fs
{
    /// File type bits of st_mode and d_type values (Linux's).
    /// A mounted filesystem instance: its device number and inode-number allocator.
    public sealed class FileSystem
    {
        public readonly ulong Dev;
        public readonly byte[] TypeName;      // "tmpfs", "proc", ...
        public readonly long Magic;           // statfs f_type
        ulong _nextIno;
        public FileSystem(ulong dev, byte[] typeName, long magic, ulong firstIno) { Dev = dev; TypeName = typeName; Magic = magic; _nextIno = firstIno; }
        public ulong NewIno() => _nextIno++;
    }

    /// A directory entry as readdir reports it; the name is written to a caller buffer.
    public struct DirEntryInfo
    {
        public ulong Ino;
        public byte Type;
        public int NameLength;
    }

    /// An inode: a file, directory, symlink or special file. Operations a kind does not
    /// support return the errno Linux gives for that kind. Directories know their name and
    /// parent (a directory has exactly one), which is what getcwd and /proc need; other
    /// inodes remember the name they were last linked under, for /proc/self/fd.
    /// What a file mapping (kernel/proc/UserMemory.cs) reads its pages from.
    public unsafe interface IFileBacking
    {
        long Size { get; }
        /// Physical page of file page `index` (copied up when `write`), or ulong.MaxValue.
        ulong PageFor(long index, bool write);
        SysResult ReadKernel(long offset, byte* dst, long len);
    }

    public abstract unsafe class Inode : IFileBacking
    {
        public ulong Ino;
        public uint Mode, Uid, Gid;
        public uint Nlink = 1;
        public ulong Rdev;
        public long AtimeSec, AtimeNsec, MtimeSec, MtimeNsec, CtimeSec, CtimeNsec;
        public FileSystem Fs;
        public Inode Parent;                 // directory this was last linked into
        public byte[] Name;                  // name in Parent
        public Inode MountedHere;            // root of a filesystem mounted on this directory
        public Inode MountPoint;             // for a filesystem root: the directory it covers
        public int OpenCount;                // open descriptions + mappings
        public InotifyWatch Watches;         // inotify watches on this inode (fs/Inotify.cs)

        public uint Type => Mode & FileMode.S_IFMT;
        public bool IsDir => Type == FileMode.S_IFDIR;
        public bool IsSymlink => Type == FileMode.S_IFLNK;
        public bool IsRegular => Type == FileMode.S_IFREG;

        public virtual long Size => 0;
        /// A "magic" link (procfs' /proc/self/fd/N, exe, cwd): the inode it stands for, which
        /// the path walk follows without reading a target path; null for every other inode.
        public virtual Inode MagicInode() => null;

        protected void InitCommon(FileSystem fs, uint mode)
        {
            Fs = fs; Ino = fs.NewIno(); Mode = mode;
            // Owned by its creator's filesystem ids (root for what the kernel makes itself).
            ThreadGroup creator = Scheduler.Current != null ? Scheduler.Current.Group : null;
            if (creator != null) { Uid = creator.Fsuid; Gid = creator.Fsgid; }
            Vfs.Now(out long s, out long ns);
            AtimeSec = MtimeSec = CtimeSec = s; AtimeNsec = MtimeNsec = CtimeNsec = ns;
        }

        public void TouchMtime() { Vfs.Now(out long s, out long ns); MtimeSec = CtimeSec = s; MtimeNsec = CtimeNsec = ns; }
        public void TouchCtime() { Vfs.Now(out long s, out long ns); CtimeSec = s; CtimeNsec = ns; }

        // ---- directories
        public virtual Errno Lookup(ReadOnlySpan<byte> name, out Inode child) { child = null; return Errno.ENOTDIR; }
        /// Creates a regular file, FIFO, device or socket node.
        public virtual Errno Mknod(ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child) { child = null; return IsDir ? Errno.EPERM : Errno.ENOTDIR; }
        public virtual Errno Mkdir(ReadOnlySpan<byte> name, uint mode, out Inode child) { child = null; return IsDir ? Errno.EPERM : Errno.ENOTDIR; }
        public virtual Errno Symlink(ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, out Inode child) { child = null; return IsDir ? Errno.EPERM : Errno.ENOTDIR; }
        public virtual Errno Link(ReadOnlySpan<byte> name, Inode target) => IsDir ? Errno.EPERM : Errno.ENOTDIR;
        /// Removes a name; `dir` says whether it is rmdir (then the entry must be an empty directory).
        public virtual Errno Unlink(ReadOnlySpan<byte> name, bool dir) => IsDir ? Errno.EPERM : Errno.ENOTDIR;
        /// Moves `oldName` of this directory to `newName` in `newDir` (same filesystem).
        public virtual Errno Rename(ReadOnlySpan<byte> oldName, Inode newDir, ReadOnlySpan<byte> newName, uint flags) => IsDir ? Errno.EPERM : Errno.ENOTDIR;
        /// The first entry at position >= cookie ("." and ".." excluded); cookie becomes the
        /// position after it. False at the end.
        public virtual bool ReadDir(ref long cookie, Span<byte> name, out DirEntryInfo e) { e = default; return false; }
        public virtual bool IsEmptyDir => true;

        // ---- symlinks
        /// The target of a symlink into `buf`; -1 when this is not a symlink.
        public virtual int ReadLink(Span<byte> buf) => -1;
        /// For /proc's magic links: the open file the link stands for (opening the link
        /// reopens its inode); null for ordinary symlinks.
        public virtual OpenFile MagicTarget() => null;

        // ---- data
        public virtual SysResult Read(long offset, UserPtr buf, ulong len) => IsDir ? Errno.EISDIR : Errno.EINVAL;
        public virtual SysResult Write(long offset, UserPtr buf, ulong len) => IsDir ? Errno.EISDIR : Errno.EINVAL;
        /// Reads into kernel memory (sendfile, copy_file_range, the ELF loader).
        public virtual SysResult ReadKernel(long offset, byte* dst, long len) => Errno.EINVAL;
        public virtual SysResult WriteKernel(long offset, byte* src, long len) => Errno.EINVAL;
        public virtual Errno Truncate(long size) => IsDir ? Errno.EISDIR : Errno.EINVAL;
        /// Physical page holding file page `index`, for mmap. `write`: the page will be
        /// written through a shared mapping (copy it up). ulong.MaxValue when unsupported.
        public virtual ulong PageFor(long index, bool write) => ulong.MaxValue;
        /// SEEK_DATA / SEEK_HOLE: the next data (or hole) offset at or after `offset`.
        public virtual long NextData(long offset, bool hole) => hole ? Size : offset;
        /// fallocate modes 0 and FALLOC_FL_KEEP_SIZE done by the filesystem; EOPNOTSUPP makes
        /// the caller write zeros instead.
        public virtual Errno Allocate(long offset, long len, bool keepSize) => Errno.EOPNOTSUPP;
        /// fsync/fdatasync: the file's data and inode on the device, the device's cache flushed.
        /// In-memory filesystems have nothing to do.
        public virtual Errno Sync(bool dataOnly) => 0;
        /// syncfs: everything of this inode's filesystem.
        public virtual Errno SyncFs() => 0;
        /// statfs figures of a filesystem that has its own (false: the caller's defaults).
        public virtual bool StatFs(ref Abi.Statfs s) => false;

        // ---- extended attributes (fs/Xattr.cs), by full name: the syscall layer has checked
        // the name, the value's size and the caller's permission. Filesystems that keep none
        // give EOPNOTSUPP (and list nothing); MemFs keeps them in the inode (XattrList).
        XattrList _xattrs;
        protected virtual bool KeepsXattrs => false;

        public virtual Errno GetXattr(ReadOnlySpan<byte> name, out byte[] value)
        {
            value = null;
            if (!KeepsXattrs) return Errno.EOPNOTSUPP;
            return _xattrs == null ? Errno.ENODATA : _xattrs.Get(name, out value);
        }
        /// flags: XATTR_CREATE (EEXIST if present), XATTR_REPLACE (ENODATA if missing).
        public virtual Errno SetXattr(ReadOnlySpan<byte> name, byte[] value, int flags)
        {
            if (!KeepsXattrs) return Errno.EOPNOTSUPP;
            if (_xattrs == null)
            {
                if ((flags & Xattr.XATTR_REPLACE) != 0) return Errno.ENODATA;
                _xattrs = new XattrList();
            }
            return _xattrs.Set(name, value, flags);
        }
        public virtual Errno RemoveXattr(ReadOnlySpan<byte> name)
        {
            if (!KeepsXattrs) return Errno.EOPNOTSUPP;
            return _xattrs == null ? Errno.ENODATA : _xattrs.Remove(name);
        }
        /// The names, each followed by a NUL (empty when there are none).
        public virtual Errno ListXattr(out byte[] names)
        {
            names = _xattrs != null ? _xattrs.List() : new byte[0];
            return 0;
        }

        /// Opens this inode: a new open file description.
        public virtual Errno Open(uint flags, out OpenFile file)
        {
            file = new InodeFile(this, flags);
            return 0;
        }

        /// The data pages were dropped (the last name and the last open are gone).
        protected virtual void Release() { }

        public void Opened() => OpenCount++;
        /// A file shrank to `size` bytes: mappings drop their pages past it (kernel/proc
        /// installs this; every process's mappings of the file).
        public static delegate*<Inode, long, void> Truncated;

        /// Tells the mappings of this file that it shrank to `size`.
        protected void ShrankTo(long size) { if (Truncated != null) Truncated(this, size); }

        /// The last open description and the last mapping are gone (the file may still have
        /// names): what was lent to mappings may be taken back.
        protected virtual void AllClosed() { }
        public void Closed()
        {
            if (--OpenCount != 0) return;
            AllClosed();
            if (Nlink != 0) return;
            if (Watches != null) Inotify.Gone(this);
            Release();
        }
        public void Unlinked() { if (Nlink > 0) Nlink--; TouchCtime(); if (Nlink == 0 && OpenCount == 0) Release(); }

        public void FillStat(ref Abi.Stat st)
        {
            st.Dev = Fs != null ? Fs.Dev : 0; st.Ino = Ino; st.Mode = Mode; st.Uid = Uid; st.Gid = Gid;
            st.Nlink = Nlink; st.Rdev = Rdev;
            st.Size = IsDir ? (Fs != null && Fs.Magic == Vfs.ProcMagic ? 0 : 4096) : Size;
            st.BlkSize = 4096;
            st.Blocks = IsDir ? 8 : Blocks();
            st.AtimeSec = AtimeSec; st.AtimeNsec = AtimeNsec;
            st.MtimeSec = MtimeSec; st.MtimeNsec = MtimeNsec;
            st.CtimeSec = CtimeSec; st.CtimeNsec = CtimeNsec;
        }

        /// 512-byte blocks allocated.
        public virtual long Blocks() => (Size + 511) / 512;
    }
}
