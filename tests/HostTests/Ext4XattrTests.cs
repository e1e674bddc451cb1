using System.Text;
using Kernel.Abi;
using Kernel.Fs;

namespace HostTests;

/// <summary>
/// Extended attributes on ext4 (fs/Ext4Volume.Xattr.cs): what debugfs' ea_set wrote is read,
/// what we write debugfs' ea_get reads and e2fsck -fn accepts (entry and block hashes, block
/// checksums, refcounts, i_blocks), in the inode and in the block, a shared block copied on
/// write, ACLs converted both ways.
/// </summary>
public unsafe class Ext4XattrTests
{
    static Ext4XattrTests() { Ext4Volume.Clock = &HostClock; }
    static void HostClock(long* s, long* ns) { var t = DateTimeOffset.UtcNow; *s = t.ToUnixTimeSeconds(); *ns = 0; }

    static string Sbin(string tool) => File.Exists("/sbin/" + tool) ? "/sbin/" + tool : File.Exists("/usr/sbin/" + tool) ? "/usr/sbin/" + tool : tool;
    static (int Code, string Out, string Err) Debugfs(string img, string cmd, bool write = false) =>
        TestUtil.Run(Sbin("debugfs"), write ? new[] { "-w", "-R", cmd, img } : new[] { "-R", cmd, img }, timeoutMs: 120000);

    static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    static Ext4Volume Mount(FileExt4Device dev)
    {
        Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
        return v;
    }

    static Ext4File Lookup(Ext4Volume v, string name)
    {
        v.GetFile(2, out var root).Should().Be((Errno)0);
        v.Lookup(root, B(name), out uint ino, out _).Should().Be((Errno)0, name);
        v.GetFile(ino, out var f).Should().Be((Errno)0);
        return f;
    }

    static Ext4File Create(Ext4Volume v, string name)
    {
        v.GetFile(2, out var root).Should().Be((Errno)0);
        v.Create(root, B(name), 0x81a4, 0, default, 0, 0, out var f).Should().Be((Errno)0, name);
        return f;
    }

    static string[] Names(Ext4Volume v, Ext4File f)
    {
        v.ListXattrs(f, out byte[] names).Should().Be((Errno)0);
        return Encoding.UTF8.GetString(names).Split('\0', StringSplitOptions.RemoveEmptyEntries).OrderBy(s => s, StringComparer.Ordinal).ToArray();
    }

    static byte[] Get(Ext4Volume v, Ext4File f, string name)
    {
        v.GetXattr(f, B(name), out byte[] value).Should().Be((Errno)0, name);
        return value;
    }

    /// <summary>The value debugfs reads (it converts ACLs to the xattr form).</summary>
    static byte[] DebugfsGet(string img, string file, string name)
    {
        string tmp = Path.Combine(TestUtil.TempDir(), "ea");
        var r = Debugfs(img, $"ea_get -f {tmp} {file} {name}");
        File.Exists(tmp).Should().BeTrue(r.Out + r.Err);
        return File.ReadAllBytes(tmp);
    }

    /// <summary>An access ACL in the xattr form: user::rw-, user:1000:r--, group::r--, mask::r--, other::---.</summary>
    static byte[] Acl()
    {
        var a = new List<byte>();
        void U32(uint x) => a.AddRange(BitConverter.GetBytes(x));
        void Entry(ushort tag, ushort perm, uint id) { a.AddRange(BitConverter.GetBytes(tag)); a.AddRange(BitConverter.GetBytes(perm)); U32(id); }
        U32(2);
        Entry(1, 6, 0xffffffff); Entry(2, 4, 1000); Entry(4, 4, 0xffffffff); Entry(0x10, 4, 0xffffffff); Entry(0x20, 0, 0xffffffff);
        return a.ToArray();
    }

