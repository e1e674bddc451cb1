using System.Text;
using Kernel.Abi;
using Kernel.Fs;

namespace HostTests;

/// <summary>
/// The orphan list (fs/Ext4Volume.Orphans.cs): inodes unlinked while open are chained from
/// the superblock through i_dtime in the unlink's transaction; a power cut leaves them there,
/// and the next mount (ours, or e2fsck's preen) frees them, so e2fsck -fn finds no leak.
/// </summary>
public unsafe class Ext4OrphanTests
{
    static Ext4OrphanTests() { Ext4Volume.Clock = &HostClock; }

    static void HostClock(long* s, long* ns)
    {
        var t = DateTimeOffset.UtcNow;
        *s = t.ToUnixTimeSeconds();
        *ns = (t.ToUnixTimeMilliseconds() % 1000) * 1000000;
    }

    static string Sbin(string tool) => File.Exists("/sbin/" + tool) ? "/sbin/" + tool : "/usr/sbin/" + tool;
    static (int Code, string Out, string Err) Tool(string exe, params string[] args) => TestUtil.Run(Sbin(exe), args, timeoutMs: 120000);

    static Ext4File Create(Ext4Volume v, Ext4File dir, string name, int bytes)
    {
        v.Create(dir, Encoding.UTF8.GetBytes(name), 0x81a4, 0, default, 0, 0, out var f).Should().Be((Errno)0, name);
        var data = new byte[bytes];
        new Random(bytes).NextBytes(data);
        fixed (byte* p = data) v.WriteData(f, 0, p, data.Length).Should().Be(data.Length);
        return f;
    }

    /// <summary>What an unlink of an open file does: the name goes, the inode joins the orphan list.</summary>
    static Ext4File UnlinkOpen(Ext4Volume v, Ext4File dir, string name)
    {
        v.RemoveEntry(dir, Encoding.UTF8.GetBytes(name), out uint ino).Should().Be((Errno)0, name);
        v.GetFile(ino, out var f).Should().Be((Errno)0);
        v.DecLinks(f);
        v.AddOrphan(f).Should().Be((Errno)0);
        return f;
    }

    [Theory]
    [InlineData("64M", null)]
    [InlineData("128M", "-b 4096")]
    public void OpenUnlinkedFilesLeftByAPowerCutAreFreedAtTheNextMount(string size, string? extra)
    {
        string img = Ext4Tests.MakeVolume(size, extra: extra);
        ulong freeBlocks, freeInodes;
        uint[] inos = new uint[5];
        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.GetFile(2, out var root);
            freeBlocks = v.FreeBlocksCount; freeInodes = v.FreeInodesCount;
            var files = new Ext4File[5];
            for (int i = 0; i < 5; i++) { files[i] = Create(v, root, $"f{i}", 50000 + i * 7000); inos[i] = files[i].Ino; }
            v.OperationDone(); v.Sync().Should().BeTrue();
            for (int i = 0; i < 5; i++) { UnlinkOpen(v, root, $"f{i}"); v.OperationDone(); }
            // The list is f4 -> f3 -> f2 -> f1 -> f0. f2 and f4 are closed: one from the
            // middle and the head go.
            v.LastOrphan.Should().Be(inos[4]);
            v.FreeInode(files[2]).Should().Be((Errno)0);
            v.FreeInode(files[4]).Should().Be((Errno)0);
            v.LastOrphan.Should().Be(inos[3]);
            files[3].Dtime.Should().Be(inos[1]);
            v.Sync().Should().BeTrue();
            v.FreeInodesCount.Should().Be(freeInodes - 3);
            // No unmount: the power goes with f0, f1, f3 open.
        }
        // e2fsck's replay follows the list we wrote and frees what is on it.
        string copy = img + ".e2fsck";
        File.Copy(img, copy, true);
        var r = Tool("e2fsck", "-p", "-E", "journal_only", copy);
        r.Code.Should().Be(0, r.Out + r.Err);
        foreach (int i in new[] { 0, 1, 3 }) (r.Out + r.Err).Should().Contain($"Clearing orphaned inode {inos[i]} ");
        (r.Out + r.Err).Should().NotContain($"inode {inos[2]} ").And.NotContain($"inode {inos[4]} ");
        Ext4Tests.Fsck(copy);
        // Ours.
        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.OrphansFreed.Should().Be(3);
            v.LastOrphan.Should().Be(0u);
            v.FreeBlocksCount.Should().Be(freeBlocks);
            v.FreeInodesCount.Should().Be(freeInodes);
            v.Unmount().Should().BeTrue();
        }
        Ext4Tests.Fsck(img);
        Tool("dumpe2fs", "-h", img).Out.Should().NotContain("First orphan inode");
    }

    [Fact]
    public void AnOrphanWithLinksIsTruncatedToItsSize()
    {
        // As Linux leaves a truncate a crash cut short: the inode on the list with its new
        // size, the blocks past it still allocated.
        string img = Ext4Tests.MakeVolume("64M");
        ulong freeAfter;
        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.GetFile(2, out var root);
            var f = Create(v, root, "big", 200_000);
            v.OperationDone(); v.Sync().Should().BeTrue();
            freeAfter = v.FreeBlocksCount + (ulong)(200_000 / 1024 - 10000 / 1024);
            f.Size = 10000;
            v.AddOrphan(f).Should().Be((Errno)0);
            v.Sync().Should().BeTrue();
        }
        using (var dev = new FileExt4Device(img))
        {
            Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
            v.OrphansTruncated.Should().Be(1);
            v.FreeBlocksCount.Should().Be(freeAfter);
            v.GetFile(2, out var root);
            v.Lookup(root, "big"u8.ToArray(), out uint ino, out _).Should().Be((Errno)0);
            v.GetFile(ino, out var f);
            f.Size.Should().Be(10000);
            f.Dtime.Should().Be(0u);
            v.Unmount().Should().BeTrue();
        }
        Ext4Tests.Fsck(img);
    }
}
