namespace Kernel.Abi
{
    /// Linux error numbers (asm-generic/errno-base.h, errno.h).
    public enum Errno
    {
        EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8,
        EBADF = 9, ECHILD = 10, EAGAIN = 11, EWOULDBLOCK = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, ENOTBLK = 15,
        EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
        ENFILE = 23, EMFILE = 24, ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29,
        EROFS = 30, EMLINK = 31, EPIPE = 32, EDOM = 33, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36,
        ENOLCK = 37, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, ENOPKG = 65, EPROTO = 71, EOVERFLOW = 75, ELIBBAD = 80,
        ENOTSOCK = 88, EDESTADDRREQ = 89, EMSGSIZE = 90, EPROTOTYPE = 91, ENOPROTOOPT = 92,
        EPROTONOSUPPORT = 93, ESOCKTNOSUPPORT = 94, EOPNOTSUPP = 95, EPFNOSUPPORT = 96, EAFNOSUPPORT = 97,
        EADDRINUSE = 98, EADDRNOTAVAIL = 99, ENETDOWN = 100, ENETUNREACH = 101, ENETRESET = 102,
        ECONNABORTED = 103, ECONNRESET = 104, ENOBUFS = 105, EISCONN = 106, ENOTCONN = 107, ESHUTDOWN = 108,
        ETIMEDOUT = 110, ECONNREFUSED = 111, EHOSTDOWN = 112, EHOSTUNREACH = 113, EALREADY = 114,
        EINPROGRESS = 115, ECANCELED = 125,

        /// Kernel-internal, never seen by the program (Linux's number): a wait cut short by a
        /// signal. Only the syscall dispatcher interprets it: it restarts the call when no
        /// handler runs or the handler has SA_RESTART, and makes it EINTR otherwise.
        ERESTARTSYS = 512,
    }

    /// A syscall's outcome: a non-negative value or an error. The dispatcher is the one
    /// place that turns an error into -errno for the program.
    public readonly struct SysResult
    {
        public readonly long Raw;
        SysResult(long raw) { Raw = raw; }
        public static implicit operator SysResult(long value) => new SysResult(value);
        public static implicit operator SysResult(Errno e) => new SysResult(-(long)e);
        public bool IsError => Raw < 0 && Raw > -4096;
        /// Whether this is the error `e`.
        public bool Is(Errno e) => Raw == -(long)e;
        public static readonly SysResult Ok = new SysResult(0);
    }
}
