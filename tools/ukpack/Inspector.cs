using System.Text;
using Kernel.Fs;
using Kernel.Abi;

namespace Ukpack;

public static class Inspector
{
    static string SegType(uint t) => t switch
    {
        ElfConst.PT_LOAD => "LOAD", ElfConst.PT_DYNAMIC => "DYNAMIC", ElfConst.PT_INTERP => "INTERP",
        ElfConst.PT_NOTE => "NOTE", ElfConst.PT_PHDR => "PHDR", ElfConst.PT_TLS => "TLS",
        ElfConst.PT_GNU_EH_FRAME => "GNU_EH_FRAME", ElfConst.PT_GNU_STACK => "GNU_STACK",
        ElfConst.PT_GNU_RELRO => "GNU_RELRO", ElfConst.PT_GNU_PROPERTY => "GNU_PROPERTY",
        _ => $"0x{t:x}",
    };

    static string Flags(uint f) => $"{((f & ElfConst.PF_R) != 0 ? 'R' : '-')}{((f & ElfConst.PF_W) != 0 ? 'W' : '-')}{((f & ElfConst.PF_X) != 0 ? 'X' : '-')}";

    public static string ModeString(uint mode)
    {
        char t = (mode & RootFsFormat.S_IFMT) switch
        {
            RootFsFormat.S_IFDIR => 'd', RootFsFormat.S_IFLNK => 'l', RootFsFormat.S_IFREG => '-', _ => '?',
        };
        var sb = new StringBuilder().Append(t);
        string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) sb.Append((mode & (1u << (8 - i))) != 0 ? rwx[i] : '-');
        if ((mode & 0x800) != 0) sb[3] = sb[3] == 'x' ? 's' : 'S';
        if ((mode & 0x400) != 0) sb[6] = sb[6] == 'x' ? 's' : 'S';
        if ((mode & 0x200) != 0) sb[9] = sb[9] == 'x' ? 't' : 'T';
        return sb.ToString();
    }

    public static int Inspect(string path, TextWriter w)
    {
        var img = ImageFile.Open(path);
        w.WriteLine($"image:    {path} ({(img.Disk != null ? new FileInfo(path).Length : img.Bytes.Length)} bytes)");
        w.WriteLine($"kernel:   {img.KernelSize} bytes (with padding), sha256 {KernelIdOf(img)}{SameAsDefault(img)}");
        w.WriteLine($"payload:  {img.Trailer.PayloadLength} bytes at 0x{img.Trailer.PayloadOffset:x}");
        w.WriteLine($"CRC:      0x{img.Trailer.Crc:x8} over the whole image, ok");
        w.WriteLine($"program:  {img.Program}");
        w.WriteLine("argv:     " + string.Join(" ", img.Argv.Select(Quote)));
        w.WriteLine("env:");
        foreach (var e in img.Env) w.WriteLine("  " + e);

        if (img.Disk is { } disk)
        {
            w.WriteLine($"rootdisk: ext4, {disk.DiskLength} bytes at 0x{disk.DiskOffset:x}, UUID {RootDisk.UuidString(disk.Uuid)} (list it with: debugfs -R 'ls -l /' '{path}?offset={disk.DiskOffset}')");
            return 0;
        }
        var fs = img.RootFs;
        RootFsReader.Validate(fs, out var h);
        var paths = new string[h.Count];
        int progIndex = -1;
        for (uint i = 0; i < h.Count; i++)
        {
            RootFsReader.GetEntry(fs, i, out var e);
            paths[i] = i == 0 ? "/" : (e.Parent == 0 ? "" : paths[e.Parent]) + "/" + Encoding.UTF8.GetString(RootFsReader.Name(fs, ref h, ref e));
            if (paths[i] == img.Program) progIndex = (int)i;
        }

        // ELF summary of the program, read from the rootfs.
        if (progIndex >= 0)
        {
            RootFsReader.GetEntry(fs, (uint)progIndex, out var pe);
            var data = RootFsReader.Data(fs, ref pe);
            var err = ElfFile.Parse(data, out var elf);
            if (err != ElfError.None) w.WriteLine($"elf:      {ElfFile.ErrorMessage(err)}");
            else
            {
                var interp = elf.HasInterp() ? Encoding.UTF8.GetString(elf.Interp(data)) : "none";
                w.WriteLine($"elf:      {(elf.Type == ElfConst.ET_DYN ? "DYN (position-independent)" : "EXEC")}, entry 0x{elf.Entry:x}, interp {interp}, {(elf.HasSymbols(data) ? "symbols" : "stripped")}");
                foreach (var s in elf.Segments)
                    w.WriteLine($"  {SegType(s.Type),-12} {Flags(s.Flags)} off 0x{s.Offset:x8} vaddr 0x{s.VAddr:x12} filesz 0x{s.FileSize:x} memsz 0x{s.MemSize:x} align 0x{s.Align:x}");
            }
        }
        else w.WriteLine("elf:      program not found in the root filesystem");

        long files = 0, bytes = 0, dirs = 0, links = 0;
        for (uint i = 0; i < h.Count; i++)
        {
            RootFsReader.GetEntry(fs, i, out var e);
            if (RootFsFormat.IsDir(e.Mode)) dirs++;
            else if (RootFsFormat.IsSymlink(e.Mode)) links++;
            else { files++; bytes += (long)e.DataSize; }
        }
        w.WriteLine($"rootfs:   {h.Count} entries: {files} files ({bytes} bytes), {dirs} directories, {links} symbolic links");
        for (uint i = 0; i < h.Count; i++)
        {
            RootFsReader.GetEntry(fs, i, out var e);
            var line = $"  {ModeString(e.Mode)} {e.Uid,5} {e.Gid,5} {e.DataSize,10} {paths[i]}";
            if (RootFsFormat.IsSymlink(e.Mode)) line += " -> " + Encoding.UTF8.GetString(RootFsReader.Data(fs, ref e));
            w.WriteLine(line);
        }
        return 0;
    }

    /// <summary>The kernel inside the image, identified as `ukpack --version` identifies out/kernel.elf.</summary>
    static string KernelIdOf(ImageFile img) => Help.KernelId(img.Bytes.AsSpan(0, (int)img.KernelSize));

    static string SameAsDefault(ImageFile img)
    {
        var path = Builder.DefaultKernelPath();
        if (!File.Exists(path)) return "";
        var mine = img.Bytes.AsSpan(0, (int)img.KernelSize);
        var def = File.ReadAllBytes(path);
        return def.Length <= mine.Length && mine[..def.Length].SequenceEqual(def) && mine[def.Length..].IndexOfAnyExcept((byte)0) < 0
            ? " (the same as " + path + ")" : " (not " + path + ")";
    }

    static string Quote(string s) => s.Length > 0 && !s.Any(c => char.IsWhiteSpace(c) || c == '\'' || c == '"') ? s : "'" + s.Replace("'", "'\\''") + "'";
}
