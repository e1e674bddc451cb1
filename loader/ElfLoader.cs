using System;
using Kernel.Abi;
using Kernel.Arch;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Fs;

namespace Kernel.Loader
{
    /// Maps an ELF executable into a process and builds its initial stack
    /// (argc, argv, envp, auxv), as Linux's binfmt_elf does.
    public static unsafe class ElfLoader
    {
        public const ulong StackTop = 0x00007ffffffff000;
        const ulong PieBase = 0x0000555555554000;

        /// Maps the program and, for a dynamically linked one, its interpreter (PT_INTERP),
        /// which then gets control with AT_BASE/AT_ENTRY describing both, as on Linux.
        public static string Load(Process p, IFileBacking program, ReadOnlySpan<byte> file, out ulong entry)
        {
            entry = 0;
            ElfError err = ElfFile.Parse(file, out ElfFile elf);
            if (err != ElfError.None) return ElfFile.ErrorMessage(err);
            ulong bias = elf.IsPie() ? PieBase + (Random.Next() & 0xffff) * 4096 - elf.MinVAddr : 0;
            string e = MapImage(p.Memory, program, file, elf, bias, out ulong highest);
            if (e != null) return e;
            p.Memory.BrkStart = p.Memory.Brk = highest;
            p.Elf = elf;
            p.LoadBias = bias;
            entry = elf.Entry + bias;
            p.InterpBase = 0;
            DebugAnnounce.Loaded(program, bias);
            if (!elf.HasInterp()) return null;

            ReadOnlySpan<byte> interpPath = elf.Interp(file);
            int nul = interpPath.IndexOf((byte)0);
            if (nul >= 0) interpPath = interpPath.Slice(0, nul);
            if (!OpenProgram(interpPath, out IFileBacking interpFile, out ReadOnlySpan<byte> interp, out byte[] interpCopy)) return "the program's interpreter (PT_INTERP) is not in the root filesystem";
            err = ElfFile.Parse(interp, out ElfFile ielf);
            if (err != ElfError.None) return "the interpreter is not a valid ELF executable";
            if (ielf.HasInterp() || !ielf.IsPie()) return "the interpreter must be a static position-independent ELF";
            ulong span = (ielf.MaxVAddr - ielf.MinVAddr + 0xfff) & ~0xfffUL;
            ulong ibase = p.Memory.Vmas.FindFreeTopDown(span + 0x100000, UserMemory.MmapBottom, UserMemory.MmapTop);
            if (ibase == 0) return "no room for the interpreter";
            ibase = (ibase - (Random.Next() & 0xff) * 4096) & ~0xfffUL;
            e = MapImage(p.Memory, interpFile, interp, ielf, ibase - ielf.MinVAddr, out _);
            if (e != null) return e;
            p.InterpBase = ibase - ielf.MinVAddr;
            DebugAnnounce.Loaded(interpFile, p.InterpBase);
            entry = ielf.Entry + p.InterpBase;
            interpCopy = null;                         // held until the interpreter is mapped
            return null;
        }

        const ulong MmapMinAddr = 0x10000;

        /// Finds a program file through the VFS, like any file (symlinks followed), and gives
        /// its bytes: the image's, read in place, or (a file written at run time, a file on a
        /// volume) a copy in `copy`, which the caller keeps for as long as it uses `bytes`.
        public static bool OpenProgram(ReadOnlySpan<byte> path, out IFileBacking file, out ReadOnlySpan<byte> bytes, out byte[] copy)
        {
            bytes = default;
            file = null;
            copy = null;
            if (path.Length == 0 || path.Length >= 4096) return false;
            Span<byte> buf = stackalloc byte[4096];
            Span<byte> tmp = stackalloc byte[4096];
            path.CopyTo(buf);
            if (Vfs.Resolve(Vfs.Root, buf, path.Length, tmp, true, out _, out Inode node, out _, out _, out _) != 0) return false;
            if (node == null || !node.IsRegular) return false;
            if (node is MemFile f && f.ImageBytes(out bytes)) { file = f; return true; }
            copy = ReadWhole(node);
            if (copy == null) return false;
            bytes = copy;
            file = node;
            return true;
        }

