using System.Buffers.Binary;
using System.Formats.Tar;
using System.Security.Cryptography;

namespace BootTests;

using static Ext4BootTests;

/// <summary>
/// `ukpack build --root-disk` (tools/ukpack/RootDisk.cs): the root filesystem as an ext4
/// filesystem in the image file, mounted by the kernel as / over virtio-blk. A tree far larger
/// than guest memory boots with --mem 128M and a big file's checksum matches the host's; the
/// same busybox script gives the same output with and without --root-disk (a tarball tree
/// with owners, modes, hard and symbolic links); a run's writes never change the image; bad
/// input (no mke2fs, a tree that does not fit, a truncated or corrupt image) is one clear
/// error, never a kernel panic.
/// </summary>
public class RootDiskBootTests
{
    /// <summary>rdcheck sum FILE... | write DIR | mounts | mem.</summary>
    const string RdCheckC = """
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <unistd.h>

        static unsigned long long buf[1 << 17];
        static long meminfo(const char *key) {
            char line[256]; long v = -1; FILE *f = fopen("/proc/meminfo", "r");
            while (f && fgets(line, sizeof line, f)) if (!strncmp(line, key, strlen(key))) v = atol(line + strlen(key));
            if (f) fclose(f);
            return v;
        }
        int main(int argc, char **argv) {
            if (argc > 2 && !strcmp(argv[1], "sum")) {
                for (int a = 2; a < argc; a++) {
                    int fd = open(argv[a], O_RDONLY);
                    if (fd < 0) { perror(argv[a]); return 1; }
                    struct stat st; fstat(fd, &st);
                    /* Each 8-byte word, rotated by its index: order matters. */
                    unsigned long long h = 0, i = 0; long n, total = 0;
                    while ((n = read(fd, buf, sizeof buf)) > 0) {
                        for (long k = 0; k < n / 8; k++, i++) { unsigned r = i & 63; h += r ? (buf[k] << r | buf[k] >> (64 - r)) : buf[k]; }
                        total += n;
                    }
                    close(fd);
                    printf("%s: %ld bytes (st_size %lld), sum %016llx\n", argv[a], total, (long long)st.st_size, h);
                }
                fprintf(stderr, "MemTotal %ld kB MemFree %ld kB\n", meminfo("MemTotal:"), meminfo("MemFree:"));
                return 0;
            }
            if (argc > 2 && !strcmp(argv[1], "stat")) {
                struct stat st;
                if (stat(argv[2], &st) < 0) { perror(argv[2]); return 1; }
                printf("%s: %lld bytes, %lld blocks\n", argv[2], (long long)st.st_size, (long long)st.st_blocks);
                return 0;
            }
            if (argc > 2 && !strcmp(argv[1], "write")) {
                char p[512]; snprintf(p, sizeof p, "%s/written", argv[2]);
                FILE *f = fopen(p, "w"); if (!f) { perror(p); return 1; }
                fputs("from the guest\n", f); fclose(f);
                printf("wrote %s\n", p);
                return 0;
            }
            if (argc > 1 && !strcmp(argv[1], "mounts")) {
                char line[512]; FILE *f = fopen("/proc/mounts", "r");
                while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
                return 0;
            }
            return 2;
        }
        """;

    const long MiB = 1 << 20;

    /// <summary>A file of `mb` MiB of generated (incompressible enough) data, and its rdcheck sum.</summary>
    static ulong WriteData(string path, long mb)
    {
        var block = new byte[MiB];
        RandomNumberGenerator.Fill(block);
        ulong h = 0, i = 0;
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        for (long b = 0; b < mb; b++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(block, b);        // every MiB differs
            f.Write(block);
            for (int k = 0; k < block.Length; k += 8, i++)
            {
                ulong w = BinaryPrimitives.ReadUInt64LittleEndian(block.AsSpan(k));
                h += ulong.RotateLeft(w, (int)(i & 63));
            }
        }
        return h;
    }

