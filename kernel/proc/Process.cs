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
        public static Process Current;

        /// The process thread `t` belongs to (null for a kernel thread).
        public static Process Of(Thread t) => (Process)t.Group;

        public readonly UserMemory Memory = new UserMemory();
        public readonly FdTable Files = new FdTable();
        public FsContext Fs;               // cwd (fs/Vfs.cs)
        public readonly SigAction[] Actions = new SigAction[Signal.Count + 1];
        public ulong PendingSignals;                            // process-directed; per-thread ones live on Thread
        public readonly Proc.SigInfoData[] SigInfos = new Proc.SigInfoData[Signal.Count + 1];
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

        /// exit_group: report the status to the host and power off.
        public void Exit(int status)
        {
            status &= 0xff;
            if (Log.Enabled(LogLevel.Debug))
            {
                var w = Log.Begin(LogLevel.Debug, stackalloc byte[192]);
                w.Str("program exited with status "); w.Dec(status);
                w.Str("; memory in use "); w.Udec((PhysicalMemory.TotalBytes - PhysicalMemory.FreeBytes) >> 10);
                w.Str(" KiB of "); w.Udec(PhysicalMemory.TotalBytes >> 10);
                w.Str(" KiB, kernel heap high-water "); w.Udec(Heap.HighWater >> 10); w.Str(" KiB");
                Log.End(ref w);
            }
            ReportAndPowerOff(status);
        }

        public static void ReportAndPowerOff(int status)
        {
            var e = new LineWriter(stackalloc byte[32]);
            e.Str("@@UKEXIT "); e.Dec(status); e.Byte((byte)'\n');
            Log.WriteRaw(e.Written);
            Power.Exit(0);
        }

        /// Death by a signal's default action: one line for the host, status 128+N.
        public void KillBySignal(int sig, InterruptFrame* f, ulong faultAddress, bool hasAddress)
        {
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
