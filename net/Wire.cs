using System;

namespace Kernel.Net
{
    /// Big-endian field access and the Internet checksum (RFC 1071) over spans: the wire
    /// format helpers every protocol file uses. Callers check lengths before reading.
    public static class Wire
    {
        public static ushort U16(ReadOnlySpan<byte> b, int o) => (ushort)(b[o] << 8 | b[o + 1]);
        public static uint U32(ReadOnlySpan<byte> b, int o) => (uint)(b[o] << 24 | b[o + 1] << 16 | b[o + 2] << 8 | b[o + 3]);
        public static void Put16(Span<byte> b, int o, int v) { b[o] = (byte)(v >> 8); b[o + 1] = (byte)v; }
        public static void Put32(Span<byte> b, int o, uint v) { b[o] = (byte)(v >> 24); b[o + 1] = (byte)(v >> 16); b[o + 2] = (byte)(v >> 8); b[o + 3] = (byte)v; }

        /// One's-complement sum of `b` added to `sum` (not folded).
        public static uint Sum(ReadOnlySpan<byte> b, uint sum)
        {
            int i = 0, n = b.Length;
            ulong s = sum;
            for (; i + 1 < n; i += 2) s += (uint)(b[i] << 8 | b[i + 1]);
            if (i < n) s += (uint)(b[i] << 8);
            while ((s >> 32) != 0) s = (s & 0xffffffff) + (s >> 32);
            return (uint)s;
        }

        public static ushort Fold(uint sum)
        {
            while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
            return (ushort)~sum;
        }

        public static ushort Checksum(ReadOnlySpan<byte> b) => Fold(Sum(b, 0));

        /// The IPv4 pseudo-header sum for TCP and UDP (RFC 9293 3.1, RFC 768).
        public static uint PseudoSum(uint src, uint dst, int proto, int length)
        {
            ulong s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + (uint)proto + (uint)length;
            while ((s >> 32) != 0) s = (s & 0xffffffff) + (s >> 32);
            return (uint)s;
        }

        /// The value a TCP or UDP checksum field holds before the sum over the segment is
        /// taken ("partial"): the pseudo-header sum folded, not complemented. Summing the
        /// segment with this in the field and folding gives the finished checksum (what a
        /// device with checksum offload does from csum_start, storing it at csum_offset).
        public static ushort PartialChecksum(uint pseudoSum) => (ushort)~Fold(pseudoSum);

        /// Sequence-number comparisons modulo 2^32.
        public static bool Lt(uint a, uint b) => (int)(a - b) < 0;
        public static bool Le(uint a, uint b) => (int)(a - b) <= 0;
        public static bool Gt(uint a, uint b) => (int)(a - b) > 0;
        public static bool Ge(uint a, uint b) => (int)(a - b) >= 0;

        /// Dotted quad of a host-order address, for logs and /proc.
        public static int FormatIp(uint a, Span<byte> dst)
        {
            int n = 0;
            for (int i = 3; i >= 0; i--)
            {
                int v = (int)(a >> (i * 8)) & 255;
                if (v >= 100) dst[n++] = (byte)('0' + v / 100);
                if (v >= 10) dst[n++] = (byte)('0' + v / 10 % 10);
                dst[n++] = (byte)('0' + v % 10);
                if (i > 0) dst[n++] = (byte)'.';
            }
            return n;
        }

        public static bool StartsWith(ReadOnlySpan<byte> s, ReadOnlySpan<byte> prefix)
        {
            if (s.Length < prefix.Length) return false;
            for (int i = 0; i < prefix.Length; i++) if (s[i] != prefix[i]) return false;
            return true;
        }

        public static byte[] ToArray(ReadOnlySpan<byte> s) { var a = new byte[s.Length]; s.CopyTo(a); return a; }

        public static uint Ip(int a, int b, int c, int d) => (uint)(a << 24 | b << 16 | c << 8 | d);
    }

    /// Linux error numbers the stack reports (socket calls turn them into errnos).
    public static class NetErr
    {
        public const int EAGAIN = 11, ENOMEM = 12, EINVAL = 22, EPIPE = 32, EMSGSIZE = 90, EADDRINUSE = 98,
            EADDRNOTAVAIL = 99, ENETUNREACH = 101, ECONNABORTED = 103, ECONNRESET = 104, EISCONN = 106,
            ENOTCONN = 107, ETIMEDOUT = 110, ECONNREFUSED = 111, EHOSTUNREACH = 113, EALREADY = 114,
            EINPROGRESS = 115;
    }
}
