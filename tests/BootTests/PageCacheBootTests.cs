using System.Text;

namespace BootTests;

using static Ext4BootTests;

/// <summary>
/// The page cache of ext4 volumes (fs/PageCache.cs): the compat suite's file_mmap on a volume
/// prints what it prints on Linux; shared-mapping writes and unsynced writes reach the disk;
/// a file larger than guest memory is written and read back (clean pages evicted under
/// memory pressure); a create/read/write/mmap/delete churn gives its frames back; programs
/// (static musl, dynamic glibc with a library on the volume) run from a volume.
/// </summary>
public class PageCacheBootTests
{
    /// <summary>pcache big|churn|mapw|exec DIR [...].</summary>
    public const string PcacheC = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/mman.h>
        #include <sys/stat.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>

        static unsigned char buf[1 << 20];
        #define CHECK(x) do { if ((x) < 0) { printf("%s: %s (line %d)\n", #x, strerror(errno), __LINE__); return 1; } } while (0)
        static void gen(long block, unsigned char *b, long n) { for (long k = 0; k < n; k++) b[k] = (unsigned char)(block * 131 + k * 7 + (k >> 10)); }
        static unsigned long long fnv(unsigned long long h, const unsigned char *p, long n) { for (long i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; } return h; }
        static long meminfo(const char *key) {
            char line[256]; long v = -1; FILE *f = fopen("/proc/meminfo", "r");
            while (f && fgets(line, sizeof line, f)) if (!strncmp(line, key, strlen(key))) v = atol(line + strlen(key));
            if (f) fclose(f);
            return v;
        }
        static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

