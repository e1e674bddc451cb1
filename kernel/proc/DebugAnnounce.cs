using System;
using Kernel.Abi;
using Kernel.Arch;
using Kernel.Fs;

namespace Kernel.Proc
{
    /// Tells an attached debugger (`ukpack run --gdb`, through DebugHooks' breakpoint
    /// anchors) where each ELF file lands, so that the generated gdb script can load its
    /// symbols at the right address: the program and its interpreter at exec, the shared
    /// libraries as the interpreter maps their code with mmap.
    public static unsafe class DebugAnnounce
    {
        /// An ELF file mapped as a whole with load bias `bias` (the loader's view).
        public static void Loaded(IFileBacking file, ulong bias)
        {
            if (!DebugHooks.Enabled || !(file is Inode n)) return;
            Span<byte> path = stackalloc byte[4097];
            int len = Vfs.PathOf(n, path.Slice(0, 4096), out _);
            if (len <= 0) return;
            path[len] = 0;
            fixed (byte* p = path) DebugHooks.Loaded(p, bias);
        }

        /// mmap mapped `file` from offset `offset` at `addr` with PROT_EXEC: when the file is
        /// an ELF object of the image, the segment holding that offset gives the load bias.
        public static void MappedCode(IFileBacking file, ulong addr, ulong offset)
        {
            if (!DebugHooks.Enabled || !(file is MemFile f) || !f.ImageBytes(out ReadOnlySpan<byte> bytes)) return;
            if (ElfFile.Parse(bytes, out ElfFile elf) != ElfError.None) return;
            int i = elf.LoadSegmentAt(offset);
            if (i < 0) return;
            // File offset X lands at addr + (X - offset) and was linked at
            // VAddr + (X - Offset): the difference is the bias.
            Loaded(file, addr - offset + elf.Segments[i].Offset - elf.Segments[i].VAddr);
        }

        /// The image's program is about to start at `entry`.
        public static void ProgramEntry(ulong entry)
        {
            if (DebugHooks.Enabled) DebugHooks.Entry(entry);
        }
    }
}
