using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    /// Path-based calls over the image's root filesystem (read-only until the VFS lands).
    public static unsafe partial class Sys
    {
        const int PathMax = 4096;

        /// Reads a path argument; relative paths are against "/" (there is no chdir yet),
        /// and a dirfd other than AT_FDCWD is only accepted for absolute paths.
        static Errno ReadPath(ulong ptr, int dirfd, Span<byte> buf, out int len)
        {
            Errno e = new UserPtr(ptr).ReadCString(buf, out len);
            if (e != 0) return e;
            if (len == 0) return Errno.ENOENT;
            if (buf[0] != '/' && dirfd != AT_FDCWD)
            {
                OpenFile f = Files.Get(dirfd);
                if (f == null) return Errno.EBADF;
                if (!(f is ImageFile imf) || !imf.IsDirectory) return Errno.ENOTDIR;
                return Errno.ENOSYS;   // relative to a directory fd: needs the VFS (issue: files)
            }
            return 0;
        }

        static bool IsProcSelfExe(ReadOnlySpan<byte> p) => p.SequenceEqual("/proc/self/exe"u8);

        /// open(2)
        public static SysResult Open(SyscallArgs* a) => OpenAt(AT_FDCWD, a->A0, (int)a->A1);
        /// openat(2)
        public static SysResult Openat(SyscallArgs* a) => OpenAt((int)a->A0, a->A1, (int)a->A2);

        static SysResult OpenAt(int dirfd, ulong pathPtr, int flags)
        {
            Span<byte> path = stackalloc byte[PathMax];
            Errno e = ReadPath(pathPtr, dirfd, path, out int len);
            if (e != 0) return e;
            ReadOnlySpan<byte> p = path.Slice(0, len);
            if (IsProcSelfExe(p)) p = Process.Current.ExePath;
            e = ImageFs.Root.Lookup(p, (flags & O_NOFOLLOW) == 0, out uint entry);
            if (e != 0) return (flags & O_CREAT) != 0 && e == Errno.ENOENT ? Errno.EROFS : e;
            if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) return Errno.EEXIST;
            RootFsEntry re = ImageFs.Root.Entry(entry);
            if (RootFsFormat.IsSymlink(re.Mode)) return Errno.ELOOP;       // O_NOFOLLOW on a symlink
            bool dir = RootFsFormat.IsDir(re.Mode);
            if ((flags & O_DIRECTORY) != 0 && !dir) return Errno.ENOTDIR;
            if ((flags & O_ACCMODE) != 0 && dir) return Errno.EISDIR;
            if ((flags & O_ACCMODE) != 0 || (flags & O_TRUNC) != 0) return Errno.EROFS;
            var f = new ImageFile(entry) { StatusFlags = (uint)(flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)) };
            int fd = Files.Allocate(f, 0, (flags & O_CLOEXEC) != 0);
            return fd < 0 ? Errno.EMFILE : fd;
        }

        static SysResult StatAt(int dirfd, ulong pathPtr, ulong statPtr, int flags)
        {
            Stat st = default;
            if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800)) != 0) return Errno.EINVAL;
            Span<byte> path = stackalloc byte[PathMax];
            Errno e = new UserPtr(pathPtr).ReadCString(path, out int len);
            if (e != 0) return e;
            if (len == 0)
            {
                if ((flags & AT_EMPTY_PATH) == 0) return Errno.ENOENT;
                if (dirfd == AT_FDCWD) ImageFile.StatEntry(0, ref st);
                else
                {
                    OpenFile f = Files.Get(dirfd);
                    if (f == null) return Errno.EBADF;
                    f.Stat(ref st);
                }
            }
            else
            {
                e = ReadPath(pathPtr, dirfd, path, out len);
                if (e != 0) return e;
                ReadOnlySpan<byte> p = path.Slice(0, len);
                if (IsProcSelfExe(p)) p = Process.Current.ExePath;
                e = ImageFs.Root.Lookup(p, (flags & AT_SYMLINK_NOFOLLOW) == 0, out uint entry);
                if (e != 0) return e;
                ImageFile.StatEntry(entry, ref st);
            }
            return new UserRef<Stat>(statPtr).Write(st) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// stat(2)
        public static SysResult StatPath(SyscallArgs* a) => StatAt(AT_FDCWD, a->A0, a->A1, 0);
        /// lstat(2)
        public static SysResult LstatPath(SyscallArgs* a) => StatAt(AT_FDCWD, a->A0, a->A1, AT_SYMLINK_NOFOLLOW);
        /// newfstatat(2)
        public static SysResult Newfstatat(SyscallArgs* a) => StatAt((int)a->A0, a->A1, a->A2, (int)a->A3);

        static SysResult AccessAt(int dirfd, ulong pathPtr, int mode, int flags)
        {
            if ((mode & ~7) != 0) return Errno.EINVAL;
            Span<byte> path = stackalloc byte[PathMax];
            Errno e = ReadPath(pathPtr, dirfd, path, out int len);
            if (e != 0) return e;
            ReadOnlySpan<byte> p = path.Slice(0, len);
            if (IsProcSelfExe(p)) p = Process.Current.ExePath;
            e = ImageFs.Root.Lookup(p, (flags & AT_SYMLINK_NOFOLLOW) == 0, out uint entry);
            if (e != 0) return e;
            if ((mode & 2) != 0) return Errno.EROFS;
            RootFsEntry re = ImageFs.Root.Entry(entry);
            if ((mode & 1) != 0 && (re.Mode & 0x49) == 0) return Errno.EACCES;   // root needs one x bit
            return SysResult.Ok;
        }

        /// access(2)
        public static SysResult Access(SyscallArgs* a) => AccessAt(AT_FDCWD, a->A0, (int)a->A1, 0);
        /// faccessat(2)
        public static SysResult Faccessat(SyscallArgs* a) => AccessAt((int)a->A0, a->A1, (int)a->A2, 0);
        /// faccessat2(2)
        public static SysResult Faccessat2(SyscallArgs* a) => AccessAt((int)a->A0, a->A1, (int)a->A2, (int)a->A3);

        /// readlink(2)
        public static SysResult Readlink(SyscallArgs* a) => ReadlinkAt(AT_FDCWD, a->A0, a->A1, a->A2);
        /// readlinkat(2)
        public static SysResult Readlinkat(SyscallArgs* a) => ReadlinkAt((int)a->A0, a->A1, a->A2, a->A3);

        static SysResult ReadlinkAt(int dirfd, ulong pathPtr, ulong buf, ulong size)
        {
            if ((long)size <= 0) return Errno.EINVAL;
            Span<byte> path = stackalloc byte[PathMax];
            Errno e = ReadPath(pathPtr, dirfd, path, out int len);
            if (e != 0) return e;
            ReadOnlySpan<byte> p = path.Slice(0, len);
            ReadOnlySpan<byte> target;
            if (IsProcSelfExe(p)) target = Process.Current.ExePath;
            else
            {
                e = ImageFs.Root.Lookup(p, false, out uint entry);
                if (e != 0) return e;
                if (!RootFsFormat.IsSymlink(ImageFs.Root.Entry(entry).Mode)) return Errno.EINVAL;
                target = ImageFs.Root.Data(entry);
            }
            int n = target.Length < (int)Math.Min(size, 1UL << 30) ? target.Length : (int)size;
            return new UserPtr(buf).CopyOut(target.Slice(0, n)) == 0 ? (SysResult)n : Errno.EFAULT;
        }

        /// getcwd(2): the working directory is always "/" until chdir exists.
        public static SysResult Getcwd(SyscallArgs* a)
        {
            if (a->A1 < 2) return Errno.ERANGE;
            byte* root = stackalloc byte[2];
            root[0] = (byte)'/'; root[1] = 0;
            return new UserPtr(a->A0).CopyOut(root, 2) == 0 ? (SysResult)2 : Errno.EFAULT;
        }
    }
}