        /// The whole of a regular file read into memory (through its page cache for a volume
        /// file); null when it cannot be read or memory is short.
        public static byte[] ReadWhole(Inode node)
        {
            long size = node.Size;
            if (size <= 0 || size > int.MaxValue) return null;
            if (!PhysicalMemory.HasRoom((ulong)size + (256 << 10))) return null;
            var copy = new byte[size];
            fixed (byte* c = copy)
            {
                SysResult r = node.ReadKernel(0, c, size);
                if (r.IsError || r.Raw != size) return null;
            }
            return copy;
        }

        static string MapImage(UserMemory m, IFileBacking backing, ReadOnlySpan<byte> file, ElfFile elf, ulong bias, out ulong highest)
        {
            highest = 0;
            bool viaMmap = CanMapFromFile(elf, bias);
            for (int i = 0; i < elf.Segments.Length; i++)
            {
                ProgramHeader ph = elf.Segments[i];
                if (ph.Type != ElfConst.PT_LOAD || ph.MemSize == 0) continue;
                ulong start = (ph.VAddr + bias) & ~0xfffUL;
                ulong end = (ph.VAddr + bias + ph.MemSize + 0xfff) & ~0xfffUL;
                // Linux refuses to map below mmap_min_addr (64 KiB): a segment at address 0
                // would make NULL a valid pointer.
                if (start < MmapMinAddr) return "a PT_LOAD segment lies below 64 KiB (mmap_min_addr); Linux refuses to load it";
                if (end > AddressSpace.UserLimit || end <= start) return "a PT_LOAD segment lies outside the user address space";
                uint prot = 0;
                if ((ph.Flags & ElfConst.PF_R) != 0) prot |= UserMemory.ProtRead;
                if ((ph.Flags & ElfConst.PF_W) != 0) prot |= UserMemory.ProtWrite;
                if ((ph.Flags & ElfConst.PF_X) != 0) prot |= UserMemory.ProtExec;
                bool ok = viaMmap ? MapSegmentFromFile(m, backing, ph, bias, start, end, prot) : MapSegment(m, file, ph, bias, start, end, prot);
                if (!ok) return "out of memory loading the program";
                if (end > highest) highest = end;
            }
            return null;
        }

        /// Whether every PT_LOAD segment can be a private file mapping, as mmap makes them:
        /// file offset and address agree within a page, and no two segments share a page
        /// (those are copied instead, so the shared page holds both segments' bytes).
        static bool CanMapFromFile(ElfFile elf, ulong bias)
        {
            ulong prevEnd = 0;
            for (int i = 0; i < elf.Segments.Length; i++)
            {
                ProgramHeader ph = elf.Segments[i];
                if (ph.Type != ElfConst.PT_LOAD || ph.MemSize == 0) continue;
                if (((ph.VAddr + bias) & 0xfff) != (ph.Offset & 0xfff)) return false;
                ulong start = (ph.VAddr + bias) & ~0xfffUL;
                if (start < prevEnd) return false;                   // shares a page with the previous one (or out of order)
                prevEnd = (ph.VAddr + bias + ph.MemSize + 0xfff) & ~0xfffUL;
            }
            return true;
        }

        /// A segment through the same path as mmap: its file pages a private file mapping
        /// (read-only pages are the file's own, written ones copied on demand), the page where
        /// .bss begins copied now with its tail zeroed, and the rest of .bss demand-zero.
        static bool MapSegmentFromFile(UserMemory m, IFileBacking backing, ProgramHeader ph, ulong bias, ulong start, ulong end, uint prot)
        {
            ulong segStart = ph.VAddr + bias, fileEnd = segStart + ph.FileSize;
            ulong fileOffset = ph.Offset - (segStart - start);
            ulong filePagesEnd = (fileEnd + 0xfff) & ~0xfffUL;
            if (ph.FileSize == 0) filePagesEnd = start;
            if (filePagesEnd > end) filePagesEnd = end;
            if (filePagesEnd > start) m.AddFileVma(start, filePagesEnd, prot, false, backing, fileOffset);
            if (filePagesEnd < end) m.AddVma(filePagesEnd, end, prot, VmaKind.Image);
            if (ph.MemSize > ph.FileSize && (fileEnd & 0xfff) != 0)
            {
                // The .bss starts inside the last file page: that page is the program's own
                // copy, its bytes past the file part zero (not the file's next bytes).
                ulong page = fileEnd & ~0xfffUL;
                ulong frame = PhysicalMemory.AllocateFrames(1);
                if (frame == ulong.MaxValue) return false;
                byte* dst = (byte*)PhysicalMemory.ToVirtual(frame);
                long got = backing.ReadKernel((long)(fileOffset + (page - start)), dst, (long)(fileEnd - page)).Raw;
                if (got < 0) got = 0;
                Mem.Set(dst + got, 0, 4096 - (ulong)got);
                m.Space.Map(page, frame, UserMemory.PteFlags(prot));
            }
            return true;
        }

