using System;
using Kernel.Abi;
using static Kernel.Abi.Tc;

namespace Kernel.Fs
{
    /// A terminal: its termios settings and window size (what TCGETS/TCSETS* and
    /// TIOCGWINSZ/TIOCSWINSZ read and change), and its job-control state: the session it is
    /// the controlling terminal of and that session's foreground process group. The console
    /// (ConsoleTty) and each pseudo-terminal pair (PtyPair) are one; the syscall layer's
    /// controlling-terminal ioctls (syscalls/Sys.Tty.cs) work on any of them.
    public abstract unsafe class Tty
    {
        public uint Iflag, Oflag, Cflag, Lflag;
        public byte Line;
        public readonly byte[] Cc = new byte[19];
        public WinSize Size;
        /// The session this is the controlling terminal of (0: none), and its foreground group.
        public int Session, Pgrp;

        /// Signal `sig` to process group `pgrp` (the syscall layer's; installed by kernel/Kmain.cs).
        public static delegate*<int, int, void> SignalGroup;
        /// The terminal hung up: its session `sid` loses it, its leader gets SIGHUP and SIGCONT.
        public static delegate*<int, void> HungUpSession;
        /// The calling process's controlling terminal, or null.
        public static delegate*<Tty> CallerCtty;

        protected Tty()
        {
            Load(Termios.Default());
            Size = new WinSize { Rows = 24, Cols = 80 };
        }

        public Termios GetTermios()
        {
            var t = new Termios { Iflag = Iflag, Oflag = Oflag, Cflag = Cflag, Lflag = Lflag, Line = Line };
            for (int i = 0; i < 19; i++) t.Cc[i] = Cc[i];
            return t;
        }

        public void SetTermios(Termios t)
        {
            uint old = Lflag;
            Load(t);
            SettingsChanged(old);
        }

        void Load(Termios t)
        {
            Iflag = t.Iflag; Oflag = t.Oflag; Cflag = t.Cflag; Lflag = t.Lflag; Line = t.Line;
            for (int i = 0; i < 19; i++) Cc[i] = t.Cc[i];
        }

        /// After TCSETS*: the line discipline adapts (leaving canonical mode makes the line
        /// being edited readable).
        protected virtual void SettingsChanged(uint oldLflag) { }
        /// TCSETSF: input not yet read is discarded.
        protected virtual void FlushInput() { }

        /// Signals the foreground process group, if any.
        public void SignalForeground(int sig)
        {
            if (Pgrp > 0 && SignalGroup != null) SignalGroup(Pgrp, sig);
        }

        /// TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ and TIOCSWINSZ; false for other requests.
        public bool SettingsIoctl(uint request, ulong arg, out SysResult r)
        {
            r = SysResult.Ok;
            switch (request)
            {
                case Ioctl.TCGETS:
                    {
                        Termios t = GetTermios();
                        if (new UserRef<Termios>(arg).Write(t) != 0) r = Errno.EFAULT;
                        return true;
                    }
                case Ioctl.TCSETS: case Ioctl.TCSETSW: case Ioctl.TCSETSF:
                    {
                        // TCSETSW waits for output to drain: a terminal here has none in flight.
                        if (new UserRef<Termios>(arg).Read(out Termios t) != 0) { r = Errno.EFAULT; return true; }
                        if (request == Ioctl.TCSETSF) FlushInput();
                        SetTermios(t);
                        return true;
                    }
                case Ioctl.TIOCGWINSZ:
                    {
                        WinSize w = Size;
                        if (new UserRef<WinSize>(arg).Write(w) != 0) r = Errno.EFAULT;
                        return true;
                    }
                case Ioctl.TIOCSWINSZ:
                    {
                        if (new UserRef<WinSize>(arg).Read(out WinSize w) != 0) { r = Errno.EFAULT; return true; }
                        // As Linux: SIGWINCH to the foreground group only when the size changes.
                        if (w.Rows == Size.Rows && w.Cols == Size.Cols && w.XPixel == Size.XPixel && w.YPixel == Size.YPixel) return true;
                        Size = w;
                        SignalForeground(Signal.SIGWINCH);
                        return true;
                    }
            }
            return false;
        }
    }

