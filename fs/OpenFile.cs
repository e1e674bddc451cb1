using System;
using Kernel.Abi;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Fs
{
    /// An open file description: what an fd refers to. Shared by dup'd fds (reference
    /// counted); holds the offset and status flags; subclasses supply the operations.
    public abstract class OpenFile
    {
        public long Offset;
        public uint StatusFlags;      // O_APPEND, O_NONBLOCK, access mode
        int _refs = 1;

        public void AddRef() => _refs++;
        /// References held (fds, epoll interests, files in flight in AF_UNIX messages, ...).
        public int References => _refs;
        public void Release()
        {
            if (--_refs != 0) return;
            if (Locks != null) FileLocks.ReleaseAll(this);
            if (Inotify.Active) Inotify.Closed(this);      // IN_CLOSE_*, before the inode may go
            while (EpollInterests != null) EpollInterests.Drop();   // epoll interests go with the file, as Linux's
            Closed();
        }
        protected virtual void Closed() { }

        public abstract SysResult Read(UserPtr buffer, ulong length);
        public abstract SysResult Write(UserPtr buffer, ulong length);
        public virtual SysResult ReadAt(UserPtr buffer, ulong length, long offset) => Errno.ESPIPE;
        public virtual SysResult WriteAt(UserPtr buffer, ulong length, long offset) => Errno.ESPIPE;
        public virtual SysResult Seek(long offset, int whence) => Errno.ESPIPE;
        /// Whether ReadAt/WriteAt apply (pread, pwrite, preadv...); false gives ESPIPE.
        public virtual bool Positional => false;
        public virtual SysResult Ioctl(uint request, ulong arg) => Errno.ENOTTY;
        public virtual void Stat(ref Abi.Stat st) { if (Inode != null) Inode.FillStat(ref st); }
        /// The inode behind this description (null for anonymous kernel objects).
        public virtual Inode Inode => null;
        /// For readlink /proc/self/fd/N: writes the link text, returns its length.
        public virtual int Describe(System.Span<byte> buf)
        {
            if (Inode != null)
            {
                int n = Vfs.PathOf(Inode, buf, out bool deleted);
                if (n >= 0 && deleted && n + 10 <= buf.Length) { " (deleted)"u8.CopyTo(buf.Slice(n)); n += 10; }
                return n;
            }
            "anon_inode:[file]"u8.CopyTo(buf);
            return 17;
        }
        /// getdents64 on a directory: fills `buf` with linux_dirent64 records.
        public virtual SysResult ReadDir(UserPtr buf, ulong len) => Errno.ENOTDIR;
        /// Bytes readable without blocking (FIONREAD).
        public virtual SysResult Readable() => Errno.ENOTTY;

        /// Current readiness (PollEvents bits); files that never block are always ready.
        public virtual uint Poll() => PollEvents.In | PollEvents.Out;
        /// Where changes of Poll() are announced (PollHead.Changed), asked by the thread that
        /// starts to watch (poll, select, EPOLL_CTL_ADD): a signalfd names its caller's
        /// process's head. Files whose readiness never changes share PollEvents.Steady.
        public virtual PollHead PollHead => PollEvents.Steady;
        /// The epoll interests on this file (EpollFile.Interest.NextOfFile), wherever their
        /// entries sit; they are dropped when it closes for good.
        internal EpollFile.Interest EpollInterests;
        /// Opened with O_PATH: only a handle, no I/O.
        public virtual bool IsPath => false;
        /// Kernel-buffer I/O for sendfile, splice-like copies: a byte count or -errno.
        public virtual unsafe SysResult ReadKernelAt(byte* dst, long len, long offset) => Errno.EINVAL;
        public virtual unsafe SysResult WriteKernel(byte* src, long len) => Errno.EINVAL;
        /// File locks (flock and OFD locks) owned through this description.
        public object Locks;

        /// F_SETOWN/F_SETOWN_EX: who gets this file's signals (SIGURG from a socket): a
        /// thread, a process or a process group (OwnerType F_OWNER_TID 0, F_OWNER_PID 1,
        /// F_OWNER_PGRP 2) by id; OwnerId 0 for none.
        public int OwnerId, OwnerType;
        /// Sends `sig` to the file's owner, if any (installed by the syscall layer).
        public static unsafe delegate*<OpenFile, int, void> SignalOwner;
    }

    /// File descriptor table: fd -> open file description, plus the close-on-exec flag. It
    /// starts with room for 64 descriptors and grows by doubling, as Linux's does (Size is
    /// its max_fds: /proc's FDSize, select's bound); a descriptor at or above the calling
    /// process's RLIMIT_NOFILE is never handed out.
    public sealed unsafe class FdTable
    {
        /// fs.nr_open: no RLIMIT_NOFILE may exceed it, so no table grows past it.
        public const int NrOpen = 1048576;
        /// The calling process's RLIMIT_NOFILE soft limit (the process layer's).
        public static delegate*<int> NofileLimit;
        public static int Limit()
        {
            int l = NofileLimit != null ? NofileLimit() : 1024;
            return l < NrOpen ? l : NrOpen;
        }

        OpenFile[] _files = new OpenFile[64];
        bool[] _cloexec = new bool[64];

        /// Descriptors below Size may be open.
        public int Size => _files.Length;
        public OpenFile Get(int fd) => (uint)fd < (uint)_files.Length ? _files[fd] : null;
        public bool CloseOnExec(int fd) => (uint)fd < (uint)_files.Length && _cloexec[fd];
        public void SetCloseOnExec(int fd, bool value) { if ((uint)fd < (uint)_files.Length) _cloexec[fd] = value; }

        /// Makes room for descriptor fd (fd < NrOpen).
        void Grow(int fd)
        {
            int n = _files.Length;
            while (n <= fd) n *= 2;
            var files = new OpenFile[n];
            var cloexec = new bool[n];
            for (int i = 0; i < _files.Length; i++) { files[i] = _files[i]; cloexec[i] = _cloexec[i]; }
            _files = files; _cloexec = cloexec;
        }

        /// Lowest free fd >= min below the caller's RLIMIT_NOFILE, or -1 (EMFILE).
        public int Allocate(OpenFile f, int min, bool cloexec)
        {
            int limit = Limit();
            for (int fd = min < 0 ? 0 : min; fd < limit; fd++)
            {
                if (fd >= _files.Length) Grow(fd);
                if (_files[fd] == null) { _files[fd] = f; _cloexec[fd] = cloexec; return fd; }
            }
            return -1;
        }

        /// Installs f at fd (below the caller's RLIMIT_NOFILE: dup2 checks), closing what was there.
        public void Install(int fd, OpenFile f, bool cloexec)
        {
            if (fd >= _files.Length) Grow(fd);
            OpenFile old = _files[fd];
            _files[fd] = f;
            _cloexec[fd] = cloexec;
            if (old != null) old.Release();
        }

        // ---- processes (fork, CLONE_FILES, execve, exit): kept apart from the per-fd calls above.

        /// Processes sharing this table (CLONE_FILES); the last one to let go closes every fd.
        public int Users = 1;

        /// fork: a new table with the same descriptions (each gains a reference) and flags.
        public FdTable Copy()
        {
            var t = new FdTable();
            if (_files.Length > t._files.Length) t.Grow(_files.Length - 1);
            for (int fd = 0; fd < _files.Length; fd++)
            {
                OpenFile f = _files[fd];
                if (f == null) continue;
                f.AddRef();
                t._files[fd] = f;
                t._cloexec[fd] = _cloexec[fd];
            }
            return t;
        }

        /// execve: closes the descriptors marked close-on-exec.
        public void CloseOnExecAll()
        {
            for (int fd = 0; fd < _files.Length; fd++)
                if (_files[fd] != null && _cloexec[fd]) Close(fd);
        }

        /// A process lets go of the table (exit, or execve unsharing it); the last user closes
        /// every descriptor.
        public void Release()
        {
            if (--Users > 0) return;
            for (int fd = 0; fd < _files.Length; fd++)
                if (_files[fd] != null) Close(fd);
        }

        public bool Close(int fd)
        {
            OpenFile f = Get(fd);
            if (f == null) return false;
            _files[fd] = null;
            _cloexec[fd] = false;
            f.Release();
            return true;
        }
    }
}
