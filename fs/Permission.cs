using Kernel.Abi;
using Kernel.Sched;

namespace Kernel.Fs
{
    /// The ids and capabilities a permission check is made against: the filesystem ids and
    /// effective capabilities of the caller (credentials(7); the file capabilities leave the
    /// effective set when the fsuid leaves 0: Capabilities.UidsChanged), or for access(2) its
    /// real ids, with the permitted set when the real uid is 0 and none otherwise.
    public readonly struct Cred
    {
        public readonly uint Uid, Gid;
        public readonly uint[] Groups;
        public readonly ulong Caps;
        /// Caps hold CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: no search check can fail.
        public readonly bool SearchesAll;

        Cred(uint uid, uint gid, uint[] groups, ulong caps)
        {
            Uid = uid; Gid = gid; Groups = groups; Caps = caps;
            SearchesAll = (caps & (1UL << Capabilities.CAP_DAC_READ_SEARCH)) != 0 || (caps & (1UL << Capabilities.CAP_DAC_OVERRIDE)) != 0;
        }

        /// The caller's filesystem ids (the kernel's own work, with no process, is root's).
        public static Cred Fs()
        {
            Thread t = Scheduler.Current;
            ThreadGroup g = t != null ? t.Group : null;
            if (g == null) return new Cred(0, 0, null, Capabilities.All);
            return new Cred(g.Fsuid, g.Fsgid, g.Groups, g.CapEffective);
        }

        /// The caller's real ids, as access(2) checks them: a real uid 0 has the permitted set.
        public static Cred Real()
        {
            Thread t = Scheduler.Current;
            ThreadGroup g = t != null ? t.Group : null;
            if (g == null) return new Cred(0, 0, null, Capabilities.All);
            return new Cred(g.Ruid, g.Rgid, g.Groups, g.Ruid == 0 ? g.CapPermitted : 0);
        }

        public bool Capable(int cap) => (Caps & (1UL << cap)) != 0;

        /// in_group_p: the group id or one of the supplementary groups.
        public bool InGroup(uint gid)
        {
            if (gid == Gid) return true;
            uint[] g = Groups;
            if (g != null)
                for (int i = 0; i < g.Length; i++)
                    if (g[i] == gid) return true;
            return false;
        }
    }

    /// Discretionary access control (path_resolution(7), the inode_permission and may_delete
    /// rules): the owner's, the group's or the others' rwx bits by who is asking; then
    /// CAP_DAC_OVERRIDE (anything but executing a file with no x bit at all) and
    /// CAP_DAC_READ_SEARCH (read anything, search any directory). The path walk, the syscall
    /// layer and sockets call these before they change or open anything.
    public static class Permission
    {
        public const int MAY_EXEC = 1, MAY_WRITE = 2, MAY_READ = 4;

        /// May `c` access `n` for `mask` (MAY_READ | MAY_WRITE | MAY_EXEC)? EACCES if not.
        public static Errno Check(in Cred c, Inode n, int mask)
        {
            uint mode = n.Mode;
            uint bits;
            if (c.Uid == n.Uid) bits = mode >> 6;
            else if (c.InGroup(n.Gid)) bits = mode >> 3;
            else bits = mode;
            if ((mask & ~(int)(bits & 7)) == 0) return 0;
            if (n.IsDir)
            {
                if ((mask & MAY_WRITE) == 0 && c.Capable(Capabilities.CAP_DAC_READ_SEARCH)) return 0;
                return c.Capable(Capabilities.CAP_DAC_OVERRIDE) ? 0 : Errno.EACCES;
            }
            if (mask == MAY_READ && c.Capable(Capabilities.CAP_DAC_READ_SEARCH)) return 0;
            if (((mask & MAY_EXEC) == 0 || (mode & 0x49) != 0) && c.Capable(Capabilities.CAP_DAC_OVERRIDE)) return 0;
            return Errno.EACCES;
        }

        /// The same, for the caller's filesystem ids.
        public static Errno Check(Inode n, int mask) => Check(Cred.Fs(), n, mask);

        /// inode_owner_or_capable: the owner, or CAP_FOWNER.
        public static bool OwnerOrCapable(in Cred c, Inode n) => c.Uid == n.Uid || c.Capable(Capabilities.CAP_FOWNER);

        /// May `c` make a new name in `dir` (create, mkdir, mknod, symlink, link, bind)?
        public static Errno MayCreate(in Cred c, Inode dir) => Check(c, dir, MAY_WRITE | MAY_EXEC);

        /// May `c` remove or replace `victim`'s name in `dir` (unlink, rmdir, rename)? Write and
        /// search on the directory; in a sticky directory, only the owner of the file or of the
        /// directory (or CAP_FOWNER), else EPERM.
        public static Errno MayDelete(in Cred c, Inode dir, Inode victim)
        {
            Errno e = Check(c, dir, MAY_WRITE | MAY_EXEC);
            if (e != 0) return e;
            if ((dir.Mode & FileMode.S_ISVTX) != 0 && c.Uid != victim.Uid && c.Uid != dir.Uid && !c.Capable(Capabilities.CAP_FOWNER))
                return Errno.EPERM;
            return 0;
        }

        /// The mode bits a chmod by `c` sets on `n`: S_ISGID is dropped when the caller is not
        /// in the file's group and lacks CAP_FSETID.
        public static uint ChmodBits(in Cred c, Inode n, uint mode)
        {
            if ((mode & FileMode.S_ISGID) != 0 && !c.InGroup(n.Gid) && !c.Capable(Capabilities.CAP_FSETID)) mode &= ~FileMode.S_ISGID;
            return mode;
        }

        /// A write to (or truncation of) `n` by the caller: without CAP_FSETID it clears
        /// S_ISUID, and S_ISGID when the group may execute (file_remove_privs). The check is
        /// one test when neither bit is set.
        public static void WriteKillsPrivs(Inode n)
        {
            uint mode = n.Mode;
            if ((mode & (FileMode.S_ISUID | FileMode.S_ISGID)) == 0 || !n.IsRegular) return;
            uint kill = mode & FileMode.S_ISUID;
            if ((mode & (FileMode.S_ISGID | 0x8)) == (FileMode.S_ISGID | 0x8)) kill |= FileMode.S_ISGID;
            if (kill == 0 || Cred.Fs().Capable(Capabilities.CAP_FSETID)) return;
            n.Mode = mode & ~kill;
            n.TouchCtime();
        }

        /// fs.protected_hardlinks (1 on Linux distributions): who is not the owner (nor has
        /// CAP_FOWNER) may link only a regular file that is neither set-user-ID nor executable
        /// set-group-ID and that they may read and write; else EPERM.
        public static Errno MayLink(in Cred c, Inode n)
        {
            if (OwnerOrCapable(c, n)) return 0;
            uint mode = n.Mode;
            if (n.IsRegular && (mode & FileMode.S_ISUID) == 0 && (mode & (FileMode.S_ISGID | 0x8)) != (FileMode.S_ISGID | 0x8)
                && Check(c, n, MAY_READ | MAY_WRITE) == 0)
                return 0;
            return Errno.EPERM;
        }
    }
}
