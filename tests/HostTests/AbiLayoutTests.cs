using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernel.Abi;

namespace HostTests;

/// <summary>abi/*.cs: struct layouts must match the Linux x86-64 ABI byte for byte.</summary>
public class AbiLayoutTests
{
    static int Off<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    static void Size<T>(int bytes) where T : struct
    {
        Marshal.SizeOf<T>().Should().Be(bytes, typeof(T).Name);
        Unsafe.SizeOf<T>().Should().Be(bytes, typeof(T).Name);
    }

    [Fact]
    public void Sizes()
    {
        Size<Stat>(144);
        Size<Timespec>(16);
        Size<Timeval>(16);
        Size<Iovec>(16);
        Size<Rlimit>(16);
        Size<Sysinfo>(112);
        Size<WinSize>(8);
        Size<Termios>(36);
        Size<SigAction>(32);
        Size<SigInfo>(128);
        Size<StackT>(24);
        Size<SigContext>(256);
        Size<UContext>(304);
        Size<RtSigFrame>(8 + 304 + 128);
        Size<SignalfdSiginfo>(128);
        Size<SigEvent>(64);
        Size<Statx>(256);
        Size<StatxTimestamp>(16);
        Size<Statfs>(120);
        Size<PollFd>(8);
        Size<EpollEvent>(12);
        Size<Flock>(32);
        Size<Utsname>(390);
        Size<CloneArgs>(88);
        Size<FutexWaitv>(24);
        Size<Rusage>(144);
        Size<RobustListHead>(24);
        Size<Tms>(32);
        Size<OpenHow>(24);
        Size<SockaddrUn>(110);
        Size<MsgHdr>(56);
        Size<MMsgHdr>(64);
        Size<CmsgHdr>(16);
        Size<Ucred>(12);
        Size<Linger>(8);
        Size<Itimerspec>(32);
    }

    [Fact]
    public void SignalFrameOffsets()
    {
        Off<RtSigFrame>("Uc").Should().Be(8);
        Off<RtSigFrame>("Info").Should().Be(8 + 304);
        Off<UContext>("Stack").Should().Be(16);
        Off<UContext>("MContext").Should().Be(40);
        Off<UContext>("SigMask").Should().Be(296);
        Off<SigContext>("Rip").Should().Be(128);
        Off<SigContext>("Cs").Should().Be(144);
        Off<SigContext>("Ss").Should().Be(150);
        Off<SigContext>("FpState").Should().Be(184);
        Off<SigInfo>("Code").Should().Be(8);
        Off<SigInfo>("Pid").Should().Be(16);
        Off<SigInfo>("Value").Should().Be(24);
        Off<SignalfdSiginfo>("Addr").Should().Be(72);
    }

    [Fact]
    public void StatOffsets()
    {
        Off<Stat>("Dev").Should().Be(0);
        Off<Stat>("Ino").Should().Be(8);
        Off<Stat>("Nlink").Should().Be(16);
        Off<Stat>("Mode").Should().Be(24);
        Off<Stat>("Uid").Should().Be(28);
        Off<Stat>("Gid").Should().Be(32);
        Off<Stat>("Rdev").Should().Be(40);
        Off<Stat>("Size").Should().Be(48);
        Off<Stat>("BlkSize").Should().Be(56);
        Off<Stat>("Blocks").Should().Be(64);
        Off<Stat>("AtimeSec").Should().Be(72);
        Off<Stat>("MtimeSec").Should().Be(88);
        Off<Stat>("MtimeNsec").Should().Be(96);
        Off<Stat>("CtimeSec").Should().Be(104);
    }

    [Fact]
    public void OtherOffsets()
    {
        Off<Timespec>("Nsec").Should().Be(8);
        Off<Iovec>("Len").Should().Be(8);
        Off<Rlimit>("Max").Should().Be(8);
        Off<Sysinfo>("Loads").Should().Be(8);
        Off<Sysinfo>("TotalRam").Should().Be(32);
        Off<Sysinfo>("Procs").Should().Be(80);
        Off<Sysinfo>("TotalHigh").Should().Be(88);
        Off<Sysinfo>("MemUnit").Should().Be(104);
        Off<WinSize>("Cols").Should().Be(2);
        Off<WinSize>("YPixel").Should().Be(6);
        Off<Termios>("Lflag").Should().Be(12);
        Off<Termios>("Line").Should().Be(16);
        Off<Termios>("Cc").Should().Be(17);
        Off<SigAction>("Flags").Should().Be(8);
        Off<SigAction>("Restorer").Should().Be(16);
        Off<SigAction>("Mask").Should().Be(24);
    }

