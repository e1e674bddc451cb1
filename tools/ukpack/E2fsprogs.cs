using System.Diagnostics;

namespace Ukpack;

/// <summary>The host's e2fsprogs (mke2fs, debugfs) as `ukpack volume create` and
/// `ukpack build --root-disk` run them.</summary>
static class E2fsprogs
{
    /// <summary>The program on PATH, else in /usr/sbin or /sbin (not on a user's PATH on
    /// Debian); null when it is not installed.</summary>
    public static string? Find(string name) =>
        QemuRunner.FindOnPath(name) ?? (File.Exists("/usr/sbin/" + name) ? "/usr/sbin/" + name : File.Exists("/sbin/" + name) ? "/sbin/" + name : null);

    /// <summary>Runs `exe` in the C locale (callers read its messages) and returns its exit
    /// status and standard error, trimmed.</summary>
    public static (int Status, string Err) Run(string exe, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        Process p;
        try { p = Process.Start(psi) ?? throw new UkpackException($"cannot start {exe}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new UkpackException($"cannot start {exe}: {e.Message}"); }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, err.Result.Trim());
        }
    }
}
