using System.Diagnostics;

namespace Ukpack;

/// <summary>`ukpack volume create FILE --size SIZE [--from DIR]`: an ext4 volume made by the
/// host's mke2fs (Debian's defaults for ext4: journal, extents, 64bit, metadata_csum, ...),
/// populated from DIR with mke2fs -d, for `ukpack run --volume FILE:/guest/path`.</summary>
public static class VolumeTool
{
    public static int Create(string file, string size, string? from, bool force)
    {
        if (File.Exists(file) && !force) throw new UkpackException($"{file}: already exists (--force replaces it)");
        if (Directory.Exists(file)) throw new UkpackException($"{file}: is a directory");
        if (from != null && !Directory.Exists(from)) throw new UkpackException($"--from {from}: no such directory");
        string mke2fs = QemuRunner.FindOnPath("mke2fs") ?? (File.Exists("/sbin/mke2fs") ? "/sbin/mke2fs" : File.Exists("/usr/sbin/mke2fs") ? "/usr/sbin/mke2fs" : null)
            ?? throw new UkpackException("mke2fs is missing: apt-get install e2fsprogs");
        if (File.Exists(file)) File.Delete(file);
        var psi = new ProcessStartInfo(mke2fs) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-q", "-F", "-t", "ext4", "-E", "lazy_itable_init=0,lazy_journal_init=0" }) psi.ArgumentList.Add(a);
        if (from != null) { psi.ArgumentList.Add("-d"); psi.ArgumentList.Add(from); }
        psi.ArgumentList.Add(file);
        psi.ArgumentList.Add(size);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            try { File.Delete(file); } catch { }
            throw new UkpackException($"mke2fs failed: {err.Trim()}");
        }
        return 0;
    }
}
