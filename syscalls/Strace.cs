using System;
using Kernel.Abi;
using Kernel.Console;

namespace Kernel.Syscalls
{
    /// `ukpack run --strace`: one line per system call, strace-style, on the debug console
    /// with the prefix "@@ST " (the host splits those lines from the kernel log and prints
    /// them on stderr or into a file): `openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3`,
    /// `read(3, 0x7ffd..., 4096) = -1 EBADF (Bad file descriptor)`, signal deliveries as
    /// `--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=0x0} ---`, and the end as
    /// `+++ exited with 0 +++` or `+++ killed by SIGKILL +++`.
    ///
    /// Arguments are decoded per call from a format string (FormatOf): paths and buffers as
    /// quoted strings (read back from the program's memory through the safe copy-in, so a bad
    /// pointer prints as hex), open flags, mmap protections and flags, signals, AT_FDCWD, modes
    /// in octal, struct stat results summarised; everything else in hex. The dispatcher tests
    /// one flag when tracing is off (SyscallTable.Dispatch).
    public static unsafe class Strace
    {
        public static bool Enabled;

        // Format letters, one per argument:
        //   d signed decimal   u unsigned decimal   x hex       f fd (AT_FDCWD)   s path string
        //   B buffer written by the program (length: next argument)
        //   W buffer filled by the call (length: the result)   F open flags   o octal mode
        //   P mmap prot        M mmap flags         S signal    T struct stat (summarised after success)
        //   h sigprocmask how  c clock id         p int[2] of fds (after success)   t struct timespec
        // A result letter after '>' : x hex (mmap, brk), else decimal.
        static string FormatOf(int nr) => nr switch
        {
            0 => "fWu", 1 => "fBu", 2 => "sFo", 3 => "f", 4 => "sT", 5 => "fT", 6 => "sT", 7 => "xud", 8 => "fdd",
            9 => "xuPMfx>x", 10 => "xuP", 11 => "xu", 12 => "x>x", 13 => "Sxxu", 14 => "hxxu", 15 => "", 16 => "fxx",
            17 => "fWud", 18 => "fBud", 19 => "fxu", 20 => "fxu", 21 => "so", 22 => "p", 23 => "dxxxx", 24 => "",
            25 => "xuuMx>x", 28 => "xud", 32 => "f", 33 => "ff", 35 => "tx", 39 => "", 56 => "xxxxx", 57 => "", 58 => "",
            59 => "sxx", 60 => "d", 61 => "dxdx", 62 => "dS", 63 => "x", 72 => "fdx", 73 => "fd", 74 => "f", 75 => "f", 76 => "sd",
            77 => "fd", 78 => "fxu", 79 => "xu", 80 => "s", 81 => "f", 82 => "ss", 83 => "so", 84 => "s", 85 => "so",
            86 => "ss", 87 => "s", 88 => "ss", 89 => "sxu", 90 => "so", 91 => "fo", 95 => "o", 96 => "xx", 97 => "dx", 102 => "",
            104 => "", 107 => "", 108 => "", 110 => "", 131 => "xx", 137 => "sx", 138 => "fx", 158 => "dx", 186 => "",
            200 => "dS", 201 => "x", 202 => "xddxxd", 217 => "fxu", 218 => "x", 228 => "ct", 229 => "cx", 230 => "cdxx",
            231 => "d", 232 => "fxdd", 233 => "fdfx", 234 => "ddS", 257 => "fsFo", 258 => "fso", 262 => "fsTx", 263 => "fsx",
            264 => "fsfs", 265 => "fsfsx", 266 => "sfs", 267 => "fsxu", 268 => "fso", 269 => "fso", 270 => "dxxxxx", 271 => "xuxxu",
            253 => "", 254 => "fsx", 255 => "fd", 273 => "xu", 281 => "fxddxu", 284 => "ud", 290 => "ud", 294 => "x", 291 => "d", 292 => "ffx", 293 => "pF", 302 => "ddxx",
            316 => "fsfsx", 318 => "xux", 319 => "sx", 332 => "fsxxx", 334 => "xudx", 435 => "xu", 439 => "fsox",
            _ => null,
        };

