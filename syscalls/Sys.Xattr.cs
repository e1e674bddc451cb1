using Kernel.Fs;
using Kernel.Abi;

namespace Kernel.Syscalls
{
    /// Extended attributes. No filesystem here stores any: reads find none (ENODATA), lists
    /// are empty, and setting one is not supported (EOPNOTSUPP), after the same path and fd
    /// checks Linux makes.
    public static unsafe partial class Sys
    {
        const int XATTR_NAME_MAX = 255;

        static Errno XattrName(ulong namePtr)
        {
            byte* name = stackalloc byte[XATTR_NAME_MAX + 2];
            Errno e = new UserPtr(namePtr).ReadCString(new System.Span<byte>(name, XATTR_NAME_MAX + 2), out int len);
            if (e == Errno.ENAMETOOLONG) return Errno.ERANGE;
            if (e != 0) return e;
            return len == 0 ? Errno.ERANGE : 0;
        }

        static SysResult XattrGet(Errno target, ulong namePtr)
        {
            if (target != 0) return target;
            Errno e = XattrName(namePtr);
            return e != 0 ? e : Errno.ENODATA;
        }

        static SysResult XattrSet(Errno target, ulong namePtr, int flags)
        {
            if (target != 0) return target;
            if ((flags & ~3) != 0) return Errno.EINVAL;
            Errno e = XattrName(namePtr);
            return e != 0 ? e : Errno.EOPNOTSUPP;
        }

        static Errno PathTarget(ulong pathPtr, bool follow) => WalkExisting(AT_FDCWD, pathPtr, follow, false, out _);
        static Errno FdTarget(int fd) => Fd(fd) == null ? Errno.EBADF : 0;

        /// getxattr(2)
        public static SysResult Getxattr(SyscallArgs* a) => XattrGet(PathTarget(a->A0, true), a->A1);
        /// lgetxattr(2)
        public static SysResult Lgetxattr(SyscallArgs* a) => XattrGet(PathTarget(a->A0, false), a->A1);
        /// fgetxattr(2)
        public static SysResult Fgetxattr(SyscallArgs* a) => XattrGet(FdTarget((int)a->A0), a->A1);
        /// listxattr(2)
        public static SysResult Listxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, true); return e != 0 ? e : SysResult.Ok; }
        /// llistxattr(2)
        public static SysResult Llistxattr(SyscallArgs* a) { Errno e = PathTarget(a->A0, false); return e != 0 ? e : SysResult.Ok; }
        /// flistxattr(2)
        public static SysResult Flistxattr(SyscallArgs* a) { Errno e = FdTarget((int)a->A0); return e != 0 ? e : SysResult.Ok; }
        /// setxattr(2)
        public static SysResult Setxattr(SyscallArgs* a) => XattrSet(PathTarget(a->A0, true), a->A1, (int)a->A4);
        /// lsetxattr(2)
        public static SysResult Lsetxattr(SyscallArgs* a) => XattrSet(PathTarget(a->A0, false), a->A1, (int)a->A4);
        /// fsetxattr(2)
        public static SysResult Fsetxattr(SyscallArgs* a) => XattrSet(FdTarget((int)a->A0), a->A1, (int)a->A4);
        /// removexattr(2)
        public static SysResult Removexattr(SyscallArgs* a) => XattrGet(PathTarget(a->A0, true), a->A1);
        /// lremovexattr(2)
        public static SysResult Lremovexattr(SyscallArgs* a) => XattrGet(PathTarget(a->A0, false), a->A1);
        /// fremovexattr(2)
        public static SysResult Fremovexattr(SyscallArgs* a) => XattrGet(FdTarget((int)a->A0), a->A1);
    }
}
