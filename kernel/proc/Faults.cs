using Kernel.Abi;
using Kernel.Arch;
using Kernel.Memory;
using Kernel.Sched;

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
            Process p = Process.Of(Scheduler.Current);
            ulong cr2 = Cpu.ReadCr2();
            switch (f->Vector)
            {
                case 14:
                    if ((f->Error & 1) == 0 && p.Memory.HandleFault(cr2, (f->Error & 2) != 0, (f->Error & 16) != 0)) return f;
                    if (p.Memory.OutOfMemory)
                    {
                        Console.Log.Error("out of memory: killing the program (raise it with ukpack run --mem)");
                        p.KillBySignal(Signal.SIGKILL, null, 0, false);
                    }
                    // ACCERR when a mapping exists but forbids the access (even if never touched).
                    Proc.Signals.Fault(f, Signal.SIGSEGV, p.Memory.Vmas.IndexOf(cr2) >= 0 ? SigCodes.SEGV_ACCERR : SigCodes.SEGV_MAPERR, cr2);
                    break;
                case 0: Proc.Signals.Fault(f, Signal.SIGFPE, SigCodes.FPE_INTDIV, f->Rip); break;
                case 16: case 19: Proc.Signals.Fault(f, Signal.SIGFPE, 0, f->Rip); break;
                case 6: Proc.Signals.Fault(f, Signal.SIGILL, SigCodes.ILL_ILLOPN, f->Rip); break;
                case 1: case 3: Proc.Signals.Fault(f, Signal.SIGTRAP, SigCodes.SI_KERNEL, 0); break;
                case 17: Proc.Signals.Fault(f, Signal.SIGBUS, SigCodes.BUS_ADRALN, cr2); break;
                default: Proc.Signals.Fault(f, Signal.SIGSEGV, SigCodes.SI_KERNEL, 0); break;
            }
            return f;
        }

        /// A kernel access (copy-in/out) touched a not-yet-populated program page.
        static bool OnKernelAccessToUser(ulong addr, bool write)
        {
            Process p = Process.Of(Scheduler.Current);
            return p != null && addr < AddressSpace.UserLimit && p.Memory.HandleFault(addr, write, false);
        }
    }
}