        /// After the call (or before it, for calls that do not return: exit, exit_group).
        public static void Line(int tid, int pid, ulong nr, SyscallArgs* a, long result, bool noReturn)
        {
            Span<byte> buf = stackalloc byte[640];
            var w = new LineWriter(buf);
            w.Str("@@ST ");
            if (tid != pid) { w.Str("[pid "); w.Dec(tid); w.Str("] "); }
            string name = nr < SyscallTable.Size ? SyscallTable.Table[nr].Name : null;
            if (name != null) w.Str(name); else { w.Str("syscall_"); w.Udec(nr); }
            w.Byte((byte)'(');
            string fmt = nr < SyscallTable.Size ? FormatOf((int)nr) : null;
            ulong* args = &a->A0;
            bool ok = result >= 0 || result < -4095;
            if (fmt == null)
            {
                // Unknown shape: the arguments up to the last non-zero one, in hex.
                int n = 6;
                while (n > 1 && args[n - 1] == 0) n--;
                for (int i = 0; i < n; i++) { if (i > 0) w.Str(", "); w.Hex(args[i]); }
            }
            else
            {
                int i = 0;
                for (; i < fmt.Length && fmt[i] != '>' && i < 6; i++)
                {
                    if (i > 0) w.Str(", ");
                    Arg(ref w, fmt[i], args[i], i + 1 < 6 ? args[i + 1] : 0, result, ok, noReturn);
                }
            }
            w.Str(") = ");
            if (noReturn) w.Byte((byte)'?');
            else if (ok) Result(ref w, result, HexResult(fmt));
            else Error(ref w, (int)-result);
            w.Terminate();
            Console.Log.WriteRaw(w.Written);
            if (noReturn && nr == 231) { var e = new LineWriter(buf); e.Str("@@ST +++ exited with "); e.Dec((long)(a->A0 & 0xff)); e.Str(" +++\n"); Console.Log.WriteRaw(e.Written); }
        }

        static bool HexResult(string fmt)
        {
            if (fmt == null) return false;
            for (int i = 0; i + 1 < fmt.Length; i++) if (fmt[i] == '>' && fmt[i + 1] == 'x') return true;
            return false;
        }

        static void Result(ref LineWriter w, long r, bool hex)
        {
            if (hex) w.Hex((ulong)r); else w.Dec(r);
        }

        static void Arg(ref LineWriter w, char k, ulong v, ulong next, long result, bool ok, bool noReturn)
        {
            switch (k)
            {
                case 'd': w.Dec((int)v); break;
                case 'u': w.Udec(v); break;
                case 'f': if ((int)v == -100) w.Str("AT_FDCWD"); else w.Dec((int)v); break;
                case 's': Str(ref w, v, 4096, true); break;
                case 'B': Str(ref w, v, next, false); break;
                case 'W': if (ok && result >= 0 && !noReturn) Str(ref w, v, (ulong)result, false); else w.Hex(v); break;
                case 'F': OpenFlags(ref w, (uint)v); break;
                case 'o': w.Byte((byte)'0'); Octal(ref w, v); break;
                case 'P': Prot(ref w, v); break;
                case 'M': MapFlags(ref w, v); break;
                case 'S': Sig(ref w, (int)v); break;
                case 'h': w.Str(v == 0 ? "SIG_BLOCK" : v == 1 ? "SIG_UNBLOCK" : v == 2 ? "SIG_SETMASK" : "?"); break;
                case 'c': Clock(ref w, (int)v); break;
                case 'T': if (ok && result == 0) Stat(ref w, v); else w.Hex(v); break;
                case 'p': if (ok && result == 0) Pipe(ref w, v); else w.Hex(v); break;
                case 't': if (ok && result == 0) Timespec(ref w, v); else w.Hex(v); break;
                default: w.Hex(v); break;
            }
        }

