using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Proc;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;

        static FdTable Files => Cur.Files;

        /// Linux caps one read or write at MAX_RW_COUNT bytes (INT_MAX rounded down to a page).
        const ulong MaxRwCount = 0x7ffff000;

        static bool CanRead(OpenFile f) => (f.StatusFlags & O_ACCMODE) != O_WRONLY;
        static bool CanWrite(OpenFile f) => (f.StatusFlags & O_ACCMODE) != 0;

        // Checks run in Linux's order: the fd, pread's ESPIPE, the access mode, then the
        // buffer (access_ok: EFAULT even when nothing would be copied), then the offset.

        /// read(2)
        public static SysResult Read(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || !CanRead(f) || f.IsPath) return Errno.EBADF;
            if (!UserPtr.AccessOk(a->A1, a->A2)) return Errno.EFAULT;
            return Accessed(f, f.Read(new UserPtr(a->A1), a->A2 > MaxRwCount ? MaxRwCount : a->A2));
        }

        /// write(2)
        public static SysResult Write(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || !CanWrite(f) || f.IsPath) return Errno.EBADF;
            if (!UserPtr.AccessOk(a->A1, a->A2)) return Errno.EFAULT;
            return Modified(f, f.Write(new UserPtr(a->A1), a->A2 > MaxRwCount ? MaxRwCount : a->A2));
        }

        /// pread64(2)
        public static SysResult Pread(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (!f.Positional) return Errno.ESPIPE;
            if (!CanRead(f)) return Errno.EBADF;
            if (!UserPtr.AccessOk(a->A1, a->A2)) return Errno.EFAULT;
            if ((long)a->A3 < 0) return Errno.EINVAL;
            return Accessed(f, f.ReadAt(new UserPtr(a->A1), a->A2 > MaxRwCount ? MaxRwCount : a->A2, (long)a->A3));
        }

        /// pwrite64(2)
        public static SysResult Pwrite(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (!f.Positional) return Errno.ESPIPE;
            if (!CanWrite(f)) return Errno.EBADF;
            if (!UserPtr.AccessOk(a->A1, a->A2)) return Errno.EFAULT;
            if ((long)a->A3 < 0) return Errno.EINVAL;
            return Modified(f, f.WriteAt(new UserPtr(a->A1), a->A2 > MaxRwCount ? MaxRwCount : a->A2, (long)a->A3));
        }

        /// readv(2)
        public static SysResult Readv(SyscallArgs* a) => Vectored(a, false, false, -1);
        /// writev(2)
        public static SysResult Writev(SyscallArgs* a) => Vectored(a, true, false, -1);
        /// preadv(2)
        public static SysResult Preadv(SyscallArgs* a) => Vectored(a, false, true, (long)a->A3);
        /// pwritev(2)
        public static SysResult Pwritev(SyscallArgs* a) => Vectored(a, true, true, (long)a->A3);
        /// preadv2(2): offset -1 means the file position; RWF_* flags beyond HIPRI/NOWAIT are rejected.
        public static SysResult Preadv2(SyscallArgs* a) => (a->A5 & ~0x1fUL) != 0 ? Errno.EOPNOTSUPP : Vectored(a, false, (long)a->A3 != -1, (long)a->A3);
        /// pwritev2(2)
        public static SysResult Pwritev2(SyscallArgs* a) => (a->A5 & ~0x1fUL) != 0 ? Errno.EOPNOTSUPP : Vectored(a, true, (long)a->A3 != -1, (long)a->A3);

        /// Validates every vector first, as Linux does: an unreadable iovec array is EFAULT and
        /// a negative length EINVAL; then each buffer must pass access_ok, even an empty one.
        /// (The total is capped at MaxRwCount by the callers, not an error.)
        static Errno CheckIovecs(UserPtr iovs, long count)
        {
            for (long i = 0; i < count; i++)
            {
                Iovec v;
                if (iovs.Add((ulong)i * 16).CopyIn(&v, 16) != 0) return Errno.EFAULT;
                if ((long)v.Len < 0) return Errno.EINVAL;
            }
            for (long i = 0; i < count; i++)
            {
                Iovec v;
                iovs.Add((ulong)i * 16).CopyIn(&v, 16);
                if (!UserPtr.AccessOk(v.Base, v.Len)) return Errno.EFAULT;
            }
            return 0;
        }

        static SysResult Vectored(SyscallArgs* a, bool write, bool positional, long offset)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (positional && !f.Positional) return Errno.ESPIPE;
            if (write ? !CanWrite(f) : !CanRead(f)) return Errno.EBADF;
            long count = (long)a->A2;
            if (count < 0 || count > 1024) return Errno.EINVAL;
            if (count == 0) return 0;
            var iovs = new UserPtr(a->A1);
            Errno bad = CheckIovecs(iovs, count);
            if (bad != 0) return bad;
            if (positional && offset < 0) return Errno.EINVAL;
            SysResult r = EachIovec(iovs, count, f, offset,
                positional ? (write ? &PwriteStep : &PreadStep) : (write ? &WriteStep : &ReadStep));
            return write ? Modified(f, r) : Accessed(f, r);
        }

        /// inotify: a read that returned data is IN_ACCESS, a write that wrote any IN_MODIFY.
        static SysResult Accessed(OpenFile f, SysResult r)
        {
            if (Inotify.Active && r.Raw > 0) Inotify.Accessed(f);
            return r;
        }

        static SysResult Modified(OpenFile f, SysResult r)
        {
            if (r.Raw > 0 && f.Inode is Inode n && (n.Mode & (FileMode.S_ISUID | FileMode.S_ISGID)) != 0) Permission.WriteKillsPrivs(n);
            if (Inotify.Active && r.Raw > 0) Inotify.Modified(f);
            return r;
        }

        static SysResult ReadStep(OpenFile f, UserPtr buf, ulong len, long done, long arg) => f.Read(buf, len);
        static SysResult WriteStep(OpenFile f, UserPtr buf, ulong len, long done, long arg) => f.Write(buf, len);
        static SysResult PreadStep(OpenFile f, UserPtr buf, ulong len, long done, long offset) => f.ReadAt(buf, len, offset + done);
        static SysResult PwriteStep(OpenFile f, UserPtr buf, ulong len, long done, long offset) => f.WriteAt(buf, len, offset + done);

        /// Runs `step` over each vector of a checked iovec array in turn, the total capped at
        /// MaxRwCount: stops at a short transfer, and an error after some bytes is the count.
        static SysResult EachIovec(UserPtr iovs, long count, OpenFile f, long arg, delegate*<OpenFile, UserPtr, ulong, long, long, SysResult> step)
        {
            long done = 0;
            for (long i = 0; i < count && (ulong)done < MaxRwCount; i++)
            {
                Iovec v;
                iovs.Add((ulong)i * 16).CopyIn(&v, 16);
                ulong len = v.Len > MaxRwCount - (ulong)done ? MaxRwCount - (ulong)done : v.Len;
                if (len == 0) continue;
                SysResult r = step(f, new UserPtr(v.Base), len, done, arg);
                if (r.IsError) return done > 0 ? (SysResult)done : r;
                done += r.Raw;
                if ((ulong)r.Raw < len) break;
            }
            return done;
        }

        /// lseek(2)
        public static SysResult Lseek(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null || f.IsPath) return Errno.EBADF;
            if (a->A2 > 4) return Errno.EINVAL;
            return f.Seek((long)a->A1, (int)a->A2);
        }

        /// close(2)
        public static SysResult Close(SyscallArgs* a)
        {
            OpenFile f = Files.Get((int)a->A0);
            if (f != null && f.Inode != null) FileLocks.ReleasePosix(Cur, f.Inode);     // any close drops the process's POSIX locks
            return Files.Close((int)a->A0) ? SysResult.Ok : Errno.EBADF;
        }

        /// dup(2)
        public static SysResult Dup(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            int fd = Files.Allocate(f, 0, false);
            if (fd < 0) return Errno.EMFILE;
            f.AddRef();
            return fd;
        }

        /// dup2(2)
        public static SysResult Dup2(SyscallArgs* a)
        {
            int oldfd = (int)a->A0, newfd = (int)a->A1;
            OpenFile f = Fd(oldfd);
            if (f == null) return Errno.EBADF;
            if (oldfd == newfd) return newfd;
            if ((uint)newfd >= (uint)FdTable.Limit()) return Errno.EBADF;
            f.AddRef();
            Files.Install(newfd, f, false);
            return newfd;
        }

        /// dup3(2)
        public static SysResult Dup3(SyscallArgs* a)
        {
            int oldfd = (int)a->A0, newfd = (int)a->A1, flags = (int)a->A2;
            if ((flags & ~O_CLOEXEC) != 0) return Errno.EINVAL;
            OpenFile f = Fd(oldfd);
            if (f == null) return Errno.EBADF;
            if (oldfd == newfd) return Errno.EINVAL;
            if ((uint)newfd >= (uint)FdTable.Limit()) return Errno.EBADF;
            f.AddRef();
            Files.Install(newfd, f, (flags & O_CLOEXEC) != 0);
            return newfd;
        }

        /// fcntl(2)
        public static SysResult Fcntl(SyscallArgs* a)
        {
            int fd = (int)a->A0, cmd = (int)a->A1;
            OpenFile f = Fd(fd);
            if (f == null) return Errno.EBADF;
            switch (cmd)
            {
                case 0: case 1030:   // F_DUPFD, F_DUPFD_CLOEXEC
                    {
                        if ((long)a->A2 < 0 || a->A2 >= (ulong)FdTable.Limit()) return Errno.EINVAL;
                        int nfd = Files.Allocate(f, (int)a->A2, cmd == 1030);
                        if (nfd < 0) return Errno.EMFILE;
                        f.AddRef();
                        return nfd;
                    }
                case 1: return Files.CloseOnExec(fd) ? 1 : 0;                              // F_GETFD
                case 2: Files.SetCloseOnExec(fd, (a->A2 & 1) != 0); return SysResult.Ok;   // F_SETFD
                case 3: return f.StatusFlags;                                                // F_GETFL
                case 4:                                                                      // F_SETFL
                    {
                        if (f.IsPath) return Errno.EBADF;
                        const uint settable = O_APPEND | O_NONBLOCK | 0x2000 | 0x4000 | 0x40000;   // + O_ASYNC, O_DIRECT, O_NOATIME
                        f.StatusFlags = (f.StatusFlags & ~settable) | ((uint)a->A2 & settable);
                        return SysResult.Ok;
                    }
                case 5: case 6: case 7: return PosixLock(f, cmd, a->A2, false);              // F_GETLK, F_SETLK, F_SETLKW
                case 36: case 37: case 38: return PosixLock(f, cmd, a->A2, true);           // F_OFD_GETLK, _SETLK, _SETLKW
                case 8: case 9: case 15: case 16: return f.IsPath ? Errno.EBADF : FileOwner(f, cmd, a->A2);   // F_GETOWN, F_SETOWN, F_SETOWN_EX, F_GETOWN_EX
                case 1031:                                                                   // F_SETPIPE_SZ
                    if (!(f is PipeEnd pe)) return Errno.EBADF;
                    return pe.Pipe.Resize((uint)a->A2);
                case 1032:                                                                   // F_GETPIPE_SZ
                    if (!(f is PipeEnd ge)) return Errno.EBADF;
                    return ge.Pipe.Capacity;
                case 1026: return 0;                                                         // F_GETLEASE: F_RDLCK? none held
                default: return Errno.EINVAL;
            }
        }

        /// fcntl's F_GETOWN (9), F_SETOWN (8), F_SETOWN_EX (15) and F_GETOWN_EX (16): the
        /// thread (F_OWNER_TID 0), process (F_OWNER_PID 1) or process group (F_OWNER_PGRP 2)
        /// that gets the file's signals (SIGURG from a socket; no SIGIO is sent yet).
        static SysResult FileOwner(OpenFile f, int cmd, ulong arg)
        {
            switch (cmd)
            {
                case 9: return f.OwnerType == 2 ? -f.OwnerId : f.OwnerId;
                case 8:
                    {
                        int who = (int)arg, type = 1;
                        if (who == int.MinValue) return Errno.EINVAL;
                        if (who < 0) { type = 2; who = -who; }
                        if (who != 0 && !OwnerExists(type, who)) return Errno.ESRCH;
                        f.OwnerType = type; f.OwnerId = who;
                        return SysResult.Ok;
                    }
                case 15:
                    {
                        if (new UserRef<long>(arg).Read(out long ex) != 0) return Errno.EFAULT;
                        int type = (int)ex, who = (int)(ex >> 32);
                        if ((uint)type > 2) return Errno.EINVAL;
                        if (who != 0 && (who < 0 || !OwnerExists(type == 0 ? 0 : 1, who))) return Errno.ESRCH;
                        f.OwnerType = type; f.OwnerId = who;
                        return SysResult.Ok;
                    }
                default:
                    {
                        long ex = (uint)f.OwnerType | (long)f.OwnerId << 32;
                        return new UserRef<long>(arg).Write(ex) != 0 ? Errno.EFAULT : SysResult.Ok;
                    }
            }
        }

        /// Whether an owner id names something alive: a thread (type 0), or a process,
        /// process group or session id in use (Linux's find_vpid for the others).
        static bool OwnerExists(int type, int id)
        {
            if (type == 0) return Kernel.Sched.Scheduler.Find(id) != null;
            for (int i = 0; i < Process.Count; i++)
            {
                Process p = Process.At(i);
                if (p.Pid == id || p.Pgid == id || p.Sid == id) return true;
            }
            return Kernel.Sched.Scheduler.Find(id) != null;
        }

        /// OpenFile.SignalOwner: `sig` (SI_KERNEL, as Linux's send_sigurg) to the file's
        /// owner: a thread, a process, or every process of a group; none when unset or gone.
        internal static void SignalFileOwner(OpenFile f, int sig)
        {
            int id = f.OwnerId;
            if (id == 0) return;
            var info = new SigInfoData { Code = SigCodes.SI_KERNEL };
            if (f.OwnerType == 0)
            {
                Kernel.Sched.Thread t = Kernel.Sched.Scheduler.Find(id);
                if (t != null && t.Group is Process tp && !tp.Zombie) Signals.Send(tp, t, sig, info);
                return;
            }
            for (int i = 0; i < Process.Count; i++)
            {
                Process p = Process.At(i);
                if (p.Zombie || (f.OwnerType == 2 ? p.Pgid != id : p.Pid != id)) continue;
                Signals.Send(p, null, sig, info);
            }
        }

        /// ioctl(2)
        public static SysResult Ioctl(SyscallArgs* a)
        {
            int fd = (int)a->A0;
            uint request = (uint)a->A1;
            OpenFile f = Fd(fd);
            if (f == null) return Errno.EBADF;
            if (request == Abi.Ioctl.FIOCLEX) { Files.SetCloseOnExec(fd, true); return SysResult.Ok; }
            if (request == Abi.Ioctl.FIONCLEX) { Files.SetCloseOnExec(fd, false); return SysResult.Ok; }
            if (f.IsPath) return Errno.EBADF;
            if (request == Abi.Ioctl.FIONBIO)
            {
                int on;
                if (new UserRef<int>(a->A2).Read(out on) != 0) return Errno.EFAULT;
                if (on != 0) f.StatusFlags |= O_NONBLOCK; else f.StatusFlags &= ~(uint)O_NONBLOCK;
                return SysResult.Ok;
            }
            if (request == Abi.Ioctl.FIOASYNC)      // O_ASYNC as F_SETFL sets it (no SIGIO is sent yet)
            {
                int on;
                if (new UserRef<int>(a->A2).Read(out on) != 0) return Errno.EFAULT;
                if (on != 0) f.StatusFlags |= 0x2000; else f.StatusFlags &= ~0x2000u;
                return SysResult.Ok;
            }
            if (request == Abi.Ioctl.FIONREAD)
            {
                SysResult n = f.Readable();
                if (n.IsError) return f is InodeFile && f.Inode.IsDir ? Errno.EINVAL : n.Is(Errno.ENOTTY) ? f.Ioctl(request, a->A2) : n;
                int v = (int)n.Raw;
                return new UserRef<int>(a->A2).Write(v) == 0 ? SysResult.Ok : Errno.EFAULT;
            }
            SysResult tr = TerminalIoctl(f, request, a->A2, out bool terminal);
            if (terminal) return tr;
            return f.Ioctl(request, a->A2);
        }

        /// fstat(2)
        public static SysResult Fstat(SyscallArgs* a)
        {
            OpenFile f = Fd((int)a->A0);
            if (f == null) return Errno.EBADF;
            Stat st = default;
            f.Stat(ref st);
            return new UserRef<Stat>(a->A1).Write(st) == 0 ? SysResult.Ok : Errno.EFAULT;
        }
    }
}
