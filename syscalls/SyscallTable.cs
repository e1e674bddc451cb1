using Kernel.Arch;
using Kernel.Console;
using Kernel.Abi;
using Kernel.Proc;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    public enum Support { Full, Partial, None }

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

    /// The one table of system calls: number, name, handler, how complete it is, and a note.
    /// The dispatcher, the support page (docs/syscalls.md, from `test=syscall-table`) and
    /// the unknown-syscall log all read it.
    public static unsafe partial class SyscallTable
    {
        public const int Size = 512;
        public static SyscallInfo[] Table;
        static bool[] _reported;

        static void Add(int nr, string name, delegate*<SyscallArgs*, SysResult> handler, Support level = Support.Full, string note = null)
        {
            Table[nr] = new SyscallInfo { Number = nr, Name = name, Handler = handler, Level = level, Note = note };
        }

        public static void Init()
        {
            if (Table != null) return;
            Table = new SyscallInfo[Size];
            _reported = new bool[Size];
            Register();
            Interrupts.SyscallHandler = &Dispatch;
        }

        static InterruptFrame* Dispatch(InterruptFrame* f)
        {
            ulong nr = f->Rax;
            SyscallArgs a;
            a.A0 = f->Rdi; a.A1 = f->Rsi; a.A2 = f->Rdx; a.A3 = f->R10; a.A4 = f->R8; a.A5 = f->R9;
            a.Frame = f;
            Sched.Thread me = Sched.Scheduler.Current;
            me.SyscallFrame = f;
            SysResult r;
            if (nr < Size && Table[nr].Handler != null) r = Table[nr].Handler(&a);
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
            // A blocking call cut short by a signal (ERESTARTSYS, internal) restarts when no
            // handler runs or the handler has SA_RESTART (the syscall instruction is 2 bytes),
            // and fails with EINTR otherwise. No other result is interpreted here.
            if (r.Is(Errno.ERESTARTSYS))
            {
                if (Proc.Signals.ShouldRestart(me)) { f->Rax = nr; f->Rip -= 2; }
                else f->Rax = unchecked((ulong)-(long)Errno.EINTR);
            }
            else f->Rax = (ulong)r.Raw;
            Proc.Signals.DeliverPending(f);
            // sigsuspend-style temporary masks end with the call when no handler frame took them.
            if (me.RestoreMaskAfterSignal) { me.SignalMask = me.SavedMaskForSuspend; me.RestoreMaskAfterSignal = false; }
            return f;
        }

        /// Writes the table as the markdown of docs/syscalls.md to the kernel log.
        public static void DumpMarkdown()
        {
            Init();
            Log.WriteRaw("@@BEGIN syscalls.md\n");
            Log.WriteRaw("# System calls\n\nGenerated from syscalls/SyscallTable.cs by `make docs`; a test fails when it is stale.\n\n");
            Log.WriteRaw("| nr | name | support | note |\n| --- | --- | --- | --- |\n");
            System.Span<byte> line = stackalloc byte[512];        // one buffer: stackalloc in a loop would grow the stack
            for (int i = 0; i < Size; i++)
            {
                if (Table[i].Name == null) continue;
                var w = new LineWriter(line);
                w.Str("| "); w.Dec(i); w.Str(" | "); w.Str(Table[i].Name); w.Str(" | ");
                w.Str(Table[i].Handler == null || Table[i].Level == Support.None ? "none" : Table[i].Level == Support.Partial ? "partial" : "full");
                w.Str(" | "); if (Table[i].Note != null) w.Str(Table[i].Note); w.Str(" |\n");
                Log.WriteRaw(w.Written);
            }
            Log.WriteRaw("@@END syscalls.md\n");
        }
    }
}
