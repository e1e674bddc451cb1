using System;
using System.Runtime;
using System.Runtime.CompilerServices;

namespace Internal.Runtime
{
    /// Native helpers the kernel supplies (assembly and kernel-side C#).
    internal static unsafe class RuntimeImports
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "RhpNewFast")]
        internal static extern object RhpNewFast(MethodTable* mt);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "RhpNewArrayFast")]
        internal static extern object RhpNewArrayFast(MethodTable* mt, int count);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "memmove")]
        internal static extern void* memmove(void* dst, void* src, nuint n);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "memset")]
        internal static extern void* memset(void* dst, int c, nuint n);

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "RhpFallbackFailFast")]
        internal static extern void FailFast();
    }
}
