using System;
using Kernel.Abi;
using Kernel.Sched;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Fs
{
    /// A pseudo-terminal pair (man 4 pts): opening /dev/ptmx makes one, its slave appears as
    /// /dev/pts/N (136:N) until the master closes. What the master writes goes through the
    /// slave's line discipline to the slave's readers; what the slave writes goes through
    /// output processing to the master's readers. Termios and window-size requests on either
    /// end act on the slave's settings, as Linux's.
    public sealed unsafe class PtyPair : Tty
    {
        /// kernel.pty.max
        public const int Max = 4096;
        public const uint Major = 136;
        static PtyPair[] _table = new PtyPair[16];

        public readonly int Index;
        public readonly LineDiscipline Ld;
        public readonly PtsNode Node;
        /// Set at creation; unlockpt (TIOCSPTLCK 0) clears it. A locked slave does not open (EIO).
        public bool Locked = true;
        /// Open descriptions of each end.
        public int Masters, Slaves;
        bool _slaveOpened;
        /// Where each end announces its changes (poll, select, epoll).
        public readonly PollHead MasterHead = new PollHead(), SlaveHead = new PollHead();
        readonly WaitQueue _wait = new WaitQueue();

        PtyPair(int index)
        {
            Index = index;
            Ld = new LineDiscipline(this);
            Size = default;                          // a new pty has no size until one is set
            Node = new PtsNode(this);
        }

        /// The master closed: the slave is hung up for good (reads 0, writes EIO).
        public bool HungUp => Masters == 0;
        /// The slave was opened and every open of it is closed: the master reads EIO.
        public bool SlaveClosed => _slaveOpened && Slaves == 0;

        /// The pair /dev/pts/N names while its master is open, or null.
        public static PtyPair Find(int index)
        {
            if ((uint)index >= (uint)_table.Length) return null;
            PtyPair p = _table[index];
            return p != null && p.Masters > 0 ? p : null;
        }
        /// Live pairs: indexes below Limit, Find(i) for each.
        public static int Limit => _table.Length;
        /// Any pair still open on either end, for the syscall layer's look for a controlling terminal.
        public static PtyPair At(int index) => (uint)index < (uint)_table.Length ? _table[index] : null;

        /// open of /dev/ptmx: a new pair (the lowest free index) and its master.
        public static Errno OpenMaster(Inode ptmx, uint flags, out OpenFile file)
        {
            file = null;
            int i = 0;
            while (i < _table.Length && _table[i] != null) i++;
            if (i >= Max) return Errno.ENOSPC;
            if (i == _table.Length)
            {
                var bigger = new PtyPair[_table.Length * 2];
                for (int k = 0; k < _table.Length; k++) bigger[k] = _table[k];
                _table = bigger;
            }
            var p = new PtyPair(i);
            _table[i] = p;
            p.Masters = 1;
            file = new PtyMasterFile(p, ptmx) { StatusFlags = flags };
            return 0;
        }

        /// A new open of the slave (its node, TIOCGPTPEER or /dev/tty): EIO while locked or hung up.
        public Errno OpenSlave(Inode node, uint flags, out OpenFile file)
        {
            file = null;
            if (HungUp || Locked) return Errno.EIO;
            Slaves++;
            _slaveOpened = true;
            file = new PtySlaveFile(this, node) { StatusFlags = flags };
            Notify();
            return 0;
        }

        /// Something either end may wait for changed.
        public void Notify()
        {
            _wait.WakeAll();
            MasterHead.Changed();
            SlaveHead.Changed();
        }

        protected override void SettingsChanged(uint oldLflag) { Ld.ModeChanged(oldLflag); Notify(); }
        protected override void FlushInput() { Ld.FlushIn(); Notify(); }

        void Free()
        {
            if (Masters == 0 && Slaves == 0 && _table[Index] == this) _table[Index] = null;
        }

        public void MasterClosed()
        {
            if (--Masters > 0) return;
            // Hang-up: the slave's session loses its terminal and its leader gets SIGHUP.
            Node.Nlink = 0;
            Ld.Stopped = false;
            int sid = Session;
            Session = 0; Pgrp = 0;
            if (sid != 0 && HungUpSession != null) HungUpSession(sid);
            Notify();
            Free();
        }

        public void SlaveClosed_()
        {
            Slaves--;
            Notify();
            Free();
        }

        WakeReason Block(ulong deadline = 0) => _wait.Wait(deadline);

        // ---- the master end

        public SysResult MasterRead(UserPtr dst, ulong len, bool nonblock)
        {
            if (len == 0) return 0;
            while (Ld.OutCount == 0)
            {
                if (SlaveClosed) return Errno.EIO;
                if (nonblock) return Errno.EAGAIN;
                if (Block() == WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
            byte* chunk = stackalloc byte[512];
            ulong done = 0;
            while (done < len && Ld.OutCount > 0)
            {
                int want = len - done < 512 ? (int)(len - done) : 512;
                // Copy out before taking the bytes, so a bad buffer loses nothing.
                int n = Ld.PeekOut(chunk, want);
                if (dst.Add(done).CopyOut(chunk, (ulong)n) != 0)
                {
                    Notify();
                    return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                }
                Ld.DropOut(n);
                done += (ulong)n;
            }
            Notify();
            return (long)done;
        }

        public SysResult MasterWrite(UserPtr src, ulong len, bool nonblock)
        {
            if (len == 0) return 0;
            byte* chunk = stackalloc byte[256];
            ulong done = 0;
            while (done < len)
            {
                if (Ld.InRoom == 0)
                {
                    Notify();
                    if (nonblock) return done > 0 ? (SysResult)(long)done : Errno.EAGAIN;
                    if (Block() == WakeReason.Interrupted) return done > 0 ? (SysResult)(long)done : Errno.ERESTARTSYS;
                    continue;
                }
                ulong k = len - done < 256 ? len - done : 256;
                if ((ulong)Ld.InRoom < k) k = (ulong)Ld.InRoom;
                if (src.Add(done).CopyIn(chunk, k) != 0) { Notify(); return done > 0 ? (SysResult)(long)done : Errno.EFAULT; }
                for (ulong i = 0; i < k; i++) Ld.Receive(chunk[i]);
                done += k;
            }
            Notify();
            return (long)done;
        }

        public uint MasterPoll()
        {
            uint m = 0;
            if (Ld.OutCount > 0) m |= PollEvents.In | PollEvents.RdNorm;
            if (SlaveClosed) m |= PollEvents.Hup;
            if (Ld.InRoom > 0) m |= PollEvents.Out | PollEvents.WrNorm;
            return m;
        }

        // ---- the slave end

        public SysResult SlaveRead(UserPtr dst, ulong len, bool nonblock)
        {
            if (HungUp) return 0;
            if (len == 0) return 0;
            byte* chunk = stackalloc byte[512];
            ulong done = 0;
            if ((Lflag & Tc.ICANON) != 0)
            {
                while (!Ld.InputReady(false))
                {
                    if (HungUp) return 0;
                    if (nonblock) return Errno.EAGAIN;
                    if (Block() == WakeReason.Interrupted) return Errno.ERESTARTSYS;
                }
                while (done < len)
                {
                    int want = len - done < 512 ? (int)(len - done) : 512;
                    int n = Ld.ReadIn(chunk, want, out bool line);
                    if (n > 0 && dst.Add(done).CopyOut(chunk, (ulong)n) != 0) { Notify(); return done > 0 ? (SysResult)(long)done : Errno.EFAULT; }
                    done += (ulong)n;
                    if (line || n < want) break;
                }
                Notify();
                return (long)done;
            }
            // Raw: VMIN and VTIME (tenths of a second) decide when a read returns.
            int min = Cc[Tc.VMIN], time = Cc[Tc.VTIME];
            ulong start = Time.Clock.MonotonicNs(), last = start;
            while (true)
            {
                while (done < len && Ld.InCount > 0)
                {
                    int want = len - done < 512 ? (int)(len - done) : 512;
                    int n = Ld.ReadIn(chunk, want, out _);
                    if (dst.Add(done).CopyOut(chunk, (ulong)n) != 0) { Notify(); return done > 0 ? (SysResult)(long)done : Errno.EFAULT; }
                    done += (ulong)n;
                    last = Time.Clock.MonotonicNs();
                }
                if (done > 0) Notify();
                if (done >= len || (min > 0 && done >= (ulong)min) || (min == 0 && done > 0)) break;
                if (min == 0 && time == 0) break;
                if (HungUp) break;
                ulong deadline = 0;
                if (time > 0 && (min == 0 || done > 0))
                {
                    deadline = (min == 0 ? start : last) + (ulong)time * 100000000UL;
                    if (Time.Clock.MonotonicNs() >= deadline) break;
                }
                if (nonblock) return done > 0 ? (SysResult)(long)done : Errno.EAGAIN;
                if (Block(deadline) == WakeReason.Interrupted) return done > 0 ? (SysResult)(long)done : Errno.ERESTARTSYS;
            }
            return (long)done;
        }

        public SysResult SlaveWrite(UserPtr src, ulong len, bool nonblock)
        {
            if (HungUp) return Errno.EIO;
            if (len == 0) return 0;
            byte* chunk = stackalloc byte[256];
            ulong done = 0;
            while (done < len)
            {
                if (HungUp) return done > 0 ? (SysResult)(long)done : Errno.EIO;
                if (Ld.Stopped || Ld.OutRoom < 2)
                {
                    Notify();
                    if (nonblock) return done > 0 ? (SysResult)(long)done : Errno.EAGAIN;
                    if (Block() == WakeReason.Interrupted) return done > 0 ? (SysResult)(long)done : Errno.ERESTARTSYS;
                    continue;
                }
                // Each byte becomes at most two: take what surely fits.
                ulong k = len - done < 256 ? len - done : 256;
                if ((ulong)(Ld.OutRoom / 2) < k) k = (ulong)(Ld.OutRoom / 2);
                if (src.Add(done).CopyIn(chunk, k) != 0) { Notify(); return done > 0 ? (SysResult)(long)done : Errno.EFAULT; }
                for (ulong i = 0; i < k; i++) Ld.Write(chunk[i]);
                done += k;
            }
            Notify();
            return (long)done;
        }

        public uint SlavePoll()
        {
            if (HungUp) return PollEvents.In | PollEvents.Out | PollEvents.Err | PollEvents.Hup | PollEvents.RdNorm | PollEvents.WrNorm;
            uint m = 0;
            if (Ld.InputReady(true)) m |= PollEvents.In | PollEvents.RdNorm;
            if (!Ld.Stopped && Ld.OutRoom >= 2) m |= PollEvents.Out | PollEvents.WrNorm;
            return m;
        }

        /// The ioctls of either end that are the pair's own (not job control: syscalls/Sys.Tty.cs).
        public SysResult Ioctl(bool master, uint request, ulong arg)
        {
            if (SettingsIoctl(request, arg, out SysResult r)) return r;
            switch (request)
            {
                case Abi.Ioctl.TIOCGPTN:
                    {
                        if (!master) return Errno.ENOTTY;
                        uint n = (uint)Index;
                        return new UserRef<uint>(arg).Write(n) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
                case Abi.Ioctl.TIOCSPTLCK:
                    {
                        if (!master) return Errno.ENOTTY;
                        if (new UserRef<int>(arg).Read(out int lk) != 0) return Errno.EFAULT;
                        Locked = lk != 0;
                        return SysResult.Ok;
                    }
                case Abi.Ioctl.TIOCGPTLCK:
                    {
                        if (!master) return Errno.ENOTTY;
                        int lk = Locked ? 1 : 0;
                        return new UserRef<int>(arg).Write(lk) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
                case Abi.Ioctl.TCFLSH:
                    // TCIFLUSH (0) empties what this end reads, TCOFLUSH (1) what it wrote and
                    // the other end has not read, TCIOFLUSH (2) both.
                    if (arg > 2) return Errno.EINVAL;
                    if (arg != 1) { if (master) Ld.FlushOut(); else Ld.FlushIn(); }
                    if (arg != 0) { if (master) Ld.FlushIn(); else Ld.FlushOut(); }
                    Notify();
                    return SysResult.Ok;
                case Abi.Ioctl.TCXONC:
                    switch (arg)
                    {
                        case 0: Ld.Stopped = true; break;                          // TCOOFF
                        case 1: Ld.Stopped = false; break;                         // TCOON
                        case 2: case 3:                                            // TCIOFF, TCION: send VSTOP / VSTART
                            {
                                byte c = Cc[arg == 2 ? Tc.VSTOP : Tc.VSTART];
                                if (c != 0 && !master) Ld.WriteRaw(c);
                                break;
                            }
                        default: return Errno.EINVAL;
                    }
                    Notify();
                    return SysResult.Ok;
                case Abi.Ioctl.TCSBRK: case Abi.Ioctl.TCSBRKP:
                    return SysResult.Ok;                      // tcdrain/tcsendbreak: nothing in flight, no line to break
                case Abi.Ioctl.TIOCOUTQ:
                    {
                        int zero = 0;                          // as Linux's ptys: nothing waits in a driver
                        return new UserRef<int>(arg).Write(zero) == 0 ? SysResult.Ok : Errno.EFAULT;
                    }
            }
            return Errno.ENOTTY;
        }

        /// Bytes a read of this end would find (FIONREAD).
        public long Readable(bool master) => master ? Ld.OutCount : Ld.InReadable();
    }

    /// An open pty end: the syscall layer finds the pair through it.
    public abstract class PtyFile : OpenFile
    {
        public readonly PtyPair Pair;
        public readonly bool IsMaster;
        readonly Inode _node;
        protected PtyFile(PtyPair p, bool master, Inode node) { Pair = p; IsMaster = master; _node = node; }
        public bool NonBlock => (StatusFlags & O_NONBLOCK) != 0;
        public override Inode Inode => _node;
        public override PollHead PollHead => IsMaster ? Pair.MasterHead : Pair.SlaveHead;
        public override uint Poll() => IsMaster ? Pair.MasterPoll() : Pair.SlavePoll();
        public override SysResult Readable() => Pair.Readable(IsMaster);
        public override SysResult Ioctl(uint request, ulong arg) => Pair.Ioctl(IsMaster, request, arg);
    }

    /// The master: what /dev/ptmx opens.
    public sealed class PtyMasterFile : PtyFile
    {
        public PtyMasterFile(PtyPair p, Inode ptmx) : base(p, true, ptmx) { }
        public override SysResult Read(UserPtr buffer, ulong length) => Pair.MasterRead(buffer, length, NonBlock);
        public override SysResult Write(UserPtr buffer, ulong length) => Pair.MasterWrite(buffer, length, NonBlock);
        protected override void Closed() => Pair.MasterClosed();
    }

    /// The slave: /dev/pts/N, TIOCGPTPEER, or /dev/tty when the pair is the controlling terminal.
    public sealed class PtySlaveFile : PtyFile
    {
        public PtySlaveFile(PtyPair p, Inode node) : base(p, false, node) { }
        public override SysResult Read(UserPtr buffer, ulong length) => Pair.SlaveRead(buffer, length, NonBlock);
        public override SysResult Write(UserPtr buffer, ulong length) => Pair.SlaveWrite(buffer, length, NonBlock);
        protected override void Closed() => Pair.SlaveClosed_();
    }

    /// /dev/pts/N: a character device 136:N, owned by the master's opener, group tty, mode 0620.
    public sealed class PtsNode : Inode
    {
        readonly PtyPair _pair;
        public PtsNode(PtyPair p)
        {
            _pair = p;
            InitCommon(PtsDir.DevPts, FileMode.S_IFCHR | 0x190);
            Ino = (ulong)p.Index + 3;
            Gid = 5;
            uint minor = (uint)p.Index;
            Rdev = (minor & 0xff) | (PtyPair.Major << 8) | ((ulong)(minor & ~0xffu) << 12);
            Parent = PtsDir.Root;
            var digits = new byte[12];
            var w = new Kernel.Console.LineWriter(digits);
            w.Dec(p.Index);
            Name = new byte[w.Length];
            for (int i = 0; i < w.Length; i++) Name[i] = digits[i];
        }
        public override long Blocks() => 0;
        public override Errno Open(uint flags, out OpenFile file) => _pair.OpenSlave(this, flags, out file);
    }

    /// The devpts filesystem mounted at /dev/pts: "ptmx" (5:2, mode 0) and one node per pair
    /// whose master is open.
    public sealed class PtsDir : Inode
    {
        public static readonly FileSystem DevPts = new FileSystem(0x18, Bytes("devpts"u8), 0x1cd1, 1);
        public static PtsDir Root;
        readonly DevNode _ptmx;

        public PtsDir()
        {
            InitCommon(DevPts, FileMode.S_IFDIR | 0x1ed);
            Nlink = 2;
            _ptmx = new DevNode(DevPts, DevKind.Ptmx, (5 << 8) | 2);
            _ptmx.Mode = FileMode.S_IFCHR;
            _ptmx.Ino = 2;
            _ptmx.Nlink = 1;
            _ptmx.Parent = this;
            _ptmx.Name = Bytes("ptmx"u8);
            Root = this;
        }
        public override bool IsEmptyDir => false;

        static byte[] Bytes(ReadOnlySpan<byte> s)
        {
            var a = new byte[s.Length];
            for (int i = 0; i < s.Length; i++) a[i] = s[i];
            return a;
        }

        public override Errno Lookup(ReadOnlySpan<byte> name, out Inode child)
        {
            child = null;
            if (name.Length == 4 && name[0] == 'p' && name[1] == 't' && name[2] == 'm' && name[3] == 'x') { child = _ptmx; return 0; }
            if (name.Length == 0 || name.Length > 4) return Errno.ENOENT;
            int n = 0;
            for (int i = 0; i < name.Length; i++)
            {
                if (name[i] < '0' || name[i] > '9' || (i == 0 && name[i] == '0' && name.Length > 1)) return Errno.ENOENT;
                n = n * 10 + (name[i] - '0');
            }
            PtyPair p = PtyPair.Find(n);
            if (p == null) return Errno.ENOENT;
            child = p.Node;
            return 0;
        }

        public override Errno Mknod(ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Mkdir(ReadOnlySpan<byte> name, uint mode, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Symlink(ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Unlink(ReadOnlySpan<byte> name, bool dir) => Errno.EACCES;

        public override bool ReadDir(ref long cookie, Span<byte> name, out DirEntryInfo e)
        {
            e = default;
            // Positions 0 and 1 are "." and ".."; then ptmx (2) and pair i (i + 3).
            if (cookie <= 2)
            {
                "ptmx"u8.CopyTo(name);
                e.NameLength = 4; e.Ino = 2; e.Type = 2;          // DT_CHR
                cookie = 3;
                return true;
            }
            for (long i = cookie - 3; i < PtyPair.Limit; i++)
            {
                if (PtyPair.Find((int)i) == null) continue;
                var w = new Kernel.Console.LineWriter(name);
                w.Dec(i);
                e.NameLength = w.Length; e.Ino = (ulong)i + 3; e.Type = 2;
                cookie = i + 4;
                return true;
            }
            return false;
        }
    }
}
