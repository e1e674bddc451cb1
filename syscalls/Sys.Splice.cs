using System;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Memory;
using Kernel.Net;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Syscalls
{
    /// splice(2) and tee(2): bytes between a pipe and a socket, a regular file or another
    /// pipe. Linux moves page references; here the bytes are copied once through a kernel
    /// buffer and taken from the source pipe only after the other side accepted them.
    public static unsafe partial class Sys
    {
        const uint SPLICE_F_NONBLOCK = 2, SpliceFlagsAll = 0xf;
        const int SpliceChunk = 65536;

        static bool CanReadFile(OpenFile f) => f is PipeEnd p ? p.CanRead : !f.IsPath && (f.StatusFlags & O_ACCMODE) != O_WRONLY;
        static bool CanWriteFile(OpenFile f) => f is PipeEnd p ? p.CanWrite : !f.IsPath && (f.StatusFlags & O_ACCMODE) != O_RDONLY;

        /// splice(2)
        public static SysResult Splice(SyscallArgs* a)
        {
            ulong offInPtr = a->A1, offOutPtr = a->A3, len = a->A4;
            uint flags = (uint)a->A5;
            if (len == 0) return 0;
            if ((flags & ~SpliceFlagsAll) != 0) return Errno.EINVAL;
            OpenFile inF = Fd((int)a->A0);
            if (inF == null) return Errno.EBADF;
            OpenFile outF = Fd((int)a->A2);
            if (outF == null) return Errno.EBADF;
            var pin = inF as PipeEnd;
            var pout = outF as PipeEnd;
            if (pin != null && offInPtr != 0) return Errno.ESPIPE;
            if (pout != null && offOutPtr != 0) return Errno.ESPIPE;
            long off = 0;
            ulong offPtr = pin != null ? offOutPtr : offInPtr;
            if (offPtr != 0 && new UserPtr(offPtr).CopyIn(&off, 8) != 0) return Errno.EFAULT;
            if (!CanReadFile(inF) || !CanWriteFile(outF)) return Errno.EBADF;
            if (len > 0x7ffff000) len = 0x7ffff000;
            bool nonblock = (flags & SPLICE_F_NONBLOCK) != 0;
            if (pin != null && pout != null)
            {
                if (pin.Pipe == pout.Pipe) return Errno.EINVAL;
                return PipeToPipe(pin.Pipe, pout.Pipe, (long)len, nonblock || pin.NonBlock || pout.NonBlock, false);
            }
            if (pin != null)
            {
                // To a socket or a regular file (at *off_out, or its position).
                if (offPtr != 0 && !(outF is InodeFile && outF.Inode.IsRegular)) return Errno.EINVAL;
                if ((outF.StatusFlags & O_APPEND) != 0) return Errno.EINVAL;
                if (offPtr != 0 && off < 0) return Errno.EINVAL;
                if (!(outF is Socket) && !(outF is InodeFile && outF.Inode.IsRegular)) return Errno.EINVAL;
                SysResult r = FromPipe(pin.Pipe, outF, (long)len, nonblock || pin.NonBlock, offPtr != 0 ? &off : null);
                if (!r.IsError && offPtr != 0 && new UserPtr(offPtr).CopyOut(&off, 8) != 0) return Errno.EFAULT;
                return r;
            }
            if (pout != null)
            {
                // From a socket or a regular file (at *off_in, or its position).
                if (offPtr != 0 && !(inF is InodeFile && inF.Inode.IsRegular)) return Errno.EINVAL;
                if (offPtr != 0 && off < 0) return Errno.EINVAL;
                if (!(inF is Socket) && !(inF is InodeFile && inF.Inode.IsRegular)) return Errno.EINVAL;
                SysResult r = ToPipe(inF, pout.Pipe, (long)len, nonblock || pout.NonBlock, offPtr != 0 ? &off : null);
                if (!r.IsError && offPtr != 0 && new UserPtr(offPtr).CopyOut(&off, 8) != 0) return Errno.EFAULT;
                return r;
            }
            return Errno.EINVAL;
        }

        /// tee(2)
        public static SysResult Tee(SyscallArgs* a)
        {
            ulong len = a->A2;
            uint flags = (uint)a->A3;
            if (len == 0) return 0;
            if ((flags & ~SpliceFlagsAll) != 0) return Errno.EINVAL;
            OpenFile inF = Fd((int)a->A0);
            if (inF == null) return Errno.EBADF;
            OpenFile outF = Fd((int)a->A1);
            if (outF == null) return Errno.EBADF;
            if (!CanReadFile(inF) || !CanWriteFile(outF)) return Errno.EBADF;
            if (!(inF is PipeEnd pin) || !(outF is PipeEnd pout) || pin.Pipe == pout.Pipe) return Errno.EINVAL;
            if (len > 0x7ffff000) len = 0x7ffff000;
            return PipeToPipe(pin.Pipe, pout.Pipe, (long)len, (flags & SPLICE_F_NONBLOCK) != 0 || pin.NonBlock || pout.NonBlock, true);
        }

        /// vmsplice(2): user memory into a pipe through its write end, or out of it through its
        /// read end. Linux lends the pages to the pipe; this copies them, which a program can
        /// tell only by SPLICE_F_GIFT's page reuse, a hint.
        public static SysResult Vmsplice(SyscallArgs* a)
        {
            long count = (long)a->A2;
            uint flags = (uint)a->A3;
            if ((flags & ~SpliceFlagsAll) != 0) return Errno.EINVAL;
            OpenFile f = Fd((int)a->A0);
            if (!(f is PipeEnd end) || (!end.CanWrite && !end.CanRead)) return Errno.EBADF;
            if (count < 0 || count > 1024) return Errno.EINVAL;
            if (count == 0) return 0;
            var iovs = new UserPtr(a->A1);
            Errno bad = CheckIovecs(iovs, count);
            if (bad != 0) return bad;
            long nonblock = (flags & SPLICE_F_NONBLOCK) != 0 || end.NonBlock ? 1 : 0;
            return EachIovec(iovs, count, end, nonblock, end.CanWrite ? &IntoPipeStep : &OutOfPipeStep);
        }

        static SysResult IntoPipeStep(OpenFile f, UserPtr buf, ulong len, long done, long nonblock) => ((PipeEnd)f).Pipe.Write(buf, len, nonblock != 0);
        static SysResult OutOfPipeStep(OpenFile f, UserPtr buf, ulong len, long done, long nonblock) => ((PipeEnd)f).Pipe.Read(buf, len, nonblock != 0);

        /// Bytes from one pipe to another (taken from the first, or left there for tee).
        static SysResult PipeToPipe(Pipe src, Pipe dst, long len, bool nonblock, bool keep)
        {
            int d = src.WaitData(nonblock);
            if (d < 0) return (Errno)(-d);
            if (d == 1) return 0;
            Errno e = dst.WaitRoom(nonblock);
            if (e != 0) return e;
            long room = dst.Capacity - dst.Count;
            if (len > room) len = room;
            byte* buf = (byte*)Heap.Alloc(SpliceChunk);
            long n = src.Peek(buf, len < SpliceChunk ? len : SpliceChunk);
            SysResult w = dst.WriteKernel(buf, n);
            Heap.Free(buf, SpliceChunk);
            if (w.IsError) return w;
            if (!keep) src.Consume(w.Raw);
            return w;
        }

        /// Bytes from a pipe to a socket or a regular file: what the pipe holds (waiting for
        /// some), as much as the other side takes.
        static SysResult FromPipe(Pipe src, OpenFile dst, long len, bool nonblock, long* off)
        {
            int d = src.WaitData(nonblock);
            if (d < 0) return (Errno)(-d);
            if (d == 1) return 0;
            byte* buf = (byte*)Heap.Alloc(SpliceChunk);
            long n = src.Peek(buf, len < SpliceChunk ? len : SpliceChunk);
            SysResult w;
            if (off != null)
            {
                w = dst.Inode.WriteKernel(*off, buf, n);
                if (!w.IsError) *off += w.Raw;
            }
            else w = dst.WriteKernel(buf, n);
            Heap.Free(buf, SpliceChunk);
            if (!w.IsError) src.Consume(w.Raw);
            return w;
        }

        /// Bytes from a socket or a regular file into a pipe, at most what the pipe has
        /// room for. A socket's receive waits unless the socket is O_NONBLOCK
        /// (SPLICE_F_NONBLOCK is about the pipe, as on Linux).
        static SysResult ToPipe(OpenFile src, Pipe dst, long len, bool pipeNonblock, long* off)
        {
            Errno e = dst.WaitRoom(pipeNonblock);
            if (e != 0) return e;
            long room = dst.Capacity - dst.Count;
            if (len > room) len = room;
            if (len > SpliceChunk) len = SpliceChunk;
            byte* buf = (byte*)Heap.Alloc(SpliceChunk);
            SysResult r;
            if (src is Socket s)
            {
                var m = new RecvMsg { Data = IoIter.FromKernel(buf, len), Flags = s.NonBlocking ? MsgFlags.MSG_DONTWAIT : 0 };
                r = s.RecvMsg(ref m);
                m.Control.Release();
            }
            else
            {
                long pos = off != null ? *off : src.Offset;
                r = src.ReadKernelAt(buf, len, pos);
                if (!r.IsError)
                {
                    if (off != null) *off += r.Raw; else src.Offset += r.Raw;
                }
            }
            if (r.IsError || r.Raw == 0) { Heap.Free(buf, SpliceChunk); return r; }
            // A blocking receive may have let another writer fill the pipe: wait for room.
            long put = 0;
            while (put < r.Raw)
            {
                SysResult w = dst.WriteKernel(buf + put, r.Raw - put);
                if (!w.IsError) { put += w.Raw; continue; }
                if (dst.WaitRoom(false) != 0) break;
            }
            Heap.Free(buf, SpliceChunk);
            return put > 0 ? put : r;
        }
    }
}
