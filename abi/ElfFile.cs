// ELF64 reader. SHARED SOURCE: compiled into the kernel (tiny corelib) and into the host
// tools (ukpack, HostTests). Keep to: primitives, structs, classes with fields, static
// methods, arrays, spans, string literals, enums, out parameters, BinaryPrimitives.
// No exceptions, no generics, no LINQ, no string building.
#nullable disable
using System;
using System.Buffers.Binary;

namespace Kernel.Abi
{
    public enum ElfError
    {
        None = 0,
        TooSmall,             // shorter than an ELF header
        BadMagic,             // not \x7fELF
        Elf32,                // ELFCLASS32
        BadClass,             // EI_CLASS neither 1 nor 2
        BigEndian,            // ELFDATA2MSB
        BadDataEncoding,      // EI_DATA neither 1 nor 2
        BadVersion,           // EI_VERSION / e_version != 1
        WrongMachine,         // e_machine != EM_X86_64
        BadType,              // not ET_EXEC / ET_DYN (relocatable object, core file...)
        BadHeaderSize,        // e_ehsize < 64
        BadPhentsize,         // e_phentsize != 56
        NoProgramHeaders,     // e_phnum == 0
        TooManyProgramHeaders,// e_phnum * 56 > 65536 (Linux's limit)
        PhdrOutOfBounds,      // program header table past the end of the file
        SegmentOutOfBounds,   // p_offset + p_filesz past the end of the file
        FileszExceedsMemsz,   // p_filesz > p_memsz
        BadAlignment,         // p_align neither 0, 1 nor a power of two
        MisalignedSegment,    // PT_LOAD with p_vaddr % p_align != p_offset % p_align
        AddressOverflow,      // p_vaddr + p_memsz wraps or leaves the user half
        NoLoadSegments,       // no PT_LOAD
        MultipleInterp,       // more than one PT_INTERP
        BadInterp,            // PT_INTERP empty, too long, or not NUL-terminated
        MultipleTls,          // more than one PT_TLS
    }

    public static class ElfConst
    {
        public const ushort ET_EXEC = 2;
        public const ushort ET_DYN = 3;
        public const ushort EM_X86_64 = 62;

        public const uint PT_NULL = 0;
        public const uint PT_LOAD = 1;
        public const uint PT_DYNAMIC = 2;
        public const uint PT_INTERP = 3;
        public const uint PT_NOTE = 4;
        public const uint PT_PHDR = 6;
        public const uint PT_TLS = 7;
        public const uint PT_GNU_EH_FRAME = 0x6474e550;
        public const uint PT_GNU_STACK = 0x6474e551;
        public const uint PT_GNU_RELRO = 0x6474e552;
        public const uint PT_GNU_PROPERTY = 0x6474e553;

        public const uint PF_X = 1;
        public const uint PF_W = 2;
        public const uint PF_R = 4;

        public const uint SHT_SYMTAB = 2;
        public const uint SHT_STRTAB = 3;
        public const uint SHT_DYNSYM = 11;

        public const int STT_NOTYPE = 0;
        public const int STT_OBJECT = 1;
        public const int STT_FUNC = 2;

        public const int EhdrSize = 64;
        public const int PhdrSize = 56;
        public const int ShdrSize = 64;
        public const int SymSize = 24;
        public const int MaxPhdrBytes = 65536;
        public const int MaxInterpLength = 4096;
        public const ulong UserTop = 0x0000_8000_0000_0000;
    }

    public struct ProgramHeader
    {
        public uint Type;
        public uint Flags;
        public ulong Offset;
        public ulong VAddr;
        public ulong PAddr;
        public ulong FileSize;
        public ulong MemSize;
        public ulong Align;
    }

    /// <summary>A symbol found by <see cref="ElfFile.FindSymbol"/>. The name is
    /// file.Slice(NameOffset, NameLength).</summary>
    public struct ElfSymbol
    {
        public ulong Value;
        public ulong Size;
        public ulong Offset;      // address - Value
        public int NameOffset;    // in the file
        public int NameLength;
        public int Type;          // STT_*
    }

    public sealed class ElfFile
    {
        // ELF header
        public ushort Type;
        public ushort Machine;
        public ulong Entry;
        public ulong PhOff;
        public ulong ShOff;
        public uint Flags;
        public ushort PhEntSize;
        public ushort PhNum;
        public ushort ShEntSize;
        public ushort ShNum;
        public ushort ShStrNdx;
        public ulong FileLength;

