using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace BootTests;

/// <summary>
/// Debian's own service binaries, unmodified, packed by ukpack from this machine's installed
/// files with a small --fs tree the test writes (config, content, /etc/passwd and /etc/group),
/// and driven from the host through `ukpack run -p`: nginx with its default process model (a
/// master and two workers) and redis. Each ends with `ukpack run` getting SIGTERM, which the
/// kernel passes to pid 1 as `docker stop` does, and must exit 0. The packages are in
/// .ci/run; a missing binary fails the test.
/// </summary>
public class ServiceBootTests
{
    static string Need(string path)
    {
        File.Exists(path).Should().BeTrue($"{path} is needed (Debian packages nginx-light, redis-server, redis-tools, wrk, curl: see .ci/run)");
        return path;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);
    const int SIGTERM = 15;

    /// <summary>`ukpack run` in the background: stdout and stderr as they come (stderr also
    /// carries the kernel log), stopped with SIGTERM or killed by process id.</summary>
    sealed class Guest : IDisposable
    {
        readonly Process _p;
        readonly StringBuilder _out = new(), _err = new();
        readonly SemaphoreSlim _line = new(0);

        public Guest(string image, params string[] extra)
        {
            var psi = new ProcessStartInfo(Repo.Ukpack) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (var a in new[] { "run", image, "--timeout", "300" }.Concat(extra)) psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            _p.OutputDataReceived += (_, e) => { if (e.Data != null) { lock (_out) _out.Append(e.Data).Append('\n'); _line.Release(); } };
            _p.ErrorDataReceived += (_, e) => { if (e.Data != null) { lock (_err) _err.Append(e.Data).Append('\n'); _line.Release(); } };
            _p.BeginOutputReadLine(); _p.BeginErrorReadLine();
        }

        public string Out { get { lock (_out) return _out.ToString(); } }
        public string Err { get { lock (_err) return _err.ToString(); } }
        /// <summary>stdout and stderr without the kernel's debug lines (which can be many).</summary>
        public override string ToString() =>
            $"guest stdout: [{Out}]\nstderr (kernel debug lines left out): [{string.Join('\n', Err.Split('\n').Where(l => !Regex.IsMatch(l, @"^\[ *\d+\.\d+\] D ")))}]";

        /// <summary>Waits until `done` holds for (stdout, stderr), at most `seconds`.</summary>
        public void WaitFor(string what, Func<string, string, bool> done, int seconds = 90)
        {
            var until = DateTime.UtcNow.AddSeconds(seconds);
            while (!done(Out, Err))
            {
                if (_p.HasExited) { _p.WaitForExit(); throw new Exception($"the guest exited ({_p.ExitCode}) before {what}\n{this}"); }
                if (DateTime.UtcNow > until) throw new TimeoutException($"no {what} from the guest within {seconds} s\n{this}");
                _line.Wait(200);
            }
        }

        /// <summary>SIGTERM to ukpack (the program's pid 1 gets SIGTERM); its exit status.</summary>
        public int Stop(int seconds = 60)
        {
            kill(_p.Id, SIGTERM).Should().Be(0);
            if (!_p.WaitForExit(seconds * 1000)) throw new TimeoutException("the guest did not stop after SIGTERM\n" + this);
            _p.WaitForExit();
            return _p.ExitCode;
        }

        public void Dispose()
        {
            try { if (!_p.HasExited) { _p.Kill(true); _p.WaitForExit(10000); } } catch { }
            _p.Dispose();
        }
    }

