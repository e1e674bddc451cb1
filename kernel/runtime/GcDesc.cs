namespace Kernel.Runtime
{
    /// The layout facts the collector needs from a NativeAOT MethodTable, read from raw
    /// memory so the same code runs in host tests against hand-built descriptors.
    ///
    /// A MethodTable starts with a 32-bit flags word (the low 16 bits are the component size
    /// of arrays and strings when HasComponentSize is set) and the 32-bit base size. The
    /// base size counts an 8-byte header word that sits *before* the object in NativeAOT;
    /// our allocator has no such word, so a block is 8 bytes longer than it needs to be.
    /// Arrays and strings keep their element count as an int right after the MethodTable.
    ///
    /// Types with references (HasPointers) have a GC descriptor right below the MethodTable:
    /// at mt-8 a signed series count N.
    ///  - N > 0: N series below it, from mt-24 downwards, 16 bytes each {size, offset}: a run
    ///    of reference slots from obj+offset, `size + objectSize` bytes long (the size is
    ///    stored minus the base size so that one formula covers arrays of references).
    ///  - N < 0: one repeating pattern for arrays of structs with references: the first
    ///    element's offset at mt-16, and -N half-word pairs {count of references, bytes to
    ///    skip} at mt-24, mt-32, ...; the pattern repeats to the end of the object.
    /// What the collector does with each reference slot (a struct, so that the call is
    /// resolved and inlined at compile time rather than made through a pointer per slot).
    public unsafe interface IReferenceVisitor { void Visit(ulong* slot); }

    public static unsafe class GcDesc
    {
        public const uint HasComponentSizeFlag = 0x80000000;
        public const uint HasPointersFlag = 0x01000000;
        const int HeaderWord = 8;           // the NativeAOT header word counted in BaseSize

        public static uint Flags(void* mt) => *(uint*)mt;
        public static uint BaseSize(void* mt) => *((uint*)mt + 1);
        public static bool HasPointers(void* mt) => (Flags(mt) & HasPointersFlag) != 0;

        /// The object's size as NativeAOT counts it: base size plus its elements.
        public static ulong ObjectSize(void* mt, void* obj)
        {
            ulong size = BaseSize(mt);
            uint flags = Flags(mt);
            if ((flags & HasComponentSizeFlag) != 0)
                size += (ulong)(uint)*(int*)((byte*)obj + 8) * (ushort)flags;
            return size;
        }

        /// Calls `visitor.Visit` with the address of every reference slot of the object at `obj`.
        public static void VisitReferences<TVisitor>(void* mt, void* obj, ref TVisitor visitor) where TVisitor : struct, IReferenceVisitor
        {
            if (!HasPointers(mt)) return;
            byte* o = (byte*)obj;
            ulong size = ObjectSize(mt, obj);
            long series = *(long*)((byte*)mt - 8);
            if (series > 0)
            {
                byte* cur = (byte*)mt - 24;
                for (long i = 0; i < series; i++, cur -= 16)
                {
                    long runSize = *(long*)cur;
                    ulong offset = *(ulong*)(cur + 8);
                    ulong* slot = (ulong*)(o + offset);
                    ulong* stop = (ulong*)(o + offset + (ulong)((long)size + runSize));
                    for (; slot < stop; slot++) visitor.Visit(slot);
                }
            }
            else if (series < 0)
            {
                ulong* slot = (ulong*)(o + *(ulong*)((byte*)mt - 16));
                ulong* end = (ulong*)(o + size - HeaderWord);
                uint* pattern = (uint*)((byte*)mt - 24);
                while (slot < end)
                {
                    for (long i = 0; i > series; i--)
                    {
                        uint refs = pattern[2 * i], skip = pattern[2 * i + 1];
                        ulong* runEnd = slot + refs;
                        for (; slot < runEnd; slot++) visitor.Visit(slot);
                        slot = (ulong*)((byte*)slot + skip);
                    }
                }
            }
        }
    }
}
