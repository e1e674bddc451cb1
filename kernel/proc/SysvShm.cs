using Kernel.Abi;
using Kernel.Fs;
using Kernel.Memory;

namespace Kernel.Proc
{
    /// A System V shared memory segment (shmget(2)): its pages are an unlinked tmpfs file,
    /// mapped shared by shmat; the mappings count as attachments (shm_nattch), fork copies
    /// them and exit, execve and munmap/shmdt drop them. A segment marked by IPC_RMID goes with
    /// its last attachment.
    public sealed unsafe class ShmSegment : IFileBacking, IAttachCounted
    {
        public int Id, Key;
        public ulong Size;
        public uint Uid, Gid, Cuid, Cgid, Mode;        // Mode: permission bits | SHM_DEST | SHM_LOCKED
        public ushort Seq;
        public int Cpid, Lpid;
        public long Atime, Dtime, Ctime;
        public ulong Nattch;
        public readonly MemFile Pages;

        public const uint SHM_DEST = 0x200, SHM_LOCKED = 0x400;

        ShmSegment(ulong size)
        {
            Size = size;
            Pages = new MemFile(Vfs.TmpFs, FileMode.S_IFREG | 0x1b6);
            Pages.Nlink = 0;
            Pages.Opened();                     // held by the segment until it is destroyed
            Pages.Truncate((long)size);
        }

        long IFileBacking.Size => (long)Size;
        public ulong PageFor(long index, bool write) => Pages.PageFor(index, write);
        public SysResult ReadKernel(long offset, byte* dst, long len) => Pages.ReadKernel(offset, dst, len);

        public void Attached() => Nattch++;

        public void Detached()
        {
            if (Nattch > 0) Nattch--;
            if (Nattch == 0 && (Mode & SHM_DEST) != 0) Destroy();
        }

        /// IPC_RMID: the key is free at once; the segment goes with its last attachment.
        public void MarkDestroyed()
        {
            Mode |= SHM_DEST;
            Key = 0;                             // IPC_PRIVATE: shmget no longer finds it
            if (Nattch == 0) Destroy();
        }

        bool _gone;
        void Destroy()
        {
            if (_gone) return;
            _gone = true;
            _table[Id & (Max - 1)] = null;
            Pages.Closed();                      // frees the pages
        }

        // ---- the system's segments (one IPC namespace) ----

        public const int Max = 4096;            // SHMMNI
        const int SeqShift = 15;                // Linux's id: seq * 32768 + index
        static readonly ShmSegment[] _table = new ShmSegment[Max];
        static int _seq;

        /// The segment with id `id`, or null.
        public static ShmSegment Find(int id)
        {
            if (id < 0) return null;
            int index = id & ((1 << SeqShift) - 1);
            if (index >= Max) return null;
            ShmSegment s = _table[index];
            return s != null && s.Id == id ? s : null;
        }

        /// The live segment with `key` (not IPC_PRIVATE), or null.
        public static ShmSegment FindKey(int key)
        {
            for (int i = 0; i < Max; i++)
                if (_table[i] != null && _table[i].Key == key && (_table[i].Mode & SHM_DEST) == 0) return _table[i];
            return null;
        }

        /// The segment in slot `index` (SHM_STAT), or null.
        public static ShmSegment AtIndex(int index) => index >= 0 && index < Max ? _table[index] : null;

        /// The highest slot in use, or -1 (IPC_INFO, SHM_INFO).
        public static int HighestIndex()
        {
            for (int i = Max - 1; i >= 0; i--) if (_table[i] != null) return i;
            return -1;
        }

        public static int Used(out ulong pages)
        {
            int n = 0; pages = 0;
            for (int i = 0; i < Max; i++)
                if (_table[i] != null) { n++; pages += (_table[i].Size + 4095) >> 12; }
            return n;
        }

        /// A new segment, or null when every slot is taken.
        public static ShmSegment Create(int key, ulong size, uint mode, Process creator)
        {
            int slot = -1;
            for (int i = 0; i < Max; i++) if (_table[i] == null) { slot = i; break; }
            if (slot < 0) return null;
            var s = new ShmSegment(size)
            {
                Key = key, Mode = mode & 0x1ff, Seq = (ushort)_seq,
                Uid = creator.Euid, Gid = creator.Egid, Cuid = creator.Euid, Cgid = creator.Egid,
                Cpid = creator.Pid,
            };
            s.Id = (int)(((uint)_seq << SeqShift) | (uint)slot) & int.MaxValue;
            _seq = (_seq + 1) & 0xffff;
            Vfs.Now(out s.Ctime, out _);
            _table[slot] = s;
            return s;
        }
    }
}
