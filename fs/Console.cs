using System;
using Kernel.Arch;
using Kernel.Drivers;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// The program's stdin/stdout/stderr over the serial ports. Input arrives through the
    /// COM1 interrupt with the host's escaping (FF FF = byte FF, FF 04 = end of input).
    public static unsafe class SerialConsole
    {
        public static readonly Uart Com1 = new Uart(0x3f8), Com2 = new Uart(0x2f8);
        const int IrqVector = 0x24;
        static readonly byte[] _ring = new byte[16384];
        static int _head, _tail;          // bytes in [_tail, _head)
        static bool _escape, _eof;
        /// Which of fds 0-2 are terminals on the host (bit per fd), from the command line.
        public static int TtyMask;
        /// The host asks the program to stop (FF 07 on either stdio channel: `ukpack run` got
        /// SIGTERM, as `docker stop`); the process layer sends pid 1 a SIGTERM, once: the
        /// host sends the notice on both channels, and a second SIGTERM to ukpack kills QEMU.
        public static delegate*<void> OnStopRequest;
        static bool _stopRequested;
        public static void StopRequested()
        {
            if (_stopRequested) return;
            _stopRequested = true;
            if (OnStopRequest != null) OnStopRequest();
        }

        public static void Init()
        {
            Com1.Init(receiveInterrupts: true);
            Com2.Init(receiveInterrupts: false);
            Interrupts.IrqHandlers[IrqVector] = &OnInterrupt;
            IoApic.Route(4, IrqVector);
        }

        static Sched.Thread _reader;            // a thread blocked in Read, woken by input

        static InterruptFrame* OnInterrupt(InterruptFrame* f)
        {
            Drain();
            Time.Timer.EndOfInterrupt();
            if (_reader != null && (_head != _tail || _eof)) { Sched.Scheduler.Wake(_reader, Sched.WakeReason.Woken); _reader = null; }
            if (_head != _tail || _eof) ConsoleFile.InputHead.Changed();
            return f;
        }

        static void Drain()
        {
            // Stop when the ring is full: the rest waits in the UART, whose full FIFO holds
            // QEMU back, instead of being dropped.
            while (_head - _tail < _ring.Length && Com1.TryRead(out byte b))
            {
                if (_escape)
                {
                    _escape = false;
                    if (b == 0x04) { _eof = true; continue; }
                    if (b == 0x05) { StdoutClosed = true; continue; }
                    if (b == 0x06) { StderrClosed = true; continue; }
                    if (b == 0x07) { StopRequested(); continue; }
                    if (b != 0xff) continue;             // unknown escape: dropped
                }
                else if (b == 0xff) { _escape = true; continue; }
                _ring[_head % _ring.Length] = b; _head++;
            }
        }

        public static bool AtEnd => _eof;

        /// The host's reader of our stdout/stderr went away (FF 05 / FF 06 from ukpack).
        public static bool StdoutClosed, StderrClosed;

        /// Bytes of input that a read would return without waiting.
        public static long Available() { Drain(); return _head - _tail; }

        /// Blocks until input or end of input; returns bytes copied (0 at end of input).
        public static SysResult Read(UserPtr buffer, ulong length)
        {
            if (length == 0) return 0;
            while (true)
            {
                Drain();
                if (_head != _tail) break;
                if (_eof) return 0;
                _reader = Sched.Scheduler.Current;
                if (Sched.Scheduler.Block(0, true) == Sched.WakeReason.Interrupted)
                {
                    _reader = null;
                    return Errno.ERESTARTSYS;
                }
            }
            // Input arrives a byte at a time over the serial line: when the request is not yet
            // met, give the rest of a burst a moment (up to 1 ms of silence) to arrive, so a
            // program reading a file piped in sees full reads, as it would from the file.
            while ((ulong)(_head - _tail) < length && !_eof && _head - _tail < _ring.Length)
            {
                long before = _head;
                _reader = Sched.Scheduler.Current;
                Sched.Scheduler.Block(Time.Clock.MonotonicNs() + 1000000, true);
                _reader = null;
                Drain();
                if (_head == before) break;
            }
            // Copy out before consuming, so a bad buffer (EFAULT) loses no input.
            ulong n = 0;
            byte* chunk = stackalloc byte[256];
            while (n < length && _head != _tail)
            {
                int k = 0;
                while (k < 256 && n + (ulong)k < length && _tail + k != _head) { chunk[k] = _ring[(_tail + k) % _ring.Length]; k++; }
                if (buffer.Add(n).CopyOut(chunk, (ulong)k) != 0) return n > 0 ? (SysResult)(long)n : Errno.EFAULT;
                _tail += k;
                n += (ulong)k;
            }
            return (long)n;
        }

        public static SysResult Write(Uart port, UserPtr buffer, ulong length)
        {
            byte* chunk = stackalloc byte[512];
            ulong done = 0;
            while (done < length)
            {
                ulong k = length - done < 512 ? length - done : 512;
                if (buffer.Add(done).CopyIn(chunk, k) != 0) return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                for (ulong i = 0; i < k; i++) port.Write(chunk[i]);
                done += k;
            }
            return (long)done;
        }
    }

    /// fd 0, 1 or 2: a character device over the virtio-console ports (VirtioStdio) or the
    /// serial console; or, opened as /dev/tty,
    /// the program's terminal (Terminal): the host's terminal behind whichever of
    /// stdin/stdout/stderr are one.
    public sealed unsafe class ConsoleFile : OpenFile
    {
        /// `which` of /dev/tty: input from stdin when it is the terminal, output to the
        /// first of stdout and stderr that is the terminal.
        public const int Terminal = 3;
        readonly int _which;           // 0 stdin, 1 stdout, 2 stderr, 3 the terminal
        readonly Inode _node;          // /dev/tty or /dev/console when opened by name
        public ConsoleFile(int which) { _which = which; StatusFlags = which == 0 ? 0u : 1u; }
        public ConsoleFile(int which, Inode node) : this(which) { _node = node; }
        /// Announced when input arrives or ends (SerialConsole, VirtioStdio): the head of
        /// every console file, since output is always ready.
        public static readonly PollHead InputHead = new PollHead();
        public override PollHead PollHead => InputHead;
        public override Inode Inode => _node ?? ConsoleInode.Get(_which);

        /// Whether the program has a terminal (one of its standard fds is one on the host).
        public static bool HasTerminal => (SerialConsole.TtyMask & 7) != 0;
        /// Whether this is the terminal (the host's, seen through the console): the syscall
        /// layer's controlling-terminal ioctls (Sys.Tty.cs) apply to it.
        public bool IsTerminal => IsTty;
        bool IsTty => _which == Terminal || (SerialConsole.TtyMask & (1 << _which)) != 0;
        bool ReadsInput => _which == 0 || (_which == Terminal && (SerialConsole.TtyMask & 1) != 0);
        /// The output channel: 1 (stdout, COM1) or 2 (stderr, COM2); 0 for stdin.
        int OutputChannel => _which == Terminal ? ((SerialConsole.TtyMask & 2) != 0 || (SerialConsole.TtyMask & 4) == 0 ? 1 : 2) : _which;

        // The channel under fds 0-2: virtio-console ports when ukpack attached them, else serial.
        static bool Virtio => VirtioStdio.Active;
        static long InputAvailable() => Virtio ? VirtioStdio.Available() : SerialConsole.Available();
        static bool InputAtEnd => Virtio ? VirtioStdio.AtEnd : SerialConsole.AtEnd;

        public override SysResult Readable() => ReadsInput ? InputAvailable() : 0;
        public override uint Poll()
        {
            if (_which == 0) return InputAvailable() > 0 || InputAtEnd ? PollEvents.In : 0;
            if (_which == Terminal) return PollEvents.Out | (!ReadsInput || InputAvailable() > 0 || InputAtEnd ? PollEvents.In : 0);
            return PollEvents.Out;
        }

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (ReadsInput) return Virtio ? VirtioStdio.Read(buffer, length) : SerialConsole.Read(buffer, length);
            // The terminal's input reaches the program only as its stdin: otherwise it
            // reads as a hung-up terminal does, end of input.
            return _which == Terminal ? 0 : Errno.EBADF;
        }

        public override SysResult Write(UserPtr buffer, ulong length)
        {
            int ch = OutputChannel;
            if (ch == 0) return Errno.EBADF;
            bool closed = Virtio ? (ch == 1 ? VirtioStdio.StdoutClosed : VirtioStdio.StderrClosed)
                                 : (ch == 1 ? SerialConsole.StdoutClosed : SerialConsole.StderrClosed);
            if (closed)
            {
                // Like a pipe whose reader has gone: SIGPIPE to the writer, and EPIPE.
                Pipe.SendSigpipe();
                return Errno.EPIPE;
            }
            if (Virtio) return VirtioStdio.Write(ch, buffer, length);
            return SerialConsole.Write(ch == 1 ? SerialConsole.Com1 : SerialConsole.Com2, buffer, length);
        }

        public override SysResult WriteKernel(byte* src, long len)
        {
            int ch = OutputChannel;
            if (ch == 0) return Errno.EBADF;
            if (Virtio) { VirtioStdio.WriteKernel(ch, src, len); return len; }
            Uart port = ch == 1 ? SerialConsole.Com1 : SerialConsole.Com2;
            for (long i = 0; i < len; i++) port.Write(src[i]);
            return len;
        }

        public override SysResult Ioctl(uint request, ulong arg)
        {
            if (!IsTty) return Errno.ENOTTY;
            // Its settings are kept and reported (ConsoleTty); the host's terminal edits the lines.
            if (ConsoleTty.Instance.SettingsIoctl(request, arg, out SysResult r)) return r;
            return Errno.ENOTTY;
        }

        public override void Stat(ref Abi.Stat st)
        {
            if (_which == Terminal) { _node.FillStat(ref st); return; }
            // A terminal is a character device; otherwise the host end is a pipe or file,
            // and programs see a FIFO as they would through a pipe.
            st.Mode = IsTty ? 0x2000u | 0x190 : 0x1000u | 0x180;
            st.Dev = 0x16; st.Ino = (ulong)(_which + 1); st.Nlink = 1; st.BlkSize = 4096;
            st.Rdev = IsTty ? (ulong)(0x400 | 64) : 0;
        }

        public override int Describe(Span<byte> buf)
        {
            ReadOnlySpan<byte> s = _which == Terminal ? "/dev/tty"u8 : IsTty ? "/dev/ttyS0"u8 : _which == 0 ? "pipe:[1]"u8 : _which == 1 ? "pipe:[2]"u8 : "pipe:[3]"u8;
            s.CopyTo(buf);
            return s.Length;
        }
    }

    /// The inode standing for fd 0, 1 or 2 of the console (what /proc/self/fd/N leads to).
    public sealed class ConsoleInode : Inode
    {
        static ConsoleInode[] _nodes;
        readonly int _which;
        ConsoleInode(int which) { _which = which; InitCommon(Vfs.DevFs, FileMode.S_IFCHR | 0x190); Rdev = 0x400 | 64; }
        public static ConsoleInode Get(int which)
        {
            if (_nodes == null) _nodes = new ConsoleInode[3];
            if (_nodes[which] == null) _nodes[which] = new ConsoleInode(which);
            return _nodes[which];
        }
        public override Errno Open(uint flags, out OpenFile file)
        {
            file = new ConsoleFile(_which, this) { StatusFlags = flags };
            return 0;
        }
    }
}