        static void Octal(ref LineWriter w, ulong v)
        {
            Span<byte> d = stackalloc byte[24];
            int n = 0;
            do { d[n++] = (byte)('0' + (v & 7)); v >>= 3; } while (v != 0);
            while (n > 0) w.Byte(d[--n]);
        }

        /// A string from the program's memory: a path (up to its NUL) or a buffer of `len`
        /// bytes, quoted and escaped, the first 32 bytes of a buffer then "...".
        static void Str(ref LineWriter w, ulong addr, ulong len, bool cstring)
        {
            if (addr == 0) { w.Str("NULL"); return; }
            int max = cstring ? 256 : 32;
            int want = (int)(len < (ulong)max ? len : (ulong)max);
            Span<byte> tmp = stackalloc byte[256];
            int got;
            var p = new UserPtr(addr);
            if (cstring)
            {
                if (p.ReadCString(tmp, out got) != 0 && got == 0) { w.Hex(addr); return; }
            }
            else
            {
                if (!UserPtr.AccessOk(addr, (ulong)want) || p.CopyIn(tmp.Slice(0, want)) != 0) { w.Hex(addr); return; }
                got = want;
            }
            w.Byte((byte)'"');
            for (int i = 0; i < got; i++)
            {
                byte b = tmp[i];
                if (cstring && b == 0) break;
                if (b == '"' || b == '\\') { w.Byte((byte)'\\'); w.Byte(b); }
                else if (b == '\n') w.Str("\\n");
                else if (b == '\t') w.Str("\\t");
                else if (b < 0x20 || b >= 0x7f) { w.Byte((byte)'\\'); w.Byte((byte)('0' + (b >> 6))); w.Byte((byte)('0' + ((b >> 3) & 7))); w.Byte((byte)('0' + (b & 7))); }
                else w.Byte(b);
            }
            w.Byte((byte)'"');
            if (!cstring && len > (ulong)want) w.Str("...");
        }

        static void Flag(ref LineWriter w, ref bool any, string name)
        {
            if (any) w.Byte((byte)'|');
            w.Str(name);
            any = true;
        }

        static void Rest(ref LineWriter w, ref bool any, ulong rest)
        {
            if (rest != 0) { if (any) w.Byte((byte)'|'); w.Hex(rest); any = true; }
            if (!any) w.Byte((byte)'0');
        }

        static void OpenFlags(ref LineWriter w, uint f)
        {
            bool any = true;
            w.Str((f & 3) == 0 ? "O_RDONLY" : (f & 3) == 1 ? "O_WRONLY" : (f & 3) == 2 ? "O_RDWR" : "O_ACCMODE");
            uint rest = f & ~3u;
            if ((rest & 0x410000) == 0x410000) { Flag(ref w, ref any, "O_TMPFILE"); rest &= ~0x410000u; }
            if ((rest & 0x101000) == 0x101000) { Flag(ref w, ref any, "O_SYNC"); rest &= ~0x101000u; }
            if ((rest & 0x40) != 0) { Flag(ref w, ref any, "O_CREAT"); rest &= ~0x40u; }
            if ((rest & 0x80) != 0) { Flag(ref w, ref any, "O_EXCL"); rest &= ~0x80u; }
            if ((rest & 0x100) != 0) { Flag(ref w, ref any, "O_NOCTTY"); rest &= ~0x100u; }
            if ((rest & 0x200) != 0) { Flag(ref w, ref any, "O_TRUNC"); rest &= ~0x200u; }
            if ((rest & 0x400) != 0) { Flag(ref w, ref any, "O_APPEND"); rest &= ~0x400u; }
            if ((rest & 0x800) != 0) { Flag(ref w, ref any, "O_NONBLOCK"); rest &= ~0x800u; }
            if ((rest & 0x1000) != 0) { Flag(ref w, ref any, "O_DSYNC"); rest &= ~0x1000u; }
            if ((rest & 0x4000) != 0) { Flag(ref w, ref any, "O_DIRECT"); rest &= ~0x4000u; }
            if ((rest & 0x8000) != 0) { Flag(ref w, ref any, "O_LARGEFILE"); rest &= ~0x8000u; }
            if ((rest & 0x10000) != 0) { Flag(ref w, ref any, "O_DIRECTORY"); rest &= ~0x10000u; }
            if ((rest & 0x20000) != 0) { Flag(ref w, ref any, "O_NOFOLLOW"); rest &= ~0x20000u; }
            if ((rest & 0x40000) != 0) { Flag(ref w, ref any, "O_NOATIME"); rest &= ~0x40000u; }
            if ((rest & 0x80000) != 0) { Flag(ref w, ref any, "O_CLOEXEC"); rest &= ~0x80000u; }
            if ((rest & 0x200000) != 0) { Flag(ref w, ref any, "O_PATH"); rest &= ~0x200000u; }
            Rest(ref w, ref any, rest);
        }

