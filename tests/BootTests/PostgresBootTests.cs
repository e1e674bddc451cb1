using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Xunit;

namespace BootTests;

/// <summary>Debian's PostgreSQL 15, unmodified, in one image: a shell script (busybox sh, as a
/// user would write it) runs initdb as the postgres user (busybox su: setgroups, setgid,
/// setuid), then execs the postmaster as pid 1. From this machine, through `ukpack run -p`,
/// psql creates a table, inserts and selects, pgbench -i loads its tables and pgbench -c 2
/// -t 100 runs with no failed transaction; then a backend runs `kill -INT 1` (COPY TO
/// PROGRAM) and the postmaster's fast shutdown ends the VM with status 0. On the way:
/// fork per connection, SysV shared memory (the postmaster's interlock segment), anonymous
/// shared memory, POSIX semaphores in it, /dev/shm, signals between processes, latches over
/// epoll and pipes, fsync.</summary>
public class PostgresBootTests
{
    const string PgBin = "/usr/lib/postgresql/15/bin";

    const string StartScript = """
        set -e
        mkdir -p /data
        chown postgres:postgres /data /run/postgresql
        su postgres -c '/usr/lib/postgresql/15/bin/initdb -D /data --auth=trust -U postgres -E UTF8 --locale=C'
        echo "host all all all trust" >> /data/pg_hba.conf
        exec su postgres -c 'exec /usr/lib/postgresql/15/bin/postgres -D /data -c listen_addresses=* -c unix_socket_directories=/run/postgresql'
        """;

