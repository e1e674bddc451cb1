namespace BootTests;

public static class CollectorPrograms
{
    /// Memory filled by /tmp data, then garbage made, then the kernel copies into an
    /// untouched user page: the fault there must collect (not fail with EFAULT), and a
    /// later bad access must be an ordinary SIGSEGV for the handler, not an out-of-memory kill.
    public const string ShortC = """
        #include <fcntl.h>
        #include <setjmp.h>
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/eventfd.h>
        #include <sys/mman.h>
        #include <unistd.h>
        static sigjmp_buf jb;
        static void on_segv(int s) { siglongjmp(jb, 1); }
        static char info[4096], outbuf[1024];
        static long mem_free_kib(void) {        /* no allocation: memory is short */
            int fd = open("/proc/meminfo", O_RDONLY);
            long n = fd < 0 ? -1 : read(fd, info, sizeof info - 1);
            if (fd >= 0) close(fd);
            if (n <= 0) return -1;
            info[n] = 0;
            char *p = strstr(info, "MemFree:");
            return p ? strtol(p + 8, 0, 10) : -1;
        }
        int main(void) {
            setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
            char *pg = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            int efd = eventfd(5, 0);
            signal(SIGSEGV, on_segv);
            mem_free_kib();
            int fd = open("/tmp/fill", O_CREAT | O_WRONLY, 0600);
            static char buf[65536];
            memset(buf, 1, sizeof buf);
            long total = 0, w;
            while ((w = write(fd, buf, sizeof buf)) > 0) total += w;
            while ((w = write(fd, buf, 4096)) > 0) total += w;
            if (ftruncate(fd, total - 64 * 1024) != 0) return 2;
            // Garbage until the kernel has dipped into its reserve (MemFree under 1.9 MiB of
            // the 2 MiB a program page needs left free), so only a collection makes room.
            for (int round = 0; round < 100000; round++) {
                for (int i = 0; i < 50; i++) { int e = eventfd(0, 0); if (e < 0) return 3; close(e); }
                long kb = mem_free_kib();
                if (kb >= 0 && kb < 1900) break;
            }
            long r = read(efd, pg, 8);
            printf("read into an untouched page: %ld\n", r);
            if (sigsetjmp(jb, 1) == 0) { *(volatile int *)8 = 1; puts("no fault"); }
            else puts("SIGSEGV handled");
            return 0;
        }
        """;
}

/// <summary>The kernel's garbage collector: its self-test, and a program whose churn of
/// files, threads, pipes, eventfds and epoll instances must leave kernel memory flat.</summary>
public class CollectorBootTests
{
    [Fact]
    public void SelfTest()
    {
        var r = Qemu.Boot("microvm", "log=2 test=gc");
        r.Log.Should().Contain("self-test gc: PASS", r.ToString());
        r.Log.Should().NotContain("FAILED", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
    }

    [Fact]
    public void KernelCopyIntoANewPageCollectsWhenMemoryIsShort()
    {
        var r = Ukpack.Boot(Programs.Image("gcshort"), null, "--mem", "64M");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("read into an untouched page: 8\nSIGSEGV handled\n", r.ToString());
    }

    [Fact]
    public void ChurnLeavesKernelMemoryFlat()
    {
        // Scale 1: 10k opens, 1k threads, 10k pipes/eventfds/epolls, 10k inotify watch rounds, 100k socket pairs, 10k AF_UNIX
        // connections passing a file, an 8 MiB /tmp file, 10k fork+exit+wait, 1k posix_spawn
        // (vfork+execve) of the program itself.
        // Each workload may leave at most 1 MiB more in use than after its warm-up.
        var r = Ukpack.Boot(Programs.Image("churn"), null, "-v", "--log", "3", "--", "1", "1024");
        r.Code.Should().Be(0, r.ToString());
        var lines = r.OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Where(l => l.StartsWith("churn ")).Should().HaveCount(11, r.ToString());
        lines.Where(l => l.StartsWith("churn_") && l.Contains("_growth_kib ")).Should().HaveCount(11, r.ToString());
        r.ErrText.Should().MatchRegex(@"gc #\d+: pause", "the collector ran during the churn\n{0}", r);
        r.ErrText.Should().MatchRegex(@"managed heap \d+ KiB in \d+ pages; [1-9]\d* collections", r.ToString());
    }
}
