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
            byte* p = Allocate(mt->BaseSize);
            *(MethodTable**)p = mt;
            return p;
        }

        [UnmanagedCallersOnly(EntryPoint = "uk_new_array")]
        static void* NewArray(MethodTable* mt, int count)
        {
            if (count < 0) Panic.Halt("negative array length");
            ulong size = mt->BaseSize + (ulong)mt->ComponentSize * (ulong)count;
            byte* p = Allocate((size + 7) & ~7UL);
            *(MethodTable**)p = mt;
            *(int*)(p + 8) = count;
            return p;
        }

        /// A zeroed managed block: collects first when the policy says so, and once more
        /// before giving up when no frame is left; then asks the file page cache for its clean
        /// pages (which may hold most of memory after a large file was read or written).
        internal static byte* Allocate(ulong size)
        {
            Collector.BeforeAllocate();
            byte* p = GcHeap.Alloc(size);
            if (p == null && Collector.TryCollect()) p = GcHeap.Alloc(size);
            for (int i = 0; p == null && i < 8 && PhysicalMemory.ReclaimCache != null && PhysicalMemory.ReclaimCache(size + 65536); i++)
                p = GcHeap.Alloc(size);
            if (p == null) Panic.Halt("kernel heap: out of memory for managed objects");
            return p;
        }

        [UnmanagedCallersOnly(EntryPoint = "uk_throw")]
        static void Throw(void* exception, ulong site)
        {
            Panic.Exception(exception, site);
        }
    }
}
