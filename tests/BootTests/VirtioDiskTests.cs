using System.Security.Cryptography;
using System.Text;

namespace BootTests;

/// <summary>
/// `ukpack run --disk FILE[:ro]`: programs see /dev/vda, /dev/vdb... as Linux block devices
/// (S_IFBLK, rdev 254:16N, BLKGETSIZE64, read/pread/pwrite/lseek/fsync), reads match the
/// host file byte for byte, and fsync'd writes are in the host file after the run.
/// </summary>
public class VirtioDiskTests
{
    /// <summary>blkdev info|sha|write|ro DEV: exercises one block device; prints what it saw.</summary>
    public const string BlockDevC = """
        #include <errno.h>
        #include <fcntl.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/ioctl.h>
        #include <sys/random.h>
        #include <sys/stat.h>
        #include <sys/sysmacros.h>
        #include <unistd.h>
        #define BLKROGET _IO(0x12, 94)
        #define BLKGETSIZE _IO(0x12, 96)
        #define BLKSSZGET _IO(0x12, 104)
        #define BLKGETSIZE64 _IOR(0x12, 114, size_t)

        #include "sha256.h"     /* compat-suite/src: the suite's own SHA-256 */

        static char buf[1 << 20];
        int main(int argc, char **argv) {
            const char *mode = argv[1], *dev = argv[2];
            if (!strcmp(mode, "info")) {
                struct stat st;
                if (stat(dev, &st)) { printf("stat: %s\n", strerror(errno)); return 1; }
                printf("blk=%d rdev=%u:%u size=%lld\n", S_ISBLK(st.st_mode), major(st.st_rdev), minor(st.st_rdev), (long long)st.st_size);
                int fd = open(dev, O_RDONLY);
                uint64_t size = 0; unsigned long sectors = 0; int ssz = 0, ro = -1;
                ioctl(fd, BLKGETSIZE64, &size); ioctl(fd, BLKGETSIZE, &sectors); ioctl(fd, BLKSSZGET, &ssz); ioctl(fd, BLKROGET, &ro);
                printf("size64=%llu sectors=%lu ssz=%d ro=%d end=%lld\n", (unsigned long long)size, sectors, ssz, ro, (long long)lseek(fd, 0, SEEK_END));
                errno = 0; long r = lseek(fd, (long)size + 1, SEEK_SET);
                printf("seek past end: %ld %s\n", r, strerror(errno));
                errno = 0; r = read(fd, buf, 10);
                printf("read at end: %ld\n", r);
                errno = 0; r = ioctl(fd, 0x5401, buf);
                printf("tcgets: %ld %s\n", r, strerror(errno));
                return 0;
            }
            if (!strcmp(mode, "sha")) {
                int fd = open(dev, O_RDONLY);
                if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
                sha256_ctx s; sha256_init(&s);
                long n, total = 0, step = 7001;        /* odd sizes: reads across sector and slot edges */
                while ((n = read(fd, buf, step)) > 0) { sha256_update(&s, (const unsigned char *)buf, n); total += n; step = step == 7001 ? 65536 : step == 65536 ? 513 : 7001; }
                char hex[65]; sha256_final(&s, hex);
                printf("%s %ld\n", hex, total);
                /* pread at an unaligned offset agrees with the host file too */
                n = pread(fd, buf, 100, 1234567 % total);
                sha256_init(&s); sha256_update(&s, (const unsigned char *)buf, n); sha256_final(&s, hex);
                printf("pread %ld %s\n", n, hex);
                return 0;
            }
            if (!strcmp(mode, "write")) {
                int fd = open(dev, O_RDWR);
                if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
                const char *msg = "written by the guest, across a sector edge";
                if (pwrite(fd, msg, strlen(msg), 500) != (long)strlen(msg)) { printf("pwrite: %s\n", strerror(errno)); return 1; }
                for (int i = 0; i < 100000; i++) buf[i] = (char)(i * 7 + 3);
                lseek(fd, 4096 * 3 + 17, SEEK_SET);
                if (write(fd, buf, 100000) != 100000) { printf("write: %s\n", strerror(errno)); return 1; }
                if (fsync(fd)) { printf("fsync: %s\n", strerror(errno)); return 1; }
                uint64_t size; ioctl(fd, BLKGETSIZE64, &size);
                errno = 0; long r = pwrite(fd, "x", 1, size);
                printf("write at end: %ld %s\n", r, strerror(errno));
                r = pwrite(fd, "tail", 8, size - 4);
                printf("write over end: %ld\n", r);
                fsync(fd);
                char back[64] = {0};
                pread(fd, back, strlen(msg), 500);
                printf("read back: %s\n", back);
                return 0;
            }
            if (!strcmp(mode, "random")) {
                /* getrandom and /dev/urandom keep working, and look random, with virtio-rng mixed in */
                static unsigned char r[65536]; int seen[256] = {0}, distinct = 0;
                for (int i = 0; i < 16; i++) if (getentropy(r + 4096 * i, 256) || getentropy(r + 4096 * i + 256, 256)) return 1;
                int fd = open("/dev/urandom", O_RDONLY);
                if (read(fd, r + 512, 60000) != 60000) return 1;
                for (int i = 0; i < 65536; i++) if (!seen[r[i]]++) distinct++;
                printf("distinct byte values: %s\n", distinct == 256 ? "all" : "few");
                return 0;
            }
            if (!strcmp(mode, "ro")) {
                int fd = open(dev, O_RDWR);
                errno = 0; long r = fd < 0 ? -1 : write(fd, "x", 1);
                printf("ro write: %ld %s\n", r, strerror(errno));
                return 0;
            }
            return 2;
        }
        """;