    /// <summary>A tree of 2.25 GiB (256 MiB of data, a 2 GiB sparse file: the disk use stays
    /// bounded) runs with 128 MiB of guest memory, which could not hold it in memory; the data
    /// file's checksum matches the host's. A --volume is mounted beside the root disk.</summary>
    [Fact]
    public void ATreeFarLargerThanGuestMemoryBootsFromTheRootDisk()
    {
        var dir = Repo.TempDir();
        try
        {
            var tree = Path.Combine(dir, "tree");
            Directory.CreateDirectory(Path.Combine(tree, "data"));
            ulong sum = WriteData(Path.Combine(tree, "data", "big"), 256);
            using (var sparse = File.Create(Path.Combine(tree, "data", "sparse"))) sparse.SetLength(2048 * MiB);
            var exe = Programs.Compile("rdcheck", RdCheckC);
            var img = Path.Combine(dir, "big.img");
            var b = Ukpack.Run(["build", exe, "--fs", tree, "--root-disk", "-o", img]);
            b.Code.Should().Be(0, b.ToString());
            // The sparse file stays sparse in the image: its disk use is the data's, not the tree's.
            new FileInfo(img).Length.Should().BeGreaterThan(2304 * MiB);
            var du = Host.Run("/usr/bin/du", ["-k", img]);
            long.Parse(du.OutText.Split('\t')[0]).Should().BeLessThan(400 * 1024, du.ToString());

            var r = Ukpack.Boot(img, null, "--mem", "128M", "--", "sum", "/data/big");
            r.Code.Should().Be(0, r.ToString());
            r.OutText.Should().Be($"/data/big: {256 * MiB} bytes (st_size {256 * MiB}), sum {sum:x16}\n", r.ToString());
            Console.Error.WriteLine($"rootdisk big: {r.ErrText.Trim()} ({r.Elapsed.TotalSeconds:F1} s)");
            r = Ukpack.Boot(img, null, "--mem", "128M", "--", "stat", "/data/sparse");
            r.OutText.Should().Be($"/data/sparse: {2048 * MiB} bytes, 0 blocks\n", r.ToString());

            // A volume beside it: mounted, written, clean.
            var vol = Volume("64M");
            r = Ukpack.Boot(img, null, "--mem", "128M", "--volume", vol + ":/vol", "--", "write", "/vol");
            r.Code.Should().Be(0, r.ToString());
            r.OutText.Should().Be("wrote /vol/written\n");
            Fsck(vol);
            Host.Run(Sbin("debugfs"), ["-R", "cat /written", vol]).OutText.Should().Be("from the guest\n");
            r = Ukpack.Boot(img, null, "--volume", vol + ":/vol:ro", "--", "mounts");
            r.OutText.Should().StartWith("/dev/vdb / ext4 rw,noatime 0 0\ntmpfs /tmp tmpfs", r.ToString());
            r.OutText.Should().Contain("/dev/vda /vol ext4 ro,noatime 0 0\n", r.ToString());
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch { }       // 0.5 GiB of disk: not until the end of the run
        }
    }

    const string Script = """
        cd /w
        for f in a b hard dir/x secret; do stat -c '%n %A %u %g %h %s %Y' $f; done
        stat -c '%n %A %u %g %Y' dir link .
        stat -c '%n %A %u %g' /
        readlink link
        cat a hard dir/x
        ls /w
        id -u
        echo written > /w/new; cat /w/new
        echo changed >> /w/a; cat /w/a
        rm /w/b; ls /w
        mkdir /w/newdir && ls -d /w/newdir
        ln -s a /w/l2 && readlink /w/l2
        ls /tmp /proc/self/fd >/dev/null && echo mounts ok
        """;

