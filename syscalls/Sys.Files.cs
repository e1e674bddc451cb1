using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Memory;
using Kernel.Proc;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Syscalls
{
    /// Descriptor-level calls beyond read/write: directories, locks, sync, space, copies,
    /// pipes and memfd.
    public static unsafe partial class Sys
    {
        /// getdents64(2)
        public static SysResult Getdents64(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            ulong len = a->A2;
            if (len > 0x7ffff000) len = 0x7ffff000;
            SysResult r = f.ReadDir(new UserPtr(a->A1), len);
            if (Inotify.Active && !r.IsError) Inotify.Accessed(f);        // even at the end, as Linux
            return r;
        }

        /// close_range(2)
        public static SysResult CloseRange(SyscallArgs* a)
        {
            uint first = (uint)a->A0, last = (uint)a->A1, flags = (uint)a->A2;
            const uint UNSHARE = 2, CLOEXEC = 4;
            if ((flags & ~(UNSHARE | CLOEXEC)) != 0 || first > last) return Errno.EINVAL;
            for (ulong fd = first; fd <= last && fd < (ulong)Files.Size; fd++)
            {
                if (Files.Get((int)fd) == null) continue;
                if ((flags & CLOEXEC) != 0) Files.SetCloseOnExec((int)fd, true);
                else Files.Close((int)fd);
            }
            return SysResult.Ok;
        }

        /// fcntl's record locks: POSIX locks belong to the calling process, OFD locks to the
        /// open description; either kind conflicts with the other owners' (F_GETLK names a
        /// POSIX holder's pid, -1 for an OFD lock).
        static SysResult PosixLock(OpenFile f, int cmd, ulong arg, bool ofd)
        {
            if (f.IsPath) return Errno.EBADF;
            if (new UserRef<Flock>(arg).Read(out Flock fl) != 0) return Errno.EFAULT;
            short type = fl.Type, whence = fl.Whence;
            long start = fl.Start, len = fl.Len;
            int pid = fl.Pid;
            if (type < 0 || type > 2) return Errno.EINVAL;
            if (ofd && pid != 0) return Errno.EINVAL;
            long basePos;
            switch (whence)
            {
                case 0: basePos = 0; break;
                case 1: basePos = f.Offset; break;
                case 2: basePos = f.Inode != null ? f.Inode.Size : 0; break;
                default: return Errno.EINVAL;
            }
            long s = basePos + start, e;
            if (len > 0) e = s + len - 1;
            else if (len == 0) e = long.MaxValue;
            else { e = s - 1; s += len; }
            if (s < 0) return Errno.EINVAL;
            bool get = cmd == 5 || cmd == 36;
            if (get)
            {
                if (type == FileLocks.F_UNLCK) return Errno.EINVAL;
                if (f.Inode != null && FileLocks.Test(ofd ? f : Cur, f.Inode, s, e, type, out int ct, out long cs, out long ce, out int cpid))
                {
                    fl.Type = (short)ct; fl.Whence = 0;
                    fl.Start = cs; fl.Len = ce == long.MaxValue ? 0 : ce - cs + 1;
                    fl.Pid = cpid;
                }
                else fl.Type = FileLocks.F_UNLCK;
                return new UserRef<Flock>(arg).Write(fl) == 0 ? SysResult.Ok : Errno.EFAULT;
            }
            uint acc = f.StatusFlags & O_ACCMODE;
            if (type == FileLocks.F_RDLCK && acc == O_WRONLY) return Errno.EBADF;
            if (type == FileLocks.F_WRLCK && acc == 0) return Errno.EBADF;
            if (f.Inode == null) return SysResult.Ok;
            object owner = ofd ? f : Cur;
            int holder = ofd ? -1 : Cur.Pid;
            Errno r = cmd == 38 || cmd == 7 ? FileLocks.SetWait(owner, f.Inode, false, s, e, type, holder)    // F_OFD_SETLKW, F_SETLKW
                                            : FileLocks.Set(owner, f.Inode, false, s, e, type, holder);
            return r != 0 ? r : SysResult.Ok;
        }

        /// flock(2)
        public static SysResult Flock(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            int op = (int)a->A1;
            const int SH = 1, EX = 2, NB = 4, UN = 8;
            int kind = op & ~NB;
            int type = kind == SH ? FileLocks.F_RDLCK : kind == EX ? FileLocks.F_WRLCK : kind == UN ? FileLocks.F_UNLCK : -1;
            if (type < 0) return Errno.EINVAL;
            if (f.Inode == null) return SysResult.Ok;
            Errno r = (op & NB) != 0 ? FileLocks.Set(f, f.Inode, true, 0, long.MaxValue, type)
                                     : FileLocks.SetWait(f, f.Inode, true, 0, long.MaxValue, type);
            if (r == Errno.ERESTARTSYS) return r;
            return r != 0 ? (SysResult)Errno.EWOULDBLOCK : SysResult.Ok;
        }

        /// fsync(2), fdatasync(2): tmpfs files live in memory; a block device gets a flush; an
        /// ext4 file's inode is written and the journal committed (its data is written through
        /// before the commit), or the device flushed on a volume without a journal.
        public static SysResult Fsync(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (f is BlockDeviceFile disk) return disk.Flush();
            if (!(f is InodeFile || f is ProcFileHandle)) return Errno.EINVAL;
            Errno e = f.Inode != null ? f.Inode.Sync(false) : 0;
            return e != 0 ? (SysResult)e : SysResult.Ok;
        }

        /// sync(2): every mounted volume written back and flushed.
        public static SysResult SyncCall(SyscallArgs* a)
        {
            Ext4Mount.SyncAll();
            return SysResult.Ok;
        }

        /// syncfs(2)
        public static SysResult Syncfs(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            Errno e = f.Inode != null ? f.Inode.SyncFs() : 0;
            return e != 0 ? (SysResult)e : SysResult.Ok;
        }

        /// sync_file_range(2)
        public static SysResult SyncFileRange(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if ((a->A3 & ~7UL) != 0 || (long)a->A1 < 0 || (long)a->A2 < 0) return Errno.EINVAL;
            if (f.Inode == null || !(f.Inode.IsRegular || f.Inode.IsDir)) return Errno.ESPIPE;
            return SysResult.Ok;
        }

        /// fallocate(2)
        public static SysResult Fallocate(SyscallArgs* a)
        {
            SysResult r = FallocateCore(a);
            if (Inotify.Active && r.Raw == 0) Inotify.Modified(Fd((int)a->A0));     // IN_MODIFY, as Linux
            return r;
        }

        static SysResult FallocateCore(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            int mode = (int)a->A1;
            long off = (long)a->A2, len = (long)a->A3;
            const int KEEP_SIZE = 1, PUNCH_HOLE = 2, ZERO_RANGE = 0x10;
            if (f == null || f.IsPath) return Errno.EBADF;
            if (off < 0 || len <= 0) return Errno.EINVAL;
            if ((f.StatusFlags & O_ACCMODE) == 0) return Errno.EBADF;
            if ((mode & ~(KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE)) != 0) return Errno.EOPNOTSUPP;
            if ((mode & PUNCH_HOLE) != 0 && (mode & KEEP_SIZE) == 0) return Errno.EOPNOTSUPP;
            Inode n = f.Inode;
            if (n == null || f is PipeEnd) return Errno.ESPIPE;
            if (n.IsDir) return Errno.EISDIR;
            if (!n.IsRegular) return Errno.ENODEV;
            if (off + len < off || off + len > MemFile.MaxSize) return Errno.EFBIG;
            if ((mode & KEEP_SIZE) == 0) { Errno fe = GrowthAllowed(n, off + len); if (fe != 0) return fe; }
            long size = n.Size;
            if ((mode & (PUNCH_HOLE | ZERO_RANGE)) == 0)
            {
                Errno ae = n.Allocate(off, len, (mode & KEEP_SIZE) != 0);
                if (ae != Errno.EOPNOTSUPP) return ae != 0 ? (SysResult)ae : SysResult.Ok;
            }
            if ((mode & (PUNCH_HOLE | ZERO_RANGE)) != 0)
            {
                // Zero the range (tmpfs frees whole pages of a hole; here they stay allocated).
                long end = off + len < size ? off + len : size;
                byte* zero = stackalloc byte[512];
                for (int i = 0; i < 512; i++) zero[i] = 0;
                for (long p = off; p < end; p += 512)
                {
                    long k = end - p < 512 ? end - p : 512;
                    n.WriteKernel(p, zero, k);
                }
                if ((mode & KEEP_SIZE) == 0 && off + len > n.Size) n.Truncate(off + len);
                return SysResult.Ok;
            }
            if ((mode & KEEP_SIZE) == 0 && off + len > size) return n.Truncate(off + len);
            return SysResult.Ok;
        }

        /// fadvise64(2): advice is accepted (no page cache to steer).
        public static SysResult Fadvise64(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (f is PipeEnd) return Errno.ESPIPE;
            if (a->A3 > 5 || (long)a->A2 < 0) return Errno.EINVAL;
            return SysResult.Ok;
        }

        const int CopyChunk = 65536;

        /// Copies up to `count` bytes from `src` (at *offset, or its file position) to `dst`.
        static SysResult CopyBetween(OpenFile src, OpenFile dst, long* offset, long dstOffset, ulong count)
        {
            byte* buf = (byte*)Heap.Alloc(CopyChunk);
            long done = 0;
            long pos = offset != null ? *offset : src.Offset;
            SysResult result = SysResult.Ok;
            while ((ulong)done < count)
            {
                long want = (long)(count - (ulong)done) < CopyChunk ? (long)(count - (ulong)done) : CopyChunk;
                SysResult r = src.ReadKernelAt(buf, want, pos);
                if (r.IsError) { result = r; break; }
                long got = r.Raw;
                if (got == 0) break;
                r = dstOffset >= 0 ? dst.Inode.WriteKernel(dstOffset + done, buf, got) : dst.WriteKernel(buf, got);
                if (r.IsError) { result = r; break; }
                long put = r.Raw;
                pos += put; done += put;
                if (put < got) break;
            }
            Heap.Free(buf, CopyChunk);
            if (offset != null) *offset = pos; else src.Offset = pos;
            if (done > 0 && Inotify.Active) { Inotify.Accessed(src); Inotify.Modified(dst); }
            if (done == 0 && result.IsError) return result;
            return done;
        }

        /// sendfile(2)
        public static SysResult Sendfile(SyscallArgs* a)
        {
            OpenFile outF = Fd((int)a->A0), inF = Fd((int)a->A1);
            if (outF == null || inF == null || inF.IsPath || outF.IsPath) return Errno.EBADF;
            if ((inF.StatusFlags & O_ACCMODE) == O_WRONLY || (outF.StatusFlags & O_ACCMODE) == 0) return Errno.EBADF;
            if (!(inF is InodeFile) || !inF.Inode.IsRegular && inF.Inode.Type != FileMode.S_IFCHR) return Errno.EINVAL;
            if ((outF.StatusFlags & O_APPEND) != 0 && outF is InodeFile) return Errno.EINVAL;
            long off = 0;
            bool haveOff = a->A2 != 0;
            if (haveOff)
            {
                if (new UserPtr(a->A2).CopyIn(&off, 8) != 0) return Errno.EFAULT;
                if (off < 0) return Errno.EINVAL;
            }
            ulong count = a->A3 > 0x7ffff000 ? 0x7ffff000 : a->A3;
            SysResult r = CopyBetween(inF, outF, haveOff ? &off : null, -1, count);
            if (haveOff && new UserPtr(a->A2).CopyOut(&off, 8) != 0) return Errno.EFAULT;
            return r;
        }

        /// copy_file_range(2)
        public static SysResult CopyFileRange(SyscallArgs* a)
        {
            OpenFile inF = Fd((int)a->A0), outF = Fd((int)a->A2);
            if (a->A5 != 0) return Errno.EINVAL;
            if (inF == null || outF == null || inF.IsPath || outF.IsPath) return Errno.EBADF;
            if ((inF.StatusFlags & O_ACCMODE) == O_WRONLY || (outF.StatusFlags & O_ACCMODE) == 0) return Errno.EBADF;
            if ((outF.StatusFlags & O_APPEND) != 0) return Errno.EBADF;
            Inode ni = inF.Inode, no = outF.Inode;
            if (ni == null || no == null) return Errno.EINVAL;
            if (ni.IsDir || no.IsDir) return Errno.EISDIR;
            if (!ni.IsRegular || !no.IsRegular) return Errno.EINVAL;
            long inOff = 0, outOff = 0;
            if (a->A1 != 0) { if (new UserPtr(a->A1).CopyIn(&inOff, 8) != 0) return Errno.EFAULT; if (inOff < 0) return Errno.EINVAL; }
            if (a->A3 != 0) { if (new UserPtr(a->A3).CopyIn(&outOff, 8) != 0) return Errno.EFAULT; if (outOff < 0) return Errno.EINVAL; }
            else outOff = outF.Offset;
            long startIn = a->A1 != 0 ? inOff : inF.Offset;
            ulong count = a->A4 > 0x7ffff000 ? 0x7ffff000 : a->A4;
            if (ni == no && count > 0 && startIn < outOff + (long)count && outOff < startIn + (long)count) return Errno.EINVAL;
            SysResult r = CopyBetween(inF, outF, a->A1 != 0 ? &inOff : null, outOff, count);
            if (r.IsError) return r;
            if (a->A1 != 0 && new UserPtr(a->A1).CopyOut(&inOff, 8) != 0) return Errno.EFAULT;
            outOff += r.Raw;
            if (a->A3 != 0) { if (new UserPtr(a->A3).CopyOut(&outOff, 8) != 0) return Errno.EFAULT; }
            else outF.Offset = outOff;
            return r;
        }

        /// pipe(2)
        public static SysResult PipeCall(SyscallArgs* a) => MakePipe(a->A0, 0);
        /// pipe2(2)
        public static SysResult Pipe2(SyscallArgs* a) => MakePipe(a->A0, (int)a->A1);

        static SysResult MakePipe(ulong fdsPtr, int flags)
        {
            const int O_DIRECT_ = 0x4000, O_NOTIFICATION_PIPE = 0x80;
            if ((flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT_ | O_NOTIFICATION_PIPE)) != 0) return Errno.EINVAL;
            if ((flags & O_NOTIFICATION_PIPE) != 0) return Errno.ENOPKG;
            var p = new Pipe();
            uint st = (uint)(flags & (O_NONBLOCK | O_DIRECT_));
            var r = new PipeEnd(p, false, st);
            var w = new PipeEnd(p, true, st | 1);
            bool cloexec = (flags & O_CLOEXEC) != 0;
            int rfd = Files.Allocate(r, 0, cloexec);
            if (rfd < 0) { r.Release(); w.Release(); return Errno.EMFILE; }
            int wfd = Files.Allocate(w, 0, cloexec);
            if (wfd < 0) { Files.Close(rfd); w.Release(); return Errno.EMFILE; }
            int* fds = stackalloc int[2];
            fds[0] = rfd; fds[1] = wfd;
            if (new UserPtr(fdsPtr).CopyOut(fds, 8) != 0) { Files.Close(rfd); Files.Close(wfd); return Errno.EFAULT; }
            return SysResult.Ok;
        }

        /// memfd_create(2)
        public static SysResult MemfdCreate(SyscallArgs* a)
        {
            uint flags = (uint)a->A1;
            const uint CLOEXEC = 1, ALLOW_SEALING = 2, HUGETLB = 4, NOEXEC_SEAL = 8, EXEC = 0x10;
            if ((flags & ~(CLOEXEC | ALLOW_SEALING | HUGETLB | NOEXEC_SEAL | EXEC)) != 0) return Errno.EINVAL;
            if ((flags & HUGETLB) != 0) return Errno.EINVAL;
            Span<byte> name = stackalloc byte[256];
            Errno e = new UserPtr(a->A0).ReadCString(name, out int nl);
            if (e == Errno.ENAMETOOLONG || nl > 249) return Errno.EINVAL;
            if (e != 0) return e;
            var f = new MemFile(Vfs.TmpFs, FileMode.S_IFREG | 0x1ff);
            f.Nlink = 0;
            f.Parent = Vfs.Root;
            var full = new byte[6 + nl];
            "memfd:"u8.CopyTo(full);
            for (int i = 0; i < nl; i++) full[6 + i] = name[i];
            f.Name = full;
            e = f.Open(O_RDWR | O_LARGEFILE, out OpenFile file);
            if (e != 0) return e;
            return Install(file, (flags & CLOEXEC) != 0);
        }
    }
}
