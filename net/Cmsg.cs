using System;
using Kernel.Abi;

namespace Kernel.Net
{
    /// Control-message (cmsg) arithmetic and parsing as Linux does it (linux/socket.h:
    /// CMSG_ALIGN, CMSG_LEN, CMSG_SPACE, __cmsg_nxthdr, CMSG_OK; net/core/scm.c: put_cmsg).
    /// Pure logic over spans, shared with the host tests.
    public static class Cmsg
    {
        public const int HeaderSize = 16;

        public static long Align(long len) => (len + 7) & ~7L;
        public static long Len(long dataLen) => HeaderSize + dataLen;
        public static long Space(long dataLen) => HeaderSize + Align(dataLen);

        static long ReadLen(ReadOnlySpan<byte> b, int at)
        {
            ulong v = 0;
            for (int i = 7; i >= 0; i--) v = (v << 8) | b[at + i];
            return (long)v;
        }

        static int ReadInt(ReadOnlySpan<byte> b, int at) => b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24;

        /// Iterates the control messages of a sendmsg control buffer. Next returns false at
        /// the end; `error` is EINVAL when a header's length is invalid (CMSG_OK fails).
        public ref struct Reader
        {
            readonly ReadOnlySpan<byte> _buf;
            int _pos;
            public int Level, Type;
            /// The message's data, cmsg_len - sizeof(cmsghdr) bytes.
            public ReadOnlySpan<byte> Data;

            public Reader(ReadOnlySpan<byte> buf) { _buf = buf; _pos = 0; Level = 0; Type = 0; Data = default; }

            public bool Next(out Errno error)
            {
                error = 0;
                // CMSG_FIRSTHDR / CMSG_NXTHDR: a header must fit in what is left.
                if (_pos + HeaderSize > _buf.Length) return false;
                long len = ReadLen(_buf, _pos);
                // CMSG_OK: at least a header, and no longer than what remains of the buffer.
                if (len < HeaderSize || len > _buf.Length - _pos) { error = Errno.EINVAL; return false; }
                Level = ReadInt(_buf, _pos + 8);
                Type = ReadInt(_buf, _pos + 12);
                Data = _buf.Slice(_pos + HeaderSize, (int)len - HeaderSize);
                _pos += (int)Math.Min(Align(len), _buf.Length - _pos);
                return true;
            }
        }

        /// Builds recvmsg's control data: `Capacity` is the program's msg_controllen, `Buf`
        /// a kernel buffer at least min(Capacity, what will be written) long. Truncation
        /// follows put_cmsg and scm_detach_fds: MSG_CTRUNC, a shortened last message.
        public ref struct Writer
        {
            readonly Span<byte> _buf;
            readonly long _capacity;
            public int Used;
            public bool Truncated;

            public Writer(Span<byte> buf, long capacity) { _buf = buf; _capacity = capacity; Used = 0; Truncated = false; }
            public long Remaining => _capacity - Used;

            void WriteHeader(int at, long len, int level, int type)
            {
                ulong l = (ulong)len;
                for (int i = 0; i < 8; i++) _buf[at + i] = (byte)(l >> (8 * i));
                for (int i = 0; i < 4; i++) { _buf[at + 8 + i] = (byte)(level >> (8 * i)); _buf[at + 12 + i] = (byte)(type >> (8 * i)); }
            }

            /// put_cmsg: a message with `data`; truncated (MSG_CTRUNC) when it does not fit.
            public void Put(int level, int type, ReadOnlySpan<byte> data)
            {
                if (Remaining < HeaderSize) { Truncated = true; return; }
                long cmlen = Len(data.Length);
                if (Remaining < cmlen) { Truncated = true; cmlen = Remaining; }
                WriteHeader(Used, cmlen, level, type);
                data.Slice(0, (int)(cmlen - HeaderSize)).CopyTo(_buf.Slice(Used + HeaderSize));
                long adv = Space(data.Length);
                if (adv > Remaining) adv = Remaining;
                // Padding up to the aligned size reads as zeros.
                for (long i = cmlen; i < adv; i++) _buf[Used + (int)i] = 0;
                Used += (int)adv;
            }

            /// scm_max_fds: how many ints an SCM_RIGHTS message can carry here.
            public int MaxInts => Remaining <= HeaderSize ? 0 : (int)((Remaining - HeaderSize) / 4);

            /// scm_detach_fds: an SCM_RIGHTS message with the first `installed` of `total`
            /// descriptors (the caller installed them); MSG_CTRUNC when some did not fit.
            public void PutRights(ReadOnlySpan<int> fds, int total)
            {
                int n = fds.Length;
                if (n > 0)
                {
                    WriteHeader(Used, Len(n * 4), SockOpt.SOL_SOCKET, SockOpt.SCM_RIGHTS);
                    for (int i = 0; i < n; i++)
                        for (int k = 0; k < 4; k++) _buf[Used + HeaderSize + i * 4 + k] = (byte)(fds[i] >> (8 * k));
                    long adv = Space(n * 4);
                    if (adv > Remaining) adv = Remaining;
                    for (long i = Len(n * 4); i < adv; i++) _buf[Used + (int)i] = 0;
                    Used += (int)adv;
                }
                if (n < total) Truncated = true;
            }
        }
    }
}
