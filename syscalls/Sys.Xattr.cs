using System;
using Kernel.Fs;
using Kernel.Abi;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    /// Extended attributes (xattr(7)): the checks Linux's VFS makes, in its order (the path
    /// or fd, a read-only mount, the flags, the name, the size, the namespace's permission
    /// rules, the file's permission), then the inode stores them (fs/Xattr.cs: MemFs in
    /// memory, ext4 volumes on disk). security.capability and system.posix_acl_* are stored
    /// and read back as opaque values: no capability is granted by them and no ACL is enforced.
    public static unsafe partial class Sys
    {
        const int CapSysAdmin = 21, CapSetfcap = 31;

        /// capable(): the caller's effective capability set.
        static bool XattrCapable(int cap) => Capabilities.Has(cap);

        /// Copies the name in: ERANGE when it is empty or longer than 255 bytes.
        static Errno XattrName(ulong namePtr, Span<byte> buf, out int len)
        {
            Errno e = new UserPtr(namePtr).ReadCString(buf, out len);
            if (e == Errno.ENAMETOOLONG) return Errno.ERANGE;
            if (e != 0) return e;
            return len == 0 ? Errno.ERANGE : 0;
        }

        /// xattr_permission: the namespace's rules, then the file's read or write permission.
        /// `n` null is an fd without an inode (a pipe, a socket): neither file nor directory.
        static Errno XattrPermission(Inode n, ReadOnlySpan<byte> name, bool write)
        {
            int ns = Xattr.Namespace(name);
            if (ns == Xattr.Security || ns == Xattr.System) return 0;
            if (ns == Xattr.Trusted)
            {
                if (!XattrCapable(CapSysAdmin)) return write ? Errno.EPERM : Errno.ENODATA;
                return 0;
            }
            if (ns == Xattr.User)
            {
                if (n == null || (!n.IsRegular && !n.IsDir)) return write ? Errno.EPERM : Errno.ENODATA;
                if (write && n.IsDir && (n.Mode & FileMode.S_ISVTX) != 0 && !Permission.OwnerOrCapable(Cred.Fs(), n)) return Errno.EPERM;
            }
            if (n == null) return 0;
            return Permission.Check(n, write ? Permission.MAY_WRITE : Permission.MAY_READ);
        }

        /// The name's handler: EOPNOTSUPP for an unknown namespace or system.* name, EINVAL
        /// for a bare prefix ("user.").
        static Errno XattrHandler(ReadOnlySpan<byte> name)
        {
            int ns = Xattr.Namespace(name);
            if (ns == Xattr.Unknown) return Errno.EOPNOTSUPP;
            if (ns == Xattr.System) return Xattr.IsAclName(name) ? 0 : Errno.EOPNOTSUPP;
            return name.Length == Xattr.PrefixLength(ns) ? Errno.EINVAL : 0;
        }

        /// The checks of a set or remove after the file's permission: security.* needs
        /// CAP_SYS_ADMIN (security.capability CAP_SETFCAP), an ACL the owner or CAP_FOWNER,
        /// a default ACL a directory.
        static Errno XattrMayChange(Inode n, ReadOnlySpan<byte> name, bool set)
        {
            int ns = Xattr.Namespace(name);
            if (ns == Xattr.Security && name.Length > 9)
                return XattrCapable(name.SequenceEqual("security.capability"u8) ? CapSetfcap : CapSysAdmin) ? 0 : Errno.EPERM;
            if (ns == Xattr.System && Xattr.IsAclName(name) && n != null)
            {
                if (name.SequenceEqual("system.posix_acl_default"u8) && !n.IsDir) return set ? Errno.EACCES : 0;
                if (!Permission.OwnerOrCapable(Cred.Fs(), n)) return Errno.EPERM;
            }
            return 0;
        }

        static bool ReadOnlyMount(Inode n) => n is Ext4Node x && x.M.ReadOnly;

        static SysResult XattrGet(Errno target, Inode n, ulong namePtr, ulong valuePtr, ulong size)
        {
            if (target != 0) return target;
            Span<byte> nb = stackalloc byte[Xattr.NameMax + 1];
            Errno e = XattrName(namePtr, nb, out int len);
            if (e != 0) return e;
            ReadOnlySpan<byte> name = nb.Slice(0, len);
            e = XattrPermission(n, name, false);
            if (e == 0) e = XattrHandler(name);
            if (e != 0) return e;
            byte[] value = null;
            e = n == null ? Errno.EOPNOTSUPP : n.GetXattr(name, out value);
            if (e != 0) return e;
            if (size == 0) return value.Length;
            if ((ulong)value.Length > size) return size >= Xattr.SizeMax ? Errno.E2BIG : Errno.ERANGE;
            if (value.Length > 0 && new UserPtr(valuePtr).CopyOut(value) != 0) return Errno.EFAULT;
            return value.Length;
        }

        static SysResult XattrListNames(Errno target, Inode n, ulong listPtr, ulong size)
        {
            if (target != 0) return target;
            if (n == null) return 0;
            Errno e = n.ListXattr(out byte[] all);
            if (e != 0) return e;
            // trusted.* names are listed only to CAP_SYS_ADMIN.
            bool trusted = XattrCapable(CapSysAdmin);
            int total = 0;
            for (int i = 0; i < all.Length;)
            {
                int j = i; while (j < all.Length && all[j] != 0) j++;
                if (trusted || Xattr.Namespace(new ReadOnlySpan<byte>(all, i, j - i)) != Xattr.Trusted) total += j + 1 - i;
                i = j + 1;
            }
            if (size == 0) return total;
            if ((ulong)total > size) return size >= Xattr.ListMax ? Errno.E2BIG : Errno.ERANGE;
            UserPtr dst = new UserPtr(listPtr);
            int at = 0;
            for (int i = 0; i < all.Length;)
            {
                int j = i; while (j < all.Length && all[j] != 0) j++;
                if (trusted || Xattr.Namespace(new ReadOnlySpan<byte>(all, i, j - i)) != Xattr.Trusted)
                {
                    if (dst.Add((ulong)at).CopyOut(new ReadOnlySpan<byte>(all, i, j + 1 - i)) != 0) return Errno.EFAULT;
                    at += j + 1 - i;
                }
                i = j + 1;
            }
            return total;
        }

        static SysResult XattrSet(Errno target, Inode n, ulong namePtr, ulong valuePtr, ulong size, int flags)
        {
            if (target != 0) return target;
            if (ReadOnlyMount(n)) return Errno.EROFS;
            if ((flags & ~(Xattr.XATTR_CREATE | Xattr.XATTR_REPLACE)) != 0) return Errno.EINVAL;
            Span<byte> nb = stackalloc byte[Xattr.NameMax + 1];
            Errno e = XattrName(namePtr, nb, out int len);
            if (e != 0) return e;
            ReadOnlySpan<byte> name = nb.Slice(0, len);
            if (size > Xattr.SizeMax) return Errno.E2BIG;
            var value = new byte[size];
            if (size > 0 && new UserPtr(valuePtr).CopyIn(value) != 0) return Errno.EFAULT;
            e = XattrPermission(n, name, true);
            if (e == 0) e = XattrMayChange(n, name, true);
            if (e == 0) e = XattrHandler(name);
            if (e != 0) return e;
            e = n == null ? Errno.EOPNOTSUPP : n.SetXattr(name, value, flags);
            if (e != 0) return e;
            XattrChanged(n);
            return SysResult.Ok;
        }

        static SysResult XattrRemove(Errno target, Inode n, ulong namePtr)
        {
            if (target != 0) return target;
            if (ReadOnlyMount(n)) return Errno.EROFS;
            Span<byte> nb = stackalloc byte[Xattr.NameMax + 1];
            Errno e = XattrName(namePtr, nb, out int len);
            if (e != 0) return e;
            ReadOnlySpan<byte> name = nb.Slice(0, len);
            e = XattrPermission(n, name, true);
            if (e == 0) e = XattrMayChange(n, name, false);
            if (e == 0) e = XattrHandler(name);
            if (e != 0) return e;
            e = n == null ? Errno.EOPNOTSUPP : n.RemoveXattr(name);
            if (e != 0) return e;
            XattrChanged(n);
            return SysResult.Ok;
        }

        /// A set or remove changed the inode: its ctime, and IN_ATTRIB for inotify.
        static void XattrChanged(Inode n)
        {
            n.TouchCtime();
            if (Inotify.Active) Inotify.Changed(n, Inotify.IN_ATTRIB);
        }

        static Errno PathTarget(ulong pathPtr, bool follow, out Inode n) => WalkExisting(AT_FDCWD, pathPtr, follow, false, out n);

        /// fdget: an O_PATH descriptor is EBADF here.
        static Errno FdTarget(int fd, out Inode n)
        {
            n = null;
            OpenFile f = Fd(fd);
            if (f == null || f.IsPath) return Errno.EBADF;
            n = f.Inode;
            return 0;
        }

        /// getxattr(2)
        public static SysResult Getxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, true, out Inode n); return XattrGet(e, n, a->A1, a->A2, a->A3); }
        /// lgetxattr(2)
        public static SysResult Lgetxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, false, out Inode n); return XattrGet(e, n, a->A1, a->A2, a->A3); }
        /// fgetxattr(2)
        public static SysResult Fgetxattr(SyscallArgs* a) { Errno e = FdTarget((int)a->A0, out Inode n); return XattrGet(e, n, a->A1, a->A2, a->A3); }
        /// listxattr(2)
        public static SysResult Listxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, true, out Inode n); return XattrListNames(e, n, a->A1, a->A2); }
        /// llistxattr(2)
        public static SysResult Llistxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, false, out Inode n); return XattrListNames(e, n, a->A1, a->A2); }
        /// flistxattr(2)
        public static SysResult Flistxattr(SyscallArgs* a) { Errno e = FdTarget((int)a->A0, out Inode n); return XattrListNames(e, n, a->A1, a->A2); }
        /// setxattr(2)
        public static SysResult Setxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, true, out Inode n); return XattrSet(e, n, a->A1, a->A2, a->A3, (int)a->A4); }
        /// lsetxattr(2)
        public static SysResult Lsetxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, false, out Inode n); return XattrSet(e, n, a->A1, a->A2, a->A3, (int)a->A4); }
        /// fsetxattr(2)
        public static SysResult Fsetxattr(SyscallArgs* a) { Errno e = FdTarget((int)a->A0, out Inode n); return XattrSet(e, n, a->A1, a->A2, a->A3, (int)a->A4); }
        /// removexattr(2)
        public static SysResult Removexattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, true, out Inode n); return XattrRemove(e, n, a->A1); }
        /// lremovexattr(2)
        public static SysResult Lremovexattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, false, out Inode n); return XattrRemove(e, n, a->A1); }
        /// fremovexattr(2)
        public static SysResult Fremovexattr(SyscallArgs* a) { Errno e = FdTarget((int)a->A0, out Inode n); return XattrRemove(e, n, a->A1); }
    }
}
