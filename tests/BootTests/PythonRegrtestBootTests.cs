using FluentAssertions;
using Xunit;

namespace BootTests;

/// <summary>CPython's own regression tests (Debian's libpython3.11-testsuite) under the
/// kernel: a fixed list of modules that exercise system calls (files, fcntl, posix,
/// select/epoll, resource limits, pseudo-terminals) and single tests that found kernel bugs (an execve of a
/// long environment string in test_register_at_fork, F_SETPIPE_SZ, sethostname,
/// sched_rr_get_interval), and test_poll, whose thread died on a non-executable libc page
/// when its first call into that page waited for the disk while another thread mapped
/// memory. The tree is on a root disk (--root-disk), so the program's pages come from ext4
/// through the page cache. pidfd_open and pidfd_send_signal (test_posix, test_signal) were
/// missing. regrtest must report every selected test passed.</summary>
public class PythonRegrtestBootTests
{
    const string Python = "/usr/bin/python3.11";
    const string TestDir = "/usr/lib/python3.11/test";

    static readonly string[] Modules = ["test_fcntl", "test_posix", "test_fileio", "test_file", "test_resource", "test_epoll", "test_select", "test_socket", "test_subprocess", "test_pty", "test_openpty", "test_poll", "test_signal"];

    // Whole modules, and from the large ones only the tests named here.
    static readonly string[] Match =
    [
        "test.test_fcntl.*", "test.test_posix.*", "test.test_fileio.*", "test.test_file.*", "test.test_resource.*",
        "test.test_epoll.*", "test.test_select.*", "test.test_pty.*", "test.test_openpty.*",
        "test.test_socket.GeneralModuleTests.test_sethostname",
        "test.test_subprocess.ProcessTestCase.test_pipesizes",
        "test.test_poll.*",
        "test.test_signal.PidfdSignalTest.*",
    ];

    // Tests that failed here before their fix: each must be reported "ok".
    static readonly string[] MustPass =
    [
        "test_register_at_fork (test.test_posix.PosixTester.test_register_at_fork) ... ok",
        "test_sched_rr_get_interval (test.test_posix.PosixTester.test_sched_rr_get_interval) ... ok",
        "test_fcntl_f_pipesize (test.test_fcntl.TestFcntl.test_fcntl_f_pipesize) ... ok",
        "test_sethostname (test.test_socket.GeneralModuleTests.test_sethostname) ... ok",
        "test_pipesizes (test.test_subprocess.ProcessTestCase.test_pipesizes) ... ok",
        "test_poll_blocks_with_negative_ms (test.test_poll.PollTests.test_poll_blocks_with_negative_ms) ... ok",
        "test_threaded_poll (test.test_poll.PollTests.test_threaded_poll) ... ok",
        "test_pidfd_open (test.test_posix.PosixTester.test_pidfd_open) ... ok",
        "test_pidfd_send_signal (test.test_signal.PidfdSignalTest.test_pidfd_send_signal) ... ok",
    ];

    [Fact]
    public void SelectedRegressionTestsPass()
    {
        File.Exists(Python).Should().BeTrue($"{Python} is needed (apt-get install python3)");
        File.Exists(Path.Combine(TestDir, "libregrtest/main.py")).Should().BeTrue(
            "CPython's test suite is needed (apt-get install libpython3.11-testsuite; tools/install-deps.sh)");
        var tree = Repo.TempDir();
        foreach (var d in new[] { "bin", "tmp", "root", "etc", "usr/bin", "usr/lib" }) Directory.CreateDirectory(Path.Combine(tree, d));
        File.Copy("/bin/busybox", Path.Combine(tree, "bin/busybox"));
        foreach (var a in new[] { "sh", "echo", "cat", "true", "false", "sleep" }) File.CreateSymbolicLink(Path.Combine(tree, "bin", a), "busybox");
        File.Copy(Python, Path.Combine(tree, "usr/bin/python3.11"));
        File.WriteAllText(Path.Combine(tree, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(tree, "etc/group"), "root:x:0:\n");
        // The standard library without its GUI parts and tests, then the test package's
        // framework (support, libregrtest) and the selected modules.
        var tar = Host.Run("/bin/sh", ["-c",
            "tar -C /usr/lib --exclude=test --exclude=idlelib --exclude=tkinter --exclude=ensurepip " +
            "--exclude=lib2to3 --exclude=turtledemo --exclude=site-packages --exclude=dist-packages -cf - python3.11 | " +
            $"tar -C '{tree}/usr/lib' -xf - && " +
            "tar -C /usr/lib -cf - python3.11/test/__init__.py python3.11/test/__main__.py python3.11/test/support " +
            "python3.11/test/libregrtest " + string.Join(" ", Modules.Select(m => $"python3.11/test/{m}.py")) + " | " +
            $"tar -C '{tree}/usr/lib' -xf -"]);
        tar.Code.Should().Be(0, tar.ToString());

        // Under a shell, as on a Linux host: orphans (test_register_at_fork leaves one) go to
        // pid 1, and regrtest as pid 1 would reap them and call the environment changed.
        var img = Path.Combine(Repo.TempDir(), "regrtest.img");
        var command = "/usr/bin/python3.11 -m test -v " + string.Join(" ", Modules) + " " +
            string.Join(" ", Match.Select(m => $"-m '{m}'")) + "; exit $?";
        var build = Ukpack.Run(["build", Path.Combine(tree, "bin/busybox"), "--fs", tree, "--root-disk", "-o", img,
            "-e", "HOME=/root", "-e", "PATH=/usr/bin:/bin", "--", "sh", "-c", command]);
        build.Code.Should().Be(0, build.ToString());
        var r = Host.Run(Repo.Ukpack, ["run", img, "--mem", "512M", "--timeout", "600"], null, TimeSpan.FromSeconds(660));
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Contain("Tests result: SUCCESS", r.ToString());
        r.OutText.Should().Contain($"All {Modules.Length} tests OK.", r.ToString());
        r.OutText.Should().NotContain("altered the execution environment", r.ToString());
        foreach (var line in MustPass) r.OutText.Should().Contain(line, r.ToString());
    }
}
