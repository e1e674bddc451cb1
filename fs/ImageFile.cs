using System;
using Kernel.Abi;
using Kernel.Syscalls;

namespace Kernel.Fs
{
    /// An open file or directory of the image's root filesystem (read-only).
    public sealed class ImageFile : OpenFile
    {
        readonly uint _entry;
        public ImageFile(uint entry) { _entry = entry; }
        public bool IsDirectory => RootFsFormat.IsDir(ImageFs.Root.Entry(_entry).Mode);

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            SysResult r = ReadAt(buffer, length, Offset);
            if (!r.IsError) Offset += r.Raw;
            return r;
        }

        public override SysResult ReadAt(UserPtr buffer, ulong length, long offset)
        {
            if (IsDirectory) return Errno.EISDIR;
            ReadOnlySpan<byte> data = ImageFs.Root.Data(_entry);
            if (offset >= data.Length) return 0;
            int n = (int)Math.Min(length, (ulong)(data.Length - offset));
            return buffer.CopyOut(data.Slice((int)offset, n)) == 0 ? (SysResult)n : Errno.EFAULT;
        }

        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EBADF;

        public override SysResult Seek(long offset, int whence)
        {
            long size = (long)ImageFs.Root.Entry(_entry).DataSize;
            long pos;
            switch (whence)
            {
                case 0: pos = offset; break;
                case 1: pos = Offset + offset; break;
                case 2: pos = size + offset; break;
                case 3: if (offset >= size) return Errno.ENXIO; pos = offset; break;     // SEEK_DATA: one extent
                case 4: if (offset >= size) return Errno.ENXIO; pos = size; break;       // SEEK_HOLE: at the end
                default: return Errno.EINVAL;
            }
            if (pos < 0) return Errno.EINVAL;
            Offset = pos;
            return pos;
        }

        public override void Stat(ref Stat st) => StatEntry(_entry, ref st);

        public static void StatEntry(uint entry, ref Stat st)
        {
            RootFsEntry e = ImageFs.Root.Entry(entry);
            st.Dev = 0x801; st.Ino = e.Ino; st.Mode = e.Mode; st.Uid = e.Uid; st.Gid = e.Gid;
            st.Nlink = RootFsFormat.IsDir(e.Mode) ? 2UL : 1UL;
            st.Size = RootFsFormat.IsDir(e.Mode) ? 4096 : (long)e.DataSize;
            st.BlkSize = 4096;
            st.Blocks = (st.Size + 511) / 512;
            st.MtimeSec = st.AtimeSec = st.CtimeSec = e.MtimeSec;
            st.MtimeNsec = st.AtimeNsec = st.CtimeNsec = e.MtimeNsec;
        }
    }
}
