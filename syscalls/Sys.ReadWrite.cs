using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
        const int O_ACCMODE = 3, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200,
            O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000;

        static FdTable Files => Process.Current.Files;

        /// read(2)
        public static SysResult Read(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null || (f.StatusFlags & O_ACCMODE) == O_WRONLY) return Errno.EBADF;
            if ((long)a->A2 < 0) return Errno.EINVAL;
            return f.Read(new UserPtr(a->A1), a->A2);
        }

        /// write(2)
        public static SysResult Write(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null || (f.StatusFlags & O_ACCMODE) == 0) return Errno.EBADF;
            if ((long)a->A2 < 0) return Errno.EINVAL;
            return f.Write(new UserPtr(a->A1), a->A2);
        }

        /// pread64(2)
        public static SysResult Pread(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null || (f.StatusFlags & O_ACCMODE) == O_WRONLY) return Errno.EBADF;
            if ((long)a->A3 < 0) return Errno.EINVAL;
            return f.ReadAt(new UserPtr(a->A1), a->A2, (long)a->A3);
        }

        /// pwrite64(2)
        public static SysResult Pwrite(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null || (f.StatusFlags & O_ACCMODE) == 0) return Errno.EBADF;
            if ((long)a->A3 < 0) return Errno.EINVAL;
            return f.WriteAt(new UserPtr(a->A1), a->A2, (long)a->A3);
        }

        /// readv(2)
        public static SysResult Readv(SyscallArgs* a) => Vectored(a, false);
        /// writev(2)
        public static SysResult Writev(SyscallArgs* a) => Vectored(a, true);

        static SysResult Vectored(SyscallArgs* a, bool write)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null) return Errno.EBADF;
            if (write ? (f.StatusFlags & O_ACCMODE) == 0 : (f.StatusFlags & O_ACCMODE) == O_WRONLY) return Errno.EBADF;
            long count = (long)a->A2;
            if (count < 0 || count > 1024) return Errno.EINVAL;
            var iovs = new UserPtr(a->A1);
            // Validate every vector first, as Linux does: a bad iovec array is EFAULT, an
            // overflowing total is EINVAL, before any data moves.
            ulong total = 0;
            for (long i = 0; i < count; i++)
            {
                Iovec v;
                if (iovs.Add((ulong)i * 16).CopyIn(&v, 16) != 0) return Errno.EFAULT;
                if ((long)v.Len < 0 || total + v.Len > 0x7ffff000) return Errno.EINVAL;
                total += v.Len;
            }
            long done = 0;
            for (long i = 0; i < count; i++)
            {
                Iovec v;
                iovs.Add((ulong)i * 16).CopyIn(&v, 16);
                if (v.Len == 0) continue;
                SysResult r = write ? f.Write(new UserPtr(v.Base), v.Len) : f.Read(new UserPtr(v.Base), v.Len);
                if (r.IsError) return done > 0 ? (SysResult)done : r;
                done += r.Raw;
                if ((ulong)r.Raw < v.Len) break;
            }
            return done;
        }

        /// lseek(2)
        public static SysResult Lseek(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null) return Errno.EBADF;
            if (a->A2 > 4) return Errno.EINVAL;
            return f.Seek((long)a->A1, (int)a->A2);
        }

        /// close(2)
        public static SysResult Close(SyscallArgs* a) => Files.Close((int)a->A0) ? SysResult.Ok : Errno.EBADF;

        /// dup(2)
        public static SysResult Dup(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null) return Errno.EBADF;
            int fd = Files.Allocate(f, 0, false);
            if (fd < 0) return Errno.EMFILE;
            f.AddRef();
            return fd;
        }

        /// dup2(2)
        public static SysResult Dup2(SyscallArgs* a)
        {
            int oldfd = (int)a->A0, newfd = (int)a->A1;
            OpenFile f = Files.Get(oldfd);
            if (f == null) return Errno.EBADF;
            if (oldfd == newfd) return newfd;
            if ((uint)newfd >= FdTable.Max) return Errno.EBADF;
            f.AddRef();
            Files.Install(newfd, f, false);
            return newfd;
        }

        /// dup3(2)
        public static SysResult Dup3(SyscallArgs* a)
        {
            int oldfd = (int)a->A0, newfd = (int)a->A1, flags = (int)a->A2;
            if ((flags & ~O_CLOEXEC) != 0) return Errno.EINVAL;
            OpenFile f = Files.Get(oldfd);
            if (f == null) return Errno.EBADF;
            if (oldfd == newfd) return Errno.EINVAL;
            if ((uint)newfd >= FdTable.Max) return Errno.EBADF;
            f.AddRef();
            Files.Install(newfd, f, (flags & O_CLOEXEC) != 0);
            return newfd;
        }

        /// fcntl(2)
        public static SysResult Fcntl(SyscallArgs* a)
        {
            int fd = (int)a->A0, cmd = (int)a->A1;
            OpenFile f = Files.Get(fd);
            if (f == null) return Errno.EBADF;
            switch (cmd)
            {
                case 0: case 1030:   // F_DUPFD, F_DUPFD_CLOEXEC
                    {
                        if ((long)a->A2 < 0 || a->A2 >= FdTable.Max) return Errno.EINVAL;
                        int nfd = Files.Allocate(f, (int)a->A2, cmd == 1030);
                        if (nfd < 0) return Errno.EMFILE;
                        f.AddRef();
                        return nfd;
                    }
                case 1: return Files.CloseOnExec(fd) ? 1 : 0;                              // F_GETFD
                case 2: Files.SetCloseOnExec(fd, (a->A2 & 1) != 0); return SysResult.Ok;   // F_SETFD
                case 3: return f.StatusFlags;                                                // F_GETFL
                case 4:                                                                      // F_SETFL
                    f.StatusFlags = (f.StatusFlags & ~(uint)(O_APPEND | O_NONBLOCK)) | ((uint)a->A2 & (uint)(O_APPEND | O_NONBLOCK));
                    return SysResult.Ok;
                default: return Errno.EINVAL;
            }
        }

        /// ioctl(2)
        public static SysResult Ioctl(SyscallArgs* a)
        {
            int fd = (int)a->A0;
            uint request = (uint)a->A1;
            OpenFile f = Files.Get(fd);
            if (f == null) return Errno.EBADF;
            if (request == Abi.Ioctl.FIOCLEX) { Files.SetCloseOnExec(fd, true); return SysResult.Ok; }
            if (request == Abi.Ioctl.FIONCLEX) { Files.SetCloseOnExec(fd, false); return SysResult.Ok; }
            return f.Ioctl(request, a->A2);
        }

        /// fstat(2)
        public static SysResult Fstat(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f == null) return Errno.EBADF;
            Stat st = default;
            f.Stat(ref st);
            return new UserRef<Stat>(a->A1).Write(st) == 0 ? SysResult.Ok : Errno.EFAULT;
        }
    }
}
