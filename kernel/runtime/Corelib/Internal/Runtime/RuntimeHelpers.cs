using System;
using System.Runtime;
using System.Runtime.CompilerServices;

namespace Internal.Runtime.CompilerHelpers
{
    /// Called by compiled code on checks that fail. Each throws the matching exception,
    /// which the kernel turns into a panic naming it.
    internal static class ThrowHelpers
    {
        internal static void ThrowOverflowException() => throw new OverflowException();
        internal static void ThrowIndexOutOfRangeException() => throw new IndexOutOfRangeException();
        internal static void ThrowNullReferenceException() => throw new NullReferenceException();
        internal static void ThrowDivideByZeroException() => throw new DivideByZeroException();
        internal static void ThrowArrayTypeMismatchException() => throw new ArrayTypeMismatchException();
        internal static void ThrowPlatformNotSupportedException() => throw new PlatformNotSupportedException();
        internal static void ThrowNotImplementedException() => throw new NotImplementedException();
        internal static void ThrowNotSupportedException() => throw new NotSupportedException();
        internal static void ThrowInvalidOperationException() => throw new InvalidOperationException();
        internal static void ThrowArgumentException() => throw new ArgumentException();
        internal static void ThrowArgumentOutOfRangeException() => throw new ArgumentOutOfRangeException();
        internal static void ThrowInvalidCastException() => throw new InvalidCastException();
        internal static void ThrowFeatureBodyRemoved() => throw new NotSupportedException("feature body removed by the compiler");
        internal static void ThrowTypeLoadException(int id, string className, string typeName) => throw new NotSupportedException("type load");
        internal static void ThrowTypeLoadExceptionWithArgument(int id, string className, string typeName, string arg) => throw new NotSupportedException("type load");
        internal static void ThrowMissingMethodException(int id, string methodName) => throw new NotSupportedException("missing method");
        internal static void ThrowMissingFieldException(int id, string fieldName) => throw new NotSupportedException("missing field");
        internal static void ThrowFileNotFoundException(int id, string fileName) => throw new NotSupportedException("file not found");
        internal static void ThrowInvalidProgramException(int id) => throw new NotSupportedException("invalid program");
        internal static void ThrowInvalidProgramExceptionWithArgument(int id, string methodName) => throw new NotSupportedException("invalid program");
        internal static void ThrowBadImageFormatException(int id) => throw new NotSupportedException("bad image format");
        internal static void ThrowMarshalDirectiveException(int id) => throw new NotSupportedException("marshal directive");
        internal static void ThrowAmbiguousMatchException(int id) => throw new NotSupportedException("ambiguous match");
        internal static void ThrowUnavailableType() => throw new NotSupportedException("unavailable type");
    }
}

namespace System.Runtime
{
    /// Allocation and boxing entry points ILC calls by name.
    internal static unsafe class RuntimeExports
    {
        [RuntimeExport("RhNewObject")]
        public static object RhNewObject(Internal.Runtime.MethodTable* mt) => Internal.Runtime.RuntimeImports.RhpNewFast(mt);

        [RuntimeExport("RhNewArray")]
        public static object RhNewArray(Internal.Runtime.MethodTable* mt, int length) => Internal.Runtime.RuntimeImports.RhpNewArrayFast(mt, length);

        [RuntimeExport("RhBox")]
        public static object RhBox(Internal.Runtime.MethodTable* mt, ref byte data)
        {
            if (mt->IsNullable)
            {
                // Nullable<T>: box the T when HasValue, else null.
                if (data == 0) return null;
                mt = mt->RelatedType;
                uint offset = mt->_uBaseSize - (uint)(2 * sizeof(nint)) < 8 ? (uint)mt->ValueTypeSize : 8;
                object boxedN = Internal.Runtime.RuntimeImports.RhpNewFast(mt);
                Internal.Runtime.RuntimeImports.memmove((byte*)Unsafe.AsPointer(ref Unsafe.As<RawData>(boxedN).Data), Unsafe.AsPointer(ref Unsafe.Add(ref data, (int)NullableValueOffset(mt))), mt->ValueTypeSize);
                return boxedN;
            }
            object boxed = Internal.Runtime.RuntimeImports.RhpNewFast(mt);
            Internal.Runtime.RuntimeImports.memmove(Unsafe.AsPointer(ref Unsafe.As<RawData>(boxed).Data), Unsafe.AsPointer(ref data), mt->ValueTypeSize);
            return boxed;
        }

        // The value of Nullable<T> follows its bool, aligned to T's alignment (at most 8).
        static uint NullableValueOffset(Internal.Runtime.MethodTable* valueType)
        {
            uint size = valueType->ValueTypeSize;
            return size >= 8 ? 8u : size >= 4 ? 4u : size >= 2 ? 2u : 1u;
        }

