using System;
using Kernel.Abi;
using Kernel.Proc;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    /// User and group identity (credentials(7)): the real, effective, saved and filesystem
    /// ids and the supplementary groups of the calling process, with Linux's rules for who
    /// may change what. A process with effective uid 0 may set any id (CAP_SETUID/CAP_SETGID
    /// follow the euid); the others may only move between the ids they already have. Files
    /// are created with, and permissions checked against, the filesystem ids (fs/Permission.cs).
    public static unsafe partial class Sys
    {
        const uint NoId = 0xffffffff;
        const int NgroupsMax = 65536;

        static bool MayChangeUid(Process p) => Capable(Capabilities.CAP_SETUID);
        static bool MayChangeGid(Process p) => Capable(Capabilities.CAP_SETGID);

        /// getuid(2), geteuid(2), getgid(2), getegid(2)
        public static SysResult Getuid(SyscallArgs* a) => (long)Cur.Ruid;
        public static SysResult Geteuid(SyscallArgs* a) => (long)Cur.Euid;
        public static SysResult Getgid(SyscallArgs* a) => (long)Cur.Rgid;
        public static SysResult Getegid(SyscallArgs* a) => (long)Cur.Egid;

        /// getresuid(2)
        public static SysResult Getresuid(SyscallArgs* a) { Process p = Cur; return PutThree(a, p.Ruid, p.Euid, p.Suid); }
        /// getresgid(2)
        public static SysResult Getresgid(SyscallArgs* a) { Process p = Cur; return PutThree(a, p.Rgid, p.Egid, p.Sgid); }

        static SysResult PutThree(SyscallArgs* a, uint r, uint e, uint s)
        {
            if (new UserRef<uint>(a->A0).Write(r) != 0 || new UserRef<uint>(a->A1).Write(e) != 0 || new UserRef<uint>(a->A2).Write(s) != 0)
                return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// setuid(2): root sets all three ids; others only the effective one, to the real or saved.
        static SysResult SetuidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint id = (uint)a->A0;
            if (id == NoId) return Errno.EINVAL;
            if (MayChangeUid(p)) { p.Ruid = p.Euid = p.Suid = p.Fsuid = id; return SysResult.Ok; }
            if (id != p.Ruid && id != p.Suid) return Errno.EPERM;
            p.Euid = p.Fsuid = id;
            return SysResult.Ok;
        }

        /// setgid(2)
        static SysResult SetgidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint id = (uint)a->A0;
            if (id == NoId) return Errno.EINVAL;
            if (MayChangeGid(p)) { p.Rgid = p.Egid = p.Sgid = p.Fsgid = id; return SysResult.Ok; }
            if (id != p.Rgid && id != p.Sgid) return Errno.EPERM;
            p.Egid = p.Fsgid = id;
            return SysResult.Ok;
        }

        /// setreuid(2): -1 leaves an id; the saved id follows the new effective one when the real
        /// one is set or the effective one moves away from the old real one.
        static SysResult SetreuidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1;
            if (!MayChangeUid(p))
            {
                if (r != NoId && r != p.Ruid && r != p.Euid) return Errno.EPERM;
                if (e != NoId && e != p.Ruid && e != p.Euid && e != p.Suid) return Errno.EPERM;
            }
            uint oldRuid = p.Ruid;
            if (r != NoId) p.Ruid = r;
            if (e != NoId) p.Euid = e;
            if (r != NoId || (e != NoId && e != oldRuid)) p.Suid = p.Euid;
            p.Fsuid = p.Euid;
            return SysResult.Ok;
        }

        /// setregid(2)
        static SysResult SetregidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1;
            if (!MayChangeGid(p))
            {
                if (r != NoId && r != p.Rgid && r != p.Egid) return Errno.EPERM;
                if (e != NoId && e != p.Rgid && e != p.Egid && e != p.Sgid) return Errno.EPERM;
            }
            uint oldRgid = p.Rgid;
            if (r != NoId) p.Rgid = r;
            if (e != NoId) p.Egid = e;
            if (r != NoId || (e != NoId && e != oldRgid)) p.Sgid = p.Egid;
            p.Fsgid = p.Egid;
            return SysResult.Ok;
        }

        /// setresuid(2): without privilege each new id must be one of the current three.
        static SysResult SetresuidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1, s = (uint)a->A2;
            if (!MayChangeUid(p) && (!OneOf(r, p.Ruid, p.Euid, p.Suid) || !OneOf(e, p.Ruid, p.Euid, p.Suid) || !OneOf(s, p.Ruid, p.Euid, p.Suid)))
                return Errno.EPERM;
            if (r != NoId) p.Ruid = r;
            if (e != NoId) p.Euid = e;
            if (s != NoId) p.Suid = s;
            p.Fsuid = p.Euid;
            return SysResult.Ok;
        }

        /// setresgid(2)
        static SysResult SetresgidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint r = (uint)a->A0, e = (uint)a->A1, s = (uint)a->A2;
            if (!MayChangeGid(p) && (!OneOf(r, p.Rgid, p.Egid, p.Sgid) || !OneOf(e, p.Rgid, p.Egid, p.Sgid) || !OneOf(s, p.Rgid, p.Egid, p.Sgid)))
                return Errno.EPERM;
            if (r != NoId) p.Rgid = r;
            if (e != NoId) p.Egid = e;
            if (s != NoId) p.Sgid = s;
            p.Fsgid = p.Egid;
            return SysResult.Ok;
        }

        static bool OneOf(uint id, uint a, uint b, uint c) => id == NoId || id == a || id == b || id == c;

        /// setfsuid(2): always returns the previous filesystem uid; changes it only to an id the
        /// caller has (or any, with privilege).
        static SysResult SetfsuidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint old = p.Fsuid, id = (uint)a->A0;
            if (MayChangeUid(p) || id == p.Ruid || id == p.Euid || id == p.Suid || id == p.Fsuid) p.Fsuid = id;
            return (long)old;
        }

        /// setfsgid(2)
        static SysResult SetfsgidCore(SyscallArgs* a)
        {
            Process p = Cur;
            uint old = p.Fsgid, id = (uint)a->A0;
            if (MayChangeGid(p) || id == p.Rgid || id == p.Egid || id == p.Sgid || id == p.Fsgid) p.Fsgid = id;
            return (long)old;
        }

        /// The ids whose change makes a process non-dumpable (commit_creds with fs.suid_dumpable
        /// 0): then /proc/PID's files are root's (kernel/proc/ProcFs.cs) and prctl says 0.
        /// Also where a change of user ids moves the capability sets (Capabilities.UidsChanged).
        readonly struct Ids
        {
            readonly uint _ruid, _euid, _suid, _egid, _fsuid, _fsgid;
            public Ids(Process p) { _ruid = p.Ruid; _euid = p.Euid; _suid = p.Suid; _egid = p.Egid; _fsuid = p.Fsuid; _fsgid = p.Fsgid; }
            public void Commit(Process p)
            {
                if (p.Euid != _euid || p.Egid != _egid || p.Fsuid != _fsuid || p.Fsgid != _fsgid) p.Dumpable = 0;
                Capabilities.UidsChanged(p, _ruid, _euid, _suid, _fsuid);
            }
        }

        // setuid(2) ... setfsgid(2): the calls above, then the dumpable rule.
        public static SysResult Setuid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetuidCore(a); old.Commit(Cur); return r; }
        public static SysResult Setgid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetgidCore(a); old.Commit(Cur); return r; }
        public static SysResult Setreuid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetreuidCore(a); old.Commit(Cur); return r; }
        public static SysResult Setregid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetregidCore(a); old.Commit(Cur); return r; }
        public static SysResult Setresuid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetresuidCore(a); old.Commit(Cur); return r; }
        public static SysResult Setresgid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetresgidCore(a); old.Commit(Cur); return r; }
        public static SysResult Setfsuid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetfsuidCore(a); old.Commit(Cur); return r; }
        public static SysResult Setfsgid(SyscallArgs* a) { Ids old = new Ids(Cur); SysResult r = SetfsgidCore(a); old.Commit(Cur); return r; }

        /// getgroups(2): size 0 asks for the count; a smaller list than the groups is EINVAL.
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

        /// setgroups(2): privileged only; the list replaces the old one.
        public static SysResult Setgroups(SyscallArgs* a)
        {
            Process p = Cur;
            long size = (long)a->A0;
            if (!MayChangeGid(p)) return Errno.EPERM;
            if ((ulong)size > NgroupsMax) return Errno.EINVAL;
            var g = new uint[size];
            for (int i = 0; i < size; i++)
                if (new UserRef<uint>(a->A1 + (ulong)i * 4).Read(out g[i]) != 0) return Errno.EFAULT;
            // Linux keeps the list sorted (getgroups and /proc show it so).
            for (int i = 1; i < g.Length; i++)
            {
                uint v = g[i];
                int j = i - 1;
                while (j >= 0 && g[j] > v) { g[j + 1] = g[j]; j--; }
                g[j + 1] = v;
            }
            p.Groups = g;
            return SysResult.Ok;
        }
    }
}