        static bool MapSegment(UserMemory m, ReadOnlySpan<byte> file, ProgramHeader ph, ulong bias, ulong start, ulong end, uint prot)
        {
            ulong segStart = ph.VAddr + bias, fileEnd = segStart + ph.FileSize;
            // Pages with file bytes are filled now; the rest of the segment (.bss) is
            // demand-zero through the VMA, so a huge .bss costs nothing until touched.
            ulong filled = (fileEnd + 0xfff) & ~0xfffUL;
            if (filled < start) filled = start;
            if (filled > end) filled = end;
            for (ulong page = start; page < filled; page += 4096)
            {
                // Segments may share a page at their edges: reuse the frame, widen the rights.
                ulong pte = m.Space.Lookup(page);
                ulong frame;
                if ((pte & AddressSpace.Present) != 0) frame = pte & 0x000ffffffffff000;
                else
                {
                    frame = PhysicalMemory.AllocateFrames(1);
                    if (frame == ulong.MaxValue) return false;
                }
                byte* dst = (byte*)PhysicalMemory.ToVirtual(frame);
                ulong copyFrom = page > segStart ? page : segStart;
                ulong copyTo = page + 4096 < fileEnd ? page + 4096 : fileEnd;
                if (copyTo > copyFrom)
                {
                    ReadOnlySpan<byte> src = file.Slice((int)(ph.Offset + (copyFrom - segStart)), (int)(copyTo - copyFrom));
                    fixed (byte* s = src) Mem.Copy(dst + (copyFrom - page), s, copyTo - copyFrom);
                }
                uint vprot = prot;
                int existing = m.Vmas.IndexOf(page);
                if (existing >= 0) vprot |= m.Vmas[existing].Prot;
                m.Space.Map(page, frame, UserMemory.PteFlags(vprot));
            }
            m.Vmas.Remove(start, end);
            m.AddVma(start, end, prot, VmaKind.Image);
            return true;
        }

        /// The main thread's stack reserve: RLIMIT_STACK's soft limit at exec (Linux grows the
        /// stack up to it), at least 128 KiB, and 4 GiB when unlimited or above; pages come on
        /// demand, so only the address range is reserved.
        static ulong StackBytes(Process p)
        {
            ulong limit = p.Limits[3].Cur & ~0xfffUL;
            if (limit < MinStackSize) return MinStackSize;
            return limit > MaxStackSize ? MaxStackSize : limit;
        }
        const ulong MinStackSize = 128UL << 10, MaxStackSize = 4UL << 30;

