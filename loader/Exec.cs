using System;
using Kernel.Abi;
using Kernel.Arch;
using Kernel.Fs;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Sched;

namespace Kernel.Loader
{
    /// execve/execveat: replaces the calling process's program, keeping its pid, open files
    /// (but close-on-exec ones), ignored signals, mask and pending signals. Everything that can
    /// fail with an errno is checked before the old program is dropped, as on Linux.
    public static unsafe class Exec
    {
        const int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
        const int MaxArgStrlen = 32 * 4096;            // MAX_ARG_STRLEN
        const int MaxArgBytes = 2 << 20;               // argv + envp, as ARG_MAX with an 8 MiB stack
        const int MaxInterpreterDepth = 4;             // #! scripts of scripts (BINPRM_MAX_RECURSION)

        /// The syscall layer's ExecHook: frame, dirfd, path, argv, envp, flags -> 0 or -errno.
        public static SysResult Run(InterruptFrame* f, int dirfd, ulong pathPtr, ulong argvPtr, ulong envpPtr, int flags)
        {
            if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) != 0) return Errno.EINVAL;
            Thread me = Scheduler.Current;
            Process p = Process.Of(me);
            Span<byte> pathBuf = stackalloc byte[Vfs.PathMax];
            Errno e = new UserPtr(pathPtr).ReadCString(pathBuf, out int pathLen);
            if (e != 0) return e;
            byte[] path = pathBuf.Slice(0, pathLen).ToArrayBytes();
            var args = new StringList();
            var env = new StringList();
            if ((e = args.CopyIn(argvPtr)) != 0 || (e = env.CopyIn(envpPtr)) != 0) return e;
            if (args.Bytes + env.Bytes > MaxArgBytes) return Errno.E2BIG;

            // Find the program: #! lines name an interpreter that gets the script's path.
            e = Open(p, dirfd, path, flags, out Inode file);
            if (e != 0) return e;
            byte[] execPath = path;                    // AT_EXECFN and comm: the name as given
            byte* head = stackalloc byte[256];
            for (int depth = 0; ; depth++)
            {
                SysResult n = file.ReadKernel(0, head, 256);
                int len = n.IsError ? 0 : (int)n.Raw;
                if (len < 2 || head[0] != '#' || head[1] != '!') break;
                if (depth == MaxInterpreterDepth) return Errno.ELOOP;
                if (!ParseShebang(new ReadOnlySpan<byte>(head, len), out byte[] interp, out byte[] arg)) return Errno.ENOEXEC;
                args.ReplaceFirst(path);
                if (arg != null) args.Prepend(arg);
                args.Prepend(interp);
                path = interp;
                if ((e = Open(p, AT_FDCWD, interp, 0, out file)) != 0) return e;
            }
            // An image file is read in place; one written at run time (or changed) is copied
            // once into memory the process keeps for as long as it runs this program.
            byte[] copy = null;
            ReadOnlySpan<byte> bytes = default;
            if (!(file is MemFile mf && mf.ImageBytes(out bytes)))
            {
                SysResult h = file.ReadKernel(0, head, 4);
                if (h.IsError || h.Raw < 4 || head[0] != 0x7f || head[1] != 'E' || head[2] != 'L' || head[3] != 'F') return Errno.ENOEXEC;
                long size = file.Size;
                if (size > int.MaxValue) return Errno.ENOEXEC;
                if (!PhysicalMemory.HasRoom((ulong)size + (256 << 10))) return Errno.ENOMEM;
                copy = new byte[size];
                fixed (byte* c = copy)
                {
                    SysResult r = file.ReadKernel(0, c, size);
                    if (r.IsError || r.Raw != size) return Errno.EIO;
                }
                bytes = copy;
            }
            if (ElfFile.Parse(bytes, out ElfFile elf) != ElfError.None) return Errno.ENOEXEC;
            if (elf.HasInterp())
            {
                ReadOnlySpan<byte> ip = elf.Interp(bytes);
                int nul = ip.IndexOf((byte)0);
                if (nul >= 0) ip = ip.Slice(0, nul);
                if (!ElfLoader.OpenProgram(ip, out _, out ReadOnlySpan<byte> interpBytes, out byte[] interpCopy)) return Errno.ENOENT;
                if (ElfFile.Parse(interpBytes, out ElfFile ielf) != ElfError.None || ielf.HasInterp() || !ielf.IsPie()) return Errno.ELIBBAD;
                interpCopy = null;
            }
            if (!PhysicalMemory.HasRoom(64 << 10)) return Errno.ENOMEM;

