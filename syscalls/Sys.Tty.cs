using Kernel.Abi;
using Kernel.Fs;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    /// Controlling terminals: the console, when it is a terminal on the host (session 1, the
    /// program's, has it from the start, group 1 in front), and the pseudo-terminals' slaves
    /// (fs/Pty.cs), which a session leader without one takes by opening it without O_NOCTTY
    /// or by TIOCSCTTY. A terminal belongs to a session (Tty.Session); a process has it when
    /// its session owns it and it has not given it up (TIOCNOTTY). What is not done:
    /// SIGTTOU/SIGTTIN for background groups, and the hang-up when the owning session's
    /// leader exits (a session with no process left simply no longer owns its terminal).
    public static unsafe partial class Sys
    {
        static bool IsCttyRequest(uint r) =>
            r == Abi.Ioctl.TIOCGPGRP || r == Abi.Ioctl.TIOCSPGRP || r == Abi.Ioctl.TIOCSCTTY || r == Abi.Ioctl.TIOCNOTTY || r == Abi.Ioctl.TIOCGSID;

        /// The session owning `t`, after forgetting one that has no process left.
        static int TtySession(Tty t)
        {
            if (t.Session != 0)
            {
                bool live = false;
                for (int i = 0; i < Process.Count && !live; i++) live = Process.At(i).Sid == t.Session && !Process.At(i).Zombie;
                if (!live) { t.Session = 0; t.Pgrp = 0; }
            }
            return t.Session;
        }

        /// The controlling terminal of `p`, or null.
        static Tty CttyOf(Process p)
        {
            if (p.NoCtty) return null;
            if (ConsoleFile.HasTerminal && TtySession(ConsoleTty.Instance) == p.Sid) return ConsoleTty.Instance;
            for (int i = 0; i < PtyPair.Limit; i++)
            {
                PtyPair pair = PtyPair.At(i);
                if (pair != null && pair.Session != 0 && TtySession(pair) == p.Sid) return pair;
            }
            return null;
        }

        /// The calling process's controlling terminal (fs/ opens /dev/tty through this).
        public static Tty CallerCtty() => CttyOf(Cur);

        /// Signal to a terminal's foreground group (ISIG characters, SIGWINCH).
        public static void TtySignalGroup(int pgrp, int sig)
        {
            for (int i = 0; i < Process.Count; i++)
            {
                Process p = Process.At(i);
                if (p.Pgid == pgrp && !p.Zombie) SendSignal(p, null, sig, SigCodes.SI_KERNEL);
            }
        }

        /// A terminal hung up (its pty master closed): the session's leader gets SIGHUP and
        /// SIGCONT, as on Linux.
        public static void TtyHungUp(int sid)
        {
            Process leader = Process.Find(sid);
            if (leader == null || leader.Zombie || leader.Sid != sid) return;
            SendSignal(leader, null, Signal.SIGHUP, SigCodes.SI_KERNEL);
            SendSignal(leader, null, Signal.SIGCONT, SigCodes.SI_KERNEL);
        }

        /// open(2) of a terminal without O_NOCTTY: a session leader that has no controlling
        /// terminal takes it, if no session has it (a pty master never becomes one).
        static void OpenedTerminal(OpenFile f, uint flags)
        {
            if ((flags & OpenFlags.O_NOCTTY) != 0 || !(f is PtySlaveFile s)) return;
            Process me = Cur;
            if (me.Sid != me.Pid || CttyOf(me) != null || TtySession(s.Pair) != 0) return;
            s.Pair.Session = me.Sid; s.Pair.Pgrp = me.Pgid;
            me.NoCtty = false;
        }

        /// ioctl on a terminal: a hung-up pty slave answers EIO; the job-control requests
        /// are here, the rest the file's.
        static SysResult TerminalIoctl(OpenFile f, uint request, ulong arg, out bool handled)
        {
            handled = true;
            if (f is PtyFile pf)
            {
                if (!pf.IsMaster && pf.Pair.HungUp) return request == Abi.Ioctl.TIOCSPGRP ? Errno.ENOTTY : Errno.EIO;
                if (IsCttyRequest(request)) return TtyIoctl(pf.Pair, pf.IsMaster, request, arg);
                if (request == Abi.Ioctl.TIOCGPTPEER)
                {
                    // The slave, opened through the master without a path walk; on a slave, EIO.
                    if (!pf.IsMaster) return Errno.EIO;
                    uint fl = (uint)arg;
                    Errno e = pf.Pair.OpenSlave(pf.Pair.Node, fl & (uint)(OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK | OpenFlags.O_APPEND), out OpenFile slave);
                    if (e != 0) return e;
                    OpenedTerminal(slave, fl);
                    return Install(slave, (fl & OpenFlags.O_CLOEXEC) != 0);
                }
            }
            else if (f is ConsoleFile con && con.IsTerminal && IsCttyRequest(request)) return TtyIoctl(ConsoleTty.Instance, false, request, arg);
            handled = false;
            return SysResult.Ok;
        }

        /// TIOCGPGRP, TIOCSPGRP, TIOCSCTTY, TIOCNOTTY and TIOCGSID on terminal `t`, with Linux's
        /// errors; `master`: asked through a pty's master, which reads the slave's group and
        /// session without being the caller's terminal.
        static SysResult TtyIoctl(Tty t, bool master, uint request, ulong arg)
        {
            Process me = Cur;
            bool mine = CttyOf(me) == t;
            switch (request)
            {
                case Abi.Ioctl.TIOCGPGRP:
                    {
                        if (!master && !mine) return Errno.ENOTTY;
                        TtySession(t);
                        int pg = t.Pgrp;
                        return new UserRef<int>(arg).Write(pg) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
                case Abi.Ioctl.TIOCGSID:
                    {
                        if (!master && !mine) return Errno.ENOTTY;
                        int sid = TtySession(t);
                        if (sid == 0) return Errno.ENOTTY;
                        return new UserRef<int>(arg).Write(sid) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
                case Abi.Ioctl.TIOCSPGRP:
                    {
                        if (!mine) return Errno.ENOTTY;
                        if (new UserRef<int>(arg).Read(out int pgrp) != 0) return Errno.EFAULT;
                        if (pgrp < 0) return Errno.EINVAL;
                        // As Linux: the id must name a process group, or else a process; its
                        // session must be the caller's.
                        Process by = null;
                        for (int i = 0; i < Process.Count && by == null; i++) if (Process.At(i).Pgid == pgrp) by = Process.At(i);
                        if (by == null) by = Process.Find(pgrp);
                        if (by == null) return Errno.ESRCH;
                        if (by.Sid != me.Sid) return Errno.EPERM;
                        t.Pgrp = pgrp;
                        return SysResult.Ok;
                    }
                case Abi.Ioctl.TIOCSCTTY:
                    {
                        int owner = TtySession(t);
                        bool leader = me.Sid == me.Pid;
                        if (leader && owner == me.Sid) { me.NoCtty = false; return SysResult.Ok; }
                        if (!leader || CttyOf(me) != null) return Errno.EPERM;
                        // Another session's terminal: taken only with arg 1 by a privileged caller (we are root).
                        if (owner != 0 && arg != 1) return Errno.EPERM;
                        t.Session = me.Sid; t.Pgrp = me.Pgid; me.NoCtty = false;
                        return SysResult.Ok;
                    }
                case Abi.Ioctl.TIOCNOTTY:
                    {
                        if (master || !mine) return Errno.ENOTTY;
                        if (me.Sid != me.Pid) { me.NoCtty = true; return SysResult.Ok; }
                        // The session leader lets go for its whole session: the foreground group
                        // gets SIGHUP and SIGCONT, as on Linux.
                        int fg = t.Pgrp;
                        t.Session = 0; t.Pgrp = 0;
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