        /* big DIR MB: writes MB MiB, reads them back (checksum), reports MiB/s on stderr. */
        static int big(const char *dir, long mb) {
            char p[512]; snprintf(p, sizeof p, "%s/big", dir);
            int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644); CHECK(fd);
            double t0 = now();
            for (long i = 0; i < mb; i++) {
                gen(i, buf, sizeof buf);
                if (write(fd, buf, sizeof buf) != sizeof buf) {
                    printf("write at %ld MiB: %s\n", i, strerror(errno));
                    fprintf(stderr, "free %ld cached %ld dirty %ld kB\n", meminfo("MemFree:"), meminfo("Cached:"), meminfo("Dirty:"));
                    return 1;
                }
            }
            CHECK(fsync(fd));
            double t1 = now();
            close(fd);
            fd = open(p, O_RDONLY); CHECK(fd);
            unsigned long long h = 14695981039346656037ULL; long n, total = 0;
            while ((n = read(fd, buf, sizeof buf)) > 0) { h = fnv(h, buf, n); total += n; }
            double t2 = now();
            close(fd);
            printf("read %ld bytes, fnv %016llx\n", total, h);
            fprintf(stderr, "write+fsync %.1f MiB/s, read %.1f MiB/s, cached %ld kB\n", mb / (t1 - t0), mb / (t2 - t1), meminfo("Cached:"));
            return 0;
        }

        /* churn DIR: creates, writes, reads, maps and deletes many files; the free memory
         * afterwards is what it was (the cache holds nothing of files that are gone). */
        static int churn(const char *dir) {
            char p[512];
            long before = 0;
            for (int round = 0; round < 4; round++) {
                /* Round 0 warms up what stays (the cache's tables, the kernel heap). */
                if (round == 1) { sync(); before = meminfo("MemFree:"); }
                for (int i = 0; i < 150; i++) {
                    snprintf(p, sizeof p, "%s/c%d", dir, i);
                    int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644); CHECK(fd);
                    long n = (i * 7919L) % (200 << 10) + 1;
                    gen(i, buf, n); CHECK(write(fd, buf, n));
                    if (i % 10 == 0) CHECK(fsync(fd));
                    if (i % 7 == 0) {
                        unsigned char *m = mmap(0, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                        if (m == MAP_FAILED) { printf("mmap: %s\n", strerror(errno)); return 1; }
                        m[n / 2] ^= 1; m[n / 2] ^= 1;
                        munmap(m, n);
                    }
                    close(fd);
                }
                for (int i = 0; i < 150; i++) {
                    snprintf(p, sizeof p, "%s/c%d", dir, i);
                    int fd = open(p, O_RDONLY); CHECK(fd);
                    long n = (i * 7919L) % (200 << 10) + 1, got = 0, k;
                    static unsigned char want[200 << 10];
                    gen(i, want, n);
                    while ((k = read(fd, buf + got, sizeof buf - got)) > 0) got += k;
                    close(fd);
                    if (got != n || memcmp(buf, want, n)) { printf("c%d differs\n", i); return 1; }
                    if (i % 3 == 0) CHECK(truncate(p, n / 3));
                    CHECK(unlink(p));
                }
            }
            sync();
            long after = meminfo("MemFree:");
            printf("churn: files read back, cached after: %ld kB\n", meminfo("Cached:"));
            /* Cached is exact; MemFree also moves with the kernel heap's garbage, which the
             * collector takes back only when memory is short. */
            printf("frames back: %d\n", after >= before - 4096);
            fprintf(stderr, "MemFree before %ld kB, after %ld kB\n", before, after);
            return 0;
        }

        /* mapw DIR: a file written only through a shared mapping (then munmap, no fsync), and
         * one written with write() and never synced: both reach the disk by the power-off. */
        static int mapw(const char *dir) {
            char p[512]; snprintf(p, sizeof p, "%s/mapped", dir);
            int fd = open(p, O_CREAT | O_RDWR | O_TRUNC, 0644); CHECK(fd);
            CHECK(ftruncate(fd, 3 * 4096));
            char *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED) { printf("mmap: %s\n", strerror(errno)); return 1; }
            close(fd);
            for (int i = 0; i < 3 * 4096; i++) m[i] = 'a' + i % 26;
            CHECK(munmap(m, 3 * 4096));
            snprintf(p, sizeof p, "%s/unsynced", dir);
            fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644); CHECK(fd);
            CHECK(write(fd, "written, never synced\n", 22));
            close(fd);
            printf("mapw done\n");
            return 0;
        }

        /* exec DIR PROG...: runs each program from the volume in a child. */
        static int run(char **progs) {
            for (; *progs; progs++) {
                fflush(stdout);
                pid_t pid = fork(); CHECK(pid);
                if (pid == 0) { char *av[] = { *progs, "arg", 0 }; execv(*progs, av); printf("execv %s: %s\n", *progs, strerror(errno)); _exit(127); }
                int st; waitpid(pid, &st, 0);
                printf("%s: exit %d\n", *progs, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            }
            return 0;
        }

        int main(int argc, char **argv) {
            if (argc < 3) return 2;
            if (!strcmp(argv[1], "big")) return big(argv[2], atol(argv[3]));
            if (!strcmp(argv[1], "churn")) return churn(argv[2]);
            if (!strcmp(argv[1], "mapw")) return mapw(argv[2]);
            if (!strcmp(argv[1], "exec")) return run(argv + 2);
            return 2;
        }
        """;

    static readonly Lazy<string> _image = new(() =>
    {
        var exe = Programs.Compile("pcache", PcacheC);
        var img = Path.Combine(Repo.TempDir(), "pcache.img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    [Fact]
    public void FileMappingsOnAVolumeBehaveAsOnLinux()
    {
        var exe = Programs.Compile("file_mmap", File.ReadAllText(Path.Combine(Repo.Root, "compat-suite/src/file_mmap.c")),
            "-I", Path.Combine(Repo.Root, "compat-suite/src"));
        var dir = Repo.TempDir();
        var native = Host.Run(exe, [dir]);
        native.Code.Should().Be(0, native.ToString());
        var img = Path.Combine(Repo.TempDir(), "file_mmap.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var vol = Volume("64M");
        var r = Ukpack.Boot(img, null, "--volume", vol + ":/data", "--", "/data");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(native.OutText, r.ToString());
        Fsck(vol);
    }

    /// <summary>Clean cached pages are memory the kernel's own heap can take back: after a
    /// 48 MiB file is written and read with 128 MiB of guest memory, creating 3,000 files
    /// (inodes, directory blocks, journal copies: managed objects) once panicked with "kernel
    /// heap: out of memory for managed objects" while the cache held the frames.</summary>
    [Fact]
    public void TheKernelHeapTakesCleanCachePagesBack()
    {
        var exe = Programs.Compile("ext4bench", File.ReadAllText(Path.Combine(Repo.Root, "bench/progs/ext4bench.c")),
            "-I", Path.Combine(Repo.Root, "bench/progs"));
        var img = Path.Combine(Repo.TempDir(), "ext4bench.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var vol = Volume("512M");
        var r = Ukpack.Boot(img, null, "-M", "pc", "--mem", "128M", "--volume", vol + ":/vol", "--", "/vol", "48", "3000", "100");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Contain("ext4_create_fsync_files_per_s", r.ToString());
        Fsck(vol);
    }

    [Fact]
    public void SharedMappingWritesAndUnsyncedWritesReachTheDisk()
    {
        var vol = Volume("64M");
        var r = Ukpack.Boot(_image.Value, null, "--volume", vol + ":/data", "--", "mapw", "/data");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("mapw done\n");
        Fsck(vol);
        var want = new byte[3 * 4096];
        for (int i = 0; i < want.Length; i++) want[i] = (byte)('a' + i % 26);
        Host.Run(Sbin("debugfs"), ["-R", "cat /mapped", vol]).Out.Should().Equal(want);
        Host.Run(Sbin("debugfs"), ["-R", "cat /unsynced", vol]).OutText.Should().Be("written, never synced\n");
    }

    [Fact]
    public void AFileLargerThanGuestMemoryIsWrittenAndReadBack()
    {
        const long mb = 300;
        var vol = Volume("1G");
        var r = Ukpack.Boot(_image.Value, null, "--mem", "128M", "--volume", vol + ":/data", "--", "big", "/data", mb.ToString());
        r.Code.Should().Be(0, r.ToString());
        // The same bytes and FNV-1a hash computed here.
        ulong h = 14695981039346656037UL;
        var block = new byte[1 << 20];
        for (long i = 0; i < mb; i++)
        {
            for (long k = 0; k < block.Length; k++) block[k] = (byte)(i * 131 + k * 7 + (k >> 10));
            foreach (var b in block) { h ^= b; h *= 1099511628211UL; }
        }
        r.OutText.Should().Be($"read {mb << 20} bytes, fnv {h:x16}\n", r.ToString());
        Console.Error.WriteLine("pcache big: " + r.ErrText.Trim());
        Fsck(vol);
    }

    [Fact]
    public void FilesThatAreGoneLeaveNoFramesBehind()
    {
        var vol = Volume("256M");
        var r = Ukpack.Boot(_image.Value, null, "--volume", vol + ":/data", "--", "churn", "/data");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("churn: files read back, cached after: 0 kB\nframes back: 1\n", r.ToString());
        Console.Error.WriteLine("pcache churn: " + r.ErrText.Trim());
        Fsck(vol);
    }

    [Fact]
    public void ProgramsRunFromAVolume()
    {
        var dir = Repo.TempDir();
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        File.Copy(Programs.Compile("vol_static", "#include <stdio.h>\nint main(int c, char **v) { printf(\"static from a volume: %s\\n\", v[1]); return 3; }\n"), Path.Combine(tree, "static"));
        // A dynamic glibc program whose library is on the volume too (ld.so maps it from there).
        var gcc = Repo.Which("gcc") ?? throw new InvalidOperationException("gcc is needed");
        File.WriteAllText(Path.Combine(dir, "lib.c"), "int volume_answer(void) { return 42; }\n");
        File.WriteAllText(Path.Combine(dir, "dyn.c"), "#include <stdio.h>\nint volume_answer(void);\nint main(int c, char **v) { printf(\"dynamic from a volume: %s %d\\n\", v[1], volume_answer()); return 4; }\n");
        Host.Run(gcc, ["-shared", "-fPIC", "-O1", "-o", Path.Combine(tree, "libvol.so"), Path.Combine(dir, "lib.c")]).Code.Should().Be(0);
        Host.Run(gcc, ["-O1", "-o", Path.Combine(tree, "dynamic"), Path.Combine(dir, "dyn.c"), "-L", tree, "-lvol", "-Wl,-rpath,/data"]).Code.Should().Be(0);
        var vol = Volume("64M", tree);
        // The launcher is dynamic too, so the image holds glibc and its loader.
        var launcher = Path.Combine(dir, "launch");
        File.WriteAllText(launcher + ".c", PcacheC);
        Host.Run(gcc, ["-O1", "-o", launcher, launcher + ".c"]).Code.Should().Be(0);
        var img = Path.Combine(dir, "launch.img");
        Ukpack.Run(["build", launcher, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Boot(img, null, "--volume", vol + ":/data:ro", "--", "exec", "/data/static", "/data/dynamic");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(
            "static from a volume: arg\n/data/static: exit 3\n" +
            "dynamic from a volume: arg 42\n/data/dynamic: exit 4\n", r.ToString());
    }
}
