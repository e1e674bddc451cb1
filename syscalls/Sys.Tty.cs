using Kernel.Abi;
using Kernel.Fs;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    /// The controlling terminal: the console, when it is a terminal on the host (one terminal,
    /// whatever fd or /dev/tty reaches it). Session 1 (the program, pid 1) has it from the
    /// start, with process group 1 in the foreground. A process has it when its session owns
    /// the terminal and it has not given it up (TIOCNOTTY). What is not done: SIGTTOU/SIGTTIN
    /// for background groups, and the hang-up when the owning session's leader exits (a
    /// session with no process left simply no longer owns the terminal).
    public static unsafe partial class Sys
    {
        static bool _ttyStarted;
        static int _ttySid, _ttyPgrp;        // owning session (0 = none) and foreground process group

        static bool IsCttyRequest(uint r) =>
            r == Abi.Ioctl.TIOCGPGRP || r == Abi.Ioctl.TIOCSPGRP || r == Abi.Ioctl.TIOCSCTTY || r == Abi.Ioctl.TIOCNOTTY || r == Abi.Ioctl.TIOCGSID;

        /// The owning session, after forgetting one that has no process left.
        static int TtySession()
        {
            if (!_ttyStarted) { _ttyStarted = true; _ttySid = 1; _ttyPgrp = 1; }
            if (_ttySid != 0)
            {
                bool live = false;
                for (int i = 0; i < Process.Count && !live; i++) live = Process.At(i).Sid == _ttySid && !Process.At(i).Zombie;
                if (!live) { _ttySid = 0; _ttyPgrp = 0; }
            }
            return _ttySid;
        }

        static bool HasCtty(Process p) { int s = TtySession(); return s != 0 && p.Sid == s && !p.NoCtty; }

        /// TIOCGPGRP, TIOCSPGRP, TIOCSCTTY, TIOCNOTTY and TIOCGSID on the terminal, with Linux's errors.
        static SysResult TtyIoctl(uint request, ulong arg)
        {
            Process me = Cur;
            switch (request)
            {
                case Abi.Ioctl.TIOCGPGRP:
                    {
                        if (!HasCtty(me)) return Errno.ENOTTY;
                        int pg = _ttyPgrp;
                        return new UserRef<int>(arg).Write(pg) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
                case Abi.Ioctl.TIOCGSID:
                    {
                        if (!HasCtty(me)) return Errno.ENOTTY;
                        int sid = _ttySid;
                        return new UserRef<int>(arg).Write(sid) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
                case Abi.Ioctl.TIOCSPGRP:
                    {
                        if (!HasCtty(me)) return Errno.ENOTTY;
                        if (new UserRef<int>(arg).Read(out int pgrp) != 0) return Errno.EFAULT;
                        if (pgrp < 0) return Errno.EINVAL;
                        // As Linux: the id must name a process group, or else a process; its
                        // session must be the caller's.
                        Process by = null;
                        for (int i = 0; i < Process.Count && by == null; i++) if (Process.At(i).Pgid == pgrp) by = Process.At(i);
                        if (by == null) by = Process.Find(pgrp);
                        if (by == null) return Errno.ESRCH;
                        if (by.Sid != me.Sid) return Errno.EPERM;
                        _ttyPgrp = pgrp;
                        return SysResult.Ok;
                    }
                case Abi.Ioctl.TIOCSCTTY:
                    {
                        int owner = TtySession();
                        bool leader = me.Sid == me.Pid;
                        if (leader && owner == me.Sid) { me.NoCtty = false; return SysResult.Ok; }
                        if (!leader || HasCtty(me)) return Errno.EPERM;
                        // Another session's terminal: taken only with arg 1 by a privileged caller (we are root).
                        if (owner != 0 && arg != 1) return Errno.EPERM;
                        _ttySid = me.Sid; _ttyPgrp = me.Pgid; me.NoCtty = false;
                        return SysResult.Ok;
                    }
                case Abi.Ioctl.TIOCNOTTY:
                    {
                        if (!HasCtty(me)) return Errno.ENOTTY;
                        if (me.Sid != me.Pid) { me.NoCtty = true; return SysResult.Ok; }
                        // The session leader lets go for its whole session: the foreground group
                        // gets SIGHUP and SIGCONT, as on Linux.
                        int fg = _ttyPgrp;
                        _ttySid = 0; _ttyPgrp = 0;
                        for (int i = 0; i < Process.Count; i++)
                        {
                            Process p = Process.At(i);
                            if (p.Pgid != fg || p.Zombie) continue;
                            SendSignal(p, null, Signal.SIGHUP, SigCodes.SI_KERNEL);
                            SendSignal(p, null, Signal.SIGCONT, SigCodes.SI_KERNEL);
                        }
                        return SysResult.Ok;
                    }
                default: return Errno.ENOTTY;
            }
        }
    }
}