    static void Write(string root, string rel, string text)
    {
        var p = Path.Combine(root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
    }

    /// <summary>/etc/passwd and /etc/group with root and www-data (nginx's worker user).</summary>
    static void Users(string root)
    {
        Write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n");
        Write(root, "etc/group", "root:x:0:\nwww-data:x:33:\n");
    }

    static string Build(string program, string fs, params string[] args)
    {
        var img = Path.Combine(Repo.TempDir(), Path.GetFileName(program) + ".img");
        var r = Ukpack.Run(["build", program, "--fs", fs, "-o", img, .. args.Length > 0 ? ["--", .. args] : Array.Empty<string>()]);
        r.Code.Should().Be(0, r.ToString());
        return img;
    }

    const string NginxConf = """
        # The defaults: a master and worker processes that drop root for www-data. pid 1 must
        # stay in the foreground (daemon off): a daemonizing pid 1 would exit and power off.
        user www-data;
        worker_processes 2;
        daemon off;
        error_log stderr info;
        pid /run/nginx.pid;
        events { worker_connections 128; }
        http {
            types { text/html html; application/octet-stream bin; }
            access_log off;
            sendfile on;
            tcp_nopush on;
            keepalive_requests 100000;
            server {
                listen 8080;
                root /srv/www;
            }
        }
        """;

    static byte[] Pattern(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 7 + i / 1000);
        return b;
    }

    /// <summary>`count` GETs of `path` over `conns` keep-alive connections (HTTP/1.1, one
    /// request in flight per connection), each answer checked: status 200 and the body.</summary>
    static void KeepAliveRequests(int port, string path, string body, int count, int conns)
    {
        var tasks = Enumerable.Range(0, conns).Select(k => Task.Run(() =>
        {
            using var c = new TcpClient();
            c.NoDelay = true;
            c.Connect(IPAddress.Loopback, port);
            var s = c.GetStream();
            s.ReadTimeout = 30000;
            var req = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
            var buf = new byte[65536];
            int have = 0;
            for (int i = k; i < count; i += conns)
            {
                s.Write(req);
                while (true)
                {
                    string text = Encoding.ASCII.GetString(buf, 0, have);
                    int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                    if (end >= 0)
                    {
                        var m = Regex.Match(text[..end], @"Content-Length: (\d+)", RegexOptions.IgnoreCase);
                        m.Success.Should().BeTrue($"request {i}: {text[..end]}");
                        int total = end + 4 + int.Parse(m.Groups[1].Value);
                        if (have >= total)
                        {
                            text[..end].Should().StartWith("HTTP/1.1 200 OK", $"request {i}");
                            text.Substring(end + 4, total - end - 4).Should().Be(body, $"request {i}");
                            Buffer.BlockCopy(buf, total, buf, 0, have - total);
                            have -= total;
                            break;
                        }
                    }
                    int n = s.Read(buf, have, buf.Length - have);
                    if (n == 0) throw new Exception($"connection {k} closed at request {i}");
                    have += n;
                }
            }
        })).ToArray();
        Task.WaitAll(tasks, TimeSpan.FromSeconds(240)).Should().BeTrue("the requests finish in time");
    }

    /// <summary>The kernel's "net: no connections; memory in use N KiB" lines (log=3:
    /// half a second after the last TCP connection went, after a collection).</summary>
    static List<long> IdleMemory(string err) =>
        Regex.Matches(err, @"net: no connections; memory in use (\d+) KiB")
            .Select(m => long.Parse(m.Groups[1].Value)).ToList();

    /// <summary>The memory figure reported once the connections made since there were
    /// `mark` reports are gone.</summary>
    static long IdleMemoryAfter(Guest g, int mark)
    {
        g.WaitFor("a memory report", (_, err) => IdleMemory(err).Count > mark, 60);
        Thread.Sleep(1500);                 // a later report (a straggling connection) wins
        return IdleMemory(g.Err)[^1];
    }

    static string Curl(params string[] args)
    {
        var r = Host.Run(Need("/usr/bin/curl"), ["-sS", "--max-time", "60", .. args], null, TimeSpan.FromSeconds(90));
        r.Code.Should().Be(0, r.ToString());
        return r.OutText;
    }

