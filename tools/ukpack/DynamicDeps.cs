using System.Diagnostics;
using System.Text;
using Kernel.Abi;

namespace Ukpack;

/// <summary>
/// For a dynamically linked program: the interpreter (PT_INTERP) and the shared libraries it
/// loads, as the host's dynamic linker resolves them (`ld.so --list`, what ldd does). They are
/// packed into the image at the same paths, so the program finds what it was built against.
/// </summary>
public static class DynamicDeps
{
    public static List<string> Resolve(string app, byte[] bytes, ElfFile elf)
    {
        var interp = Encoding.UTF8.GetString(elf.Interp(bytes)).TrimEnd('\0');
        if (!File.Exists(interp))
            throw new UkpackException($"{app}: its interpreter {interp} is missing on this machine (PT_INTERP)");
        var files = new List<string> { interp };
        string output;
        try
        {
            var psi = new ProcessStartInfo(interp) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("--list");
            psi.ArgumentList.Add(Path.GetFullPath(app));
            using var p = Process.Start(psi) ?? throw new UkpackException($"{app}: cannot run {interp} --list");
            output = p.StandardOutput.ReadToEnd();
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 && output.Length == 0)
                throw new UkpackException($"{app}: {interp} --list failed: {FirstLine(err)}");
        }
        catch (System.ComponentModel.Win32Exception e) { throw new UkpackException($"{app}: cannot run {interp}: {e.Message}"); }

        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)",
            // "linux-vdso.so.1 (0x...)", "libfoo.so.1 => not found"
            int arrow = line.IndexOf("=>", StringComparison.Ordinal);
            string path = arrow >= 0 ? line[(arrow + 2)..].Trim() : line;
            if (path.StartsWith("not found", StringComparison.Ordinal))
                throw new UkpackException($"{app}: library {line[..arrow].Trim()} not found on this machine");
            int paren = path.IndexOf(" (", StringComparison.Ordinal);
            if (paren >= 0) path = path[..paren];
            if (!path.StartsWith('/')) continue;            // the vDSO
            if (!files.Contains(path)) files.Add(path);
        }
        return files;
    }

    static string FirstLine(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
}
