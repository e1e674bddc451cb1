using System.Text;
using Kernel.Abi;
using Kernel.Fs;

namespace HostTests;

/// <summary>
/// A volume image file as a device that loses power after a given number of writes: every
/// later write and flush is dropped, as a VM killed at that moment would leave the disk
/// (our writes are synchronous, so the disk holds exactly the writes issued before).
/// </summary>
public sealed unsafe class CrashingDevice : IExt4Device, IDisposable
{
    readonly FileStream _f;
    public long WritesLeft;
    public bool Dead => WritesLeft <= 0;
    public CrashingDevice(string path, long writesLeft) { _f = new FileStream(path, System.IO.FileMode.Open, FileAccess.ReadWrite); WritesLeft = writesLeft; }
    public long Bytes => _f.Length;
    public bool ReadOnly => false;
    public bool Read(long offset, byte* dst, int len) { _f.Position = offset; return _f.Read(new Span<byte>(dst, len)) == len; }
    public bool Write(long offset, byte* src, int len)
    {
        if (WritesLeft-- <= 0) return true;
        _f.Position = offset; _f.Write(new ReadOnlySpan<byte>(src, len));
        return true;
    }
    public bool Flush() { if (!Dead) _f.Flush(); return true; }
    public void Dispose() => _f.Dispose();
}

/// <summary>
/// The JBD2 journal (fs/Ext4Journal.cs): replay of journals written by e2fsprogs' debugfs
/// (checksums none, v2, v3; revoke records; escaped blocks; an uncommitted transaction),
/// journaling of our own writes read back by e2fsck's replay, and power cuts at many points
/// of a workload that fsyncs each record.
/// </summary>
public unsafe class Ext4JournalTests
{
    static Ext4JournalTests() { Ext4Volume.Clock = &HostClock; }

    static void HostClock(long* s, long* ns)
    {
        var t = DateTimeOffset.UtcNow;
        *s = t.ToUnixTimeSeconds();
        *ns = (t.ToUnixTimeMilliseconds() % 1000) * 1000000;
    }

    static string Sbin(string tool) => File.Exists("/sbin/" + tool) ? "/sbin/" + tool : "/usr/sbin/" + tool;
    static (int Code, string Out, string Err) Tool(string exe, params string[] args) => TestUtil.Run(Sbin(exe), args, timeoutMs: 120000);

    static string Dumpe2fs(string img) => Tool("dumpe2fs", "-h", img).Out;

    static byte[] ReadBlock(string img, long blk, int bs)
    {
        using var f = File.OpenRead(img);
        var b = new byte[bs];
        f.Position = blk * bs;
        f.ReadExactly(b);
        return b;
    }

    /// <summary>debugfs -w with its journal commands (jo, jw, jc) fed on stdin.</summary>
    static void DebugfsJournal(string img, string script)
    {
        string file = Path.Combine(TestUtil.TempDir(), "cmds");
        File.WriteAllText(file, script);
        var r = Tool("debugfs", "-w", "-f", file, img);
        r.Code.Should().Be(0, r.Out + r.Err);
        (r.Out + r.Err).Should().NotContain("rror", r.Out + r.Err);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-c -v 2")]
    [InlineData("-c -v 3")]
    public void ReplaysAJournalWrittenByDebugfs(string openArgs)
    {
        string img = Ext4Tests.MakeVolume("64M");
        const int bs = 1024;                   // mke2fs gives 1 KiB blocks under 512 MB
        var rng = new Random(5);
        string dir = TestUtil.TempDir();
        // Transaction 1: blocks 40000-40003, the third starting with the journal's magic
        // number (escaped in the log). Transaction 2: 40004. Transaction 3: a revoke of
        // 40001. Transaction 4 (not committed): 40005 and 40000 again. (debugfs 1.47's jw
        // with both -b and -r leaves out the commit block, so the revoke is on its own.)
        var t1 = new byte[4 * bs]; rng.NextBytes(t1);
        t1[2 * bs] = 0xC0; t1[2 * bs + 1] = 0x3B; t1[2 * bs + 2] = 0x39; t1[2 * bs + 3] = 0x98;
        var t2 = new byte[bs]; rng.NextBytes(t2);
        var t3 = new byte[2 * bs]; rng.NextBytes(t3);
        File.WriteAllBytes(Path.Combine(dir, "t1"), t1);
        File.WriteAllBytes(Path.Combine(dir, "t2"), t2);
        File.WriteAllBytes(Path.Combine(dir, "t3"), t3);
        DebugfsJournal(img, $"jo {openArgs}\njw -b 40000,40001,40002,40003 {dir}/t1\njw -b 40004 {dir}/t2\njw -r 40001 {dir}/t2\njw -b 40005,40000 -c {dir}/t3\njc\n");
        Dumpe2fs(img).Should().Contain("needs_recovery");
        string copy = img + ".e2fsck";
        File.Copy(img, copy);

        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.ReplayedTransactions.Should().Be(3);
            v.ReplayedBlocks.Should().Be(4);             // 40000, 40002, 40003, 40004 (40001 revoked)
            v.Unmount().Should().BeTrue();
        }
        ReadBlock(img, 40000, bs).Should().Equal(t1[..bs]);
        ReadBlock(img, 40001, bs).Should().Equal(new byte[bs]);
        ReadBlock(img, 40002, bs).Should().Equal(t1[(2 * bs)..(3 * bs)]);
        ReadBlock(img, 40003, bs).Should().Equal(t1[(3 * bs)..]);
        ReadBlock(img, 40004, bs).Should().Equal(t2);
        ReadBlock(img, 40005, bs).Should().Equal(new byte[bs]);
        Dumpe2fs(img).Should().NotContain("needs_recovery").And.Contain("Journal start:            0");
        Ext4Tests.Fsck(img);
        // e2fsck's own replay of the same journal leaves the same blocks.
        Tool("e2fsck", "-p", "-E", "journal_only", copy).Code.Should().Be(0);
        for (long b = 40000; b <= 40005; b++) ReadBlock(copy, b, bs).Should().Equal(ReadBlock(img, b, bs), $"block {b}");
    }