    [Theory]
    [InlineData("")]
    [InlineData("-b 4096")]
    public void ReadsWhatDebugfsWrote(string extra)
    {
        string img = Ext4Tests.MakeVolume("64M", extra: extra == "" ? null : extra);
        string dir = TestUtil.TempDir();
        File.WriteAllText(Path.Combine(dir, "data"), "file data");
        File.WriteAllText(Path.Combine(dir, "big"), new string('B', 700));
        File.WriteAllBytes(Path.Combine(dir, "acl"), Acl());
        Debugfs(img, $"write {Path.Combine(dir, "data")} f", true);
        Debugfs(img, "ea_set /f user.alpha hello", true);
        Debugfs(img, "ea_set /f trusted.t tv", true);
        Debugfs(img, $"ea_set -f {Path.Combine(dir, "big")} /f user.big", true);
        Debugfs(img, $"ea_set -f {Path.Combine(dir, "acl")} /f system.posix_acl_access", true);
        Debugfs(img, "ea_list /f").Out.Should().Contain("user.big (700)");
        Ext4Tests.Fsck(img);
        using (var dev = new FileExt4Device(img))
        {
            var v = Mount(dev);
            var f = Lookup(v, "f");
            f.FileAcl.Should().NotBe(0UL, "the 700-byte value is in a block");
            Names(v, f).Should().Equal("system.posix_acl_access", "trusted.t", "user.alpha", "user.big");
            Get(v, f, "user.alpha").Should().Equal(B("hello"));
            Get(v, f, "trusted.t").Should().Equal(B("tv"));
            Get(v, f, "user.big").Should().Equal(B(new string('B', 700)));
            Get(v, f, "system.posix_acl_access").Should().Equal(Acl());
            v.GetXattr(f, B("user.none"), out _).Should().Be(Errno.ENODATA);
            v.Unmount().Should().BeTrue();
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("-b 4096")]
    public void WritesWhatDebugfsReadsAndFsckAccepts(string extra)
    {
        string img = Ext4Tests.MakeVolume("64M", extra: extra == "" ? null : extra);
        var big = new byte[600];
        new Random(7).NextBytes(big);
        using (var dev = new FileExt4Device(img))
        {
            var v = Mount(dev);
            var f = Create(v, "f");
            v.SetXattr(f, B("user.small"), B("v1"), 0).Should().Be((Errno)0);
            f.FileAcl.Should().Be(0UL, "a small value stays in the inode");
            v.SetXattr(f, B("user.small"), B("v2"), Xattr.XATTR_CREATE).Should().Be(Errno.EEXIST);
            v.SetXattr(f, B("user.other"), B("v2"), Xattr.XATTR_REPLACE).Should().Be(Errno.ENODATA);
            v.SetXattr(f, B("user.small"), B("value two"), Xattr.XATTR_REPLACE).Should().Be((Errno)0);
            v.SetXattr(f, B("user.big"), big, 0).Should().Be((Errno)0);
            f.FileAcl.Should().NotBe(0UL, "600 bytes go to a block");
            v.SetXattr(f, B("security.selinux"), B("system_u:object_r:etc_t:s0\0"), 0).Should().Be((Errno)0);
            v.SetXattr(f, B("trusted.z"), B(""), 0).Should().Be((Errno)0);
            for (int i = 0; i < 6; i++) v.SetXattr(f, B($"user.n{i}"), B($"value {i}"), 0).Should().Be((Errno)0);
            v.SetXattr(f, B("system.posix_acl_access"), Acl(), 0).Should().Be((Errno)0);
            v.SetXattr(f, B("system.posix_acl_access"), new byte[] { 1, 0, 0, 0 }, 0).Should().Be(Errno.EINVAL);
            v.SetXattr(f, B("user.huge"), new byte[65536], 0).Should().Be(Errno.ENOSPC);
            v.SetXattr(f, B("user.n3"), null, 0).Should().Be((Errno)0);
            v.SetXattr(f, B("user.n3"), null, 0).Should().Be(Errno.ENODATA);
            Get(v, f, "system.posix_acl_access").Should().Equal(Acl());

            // A file whose only attribute block is removed again: the block is freed.
            var g = Create(v, "g");
            v.SetXattr(g, B("user.big"), big, 0).Should().Be((Errno)0);
            g.FileAcl.Should().NotBe(0UL);
            v.SetXattr(g, B("user.big"), null, 0).Should().Be((Errno)0);
            g.FileAcl.Should().Be(0UL);

            // A file with an attribute block, unlinked: the block goes with it.
            var h = Create(v, "h");
            v.SetXattr(h, B("user.big"), big, 0).Should().Be((Errno)0);
            v.GetFile(2, out var root);
            v.RemoveEntry(root, B("h"), out _).Should().Be((Errno)0);
            v.DecLinks(h);
            v.FreeInode(h).Should().Be((Errno)0);
            v.Unmount().Should().BeTrue();
        }
        Ext4Tests.Fsck(img);
        var list = Debugfs(img, "ea_list /f").Out;
        foreach (var n in new[] { "user.small", "user.big", "security.selinux", "trusted.z", "user.n0", "user.n5", "system.posix_acl_access" })
            list.Should().Contain(n + " (", list);
        list.Should().NotContain("user.n3");
        DebugfsGet(img, "/f", "user.small").Should().Equal(B("value two"));
        DebugfsGet(img, "/f", "user.big").Should().Equal(big);
        DebugfsGet(img, "/f", "user.n5").Should().Equal(B("value 5"));
        // debugfs gives the unnamed entries id 0 where Linux (and we) give ACL_UNDEFINED_ID.
        var acl = Acl();
        for (int o = 4; o < acl.Length; o += 8)
            if (acl[o] != 2 && acl[o] != 8) { acl[o + 4] = acl[o + 5] = acl[o + 6] = acl[o + 7] = 0; }
        DebugfsGet(img, "/f", "system.posix_acl_access").Should().Equal(acl);
        Debugfs(img, "stat /g").Out.Should().Contain("File ACL: 0");
    }

    [Fact]
    public void SharedBlockIsCopiedOnWrite()
    {
        string img = Ext4Tests.MakeVolume("64M", extra: "-b 4096");
        var big = new byte[1200];
        new Random(3).NextBytes(big);
        ulong shared;
        using (var dev = new FileExt4Device(img))
        {
            var v = Mount(dev);
            var a = Create(v, "a");
            var b = Create(v, "b");
            var c = Create(v, "c");
            foreach (var f in new[] { a, b, c }) v.SetXattr(f, B("user.big"), big, 0).Should().Be((Errno)0);
            // b and c share a's block, as Linux's mbcache would have made them.
            shared = a.FileAcl;
            foreach (var f in new[] { b, c })
            {
                v.FreeBlocks(f.FileAcl, 1).Should().Be((Errno)0);
                f.FileAcl = shared;
                v.WriteInode(f).Should().Be((Errno)0);
            }
            var blk = new byte[v.BlockSize];
            v.ReadBlock(shared, blk).Should().BeTrue();
            Ext4.Put32(blk, 4, 3);
            Ext4.Put32(blk, 16, v.XattrBlockCsum(shared, blk));
            v.WriteBlock(shared, blk).Should().BeTrue();
            v.Unmount().Should().BeTrue();
        }
        Ext4Tests.Fsck(img);
        using (var dev = new FileExt4Device(img))
        {
            var v = Mount(dev);
            var b = Lookup(v, "b");
            b.FileAcl.Should().Be(shared);
            Get(v, b, "user.big").Should().Equal(big);
            v.SetXattr(b, B("user.more"), B("mine"), 0).Should().Be((Errno)0);
            b.FileAcl.Should().NotBe(shared, "b gets a copy");
            var blk = new byte[v.BlockSize];
            v.ReadBlock(shared, blk).Should().BeTrue();
            Ext4.U32(blk, 4).Should().Be(2u);
            // c is unlinked: the shared block loses a reference and stays a's.
            var c = Lookup(v, "c");
            v.GetFile(2, out var root);
            v.RemoveEntry(root, B("c"), out _).Should().Be((Errno)0);
            v.DecLinks(c);
            v.FreeInode(c).Should().Be((Errno)0);
            v.ReadBlock(shared, blk).Should().BeTrue();
            Ext4.U32(blk, 4).Should().Be(1u);
            var a = Lookup(v, "a");
            Get(v, a, "user.big").Should().Equal(big);
            v.GetXattr(a, B("user.more"), out _).Should().Be(Errno.ENODATA);
            v.Unmount().Should().BeTrue();
        }
        Ext4Tests.Fsck(img);
        DebugfsGet(img, "/b", "user.more").Should().Equal(B("mine"));
        DebugfsGet(img, "/a", "user.big").Should().Equal(big);
    }

    [Fact]
    public void EntryHashMatchesTheLayoutDocument()
    {
        // A name alone; then a value's words are mixed in (zero-padded to 4 bytes).
        uint h = 0;
        foreach (byte ch in B("ab")) h = (h << 5) ^ (h >> 27) ^ ch;
        Ext4Volume.XattrEntryHash(B("ab"), default).Should().Be(h);
        uint w = 'x' | ((uint)'y' << 8);
        Ext4Volume.XattrEntryHash(B("ab"), B("xy")).Should().Be((h << 16) ^ (h >> 16) ^ w);
    }
}
