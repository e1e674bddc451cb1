using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// The root filesystem packed into the image, read in place (no copies): path lookup
    /// over the archive's entries (docs/image-format.md).
    public unsafe sealed class ImageFs
    {
        public static ImageFs Root;
        readonly byte* _base;
        readonly int _length;
        RootFsHeader _header;

        public ReadOnlySpan<byte> Archive => new ReadOnlySpan<byte>(_base, _length);

        ImageFs(byte* b, int length) { _base = b; _length = length; }

        public static string Open(ReadOnlySpan<byte> archive, out ImageFs fs)
        {
            fs = null;
            fixed (byte* p = archive)
            {
                var f = new ImageFs(p, archive.Length);
                if (RootFsReader.Validate(f.Archive, out f._header) != RootFsError.None) return "root filesystem archive is invalid";
                fs = f;
            }
            return null;
        }

        public uint Count => _header.Count;
        public ReadOnlySpan<byte> Name(ref RootFsEntry e) => RootFsReader.Name(Archive, ref _header, ref e);

        public RootFsEntry Entry(uint i) { RootFsReader.GetEntry(Archive, i, out RootFsEntry e); return e; }

        public ReadOnlySpan<byte> Data(uint i) { RootFsEntry e = Entry(i); return RootFsReader.Data(Archive, ref e); }

        /// Resolves an absolute path to an entry, following symlinks (at most 40).
        public Errno Lookup(ReadOnlySpan<byte> path, bool followLast, out uint result)
        {
            int links = 0;
            return Walk(0, path, followLast, ref links, out result);
        }

        Errno Walk(uint dir, ReadOnlySpan<byte> path, bool followLast, ref int links, out uint result)
        {
            result = 0;
            uint cur = path.Length > 0 && path[0] == '/' ? 0 : dir;
            int i = 0;
            while (true)
            {
                while (i < path.Length && path[i] == '/') i++;
                if (i >= path.Length) { result = cur; return 0; }
                int start = i;
                while (i < path.Length && path[i] != '/') i++;
                ReadOnlySpan<byte> name = path.Slice(start, i - start);
                bool last = i >= path.Length || AllSlashes(path.Slice(i));
                RootFsEntry ce = Entry(cur);
                if (!RootFsFormat.IsDir(ce.Mode)) return Errno.ENOTDIR;
                if (name.Length > 255) return Errno.ENAMETOOLONG;
                if (name.Length == 1 && name[0] == '.') continue;
                if (name.Length == 2 && name[0] == '.' && name[1] == '.') { cur = ce.Parent; continue; }
                int child = RootFsReader.Lookup(Archive, ref _header, cur, name);
                if (child < 0) return Errno.ENOENT;
                RootFsEntry e = Entry((uint)child);
                if (RootFsFormat.IsSymlink(e.Mode) && (!last || followLast || i < path.Length))
                {
                    if (++links > 40) return Errno.ELOOP;
                    Errno err = Walk(cur, Data((uint)child), true, ref links, out uint target);
                    if (err != 0) return err;
                    cur = target;
                    continue;
                }
                cur = (uint)child;
            }
        }

        static bool AllSlashes(ReadOnlySpan<byte> s)
        {
            for (int i = 0; i < s.Length; i++) if (s[i] != '/') return false;
            return true;
        }
    }
}
