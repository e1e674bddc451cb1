using System;
using Kernel.Memory;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// tmpfs semantics: directories, files, symlinks and special nodes in memory. The root
    /// filesystem is one of these whose directories fill themselves lazily from the image's
    /// packed tree (ImageFs): an image file's data is read in place until its first write,
    /// which copies only the pages written (copy-up per page).
    public unsafe class MemDir : Inode
    {
        protected override bool KeepsXattrs => true;
        byte[][] _names = new byte[4][];
        Inode[] _nodes = new Inode[4];
        long[] _pos = new long[4];
        int _count;
        long _nextPos = 2;                 // 0 and 1 are "." and ".."
        int _imageEntry = -1;              // image directory still to be read in, or -1

        public MemDir(FileSystem fs, uint mode) { InitCommon(fs, FileMode.S_IFDIR | (mode & 0xfff)); Nlink = 2; }

        public static MemDir FromImage(FileSystem fs, uint entry)
        {
            RootFsEntry e = ImageFs.Root.Entry(entry);
            var d = new MemDir(fs, e.Mode);
            d.SetFromImage(ref e);
            d._imageEntry = (int)entry;
            d.Nlink = 2 + MemFsImage.SubdirCount(entry);
            return d;
        }

        internal void SetFromImage(ref RootFsEntry e)
        {
            Uid = e.Uid; Gid = e.Gid;
            AtimeSec = MtimeSec = CtimeSec = e.MtimeSec; AtimeNsec = MtimeNsec = CtimeNsec = e.MtimeNsec;
        }

        void Populate()
        {
            if (_imageEntry < 0) return;
            uint me = (uint)_imageEntry;
            _imageEntry = -1;
            ImageFs img = ImageFs.Root;
            uint n = img.Count;
            for (uint i = me + 1; i < n; i++)
            {
                RootFsEntry e = img.Entry(i);
                if (e.Parent != me) continue;
                Inode node = MemFsImage.NodeFor(Fs, i, ref e);
                if (node == null) continue;
                ReadOnlySpan<byte> name = img.Name(ref e);
                AddEntry(name, node);
                if (node.IsDir) { node.Parent = this; node.Name = Copy(name); }
            }
        }

        static byte[] Copy(ReadOnlySpan<byte> s)
        {
            var a = new byte[s.Length];
            for (int i = 0; i < s.Length; i++) a[i] = s[i];
            return a;
        }

        // Entries live in arrays in creation order (readdir positions); removal leaves a hole
        // (null) that is compacted away when the arrays next fill up, so indices held during
        // one operation stay valid. An open-addressing hash (index + 1; 0 empty, -1 deleted)
        // makes lookups O(1) in large directories.
        int[] _slots = new int[8];
        int _live, _holes, _used;          // entries, holes in the arrays, non-empty hash slots

        static uint HashName(ReadOnlySpan<byte> name)
        {
            uint h = 2166136261;
            for (int i = 0; i < name.Length; i++) h = (h ^ name[i]) * 16777619;
            return h;
        }

        int Find(ReadOnlySpan<byte> name)
        {
            int mask = _slots.Length - 1;
            for (int k = (int)(HashName(name) & (uint)mask), probes = 0; probes < _slots.Length; k = (k + 1) & mask, probes++)
            {
                int v = _slots[k];
                if (v == 0) return -1;
                if (v < 0) continue;
                byte[] n = _names[v - 1];
                if (n.Length == name.Length && ((ReadOnlySpan<byte>)n).SequenceEqual(name)) return v - 1;
            }
            return -1;
        }

        /// Indexes entry `index`; the table must have room (see AddEntry).
        void HashInsert(int index)
        {
            int mask = _slots.Length - 1;
            int k = (int)(HashName(_names[index]) & (uint)mask);
            while (_slots[k] > 0) k = (k + 1) & mask;
            if (_slots[k] == 0) _used++;
            _slots[k] = index + 1;
        }

        void HashRemove(int index)
        {
            int mask = _slots.Length - 1;
            for (int k = (int)(HashName(_names[index]) & (uint)mask); _slots[k] != 0; k = (k + 1) & mask)
                if (_slots[k] == index + 1) { _slots[k] = -1; return; }
        }

        void Rehash(int size)
        {
            while (size < 8 || _live * 2 >= size) size *= 2;
            _slots = new int[size];
            _used = 0;
            for (int i = 0; i < _count; i++) if (_nodes[i] != null) HashInsert(i);
        }

        void Compact()
        {
            int j = 0;
            for (int i = 0; i < _count; i++)
            {
                if (_nodes[i] == null) continue;
                _names[j] = _names[i]; _nodes[j] = _nodes[i]; _pos[j] = _pos[i]; j++;
            }
            for (int i = j; i < _count; i++) { _names[i] = null; _nodes[i] = null; }
            _count = j;
            _holes = 0;
            Rehash(_slots.Length);
        }

        void AddEntry(ReadOnlySpan<byte> name, Inode node)
        {
            if (_count == _names.Length && _holes > 0) Compact();
            if (_count == _names.Length)
            {
                var nn = new byte[_count * 2][]; var nd = new Inode[_count * 2]; var np = new long[_count * 2];
                for (int i = 0; i < _count; i++) { nn[i] = _names[i]; nd[i] = _nodes[i]; np[i] = _pos[i]; }
                _names = nn; _nodes = nd; _pos = np;
            }
            _names[_count] = Copy(name); _nodes[_count] = node; _pos[_count] = _nextPos++;
            if (node.Parent == null || !node.IsDir) { node.Parent = this; node.Name = _names[_count]; }
            _count++;
            _live++;
            // A full table is rebuilt (which indexes the new entry too); else index it alone.
            if ((_used + 1) * 2 > _slots.Length) Rehash(_slots.Length * 2);
            else HashInsert(_count - 1);
        }

        void RemoveAt(int i)
        {
            HashRemove(i);
            _names[i] = null; _nodes[i] = null;
            _live--;
            _holes++;
        }

        public override bool IsEmptyDir { get { Populate(); return _live == 0; } }

        public override Errno Lookup(ReadOnlySpan<byte> name, out Inode child)
        {
            Populate();
            int i = Find(name);
            child = i >= 0 ? _nodes[i] : null;
            return i >= 0 ? 0 : Errno.ENOENT;
        }

        Errno CheckNew(ReadOnlySpan<byte> name)
        {
            Populate();
            if (Nlink == 0) return Errno.ENOENT;           // removed directory
            if (name.Length > 255) return Errno.ENAMETOOLONG;
            return Find(name) >= 0 ? Errno.EEXIST : 0;
        }

        public override Errno Mknod(ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child)
        {
            child = null;
            Errno e = CheckNew(name);
            if (e != 0) return e;
            uint t = mode & FileMode.S_IFMT;
            if (t == 0 || t == FileMode.S_IFREG) child = new MemFile(Fs, FileMode.S_IFREG | (mode & 0xfff));
            else child = new MemNode(Fs, mode, rdev);
            AddEntry(name, child);
            TouchMtime();
            return 0;
        }

        public override Errno Mkdir(ReadOnlySpan<byte> name, uint mode, out Inode child)
        {
            child = null;
            Errno e = CheckNew(name);
            if (e != 0) return e;
            var d = new MemDir(Fs, mode);
            d.Parent = this;
            AddEntry(name, d);
            d.Name = _names[_count - 1];
            Nlink++;
            TouchMtime();
            child = d;
            return 0;
        }

        public override Errno Symlink(ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, out Inode child)
        {
            child = null;
            Errno e = CheckNew(name);
            if (e != 0) return e;
            child = new MemSymlink(Fs, Copy(target));
            AddEntry(name, child);
            TouchMtime();
            return 0;
        }

        public override Errno Link(ReadOnlySpan<byte> name, Inode target)
        {
            Errno e = CheckNew(name);
            if (e != 0) return e;
            if (target.IsDir) return Errno.EPERM;
            target.Nlink++;
            target.TouchCtime();
            AddEntry(name, target);
            TouchMtime();
            return 0;
        }

        public override Errno Unlink(ReadOnlySpan<byte> name, bool dir)
        {
            Populate();
            int i = Find(name);
            if (i < 0) return Errno.ENOENT;
            Inode n = _nodes[i];
            if (dir)
            {
                if (!n.IsDir) return Errno.ENOTDIR;
                if (n.MountedHere != null) return Errno.EBUSY;
                if (!n.IsEmptyDir) return Errno.ENOTEMPTY;
                Nlink--;
                n.Nlink = 0;
            }
            else
            {
                if (n.IsDir) return Errno.EISDIR;
                n.Unlinked();
            }
            RemoveAt(i);
            TouchMtime();
            return 0;
        }

        public override Errno Rename(ReadOnlySpan<byte> oldName, Inode newDirInode, ReadOnlySpan<byte> newName, uint flags)
        {
            const uint NOREPLACE = 1, EXCHANGE = 2;
            Populate();
            var newDir = newDirInode as MemDir;
            if (newDir == null) return Errno.EXDEV;
            newDir.Populate();
            int i = Find(oldName);
            if (i < 0) return Errno.ENOENT;
            Inode n = _nodes[i];
            if (newName.Length > 255) return Errno.ENAMETOOLONG;
            if (newDir.Nlink == 0) return Errno.ENOENT;
            // A directory cannot move below itself.
            if (n.IsDir)
                for (Inode p = newDir; p != null; p = p.Parent == p ? null : p.Parent)
                    if (p == n) return Errno.EINVAL;
            int j = newDir.Find(newName);
            if ((flags & EXCHANGE) != 0)
            {
                if (j < 0) return Errno.ENOENT;
                Inode m = newDir._nodes[j];
                if (m.IsDir)
                    for (Inode p = this; p != null; p = p.Parent == p ? null : p.Parent)
                        if (p == m) return Errno.EINVAL;
                _nodes[i] = m; newDir._nodes[j] = n;
                if (n.IsDir != m.IsDir) { if (n.IsDir) { Nlink--; newDir.Nlink++; } else { Nlink++; newDir.Nlink--; } }
                m.Parent = this; m.Name = _names[i];
                n.Parent = newDir; n.Name = newDir._names[j];
                n.TouchCtime(); m.TouchCtime(); TouchMtime(); newDir.TouchMtime();
                return 0;
            }
            if (j >= 0)
            {
                Inode m = newDir._nodes[j];
                if (m == n) return 0;                                  // same file: nothing happens
                if ((flags & NOREPLACE) != 0) return Errno.EEXIST;
                if (n.IsDir)
                {
                    if (!m.IsDir) return Errno.ENOTDIR;
                    if (m.MountedHere != null) return Errno.EBUSY;
                    if (!m.IsEmptyDir) return Errno.ENOTEMPTY;
                    m.Nlink = 0;
                    newDir.Nlink--;
                }
                else
                {
                    if (m.IsDir) return Errno.EISDIR;
                    m.Unlinked();
                }
                newDir.RemoveAt(j);                                    // leaves a hole: i stays valid
            }
            RemoveAt(i);
            if (n.IsDir) { Nlink--; newDir.Nlink++; }
            newDir.AddEntry(newName, n);
            n.Parent = newDir; n.Name = newDir._names[newDir._count - 1];
            n.TouchCtime(); TouchMtime(); newDir.TouchMtime();
            return 0;
        }

        public override bool ReadDir(ref long cookie, Span<byte> name, out DirEntryInfo e)
        {
            Populate();
            e = default;
            // Positions increase along the arrays: binary-search the first one >= cookie.
            int lo = 0, hi = _count;
            while (lo < hi) { int mid = (lo + hi) / 2; if (_pos[mid] < cookie) lo = mid + 1; else hi = mid; }
            for (int i = lo; i < _count; i++)
            {
                if (_nodes[i] == null) continue;
                byte[] n = _names[i];
                for (int k = 0; k < n.Length && k < name.Length; k++) name[k] = n[k];
                e.NameLength = n.Length; e.Ino = _nodes[i].Ino; e.Type = FileMode.DirType(_nodes[i].Mode);
                cookie = _pos[i] + 1;
                return true;
            }
            return false;
        }
    }

    /// A regular file: page-sized chunks from the frame allocator, or (for an image file not
    /// yet written) the image's own pages, read in place.
    /// The pages of a tmpfs file, sparse: a radix tree of raw 4 KiB tables (512 entries each)
    /// that grows in height as the file does, so a hole costs nothing and a 1-byte write at
    /// 256 GiB takes four small tables and one page, not an array sized to the offset. At
    /// height 0 the root is page 0's frame itself, so a one-page file needs no table.
    public sealed unsafe class PageIndex
    {
        const int Bits = 9, Fan = 1 << Bits;
        ulong _top;                        // height 0: page 0's frame; else the top table's frame
        int _height;                       // levels of tables: covers Fan^_height pages

        /// Pages present (not holes).
        public long Count { get; private set; }

        static ulong* Table(ulong frame) => (ulong*)PhysicalMemory.ToVirtual(frame);
        bool Covers(long index) => _height * Bits >= 63 || index >> (_height * Bits) == 0;

        /// Frame of page `index`, or 0 for a hole.
        public ulong Get(long index)
        {
            if (index < 0 || !Covers(index)) return 0;
            ulong t = _top;
            for (int level = _height - 1; level >= 0 && t != 0; level--)
                t = Table(t)[(index >> (level * Bits)) & (Fan - 1)];
            return t;
        }

        /// Makes page `index` the frame `frame` (non-zero, the page a hole before); false when
        /// memory for the tables is short.
        public bool Set(long index, ulong frame)
        {
            ulong* slot = Slot(index);
            if (slot == null) return false;
            if (*slot == 0) Count++;
            *slot = frame;
            return true;
        }

        /// Makes page `index` a hole again; returns its frame (0 if it was one).
        public ulong Take(long index)
        {
            if (index < 0 || !Covers(index) || Get(index) == 0) return 0;
            ulong* slot = Slot(index);
            ulong frame = *slot;
            *slot = 0;
            Count--;
            return frame;
        }

        /// The slot of page `index`, its tables made present; null when memory is short.
        ulong* Slot(long index)
        {
            if (index < 0) return null;
            while (!Covers(index))
            {
                if (_top != 0)
                {
                    ulong t = NewTable();
                    if (t == 0) return null;
                    Table(t)[0] = _top;                    // the old tree is the new one's first child
                    _top = t;
                }
                _height++;
            }
            if (_height == 0) { fixed (ulong* top = &_top) return top; }       // used at once, never kept
            if (_top == 0) { _top = NewTable(); if (_top == 0) return null; }
            ulong table = _top;
            for (int level = _height - 1; ; level--)
            {
                ulong* slot = Table(table) + ((index >> (level * Bits)) & (Fan - 1));
                if (level == 0) return slot;
                if (*slot == 0) { ulong t = NewTable(); if (t == 0) return null; *slot = t; }
                table = *slot;
            }
        }

        static ulong NewTable()
        {
            if (!PhysicalMemory.HasRoom(4096)) return 0;
            ulong f = PhysicalMemory.AllocateFrames(1);
            return f == ulong.MaxValue ? 0 : f;
        }

        /// The first present page at or after `index`, or -1 (skips empty tables whole).
        public long NextPresent(long index)
        {
            if (_top == 0 || index < 0 || Count == 0 || !Covers(index)) return -1;
            if (_height == 0) return index == 0 ? 0 : -1;
            return Next(_top, _height - 1, 0, index);
        }

        static long Next(ulong table, int level, long baseIndex, long from)
        {
            ulong* t = Table(table);
            int shift = level * Bits;
            long first = from > baseIndex ? (from - baseIndex) >> shift : 0;
            for (long i = first; i < Fan; i++)
            {
                if (t[i] == 0) continue;
                long childBase = baseIndex + (i << shift);
                if (level == 0) return childBase;
                long r = Next(t[i], level - 1, childBase, from > childBase ? from : childBase);
                if (r >= 0) return r;
            }
            return -1;
        }

        /// Frees the tables (not the pages they point to).
        public void FreeTables()
        {
            if (_height > 0 && _top != 0) Free(_top, _height - 1);
            _top = 0;
            _height = 0;
            Count = 0;
        }

        static void Free(ulong table, int level)
        {
            if (level > 0)
                for (int i = 0; i < Fan; i++) { ulong c = Table(table)[i]; if (c != 0) Free(c, level - 1); }
            PhysicalMemory.FreeFrames(table, 1);
        }
    }

    public sealed unsafe class MemFile : Inode
    {
        protected override bool KeepsXattrs => true;
        readonly PageIndex _pages = new PageIndex();   // frame of each page, 0 = a hole
        long _size;
        byte* _image;                      // image data (page-aligned), valid below _imageSize
        long _imageSize;
        bool _everMapped;                  // frames may be in page tables: never freed

        public MemFile(FileSystem fs, uint mode) { InitCommon(fs, mode); }

        /// The file's bytes in place, when they are all still the image's (no page written
        /// since boot): the loader reads programs this way without copying them.
        public bool ImageBytes(out ReadOnlySpan<byte> bytes)
        {
            bytes = default;
            if (_size != _imageSize) return false;
            if (_pages.Count != 0) return false;
            bytes = new ReadOnlySpan<byte>(_image, (int)_imageSize);
            return true;
        }

        public static MemFile FromImage(FileSystem fs, ref RootFsEntry e, ReadOnlySpan<byte> data)
        {
            var f = new MemFile(fs, e.Mode);
            f.Uid = e.Uid; f.Gid = e.Gid;
            f.AtimeSec = f.MtimeSec = f.CtimeSec = e.MtimeSec; f.AtimeNsec = f.MtimeNsec = f.CtimeNsec = e.MtimeNsec;
            fixed (byte* p = data) f._image = p;
            f._size = f._imageSize = data.Length;
            return f;
        }

        public override long Size => _size;

        public override long Blocks()
        {
            // The image's pages, plus the file's own pages beyond them (a written image page is
            // a copy of one already counted).
            long imgPages = (_imageSize + 4095) / 4096;
            long pages = imgPages + _pages.Count;
            for (long i = _pages.NextPresent(0); i >= 0 && i < imgPages; i = _pages.NextPresent(i + 1)) pages--;
            return pages * 8;
        }

        /// Kernel address of page `index` for reading, or null for a hole (zeros).
        byte* PageForRead(long index, out long valid)
        {
            valid = 4096;
            ulong frame = _pages.Get(index);
            if (frame != 0) return (byte*)PhysicalMemory.ToVirtual(frame);
            long off = index * 4096;
            if (off < _imageSize) { valid = _imageSize - off < 4096 ? _imageSize - off : 4096; return _image + off; }
            valid = 0;
            return null;
        }

        /// Kernel address of page `index`, made present and private to this file.
        byte* PageForWrite(long index)
        {
            ulong frame = _pages.Get(index);
            if (frame == 0)
            {
                // File data leaves the kernel's reserve alone (a full tmpfs is ENOSPC).
                frame = PhysicalMemory.HasRoom(4096) ? PhysicalMemory.AllocateFrames(1) : ulong.MaxValue;
                if (frame == ulong.MaxValue) return null;
                if (!_pages.Set(index, frame)) { PhysicalMemory.FreeFrames(frame, 1); return null; }   // no room: ENOSPC
                long off = index * 4096;
                if (off < _imageSize)
                    Mem.Copy(PhysicalMemory.ToVirtual(frame), _image + off, (ulong)(_imageSize - off < 4096 ? _imageSize - off : 4096));
            }
            return (byte*)PhysicalMemory.ToVirtual(frame);
        }

        public override SysResult Read(long offset, UserPtr buf, ulong len)
        {
            if (offset >= _size || len == 0) return 0;
            long n = (long)len < _size - offset ? (long)len : _size - offset;
            long done = 0;
            while (done < n)
            {
                long pos = offset + done, idx = pos >> 12, inPage = pos & 4095;
                long k = 4096 - inPage; if (k > n - done) k = n - done;
                byte* p = PageForRead(idx, out long valid);
                Errno e;
                if (p == null || inPage >= valid)
                {
                    long z = p == null ? k : k;
                    e = buf.Add((ulong)done).Zero((ulong)z);
                }
                else
                {
                    long c = valid - inPage < k ? valid - inPage : k;
                    e = buf.Add((ulong)done).CopyOut(p + inPage, (ulong)c);
                    if (e == 0 && c < k) e = buf.Add((ulong)(done + c)).Zero((ulong)(k - c));
                }
                if (e != 0) return done > 0 ? (SysResult)done : Errno.EFAULT;
                done += k;
            }
            AtimeNow();
            return done;
        }

        void AtimeNow() { }   // relatime-like: reads do not update atime (as a noatime mount)

        public override SysResult ReadKernel(long offset, byte* dst, long len)
        {
            if (offset >= _size || len <= 0) return 0;
            long n = len < _size - offset ? len : _size - offset;
            long done = 0;
            while (done < n)
            {
                long pos = offset + done, idx = pos >> 12, inPage = pos & 4095;
                long k = 4096 - inPage; if (k > n - done) k = n - done;
                byte* p = PageForRead(idx, out long valid);
                if (p == null || inPage >= valid) Mem.Set(dst + done, 0, (ulong)k);
                else
                {
                    long c = valid - inPage < k ? valid - inPage : k;
                    Mem.Copy(dst + done, p + inPage, (ulong)c);
                    if (c < k) Mem.Set(dst + done + c, 0, (ulong)(k - c));
                }
                done += k;
            }
            return done;
        }

        public override SysResult Write(long offset, UserPtr buf, ulong len)
        {
            if (len == 0) return 0;
            if (offset + (long)len < offset) return Errno.EINVAL;       // past 2^63: Linux's rw_verify_area
            long done = 0, n = (long)len;
            while (done < n)
            {
                long pos = offset + done, idx = pos >> 12, inPage = pos & 4095;
                long k = 4096 - inPage; if (k > n - done) k = n - done;
                byte* p = PageForWrite(idx);
                if (p == null) { if (done == 0) return Errno.ENOSPC; break; }
                if (buf.Add((ulong)done).CopyIn(p + inPage, (ulong)k) != 0) { if (done == 0) return Errno.EFAULT; break; }
                done += k;
                if (offset + done > _size) _size = offset + done;
            }
            TouchMtime();
            return done;
        }

        public override SysResult WriteKernel(long offset, byte* src, long len)
        {
            if (len <= 0) return 0;
            if (offset + len > MaxSize) return Errno.EFBIG;
            long done = 0;
            while (done < len)
            {
                long pos = offset + done, idx = pos >> 12, inPage = pos & 4095;
                long k = 4096 - inPage; if (k > len - done) k = len - done;
                byte* p = PageForWrite(idx);
                if (p == null) { if (done == 0) return Errno.ENOSPC; break; }
                Mem.Copy(p + inPage, src + done, (ulong)k);
                done += k;
                if (offset + done > _size) _size = offset + done;
            }
            TouchMtime();
            return done;
        }

        public const long MaxSize = long.MaxValue;          // Linux's MAX_LFS_FILESIZE

        public override Errno Truncate(long size)
        {
            if (size < 0) return Errno.EINVAL;
            if (size > MaxSize) return Errno.EFBIG;
            if (size < _size)
            {
                if (_everMapped) ShrankTo(size);
                if (size < _imageSize) _imageSize = size;
                long firstGone = (size >> 12) + ((size & 4095) != 0 ? 1 : 0);
                if (!_everMapped)
                    for (long i = _pages.NextPresent(firstGone); i >= 0; i = _pages.NextPresent(i + 1))
                        PhysicalMemory.FreeFrames(_pages.Take(i), 1);
                long inPage = size & 4095;
                ulong last = _pages.Get(size >> 12);
                if (inPage != 0 && last != 0)
                    Mem.Set((byte*)PhysicalMemory.ToVirtual(last) + inPage, 0, (ulong)(4096 - inPage));
                if (_everMapped)
                    for (long i = _pages.NextPresent(firstGone); i >= 0; i = _pages.NextPresent(i + 1))
                        Mem.Set(PhysicalMemory.ToVirtual(_pages.Get(i)), 0, 4096);
            }
            _size = size;
            TouchMtime();
            return 0;
        }

        public override ulong PageFor(long index, bool write)
        {
            _everMapped = true;
            if (!write && _pages.Get(index) == 0 && index * 4096 < _imageSize)
                return PhysicalMemory.ToPhysical(_image + index * 4096);
            byte* p = PageForWrite(index);
            return p == null ? ulong.MaxValue : PhysicalMemory.ToPhysical(p);
        }

        public override long NextData(long offset, bool hole)
        {
            if (offset >= _size) return -1;
            long imgPages = (_imageSize + 4095) >> 12;
            long p = offset >> 12;
            if (!hole)
            {
                if (p < imgPages) return offset;
                long next = _pages.NextPresent(p);                   // skips holes table by table
                if (next < 0 || next * 4096 >= _size) return -1;
                return next * 4096 > offset ? next * 4096 : offset;
            }
            if (p < imgPages) p = imgPages;
            while (_pages.Get(p) != 0) p++;
            long pos = p * 4096 > offset ? p * 4096 : offset;
            return pos < _size ? pos : _size;
        }

        protected override void Release()
        {
            // No description and no mapping holds the file any more (every mapping counts in
            // OpenCount until it is unmapped): its pages are mapped nowhere.
            for (long i = _pages.NextPresent(0); i >= 0; i = _pages.NextPresent(i + 1))
                PhysicalMemory.FreeFrames(_pages.Take(i), 1);
            _pages.FreeTables();
            _size = _imageSize = 0;
        }
    }

    /// A symlink; its target is a copy, or the image's bytes read in place.
    public sealed unsafe class MemSymlink : Inode
    {
        protected override bool KeepsXattrs => true;
        readonly byte[] _target;
        readonly byte* _image;
        readonly int _imageLength;
        public MemSymlink(FileSystem fs, byte[] target) { InitCommon(fs, FileMode.S_IFLNK | 0x1ff); _target = target; }
        public MemSymlink(FileSystem fs, ReadOnlySpan<byte> image)
        {
            InitCommon(fs, FileMode.S_IFLNK | 0x1ff);
            fixed (byte* p = image) _image = p;
            _imageLength = image.Length;
        }
        public override long Size => _target != null ? _target.Length : _imageLength;
        public override long Blocks() => 0;
        public override int ReadLink(Span<byte> buf)
        {
            ReadOnlySpan<byte> t = _target != null ? (ReadOnlySpan<byte>)_target : new ReadOnlySpan<byte>(_image, _imageLength);
            int n = t.Length < buf.Length ? t.Length : buf.Length;
            for (int i = 0; i < n; i++) buf[i] = t[i];
            return t.Length;
        }
    }

    /// A FIFO, device node or socket node made with mknod.
    public sealed class MemNode : Inode
    {
        protected override bool KeepsXattrs => true;
        public Pipe Fifo;                     // the pipe behind a FIFO, made on first open
        public MemNode(FileSystem fs, uint mode, ulong rdev) { InitCommon(fs, mode); Rdev = rdev; }
        public override long Blocks() => 0;
        public override Errno Open(uint flags, out OpenFile file)
        {
            file = null;
            if (Type == FileMode.S_IFIFO)
            {
                if (Fifo == null) Fifo = new Pipe();
                return Fifo.OpenFifo(this, flags, out file);
            }
            if (Type == FileMode.S_IFSOCK) return Errno.ENXIO;
            return Errno.ENXIO;                  // no driver behind arbitrary device numbers
        }
    }

    /// Turns image entries into MemFs inodes; hard links (same image inode number) share one.
    public static class MemFsImage
    {
        static int[] _subdirs;

        /// Number of subdirectories of an image directory (its link count is 2 + that).
        public static uint SubdirCount(uint entry)
        {
            if (_subdirs == null)
            {
                ImageFs img = ImageFs.Root;
                _subdirs = new int[img.Count];
                for (uint i = 1; i < img.Count; i++)
                {
                    RootFsEntry e = img.Entry(i);
                    if (RootFsFormat.IsDir(e.Mode) && e.Parent < img.Count) _subdirs[e.Parent]++;
                }
            }
            return (uint)_subdirs[entry];
        }

        static uint[] _keys = new uint[64];
        static Inode[] _vals = new Inode[64];
        static int _used;

        public static Inode NodeFor(FileSystem fs, uint entry, ref RootFsEntry e)
        {
            if (!RootFsFormat.IsDir(e.Mode))
            {
                Inode found = Get(e.Ino);
                if (found != null) return found;        // a hard link: its count is set already
            }
            Inode n;
            uint t = e.Mode & FileMode.S_IFMT;
            if (t == FileMode.S_IFDIR) n = MemDir.FromImage(fs, entry);
            else if (t == FileMode.S_IFREG) n = MemFile.FromImage(fs, ref e, ImageFs.Root.Data(entry));
            else if (t == FileMode.S_IFLNK) { n = new MemSymlink(fs, ImageFs.Root.Data(entry)); n.Uid = e.Uid; n.Gid = e.Gid; n.MtimeSec = n.AtimeSec = n.CtimeSec = e.MtimeSec; }
            else { n = new MemNode(fs, e.Mode, 0); n.Uid = e.Uid; n.Gid = e.Gid; }
            if (!n.IsDir) { n.Nlink = LinkCount(e.Ino); Put(e.Ino, n); }
            return n;
        }

        static int[] _links;

        /// The names an image inode has in the whole image, counted once: directories are
        /// populated lazily, so counting as they appear would give a count that depends on
        /// which directories a program has looked at.
        static uint LinkCount(uint ino)
        {
            ImageFs img = ImageFs.Root;
            if (_links == null)
            {
                _links = new int[img.Count + 1];
                for (uint i = 1; i < img.Count; i++)
                {
                    RootFsEntry e = img.Entry(i);
                    if (!RootFsFormat.IsDir(e.Mode) && e.Ino <= img.Count) _links[e.Ino]++;
                }
            }
            return ino <= img.Count && _links[ino] > 0 ? (uint)_links[ino] : 1;
        }

        static Inode Get(uint key)
        {
            int mask = _keys.Length - 1;
            for (int i = (int)(key * 2654435761u) & mask; _vals[i] != null; i = (i + 1) & mask)
                if (_keys[i] == key) return _vals[i];
            return null;
        }

        static void Put(uint key, Inode v)
        {
            if ((_used + 1) * 2 > _keys.Length)
            {
                uint[] ok = _keys; Inode[] ov = _vals;
                _keys = new uint[ok.Length * 2]; _vals = new Inode[ok.Length * 2]; _used = 0;
                for (int k = 0; k < ok.Length; k++) if (ov[k] != null) Put(ok[k], ov[k]);
            }
            int mask = _keys.Length - 1;
            int i = (int)(key * 2654435761u) & mask;
            while (_vals[i] != null) i = (i + 1) & mask;
            _keys[i] = key; _vals[i] = v; _used++;
        }
    }
}
