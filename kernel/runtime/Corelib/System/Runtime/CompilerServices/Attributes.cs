namespace System.Runtime.CompilerServices
{
    [AttributeUsage(AttributeTargets.All)] public sealed class IntrinsicAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class CompilerGeneratedAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class ExtensionAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class IsReadOnlyAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class IsByRefLikeAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class IsUnmanagedAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class ScopedRefAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class UnsafeValueTypeAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class RequiresLocationAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.All)] public sealed class ParamCollectionAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Module)] public sealed class RefSafetyRulesAttribute : Attribute { public RefSafetyRulesAttribute(int version) { } }
    [AttributeUsage(AttributeTargets.All)] public sealed class NullableAttribute : Attribute { public NullableAttribute(byte b) { } public NullableAttribute(byte[] b) { } }
    [AttributeUsage(AttributeTargets.All)] public sealed class NullableContextAttribute : Attribute { public NullableContextAttribute(byte b) { } }
    [AttributeUsage(AttributeTargets.Property)] public sealed class IndexerNameAttribute : Attribute { public IndexerNameAttribute(string name) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class FixedBufferAttribute : Attribute { public FixedBufferAttribute(Type elementType, int length) { } }
    [AttributeUsage(AttributeTargets.Struct)] public sealed class InlineArrayAttribute : Attribute { public InlineArrayAttribute(int length) { } }
    [AttributeUsage(AttributeTargets.All)] public sealed class CallerMemberNameAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Method)] public sealed class ModuleInitializerAttribute : Attribute { }

    public static class IsVolatile { }
    public static class IsConst { }

    public enum MethodImplOptions
    {
        Unmanaged = 0x0004, NoInlining = 0x0008, ForwardRef = 0x0010, Synchronized = 0x0020,
        NoOptimization = 0x0040, PreserveSig = 0x0080, AggressiveInlining = 0x0100,
        AggressiveOptimization = 0x0200, InternalCall = 0x1000,
    }

    [AttributeUsage(AttributeTargets.Method | AttributeTargets.Constructor)]
    public sealed class MethodImplAttribute : Attribute
    {
        public MethodImplAttribute(MethodImplOptions methodImplOptions) { }
    }

    public static class RuntimeFeature
    {
        public const string ByRefFields = nameof(ByRefFields);
        public const string ByRefLikeGenerics = nameof(ByRefLikeGenerics);
        public const string UnmanagedSignatureCallingConvention = nameof(UnmanagedSignatureCallingConvention);
        public const string DefaultImplementationsOfInterfaces = nameof(DefaultImplementationsOfInterfaces);
        public const string NumericIntPtr = nameof(NumericIntPtr);
        public const string VirtualStaticsInInterfaces = nameof(VirtualStaticsInInterfaces);
    }
}

namespace System.Runtime
{
    /// Exports a method under a native symbol name (used for runtime helpers ILC calls).
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class RuntimeExportAttribute : Attribute { public RuntimeExportAttribute(string entry) { } }

    /// Binds an extern method to a native symbol.
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class RuntimeImportAttribute : Attribute
    {
        public RuntimeImportAttribute(string entry) { }
        public RuntimeImportAttribute(string dllName, string entry) { }
    }
}

namespace System.Runtime.InteropServices
{
    public enum UnmanagedType { Bool = 2, I4 = 7, U4 = 8, LPStr = 20, LPWStr = 21 }
    public enum LayoutKind { Sequential = 0, Explicit = 2, Auto = 3 }
    public enum CharSet { None = 1, Ansi = 2, Unicode = 3, Auto = 4 }

    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct)]
    public sealed class StructLayoutAttribute : Attribute
    {
        public StructLayoutAttribute(LayoutKind layoutKind) { }
        public int Pack;
        public int Size;
        public CharSet CharSet;
    }

    [AttributeUsage(AttributeTargets.Field)] public sealed class FieldOffsetAttribute : Attribute { public FieldOffsetAttribute(int offset) { } }
    [AttributeUsage(AttributeTargets.Parameter)] public sealed class InAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Parameter)] public sealed class OutAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class UnmanagedCallersOnlyAttribute : Attribute
    {
        public Type[] CallConvs;
        public string EntryPoint;
    }

    public interface IDynamicInterfaceCastable
    {
        bool IsInterfaceImplemented(RuntimeTypeHandle interfaceType, bool throwIfNotImplemented);
        RuntimeTypeHandle GetInterfaceImplementation(RuntimeTypeHandle interfaceType);

        // Looked up by ILC; never reached because no kernel type implements this interface.
        private static unsafe IntPtr GetDynamicInterfaceImplementation(object instance, Internal.Runtime.MethodTable* interfaceType, ushort slot) =>
            throw new NotSupportedException("IDynamicInterfaceCastable");
    }

    /// ILC asks for these by name; the kernel has no dynamically castable objects.
    internal static class IDynamicCastableSupport
    {
        internal static bool IDynamicCastableIsInterfaceImplemented(IDynamicInterfaceCastable instance, RuntimeTypeHandle interfaceType, bool throwIfNotImplemented) => false;
        internal static IntPtr IDynamicCastableGetInterfaceImplementation(IDynamicInterfaceCastable instance, RuntimeTypeHandle interfaceType, RuntimeMethodHandle interfaceMethod) => IntPtr.Zero;
    }
}

namespace System.Diagnostics.CodeAnalysis
{
    [AttributeUsage(AttributeTargets.All)] public sealed class UnscopedRefAttribute : Attribute { }
}

namespace System.Reflection
{
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface)]
    public sealed class DefaultMemberAttribute : Attribute { public DefaultMemberAttribute(string memberName) { } }
}
