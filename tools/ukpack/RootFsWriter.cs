using System.Text;
using Kernel.Fs;

namespace Ukpack;

/// <summary>A node of the root filesystem tree being built.</summary>
public sealed class FsNode
{
    public required string Name;
    public uint Mode;                 // full st_mode, type bits included
    public uint Uid, Gid;
    public long MtimeSec;
    public uint MtimeNsec;
    public byte[]? Data;              // symlink target or synthesized file contents
    public string? HostPath;          // regular file whose contents are read at write time
    public long HostSize;
    public (ulong Dev, ulong Ino)? HostId; // for hard-link detection
    public readonly SortedDictionary<string, FsNode> Children = new(Utf8Ordinal.Instance);

    public bool IsDir => RootFsFormat.IsDir(Mode);
    public bool IsRegular => RootFsFormat.IsRegular(Mode);
    public bool IsSymlink => RootFsFormat.IsSymlink(Mode);
    public long Size => IsDir ? 0 : Data?.LongLength ?? HostSize;
}

/// <summary>Orders names by their UTF-8 bytes, so the order does not depend on culture.</summary>
public sealed class Utf8Ordinal : IComparer<string>
{
    public static readonly Utf8Ordinal Instance = new();
    public int Compare(string? x, string? y)
    {
        var a = Encoding.UTF8.GetBytes(x ?? "");
        var b = Encoding.UTF8.GetBytes(y ?? "");
        return a.AsSpan().SequenceCompareTo(b);
    }
}

/// <summary>Builds a root filesystem archive (docs/image-format.md, section 4).</summary>
public sealed class RootFsBuilder
{
    public FsNode Root { get; } = new() { Name = "", Mode = RootFsFormat.S_IFDIR | 0x1ed /*0755*/, MtimeSec = SynthesizedMtime };

    /// <summary>mtime of the entries ukpack makes up (directories on a path, /etc files).
    /// Builder sets it from SOURCE_DATE_EPOCH or else the program's own mtime, so the same
    /// inputs always give the same image.</summary>
    public static long SynthesizedMtime { get; set; }
    public List<string> Warnings { get; } = new();

    /// <summary>Scans a host directory: regular files, directories, symlinks (not followed),
    /// hard links; other file types are skipped with a warning.</summary>
    public static RootFsBuilder FromDirectory(string dir)
    {
        var b = new RootFsBuilder();
        var full = Path.GetFullPath(dir);
        if (!Directory.Exists(full)) throw new UkpackException($"{dir}: no such directory");
        var st = UnixStat.LStat(full.Length > 1 ? full.TrimEnd('/') : full);
        if (!RootFsFormat.IsDir(st.Mode))
        {
            // --fs given as a symlink to a directory: follow that one link.
            st = UnixStat.LStat(Path.GetFullPath(new DirectoryInfo(full).ResolveLinkTarget(true)!.FullName));
        }
        b.Root.Mode = st.Mode; b.Root.Uid = st.Uid; b.Root.Gid = st.Gid;
        if ((st.Mode & 0x1) == 0)       // the kernel checks permissions: a 0700 mktemp -d as "/" locks out every other user
            b.Warnings.Add($"{dir}: the tree's top directory, / in the image, has mode {Convert.ToString(st.Mode & 0xfff, 8)}: only its owner may search it");
        b.Root.MtimeSec = st.MtimeSec; b.Root.MtimeNsec = st.MtimeNsec;
        using var progress = new Progress("scanning " + dir);
        b.Scan(full, b.Root, progress);
        return b;
    }

    int _scanned;