    /// The console as a terminal (when one of the program's stdio is a terminal on the
    /// host): the host's terminal does the line editing, so its settings are only kept and
    /// reported. Session 1 (the program, pid 1) has it from the start, group 1 in front.
    public sealed class ConsoleTty : Tty
    {
        public static readonly ConsoleTty Instance = new ConsoleTty();
        ConsoleTty() { Session = 1; Pgrp = 1; }
    }

    /// The line discipline of a pseudo-terminal (Linux's N_TTY): input written to the master
    /// is translated (ICRNL, INLCR, IGNCR, ISTRIP), turned into signals (ISIG: VINTR, VQUIT,
    /// VSUSP), stops and starts output (IXON), is edited into lines (ICANON: VERASE, VWERASE,
    /// VKILL, VEOF, VEOL, VLNEXT, VREPRINT) and echoed (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL,
    /// ECHOCTL); output written to the slave is translated (OPOST: ONLCR, OCRNL, ONOCR,
    /// ONLRET, OLCUC) on its way to the master. It owns both byte queues: In (what the slave
    /// reads) and Out (what the master reads). Pure logic: no waiting, no signals of its own
    /// (its terminal sends them).
    public sealed unsafe class LineDiscipline
    {
        public const int InSize = 16384, OutSize = 16384;
        /// A canonical line holds at most this many characters (Linux's N_TTY_BUF_SIZE - 1).
        public const int LineMax = 4095;
        const byte MarkLine = 1, MarkEof = 2;

        readonly Tty _tty;
        readonly byte[] _in = new byte[InSize], _mark = new byte[InSize];
        long _inHead, _inTail, _commit;       // [_inTail, _commit) readable; [_commit, _inHead) the line being edited
        readonly byte[] _out = new byte[OutSize];
        long _outHead, _outTail;
        bool _lnext;
        int _column;                           // output column, for ONOCR and erasing tabs
        /// Output stopped (VSTOP typed with IXON, or TCXONC TCOOFF): slave writes wait.
        public bool Stopped;

        public LineDiscipline(Tty tty) { _tty = tty; }

        bool Canonical => (_tty.Lflag & ICANON) != 0;
        byte Cc(int i) => _tty.Cc[i];
        /// A control character `c` is set to (0 is _POSIX_VDISABLE).
        bool Is(byte c, int i) => _tty.Cc[i] != 0 && c == _tty.Cc[i];

        // ---- the queues as the terminal sees them

        public long InCount => _inHead - _inTail;
        public long InRoom => InSize - InCount;
        public long OutCount => _outHead - _outTail;
        public long OutRoom => OutSize - OutCount;

        /// Whether a read of the slave would return now. `poll`: as poll reports it, which
        /// in raw mode with VMIN > 0 and no VTIME waits for VMIN bytes.
        public bool InputReady(bool poll)
        {
            if (Canonical) return _commit > _inTail;
            long need = 1;
            if (poll && Cc(VTIME) == 0 && Cc(VMIN) > 1) need = Cc(VMIN);
            return _inHead - _inTail >= need;
        }

        /// FIONREAD on the slave: bytes a read could return (whole lines in canonical mode).
        public long InReadable() => Canonical ? _commit - _inTail : _inHead - _inTail;

        public void FlushIn() { _inHead = _inTail = _commit = 0; _lnext = false; }
        public void FlushOut() { _outHead = _outTail = 0; }

        /// ICANON was turned off: the line being edited becomes readable; turned on: what is
        /// queued counts as read as is.
        public void ModeChanged(uint oldLflag)
        {
            if (((oldLflag ^ _tty.Lflag) & ICANON) != 0) _commit = _inHead;
        }

        /// Copies up to `len` readable bytes to `dst` (canonical: up to the end of the first
        /// line; an end-of-file mark ends it without being copied). Returns the bytes copied
        /// and, through `line`, whether a line (or end of file) ended the copy.
        public int ReadIn(byte* dst, int len, out bool line)
        {
            line = false;
            int n = 0;
            long end = Canonical ? _commit : _inHead;
            while (n < len && _inTail < end)
            {
                long at = _inTail % InSize;
                byte m = _mark[at];
                if (m == MarkEof) { _inTail++; line = true; break; }
                dst[n++] = _in[at];
                _inTail++;
                if (m == MarkLine && Canonical) { line = true; break; }
            }
            if (_inTail == _inHead) { _inHead = _inTail = 0; _commit = 0; }
            else if (_commit < _inTail) _commit = _inTail;
            return n;
        }

