using Kernel.Arch;
using Kernel.Console;
using Kernel.Abi;
using Kernel.Proc;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    /// Arguments of one system call, straight from the registers.
    public unsafe struct SyscallArgs
    {
        public ulong A0, A1, A2, A3, A4, A5;
        public InterruptFrame* Frame;
    }

    public unsafe struct SyscallInfo
    {
        public int Number;
        public string Name;
        public delegate*<SyscallArgs*, SysResult> Handler;
        public Support Level;
        public string Note;
    }

    /// The kernel's table of system calls: the rows of SyscallList.cs (number, name, support
    /// level, note: plain data shared with ukpack and the docs) with the handlers that
    /// Register*.cs binds by number. The dispatcher and the unknown-syscall log read it.
    public static unsafe partial class SyscallTable
    {
        public const int Size = 512;
        public static SyscallInfo[] Table;
        static bool[] _reported;

        static int _bindErrors;

        /// Binds a handler to a call the data lists as supported; anything else is a
        /// mismatch between the data and the code, which the self-test reports.
        static void Bind(int nr, delegate*<SyscallArgs*, SysResult> handler)
        {
            if ((uint)nr >= Size || Table[nr].Name == null || Table[nr].Level == Support.None || Table[nr].Handler != null)
            {
                _bindErrors++;
                var w = Log.Begin(LogLevel.Error, stackalloc byte[96]);
                w.Str("syscall table: handler for "); w.Dec(nr); w.Str(" does not match SyscallList.cs");
                Log.End(ref w);
                return;
            }
            Table[nr].Handler = handler;
        }

        public static void Init()
        {
            if (Table != null) return;
            Table = new SyscallInfo[Size];
            _reported = new bool[Size];
            SyscallEntry[] all = SyscallList.All;
            for (int i = 0; i < all.Length; i++)
            {
                int nr = all[i].Number;
                if ((uint)nr >= Size || Table[nr].Name != null) { _bindErrors++; continue; }     // out of range or listed twice
                Table[nr] = new SyscallInfo { Number = nr, Name = all[i].Name, Level = all[i].Level, Note = all[i].Note };
            }
            Register();
            for (int i = 0; i < Size; i++)
                if (Table[i].Name != null && Table[i].Level != Support.None && Table[i].Handler == null) _bindErrors++;
            Interrupts.SyscallHandler = &Dispatch;
            Proc.Faults.VsyscallHandler = &Vsyscall;
        }

        static InterruptFrame* Dispatch(InterruptFrame* f)
        {
            // Linux takes the number as an int: bits 32-63 are ignored (0x1_0000_0027 is getpid),
            // and the x32 bit or a negative number is simply not a syscall here (ENOSYS).
            ulong nr = (uint)f->Rax, raw = f->Rax;
            SyscallArgs a;
            a.A0 = f->Rdi; a.A1 = f->Rsi; a.A2 = f->Rdx; a.A3 = f->R10; a.A4 = f->R8; a.A5 = f->R9;
            a.Frame = f;
            Sched.Thread me = Sched.Scheduler.Current;
            me.SyscallFrame = f;
            // Tracing (ukpack run --strace) costs this one test when off.
            SysResult r = Strace.Enabled ? Traced(nr, &a, me) : Invoke(nr, &a);
            // The files the call looked up by fd (Sys.Fd) stay alive until here, as on Linux.
            if (me.CallRefCount != 0) Sys.DropCallRefs(me);
            // A blocking call cut short by a signal (ERESTARTSYS, internal) restarts when no
            // handler runs or the handler has SA_RESTART (the syscall instruction is 2 bytes),
            // and fails with EINTR otherwise. No other result is interpreted here.
            if (r.Is(Errno.ERESTARTSYS))
            {
                if (Proc.Signals.ShouldRestart(me)) { f->Rax = raw; f->Rip -= 2; }
                else f->Rax = unchecked((ulong)-(long)Errno.EINTR);
            }
            else f->Rax = (ulong)r.Raw;
            Proc.Signals.DeliverPending(f);
            // sigsuspend-style temporary masks end with the call when no handler frame took them.
            if (me.RestoreMaskAfterSignal) { me.SignalMask = me.SavedMaskForSuspend; me.RestoreMaskAfterSignal = false; }
            return f;
        }

        /// A call with its strace line: before it for the calls that do not return, after it otherwise.
        static SysResult Traced(ulong nr, SyscallArgs* a, Sched.Thread me)
        {
            int pid = Proc.Process.Of(me).Pid;
            bool noReturn = nr == 60 || nr == 231;
            if (noReturn) Strace.Line(me.Tid, pid, nr, a, 0, true);
            SysResult r = Invoke(nr, a);
            if (!noReturn) Strace.Line(me.Tid, pid, nr, a, r.Raw, false);
            return r;
        }

        /// Runs the handler bound to `nr`, or fails with ENOSYS (logged once per number).
        static SysResult Invoke(ulong nr, SyscallArgs* a)
        {
            SysResult r;
            if (nr < Size && Table[nr].Handler != null)
            {
                // The last line of "a kernel allocation failure on a syscall path is an errno":
                // with the kernel's reserve half gone, only calls that allocate nothing run.
                if (!Kernel.Memory.PhysicalMemory.KernelHasRoom(0) && !RunsWhenShort(nr))
                    r = nr == 56 || nr == 57 || nr == 58 || nr == 435 ? Errno.EAGAIN : Errno.ENOMEM;
                else r = Table[nr].Handler(a);
            }
            else
            {
                if (nr >= Size || !_reported[nr])
                {
                    if (nr < Size) _reported[nr] = true;
                    var w = Log.Begin(LogLevel.Warn, stackalloc byte[128]);
                    w.Str("unimplemented syscall "); w.Udec(nr);
                    if (nr < Size && Table[nr].Name != null) { w.Str(" ("); w.Str(Table[nr].Name); w.Str(")"); }
                    w.Str(": ENOSYS");
                    if (Log.Enabled(LogLevel.Warn)) Log.End(ref w);
                }
                r = Errno.ENOSYS;
            }
            return r;
        }

        /// A call through the vsyscall page (Faults.EmulateVsyscall): arguments in rdi, rsi, rdx.
        static long Vsyscall(int nr, InterruptFrame* f)
        {
            SyscallArgs a;
            a.A0 = f->Rdi; a.A1 = f->Rsi; a.A2 = f->Rdx; a.A3 = 0; a.A4 = 0; a.A5 = 0;
            a.Frame = f;
            long r = Table[nr].Handler != null ? Table[nr].Handler(&a).Raw : -(long)Errno.ENOSYS;
            Sched.Thread me = Sched.Scheduler.Current;
            if (me.CallRefCount != 0) Sys.DropCallRefs(me);
            return r;
        }

        /// Calls that allocate no kernel memory (or free it): they run even when memory is short.
        static bool RunsWhenShort(ulong nr) =>
            nr <= 1 || nr == 3 || nr == 8 || nr == 11 || nr == 15 || (nr >= 17 && nr <= 20) || nr == 24 || nr == 28 ||
            nr == 39 || nr == 60 || nr == 186 || nr == 231 || nr == 295 || nr == 296;   // read/write/close/lseek/munmap, p*/*v I/O, exit

        /// Self-test `syscall-table`: writes the numbers that have a handler, and how many
        /// bindings disagreed with SyscallList.cs, for a boot test to compare with the data.
        public static void DumpBound()
        {
            Init();
            System.Span<byte> line = stackalloc byte[64];
            Log.WriteRaw("@@BEGIN syscalls-bound\n");
            for (int i = 0; i < Size; i++)
            {
                if (Table[i].Handler == null) continue;
                var w = new LineWriter(line);
                w.Dec(i); w.Str(" "); w.Str(Table[i].Name); w.Str("\n");
                Log.WriteRaw(w.Written);
            }
            var e = new LineWriter(line);
            e.Str("@@END syscalls-bound mismatches="); e.Dec(_bindErrors); e.Str("\n");
            Log.WriteRaw(e.Written);
        }
    }
}
