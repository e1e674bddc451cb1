using Kernel.Abi;
using Kernel.Arch;
using Kernel.Fs;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    /// Processes: fork, vfork and clone without CLONE_THREAD, execve (through the loader's
    /// hook), wait4/waitid, process groups and sessions.
    public static unsafe partial class Sys
    {
        /// fork(2)
        public static SysResult Fork(SyscallArgs* a) => DoClone(a->Frame, (ulong)Signal.SIGCHLD, 0, 0, 0, 0);

        /// vfork(2): the child borrows the parent's memory; the parent resumes after the
        /// child's execve or exit.
        public static SysResult Vfork(SyscallArgs* a) => DoClone(a->Frame, CLONE_VM | CLONE_VFORK | (ulong)Signal.SIGCHLD, 0, 0, 0, 0);

        /// A new process from clone: memory shared (CLONE_VM) or copied on write, the fd table
        /// shared (CLONE_FILES) or copied, cwd shared (CLONE_FS) or copied, handlers copied;
        /// only the calling thread goes on in the child.
        static SysResult CloneProcess(InterruptFrame* parent, ulong flags, ulong stack, ulong parentTid, ulong childTid, ulong tls)
        {
            Process p = Cur;
            if ((flags & CLONE_PARENT) != 0 && p.Pid == 1) return Errno.EINVAL;      // init has no parent to share
            if ((flags & CLONE_PIDFD) != 0) return Errno.EINVAL;                       // no pidfds (SyscallList: Partial)
            if ((flags & CLONE_SETTLS) != 0 && tls >= AddressSpace.UserLimit) return Errno.EPERM;
            int exitSignal = (int)(flags & 0xff);
            if (exitSignal > Signal.Count) return Errno.EINVAL;
            // A kernel stack, page tables and bookkeeping, plus the first copied pages: with
            // less than that, fork fails with ENOMEM (a fork bomb ends here, not in a panic).
            // Other processes than init leave it UserMemory.InitReserve too.
            ulong reserve = p.Pid == 1 ? 0 : UserMemory.InitReserve;
            if (!PhysicalMemory.HasRoom((Scheduler.ThreadStackPages + 16) * 4096 + (64 << 10) + reserve)) return Errno.ENOMEM;
            // RLIMIT_NPROC: a user other than root may run at most this many tasks (zombies
            // and threads included, as Linux counts them); root (and an euid of 0) is exempt.
            if (p.Ruid != 0 && p.Euid != 0 && (ulong)Process.TasksOfUser(p.Ruid) >= p.Limits[6].Cur) return Errno.EAGAIN;
            int pid = Process.AllocatePid();
            if (pid < 0) return Errno.EAGAIN;

            UserMemory mem;
            if ((flags & CLONE_VM) != 0) { mem = p.Memory; mem.Users++; }
            else if ((mem = p.Memory.Fork()) == null) return Errno.ENOMEM;
            FdTable files;
            if ((flags & CLONE_FILES) != 0) { files = p.Files; files.Users++; }
            else files = p.Files.Copy();
            var c = new Process(mem, files)
            {
                Pid = pid,
                Parent = (flags & CLONE_PARENT) != 0 ? p.Parent : p,
                ExitSignal = exitSignal,
                Pgid = p.Pgid, Sid = p.Sid, NoCtty = p.NoCtty,
                Fs = (flags & CLONE_FS) != 0 ? p.Fs : new FsContext { Cwd = p.Fs.Cwd },
                Umask = p.Umask, Nice = p.Nice, Dumpable = p.Dumpable, NoNewPrivs = p.NoNewPrivs,
                ExePath = p.ExePath, ElfImage = p.ElfImage, ElfCopy = p.ElfCopy, ElfLength = p.ElfLength, Elf = p.Elf,
                LoadBias = p.LoadBias, InterpBase = p.InterpBase, InitialStack = p.InitialStack,
                StartTimeNs = Time.Clock.MonotonicNs(),
                LiveThreads = 1,
            };
            for (int i = 0; i < c.Actions.Length; i++) c.Actions[i] = p.Actions[i];
            for (int i = 0; i < c.Limits.Length; i++) c.Limits[i] = p.Limits[i];
            c.CopyCredentials(p);

            var t = new Thread(c, pid);
            t.KernelStackTop = KernelStacks.TryAllocate(Scheduler.ThreadStackPages);
            if (t.KernelStackTop == 0)
            {
                Heap.Free(t.FpuArea, 512);
                files.Release();
                mem.Release();
                return Errno.ENOMEM;
            }
            for (int i = 0; i < 16; i++) t.Name[i] = Me.Name[i];
            t.FsBase = (flags & CLONE_SETTLS) != 0 ? tls : Me.FsBase;
            t.GsBase = Me.GsBase;
            t.SignalMask = Me.SignalMask;
            if ((flags & CLONE_VM) == 0 || (flags & CLONE_VFORK) != 0)
            {
                t.AltStackSp = Me.AltStackSp; t.AltStackSize = Me.AltStackSize; t.AltStackFlags = Me.AltStackFlags;
            }
            var f = (InterruptFrame*)(t.KernelStackTop - (ulong)sizeof(InterruptFrame));
            *f = *parent;
            f->Rax = 0;
            if (stack != 0) f->Rsp = stack;
            FpuState.Capture(parent, FpuState.AreaOf(f));
            f->Vector = 0;
            if ((flags & CLONE_CHILD_CLEARTID) != 0) t.ClearChildTid = childTid;
            // CLONE_CHILD_SETTID writes into the child's memory (a copy after fork).
            if (((flags & CLONE_PARENT_SETTID) != 0 && new UserPtr(parentTid).CopyOut(&pid, 4) != 0) ||
                ((flags & CLONE_CHILD_SETTID) != 0 && !mem.Poke32(childTid, (uint)pid)))
            {
                KernelStacks.Free(t.KernelStackTop, Scheduler.ThreadStackPages);
                Heap.Free(t.FpuArea, 512);
                files.Release();
                mem.Release();
                return Errno.EFAULT;
            }
            Process.Register(c);
            if ((flags & CLONE_VFORK) != 0) c.VforkParent = Me;
            Scheduler.Start(t, f);
            if ((flags & CLONE_VFORK) != 0)
            {
                // Killable, as Linux's wait_for_vfork_done: SIGKILL or the process's exit
                // ends the wait (other signals wait for the child's exec or exit).
                while (!c.VforkDone && !Me.Killed && !Signals.IsPending(p, Me, Signal.SIGKILL))
                {
                    Me.InStopWait = true;
                    Scheduler.Block(0, false);
                    Me.InStopWait = false;
                }
                if (!c.VforkDone) c.VforkParent = null;                    // this thread is about to end
            }
            return pid;
        }

        // ---- wait4, waitid ----

        const int WNOHANG = 1, WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x01000000,
            WNOTHREAD = 0x20000000, WALL = 0x40000000, WCLONE = unchecked((int)0x80000000);
        const int P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3;

        /// Waits for a child of the caller matching (idtype, id) to have ended (or, with
        /// WSTOPPED/WCONTINUED, stopped or continued): its pid (an ended one reaped unless
        /// WNOWAIT), 0 with WNOHANG when none has yet, ECHILD when no child matches. `status`
        /// is wait4's encoding; `code` and `sigStatus` waitid's si_code and si_status.
        static SysResult WaitChild(int idtype, int id, int options, out Process found, out int status, out int code, out int sigStatus, Process only = null)
        {
            found = null; status = 0; code = 0; sigStatus = 0;
            Process me = Cur;
            while (true)
            {
                bool any = false;
                for (int i = 0; i < Process.Count; i++)
                {
                    Process c = Process.At(i);
                    if (c.Parent != me) continue;
                    if (idtype == P_PID && c.Pid != id) continue;
                    if (idtype == P_PGID && c.Pgid != id) continue;
                    if (idtype == P_PIDFD && c != only) continue;
                    // A "clone" child reports to its parent with another signal than SIGCHLD:
                    // waited for only with __WCLONE (or __WALL).
                    if ((options & WALL) == 0 && ((options & WCLONE) != 0) == (c.ExitSignal == Signal.SIGCHLD)) continue;
                    any = true;
                    if (c.Zombie && (options & WEXITED) != 0)
                    {
                        found = c; status = c.WaitStatus;
                        bool exited = (status & 0x7f) == 0;
                        code = exited ? Process.CLD_EXITED : Process.CLD_KILLED;
                        sigStatus = exited ? (status >> 8) & 0xff : status & 0x7f;
                        break;
                    }
                    if (!c.Zombie && c.Stopped && c.ReportStop && (options & WSTOPPED) != 0)
                    {
                        found = c; status = (c.StopSignal << 8) | 0x7f; code = Process.CLD_STOPPED; sigStatus = c.StopSignal;
                        if ((options & WNOWAIT) == 0) c.ReportStop = false;
                        return c.Pid;
                    }
                    if (!c.Zombie && c.ReportCont && (options & WCONTINUED) != 0)
                    {
                        found = c; status = 0xffff; code = Process.CLD_CONTINUED; sigStatus = Signal.SIGCONT;
                        if ((options & WNOWAIT) == 0) c.ReportCont = false;
                        return c.Pid;
                    }
                }
                if (!any) return Errno.ECHILD;
                if (found != null)
                {
                    int pid = found.Pid;
                    if ((options & WNOWAIT) == 0) me.Reap(found);
                    return pid;
                }
                if ((options & WNOHANG) != 0) return SysResult.Ok;
                if (me.ChildEvents.Wait(0, true) == WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
        }

        static Rusage ChildUsage(Process c)
        {
            ulong ns = c == null ? 0 : c.CpuNs;
            return new Rusage { Utime = new Timeval { Sec = (long)(ns / 1000000000), Usec = (long)(ns % 1000000000 / 1000) } };
        }

        /// wait4(2)
        public static SysResult Wait4(SyscallArgs* a)
        {
            int pid = (int)a->A0, options = (int)a->A2;
            if ((options & ~(WNOHANG | WSTOPPED | WCONTINUED | WNOTHREAD | WALL | WCLONE)) != 0) return Errno.EINVAL;
            if (pid == int.MinValue) return Errno.ESRCH;
            int idtype = pid > 0 ? P_PID : pid == -1 ? P_ALL : P_PGID;
            int id = pid > 0 ? pid : pid == 0 ? Cur.Pgid : -pid;
            SysResult r = WaitChild(idtype, id, options | WEXITED, out Process c, out int status, out _, out _);
            if (r.IsError || r.Raw == 0) return r;
            if (a->A1 != 0 && new UserRef<int>(a->A1).Write(status) != 0) return Errno.EFAULT;
            if (a->A3 != 0 && new UserRef<Rusage>(a->A3).Write(ChildUsage(c)) != 0) return Errno.EFAULT;
            return r;
        }

        /// waitid(2)
        public static SysResult Waitid(SyscallArgs* a)
        {
            int idtype = (int)a->A0, id = (int)a->A1, options = (int)a->A3;
            if ((options & ~(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)) != 0) return Errno.EINVAL;
            if ((options & (WEXITED | WSTOPPED | WCONTINUED)) == 0) return Errno.EINVAL;
            Process only = null;
            bool eagain = false;
            switch (idtype)
            {
                case P_ALL: break;
                case P_PID: if (id <= 0) return Errno.EINVAL; break;
                case P_PGID: if (id < 0) return Errno.EINVAL; if (id == 0) id = Cur.Pgid; break;
                case P_PIDFD:
                    if (id < 0 || Fd(id) is not PidFd pf) return Errno.EBADF;
                    only = pf.Target;
                    // A non-blocking pidfd waits as WNOHANG, and says EAGAIN for "not yet".
                    if ((pf.StatusFlags & OpenFlags.O_NONBLOCK) != 0) { eagain = (options & WNOHANG) == 0; options |= WNOHANG; }
                    break;
                default: return Errno.EINVAL;
            }
            SysResult r = WaitChild(idtype, id, options, out Process c, out _, out int code, out int sigStatus, only);
            if (r.IsError) return r;
            if (eagain && c == null) return Errno.EAGAIN;
            var si = new SigInfo();
            if (c != null)
            {
                si.Signo = Signal.SIGCHLD;
                si.Code = code;
                si.Pid = c.Pid;
                si.Status = sigStatus;
            }
            if (a->A2 != 0 && new UserRef<SigInfo>(a->A2).Write(si) != 0) return Errno.EFAULT;
            if (a->A4 != 0 && new UserRef<Rusage>(a->A4).Write(ChildUsage(c)) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// pidfd_open(2): a pidfd for process `pid` (close-on-exec; PIDFD_NONBLOCK is O_NONBLOCK).
        public static SysResult PidfdOpen(SyscallArgs* a)
        {
            int pid = (int)a->A0;
            uint flags = (uint)a->A1;
            if ((flags & ~OpenFlags.O_NONBLOCK) != 0 || pid <= 0) return Errno.EINVAL;
            Process p = Process.Find(pid);
            if (p == null) return Scheduler.Find(pid) != null ? Errno.EINVAL : Errno.ESRCH;   // a thread that does not lead its group: EINVAL
            int fd = Files.Allocate(new PidFd(p, 2u | flags), 0, true);
            return fd < 0 ? Errno.EMFILE : fd;
        }

        // ---- process groups and sessions ----

        /// getppid(2)
        public static SysResult Getppid(SyscallArgs* a) => Cur.ParentPid;

        /// getpgrp(2)
        public static SysResult Getpgrp(SyscallArgs* a) => Cur.Pgid;

        static Process Target(int pid) => pid == 0 ? Cur : Process.Find(pid);

        /// getpgid(2)
        public static SysResult Getpgid(SyscallArgs* a)
        {
            Process p = Target((int)a->A0);
            return p == null || (int)a->A0 < 0 ? Errno.ESRCH : p.Pgid;
        }

        /// getsid(2)
        public static SysResult Getsid(SyscallArgs* a)
        {
            Process p = Target((int)a->A0);
            return p == null || (int)a->A0 < 0 ? Errno.ESRCH : p.Sid;
        }

        /// setpgid(2)
        public static SysResult Setpgid(SyscallArgs* a)
        {
            int pid = (int)a->A0, pgid = (int)a->A1;
            Process me = Cur;
            if (pgid < 0) return Errno.EINVAL;
            if (pid < 0) return Errno.ESRCH;
            Process p = Target(pid);
            if (p == null || (p != me && p.Parent != me)) return Errno.ESRCH;
            if (p != me && p.Sid != me.Sid) return Errno.EPERM;              // a child in another session, before EACCES (as Linux)
            if (p != me && p.Execed) return Errno.EACCES;
            if (p.Sid == p.Pid) return Errno.EPERM;                           // a session leader
            if (p.Sid != me.Sid) return Errno.EPERM;
            if (pgid == 0) pgid = p.Pid;
            if (pgid != p.Pid)
            {
                bool exists = false;
                for (int i = 0; i < Process.Count; i++)
                    if (Process.At(i).Pgid == pgid && Process.At(i).Sid == me.Sid && !Process.At(i).Zombie) { exists = true; break; }
                if (!exists) return Errno.EPERM;
            }
            p.Pgid = pgid;
            return SysResult.Ok;
        }

        /// setsid(2): a new session and process group led by the caller (no controlling terminal).
        public static SysResult Setsid(SyscallArgs* a)
        {
            Process me = Cur;
            for (int i = 0; i < Process.Count; i++)
                if (Process.At(i).Pgid == me.Pid) return Errno.EPERM;             // already leads a group
            me.Sid = me.Pgid = me.Pid;
            me.NoCtty = false;               // a new session, with no terminal yet to give up
            return me.Pid;
        }

        // ---- execve ----

        /// The loader's execve (loader/Exec.cs, above this layer; installed at start-up):
        /// frame, dirfd, path, argv, envp, flags -> 0 or an errno.
        public static delegate*<InterruptFrame*, int, ulong, ulong, ulong, int, SysResult> ExecHook;

        /// execve(2)
        public static SysResult Execve(SyscallArgs* a) => ExecHook(a->Frame, AT_FDCWD, a->A0, a->A1, a->A2, 0);

        /// execveat(2)
        public static SysResult Execveat(SyscallArgs* a) => ExecHook(a->Frame, (int)a->A0, a->A1, a->A2, a->A3, (int)a->A4);
    }
}
