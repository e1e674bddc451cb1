using System.Runtime.InteropServices;

namespace Kernel.Abi
{
    // Linux x86-64 socket ABI (linux/socket.h, sys/socket.h, linux/un.h, asm-generic/socket.h,
    // linux/timerfd.h). Sizes and offsets are asserted by tests/HostTests/AbiLayoutTests.cs.

    /// Address and protocol families (AF_*).
    public static class AddressFamily
    {
        public const int AF_UNSPEC = 0, AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_PACKET = 17;
        /// NPROTO: families are 0..AF_MAX-1; anything else is EAFNOSUPPORT.
        public const int AF_MAX = 46;
    }

    /// Socket types and the flags socket(2) accepts in its type argument.
    public static class SocketType
    {
        public const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_RDM = 4, SOCK_SEQPACKET = 5,
            SOCK_DCCP = 6, SOCK_PACKET = 10;
        /// SOCK_MAX: a type at or above it is EINVAL before any family sees it.
        public const int SOCK_MAX = 11;
        public const int SOCK_TYPE_MASK = 0xf;
        public const int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    }

    /// send/recv flags (MSG_*).
    public static class MsgFlags
    {
        public const int MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_DONTROUTE = 0x4, MSG_CTRUNC = 0x8, MSG_PROBE = 0x10,
            MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_EOR = 0x80, MSG_WAITALL = 0x100, MSG_FIN = 0x200,
            MSG_SYN = 0x400, MSG_CONFIRM = 0x800, MSG_RST = 0x1000, MSG_ERRQUEUE = 0x2000, MSG_NOSIGNAL = 0x4000,
            MSG_MORE = 0x8000, MSG_WAITFORONE = 0x10000, MSG_BATCH = 0x40000, MSG_ZEROCOPY = 0x4000000,
            MSG_FASTOPEN = 0x20000000, MSG_CMSG_CLOEXEC = 0x40000000;
    }

    /// Socket-level options (SOL_SOCKET, asm-generic/socket.h) and shutdown(2)'s `how`.
    public static class SockOpt
    {
        public const int SOL_SOCKET = 1;
        public const int SO_DEBUG = 1, SO_REUSEADDR = 2, SO_TYPE = 3, SO_ERROR = 4, SO_DONTROUTE = 5,
            SO_BROADCAST = 6, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_KEEPALIVE = 9, SO_OOBINLINE = 10, SO_NO_CHECK = 11,
            SO_PRIORITY = 12, SO_LINGER = 13, SO_BSDCOMPAT = 14, SO_REUSEPORT = 15, SO_PASSCRED = 16,
            SO_PEERCRED = 17, SO_RCVLOWAT = 18, SO_SNDLOWAT = 19, SO_RCVTIMEO_OLD = 20, SO_SNDTIMEO_OLD = 21,
            SO_BINDTODEVICE = 25, SO_ATTACH_FILTER = 26, SO_DETACH_FILTER = 27, SO_PEERNAME = 28, SO_TIMESTAMP_OLD = 29,
            SO_ACCEPTCONN = 30, SO_PEERSEC = 31, SO_SNDBUFFORCE = 32, SO_PASSSEC = 34, SO_MARK = 36,
            SO_PROTOCOL = 38, SO_DOMAIN = 39, SO_RXQ_OVFL = 40, SO_PEEK_OFF = 42, SO_RCVBUFFORCE = 33,
            SO_BUSY_POLL = 46, SO_INCOMING_CPU = 49, SO_COOKIE = 57, SO_PEERGROUPS = 59, SO_ZEROCOPY = 60,
            SO_BINDTOIFINDEX = 62, SO_RCVTIMEO_NEW = 66, SO_SNDTIMEO_NEW = 67;
        public const int SCM_RIGHTS = 1, SCM_CREDENTIALS = 2;
        public const int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
        /// Linux's defaults: net.core.wmem_default / rmem_default, and the limits setsockopt
        /// clamps to (wmem_max, rmem_max) before doubling; SOCK_MIN_SNDBUF/RCVBUF below.
        public const int DefaultBuf = 212992, MaxBuf = 212992, MinSndBuf = 4608, MinRcvBuf = 2304;
        /// net.core.somaxconn: listen(2)'s backlog is capped at it.
        public const int SoMaxConn = 4096;
        /// net.core.optmem_max: the largest control buffer sendmsg accepts (ENOBUFS above).
        public const int OptMemMax = 20480;
        /// SCM_MAX_FD: file descriptors one SCM_RIGHTS message may carry.
        public const int ScmMaxFd = 253;
    }

    /// struct sockaddr_un, 110 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct SockaddrUn
    {
        public ushort Family;
        public fixed byte Path[108];
        public const int PathOffset = 2, Size = 110;
    }

    /// struct msghdr (user_msghdr), 56 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public ulong Name;
        public int NameLen;
        public int Pad0;
        public ulong Iov, IovLen, Control, ControlLen;
        public int Flags;
        public int Pad1;
    }

    /// struct mmsghdr, 64 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Hdr;
        public uint Len;
        public int Pad;
    }

    /// struct cmsghdr, 16 bytes; the data follows at CMSG_ALIGN(16).
    [StructLayout(LayoutKind.Sequential)]
    public struct CmsgHdr
    {
        public ulong Len;
        public int Level, Type;
    }

    /// struct ucred (SCM_CREDENTIALS, SO_PEERCRED), 12 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct Ucred { public int Pid; public uint Uid, Gid; }

    /// struct linger, 8 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct Linger { public int OnOff, Seconds; }

    /// struct itimerspec (timerfd, timer_settime), 32 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct Itimerspec { public Timespec Interval, Value; }

    /// timerfd_create/settime flags (linux/timerfd.h).
    public static class TimerFdFlags
    {
        public const int TFD_TIMER_ABSTIME = 1, TFD_TIMER_CANCEL_ON_SET = 2, TFD_CLOEXEC = 0x80000, TFD_NONBLOCK = 0x800;
        public const uint TFD_IOC_SET_TICKS = 0x40085400;
    }
}
