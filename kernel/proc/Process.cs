using System;
using Kernel.Abi;
using Kernel.Arch;
using Kernel.Console;
using Kernel.Fs;
using Kernel.Loader;
using Kernel.Memory;
using Kernel.Sched;

namespace Kernel.Proc
{
    /// The running program: its memory, open files, signal dispositions and identity.
    /// There is one process (pid 1) and one thread until clone arrives.
    public sealed unsafe class Process : ThreadGroup
    {
        /// The process thread `t` belongs to (null for a kernel thread). A syscall finds its
        /// process through the thread that makes it: there is no "current process" global.
        public static Process Of(Thread t) => t == null ? null : (Process)t.Group;

        // Every process (one until fork/execve), for what runs outside any process's
        // thread: the timer tick's interval timers.
        static Process[] _all = new Process[4];
        static int _count;
        public static int Count => _count;
        public static Process At(int i) => _all[i];
        public static void Register(Process p)
        {
            if (_count == _all.Length)
            {
                var bigger = new Process[_all.Length * 2];
                for (int i = 0; i < _count; i++) bigger[i] = _all[i];
                _all = bigger;
            }
            _all[_count++] = p;
        }

        public readonly UserMemory Memory = new UserMemory();
        public readonly FdTable Files = new FdTable();
        public FsContext Fs;               // cwd (fs/Vfs.cs)
        public readonly SigAction[] Actions = new SigAction[Signal.Count + 1];
        public ulong PendingSignals;                            // process-directed; per-thread ones live on Thread
        public readonly SigInfoData[] SigInfos = new SigInfoData[Signal.Count + 1];
        public readonly QueuedSignal[] SigQueue = new QueuedSignal[256];    // queued real-time signals (RLIMIT_SIGPENDING-like bound)
        public int SigQueued;
        public int Pid = 1, ParentPid = 0;
        public uint Umask = 0x12;
        public int DeathSignal, Dumpable = 1, Nice;
        public bool NoNewPrivs, ChildSubreaper;
        int _nextTid = 2;
        public int AllocateTid() => _nextTid++;
        public byte[] ExePath;             // absolute path inside the root filesystem
        public byte* ElfImage;             // the program file, for symbolising faults
        public int ElfLength;
        public ElfFile Elf;
        public ulong LoadBias;
        public ulong InterpBase;           // AT_BASE: where the dynamic linker was mapped (0 if static)
        public ulong StartTimeNs;
        public ulong InitialStack;         // the initial stack pointer (argc), for /proc/self/{cmdline,environ,auxv,stat}
        public readonly Rlimit[] Limits = DefaultLimits();
        public readonly Itimers Itimers = new Itimers();   // setitimer/alarm and POSIX timers

        /// Resource limits a process starts with (RLIMIT_NLIMITS = 16).
        static Rlimit[] DefaultLimits()
        {
            var l = new Rlimit[16];
            for (int i = 0; i < 16; i++) l[i] = new Rlimit { Cur = ulong.MaxValue, Max = ulong.MaxValue };
            l[3] = new Rlimit { Cur = 8UL << 20, Max = ulong.MaxValue };       // STACK
            l[4] = new Rlimit { Cur = 0, Max = ulong.MaxValue };               // CORE
            l[7] = new Rlimit { Cur = 1024, Max = 4096 };                      // NOFILE
            l[8] = new Rlimit { Cur = 8UL << 20, Max = 8UL << 20 };            // MEMLOCK
            l[6] = new Rlimit { Cur = 4096, Max = 4096 };                      // NPROC
            l[11] = new Rlimit { Cur = 4096, Max = 4096 };                     // SIGPENDING
            l[12] = new Rlimit { Cur = 819200, Max = 819200 };                 // MSGQUEUE
            return l;
        }

        /// exit_group: report the status to the host and power off.
        public void Exit(int status)
        {
            status &= 0xff;
            if (Log.Enabled(LogLevel.Info))        // ukpack run -v: the memory figures at exit
            {
                var w = Log.Begin(LogLevel.Info, stackalloc byte[192]);
                w.Str("program exited with status "); w.Dec(status);
                w.Str("; memory in use "); w.Udec((PhysicalMemory.TotalBytes - PhysicalMemory.FreeBytes) >> 10);
                w.Str(" KiB of "); w.Udec(PhysicalMemory.TotalBytes >> 10);
                w.Str(" KiB, kernel heap high-water "); w.Udec(Heap.HighWater >> 10); w.Str(" KiB");
                Log.End(ref w);
                w = Log.Begin(LogLevel.Info, stackalloc byte[192]);
                w.Str("managed heap "); w.Udec(Runtime.GcHeap.BytesInUse >> 10); w.Str(" KiB in ");
                w.Udec(Runtime.GcHeap.SpanPages + Runtime.GcHeap.LargePages); w.Str(" pages; ");
                w.Udec(Runtime.Collector.Collections); w.Str(" collections freed ");
                w.Udec(Runtime.Collector.TotalFreedBytes >> 10); w.Str(" KiB, pause max ");
                w.Udec(Runtime.Collector.MaxPauseNs / 1000); w.Str(" us, total ");
                w.Udec(Runtime.Collector.TotalPauseNs / 1000); w.Str(" us");
                Log.End(ref w);
            }
            ReportAndPowerOff(status);
        }

        public static void ReportAndPowerOff(int status)
        {
            SerialConsole.Com1.WaitTransmitted();
            SerialConsole.Com2.WaitTransmitted();
            var e = new LineWriter(stackalloc byte[32]);
            e.Str("@@UKEXIT "); e.Dec(status); e.Byte((byte)'\n');
            Log.WriteRaw(e.Written);
            Power.Exit(0);
        }

        /// Death by a signal's default action: one line for the host, status 128+N.
        public void KillBySignal(int sig, InterruptFrame* f, ulong faultAddress, bool hasAddress)
        {
            if (Signals.OnKilled != null) Signals.OnKilled(sig, faultAddress, hasAddress);
            // A SIGPIPE death is routine (a reader closed the pipe): shells say nothing, nor do we.
            var w = Log.Begin(sig == Signal.SIGPIPE ? LogLevel.Warn : LogLevel.Error, stackalloc byte[320]);
            w.Str("program killed by "); w.Str(Signal.Name(sig));
            if (f != null)
            {
                if (hasAddress) { w.Str(" at address "); w.Hex(faultAddress); }
                w.Str(", ip "); w.Hex(f->Rip);
                if (Elf != null && ElfImage != null)
                {
                    var file = new ReadOnlySpan<byte>(ElfImage, ElfLength);
                    if (Elf.FindSymbol(file, f->Rip - LoadBias, out ElfSymbol sym) && sym.NameLength > 0)
                    {
                        w.Str(" ("); w.Bytes(file.Slice(sym.NameOffset, sym.NameLength));
                        w.Str("+"); w.Hex(sym.Offset); w.Str(")");
                    }
                }
            }
            if (Log.Enabled(sig == Signal.SIGPIPE ? LogLevel.Warn : LogLevel.Error)) Log.End(ref w);
            ReportAndPowerOff(128 + sig);
        }
    }
}
