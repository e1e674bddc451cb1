using System;
using Kernel.Arch;
using Kernel.Memory;

namespace Kernel.Abi
{
    /// An address in the program's memory. It cannot be dereferenced: data moves only
    /// through CopyIn/CopyOut, which check the range is in the user half and turn a fault
    /// into EFAULT (usercopy.S) instead of a kernel fault.
    public readonly unsafe struct UserPtr
    {
        public readonly ulong Address;
        public UserPtr(ulong address) { Address = address; }
        public bool IsNull => Address == 0;
        public UserPtr Add(ulong offset) => new UserPtr(Address + offset);

        public static bool RangeOk(ulong addr, ulong len) =>
            addr + len >= addr && addr + len <= AddressSpace.UserLimit;

        /// The top of what Linux's access_ok accepts: the user half less its last page
        /// (TASK_SIZE_MAX on x86-64).
        public const ulong AccessLimit = AddressSpace.UserLimit - 4096;

        /// Linux's access_ok: the range lies below AccessLimit without wrapping. Calls that
        /// take a buffer check it on entry, so a kernel address is EFAULT even when nothing
        /// would be copied (read of 0 bytes, or at end of input).
        public static bool AccessOk(ulong addr, ulong len) =>
            addr + len >= addr && addr + len <= AccessLimit;
        public bool AccessOk(ulong len) => AccessOk(Address, len);

        public Errno CopyIn(void* dst, ulong len)
        {
            if (len == 0) return 0;
            if (!RangeOk(Address, len)) return Errno.EFAULT;
            return UserCopy.Copy(dst, (void*)Address, len) == 0 ? 0 : Errno.EFAULT;
        }

        public Errno CopyOut(void* src, ulong len)
        {
            if (len == 0) return 0;
            if (!RangeOk(Address, len)) return Errno.EFAULT;
            return UserCopy.Copy((void*)Address, src, len) == 0 ? 0 : Errno.EFAULT;
        }

        public Errno CopyIn(Span<byte> dst) { fixed (byte* p = dst) return CopyIn(p, (ulong)dst.Length); }
        public Errno CopyOut(ReadOnlySpan<byte> src) { fixed (byte* p = src) return CopyOut(p, (ulong)src.Length); }

        public Errno Zero(ulong len)
        {
            if (len == 0) return 0;
            if (!RangeOk(Address, len)) return Errno.EFAULT;
            return UserCopy.Set((void*)Address, 0, len) == 0 ? 0 : Errno.EFAULT;
        }

        /// Fills `len` bytes with random data (getrandom, /dev/urandom); returns the count
        /// written, or EFAULT when nothing could be.
        public SysResult FillRandom(ulong len)
        {
            byte* chunk = stackalloc byte[256];
            ulong done = 0;
            while (done < len)
            {
                ulong k = len - done < 256 ? len - done : 256;
                Arch.Random.Fill(chunk, k);
                if (Add(done).CopyOut(chunk, k) != 0) return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                done += k;
            }
            return (long)done;
        }

        /// Reads a NUL-terminated string into `dst`; ENAMETOOLONG when it does not fit.
        public Errno ReadCString(Span<byte> dst, out int length)
        {
            length = 0;
            if (Address >= AddressSpace.UserLimit) return Errno.EFAULT;
            ulong max = (ulong)dst.Length;
            if (Address + max > AddressSpace.UserLimit) max = AddressSpace.UserLimit - Address;
            long n = UserCopy.StrNLen((void*)Address, max);
            if (n < 0) return Errno.EFAULT;
            if ((ulong)n >= (ulong)dst.Length) return Errno.ENAMETOOLONG;
            if ((ulong)n == max) return Errno.EFAULT;                    // ran into the kernel half
            length = (int)n;
            return CopyIn(dst.Slice(0, length));
        }
    }

    /// A pointer to one T in program memory.
    public readonly unsafe struct UserRef<T> where T : unmanaged
    {
        public readonly UserPtr Ptr;
        public UserRef(ulong address) { Ptr = new UserPtr(address); }
        public bool IsNull => Ptr.IsNull;
        public Errno Read(out T value) { fixed (T* p = &value) return Ptr.CopyIn(p, (ulong)sizeof(T)); }
        public Errno Write(in T value) { fixed (T* p = &value) return Ptr.CopyOut(p, (ulong)sizeof(T)); }
    }
}
