using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Kernel.Fs;

namespace Ukpack;

/// <summary>`--fs rootfs.tar[.gz]` (a tarball, or `docker export` output): unpacked into a
/// temporary directory, so that the library closure and the program lookup see files as with
/// a directory tree, while owners, modes and times come from the archive's headers
/// (unpacking as an ordinary user would lose the owners). Deleted when disposed.</summary>
public sealed class RootFsTarball : IDisposable
{
    public string Dir { get; }
    readonly Dictionary<string, (uint Mode, uint Uid, uint Gid, long Mtime)> _meta = new(StringComparer.Ordinal);
    public List<string> Warnings { get; } = [];

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    static extern int link(string oldpath, string newpath);

    public static bool IsTarball(string path) => File.Exists(path);

    RootFsTarball(string dir) { Dir = dir; }

    public static RootFsTarball Extract(string archive)
    {
        var t = new RootFsTarball(Directory.CreateTempSubdirectory("ukpack-rootfs-").FullName);
        // "/" of the image unless the archive has a "./" entry: 0755, as a root directory is
        // (the temporary directory's 0700 would let only root search the tree).
        File.SetUnixFileMode(t.Dir, (UnixFileMode)0x1ed);
        try { t.Unpack(archive); }
        catch { t.Dispose(); throw; }
        return t;
    }

    void Unpack(string archive)
    {
        using var file = File.OpenRead(archive);
        var magic = new byte[6];
        int got = file.Read(magic);
        file.Position = 0;
        Stream s = file;
        if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) s = new GZipStream(file, CompressionMode.Decompress);
        else if (got >= 6 && magic[0] == 0xfd && magic[1] == (byte)'7' && magic[2] == (byte)'z')
            throw new UkpackException($"{archive}: xz-compressed; unpack it first (xz -d) or give a .tar or .tar.gz");
        else if (got >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
            throw new UkpackException($"{archive}: zstd-compressed; unpack it first (zstd -d) or give a .tar or .tar.gz");
        using var tar = new TarReader(s);
        try
        {
            for (var e = tar.GetNextEntry(); e != null; e = tar.GetNextEntry()) Add(e, archive);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new UkpackException($"{archive}: not a tar archive or damaged: {e.Message}");
        }
    }

    /// <summary>"./usr/bin/x", "/usr/bin/x" and "usr/bin/x/" all name "/usr/bin/x"; null for
    /// a name that climbs out of the tree.</summary>
    public static string? Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var p in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") return null;
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }

    void Add(TarEntry e, string archive)
    {
        var path = Normalize(e.Name);
        if (path == null) { Warnings.Add($"{archive}: {e.Name}: skipped (climbs out of the tree)"); return; }
        string host = Dir + (path == "/" ? "" : path);
        // An entry under a name that an earlier entry made a symbolic link (a -> /etc, then
        // a/passwd) would be written through the link, outside the tree: never.
        if (ThroughSymlink(path)) { Warnings.Add($"{archive}: {e.Name}: skipped (its directory is a symbolic link in the archive)"); return; }
        uint perm = (uint)e.Mode & 0xfff;
        uint type;
        switch (e.EntryType)
        {
            case TarEntryType.Directory:
                Directory.CreateDirectory(host);
                type = RootFsFormat.S_IFDIR;
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                Directory.CreateDirectory(Path.GetDirectoryName(host)!);
                if (File.Exists(host) || Directory.Exists(host)) Remove(host);
                e.ExtractToFile(host, overwrite: true);
                // Readable by ukpack whatever the archive says: the real mode is in _meta.
                File.SetUnixFileMode(host, (UnixFileMode)(0x1a4 | (perm & 0x49)));
                type = RootFsFormat.S_IFREG;
                break;
            case TarEntryType.SymbolicLink:
                Directory.CreateDirectory(Path.GetDirectoryName(host)!);
                Remove(host);
                File.CreateSymbolicLink(host, e.LinkName);
                type = RootFsFormat.S_IFLNK;
                perm = 0x1ff;
                break;
            case TarEntryType.HardLink:
                var target = Normalize(e.LinkName);
                if (target == null || ThroughSymlink(target + "/x") || !File.Exists(Dir + target)) { Warnings.Add($"{archive}: {e.Name}: skipped (hard link to {e.LinkName}: missing, or reached through a symbolic link)"); return; }
                Directory.CreateDirectory(Path.GetDirectoryName(host)!);
                Remove(host);
                if (link(Dir + target, host) != 0) File.Copy(Dir + target, host);
                _meta[path] = _meta.TryGetValue(target, out var m) ? m : (RootFsFormat.S_IFREG | perm, (uint)e.Uid, (uint)e.Gid, e.ModificationTime.ToUnixTimeSeconds());
                return;
            default:
                Warnings.Add($"{archive}: {e.Name}: skipped ({e.EntryType}: only files, directories and links are packed)");
                return;
        }
        _meta[path] = (type | perm, (uint)e.Uid, (uint)e.Gid, e.ModificationTime.ToUnixTimeSeconds());
    }

    bool ThroughSymlink(string path)
    {
        string cur = Dir;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length - 1; i++)
        {
            cur += "/" + parts[i];
            if (new FileInfo(cur).LinkTarget != null) return true;
        }
        return false;
    }

    static void Remove(string host)
    {
        if (Directory.Exists(host) && !File.GetAttributes(host).HasFlag(FileAttributes.ReparsePoint)) Directory.Delete(host, true);
        else if (File.Exists(host) || new FileInfo(host).LinkTarget != null) File.Delete(host);
    }

    /// <summary>Gives the scanned tree the archive's owners, modes and times.</summary>
    public void ApplyTo(RootFsBuilder fs)
    {
        foreach (var (path, m) in _meta)
        {
            var n = fs.Find(path);
            if (n == null || (n.Mode & RootFsFormat.S_IFMT) != (m.Mode & RootFsFormat.S_IFMT)) continue;
            n.Mode = m.Mode; n.Uid = m.Uid; n.Gid = m.Gid; n.MtimeSec = m.Mtime; n.MtimeNsec = 0;
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch { }
    }
}
