using Ukpack;

namespace HostTests;

/// <summary>ukpack.json (tools/ukpack/Config.cs, docs/ukpack-config.md).</summary>
public class ConfigTests
{
    static string Write(string text, string name = "ukpack.json")
    {
        var d = TestUtil.TempDir();
        File.WriteAllText(Path.Combine(d, "prog"), "x");
        Directory.CreateDirectory(Path.Combine(d, "www"));
        var f = Path.Combine(d, name);
        File.WriteAllText(f, text);
        return f;
    }

    [Fact]
    public void AllKeys()
    {
        var f = Write("""
            {
              // comment
              "program": "prog",
              "args": ["a", "b c"],
              "env": {"LANG": "C.UTF-8", "PATH": "/bin"},
              "files": {"/srv/www": "www"},
              "output": "out.img",
              "memory": "256M", "cpus": 2, "machine": "q35", "accel": "tcg",
              "rng": true, "timeout": 30, "log": 2,
              "ports": ["8080:80", "0.0.0.0:5353:53/udp"],
              "network": {"mode": "user", "ip": "10.0.2.20/24", "gateway": "10.0.2.2", "dns": "10.0.2.3"},
            }
            """);
        var c = UkpackConfig.Load(f);
        var dir = Path.GetDirectoryName(f)!;
        c.Program.Should().Be(Path.Combine(dir, "prog"));
        c.Args.Should().Equal("a", "b c");
        c.Env.Should().Equal("LANG=C.UTF-8", "PATH=/bin");
        c.Files.Should().Equal((Guest: "/srv/www", Host: Path.Combine(dir, "www")));
        c.ImagePath.Should().Be(Path.Combine(dir, "out.img"));
        (c.Memory, c.Cpus, c.Machine, c.Accel, c.Rng, c.Timeout, c.Log).Should().Be(("256M", 2, "q35", "tcg", true, 30.0, 2));
        c.Net!.Mode.Should().Be("user");
        c.Net.Ports.Should().Equal(new PortForward("127.0.0.1", 8080, 80, false), new PortForward("0.0.0.0", 5353, 53, true));
        (c.Net.Ip, c.Net.Gateway, c.Net.Dns).Should().Be(("10.0.2.20/24", "10.0.2.2", "10.0.2.3"));
        var tap = UkpackConfig.Load(Write("{\"program\": \"prog\", \"network\": \"tap=tap0\"}")).Net!;
        (tap.Mode, tap.Tap).Should().Be(("tap", "tap0"));
        UkpackConfig.Load(Write("{\"program\": \"prog\"}")).Net.Should().BeNull();
    }

    [Fact]
    public void VolumesAreFilesMountedAtGuestPaths()
    {
        var f = Write("""
            { "program": "prog", "volumes": ["state.img:/var/lib/app", "seed.img:/srv/seed:ro"] }
            """);
        var c = UkpackConfig.Load(f);
        var dir = Path.GetDirectoryName(f)!;
        c.Volumes.Should().Equal(Path.Combine(dir, "state.img") + ":/var/lib/app", Path.Combine(dir, "seed.img") + ":/srv/seed:ro");
        File.WriteAllBytes(Path.Combine(dir, "state.img"), new byte[4096]);
        File.WriteAllBytes(Path.Combine(dir, "seed.img"), new byte[4096]);
        var v = c.Volumes.Select(VolumeSpec.Parse).ToList();
        (v[0].GuestPath, v[0].ReadOnly, v[1].GuestPath, v[1].ReadOnly).Should().Be(("/var/lib/app", false, "/srv/seed", true));
        // Attached after two --disks: /dev/vdc and /dev/vdd; the paths in hex.
        VolumeSpec.KernelOption(v, 2).Should().Be(" volumes=2:rw:2f7661722f6c69622f617070,3:ro:2f7372762f73656564");
        var bad = () => VolumeSpec.Parse(Path.Combine(dir, "state.img") + ":/");
        bad.Should().Throw<UkpackException>().Which.Message.Should().Contain("cannot be mounted on /");
        bad = () => VolumeSpec.Parse(Path.Combine(dir, "state.img"));
        bad.Should().Throw<UkpackException>().Which.Message.Should().Contain("FILE:/guest/path");
    }

