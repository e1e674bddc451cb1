namespace System
{
    public struct Void { }
    public struct Boolean { private bool m_value; public override string ToString() => m_value ? "True" : "False"; }
    public struct Char { private char m_value; }
    public struct SByte { private sbyte m_value; }
    public struct Byte { private byte m_value; public const byte MaxValue = 255; }
    public struct Int16 { private short m_value; }
    public struct UInt16 { private ushort m_value; public const ushort MaxValue = 0xffff; }
    public struct Int32 { private int m_value;
        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format = default, IFormatProvider provider = null)
        {
            bool hex = format.Length > 0 && (format[0] == 'X' || format[0] == 'x');
            int v = m_value;
            if (hex) return Number.TryFormatUInt64((ulong)v & 0xffffffffUL, false, destination, out charsWritten, format);
            return Number.TryFormatUInt64(v < 0 ? (ulong)(-(v + 1)) + 1 : (ulong)v, v < 0, destination, out charsWritten, format);
        }
 public const int MaxValue = 0x7fffffff; public const int MinValue = unchecked((int)0x80000000); }
    public struct UInt32 { private uint m_value;
        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format = default, IFormatProvider provider = null) =>
            Number.TryFormatUInt64(m_value, false, destination, out charsWritten, format);
 public const uint MaxValue = 0xffffffff; }
    public struct Int64 { private long m_value;
        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format = default, IFormatProvider provider = null)
        {
            bool hex = format.Length > 0 && (format[0] == 'X' || format[0] == 'x');
            long v = m_value;
            if (hex) return Number.TryFormatUInt64((ulong)v & 0xffffffffffffffffUL, false, destination, out charsWritten, format);
            return Number.TryFormatUInt64(v < 0 ? (ulong)(-(v + 1)) + 1 : (ulong)v, v < 0, destination, out charsWritten, format);
        }
 public const long MaxValue = 0x7fffffffffffffff; public const long MinValue = unchecked((long)0x8000000000000000); }
    public struct UInt64 { private ulong m_value;
        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format = default, IFormatProvider provider = null) =>
            Number.TryFormatUInt64(m_value, false, destination, out charsWritten, format);
 public const ulong MaxValue = 0xffffffffffffffff; }
    public struct Single { private float m_value; }
    public struct Double { private double m_value; }

    public unsafe struct IntPtr
    {
        private void* _value;
        public static readonly IntPtr Zero;
        public IntPtr(void* value) { _value = value; }
        public IntPtr(long value) { _value = (void*)value; }
        public static explicit operator IntPtr(long value) => new IntPtr(value);
        public static explicit operator long(IntPtr value) => (long)value._value;
        public static explicit operator void*(IntPtr value) => value._value;
        public static explicit operator IntPtr(void* value) => new IntPtr(value);
        public static bool operator ==(IntPtr a, IntPtr b) => a._value == b._value;
        public static bool operator !=(IntPtr a, IntPtr b) => a._value != b._value;
        public static int Size => sizeof(void*);
        public void* ToPointer() => _value;
        public override bool Equals(object o) => false;
        public override int GetHashCode() => (int)(long)_value;
    }

    public unsafe struct UIntPtr
    {
        private void* _value;
        public static readonly UIntPtr Zero;
        public UIntPtr(void* value) { _value = value; }
        public UIntPtr(ulong value) { _value = (void*)value; }
        public static explicit operator UIntPtr(ulong value) => new UIntPtr(value);
        public static explicit operator ulong(UIntPtr value) => (ulong)value._value;
        public static explicit operator void*(UIntPtr value) => value._value;
        public static explicit operator UIntPtr(void* value) => new UIntPtr(value);
        public static bool operator ==(UIntPtr a, UIntPtr b) => a._value == b._value;
        public static bool operator !=(UIntPtr a, UIntPtr b) => a._value != b._value;
        public void* ToPointer() => _value;
        public override bool Equals(object o) => false;
        public override int GetHashCode() => (int)(ulong)_value;
    }

    public abstract class ValueType
    {
        public override bool Equals(object obj) => false;
        public override int GetHashCode() => 0;
    }

    public abstract class Enum : ValueType { }

    public struct Nullable<T> where T : struct
    {
        private readonly bool hasValue;
        internal T value;
        public Nullable(T value) { this.value = value; hasValue = true; }
        public bool HasValue => hasValue;
        public T Value { get { if (!hasValue) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowInvalidOperationException(); return value; } }
        public T GetValueOrDefault() => value;
        public T GetValueOrDefault(T defaultValue) => hasValue ? value : defaultValue;
        public static implicit operator Nullable<T>(T value) => new Nullable<T>(value);
        public static explicit operator T(Nullable<T> value) => value.Value;
    }

    public struct RuntimeTypeHandle { private IntPtr _value; internal RuntimeTypeHandle(IntPtr v) { _value = v; } public IntPtr Value => _value; }
    public struct RuntimeMethodHandle { private IntPtr _value; }
    public struct RuntimeFieldHandle { private IntPtr _value; }

    internal sealed class RuntimeType : Type { }

    public abstract class Type
    {
        public static Type GetTypeFromHandle(RuntimeTypeHandle handle) => null;
    }

    public sealed class String
    {
        // Layout known to ILC: length then the first UTF-16 code unit.
        private readonly int _stringLength;
        private char _firstChar;

        public static readonly string Empty = "";

        public int Length => _stringLength;

        [System.Runtime.CompilerServices.IndexerName("Chars")]
        public unsafe char this[int index]
        {
            [System.Runtime.CompilerServices.Intrinsic]
            get
            {
                if ((uint)index >= (uint)_stringLength) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowIndexOutOfRangeException();
                return System.Runtime.CompilerServices.Unsafe.Add(ref _firstChar, index);
            }
        }

        internal ref char GetRawStringData() => ref _firstChar;

        public ref readonly char GetPinnableReference() => ref _firstChar;

        public static implicit operator ReadOnlySpan<char>(string value) =>
            value == null ? default : new ReadOnlySpan<char>(ref value._firstChar, value._stringLength);


        public static bool operator ==(string a, string b) => Equals(a, b);
        public static bool operator !=(string a, string b) => !Equals(a, b);

        public static bool Equals(string a, string b)
        {
            if ((object)a == (object)b) return true;
            if ((object)a == null || (object)b == null || a._stringLength != b._stringLength) return false;
            for (int i = 0; i < a._stringLength; i++)
                if (a[i] != b[i]) return false;
            return true;
        }

        public override bool Equals(object obj) => obj is string s && Equals(this, s);
        public override int GetHashCode()
        {
            uint h = 2166136261;
            for (int i = 0; i < _stringLength; i++) h = (h ^ this[i]) * 16777619;
            return (int)h;
        }
        public override string ToString() => this;
    }

    public abstract class Array
    {
        // Layout known to ILC: element count follows the type pointer (padded to 8 bytes).
        private int _numComponents;
        public int Length => _numComponents;
    }

    // Generic arrays T[] are typed through this in NativeAOT's type system.
    public class Array<T> : Array { }

    public abstract class Delegate
    {
        // Field names are part of the contract with ILC.
        internal object _firstParameter;
        internal object _helperObject;
        internal nint _extraFunctionPointerOrData;
        internal IntPtr _functionPointer;
    }

    public abstract class MulticastDelegate : Delegate { }

    public delegate void Action();
    public delegate void Action<in T>(T arg);
    public delegate TResult Func<out TResult>();
    public delegate TResult Func<in T, out TResult>(T arg);

    public abstract class Attribute { }

    [AttributeUsage(AttributeTargets.Class, Inherited = true)]
    public sealed class AttributeUsageAttribute : Attribute
    {
        public AttributeUsageAttribute(AttributeTargets validOn) { }
        public bool AllowMultiple { get; set; }
        public bool Inherited { get; set; }
    }

    [Flags]
    public enum AttributeTargets
    {
        Assembly = 0x0001, Module = 0x0002, Class = 0x0004, Struct = 0x0008, Enum = 0x0010,
        Constructor = 0x0020, Method = 0x0040, Property = 0x0080, Field = 0x0100, Event = 0x0200,
        Interface = 0x0400, Parameter = 0x0800, Delegate = 0x1000, ReturnValue = 0x2000,
        GenericParameter = 0x4000, All = 0x7fff,
    }

    [AttributeUsage(AttributeTargets.Enum)] public sealed class FlagsAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Parameter)] public sealed class ParamArrayAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class ObsoleteAttribute : Attribute { public ObsoleteAttribute() { } public ObsoleteAttribute(string m) { } public ObsoleteAttribute(string m, bool e) { } }
    [AttributeUsage(AttributeTargets.All)] public sealed class CLSCompliantAttribute : Attribute { public CLSCompliantAttribute(bool c) { } }
    [AttributeUsage(AttributeTargets.Method)] public sealed class ThreadStaticAttribute : Attribute { }

    public interface IDisposable { void Dispose(); }
    public interface IFormatProvider { }

    public static class Environment
    {
        public const string NewLine = "\n";
    }
}
