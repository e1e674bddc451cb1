using Kernel.Abi;
using Kernel.Arch;
using Kernel.Memory;

namespace Kernel.Proc
{
    /// CPU exceptions raised by the program: demand paging first, otherwise the matching
    /// signal. A program's bug never reaches the kernel-fault path.
    public static unsafe class Faults
    {
        public static void Init()
        {
            Interrupts.UserFaultHandler = &OnUserFault;
            Interrupts.DemandPage = &OnKernelAccessToUser;
        }

        static InterruptFrame* OnUserFault(InterruptFrame* f)
        {
            Process p = Process.Current;
            ulong cr2 = Cpu.ReadCr2();
            int sig;
            bool hasAddr = false;
            switch (f->Vector)
            {
                case 14:
                    if ((f->Error & 1) == 0 && p.Memory.HandleFault(cr2, (f->Error & 2) != 0, (f->Error & 16) != 0)) return f;
                    sig = Signal.SIGSEGV; hasAddr = true; break;
                case 0: case 16: case 19: sig = Signal.SIGFPE; break;
                case 6: sig = Signal.SIGILL; break;
                case 1: case 3: sig = Signal.SIGTRAP; break;
                case 17: sig = Signal.SIGBUS; break;
                default: sig = Signal.SIGSEGV; break;
            }
            p.KillBySignal(sig, f, cr2, hasAddr);
            return f;
        }

        /// A kernel access (copy-in/out) touched a not-yet-populated program page.
        static bool OnKernelAccessToUser(ulong addr, bool write)
        {
            Process p = Process.Current;
            return p != null && addr < AddressSpace.UserLimit && p.Memory.HandleFault(addr, write, false);
        }
    }
}