    void Scan(string hostDir, FsNode node, Progress progress)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(hostDir, "*", new EnumerationOptions
            {
                RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = false, ReturnSpecialDirectories = false,
                MatchType = MatchType.Win32,
            }).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UkpackException($"{hostDir}: cannot read directory: {e.Message}");
        }
        foreach (var path in entries)
        {
            var name = Path.GetFileName(path);
            var st = UnixStat.LStat(path);
            progress.Files(++_scanned);
            var child = new FsNode { Name = name, Mode = st.Mode, Uid = st.Uid, Gid = st.Gid, MtimeSec = st.MtimeSec, MtimeNsec = st.MtimeNsec };
            if (RootFsFormat.IsDir(st.Mode))
            {
                node.Children[name] = child;
                Scan(path, child, progress);
            }
            else if (RootFsFormat.IsRegular(st.Mode))
            {
                child.HostPath = path;
                child.HostSize = st.Size;
                if (st.NLink > 1) child.HostId = (st.Dev, st.Ino);
                node.Children[name] = child;
            }
            else if (RootFsFormat.IsSymlink(st.Mode))
            {
                var target = new FileInfo(path).LinkTarget ?? throw new UkpackException($"{path}: cannot read symlink");
                child.Data = Encoding.UTF8.GetBytes(target);
                node.Children[name] = child;
            }
            else
            {
                Warnings.Add($"{path}: skipped (not a regular file, directory or symlink)");
            }
        }
    }

    static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The node at an absolute path inside the rootfs, without following symlinks.</summary>
    public FsNode? Find(string path)
    {
        var n = Root;
        foreach (var part in Split(path))
        {
            if (!n.IsDir || !n.Children.TryGetValue(part, out var c)) return null;
            n = c;
        }
        return n;
    }

    /// <summary>Creates directories along path (mode 0755, root-owned); null if something
    /// on the way exists and is not a directory.</summary>
    public FsNode? MkdirP(string path)
    {
        var n = Root;
        foreach (var part in Split(path))
        {
            if (!n.Children.TryGetValue(part, out var c))
            {
                c = new FsNode { Name = part, Mode = RootFsFormat.S_IFDIR | 0x1ed, MtimeSec = SynthesizedMtime };
                n.Children[part] = c;
            }
            if (!c.IsDir) return null;
            n = c;
        }
        return n;
    }

    /// <summary>Adds a synthesized file (root-owned, mtime SynthesizedMtime) unless the path exists.
    /// Returns false if it was not added.</summary>
    public bool AddFileIfMissing(string path, string contents, uint perm = 0x1a4 /*0644*/)
    {
        if (Find(path) != null) return false;
        var dir = MkdirP(Path.GetDirectoryName(path)!);
        if (dir == null) return false;
        var name = Path.GetFileName(path);
        dir.Children[name] = new FsNode { Name = name, Mode = RootFsFormat.S_IFREG | perm, Data = Encoding.UTF8.GetBytes(contents), MtimeSec = SynthesizedMtime };
        return true;
    }

    /// <summary>Adds a host file at path, keeping its mode and mtime (owner root).</summary>
    public void AddHostFile(string path, string hostPath)
    {
        var st = UnixStat.LStat(hostPath);
        if (RootFsFormat.IsSymlink(st.Mode))
        {
            hostPath = new FileInfo(hostPath).ResolveLinkTarget(true)?.FullName ?? hostPath;
            st = UnixStat.LStat(hostPath);
        }
        var dir = MkdirP(Path.GetDirectoryName(path)!) ?? throw new UkpackException($"cannot create {Path.GetDirectoryName(path)} in the root filesystem: not a directory");
        var name = Path.GetFileName(path);
        dir.Children[name] = new FsNode
        {
            Name = name, Mode = st.Mode, MtimeSec = st.MtimeSec, MtimeNsec = st.MtimeNsec,
            HostPath = hostPath, HostSize = st.Size,
        };
    }

    /// <summary>Entries in archive order: breadth-first, children sorted by UTF-8 name, so
    /// a directory's children are contiguous and every parent precedes its children.</summary>
    public List<(FsNode Node, int Parent)> Flatten()
    {
        var list = new List<(FsNode, int)> { (Root, 0) };
        for (int i = 0; i < list.Count; i++)
        {
            var (node, _) = list[i];
            foreach (var c in node.Children.Values) list.Add((c, i));
        }
        return list;
    }

    static long Align(long v, long a) => (v + a - 1) / a * a;

    /// <summary>Writes the archive to s, which must be positioned at a 4096-aligned offset
    /// for the data alignment to hold in memory. Returns the number of bytes written.</summary>
    public long WriteTo(Stream s, Progress? progress = null)
    {
        var flat = Flatten();
        int n = flat.Count;
        var names = new MemoryStream();
        var nameOff = new uint[n];
        var nameLen = new uint[n];
        for (int i = 1; i < n; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(flat[i].Node.Name);
            nameOff[i] = (uint)names.Length;
            nameLen[i] = (uint)bytes.Length;
            names.Write(bytes);
        }
        long namesOffset = RootFsFormat.HeaderSize + (long)n * RootFsFormat.EntrySize;
        long pos = namesOffset + names.Length;

        // Symlink targets right after the names (unaligned), then page-aligned file data.
        var entries = new RootFsEntry[n];
        var inoOf = new Dictionary<(ulong, ulong), int>();   // host id -> first entry index
        uint nextIno = 1;
        for (int i = 0; i < n; i++)
        {
            var node = flat[i].Node;
            ref var e = ref entries[i];
            e.Mode = node.Mode; e.Uid = node.Uid; e.Gid = node.Gid;
            e.Parent = (uint)flat[i].Parent; e.NameOffset = nameOff[i]; e.NameLength = nameLen[i];
            e.MtimeSec = node.MtimeSec; e.MtimeNsec = node.MtimeNsec;
            if (node.HostId is { } id && inoOf.TryGetValue(id, out var first))
            {
                e.Ino = entries[first].Ino; // hard link: same inode, data stored once
                e.DataOffset = entries[first].DataOffset; e.DataSize = entries[first].DataSize;
                continue;
            }
            if (node.HostId is { } id2) inoOf[id2] = i;
            e.Ino = nextIno++;
            if (node.IsSymlink) { e.DataOffset = (ulong)pos; e.DataSize = (ulong)node.Data!.Length; pos += node.Data.Length; }
        }
        for (int i = 0; i < n; i++)
        {
            var node = flat[i].Node;
            if (!node.IsRegular || (node.HostId is { } id && inoOf[id] != i)) continue;
            pos = Align(pos, RootFsFormat.DataAlign);
            entries[i].DataOffset = (ulong)pos;
            entries[i].DataSize = (ulong)node.Size;
            pos += node.Size;
        }
        // Hard links copied their first entry's data fields before the data was placed.
        for (int i = 0; i < n; i++)
        {
            var node = flat[i].Node;
            if (node.IsRegular && node.HostId is { } id && inoOf[id] != i)
            {
                entries[i].DataOffset = entries[inoOf[id]].DataOffset;
                entries[i].DataSize = entries[inoOf[id]].DataSize;
            }
        }

        // Header, entries, names.
        var head = new byte[namesOffset];
        var hs = head.AsSpan();
        RootFsHeaderWriter.Write(hs, (uint)n, (ulong)namesOffset, (ulong)names.Length);
        for (int i = 0; i < n; i++)
            RootFsEntry.Encode(hs.Slice(RootFsFormat.HeaderSize + i * RootFsFormat.EntrySize, RootFsFormat.EntrySize), ref entries[i]);
        s.Write(head);
        s.Write(names.GetBuffer(), 0, (int)names.Length);
        long written = namesOffset + names.Length;
        for (int i = 0; i < n; i++)
        {
            var node = flat[i].Node;
            if (node.IsSymlink && (node.HostId == null))
            {
                if (entries[i].DataOffset != (ulong)written) throw new InvalidOperationException("rootfs layout mismatch");
                s.Write(node.Data!); written += node.Data!.Length;
            }
        }
        var zeros = new byte[RootFsFormat.DataAlign];
        var buf = new byte[1 << 20];
        for (int i = 0; i < n; i++)
        {
            var node = flat[i].Node;
            if (!node.IsRegular || (node.HostId is { } id && inoOf[id] != i)) continue;
            long pad = (long)entries[i].DataOffset - written;
            s.Write(zeros, 0, (int)pad); written += pad;
            if (node.Data != null) { s.Write(node.Data); written += node.Data.Length; continue; }
            long copied = 0;
            try
            {
                using var f = new FileStream(node.HostPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
                int r;
                while (copied < node.HostSize && (r = f.Read(buf, 0, (int)Math.Min(buf.Length, node.HostSize - copied))) > 0)
                {
                    s.Write(buf, 0, r); copied += r;
                    progress?.Bytes(written + copied);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UkpackException($"{node.HostPath}: {ex.Message}");
            }
            if (copied != node.HostSize) throw new UkpackException($"{node.HostPath}: file changed size while being read");
            written += copied;
        }
        return written;
    }

    public byte[] ToArray()
    {
        var ms = new MemoryStream();
        WriteTo(ms);
        return ms.ToArray();
    }
}