    [Fact]
    public void ABadCommitChecksumEndsTheReplay()
    {
        string img = Ext4Tests.MakeVolume("64M");
        const int bs = 1024;
        string dir = TestUtil.TempDir();
        var a = new byte[bs]; a.AsSpan().Fill(0xAA);
        var b = new byte[bs]; b.AsSpan().Fill(0xBB);
        File.WriteAllBytes(Path.Combine(dir, "a"), a);
        File.WriteAllBytes(Path.Combine(dir, "b"), b);
        DebugfsJournal(img, $"jo -c -v 3\njw -b 41000 {dir}/a\njw -b 41001 {dir}/b\njc\n");
        // The log: superblock, then descriptor, block, commit for each transaction. Corrupt
        // the second commit block's checksum.
        string log = Tool("debugfs", "-R", "logdump", img).Out;
        log.Should().Contain("type 2 (commit block) at block 6");
        Tool("debugfs", "-R", "bmap <8> 6", img).Out.Trim().Should().MatchRegex("^[0-9]+$");
        long phys = long.Parse(Tool("debugfs", "-R", "bmap <8> 6", img).Out.Trim());
        using (var f = File.OpenWrite(img)) { f.Position = phys * bs + 0x10; f.WriteByte(0x5A); }
        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.ReplayedTransactions.Should().Be(1);
            v.Unmount().Should().BeTrue();
        }
        ReadBlock(img, 41000, bs).Should().Equal(a);
        ReadBlock(img, 41001, bs).Should().Equal(new byte[bs]);
        Ext4Tests.Fsck(img);
    }

    [Fact]
    public void RefusesToReplayOnAReadOnlyDevice()
    {
        string img = Ext4Tests.MakeVolume("64M");
        string dir = TestUtil.TempDir();
        File.WriteAllBytes(Path.Combine(dir, "a"), new byte[1024]);
        DebugfsJournal(img, $"jo\njw -b 41000 {dir}/a\njc\n");
        using var dev = new FileExt4Device(img, ro: true);
        Ext4Volume.Mount(dev, true, out _, out string msg, out _).Should().Be(Errno.EROFS);
        msg.Should().Contain("recovery");
    }

    static Ext4File Create(Ext4Volume v, Ext4File dir, string name, uint mode)
    {
        v.Create(dir, Encoding.UTF8.GetBytes(name), mode, 0, default, 0, 0, out var f).Should().Be((Errno)0, name);
        return f;
    }

    static byte[] Record(int i)
    {
        var r = new byte[4096];
        new Random(i * 7919 + 1).NextBytes(r);
        Encoding.ASCII.GetBytes($"record {i:D6}\n").CopyTo(r, 0);
        return r;
    }

    /// <summary>
    /// The workload of the crash tests: records appended to a log file and each written to
    /// a file of its own in one of a few directories, every record fsync'd (a commit); every
    /// 7th record the oldest own file is unlinked (blocks freed and reused). Returns the
    /// records whose fsync returned before the power cut.
    /// </summary>
    static List<int> Workload(Ext4Volume v, IExt4Device dev, Func<bool> dead, int records)
    {
        var done = new List<int>();
        v.GetFile(2, out var root);
        var log = Create(v, root, "log", 0x81a4);
        var dirs = new Ext4File[3];
        for (int d = 0; d < 3; d++) dirs[d] = Create(v, root, $"d{d}", 0x41ed);
        v.OperationDone();
        for (int i = 0; i < records; i++)
        {
            try { if (!Step(v, dev, log, dirs, i)) break; }
            catch (Exception) when (dead()) { break; }
            if (dead()) break;
            done.Add(i);
        }
        return done;
    }

    static bool Step(Ext4Volume v, IExt4Device dev, Ext4File log, Ext4File[] dirs, int i)
    {
        {
            var rec = Record(i);
            fixed (byte* p = rec) v.WriteData(log, (long)i * rec.Length, p, rec.Length).Should().Be(rec.Length);
            var f = Create(v, dirs[i % 3], $"r{i}", 0x81a4);
            fixed (byte* p = rec) v.WriteData(f, 0, p, 1000 + i % 3000).Should().Be(1000 + i % 3000);
            if (i % 7 == 6)
            {
                int old = i - 6;
                v.RemoveEntry(dirs[old % 3], Encoding.ASCII.GetBytes($"r{old}"), out uint ino).Should().Be((Errno)0);
                v.GetFile(ino, out var of);
                v.DecLinks(of);
                v.FreeInode(of).Should().Be((Errno)0);
            }
            v.OperationDone();
            v.Sync().Should().BeTrue();
            return true;
        }
    }

    static void CheckRecords(Ext4Volume v, List<int> fsynced)
    {
        v.GetFile(2, out var root);
        v.Lookup(root, "log"u8.ToArray(), out uint logIno, out _).Should().Be((Errno)0);
        v.GetFile(logIno, out var log);
        foreach (int i in fsynced)
        {
            var want = Record(i);
            var got = new byte[want.Length];
            fixed (byte* p = got) v.ReadData(log, (long)i * want.Length, p, got.Length).Should().Be(got.Length, $"record {i} in the log");
            got.Should().Equal(want, $"record {i} in the log");
            if (i % 7 == 0) continue;       // unlinked 6 records later (or maybe, at a cut)
            v.GetFile(2, out root);
            v.Lookup(root, Encoding.ASCII.GetBytes($"d{i % 3}"), out uint dino, out _).Should().Be((Errno)0);
            v.GetFile(dino, out var dir);
            v.Lookup(dir, Encoding.ASCII.GetBytes($"r{i}"), out uint ino, out _).Should().Be((Errno)0, $"r{i}");
            v.GetFile(ino, out var f);
            f.Size.Should().Be(1000 + i % 3000);
            var own = new byte[f.Size];
            fixed (byte* p = own) v.ReadData(f, 0, p, own.Length).Should().Be(own.Length);
            own.Should().Equal(want[..own.Length], $"r{i}");
        }
    }

    [Fact]
    public void OurJournalIsReplayedByE2fsckAndByUs()
    {
        string img = Ext4Tests.MakeVolume("64M");
        List<int> done;
        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.Journal.Should().NotBeNull();
            done = Workload(v, dev, () => false, 60);
            v.Journal.Commits.Should().BeGreaterThan(50);
            // No unmount: the VM "dies" here, the journal holds what was committed.
        }
        Dumpe2fs(img).Should().Contain("needs_recovery").And.Contain("journal_checksum_v3");
        string copy = img + ".e2fsck";
        File.Copy(img, copy);
        var r = Tool("e2fsck", "-p", "-E", "journal_only", copy);
        r.Code.Should().Be(0, r.Out + r.Err);
        Ext4Tests.Fsck(copy);
        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.ReplayedTransactions.Should().BeGreaterThan(0);
            CheckRecords(v, done);
            v.Unmount().Should().BeTrue();
        }
        Ext4Tests.Fsck(img);
        using (var dev = new FileExt4Device(copy))
        {
            Ext4Volume.Mount(dev, true, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            CheckRecords(v, done);
        }
    }

    [Theory]
    [InlineData("64M", null, 40)]
    [InlineData("128M", "-b 4096", 40)]
    [InlineData("64M", "-J size=1", 150)]          // a 1 MiB log: checkpoints and restarts of the log
    public void PowerCutsAtManyPointsLeaveAVolumeThatReplaysClean(string size, string? extra, int records)
    {
        string baseImg = Ext4Tests.MakeVolume(size, extra: extra);
        // How many writes the whole workload makes, then cuts spread over it.
        long total;
        string probe = baseImg + ".probe";
        File.Copy(baseImg, probe);
        using (var dev = new CrashingDevice(probe, long.MaxValue))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            Workload(v, dev, () => false, records);
            v.Journal.Checkpoints.Should().BeGreaterThan(records > 100 ? 0 : -1);
            total = long.MaxValue - dev.WritesLeft;
        }
        var rng = new Random(1234);
        for (int k = 0; k < 12; k++)
        {
            long cut = 1 + rng.NextInt64(total);
            string img = baseImg + $".cut{k}";
            File.Copy(baseImg, img, true);
            List<int> done;
            using (var dev = new CrashingDevice(img, cut))
            {
                Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
                done = Workload(v, dev, () => dev.Dead, records);
            }
            string copy = img + ".e2fsck";
            File.Copy(img, copy, true);
            var r = Tool("e2fsck", "-p", "-E", "journal_only", copy);
            r.Code.Should().Be(0, $"cut after {cut} of {total} writes: " + r.Out + r.Err);
            var fn = Tool("e2fsck", "-fn", copy);
            fn.Code.Should().Be(0, $"cut after {cut} of {total} writes, e2fsck's replay:\n" + fn.Out + fn.Err);
            using (var dev = new FileExt4Device(img))
            {
                Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, $"cut after {cut}: {msg}");
                CheckRecords(v, done);
                v.Unmount().Should().BeTrue();
            }
            fn = Tool("e2fsck", "-fn", img);
            fn.Code.Should().Be(0, $"cut after {cut} of {total} writes, our replay:\n" + fn.Out + fn.Err);
            File.Delete(img); File.Delete(copy);
        }
    }
}
