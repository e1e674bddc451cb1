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

        /* SHA-256 (FIPS 180-4), written out from the standard. */
        static const uint32_t K[64] = {
            0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
            0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
            0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
            0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
            0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
            0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
            0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
            0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2 };
        struct sha { uint32_t h[8]; uint8_t buf[64]; uint64_t len; };
        #define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
        static void block(struct sha *s, const uint8_t *p) {
            uint32_t w[64], a, b, c, d, e, f, g, h;
            for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4*i] << 24 | p[4*i+1] << 16 | p[4*i+2] << 8 | p[4*i+3];
            for (int i = 16; i < 64; i++) {
                uint32_t s0 = ROR(w[i-15], 7) ^ ROR(w[i-15], 18) ^ (w[i-15] >> 3);
                uint32_t s1 = ROR(w[i-2], 17) ^ ROR(w[i-2], 19) ^ (w[i-2] >> 10);
                w[i] = w[i-16] + s0 + w[i-7] + s1;
            }
            a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
            for (int i = 0; i < 64; i++) {
                uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
                uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
            }
            s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
        }
        static void sha_init(struct sha *s) {
            static const uint32_t iv[8] = { 0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19 };
            memcpy(s->h, iv, sizeof iv); s->len = 0;
        }
        static void sha_add(struct sha *s, const uint8_t *p, size_t n) {
            while (n--) { s->buf[s->len++ % 64] = *p++; if (s->len % 64 == 0) block(s, s->buf); }
        }
        static void sha_end(struct sha *s, char *hex) {
            uint64_t bits = s->len * 8;
            uint8_t pad = 0x80, z = 0, l[8];
            sha_add(s, &pad, 1);
            while (s->len % 64 != 56) sha_add(s, &z, 1);
            for (int i = 0; i < 8; i++) l[i] = bits >> (56 - 8 * i);
            sha_add(s, l, 8);
            for (int i = 0; i < 8; i++) sprintf(hex + 8 * i, "%08x", s->h[i]);
        }

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
                struct sha s; sha_init(&s);
                long n, total = 0, step = 7001;        /* odd sizes: reads across sector and slot edges */
                while ((n = read(fd, buf, step)) > 0) { sha_add(&s, (uint8_t *)buf, n); total += n; step = step == 7001 ? 65536 : step == 65536 ? 513 : 7001; }
                char hex[65]; sha_end(&s, hex);
                printf("%s %ld\n", hex, total);
                /* pread at an unaligned offset agrees with the host file too */
                n = pread(fd, buf, 100, 1234567 % total);
                sha_init(&s); sha_add(&s, (uint8_t *)buf, n); sha_end(&s, hex);
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
        var dir = Repo.TempDir();
        var src = Path.Combine(dir, "blkdev.c");
        File.WriteAllText(src, BlockDevC);
        var exe = Path.Combine(dir, "blkdev");
        string? built = null;
        foreach (var cc in new[] { "musl-gcc", "gcc" })
        {
            var path = Repo.Which(cc);
            if (path != null && Host.Run(path, ["-static", "-O1", "-o", exe, src]).Code == 0) { built = exe; break; }
        }
        built.Should().NotBeNull("a static blkdev builds (musl-gcc or gcc)");
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
