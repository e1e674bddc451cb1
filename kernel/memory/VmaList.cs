namespace Kernel.Memory
{
    /// A mapped range of a program's address space, [Start, End), page-aligned.
    public struct Vma
    {
        public ulong Start, End;
        public uint Prot;          // PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4
        public uint Kind;          // what backs it (VmaKind)
        public bool Contains(ulong a) => a >= Start && a < End;
    }

    public static class VmaKind { public const uint Anonymous = 0, Stack = 1, Heap = 2, Image = 3, FilePrivate = 4, FileShared = 5; }

    /// The sorted, non-overlapping VMAs of one address space. Pure logic (no page tables),
    /// so the splitting rules are tested on the host.
    public sealed class VmaList
    {
        Vma[] _items = new Vma[32];
        int _count;

        public int Count => _count;
        public ref Vma this[int i] => ref _items[i];

        public int IndexOf(ulong addr)
        {
            int lo = 0, hi = _count - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) / 2;
                if (addr < _items[mid].Start) hi = mid - 1;
                else if (addr >= _items[mid].End) lo = mid + 1;
                else return mid;
            }
            return -1;
        }

        public bool Overlaps(ulong start, ulong end)
        {
            for (int i = 0; i < _count; i++)
                if (_items[i].Start < end && start < _items[i].End) return true;
            return false;
        }

        /// Inserts a VMA; the caller has removed anything it overlaps.
        public void Insert(Vma v)
        {
            if (_count == _items.Length)
            {
                var bigger = new Vma[_items.Length * 2];
                for (int i = 0; i < _count; i++) bigger[i] = _items[i];
                _items = bigger;
            }
            int at = _count;
            while (at > 0 && _items[at - 1].Start >= v.End) { _items[at] = _items[at - 1]; at--; }
            _items[at] = v;
            _count++;
            MergeAround(at);
        }

        void MergeAround(int i)
        {
            if (i + 1 < _count && CanMerge(_items[i], _items[i + 1])) { _items[i].End = _items[i + 1].End; RemoveAt(i + 1); }
            if (i > 0 && CanMerge(_items[i - 1], _items[i])) { _items[i - 1].End = _items[i].End; RemoveAt(i); }
        }

        static bool CanMerge(Vma a, Vma b) => a.End == b.Start && a.Prot == b.Prot && a.Kind == b.Kind;

        void RemoveAt(int i)
        {
            for (int j = i; j < _count - 1; j++) _items[j] = _items[j + 1];
            _count--;
        }

        /// Cuts [start, end) out of every VMA, splitting where needed.
        public void Remove(ulong start, ulong end)
        {
            for (int i = 0; i < _count; i++)
            {
                Vma v = _items[i];
                if (v.End <= start || v.Start >= end) continue;
                if (v.Start < start && v.End > end)
                {
                    // Split in two around the hole.
                    _items[i].End = start;
                    Vma tail = v; tail.Start = end;
                    InsertRaw(i + 1, tail);
                    return;
                }
                if (v.Start >= start && v.End <= end) { RemoveAt(i); i--; continue; }
                if (v.Start < start) _items[i].End = start;
                else _items[i].Start = end;
            }
        }

        void InsertRaw(int at, Vma v)
        {
            if (_count == _items.Length)
            {
                var bigger = new Vma[_items.Length * 2];
                for (int i = 0; i < _count; i++) bigger[i] = _items[i];
                _items = bigger;
            }
            for (int j = _count; j > at; j--) _items[j] = _items[j - 1];
            _items[at] = v;
            _count++;
        }

        /// Mapped bytes in [start, end) as RLIMIT_AS counts them, or (dataOnly) those Linux
        /// counts as data for RLIMIT_DATA (private and writable, not the stack). The main
        /// stack's reserve is left out of both: Linux counts only what the stack has grown
        /// to, a few pages for most programs, where ours is reserved whole at exec.
        public ulong BytesIn(ulong start, ulong end, bool dataOnly)
        {
            ulong n = 0;
            for (int i = 0; i < _count; i++)
            {
                ref Vma v = ref _items[i];
                if (v.End <= start || v.Start >= end || v.Kind == VmaKind.Stack || dataOnly && !IsData(v)) continue;
                n += (v.End < end ? v.End : end) - (v.Start > start ? v.Start : start);
            }
            return n;
        }

        /// Linux's data mapping: writable, not shared, not the stack.
        public static bool IsData(in Vma v) => (v.Prot & 2) != 0 && v.Kind != VmaKind.FileShared && v.Kind != VmaKind.Stack;

        /// Whether [start, end) is covered by VMAs without gaps.
        public bool Covers(ulong start, ulong end)
        {
            ulong a = start;
            for (int i = 0; i < _count && a < end; i++)
            {
                if (_items[i].End <= a) continue;
                if (_items[i].Start > a) return false;
                a = _items[i].End;
            }
            return a >= end;
        }

        /// Highest free gap of `len` bytes ending at or below `top` and above `bottom`.
        public ulong FindFreeTopDown(ulong len, ulong bottom, ulong top)
        {
            ulong end = top;
            for (int i = _count - 1; i >= -1; i--)
            {
                ulong gapStart = i >= 0 ? _items[i].End : bottom;
                if (i >= 0 && _items[i].Start >= end) continue;
                if (gapStart < bottom) gapStart = bottom;
                if (end >= gapStart + len) return end - len;
                if (i >= 0 && _items[i].Start < end) end = _items[i].Start;
            }
            return 0;
        }
    }
}
