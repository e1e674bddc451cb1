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

        /// One's-complement sum of `b` added to `sum` (not folded). Eight bytes at a time:
        /// the sum does not depend on byte order (RFC 1071 2(B)), so the words are added as
        /// the machine reads them (little-endian) with the carries wrapped around, and the
        /// result's 16-bit halves are swapped back at the end. Every received and sent frame
        /// is summed where the device does not offload it, so this loop is on the hot path.
        public static unsafe uint Sum(ReadOnlySpan<byte> b, uint sum)
        {
            int n = b.Length, i = 0;
            ulong acc = 0;
            fixed (byte* p = b)
            {
                for (; i + 32 <= n; i += 32)
                {
                    ulong w0 = *(ulong*)(p + i), w1 = *(ulong*)(p + i + 8), w2 = *(ulong*)(p + i + 16), w3 = *(ulong*)(p + i + 24);
                    acc += w0; if (acc < w0) acc++;
                    acc += w1; if (acc < w1) acc++;
                    acc += w2; if (acc < w2) acc++;
                    acc += w3; if (acc < w3) acc++;
                }
                for (; i + 8 <= n; i += 8) { ulong w = *(ulong*)(p + i); acc += w; if (acc < w) acc++; }
                acc = (acc & 0xffffffff) + (acc >> 32);         // room for the tail's carries
                for (; i + 2 <= n; i += 2) acc += *(ushort*)(p + i);
                if (i < n) acc += p[i];                      // the odd byte is the high half of a big-endian word
            }
            // Fold to 16 bits, swap to network order, add the caller's sum.
            acc = (acc & 0xffffffff) + (acc >> 32);
            acc = (acc & 0xffff) + (acc >> 16);
            acc = (acc & 0xffff) + (acc >> 16);
            acc = (acc & 0xffff) + (acc >> 16);
            ulong s = (ulong)sum + ((acc >> 8 | acc << 8) & 0xffff);
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

        /// The pseudo-header sum of either family (RFC 8200 8.1 for IPv6).
        public static uint PseudoSum(IpAddr src, IpAddr dst, int proto, int length)
        {
            if (dst.IsV4) return PseudoSum(src.V4Value, dst.V4Value, proto, length);
            ulong s = 0;
            for (int i = 0; i < 64; i += 16) s += (src.Hi >> i & 0xffff) + (src.Lo >> i & 0xffff) + (dst.Hi >> i & 0xffff) + (dst.Lo >> i & 0xffff);
            s += (uint)proto + ((uint)length >> 16) + ((uint)length & 0xffff);
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

    /// An IP address of either family in one 16-byte value (two big-endian halves): IPv6
    /// as it is, IPv4 v4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2). Every table of the
    /// stack (connections, endpoints, the neighbour cache) holds this one type. `::` is the
    /// IPv6 wildcard (both families on a dual-stack socket), ::ffff:0.0.0.0 IPv4's.
    public struct IpAddr
    {
        public ulong Hi, Lo;

        public IpAddr(ulong hi, ulong lo) { Hi = hi; Lo = lo; }
        /// An IPv4 address (host order) as its v4-mapped form. There is no implicit conversion
        /// from uint: an address of either family never passes for an IPv4 one by accident.
        public static IpAddr V4(uint a) => new IpAddr(0, 0xffff00000000UL | a);
        public static explicit operator IpAddr(uint a) => V4(a);

        public static IpAddr Any => default;                         // ::
        public static IpAddr V4Any => V4(0);                         // 0.0.0.0
        public static IpAddr Loopback4 => V4(0x7f000001);            // 127.0.0.1
        public static IpAddr Loopback6 => new IpAddr(0, 1);          // ::1
        public static IpAddr AllNodes => new IpAddr(0xff02000000000000UL, 1);
        public static IpAddr AllRouters => new IpAddr(0xff02000000000000UL, 2);

        public bool IsV4 => Hi == 0 && (Lo >> 32) == 0xffff;
        public uint V4Value => (uint)Lo;
        /// `::` or 0.0.0.0: a wildcard in a binding, "this host" as a destination.
        public bool IsUnspecified => Hi == 0 && (Lo == 0 || Lo == 0xffff00000000UL);
        public bool IsV6Any => Hi == 0 && Lo == 0;
        public bool IsV4Any => Hi == 0 && Lo == 0xffff00000000UL;
        public bool IsLinkLocal => !IsV4 && (Hi >> 54) == (0xfe80UL >> 6);          // fe80::/10
        public bool IsMulticast => IsV4 ? (V4Value >> 28) == 14 : (Hi >> 56) == 0xff;
        public bool IsLoopback => IsV4 ? (V4Value >> 24) == 127 : Hi == 0 && Lo == 1;
        /// The solicited-node multicast group of this address (RFC 4291 2.7.1).
        public IpAddr SolicitedNode => new IpAddr(0xff02000000000000UL, 0x00000001ff000000UL | (Lo & 0xffffff));

        public static bool operator ==(IpAddr a, IpAddr b) => a.Hi == b.Hi && a.Lo == b.Lo;
        public static bool operator !=(IpAddr a, IpAddr b) => a.Hi != b.Hi || a.Lo != b.Lo;
        public override bool Equals(object o) => o is IpAddr a && a == this;
        public override int GetHashCode() => (int)(Hi ^ Hi >> 32 ^ Lo ^ Lo >> 32);

        /// Whether the first `bits` bits of both addresses agree.
        public bool SamePrefix(IpAddr b, int bits)
        {
            if (bits <= 0) return true;
            if (bits < 64) return (Hi ^ b.Hi) >> (64 - bits) == 0;
            if (Hi != b.Hi) return false;
            if (bits >= 128) return Lo == b.Lo;
            return bits == 64 || (Lo ^ b.Lo) >> (128 - bits) == 0;
        }

        public static IpAddr Read(ReadOnlySpan<byte> b, int o)
        {
            ulong hi = 0, lo = 0;
            for (int i = 0; i < 8; i++) { hi = hi << 8 | b[o + i]; lo = lo << 8 | b[o + 8 + i]; }
            return new IpAddr(hi, lo);
        }

        public void Write(Span<byte> b, int o)
        {
            for (int i = 0; i < 8; i++) { b[o + 7 - i] = (byte)(Hi >> (8 * i)); b[o + 15 - i] = (byte)(Lo >> (8 * i)); }
        }

        /// Parses IPv6 text (hex groups with at most one ::, optionally ending in a dotted
        /// quad); false when malformed.
        public static bool TryParse(ReadOnlySpan<byte> t, out IpAddr a)
        {
            a = default;
            Span<int> g = stackalloc int[8];
            int n = 0, gap = -1, i = 0;
            if (t.Length >= 2 && t[0] == ':' && t[1] == ':') { gap = 0; i = 2; }
            else if (t.Length > 0 && t[0] == ':') return false;
            while (i < t.Length)
            {
                int start = i, v = 0;
                while (i < t.Length && Hex(t[i]) >= 0 && i - start < 4) { v = v << 4 | Hex(t[i]); i++; }
                if (i < t.Length && t[i] == '.')
                {
                    uint q = 0; int parts = 0, part = 0; bool digit = false;
                    for (i = start; i <= t.Length; i++)
                    {
                        if (i == t.Length || t[i] == '.') { if (!digit || part > 255) return false; q = q << 8 | (uint)part; parts++; part = 0; digit = false; continue; }
                        if (t[i] < '0' || t[i] > '9') return false;
                        part = part * 10 + t[i] - '0'; digit = true;
                    }
                    if (parts != 4 || n > 6) return false;
                    g[n++] = (int)(q >> 16); g[n++] = (int)(q & 0xffff);
                    break;
                }
                if (i == start || n == 8) return false;
                g[n++] = v;
                if (i == t.Length) break;
                if (t[i] != ':') return false;
                i++;
                if (i < t.Length && t[i] == ':') { if (gap >= 0) return false; gap = n; i++; }
                else if (i == t.Length) return false;
            }
            if (gap < 0 && n != 8 || gap >= 0 && n > 7) return false;
            Span<int> full = stackalloc int[8];
            if (gap < 0) g.CopyTo(full);
            else
            {
                for (int k = 0; k < gap; k++) full[k] = g[k];
                int tail = n - gap;
                for (int k = 0; k < tail; k++) full[8 - tail + k] = g[gap + k];
            }
            ulong hi = 0, lo = 0;
            for (int k = 0; k < 4; k++) { hi = hi << 16 | (uint)full[k]; lo = lo << 16 | (uint)full[4 + k]; }
            a = new IpAddr(hi, lo);
            return true;
        }

        static int Hex(byte c) => c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        int Group(int i) => (int)((i < 4 ? Hi >> (48 - 16 * i) : Lo >> (48 - 16 * (i - 4))) & 0xffff);

        /// Text as RFC 5952 writes it (the longest run of zero groups as ::, lower-case hex);
        /// an IPv4 (v4-mapped) address as its dotted quad.
        public int Format(Span<byte> dst)
        {
            int n = 0;
            if (IsV4) return Wire.FormatIp(V4Value, dst);
            int bestAt = -1, bestLen = 1;
            for (int i = 0; i < 8;)
            {
                if (Group(i) != 0) { i++; continue; }
                int j = i; while (j < 8 && Group(j) == 0) j++;
                if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
                i = j;
            }
            for (int i = 0; i < 8; i++)
            {
                if (i == bestAt) { dst[n++] = (byte)':'; if (i == 0) dst[n++] = (byte)':'; i += bestLen - 1; continue; }
                int g = Group(i);
                bool lead = false;
                for (int k = 12; k >= 0; k -= 4)
                {
                    int d = g >> k & 15;
                    if (d == 0 && !lead && k > 0) continue;
                    lead = true;
                    dst[n++] = (byte)(d < 10 ? '0' + d : 'a' + d - 10);
                }
                if (i < 7) dst[n++] = (byte)':';
            }
            return n;
        }
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
