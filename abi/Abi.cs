using System.Runtime.InteropServices;

namespace Kernel.Abi
{
    // Linux x86-64 ABI structures and constants, as laid out by the kernel headers.
    // Sizes are asserted by host tests (tests/HostTests/AbiLayoutTests.cs).

    [StructLayout(LayoutKind.Sequential)]
    public struct Stat            // struct stat, 144 bytes
    {
        public ulong Dev, Ino, Nlink;
        public uint Mode, Uid, Gid, Pad0;
        public ulong Rdev;
        public long Size, BlkSize, Blocks;
        public long AtimeSec, AtimeNsec, MtimeSec, MtimeNsec, CtimeSec, CtimeNsec;
        public long Reserved0, Reserved1, Reserved2;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec { public long Sec, Nsec; }

    [StructLayout(LayoutKind.Sequential)]
    public struct Timeval { public long Sec, Usec; }

    [StructLayout(LayoutKind.Sequential)]
    public struct Iovec { public ulong Base, Len; }

    [StructLayout(LayoutKind.Sequential)]
    public struct Rlimit { public ulong Cur, Max; }

    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize { public ushort Rows, Cols, XPixel, YPixel; }

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Termios  // struct termios as the kernel's TCGETS fills it (36 bytes)
    {
        public uint Iflag, Oflag, Cflag, Lflag;
        public byte Line;
        public fixed byte Cc[19];

        public static Termios Default()
        {
            var t = new Termios { Iflag = 0x500, Oflag = 0x5, Cflag = 0xbf, Lflag = 0x8a3b };
            byte* cc = t.Cc;
            cc[0] = 3; cc[1] = 28; cc[2] = 127; cc[3] = 21; cc[4] = 4; cc[6] = 1; cc[8] = 17; cc[9] = 19; cc[10] = 26; cc[12] = 18; cc[13] = 15; cc[14] = 23; cc[15] = 22;
            return t;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Sysinfo  // struct sysinfo, 112 bytes
    {
        public long Uptime;
        public fixed ulong Loads[3];
        public ulong TotalRam, FreeRam, SharedRam, BufferRam, TotalSwap, FreeSwap;
        public ushort Procs, Pad;
        public ulong TotalHigh, FreeHigh;
        public uint MemUnit;
        public fixed byte Reserved[4];
    }

    public static class Ioctl
    {
        public const uint TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404,
            TIOCSCTTY = 0x540e, TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410, TIOCNOTTY = 0x5422, TIOCGSID = 0x5429, TIOCGWINSZ = 0x5413, FIONREAD = 0x541b, FIONBIO = 0x5421, FIOASYNC = 0x5452,
            FIONCLEX = 0x5450, FIOCLEX = 0x5451,
            TCSBRK = 0x5409, TCXONC = 0x540a, TCFLSH = 0x540b, TIOCOUTQ = 0x5411, TIOCSWINSZ = 0x5414, TCSBRKP = 0x5425,
            TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGPTLCK = 0x80045439, TIOCGPTPEER = 0x5441;
    }

    /// Indexes of Termios.Cc and the flag bits the line discipline acts on (asm-generic/termbits.h).
    public static class Tc
    {
        public const int VINTR = 0, VQUIT = 1, VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6, VSTART = 8,
            VSTOP = 9, VSUSP = 10, VEOL = 11, VREPRINT = 12, VWERASE = 14, VLNEXT = 15, VEOL2 = 16;
        public const uint IGNBRK = 0x1, ISTRIP = 0x20, INLCR = 0x40, IGNCR = 0x80, ICRNL = 0x100, IUCLC = 0x200,
            IXON = 0x400, IXANY = 0x800;
        public const uint OPOST = 0x1, OLCUC = 0x2, ONLCR = 0x4, OCRNL = 0x8, ONOCR = 0x10, ONLRET = 0x20;
        public const uint ISIG = 0x1, ICANON = 0x2, ECHO = 0x8, ECHOE = 0x10, ECHOK = 0x20, ECHONL = 0x40,
            NOFLSH = 0x80, ECHOCTL = 0x200, ECHOKE = 0x800, IEXTEN = 0x8000;
    }

    public static class Auxv
    {
        public const ulong AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
            AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14,
            AT_PLATFORM = 15, AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25,
            AT_HWCAP2 = 26, AT_EXECFN = 31, AT_SYSINFO_EHDR = 33, AT_MINSIGSTKSZ = 51;
    }

    public static class Signal
    {
        public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
            SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
            SIGTERM = 15, SIGSTKFLT = 16, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22,
            SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28, SIGIO = 29, SIGPWR = 30, SIGSYS = 31,
            SIGRTMIN = 32;
        public const int Count = 64;

        public static string Name(int sig)
        {
            switch (sig)
            {
                case SIGHUP: return "SIGHUP"; case SIGINT: return "SIGINT"; case SIGQUIT: return "SIGQUIT";
                case SIGILL: return "SIGILL"; case SIGTRAP: return "SIGTRAP"; case SIGABRT: return "SIGABRT";
                case SIGBUS: return "SIGBUS"; case SIGFPE: return "SIGFPE"; case SIGKILL: return "SIGKILL";
                case SIGUSR1: return "SIGUSR1"; case SIGSEGV: return "SIGSEGV"; case SIGUSR2: return "SIGUSR2";
                case SIGPIPE: return "SIGPIPE"; case SIGALRM: return "SIGALRM"; case SIGTERM: return "SIGTERM";
                case SIGSYS: return "SIGSYS";
                default: return "signal";
            }
        }

        /// Signals whose default action is to ignore (everything else terminates here).
        public static bool DefaultIgnored(int sig) => sig == SIGCHLD || sig == SIGCONT || sig == SIGWINCH || sig == SIGURG;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SigAction       // struct kernel_sigaction (rt_sigaction)
    {
        public ulong Handler, Flags, Restorer, Mask;
    }
}