        static void Prot(ref LineWriter w, ulong p)
        {
            if (p == 0) { w.Str("PROT_NONE"); return; }
            bool any = false;
            if ((p & 1) != 0) Flag(ref w, ref any, "PROT_READ");
            if ((p & 2) != 0) Flag(ref w, ref any, "PROT_WRITE");
            if ((p & 4) != 0) Flag(ref w, ref any, "PROT_EXEC");
            Rest(ref w, ref any, p & ~7UL);
        }

        static void MapFlags(ref LineWriter w, ulong f)
        {
            bool any = false;
            ulong t = f & 3;
            if (t == 1) Flag(ref w, ref any, "MAP_SHARED");
            else if (t == 2) Flag(ref w, ref any, "MAP_PRIVATE");
            else if (t == 3) Flag(ref w, ref any, "MAP_SHARED_VALIDATE");
            ulong rest = f & ~3UL;
            if ((rest & 0x10) != 0) { Flag(ref w, ref any, "MAP_FIXED"); rest &= ~0x10UL; }
            if ((rest & 0x20) != 0) { Flag(ref w, ref any, "MAP_ANONYMOUS"); rest &= ~0x20UL; }
            if ((rest & 0x100) != 0) { Flag(ref w, ref any, "MAP_GROWSDOWN"); rest &= ~0x100UL; }
            if ((rest & 0x800) != 0) { Flag(ref w, ref any, "MAP_DENYWRITE"); rest &= ~0x800UL; }
            if ((rest & 0x4000) != 0) { Flag(ref w, ref any, "MAP_NORESERVE"); rest &= ~0x4000UL; }
            if ((rest & 0x8000) != 0) { Flag(ref w, ref any, "MAP_POPULATE"); rest &= ~0x8000UL; }
            if ((rest & 0x20000) != 0) { Flag(ref w, ref any, "MAP_STACK"); rest &= ~0x20000UL; }
            if ((rest & 0x100000) != 0) { Flag(ref w, ref any, "MAP_FIXED_NOREPLACE"); rest &= ~0x100000UL; }
            Rest(ref w, ref any, rest);
        }

        static readonly string[] SigNames =
        [
            null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
            "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
            "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
        ];

        public static void Sig(ref LineWriter w, int s)
        {
            if (s > 0 && s < 32) w.Str(SigNames[s]);
            else if (s >= 32 && s <= 64) { w.Str("SIGRT_"); w.Dec(s - 32); }
            else w.Dec(s);
        }

        static void Clock(ref LineWriter w, int c)
        {
            switch (c)
            {
                case 0: w.Str("CLOCK_REALTIME"); break;
                case 1: w.Str("CLOCK_MONOTONIC"); break;
                case 2: w.Str("CLOCK_PROCESS_CPUTIME_ID"); break;
                case 3: w.Str("CLOCK_THREAD_CPUTIME_ID"); break;
                case 4: w.Str("CLOCK_MONOTONIC_RAW"); break;
                case 5: w.Str("CLOCK_REALTIME_COARSE"); break;
                case 6: w.Str("CLOCK_MONOTONIC_COARSE"); break;
                case 7: w.Str("CLOCK_BOOTTIME"); break;
                default: w.Dec(c); break;
            }
        }

