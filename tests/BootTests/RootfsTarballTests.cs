using System.Formats.Tar;
using System.IO.Compression;

namespace BootTests;

/// <summary>`ukpack build APP --fs rootfs.tar.gz` (`docker export` output is such a tar):
/// owners and modes come from the archive, hard links stay one inode with the right count
/// whichever name is looked at first, the program may be a path inside the archive, and what
/// cannot be packed is skipped with a warning.</summary>
public class RootfsTarballTests
{
    static readonly string Outside = Repo.TempDir();

    static string Tarball()
    {
        File.WriteAllText(Path.Combine(Outside, "secret"), "host file\n");
        var path = Path.Combine(Repo.TempDir(), "rootfs.tar.gz");
        using var fs = File.Create(path);
        using var gz = new GZipStream(fs, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        void Dir(string name) => tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0x1ed, Uid = 1000, Gid = 1001 });
        Dir("./");
        Dir("./bin/");
        Dir("./etc/");
        Dir("./data/");
        using (var bb = File.OpenRead("/bin/busybox"))
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "./bin/busybox") { Mode = (UnixFileMode)0x1ed, DataStream = bb });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "./bin/sh") { LinkName = "busybox" });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "./etc/greeting") { Mode = (UnixFileMode)0x180, Uid = 1000, Gid = 1001, DataStream = new MemoryStream("hello\n"u8.ToArray()) });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "./data/same") { LinkName = "./etc/greeting", Mode = (UnixFileMode)0x180, Uid = 1000, Gid = 1001 });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, "./dev-null") { DeviceMajor = 1, DeviceMinor = 3 });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "../escape") { DataStream = new MemoryStream("x"u8.ToArray()) });
        // A link to a directory outside the tree, then entries through it: never written there.
        tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "./out") { LinkName = Outside });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "./out/planted") { DataStream = new MemoryStream("x"u8.ToArray()) });
        tar.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "./stolen") { LinkName = "./out/secret" });
        return path;
    }

    [Fact]
    public void OwnersModesAndHardLinksComeFromTheArchive()
    {
        var tgz = Tarball();
        var img = Path.Combine(Repo.TempDir(), "tarball.img");
        var b = Ukpack.Run(["build", "/bin/busybox", "--fs", tgz, "-o", img, "-v", "--", "sh", "-c", "ls -ln /etc/greeting /data/same; stat -c '%i %h %a %u:%g' /data/same /etc/greeting; cat /data/same; ls /"]);
        b.Code.Should().Be(0, b.ToString());
        b.ErrText.Should().Contain("dev-null: skipped").And.Contain("escape: skipped").And.Contain("out/planted: skipped").And.Contain("stolen: skipped");
        File.Exists(Path.Combine(Outside, "planted")).Should().BeFalse("nothing is written through an archive's symbolic link");
        var r = Ukpack.Boot(img);
        r.Code.Should().Be(0, r.ToString());
        var lines = r.OutText.Split('\n');
        lines[0].Should().MatchRegex(@"^-rw------- +2 +1000 +1001 +6 .* /data/same$", r.ToString());
        lines[1].Should().MatchRegex(@"^-rw------- +2 +1000 +1001 +6 .* /etc/greeting$", r.ToString());
        var a = lines[2].Split(' ');
        var c = lines[3].Split(' ');
        a[0].Should().Be(c[0], "one inode");
        a[1..].Should().Equal("2", "600", "1000:1001");
        lines[4].Should().Be("hello");
        r.OutText.Should().NotContain("escape").And.NotContain("dev-null").And.NotContain("stolen");
    }

    [Fact]
    public void NotATarball_IsAClearError()
    {
        var junk = Path.Combine(Repo.TempDir(), "junk.tar");
        File.WriteAllBytes(junk, Enumerable.Repeat((byte)'z', 2000).ToArray());
        var r = Ukpack.Run(["build", "/bin/busybox", "--fs", junk, "-o", Path.Combine(Repo.TempDir(), "j.img")]);
        r.Code.Should().Be(1, r.ToString());
        r.ErrText.Should().Contain("not a tar archive");
    }
}
