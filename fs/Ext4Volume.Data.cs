#nullable disable
using System;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// File contents and symbolic links' targets, through the block maps.
    public sealed unsafe partial class Ext4Volume
    {
        /// Reads up to `len` bytes at `off` (stops at the file's size).
        public long ReadData(Ext4File f, long off, byte* dst, long len)
        {
            if (off >= f.Size || len <= 0) return 0;
            if (IsInline(f)) return ReadInline(f, off, dst, len);
            if (len > f.Size - off) len = f.Size - off;
            long done = 0;
            while (done < len)
            {
                long pos = off + done;
                uint l = (uint)(pos / BlockSize);
                int within = (int)(pos % BlockSize);
                Errno e = Map(f, l, out ulong phys, out uint run, out bool uninit);
                if (e != 0) return done > 0 ? done : -(long)e;
                long n = (long)run * BlockSize - within;
                if (n > len - done) n = len - done;
                if (n > 1 << 20) n = 1 << 20;
                if (phys == 0 || uninit) Zero(dst + done, n);
                else if (!Dev.Read((long)phys * BlockSize + within, dst + done, (int)n)) return done > 0 ? done : -(long)Errno.EIO;
                done += n;
            }
            return done;
        }

        static void Zero(byte* p, long n) { for (long i = 0; i < n; i++) p[i] = 0; }

        const int FreshBufBytes = 64 << 10;
        byte[] _freshBuf;        // WriteData's whole-block buffer for partly covered new blocks

        /// Writes `len` bytes at `off`, allocating blocks for holes; the size grows to cover
        /// them. Data goes to disk before the block map that points at it.
        public long WriteData(Ext4File f, long off, byte* src, long len)
        {
            if (ReadOnly) return -(long)Errno.EROFS;
            if (len <= 0) return 0;
            long maxSize = f.HasExtents ? (long)0xffffffff * BlockSize : MaxIndirectSize();
            if (off >= maxSize) return -(long)Errno.EFBIG;
            if (len > maxSize - off) len = maxSize - off;
            long done = 0;
            bool mapChanged = false;
            Errno err = 0;
            byte[] zero = null;
            while (done < len)
            {
                long pos = off + done;
                uint l = (uint)(pos / BlockSize);
                int within = (int)(pos % BlockSize);
                Errno e = Map(f, l, out ulong phys, out uint run, out bool uninit);
                if (e != 0) { err = e; break; }
                long want = len - done;
                uint blocksWanted = (uint)((within + want + BlockSize - 1) / BlockSize);
                bool fresh = false;
                if (phys == 0)
                {
                    uint n = blocksWanted < run ? blocksWanted : run;
                    e = AllocateRange(f, l, n, false, out phys, out run);
                    if (e != 0) { err = e; break; }
                    mapChanged = true;
                    fresh = true;
                }
                else if (uninit)
                {
                    uint n = blocksWanted < run ? blocksWanted : run;
                    run = n;
                    SetRange(f, l, n, phys, false);
                    mapChanged = true;
                    fresh = true;
                }
                long chunk = (long)run * BlockSize - within;
                if (chunk > want) chunk = want;
                long at = (long)phys * BlockSize;
                long endIn0 = (within + chunk) % BlockSize;
                if (fresh && (within > 0 || endIn0 != 0) && within + chunk <= FreshBufBytes)
                {
                    // New blocks the write covers in part: the data with zeros around it in
                    // whole blocks, one aligned request (no sector read-modify-write).
                    if (_freshBuf == null) _freshBuf = new byte[FreshBufBytes];
                    long whole = (within + chunk + BlockSize - 1) / BlockSize * BlockSize;
                    fixed (byte* fb = _freshBuf)
                    {
                        for (int i = 0; i < within; i++) fb[i] = 0;
                        Buffer.MemoryCopy(src + done, fb + within, chunk, chunk);
                        for (long i = within + chunk; i < whole; i++) fb[i] = 0;
                        if (!Dev.Write(at, fb, (int)whole)) { err = Errno.EIO; break; }
                    }
                    done += chunk;
                    continue;
                }
                if (fresh)
                {
                    // The parts of new blocks this write does not cover read as zeros.
                    if (zero == null) zero = new byte[BlockSize];
                    fixed (byte* z = zero)
                    {
                        if (within > 0) Dev.Write(at, z, within);
                        long endIn = (within + chunk) % BlockSize;
                        if (endIn != 0) Dev.Write(at + within + chunk, z, (int)(BlockSize - endIn));
                    }
                }
                if (!Dev.Write(at + within, src + done, (int)chunk)) { err = Errno.EIO; break; }
                done += chunk;
            }
            if (off + done > f.Size) f.Size = off + done;
            if (mapChanged && f.HasExtents)
            {
                Errno e = SaveExtents(f);
                if (e != 0 && err == 0) err = e;
            }
            Errno we = WriteInode(f);
            if (we != 0 && err == 0) err = we;
            if (done > 0) return done;
            return err != 0 ? -(long)err : 0;
        }

        /// The largest size file `f` can have (its block map's reach).
        public long MaxFileSize(Ext4File f) => f.HasExtents ? (long)0xffffffff * BlockSize : MaxIndirectSize();

        long MaxIndirectSize()
        {
            long per = BlockSize / 4;
            long blocks = 12 + per + per * per + per * per * per;
            if (blocks > 0xffffffffL) blocks = 0xffffffffL;
            return blocks * BlockSize;
        }

        /// Sets the size: blocks past it are freed, the rest of the last block zeroed.
        public Errno Truncate(Ext4File f, long size)
        {
            if (ReadOnly) return Errno.EROFS;
            if (size < f.Size)
            {
                uint keep = (uint)((size + BlockSize - 1) / BlockSize);
                Errno e = TruncateBlocks(f, keep);
                if (e != 0) return e;
                int within = (int)(size % BlockSize);
                if (within != 0)
                {
                    e = Map(f, (uint)(size / BlockSize), out ulong phys, out _, out bool uninit);
                    if (e == 0 && phys != 0 && !uninit)
                    {
                        var z = new byte[BlockSize - within];
                        fixed (byte* zp = z) Dev.Write((long)phys * BlockSize + within, zp, z.Length);
                    }
                }
            }
            else if (f.HasExtents && size > f.Size)
            {
                // Unwritten blocks past the old size stay unwritten (they read as zeros).
            }
            f.Size = size;
            return WriteInode(f);
        }

        /// fallocate: unwritten extents over the holes of [off, off+len); the size grows
        /// unless keepSize.
        public Errno Fallocate(Ext4File f, long off, long len, bool keepSize)
        {
            if (ReadOnly) return Errno.EROFS;
            if (!f.HasExtents) return Errno.EOPNOTSUPP;
            uint l = (uint)(off / BlockSize);
            uint end = (uint)((off + len + BlockSize - 1) / BlockSize);
            bool changed = false;
            Errno err = 0;
            while (l < end)
            {
                Errno e = Map(f, l, out ulong phys, out uint run, out _);
                if (e != 0) { err = e; break; }
                uint n = end - l < run ? end - l : run;
                if (phys == 0)
                {
                    e = AllocateRange(f, l, n, true, out _, out uint got);
                    if (e != 0) { err = e; break; }
                    n = got;
                    changed = true;
                }
                l += n;
            }
            if (changed) { Errno e = SaveExtents(f); if (e != 0 && err == 0) err = e; }
            if (!keepSize && off + len > f.Size && err == 0) f.Size = off + len;
            Errno we = WriteInode(f);
            return err != 0 ? err : we;
        }

        /// The next data (or hole) offset at or after `off`, for SEEK_DATA/SEEK_HOLE.
        public long NextData(Ext4File f, long off, bool hole)
        {
            while (off < f.Size)
            {
                uint l = (uint)(off / BlockSize);
                if (Map(f, l, out ulong phys, out uint run, out bool uninit) != 0) return -1;
                bool data = phys != 0 && !uninit;
                if (data != hole) return off;
                long next = ((long)l + run) * BlockSize;
                if (next <= off) break;
                off = next;
            }
            return hole ? f.Size : -1;
        }

        // ------------------------------------------------------------------ symlinks

        public int ReadLink(Ext4File f, Span<byte> buf)
        {
            int n = (int)(f.Size < buf.Length ? f.Size : buf.Length);
            if (IsFastSymlink(f))
            {
                for (int i = 0; i < n; i++) buf[i] = f.Raw[Ext4.IBlock + i];
                return n;
            }
            fixed (byte* p = buf)
            {
                long r = ReadData(f, 0, p, n);
                return r < 0 ? -1 : (int)r;
            }
        }

        Errno WriteLinkTarget(Ext4File f, ReadOnlySpan<byte> target)
        {
            if (target.Length < 60)
            {
                f.Flags &= ~Ext4.FlagExtents;
                for (int i = 0; i < 60; i++) f.Raw[Ext4.IBlock + i] = i < target.Length ? target[i] : (byte)0;
                f.Size = target.Length;
                return WriteInode(f);
            }
            var copy = new byte[target.Length];
            for (int i = 0; i < copy.Length; i++) copy[i] = target[i];
            fixed (byte* p = copy)
            {
                long r = WriteData(f, 0, p, copy.Length);
                return r < 0 ? (Errno)(int)-r : 0;
            }
        }
    }
}