        /// struct stat (x86-64): st_mode at 24, st_size at 48.
        static void Stat(ref LineWriter w, ulong addr)
        {
            Span<byte> st = stackalloc byte[56];
            if (!UserPtr.AccessOk(addr, 56) || new UserPtr(addr).CopyIn(st) != 0) { w.Hex(addr); return; }
            uint mode = (uint)(st[24] | st[25] << 8 | st[26] << 16 | st[27] << 24);
            long size = 0;
            for (int i = 7; i >= 0; i--) size = size << 8 | st[48 + i];
            w.Str("{st_mode=");
            uint t = mode & 0xf000;
            w.Str(t == 0x8000 ? "S_IFREG" : t == 0x4000 ? "S_IFDIR" : t == 0xa000 ? "S_IFLNK" : t == 0x2000 ? "S_IFCHR" :
                  t == 0x6000 ? "S_IFBLK" : t == 0x1000 ? "S_IFIFO" : t == 0xc000 ? "S_IFSOCK" : "0");
            w.Str("|0"); Octal(ref w, mode & 0xfff);
            w.Str(", st_size="); w.Dec(size); w.Str(", ...}");
        }

        static void Pipe(ref LineWriter w, ulong addr)
        {
            Span<byte> fds = stackalloc byte[8];
            if (!UserPtr.AccessOk(addr, 8) || new UserPtr(addr).CopyIn(fds) != 0) { w.Hex(addr); return; }
            w.Byte((byte)'['); w.Dec(fds[0] | fds[1] << 8 | fds[2] << 16 | fds[3] << 24); w.Str(", ");
            w.Dec(fds[4] | fds[5] << 8 | fds[6] << 16 | fds[7] << 24); w.Byte((byte)']');
        }

        static void Timespec(ref LineWriter w, ulong addr)
        {
            Span<byte> ts = stackalloc byte[16];
            if (!UserPtr.AccessOk(addr, 16) || new UserPtr(addr).CopyIn(ts) != 0) { w.Hex(addr); return; }
            long sec = 0, nsec = 0;
            for (int i = 7; i >= 0; i--) { sec = sec << 8 | ts[i]; nsec = nsec << 8 | ts[8 + i]; }
            w.Str("{tv_sec="); w.Dec(sec); w.Str(", tv_nsec="); w.Dec(nsec); w.Byte((byte)'}');
        }

