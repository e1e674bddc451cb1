namespace BootTests;

/// <summary>`ukpack build` and `ukpack run` with no arguments, from ./ukpack.json, and the
/// run-time overrides (-e K=V, arguments after --, --mem).</summary>
public class ConfigBootTests
{
    const string ShowC = """
        #include <stdio.h>
        #include <unistd.h>
        extern char **environ;
        int main(int argc, char **argv) {
            for (int i = 1; i < argc; i++) printf("arg=[%s]\n", argv[i]);
            for (char **e = environ; *e; e++) printf("env=[%s]\n", *e);
            char b[64] = {0};
            FILE *f = fopen("/srv/data/hello.txt", "r");
            if (f && fgets(b, sizeof b, f)) printf("file=[%s]\n", b);
            printf("MiB=%ld\n", sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) >> 20);
            return 0;
        }
        """;

    static Host.Result Ukpack(string dir, params string[] args) => Host.Run(Repo.Ukpack, args, null, TimeSpan.FromSeconds(90), dir);

    [Fact]
    public void BuildAndRunFromTheFile()
    {
        var dir = Repo.TempDir();
        File.Copy(Programs.Compile("show", ShowC), Path.Combine(dir, "show"));
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllText(Path.Combine(dir, "data", "hello.txt"), "hello data");
        File.WriteAllText(Path.Combine(dir, "ukpack.json"), """
            {
              "program": "show",
              "args": ["one", "two words"],
              "env": {"GREETING": "hi"},
              "files": {"/srv/data": "data"},
              "memory": "96M",
              "timeout": 60,
            }
            """);
        var b = Ukpack(dir, "build");
        b.Code.Should().Be(0, b.ToString());
        File.Exists(Path.Combine(dir, "show.img")).Should().BeTrue();

        var r = Ukpack(dir, "run");
        r.Code.Should().Be(0, r.ToString());
        r.OutText.Should().Contain("arg=[one]\narg=[two words]\n").And.Contain("env=[GREETING=hi]\n").And.Contain("env=[HOME=/]\n")
            .And.Contain("file=[hello data]\n");
        int mib = int.Parse(System.Text.RegularExpressions.Regex.Match(r.OutText, @"MiB=(\d+)").Groups[1].Value);
        mib.Should().BeInRange(64, 96, r.ToString());

        // Run-time overrides: one variable changed, one added, the others kept; new
        // arguments; more memory.
        var o = Ukpack(dir, "run", "-e", "GREETING=yo", "-e", "NEW=1", "--mem", "192M", "--", "x", "y");
        o.Code.Should().Be(0, o.ToString());
        o.OutText.Should().Contain("arg=[x]\narg=[y]\n").And.NotContain("arg=[one]").And.Contain("env=[GREETING=yo]\n")
            .And.Contain("env=[NEW=1]\n").And.Contain("env=[HOME=/]\n").And.NotContain("GREETING=hi");
        int more = int.Parse(System.Text.RegularExpressions.Regex.Match(o.OutText, @"MiB=(\d+)").Groups[1].Value);
        more.Should().BeGreaterThan(96, o.ToString());
    }

    [Fact]
    public void NoFileNoArguments()
    {
        var dir = Repo.TempDir();
        var r = Ukpack(dir, "build");
        r.Code.Should().Be(2, r.ToString());
        r.ErrText.Should().Be("ukpack: error: no APP given and no ukpack.json here (see `ukpack build --help`)\n");
    }
}
