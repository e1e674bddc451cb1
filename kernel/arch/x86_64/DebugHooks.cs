using System.Runtime;
using System.Runtime.CompilerServices;

namespace Kernel.Arch
{
    /// Breakpoint anchors for `ukpack run --gdb` (docs/gdb.md): empty functions in cpu.S
    /// that the generated gdb script breaks on to learn where ELF files were loaded and
    /// where the program starts. Called only when Enabled (boot option gdb=1).
    public static unsafe class DebugHooks
    {
        public static bool Enabled;

        /// An ELF file was mapped: `path` (NUL-terminated) with load bias `bias`.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "uk_gdb_loaded")] public static extern void Loaded(byte* path, ulong bias);

        /// The image's program runs its first instruction at `entry` (its AT_ENTRY) next.
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "uk_gdb_entry")] public static extern void Entry(ulong entry);
    }
}