        static void Error(ref LineWriter w, int e)
        {
            w.Str("-1 ");
            string name = null, text = null;
            switch (e)
            {
                case 1: name = "EPERM"; text = "Operation not permitted"; break;
                case 2: name = "ENOENT"; text = "No such file or directory"; break;
                case 3: name = "ESRCH"; text = "No such process"; break;
                case 4: name = "EINTR"; text = "Interrupted system call"; break;
                case 5: name = "EIO"; text = "Input/output error"; break;
                case 6: name = "ENXIO"; text = "No such device or address"; break;
                case 7: name = "E2BIG"; text = "Argument list too long"; break;
                case 8: name = "ENOEXEC"; text = "Exec format error"; break;
                case 9: name = "EBADF"; text = "Bad file descriptor"; break;
                case 10: name = "ECHILD"; text = "No child processes"; break;
                case 11: name = "EAGAIN"; text = "Resource temporarily unavailable"; break;
                case 12: name = "ENOMEM"; text = "Cannot allocate memory"; break;
                case 13: name = "EACCES"; text = "Permission denied"; break;
                case 14: name = "EFAULT"; text = "Bad address"; break;
                case 16: name = "EBUSY"; text = "Device or resource busy"; break;
                case 17: name = "EEXIST"; text = "File exists"; break;
                case 18: name = "EXDEV"; text = "Invalid cross-device link"; break;
                case 19: name = "ENODEV"; text = "No such device"; break;
                case 20: name = "ENOTDIR"; text = "Not a directory"; break;
                case 21: name = "EISDIR"; text = "Is a directory"; break;
                case 22: name = "EINVAL"; text = "Invalid argument"; break;
                case 23: name = "ENFILE"; text = "Too many open files in system"; break;
                case 24: name = "EMFILE"; text = "Too many open files"; break;
                case 25: name = "ENOTTY"; text = "Inappropriate ioctl for device"; break;
                case 27: name = "EFBIG"; text = "File too large"; break;
                case 28: name = "ENOSPC"; text = "No space left on device"; break;
                case 29: name = "ESPIPE"; text = "Illegal seek"; break;
                case 30: name = "EROFS"; text = "Read-only file system"; break;
                case 31: name = "EMLINK"; text = "Too many links"; break;
                case 32: name = "EPIPE"; text = "Broken pipe"; break;
                case 33: name = "EDOM"; text = "Numerical argument out of domain"; break;
                case 34: name = "ERANGE"; text = "Numerical result out of range"; break;
                case 35: name = "EDEADLK"; text = "Resource deadlock avoided"; break;
                case 36: name = "ENAMETOOLONG"; text = "File name too long"; break;
                case 37: name = "ENOLCK"; text = "No locks available"; break;
                case 38: name = "ENOSYS"; text = "Function not implemented"; break;
                case 39: name = "ENOTEMPTY"; text = "Directory not empty"; break;
                case 40: name = "ELOOP"; text = "Too many levels of symbolic links"; break;
                case 61: name = "ENODATA"; text = "No data available"; break;
                case 75: name = "EOVERFLOW"; text = "Value too large for defined data type"; break;
                case 88: name = "ENOTSOCK"; text = "Socket operation on non-socket"; break;
                case 95: name = "EOPNOTSUPP"; text = "Operation not supported"; break;
                case 97: name = "EAFNOSUPPORT"; text = "Address family not supported by protocol"; break;
                case 98: name = "EADDRINUSE"; text = "Address already in use"; break;
                case 104: name = "ECONNRESET"; text = "Connection reset by peer"; break;
                case 110: name = "ETIMEDOUT"; text = "Connection timed out"; break;
                case 111: name = "ECONNREFUSED"; text = "Connection refused"; break;
                case 115: name = "EINPROGRESS"; text = "Operation now in progress"; break;
                case 512: name = "ERESTARTSYS"; text = "To be restarted if SA_RESTART is set"; break;
            }
            if (name != null) { w.Str(name); w.Str(" ("); w.Str(text); w.Byte((byte)')'); }
            else { w.Str("errno "); w.Dec(e); }
        }

        /// A signal delivered to a handler (Proc.Signals calls this through its hook).
        public static void Delivered(int sig, int code, ulong addr)
        {
            var w = new LineWriter(stackalloc byte[160]);
            w.Str("@@ST --- "); Sig(ref w, sig); w.Str(" {si_signo="); Sig(ref w, sig);
            w.Str(", si_code="); w.Dec(code);
            if (sig == 11 || sig == 7 || sig == 4 || sig == 8) { w.Str(", si_addr="); w.Hex(addr); }
            w.Str("} ---\n");
            Console.Log.WriteRaw(w.Written);
        }

        /// The process killed by a signal's default action.
        public static void Killed(int sig, ulong addr, bool hasAddr)
        {
            var w = new LineWriter(stackalloc byte[160]);
            w.Str("@@ST --- "); Sig(ref w, sig); w.Str(" {si_signo="); Sig(ref w, sig);
            if (hasAddr) { w.Str(", si_addr="); w.Hex(addr); }
            w.Str("} ---\n@@ST +++ killed by "); Sig(ref w, sig); w.Str(" +++\n");
            Console.Log.WriteRaw(w.Written);
        }
    }
}