        /// Lays out the initial stack; returns the program's initial rsp. The process's
        /// address space must be active (the stack pages are filled on demand).
        public static ulong BuildStack(Process p, ReadOnlySpan<byte> argv, int argc, ReadOnlySpan<byte> envp, int envc, ReadOnlySpan<byte> execFn)
        {
            ulong top = StackTop - (Random.Next() & 0xff) * 4096;
            // PT_GNU_STACK decides whether the stack is executable (absent: executable, as on Linux).
            uint stackProt = UserMemory.ProtRead | UserMemory.ProtWrite | (p.Elf.ExecStack() ? UserMemory.ProtExec : 0);
            p.Memory.AddVma(top - StackBytes(p), top, stackProt, VmaKind.Stack);
            ulong sp = top;
            sp = Push(sp, execFn, true);
            ulong execFnAddr = sp;
            sp = Push(sp, "x86_64"u8, true);
            ulong platform = sp;
            byte* rnd = stackalloc byte[16];
            Random.Fill(rnd, 16);
            sp -= 16;
            new UserPtr(sp).CopyOut(rnd, 16);
            ulong random = sp;
            sp = Push(sp, envp, false);
            ulong envStrings = sp;
            sp = Push(sp, argv, false);
            ulong argStrings = sp;

            // Word area: argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL; 16-byte aligned at argc.
            ulong* aux = stackalloc ulong[48];
            int a = 0;
            ElfFile elf = p.Elf;
            elf.PhdrVAddr(out ulong phdr);
            aux[a++] = Auxv.AT_PHDR; aux[a++] = phdr + p.LoadBias;
            aux[a++] = Auxv.AT_PHENT; aux[a++] = ElfConst.PhdrSize;
            aux[a++] = Auxv.AT_PHNUM; aux[a++] = elf.PhNum;
            aux[a++] = Auxv.AT_PAGESZ; aux[a++] = 4096;
            aux[a++] = Auxv.AT_BASE; aux[a++] = p.InterpBase;
            aux[a++] = Auxv.AT_FLAGS; aux[a++] = 0;
            aux[a++] = Auxv.AT_ENTRY; aux[a++] = elf.Entry + p.LoadBias;
            aux[a++] = Auxv.AT_UID; aux[a++] = p.Ruid;
            aux[a++] = Auxv.AT_EUID; aux[a++] = p.Euid;
            aux[a++] = Auxv.AT_GID; aux[a++] = p.Rgid;
            aux[a++] = Auxv.AT_EGID; aux[a++] = p.Egid;
            // A set-id program: its loader and libc then ignore LD_PRELOAD, LD_LIBRARY_PATH and the like.
            aux[a++] = Auxv.AT_SECURE; aux[a++] = p.Euid != p.Ruid || p.Egid != p.Rgid ? 1UL : 0;
            aux[a++] = Auxv.AT_CLKTCK; aux[a++] = 100;
            aux[a++] = Auxv.AT_HWCAP; aux[a++] = CpuFeatures.Hwcap();
            aux[a++] = Auxv.AT_HWCAP2; aux[a++] = 0;
            aux[a++] = Auxv.AT_RANDOM; aux[a++] = random;
            aux[a++] = Auxv.AT_EXECFN; aux[a++] = execFnAddr;
            aux[a++] = Auxv.AT_PLATFORM; aux[a++] = platform;
            aux[a++] = Auxv.AT_MINSIGSTKSZ; aux[a++] = 2048;
            ulong vdso = Vdso.VdsoImage.Map(p.Memory);
            if (vdso != 0) { aux[a++] = Auxv.AT_SYSINFO_EHDR; aux[a++] = vdso; }
            aux[a++] = Auxv.AT_NULL; aux[a++] = 0;

            ulong words = 1 + (ulong)argc + 1 + (ulong)envc + 1 + (ulong)a;
            sp = (sp - words * 8) & ~0xfUL;
            ulong w = sp;
            WriteWord(ref w, (ulong)argc);
            w = WriteStringPointers(w, argv, argStrings);
            WriteWord(ref w, 0);
            w = WriteStringPointers(w, envp, envStrings);
            WriteWord(ref w, 0);
            new UserPtr(w).CopyOut(aux, (ulong)a * 8);
            return sp;
        }

        static ulong Push(ulong sp, ReadOnlySpan<byte> bytes, bool addNul)
        {
            sp -= (ulong)bytes.Length + (addNul ? 1UL : 0UL);
            new UserPtr(sp).CopyOut(bytes);
            if (addNul) new UserPtr(sp + (ulong)bytes.Length).Zero(1);
            return sp;
        }

        static void WriteWord(ref ulong at, ulong value)
        {
            new UserPtr(at).CopyOut(&value, 8);
            at += 8;
        }

        /// Writes a pointer to each NUL-terminated string in `list`, which was copied to `addr`.
        static ulong WriteStringPointers(ulong w, ReadOnlySpan<byte> list, ulong addr)
        {
            int start = 0;
            for (int i = 0; i < list.Length; i++)
                if (list[i] == 0) { WriteWord(ref w, addr + (ulong)start); start = i + 1; }
            return w;
        }
    }
}