            // The point of no return: the old program goes.
            p.KillOtherThreads(me);
            while (p.LiveThreads > 1) Scheduler.Block(Time.Clock.MonotonicNs() + 1000000, false);
            me.Tid = p.Pid;
            if (Process.OnThreadExit != null) Process.OnThreadExit(me);      // robust futexes, clear_child_tid: as Linux's exec
            me.RobustList = 0; me.ClearChildTid = 0;
            UserMemory old = p.Memory;
            var m = new UserMemory();
            if (p.Pid != 1) m.Reserve = UserMemory.InitReserve;
            p.SetMemory(m);
            m.Space.Activate();
            old.Release();
            p.ReleaseVforkParent();
            p.Execed = true;

            if (p.Files.Users > 1) { p.Files.Users--; p.Files = p.Files.Copy(); }
            p.Files.CloseOnExecAll();
            for (int s = 1; s < p.Actions.Length; s++)
                if (p.Actions[s].Handler > 1) p.Actions[s] = default;        // caught -> default; ignored stays ignored
            me.AltStackSp = 0; me.AltStackSize = 0; me.AltStackFlags = SigCodes.SS_DISABLE;
            p.Itimers.DeletePosixTimers();
            // A set-user-ID (set-group-ID, with group execute) program runs with its file's
            // owner (group) as effective id, unless no_new_privs; the saved ids always take
            // the effective ones (execve(2)). Capabilities follow the new ids.
            if (!p.NoNewPrivs)
            {
                if ((file.Mode & FileMode.S_ISUID) != 0) p.Euid = p.Fsuid = file.Uid;
                if ((file.Mode & (FileMode.S_ISGID | 0x8)) == (FileMode.S_ISGID | 0x8)) p.Egid = p.Fsgid = file.Gid;
            }
            p.Suid = p.Euid; p.Sgid = p.Egid;
            // Dumpable again unless the ids differ (a set-id program) or the file is unreadable.
            p.Dumpable = p.Euid == p.Ruid && p.Egid == p.Rgid && Permission.Check(file, Permission.MAY_READ) == 0 ? 1 : 0;
            Kernel.Sched.Capabilities.Execed(p);

            Span<byte> abs = stackalloc byte[Vfs.PathMax];
            int absLen = Vfs.PathOf(file, abs, out _);
            p.ExePath = absLen > 0 ? abs.Slice(0, absLen).ToArrayBytes() : path;
            fixed (byte* img = bytes) { p.ElfImage = img; p.ElfLength = bytes.Length; }
            p.ElfCopy = copy;                          // keeps ElfImage valid (the collector does not move objects)
            SetName(me, execPath);

            string error = ElfLoader.Load(p, file, bytes, out ulong entry);
            if (error != null)
            {
                Console.Log.Error(error);
                p.KillBySignal(Signal.SIGKILL, null, 0, false);              // never returns
            }
            byte[] argv = args.ToArray(), envp = env.ToArray();
            ulong sp = ElfLoader.BuildStack(p, argv, args.Count, envp, env.Count, execPath);
            p.InitialStack = sp;

