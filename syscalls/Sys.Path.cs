using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Proc;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Syscalls
{
    /// Path-based calls over the VFS (fs/Vfs.cs): open, stat, directories, names, links,
    /// attributes. Permissions are checked against the caller's filesystem ids (fs/Permission.cs):
    /// search on the walk (fs/Vfs.cs), then what each call needs here.
    public static unsafe partial class Sys
    {
        const int PathMax = Vfs.PathMax;
        const int AT_REMOVEDIR = 0x200, AT_SYMLINK_FOLLOW = 0x400, AT_NO_AUTOMOUNT = 0x800, AT_EACCESS = 0x200;

        static FsContext Ctx => Cur.Fs;

        /// The directory a relative path starts from: the cwd or the directory behind dirfd.
        static Errno StartDir(int dirfd, out Inode start)
        {
            start = null;
            if (dirfd == AT_FDCWD) { start = Ctx.Cwd; return 0; }
            OpenFile f = Fd(dirfd);
            if (f == null) return Errno.EBADF;
            Inode n = f.Inode;
            if (n == null || !n.IsDir) return Errno.ENOTDIR;
            start = n;
            return 0;
        }

        /// Reads and resolves a path argument. `emptyOk`: an empty path means dirfd itself
        /// (AT_EMPTY_PATH); then node is its inode (any kind of file) and nameLen is 0.
        static Errno Walk(int dirfd, ulong pathPtr, bool follow, bool emptyOk, Span<byte> path, Span<byte> tmp,
            out Inode dir, out Inode node, out int nameStart, out int nameLen, out bool trailing, bool keepLast = false,
            bool realIds = false)
        {
            dir = null; node = null; nameStart = 0; nameLen = 0; trailing = false;
            Errno e = new UserPtr(pathPtr).ReadCString(path, out int len);
            if (e != 0) return e;
            if (len == 0)
            {
                if (!emptyOk) return Errno.ENOENT;
                if (dirfd == AT_FDCWD) { node = Ctx.Cwd; dir = Vfs.ParentOf(node); return 0; }
                OpenFile f = Fd(dirfd);
                if (f == null) return Errno.EBADF;
                node = f.Inode;
                if (node == null) return Errno.ENOENT;
                dir = node.Parent;
                return 0;
            }
            Inode start = Vfs.Root;
            if (path[0] != '/') { e = StartDir(dirfd, out start); if (e != 0) return e; }
            return Vfs.Resolve(start, path, len, tmp, follow, out dir, out node, out nameStart, out nameLen, out trailing, keepLast, realIds);
        }

        static Errno WalkExisting(int dirfd, ulong pathPtr, bool follow, bool emptyOk, out Inode node, bool realIds = false)
        {
            Span<byte> path = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            Errno e = Walk(dirfd, pathPtr, follow, emptyOk, path, tmp, out _, out node, out _, out _, out _, realIds: realIds);
            if (e != 0) return e;
            return node == null ? Errno.ENOENT : 0;
        }

        static bool IsDot(ReadOnlySpan<byte> n) => n.Length == 1 && n[0] == '.';
        static bool IsDotDot(ReadOnlySpan<byte> n) => n.Length == 2 && n[0] == '.' && n[1] == '.';

        static SysResult Install(OpenFile f, bool cloexec)
        {
            int fd = Files.Allocate(f, 0, cloexec);
            if (fd < 0) { f.Release(); return Errno.EMFILE; }
            return fd;
        }

        /// open(2)
        public static SysResult Open(SyscallArgs* a) => OpenAt(AT_FDCWD, a->A0, (uint)a->A1, (uint)a->A2);
        /// openat(2)
        public static SysResult Openat(SyscallArgs* a) => OpenAt((int)a->A0, a->A1, (uint)a->A2, (uint)a->A3);
        /// creat(2)
        public static SysResult Creat(SyscallArgs* a) => OpenAt(AT_FDCWD, a->A0, (uint)(O_CREAT | O_WRONLY | O_TRUNC), (uint)a->A1);

        /// openat2(2): struct open_how { u64 flags, mode, resolve }.
        public static SysResult Openat2(SyscallArgs* a)
        {
            ulong size = a->A3;
            if (size < (ulong)sizeof(OpenHow)) return Errno.EINVAL;
            if (size > 4096) return Errno.E2BIG;
            if (new UserRef<OpenHow>(a->A2).Read(out OpenHow how) != 0) return Errno.EFAULT;
            for (ulong off = (ulong)sizeof(OpenHow); off < size; off++)
            {
                byte b;
                if (new UserPtr(a->A2 + off).CopyIn(&b, 1) != 0) return Errno.EFAULT;
                if (b != 0) return Errno.E2BIG;
            }
            if ((how.Flags >> 32) != 0 || (how.Flags & ~0x7fffffUL) != 0) return Errno.EINVAL;
            if (how.Mode > 0xfff || ((how.Flags & (ulong)(O_CREAT | 0x400000)) == 0 && how.Mode != 0)) return Errno.EINVAL;   // O_CREAT, __O_TMPFILE
            if (how.Resolve != 0) return Errno.EINVAL;      // RESOLVE_* restrictions: not supported (see table)
            return OpenAt((int)a->A0, a->A1, (uint)how.Flags, (uint)how.Mode);
        }

        static SysResult OpenAt(int dirfd, ulong pathPtr, uint flags, uint mode)
        {
            bool cloexec = (flags & O_CLOEXEC) != 0;
            if ((flags & O_PATH) != 0) flags &= (uint)(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
            if (tmpfile && ((flags & O_ACCMODE) == 0 || (flags & O_CREAT) != 0)) return Errno.EINVAL;
            if ((flags & O_ACCMODE) == 3 && (flags & O_PATH) == 0) return Errno.EINVAL;
            bool creat = (flags & O_CREAT) != 0 && !tmpfile;
            bool excl = creat && (flags & O_EXCL) != 0;
            bool follow = (flags & O_NOFOLLOW) == 0 && !excl;
            Span<byte> path = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            Errno e = Walk(dirfd, pathPtr, follow, false, path, tmp, out Inode dir, out Inode node, out int ns, out int nl, out bool trailing);
            if (e != 0) return e;
            if (tmpfile)
            {
                if (node == null) return Errno.ENOENT;
                if (!node.IsDir) return Errno.ENOTDIR;
                if (!(node is MemDir)) return Errno.EOPNOTSUPP;
                e = Permission.MayCreate(Cred.Fs(), node);
                if (e != 0) return e;
                var f = new MemFile(node.Fs, FileMode.S_IFREG | (mode & ~Cur.Umask & 0xfff));
                f.Nlink = 0; f.Parent = node;
                var w = new Console.LineWriter(tmp);
                w.Str("#"); w.Udec(f.Ino);
                f.Name = new byte[w.Length];
                for (int i = 0; i < w.Length; i++) f.Name[i] = tmp[i];
                e = f.Open(flags & ~(uint)(O_CREAT | O_EXCL | O_TRUNC | 0x400000), out OpenFile tf);
                return e != 0 ? e : Install(tf, cloexec);
            }
            if (node == null)
            {
                if (!creat) return Errno.ENOENT;
                if (trailing) return Errno.EISDIR;
                e = Permission.MayCreate(Cred.Fs(), dir);
                if (e != 0) return e;
                e = Vfs.Mknod(dir, path.Slice(ns, nl), FileMode.S_IFREG | (mode & ~Cur.Umask & 0xfff), 0, out node);
                if (e != 0) return e;
                flags &= ~(uint)O_TRUNC;
            }
            else
            {
                if (excl) return Errno.EEXIST;
                if (node.IsSymlink && (flags & O_PATH) == 0) return Errno.ELOOP;
                if ((flags & O_DIRECTORY) != 0 && !node.IsDir) return Errno.ENOTDIR;
                if (node.IsDir && (flags & O_PATH) == 0 && ((flags & O_ACCMODE) != 0 || creat)) return Errno.EISDIR;
                if ((flags & O_PATH) == 0)
                {
                    // may_open: read and/or write as the access mode says (O_TRUNC writes);
                    // O_NOATIME is the owner's.
                    Cred c = Cred.Fs();
                    int acc = (flags & O_ACCMODE) == O_RDONLY ? Permission.MAY_READ : (flags & O_ACCMODE) == O_WRONLY ? Permission.MAY_WRITE
                        : Permission.MAY_READ | Permission.MAY_WRITE;
                    if ((flags & O_TRUNC) != 0) acc |= Permission.MAY_WRITE;
                    e = Permission.Check(c, node, acc);
                    if (e != 0) return e;
                    if ((flags & O_NOATIME) != 0 && !Permission.OwnerOrCapable(c, node)) return Errno.EPERM;
                }
                if ((flags & O_TRUNC) != 0 && node.IsRegular && (flags & O_PATH) == 0)
                {
                    e = node.Truncate(0);
                    if (e != 0) return e;
                    Permission.WriteKillsPrivs(node);
                    if (Inotify.Active) Inotify.Changed(node, Inotify.IN_MODIFY);
                }
            }
            OpenFile file;
            if ((flags & O_PATH) != 0) file = new InodeFile(node, flags);
            else
            {
                e = node.Open(flags & ~(uint)(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC), out file);
                if (e != 0) return e;
                if (Inotify.Active) Inotify.Opened(file);
                OpenedTerminal(file, flags);
            }
            return Install(file, cloexec);
        }

        // ---------------------------------------------------------------- stat

        static SysResult StatAt(int dirfd, ulong pathPtr, ulong statPtr, int flags)
        {
            if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) != 0) return Errno.EINVAL;
            Stat st = default;
            Errno e = StatNode(dirfd, pathPtr, flags, ref st);
            if (e != 0) return e;
            return new UserRef<Stat>(statPtr).Write(st) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        static Errno StatNode(int dirfd, ulong pathPtr, int flags, ref Stat st)
        {
            byte first;
            if ((flags & AT_EMPTY_PATH) != 0 && new UserPtr(pathPtr).CopyIn(&first, 1) == 0 && first == 0 && dirfd != AT_FDCWD)
            {
                OpenFile f = Fd(dirfd);
                if (f == null) return Errno.EBADF;
                f.Stat(ref st);
                return 0;
            }
            Errno e = WalkExisting(dirfd, pathPtr, (flags & AT_SYMLINK_NOFOLLOW) == 0, (flags & AT_EMPTY_PATH) != 0, out Inode node);
            if (e != 0) return e;
            node.FillStat(ref st);
            return 0;
        }

        /// stat(2)
        public static SysResult StatPath(SyscallArgs* a) => StatAt(AT_FDCWD, a->A0, a->A1, 0);
        /// lstat(2)
        public static SysResult LstatPath(SyscallArgs* a) => StatAt(AT_FDCWD, a->A0, a->A1, AT_SYMLINK_NOFOLLOW);
        /// newfstatat(2)
        public static SysResult Newfstatat(SyscallArgs* a) => StatAt((int)a->A0, a->A1, a->A2, (int)a->A3);

        /// statx(2)
        public static SysResult Statx(SyscallArgs* a)
        {
            int dirfd = (int)a->A0, flags = (int)a->A2;
            uint mask = (uint)a->A3;
            if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | 0x6000)) != 0) return Errno.EINVAL;
            if ((flags & 0x6000) == 0x6000) return Errno.EINVAL;
            if ((mask & 0x80000000u) != 0) return Errno.EINVAL;
            Stat st = default;
            Errno e = StatNode(dirfd, a->A1, flags & ~0x6000, ref st);
            if (e != 0) return e;
            var x = new Abi.Statx
            {
                Mask = Abi.Statx.STATX_BASIC_STATS,
                BlkSize = (uint)st.BlkSize, Nlink = (uint)st.Nlink, Uid = st.Uid, Gid = st.Gid, Mode = (ushort)st.Mode,
                Ino = st.Ino, Size = st.Size, Blocks = st.Blocks,
                AttributesMask = Abi.Statx.STATX_ATTR_DAX | Abi.Statx.STATX_ATTR_VERITY,     // the attribute bits known here
                Atime = new StatxTimestamp { Sec = st.AtimeSec, Nsec = (uint)st.AtimeNsec },
                Ctime = new StatxTimestamp { Sec = st.CtimeSec, Nsec = (uint)st.CtimeNsec },
                Mtime = new StatxTimestamp { Sec = st.MtimeSec, Nsec = (uint)st.MtimeNsec },
                RdevMajor = (uint)((st.Rdev >> 8) & 0xfff), RdevMinor = (uint)((st.Rdev & 0xff) | ((st.Rdev >> 12) & ~0xffUL)),
                DevMajor = (uint)((st.Dev >> 8) & 0xfff), DevMinor = (uint)((st.Dev & 0xff) | ((st.Dev >> 12) & ~0xffUL)),
                MntId = 1,                                  // stx_mnt_id (STATX_MNT_ID not in mask)
            };
            return new UserRef<Abi.Statx>(a->A4).Write(x) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        // ---------------------------------------------------------------- access

        static SysResult AccessAt(int dirfd, ulong pathPtr, int mode, int flags)
        {
            if ((mode & ~7) != 0) return Errno.EINVAL;
            if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EACCESS | AT_EMPTY_PATH)) != 0) return Errno.EINVAL;
            // The real ids (faccessat2's AT_EACCESS: the effective, i.e. filesystem, ids), for
            // the walk too.
            bool real = (flags & AT_EACCESS) == 0;
            Errno e = WalkExisting(dirfd, pathPtr, (flags & AT_SYMLINK_NOFOLLOW) == 0, (flags & AT_EMPTY_PATH) != 0, out Inode node, real);
            if (e != 0) return e;
            if (mode != 0)
            {
                e = Permission.Check(real ? Cred.Real() : Cred.Fs(), node, mode);
                if (e != 0) return e;
            }
            if ((mode & 2) != 0 && node.Fs == Vfs.ProcFs && !node.IsDir && (node.Mode & 0x92) == 0) return Errno.EACCES;
            return SysResult.Ok;
        }

        /// access(2)
        public static SysResult Access(SyscallArgs* a) => AccessAt(AT_FDCWD, a->A0, (int)a->A1, 0);
        /// faccessat(2)
        public static SysResult Faccessat(SyscallArgs* a) => AccessAt((int)a->A0, a->A1, (int)a->A2, 0);
        /// faccessat2(2)
        public static SysResult Faccessat2(SyscallArgs* a) => AccessAt((int)a->A0, a->A1, (int)a->A2, (int)a->A3);

        // ---------------------------------------------------------------- links

        /// readlink(2)
        public static SysResult Readlink(SyscallArgs* a) => ReadlinkAt(AT_FDCWD, a->A0, a->A1, a->A2);
        /// readlinkat(2)
        public static SysResult Readlinkat(SyscallArgs* a) => ReadlinkAt((int)a->A0, a->A1, a->A2, a->A3);

        static SysResult ReadlinkAt(int dirfd, ulong pathPtr, ulong buf, ulong size)
        {
            if ((long)size <= 0) return Errno.EINVAL;
            Errno e = WalkExisting(dirfd, pathPtr, false, true, out Inode node);
            if (e != 0) return e;
            if (!node.IsSymlink) return Errno.EINVAL;
            Span<byte> target = stackalloc byte[PathMax];
            int n = node.ReadLink(target);
            if (n > PathMax) n = PathMax;
            if ((ulong)n > size) n = (int)size;
            return new UserPtr(buf).CopyOut(target.Slice(0, n)) == 0 ? (SysResult)n : Errno.EFAULT;
        }

        /// symlink(2)
        public static SysResult SymlinkCall(SyscallArgs* a) => SymlinkAt(a->A0, AT_FDCWD, a->A1);
        /// symlinkat(2)
        public static SysResult Symlinkat(SyscallArgs* a) => SymlinkAt(a->A0, (int)a->A1, a->A2);

        static SysResult SymlinkAt(ulong targetPtr, int dirfd, ulong linkPtr)
        {
            Span<byte> target = stackalloc byte[PathMax];
            Errno e = new UserPtr(targetPtr).ReadCString(target, out int tl);
            if (e != 0) return e;
            Span<byte> path = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            e = Walk(dirfd, linkPtr, false, false, path, tmp, out Inode dir, out Inode node, out int ns, out int nl, out bool trailing);
            if (e != 0) return e;
            if (tl == 0) return Errno.ENOENT;
            if (node != null) return Errno.EEXIST;
            if (trailing) return Errno.ENOENT;
            e = Permission.MayCreate(Cred.Fs(), dir);
            if (e != 0) return e;
            return Vfs.Symlink(dir, path.Slice(ns, nl), target.Slice(0, tl), out _);
        }

        /// link(2)
        public static SysResult LinkCall(SyscallArgs* a) => LinkAt(AT_FDCWD, a->A0, AT_FDCWD, a->A1, 0);
        /// linkat(2)
        public static SysResult Linkat(SyscallArgs* a) => LinkAt((int)a->A0, a->A1, (int)a->A2, a->A3, (int)a->A4);

        static SysResult LinkAt(int olddirfd, ulong oldPtr, int newdirfd, ulong newPtr, int flags)
        {
            if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) != 0) return Errno.EINVAL;
            Errno e = WalkExisting(olddirfd, oldPtr, (flags & AT_SYMLINK_FOLLOW) != 0, (flags & AT_EMPTY_PATH) != 0, out Inode old);
            if (e != 0) return e;
            Span<byte> path = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            e = Walk(newdirfd, newPtr, false, false, path, tmp, out Inode dir, out Inode node, out int ns, out int nl, out bool trailing);
            if (e != 0) return e;
            if (node != null) return Errno.EEXIST;
            if (trailing) return Errno.ENOENT;
            if (dir.Fs != old.Fs) return Errno.EXDEV;
            Cred c = Cred.Fs();
            e = Permission.MayLink(c, old);
            if (e != 0) return e;
            e = Permission.MayCreate(c, dir);
            if (e != 0) return e;
            if (old.IsDir) return Errno.EPERM;
            if (old.Nlink == 0 && (flags & AT_EMPTY_PATH) == 0) return Errno.ENOENT;   // O_TMPFILE files link by fd
            return Vfs.Link(dir, path.Slice(ns, nl), old);
        }

        /// unlink(2)
        public static SysResult UnlinkCall(SyscallArgs* a) => UnlinkAt(AT_FDCWD, a->A0, 0);
        /// rmdir(2)
        public static SysResult Rmdir(SyscallArgs* a) => UnlinkAt(AT_FDCWD, a->A0, AT_REMOVEDIR);
        /// unlinkat(2)
        public static SysResult Unlinkat(SyscallArgs* a) => UnlinkAt((int)a->A0, a->A1, (int)a->A2);

        static SysResult UnlinkAt(int dirfd, ulong pathPtr, int flags)
        {
            if ((flags & ~AT_REMOVEDIR) != 0) return Errno.EINVAL;
            bool rmdir = (flags & AT_REMOVEDIR) != 0;
            Span<byte> path = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            Errno e = Walk(dirfd, pathPtr, false, false, path, tmp, out Inode dir, out Inode node, out int ns, out int nl, out bool trailing, keepLast: true);
            if (e != 0) return e;
            ReadOnlySpan<byte> name = path.Slice(ns, nl);
            if (rmdir)
            {
                if (nl == 0) return Errno.EBUSY;
                if (IsDot(name)) return Errno.EINVAL;
                if (IsDotDot(name)) return Errno.ENOTEMPTY;
                if (node == null) return Errno.ENOENT;
                e = Permission.MayDelete(Cred.Fs(), dir, node);
                if (e != 0) return e;
                if (!node.IsDir) return Errno.ENOTDIR;
                if (node.MountPoint != null || node == Vfs.Root) return Errno.EBUSY;
                return Vfs.Unlink(dir, name, true);
            }
            if (nl == 0 || IsDot(name) || IsDotDot(name)) return Errno.EISDIR;
            if (node == null) return Errno.ENOENT;
            if (trailing)
            {
                // The entry itself decides (a symlink to a directory is not a directory here).
                return node.IsDir ? Errno.EISDIR : Errno.ENOTDIR;
            }
            e = Permission.MayDelete(Cred.Fs(), dir, node);
            if (e != 0) return e;
            if (node.IsDir) return Errno.EISDIR;
            return Vfs.Unlink(dir, name, false);
        }

        /// rename(2)
        public static SysResult RenameCall(SyscallArgs* a) => RenameAt(AT_FDCWD, a->A0, AT_FDCWD, a->A1, 0);
        /// renameat(2)
        public static SysResult Renameat(SyscallArgs* a) => RenameAt((int)a->A0, a->A1, (int)a->A2, a->A3, 0);
        /// renameat2(2)
        public static SysResult Renameat2(SyscallArgs* a) => RenameAt((int)a->A0, a->A1, (int)a->A2, a->A3, (uint)a->A4);

        static SysResult RenameAt(int olddirfd, ulong oldPtr, int newdirfd, ulong newPtr, uint flags)
        {
            const uint NOREPLACE = 1, EXCHANGE = 2, WHITEOUT = 4;
            if ((flags & ~(NOREPLACE | EXCHANGE | WHITEOUT)) != 0) return Errno.EINVAL;
            if ((flags & EXCHANGE) != 0 && (flags & (NOREPLACE | WHITEOUT)) != 0) return Errno.EINVAL;
            if ((flags & WHITEOUT) != 0) return Errno.EINVAL;
            Span<byte> p1 = stackalloc byte[PathMax];
            Span<byte> p2 = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            Errno e = Walk(olddirfd, oldPtr, false, false, p1, tmp, out Inode odir, out Inode onode, out int ons, out int onl, out bool otrail, keepLast: true);
            if (e != 0) return e;
            e = Walk(newdirfd, newPtr, false, false, p2, tmp, out Inode ndir, out Inode nnode, out int nns, out int nnl, out bool ntrail, keepLast: true);
            if (e != 0) return e;
            ReadOnlySpan<byte> oname = p1.Slice(ons, onl), nname = p2.Slice(nns, nnl);
            if (onl == 0 || IsDot(oname) || IsDotDot(oname) || nnl == 0 || IsDot(nname) || IsDotDot(nname)) return Errno.EBUSY;
            if (onode == null) return Errno.ENOENT;
            if (odir.Fs != ndir.Fs) return Errno.EXDEV;
            if ((flags & EXCHANGE) != 0 && nnode == null) return Errno.ENOENT;
            if ((flags & NOREPLACE) != 0 && nnode != null) return Errno.EEXIST;
            if (!onode.IsDir && (otrail || ntrail)) return Errno.ENOTDIR;
            if (onode.MountPoint != null || (nnode != null && nnode.MountPoint != null)) return Errno.EBUSY;
            if (onode != nnode)
            {
                // Both names are removed or replaced; a directory that changes parent has its
                // ".." rewritten, which needs write on it.
                Cred c = Cred.Fs();
                e = Permission.MayDelete(c, odir, onode);
                if (e == 0) e = nnode == null ? Permission.MayCreate(c, ndir) : Permission.MayDelete(c, ndir, nnode);
                if (e == 0 && odir != ndir)
                {
                    if (onode.IsDir) e = Permission.Check(c, onode, Permission.MAY_WRITE);
                    if (e == 0 && (flags & EXCHANGE) != 0 && nnode.IsDir) e = Permission.Check(c, nnode, Permission.MAY_WRITE);
                }
                if (e != 0) return e;
            }
            return Vfs.Rename(odir, oname, ndir, nname, flags);
        }

        // ---------------------------------------------------------------- directories

        /// mkdir(2)
        public static SysResult MkdirCall(SyscallArgs* a) => MkdirAt(AT_FDCWD, a->A0, (uint)a->A1);
        /// mkdirat(2)
        public static SysResult Mkdirat(SyscallArgs* a) => MkdirAt((int)a->A0, a->A1, (uint)a->A2);

        static SysResult MkdirAt(int dirfd, ulong pathPtr, uint mode)
        {
            Span<byte> path = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            Errno e = Walk(dirfd, pathPtr, false, false, path, tmp, out Inode dir, out Inode node, out int ns, out int nl, out _);
            if (e != 0) return e;
            if (node != null) return Errno.EEXIST;
            e = Permission.MayCreate(Cred.Fs(), dir);
            if (e != 0) return e;
            return Vfs.Mkdir(dir, path.Slice(ns, nl), mode & ~Cur.Umask & 0x3ff, out _);
        }

        /// mknod(2)
        public static SysResult MknodCall(SyscallArgs* a) => MknodAt(AT_FDCWD, a->A0, (uint)a->A1, a->A2);
        /// mknodat(2)
        public static SysResult Mknodat(SyscallArgs* a) => MknodAt((int)a->A0, a->A1, (uint)a->A2, a->A3);

        static SysResult MknodAt(int dirfd, ulong pathPtr, uint mode, ulong dev)
        {
            uint t = mode & FileMode.S_IFMT;
            if (t == FileMode.S_IFDIR) return Errno.EPERM;
            if (t != 0 && t != FileMode.S_IFREG && t != FileMode.S_IFIFO && t != FileMode.S_IFCHR && t != FileMode.S_IFBLK && t != FileMode.S_IFSOCK) return Errno.EINVAL;
            Span<byte> path = stackalloc byte[PathMax];
            Span<byte> tmp = stackalloc byte[PathMax];
            Errno e = Walk(dirfd, pathPtr, false, false, path, tmp, out Inode dir, out Inode node, out int ns, out int nl, out bool trailing);
            if (e != 0) return e;
            if (node != null) return Errno.EEXIST;
            if (trailing) return Errno.ENOENT;
            if (t == 0) t = FileMode.S_IFREG;
            Cred c = Cred.Fs();
            e = Permission.MayCreate(c, dir);
            if (e != 0) return e;
            if ((t == FileMode.S_IFCHR || t == FileMode.S_IFBLK) && !c.Capable(Kernel.Sched.Capabilities.CAP_MKNOD)) return Errno.EPERM;
            ulong rdev = (t == FileMode.S_IFCHR || t == FileMode.S_IFBLK) ? (((dev >> 8) & 0xfff) << 8) | (dev & 0xff) : 0;
            return Vfs.Mknod(dir, path.Slice(ns, nl), t | (mode & ~Cur.Umask & 0xfff), rdev, out _);
        }

        /// getcwd(2)
        public static SysResult Getcwd(SyscallArgs* a)
        {
            Span<byte> buf = stackalloc byte[PathMax + 1];
            Inode cwd = Ctx.Cwd;
            int n = Vfs.PathOf(cwd, buf.Slice(0, PathMax), out bool deleted);
            if (deleted || cwd.Nlink == 0) return Errno.ENOENT;
            if (n < 0) return Errno.ENAMETOOLONG;
            buf[n] = 0;
            if ((ulong)(n + 1) > a->A1) return Errno.ERANGE;
            return new UserPtr(a->A0).CopyOut(buf.Slice(0, n + 1)) == 0 ? (SysResult)(n + 1) : Errno.EFAULT;
        }

        /// chdir(2)
        public static SysResult Chdir(SyscallArgs* a)
        {
            Errno e = WalkExisting(AT_FDCWD, a->A0, true, false, out Inode node);
            if (e != 0) return e;
            if (!node.IsDir) return Errno.ENOTDIR;
            e = Permission.Check(node, Permission.MAY_EXEC);
            if (e != 0) return e;
            Ctx.Cwd = node;
            return SysResult.Ok;
        }

        /// fchdir(2)
        public static SysResult Fchdir(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            if (f.Inode == null || !f.Inode.IsDir) return Errno.ENOTDIR;
            Errno e = Permission.Check(f.Inode, Permission.MAY_EXEC);
            if (e != 0) return e;
            Ctx.Cwd = f.Inode;
            return SysResult.Ok;
        }

        // ---------------------------------------------------------------- attributes

        static Errno ChmodNode(Inode n, uint mode)
        {
            if (n.Fs == Vfs.ProcFs) return Errno.EPERM;
            Cred c = Cred.Fs();
            if (!Permission.OwnerOrCapable(c, n)) return Errno.EPERM;
            mode = Permission.ChmodBits(c, n, mode);
            n.Mode = (n.Mode & FileMode.S_IFMT) | (mode & 0xfff);
            n.TouchCtime();
            if (Inotify.Active) Inotify.Changed(n, Inotify.IN_ATTRIB);
            return 0;
        }

        /// chmod(2)
        public static SysResult Chmod(SyscallArgs* a) => FchmodAtCore(AT_FDCWD, a->A0, (uint)a->A1, 0);
        /// fchmodat(2)
        public static SysResult Fchmodat(SyscallArgs* a) => FchmodAtCore((int)a->A0, a->A1, (uint)a->A2, 0);
        /// fchmodat2(2)
        public static SysResult Fchmodat2(SyscallArgs* a) => FchmodAtCore((int)a->A0, a->A1, (uint)a->A2, (int)a->A3);

        static SysResult FchmodAtCore(int dirfd, ulong pathPtr, uint mode, int flags)
        {
            if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return Errno.EINVAL;
            Errno e = WalkExisting(dirfd, pathPtr, (flags & AT_SYMLINK_NOFOLLOW) == 0, (flags & AT_EMPTY_PATH) != 0, out Inode node);
            if (e != 0) return e;
            if (node.IsSymlink) return Errno.EOPNOTSUPP;
            return ChmodNode(node, mode);
        }

        /// fchmod(2)
        public static SysResult Fchmod(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (f.Inode == null) return Errno.EINVAL;
            return ChmodNode(f.Inode, (uint)a->A1);
        }

        static Errno ChownNode(Inode n, uint uid, uint gid)
        {
            if (n.Fs == Vfs.ProcFs) return Errno.EPERM;
            // Only CAP_CHOWN gives a file away; its owner may set its group to one of theirs.
            Cred c = Cred.Fs();
            if (!c.Capable(Kernel.Sched.Capabilities.CAP_CHOWN))
            {
                if (uid != 0xffffffff && (c.Uid != n.Uid || uid != n.Uid)) return Errno.EPERM;
                if (gid != 0xffffffff && (c.Uid != n.Uid || (gid != n.Gid && !c.InGroup(gid)))) return Errno.EPERM;
            }
            if (uid != 0xffffffff) n.Uid = uid;
            if (gid != 0xffffffff) n.Gid = gid;
            if (!n.IsDir && !n.IsSymlink && (uid != 0xffffffff || gid != 0xffffffff))
            {
                n.Mode &= ~FileMode.S_ISUID;
                if ((n.Mode & 0x8) != 0) n.Mode &= ~FileMode.S_ISGID;
            }
            n.TouchCtime();
            if (Inotify.Active && (uid != 0xffffffff || gid != 0xffffffff)) Inotify.Changed(n, Inotify.IN_ATTRIB);
            return 0;
        }

        /// chown(2)
        public static SysResult Chown(SyscallArgs* a) => FchownAtCore(AT_FDCWD, a->A0, (uint)a->A1, (uint)a->A2, 0);
        /// lchown(2)
        public static SysResult Lchown(SyscallArgs* a) => FchownAtCore(AT_FDCWD, a->A0, (uint)a->A1, (uint)a->A2, AT_SYMLINK_NOFOLLOW);
        /// fchownat(2)
        public static SysResult Fchownat(SyscallArgs* a) => FchownAtCore((int)a->A0, a->A1, (uint)a->A2, (uint)a->A3, (int)a->A4);

        static SysResult FchownAtCore(int dirfd, ulong pathPtr, uint uid, uint gid, int flags)
        {
            if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return Errno.EINVAL;
            Errno e = WalkExisting(dirfd, pathPtr, (flags & AT_SYMLINK_NOFOLLOW) == 0, (flags & AT_EMPTY_PATH) != 0, out Inode node);
            if (e != 0) return e;
            return ChownNode(node, uid, gid);
        }

        /// fchown(2)
        public static SysResult Fchown(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (f.Inode == null) return Errno.EINVAL;
            return ChownNode(f.Inode, (uint)a->A1, (uint)a->A2);
        }

        /// truncate(2)
        public static SysResult TruncateCall(SyscallArgs* a)
        {
            if ((long)a->A1 < 0) return Errno.EINVAL;
            Errno e = WalkExisting(AT_FDCWD, a->A0, true, false, out Inode node);
            if (e != 0) return e;
            if (node.IsDir) return Errno.EISDIR;
            if (!node.IsRegular) return Errno.EINVAL;
            e = Permission.Check(node, Permission.MAY_WRITE);
            if (e != 0) return e;
            if (node.Fs == Vfs.ProcFs) return Errno.EACCES;
            Errno fe = GrowthAllowed(node, (long)a->A1);
            if (fe != 0) return fe;
            return Truncated(node, node.Truncate((long)a->A1));
        }

        /// ftruncate(2)
        public static SysResult Ftruncate(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if ((long)a->A1 < 0) return Errno.EINVAL;
            Inode n = f.Inode;
            if (n == null || !n.IsRegular || (f.StatusFlags & O_ACCMODE) == 0) return Errno.EINVAL;
            Errno fe = GrowthAllowed(n, (long)a->A1);
            if (fe != 0) return fe;
            return Truncated(n, n.Truncate((long)a->A1));
        }

        /// A size change is IN_MODIFY.
        static SysResult Truncated(Inode n, Errno e)
        {
            if (e != 0) return e;
            Permission.WriteKillsPrivs(n);
            if (Inotify.Active) Inotify.Changed(n, Inotify.IN_MODIFY);
            return SysResult.Ok;
        }

        /// RLIMIT_FSIZE for a file grown to `size` by truncate or fallocate (Linux's
        /// inode_newsize_ok): EFBIG and SIGXFSZ past the limit.
        internal static Errno GrowthAllowed(Inode n, long size)
        {
            if (size <= n.Size) return 0;
            ulong limit = Cur.Limits[1].Cur;
            if (limit == ulong.MaxValue || (ulong)size <= limit) return 0;
            Proc.Signals.SendToSelf(Signal.SIGXFSZ);
            return Errno.EFBIG;
        }

        const long UTIME_NOW = (1L << 30) - 1, UTIME_OMIT = (1L << 30) - 2;

        static Errno SetTimes(Inode n, Timespec* ts)
        {
            Vfs.Now(out long s, out long ns);
            // Both times set is IN_ATTRIB, the atime alone IN_ACCESS, the mtime alone IN_MODIFY.
            uint ev = ts == null || (ts[0].Nsec != UTIME_OMIT && ts[1].Nsec != UTIME_OMIT) ? Inotify.IN_ATTRIB
                : ts[0].Nsec != UTIME_OMIT ? Inotify.IN_ACCESS : Inotify.IN_MODIFY;
            if (ts != null)
            {
                for (int i = 0; i < 2; i++)
                    if (ts[i].Nsec != UTIME_NOW && ts[i].Nsec != UTIME_OMIT && (ulong)ts[i].Nsec >= 1000000000) return Errno.EINVAL;
                if (ts[0].Nsec == UTIME_OMIT && ts[1].Nsec == UTIME_OMIT) return 0;
            }
            // Explicit times are the owner's (or CAP_FOWNER's); "now" also whoever may write.
            Cred c = Cred.Fs();
            if (!Permission.OwnerOrCapable(c, n))
            {
                if (ts != null && (ts[0].Nsec != UTIME_NOW || ts[1].Nsec != UTIME_NOW)) return Errno.EPERM;
                Errno pe = Permission.Check(c, n, Permission.MAY_WRITE);
                if (pe != 0) return pe;
            }
            if (ts == null) { n.AtimeSec = n.MtimeSec = s; n.AtimeNsec = n.MtimeNsec = ns; }
            else
            {
                if (ts[0].Nsec == UTIME_NOW) { n.AtimeSec = s; n.AtimeNsec = ns; }
                else if (ts[0].Nsec != UTIME_OMIT) { n.AtimeSec = ts[0].Sec; n.AtimeNsec = ts[0].Nsec; }
                if (ts[1].Nsec == UTIME_NOW) { n.MtimeSec = s; n.MtimeNsec = ns; }
                else if (ts[1].Nsec != UTIME_OMIT) { n.MtimeSec = ts[1].Sec; n.MtimeNsec = ts[1].Nsec; }
            }
            n.CtimeSec = s; n.CtimeNsec = ns;
            if (Inotify.Active) Inotify.Changed(n, ev);
            return 0;
        }

        /// utimensat(2)
        public static SysResult Utimensat(SyscallArgs* a)
        {
            int dirfd = (int)a->A0, flags = (int)a->A3;
            if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0) return Errno.EINVAL;
            Timespec* ts = stackalloc Timespec[2];
            bool have = a->A2 != 0;
            if (have && new UserPtr(a->A2).CopyIn(ts, 32) != 0) return Errno.EFAULT;
            if (have)
                for (int i = 0; i < 2; i++)
                    if (ts[i].Nsec != UTIME_NOW && ts[i].Nsec != UTIME_OMIT && (ulong)ts[i].Nsec >= 1000000000) return Errno.EINVAL;
            Inode node;
            if (a->A1 == 0)
            {
                // futimens: the file behind dirfd.
                if (dirfd == AT_FDCWD) return Errno.EFAULT;
                OpenFile f = Fd(dirfd);
                if (f == null) return Errno.EBADF;
                node = f.Inode;
                if (node == null) return Errno.EINVAL;
            }
            else
            {
                Errno e = WalkExisting(dirfd, a->A1, (flags & AT_SYMLINK_NOFOLLOW) == 0, (flags & AT_EMPTY_PATH) != 0, out node);
                if (e != 0) return e;
            }
            return SetTimes(node, have ? ts : null);
        }

        /// utimes(2)
        public static SysResult Utimes(SyscallArgs* a)
        {
            Timespec* ts = stackalloc Timespec[2];
            bool have = a->A1 != 0;
            if (have)
            {
                Timeval* tv = stackalloc Timeval[2];
                if (new UserPtr(a->A1).CopyIn(tv, 32) != 0) return Errno.EFAULT;
                for (int i = 0; i < 2; i++)
                {
                    if ((ulong)tv[i].Usec >= 1000000) return Errno.EINVAL;
                    ts[i].Sec = tv[i].Sec; ts[i].Nsec = tv[i].Usec * 1000;
                }
            }
            Errno e = WalkExisting(AT_FDCWD, a->A0, true, false, out Inode node);
            if (e != 0) return e;
            return SetTimes(node, have ? ts : null);
        }

        /// utime(2)
        public static SysResult Utime(SyscallArgs* a)
        {
            Timespec* ts = stackalloc Timespec[2];
            bool have = a->A1 != 0;
            if (have)
            {
                long* ub = stackalloc long[2];
                if (new UserPtr(a->A1).CopyIn(ub, 16) != 0) return Errno.EFAULT;
                ts[0].Sec = ub[0]; ts[0].Nsec = 0; ts[1].Sec = ub[1]; ts[1].Nsec = 0;
            }
            Errno e = WalkExisting(AT_FDCWD, a->A0, true, false, out Inode node);
            if (e != 0) return e;
            return SetTimes(node, have ? ts : null);
        }

        // ---------------------------------------------------------------- statfs

        static SysResult FillStatfs(Inode n, ulong ptr)
        {
            FileSystem fs = n.Fs;
            long total = (long)(Memory.PhysicalMemory.TotalBytes / 4096), free = (long)(Memory.PhysicalMemory.FreeBytes / 4096);
            bool proc = fs == Vfs.ProcFs;
            var s = new Abi.Statfs
            {
                Type = fs != null ? fs.Magic : Vfs.TmpfsMagic,
                Bsize = 4096,
                Blocks = proc ? 0 : total / 2, Bfree = proc ? 0 : free / 2, Bavail = proc ? 0 : free / 2,
                Files = proc ? 0 : total / 4, Ffree = proc ? 0 : total / 4 - 100,
                Namelen = 255, Frsize = 4096,
                // ST_RELATIME|ST_NOSUID|ST_NODEV (and ST_NOEXEC|ST_NOSUID... for proc); the root only ST_RELATIME
                Flags = fs == Vfs.RootFs ? 0x420 : proc ? 0x42e : 0x426,
            };
            n.StatFs(ref s);                  // a filesystem with its own figures (ext4) fills them in
            return new UserRef<Abi.Statfs>(ptr).Write(s) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// statfs(2)
        public static SysResult Statfs(SyscallArgs* a)
        {
            Errno e = WalkExisting(AT_FDCWD, a->A0, true, false, out Inode node);
            if (e != 0) return e;
            return FillStatfs(node, a->A1);
        }

        /// fstatfs(2)
        public static SysResult Fstatfs(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            if (f.Inode == null) return Errno.EINVAL;
            return FillStatfs(f.Inode, a->A1);
        }
    }
}