    const string LayoutC = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stddef.h>
        #include <sys/stat.h>
        #include <sys/uio.h>
        #include <sys/resource.h>
        #include <sys/sysinfo.h>
        #include <sys/ioctl.h>
        #include <time.h>
        #include <asm/termbits.h>
        #include <signal.h>
        #include <ucontext.h>
        #include <sys/signalfd.h>
        #include <sys/vfs.h>
        #include <poll.h>
        #include <sys/epoll.h>
        #include <fcntl.h>
        #include <sys/utsname.h>
        #include <dirent.h>
        #include <linux/sched.h>
        #include <linux/futex.h>
        #include <linux/openat2.h>
        #include <sys/times.h>
        #include <sys/socket.h>
        #include <sys/un.h>
        #include <sys/timerfd.h>
        #define O(t, f) (size_t)offsetof(t, f)
        int main(void) {
            printf("Stat %zu %zu %zu %zu %zu %zu\n", sizeof(struct stat), offsetof(struct stat, st_mode), offsetof(struct stat, st_size),
                   offsetof(struct stat, st_atim), offsetof(struct stat, st_mtim), offsetof(struct stat, st_ctim));
            printf("Timespec %zu\n", sizeof(struct timespec));
            printf("Iovec %zu\n", sizeof(struct iovec));
            printf("Rlimit %zu\n", sizeof(struct rlimit));
            printf("Sysinfo %zu %zu %zu %zu %zu\n", sizeof(struct sysinfo), offsetof(struct sysinfo, totalram),
                   offsetof(struct sysinfo, procs), offsetof(struct sysinfo, totalhigh), offsetof(struct sysinfo, mem_unit));
            printf("WinSize %zu\n", sizeof(struct winsize));
            printf("Termios %zu %zu %zu\n", sizeof(struct termios), offsetof(struct termios, c_line), offsetof(struct termios, c_cc));
            printf("SigInfo %zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(siginfo_t), O(siginfo_t, si_code), O(siginfo_t, si_pid), O(siginfo_t, si_uid),
                   O(siginfo_t, si_timerid), O(siginfo_t, si_overrun), O(siginfo_t, si_value), O(siginfo_t, si_addr));
            printf("StackT %zu %zu %zu\n", sizeof(stack_t), O(stack_t, ss_flags), O(stack_t, ss_size));
            printf("SigContext %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct sigcontext), O(struct sigcontext, rip), O(struct sigcontext, eflags),
                   O(struct sigcontext, cs), O(struct sigcontext, err), O(struct sigcontext, cr2), O(struct sigcontext, fpstate));
            printf("UContext %zu %zu %zu\n", O(ucontext_t, uc_stack), O(ucontext_t, uc_mcontext), O(ucontext_t, uc_sigmask));
            printf("SignalfdSiginfo %zu %zu %zu %zu %zu %zu\n", sizeof(struct signalfd_siginfo), O(struct signalfd_siginfo, ssi_tid),
                   O(struct signalfd_siginfo, ssi_overrun), O(struct signalfd_siginfo, ssi_int), O(struct signalfd_siginfo, ssi_ptr), O(struct signalfd_siginfo, ssi_addr));
            printf("SigEvent %zu %zu %zu %zu\n", sizeof(struct sigevent), O(struct sigevent, sigev_signo), O(struct sigevent, sigev_notify),
                   O(struct sigevent, _sigev_un._tid));
            printf("Statx %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct statx), O(struct statx, stx_mode), O(struct statx, stx_ino),
                   O(struct statx, stx_attributes_mask), O(struct statx, stx_atime), O(struct statx, stx_ctime), O(struct statx, stx_mtime),
                   O(struct statx, stx_rdev_major), O(struct statx, stx_mnt_id));
            printf("Statfs %zu %zu %zu %zu\n", sizeof(struct statfs), O(struct statfs, f_fsid), O(struct statfs, f_namelen), O(struct statfs, f_flags));
            printf("PollFd %zu %zu\n", sizeof(struct pollfd), O(struct pollfd, revents));
            printf("EpollEvent %zu %zu\n", sizeof(struct epoll_event), O(struct epoll_event, data));
            printf("Flock %zu %zu %zu %zu\n", sizeof(struct flock), O(struct flock, l_start), O(struct flock, l_len), O(struct flock, l_pid));
            printf("Utsname %zu %zu\n", sizeof(struct utsname), O(struct utsname, machine));
            printf("LinuxDirent64 %zu %zu %zu %zu\n", O(struct dirent64, d_off), O(struct dirent64, d_reclen), O(struct dirent64, d_type), O(struct dirent64, d_name));
            printf("CloneArgs %zu %zu %zu %zu\n", sizeof(struct clone_args), O(struct clone_args, exit_signal), O(struct clone_args, tls), O(struct clone_args, cgroup));
            printf("FutexWaitv %zu %zu %zu\n", sizeof(struct futex_waitv), O(struct futex_waitv, uaddr), O(struct futex_waitv, flags));
            printf("Rusage %zu %zu\n", sizeof(struct rusage), O(struct rusage, ru_stime));
            printf("RobustListHead %zu %zu %zu\n", sizeof(struct robust_list_head), O(struct robust_list_head, futex_offset), O(struct robust_list_head, list_op_pending));
            printf("Tms %zu %zu\n", sizeof(struct tms), O(struct tms, tms_cstime));
            printf("OpenHow %zu %zu %zu\n", sizeof(struct open_how), O(struct open_how, mode), O(struct open_how, resolve));
            printf("SockaddrUn %zu %zu\n", sizeof(struct sockaddr_un), O(struct sockaddr_un, sun_path));
            printf("MsgHdr %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct msghdr), O(struct msghdr, msg_namelen), O(struct msghdr, msg_iov),
                   O(struct msghdr, msg_iovlen), O(struct msghdr, msg_control), O(struct msghdr, msg_controllen), O(struct msghdr, msg_flags));
            printf("MMsgHdr %zu %zu\n", sizeof(struct mmsghdr), O(struct mmsghdr, msg_len));
            printf("CmsgHdr %zu %zu %zu %zu\n", sizeof(struct cmsghdr), O(struct cmsghdr, cmsg_level), O(struct cmsghdr, cmsg_type), (size_t)CMSG_LEN(0));
            printf("Ucred %zu %zu %zu\n", sizeof(struct ucred), O(struct ucred, uid), O(struct ucred, gid));
            printf("Linger %zu %zu\n", sizeof(struct linger), O(struct linger, l_linger));
            printf("Itimerspec %zu %zu\n", sizeof(struct itimerspec), O(struct itimerspec, it_value));
            return 0;
        }
        """;

    /// <summary>The same figures from the host's C headers (skipped without gcc and linux headers).</summary>
    [Fact]
    public void MatchesHostCHeaders()
    {
        var exe = TestUtil.CompileC("gcc", LayoutC, "-O0", TestUtil.TempDir(), "abi-layout");
        if (exe == null)
        {
            // Without gcc the check is skipped; with it, the program must build.
            TestUtil.Which("gcc").Should().BeNull("gcc is installed, so the layout program must compile");
            return;
        }
        var r = TestUtil.Run(exe, []);
        r.Code.Should().Be(0);
        var ours = string.Join("\n", [
            $"Stat {Marshal.SizeOf<Stat>()} {Off<Stat>("Mode")} {Off<Stat>("Size")} {Off<Stat>("AtimeSec")} {Off<Stat>("MtimeSec")} {Off<Stat>("CtimeSec")}",
            $"Timespec {Marshal.SizeOf<Timespec>()}",
            $"Iovec {Marshal.SizeOf<Iovec>()}",
            $"Rlimit {Marshal.SizeOf<Rlimit>()}",
            $"Sysinfo {Marshal.SizeOf<Sysinfo>()} {Off<Sysinfo>("TotalRam")} {Off<Sysinfo>("Procs")} {Off<Sysinfo>("TotalHigh")} {Off<Sysinfo>("MemUnit")}",
            $"WinSize {Marshal.SizeOf<WinSize>()}",
            $"Termios {Marshal.SizeOf<Termios>()} {Off<Termios>("Line")} {Off<Termios>("Cc")}",
            $"SigInfo {Marshal.SizeOf<SigInfo>()} {Off<SigInfo>("Code")} {Off<SigInfo>("Pid")} {Off<SigInfo>("Uid")} {Off<SigInfo>("TimerId")} {Off<SigInfo>("Overrun")} {Off<SigInfo>("Value")} {Off<SigInfo>("Addr")}",
            $"StackT {Marshal.SizeOf<StackT>()} {Off<StackT>("Flags")} {Off<StackT>("Size")}",
            $"SigContext {Marshal.SizeOf<SigContext>()} {Off<SigContext>("Rip")} {Off<SigContext>("Eflags")} {Off<SigContext>("Cs")} {Off<SigContext>("Err")} {Off<SigContext>("Cr2")} {Off<SigContext>("FpState")}",
            $"UContext {Off<UContext>("Stack")} {Off<UContext>("MContext")} {Off<UContext>("SigMask")}",
            $"SignalfdSiginfo {Marshal.SizeOf<SignalfdSiginfo>()} {Off<SignalfdSiginfo>("Tid")} {Off<SignalfdSiginfo>("Overrun")} {Off<SignalfdSiginfo>("Int")} {Off<SignalfdSiginfo>("Ptr")} {Off<SignalfdSiginfo>("Addr")}",
            $"SigEvent {Marshal.SizeOf<SigEvent>()} {Off<SigEvent>("Signo")} {Off<SigEvent>("Notify")} {Off<SigEvent>("ThreadId")}",
            $"Statx {Marshal.SizeOf<Statx>()} {Off<Statx>("Mode")} {Off<Statx>("Ino")} {Off<Statx>("AttributesMask")} {Off<Statx>("Atime")} {Off<Statx>("Ctime")} {Off<Statx>("Mtime")} {Off<Statx>("RdevMajor")} {Off<Statx>("MntId")}",
            $"Statfs {Marshal.SizeOf<Statfs>()} {Off<Statfs>("Fsid")} {Off<Statfs>("Namelen")} {Off<Statfs>("Flags")}",
            $"PollFd {Marshal.SizeOf<PollFd>()} {Off<PollFd>("Revents")}",
            $"EpollEvent {Marshal.SizeOf<EpollEvent>()} {Off<EpollEvent>("Data")}",
            $"Flock {Marshal.SizeOf<Flock>()} {Off<Flock>("Start")} {Off<Flock>("Len")} {Off<Flock>("Pid")}",
            $"Utsname {Marshal.SizeOf<Utsname>()} {Off<Utsname>("Machine")}",
            $"LinuxDirent64 {Off<LinuxDirent64>("Off")} {Off<LinuxDirent64>("Reclen")} {Off<LinuxDirent64>("Type")} {LinuxDirent64.NameOffset}",
            $"CloneArgs {Marshal.SizeOf<CloneArgs>()} {Off<CloneArgs>("ExitSignal")} {Off<CloneArgs>("Tls")} {Off<CloneArgs>("Cgroup")}",
            $"FutexWaitv {Marshal.SizeOf<FutexWaitv>()} {Off<FutexWaitv>("Uaddr")} {Off<FutexWaitv>("Flags")}",
            $"Rusage {Marshal.SizeOf<Rusage>()} {Off<Rusage>("Stime")}",
            $"RobustListHead {Marshal.SizeOf<RobustListHead>()} {Off<RobustListHead>("FutexOffset")} {Off<RobustListHead>("ListOpPending")}",
            $"Tms {Marshal.SizeOf<Tms>()} {Off<Tms>("Cstime")}",
            $"OpenHow {Marshal.SizeOf<OpenHow>()} {Off<OpenHow>("Mode")} {Off<OpenHow>("Resolve")}",
            $"SockaddrUn {Marshal.SizeOf<SockaddrUn>()} {SockaddrUn.PathOffset}",
            $"MsgHdr {Marshal.SizeOf<MsgHdr>()} {Off<MsgHdr>("NameLen")} {Off<MsgHdr>("Iov")} {Off<MsgHdr>("IovLen")} {Off<MsgHdr>("Control")} {Off<MsgHdr>("ControlLen")} {Off<MsgHdr>("Flags")}",
            $"MMsgHdr {Marshal.SizeOf<MMsgHdr>()} {Off<MMsgHdr>("Len")}",
            $"CmsgHdr {Marshal.SizeOf<CmsgHdr>()} {Off<CmsgHdr>("Level")} {Off<CmsgHdr>("Type")} {Kernel.Net.Cmsg.Len(0)}",
            $"Ucred {Marshal.SizeOf<Ucred>()} {Off<Ucred>("Uid")} {Off<Ucred>("Gid")}",
            $"Linger {Marshal.SizeOf<Linger>()} {Off<Linger>("Seconds")}",
            $"Itimerspec {Marshal.SizeOf<Itimerspec>()} {Off<Itimerspec>("Value")}",
            ""]);
        r.Out.Should().Be(ours);
    }
}
