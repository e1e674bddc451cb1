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
        string mke2fs = E2fsprogs.Find("mke2fs") ?? throw new UkpackException("mke2fs is missing: apt-get install e2fsprogs");
        if (File.Exists(file)) File.Delete(file);
        var args = new List<string> { "-q", "-F", "-t", "ext4", "-E", "lazy_itable_init=0,lazy_journal_init=0" };
        if (from != null) args.AddRange(["-d", from]);
        args.AddRange([file, size]);
        var (status, err) = E2fsprogs.Run(mke2fs, args);
        if (status != 0)
        {
            try { File.Delete(file); } catch { }
            throw new UkpackException($"mke2fs failed: {err}");
        }
        return 0;
    }
}