        /// Copies up to `len` bytes of output (what the master reads) to `dst`, leaving them queued.
        public int PeekOut(byte* dst, int len)
        {
            int n = 0;
            while (n < len && _outTail + n < _outHead) { dst[n] = _out[(_outTail + n) % OutSize]; n++; }
            return n;
        }

        /// Takes `n` bytes of output (what PeekOut copied).
        public void DropOut(int n)
        {
            _outTail += n;
            if (_outTail >= _outHead) _outHead = _outTail = 0;
        }

        /// Queues a byte of output as is (TCIOFF/TCION's VSTOP/VSTART); dropped when full.
        public void WriteRaw(byte c) { if (OutRoom > 0) PutOut(c); }

        // ---- output: the slave's writes and the echoes

        void PutOut(byte c) { _out[(_outHead++) % OutSize] = c; }

        /// One byte written to the slave, through OPOST; false (nothing queued) when there is
        /// no room for what it becomes.
        public bool Write(byte c)
        {
            if (OutRoom < 2) return false;
            uint o = _tty.Oflag;
            if ((o & OPOST) == 0) { PutOut(c); return true; }
            switch (c)
            {
                case (byte)'\n':
                    if ((o & ONLCR) != 0) { PutOut((byte)'\r'); PutOut((byte)'\n'); _column = 0; return true; }
                    if ((o & ONLRET) != 0) _column = 0;
                    PutOut(c);
                    return true;
                case (byte)'\r':
                    if ((o & ONOCR) != 0 && _column == 0) return true;
                    if ((o & OCRNL) != 0) { c = (byte)'\n'; if ((o & ONLRET) != 0) _column = 0; }
                    else _column = 0;
                    PutOut(c);
                    return true;
                case (byte)'\t':
                    _column = (_column | 7) + 1;
                    PutOut(c);
                    return true;
                case (byte)'\b':
                    if (_column > 0) _column--;
                    PutOut(c);
                    return true;
            }
            if ((o & OLCUC) != 0 && c >= 'a' && c <= 'z') c -= 32;
            if (c >= 0x20 && c != 0x7f && (c & 0xc0) != 0x80) _column++;
            PutOut(c);
            return true;
        }

        /// An echo: dropped when the output is full, as Linux's.
        void EchoRaw(byte c) { Write(c); }

        static bool IsCntrl(byte c) => c < 0x20 || c == 0x7f;

        /// Echoes `c` as typed: a control character as ^X under ECHOCTL (not tab or newline).
        void EchoChar(byte c)
        {
            if ((_tty.Lflag & ECHOCTL) != 0 && IsCntrl(c) && c != '\t' && c != '\n')
            {
                EchoRaw((byte)'^');
                EchoRaw((byte)(c ^ 0x40));
                return;
            }
            EchoRaw(c);
        }

        // ---- input: bytes written to the master

        void PutIn(byte c, byte mark)
        {
            long at = _inHead % InSize;
            _in[at] = c; _mark[at] = mark;
            _inHead++;
            if (!Canonical) _commit = _inHead;
        }

