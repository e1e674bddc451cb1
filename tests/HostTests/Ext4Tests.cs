using System.Text;
using Kernel.Abi;
using Kernel.Fs;

namespace HostTests;

/// <summary>A volume image file as the ext4 code's block device.</summary>
public sealed unsafe class FileExt4Device : IExt4Device, IDisposable
{
    readonly FileStream _f;
    public FileExt4Device(string path, bool ro = false) { _f = new FileStream(path, System.IO.FileMode.Open, ro ? FileAccess.Read : FileAccess.ReadWrite); ReadOnly = ro; }
    public long Bytes => _f.Length;
    public bool ReadOnly { get; }
    public bool Read(long offset, byte* dst, int len) { _f.Position = offset; return _f.Read(new Span<byte>(dst, len)) == len; }
    public bool Write(long offset, byte* src, int len) { _f.Position = offset; _f.Write(new ReadOnlySpan<byte>(src, len)); return true; }
    public bool Flush() { _f.Flush(); return true; }
    public void Dispose() => _f.Dispose();
}

/// <summary>
/// The ext4 on-disk code (fs/Ext4Format.cs, fs/Ext4Volume.cs) against volumes made by Debian's
/// mke2fs, checked afterwards by e2fsck -fn and read back with debugfs.
/// </summary>
public unsafe class Ext4Tests
{
    static Ext4Tests()
    {
        Ext4Volume.Clock = &HostClock;
    }

    static void HostClock(long* s, long* ns)
    {
        var t = DateTimeOffset.UtcNow;
        *s = t.ToUnixTimeSeconds();
        *ns = (t.ToUnixTimeMilliseconds() % 1000) * 1000000;
    }

    static (int Code, string Out, string Err) Tool(string exe, params string[] args) => TestUtil.Run(Sbin(exe), args, timeoutMs: 120000);

    /// <summary>e2fsprogs' tools live in /sbin, which a user's PATH may lack.</summary>
    static string Sbin(string tool) => File.Exists("/sbin/" + tool) ? "/sbin/" + tool : File.Exists("/usr/sbin/" + tool) ? "/usr/sbin/" + tool : tool;

    /// <summary>A volume made by mke2fs (ext4 defaults unless `type` says otherwise), populated from `from`.</summary>
    public static string MakeVolume(string size = "64M", string type = "ext4", string? from = null, string? extra = null)
    {
        string dir = TestUtil.TempDir();
        string img = Path.Combine(dir, "vol.img");
        var args = new List<string> { "-q", "-F", "-t", type };
        if (extra != null) args.AddRange(extra.Split(' '));
        if (from != null) { args.Add("-d"); args.Add(from); }
        args.Add(img); args.Add(size);
        var r = TestUtil.Run(Sbin("mke2fs"), args, timeoutMs: 120000);
        r.Code.Should().Be(0, r.Err);
        return img;
    }

    internal static void Fsck(string img)
    {
        var r = Tool("e2fsck", "-fn", img);
        r.Code.Should().Be(0, "e2fsck -fn must be clean:\n" + r.Out + r.Err);
    }

    static string Debugfs(string img, string cmd) => Tool("debugfs", "-R", cmd, img).Out;

    static Ext4Volume Mount(string img, FileExt4Device dev, bool ro = false)
    {
        Ext4Volume.Mount(dev, ro, out var v, out string msg, out _).Should().Be((Errno)0, msg);
        return v;
    }

