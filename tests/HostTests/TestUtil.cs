using System.Diagnostics;

namespace HostTests;

/// <summary>Helpers shared by the host tests: temp dirs, running tools, the repo root.</summary>
public static class TestUtil
{
    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "docs", "image-format.md"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    static readonly TestShared.TempDirs _temps = new("ukpack-test-");

    /// <summary>A fresh directory, removed when the test process exits (tests/Shared/TempDirs.cs).</summary>
    public static string TempDir() => _temps.Make();

    public static (int Code, string Out, string Err) Run(string exe, IEnumerable<string> args, string? stdin = null, string? cwd = null, int timeoutMs = 60000)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = cwd ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin != null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeoutMs)) { p.Kill(true); throw new TimeoutException($"{exe} {string.Join(' ', args)} hung"); }
        p.WaitForExit();
        return (p.ExitCode, so.Result, se.Result);
    }

    public static string? Which(string exe) => Ukpack.QemuRunner.FindOnPath(exe);

    /// <summary>Compiles C source with the given compiler and flags; null if the compiler is missing or fails.</summary>
    public static string? CompileC(string compiler, string source, string flags, string dir, string name)
    {
        if (Which(compiler) == null) return null;
        var src = Path.Combine(dir, name + ".c");
        File.WriteAllText(src, source);
        var outp = Path.Combine(dir, name);
        var args = new List<string>(flags.Split(' ', StringSplitOptions.RemoveEmptyEntries)) { "-o", outp, src };
        var r = Run(Which(compiler)!, args);
        return r.Code == 0 ? outp : null;
    }

    public const string HelloC = "#include <stdio.h>\nint helper(int x){return x*3;}\nint main(int c,char**v){printf(\"hi %d\\n\", helper(c));return 0;}\n";

    static readonly Lazy<string> _static = new(() =>
    {
        var dir = TempDir();
        return CompileC("musl-gcc", HelloC, "-static -O1", dir, "hello-musl")
            ?? CompileC("gcc", HelloC, "-static -O1", dir, "hello-static")
            ?? throw new InvalidOperationException("no C compiler for a static test binary");
    });

    /// <summary>A static x86-64 executable with symbols.</summary>
    public static string StaticBinary => _static.Value;
}
