using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernel.Abi;

namespace HostTests;

/// <summary>syscalls/Abi.cs: struct layouts must match the Linux x86-64 ABI byte for byte.</summary>
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
        #include <stdio.h>
        #include <stddef.h>
        #include <sys/stat.h>
        #include <sys/uio.h>
        #include <sys/resource.h>
        #include <sys/sysinfo.h>
        #include <sys/ioctl.h>
        #include <time.h>
        #include <asm/termbits.h>
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
            return 0;
        }
        """;

    /// <summary>The same figures from the host's C headers (skipped without gcc and linux headers).</summary>
    [Fact]
    public void MatchesHostCHeaders()
    {
        var exe = TestUtil.CompileC("gcc", LayoutC, "-O0", TestUtil.TempDir(), "abi-layout");
        if (exe == null) return;
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
            ""]);
        r.Out.Should().Be(ours);
    }
}