        // All program headers, in file order.
        public ProgramHeader[] Segments;

        // Indexes into Segments of the special headers, -1 if absent.
        public int InterpIndex;
        public int TlsIndex;
        public int PhdrIndex;
        public int DynamicIndex;
        public int GnuStackIndex;
        public int LoadCount;

        // Lowest PT_LOAD p_vaddr (page-aligned down) and highest p_vaddr + p_memsz.
        public ulong MinVAddr;
        public ulong MaxVAddr;

        /// <summary>Index of the PT_LOAD segment whose file bytes hold `offset`, or -1.</summary>
        public int LoadSegmentAt(ulong offset)
        {
            for (int i = 0; i < Segments.Length; i++)
            {
                ProgramHeader ph = Segments[i];
                if (ph.Type == ElfConst.PT_LOAD && offset >= ph.Offset && offset - ph.Offset < ph.FileSize) return i;
            }
            return -1;
        }

        public bool IsPie() { return Type == ElfConst.ET_DYN; }
        public bool HasInterp() { return InterpIndex >= 0; }

        /// <summary>PT_GNU_STACK with PF_X asks for an executable stack; no PT_GNU_STACK
        /// means executable stack on x86-64 Linux too.</summary>
        public bool ExecStack()
        {
            return GnuStackIndex < 0 || (Segments[GnuStackIndex].Flags & ElfConst.PF_X) != 0;
        }