    [Fact]
    public void RootDiskKeys()
    {
        var c = UkpackConfig.Load(Write("{ \"program\": \"prog\", \"rootDisk\": true, \"rootDiskSize\": \"4G\" }"));
        (c.RootDisk, c.RootDiskSize).Should().Be((true, "4G"));
        RootDisk.ParseSize(c.RootDiskSize!, "\"rootDiskSize\"").Should().Be(4L << 30);
        RootDisk.ParseSize("1048576", "--root-disk-size").Should().Be(1 << 20);
        var bad = () => RootDisk.ParseSize("lots", "--root-disk-size");
        bad.Should().Throw<UkpackException>().Which.Message.Should().Be("--root-disk-size lots: expected a size such as 512M or 2G");
        // The default: the tree's blocks plus 1/16, its inodes, the journal, 96 MiB of room; in MiB.
        RootDisk.DefaultSize(0, 0).Should().Be(112L << 20);
        RootDisk.DefaultSize(256 * 256, 1000).Should().Be((256 + 16 + 1 + 96 + 16) * (1L << 20));
    }

    [Theory]
    [InlineData("{\n  \"program\": \"prog\",\n  \"rootDisk\": \"yes\"\n}", ":3: \"rootDisk\" must be true or false")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"rootDiskSize\": \"big\"\n}", ":3: \"rootDiskSize\" must be a size")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"progam\": 1\n}", ":3: unknown key \"progam\"")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"cpus\": \"two\"\n}", ":3: \"cpus\" must be an integer")]
    [InlineData("{\n  \"program\": \"prog\",\n\n  \"memory\": \"lots\"\n}", ":4: \"memory\" must be a size")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"ports\": [\"80:x\"]\n}", ":3: \"ports\": 80:x: expected [IP:]HOSTPORT:GUESTPORT")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"network\": {\"mode\": \"user\",\n  \"mask\": \"x\"}\n}", ":4: \"network\": unknown key \"mask\"")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"network\": \"bridge\"\n}", ":3: --net bridge: expected none, user or tap=NAME")]
    [InlineData("{\n  \"program\": \"prog\"\n  \"args\": []\n}", ":3: not valid JSON")]
    [InlineData("{\n  \"args\": []\n}", ":1: \"program\" is required")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"files\": {\n    \"/a\": \"www\",\n    \"rel\": \"www\"\n  }\n}", ":5: \"files\": \"rel\" must be an absolute path")]
    [InlineData("{\n  \"program\": \"prog\",\n  \"env\": {\"A=B\": \"c\"}\n}", ":3: \"env\": \"A=B\" is not a valid variable name")]
    [InlineData("[1]", ":1: the configuration must be a JSON object")]
    public void ErrorsNameTheLine(string text, string expected)
    {
        var f = Write(text);
        var act = () => UkpackConfig.Load(f);
        act.Should().Throw<UkpackException>().Which.Message.Should().StartWith(f + expected);
    }

    [Fact]
    public void RunTimeEnvironmentChangesOneVariable()
    {
        UkpackConfig.MergeEnv(["PATH=/bin", "HOME=/"], ["HOME=/root", "NEW=a=b"]).Should().Equal("PATH=/bin", "HOME=/root", "NEW=a=b");
        var act = () => UkpackConfig.MergeEnv([], ["NOEQUALS"]);
        act.Should().Throw<UkpackException>().WithMessage("*expected K=V*");
        QemuRunner.KernelCommandLine(1, null, envOverride: ["A=1"]).Should().Be("log=1 env=" + Convert.ToHexStringLower("A=1\0"u8.ToArray()));
        QemuRunner.KernelCommandLine(1, null, strace: true).Should().Be("log=1 strace=1");
    }

    [Fact]
    public void GdbPort_DefaultsAndIsChecked()
    {
        GdbSession.ParsePort("").Should().Be(GdbSession.DefaultPort);
        GdbSession.ParsePort("4321").Should().Be(4321);
        foreach (var bad in new[] { "0", "65536", "-1", "x", "12a" })
            FluentActions.Invoking(() => GdbSession.ParsePort(bad)).Should().Throw<UkpackException>().WithMessage("*not a TCP port*");
        GdbSession.QemuArgs(4321).Should().Equal("-gdb", "tcp:127.0.0.1:4321", "-S");
    }
}
