namespace Kernel.Abi
{
    // File type and mode bits (linux/stat.h) and open flags (asm-generic/fcntl.h): one
    // definition each, shared by the kernel, the image format and ukpack.

    public static class FileMode
    {
        public const uint S_IFMT = 0xf000, S_IFSOCK = 0xc000, S_IFLNK = 0xa000, S_IFREG = 0x8000,
            S_IFBLK = 0x6000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFIFO = 0x1000;
        public const uint S_ISUID = 0x800, S_ISGID = 0x400, S_ISVTX = 0x200;
        public static byte DirType(uint mode) => (byte)((mode & S_IFMT) >> 12);   // DT_* == S_IFMT >> 12
    }

    public static class OpenFlags
    {
        public const uint O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80,
            O_NOCTTY = 0x100, O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DSYNC = 0x1000,
            O_ASYNC = 0x2000, O_DIRECT = 0x4000, O_LARGEFILE = 0x8000, O_DIRECTORY = 0x10000,
            O_NOFOLLOW = 0x20000, O_NOATIME = 0x40000, O_CLOEXEC = 0x80000, O_SYNC = 0x101000,
            O_PATH = 0x200000, O_TMPFILE = 0x400000 | O_DIRECTORY;
    }
}
