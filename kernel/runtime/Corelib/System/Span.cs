using System.Runtime.CompilerServices;

namespace System
{
    // Array payload view: count (padded to 8 bytes), then the elements.
    internal sealed class RawArrayData
    {
        public uint Length;
        public uint Padding;
        public byte Data;
    }

    public readonly ref struct Span<T>
    {
        internal readonly ref T _reference;
        private readonly int _length;

        public Span(T[] array)
        {
            if (array == null) { this = default; return; }
            _reference = ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data);
            _length = array.Length;
        }

        public Span(T[] array, int start, int length)
        {
            if (array == null) { this = default; return; }
            if ((ulong)(uint)start + (ulong)(uint)length > (ulong)(uint)array.Length)
                Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.Add(ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data), start);
            _length = length;
        }

        public unsafe Span(void* pointer, int length)
        {
            if (length < 0) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.AsRef<T>(pointer);
            _length = length;
        }

        public Span(ref T reference, int length)
        {
            _reference = ref reference;
            _length = length;
        }

        public int Length => _length;
        public bool IsEmpty => _length == 0;

        public ref T this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_length) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowIndexOutOfRangeException();
                return ref Unsafe.Add(ref _reference, (nint)(uint)index);
            }
        }

        public ref T GetPinnableReference() => ref (_length != 0 ? ref _reference : ref Unsafe.NullRef<T>());

        public Span<T> Slice(int start)
        {
            if ((uint)start > (uint)_length) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new Span<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), _length - start);
        }

        public Span<T> Slice(int start, int length)
        {
            if ((ulong)(uint)start + (ulong)(uint)length > (ulong)(uint)_length)
                Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new Span<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), length);
        }

        public void Clear()
        {
            for (int i = 0; i < _length; i++) Unsafe.Add(ref _reference, i) = default;
        }

        public void Fill(T value)
        {
            for (int i = 0; i < _length; i++) Unsafe.Add(ref _reference, i) = value;
        }

        public void CopyTo(Span<T> destination)
        {
            if (!TryCopyTo(destination)) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentException();
        }

        public bool TryCopyTo(Span<T> destination) => ((ReadOnlySpan<T>)this).TryCopyTo(destination);

        public static implicit operator Span<T>(T[] array) => new Span<T>(array);
        public static implicit operator ReadOnlySpan<T>(Span<T> span) => new ReadOnlySpan<T>(ref span._reference, span._length);

        public static Span<T> Empty => default;
    }

    public readonly ref struct ReadOnlySpan<T>
    {
        internal readonly ref T _reference;
        private readonly int _length;

        public ReadOnlySpan(T[] array)
        {
            if (array == null) { this = default; return; }
            _reference = ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data);
            _length = array.Length;
        }

        public ReadOnlySpan(T[] array, int start, int length)
        {
            if (array == null) { this = default; return; }
            if ((ulong)(uint)start + (ulong)(uint)length > (ulong)(uint)array.Length)
                Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.Add(ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data), start);
            _length = length;
        }

        public unsafe ReadOnlySpan(void* pointer, int length)
        {
            if (length < 0) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.AsRef<T>(pointer);
            _length = length;
        }

        public ReadOnlySpan(ref T reference, int length)
        {
            _reference = ref reference;
            _length = length;
        }

        public int Length => _length;
        public bool IsEmpty => _length == 0;

        public ref readonly T this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_length) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowIndexOutOfRangeException();
                return ref Unsafe.Add(ref _reference, (nint)(uint)index);
            }
        }

        public ref readonly T GetPinnableReference() => ref (_length != 0 ? ref _reference : ref Unsafe.NullRef<T>());

        public ReadOnlySpan<T> Slice(int start)
        {
            if ((uint)start > (uint)_length) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new ReadOnlySpan<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), _length - start);
        }

        public ReadOnlySpan<T> Slice(int start, int length)
        {
            if ((ulong)(uint)start + (ulong)(uint)length > (ulong)(uint)_length)
                Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new ReadOnlySpan<T>(ref Unsafe.Add(ref _reference, (nint)(uint)start), length);
        }

        public void CopyTo(Span<T> destination)
        {
            if (!TryCopyTo(destination)) Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentException();
        }

        public unsafe bool TryCopyTo(Span<T> destination)
        {
            if ((uint)_length > (uint)destination.Length) return false;
            ref T dst = ref destination._reference;
            // Without references: one memmove (overlap-safe; eight bytes per step). An
            // element loop costs a bounds-free load and store per byte, which under TCG made
            // every Span<byte> copy (network rings, frames, buffers) many times slower.
            if (!RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                if (_length > 0)
                    Internal.Runtime.RuntimeImports.memmove(Unsafe.AsPointer(ref dst), Unsafe.AsPointer(ref _reference), (nuint)(uint)_length * (nuint)Unsafe.SizeOf<T>());
                return true;
            }
            // Overlap-safe: copy backwards when the destination starts inside the source.
            if (Unsafe.IsAddressLessThan(ref _reference, ref dst) && Unsafe.IsAddressLessThan(ref dst, ref Unsafe.Add(ref _reference, _length)))
                for (int i = _length - 1; i >= 0; i--) Unsafe.Add(ref dst, i) = Unsafe.Add(ref _reference, i);
            else
                for (int i = 0; i < _length; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref _reference, i);
            return true;
        }

        public static implicit operator ReadOnlySpan<T>(T[] array) => new ReadOnlySpan<T>(array);

        public static ReadOnlySpan<T> Empty => default;
    }

    public static class MemoryExtensions
    {
        public static Span<T> AsSpan<T>(this T[] array) => new Span<T>(array);
        public static ReadOnlySpan<char> AsSpan(this string text) => text;
        public static Span<T> AsSpan<T>(this T[] array, int start, int length) => new Span<T>(array, start, length);

        public static bool SequenceEqual(this ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return false;
            return true;
        }

        public static bool SequenceEqual(this Span<byte> a, ReadOnlySpan<byte> b) => SequenceEqual((ReadOnlySpan<byte>)a, b);

        public static int IndexOf(this ReadOnlySpan<byte> span, byte value)
        {
            for (int i = 0; i < span.Length; i++) if (span[i] == value) return i;
            return -1;
        }

        public static int IndexOf(this Span<byte> span, byte value) => IndexOf((ReadOnlySpan<byte>)span, value);
    }
}

