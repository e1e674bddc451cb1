using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Kernel.Fs;
using Microsoft.Extensions.Logging;

namespace Ukpack;

/// <summary>Where a root disk lies in its image file (docs/image-format.md, "Root disk").</summary>
public sealed record RootDiskInfo(long HeadLength, long DiskOffset, long DiskLength, byte[] Uuid);

/// <summary>`ukpack build --root-disk`: the root filesystem as an ext4 filesystem made by the
/// host's mke2fs -d, in the same file after the image's head (kernel, payload, trailer):
///
///   [0, head)              kernel, payload (with a ROOTDISK section), trailer: a whole image
///                          by itself, whose ROOTFS archive holds the root directory alone
///   [head, head + disk)    the ext4 filesystem; head is a multiple of 1 MiB
///   [head + disk, +32)     the root disk trailer: "UKROOTD1", u64 head length, u64 disk
///                          offset, u64 disk length
///
/// `ukpack run` gives QEMU the head as -kernel and -initrd (a copy in its temporary
/// directory: QEMU reads a whole -initrd file into memory) and the ext4 part as a virtio-blk
/// disk through the raw driver's offset= and size=, with snapshot=on, so that a run's writes
/// never reach the image.</summary>
public static class RootDisk
{
    public const long Alignment = 1 << 20;
    public const int TrailerSize = 32;
    public static ReadOnlySpan<byte> TrailerMagic => "UKROOTD1"u8;
    const long MiB = 1 << 20;

    // ---- reading

