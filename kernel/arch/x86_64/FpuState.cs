using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Memory;

namespace Kernel.Arch
{
    /// The 512-byte fxsave-format area below every InterruptFrame. Interrupt entries fill it
    /// completely (fxsave); the syscall entry stores only MXCSR and xmm0-15, because kernel
    /// code never touches x87 state, so the live x87 registers are still the program's.
    public static unsafe class FpuState
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "fpu_save")]
        public static extern void Save(byte* area);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "fpu_restore")]
        public static extern void Restore(byte* area);

        const int MxcsrOffset = 24, XmmOffset = 160, XmmBytes = 256;
        static uint _mxcsrMask;

        /// The CPU's MXCSR_MASK (fxsave offset 28; 0 means the architectural default 0xffbf):
        /// bits outside it would make fxrstor fault.
        static uint MxcsrMask
        {
            get
            {
                if (_mxcsrMask == 0)
                {
                    byte* area = stackalloc byte[512 + 16];
                    area = (byte*)(((ulong)area + 15) & ~15UL);
                    Save(area);
                    _mxcsrMask = *(uint*)(area + 28);
                    if (_mxcsrMask == 0) _mxcsrMask = 0xffbf;
                }
                return _mxcsrMask;
            }
        }

        public static byte* AreaOf(InterruptFrame* f) => (byte*)f - 512;

        /// A complete fxsave image of the program's FPU state at this entry.
        public static void Capture(InterruptFrame* f, byte* dst)
        {
            byte* area = AreaOf(f);
            if (f->Vector != Interrupts.SyscallVector) { Mem.Copy(dst, area, 512); return; }
            Save(dst);                                           // live x87 state (the program's)
            *(uint*)(dst + MxcsrOffset) = *(uint*)(area + MxcsrOffset);
            Mem.Copy(dst + XmmOffset, area + XmmOffset, XmmBytes);
        }

        /// Whether fxrstor would accept `src`: no reserved MXCSR bit set (a signal frame whose
        /// fpstate fails this is a bad frame, as on Linux).
        public static bool IsValid(byte* src) => (*(uint*)(src + MxcsrOffset) & ~MxcsrMask) == 0;

        /// Makes `src` (an fxsave image, e.g. from a signal frame) the state this entry returns with.
        public static void Install(InterruptFrame* f, byte* src)
        {
            *(uint*)(src + MxcsrOffset) &= MxcsrMask;          // reserved MXCSR bits would fault fxrstor
            byte* area = AreaOf(f);
            if (f->Vector != Interrupts.SyscallVector) { Mem.Copy(area, src, 512); return; }
            Restore(src);                                        // x87 part goes live now
            *(uint*)(area + MxcsrOffset) = *(uint*)(src + MxcsrOffset);
            Mem.Copy(area + XmmOffset, src + XmmOffset, XmmBytes);
        }
    }
}
