namespace Kernel.Runtime
{
    /// The collector's stack of marked objects whose references are still to be traced: a
    /// chain of page-sized chunks (word 0 links to the chunk below). The first chunk is kept
    /// between collections; further chunks come from `getPage` and go back through
    /// `freePage` as the stack shrinks. When no page is to be had, Push fails and the stack
    /// remembers that it overflowed: the collector then rescans marked objects, so a full
    /// memory never makes a collection fail.
    ///
    /// Pure logic over raw pages: host tests drive it with their own page source.
    public unsafe struct MarkStack
    {
        const int Entries = 4096 / 8 - 1;
        ulong* _chunk;                  // top chunk; entries at [1 .. _count]
        int _count;
        public bool Overflowed;
        public ulong ChunksInUse;
        delegate*<void*> _getPage;
        delegate*<void*, void> _freePage;

        public void Init(delegate*<void*> getPage, delegate*<void*, void> freePage)
        {
            _getPage = getPage; _freePage = freePage;
            _chunk = (ulong*)getPage();
            if (_chunk != null) { _chunk[0] = 0; ChunksInUse = 1; }
            _count = 0;
        }

        public bool IsEmpty => _count == 0 && (_chunk == null || _chunk[0] == 0);

        public bool Push(ulong value)
        {
            if (_chunk == null || _count == Entries)
            {
                ulong* next = (ulong*)_getPage();
                if (next == null) { Overflowed = true; return false; }
                next[0] = (ulong)_chunk;
                _chunk = next;
                _count = 0;
                ChunksInUse++;
            }
            _chunk[++_count] = value;
            return true;
        }

        /// Pops the top value; false when empty.
        public bool TryPop(out ulong value)
        {
            while (_count == 0)
            {
                if (_chunk == null || _chunk[0] == 0) { value = 0; return false; }
                ulong* below = (ulong*)_chunk[0];
                _freePage(_chunk);
                ChunksInUse--;
                _chunk = below;
                _count = Entries;
            }
            value = _chunk[_count--];
            return true;
        }
    }
}
