using Kernel.Abi;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    // Credentials: each process has real, effective, saved and filesystem user and group ids
    // and supplementary groups (kernel/proc/Process.cs), inherited by fork, changed by the
    // set*id calls with Linux's rules for who may change what. A process is privileged while
    // its effective id is 0 and it holds CAP_SETUID/CAP_SETGID. Nothing else checks them yet:
    // file permissions, kill and the rest act as root whatever the ids say (the table's notes).
    public static unsafe partial class Sys
    {
        const int CAP_SETGID = 6, CAP_SETUID = 7;
        const int NGROUPS_MAX = 65536;
        const uint NoId = uint.MaxValue;        // (uid_t)-1: "leave unchanged"

        static bool MaySetUids(Process p) => p.Euid == 0 && Capable(CAP_SETUID);
        static bool MaySetGids(Process p) => p.Euid == 0 && Capable(CAP_SETGID);

        /// getuid(2)
        public static SysResult Getuid(SyscallArgs* a) => Cur.Ruid;
        /// geteuid(2)
        public static SysResult Geteuid(SyscallArgs* a) => Cur.Euid;
        /// getgid(2)
        public static SysResult Getgid(SyscallArgs* a) => Cur.Rgid;
        /// getegid(2)
        public static SysResult Getegid(SyscallArgs* a) => Cur.Egid;

        /// getresuid(2)
        public static SysResult Getresuid(SyscallArgs* a) { var p = Cur; return PutIds(a, p.Ruid, p.Euid, p.Suid); }
        /// getresgid(2)
        public static SysResult Getresgid(SyscallArgs* a) { var p = Cur; return PutIds(a, p.Rgid, p.Egid, p.Sgid); }

        static SysResult PutIds(SyscallArgs* a, uint r, uint e, uint s)
        {
            if (new UserRef<uint>(a->A0).Write(r) != 0 || new UserRef<uint>(a->A1).Write(e) != 0 || new UserRef<uint>(a->A2).Write(s) != 0)
                return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// setuid(2): a privileged process sets all four ids; another may set its effective id
        /// to its real or saved one.
        public static SysResult Setuid(SyscallArgs* a)
        {
            var p = Cur;
            uint id = (uint)a->A0;
            if (id == NoId) return Errno.EINVAL;
            if (MaySetUids(p)) { p.Ruid = p.Suid = p.Euid = p.Fsuid = id; return SysResult.Ok; }
            if (id != p.Ruid && id != p.Suid) return Errno.EPERM;
            p.Euid = p.Fsuid = id;
            return SysResult.Ok;
        }

        /// setgid(2)
        public static SysResult Setgid(SyscallArgs* a)
        {
            var p = Cur;
            uint id = (uint)a->A0;
            if (id == NoId) return Errno.EINVAL;
            if (MaySetGids(p)) { p.Rgid = p.Sgid = p.Egid = p.Fsgid = id; return SysResult.Ok; }
            if (id != p.Rgid && id != p.Sgid) return Errno.EPERM;
            p.Egid = p.Fsgid = id;
            return SysResult.Ok;
        }

        /// setreuid(2): unprivileged, the real id may become the effective one and the
        /// effective id any of the three; the saved id follows the new effective id when the
        /// real id is set or the effective one becomes other than the old real id.
        public static SysResult Setreuid(SyscallArgs* a)
        {
            var p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1;
            if (!MaySetUids(p))
            {
                if (r != NoId && r != p.Ruid && r != p.Euid) return Errno.EPERM;
                if (e != NoId && e != p.Ruid && e != p.Euid && e != p.Suid) return Errno.EPERM;
            }
            uint oldReal = p.Ruid;
            if (r != NoId) p.Ruid = r;
            if (e != NoId) p.Euid = e;
            if (r != NoId || (e != NoId && e != oldReal)) p.Suid = p.Euid;
            p.Fsuid = p.Euid;
            return SysResult.Ok;
        }

        /// setregid(2)
        public static SysResult Setregid(SyscallArgs* a)
        {
            var p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1;
            if (!MaySetGids(p))
            {
                if (r != NoId && r != p.Rgid && r != p.Egid) return Errno.EPERM;
                if (e != NoId && e != p.Rgid && e != p.Egid && e != p.Sgid) return Errno.EPERM;
            }
            uint oldReal = p.Rgid;
            if (r != NoId) p.Rgid = r;
            if (e != NoId) p.Egid = e;
            if (r != NoId || (e != NoId && e != oldReal)) p.Sgid = p.Egid;
            p.Fsgid = p.Egid;
            return SysResult.Ok;
        }

        /// setresuid(2): unprivileged, each id may become any of the current three.
        public static SysResult Setresuid(SyscallArgs* a)
        {
            var p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1, s = (uint)a->A2;
            if (!MaySetUids(p) && !(OneOf(r, p.Ruid, p.Euid, p.Suid) && OneOf(e, p.Ruid, p.Euid, p.Suid) && OneOf(s, p.Ruid, p.Euid, p.Suid)))
                return Errno.EPERM;
            if (r != NoId) p.Ruid = r;
            if (e != NoId) p.Euid = e;
            if (s != NoId) p.Suid = s;
            p.Fsuid = p.Euid;
            return SysResult.Ok;
        }

        /// setresgid(2)
        public static SysResult Setresgid(SyscallArgs* a)
        {
            var p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1, s = (uint)a->A2;
            if (!MaySetGids(p) && !(OneOf(r, p.Rgid, p.Egid, p.Sgid) && OneOf(e, p.Rgid, p.Egid, p.Sgid) && OneOf(s, p.Rgid, p.Egid, p.Sgid)))
                return Errno.EPERM;
            if (r != NoId) p.Rgid = r;
            if (e != NoId) p.Egid = e;
            if (s != NoId) p.Sgid = s;
            p.Fsgid = p.Egid;
            return SysResult.Ok;
        }

        static bool OneOf(uint id, uint a, uint b, uint c) => id == NoId || id == a || id == b || id == c;

        /// getgroups(2): the count with size 0, else the list (EINVAL when it does not fit).
        public static SysResult Getgroups(SyscallArgs* a)
        {
            int size = (int)a->A0;
            uint[] g = Cur.Groups;
            if (size < 0) return Errno.EINVAL;
            if (size == 0) return g.Length;
            if (size < g.Length) return Errno.EINVAL;
            for (int i = 0; i < g.Length; i++)
                if (new UserRef<uint>(a->A1 + (ulong)i * 4).Write(g[i]) != 0) return Errno.EFAULT;
            return g.Length;
        }

        /// setgroups(2): needs CAP_SETGID (as root).
        public static SysResult Setgroups(SyscallArgs* a)
        {
            var p = Cur;
            long size = (long)a->A0;
            if (size < 0 || size > NGROUPS_MAX) return Errno.EINVAL;
            if (!MaySetGids(p)) return Errno.EPERM;
            var g = size == 0 ? Process.NoGroups : new uint[size];
            for (int i = 0; i < g.Length; i++)
                if (new UserRef<uint>(a->A1 + (ulong)i * 4).Read(out g[i]) != 0) return Errno.EFAULT;
            for (int i = 1; i < g.Length; i++)          // kept sorted, as Linux (getgroups shows it)
                for (int j = i; j > 0 && g[j - 1] > g[j]; j--) { uint t = g[j]; g[j] = g[j - 1]; g[j - 1] = t; }
            p.Groups = g;
            return SysResult.Ok;
        }
    }
}