    static string BuildImage()
    {
        foreach (var f in new[] { "initdb", "postgres", "psql", "pgbench" })
            File.Exists(Path.Combine(PgBin, f)).Should().BeTrue($"{PgBin}/{f} is needed (apt-get install postgresql postgresql-client)");
        var tree = Repo.TempDir();
        foreach (var d in new[] { "bin", "tmp", "etc", "dev/shm", "run/postgresql", "usr/lib/postgresql/15/bin", "usr/lib/postgresql/15/lib",
                                  "usr/share/postgresql", "usr/share/zoneinfo/Etc" })
            Directory.CreateDirectory(Path.Combine(tree, d));
        File.Copy("/bin/busybox", Path.Combine(tree, "bin/busybox"));
        foreach (var a in new[] { "sh", "su", "chown", "mkdir", "kill" }) File.CreateSymbolicLink(Path.Combine(tree, "bin", a), "busybox");
        foreach (var f in new[] { "initdb", "postgres" }) File.Copy(Path.Combine(PgBin, f), Path.Combine(tree, "usr/lib/postgresql/15/bin", f));
        // Server modules initdb loads (plpgsql, dict_snowball) and the conversions; not LLVM's JIT.
        foreach (var so in Directory.GetFiles("/usr/lib/postgresql/15/lib", "*.so"))
            if (!Path.GetFileName(so).StartsWith("llvmjit")) File.Copy(so, Path.Combine(tree, "usr/lib/postgresql/15/lib", Path.GetFileName(so)));
        var cp = Host.Run("/bin/cp", ["-r", "/usr/share/postgresql/15", Path.Combine(tree, "usr/share/postgresql/")]);
        cp.Code.Should().Be(0, cp.ToString());
        File.Copy("/usr/share/zoneinfo/UTC", Path.Combine(tree, "usr/share/zoneinfo/UTC"));
        File.Copy("/usr/share/zoneinfo/Etc/UTC", Path.Combine(tree, "usr/share/zoneinfo/Etc/UTC"));
        File.WriteAllText(Path.Combine(tree, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\npostgres:x:102:103:PostgreSQL administrator:/data:/bin/sh\n");
        File.WriteAllText(Path.Combine(tree, "etc/group"), "root:x:0:\npostgres:x:103:\n");
        File.WriteAllText(Path.Combine(tree, "pg-start.sh"), StartScript);
        var img = Path.Combine(Repo.TempDir(), "pg.img");
        var build = Ukpack.Run(["build", Path.Combine(tree, "bin/busybox"), "--fs", tree, "-o", img, "-e", "LANG=C", "-e", "TZ=UTC", "--", "sh", "/pg-start.sh"]);
        build.Code.Should().Be(0, build.ToString());
        return img;
    }

    static Host.Result Client(string tool, int port, Func<string> guestLog, params string[] args)
    {
        try { return Host.Run(Path.Combine(PgBin, tool), ["-h", "127.0.0.1", "-p", port.ToString(), "-U", "postgres", .. args], null, TimeSpan.FromSeconds(300)); }
        catch (TimeoutException e) { throw new TimeoutException(e.Message + "\nguest output:\n" + guestLog(), e); }
    }

    [Fact]
    public void InitdbThenPsqlAndPgbenchFromTheHost()
    {
        var img = BuildImage();
        int port = NetBootTests.FreePort();
        var psi = new ProcessStartInfo(Repo.Ukpack) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "run", img, "-m", "1G", "--timeout", "900", "-p", $"{port}:5432" }) psi.ArgumentList.Add(a);
        var log = new StringBuilder();
        using var guest = Process.Start(psi)!;
        guest.OutputDataReceived += (_, e) => { if (e.Data != null) lock (log) log.Append(e.Data).Append('\n'); };
        guest.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (log) log.Append(e.Data).Append('\n'); };
        guest.BeginOutputReadLine(); guest.BeginErrorReadLine();
        string Log() { lock (log) return log.ToString(); }
        try
        {
            var until = DateTime.UtcNow.AddSeconds(600);
            while (!Log().Contains("database system is ready to accept connections"))
            {
                if (guest.HasExited) throw new Exception($"the guest exited ({guest.ExitCode}) before the server was ready\n{Log()}");
                if (DateTime.UtcNow > until) throw new TimeoutException("the server never became ready\n" + Log());
                Thread.Sleep(200);
            }
            Log().Should().Contain("Success. You can now start the database server");

            var sql = Client("psql", port, Log, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c",
                "create table t(a int, b text); insert into t values (1, 'one'), (2, 'two'), (3, 'three'); select a, b from t order by a;");
            sql.Code.Should().Be(0, sql + "\n" + Log());
            sql.OutText.Should().Be("CREATE TABLE\nINSERT 0 3\n1|one\n2|two\n3|three\n", Log());

            var init = Client("pgbench", port, Log, "-i", "postgres");
            init.Code.Should().Be(0, init + "\n" + Log());
            init.ErrText.Should().Contain("done in");

            var bench = Client("pgbench", port, Log, "-c", "2", "-t", "100", "postgres");
            bench.Code.Should().Be(0, bench + "\n" + Log());
            bench.OutText.Should().Contain("number of transactions actually processed: 200/200", bench.ToString());
            bench.OutText.Should().Contain("number of failed transactions: 0 (0.000%)", bench.ToString());

            var count = Client("psql", port, Log, "-X", "-A", "-t", "-c", "select count(*) from pgbench_history");
            count.OutText.Should().Be("200\n", count + "\n" + Log());

            // A backend signals the postmaster (pid 1): fast shutdown, the VM ends with it.
            var stop = Client("psql", port, Log, "-X", "-c", "copy (select 1 where false) to program 'kill -INT 1'");
            stop.Code.Should().Be(0, stop + "\n" + Log());
            guest.WaitForExit(300_000).Should().BeTrue("the postmaster shuts down on SIGINT\n" + Log());
            guest.WaitForExit();
            guest.ExitCode.Should().Be(0, Log());
            Log().Should().Contain("received fast shutdown request").And.Contain("database system is shut down");
            Log().Should().NotContain("PANIC").And.NotContain("terminated by signal");
        }
        finally
        {
            try { if (!guest.HasExited) { guest.Kill(true); guest.WaitForExit(10000); } } catch { }
        }
    }
}
