namespace Kernel.Syscalls
{
    public static unsafe partial class SyscallTable
    {
        /// Handlers of the file, path and I/O calls (Sys.ReadWrite.cs, Sys.Path.cs,
        /// Sys.Files.cs, Sys.Xattr.cs) over the VFS (fs/). Names, support levels and notes
        /// are in SyscallList.cs.
        static void RegisterFiles()
        {
            Bind(0, &Sys.Read);
            Bind(1, &Sys.Write);
            Bind(2, &Sys.Open);
            Bind(3, &Sys.Close);
            Bind(4, &Sys.StatPath);
            Bind(5, &Sys.Fstat);
            Bind(6, &Sys.LstatPath);
            Bind(8, &Sys.Lseek);
            Bind(16, &Sys.Ioctl);
            Bind(17, &Sys.Pread);
            Bind(18, &Sys.Pwrite);
            Bind(19, &Sys.Readv);
            Bind(20, &Sys.Writev);
            Bind(21, &Sys.Access);
            Bind(22, &Sys.PipeCall);
            Bind(32, &Sys.Dup);
            Bind(33, &Sys.Dup2);
            Bind(40, &Sys.Sendfile);
            Bind(72, &Sys.Fcntl);
            Bind(73, &Sys.Flock);
            Bind(74, &Sys.Fsync);
            Bind(75, &Sys.Fsync);
            Bind(76, &Sys.TruncateCall);
            Bind(77, &Sys.Ftruncate);
            Bind(79, &Sys.Getcwd);
            Bind(80, &Sys.Chdir);
            Bind(81, &Sys.Fchdir);
            Bind(82, &Sys.RenameCall);
            Bind(83, &Sys.MkdirCall);
            Bind(84, &Sys.Rmdir);
            Bind(85, &Sys.Creat);
            Bind(86, &Sys.LinkCall);
            Bind(87, &Sys.UnlinkCall);
            Bind(88, &Sys.SymlinkCall);
            Bind(89, &Sys.Readlink);
            Bind(90, &Sys.Chmod);
            Bind(91, &Sys.Fchmod);
            Bind(92, &Sys.Chown);
            Bind(93, &Sys.Fchown);
            Bind(94, &Sys.Lchown);
            Bind(132, &Sys.Utime);
            Bind(133, &Sys.MknodCall);
            Bind(137, &Sys.Statfs);
            Bind(138, &Sys.Fstatfs);
            Bind(162, &Sys.SyncCall);
            Bind(217, &Sys.Getdents64);
            Bind(221, &Sys.Fadvise64);
            Bind(235, &Sys.Utimes);
            Bind(257, &Sys.Openat);
            Bind(258, &Sys.Mkdirat);
            Bind(259, &Sys.Mknodat);
            Bind(260, &Sys.Fchownat);
            Bind(262, &Sys.Newfstatat);
            Bind(263, &Sys.Unlinkat);
            Bind(264, &Sys.Renameat);
            Bind(265, &Sys.Linkat);
            Bind(266, &Sys.Symlinkat);
            Bind(267, &Sys.Readlinkat);
            Bind(268, &Sys.Fchmodat);
            Bind(269, &Sys.Faccessat);
            Bind(275, &Sys.Splice);
            Bind(276, &Sys.Tee);
            Bind(278, &Sys.Vmsplice);
            Bind(277, &Sys.SyncFileRange);
            Bind(280, &Sys.Utimensat);
            Bind(285, &Sys.Fallocate);
            Bind(292, &Sys.Dup3);
            Bind(293, &Sys.Pipe2);
            Bind(295, &Sys.Preadv);
            Bind(296, &Sys.Pwritev);
            Bind(306, &Sys.Syncfs);
            Bind(316, &Sys.Renameat2);
            Bind(319, &Sys.MemfdCreate);
            Bind(326, &Sys.CopyFileRange);
            Bind(327, &Sys.Preadv2);
            Bind(328, &Sys.Pwritev2);
            Bind(332, &Sys.Statx);
            Bind(436, &Sys.CloseRange);
            Bind(437, &Sys.Openat2);
            Bind(439, &Sys.Faccessat2);
            Bind(452, &Sys.Fchmodat2);

            // Extended attributes (Sys.Xattr.cs)
            Bind(188, &Sys.Setxattr);
            Bind(189, &Sys.Lsetxattr);
            Bind(190, &Sys.Fsetxattr);
            Bind(191, &Sys.Getxattr);
            Bind(192, &Sys.Lgetxattr);
            Bind(193, &Sys.Fgetxattr);
            Bind(194, &Sys.Listxattr);
            Bind(195, &Sys.Llistxattr);
            Bind(196, &Sys.Flistxattr);
            Bind(197, &Sys.Removexattr);
            Bind(198, &Sys.Lremovexattr);
            Bind(199, &Sys.Fremovexattr);
        }
    }
}
