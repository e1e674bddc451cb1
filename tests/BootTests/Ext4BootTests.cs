using System.Security.Cryptography;
using System.Text;

namespace BootTests;

/// <summary>
/// ext4 volumes (`ukpack volume create`, `ukpack run --volume FILE:/path`): a program's
/// create/write/rename/unlink storm leaves a volume e2fsck -fn finds clean and debugfs reads
/// byte-exact; a tree put in with --from reads byte-exact in the guest; data written in one
/// boot is there in the next; a sparse file over 4 GiB; busybox tar -x onto a volume.
/// </summary>
public class Ext4BootTests
{
    /// <summary>ext4t storm|tree|persist|statfs DIR [...].</summary>
    public const string Ext4C = """
        #define _GNU_SOURCE
        #include <dirent.h>
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <sys/statfs.h>
        #include <unistd.h>
        #include "sha256.h"

        static unsigned char buf[1 << 16];
        static void gen(int i, unsigned char *b, long n) { for (long k = 0; k < n; k++) b[k] = (unsigned char)(i * 31 + k * 7 + (k >> 8)); }
        static long size_of(int i) { return (i * 997L) % 20000 + i; }
        #define CHECK(x) do { if ((x) < 0) { printf("%s: %s (line %d)\n", #x, strerror(errno), __LINE__); return 1; } } while (0)

        static int storm(const char *root) {
            char p[512], q[512];
            CHECK(chdir(root));
            CHECK(mkdir("a", 0755)); CHECK(mkdir("b", 0750)); CHECK(mkdir("a/sub", 0700));
            for (int i = 0; i < 300; i++) {
                snprintf(p, sizeof p, "a/f%03d", i);
                int fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0644); CHECK(fd);
                long n = size_of(i), off = 0;
                while (off < n) { long k = n - off < 3000 ? n - off : 3000; gen(i, buf, n); CHECK(write(fd, buf + off, k)); off += k; }
                if (i % 50 == 0) CHECK(fsync(fd));
                close(fd);
            }
            for (int i = 0; i < 300; i += 3) { snprintf(p, sizeof p, "a/f%03d", i); snprintf(q, sizeof q, "b/r%03d", i); CHECK(rename(p, q)); }
            for (int i = 1; i < 300; i++) if (i % 5 == 0 && i % 3 != 0) { snprintf(p, sizeof p, "a/f%03d", i); CHECK(unlink(p)); }
            CHECK(link("b/r000", "a/hl"));
            CHECK(symlink("f001", "a/sl"));
            memset(p, 'x', 200); p[200] = 0; CHECK(symlink(p, "a/slow"));
            CHECK(truncate("a/f001", 10));
            CHECK(rename("a/sub", "b/sub2"));
            CHECK(mkdir("a/gone", 0755)); CHECK(rmdir("a/gone"));
            int fd = open("a/x1", O_CREAT | O_WRONLY, 0600); CHECK(write(fd, "one", 3)); close(fd);
            fd = open("a/x2", O_CREAT | O_WRONLY, 0600); CHECK(write(fd, "two", 3)); close(fd);
            CHECK(rename("a/x1", "a/x2"));
            /* unlinked while open: still readable, freed at close */
            fd = open("a/tmp", O_CREAT | O_RDWR, 0600); CHECK(fd); CHECK(unlink("a/tmp"));
            CHECK(pwrite(fd, "orphan", 6, 0)); memset(buf, 0, 8); CHECK(pread(fd, buf, 6, 0)); close(fd);
            printf("orphan read: %s\n", buf);
            /* a sparse file over 4 GiB */
            fd = open("big", O_CREAT | O_RDWR, 0644); CHECK(fd);
            CHECK(pwrite(fd, "tail", 4, 5LL << 30));
            struct stat st; CHECK(fstat(fd, &st));
            printf("big: size=%lld blocks=%lld data@%lld\n", (long long)st.st_size, (long long)st.st_blocks, (long long)lseek(fd, 0, SEEK_DATA));
            memset(buf, 1, 4); CHECK(pread(fd, buf, 4, (5LL << 30) - 2)); printf("big read: %d %d %c %c\n", buf[0], buf[1], buf[2], buf[3]);
            CHECK(fsync(fd)); close(fd);
            fd = open("fa", O_CREAT | O_RDWR, 0644); CHECK(fd);
            CHECK(fallocate(fd, 0, 0, 1 << 20)); CHECK(fstat(fd, &st));
            printf("fallocate: size=%lld blocks>=2048:%d\n", (long long)st.st_size, st.st_blocks >= 2048);
            CHECK(pread(fd, buf, 16, 4096)); printf("fallocated reads zero: %d\n", buf[0] == 0 && buf[15] == 0);
            close(fd);
            CHECK(stat("a/hl", &st)); printf("hard link nlink=%ld\n", (long)st.st_nlink);
            CHECK(stat("b", &st)); printf("b nlink=%ld mode=%o\n", (long)st.st_nlink, st.st_mode & 07777);
            CHECK(readlink("a/sl", p, sizeof p)); printf("readlink: %.4s\n", p);
            int rc = rmdir("a"); printf("rmdir nonempty: %d %s\n", rc, strerror(errno));
            rc = mkdir("b", 0755); printf("mkdir existing: %d %s\n", rc, strerror(errno));
            rc = link("b", "a/bb"); printf("link dir: %d %s\n", rc, strerror(errno));
            int na = 0, nb = 0; struct dirent *e; DIR *d = opendir("a"); while ((e = readdir(d))) na++; closedir(d);
            d = opendir("b"); while ((e = readdir(d))) nb++; closedir(d);
            printf("entries: a=%d b=%d\n", na, nb);
            struct statfs sf; CHECK(statfs(".", &sf));
            printf("statfs: type=%lx free<total:%d\n", (long)sf.f_type, sf.f_bfree < sf.f_blocks);
            sync();
            return 0;
        }

        static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
        /* every regular file under DIR, sorted: "path size sha256" */
        static void tree(const char *dir, const char *rel) {
            char *names[4096]; int n = 0; DIR *d = opendir(dir); struct dirent *e;
            while ((e = readdir(d)) && n < 4096) if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "lost+found")) names[n++] = strdup(e->d_name);
            closedir(d);
            qsort(names, n, sizeof *names, cmp);
            for (int i = 0; i < n; i++) {
                char p[1024], r[1024]; snprintf(p, sizeof p, "%s/%s", dir, names[i]); snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
                struct stat st; lstat(p, &st);
                if (S_ISDIR(st.st_mode)) { tree(p, r); continue; }
                if (S_ISLNK(st.st_mode)) { char t[1024]; long k = readlink(p, t, sizeof t); printf("%s -> %.*s\n", r, (int)k, t); continue; }
                int fd = open(p, O_RDONLY); sha256_ctx s; sha256_init(&s); long k, total = 0;
                while ((k = read(fd, buf, sizeof buf)) > 0) { sha256_update(&s, buf, k); total += k; }
                close(fd); char hex[65]; sha256_final(&s, hex);
                printf("%s %ld %s\n", r, total, hex);
            }
        }

        int main(int argc, char **argv) {
            if (argc < 3) return 2;
            if (!strcmp(argv[1], "storm")) return storm(argv[2]);
            if (!strcmp(argv[1], "tree")) { tree(argv[2], ""); return 0; }
            if (!strcmp(argv[1], "persist")) {
                char p[512]; snprintf(p, sizeof p, "%s/p.txt", argv[2]);
                int fd = open(p, O_RDWR | O_CREAT | O_APPEND | O_DSYNC, 0644); CHECK(fd);
                long n = read(fd, buf, sizeof buf - 1); buf[n > 0 ? n : 0] = 0;
                printf("before: [%s]\n", buf);
                CHECK(write(fd, argv[3], strlen(argv[3])));
                CHECK(fdatasync(fd)); close(fd);
                return 0;
            }
            if (!strcmp(argv[1], "mounts")) {
                int fd = open("/proc/self/mountinfo", O_RDONLY); long n = read(fd, buf, sizeof buf - 1); buf[n] = 0; printf("%s", buf);
                fd = open("/proc/mounts", O_RDONLY); n = read(fd, buf, sizeof buf - 1); buf[n] = 0; printf("%s", buf);
                struct statfs sf; CHECK(statfs(argv[2], &sf));
                printf("statfs: type=%lx bsize=%ld blocks=%ld files=%ld flags=%lx\n", (long)sf.f_type, (long)sf.f_bsize, (long)sf.f_blocks, (long)sf.f_files, (long)sf.f_flags);
                int rc = open("/ro/new", O_CREAT | O_WRONLY, 0644); printf("create: %d %s\n", rc, strerror(errno));
                return 0;
            }
            return 2;
        }
        """;

