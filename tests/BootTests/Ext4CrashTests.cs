using System.Diagnostics;
using System.Text;

namespace BootTests;

using static Ext4BootTests;

/// <summary>
/// The ext4 journal under QEMU: a program appends 4 KiB records to a log on a volume,
/// fsyncing each and printing its id once fsync returned (a small file created and fsync'd
/// every 4th record, the one 8 records older unlinked); the test SIGKILLs QEMU at a seeded
/// random moment after the first record. Then the volume, which needs recovery, is replayed
/// by e2fsck on a copy (`e2fsck -E journal_only`, then `-fn` clean) and by this kernel
/// mounting it again (then `-fn` clean), and every printed record is present and intact in
/// both.
/// </summary>
public class Ext4CrashTests
{
    const string CrashC = """
        #define _GNU_SOURCE
        #include <dirent.h>
        #include <fcntl.h>
        #include <sys/stat.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>

        static unsigned char rec[4096];
        static void fill(int i) { memset(rec, 0, sizeof rec); int n = sprintf((char *)rec, "record %06d\n", i); for (int k = n; k < 4096; k++) rec[k] = (unsigned char)(i * 13 + k * 7); }
        static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

        int main(int argc, char **argv) {
            if (argc < 4) return 2;
            char p[512];
            int n = atoi(argv[3]);
            snprintf(p, sizeof p, "%s/log", argv[2]);
            if (!strcmp(argv[1], "write")) {
                int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
                if (fd < 0) { perror("open"); return 1; }
                double t0 = now();
                for (int i = 0; i < n; i++) {
                    fill(i);
                    if (write(fd, rec, sizeof rec) != sizeof rec) { perror("write"); return 1; }
                    if (fsync(fd) < 0) { perror("fsync"); return 1; }
                    if (i % 4 == 0 && argc < 5) {
                        snprintf(p, sizeof p, "%s/f%d", argv[2], i);
                        int f = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                        if (f < 0 || write(f, rec, 100 + i % 3000) < 0 || fsync(f) < 0) { perror("small file"); return 1; }
                        close(f);
                        if (i >= 8) { snprintf(p, sizeof p, "%s/f%d", argv[2], i - 8); unlink(p); }
                    }
                    if (argc < 5) { printf("%d\n", i); fflush(stdout); }
                }
                if (argc >= 5) printf("%d fsync'd 4 KiB appends in %.2f s: %.0f/s\n", n, now() - t0, n / (now() - t0));
                return 0;
            }
            if (!strcmp(argv[1], "orphans")) {
                /* n files of 256 KiB and a directory, open, then unlinked (and rmdir'd) while
                   open; a marker file fsync'd commits the unlinks; then wait to be killed. */
                static unsigned char big[262144];
                int fds[64];
                if (n > 64) return 2;
                memset(big, 0x5a, sizeof big);
                for (int i = 0; i < n; i++) {
                    snprintf(p, sizeof p, "%s/o%d", argv[2], i);
                    fds[i] = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
                    if (fds[i] < 0 || write(fds[i], big, sizeof big) != sizeof big || fsync(fds[i]) < 0) { perror("orphan file"); return 1; }
                }
                snprintf(p, sizeof p, "%s/od", argv[2]);
                if (mkdir(p, 0755) < 0) { perror("mkdir"); return 1; }
                int dfd = open(p, O_RDONLY | O_DIRECTORY);
                if (dfd < 0 || rmdir(p) < 0) { perror("rmdir"); return 1; }
                for (int i = 0; i < n; i++) {
                    snprintf(p, sizeof p, "%s/o%d", argv[2], i);
                    if (unlink(p) < 0) { perror("unlink"); return 1; }
                }
                snprintf(p, sizeof p, "%s/marker", argv[2]);
                int m = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (m < 0 || write(m, "m", 1) != 1 || fsync(m) < 0) { perror("marker"); return 1; }
                if (pwrite(fds[0], "still open", 10, 0) != 10) { perror("pwrite"); return 1; }
                printf("ready\n"); fflush(stdout);
                for (;;) pause();
            }
            if (!strcmp(argv[1], "idle")) {
                /* a directory made, nothing synced (no file data either: the page cache's
                   flusher must not be what ends an operation); then idle until killed */
                snprintf(p, sizeof p, "%s/idle", argv[2]);
                if (mkdir(p, 0755) < 0) { perror("idle"); return 1; }
                printf("created\n"); fflush(stdout);
                for (;;) pause();
            }
            if (!strcmp(argv[1], "ls")) {
                DIR *d = opendir(argv[2]);
                struct dirent *e;
                if (!d) { perror("opendir"); return 1; }
                while ((e = readdir(d))) if (e->d_name[0] != '.') printf("%s\n", e->d_name);
                closedir(d);
                return 0;
            }
            if (!strcmp(argv[1], "check")) {
                /* records 0..K-1 intact, K = the first missing or bad one */
                int fd = open(p, O_RDONLY);
                if (fd < 0) { perror("open"); return 1; }
                static unsigned char got[4096];
                int i = 0;
                for (; i < n; i++) {
                    if (pread(fd, got, sizeof got, (off_t)i * 4096) != sizeof got) break;
                    fill(i);
                    if (memcmp(got, rec, sizeof rec)) break;
                }
                printf("intact %d\n", i);
                return 0;
            }
            return 2;
        }
        """;

