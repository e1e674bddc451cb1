using System;
using Kernel.Time;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// A process's filesystem context: its working directory and umask live here (the
    /// umask stays on Process for now).
    public sealed class FsContext
    {
        public Inode Cwd;
    }

    /// The mount tree and path resolution.
    public static unsafe class Vfs
    {
        public const long TmpfsMagic = 0x01021994, ProcMagic = 0x9fa0, DevfsMagic = 0x01021994;
        public const int PathMax = 4096, NameMax = 255, MaxLinks = 40;
        public static Inode Root;
        public static FileSystem RootFs, TmpFs, DevFs, ProcFs, PipeFs;
        static FsContext _initial;

        public static void Now(out long sec, out long nsec)
        {
            ulong ns = Rtc.BootEpochNs + Clock.MonotonicNs();
            sec = (long)(ns / 1000000000); nsec = (long)(ns % 1000000000);
        }

        /// Builds the tree: the image's root (writable, tmpfs semantics) or, for an image that
        /// keeps it on a disk (`diskRoot`, the mounted ext4's root directory), that; then /tmp
        /// and /dev on it. /proc is the process layer's (kernel/proc/ProcFs.cs), mounted by the
        /// program start-up.
        public static void Init(Inode diskRoot = null)
        {
            RootFs = new FileSystem(0x801, "rootfs"u8.ToArray(), TmpfsMagic, 2);
            TmpFs = new FileSystem(0x2a, "tmpfs"u8.ToArray(), TmpfsMagic, 1);
            DevFs = new FileSystem(0x5, "devtmpfs"u8.ToArray(), DevfsMagic, 1);
            ProcFs = new FileSystem(0x17, "proc"u8.ToArray(), ProcMagic, 1);
            PipeFs = new FileSystem(0xc, "pipefs"u8.ToArray(), 0x50495045, 1);
            Inode root = diskRoot ?? MemDir.FromImage(RootFs, 0);
            root.Parent = root;
            root.Name = new byte[0];
            Root = root;
            var tmp = new MemDir(TmpFs, 0x3ff);
            Mount("tmp"u8, tmp);
            Mount("dev"u8, DevTree.Build(DevFs));
        }

        public static void Mount(ReadOnlySpan<byte> name, Inode fsRoot)
        {
            if (Root.Lookup(name, out Inode mp) != 0) Root.Mkdir(name, 0x1ed, out mp);
            if (mp == null || !mp.IsDir) return;
            mp.MountedHere = fsRoot;
            fsRoot.MountPoint = mp;
            fsRoot.Parent = mp.Parent;
            fsRoot.Name = mp.Name;
        }

        /// Mounts `fsRoot` on the directory at absolute `path`, making the missing directories
        /// of the path in the tree (mode 0755).
        public static bool MountAt(ReadOnlySpan<byte> path, Inode fsRoot)
        {
            Inode cur = Root;
            int i = 0;
            bool any = false;
            while (i < path.Length)
            {
                while (i < path.Length && path[i] == '/') i++;
                if (i >= path.Length) break;
                int s = i;
                while (i < path.Length && path[i] != '/') i++;
                ReadOnlySpan<byte> name = path.Slice(s, i - s);
                if (name.Length == 1 && name[0] == '.') continue;
                if (name.Length == 2 && name[0] == '.' && name[1] == '.') return false;
                if (cur.Lookup(name, out Inode next) != 0 && cur.Mkdir(name, 0x1ed, out next) != 0) return false;
                if (next == null || !next.IsDir) return false;
                cur = CrossMounts(next);
                any = true;
            }
            if (!any) return false;
            while (cur.MountedHere != null) cur = cur.MountedHere;
            Inode parent = cur.Parent;
            byte[] mpName = cur.Name;
            cur.MountedHere = fsRoot;
            fsRoot.MountPoint = cur;
            fsRoot.Parent = parent;
            fsRoot.Name = mpName;
            return true;
        }

        static byte[] ToArray(this ReadOnlySpan<byte> s)
        {
            var a = new byte[s.Length];
            for (int i = 0; i < s.Length; i++) a[i] = s[i];
            return a;
        }

        public static FsContext NewContext() => new FsContext { Cwd = Root };

        /// The directory above `d`, crossing out of mounted filesystems.
        public static Inode ParentOf(Inode d)
        {
            if (d == Root) return d;
            while (d.MountPoint != null) d = d.MountPoint;
            return d.Parent ?? Root;
        }

        static Inode CrossMounts(Inode n)
        {
            while (n.MountedHere != null) n = n.MountedHere;
            return n;
        }

        /// Resolves `path` (path[0..len) of a PATH_MAX buffer, rewritten in place as
        /// symlinks are followed) from `start`. On success `node` is the final inode, or null
        /// when only the last component is missing (then `dir` and the name are where it
        /// would be created). `name` is the last component's [start, length) in `path`;
        /// length 0 for a path of only slashes. Every directory a component is looked up in
        /// must grant search (x) to the caller's filesystem ids (`realIds`: its real ids, for
        /// access(2)), else EACCES.
        public static Errno Resolve(Inode start, Span<byte> path, int len, Span<byte> tmp, bool followLast,
            out Inode dir, out Inode node, out int nameStart, out int nameLen, out bool trailingSlash, bool keepLast = false,
            bool realIds = false)
        {
            dir = null; node = null; nameStart = 0; nameLen = 0; trailingSlash = false;
            if (len == 0) return Errno.ENOENT;
            Cred cred = realIds ? Cred.Real() : Cred.Fs();
            Inode cur = path[0] == '/' ? Root : start;
            int i = 0, links = 0;
            while (true)
            {
                while (i < len && path[i] == '/') i++;
                if (i >= len) { dir = ParentOf(cur); node = cur; nameStart = i; nameLen = 0; return 0; }
                int s = i;
                while (i < len && path[i] != '/') i++;
                int n = i - s;
                int j = i;
                while (j < len && path[j] == '/') j++;
                bool last = j >= len;
                bool trailing = last && i < len;
                if (!cur.IsDir) return Errno.ENOTDIR;
                if (!cred.SearchesAll && Permission.Check(cred, cur, Permission.MAY_EXEC) != 0) return Errno.EACCES;
                if (n > NameMax) return Errno.ENAMETOOLONG;
                ReadOnlySpan<byte> name = path.Slice(s, n);
                Inode child;
                bool dot = n == 1 && name[0] == '.', dotdot = n == 2 && name[0] == '.' && name[1] == '.';
                if (dot) child = cur;
                else if (dotdot) child = ParentOf(cur);
                else
                {
                    Errno e = cur.Lookup(name, out child);
                    if (e != 0)
                    {
                        if (e == Errno.ENOENT && last) { dir = cur; nameStart = s; nameLen = n; trailingSlash = trailing; return 0; }
                        return e;
                    }
                    child = CrossMounts(child);
                }
                if (!last || followLast || (trailing && !keepLast))
                {
                    if (child.IsSymlink)
                    {
                        if (++links > MaxLinks) return Errno.ELOOP;
                        Inode magic = Magic(child);
                        if (magic != null) { child = magic; }
                        else
                        {
                            int tl = child.ReadLink(tmp);
                            if (tl <= 0) return Errno.ENOENT;
                            if (tl >= tmp.Length) return Errno.ENAMETOOLONG;
                            int rest = len - i;
                            if (tl + rest > tmp.Length) return Errno.ENAMETOOLONG;
                            for (int k = 0; k < rest; k++) tmp[tl + k] = path[i + k];
                            len = tl + rest;
                            for (int k = 0; k < len; k++) path[k] = tmp[k];
                            i = 0;
                            if (path[0] == '/') cur = Root;
                            continue;
                        }
                    }
                }
                if (last)
                {
                    dir = cur; node = child; nameStart = s; nameLen = n; trailingSlash = trailing;
                    if (trailing && !child.IsDir && !child.IsSymlink) return Errno.ENOTDIR;
                    return 0;
                }
                cur = child;
                i = j;
            }
        }

        // ---- namespace operations: the directory's own operation, then what inotify reports
        // of it (fs/Inotify.cs). The syscall layer and sockets change names only through these.

        public static Errno Mknod(Inode dir, ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child)
        {
            Errno e = dir.Mknod(name, mode, rdev, out child);
            if (e == 0 && Inotify.Active) Inotify.Created(dir, name, child);
            return e;
        }

        public static Errno Mkdir(Inode dir, ReadOnlySpan<byte> name, uint mode, out Inode child)
        {
            Errno e = dir.Mkdir(name, mode, out child);
            if (e == 0 && Inotify.Active) Inotify.Created(dir, name, child);
            return e;
        }

        public static Errno Symlink(Inode dir, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, out Inode child)
        {
            Errno e = dir.Symlink(name, target, out child);
            if (e == 0 && Inotify.Active) Inotify.Created(dir, name, child);
            return e;
        }

        public static Errno Link(Inode dir, ReadOnlySpan<byte> name, Inode target)
        {
            Errno e = dir.Link(name, target);
            if (e == 0 && Inotify.Active) Inotify.Linked(dir, name, target);
            return e;
        }

        public static Errno Unlink(Inode dir, ReadOnlySpan<byte> name, bool isDir)
        {
            Inode victim = null;
            if (Inotify.Active && dir.Lookup(name, out victim) != 0) victim = null;
            Errno e = dir.Unlink(name, isDir);
            if (e == 0 && victim != null)
            {
                Inotify.Deleted(dir, name, victim);
                OtherName(dir, name, victim);
            }
            return e;
        }

        /// A file that keeps a link after its remembered name was removed: remember another of
        /// its names in the same directory, if it has one, so the directory's watches get the
        /// name it is still known by.
        static void OtherName(Inode dir, ReadOnlySpan<byte> removed, Inode n)
        {
            if (n.IsDir || n.Nlink == 0 || n.Parent != dir || n.Name == null || !removed.SequenceEqual(n.Name)) return;
            Span<byte> name = stackalloc byte[NameMax + 1];
            long cookie = 2;
            while (dir.ReadDir(ref cookie, name, out DirEntryInfo e))
            {
                if (e.Ino != n.Ino || e.NameLength > NameMax) continue;
                ReadOnlySpan<byte> found = name.Slice(0, e.NameLength);
                if (dir.Lookup(found, out Inode c) == 0 && c == n) { n.Name = found.ToArray(); return; }
            }
        }

        public static Errno Rename(Inode odir, ReadOnlySpan<byte> oname, Inode ndir, ReadOnlySpan<byte> nname, uint flags)
        {
            Inode moved = null, target = null;
            if (Inotify.Active)
            {
                if (odir.Lookup(oname, out moved) != 0) moved = null;
                if (ndir.Lookup(nname, out target) != 0) target = null;
            }
            Errno e = odir.Rename(oname, ndir, nname, flags);
            if (e == 0 && moved != null && moved != target) Inotify.Renamed(odir, oname, ndir, nname, moved, target, (flags & 2) != 0);
            return e;
        }

        static Inode Magic(Inode link)
        {
            return link.MagicInode();
        }

        /// Writes the absolute path of `n` into buf; returns its length, or -1 if it does not
        /// fit. `deleted`: whether the inode has no name any more.
        public static int PathOf(Inode n, Span<byte> buf, out bool deleted)
        {
            deleted = n.Nlink == 0;
            // Collect the chain backwards into the end of buf, then move it to the front.
            int end = buf.Length, pos = end;
            Inode cur = n;
            int guard = 0;
            while (cur != Root && guard++ < 4096)
            {
                while (cur.MountPoint != null) cur = cur.MountPoint;
                if (cur == Root) break;
                byte[] name = cur.Name;
                if (name == null || cur.Parent == null) break;
                if (pos - name.Length - 1 < 0) return -1;
                pos -= name.Length;
                for (int k = 0; k < name.Length; k++) buf[pos + k] = name[k];
                buf[--pos] = (byte)'/';
                if (cur.Parent.Nlink == 0 && cur.Parent.IsDir) deleted = true;
                cur = cur.Parent;
            }
            if (pos == end) { if (end < 1) return -1; buf[0] = (byte)'/'; return 1; }
            int l = end - pos;
            for (int k = 0; k < l; k++) buf[k] = buf[pos + k];
            return l;
        }
    }
}
