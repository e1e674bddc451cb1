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
                    if (cr2 == f->Rip && EmulateVsyscall(f)) return f;
                    p.Memory.OutOfMemory = false;      // only this fault's outcome counts (a kernel copy may have set it)
                    p.Memory.BeyondEof = false;
                    if (((f->Error & 1) == 0 || (f->Error & 2) != 0) && p.Memory.HandleFault(cr2, (f->Error & 2) != 0, (f->Error & 16) != 0))
                    {
                        p.MinFlt++;                     // getrusage's ru_minflt
                        UserMemory.FaultsServed++;
                        return f;
                    }
                    if (p.Memory.OutOfMemory)
                    {
                        if (p.Pid == 1) Console.Log.Error("out of memory: killing the program (raise it with ukpack run --mem)");
                        else Console.Log.Warn("out of memory: killing a process (raise it with ukpack run --mem)");
                        p.KillBySignal(Signal.SIGKILL, null, 0, false);
                    }
                    if (p.Memory.BeyondEof) { Proc.Signals.Fault(f, Signal.SIGBUS, SigCodes.BUS_ADRERR, cr2); break; }
                    // ACCERR when a mapping exists but forbids the access (even if never touched).
                    Proc.Signals.Fault(f, Signal.SIGSEGV, p.Memory.Vmas.IndexOf(cr2) >= 0 ? SigCodes.SEGV_ACCERR : SigCodes.SEGV_MAPERR, cr2);
                    break;
                case 13:
                    // With UMIP on, sgdt/sidt/smsw/sldt/str fault in user mode: answer them with
                    // Linux's dummy values instead of the kernel's real table addresses.
                    if (Umip.Emulate(f, Sched.Scheduler.Current.FsBase, Sched.Scheduler.Current.GsBase)) return f;
                    Proc.Signals.Fault(f, Signal.SIGSEGV, SigCodes.SI_KERNEL, 0);
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

        /// Handler of the vsyscall page's calls (set by the syscall layer): number, frame -> result.
        public static delegate*<int, InterruptFrame*, long> VsyscallHandler;
        const ulong VsyscallPage = 0xffffffffff600000;

        /// Old static binaries call gettimeofday, time and getcpu at fixed addresses in the
        /// vsyscall page. As Linux's default (vsyscall=xonly), a call to one of the three entry
        /// points is emulated: the syscall runs, then a `ret` to the caller; anything else there
        /// (another offset, a read) stays a SIGSEGV.
        static bool EmulateVsyscall(InterruptFrame* f)
        {
            ulong off = f->Rip - VsyscallPage;
            if (f->Rip < VsyscallPage || off > 0x800 || (off & 0x3ff) != 0 || VsyscallHandler == null) return false;
            int nr = off == 0 ? 96 : off == 0x400 ? 201 : 309;          // gettimeofday, time, getcpu
            ulong ret;
            if (f->Rsp > AddressSpace.UserLimit - 8 || UserCopy.Copy(&ret, (void*)f->Rsp, 8) != 0) return false;
            if (ret >= AddressSpace.UserLimit) return false;
            f->Rax = (ulong)VsyscallHandler(nr, f);
            f->Rip = ret;
            f->Rsp += 8;
            return true;
        }

        /// A kernel access (copy-in/out) touched a not-yet-populated program page.
        static bool OnKernelAccessToUser(ulong addr, bool write)
        {
            Process p = Process.Of(Scheduler.Current);
            return p != null && addr < AddressSpace.UserLimit && p.Memory.HandleFault(addr, write, false);
        }
    }
}
