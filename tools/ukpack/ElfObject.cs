using System.Buffers.Binary;
using System.Text;

namespace Ukpack;

/// <summary>
/// A host-side reader for what ukpack needs beyond the kernel's shared ElfFile: sections,
/// the dynamic section (DT_NEEDED, RPATH/RUNPATH, SONAME), symbols (.symtab and .dynsym) and
/// the relocations that name imported functions. Full .NET: never built into the kernel.
/// Malformed input gives an object with less information, never an exception.
/// </summary>
public sealed class ElfObject
{
    public const int DT_NEEDED = 1, DT_STRTAB = 5, DT_SONAME = 14, DT_RPATH = 15, DT_RUNPATH = 29;
    public const uint SHT_SYMTAB = 2, SHT_RELA = 4, SHT_DYNSYM = 11, SHF_EXECINSTR = 4;

    public sealed record Section(string Name, uint Type, ulong Flags, ulong Addr, ulong Offset, ulong Size, uint Link, ulong EntSize);
    public sealed record Symbol(string Name, ulong Value, ulong Size, int Type, bool Defined, bool Global);
    public sealed record Segment(uint Type, uint Flags, ulong Offset, ulong VAddr, ulong FileSize, ulong MemSize);

    public byte[] Bytes { get; }
    public ushort Type { get; private set; }
    public ulong Entry { get; private set; }
    public List<Segment> Segments { get; } = [];
    public List<Section> Sections { get; } = [];
    public List<string> Needed { get; } = [];
    public string? Soname { get; private set; }
    public string? RPath { get; private set; }
    public string? RunPath { get; private set; }
    public string? Interp { get; private set; }
    public bool IsDynamic { get; private set; }
    /// <summary>Functions from .symtab, else .dynsym (defined ones, with addresses).</summary>
    public List<Symbol> Symbols { get; } = [];
    /// <summary>GOT slot address -> imported symbol name (JUMP_SLOT and GLOB_DAT relocations).</summary>
    public Dictionary<ulong, string> ImportSlots { get; } = [];
    /// <summary>Targets of R_X86_64_RELATIVE relocations (pointers stored in data).</summary>
    public List<ulong> RelativeTargets { get; } = [];
    /// <summary>Targets of relocations against defined symbols (R_X86_64_64 and friends): function pointers in data.</summary>
    public List<ulong> SymbolPointerTargets { get; } = [];

    ElfObject(byte[] bytes) { Bytes = bytes; }

    /// <summary>Quick test on the first bytes: a 64-bit little-endian x86-64 ELF.</summary>
    public static bool LooksLikeElf64X86(ReadOnlySpan<byte> head) =>
        head.Length >= 20 && head[0] == 0x7f && head[1] == (byte)'E' && head[2] == (byte)'L' && head[3] == (byte)'F'
        && head[4] == 2 && head[5] == 1 && BinaryPrimitives.ReadUInt16LittleEndian(head[18..]) == 62;

