using System;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Abi;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Fs
{
    /// A pipe: a ring of page frames (64 KiB unless F_SETPIPE_SZ changes it) shared by its read and write ends. Readers wait
    /// for data (or the last writer closing), writers for room (or the last reader closing);
    /// a signal interrupts the wait (EINTR, restarted under SA_RESTART).
    public sealed unsafe class Pipe
    {
        public const int DefaultCapacity = 65536;
        long _capacity = DefaultCapacity;
        /// The ring's size in bytes: a power of two, at least a page.
        public long Capacity => _capacity;
        byte* _buf;
        long _head, _tail;             // bytes in [_tail, _head)
        public int Readers, Writers;
        public readonly PipeInode Inode;
        /// Where both ends announce changes (poll, select, epoll).
        public readonly PollHead Head = new PollHead();
        readonly Sched.WaitQueue _readWait = new Sched.WaitQueue(), _writeWait = new Sched.WaitQueue();
        ulong _readerOpens, _writerOpens;      // FIFO opens of each end, for blocking opens

        public Pipe() { Inode = new PipeInode(this); }

        public long Count => _head - _tail;

        byte* Buffer()
        {
            if (_buf == null)
            {
                ulong f = PhysicalMemory.AllocateFramesUninitialized((ulong)(Capacity / 4096));
                if (f == ulong.MaxValue) return null;
                _buf = (byte*)PhysicalMemory.ToVirtual(f);
            }
            return _buf;
        }

        void MaybeFree()
        {
            if (Readers == 0 && Writers == 0 && _buf != null && Inode.Fifo == null)
            {
                PhysicalMemory.FreeFrames(PhysicalMemory.ToPhysical(_buf), (ulong)(Capacity / 4096));
                _buf = null; _head = _tail = 0;
            }
        }

        /// F_SETPIPE_SZ: the ring becomes `size` rounded up to a power-of-two number of
        /// pages; the bytes in it are kept (EBUSY when they would not fit). Returns the size.
        public SysResult Resize(ulong size)
        {
            if (size > 1UL << 31) return Errno.EINVAL;
            long n = 4096;
            while ((ulong)n < size) n <<= 1;
            if (n < Count) return Errno.EBUSY;
            if (n == _capacity) return n;
            if (_buf != null)
            {
                ulong f = PhysicalMemory.HasRoom((ulong)n + (256 << 10)) ? PhysicalMemory.AllocateFramesUninitialized((ulong)(n / 4096)) : ulong.MaxValue;
                if (f == ulong.MaxValue) return Errno.ENOMEM;
                byte* bigger = (byte*)PhysicalMemory.ToVirtual(f);
                long count = Peek(bigger, Count);                          // the bytes in order, from offset 0
                PhysicalMemory.FreeFrames(PhysicalMemory.ToPhysical(_buf), (ulong)(_capacity / 4096));
                _buf = bigger;
                _tail = 0; _head = count;
            }
            else _head = _tail = 0;
            _capacity = n;
            _writeWait.WakeAll();
            Head.Changed();                                   // more room: writers' pollers on this pipe
            return n;
        }

        static SysResult Interrupted() => Errno.ERESTARTSYS;

        public SysResult Read(UserPtr dst, ulong len, bool nonblock)
        {
            if (len == 0) return 0;
            while (Count == 0)
            {
                if (Writers == 0) return 0;
                if (nonblock) return Errno.EAGAIN;
                if (_readWait.Wait() == Sched.WakeReason.Interrupted) return Interrupted();
            }
            ulong done = 0;
            while (done < len && Count > 0)
            {
                long at = _tail % Capacity;
                long k = Capacity - at;
                if (k > Count) k = Count;
                if ((ulong)k > len - done) k = (long)(len - done);
                if (dst.Add(done).CopyOut(_buf + at, (ulong)k) != 0)
                {
                    if (done > 0) { _writeWait.WakeAll(); Head.Changed(); }
                    return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                }
                _tail += k; done += (ulong)k;
            }
            if (_head == _tail) _head = _tail = 0;
            _writeWait.WakeAll();
            Head.Changed();
            return (long)done;
        }

        public SysResult Write(UserPtr src, ulong len, bool nonblock)
        {
            if (Readers == 0) return BrokenPipe(len, src);
            if (len == 0) return 0;
            if (Buffer() == null) return Errno.ENOMEM;
            ulong done = 0;
            while (done < len)
            {
                if (Readers == 0) return done > 0 ? (SysResult)(long)done : BrokenPipe(len, src);
                ulong room = (ulong)(Capacity - Count);
                // Writes of up to PIPE_BUF (4096) bytes are atomic: all or nothing.
                bool fits = len <= 4096 ? room >= len : room > 0;
                if (!fits)
                {
                    if (nonblock) return done > 0 ? (SysResult)(long)done : Errno.EAGAIN;
                    if (_writeWait.Wait() == Sched.WakeReason.Interrupted) return done > 0 ? (SysResult)(long)done : Interrupted();
                    continue;
                }
                while (done < len && Count < Capacity)
                {
                    long at = _head % Capacity;
                    long k = Capacity - at;
                    if (k > Capacity - Count) k = Capacity - Count;
                    if ((ulong)k > len - done) k = (long)(len - done);
                    if (src.Add(done).CopyIn(_buf + at, (ulong)k) != 0) { _readWait.WakeAll(); Head.Changed(); return done > 0 ? (SysResult)(long)done : Errno.EFAULT; }
                    _head += k; done += (ulong)k;
                }
                _readWait.WakeAll();
                Head.Changed();
            }
            return (long)done;
        }

        /// SIGPIPE to the writing thread. Signals live in the process layer above fs/, which
        /// installs this at start-up (kernel/Kmain.cs).
        public static delegate*<void> SendSigpipe;

        /// Writing with no reader: SIGPIPE to the writing thread (its default action ends the
        /// program on the way back to user mode) and EPIPE.
        static SysResult BrokenPipe(ulong len, UserPtr src)
        {
            if (len == 0 && src.Address != 0) return 0;
            SendSigpipe();
            return Errno.EPIPE;
        }

        /// Write from kernel memory (sendfile into a pipe).
        public SysResult WriteKernel(byte* src, long len)
        {
            if (Readers == 0) return Write(default, 0, true);
            if (len == 0) return 0;
            if (Buffer() == null) return Errno.ENOMEM;
            long done = 0;
            while (done < len && Count < Capacity)
            {
                long at = _head % Capacity;
                long k = Capacity - at;
                if (k > Capacity - Count) k = Capacity - Count;
                if (k > len - done) k = len - done;
                Mem.Copy(_buf + at, src + done, (ulong)k);
                _head += k; done += k;
            }
            if (done > 0) { _readWait.WakeAll(); Head.Changed(); }
            return done > 0 ? done : Errno.EAGAIN;
        }

        // ---- splice and tee: the pipe's bytes in place

        /// Copies up to `len` bytes from the front without taking them; returns how many.
        public long Peek(byte* dst, long len)
        {
            long n = Count < len ? Count : len;
            for (long done = 0; done < n;)
            {
                long at = (_tail + done) % Capacity;
                long k = Capacity - at;
                if (k > n - done) k = n - done;
                Mem.Copy(dst + done, _buf + at, (ulong)k);
                done += k;
            }
            return n;
        }

        /// Drops `n` bytes from the front (what a Peek copied and the other side took).
        public void Consume(long n)
        {
            if (n <= 0) return;
            _tail += n;
            if (_head == _tail) _head = _tail = 0;
            _writeWait.WakeAll();
            Head.Changed();
        }

        /// Waits until there is data: 0, 1 at end of file (no writer left), or -errno
        /// (EAGAIN when `nonblock`, ERESTARTSYS for a signal).
        public int WaitData(bool nonblock)
        {
            while (Count == 0)
            {
                if (Writers == 0) return 1;
                if (nonblock) return -(int)Errno.EAGAIN;
                if (_readWait.Wait() == Sched.WakeReason.Interrupted) return -(int)Errno.ERESTARTSYS;
            }
            return 0;
        }

        /// Waits until there is room: 0, or EPIPE (no reader: SIGPIPE sent), EAGAIN, ERESTARTSYS.
        public Errno WaitRoom(bool nonblock)
        {
            while (true)
            {
                if (Readers == 0) { SendSigpipe(); return Errno.EPIPE; }
                if (Count < Capacity) return Buffer() == null ? Errno.ENOMEM : 0;
                if (nonblock) return Errno.EAGAIN;
                if (_writeWait.Wait() == Sched.WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
        }

        public void CloseEnd(bool write)
        {
            if (write) Writers--; else Readers--;
            _readWait.WakeAll();                // readers see end of file, writers EPIPE
            _writeWait.WakeAll();
            Head.Changed();
            MaybeFree();
        }

        /// Opening a FIFO by name.
        public Errno OpenFifo(Inode node, uint flags, out OpenFile file)
        {
            file = null;
            Inode.Fifo = node;
            uint acc = flags & 3;
            if (acc == 1 && (flags & O_NONBLOCK) != 0 && Readers == 0) return Errno.ENXIO;
            if (acc == 3) return Errno.EINVAL;
            ulong readerOpens = _readerOpens, writerOpens = _writerOpens;
            file = acc == 0 ? new PipeEnd(this, false, flags) : acc == 1 ? new PipeEnd(this, true, flags) : new PipeEnd(this, true, flags, both: true);
            if (acc != 1) _readerOpens++;
            if (acc != 0) _writerOpens++;
            _readWait.WakeAll();
            _writeWait.WakeAll();
            Head.Changed();
            // A blocking open of one end waits until the other end is opened too.
            if ((flags & O_NONBLOCK) == 0 && acc != 2)
                // Done once the other end has been opened since, even if closed again already.
                while (acc == 0 ? Writers == 0 && _writerOpens == writerOpens : Readers == 0 && _readerOpens == readerOpens)
                {
                    var q = acc == 0 ? _readWait : _writeWait;
                    if (q.Wait() == Sched.WakeReason.Interrupted)
                    {
                        file.Release();
                        file = null;
                        return Errno.ERESTARTSYS;
                    }
                }
            return 0;
        }
    }

    /// The inode of a pipe (pipefs) or FIFO.
    public sealed class PipeInode : Inode
    {
        public readonly Pipe Pipe;
        public Inode Fifo;                    // the FIFO node (tmpfs or ext4) when this is a FIFO
        public PipeInode(Pipe p) { Pipe = p; InitCommon(Vfs.PipeFs, FileMode.S_IFIFO | 0x180); }
        public override long Size => 0;
        public override long Blocks() => 0;
        public override Errno Open(uint flags, out OpenFile file)
        {
            file = null;
            uint acc = flags & 3;
            if (acc == 3) return Errno.EINVAL;
            file = new PipeEnd(Pipe, acc != 0, flags, both: acc == 2);
            return 0;
        }
    }

    /// One end of a pipe (or both, for a FIFO opened O_RDWR).
    public sealed unsafe class PipeEnd : OpenFile
    {
        readonly Pipe _pipe;
        readonly bool _write, _read;
        public PipeEnd(Pipe p, bool write, uint flags, bool both = false)
        {
            _pipe = p; _write = write || both; _read = !write || both;
            StatusFlags = flags;
            if (_write) p.Writers++;
            if (_read) p.Readers++;
        }

        public bool NonBlock => (StatusFlags & 0x800) != 0;
        public Pipe Pipe => _pipe;
        public bool CanRead => _read;
        public bool CanWrite => _write;
        public override Inode Inode => _pipe.Inode.Fifo != null ? (Inode)_pipe.Inode.Fifo : _pipe.Inode;
        public override SysResult Read(UserPtr buffer, ulong length) => _read ? _pipe.Read(buffer, length, NonBlock) : Errno.EBADF;
        public override SysResult Write(UserPtr buffer, ulong length) => _write ? _pipe.Write(buffer, length, NonBlock) : Errno.EBADF;
        public override SysResult Readable() => _pipe.Count;
        public override PollHead PollHead => _pipe.Head;
        public override uint Poll()
        {
            uint m = 0;
            if (_read) { if (_pipe.Count > 0) m |= PollEvents.In; if (_pipe.Writers == 0) m |= PollEvents.Hup; }
            if (_write) { if (_pipe.Capacity - _pipe.Count >= 4096) m |= PollEvents.Out; if (_pipe.Readers == 0) m |= PollEvents.Err; }
            return m;
        }
        public override SysResult WriteKernel(byte* src, long len) => _write ? _pipe.WriteKernel(src, len) : Errno.EBADF;
        public override void Stat(ref Abi.Stat st) { Inode.FillStat(ref st); }
        protected override void Closed()
        {
            if (_write) _pipe.CloseEnd(true);
            if (_read) _pipe.CloseEnd(false);
        }
        public override int Describe(Span<byte> buf)
        {
            if (_pipe.Inode.Fifo != null) return base.Describe(buf);
            var w = new Kernel.Console.LineWriter(buf);
            w.Str("pipe:["); w.Udec(_pipe.Inode.Ino); w.Str("]");
            return w.Length;
        }
    }
}