    [Fact]
    public void NginxMasterAndTwoWorkersServeTheHost()
    {
        var nginx = Need("/usr/sbin/nginx");
        Need("/usr/bin/curl");
        var wrk = Need("/usr/bin/wrk");
        var fs = Repo.TempDir();
        Write(fs, "etc/nginx/nginx.conf", NginxConf);
        Users(fs);
        Write(fs, "srv/www/index.html", "hello from nginx\n");
        File.WriteAllBytes(Path.Combine(fs, "srv/www/big.bin"), Pattern(1 << 20));
        foreach (var d in new[] { "var/log/nginx", "var/lib/nginx", "run" }) Directory.CreateDirectory(Path.Combine(fs, d));
        var img = Build(nginx, fs);

        int port = NetBootTests.FreePort();
        using var g = new Guest(img, "-p", $"{port}:8080", "-v", "--log", "3");
        g.WaitFor("two workers", (_, err) => Regex.Matches(err, @"start worker process \d+\n").Count == 2);
        var until = DateTime.UtcNow.AddSeconds(60);
        string first;
        while (true)
        {
            var r = Host.Run("/usr/bin/curl", ["-s", "--max-time", "5", $"http://127.0.0.1:{port}/"], null, TimeSpan.FromSeconds(10));
            if (r.Code == 0 && (first = r.OutText) != "") break;
            if (DateTime.UtcNow > until) throw new TimeoutException("nginx does not answer\n" + g);
            Thread.Sleep(300);
        }
        first.Should().Be("hello from nginx\n", g.ToString());

        // The 1 MiB file byte-exact (sendfile), and a 404.
        var got = Path.Combine(Repo.TempDir(), "big.bin");
        Curl("-o", got, $"http://127.0.0.1:{port}/big.bin");
        File.ReadAllBytes(got).Should().Equal(Pattern(1 << 20), g.ToString());
        Curl("-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{port}/missing").Should().Be("404", g.ToString());

        // Warm up, then 10,000 keep-alive requests: kernel memory in use with only the
        // listener left must come back to where it was.
        int mark = IdleMemory(g.Err).Count;
        KeepAliveRequests(port, "/index.html", "hello from nginx\n", 500, 4);
        long before = IdleMemoryAfter(g, mark);
        mark = IdleMemory(g.Err).Count;
        KeepAliveRequests(port, "/index.html", "hello from nginx\n", 10_000, 4);
        long after = IdleMemoryAfter(g, mark);
        Console.WriteLine($"nginx: kernel memory in use {before} KiB before 10,000 requests, {after} KiB after");
        (after - before).Should().BeLessThan(256, $"memory in use {before} -> {after} KiB\n{g}");

        // wrk, keep-alive, a few seconds: no socket errors and no non-2xx answers.
        var w = Host.Run(wrk, ["-t1", "-c4", "-d2s", $"http://127.0.0.1:{port}/index.html"], null, TimeSpan.FromSeconds(60));
        w.Code.Should().Be(0, w.ToString());
        w.OutText.Should().MatchRegex(@"[1-9]\d* requests in", w.ToString());
        w.OutText.Should().NotContain("Socket errors", w.ToString());
        w.OutText.Should().NotContain("Non-2xx", w.ToString());

        // SIGTERM: the master stops its workers, reaps them and exits 0.
        g.Stop().Should().Be(0, g.ToString());
        Regex.Matches(g.Err, @"worker process \d+ exited with code 0\n").Count.Should().Be(2, g.ToString());
        g.Err.Should().Contain("signal 15 (SIGTERM) received, exiting", g.ToString());
        g.Err.Should().NotContain("[alert]", g.ToString());
        g.Err.Should().NotContain("[emerg]", g.ToString());
    }

    const string StopC = """
        #include <signal.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        static volatile sig_atomic_t got, code, from = -1, count;
        static void on_term(int sig, siginfo_t *si, void *uc) { got = sig; code = si->si_code; from = si->si_pid; count++; }
        int main(int argc, char **argv) {
            if (argc > 1 && !strcmp(argv[1], "handle")) {
                struct sigaction sa = { .sa_sigaction = on_term, .sa_flags = SA_SIGINFO };
                sigaction(SIGTERM, &sa, 0);
            }
            printf("waiting\n"); fflush(stdout);
            while (!got) pause();
            usleep(200000);                 /* a second notice would arrive by now */
            printf("signal %d code %d from pid %d, %d time(s)\n", (int)got, (int)code, (int)from, (int)count);
            return 3;
        }
        """;

