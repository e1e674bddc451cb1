namespace BootTests;

using System.Text;
using static Ext4BootTests;

/// <summary>
/// Extended attributes on an ext4 volume: the compat program (compat-suite/src/xattr_basic.c)
/// run on a --volume gives its native output, and what it left is what debugfs reads and
/// e2fsck accepts; attributes debugfs wrote on the host are read in the guest, and the
/// guest's (in the inode and in a block, an ACL, a removal) are read by debugfs afterwards.
/// </summary>
public class XattrBootTests
{
    static Host.Result Debugfs(string vol, string cmd, bool write = false) =>
        Host.Run(Sbin("debugfs"), write ? ["-w", "-R", cmd, vol] : ["-R", cmd, vol]);

    static string MakeVolume()
    {
        var vol = Path.Combine(Repo.TempDir(), "xattr.img");
        // 4 KiB blocks: the compat program's attributes need more than a 1 KiB block holds.
        Host.Run(Sbin("mke2fs"), ["-q", "-F", "-t", "ext4", "-b", "4096", vol, "64M"]).Code.Should().Be(0);
        return vol;
    }

    [Fact]
    public void TheCompatProgramGivesLinuxsResultsOnAnExt4Volume()
    {
        var src = Path.Combine(Repo.Root, "compat-suite/src");
        var exe = Programs.Compile("xattr_compat", File.ReadAllText(Path.Combine(src, "xattr_basic.c")), "-I", src);
        var native = Host.Run(exe, ["/tmp"], null, TimeSpan.FromSeconds(60), "/");
        native.Code.Should().Be(0, "the program passes natively (as root)\n" + native);
        var vol = MakeVolume();
        var img = Path.Combine(Repo.TempDir(), "xattr.img.run");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Run(["run", img, "--timeout", "240", "--volume", vol + ":/v", "--", "/v", "keep"]);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(native.OutText, r.ToString());
        Fsck(vol);
        string ls = Debugfs(vol, "ls /").OutText;
        var m = System.Text.RegularExpressions.Regex.Match(ls, @"compat-xattr-\w+");
        m.Success.Should().BeTrue(ls);
        string list = Debugfs(vol, $"ea_list /{m.Value}/file").OutText;
        foreach (var n in new[] { "user.a (6) = \"world!\"", "user.empty (0)", "user.via (4) = \"link\"", "trusted.t (2) = \"tv\"", "security.compat (2) = \"sv\"" })
            list.Should().Contain(n, list);
        list.Should().NotContain("user.b ");
        Debugfs(vol, $"ea_list /{m.Value}/link").OutText.Should().NotContain("trusted.s", "it was removed");
        Debugfs(vol, $"ea_list /{m.Value}/fifo").OutText.Should().Contain("trusted.f (1) = \"x\"");
    }

    const string GuestC = """
        #include <stdio.h>
        #include <string.h>
        #include <sys/xattr.h>
        #include <fcntl.h>
        #include <unistd.h>
        static void show(const char *p, const char *n)
        {
            char v[4096];
            long r = getxattr(p, n, v, sizeof v);
            if (r < 0) { printf("%s %s: error\n", p, n); return; }
            if (r > 40) printf("%s %s: %ld bytes, first %c last %c\n", p, n, r, v[0], v[r - 1]);
            else printf("%s %s: %.*s\n", p, n, (int)r, v);
        }
        int main(void)
        {
            char list[1024];
            long n = listxattr("/v/pre", list, sizeof list);
            printf("list:");
            for (long i = 0; i < n; i += strlen(list + i) + 1) printf(" %s", list + i);
            printf("\n");
            show("/v/pre", "user.host");
            show("/v/pre", "user.hostbig");
            show("/v/pre", "trusted.host");
            setxattr("/v/pre", "user.guest", "from the guest", 14, 0);
            removexattr("/v/pre", "trusted.host");
            close(open("/v/new", O_CREAT | O_WRONLY, 0644));
            char big[3000];
            memset(big, 'G', sizeof big);
            setxattr("/v/new", "user.small", "tiny", 4, 0);
            setxattr("/v/new", "user.big", big, sizeof big, 0);
            /* user::rw- group::r-- other::r-- */
            unsigned char acl[4 + 3 * 8] = {2, 0, 0, 0, 1, 0, 6, 0, 255, 255, 255, 255, 4, 0, 4, 0, 255, 255, 255, 255, 32, 0, 4, 0, 255, 255, 255, 255};
            printf("acl set: %d\n", setxattr("/v/new", "system.posix_acl_access", acl, sizeof acl, 0));
            unsigned char back[64];
            long r = getxattr("/v/new", "system.posix_acl_access", back, sizeof back);
            printf("acl back: %s\n", r == sizeof acl && !memcmp(back, acl, sizeof acl) ? "same" : "different");
            return 0;
        }
        """;

    [Fact]
    public void HostAndGuestReadEachOthersAttributes()
    {
        var vol = MakeVolume();
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "data"), "data");
        File.WriteAllText(Path.Combine(dir, "hostbig"), new string('H', 2000));
        Debugfs(vol, $"write {Path.Combine(dir, "data")} pre", true).Code.Should().Be(0);
        Debugfs(vol, "ea_set /pre user.host written-by-debugfs", true).Code.Should().Be(0);
        Debugfs(vol, "ea_set /pre trusted.host t", true).Code.Should().Be(0);
        Debugfs(vol, $"ea_set -f {Path.Combine(dir, "hostbig")} /pre user.hostbig", true).Code.Should().Be(0);
        var exe = Programs.Compile("xattr_guest", GuestC);
        var img = Path.Combine(Repo.TempDir(), "xattr_guest.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Run(["run", img, "--timeout", "240", "--volume", vol + ":/v"]);
        r.Code.Should().Be(0, r.ToString());
        var lines = r.OutText.Split('\n');
        lines[0].Split(' ').Skip(1).OrderBy(s => s, StringComparer.Ordinal).Should().Equal("trusted.host", "user.host", "user.hostbig");
        r.OutText.Should().Contain("/v/pre user.host: written-by-debugfs\n")
            .And.Contain("/v/pre user.hostbig: 2000 bytes, first H last H\n")
            .And.Contain("/v/pre trusted.host: t\n")
            .And.Contain("acl set: 0\n").And.Contain("acl back: same\n");
        Fsck(vol);
        string pre = Debugfs(vol, "ea_list /pre").OutText;
        pre.Should().Contain("user.guest (14) = \"from the guest\"").And.Contain("user.hostbig (2000)").And.NotContain("trusted.host");
        string nw = Debugfs(vol, "ea_list /new").OutText;
        nw.Should().Contain("user.small (4) = \"tiny\"").And.Contain("user.big (3000)").And.Contain("system.posix_acl_access");
        var tmp = Path.Combine(dir, "big.out");
        Debugfs(vol, $"ea_get -f {tmp} /new user.big");
        File.ReadAllText(tmp).Should().Be(new string('G', 3000));
    }
}