    static readonly Lazy<string> _image = new(() =>
    {
        var exe = Programs.Compile("ext4t", Ext4C, "-I", Path.Combine(Repo.Root, "compat-suite/src"));
        var img = Path.Combine(Repo.TempDir(), "ext4t.img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    /// <summary>A volume made by `ukpack volume create` (shared by the volume boot tests).</summary>
    internal static string Volume(string size = "1G", string? from = null)
    {
        var vol = Path.Combine(Repo.TempDir(), "vol.img");
        var args = new List<string> { "volume", "create", vol, "--size", size };
        if (from != null) { args.Add("--from"); args.Add(from); }
        var r = Ukpack.Run([.. args]);
        r.Code.Should().Be(0, r.ToString());
        return vol;
    }

    /// <summary>e2fsprogs' tools live in /sbin, which a user's PATH may lack.</summary>
    internal static string Sbin(string tool) => Repo.Which(tool) ?? (File.Exists("/sbin/" + tool) ? "/sbin/" + tool : "/usr/sbin/" + tool);

    /// <summary>e2fsck -fn clean, and the unmount at power-off marked the volume clean.</summary>
    internal static void Fsck(string vol)
    {
        var r = Host.Run(Sbin("e2fsck"), ["-fn", vol]);
        r.Code.Should().Be(0, "e2fsck -fn must find the volume clean\n" + r);
        // ... and the unmount at power-off marked it clean.
        Host.Run(Sbin("dumpe2fs"), ["-h", vol]).OutText.Should().MatchRegex(@"Filesystem state:\s+clean\n");
    }

    static byte[] DebugfsCat(string vol, string path) => Host.Run(Sbin("debugfs"), ["-R", $"cat {path}", vol]).Out;

    static byte[] Gen(int i, long n)
    {
        var b = new byte[n];
        for (long k = 0; k < n; k++) b[k] = (byte)(i * 31 + k * 7 + (k >> 8));
        return b;
    }

    [Fact]
    public void AStormOfChangesLeavesAVolumeE2fsckFindsCleanAndDebugfsReads()
    {
        var vol = Volume();
        var r = Ukpack.Boot(_image.Value, null, "--volume", vol + ":/data", "--", "storm", "/data");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(
            "orphan read: orphan\n" +
            "big: size=5368709124 blocks=8 data@5368709120\n" +
            "big read: 0 0 t a\n" +
            "fallocate: size=1048576 blocks>=2048:1\n" +
            "fallocated reads zero: 1\n" +
            "hard link nlink=2\n" +
            "b nlink=3 mode=750\n" +
            "readlink: f001\n" +
            "rmdir nonempty: -1 Directory not empty\n" +
            "mkdir existing: -1 File exists\n" +
            "link dir: -1 Operation not permitted\n" +
            "entries: a=166 b=103\n" +
            "statfs: type=ef53 free<total:1\n", r.ToString());
        Fsck(vol);
        DebugfsCat(vol, "/b/r000").Should().Equal(Gen(0, 0));
        DebugfsCat(vol, "/b/r003").Should().Equal(Gen(3, 2994));
        DebugfsCat(vol, "/b/r297").Should().Equal(Gen(297, (297 * 997L) % 20000 + 297));
        DebugfsCat(vol, "/a/f001").Should().Equal(Gen(1, 998).Take(10));
        DebugfsCat(vol, "/a/f299").Should().Equal(Gen(299, (299 * 997L) % 20000 + 299));
        DebugfsCat(vol, "/a/x2").Should().Equal("one"u8.ToArray());
        Encoding.ASCII.GetString(Host.Run(Sbin("debugfs"), ["-R", "stat /big", vol]).Out).Should().Contain("Size: 5368709124");
        Encoding.ASCII.GetString(Host.Run(Sbin("debugfs"), ["-R", "ls -l /b/sub2", vol]).Out).Should().Contain("..");
    }

    [Fact]
    public void ATreeFromTheHostReadsByteExactAndDataOutlivesTheBoot()
    {
        var src = Repo.TempDir();
        var rng = new Random(5);
        var expect = new List<string>();
        Directory.CreateDirectory(Path.Combine(src, "d/e"));
        foreach (var (name, size) in new[] { ("d/e/empty", 0), ("d/one", 1), ("d/page", 4096), ("d/e/big", 3_000_001), ("small", 1234), ("z", 70000) })
        {
            var b = new byte[size]; rng.NextBytes(b);
            File.WriteAllBytes(Path.Combine(src, name), b);
        }
        File.CreateSymbolicLink(Path.Combine(src, "link"), "d/one");
        var lines = new List<string>();
        void Walk(string dir, string rel)
        {
            foreach (var e in Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal))
            {
                var p = Path.Combine(dir, e!); var r = rel.Length > 0 ? rel + "/" + e : e!;
                var fi = new FileInfo(p);
                if (fi.LinkTarget != null) { lines.Add($"{r} -> {fi.LinkTarget}"); continue; }
                if (Directory.Exists(p)) { Walk(p, r); continue; }
                var bytes = File.ReadAllBytes(p);
                lines.Add($"{r} {bytes.Length} {Convert.ToHexStringLower(SHA256.HashData(bytes))}");
            }
        }
        Walk(src, "");
        var vol = Volume("64M", src);
        var r = Ukpack.Boot(_image.Value, null, "--volume", vol + ":/srv/vol:ro", "--", "tree", "/srv/vol");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(string.Join("\n", lines) + "\n", r.ToString());
        // Written in one boot, read (and appended to) in the next.
        r = Ukpack.Boot(_image.Value, null, "--volume", vol + ":/v", "--", "persist", "/v", "first boot;");
        r.OutText.Should().Be("before: []\n", r.ToString());
        r = Ukpack.Boot(_image.Value, null, "--volume", vol + ":/v", "--", "persist", "/v", "second boot");
        r.OutText.Should().Be("before: [first boot;]\n", r.ToString());
        Fsck(vol);
        DebugfsCat(vol, "/p.txt").Should().Equal("first boot;second boot"u8.ToArray());
    }

    [Fact]
    public void MountsAreListedAndStatfsGivesTheVolumesFigures()
    {
        var a = Volume("64M");
        var b = Volume("32M");
        var r = Ukpack.Boot(_image.Value, null, "--volume", a + ":/data/one", "--volume", b + ":/ro:ro", "--", "mounts", "/data/one");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Contain("5 1 254:0 / /data/one rw,noatime - ext4 /dev/vda rw\n6 1 254:16 / /ro ro,noatime - ext4 /dev/vdb ro\n", r.ToString());
        r.OutText.Should().Contain("/dev/vda /data/one ext4 rw,noatime 0 0\n/dev/vdb /ro ext4 ro,noatime 0 0\n", r.ToString());
        r.OutText.Should().Contain("statfs: type=ef53 bsize=1024 blocks=65536 files=16384 flags=400\n", r.ToString());
        r.OutText.Should().Contain("create: -1 Read-only file system\n", r.ToString());
        Fsck(a);
    }

    [Fact]
    public void BusyboxTarExtractsHundredsOfFilesOntoAVolume()
    {
        var busybox = Repo.Which("busybox") ?? "/bin/busybox";
        File.Exists(busybox).Should().BeTrue("busybox-static is installed (.ci/run)");
        var tree = Repo.TempDir();
        var rng = new Random(9);
        for (int d = 0; d < 10; d++)
            for (int f = 0; f < 40; f++)
            {
                var dir = Path.Combine(tree, "t", $"dir{d}");
                Directory.CreateDirectory(dir);
                var b = new byte[rng.Next(0, 9000)]; rng.NextBytes(b);
                File.WriteAllBytes(Path.Combine(dir, $"file{f}"), b);
            }
        var src = Repo.TempDir();
        Directory.CreateDirectory(Path.Combine(src, "out"));
        Host.Run("tar", ["-cf", Path.Combine(src, "in.tar"), "-C", tree, "t"]).Code.Should().Be(0);
        var vol = Volume("64M", src);
        var img = Path.Combine(Repo.TempDir(), "bb.img");
        Ukpack.Run(["build", busybox, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Boot(img, null, "--volume", vol + ":/v", "--", "tar", "-xf", "/v/in.tar", "-C", "/v/out");
        r.Code.Should().Be(0, r.ToString());
        Fsck(vol);
        foreach (var (d, f) in new[] { (0, 0), (3, 17), (9, 39) })
            DebugfsCat(vol, $"/out/t/dir{d}/file{f}").Should().Equal(File.ReadAllBytes(Path.Combine(tree, "t", $"dir{d}", $"file{f}")));
        Encoding.ASCII.GetString(Host.Run(Sbin("debugfs"), ["-R", "ls /out/t/dir5", vol]).Out).Should().Contain("file39");
    }

    [Fact]
    public void AVolumeWithUnknownFeaturesIsRefusedByName()
    {
        var vol = Path.Combine(Repo.TempDir(), "encrypt.img");
        Host.Run(Sbin("mke2fs"), ["-q", "-F", "-t", "ext4", "-O", "encrypt", vol, "16M"]).Code.Should().Be(0);
        var r = Ukpack.Boot(_image.Value, null, "--volume", vol + ":/v", "--", "tree", "/v");
        r.Code.Should().NotBe(0, r.ToString());
        r.ErrText.Should().Contain("unsupported incompatible features: encrypt", r.ToString());
    }
}
