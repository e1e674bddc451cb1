namespace Kernel.Syscalls
{
    public static unsafe partial class SyscallTable
    {
        /// File, path and I/O system calls (Sys.ReadWrite.cs, Sys.Path.cs, Sys.Files.cs)
        /// over the VFS (fs/).
        static void RegisterFiles()
        {
            const string oneThread = "one thread: an operation that would wait for another end returns EAGAIN";
            Add(0, "read", &Sys.Read);
            Add(1, "write", &Sys.Write);
            Add(2, "open", &Sys.Open);
            Add(3, "close", &Sys.Close);
            Add(4, "stat", &Sys.StatPath);
            Add(5, "fstat", &Sys.Fstat);
            Add(6, "lstat", &Sys.LstatPath);
            Add(8, "lseek", &Sys.Lseek);
            Add(16, "ioctl", &Sys.Ioctl, Support.Partial, "TCGETS, TCSETS*, TIOCGWINSZ, TIOCGPGRP on the console; FIOCLEX, FIONCLEX, FIONBIO, FIONREAD");
            Add(17, "pread64", &Sys.Pread);
            Add(18, "pwrite64", &Sys.Pwrite);
            Add(19, "readv", &Sys.Readv);
            Add(20, "writev", &Sys.Writev);
            Add(21, "access", &Sys.Access, Support.Partial, "the caller is root: only X_OK can fail (no x bit)");
            Add(22, "pipe", &Sys.PipeCall, Support.Partial, oneThread);
            Add(32, "dup", &Sys.Dup);
            Add(33, "dup2", &Sys.Dup2);
            Add(40, "sendfile", &Sys.Sendfile);
            Add(72, "fcntl", &Sys.Fcntl, Support.Partial, "locks: POSIX locks never conflict (one process); OFD locks conflict, F_OFD_SETLKW returns EAGAIN instead of waiting; no SIGIO/leases/seals");
            Add(73, "flock", &Sys.Flock, Support.Partial, "a conflicting lock without LOCK_NB returns EWOULDBLOCK instead of waiting (one thread)");
            Add(74, "fsync", &Sys.Fsync, Support.Full, "tmpfs semantics: data is in memory");
            Add(75, "fdatasync", &Sys.Fsync, Support.Full, "tmpfs semantics: data is in memory");
            Add(76, "truncate", &Sys.TruncateCall);
            Add(77, "ftruncate", &Sys.Ftruncate);
            Add(79, "getcwd", &Sys.Getcwd);
            Add(80, "chdir", &Sys.Chdir);
            Add(81, "fchdir", &Sys.Fchdir);
            Add(82, "rename", &Sys.RenameCall);
            Add(83, "mkdir", &Sys.MkdirCall);
            Add(84, "rmdir", &Sys.Rmdir);
            Add(85, "creat", &Sys.Creat);
            Add(86, "link", &Sys.LinkCall);
            Add(87, "unlink", &Sys.UnlinkCall);
            Add(88, "symlink", &Sys.SymlinkCall);
            Add(89, "readlink", &Sys.Readlink);
            Add(90, "chmod", &Sys.Chmod);
            Add(91, "fchmod", &Sys.Fchmod);
            Add(92, "chown", &Sys.Chown, Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)");
            Add(93, "fchown", &Sys.Fchown, Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)");
            Add(94, "lchown", &Sys.Lchown, Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)");
            Add(132, "utime", &Sys.Utime);
            Add(133, "mknod", &Sys.MknodCall, Support.Partial, "FIFOs, regular files and socket nodes; device nodes exist but open gives ENXIO");
            Add(137, "statfs", &Sys.Statfs);
            Add(138, "fstatfs", &Sys.Fstatfs);
            Add(162, "sync", &Sys.SyncCall);
            Add(217, "getdents64", &Sys.Getdents64);
            Add(221, "fadvise64", &Sys.Fadvise64, Support.Partial, "advice is accepted and ignored (no page cache)");
            Add(235, "utimes", &Sys.Utimes);
            Add(257, "openat", &Sys.Openat);
            Add(258, "mkdirat", &Sys.Mkdirat);
            Add(259, "mknodat", &Sys.Mknodat, Support.Partial, "FIFOs, regular files and socket nodes; device nodes exist but open gives ENXIO");
            Add(260, "fchownat", &Sys.Fchownat, Support.Partial, "ownership is recorded; permissions are not enforced (the caller is root)");
            Add(262, "newfstatat", &Sys.Newfstatat);
            Add(263, "unlinkat", &Sys.Unlinkat);
            Add(264, "renameat", &Sys.Renameat);
            Add(265, "linkat", &Sys.Linkat);
            Add(266, "symlinkat", &Sys.Symlinkat);
            Add(267, "readlinkat", &Sys.Readlinkat);
            Add(268, "fchmodat", &Sys.Fchmodat);
            Add(269, "faccessat", &Sys.Faccessat, Support.Partial, "the caller is root: only X_OK can fail");
            Add(277, "sync_file_range", &Sys.SyncFileRange);
            Add(280, "utimensat", &Sys.Utimensat);
            Add(285, "fallocate", &Sys.Fallocate, Support.Partial, "modes 0, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE (punched pages are zeroed, not freed)");
            Add(292, "dup3", &Sys.Dup3);
            Add(293, "pipe2", &Sys.Pipe2, Support.Partial, oneThread);
            Add(295, "preadv", &Sys.Preadv);
            Add(296, "pwritev", &Sys.Pwritev);
            Add(306, "syncfs", &Sys.Syncfs);
            Add(316, "renameat2", &Sys.Renameat2, Support.Partial, "RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT gives EINVAL");
            Add(319, "memfd_create", &Sys.MemfdCreate, Support.Partial, "no file seals (F_ADD_SEALS gives EINVAL)");
            Add(326, "copy_file_range", &Sys.CopyFileRange);
            Add(327, "preadv2", &Sys.Preadv2, Support.Partial, "RWF_* flags are accepted and ignored");
            Add(328, "pwritev2", &Sys.Pwritev2, Support.Partial, "RWF_* flags are accepted and ignored (RWF_APPEND included)");
            Add(332, "statx", &Sys.Statx, Support.Partial, "STATX_BASIC_STATS; no birth time or mount id");
            Add(436, "close_range", &Sys.CloseRange);
            Add(437, "openat2", &Sys.Openat2, Support.Partial, "RESOLVE_* flags give EINVAL");
            Add(439, "faccessat2", &Sys.Faccessat2, Support.Partial, "the caller is root: only X_OK can fail");
            Add(452, "fchmodat2", &Sys.Fchmodat2);

            // Extended attributes (Sys.Xattr.cs): none are stored
            const string noXattrs = "no filesystem stores extended attributes: none found, setting one gives EOPNOTSUPP";
            Add(188, "setxattr", &Sys.Setxattr, Support.Partial, noXattrs);
            Add(189, "lsetxattr", &Sys.Lsetxattr, Support.Partial, noXattrs);
            Add(190, "fsetxattr", &Sys.Fsetxattr, Support.Partial, noXattrs);
            Add(191, "getxattr", &Sys.Getxattr, Support.Partial, noXattrs);
            Add(192, "lgetxattr", &Sys.Lgetxattr, Support.Partial, noXattrs);
            Add(193, "fgetxattr", &Sys.Fgetxattr, Support.Partial, noXattrs);
            Add(194, "listxattr", &Sys.Listxattr, Support.Partial, noXattrs);
            Add(195, "llistxattr", &Sys.Llistxattr, Support.Partial, noXattrs);
            Add(196, "flistxattr", &Sys.Flistxattr, Support.Partial, noXattrs);
            Add(197, "removexattr", &Sys.Removexattr, Support.Partial, noXattrs);
            Add(198, "lremovexattr", &Sys.Lremovexattr, Support.Partial, noXattrs);
            Add(199, "fremovexattr", &Sys.Fremovexattr, Support.Partial, noXattrs);
        }
    }
}
