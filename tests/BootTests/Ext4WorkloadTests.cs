using System.Security.Cryptography;
using System.Text;

namespace BootTests;

using static Ext4BootTests;

/// <summary>
/// Real workloads on ext4 volumes, each followed by `e2fsck -fn` on the host: Debian's
/// sqlite3 (10,000 rows in 2,000 transactions, then integrity_check, and the host's sqlite3
/// reading the same database off the volume), Debian's git (init, add and commit of 300
/// files, gc; the host's git fscks the repository and finds the same tree), Debian's tar
/// extracting 3,000 files (45 MiB) from a read-only volume onto another (checksums compared
/// on the host),
/// and a seeded storm of creates, writes, renames, links and unlinks checked against a
/// model in the program and against the files debugfs reads back.
/// </summary>
public class Ext4WorkloadTests
{
    /// <summary>A run of minutes under TCG on a loaded machine: the kernel's own timeout and
    /// the host's wait are both generous (the tests wait for the exit, never for a time).</summary>
    static Host.Result Boot(string image, params string[] extra) =>
        Host.Run(Repo.Ukpack, ["run", image, "--timeout", "900", .. extra], null, TimeSpan.FromSeconds(960));

    static string Debugfs(string vol, string request)
    {
        var r = Host.Run(Sbin("debugfs"), ["-R", request, vol]);
        r.Code.Should().Be(0, r.ToString());
        return r.OutText;
    }

    /// <summary>debugfs rdump of DIR (a directory of the volume) into a fresh host directory.</summary>
    static string Rdump(string vol, string dir)
    {
        var to = Repo.TempDir();
        Debugfs(vol, $"rdump {dir} {to}");
        return Path.Combine(to, Path.GetFileName(dir));
    }

    /// <summary>"relative-path size sha256" of every regular file under DIR, sorted by path.</summary>
    static List<string> Manifest(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => (rel: Path.GetRelativePath(dir, f), bytes: File.ReadAllBytes(f)))
            .OrderBy(x => x.rel, StringComparer.Ordinal)
            .Select(x => $"{x.rel} {x.bytes.Length} {Convert.ToHexStringLower(SHA256.HashData(x.bytes))}")
            .ToList();

    static string Need(string path, string package)
    {
        File.Exists(path).Should().BeTrue($"{path} is needed (apt-get install {package}; tools/install-deps.sh)");
        return path;
    }

    /// <summary>The SQL: a table, then 10,000 INSERTs in 2,000 transactions of 5 (sqlite3's
    /// default rollback journal: each commit creates, writes and fsyncs -journal, writes and
    /// fsyncs the database and deletes the journal). 10,000 transactions of one INSERT took
    /// 110-450 s here under TCG on a loaded host, too long for `make test`; that case is
    /// bench/ext4.sh's sqlite3 row.</summary>
    static string InsertScript()
    {
        var sb = new StringBuilder("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL);\n");
        for (int i = 0; i < 10_000; i++)
        {
            if (i % 5 == 0) sb.Append("BEGIN;\n");
            sb.Append($"INSERT INTO t(v) VALUES('row {i} {i * 7919 % 10007:D5}');\n");
            if (i % 5 == 4) sb.Append("COMMIT;\n");
        }
        return sb.ToString();
    }

    const string Query = "PRAGMA integrity_check; SELECT count(*), sum(id), sum(length(v)), min(v), max(v) FROM t;";
    const string QueryResult = "ok\n10000|50005000|138890|row 0 00000|row 9999 06697\n";

    [Fact]
    public void Sqlite3CommitsTwoThousandTransactionsAndTheHostReadsTheDatabase()
    {
        var sqlite = Need("/usr/bin/sqlite3", "sqlite3");
        var seed = Repo.TempDir();
        File.WriteAllText(Path.Combine(seed, "ins.sql"), InsertScript());
        var vol = Volume("256M", seed);
        var img = Path.Combine(Repo.TempDir(), "sqlite3.img");
        var b = Ukpack.Run(["build", sqlite, "-o", img]);
        b.Code.Should().Be(0, b.ToString());
        var r = Boot(img, "--volume", vol + ":/v", "--", "/v/db.sqlite", ".read /v/ins.sql", Query);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(QueryResult, r.ToString());
        Fsck(vol);
        Debugfs(vol, "ls /").Should().NotContain("db.sqlite-journal", "the last transaction's journal was deleted");
        var db = Path.Combine(Repo.TempDir(), "host.db");
        Debugfs(vol, $"dump /db.sqlite {db}");
        var h = Host.Run(sqlite, [db, Query]);
        h.Code.Should().Be(0, h.ToString());
        h.OutText.Should().Be(QueryResult, h.ToString());
    }

