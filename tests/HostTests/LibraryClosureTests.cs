using Ukpack;

namespace HostTests;

/// <summary>ukpack build's library closure (tools/ukpack/LibraryClosure.cs) on small trees
/// built here with gcc: plugins with RUNPATH $ORIGIN, libraries from this machine, missing
/// ones, and the SONAME rule.</summary>
public class LibraryClosureTests
{
    static string Gcc() => TestUtil.Which("gcc") ?? throw new InvalidOperationException("gcc is required (.ci/run installs it)");

    static void Cc(string output, string source, params string[] flags)
    {
        var dir = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(dir);
        var src = output + ".c";
        File.WriteAllText(src, source);
        var r = TestUtil.Run(Gcc(), [.. flags, "-o", output, src]);
        r.Code.Should().Be(0, r.Err);
        File.Delete(src);
    }

    /// <summary>tree/usr/lib/plug/plugin.so needs libdep.so.1 (through RUNPATH $ORIGIN/../deps,
    /// inside the tree) and libm.so.6 (on this machine only); tree/usr/lib/plug/broken.so needs
    /// a library that exists nowhere.</summary>
    static (string Tree, string Prog) MakeTree()
    {
        var d = TestUtil.TempDir();
        var tree = Path.Combine(d, "tree");
        Cc(Path.Combine(tree, "usr/lib/deps/libdep.so.1"), "int dep(int x){return x+1;}\n", "-shared", "-fPIC", "-Wl,-soname,libdep.so.1");
        Cc(Path.Combine(tree, "usr/lib/plug/plugin.so"), "#include <math.h>\nint dep(int);\ndouble plug(double x){return sqrt(x)+dep(1);}\n",
            "-shared", "-fPIC", "-Wl,--no-as-needed", "-L" + Path.Combine(tree, "usr/lib/deps"), "-l:libdep.so.1", "-lm",
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../deps");
        Cc(Path.Combine(d, "libghost.so.7"), "int ghost(void){return 7;}\n", "-shared", "-fPIC", "-Wl,-soname,libghost.so.7");
        Cc(Path.Combine(tree, "usr/lib/plug/broken.so"), "int ghost(void);\nint b(void){return ghost();}\n",
            "-shared", "-fPIC", "-Wl,--no-as-needed", "-L" + d, "-l:libghost.so.7");
        var prog = Path.Combine(d, "prog");
        Cc(prog, "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n", "-O1");
        return (tree, prog);
    }

    [Fact]
    public void PluginLibrariesFromTheTreeAndFromThisMachine()
    {
        var (tree, prog) = MakeTree();
        var c = LibraryClosure.Resolve("/app/prog", prog, tree, ownRoot: false, [], null);
        var added = c.AddedFiles.Select(a => a.GuestPath).ToList();
        // The program's own: interpreter and libc, from this machine.
        added.Should().Contain("/lib64/ld-linux-x86-64.so.2");
        added.Should().Contain(p => p.EndsWith("/libc.so.6"));
        // The plugin's: libm from this machine (with the reason), libdep found in the tree
        // through RUNPATH $ORIGIN/../deps, so not added.
        var libm = c.AddedFiles.Single(a => a.GuestPath.EndsWith("/libm.so.6"));
        libm.Reason.Should().Contain("needed by /usr/lib/plug/plugin.so");
        added.Should().NotContain(p => p.Contains("libdep"));
        c.Objects.Should().ContainKey("/usr/lib/deps/libdep.so.1");
        // libm needs ld-linux-x86-64.so.2: the interpreter already has that SONAME.
        added.Count(p => p.EndsWith("ld-linux-x86-64.so.2")).Should().Be(1);
        // A module's missing library is a warning naming it and its user.
        c.Warnings.Should().ContainSingle(w => w.Contains("libghost.so.7") && w.Contains("/usr/lib/plug/broken.so"));
    }

    /// <summary>glibc's pthread_exit and pthread_cancel dlopen libgcc_s.so.1 (else abort):
    /// a program linked with libc gets it too; a static one does not.</summary>
    [Fact]
    public void GlibcGetsItsUnwinder()
    {
        File.Exists("/lib/x86_64-linux-gnu/libgcc_s.so.1").Should().BeTrue("Debian's libgcc-s1 is installed with gcc");
        var (tree, prog) = MakeTree();
        var c = LibraryClosure.Resolve("/app/prog", prog, tree, ownRoot: false, [], null);
        var gcc = c.AddedFiles.Single(a => a.GuestPath.EndsWith("/libgcc_s.so.1"));
        gcc.Reason.Should().Contain("pthread_exit");
        var d = TestUtil.TempDir();
        var starter = Path.Combine(d, "starter");
        Cc(starter, "int main(void){return 0;}\n", "-static");
        LibraryClosure.Resolve("/app/starter", starter, null, ownRoot: false, [], null).AddedFiles.Should().BeEmpty();
    }

    /// <summary>A static program that runs a dynamic one of the tree (a shell starting
    /// PostgreSQL's binaries): the tree program's interpreter is packed too.</summary>
    [Fact]
    public void ATreeProgramGetsItsInterpreter()
    {
        var d = TestUtil.TempDir();
        var tree = Path.Combine(d, "tree");
        Cc(Path.Combine(tree, "usr/bin/tool"), "#include <stdio.h>\nint main(void){puts(\"tool\");return 0;}\n", "-O1");
        var prog = Path.Combine(d, "starter");
        Cc(prog, "int main(void){return 0;}\n", "-static");
        var c = LibraryClosure.Resolve("/app/starter", prog, tree, ownRoot: false, [], null);
        var interp = c.AddedFiles.Single(a => a.GuestPath == "/lib64/ld-linux-x86-64.so.2");
        interp.Reason.Should().Contain("/usr/bin/tool");
        c.AddedFiles.Should().Contain(a => a.GuestPath.EndsWith("/libc.so.6"));
    }

    [Fact]
    public void LdLibraryPathOfTheImageIsSearched()
    {
        var (tree, prog) = MakeTree();
        Directory.CreateDirectory(Path.Combine(tree, "opt/ghost"));
        File.Move(Path.Combine(Path.GetDirectoryName(prog)!, "libghost.so.7"), Path.Combine(tree, "opt/ghost/libghost.so.7"));
        var c = LibraryClosure.Resolve("/app/prog", prog, tree, ownRoot: false, ["LD_LIBRARY_PATH=/opt/ghost"], null);
        c.Warnings.Should().BeEmpty();
        c.Objects.Should().ContainKey("/opt/ghost/libghost.so.7");
    }

    [Fact]
    public void ACompleteRootTakesNothingFromThisMachine()
    {
        var (tree, prog) = MakeTree();
        var c = LibraryClosure.Resolve("/app/prog", prog, tree, ownRoot: true, [], null);
        c.AddedFiles.Should().BeEmpty();
        c.Warnings.Should().Contain(w => w.Contains("libm.so.6"));
    }

    [Fact]
    public void TheProgramsMissingLibraryIsAnError()
    {
        var (tree, _) = MakeTree();
        var prog = Path.Combine(tree, "usr/lib/plug/broken.so");
        var act = () => LibraryClosure.Resolve("/usr/lib/plug/broken.so", prog, null, ownRoot: false, [], null);
        act.Should().Throw<UkpackException>().WithMessage("*libghost.so.7 not found*");
    }

    /// <summary>Debian's python3.11 with its standard library: _hashlib's libcrypto.so.3 is
    /// packed (the example). python3 is installed by .ci/run.</summary>
    [Fact]
    public void PythonExtensionModulesGetTheirLibraries()
    {
        const string py = "/usr/bin/python3.11";
        File.Exists(py).Should().BeTrue("Debian's python3.11 is installed by .ci/run (python3-minimal, libpython3.11-stdlib)");
        var lib = "/usr/lib/python3.11";
        var d = TestUtil.TempDir();
        var tree = Path.Combine(d, "root");
        var dyn = Path.Combine(tree, "usr/lib/python3.11/lib-dynload");
        Directory.CreateDirectory(dyn);
        foreach (var f in Directory.GetFiles(Path.Combine(lib, "lib-dynload"), "_hashlib*.so"))
            File.Copy(f, Path.Combine(dyn, Path.GetFileName(f)));
        var c = LibraryClosure.Resolve("/app/python3.11", py, tree, ownRoot: false, [], null);
        c.AddedFiles.Should().Contain(a => a.GuestPath.EndsWith("/libcrypto.so.3") && a.Reason.Contains("_hashlib"));
    }
}