    /// <summary>The root disk trailer at the end of the file, or null when the file has none.
    /// Throws when one is there but does not describe this file.</summary>
    public static RootDiskInfo? ReadTrailer(string path, long fileLength)
    {
        if (fileLength < TrailerSize) return null;
        var t = new byte[TrailerSize];
        using (var f = File.OpenRead(path)) { f.Seek(fileLength - TrailerSize, SeekOrigin.Begin); f.ReadExactly(t); }
        if (!t.AsSpan(0, 8).SequenceEqual(TrailerMagic))
        {
            DiagnoseTruncated(path, fileLength, t);
            return null;
        }
        long head = (long)BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(8));
        long off = (long)BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(16));
        long len = (long)BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(24));
        if (head < TrailerSize || head > int.MaxValue || off < head || off % Alignment != 0 || len <= 0 || off > fileLength || len != fileLength - TrailerSize - off)
            throw new UkpackException($"{path}: corrupt image (its root disk trailer does not match the file's {fileLength} bytes)");
        return new RootDiskInfo(head, off, len, []);
    }

    /// <summary>A file that ends in neither trailer: when its start is a root-disk image's
    /// head (its trailer at a MiB boundary), the rest was cut off; say so.</summary>
    static void DiagnoseTruncated(string path, long fileLength, byte[] last)
    {
        if (PayloadFormat.IsTrailerMagic(last)) return;       // an ordinary image
        using var f = File.OpenRead(path);
        var magic = new byte[4];
        if (f.Read(magic) != 4 || magic[0] != 0x7f || magic[1] != (byte)'E') return;
        var t = new byte[PayloadFormat.TrailerSize];
        for (long end = MiB; end <= fileLength && end <= 4096 * MiB; end += MiB)
        {
            f.Seek(end - t.Length, SeekOrigin.Begin);
            f.ReadExactly(t);
            if (!PayloadFormat.IsTrailerMagic(t)) continue;
            var head = new byte[end];
            f.Seek(0, SeekOrigin.Begin);
            f.ReadExactly(head);
            ImageFile img;
            try { img = ImageFile.Parse(path, head); } catch (UkpackException) { continue; }
            var s = img.Section(PayloadFormat.KindRootDisk);
            if (s.Length < PayloadFormat.RootDiskSectionSize) return;
            long need = (long)BinaryPrimitives.ReadUInt64LittleEndian(s) + (long)BinaryPrimitives.ReadUInt64LittleEndian(s[8..]) + TrailerSize;
            throw new UkpackException($"{path}: truncated image: it has {fileLength} bytes, its root disk needs {need}");
        }
    }

    /// <summary>Checks that the head's ROOTDISK section and the trailer agree and that an ext4
    /// filesystem with the recorded UUID is where they say. Throws with one line.</summary>
    public static RootDiskInfo Check(string path, ImageFile img, RootDiskInfo disk)
    {
        var s = img.Section(PayloadFormat.KindRootDisk);
        if (s.Length < PayloadFormat.RootDiskSectionSize)
            throw new UkpackException($"{path}: corrupt image (a root disk trailer, but no ROOTDISK section)");
        long off = (long)BinaryPrimitives.ReadUInt64LittleEndian(s);
        long len = (long)BinaryPrimitives.ReadUInt64LittleEndian(s[8..]);
        if (off != disk.DiskOffset || len != disk.DiskLength)
            throw new UkpackException($"{path}: corrupt image (the root disk trailer and the payload disagree)");
        var uuid = s.Slice(16, 16).ToArray();
        var sb = new byte[1024];
        using (var f = File.OpenRead(path)) { f.Seek(off + 1024, SeekOrigin.Begin); f.ReadExactly(sb); }
        if (BinaryPrimitives.ReadUInt16LittleEndian(sb.AsSpan(56)) != 0xEF53)
            throw new UkpackException($"{path}: corrupt image (no ext4 filesystem in its root disk part)");
        if (!sb.AsSpan(104, 16).SequenceEqual(uuid))
            throw new UkpackException($"{path}: corrupt image (the root disk's ext4 filesystem is not the one built with it)");
        return disk with { Uuid = uuid };
    }

    public static string UuidString(ReadOnlySpan<byte> u) =>
        Convert.ToHexStringLower(u[..4]) + "-" + Convert.ToHexStringLower(u[4..6]) + "-" + Convert.ToHexStringLower(u[6..8]) + "-"
        + Convert.ToHexStringLower(u[8..10]) + "-" + Convert.ToHexStringLower(u[10..16]);

    // ---- building

    static string FindTool(string name)
    {
        // $UKPACK_MKE2FS, $UKPACK_DEBUGFS: another program (the tests name a missing one).
        string env = "UKPACK_" + name.ToUpperInvariant();
        var over = Environment.GetEnvironmentVariable(env);
        if (!string.IsNullOrEmpty(over))
            return File.Exists(over) ? over : throw new UkpackException($"--root-disk needs {name}, but {over} (${env}) does not exist");
        return E2fsprogs.Find(name)
            ?? throw new UkpackException($"--root-disk needs {name}, which is not installed (Debian: apt-get install e2fsprogs)");
    }

    /// <summary>Parses a size such as 512M, 2G, 1048576 (bytes).</summary>
    public static long ParseSize(string s, string what)
    {
        var m = System.Text.RegularExpressions.Regex.Match(s, "^([0-9]+)([KMGT]?)i?B?$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!m.Success || !long.TryParse(m.Groups[1].Value, out var n)) throw new UkpackException($"{what} {s}: expected a size such as 512M or 2G");
        int shift = m.Groups[2].Value.ToUpperInvariant() switch { "K" => 10, "M" => 20, "G" => 30, "T" => 40, _ => 0 };
        if (n > (long.MaxValue >> (shift + 1))) throw new UkpackException($"{what} {s}: too large");
        return n << shift;
    }

    /// <summary>The size chosen when none is given: the tree's blocks, its inodes, the
    /// journal mke2fs makes for that size, and room for a run's writes (which go to QEMU's
    /// snapshot, not to the image, and take no space in the image file until then: mke2fs
    /// leaves unused blocks as holes).</summary>
    public static long DefaultSize(long dataBlocks, long inodes)
    {
        long bytes = dataBlocks * 4096;
        long size = bytes + bytes / 16 + inodes * 256 + 96 * MiB;
        size += size < 1024 * MiB ? 16 * MiB : size < 2048 * MiB ? 32 * MiB : size < 16384 * MiB ? 64 * MiB : 256 * MiB;
        return (size + MiB - 1) / MiB * MiB;
    }

    /// <summary>Writes the image to `path` atomically: the head, then mke2fs -d of the tree at
    /// the MiB-aligned offset after it, then the trailer.</summary>
    public static void WriteImageFile(string path, byte[] kernel, IReadOnlyList<string> argv, IReadOnlyList<string> env, string program,
        RootFsBuilder fs, long? size, ILogger log)
    {
        string mke2fs = FindTool("mke2fs");
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(Path.GetDirectoryName(full))) throw new UkpackException($"{path}: cannot write image: no such directory");
        var tmp = full + ".tmp" + Environment.ProcessId;
        var staging = full + ".rootdisk" + Environment.ProcessId;
        try
        {
            // 1. The tree as a host directory for mke2fs -d.
            RemoveTree(staging);
            Directory.CreateDirectory(staging);
            var st = new Staging(staging);
            using (var progress = new Progress("preparing the root disk tree")) st.Make(fs.Root, staging, true, progress);
            long inodes = st.Entries + Math.Max(st.Entries / 4, 4096);
            long diskLen = size ?? DefaultSize(st.DataBlocks, inodes);
            if (diskLen < 8 * MiB) throw new UkpackException($"--root-disk-size {diskLen}: at least 8M");
            diskLen = (diskLen + 4095) / 4096 * 4096;
            inodes = Math.Max(inodes, diskLen / 16384);
            inodes = Math.Min(inodes, diskLen / 4096);
            log.LogInformation("root disk: {Entries} entries, {Bytes} bytes of file data; ext4 of {Size} bytes, {Inodes} inodes", st.Entries, st.DataBlocks * 4096, diskLen, inodes);

            // 2. The head: kernel, payload (ROOTDISK section, an archive of "/" alone), zero
            // padding, trailer; its length is the disk's offset.
            var uuid = RandomNumberGenerator.GetBytes(16);
            uuid[6] = (byte)(uuid[6] & 0x0f | 0x40); uuid[8] = (byte)(uuid[8] & 0x3f | 0x80);
            long payloadOffset = (kernel.Length + PayloadFormat.PageSize - 1) / PayloadFormat.PageSize * PayloadFormat.PageSize;
            var emptyRoot = new RootFsBuilder();
            emptyRoot.Root.Mode = fs.Root.Mode; emptyRoot.Root.Uid = fs.Root.Uid; emptyRoot.Root.Gid = fs.Root.Gid;
            emptyRoot.Root.MtimeSec = fs.Root.MtimeSec; emptyRoot.Root.MtimeNsec = fs.Root.MtimeNsec;
            byte[] Section(long off)
            {
                var b = new byte[PayloadFormat.RootDiskSectionSize];
                BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)off);
                BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), (ulong)diskLen);
                uuid.CopyTo(b, 16);
                return b;
            }
            var measure = new MemoryStream();
            ImageWriter.WritePayload(measure, argv, env, program, emptyRoot, 0, Section(0));
            long diskOff = (payloadOffset + measure.Length + PayloadFormat.TrailerSize + Alignment - 1) / Alignment * Alignment;
            var table = Crc32.MakeTable();
            var pad = new byte[payloadOffset - kernel.Length];
            var payload = new MemoryStream();
            var (plen, crc) = ImageWriter.WritePayload(payload, argv, env, program, emptyRoot,
                Crc32.Update(table, Crc32.Update(table, 0, kernel), pad), Section(diskOff));
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                f.Write(kernel);
                f.Write(pad);
                f.Write(payload.GetBuffer(), 0, (int)payload.Length);
                f.Write(new byte[diskOff - PayloadFormat.TrailerSize - payloadOffset - plen]);
                f.Write(ImageWriter.Trailer(payloadOffset, plen, crc));
            }

            // 3. The filesystem, made in place at diskOff (the io manager's offset=), with the
            // kernel's volume options (inode tables and journal initialised now).
            var args = new List<string> { "-q", "-F", "-t", "ext4", "-b", "4096", "-N", inodes.ToString(), "-U", UuidString(uuid), "-L", "ukpack-root",
                "-E", $"offset={diskOff},lazy_itable_init=0,lazy_journal_init=0,root_owner={fs.Root.Uid}:{fs.Root.Gid}", "-d", staging, tmp, (diskLen / 1024) + "k" };
            var (status, err) = E2fsprogs.Run(mke2fs, args);
            if (status != 0)
            {
                string msg = err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.Length > 0) ?? $"status {status}";
                if (err.Contains("Could not allocate", StringComparison.Ordinal) || err.Contains("No space left", StringComparison.Ordinal)
                    || err.Contains("too small", StringComparison.Ordinal) || err.Contains("not enough", StringComparison.OrdinalIgnoreCase))
                    throw new UkpackException($"the root filesystem ({st.DataBlocks * 4096} bytes of file data, {st.Entries} entries) does not fit in a root disk of {diskLen} bytes (--root-disk-size): mke2fs: {msg}");
                throw new UkpackException($"mke2fs failed: {msg}");
            }
            // mke2fs -d gives the root directory its own mode and time, not the tree's.
            var r = fs.Root;
            st.Fixups.AddRange([$"sif / mode 0{Convert.ToString(r.Mode, 8)}", $"sif / uid {r.Uid}", $"sif / gid {r.Gid}",
                $"sif / mtime @{r.MtimeSec}", $"sif / mtime_extra {(ulong)r.MtimeNsec << 2}"]);
            Debugfs(tmp, diskOff, st.Fixups);

            // 4. The trailer after the filesystem.
            using (var f = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite))
            {
                if (f.Length > diskOff + diskLen) throw new UkpackException($"mke2fs wrote past the root disk's end ({f.Length} > {diskOff + diskLen})");
                f.SetLength(diskOff + diskLen);
                f.Seek(diskOff + diskLen, SeekOrigin.Begin);
                var t = new byte[TrailerSize];
                TrailerMagic.CopyTo(t);
                BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(8), (ulong)diskOff);
                BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(16), (ulong)diskOff);
                BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(24), (ulong)diskLen);
                f.Write(t);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UkpackException($"{path}: cannot write image: {e.Message}");
        }
        finally
        {
            try { File.Delete(tmp); } catch { }
            RemoveTree(staging);
        }
    }

    /// <summary>Removes the staging tree, whose directories may have the tree's read-only modes.</summary>
    static void RemoveTree(string dir)
    {
        if (!Directory.Exists(dir)) return;
        try { Directory.Delete(dir, true); return; } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        try
        {
            foreach (var d in Directory.EnumerateDirectories(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Prepend(dir))
                File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(dir, true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Owners that could not be set in the staging tree (not running as root) are set
    /// in the filesystem with debugfs.</summary>
    static void Debugfs(string image, long offset, List<string> commands)
    {
        string debugfs = FindTool("debugfs");
        var cmdFile = image + ".debugfs";
        File.WriteAllLines(cmdFile, commands);
        try
        {
            var (status, err) = E2fsprogs.Run(debugfs, ["-w", "-f", cmdFile, $"{image}?offset={offset}"]);
            if (status != 0) throw new UkpackException($"debugfs failed: {err}");
        }
        finally { try { File.Delete(cmdFile); } catch { } }
    }

    /// <summary>Makes the tree in a host directory: directories, symbolic links, files (a
    /// hard link to the host file when its owner, mode and time are already the tree's, else a
    /// copy), hard links, with the tree's owners, modes and times.</summary>
    sealed class Staging(string root)
    {
        [DllImport("libc", SetLastError = true)] static extern int lchown(string path, uint uid, uint gid);
        [DllImport("libc", SetLastError = true)] static extern int chmod(string path, uint mode);
        [DllImport("libc", SetLastError = true)] static extern int link(string oldpath, string newpath);
        [DllImport("libc", SetLastError = true)] static extern unsafe int symlink(byte* target, string linkpath);
        [DllImport("libc", SetLastError = true)] static extern unsafe int utimensat(int dirfd, string path, long* times, int flags);
        const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100;

        public long Entries, DataBlocks;
        public readonly List<string> Fixups = [];
        readonly Dictionary<(ulong, ulong), string> _treeLinks = [];    // host id -> first staging path
        readonly HashSet<(ulong, ulong)> _linkedHost = [];

        static UkpackException Fail(string what, string path) =>
            new($"root disk: cannot {what} {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

        public void Make(FsNode n, string path, bool isRoot, Progress progress)
        {
            Entries++;
            progress.Files((int)Math.Min(Entries, int.MaxValue));
            if (n.IsDir)
            {
                if (!isRoot) Directory.CreateDirectory(path);
                DataBlocks++;
                foreach (var c in n.Children.Values) Make(c, Path.Combine(path, c.Name), false, progress);
                Attr(n, path, false);
                return;
            }
            if (n.IsSymlink)
            {
                unsafe
                {
                    var target = new byte[n.Data!.Length + 1];
                    n.Data.CopyTo(target, 0);
                    fixed (byte* t = target) if (symlink(t, path) != 0) throw Fail("create the symbolic link", path);
                }
                if (n.Data.Length >= 60) DataBlocks++;
                Attr(n, path, true);
                return;
            }
            if (!n.IsRegular) return;
            if (n.HostId is { } id && _treeLinks.TryGetValue(id, out var first))
            {
                if (link(first, path) != 0) throw Fail("link", path);
                return;
            }
            DataBlocks += (n.Size + 4095) / 4096;
            if (n.HostId is { } id2) _treeLinks[id2] = path;
            if (n.Data != null)
            {
                File.WriteAllBytes(path, n.Data);
                Attr(n, path, false);
                return;
            }
            var hs = UnixStat.LStat(n.HostPath!);
            if (hs.Mode == n.Mode && hs.Uid == n.Uid && hs.Gid == n.Gid && hs.MtimeSec == n.MtimeSec && hs.MtimeNsec == n.MtimeNsec
                && hs.Size == n.HostSize && _linkedHost.Add((hs.Dev, hs.Ino)) && link(n.HostPath!, path) == 0)
                return;
            try { File.Copy(n.HostPath!, path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UkpackException($"{n.HostPath}: {e.Message}"); }
            Attr(n, path, false);
        }

        unsafe void Attr(FsNode n, string path, bool symlinkNode)
        {
            if (lchown(path, n.Uid, n.Gid) != 0)
            {
                // Not root: debugfs sets the owner in the filesystem afterwards.
                var guest = "/" + Path.GetRelativePath(root, path).Replace('\\', '/');
                if (guest == "/.") guest = "/";
                string q = "\"" + guest.Replace("\"", "\\\"") + "\"";
                Fixups.Add($"sif {q} uid {n.Uid}");
                Fixups.Add($"sif {q} gid {n.Gid}");
            }
            if (!symlinkNode && chmod(path, n.Mode & 0xfff) != 0) throw Fail("set the mode of", path);
            long* ts = stackalloc long[4];
            ts[0] = n.MtimeSec; ts[1] = n.MtimeNsec; ts[2] = n.MtimeSec; ts[3] = n.MtimeNsec;
            if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0) throw Fail("set the time of", path);
        }
    }
}
