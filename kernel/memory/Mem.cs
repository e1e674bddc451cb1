using System.Runtime;
using System.Runtime.CompilerServices;

namespace Kernel.Memory
{
    /// Raw memory operations (rep movsb/stosb in runtime.S).
    public static unsafe class Mem
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "memset")]
        static extern void* memset(void* dst, int c, nuint n);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "memmove")]
        static extern void* memmove(void* dst, void* src, nuint n);

        public static void Set(void* dst, byte value, ulong count) => memset(dst, value, (nuint)count);
        public static void Copy(void* dst, void* src, ulong count) => memmove(dst, src, (nuint)count);
    }
}
