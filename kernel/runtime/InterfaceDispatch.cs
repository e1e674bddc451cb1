using System.Runtime.InteropServices;
using Internal.Runtime;

namespace Kernel.Runtime
{
    /// Resolves interface calls made through ILC's dispatch cells. A cell holds a stub
    /// pointer and a tagged relative pointer to the interface type; the cells of one call
    /// site end with a cell whose stub is 0 and whose second word is the interface slot.
    /// Each type that implements interfaces has a dispatch map (interface index, interface
    /// slot -> vtable slot), reached by a relative pointer after its interface list.
    /// Results are cached per (cell, receiver type), so each pair is resolved once.
    public static unsafe class InterfaceDispatch
    {
        const uint HasDispatchMapFlag = 0x00040000;
        const int CacheSize = 1024;
        struct Entry { public ulong Cell, Type, Target; }
        static Entry* _cache;

        [UnmanagedCallersOnly(EntryPoint = "uk_resolve_interface")]
        static ulong Resolve(object* receiver, ulong* cell)
        {
            if (*(ulong*)receiver == 0) Panic.Halt("interface call on a null reference");
            MethodTable* type = *(MethodTable**)receiver;
            if (_cache == null) _cache = (Entry*)Memory.Heap.AllocZeroed((ulong)(sizeof(Entry) * CacheSize));
            ulong h = (((ulong)cell >> 4) ^ ((ulong)type >> 3)) % CacheSize;
            Entry* e = &_cache[h];
            if (e->Cell == (ulong)cell && e->Type == (ulong)type) return e->Target;

            ulong tagged = cell[1];
            MethodTable* iface;
            switch (tagged & 3)
            {
                case 1: iface = (MethodTable*)(tagged & ~3UL); break;                               // absolute
                case 3: iface = (MethodTable*)((byte*)&cell[1] + (int)(uint)(tagged & ~3UL)); break; // relative
                default: Panic.Halt("unsupported interface dispatch cell format"); return 0;
            }
            ulong* terminator = cell;
            while (terminator[0] != 0) terminator += 2;
            int slot = (int)terminator[1];

            ulong target = 0;
            for (MethodTable* t = type; t != null && target == 0; t = t->BaseType)
                target = FromDispatchMap(t, type, iface, slot);
            if (target == 0) Panic.Halt("no implementation for an interface method");
            *e = new Entry { Cell = (ulong)cell, Type = (ulong)type, Target = target };
            return target;
        }

        static ulong FromDispatchMap(MethodTable* owner, MethodTable* receiverType, MethodTable* iface, int slot)
        {
            if ((owner->Flags & HasDispatchMapFlag) == 0) return 0;
            MethodTable** map = owner->InterfaceMap;
            int index = -1;
            for (int i = 0; i < owner->NumInterfaces; i++) if (map[i] == iface) { index = i; break; }
            if (index < 0) return 0;
            // Relative pointers after the interface list: type manager, writable data, dispatch map.
            byte* rel = (byte*)(map + owner->NumInterfaces) + 8;
            ushort* dm = (ushort*)(rel + *(int*)rel);
            int standard = dm[0];
            ushort* entry = dm + 4;
            for (int i = 0; i < standard; i++, entry += 3)
                if (entry[0] == index && entry[1] == slot)
                    return (ulong)receiverType->Vtable[entry[2]];
            return 0;
        }
    }
}