    public static bool IsElfFile(string path)
    {
        try
        {
            using var f = File.OpenRead(path);
            Span<byte> head = stackalloc byte[20];
            return f.ReadAtLeast(head, 20, throwOnEndOfStream: false) == 20 && LooksLikeElf64X86(head);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    public static ElfObject? Load(string path)
    {
        try { return Parse(File.ReadAllBytes(path)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public static ElfObject? Parse(byte[] b)
    {
        if (!LooksLikeElf64X86(b) || b.Length < 64) return null;
        var o = new ElfObject(b);
        try { o.Read(); } catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException or ArgumentException) { }
        return o;
    }

    ushort U16(ulong off) => BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(checked((int)off), 2));
    uint U32(ulong off) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(checked((int)off), 4));
    ulong U64(ulong off) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(checked((int)off), 8));

    string CStr(ulong off)
    {
        if (off >= (ulong)Bytes.Length) return "";
        int start = (int)off, end = Array.IndexOf(Bytes, (byte)0, start);
        if (end < 0) end = Bytes.Length;
        return Encoding.UTF8.GetString(Bytes, start, end - start);
    }

    /// <summary>File offset of a virtual address, through the PT_LOAD segments.</summary>
    public bool VAddrToOffset(ulong va, out ulong off)
    {
        foreach (var s in Segments)
            if (s.Type == 1 && va >= s.VAddr && va < s.VAddr + s.FileSize) { off = s.Offset + (va - s.VAddr); return true; }
        off = 0;
        return false;
    }

    void Read()
    {
        Type = U16(16);
        Entry = U64(24);
        ulong phoff = U64(32), shoff = U64(40);
        ushort phnum = U16(56), shnum = U16(60), shstrndx = U16(62);
        for (int i = 0; i < phnum && i < 4096; i++)
        {
            ulong p = phoff + (ulong)i * 56;
            var seg = new Segment(U32(p), U32(p + 4), U64(p + 8), U64(p + 16), U64(p + 32), U64(p + 40));
            Segments.Add(seg);
            if (seg.Type == 3) Interp = CStr(seg.Offset);
        }
        if (shoff != 0 && shnum > 0 && shoff + (ulong)shnum * 64 <= (ulong)Bytes.Length)
        {
            var raw = new List<(uint Name, uint Type, ulong Flags, ulong Addr, ulong Off, ulong Size, uint Link, ulong EntSize)>();
            for (int i = 0; i < shnum; i++)
            {
                ulong s = shoff + (ulong)i * 64;
                raw.Add((U32(s), U32(s + 4), U64(s + 8), U64(s + 16), U64(s + 24), U64(s + 32), U32(s + 40), U64(s + 56)));
            }
            ulong strOff = shstrndx < raw.Count ? raw[shstrndx].Off : 0;
            foreach (var r in raw)
                Sections.Add(new Section(strOff != 0 ? CStr(strOff + r.Name) : "", r.Type, r.Flags, r.Addr, r.Off, r.Size, r.Link, r.EntSize));
        }
        ReadDynamic();
        ReadSymbols();
        ReadRelocations();
    }

    void ReadDynamic()
    {
        var dyn = Segments.FirstOrDefault(s => s.Type == 2);
        if (dyn == null) return;
        IsDynamic = true;
        var entries = new List<(long Tag, ulong Val)>();
        for (ulong p = dyn.Offset; p + 16 <= dyn.Offset + dyn.FileSize && p + 16 <= (ulong)Bytes.Length; p += 16)
        {
            long tag = (long)U64(p);
            if (tag == 0) break;
            entries.Add((tag, U64(p + 8)));
        }
        var strtab = entries.FirstOrDefault(e => e.Tag == DT_STRTAB).Val;
        if (strtab == 0 || !VAddrToOffset(strtab, out var strOff)) return;
        foreach (var (tag, val) in entries)
        {
            switch (tag)
            {
                case DT_NEEDED: Needed.Add(CStr(strOff + val)); break;
                case DT_SONAME: Soname = CStr(strOff + val); break;
                case DT_RPATH: RPath = CStr(strOff + val); break;
                case DT_RUNPATH: RunPath = CStr(strOff + val); break;
            }
        }
    }

    List<(string Name, ulong Value, ulong Size, int Type, ushort Shndx, int Bind)> ReadSymTab(Section s)
    {
        var list = new List<(string, ulong, ulong, int, ushort, int)>();
        if (s.Link >= Sections.Count || s.EntSize != 24) return list;
        var str = Sections[(int)s.Link];
        for (ulong p = s.Offset; p + 24 <= s.Offset + s.Size && p + 24 <= (ulong)Bytes.Length; p += 24)
        {
            uint name = U32(p);
            byte info = Bytes[p + 4];
            list.Add((CStr(str.Offset + name), U64(p + 8), U64(p + 16), info & 0xf, U16(p + 6), info >> 4));
        }
        return list;
    }

    void RelrPlace(ulong va)
    {
        if (VAddrToOffset(va, out var off) && off + 8 <= (ulong)Bytes.Length) RelativeTargets.Add(U64(off));
    }

    /// <summary>The dynamic symbol table's entries in order (imports included): relocations index it.</summary>
    List<(string Name, ulong Value, ulong Size, int Type, ushort Shndx, int Bind)> _dynsym = [];

    void ReadSymbols()
    {
        var symtab = Sections.FirstOrDefault(s => s.Type == SHT_SYMTAB);
        var dynsym = Sections.FirstOrDefault(s => s.Type == SHT_DYNSYM);
        if (dynsym != null) _dynsym = ReadSymTab(dynsym);
        var seen = new HashSet<(ulong, string)>();
        void Take(IEnumerable<(string Name, ulong Value, ulong Size, int Type, ushort Shndx, int Bind)> syms)
        {
            foreach (var s in syms)
                if (s.Shndx != 0 && s.Value != 0 && s.Name.Length > 0 && (s.Type == 2 || s.Type == 10 /*IFUNC*/) && seen.Add((s.Value, s.Name)))
                    Symbols.Add(new Symbol(s.Name, s.Value, s.Size, s.Type, true, s.Bind != 0));
        }
        if (symtab != null) Take(ReadSymTab(symtab));
        Take(_dynsym);
    }

    /// <summary>Exported (defined, global) function names of the dynamic symbol table.</summary>
    public IEnumerable<(string Name, ulong Value)> Exports() =>
        _dynsym.Where(s => s.Shndx != 0 && s.Value != 0 && s.Bind != 0 && (s.Type == 2 || s.Type == 10)).Select(s => (s.Name, s.Value));

    void ReadRelocations()
    {
        // SHT_RELR (19): packed relative relocations (glibc 2.36's libc uses them); the
        // addend is the word already at the place.
        foreach (var s in Sections.Where(s => s.Type == 19 && s.EntSize == 8))
        {
            ulong where = 0;
            for (ulong p = s.Offset; p + 8 <= s.Offset + s.Size && p + 8 <= (ulong)Bytes.Length; p += 8)
            {
                ulong entry = U64(p);
                if ((entry & 1) == 0)
                {
                    RelrPlace(entry);
                    where = entry + 8;
                }
                else
                {
                    for (int bit = 1; bit < 64; bit++)
                        if ((entry >> bit & 1) != 0) RelrPlace(where + (ulong)(bit - 1) * 8);
                    where += 63 * 8;
                }
            }
        }
        foreach (var s in Sections.Where(s => s.Type == SHT_RELA && s.EntSize == 24))
        {
            for (ulong p = s.Offset; p + 24 <= s.Offset + s.Size && p + 24 <= (ulong)Bytes.Length; p += 24)
            {
                ulong off = U64(p), info = U64(p + 8);
                long addend = (long)U64(p + 16);
                uint type = (uint)info, sym = (uint)(info >> 32);
                if ((type == 7 /*JUMP_SLOT*/ || type == 6 /*GLOB_DAT*/) && sym < _dynsym.Count && _dynsym[(int)sym].Shndx == 0)
                    ImportSlots[off] = _dynsym[(int)sym].Name;
                else if (type == 8 /*RELATIVE*/) RelativeTargets.Add((ulong)addend);
                else if (type == 1 /*R_X86_64_64*/ && sym < _dynsym.Count && _dynsym[(int)sym].Shndx != 0 && _dynsym[(int)sym].Type == 2)
                    SymbolPointerTargets.Add(_dynsym[(int)sym].Value + (ulong)addend);
            }
        }
    }
}