    static readonly Lazy<string> _image = new(() =>
    {
        var exe = Programs.Compile("crash4", CrashC);
        var img = Path.Combine(Repo.TempDir(), "crash4.img");
        var r = Ukpack.Run(["build", exe, "-o", img]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    });

    /// <summary>QEMU's pid: the child of ukpack whose command is qemu-system-*.</summary>
    static int? QemuChildOf(int parent)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                if (int.Parse(fields[1]) != parent) continue;
                if (stat[(stat.IndexOf('(') + 1)..close].StartsWith("qemu")) return pid;
            }
            catch (IOException) { }
        }
        return null;
    }

    /// <summary>Runs the writer and SIGKILLs QEMU `delayMs` after the first record was printed; the ids printed.</summary>
    static List<int> RunAndKill(string vol, int delayMs, out string log, params string[] args)
    {
        var psi = new ProcessStartInfo(Repo.Ukpack) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        if (args.Length == 0) args = ["write", "/data", "100000"];
        foreach (var a in new[] { "run", _image.Value, "--timeout", "120", "--volume", vol + ":/data", "--" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var ids = new List<int>();
        var err = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (err) err.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        var first = new ManualResetEventSlim();
        var reader = Task.Run(() =>
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) != null)
            {
                if (int.TryParse(line, out int id)) lock (ids) ids.Add(id);
                first.Set();
            }
            first.Set();
        });
        first.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue("the writer prints its first record");
        Thread.Sleep(delayMs);
        int? qemu = QemuChildOf(p.Id);
        qemu.Should().NotBeNull("QEMU runs under ukpack (" + err + ")");
        Process.GetProcessById(qemu!.Value).Kill();        // SIGKILL
        p.WaitForExit(60000).Should().BeTrue("ukpack exits when QEMU dies");
        reader.Wait(10000);
        lock (err) log = err.ToString();
        lock (ids) return [.. ids];
    }

    [Fact]
    public void KilledMidWorkloadEveryFsyncedRecordSurvivesAndTheVolumeReplaysClean()
    {
        var image = _image.Value;
        var dir = Repo.TempDir();
        var baseVol = Path.Combine(dir, "base.img");
        Ukpack.Run(["volume", "create", baseVol, "--size", "64M"]).Code.Should().Be(0);
        int[] seeds = [1, 2, 3, 4, 5, 6, 7, 8];
        foreach (int seed in seeds)
        {
            int delay = new Random(seed).Next(0, 2500);
            var vol = Path.Combine(dir, $"vol{seed}.img");
            File.Copy(baseVol, vol, true);
            var ids = RunAndKill(vol, delay, out string log);
            string why = $"seed {seed} (killed {delay} ms after the first record, {ids.Count} records printed)";
            ids.Should().NotBeEmpty(why);
            ids.Should().Equal(Enumerable.Range(0, ids.Count), why);
            int last = ids[^1];
            // e2fsck's replay, on a copy.
            var copy = vol + ".copy";
            File.Copy(vol, copy, true);
            var r = Host.Run(Sbin("e2fsck"), ["-p", "-E", "journal_only", copy]);
            r.Code.Should().Be(0, why + "\n" + r);
            r = Host.Run(Sbin("e2fsck"), ["-fn", copy]);
            r.Code.Should().Be(0, why + ": e2fsck -fn after e2fsck's replay\n" + r);
            var logBytes = Host.Run(Sbin("debugfs"), ["-R", "cat /log", copy]).Out;
            logBytes.Length.Should().BeGreaterThanOrEqualTo((last + 1) * 4096, why);
            for (int i = 0; i <= last; i++)
                Encoding.ASCII.GetString(logBytes, i * 4096, 14).Should().Be($"record {i:D6}\n", why);
            // Our replay: the kernel mounts it again and reads every record back.
            r = Ukpack.Boot(image, null, "--volume", vol + ":/data", "--", "check", "/data", "100000");
            r.Code.Should().Be(0, why + "\n" + r);
            int intact = int.Parse(r.OutText.Trim().Split(' ')[1]);
            intact.Should().BeGreaterThan(last, why + "\n" + r);
            r = Host.Run(Sbin("e2fsck"), ["-fn", vol]);
            r.Code.Should().Be(0, why + ": e2fsck -fn after our replay\n" + r);
            File.Delete(vol); File.Delete(copy);
        }
    }

    /// <summary>
    /// Files unlinked (and a directory removed) while open, the unlinks committed, then QEMU
    /// killed: the orphan list on the volume names them, and both e2fsck's replay and our
    /// next mount free them, leaving e2fsck -fn clean and every block and inode free again.
    /// Without the orphan list e2fsck finds the leaked inodes.
    /// </summary>
    [Fact]
    public void FilesUnlinkedWhileOpenAreFreedAfterACrash()
    {
        var image = _image.Value;
        var dir = Repo.TempDir();
        var vol = Path.Combine(dir, "vol.img");
        Ukpack.Run(["volume", "create", vol, "--size", "64M"]).Code.Should().Be(0);
        static long Free(string img, string what)
        {
            var m = System.Text.RegularExpressions.Regex.Match(Host.Run(Sbin("dumpe2fs"), ["-h", img]).OutText, "^" + what + ":\\s+(\\d+)", System.Text.RegularExpressions.RegexOptions.Multiline);
            m.Success.Should().BeTrue(what);
            return long.Parse(m.Groups[1].Value);
        }
        long inodes0 = Free(vol, "Free inodes"), blocks0 = Free(vol, "Free blocks");
        RunAndKill(vol, 0, out string log, "orphans", "/data", "8");
        log.Should().NotContain("orphan file", log);
        var copy = vol + ".copy";
        File.Copy(vol, copy, true);
        var r = Host.Run(Sbin("e2fsck"), ["-p", "-E", "journal_only", copy]);
        r.Code.Should().Be(0, r.ToString());
        System.Text.RegularExpressions.Regex.Matches(r.ToString(), "Clearing orphaned inode").Count.Should().Be(9, r.ToString());
        r = Host.Run(Sbin("e2fsck"), ["-fn", copy]);
        r.Code.Should().Be(0, "e2fsck -fn after e2fsck's replay\n" + r);
        // Our mount replays the journal, then frees what the orphan list holds.
        r = Ukpack.Boot(image, null, "--volume", vol + ":/data", "--", "ls", "/data", "0");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(["lost+found", "marker"], r.ToString());
        r = Host.Run(Sbin("e2fsck"), ["-fn", vol]);
        r.Code.Should().Be(0, "e2fsck -fn after our replay\n" + r);
        Free(vol, "Free inodes").Should().Be(inodes0 - 1);      // the marker
        Free(vol, "Free blocks").Should().BeGreaterThanOrEqualTo(blocks0 - 2);   // the marker's block (and a directory block)
    }

    /// <summary>
    /// The journal's commit timer: a directory made but never synced, the program then
    /// idle, reaches the log on its own (as with ext4's commit=5): the host replays a copy
    /// of the volume until the file is there, then kills QEMU. Without the timer the
    /// transaction stays in memory until the next operation, sync or unmount.
    /// </summary>
    [Fact]
    public void AnIdleVolumesTransactionCommitsWithinSeconds()
    {
        var image = _image.Value;
        var dir = Repo.TempDir();
        var vol = Path.Combine(dir, "vol.img");
        Ukpack.Run(["volume", "create", vol, "--size", "64M"]).Code.Should().Be(0);
        var psi = new ProcessStartInfo(Repo.Ukpack) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "run", image, "--timeout", "180", "--volume", vol + ":/data", "--", "idle", "/data", "0" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var err = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (err) err.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        var created = Task.Run(() => { string? l; while ((l = p.StandardOutput.ReadLine()) != null) if (l == "created") return true; return false; });
        created.Wait(TimeSpan.FromSeconds(90)).Should().BeTrue("the program creates its file (" + err + ")");
        created.Result.Should().BeTrue("the program creates its file (" + err + ")");
        var since = Stopwatch.StartNew();
        var copy = vol + ".copy";
        string found = "";
        try
        {
            while (since.Elapsed < TimeSpan.FromSeconds(90))
            {
                // A copy taken while QEMU writes may be torn: then the next one.
                File.Copy(vol, copy, true);
                if (Host.Run(Sbin("e2fsck"), ["-p", "-E", "journal_only", copy]).Code == 0)
                {
                    found = Host.Run(Sbin("debugfs"), ["-R", "stat /idle", copy]).OutText;
                    if (found.Contains("Type: directory")) break;
                }
                Thread.Sleep(250);
            }
        }
        finally
        {
            int? qemu = QemuChildOf(p.Id);
            if (qemu != null) Process.GetProcessById(qemu.Value).Kill();
            p.WaitForExit(60000);
        }
        found.Should().Contain("Type: directory", "the transaction commits without another operation (" + err + ")");
        since.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(3), "it waits for the commit interval");
        Host.Run(Sbin("e2fsck"), ["-fn", copy]).Code.Should().Be(0);
    }
}