        /// <summary>Parses and validates an ELF64 x86-64 executable. On error elf is null.</summary>
        public static ElfError Parse(ReadOnlySpan<byte> file, out ElfFile elf)
        {
            elf = null;
            if (!IsMagic(file)) return ElfError.BadMagic;
            if (file.Length < 16) return ElfError.TooSmall;
            byte cls = file[4];
            if (cls == 1) return ElfError.Elf32;
            if (cls != 2) return ElfError.BadClass;
            byte data = file[5];
            if (data == 2) return ElfError.BigEndian;
            if (data != 1) return ElfError.BadDataEncoding;
            if (file[6] != 1) return ElfError.BadVersion;
            if (file.Length < ElfConst.EhdrSize) return ElfError.TooSmall;

            ElfFile e = new ElfFile();
            e.FileLength = (ulong)file.Length;
            e.Type = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(16, 2));
            e.Machine = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(18, 2));
            uint version = BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(20, 4));
            e.Entry = BinaryPrimitives.ReadUInt64LittleEndian(file.Slice(24, 8));
            e.PhOff = BinaryPrimitives.ReadUInt64LittleEndian(file.Slice(32, 8));
            e.ShOff = BinaryPrimitives.ReadUInt64LittleEndian(file.Slice(40, 8));
            e.Flags = BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(48, 4));
            ushort ehsize = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(52, 2));
            e.PhEntSize = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(54, 2));
            e.PhNum = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(56, 2));
            e.ShEntSize = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(58, 2));
            e.ShNum = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(60, 2));
            e.ShStrNdx = BinaryPrimitives.ReadUInt16LittleEndian(file.Slice(62, 2));

            if (e.Machine != ElfConst.EM_X86_64) return ElfError.WrongMachine;
            if (e.Type != ElfConst.ET_EXEC && e.Type != ElfConst.ET_DYN) return ElfError.BadType;
            if (version != 1) return ElfError.BadVersion;
            if (ehsize < ElfConst.EhdrSize) return ElfError.BadHeaderSize;
            if (e.PhNum == 0) return ElfError.NoProgramHeaders;
            if (e.PhEntSize != ElfConst.PhdrSize) return ElfError.BadPhentsize;
            ulong phBytes = (ulong)e.PhNum * ElfConst.PhdrSize;
            if (phBytes > ElfConst.MaxPhdrBytes) return ElfError.TooManyProgramHeaders;
            if (!InBounds(e.PhOff, phBytes, e.FileLength)) return ElfError.PhdrOutOfBounds;

            e.Segments = new ProgramHeader[e.PhNum];
            e.InterpIndex = -1;
            e.TlsIndex = -1;
            e.PhdrIndex = -1;
            e.DynamicIndex = -1;
            e.GnuStackIndex = -1;
            e.LoadCount = 0;
            e.MinVAddr = ulong.MaxValue;
            e.MaxVAddr = 0;

            for (int i = 0; i < e.PhNum; i++)
            {
                ReadOnlySpan<byte> p = file.Slice((int)e.PhOff + i * ElfConst.PhdrSize, ElfConst.PhdrSize);
                ProgramHeader ph;
                ph.Type = BinaryPrimitives.ReadUInt32LittleEndian(p.Slice(0, 4));
                ph.Flags = BinaryPrimitives.ReadUInt32LittleEndian(p.Slice(4, 4));
                ph.Offset = BinaryPrimitives.ReadUInt64LittleEndian(p.Slice(8, 8));
                ph.VAddr = BinaryPrimitives.ReadUInt64LittleEndian(p.Slice(16, 8));
                ph.PAddr = BinaryPrimitives.ReadUInt64LittleEndian(p.Slice(24, 8));
                ph.FileSize = BinaryPrimitives.ReadUInt64LittleEndian(p.Slice(32, 8));
                ph.MemSize = BinaryPrimitives.ReadUInt64LittleEndian(p.Slice(40, 8));
                ph.Align = BinaryPrimitives.ReadUInt64LittleEndian(p.Slice(48, 8));
                e.Segments[i] = ph;

                if (ph.FileSize != 0 && !InBounds(ph.Offset, ph.FileSize, e.FileLength))
                    return ElfError.SegmentOutOfBounds;

                if (ph.Type == ElfConst.PT_LOAD)
                {
                    if (ph.FileSize > ph.MemSize) return ElfError.FileszExceedsMemsz;
                    if (ph.Align > 1)
                    {
                        if ((ph.Align & (ph.Align - 1)) != 0) return ElfError.BadAlignment;
                        if ((ph.VAddr & (ph.Align - 1)) != (ph.Offset & (ph.Align - 1))) return ElfError.MisalignedSegment;
                    }
                    ulong end = ph.VAddr + ph.MemSize;
                    if (end < ph.VAddr || end > ElfConst.UserTop) return ElfError.AddressOverflow;
                    ulong start = ph.VAddr & ~(ulong)0xfff;
                    if (start < e.MinVAddr) e.MinVAddr = start;
                    if (end > e.MaxVAddr) e.MaxVAddr = end;
                    e.LoadCount++;
                }
                else if (ph.Type == ElfConst.PT_INTERP)
                {
                    if (e.InterpIndex >= 0) return ElfError.MultipleInterp;
                    if (ph.FileSize < 2 || ph.FileSize > ElfConst.MaxInterpLength) return ElfError.BadInterp;
                    if (file[(int)(ph.Offset + ph.FileSize - 1)] != 0) return ElfError.BadInterp;
                    e.InterpIndex = i;
                }
                else if (ph.Type == ElfConst.PT_TLS)
                {
                    if (e.TlsIndex >= 0) return ElfError.MultipleTls;
                    if (ph.FileSize > ph.MemSize) return ElfError.FileszExceedsMemsz;
                    if (ph.Align > 1 && (ph.Align & (ph.Align - 1)) != 0) return ElfError.BadAlignment;
                    e.TlsIndex = i;
                }
                else if (ph.Type == ElfConst.PT_PHDR)
                {
                    e.PhdrIndex = i;
                }
                else if (ph.Type == ElfConst.PT_DYNAMIC)
                {
                    e.DynamicIndex = i;
                }
                else if (ph.Type == ElfConst.PT_GNU_STACK)
                {
                    e.GnuStackIndex = i;
                }
            }
            if (e.LoadCount == 0) return ElfError.NoLoadSegments;
            elf = e;
            return ElfError.None;
        }

        /// <summary>The PT_INTERP path without its NUL; empty if there is none.</summary>
        public ReadOnlySpan<byte> Interp(ReadOnlySpan<byte> file)
        {
            if (InterpIndex < 0) return default(ReadOnlySpan<byte>);
            ProgramHeader ph = Segments[InterpIndex];
            int len = (int)ph.FileSize - 1;
            // Stop at the first NUL, in case the segment is padded.
            for (int i = 0; i < len; i++)
            {
                if (file[(int)ph.Offset + i] == 0) { len = i; break; }
            }
            return file.Slice((int)ph.Offset, len);
        }

        /// <summary>The file bytes of segment i (p_filesz bytes from p_offset).</summary>
        public ReadOnlySpan<byte> SegmentData(ReadOnlySpan<byte> file, int i)
        {
            ProgramHeader ph = Segments[i];
            if (ph.FileSize == 0) return default(ReadOnlySpan<byte>);
            return file.Slice((int)ph.Offset, (int)ph.FileSize);
        }

        /// <summary>Virtual address of the program headers once loaded (before adding the
        /// load bias of a PIE): PT_PHDR's p_vaddr, or the PT_LOAD that maps e_phoff.
        /// Returns false if the headers are not mapped.</summary>
        public bool PhdrVAddr(out ulong vaddr)
        {
            vaddr = 0;
            if (PhdrIndex >= 0) { vaddr = Segments[PhdrIndex].VAddr; return true; }
            for (int i = 0; i < Segments.Length; i++)
            {
                ProgramHeader ph = Segments[i];
                if (ph.Type == ElfConst.PT_LOAD && PhOff >= ph.Offset && PhOff + (ulong)PhNum * ElfConst.PhdrSize <= ph.Offset + ph.FileSize)
                {
                    vaddr = ph.VAddr + (PhOff - ph.Offset);
                    return true;
                }
            }
            return false;
        }

        /// <summary>Finds the function (or other symbol) containing addr, an address in the
        /// file's own link-time address space (subtract a PIE's load bias first). Uses
        /// .symtab, falling back to .dynsym. Prefers a symbol whose [value, value+size)
        /// contains addr; otherwise the nearest preceding sized-0 function/notype symbol.</summary>
        public bool FindSymbol(ReadOnlySpan<byte> file, ulong addr, out ElfSymbol sym)
        {
            if (FindSymbolIn(file, ElfConst.SHT_SYMTAB, addr, out sym)) return true;
            return FindSymbolIn(file, ElfConst.SHT_DYNSYM, addr, out sym);
        }

        /// <summary>True if the file has a .symtab (i.e. is not stripped).</summary>
        public bool HasSymbols(ReadOnlySpan<byte> file)
        {
            int symIndex;
            return FindSection(file, ElfConst.SHT_SYMTAB, out symIndex);
        }

        bool SectionHeadersValid()
        {
            if (ShNum == 0 || ShOff == 0 || ShEntSize != ElfConst.ShdrSize) return false;
            return InBounds(ShOff, (ulong)ShNum * ElfConst.ShdrSize, FileLength);
        }

        bool FindSection(ReadOnlySpan<byte> file, uint type, out int index)
        {
            index = -1;
            if (!SectionHeadersValid()) return false;
            for (int i = 0; i < ShNum; i++)
            {
                ReadOnlySpan<byte> sh = file.Slice((int)ShOff + i * ElfConst.ShdrSize, ElfConst.ShdrSize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(sh.Slice(4, 4)) == type) { index = i; return true; }
            }
            return false;
        }

        bool FindSymbolIn(ReadOnlySpan<byte> file, uint type, ulong addr, out ElfSymbol sym)
        {
            sym = new ElfSymbol();
            int symIndex;
            if (!FindSection(file, type, out symIndex)) return false;
            ReadOnlySpan<byte> sh = file.Slice((int)ShOff + symIndex * ElfConst.ShdrSize, ElfConst.ShdrSize);
            ulong symOff = BinaryPrimitives.ReadUInt64LittleEndian(sh.Slice(24, 8));
            ulong symSize = BinaryPrimitives.ReadUInt64LittleEndian(sh.Slice(32, 8));
            uint link = BinaryPrimitives.ReadUInt32LittleEndian(sh.Slice(40, 4));
            ulong entSize = BinaryPrimitives.ReadUInt64LittleEndian(sh.Slice(56, 8));
            if (entSize != ElfConst.SymSize || !InBounds(symOff, symSize, FileLength)) return false;
            if (link == 0 || link >= ShNum) return false;
            ReadOnlySpan<byte> strSh = file.Slice((int)ShOff + (int)link * ElfConst.ShdrSize, ElfConst.ShdrSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(strSh.Slice(4, 4)) != ElfConst.SHT_STRTAB) return false;
            ulong strOff = BinaryPrimitives.ReadUInt64LittleEndian(strSh.Slice(24, 8));
            ulong strSize = BinaryPrimitives.ReadUInt64LittleEndian(strSh.Slice(32, 8));
            if (!InBounds(strOff, strSize, FileLength)) return false;

            int count = (int)(symSize / ElfConst.SymSize);
            int best = -1;
            bool bestContains = false;
            ulong bestValue = 0;
            ulong bestSize = 0;
            for (int i = 1; i < count; i++)
            {
                ReadOnlySpan<byte> s = file.Slice((int)symOff + i * ElfConst.SymSize, ElfConst.SymSize);
                int stype = s[4] & 0xf;
                ushort shndx = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(6, 2));
                if (shndx == 0) continue; // undefined
                if (stype != ElfConst.STT_FUNC && stype != ElfConst.STT_NOTYPE && stype != ElfConst.STT_OBJECT) continue;
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(8, 8));
                ulong size = BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(16, 8));
                if (value > addr) continue;
                bool contains = size != 0 && addr - value < size;
                if (contains)
                {
                    // Prefer functions over other kinds, then the innermost (latest start).
                    if (!bestContains || value > bestValue || (value == bestValue && stype == ElfConst.STT_FUNC))
                    {
                        best = i; bestContains = true; bestValue = value; bestSize = size;
                    }
                }
                else if (!bestContains && size == 0 && stype != ElfConst.STT_OBJECT && (best < 0 || value > bestValue))
                {
                    best = i; bestValue = value; bestSize = size;
                }
            }
            if (best < 0) return false;
            ReadOnlySpan<byte> b = file.Slice((int)symOff + best * ElfConst.SymSize, ElfConst.SymSize);
            uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(0, 4));
            if (nameOff >= strSize) return false;
            int start = (int)strOff + (int)nameOff;
            int end = start;
            int limit = (int)(strOff + strSize);
            while (end < limit && file[end] != 0) end++;
            if (end == start) return false;
            sym.Value = bestValue;
            sym.Size = bestSize;
            sym.Offset = addr - bestValue;
            sym.NameOffset = start;
            sym.NameLength = end - start;
            sym.Type = b[4] & 0xf;
            return true;
        }

        static bool IsMagic(ReadOnlySpan<byte> file)
        {
            return file.Length >= 4 && file[0] == 0x7f && file[1] == (byte)'E' && file[2] == (byte)'L' && file[3] == (byte)'F';
        }

        static bool InBounds(ulong offset, ulong length, ulong fileLength)
        {
            return offset <= fileLength && length <= fileLength - offset;
        }

        /// <summary>A short English description of an error, for messages.</summary>
        public static string ErrorMessage(ElfError e)
        {
            switch (e)
            {
                case ElfError.None: return "ok";
                case ElfError.TooSmall: return "truncated ELF file (too small for its header)";
                case ElfError.BadMagic: return "not an ELF file";
                case ElfError.Elf32: return "32-bit ELF programs are not supported (need x86-64)";
                case ElfError.BadClass: return "corrupt ELF file (bad EI_CLASS)";
                case ElfError.BigEndian: return "big-endian ELF programs are not supported (need x86-64)";
                case ElfError.BadDataEncoding: return "corrupt ELF file (bad EI_DATA)";
                case ElfError.BadVersion: return "corrupt ELF file (bad version)";
                case ElfError.WrongMachine: return "not an x86-64 program";
                case ElfError.BadType: return "not an executable (relocatable object or core file?)";
                case ElfError.BadHeaderSize: return "corrupt ELF file (bad e_ehsize)";
                case ElfError.BadPhentsize: return "corrupt ELF file (bad e_phentsize)";
                case ElfError.NoProgramHeaders: return "not an executable (no program headers)";
                case ElfError.TooManyProgramHeaders: return "corrupt ELF file (too many program headers)";
                case ElfError.PhdrOutOfBounds: return "corrupt or truncated ELF file (program headers past end of file)";
                case ElfError.SegmentOutOfBounds: return "corrupt or truncated ELF file (segment past end of file)";
                case ElfError.FileszExceedsMemsz: return "corrupt ELF file (segment p_filesz > p_memsz)";
                case ElfError.BadAlignment: return "corrupt ELF file (segment alignment not a power of two)";
                case ElfError.MisalignedSegment: return "corrupt ELF file (segment address and offset disagree modulo alignment)";
                case ElfError.AddressOverflow: return "corrupt ELF file (segment outside the user address space)";
                case ElfError.NoLoadSegments: return "not an executable (no loadable segments)";
                case ElfError.MultipleInterp: return "corrupt ELF file (more than one PT_INTERP)";
                case ElfError.BadInterp: return "corrupt ELF file (bad PT_INTERP)";
                case ElfError.MultipleTls: return "corrupt ELF file (more than one PT_TLS)";
            }
            return "corrupt ELF file";
        }
    }
}
