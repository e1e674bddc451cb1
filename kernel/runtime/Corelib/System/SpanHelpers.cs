using System.Runtime.CompilerServices;

namespace System
{
    /// Block operations the JIT calls for initblk/cpblk and large struct copies.
    internal static unsafe class SpanHelpers
    {
        internal static void Fill(ref byte destination, nuint count, byte value) =>
            Internal.Runtime.RuntimeImports.memset(Unsafe.AsPointer(ref destination), value, count);

        internal static void ClearWithoutReferences(ref byte destination, nuint count) =>
            Internal.Runtime.RuntimeImports.memset(Unsafe.AsPointer(ref destination), 0, count);

        internal static void ClearWithReferences(ref nint destination, nuint count) =>
            Internal.Runtime.RuntimeImports.memset(Unsafe.AsPointer(ref destination), 0, count * (nuint)sizeof(nint));

        internal static void Memmove(ref byte destination, ref byte source, nuint count) =>
            Internal.Runtime.RuntimeImports.memmove(Unsafe.AsPointer(ref destination), Unsafe.AsPointer(ref source), count);
    }
}
