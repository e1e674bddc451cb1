using System.Runtime;
using System.Runtime.CompilerServices;

namespace Kernel.Arch
{
    /// The only code that touches program memory from the kernel (usercopy.S). Callers
    /// check that addresses are in the user half; a fault on an unmapped page returns
    /// -EFAULT through the fix-up instead of faulting the kernel.
    public static unsafe class UserCopy
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "user_copy")]
        public static extern long Copy(void* dst, void* src, ulong n);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "user_set")]
        public static extern long Set(void* dst, int c, ulong n);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "user_strnlen")]
        public static extern long StrNLen(void* s, ulong max);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "user_copy_bounds")]
        static extern void Bounds(ulong* output);

        /// Page fault or general-protection fault (a non-canonical address) in kernel mode:
        /// resume at the fix-up when it came from usercopy.S.
        /// Whether `rip` lies in the user-copy routines (usercopy.S): a fault there is a safe
        /// point (the routines hold no references, and the caller's registers are in the
        /// interrupt frame on the thread's stack).
        public static bool IsCopySite(ulong rip)
        {
            ulong* b = stackalloc ulong[3];
            Bounds(b);
            return rip >= b[0] && rip < b[1];
        }

        public static bool TryFixup(InterruptFrame* f)
        {
            ulong* b = stackalloc ulong[3];
            Bounds(b);
            if (f->Rip < b[0] || f->Rip >= b[1]) return false;
            f->Rip = b[2];
            return true;
        }
    }
}
