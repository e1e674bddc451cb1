using System.Runtime;
using System.Runtime.CompilerServices;
using Internal.Runtime;
using Kernel.Memory;

namespace Kernel.Runtime
{
    /// Module start-up that the NativeAOT runtime would normally do: find the ReadyToRun
    /// header through the __modules section and give every type with reference-typed
    /// statics its static base object (the GC static region). Must run as soon as the heap
    /// works and before any code reads a reference-typed static field.
    public static unsafe class ModuleInit
    {
        const uint ReadyToRunSignature = 0x00525452;
        const int GCStaticRegion = 201;
        const int Uninitialized = 1, HasPreInitializedData = 2, FlagMask = 3;

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "modules_bounds")]
        static extern void Bounds(ulong* output);

        public static void Run()
        {
            ulong* b = stackalloc ulong[2];
            Bounds(b);
            for (ulong* m = (ulong*)b[0]; m < (ulong*)b[1]; m++)
            {
                byte* header = (byte*)*m;
                if (*(uint*)header != ReadyToRunSignature) Panic.Halt("bad ReadyToRun header");
                int sections = *(ushort*)(header + 12);
                byte* row = header + 16;
                for (int i = 0; i < sections; i++, row += 24)
                    if (*(int*)row == GCStaticRegion)
                        InitGCStatics(*(byte**)(row + 8), *(byte**)(row + 16));
            }
        }

        static void* RelPtr(void* at) => (byte*)at + *(int*)at;

        static void InitGCStatics(byte* start, byte* end)
        {
            // Each entry is a 32-bit relative pointer to a pointer-sized slot that holds a
            // relative pointer to the statics' MethodTable, tagged with the flags above.
            for (byte* entry = start; entry < end; entry += 4)
            {
                ulong* slot = (ulong*)RelPtr(entry);
                ulong tagged = (ulong)RelPtr(slot);
                if ((tagged & Uninitialized) == 0) continue;
                var mt = (MethodTable*)(tagged & ~(ulong)FlagMask);
                byte* obj = ManagedRuntime.Allocate(mt->BaseSize);     // found again by the collector through `slot`
                *(MethodTable**)obj = mt;
                if ((tagged & HasPreInitializedData) != 0)
                    Mem.Copy(obj + 8, RelPtr((int*)slot + 1), mt->BaseSize - 16);
                *slot = (ulong)obj;
            }
        }
    }
}
