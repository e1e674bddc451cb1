using Internal.Runtime;

namespace System
{
    /// The root of every reference type. The first word of every object is its MethodTable.
    public unsafe class Object
    {
        // Field layout is part of the contract with ILC: the type pointer comes first.
        internal MethodTable* m_pMethodTable;

        public Object() { }

        public virtual bool Equals(object obj) => ReferenceEquals(this, obj);
        public virtual int GetHashCode() => (int)(nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.CompilerServices.Unsafe.As<RawData>(this).Data);
        public virtual string ToString() => "object";
        ~Object() { }

        public static bool ReferenceEquals(object a, object b) => a == b;

        internal MethodTable* GetMethodTable() => m_pMethodTable;
    }

    // Used to get at an object's first field without knowing its type.
    internal sealed class RawData
    {
        public byte Data;
    }
}
