using System;
using Kernel.Arch;
using Kernel.Time;

namespace Kernel.Console
{
    public enum LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 }

    /// A line being built on the caller's stack; nothing here allocates.
    public ref struct LineWriter
    {
        readonly Span<byte> _buffer;
        int _length;

        public LineWriter(Span<byte> buffer) { _buffer = buffer; _length = 0; }

        public int Length => _length;
        public int Capacity => _buffer.Length;
        public ReadOnlySpan<byte> Written => _buffer.Slice(0, _length);

        public void Byte(byte b) { if (_length < _buffer.Length) _buffer[_length++] = b; }

        /// Appends a newline, replacing the last byte when the buffer is full.
        public void Terminate()
        {
            if (_buffer.Length == 0) return;
            if (_length == _buffer.Length) _length--;
            _buffer[_length++] = (byte)'\n';
        }

        public void Str(string s)
        {
            if (s == null) { Str("(null)"); return; }
            for (int i = 0; i < s.Length; i++) Byte(s[i] < 0x80 ? (byte)s[i] : (byte)'?');
        }

        public void Bytes(ReadOnlySpan<byte> s) { for (int i = 0; i < s.Length; i++) Byte(s[i]); }

        public void Dec(long v)
        {
            Span<char> tmp = stackalloc char[24];
            v.TryFormat(tmp, out int n);
            for (int i = 0; i < n; i++) Byte((byte)tmp[i]);
        }

        public void Udec(ulong v)
        {
            Span<char> tmp = stackalloc char[24];
            v.TryFormat(tmp, out int n);
            for (int i = 0; i < n; i++) Byte((byte)tmp[i]);
        }

        /// 0x-prefixed hex, at least `digits` digits.
        public void Hex(ulong v, int digits = 1)
        {
            Span<char> tmp = stackalloc char[24];
            Span<char> fmt = stackalloc char[3];
            fmt[0] = 'x'; fmt[1] = (char)('0' + digits / 10); fmt[2] = (char)('0' + digits % 10);
            v.TryFormat(tmp, out int n, fmt);
            Byte((byte)'0'); Byte((byte)'x');
            for (int i = 0; i < n; i++) Byte((byte)tmp[i]);
        }

        /// Right-aligned decimal in a field of `width`, zero- or space-padded.
        public void Padded(ulong v, int width, char pad)
        {
            Span<char> tmp = stackalloc char[24];
            v.TryFormat(tmp, out int n);
            for (int i = n; i < width; i++) Byte((byte)pad);
            for (int i = 0; i < n; i++) Byte((byte)tmp[i]);
        }
    }

    /// Kernel log: one line per message, "[seconds.micros] L text", on the debug console
    /// (port 0xe9), a channel of its own so the program's stdout and stderr stay clean.
    public static class Log
    {
        public static LogLevel Threshold = LogLevel.Info;
        const ushort DebugConPort = 0xe9;

        public static LineWriter Begin(LogLevel level, Span<byte> buffer)
        {
            var w = new LineWriter(buffer);
            ulong ns = Clock.MonotonicNs();
            w.Byte((byte)'[');
            w.Padded(ns / 1000000000, 5, ' ');
            w.Byte((byte)'.');
            w.Padded(ns / 1000 % 1000000, 6, '0');
            w.Str("] ");
            w.Byte((byte)(level == LogLevel.Error ? 'E' : level == LogLevel.Warn ? 'W' : level == LogLevel.Info ? 'I' : 'D'));
            w.Byte((byte)' ');
            return w;
        }

        /// Ends the line; a line that filled its buffer is cut short, never left unterminated.
        public static void End(ref LineWriter w)
        {
            w.Terminate();
            WriteRaw(w.Written);
        }

        public static bool Enabled(LogLevel level) => level <= Threshold;

        public static void WriteRaw(string s)
        {
            for (int i = 0; i < s.Length; i++) Cpu.Outb(DebugConPort, (byte)s[i]);
        }

        public static void WriteRaw(ReadOnlySpan<byte> bytes)
        {
            for (int i = 0; i < bytes.Length; i++) Cpu.Outb(DebugConPort, bytes[i]);
        }

        public static void Write(LogLevel level, string message)
        {
            if (!Enabled(level)) return;
            var w = Begin(level, stackalloc byte[256]);
            w.Str(message);
            End(ref w);
        }

        public static void Write(LogLevel level, string message, long value)
        {
            if (!Enabled(level)) return;
            var w = Begin(level, stackalloc byte[256]);
            w.Str(message); w.Dec(value);
            End(ref w);
        }

        public static void WriteHex(LogLevel level, string message, ulong value)
        {
            if (!Enabled(level)) return;
            var w = Begin(level, stackalloc byte[256]);
            w.Str(message); w.Hex(value);
            End(ref w);
        }

        public static void Info(string message) => Write(LogLevel.Info, message);
        public static void Info(string message, long value) => Write(LogLevel.Info, message, value);
        public static void Debug(string message) => Write(LogLevel.Debug, message);
        public static void Debug(string message, long value) => Write(LogLevel.Debug, message, value);
        public static void Warn(string message) => Write(LogLevel.Warn, message);
        public static void Warn(string message, long value) => Write(LogLevel.Warn, message, value);
        public static void Error(string message) => Write(LogLevel.Error, message);
    }
}