        [RuntimeExport("RhUnbox2")]
        public static ref byte RhUnbox2(Internal.Runtime.MethodTable* mt, object obj)
        {
            if (obj == null || obj.GetMethodTable() != mt) throw new InvalidCastException();
            return ref Unsafe.As<RawData>(obj).Data;
        }

        [RuntimeExport("RhUnboxNullable")]
        public static void RhUnboxNullable(ref byte data, Internal.Runtime.MethodTable* mt, object obj)
        {
            Internal.Runtime.MethodTable* valueType = mt->RelatedType;
            uint offset = NullableValueOffset(valueType);
            Internal.Runtime.RuntimeImports.memset(Unsafe.AsPointer(ref data), 0, offset + valueType->ValueTypeSize);
            if (obj == null) return;
            if (obj.GetMethodTable() != valueType) throw new InvalidCastException();
            data = 1;
            Internal.Runtime.RuntimeImports.memmove(Unsafe.AsPointer(ref Unsafe.Add(ref data, (int)offset)), Unsafe.AsPointer(ref Unsafe.As<RawData>(obj).Data), valueType->ValueTypeSize);
        }
    }

    /// Casting helpers ILC calls by name. Classes walk the base chain; interfaces scan the
    /// interface map (which lists every interface a type implements, inherited ones included).
    internal static unsafe class TypeCast
    {
        static bool IsSubclass(Internal.Runtime.MethodTable* mt, Internal.Runtime.MethodTable* target)
        {
            for (; mt != null; mt = mt->BaseType)
                if (mt == target) return true;
            return false;
        }

        static bool Implements(Internal.Runtime.MethodTable* mt, Internal.Runtime.MethodTable* iface)
        {
            Internal.Runtime.MethodTable** map = mt->InterfaceMap;
            for (int i = 0; i < mt->NumInterfaces; i++)
                if (map[i] == iface) return true;
            return false;
        }

        static bool IsAssignable(Internal.Runtime.MethodTable* mt, Internal.Runtime.MethodTable* target)
        {
            if (mt == target) return true;
            if (target->IsInterface) return Implements(mt, target);
            if (mt->IsArray && target->IsArray)
            {
                // Reference-type arrays are covariant.
                Internal.Runtime.MethodTable* a = mt->RelatedType, b = target->RelatedType;
                return !a->IsValueType && !b->IsValueType && IsAssignable(a, b);
            }
            return IsSubclass(mt, target);
        }

        public static object IsInstanceOfClass(Internal.Runtime.MethodTable* target, object obj) =>
            obj == null || IsSubclass(obj.GetMethodTable(), target) ? obj : null;
        public static object IsInstanceOfInterface(Internal.Runtime.MethodTable* target, object obj) =>
            obj == null || Implements(obj.GetMethodTable(), target) ? obj : null;
        public static object IsInstanceOfAny(Internal.Runtime.MethodTable* target, object obj) =>
            obj == null || IsAssignable(obj.GetMethodTable(), target) ? obj : null;
        public static object IsInstanceOfException(Internal.Runtime.MethodTable* target, object obj) =>
            IsInstanceOfClass(target, obj);

        public static object CheckCastClass(Internal.Runtime.MethodTable* target, object obj) =>
            obj == null || IsSubclass(obj.GetMethodTable(), target) ? obj : throw new InvalidCastException();
        public static object CheckCastClassSpecial(Internal.Runtime.MethodTable* target, object obj) =>
            CheckCastClass(target, obj);
        public static object CheckCastInterface(Internal.Runtime.MethodTable* target, object obj) =>
            obj == null || Implements(obj.GetMethodTable(), target) ? obj : throw new InvalidCastException();
        public static object CheckCastAny(Internal.Runtime.MethodTable* target, object obj) =>
            obj == null || IsAssignable(obj.GetMethodTable(), target) ? obj : throw new InvalidCastException();

        public static bool AreTypesEquivalent(Internal.Runtime.MethodTable* a, Internal.Runtime.MethodTable* b) => a == b;

        public static void StelemRef(object[] array, nint index, object obj)
        {
            if ((nuint)index >= (nuint)(uint)array.Length) throw new IndexOutOfRangeException();
            ref object element = ref Unsafe.As<byte, object>(ref Unsafe.As<RawArrayData>(array).Data);
            if (obj != null && !IsAssignable(obj.GetMethodTable(), array.GetMethodTable()->RelatedType))
                throw new ArrayTypeMismatchException();
            Unsafe.Add(ref element, index) = obj;
        }

