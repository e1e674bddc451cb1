using System;

namespace Internal.Runtime
{
    /// The type descriptor ILC emits for every type (NativeAOT layout). We read only the
    /// header: flags, base size, related type, vtable and interface counts.
    public unsafe struct MethodTable
    {
        // Low 16 bits: component size (arrays, strings) or extended flags; high 16: EETypeFlags.
        internal uint _uFlags;
        internal uint _uBaseSize;
        internal MethodTable* _relatedType;
        internal ushort _usNumVtableSlots;
        internal ushort _usNumInterfaces;
        internal uint _uHashCode;

        const uint HasComponentSizeFlag = 0x80000000;
        const uint KindMask = 0x00030000;
        const uint KindParameterized = 0x00020000;
        const uint IsInterfaceFlag = 0x00040000; // stored as EETypeElementType.Interface below
        const int ElementTypeShift = 26;
        const uint ElementTypeMask = 0x7C000000;

        public bool HasComponentSize => (_uFlags & HasComponentSizeFlag) != 0;
        public ushort ComponentSize => HasComponentSize ? (ushort)_uFlags : (ushort)0;
        public uint BaseSize => _uBaseSize;
        public uint Flags => _uFlags;
        public bool IsParameterizedType => (_uFlags & KindMask) == KindParameterized;
        public bool IsArray => IsParameterizedType && _uBaseSize > 1;
        public uint ElementType => (_uFlags & ElementTypeMask) >> ElementTypeShift;
        public bool IsInterface => ElementType == 0x15;
        public bool IsValueType => ElementType < 0x14 && ElementType != 0;
        public bool IsNullable => ElementType == 0x12;

        /// Base type for classes; element type for arrays.
        public MethodTable* RelatedType => _relatedType;
        public MethodTable* BaseType => IsParameterizedType ? null : _relatedType;
        public int NumInterfaces => _usNumInterfaces;
        public int NumVtableSlots => _usNumVtableSlots;

        public MethodTable** InterfaceMap
        {
            get
            {
                fixed (MethodTable* self = &this)
                    return (MethodTable**)((byte*)self + sizeof(MethodTable) + _usNumVtableSlots * sizeof(nint));
            }
        }

        public nint* Vtable
        {
            get { fixed (MethodTable* self = &this) return (nint*)((byte*)self + sizeof(MethodTable)); }
        }

        /// Size of an instance of this value type without the object header.
        public uint ValueTypeSize => _uBaseSize - (uint)(2 * sizeof(nint));
    }
}
