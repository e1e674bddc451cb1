using Kernel.Abi;
using Kernel.Fs;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Syscalls
{
    /// inotify(7): instances and watches (fs/Inotify.cs holds the events and the hooks).
    public static unsafe partial class Sys
    {
        /// inotify_init(2)
        public static SysResult InotifyInit(SyscallArgs* a) => NewInotify(0);
        /// inotify_init1(2)
        public static SysResult InotifyInit1(SyscallArgs* a) => NewInotify((int)a->A0);

        static SysResult NewInotify(int flags)
        {
            if ((flags & ~(int)(O_NONBLOCK | O_CLOEXEC)) != 0) return Errno.EINVAL;
            Errno e = Inotify.NewInstance(Cur.Euid, (uint)flags & O_NONBLOCK, out InotifyFile f);
            if (e != 0) return e;
            return Install(f, (flags & O_CLOEXEC) != 0);
        }

        /// inotify_add_watch(2)
        public static SysResult InotifyAddWatch(SyscallArgs* a)
        {
            uint mask = (uint)a->A2;
            // Linux's order: the mask, then the fd, then the path.
            if ((mask & Inotify.AllBits) == 0) return Errno.EINVAL;
            if ((mask & Inotify.IN_MASK_ADD) != 0 && (mask & Inotify.IN_MASK_CREATE) != 0) return Errno.EINVAL;
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            if (!(f is InotifyFile g)) return Errno.EINVAL;
            Errno e = WalkExisting(AT_FDCWD, a->A1, (mask & Inotify.IN_DONT_FOLLOW) == 0, false, out Inode node);
            if (e != 0) return e;
            if ((mask & Inotify.IN_ONLYDIR) != 0 && !node.IsDir) return Errno.ENOTDIR;
            if (!MayRead(node)) return Errno.EACCES;
            return Inotify.AddWatch(g, node, mask);
        }

        /// inotify_rm_watch(2)
        public static SysResult InotifyRmWatch(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            if (!(f is InotifyFile g)) return Errno.EINVAL;
            Errno e = g.RemoveWatch((int)a->A1);
            return e != 0 ? e : SysResult.Ok;
        }

        /// Read permission for the caller's filesystem ids (watching needs it).
        static bool MayRead(Inode n) => Permission.Check(n, Permission.MAY_READ) == 0;
    }
}