    static readonly Lazy<string> _image = new(() =>
    {
        var exe = Programs.Compile("blkdev", BlockDevC, "-I", Path.Combine(Repo.Root, "compat-suite/src"));
        var dir = Repo.TempDir();
        var img = Path.Combine(dir, "blkdev.img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    static string RandomDisk(int bytes)
    {
        var p = Path.Combine(Repo.TempDir(), "disk.img");
        var data = new byte[bytes];
        new Random(bytes).NextBytes(data);
        File.WriteAllBytes(p, data);
        return p;
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void DevVdaReadsMatchTheHostFile(string machine)
    {
        var disk = RandomDisk(3 << 20);
        var r = Ukpack.Boot(_image.Value, null, "-M", machine, "--disk", disk + ":ro", "--", "sha", "/dev/vda");
        r.Code.Should().Be(0, r.ToString());
        var bytes = File.ReadAllBytes(disk);
        var lines = r.OutText.Split('\n');
        lines[0].Should().Be(Convert.ToHexStringLower(SHA256.HashData(bytes)) + " " + bytes.Length, r.ToString());
        long off = 1234567 % bytes.Length;
        lines[1].Should().Be("pread 100 " + Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan((int)off, 100))), r.ToString());
    }

    [Fact]
    public void BlockDevicesLookLikeLinuxs()
    {
        var a = RandomDisk(1 << 20);
        var b = RandomDisk(5 << 20);
        var r = Ukpack.Boot(_image.Value, null, "--disk", a, "--disk", b + ":ro", "--", "info", "/dev/vdb");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(
            "blk=1 rdev=254:16 size=0\n" +
            "size64=5242880 sectors=10240 ssz=512 ro=1 end=5242880\n" +
            "seek past end: -1 Invalid argument\n" +
            "read at end: 0\n" +
            "tcgets: -1 Not a tty\n", r.ToString());
        r = Ukpack.Boot(_image.Value, null, "--disk", b + ":ro", "--", "ro", "/dev/vda");
        r.OutText.Should().Be("ro write: -1 Operation not permitted\n", r.ToString());
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("pc")]
    public void FsyncedWritesAreInTheHostFile(string machine)
    {
        var disk = RandomDisk(1 << 20);
        var before = File.ReadAllBytes(disk);
        var r = Ukpack.Boot(_image.Value, null, "-M", machine, "--disk", disk, "--", "write", "/dev/vda");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("write at end: -1 No space left on device\nwrite over end: 4\nread back: written by the guest, across a sector edge\n", r.ToString());
        var after = File.ReadAllBytes(disk);
        var expected = (byte[])before.Clone();
        Encoding.ASCII.GetBytes("written by the guest, across a sector edge").CopyTo(expected, 500);
        for (int i = 0; i < 100000; i++) expected[4096 * 3 + 17 + i] = (byte)(i * 7 + 3);
        "tail"u8.CopyTo(expected.AsSpan(expected.Length - 4));
        after.Should().Equal(expected);
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void VirtioRngFeedsTheRandomSource(string machine)
    {
        var r = Ukpack.Boot(_image.Value, null, "-M", machine, "--rng", "-v", "--", "random", "-");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be("distinct byte values: all\n", r.ToString());
        r.ErrText.Should().Contain("virtio-rng: first entropy bytes: 64", r.ToString());
    }

    [Fact]
    public void BadDiskOptionsGetOneErrorLine()
    {
        Ukpack.OneErrorLine(Ukpack.Run(["run", _image.Value, "--disk", "/nonexistent/disk.img"]), "a missing disk file");
        Ukpack.OneErrorLine(Ukpack.Run(["run", _image.Value, "--disk", Repo.TempDir()]), "a directory as a disk");
    }
}