            me.FsBase = 0; me.GsBase = 0;
            Cpu.Wrmsr(0xC0000100, 0);
            Cpu.SetUserGsBase(0);
            f->Rax = f->Rbx = f->Rcx = f->Rdx = f->Rsi = f->Rdi = f->Rbp = 0;
            f->R8 = f->R9 = f->R10 = f->R11 = f->R12 = f->R13 = f->R14 = f->R15 = 0;
            f->Rip = entry;
            f->Rsp = sp;
            f->Rflags = 0x202;
            byte* fp = stackalloc byte[512 + 16];
            fp = (byte*)(((ulong)fp + 15) & ~15UL);
            Mem.Set(fp, 0, 512);
            *(ushort*)fp = 0x37f;                       // x87 control word after finit
            *(uint*)(fp + 24) = 0x1f80;                 // MXCSR default
            FpuState.Install(f, fp);
            return SysResult.Ok;
        }

        /// Resolves an execve path to a regular, executable file.
        static Errno Open(Process p, int dirfd, byte[] path, int flags, out Inode file)
        {
            file = null;
            Inode node;
            if (path.Length == 0)
            {
                if ((flags & AT_EMPTY_PATH) == 0) return Errno.ENOENT;
                OpenFile f = p.Files.Get(dirfd);
                if (f == null) return Errno.EBADF;
                node = f.Inode;
            }
            else
            {
                Inode start = Vfs.Root;
                if (path[0] != '/')
                {
                    if (dirfd == AT_FDCWD) start = p.Fs.Cwd;
                    else
                    {
                        OpenFile f = p.Files.Get(dirfd);
                        if (f == null) return Errno.EBADF;
                        if (f.Inode == null || !f.Inode.IsDir) return Errno.ENOTDIR;
                        start = f.Inode;
                    }
                }
                Span<byte> buf = stackalloc byte[Vfs.PathMax];
                Span<byte> tmp = stackalloc byte[Vfs.PathMax];
                path.AsSpan().CopyTo(buf);
                Errno e = Vfs.Resolve(start, buf, path.Length, tmp, (flags & AT_SYMLINK_NOFOLLOW) == 0, out _, out node, out _, out _, out bool trailing);
                if (e != 0) return e;
                if (node == null) return Errno.ENOENT;
                if (node.IsSymlink) return Errno.ELOOP;                          // AT_SYMLINK_NOFOLLOW on a link
                if (trailing && !node.IsDir) return Errno.ENOTDIR;
            }
            if (node == null) return Errno.ENOENT;
            // A directory or device, or no x permission (root needs one x bit).
            if (!node.IsRegular || Permission.Check(node, Permission.MAY_EXEC) != 0) return Errno.EACCES;
            // Image and tmpfs files, and files on volumes (read through their page cache).
            if (!(node is MemFile) && !(node is Ext4Node)) return Errno.EACCES;
            file = node;
            return 0;
        }

        /// "#!interpreter [one argument]" (the first line, at most 256 bytes).
        static bool ParseShebang(ReadOnlySpan<byte> head, out byte[] interp, out byte[] arg)
        {
            interp = null; arg = null;
            int end = head.IndexOf((byte)'\n');
            if (end < 0) end = head.Length;
            ReadOnlySpan<byte> line = head.Slice(2, end - 2);
            int i = 0;
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t')) i++;
            int s = i;
            while (i < line.Length && line[i] != ' ' && line[i] != '\t' && line[i] != 0) i++;
            if (i == s) return false;
            interp = line.Slice(s, i - s).ToArrayBytes();
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t')) i++;
            int e = line.Length;
            int nul = line.Slice(i).IndexOf((byte)0);
            if (nul >= 0) e = i + nul;
            while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r')) e--;
            if (e > i) arg = line.Slice(i, e - i).ToArrayBytes();
            return true;
        }

        static void SetName(Thread t, byte[] path)
        {
            int slash = path.Length - 1;
            while (slash >= 0 && path[slash] != '/') slash--;
            for (int i = 0; i < 16; i++) t.Name[i] = 0;
            for (int i = 0; i < 15 && slash + 1 + i < path.Length; i++) t.Name[i] = path[slash + 1 + i];
        }

        /// argv or envp as NUL-terminated strings back to back, as BuildStack takes them.
        sealed class StringList
        {
            byte[] _data = new byte[256];
            int _len;
            public int Count;
            public int Bytes => _len;

            void Room(int more)
            {
                if (_len + more <= _data.Length) return;
                int size = _data.Length * 2;
                while (size < _len + more) size *= 2;
                var bigger = new byte[size];
                for (int i = 0; i < _data.Length; i++) bigger[i] = _data[i];   // with the string being copied in
                _data = bigger;
            }

            /// Reads a NULL-terminated array of string pointers (a NULL array is empty).
            public Errno CopyIn(ulong array)
            {
                if (array == 0) return 0;
                byte* chunk = stackalloc byte[256];
                for (int i = 0; ; i++)
                {
                    ulong ptr;
                    if (new UserPtr(array + (ulong)i * 8).CopyIn(&ptr, 8) != 0) return Errno.EFAULT;
                    if (ptr == 0) return 0;
                    if (_len > MaxArgBytes) return Errno.E2BIG;
                    int strLen = 0;
                    while (true)
                    {
                        if (ptr + (ulong)strLen >= AddressSpace.UserLimit) return Errno.EFAULT;
                        ulong n = 256 - ((ptr + (ulong)strLen) & 255);                // never across a page
                        if (UserCopy.Copy(chunk, (void*)(ptr + (ulong)strLen), n) != 0) return Errno.EFAULT;
                        int z = 0;
                        while (z < (int)n && chunk[z] != 0) z++;
                        Room(strLen + z + 1);                                       // this string so far, the chunk, its NUL
                        for (int k = 0; k < z; k++) _data[_len + strLen + k] = chunk[k];
                        strLen += z;
                        if (strLen >= MaxArgStrlen) return Errno.E2BIG;
                        if (z < (int)n) break;
                    }
                    _data[_len + strLen] = 0;
                    _len += strLen + 1;
                    Count++;
                }
            }

            public void Prepend(byte[] s)
            {
                Room(s.Length + 1);
                for (int i = _len - 1; i >= 0; i--) _data[i + s.Length + 1] = _data[i];
                for (int i = 0; i < s.Length; i++) _data[i] = s[i];
                _data[s.Length] = 0;
                _len += s.Length + 1;
                Count++;
            }

            /// Replaces argv[0] (a script's own argv[0] gives way to its path), or adds it.
            public void ReplaceFirst(byte[] s)
            {
                if (Count > 0)
                {
                    int first = 0;
                    while (_data[first] != 0) first++;
                    first++;
                    for (int i = first; i < _len; i++) _data[i - first] = _data[i];
                    _len -= first;
                    Count--;
                }
                Prepend(s);
            }

            public byte[] ToArray()
            {
                var a = new byte[_len];
                for (int i = 0; i < _len; i++) a[i] = _data[i];
                return a;
            }
        }
    }
}
