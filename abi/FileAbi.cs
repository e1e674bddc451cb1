using System.Runtime.InteropServices;

namespace Kernel.Abi
{
    // Linux x86-64 file structures (linux/stat.h, asm-generic/statfs.h, poll.h,
    // linux/eventpoll.h, asm-generic/fcntl.h, linux/dirent.h). Sizes and offsets are asserted
    // against the C headers by tests/HostTests/AbiLayoutTests.cs.

    /// struct statx_timestamp, 16 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct StatxTimestamp { public long Sec; public uint Nsec; public int Reserved; }

    /// struct statx, 256 bytes.
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(0)] public uint Mask;
        [FieldOffset(4)] public uint BlkSize;
        [FieldOffset(8)] public ulong Attributes;
        [FieldOffset(16)] public uint Nlink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(40)] public long Size;
        [FieldOffset(48)] public long Blocks;
        [FieldOffset(56)] public ulong AttributesMask;
        [FieldOffset(64)] public StatxTimestamp Atime;
        [FieldOffset(80)] public StatxTimestamp Btime;
        [FieldOffset(96)] public StatxTimestamp Ctime;
        [FieldOffset(112)] public StatxTimestamp Mtime;
        [FieldOffset(128)] public uint RdevMajor;
        [FieldOffset(132)] public uint RdevMinor;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
        [FieldOffset(144)] public ulong MntId;

        public const uint STATX_BASIC_STATS = 0x7ff;
        public const ulong STATX_ATTR_MOUNT_ROOT = 0x00002000, STATX_ATTR_VERITY = 0x00100000, STATX_ATTR_DAX = 0x00200000;
    }

    /// struct statfs, 120 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Statfs
    {
        public long Type, Bsize, Blocks, Bfree, Bavail, Files, Ffree;
        public long Fsid;
        public long Namelen, Frsize, Flags;
        public fixed long Spare[4];
    }

    /// struct open_how (openat2), 24 bytes in its first version.
    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow { public ulong Flags, Mode, Resolve; }

    /// struct pollfd, 8 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events, Revents; }

    /// struct epoll_event: packed on x86-64, 12 bytes.
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent { public uint Events; public ulong Data; }

    /// struct flock, 32 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct Flock
    {
        public short Type, Whence;
        public long Start, Len;
        public int Pid;
    }

    /// struct linux_dirent64's fixed part (getdents64); the name follows at NameOffset.
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    public struct LinuxDirent64
    {
        public ulong Ino;
        public long Off;
        public ushort Reclen;
        public byte Type;
        public const int NameOffset = 19;
    }
}
