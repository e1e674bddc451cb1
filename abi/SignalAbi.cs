using System.Runtime.InteropServices;

namespace Kernel.Abi
{
    // Linux x86-64 signal structures (asm/sigcontext.h, asm/ucontext.h, asm-generic/siginfo.h,
    // linux/signalfd.h). Sizes and offsets are asserted against the C headers by
    // tests/HostTests/AbiLayoutTests.cs.

    /// siginfo_t (128 bytes). The union after si_code is laid out per kind of signal: the
    /// sender (kill, sigqueue), a POSIX timer, or a fault address.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    public struct SigInfo
    {
        [FieldOffset(0)] public int Signo;
        [FieldOffset(4)] public int Errno;
        [FieldOffset(8)] public int Code;
        [FieldOffset(16)] public int Pid;          // _kill/_rt: si_pid
        [FieldOffset(20)] public int Uid;          //            si_uid
        [FieldOffset(16)] public int TimerId;      // _timer: si_tid
        [FieldOffset(20)] public int Overrun;      //         si_overrun
        [FieldOffset(24)] public ulong Value;      // _rt/_timer: si_value
        [FieldOffset(16)] public ulong Addr;       // _sigfault: si_addr
        [FieldOffset(24)] public int Status;       // _sigchld: si_status
        [FieldOffset(32)] public long Utime;       //           si_utime
        [FieldOffset(40)] public long Stime;       //           si_stime
    }

    /// stack_t (sigaltstack), 24 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct StackT
    {
        public ulong Sp;
        public int Flags;
        public int Pad;
        public ulong Size;
    }

    /// struct sigcontext (the general registers saved in a signal frame), 256 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct SigContext
    {
        public ulong R8, R9, R10, R11, R12, R13, R14, R15;
        public ulong Rdi, Rsi, Rbp, Rbx, Rdx, Rax, Rcx, Rsp, Rip, Eflags;
        public ushort Cs, Gs, Fs, Ss;
        public ulong Err, Trapno, Oldmask, Cr2;
        public ulong FpState;                      // user address of the 512-byte fxsave area
        public fixed ulong Reserved1[8];
    }

    /// The kernel's struct ucontext (uc_sigmask is the kernel's 8-byte sigset), 304 bytes.
    [StructLayout(LayoutKind.Sequential)]
    public struct UContext
    {
        public ulong Flags, Link;
        public StackT Stack;
        public SigContext MContext;
        public ulong SigMask;
    }

    /// struct rt_sigframe as the kernel pushes it: the restorer's address (the handler's
    /// return address), the ucontext, then the siginfo.
    [StructLayout(LayoutKind.Sequential)]
    public struct RtSigFrame
    {
        public ulong Pretcode;
        public UContext Uc;
        public SigInfo Info;
    }

    /// struct signalfd_siginfo (128 bytes).
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    public struct SignalfdSiginfo
    {
        [FieldOffset(0)] public uint Signo;
        [FieldOffset(4)] public int Errno;
        [FieldOffset(8)] public int Code;
        [FieldOffset(12)] public uint Pid;
        [FieldOffset(16)] public uint Uid;
        [FieldOffset(20)] public int Fd;
        [FieldOffset(24)] public uint Tid;
        [FieldOffset(28)] public uint Band;
        [FieldOffset(32)] public uint Overrun;
        [FieldOffset(36)] public uint Trapno;
        [FieldOffset(40)] public int Status;
        [FieldOffset(44)] public int Int;
        [FieldOffset(48)] public ulong Ptr;
        [FieldOffset(56)] public ulong Utime;
        [FieldOffset(64)] public ulong Stime;
        [FieldOffset(72)] public ulong Addr;
    }

    /// struct sigevent (timer_create), 64 bytes.
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    public struct SigEvent
    {
        [FieldOffset(0)] public ulong Value;
        [FieldOffset(8)] public int Signo;
        [FieldOffset(12)] public int Notify;
        [FieldOffset(16)] public int ThreadId;     // SIGEV_THREAD_ID: sigev_notify_thread_id
    }

    /// si_code values and sigaction flags.
    public static class SigCodes
    {
        public const int SI_USER = 0, SI_KERNEL = 0x80, SI_QUEUE = -1, SI_TIMER = -2, SI_TKILL = -6,
            SEGV_MAPERR = 1, SEGV_ACCERR = 2, ILL_ILLOPN = 2, FPE_INTDIV = 1, BUS_ADRALN = 1, BUS_ADRERR = 2, TRAP_BRKPT = 1;
        public const ulong SA_SIGINFO = 4, SA_RESTORER = 0x04000000, SA_ONSTACK = 0x08000000,
            SA_NOCLDSTOP = 1, SA_NOCLDWAIT = 2, SA_RESTART = 0x10000000, SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000;
        public const int SS_ONSTACK = 1, SS_DISABLE = 2, SS_AUTODISARM = unchecked((int)0x80000000);
        public const ulong MINSIGSTKSZ = 2048;
    }
}