        /// One byte typed (written to the master). The caller makes sure InRoom > 0 first.
        public void Receive(byte c)
        {
            uint i = _tty.Iflag, l = _tty.Lflag;
            bool echo = (l & ECHO) != 0;
            if (_lnext)
            {
                _lnext = false;
                if (echo) EchoChar(c);                 // over the "^" that VLNEXT left
                AddChar(c);
                return;
            }
            if ((i & ISTRIP) != 0) c &= 0x7f;
            if (c == '\r')
            {
                if ((i & IGNCR) != 0) return;
                if ((i & ICRNL) != 0) c = (byte)'\n';
            }
            else if (c == '\n' && (i & INLCR) != 0) c = (byte)'\r';
            if ((i & IUCLC) != 0 && (l & IEXTEN) != 0 && c >= 'A' && c <= 'Z') c += 32;
            if ((i & IXON) != 0)
            {
                if (Is(c, VSTART) && Stopped) { Stopped = false; return; }
                if (Is(c, VSTOP)) { Stopped = true; return; }
                if (Is(c, VSTART)) return;
                if ((i & IXANY) != 0) Stopped = false;
            }
            if ((l & ISIG) != 0)
            {
                int sig = Is(c, VINTR) ? Signal.SIGINT : Is(c, VQUIT) ? Signal.SIGQUIT : Is(c, VSUSP) ? Signal.SIGTSTP : 0;
                if (sig != 0)
                {
                    if ((l & NOFLSH) == 0) { FlushIn(); FlushOut(); }
                    if ((i & IXON) != 0) Stopped = false;
                    _tty.SignalForeground(sig);
                    if (echo) EchoChar(c);
                    return;
                }
            }
            if (Canonical)
            {
                if (Is(c, VERASE) || Is(c, VKILL) || (Is(c, VWERASE) && (l & IEXTEN) != 0)) { Erase(c); return; }
                if (Is(c, VLNEXT) && (l & IEXTEN) != 0)
                {
                    _lnext = true;
                    if (echo && (l & ECHOCTL) != 0) { EchoRaw((byte)'^'); EchoRaw((byte)'\b'); }
                    return;
                }
                if (Is(c, VREPRINT) && echo && (l & IEXTEN) != 0)
                {
                    EchoChar(c);
                    EchoRaw((byte)'\n');
                    for (long k = _commit; k < _inHead; k++) EchoChar(_in[k % InSize]);
                    return;
                }
                if (c == '\n')
                {
                    if (echo || (l & ECHONL) != 0) EchoRaw((byte)'\n');
                    EndLine(c, MarkLine);
                    return;
                }
                if (Is(c, VEOF)) { EndLine(0, MarkEof); return; }
                if (Is(c, VEOL) || Is(c, VEOL2))
                {
                    if (echo) EchoChar(c);
                    EndLine(c, MarkLine);
                    return;
                }
            }
            if (echo) { if (c == '\n') EchoRaw(c); else EchoChar(c); }
            AddChar(c);
        }

        void AddChar(byte c)
        {
            // A canonical line keeps its last place for the character that ends it.
            if (Canonical && (_inHead - _commit >= LineMax || InRoom < 2)) return;
            if (InRoom < 1) return;
            PutIn(c, 0);
        }

        void EndLine(byte c, byte mark)
        {
            if (InRoom < 1) return;
            PutIn(c, mark);
            _commit = _inHead;
        }

        /// VERASE, VWERASE or VKILL typed: characters of the line being edited go, and the
        /// echo takes them off the screen.
        void Erase(byte c)
        {
            uint l = _tty.Lflag;
            if (_inHead == _commit) return;
            bool echo = (l & ECHO) != 0;
            bool kill = Is(c, VKILL), word = !kill && !Is(c, VERASE);
            if (kill && (!echo || (l & ECHOK) == 0 || (l & ECHOKE) == 0 || (l & ECHOE) == 0))
            {
                _inHead = _commit;
                if (echo)
                {
                    EchoChar(c);
                    if ((l & ECHOK) != 0) EchoRaw((byte)'\n');
                }
                return;
            }
            int alnums = 0;
            while (_inHead > _commit)
            {
                byte e = _in[(_inHead - 1) % InSize];
                if (word)
                {
                    bool alnum = e == '_' || (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z');
                    if (alnum) alnums++;
                    else if (alnums > 0) break;
                }
                _inHead--;
                if (echo)
                {
                    if (!kill && !word && (l & ECHOE) == 0) EchoChar(Cc(VERASE));
                    else if (e == '\t') EraseTab();
                    else
                    {
                        if (IsCntrl(e) && (l & ECHOCTL) != 0) EchoErase();
                        if (!IsCntrl(e) || (l & ECHOCTL) != 0) EchoErase();
                    }
                }
                if (!kill && !word) break;
            }
        }

        void EchoErase() { EchoRaw((byte)'\b'); EchoRaw((byte)' '); EchoRaw((byte)'\b'); }

        /// Backs over a tab: to the column the rest of the line (counted from its start) ends at.
        void EraseTab()
        {
            int col = 0;
            for (long k = _commit; k < _inHead; k++)
            {
                byte e = _in[k % InSize];
                if (e == '\t') col = (col | 7) + 1;
                else if (IsCntrl(e)) { if ((_tty.Lflag & ECHOCTL) != 0) col += 2; }
                else col++;
            }
            int back = 8 - (col & 7);
            for (int k = 0; k < back; k++) EchoRaw((byte)'\b');
        }
    }
}