    /// <summary>SIGTERM to `ukpack run` reaches pid 1 once, from the kernel (SI_KERNEL), over
    /// virtio-console and over the serial fallback; without a handler it ends the program
    /// as on Linux for a process that is not init (status 143).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SigtermToUkpackReachesPid1Once(bool serial)
    {
        var exe = Programs.Compile("stopme", StopC);
        var img = Path.Combine(Repo.TempDir(), "stopme.img");
        Ukpack.Run(["build", exe, "-o", img]).Code.Should().Be(0);
        string[] extra = serial ? ["--serial-stdio"] : [];
        using (var g = new Guest(img, [.. extra, "--", "handle"]))
        {
            g.WaitFor("waiting", (o, _) => o.Contains("waiting\n"));
            g.Stop().Should().Be(3, g.ToString());
            g.Out.Should().Be("waiting\nsignal 15 code 128 from pid 0, 1 time(s)\n", g.ToString());
        }
        using (var g = new Guest(img, extra))
        {
            g.WaitFor("waiting", (o, _) => o.Contains("waiting\n"));
            g.Stop().Should().Be(143, g.ToString());
        }
    }

    const string RedisConf = """
        bind 0.0.0.0
        port 6379
        protected-mode no
        daemonize no
        dir /data
        dbfilename dump.rdb
        save ""
        appendonly no
        logfile ""
        """;

    static string RedisCli(int port, params string[] args)
    {
        var r = Host.Run(Need("/usr/bin/redis-cli"), ["-p", port.ToString(), .. args], null, TimeSpan.FromSeconds(60));
        r.Code.Should().Be(0, r.ToString());
        return r.OutText.TrimEnd('\n');
    }

    [Fact]
    public void RedisAnswersCliAndBenchmarkAndForksToSave()
    {
        var server = Need("/usr/bin/redis-server");
        Need("/usr/bin/redis-cli");
        var bench = Need("/usr/bin/redis-benchmark");
        var fs = Repo.TempDir();
        Write(fs, "etc/redis.conf", RedisConf);
        Users(fs);
        Directory.CreateDirectory(Path.Combine(fs, "data"));
        var img = Build(server, fs, "/etc/redis.conf");

        int port = NetBootTests.FreePort();
        using var g = new Guest(img, "-p", $"{port}:6379");
        g.WaitFor("Ready to accept connections", (o, _) => o.Contains("Ready to accept connections"));
        RedisCli(port, "PING").Should().Be("PONG", g.ToString());
        RedisCli(port, "SET", "greeting", "hello from redis").Should().Be("OK", g.ToString());
        RedisCli(port, "GET", "greeting").Should().Be("hello from redis", g.ToString());

        // 10,000 of each (bench/ runs 100,000: about 100 s under TCG). 8 clients: QEMU's user
        // network listens on the forwarded port with a backlog of 1, and a burst of 50
        // connects (the default -c) loses handshakes on the host, whatever the guest.
        var r = Host.Run(bench, ["-p", port.ToString(), "-n", "10000", "-c", "8", "-q", "-t", "get,set,incr,lpush"], null, TimeSpan.FromSeconds(240));
        r.Code.Should().Be(0, r.ToString() + g);
        var lines = r.OutText.Split('\r', '\n').Where(l => l.Contains("requests per second")).ToList();
        lines.Select(l => l.Split(':')[0]).Should().Equal(["SET", "GET", "INCR", "LPUSH"], r.ToString());
        r.OutText.Should().NotContainAny(["Error", "error"]);
        RedisCli(port, "GET", "counter:__rand_int__").Should().Be("10000", "INCR ran 10,000 times\n" + g);

        // BGSAVE forks: the child writes dump.rdb while the parent goes on serving.
        RedisCli(port, "BGSAVE").Should().Be("Background saving started", g.ToString());
        g.WaitFor("the child's save", (o, _) => o.Contains("Background saving terminated with success"));
        g.Out.Should().Contain("DB saved on disk", g.ToString());
        RedisCli(port, "INFO", "persistence").Should().Contain("rdb_last_bgsave_status:ok");
        RedisCli(port, "GET", "greeting").Should().Be("hello from redis", g.ToString());

        g.Stop().Should().Be(0, g.ToString());
        g.Out.Should().Contain("Received SIGTERM scheduling shutdown", g.ToString());
        g.Out.Should().Contain("Redis is now ready to exit, bye bye", g.ToString());
    }
}
