using FluentAssertions;
using Xunit;

namespace BootTests;

/// <summary>Processes with an unmodified interpreter: Debian's python3.11 (dynamically
/// linked, its standard library packed with --fs) using subprocess (run, check_output with a
/// shell pipeline, Popen with pipes), os.fork and a multiprocessing Pool of 2, compared with
/// the same script run on this machine.</summary>
public class ProcessBootTests
{
    const string Python = "/usr/bin/python3.11";

    const string Script = """
        import multiprocessing, os, subprocess
        print(subprocess.run(["/bin/echo", "hello"], capture_output=True).stdout)
        print(subprocess.check_output("echo a b c | wc -w", shell=True).strip())
        p = subprocess.Popen(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        out, _ = p.communicate(b"through cat\n")
        print(out, p.returncode)
        print(subprocess.run(["/bin/sh", "-c", "exit 3"]).returncode)
        try:
            subprocess.check_output(["/bin/sh", "-c", "kill -TERM $$"])
        except subprocess.CalledProcessError as e:
            print("killed:", e.returncode)
        try:
            subprocess.run(["/no/such/program"])
        except FileNotFoundError as e:
            print("missing:", e.errno)
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        print("fork:", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

        def square(x):
            return x * x

        if __name__ == "__main__":
            with multiprocessing.Pool(2) as pool:
                print(pool.map(square, range(10)))
        """;

    [Fact]
    public void Python3SubprocessForkAndPool()
    {
        File.Exists(Python).Should().BeTrue($"{Python} is needed (apt-get install python3)");
        var tree = Repo.TempDir();
        foreach (var d in new[] { "bin", "tmp", "usr/bin", "usr/lib", "scripts" }) Directory.CreateDirectory(Path.Combine(tree, d));
        File.Copy("/bin/busybox", Path.Combine(tree, "bin/busybox"));
        foreach (var a in new[] { "sh", "echo", "cat", "wc", "kill" }) File.CreateSymbolicLink(Path.Combine(tree, "bin", a), "busybox");
        File.Copy(Python, Path.Combine(tree, "usr/bin/python3.11"));
        // The standard library without its tests and GUI parts (what the script imports is in it).
        var tar = Host.Run("/bin/sh", ["-c",
            "tar -C /usr/lib --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter --exclude=ensurepip " +
            "--exclude=lib2to3 --exclude=turtledemo --exclude=site-packages --exclude=dist-packages -cf - python3.11 | " +
            $"tar -C '{tree}/usr/lib' -xf -"]);
        tar.Code.Should().Be(0, tar.ToString());
        var script = Path.Combine(tree, "scripts/t.py");
        File.WriteAllText(script, Script);

        var native = Host.Run(Python, [script], timeout: TimeSpan.FromSeconds(60), cwd: "/");
        native.Code.Should().Be(0, native.ToString());

        var img = Path.Combine(Repo.TempDir(), "python.img");
        var build = Ukpack.Run(["build", Path.Combine(tree, "usr/bin/python3.11"), "--fs", tree, "-o", img]);
        build.Code.Should().Be(0, build.ToString());
        var r = Host.Run(Repo.Ukpack, ["run", img, "--timeout", "300", "--", "/scripts/t.py"], null, TimeSpan.FromSeconds(320));
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(native.OutText, r.ToString());
        r.OutText.Should().Contain("[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
    }
}
