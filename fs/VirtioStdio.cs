using System;
using Kernel.Abi;
using Kernel.Drivers;

namespace Kernel.Fs
{
    /// The program's stdin/stdout/stderr over virtio-console ports, when ukpack attaches
    /// them (`stdio=virtio` on the command line): port 1 carries stdin in and stdout out,
    /// port 2 stderr out, as COM1 and COM2 do on the serial fallback (SerialConsole). The
    /// host's stream on port 1 is the serial one, byte for byte: FF FF is a byte FF, FF 04
    /// the end of input, FF 05 / FF 06 that the host's reader of our stdout / stderr has
    /// gone, FF 07 that the host asks the program to stop (docs/image-format.md, Channels); the host sends those notices on port 2 too. Input is decoded in place in the receive
    /// buffers and copied straight to the program; output is copied into transmit buffers.
    public static unsafe class VirtioStdio
    {
        public static bool Active;
        static ConsolePort _io, _err;
        static bool _escape, _eof;
        public static bool StdoutClosed, StderrClosed;
        static Sched.Thread _reader;                 // a thread blocked in Read, woken by input

        /// Takes ports 1 and 2 of the first virtio-console; false when they are not there.
        public static bool Init()
        {
            var c = VirtioConsole.First;
            if (c == null || !c.Multiport || c.Port(2) == null) return false;
            _io = c.Port(1); _err = c.Port(2);
            c.OnPortChange = &OnPortChange;
            Active = true;
            return true;
        }

        static void OnPortChange(int port)
        {
            if (port == 2) { TakeNotices(); return; }
            if (port != 1) return;
            DecodeNew();                      // the host's notices count even if nobody reads stdin
            if (_reader != null) { Sched.Scheduler.Wake(_reader, Sched.WakeReason.Woken); _reader = null; }
            ConsoleFile.InputHead.Changed();
        }

        static bool _noticeEscape;

        /// The host's notices sent towards port 2 (FF 05, FF 06; the same as in the stdin
        /// stream, which may be full of unread input): acted on at once, the buffers given back.
        static void TakeNotices()
        {
            var rx = _err.Rx;
            rx.Collect();
            while (rx.Peek(out byte* p, out int len))
            {
                for (int i = 0; i < len; i++)
                {
                    if (_noticeEscape)
                    {
                        _noticeEscape = false;
                        if (p[i] == 0x05) StdoutClosed = true;
                        else if (p[i] == 0x06) StderrClosed = true;
                        else if (p[i] == 0x07) SerialConsole.StopRequested();
                    }
                    else if (p[i] == 0xff) _noticeEscape = true;
                }
                rx.Release();
            }
        }

        /// Decodes, in place, the receive buffers that arrived since the last call.
        static void DecodeNew()
        {
            var rx = _io.Rx;
            rx.Collect();
            while (rx.Processed < rx.ReadyCount)
            {
                int k = rx.Processed;
                rx.SetLength(k, Decode(rx.Data(k), rx.Length(k)));
                rx.Processed++;
            }
            rx.Peek(out _, out _);                             // gives back buffers left empty
        }

        /// Removes the escapes from p[0..len), acting on the notices; the data's new length.
        static int Decode(byte* p, int len)
        {
            int o = 0, i = 0;
            while (i < len)
            {
                if (_escape)
                {
                    _escape = false;
                    byte b = p[i++];
                    if (b == 0xff) p[o++] = 0xff;
                    else if (b == 0x04) _eof = true;
                    else if (b == 0x05) StdoutClosed = true;
                    else if (b == 0x06) StderrClosed = true;
                    else if (b == 0x07) SerialConsole.StopRequested();
                    continue;                                  // unknown escapes are dropped
                }
                int j = IndexOfEscape(p, i, len);
                if (j > i)
                {
                    if (o != i) Buffer.MemoryCopy(p + i, p + o, j - i, j - i);
                    o += j - i;
                    i = j;
                }
                if (i < len) { _escape = true; i++; }
            }
            return o;
        }

        /// The first 0xFF in p[i..len), or len; eight bytes at a time.
        static int IndexOfEscape(byte* p, int i, int len)
        {
            while (i + 8 <= len)
            {
                ulong x = ~*(ulong*)(p + i);                  // a 0xFF byte becomes a zero byte
                if (((x - 0x0101010101010101UL) & ~x & 0x8080808080808080UL) != 0) break;
                i += 8;
            }
            while (i < len && p[i] != 0xff) i++;
            return i;
        }

        public static bool AtEnd { get { DecodeNew(); return _eof && _io.Rx.Available == 0; } }

        /// Bytes of input that a read would return without waiting.
        public static long Available() { DecodeNew(); return _io.Rx.Available; }

        /// Blocks until input or end of input; returns bytes copied (0 at end of input).
        public static SysResult Read(UserPtr buffer, ulong length)
        {
            if (length == 0) return 0;
            var rx = _io.Rx;
            while (true)
            {
                DecodeNew();
                if (rx.Available > 0) break;
                if (_eof) return 0;
                _reader = Sched.Scheduler.Current;
                if (Sched.Scheduler.Block(0, true) == Sched.WakeReason.Interrupted)
                {
                    _reader = null;
                    return Errno.ERESTARTSYS;
                }
            }
            // Copy out before taking, so a bad buffer (EFAULT) loses no input.
            ulong n = 0;
            while (n < length)
            {
                DecodeNew();
                if (!rx.Peek(out byte* p, out int len)) break;
                ulong k = length - n < (ulong)len ? length - n : (ulong)len;
                if (buffer.Add(n).CopyOut(p, k) != 0) return n > 0 ? (SysResult)(long)n : Errno.EFAULT;
                rx.Take((int)k);
                n += k;
            }
            return (long)n;
        }

        /// Writes to stdout (channel 1) or stderr (2) from the program's memory.
        public static SysResult Write(int channel, UserPtr buffer, ulong length)
        {
            var port = channel == 1 ? _io : _err;
            ulong done = 0;
            while (done < length)
            {
                byte* p = port.Acquire(out int slot);
                ulong k = length - done < (ulong)port.TxBytes ? length - done : (ulong)port.TxBytes;
                if (buffer.Add(done).CopyIn(p, k) != 0)
                {
                    port.Cancel(slot);
                    return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                }
                port.Submit(slot, (int)k);
                done += k;
            }
            return (long)done;
        }

        public static void WriteKernel(int channel, byte* src, long len) =>
            (channel == 1 ? _io : _err).Write(new ReadOnlySpan<byte>(src, (int)len));

        /// Waits until the host has every byte written (before the machine powers off).
        public static void Drain()
        {
            if (!Active) return;
            _io.Drain();
            _err.Drain();
        }
    }
}