    static Ext4File Walk(Ext4Volume v, string path)
    {
        v.GetFile(2, out var cur).Should().Be((Errno)0);
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            v.Lookup(cur, Encoding.UTF8.GetBytes(part), out uint ino, out _).Should().Be((Errno)0, path);
            v.GetFile(ino, out cur).Should().Be((Errno)0);
        }
        return cur;
    }

    static byte[] ReadAll(Ext4Volume v, Ext4File f)
    {
        var b = new byte[f.Size];
        fixed (byte* p = b) v.ReadData(f, 0, p, b.Length).Should().Be(b.Length);
        return b;
    }

    static long Write(Ext4Volume v, Ext4File f, long off, byte[] data)
    {
        long r;
        fixed (byte* p = data) r = v.WriteData(f, off, p, data.Length);
        v.OperationDone();
        return r;
    }

    static Ext4File Create(Ext4Volume v, Ext4File dir, string name, uint mode, string? target = null)
    {
        v.Create(dir, Encoding.UTF8.GetBytes(name), mode, 0, target == null ? default : Encoding.UTF8.GetBytes(target), 0, 0, out var f)
            .Should().Be((Errno)0, name);
        return f;
    }

    [Fact]
    public void Crc32cMatchesTheCastagnoliCheckValue()
    {
        var b = Encoding.ASCII.GetBytes("123456789");
        (~Ext4.Crc32c(0xffffffff, b, 0, b.Length)).Should().Be(0xE3069283);
        // crc16 (ANSI, reflected) check value with init 0: 0xBB3D
        Ext4.Crc16(0, b, 0, b.Length).Should().Be(0xBB3D);
    }

    [Fact]
    public void HtreeHashesMatchDebugfs()
    {
        string img = MakeVolume("8M");
        foreach (var (alg, ver) in new[] { ("half_md4", 1), ("tea", 2), ("legacy", 0) })
            foreach (var name in new[] { "a", "hello.txt", "file-0001234", "a-rather-long-name-that-spans-more-than-thirty-two-bytes.dat", "é✓" })
            {
                uint[] seed = [0x12345678, 0x9abcdef0, 0x0fedcba9, 0x87654321];
                string s = "12345678-9abc-def0-a9cb-ed0f21436587"; // the same words as a UUID (debugfs reads it little-endian per word)
                var o = Debugfs(img, $"dx_hash -h {alg} -s {s} {name}");
                var m = System.Text.RegularExpressions.Regex.Match(o, @"Hash of .* is 0x([0-9a-f]+)");
                m.Success.Should().BeTrue(o);
                uint want = Convert.ToUInt32(m.Groups[1].Value, 16);
                Ext4.DirHash(Encoding.UTF8.GetBytes(name), ver, SeedFromUuid(s)).Should().Be(want, $"{alg} {name}");
            }
    }

    static uint[] SeedFromUuid(string uuid)
    {
        var g = Guid.Parse(uuid).ToByteArray(bigEndian: true);
        var r = new uint[4];
        for (int i = 0; i < 4; i++) r[i] = BitConverter.ToUInt32(g, 4 * i);
        return r;
    }

    /// <summary>A tree of files of assorted sizes, a big directory, links and symlinks.</summary>
    static string MakeTree(out Dictionary<string, byte[]> files)
    {
        string root = TestUtil.TempDir();
        files = new();
        var rng = new Random(7);
        foreach (int size in new[] { 0, 1, 100, 4095, 4096, 4097, 70000, 1 << 20, 3 * 1000 * 1000 })
        {
            var b = new byte[size]; rng.NextBytes(b);
            string rel = $"data/f{size}";
            Directory.CreateDirectory(Path.Combine(root, "data"));
            File.WriteAllBytes(Path.Combine(root, rel), b);
            files[rel] = b;
        }
        Directory.CreateDirectory(Path.Combine(root, "big"));
        for (int i = 0; i < 1500; i++)
        {
            string rel = $"big/entry-with-a-longish-name-{i:D5}";
            var b = Encoding.ASCII.GetBytes($"file {i}\n");
            File.WriteAllBytes(Path.Combine(root, rel), b);
            files[rel] = b;
        }
        Directory.CreateDirectory(Path.Combine(root, "a/b/c"));
        File.WriteAllText(Path.Combine(root, "a/b/c/deep"), "deep\n");
        files["a/b/c/deep"] = Encoding.ASCII.GetBytes("deep\n");
        File.CreateSymbolicLink(Path.Combine(root, "short-link"), "a/b/c/deep");
        File.CreateSymbolicLink(Path.Combine(root, "long-link"), "a/b/c/../../b/c/../c/../../a/b/c/../../../a/b/c/deep-but-with-a-much-longer-target-path");
        return root;
    }

    [Fact]
    public void ReadsAVolumePopulatedByMke2fsIncludingAnHtreeDirectory()
    {
        string tree = MakeTree(out var files);
        string img = MakeVolume("64M", from: tree);
        // e2fsck -D builds htree indexes for the large directory.
        Tool("e2fsck", "-fyD", img);
        Fsck(img);
        Debugfs(img, "stat /big").Should().Contain("Flags: 0x81000", "the big directory is indexed");
        using var dev = new FileExt4Device(img, ro: true);
        var v = Mount(img, dev, ro: true);
        v.MetadataCsum.Should().BeTrue();
        v.Has64Bit.Should().BeTrue();
        foreach (var (rel, data) in files)
        {
            var f = Walk(v, rel);
            f.Size.Should().Be(data.Length, rel);
            ReadAll(v, f).Should().Equal(data, rel);
        }
        v.Lookup(Walk(v, "big"), "no-such-name"u8, out _, out _).Should().Be(Errno.ENOENT);
        var link = Walk(v, "short-link");
        var buf = new byte[4096];
        int n = v.ReadLink(link, buf);
        Encoding.ASCII.GetString(buf, 0, n).Should().Be("a/b/c/deep");
        n = v.ReadLink(Walk(v, "long-link"), buf);
        Encoding.ASCII.GetString(buf, 0, n).Should().EndWith("deep-but-with-a-much-longer-target-path");
        // Every inode in use has a valid checksum (GetFile checks it).
        var big = Walk(v, "big");
        long pos = 0; int count = 0;
        var name = new byte[256];
        while (v.ReadDir(big, ref pos, name, out uint ino, out _, out _)) { v.GetFile(ino, out _).Should().Be((Errno)0); count++; }
        count.Should().Be(1500);
    }

    [Fact]
    public void RefusesUnknownIncompatibleFeaturesByName()
    {
        string img = MakeVolume("16M", extra: "-O encrypt");
        using var dev = new FileExt4Device(img);
        Ext4Volume.Mount(dev, false, out _, out string msg, out uint features).Should().Be(Errno.EINVAL);
        msg.Should().Contain("incompatible");
        Ext4.IncompatName(features).Should().Be("encrypt");
    }

    /// <summary>inline_data (mke2fs -O inline_data -d): small files and directories kept in
    /// the inode (i_block, then the system.data attribute) read byte-exact, listed and looked
    /// up; the volume mounts read-only even when asked for read-write.</summary>
    [Fact]
    public void ReadsInlineFilesAndDirectoriesReadOnly()
    {
        string tree = TestUtil.TempDir();
        var files = new Dictionary<string, byte[]>();
        void Put(string rel, int n)
        {
            var b = new byte[n];
            for (int i = 0; i < n; i++) b[i] = (byte)('a' + (i * 7 + n) % 26);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, rel))!);
            File.WriteAllBytes(Path.Combine(tree, rel), b);
            files[rel] = b;
        }
        Put("tiny", 10); Put("sixty", 60); Put("hundred", 100); Put("blocks", 3000); Put("empty", 0);
        Put("small/a", 5); Put("small/bb", 70);
        for (int i = 0; i < 40; i++) Put($"many/file{i:D2}", 20);
        File.CreateSymbolicLink(Path.Combine(tree, "longlink"), new string('x', 80));
        string img = MakeVolume("16M", extra: "-O inline_data", from: tree);
        Debugfs(img, "stat /hundred").Should().Contain("Size of inline data", "the test needs an inline file");
        Debugfs(img, "stat /small").Should().Contain("Size of inline data", "and an inline directory");

        using var dev = new FileExt4Device(img);
        Ext4Volume.Mount(dev, false, out var v, out string msg, out _).Should().Be((Errno)0, msg);
        v.ReadOnly.Should().BeTrue();
        msg.Should().Contain("inline_data");
        foreach (var (rel, data) in files) ReadAll(v, Walk(v, rel)).Should().Equal(data, rel);
        foreach (var dir in new[] { "small", "many", "" })
        {
            var d = dir == "" ? Walk(v, "/") : Walk(v, dir);
            var names = new List<string>();
            long pos = 0; var name = new byte[256];
            while (v.ReadDir(d, ref pos, name, out uint ino, out _, out int nl)) names.Add(Encoding.UTF8.GetString(name, 0, nl));
            var want = Directory.EnumerateFileSystemEntries(Path.Combine(tree, dir)).Select(Path.GetFileName).ToList();
            if (dir == "") want.Add("lost+found");
            names.Should().BeEquivalentTo(want, dir);
        }
        v.Lookup(Walk(v, "small"), ".."u8.ToArray(), out uint parent, out _).Should().Be((Errno)0);
        parent.Should().Be(2u);
        var link = Walk(v, "longlink");
        ReadAll(v, link).Should().Equal(Encoding.ASCII.GetBytes(new string('x', 80)));
    }

    [Fact]
    public void MountsReadOnlyForUnknownRoCompatFeatures()
    {
        string img = MakeVolume("16M", extra: "-O quota");
        using var dev = new FileExt4Device(img);
        Ext4Volume.Mount(dev, false, out var v, out string msg, out uint features).Should().Be((Errno)0);
        v.ReadOnly.Should().BeTrue();
        msg.Should().Contain("read-only");
        Ext4.RoCompatName(features).Should().Be("quota");
    }

    [Theory]
    [InlineData("ext4", "64M", null)]
    [InlineData("ext4", "16M", "-b 1024")]
    [InlineData("ext2", "32M", null)]
    [InlineData("ext3", "32M", null)]
    public void WritesAVolumeE2fsckFindsClean(string type, string size, string? extra)
    {
        string tree = MakeTree(out var files);
        string img = MakeVolume(size, type, from: tree, extra: extra);
        if (type == "ext4") Tool("e2fsck", "-fyD", img);
        var rng = new Random(11);
        var expect = new Dictionary<string, byte[]>();
        using (var dev = new FileExt4Device(img))
        {
            var v = Mount(img, dev);
            v.GetFile(2, out var root);
            var d = Create(v, root, "new", 0x41ed);
            // Files of many sizes, written in uneven pieces.
            for (int i = 0; i < 40; i++)
            {
                var f = Create(v, d, $"file{i}", 0x81a4);
                var data = new byte[rng.Next(0, 200000)];
                rng.NextBytes(data);
                long off = 0;
                while (off < data.Length)
                {
                    int k = Math.Min(rng.Next(1, 70000), data.Length - (int)off);
                    Write(v, f, off, data[(int)off..((int)off + k)]).Should().Be(k);
                    off += k;
                }
                expect[$"new/file{i}"] = data;
            }
            // Many entries in the indexed directory (leaves fill up; the index is then dropped).
            var big = Walk(v, "big");
            for (int i = 0; i < 400; i++)
            {
                var f = Create(v, big, $"added-{i}", 0x81a4);
                Write(v, f, 0, Encoding.ASCII.GetBytes($"added {i}\n"));
                expect[$"big/added-{i}"] = Encoding.ASCII.GetBytes($"added {i}\n");
            }
            // Unlink half of the original entries.
            for (int i = 0; i < 1500; i += 2)
            {
                v.RemoveEntry(big, Encoding.ASCII.GetBytes($"entry-with-a-longish-name-{i:D5}"), out uint ino).Should().Be((Errno)0);
                v.GetFile(ino, out var f);
                v.DecLinks(f);
                v.FreeInode(f).Should().Be((Errno)0);
                files.Remove($"big/entry-with-a-longish-name-{i:D5}");
            }
            // Symlinks, fast and slow; a subdirectory; truncation; a fragmented file with a deep tree.
            Create(v, d, "fast", 0xa1ff, "file1");
            Create(v, d, "slow", 0xa1ff, new string('x', 300));
            Create(v, d, "sub", 0x41ed);
            var t = Walk(v, "new/file3");
            v.Truncate(t, 1000).Should().Be((Errno)0);
            expect["new/file3"] = expect["new/file3"].Length >= 1000 ? expect["new/file3"][..1000] : expect["new/file3"].Concat(new byte[1000 - expect["new/file3"].Length]).ToArray();
            var frag = Create(v, d, "fragmented", 0x81a4);
            var fdata = new byte[600 * v.BlockSize];
            // Every other block first (one extent each), then the gaps.
            for (int pass = 0; pass < 2; pass++)
                for (int blk = pass; blk < 600; blk += 2)
                {
                    var piece = new byte[v.BlockSize]; rng.NextBytes(piece);
                    piece.CopyTo(fdata, blk * v.BlockSize);
                    Write(v, frag, (long)blk * v.BlockSize, piece).Should().Be(v.BlockSize);
                }
            expect["new/fragmented"] = fdata;
            if (type != "ext2" && type != "ext3")
            {
                // A sparse file over 4 GiB, and fallocate.
                var huge = Create(v, d, "huge", 0x81a4);
                Write(v, huge, 5L << 30, "end"u8.ToArray()).Should().Be(3);
                huge.Size.Should().Be((5L << 30) + 3);
                var fa = Create(v, d, "falloc", 0x81a4);
                v.Fallocate(fa, 0, 1 << 20, false).Should().Be((Errno)0);
                Write(v, fa, 4096 * 3 + 10, "inside"u8.ToArray());
                var fe = new byte[1 << 20];
                "inside"u8.ToArray().CopyTo(fe, 4096 * 3 + 10);
                expect["new/falloc"] = fe;
            }
            v.Unmount().Should().BeTrue();
        }
        Fsck(img);
        foreach (var (rel, data) in expect)
        {
            string tmp = Path.Combine(TestUtil.TempDir(), "out");
            Tool("debugfs", "-R", $"dump /{rel} {tmp}", img);
            File.ReadAllBytes(tmp).Should().Equal(data, rel);
        }
        foreach (var (rel, data) in files.Take(50))
        {
            string tmp = Path.Combine(TestUtil.TempDir(), "out");
            Tool("debugfs", "-R", $"dump /{rel} {tmp}", img);
            File.ReadAllBytes(tmp).Should().Equal(data, rel);
        }
        Debugfs(img, "stat /new/slow").Should().Contain("Size: 300");
        if (type == "ext4") Debugfs(img, "stat /new/huge").Should().Contain("Size: 5368709123");
    }
}