namespace System.Runtime.InteropServices
{
    public static class MemoryMarshal
    {
        public static ref T GetReference<T>(Span<T> span) => ref span._reference;
        public static ref T GetReference<T>(ReadOnlySpan<T> span) => ref span._reference;
        public static ref T GetArrayDataReference<T>(T[] array) =>
            ref System.Runtime.CompilerServices.Unsafe.As<byte, T>(ref System.Runtime.CompilerServices.Unsafe.As<RawArrayData>(array).Data);
    }
}

namespace System.Buffers.Binary
{
    public static class BinaryPrimitives
    {
        public static ushort ReadUInt16LittleEndian(ReadOnlySpan<byte> s) => (ushort)(s[0] | (s[1] << 8));
        public static short ReadInt16LittleEndian(ReadOnlySpan<byte> s) => (short)ReadUInt16LittleEndian(s);
        public static uint ReadUInt32LittleEndian(ReadOnlySpan<byte> s) => (uint)(s[0] | (s[1] << 8) | (s[2] << 16) | (s[3] << 24));
        public static int ReadInt32LittleEndian(ReadOnlySpan<byte> s) => (int)ReadUInt32LittleEndian(s);
        public static ulong ReadUInt64LittleEndian(ReadOnlySpan<byte> s) => ReadUInt32LittleEndian(s) | ((ulong)ReadUInt32LittleEndian(s.Slice(4)) << 32);
        public static long ReadInt64LittleEndian(ReadOnlySpan<byte> s) => (long)ReadUInt64LittleEndian(s);
        public static ushort ReadUInt16BigEndian(ReadOnlySpan<byte> s) => (ushort)((s[0] << 8) | s[1]);
        public static uint ReadUInt32BigEndian(ReadOnlySpan<byte> s) => (uint)((s[0] << 24) | (s[1] << 16) | (s[2] << 8) | s[3]);

        public static void WriteUInt16LittleEndian(Span<byte> d, ushort v) { d[0] = (byte)v; d[1] = (byte)(v >> 8); }
        public static void WriteUInt32LittleEndian(Span<byte> d, uint v) { d[0] = (byte)v; d[1] = (byte)(v >> 8); d[2] = (byte)(v >> 16); d[3] = (byte)(v >> 24); }
        public static void WriteInt32LittleEndian(Span<byte> d, int v) => WriteUInt32LittleEndian(d, (uint)v);
        public static void WriteUInt64LittleEndian(Span<byte> d, ulong v) { WriteUInt32LittleEndian(d, (uint)v); WriteUInt32LittleEndian(d.Slice(4), (uint)(v >> 32)); }
        public static void WriteInt64LittleEndian(Span<byte> d, long v) => WriteUInt64LittleEndian(d, (ulong)v);
        public static void WriteUInt16BigEndian(Span<byte> d, ushort v) { d[0] = (byte)(v >> 8); d[1] = (byte)v; }
        public static void WriteUInt32BigEndian(Span<byte> d, uint v) { d[0] = (byte)(v >> 24); d[1] = (byte)(v >> 16); d[2] = (byte)(v >> 8); d[3] = (byte)v; }
    }
}