    /// <summary>A tarball tree: owners, modes, a hard link, symbolic links, a directory.</summary>
    static string Tarball(string dir)
    {
        var busybox = Repo.Which("busybox") ?? "/bin/busybox";
        File.Exists(busybox).Should().BeTrue("busybox-static is installed (.ci/run)");
        var tar = Path.Combine(dir, "tree.tar");
        var t0 = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        using (var fs = File.Create(tar))
        using (var w = new TarWriter(fs, TarEntryFormat.Gnu))
        {
            void Add(TarEntryType type, string name, int mode, int uid, int gid, string? data = null, string? link = null)
            {
                var e = new GnuTarEntry(type, name) { Mode = (UnixFileMode)mode, Uid = uid, Gid = gid, ModificationTime = t0 };
                if (link != null) e.LinkName = link;
                if (data != null) e.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(data));
                w.WriteEntry(e);
            }
            Add(TarEntryType.Directory, "bin/", 0x1ed, 0, 0);
            var bb = new GnuTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0x1ed, ModificationTime = t0, DataStream = File.OpenRead(busybox) };
            w.WriteEntry(bb);
            bb.DataStream.Dispose();
            Add(TarEntryType.SymbolicLink, "bin/sh", 0x1ff, 0, 0, link: "busybox");
            Add(TarEntryType.Directory, "w/", 0x1fd, 1000, 1000);
            Add(TarEntryType.RegularFile, "w/a", 0x1a4, 1234, 5678, "file a\n");
            Add(TarEntryType.HardLink, "w/hard", 0x1a4, 1234, 5678, link: "w/a");
            Add(TarEntryType.RegularFile, "w/b", 0x1e4, 42, 43, "file b\n");
            Add(TarEntryType.RegularFile, "w/secret", 0x180, 7, 8, "s\n");
            Add(TarEntryType.SymbolicLink, "w/link", 0x1ff, 1234, 5678, link: "dir/x");
            Add(TarEntryType.Directory, "w/dir/", 0x1e8, 99, 100);
            Add(TarEntryType.RegularFile, "w/dir/x", 0x124, 0, 0, "x in dir\n");
            Add(TarEntryType.RegularFile, "script.sh", 0x1a4, 0, 0, Script);
        }
        return tar;
    }

    /// <summary>The same busybox script over the same tarball tree prints the same with the
    /// root filesystem in memory and on the root disk; the run's writes do not reach the
    /// image, so a second run starts from the image again.</summary>
    [Fact]
    public void TheSameScriptGivesTheSameOutputWithAndWithoutTheRootDisk()
    {
        var dir = Repo.TempDir();
        var tar = Tarball(dir);
        var mem = Path.Combine(dir, "mem.img");
        var disk = Path.Combine(dir, "disk.img");
        Ukpack.Run(["build", "/bin/busybox", "--fs", tar, "-o", mem, "--", "sh", "/script.sh"]).Code.Should().Be(0);
        var b = Ukpack.Run(["build", "/bin/busybox", "--fs", tar, "--root-disk", "-o", disk, "--", "sh", "/script.sh"]);
        b.Code.Should().Be(0, b.ToString());
        var before = SHA256.HashData(File.ReadAllBytes(disk));
        var rm = Ukpack.Boot(mem);
        rm.Code.Should().Be(0, rm.ToString());
        rm.OutText.Should().Contain("hard -rw-r--r-- 1234 5678 2 7 1714979289\n", rm.ToString());
        rm.OutText.Should().Contain("mounts ok\n", rm.ToString());
        var rd = Ukpack.Boot(disk);
        rd.Code.Should().Be(0, rd.ToString());
        rd.OutText.Should().Be(rm.OutText);
        rd.ErrText.Should().Be(rm.ErrText);
        SHA256.HashData(File.ReadAllBytes(disk)).Should().Equal(before, "a run's writes go to QEMU's snapshot, not to the image");
        var again = Ukpack.Boot(disk);
        again.OutText.Should().Be(rm.OutText, "the second run starts from the image, not from the first run's writes");
        // The filesystem in the image is clean for e2fsck.
        var off = Offset(disk);
        var fsck = Host.Run(Sbin("e2fsck"), ["-fn", $"{disk}?offset={off}"]);
        fsck.Code.Should().Be(0, fsck.ToString());
    }

    /// <summary>A dynamic glibc program (ld.so and libc read from the root disk) prints the
    /// same sums of its own files with and without --root-disk.</summary>
    [Fact]
    public void ADynamicGlibcProgramRunsFromTheRootDisk()
    {
        var dir = Repo.TempDir();
        var gcc = Repo.Which("gcc") ?? throw new InvalidOperationException("gcc is needed");
        File.WriteAllText(Path.Combine(dir, "rd.c"), RdCheckC);
        var exe = Path.Combine(dir, "rddyn");
        Host.Run(gcc, ["-O1", "-o", exe, Path.Combine(dir, "rd.c")]).Code.Should().Be(0);
        var mem = Path.Combine(dir, "mem.img");
        var disk = Path.Combine(dir, "disk.img");
        string[] args = ["--", "sum", "/app/rddyn", "/etc/passwd", "/lib64/ld-linux-x86-64.so.2"];
        Ukpack.Run(["build", exe, "-o", mem, .. args]).Code.Should().Be(0);
        Ukpack.Run(["build", exe, "--root-disk", "-o", disk, .. args]).Code.Should().Be(0);
        var rm = Ukpack.Boot(mem);
        rm.Code.Should().Be(0, rm.ToString());
        rm.OutText.Should().Contain("/lib64/ld-linux-x86-64.so.2: ", rm.ToString());
        var rd = Ukpack.Boot(disk);
        rd.Code.Should().Be(0, rd.ToString());
        rd.OutText.Should().Be(rm.OutText);
    }

    /// <summary>faultrace FILE: faults on pages of FILE through private writable, private
    /// read-only and shared mappings while another thread keeps adding mappings below them.</summary>
    const string FaultRaceC = """
        /* faultrace FILE: faults on pages of FILE (on the root disk, never read before) through
           private writable, private read-only and shared mappings, while another thread keeps
           adding mappings below them (each one shifts the process's list of mappings). A fault
           that waited for the disk must map the page with its own mapping's protection. */
        #include <fcntl.h>
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/mman.h>
        #include <sys/stat.h>
        #include <unistd.h>

        enum { Stride = 32 * 4096, Keep = 4000 };
        static volatile int stop;
        static void *maps[Keep];

        static void *mapper(void *arg)
        {
            (void)arg;
            long n = 0;
            while (!stop) {
                int k = n % Keep;
                if (maps[k]) munmap(maps[k], 4096);
                /* Alternate protections so that neighbours never merge into one mapping. */
                maps[k] = mmap(NULL, 4096, (n & 1) ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (maps[k] == MAP_FAILED) { perror("mmap"); exit(1); }
                n++;
            }
            return NULL;
        }

        int main(int argc, char **argv)
        {
            int fd = open(argv[1], O_RDWR);
            if (fd < 0) { perror(argv[1]); return 1; }
            struct stat st;
            fstat(fd, &st);
            long third = st.st_size / 3 / Stride * Stride;
            unsigned char *w = mmap(NULL, third, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
            unsigned char *r = mmap(NULL, third, PROT_READ, MAP_PRIVATE, fd, third);
            unsigned char *s = mmap(NULL, third, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * third);
            if (w == MAP_FAILED || r == MAP_FAILED || s == MAP_FAILED) { perror("mmap file"); return 1; }
            pthread_t t;
            pthread_create(&t, NULL, mapper, NULL);
            unsigned long sum = 0;
            long pages = 0;
            for (long off = 0; off < third; off += Stride, pages++) {
                unsigned char b;
                if (pread(fd, &b, 1, off) != 1) { perror("pread"); return 1; }
                w[off] = b + 1;                      /* a private copy, written */
                if (w[off] != (unsigned char)(b + 1)) { printf("private copy wrong at %ld\n", off); return 1; }
                sum += r[off];                       /* the file's page, read */
                s[off + 1] = s[off];                 /* the file's page, shared and written */
            }
            stop = 1;
            pthread_join(t, NULL);
            printf("%ld pages of each mapping faulted in (sum %lu)\n", pages, sum);
            return 0;
        }
        """;

    /// <summary>A page fault that waits for the root disk maps the page with its own
    /// mapping's protection even when another thread changed the process's mappings
    /// meanwhile. Before the fix the fault kept a reference into the list of mappings, which
    /// the other thread's mmap shifted: the page got a neighbour's protection (read-only or
    /// none), and the access faulted again as SIGSEGV. CPython's regression tests showed it as
    /// a thread's first call into a libc page crashing on a non-executable page.</summary>
    [Fact]
    public void AFaultThatWaitsForTheDiskKeepsItsMappingsProtection()
    {
        var dir = Repo.TempDir();
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        WriteData(Path.Combine(tree, "data"), 12);
        var img = Path.Combine(dir, "faultrace.img");
        var b = Ukpack.Run(["build", Programs.Compile("faultrace", FaultRaceC), "--fs", tree, "--root-disk", "-o", img, "--", "/data"]);
        b.Code.Should().Be(0, b.ToString());
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().StartWith("32 pages of each mapping faulted in", r.ToString());
    }

    /// <summary>The ext4's offset in a root-disk image, from its trailer.</summary>
    static long Offset(string img)
    {
        using var f = File.OpenRead(img);
        var t = new byte[32];
        f.Seek(-32, SeekOrigin.End);
        f.ReadExactly(t);
        System.Text.Encoding.ASCII.GetString(t, 0, 8).Should().Be("UKROOTD1");
        return BinaryPrimitives.ReadInt64LittleEndian(t.AsSpan(16));
    }

    static readonly Lazy<string> _small = new(() =>
    {
        var dir = Repo.TempDir();
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "f"), "f\n");
        var img = Path.Combine(dir, "small.img");
        var r = Ukpack.Run(["build", Programs.Compile("rdcheck", RdCheckC), "--fs", tree, "--root-disk", "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    static string Copy(string img, string name)
    {
        var c = Path.Combine(Repo.TempDir(), name);
        File.Copy(img, c);
        return c;
    }

    static void Poke(string img, long at, byte[] bytes)
    {
        using var f = new FileStream(img, FileMode.Open, FileAccess.Write);
        f.Seek(at, SeekOrigin.Begin);
        f.Write(bytes);
    }

    [Fact]
    public void WithoutMke2fsTheBuildSaysSo()
    {
        var r = Host.Run("/usr/bin/env", ["UKPACK_MKE2FS=/nonexistent/mke2fs", Repo.Ukpack, "build", Programs.Compile("rdcheck", RdCheckC),
            "--root-disk", "-o", Path.Combine(Repo.TempDir(), "x.img")]);
        r.Code.Should().NotBe(0, r.ToString());
        r.ErrText.Should().Contain("--root-disk needs mke2fs", r.ToString());
        r.ErrText.Should().NotContain("   at ", r.ToString());
    }

    [Fact]
    public void ATreeThatDoesNotFitIsAnError()
    {
        var dir = Repo.TempDir();
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(tree);
        WriteData(Path.Combine(tree, "big"), 24);
        var img = Path.Combine(dir, "x.img");
        var r = Ukpack.Run(["build", Programs.Compile("rdcheck", RdCheckC), "--fs", tree, "--root-disk-size", "16M", "-o", img]);
        r.Code.Should().NotBe(0, r.ToString());
        r.ErrText.Should().Contain("does not fit in a root disk of 16777216 bytes", r.ToString());
        File.Exists(img).Should().BeFalse();
        Directory.GetFileSystemEntries(dir).Should().BeEquivalentTo([tree], "no temporary file or staging tree is left");
    }

    [Fact]
    public void ATruncatedImageIsAnError()
    {
        var img = Copy(_small.Value, "trunc.img");
        using (var f = new FileStream(img, FileMode.Open)) f.SetLength(f.Length - MiB);
        var r = Ukpack.Boot(img);
        Ukpack.OneErrorLine(r, "a truncated root-disk image");
        r.ErrText.Should().Contain("truncated image", r.ToString());
        Ukpack.Run(["inspect", img]).Code.Should().NotBe(0);
    }

    [Fact]
    public void ACorruptRootDiskIsAnErrorNotAPanic()
    {
        long off = Offset(_small.Value);
        // No ext4 superblock: found before QEMU starts.
        var img = Copy(_small.Value, "nosb.img");
        Poke(img, off + 1024 + 56, [0, 0]);
        var r = Ukpack.Boot(img);
        Ukpack.OneErrorLine(r, "an image without its ext4 superblock");
        r.ErrText.Should().Contain("no ext4 filesystem in its root disk part");
        // Group descriptors that fail their checksums: the kernel refuses the mount.
        img = Copy(_small.Value, "badgd.img");
        Poke(img, off + 4096, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        r = Ukpack.Boot(img);
        r.Code.Should().Be(127, r.ToString());
        r.ErrText.Should().Contain("the root disk could not be mounted", r.ToString());
        r.ErrText.Should().NotContain("panic", r.ToString());
    }

    /// <summary>The head booted alone (no root disk attached, no rootdisk=): the kernel says
    /// so and exits with 127, no panic.</summary>
    [Fact]
    public void TheHeadWithoutItsDiskIsRefusedByTheKernel()
    {
        long off = Offset(_small.Value);
        var head = Path.Combine(Repo.TempDir(), "head.img");
        using (var src = File.OpenRead(_small.Value))
        using (var dst = File.Create(head))
        {
            var b = new byte[off];
            src.ReadExactly(b);
            dst.Write(b);
        }
        var r = Qemu.Boot("microvm", "log=1", head);
        r.ShouldNotPanic();
        r.Log.Should().Contain("this image keeps its root filesystem on a disk, and none was attached", r.ToString());
        r.Log.Should().Contain("@@UKEXIT 127", r.ToString());
    }

    [Fact]
    public void InspectDescribesTheRootDiskAndExportRefusesIt()
    {
        var r = Ukpack.Run(["inspect", _small.Value]);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().MatchRegex(@"rootdisk: ext4, \d+ bytes at 0x[0-9a-f]+, UUID [0-9a-f-]{36}");
        var e = Ukpack.Run(["export", _small.Value, "-f", "raw", "-o", Path.Combine(Repo.TempDir(), "x.raw")]);
        Ukpack.OneErrorLine(e, "export of a root-disk image");
        e.ErrText.Should().Contain("--root-disk");
    }
}
