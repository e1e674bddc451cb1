using System;
using Kernel.Abi;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Fs
{
    /// An open file description over an inode of the VFS (regular file, directory,
    /// symlink opened with O_PATH).
    public sealed unsafe class InodeFile : OpenFile
    {
        readonly Inode _inode;
        public InodeFile(Inode inode, uint flags)
        {
            _inode = inode;
            StatusFlags = flags;
            inode.Opened();
        }

        public override Inode Inode => _inode;
        public override bool IsPath => (StatusFlags & O_PATH) != 0;
        public override bool Positional => true;
        protected override void Closed() => _inode.Closed();

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (IsPath) return Errno.EBADF;
            SysResult r = _inode.Read(Offset, buffer, length);
            if (!r.IsError) Offset += r.Raw;
            return r;
        }

        /// The caller's RLIMIT_FSIZE (the process layer's), and what exceeding it does (SIGXFSZ).
        public static delegate*<ulong> FileSizeLimit;
        public static delegate*<void> FileTooBig;

        /// RLIMIT_FSIZE for a write of `length` bytes at `offset` to a regular file, as Linux's
        /// generic_write_check_limits: the bytes allowed, or EFBIG (and SIGXFSZ) when the write
        /// starts at or past the limit.
        public static SysResult CheckFileSize(Inode n, long offset, ulong length)
        {
            if (!n.IsRegular || FileSizeLimit == null || length == 0) return (long)length;
            ulong limit = FileSizeLimit();
            if (limit == ulong.MaxValue) return (long)length;
            if ((ulong)offset >= limit) { if (FileTooBig != null) FileTooBig(); return Errno.EFBIG; }
            return (long)(length < limit - (ulong)offset ? length : limit - (ulong)offset);
        }

        public override SysResult Write(UserPtr buffer, ulong length)
        {
            if (IsPath) return Errno.EBADF;
            if ((StatusFlags & O_APPEND) != 0) Offset = _inode.Size;
            SysResult allowed = CheckFileSize(_inode, Offset, length);
            if (allowed.IsError) return allowed;
            SysResult r = _inode.Write(Offset, buffer, (ulong)allowed.Raw);
            if (!r.IsError) Offset += r.Raw;
            return SyncIfAsked(r);
        }

        /// O_SYNC / O_DSYNC: a write is on the device (cache flushed) when it returns.
        SysResult SyncIfAsked(SysResult r)
        {
            if (r.IsError || r.Raw == 0 || (StatusFlags & O_DSYNC) == 0) return r;
            Errno e = _inode.Sync(true);
            return e != 0 ? (SysResult)e : r;
        }

        public override SysResult ReadAt(UserPtr buffer, ulong length, long offset)
        {
            if (IsPath) return Errno.EBADF;
            if (_inode.Type == FileMode.S_IFCHR) return _inode.Read(offset, buffer, length);
            if (!_inode.IsRegular) return _inode.IsDir ? Errno.EISDIR : Errno.EINVAL;
            return _inode.Read(offset, buffer, length);
        }

        public override SysResult WriteAt(UserPtr buffer, ulong length, long offset)
        {
            if (IsPath) return Errno.EBADF;
            if (!_inode.IsRegular && _inode.Type != FileMode.S_IFCHR) return _inode.IsDir ? Errno.EISDIR : Errno.EINVAL;
            // Linux: with O_APPEND, pwrite appends whatever the offset.
            if ((StatusFlags & O_APPEND) != 0) offset = _inode.Size;
            SysResult allowed = CheckFileSize(_inode, offset, length);
            if (allowed.IsError) return allowed;
            return SyncIfAsked(_inode.Write(offset, buffer, (ulong)allowed.Raw));
        }

        public override SysResult ReadKernelAt(byte* dst, long len, long offset)
        {
            if (IsPath) return Errno.EBADF;
            if (_inode.IsDir) return Errno.EISDIR;
            return _inode.ReadKernel(offset, dst, len);
        }

        public override SysResult WriteKernel(byte* src, long len)
        {
            if (IsPath) return Errno.EBADF;
            if (_inode.IsDir) return Errno.EISDIR;
            if ((StatusFlags & O_APPEND) != 0) Offset = _inode.Size;
            SysResult allowed = CheckFileSize(_inode, Offset, (ulong)len);
            if (allowed.IsError) return allowed;
            SysResult r = _inode.WriteKernel(Offset, src, allowed.Raw);
            if (r.Raw > 0) Offset += r.Raw;
            return r;
        }

        public override SysResult Seek(long offset, int whence)
        {
            if (IsPath) return Errno.EBADF;
            long size = _inode.Size, pos;
            switch (whence)
            {
                case 0: pos = offset; break;
                case 1: pos = Offset + offset; break;
                case 2: pos = size + offset; break;
                case 3:
                case 4:
                    if (offset < 0 || offset >= size) return Errno.ENXIO;
                    pos = _inode.NextData(offset, whence == 4);
                    if (pos < 0) return Errno.ENXIO;
                    break;
                default: return Errno.EINVAL;
            }
            if (pos < 0) return Errno.EINVAL;
            Offset = pos;
            return pos;
        }

        public override SysResult Readable()
        {
            if (!_inode.IsRegular) return Errno.ENOTTY;
            long n = _inode.Size - Offset;
            return n > 0 ? n : 0;
        }

        /// getdents64: "." and ".." first (positions 0 and 1), then the inode's entries.
        /// The file offset is the position of the next entry.
        public override SysResult ReadDir(UserPtr buf, ulong len)
        {
            if (IsPath) return Errno.EBADF;
            if (!_inode.IsDir) return Errno.ENOTDIR;
            if (_inode.Nlink == 0) return 0;             // removed directory reads as empty
            byte* rec = stackalloc byte[280];
            var name = new Span<byte>(rec + LinuxDirent64.NameOffset, 256);
            ulong done = 0;
            while (true)
            {
                long cookie = Offset;
                DirEntryInfo e;
                if (cookie == 0) { e = new DirEntryInfo { Ino = _inode.Ino, Type = 4, NameLength = 1 }; name[0] = (byte)'.'; cookie = 1; }
                else if (cookie == 1)
                {
                    Inode p = Vfs.ParentOf(_inode);
                    e = new DirEntryInfo { Ino = p.Ino, Type = 4, NameLength = 2 }; name[0] = (byte)'.'; name[1] = (byte)'.'; cookie = 2;
                }
                else if (!_inode.ReadDir(ref cookie, name, out e)) break;
                int reclen = (LinuxDirent64.NameOffset + e.NameLength + 1 + 7) & ~7;
                if (done + (ulong)reclen > len) { if (done == 0) return Errno.EINVAL; break; }
                *(LinuxDirent64*)rec = new LinuxDirent64 { Ino = e.Ino, Off = cookie, Reclen = (ushort)reclen, Type = e.Type };
                for (int k = LinuxDirent64.NameOffset + e.NameLength; k < reclen; k++) rec[k] = 0;
                if (buf.Add(done).CopyOut(rec, (ulong)reclen) != 0) return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                done += (ulong)reclen;
                Offset = cookie;
            }
            return (long)done;
        }
    }
}