    const string GitScript = """
        set -e
        cd /v/tree
        G="git -c user.name=Unikernel -c user.email=uk@example.com -c init.defaultBranch=main -c gc.auto=0 -c maintenance.auto=false"
        $G init -q --template= .
        $G add .
        $G commit -q -m "a tree of 300 files"
        $G gc -q
        $G count-objects -v | grep -E '^(count|packs):'
        echo "commits: $($G rev-list --count HEAD)"
        echo "tree: $($G rev-parse 'HEAD^{tree}')"
        echo "changes: $($G status --porcelain | wc -l)"
        """;

    [Fact]
    public void GitCommitsATreeThatTheHostsGitFindsWhole()
    {
        var git = Need("/usr/bin/git", "git");
        var seed = Repo.TempDir();
        for (int d = 0; d < 12; d++)
            for (int f = 0; f < 25; f++)
            {
                var dir = Path.Combine(seed, "tree", $"d{d}", f % 3 == 0 ? "sub" : "");
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, $"file{f}.txt"),
                    string.Concat(Enumerable.Range(0, (d * 25 + f) * 7 % 300).Select(k => $"line {k} of {d}/{f}\n")));
            }
        // The tree's hash as the host's git computes it from the same files.
        var hostRepo = Repo.TempDir();
        Host.Run("/bin/cp", ["-r", Path.Combine(seed, "tree"), hostRepo]).Code.Should().Be(0);
        var hostTree = Path.Combine(hostRepo, "tree");
        Host.Run(git, ["-C", hostTree, "init", "-q"]).Code.Should().Be(0);
        Host.Run(git, ["-C", hostTree, "add", "."]).Code.Should().Be(0);
        var wt = Host.Run(git, ["-C", hostTree, "write-tree"]);
        wt.Code.Should().Be(0, wt.ToString());
        var treeHash = wt.OutText.Trim();

        var root = Repo.TempDir();
        foreach (var d in new[] { "bin", "usr/bin", "tmp", "etc" }) Directory.CreateDirectory(Path.Combine(root, d));
        File.Copy(Need("/bin/busybox", "busybox-static"), Path.Combine(root, "bin/busybox"));
        foreach (var a in new[] { "sh", "wc", "grep" }) File.CreateSymbolicLink(Path.Combine(root, "bin", a), "busybox");
        File.Copy(git, Path.Combine(root, "usr/bin/git"));
        File.WriteAllText(Path.Combine(root, "git.sh"), GitScript);
        var img = Path.Combine(Repo.TempDir(), "git.img");
        var b = Ukpack.Run(["build", Path.Combine(root, "bin/busybox"), "--fs", root, "-o", img, "-e", "HOME=/tmp", "-e", "PATH=/usr/bin:/bin", "--", "sh", "/git.sh"]);
        b.Code.Should().Be(0, b.ToString());
        var vol = Volume("256M", seed);
        var r = Boot(img, "--volume", vol + ":/v");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be($"count: 0\npacks: 1\ncommits: 1\ntree: {treeHash}\nchanges: 0\n", r.ToString());
        Fsck(vol);

        var repo = Rdump(vol, "/tree");
        string[] safe = ["-c", "safe.directory=*", "-C", repo];
        var fsck = Host.Run(git, [.. safe, "fsck", "--full", "--strict", "--no-dangling"]);
        fsck.Code.Should().Be(0, fsck.ToString());
        fsck.ErrText.Should().BeEmpty(fsck.ToString());
        var log = Host.Run(git, [.. safe, "log", "--format=%an <%ae> %s %T"]);
        log.OutText.Should().Be($"Unikernel <uk@example.com> a tree of 300 files {treeHash}\n", log.ToString());
        Host.Run(git, [.. safe, "ls-files"]).OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(300);
        Host.Run(git, [.. safe, "status", "--porcelain"]).OutText.Should().BeEmpty("the work tree matches the commit");
    }

    [Fact]
    public void TarExtractsThousandsOfFilesFromOneVolumeOntoAnother()
    {
        var tar = Need("/bin/tar", "tar");
        var src = Repo.TempDir();
        var rng = new Random(3);
        var mtime = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).UtcDateTime;
        long total = 0;
        for (int d = 0; d < 40; d++)
            for (int s = 0; s < 3; s++)
            {
                var dir = Path.Combine(src, "big", $"d{d:D2}", $"s{s}");
                Directory.CreateDirectory(dir);
                for (int f = 0; f < 25; f++)
                {
                    int size = f != 0 ? new[] { 0, 100, 1000, 5000, 20000, 60000 }[rng.Next(6)] : (d + s) % 7 == 0 ? 400_000 : 3000;
                    var bytes = new byte[size]; rng.NextBytes(bytes); total += size;
                    var p = Path.Combine(dir, $"f{f:D2}.bin");
                    File.WriteAllBytes(p, bytes);
                    File.SetLastWriteTimeUtc(p, mtime);
                }
            }
        total.Should().BeGreaterThan(40L << 20);
        var seed = Repo.TempDir();
        Host.Run(tar, ["-cf", Path.Combine(seed, "big.tar"), "-C", src, "big"]).Code.Should().Be(0);
        var input = Volume("128M", seed);
        var output = Volume("256M");
        var img = Path.Combine(Repo.TempDir(), "tar.img");
        var b = Ukpack.Run(["build", tar, "-o", img]);
        b.Code.Should().Be(0, b.ToString());
        var r = Boot(img, "--volume", input + ":/in:ro", "--volume", output + ":/out", "--", "-xf", "/in/big.tar", "-C", "/out");
        r.Code.Should().Be(0, r.ToString());
        Fsck(output);
        Fsck(input);
        var got = Manifest(Rdump(output, "/big"));
        got.Should().HaveCount(3000);
        got.Should().Equal(Manifest(Path.Combine(src, "big")));
        // tar set each file's modification time from the archive.
        Debugfs(output, "stat /big/d39/s2/f24.bin").Should().Contain("mtime: 0x6553f100");
    }

    /// <summary>storm DIR SEED OPS.</summary>
    public const string StormC = """
        /* storm DIR SEED OPS: a seeded random storm of creates, writes at random offsets, appends,
         * truncates, renames (across directories, over existing names), hard links, unlinks,
         * mkdir/rmdir and fsyncs on DIR, checked against a model kept in memory; then every name
         * is read back and compared, and "path size sha256" lines are printed, sorted. */
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/stat.h>
        #include <unistd.h>
        #include "sha256.h"

        #define MAXN 600
        #define MAXI 600
        #define NDIR 8
        #define MAXSZ (96 * 1024)
        struct ino { unsigned char *data; long size; int links; };
        static struct ino inos[MAXI];
        static int ninos;
        static char *names[MAXN];   /* relative paths, or 0 */
        static int nameino[MAXN];
        static unsigned long long rs;
        static unsigned rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (unsigned)(rs >> 11); }
        static unsigned char buf[MAXSZ + 65536], rbuf[MAXSZ + 65536];
        static int line;
        #define CHECK(x) do { line = __LINE__; if ((x) < 0) { printf("%s: %s (line %d)\n", #x, strerror(errno), __LINE__); exit(1); } } while (0)

        static int pick_name(void) { for (int t = 0; t < 50; t++) { int i = rnd() % MAXN; if (names[i]) return i; } return -1; }
        static int free_name(void) { for (int t = 0; t < 50; t++) { int i = rnd() % MAXN; if (!names[i]) return i; } return -1; }
        static long serial;
        static char *mkname(void) { char p[64]; snprintf(p, sizeof p, "d%u/n%ld", rnd() % NDIR, serial++); return strdup(p); }
        static void fill(unsigned char *b, long n) { for (long k = 0; k < n; k++) b[k] = (unsigned char)rnd(); }
        static void drop_link(int ino) { if (--inos[ino].links == 0) { free(inos[ino].data); inos[ino].data = 0; } }
        static int new_ino(void) { for (int i = 0; i < MAXI; i++) if (!inos[i].links && !inos[i].data) { if (i >= ninos) ninos = i + 1; return i; } return -1; }
        static void grow(struct ino *f, long size) {
            f->data = realloc(f->data, size ? size : 1);
            if (size > f->size) memset(f->data + f->size, 0, size - f->size);
            f->size = size;
        }
        static void write_at(int fd, struct ino *f, long off, long n) {
            fill(buf, n);
            long done = 0;
            while (done < n) { long k = 1 + rnd() % 20000; if (k > n - done) k = n - done; long w = pwrite(fd, buf + done, k, off + done); CHECK(w); done += w; }
            if (off + n > f->size) grow(f, off + n);
            memcpy(f->data + off, buf, n);
        }
        static int cmpstr(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

        int main(int argc, char **argv) {
            if (argc < 4) return 2;
            CHECK(chdir(argv[1]));
            rs = strtoull(argv[2], 0, 10) * 0x9E3779B97F4A7C15ull + 1;
            long ops = atol(argv[3]);
            char p[64];
            for (int d = 0; d < NDIR; d++) { snprintf(p, sizeof p, "d%d", d); CHECK(mkdir(p, 0755)); }
            long count[10] = {0};
            for (long op = 0; op < ops; op++) {
                int kind = rnd() % 10, s, t, fd;
                switch (kind) {
                case 0: case 1:   /* create and write */
                    if ((s = free_name()) < 0 || (t = new_ino()) < 0) break;
                    names[s] = mkname(); nameino[s] = t; inos[t].links = 1; inos[t].size = 0; inos[t].data = 0;
                    fd = open(names[s], O_CREAT | O_EXCL | O_WRONLY, 0644); CHECK(fd);
                    write_at(fd, &inos[t], 0, rnd() % (MAXSZ / 2));
                    if (rnd() % 8 == 0) CHECK(fsync(fd));
                    CHECK(close(fd)); break;
                case 2: {         /* pwrite at a random offset, perhaps past the end */
                    if ((s = pick_name()) < 0) break;
                    struct ino *f = &inos[nameino[s]];
                    long off = rnd() % (f->size + 8192); if (off > MAXSZ) off = MAXSZ;
                    fd = open(names[s], O_WRONLY); CHECK(fd);
                    write_at(fd, f, off, rnd() % 16384);
                    if (rnd() % 4 == 0) CHECK(fdatasync(fd));
                    CHECK(close(fd)); break; }
                case 3: {         /* append */
                    if ((s = pick_name()) < 0) break;
                    struct ino *f = &inos[nameino[s]];
                    if (f->size > MAXSZ) break;
                    fd = open(names[s], O_WRONLY | O_APPEND); CHECK(fd);
                    long n = rnd() % 5000; fill(buf, n); CHECK(write(fd, buf, n));
                    grow(f, f->size + n); memcpy(f->data + f->size - n, buf, n);
                    CHECK(close(fd)); break; }
                case 4: {         /* truncate, shorter or longer */
                    if ((s = pick_name()) < 0) break;
                    struct ino *f = &inos[nameino[s]];
                    long n = rnd() % (MAXSZ / 2);
                    CHECK(truncate(names[s], n)); grow(f, n); break; }
                case 5: case 6:   /* rename to a new name or over another file */
                    if ((s = pick_name()) < 0) break;
                    if (rnd() % 2 && (t = pick_name()) >= 0 && t != s) {
                        CHECK(rename(names[s], names[t]));
                        if (nameino[s] != nameino[t]) {   /* a hard link to the same inode: rename does nothing */
                            drop_link(nameino[t]); nameino[t] = nameino[s]; free(names[s]); names[s] = 0;
                        }
                    } else {
                        char *n = mkname(); CHECK(rename(names[s], n)); free(names[s]); names[s] = n;
                    }
                    break;
                case 7:           /* unlink */
                    if ((s = pick_name()) < 0) break;
                    CHECK(unlink(names[s])); drop_link(nameino[s]); free(names[s]); names[s] = 0; break;
                case 8:           /* hard link */
                    if ((s = pick_name()) < 0 || (t = free_name()) < 0) break;
                    names[t] = mkname(); nameino[t] = nameino[s]; inos[nameino[s]].links++;
                    CHECK(link(names[s], names[t])); break;
                case 9:           /* an empty directory made and removed, or renamed */
                    snprintf(p, sizeof p, "d%u/tmpdir", rnd() % NDIR);
                    CHECK(mkdir(p, 0700));
                    if (rnd() % 2) CHECK(rmdir(p));
                    else { char q[64]; snprintf(q, sizeof q, "d%u/keep%ld", rnd() % NDIR, op); CHECK(rename(p, q)); }
                    break;
                }
                count[kind]++;
            }
            /* Read every name back and compare with the model. */
            int bad = 0, n = 0;
            char *lines[MAXN];
            for (int s = 0; s < MAXN; s++) {
                if (!names[s]) continue;
                struct ino *f = &inos[nameino[s]];
                struct stat st; CHECK(stat(names[s], &st));
                int fd = open(names[s], O_RDONLY); CHECK(fd);
                long got = 0, k;
                while ((k = read(fd, rbuf + got, sizeof rbuf - got)) > 0) got += k;
                close(fd);
                if (got != f->size || st.st_size != f->size || st.st_nlink != (nlink_t)f->links || memcmp(rbuf, f->data, got)) {
                    if (bad++ < 5) printf("mismatch %s: read %ld stat %ld model %ld, nlink %ld model %d\n", names[s], got, (long)st.st_size, f->size, (long)st.st_nlink, f->links);
                }
                sha256_ctx c; sha256_init(&c); sha256_update(&c, f->data, f->size); char hex[65]; sha256_final(&c, hex);
                char l[200]; snprintf(l, sizeof l, "%s %ld %s", names[s], f->size, hex); lines[n++] = strdup(l);
            }
            qsort(lines, n, sizeof *lines, cmpstr);
            for (int i = 0; i < n; i++) printf("%s\n", lines[i]);
            printf("ops:");
            for (int i = 0; i < 10; i++) printf(" %ld", count[i]);
            printf("\nnames %d, mismatches %d\n", n, bad);
            sync();
            return bad != 0;
        }
        """;

    static readonly Lazy<string> _storm = new(() =>
        Programs.Compile("ext4storm", StormC, "-I", Path.Combine(Repo.Root, "compat-suite/src")));

    [Theory]
    [InlineData("200M", 11)]   // 1 KiB blocks (mke2fs's choice under 512 MB)
    [InlineData("1G", 12)]     // 4 KiB blocks
    public void AStormOfRenamesLinksAndUnlinksMatchesItsModelAndTheVolume(string size, int seed)
    {
        var img = Path.Combine(Repo.TempDir(), "storm.img");
        var b = Ukpack.Run(["build", _storm.Value, "-o", img]);
        b.Code.Should().Be(0, b.ToString());
        var vol = Volume(size);
        var r = Boot(img, "--volume", vol + ":/v", "--", "/v", seed.ToString(), "4000");
        r.Code.Should().Be(0, r.ToString());
        var lines = r.OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[^1].Should().MatchRegex("^names [0-9]+, mismatches 0$", r.ToString());
        // The same program on this machine's kernel gives the same output (the model is seeded).
        var native = Repo.TempDir();
        var n = Host.Run(_storm.Value, [native, seed.ToString(), "4000"]);
        n.Code.Should().Be(0, n.ToString());
        r.OutText.Should().Be(n.OutText);
        Fsck(vol);
        var manifest = lines.Where(l => l.StartsWith('d')).ToList();
        manifest.Should().HaveCountGreaterThan(100);
        var onDisk = Repo.TempDir();
        Debugfs(vol, $"rdump {string.Join(' ', Enumerable.Range(0, 8).Select(d => $"/d{d}"))} {onDisk}");
        Manifest(onDisk).Should().Equal(manifest);
    }
}
