using Kernel.Abi;
using Kernel.Memory;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    /// System V shared memory (shmget, shmat, shmdt, shmctl; svipc(7)): segments are
    /// kernel/proc/SysvShm.cs's. Access is checked as Linux's ipcperms: the segment's mode
    /// bits for its owner or creator, their groups, or others, against the caller's
    /// effective ids, unless it has CAP_IPC_OWNER; IPC_SET and IPC_RMID are for the owner,
    /// the creator or CAP_SYS_ADMIN.
    public static unsafe partial class Sys
    {
        const int IPC_PRIVATE = 0, IPC_CREAT = 0x200, IPC_EXCL = 0x400;
        const int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3;
        const int SHM_LOCK = 11, SHM_UNLOCK = 12, SHM_STAT = 13, SHM_INFO = 14, SHM_STAT_ANY = 15;
        const int SHM_RDONLY = 0x1000, SHM_RND = 0x2000, SHM_REMAP = 0x4000, SHM_EXEC = 0x8000;
        const ulong ShmMin = 1, ShmMax = ulong.MaxValue - (1UL << 24), ShmAll = ulong.MaxValue - (1UL << 24);

        /// Linux's ipcperms: whether the caller may have `requested` (rwx bits in any of the
        /// three positions, as shmflg's 0777) of segment `s`.
        static bool IpcAllowed(ShmSegment s, uint requested)
        {
            Process p = Cur;
            uint want = (requested >> 6 | requested >> 3 | requested) & 7, granted = s.Mode;
            Kernel.Fs.Cred c = Kernel.Fs.Cred.Fs();
            if (p.Euid == s.Cuid || p.Euid == s.Uid) granted >>= 6;
            else if (c.InGroup(s.Cgid) || c.InGroup(s.Gid)) granted >>= 3;
            return (want & ~granted & 7) == 0 || Capable(15);             // CAP_IPC_OWNER
        }

        /// shmget(2)
        public static SysResult Shmget(SyscallArgs* a)
        {
            int key = (int)a->A0, flags = (int)a->A2;
            ulong size = a->A1;
            Process p = Cur;
            ShmSegment s = key == IPC_PRIVATE ? null : ShmSegment.FindKey(key);
            if (s != null)
            {
                if ((flags & (IPC_CREAT | IPC_EXCL)) == (IPC_CREAT | IPC_EXCL)) return Errno.EEXIST;
                if (size > s.Size) return Errno.EINVAL;
                if (!IpcAllowed(s, (uint)flags & 0x1ff)) return Errno.EACCES;
                return s.Id;
            }
            if (key != IPC_PRIVATE && (flags & IPC_CREAT) == 0) return Errno.ENOENT;
            if (size < ShmMin || size > ShmMax) return Errno.EINVAL;
            if (PageUp(size) > PhysicalMemory.TotalBytes) return Errno.ENOMEM;     // more than the machine has
            s = ShmSegment.Create(key, size, (uint)flags, p);
            if (s == null) return Errno.ENOSPC;
            return s.Id;
        }

        /// shmat(2): maps the whole segment shared, at `addr` (rounded down with SHM_RND) or
        /// where the kernel chooses.
        public static SysResult Shmat(SyscallArgs* a)
        {
            int id = (int)a->A0, flags = (int)a->A2;
            ulong addr = a->A1;
            ShmSegment s = ShmSegment.Find(id);
            if (s == null) return Errno.EINVAL;
            if (!IpcAllowed(s, (flags & SHM_RDONLY) != 0 ? 0x124u : 0x1b6u)) return Errno.EACCES;   // S_IRUGO, or with S_IWUGO
            if (addr != 0)
            {
                if ((flags & SHM_RND) != 0) addr &= ~PageMask;
                else if (!PageAligned(addr)) return Errno.EINVAL;
            }
            else if ((flags & SHM_REMAP) != 0) return Errno.EINVAL;
            uint prot = UserMemory.ProtRead;
            if ((flags & SHM_RDONLY) == 0) prot |= UserMemory.ProtWrite;
            if ((flags & SHM_EXEC) != 0) prot |= UserMemory.ProtExec;
            ulong size = PageUp(s.Size);
            ulong start;
            if (addr != 0)
            {
                if (addr + size > AddressSpace.UserLimit || addr + size < addr) return Errno.EINVAL;
                if (Mm.Vmas.Overlaps(addr, addr + size))
                {
                    if ((flags & SHM_REMAP) == 0) return Errno.EINVAL;
                    Mm.Unmap(addr, addr + size);
                }
                start = addr;
            }
            else
            {
                start = Mm.Vmas.FindFreeTopDown(size, UserMemory.MmapBottom, UserMemory.MmapTop);
                if (start == 0) return Errno.ENOMEM;
            }
            Mm.AddFileVma(start, start + size, prot, true, s, 0);
            s.Lpid = Cur.Pid;
            Kernel.Fs.Vfs.Now(out s.Atime, out _);
            return (long)start;
        }

        /// shmdt(2): detaches the segment attached at `addr` (every page of it from there).
        public static SysResult Shmdt(SyscallArgs* a)
        {
            ulong addr = a->A0;
            if (!PageAligned(addr)) return Errno.EINVAL;
            if (!(Mm.FileOf(addr) is ShmSegment s) || Mm.FileOffsetOf(addr) != 0) return Errno.EINVAL;
            ulong end = addr + PageUp(s.Size);
            // Only the pages of this segment go (another mapping may sit inside its old range).
            for (ulong p = addr; p < end; )
            {
                int i = Mm.Vmas.IndexOf(p);
                if (i < 0) { p += 4096; continue; }
                ulong ve = Mm.Vmas[i].End < end ? Mm.Vmas[i].End : end;
                if (Mm.FileOf(p) == s) Mm.Unmap(p, ve);
                p = ve;
            }
            s.Lpid = Cur.Pid;
            Kernel.Fs.Vfs.Now(out s.Dtime, out _);
            return SysResult.Ok;
        }

        /// shmctl(2)
        public static SysResult Shmctl(SyscallArgs* a)
        {
            int id = (int)a->A0, cmd = (int)a->A1;
            ulong buf = a->A2;
            Process p = Cur;
            switch (cmd)
            {
                case IPC_INFO:
                {
                    ulong* info = stackalloc ulong[9];
                    for (int i = 0; i < 9; i++) info[i] = 0;
                    info[0] = ShmMax; info[1] = ShmMin; info[2] = ShmSegment.Max; info[3] = ShmSegment.Max; info[4] = ShmAll;
                    if (new UserPtr(buf).CopyOut(info, 72) != 0) return Errno.EFAULT;
                    int hi = ShmSegment.HighestIndex();
                    return hi < 0 ? 0 : hi;
                }
                case SHM_INFO:
                {
                    ulong* info = stackalloc ulong[6];
                    for (int i = 0; i < 6; i++) info[i] = 0;
                    info[0] = (ulong)ShmSegment.Used(out ulong pages);
                    info[1] = pages;                     // shm_tot
                    info[2] = pages;                     // shm_rss: tmpfs pages are resident
                    if (new UserPtr(buf).CopyOut(info, 48) != 0) return Errno.EFAULT;
                    int hi = ShmSegment.HighestIndex();
                    return hi < 0 ? 0 : hi;
                }
                case IPC_STAT:
                case SHM_STAT:
                case SHM_STAT_ANY:
                {
                    ShmSegment s = cmd == IPC_STAT ? ShmSegment.Find(id) : ShmSegment.AtIndex(id);
                    if (s == null) return Errno.EINVAL;
                    if (cmd != SHM_STAT_ANY && !IpcAllowed(s, 0x124)) return Errno.EACCES;
                    byte* d = stackalloc byte[112];
                    for (int i = 0; i < 112; i++) d[i] = 0;
                    *(int*)(d + 0) = s.Key;
                    *(uint*)(d + 4) = s.Uid; *(uint*)(d + 8) = s.Gid; *(uint*)(d + 12) = s.Cuid; *(uint*)(d + 16) = s.Cgid;
                    *(uint*)(d + 20) = s.Mode;
                    *(ushort*)(d + 24) = s.Seq;
                    *(ulong*)(d + 48) = s.Size;
                    *(long*)(d + 56) = s.Atime; *(long*)(d + 64) = s.Dtime; *(long*)(d + 72) = s.Ctime;
                    *(int*)(d + 80) = s.Cpid; *(int*)(d + 84) = s.Lpid;
                    *(ulong*)(d + 88) = s.Nattch;
                    if (new UserPtr(buf).CopyOut(d, 112) != 0) return Errno.EFAULT;
                    return cmd == IPC_STAT ? 0 : s.Id;
                }
                case IPC_SET:
                case IPC_RMID:
                case SHM_LOCK:
                case SHM_UNLOCK:
                {
                    ShmSegment s = ShmSegment.Find(id);
                    if (s == null) return Errno.EINVAL;
                    if (cmd == SHM_LOCK || cmd == SHM_UNLOCK)
                    {
                        if (!Capable(14) && p.Euid != s.Uid && p.Euid != s.Cuid) return Errno.EPERM;   // CAP_IPC_LOCK
                        if (cmd == SHM_LOCK) s.Mode |= ShmSegment.SHM_LOCKED; else s.Mode &= ~ShmSegment.SHM_LOCKED;
                        return SysResult.Ok;
                    }
                    // Only the owner, the creator or a privileged caller.
                    if (p.Euid != s.Uid && p.Euid != s.Cuid && !Capable(21)) return Errno.EPERM;   // CAP_SYS_ADMIN
                    if (cmd == IPC_RMID) { s.MarkDestroyed(); return SysResult.Ok; }
                    byte* d = stackalloc byte[112];
                    if (new UserPtr(buf).CopyIn(d, 112) != 0) return Errno.EFAULT;
                    s.Uid = *(uint*)(d + 4); s.Gid = *(uint*)(d + 8);
                    s.Mode = (s.Mode & ~0x1ffu) | (*(uint*)(d + 20) & 0x1ff);
                    Kernel.Fs.Vfs.Now(out s.Ctime, out _);
                    return SysResult.Ok;
                }
                default:
                    return Errno.EINVAL;
            }
        }
    }
}
