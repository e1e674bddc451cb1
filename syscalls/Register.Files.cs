namespace Kernel.Syscalls
{
    public static unsafe partial class SyscallTable
    {
        /// File, path and I/O system calls (Sys.ReadWrite.cs, Sys.Path.cs).
        static void RegisterFiles()
        {
            Add(0, "read", &Sys.Read);
            Add(1, "write", &Sys.Write);
            Add(2, "open", &Sys.Open, Support.Partial, "read-only files of the image's root filesystem");
            Add(3, "close", &Sys.Close);
            Add(4, "stat", &Sys.StatPath, Support.Partial, "image root filesystem only");
            Add(5, "fstat", &Sys.Fstat);
            Add(6, "lstat", &Sys.LstatPath, Support.Partial, "image root filesystem only");
            Add(8, "lseek", &Sys.Lseek);
            Add(16, "ioctl", &Sys.Ioctl, Support.Partial, "TCGETS, TCSETS*, TIOCGWINSZ, TIOCGPGRP on the console; FIOCLEX, FIONCLEX");
            Add(17, "pread64", &Sys.Pread);
            Add(18, "pwrite64", &Sys.Pwrite);
            Add(19, "readv", &Sys.Readv);
            Add(20, "writev", &Sys.Writev);
            Add(21, "access", &Sys.Access, Support.Partial, "existence only: everything is root-owned and the caller is root");
            Add(32, "dup", &Sys.Dup);
            Add(33, "dup2", &Sys.Dup2);
            Add(72, "fcntl", &Sys.Fcntl, Support.Partial, "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL");
            Add(79, "getcwd", &Sys.Getcwd);
            Add(89, "readlink", &Sys.Readlink, Support.Partial, "/proc/self/exe and image symlinks");
            Add(257, "openat", &Sys.Openat, Support.Partial, "read-only files of the image's root filesystem");
            Add(262, "newfstatat", &Sys.Newfstatat, Support.Partial, "image root filesystem and AT_EMPTY_PATH");
            Add(267, "readlinkat", &Sys.Readlinkat, Support.Partial, "/proc/self/exe and image symlinks");
            Add(269, "faccessat", &Sys.Faccessat, Support.Partial, "existence only");
            Add(292, "dup3", &Sys.Dup3);
            Add(439, "faccessat2", &Sys.Faccessat2, Support.Partial, "existence only");
        }
    }
}
