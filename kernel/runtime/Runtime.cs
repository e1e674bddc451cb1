using System;
using System.Runtime.InteropServices;
using Internal.Runtime;
using Kernel.Memory;

namespace Kernel.Runtime
{
    /// The managed side of the NativeAOT helpers in runtime.S: allocation and throw.
    public static unsafe class ManagedRuntime
    {
        [UnmanagedCallersOnly(EntryPoint = "uk_new_object")]
        static void* NewObject(MethodTable* mt)
        {
            uint size = mt->BaseSize;
            void* p = Heap.AllocZeroed(size);
            *(MethodTable**)p = mt;
            return p;
        }

        [UnmanagedCallersOnly(EntryPoint = "uk_new_array")]
        static void* NewArray(MethodTable* mt, int count)
        {
            if (count < 0) Panic.Halt("negative array length");
            ulong size = mt->BaseSize + (ulong)mt->ComponentSize * (ulong)count;
            size = (size + 7) & ~7UL;
            void* p = Heap.AllocZeroed(size);
            *(MethodTable**)p = mt;
            *(int*)((byte*)p + 8) = count;
            return p;
        }

        [UnmanagedCallersOnly(EntryPoint = "uk_throw")]
        static void Throw(void* exception, ulong site)
        {
            Panic.Exception(exception, site);
        }
    }
}