        public static ref object LdelemaRef(object[] array, nint index, Internal.Runtime.MethodTable* elementType)
        {
            if ((nuint)index >= (nuint)(uint)array.Length) throw new IndexOutOfRangeException();
            if (array.GetMethodTable()->RelatedType != elementType) throw new ArrayTypeMismatchException();
            ref object element = ref Unsafe.As<byte, object>(ref Unsafe.As<RawArrayData>(array).Data);
            return ref Unsafe.Add(ref element, index);
        }
    }
}

namespace System.Runtime.CompilerServices
{
    public struct StaticClassConstructionContext
    {
        // Address of the static constructor; zero once it has run.
        public volatile IntPtr cctorMethodAddress;
    }

    /// Runs static constructors on first use. The kernel is single-threaded while this runs.
    internal static unsafe class ClassConstructorRunner
    {
        static void Run(ref StaticClassConstructionContext context)
        {
            IntPtr cctor = context.cctorMethodAddress;
            if (cctor == IntPtr.Zero) return;
            context.cctorMethodAddress = IntPtr.Zero;
            ((delegate*<void>)(void*)cctor)();
        }

        private static object CheckStaticClassConstructionReturnGCStaticBase(ref StaticClassConstructionContext context, object gcStaticBase)
        {
            Run(ref context);
            return gcStaticBase;
        }

        private static IntPtr CheckStaticClassConstructionReturnNonGCStaticBase(ref StaticClassConstructionContext context, IntPtr nonGcStaticBase)
        {
            Run(ref context);
            return nonGcStaticBase;
        }

        private static object CheckStaticClassConstructionReturnThreadStaticBase(ref StaticClassConstructionContext context, object threadStaticBase)
        {
            Run(ref context);
            return threadStaticBase;
        }
    }
}

namespace Internal.Runtime
{
    /// The kernel has no [ThreadStatic] fields; compiled code that needs one is a bug.
    internal static class ThreadStatics
    {
        internal static unsafe object GetThreadStaticBaseForType(void* pModuleData, int typeIndex) =>
            throw new NotSupportedException("thread statics");
        internal static unsafe object GetInlinedThreadStaticBaseSlow(ref object threadStorage) =>
            throw new NotSupportedException("thread statics");
        internal static unsafe ref byte GetUninlinedThreadStaticBaseForType(int typeIndex) =>
            throw new NotSupportedException("thread statics");
    }
}

namespace System
{
    public static unsafe class Buffer
    {
        // No collector yet, so no write barrier: a plain overlapping copy.
        internal static void BulkMoveWithWriteBarrier(ref byte destination, ref byte source, nuint byteCount) =>
            Internal.Runtime.RuntimeImports.memmove(Unsafe.AsPointer(ref destination), Unsafe.AsPointer(ref source), byteCount);

        public static void MemoryCopy(void* source, void* destination, long destinationSizeInBytes, long sourceBytesToCopy)
        {
            if (sourceBytesToCopy > destinationSizeInBytes) throw new ArgumentOutOfRangeException();
            Internal.Runtime.RuntimeImports.memmove(destination, source, (nuint)sourceBytesToCopy);
        }
    }

    public static class Math
    {
        public static int Min(int a, int b) => a < b ? a : b;
        public static int Max(int a, int b) => a > b ? a : b;
        public static long Min(long a, long b) => a < b ? a : b;
        public static long Max(long a, long b) => a > b ? a : b;
        public static ulong Min(ulong a, ulong b) => a < b ? a : b;
        public static ulong Max(ulong a, ulong b) => a > b ? a : b;
        public static uint Min(uint a, uint b) => a < b ? a : b;
        public static uint Max(uint a, uint b) => a > b ? a : b;
        public static int Abs(int a) => a < 0 ? -a : a;
        public static long Abs(long a) => a < 0 ? -a : a;

        public static double Round(double a)
        {
            double f = (double)(long)a;
            double diff = a - f;
            if (diff > 0.5 || (diff == 0.5 && ((long)f & 1) != 0)) return f + 1;
            if (diff < -0.5 || (diff == -0.5 && ((long)f & 1) != 0)) return f - 1;
            return f;
        }

        // Checked conversions the JIT calls for conv.ovf from floating point.
        internal static int ConvertToInt32Checked(double v) => v > -2147483649.0 && v < 2147483648.0 ? (int)v : throw new OverflowException();
        internal static uint ConvertToUInt32Checked(double v) => v > -1.0 && v < 4294967296.0 ? (uint)v : throw new OverflowException();
        internal static long ConvertToInt64Checked(double v) => v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? (long)v : throw new OverflowException();
        internal static ulong ConvertToUInt64Checked(double v) => v > -1.0 && v < 18446744073709551616.0 ? (ulong)v : throw new OverflowException();
    }

    public static class MathF
    {
        public static float Round(float a) => (float)Math.Round(a);
    }
}
