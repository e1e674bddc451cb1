using System.Text;
using Kernel.Fs;
using Kernel.Abi;
using Ukpack;

namespace HostTests;

/// The image filesystem's path walk (fs/ImageFs.cs, the same source the kernel's loader
/// uses): absolute and relative components, `.` and `..`, symlinks with ELOOP after 40,
/// trailing slashes, ENOTDIR and ENOENT.
public unsafe class PathWalkTests
{
    static ImageFs Build()
    {
        var d = TestUtil.TempDir();
        Directory.CreateDirectory(Path.Combine(d, "usr", "lib"));
        File.WriteAllText(Path.Combine(d, "usr", "lib", "libx.so"), "x");
        File.CreateSymbolicLink(Path.Combine(d, "lib"), "usr/lib");
        File.CreateSymbolicLink(Path.Combine(d, "abs"), "/usr/lib/libx.so");
        File.CreateSymbolicLink(Path.Combine(d, "loop1"), "loop2");
        File.CreateSymbolicLink(Path.Combine(d, "loop2"), "loop1");
        File.WriteAllText(Path.Combine(d, "file"), "f");
        // A chain of 41 symlinks: one more than Linux follows.
        for (int i = 0; i < 41; i++) File.CreateSymbolicLink(Path.Combine(d, $"c{i}"), i == 40 ? "file" : $"c{i + 1}");
        var bytes = RootFsBuilder.FromDirectory(d).ToArray();
        // ImageFs keeps a raw pointer into the archive, as the kernel does into its boot module.
        System.Runtime.InteropServices.GCHandle.Alloc(bytes, System.Runtime.InteropServices.GCHandleType.Pinned);
        ImageFs.Open(bytes, out var fs).Should().BeNull();
        return fs;
    }

    static readonly ImageFs Fs = Build();

    static Errno Walk(string path, bool follow, out string data)
    {
        var e = Fs.Lookup(Encoding.UTF8.GetBytes(path), follow, out uint entry);
        data = e == 0 ? Encoding.UTF8.GetString(Fs.Data(entry)) : "";
        return e;
    }

    [Theory]
    [InlineData("/usr/lib/libx.so", "x")]
    [InlineData("/lib/libx.so", "x")]
    [InlineData("/usr/./lib/../lib/libx.so", "x")]
    [InlineData("/../../usr/lib/libx.so", "x")]
    [InlineData("//usr//lib//libx.so", "x")]
    [InlineData("/abs", "x")]
    [InlineData("/c1", "f")]
    public void Resolves(string path, string content)
    {
        Walk(path, true, out var data).Should().Be((Errno)0, path);
        data.Should().Be(content);
    }

    [Theory]
    [InlineData("/nope", Errno.ENOENT)]
    [InlineData("/usr/lib/nope.so", Errno.ENOENT)]
    [InlineData("/file/x", Errno.ENOTDIR)]
    [InlineData("/loop1", Errno.ELOOP)]
    [InlineData("/c0", Errno.ELOOP)]
    public void Fails(string path, Errno expected) => Walk(path, true, out _).Should().Be(expected, path);

    [Fact]
    public void LastSymlinkNotFollowedOnRequest()
    {
        Walk("/abs", false, out var target).Should().Be((Errno)0);
        target.Should().Be("/usr/lib/libx.so");
        Walk("/lib/", false, out _).Should().Be((Errno)0, "a trailing slash follows the last component");
    }
}
