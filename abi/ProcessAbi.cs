using System.Runtime.InteropServices;

namespace Kernel.Abi
{
    // Linux x86-64 process and thread structures (sys/utsname.h, linux/sched.h,
    // linux/futex.h, linux/resource.h). Sizes and offsets are asserted against the C headers by
    // tests/HostTests/AbiLayoutTests.cs.

    /// struct utsname (new_utsname): six 65-byte fields, 390 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Utsname
    {
        public const int FieldLength = 65;
        public fixed byte Sysname[65];
        public fixed byte Nodename[65];
        public fixed byte Release[65];
        public fixed byte Version[65];
        public fixed byte Machine[65];
        public fixed byte Domainname[65];
    }

    /// struct clone_args (clone3), 88 bytes in its current version (CLONE_ARGS_SIZE_VER2).
    [StructLayout(LayoutKind.Sequential)]
    public struct CloneArgs
    {
        public ulong Flags, Pidfd, ChildTid, ParentTid, ExitSignal, Stack, StackSize, Tls, SetTid, SetTidSize, Cgroup;
        public const int SizeVer0 = 64;
    }

    /// struct futex_waitv, 24 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct FutexWaitv
    {
        public ulong Val, Uaddr;
        public uint Flags, Reserved;
    }

    /// struct robust_list_head (set_robust_list), 24 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct RobustListHead { public ulong Next; public long FutexOffset; public ulong ListOpPending; }

    /// struct tms (times), 32 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct Tms { public long Utime, Stime, Cutime, Cstime; }

    /// struct rusage, 144 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Rusage
    {
        public Timeval Utime, Stime;
        public fixed long Rest[14];                 // maxrss .. nivcsw
    }
}
