using System.Text;
using Kernel.Fs;
using Ukpack;

namespace HostTests;

public class RootFsTests
{
    static string MakeTree()
    {
        var d = TestUtil.TempDir();
        Directory.CreateDirectory(Path.Combine(d, "bin"));
        Directory.CreateDirectory(Path.Combine(d, "etc", "sub"));
        File.WriteAllText(Path.Combine(d, "etc", "motd"), "hello\n");
        File.WriteAllBytes(Path.Combine(d, "bin", "big"), Enumerable.Range(0, 10000).Select(i => (byte)i).ToArray());
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(Path.Combine(d, "bin", "big"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(d, "empty"), "");
        File.CreateSymbolicLink(Path.Combine(d, "bin", "link"), "../etc/motd");
        File.CreateSymbolicLink(Path.Combine(d, "dangling"), "/nowhere");
        TestUtil.Run("/bin/ln", [Path.Combine(d, "etc", "motd"), Path.Combine(d, "etc", "motd2")]).Code.Should().Be(0);
        File.SetLastWriteTimeUtc(Path.Combine(d, "etc", "motd"), new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        return d;
    }

    static Dictionary<string, (RootFsEntry E, int Index)> ReadAll(byte[] a)
    {
        RootFsReader.Validate(a, out var h).Should().Be(RootFsError.None);
        var paths = new string[h.Count];
        var r = new Dictionary<string, (RootFsEntry, int)>();
        for (uint i = 0; i < h.Count; i++)
        {
            RootFsReader.GetEntry(a, i, out var e);
            if (i > 0) e.Parent.Should().BeLessThan(i);
            paths[i] = i == 0 ? "" : paths[e.Parent] + "/" + Encoding.UTF8.GetString(RootFsReader.Name(a, ref h, ref e));
            r[i == 0 ? "/" : paths[i]] = (e, (int)i);
        }
        return r;
    }

    [Fact]
    public void RoundTripsTree()
    {
        var d = MakeTree();
        var a = RootFsBuilder.FromDirectory(d).ToArray();
        var m = ReadAll(a);
        m.Keys.Should().BeEquivalentTo(["/", "/bin", "/etc", "/etc/sub", "/empty", "/dangling", "/bin/big", "/bin/link", "/etc/motd", "/etc/motd2"]);

        var big = m["/bin/big"].E;
        RootFsFormat.IsRegular(big.Mode).Should().BeTrue();
        (big.Mode & 0xfff).Should().Be(0x1c0); // 0700
        (big.DataOffset % 4096).Should().Be(0);
        RootFsReader.Data(a, ref big).ToArray().Should().Equal(File.ReadAllBytes(Path.Combine(d, "bin", "big")));

        var link = m["/bin/link"].E;
        RootFsFormat.IsSymlink(link.Mode).Should().BeTrue();
        Encoding.UTF8.GetString(RootFsReader.Data(a, ref link)).Should().Be("../etc/motd");

        var motd = m["/etc/motd"].E;
        var motd2 = m["/etc/motd2"].E;
        motd.Ino.Should().Be(motd2.Ino);
        motd2.DataOffset.Should().Be(motd.DataOffset);
        motd2.DataSize.Should().Be(6);
        motd.MtimeSec.Should().Be(new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds());
        m["/bin/big"].E.Ino.Should().NotBe(motd.Ino);
        m.Values.Select(v => v.E.Ino).Distinct().Count().Should().Be(m.Count - 1);

        RootFsFormat.IsDir(m["/etc/sub"].E.Mode).Should().BeTrue();
        m["/empty"].E.DataSize.Should().Be(0);
        // Breadth-first: children of / come before grandchildren.
        m["/bin"].Index.Should().BeLessThan(m["/bin/big"].Index);
        m["/empty"].Index.Should().BeLessThan(m["/etc/sub"].Index);
        // Lookup by name.
        RootFsReader.Validate(a, out var h);
        RootFsReader.Lookup(a, ref h, 0, "etc"u8).Should().Be(m["/etc"].Index);
        RootFsReader.Lookup(a, ref h, (uint)m["/etc"].Index, "motd2"u8).Should().Be(m["/etc/motd2"].Index);
        RootFsReader.Lookup(a, ref h, 0, "nope"u8).Should().Be(-1);
    }

    [Fact]
    public void IsDeterministic()
    {
        var d = MakeTree();
        RootFsBuilder.FromDirectory(d).ToArray().Should().Equal(RootFsBuilder.FromDirectory(d).ToArray());
    }

    [Fact]
    public void SynthesizedFilesAndDirs()
    {
        var b = new RootFsBuilder();
        b.AddFileIfMissing("/etc/hostname", "ukvm\n").Should().BeTrue();
        b.AddFileIfMissing("/etc/hostname", "other\n").Should().BeFalse();
        b.MkdirP("/a/b/c").Should().NotBeNull();
        b.MkdirP("/etc/hostname/x").Should().BeNull();
        var m = ReadAll(b.ToArray());
        m.Keys.Should().Contain(["/etc/hostname", "/a/b/c"]);
        var e = m["/etc/hostname"].E;
        RootFsReader.Data(b.ToArray(), ref e).ToArray().Should().Equal("ukvm\n"u8.ToArray());
    }

    [Fact]
    public void ValidateRejectsCorruption()
    {
        var a = new RootFsBuilder();
        a.AddFileIfMissing("/f", "x");
        var good = a.ToArray();
        RootFsReader.Validate(good, out _).Should().Be(RootFsError.None);
        RootFsReader.Validate(good[..20], out _).Should().Be(RootFsError.TooSmall);
        var bad = (byte[])good.Clone(); bad[0] ^= 1;
        RootFsReader.Validate(bad, out _).Should().Be(RootFsError.BadMagic);
        bad = (byte[])good.Clone(); bad[8] = 200;
        RootFsReader.Validate(bad, out _).Should().Be(RootFsError.EntriesOutOfBounds);
        bad = (byte[])good.Clone(); bad[32 + 64 + 16] = 1; // entry 1's parent = itself
        RootFsReader.Validate(bad, out _).Should().Be(RootFsError.BadParent);
        RootFsReader.Validate(good[..(good.Length - 1)], out _).Should().Be(RootFsError.DataOutOfBounds);
        bad = (byte[])good.Clone(); bad[32 + 64 + 49] = 0x08; // data offset 4096 -> 2048: in bounds, unaligned
        RootFsReader.Validate(bad, out _).Should().Be(RootFsError.DataMisaligned);
    }
}
