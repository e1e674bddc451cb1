namespace BootTests;

using static Ext4BootTests;

/// <summary>
/// inotify beyond the compat suite's tmpfs and /dev/shm runs: the same compat program on an
/// ext4 volume (output compared with the program's native run in /tmp), the per-user watch
/// limit (ENOSPC; the guest's own limit, which a test cannot lower on the host), and a real
/// watcher: Debian's Node with fs.watch against the same script run natively.
/// </summary>
public class InotifyBootTests
{
    /// <summary>Watches until ENOSPC, then what frees a watch and what a second user has.</summary>
    const string LimitC = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/inotify.h>
        #include <sys/stat.h>
        #include <sys/wait.h>
        #include <unistd.h>

        static char path[64];
        static const char *file(int i) { snprintf(path, sizeof path, "/tmp/w/%d", i); return path; }

        int main(void)
        {
            setvbuf(stdout, NULL, _IOLBF, 0);
            FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "r");
            int max = 0;
            if (!f || fscanf(f, "%d", &max) != 1) return 2;
            printf("max_user_watches: %d\n", max);
            mkdir("/tmp/w", 0755);
            for (int i = 0; i <= max; i++) close(open(file(i), O_CREAT | O_WRONLY, 0644));
            int a = inotify_init(), n = 0, w = 0;
            while (n <= max && (w = inotify_add_watch(a, file(n), IN_MODIFY)) > 0) n++;
            printf("watches before the error: %d (%s)\n", n, w < 0 ? strerror(errno) : "no error");
            printf("an existing watch's mask can change: %s\n", inotify_add_watch(a, file(0), IN_OPEN) == 1 ? "yes" : "no");
            int b = inotify_init();
            printf("another instance of the same user: %s\n", inotify_add_watch(b, "/tmp/w", IN_CREATE) < 0 ? strerror(errno) : "added");
            inotify_rm_watch(a, 1);
            printf("after rm_watch: %s\n", inotify_add_watch(b, "/tmp/w", IN_CREATE) > 0 ? "added" : strerror(errno));
            pid_t p = fork();
            if (p == 0) {
                if (setuid(1000) != 0) _exit(3);
                int c = inotify_init();
                printf("another user: %s\n", inotify_add_watch(c, "/tmp/w", IN_CREATE) > 0 ? "added" : strerror(errno));
                fflush(stdout);
                _exit(0);
            }
            waitpid(p, NULL, 0);
            unlink(file(max));
            close(a);
            printf("after closing the full instance: %s\n", inotify_add_watch(b, file(1), IN_CREATE) > 0 ? "added" : strerror(errno));
            char buf[4096];
            fcntl(b, F_SETFL, O_NONBLOCK);
            printf("no IN_IGNORED for another instance's watches: %s\n", read(b, buf, sizeof buf) < 0 && errno == EAGAIN ? "yes" : "no");
            return 0;
        }
        """;

    [Fact]
    public void TheWatchLimitIsPerUserAndEndsInEnospc()
    {
        var exe = Programs.Compile("inotify_limit", LimitC);
        var img = Path.Combine(Repo.TempDir(), "inotify_limit.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Run(["run", img, "--timeout", "120"]);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(
            "max_user_watches: 8192\n" +
            "watches before the error: 8192 (No space left on device)\n" +
            "an existing watch's mask can change: yes\n" +
            "another instance of the same user: No space left on device\n" +
            "after rm_watch: added\n" +
            "another user: added\n" +
            "after closing the full instance: added\n" +
            "no IN_IGNORED for another instance's watches: yes\n", r.ToString());
    }

    [Fact]
    public void TheCompatProgramGivesLinuxsEventsOnAnExt4Volume()
    {
        var src = Path.Combine(Repo.Root, "compat-suite/src");
        var exe = Programs.Compile("inotify_compat", File.ReadAllText(Path.Combine(src, "inotify.c")), "-I", src);
        var native = Host.Run(exe, ["/tmp"], null, TimeSpan.FromSeconds(60), "/");
        native.Code.Should().Be(0, "the program passes natively (as root)\n" + native);
        var vol = Path.Combine(Repo.TempDir(), "vol.img");
        Ukpack.Run(["volume", "create", vol, "--size", "64M"]).Code.Should().Be(0);
        var img = Path.Combine(Repo.TempDir(), "inotify.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        var r = Ukpack.Run(["run", img, "--timeout", "240", "--volume", vol + ":/v", "--", "/v"]);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(native.OutText, r.ToString());
        var fsck = Host.Run(Sbin("e2fsck"), ["-fn", vol]);
        fsck.Code.Should().Be(0, "e2fsck -fn finds the volume clean\n" + fsck);
    }

    /// <summary>fs.watch on a directory while the script changes it, step by step: each step
    /// waits for the events it must cause, so the output does not depend on timing.</summary>
    const string WatchJs = """
        const fs = require('fs');
        const dir = process.argv[2];
        fs.mkdirSync(dir, { recursive: true });
        const steps = [
          ['create a.txt', () => fs.writeFileSync(dir + '/a.txt', 'one'), 'change a.txt'],
          ['append', () => fs.appendFileSync(dir + '/a.txt', 'two'), 'change a.txt'],
          ['rename to b.txt', () => fs.renameSync(dir + '/a.txt', dir + '/b.txt'), 'rename b.txt'],
          ['mkdir sub', () => fs.mkdirSync(dir + '/sub'), 'rename sub'],
          ['chmod b.txt', () => fs.chmodSync(dir + '/b.txt', 0o600), 'change b.txt'],
          ['unlink b.txt', () => fs.unlinkSync(dir + '/b.txt'), 'rename b.txt'],
          ['rmdir sub', () => fs.rmdirSync(dir + '/sub'), 'rename sub'],
        ];
        let i = -1, want = null;
        function next() {
          if (++i === steps.length) { w.close(); fs.rmdirSync(dir); console.log('done'); return; }
          console.log('step: ' + steps[i][0]);
          want = steps[i][2];
          steps[i][1]();
        }
        const w = fs.watch(dir, (ev, name) => {
          const e = ev + ' ' + name;
          console.log('  ' + e);
          if (e === want) { want = null; setImmediate(next); }
        });
        next();
        """;

    [Fact]
    public void NodeFsWatchSeesWhatItSeesOnLinux()
    {
        const string node = WebBootTests.Node;
        var tree = WebBootTests.NodeTree("watch.js", WatchJs);
        var native = Host.Run(node, [Path.Combine(tree, "srv/watch.js"), Path.Combine(Repo.TempDir(), "w")], null, TimeSpan.FromSeconds(60));
        native.Code.Should().Be(0, native.ToString());
        native.OutText.Should().EndWith("done\n", native.ToString());
        var img = Path.Combine(Repo.TempDir(), "nodewatch.img");
        var build = Ukpack.Run(["build", node, "--fs", tree, "-o", img]);
        build.Code.Should().Be(0, build.ToString());
        var r = Ukpack.Run(["run", img, "--timeout", "120", "--", "/srv/watch.js", "/tmp/w"]);
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Be(native.OutText, r.ToString());
    }
}
