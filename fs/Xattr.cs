using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// Extended attributes (xattr(7)): names are full ("user.comment"), values up to 64 KiB.
    /// The syscall layer (syscalls/Sys.Xattr.cs) checks names, sizes and permissions; a
    /// filesystem only stores them (Inode.GetXattr and friends).
    public static class Xattr
    {
        public const int XATTR_CREATE = 1, XATTR_REPLACE = 2;
        public const int NameMax = 255, SizeMax = 65536, ListMax = 65536;

        /// The namespaces, by prefix.
        public const int User = 1, Trusted = 2, Security = 3, System = 4, Unknown = 0;

        public static bool HasPrefix(ReadOnlySpan<byte> name, ReadOnlySpan<byte> prefix) =>
            name.Length >= prefix.Length && name.Slice(0, prefix.Length).SequenceEqual(prefix);

        public static int Namespace(ReadOnlySpan<byte> name)
        {
            if (HasPrefix(name, "user."u8)) return User;
            if (HasPrefix(name, "trusted."u8)) return Trusted;
            if (HasPrefix(name, "security."u8)) return Security;
            if (HasPrefix(name, "system."u8)) return System;
            return Unknown;
        }

        /// The length of the namespace prefix of a name of namespace `ns`.
        public static int PrefixLength(int ns) => ns == User ? 5 : ns == Trusted ? 8 : ns == Security ? 9 : ns == System ? 7 : 0;

        public static bool IsAclName(ReadOnlySpan<byte> name) =>
            name.SequenceEqual("system.posix_acl_access"u8) || name.SequenceEqual("system.posix_acl_default"u8);
    }

    /// The attributes of an in-memory inode (MemFs): names and values in insertion order,
    /// freed with the inode. At most MaxBytes of names and values per inode (ENOSPC).
    public sealed class XattrList
    {
        public const int MaxBytes = 1 << 20;
        byte[][] _names = new byte[2][];
        byte[][] _values = new byte[2][];
        int _count, _bytes;

        int Find(ReadOnlySpan<byte> name)
        {
            for (int i = 0; i < _count; i++) if (name.SequenceEqual(_names[i])) return i;
            return -1;
        }

        public Errno Get(ReadOnlySpan<byte> name, out byte[] value)
        {
            int i = Find(name);
            value = i >= 0 ? _values[i] : null;
            return i >= 0 ? 0 : Errno.ENODATA;
        }

        public Errno Set(ReadOnlySpan<byte> name, byte[] value, int flags)
        {
            int i = Find(name);
            if (i >= 0 && (flags & Xattr.XATTR_CREATE) != 0) return Errno.EEXIST;
            if (i < 0 && (flags & Xattr.XATTR_REPLACE) != 0) return Errno.ENODATA;
            int bytes = _bytes + value.Length + (i >= 0 ? -_values[i].Length : name.Length);
            if (bytes > MaxBytes) return Errno.ENOSPC;
            if (i < 0)
            {
                if (_count == _names.Length)
                {
                    var n = new byte[_count * 2][]; var v = new byte[_count * 2][];
                    for (int k = 0; k < _count; k++) { n[k] = _names[k]; v[k] = _values[k]; }
                    _names = n; _values = v;
                }
                var copy = new byte[name.Length];
                name.CopyTo(copy);
                i = _count++;
                _names[i] = copy;
            }
            _values[i] = value;
            _bytes = bytes;
            return 0;
        }

        public Errno Remove(ReadOnlySpan<byte> name)
        {
            int i = Find(name);
            if (i < 0) return Errno.ENODATA;
            _bytes -= _names[i].Length + _values[i].Length;
            for (int k = i; k + 1 < _count; k++) { _names[k] = _names[k + 1]; _values[k] = _values[k + 1]; }
            _count--;
            _names[_count] = null; _values[_count] = null;
            return 0;
        }

        /// The names, each followed by a NUL.
        public byte[] List()
        {
            int len = 0;
            for (int i = 0; i < _count; i++) len += _names[i].Length + 1;
            var r = new byte[len];
            int o = 0;
            for (int i = 0; i < _count; i++) { new ReadOnlySpan<byte>(_names[i]).CopyTo(new Span<byte>(r, o, _names[i].Length)); o += _names[i].Length + 1; }
            return r;
        }
    }
}
