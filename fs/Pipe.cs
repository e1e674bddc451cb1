using System;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Syscalls;

namespace Kernel.Fs
{
    /// A pipe: a 64 KiB ring of page frames shared by its read and write ends. There is one
    /// thread, so an operation that would have to wait for the other end (which no one else
    /// can run) returns EAGAIN instead of blocking forever; see Sys.Pipe.cs.
    public sealed unsafe class Pipe
    {
        public const int Capacity = 65536;
        byte* _buf;
        long _head, _tail;             // bytes in [_tail, _head)
        public int Readers, Writers;
        public readonly PipeInode Inode;
        static bool _warned;

        public Pipe() { Inode = new PipeInode(this); }

        public long Count => _head - _tail;

        byte* Buffer()
        {
            if (_buf == null)
            {
                ulong f = PhysicalMemory.AllocateFramesUninitialized(Capacity / 4096);
                if (f == ulong.MaxValue) return null;
                _buf = (byte*)PhysicalMemory.ToVirtual(f);
            }
            return _buf;
        }

        void MaybeFree()
        {
            if (Readers == 0 && Writers == 0 && _buf != null && Inode.Fifo == null)
            {
                PhysicalMemory.FreeFrames(PhysicalMemory.ToPhysical(_buf), Capacity / 4096);
                _buf = null; _head = _tail = 0;
            }
        }

        static void WouldBlock()
        {
            if (_warned) return;
            _warned = true;
            Console.Log.Warn("pipe: an operation would block with no other thread to wake it: EAGAIN");
        }

        public SysResult Read(UserPtr dst, ulong len, bool nonblock)
        {
            if (len == 0) return 0;
            if (Count == 0)
            {
                if (Writers == 0) return 0;
                if (!nonblock) WouldBlock();
                return Errno.EAGAIN;
            }
            ulong done = 0;
            while (done < len && Count > 0)
            {
                long at = _tail % Capacity;
                long k = Capacity - at;
                if (k > Count) k = Count;
                if ((ulong)k > len - done) k = (long)(len - done);
                if (dst.Add(done).CopyOut(_buf + at, (ulong)k) != 0) return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                _tail += k; done += (ulong)k;
            }
            if (_head == _tail) _head = _tail = 0;
            return (long)done;
        }

        public SysResult Write(UserPtr src, ulong len, bool nonblock)
        {
            if (Readers == 0)
            {
                if (len == 0 && src.Address != 0) return 0;
                Process p = Process.Current;
                const int SIGPIPE = 13;
                ulong handler = p.Actions[SIGPIPE].Handler;
                bool masked = (p.SignalMask & (1UL << (SIGPIPE - 1))) != 0;
                if (handler == 0 && !masked) p.KillBySignal(SIGPIPE, null, 0, false);
                else if (handler != 1) p.PendingSignals |= 1UL << (SIGPIPE - 1);
                return Errno.EPIPE;
            }
            if (len == 0) return 0;
            if (Buffer() == null) return Errno.ENOMEM;
            ulong done = 0;
            // Writes of up to PIPE_BUF (4096) bytes are atomic: all or nothing.
            if (len <= 4096 && (ulong)(Capacity - Count) < len)
            {
                if (!nonblock) WouldBlock();
                return Errno.EAGAIN;
            }
            while (done < len && Count < Capacity)
            {
                long at = _head % Capacity;
                long k = Capacity - at;
                if (k > Capacity - Count) k = Capacity - Count;
                if ((ulong)k > len - done) k = (long)(len - done);
                if (src.Add(done).CopyIn(_buf + at, (ulong)k) != 0) return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                _head += k; done += (ulong)k;
            }
            if (done == 0) { if (!nonblock) WouldBlock(); return Errno.EAGAIN; }
            return (long)done;
        }

        /// Write from kernel memory (sendfile into a pipe).
        public long WriteKernel(byte* src, long len)
        {
            if (Readers == 0) { SysResult r = Write(default, 0, true); return r.Raw; }
            if (len == 0) return 0;
            if (Buffer() == null) return -(long)Errno.ENOMEM;
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
            return done > 0 ? done : -(long)Errno.EAGAIN;
        }

        public void CloseEnd(bool write)
        {
            if (write) Writers--; else Readers--;
            MaybeFree();
        }

        /// Opening a FIFO by name.
        public Errno OpenFifo(MemNode node, uint flags, out OpenFile file)
        {
            file = null;
            Inode.Fifo = node;
            uint acc = flags & 3;
            const uint O_NONBLOCK = 0x800;
            if (acc == 1 && (flags & O_NONBLOCK) != 0 && Readers == 0) return Errno.ENXIO;
            if (acc == 3) return Errno.EINVAL;
            // A blocking open of one end waits for the other on Linux; with one thread
            // nothing could open it, so it returns at once (reads then see EOF or EAGAIN).
            file = acc == 0 ? new PipeEnd(this, false, flags) : acc == 1 ? new PipeEnd(this, true, flags) : new PipeEnd(this, true, flags, both: true);
            return 0;
        }
    }

    /// The inode of a pipe (pipefs) or FIFO.
    public sealed class PipeInode : Inode
    {
        public readonly Pipe Pipe;
        public MemNode Fifo;
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

        bool NonBlock => (StatusFlags & 0x800) != 0;
        public override Inode Inode => _pipe.Inode.Fifo != null ? (Inode)_pipe.Inode.Fifo : _pipe.Inode;
        public override SysResult Read(UserPtr buffer, ulong length) => _read ? _pipe.Read(buffer, length, NonBlock) : Errno.EBADF;
        public override SysResult Write(UserPtr buffer, ulong length) => _write ? _pipe.Write(buffer, length, NonBlock) : Errno.EBADF;
        public override SysResult Readable() => _pipe.Count;
        public override long WriteKernel(byte* src, long len) => _write ? _pipe.WriteKernel(src, len) : -(long)Errno.EBADF;
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
