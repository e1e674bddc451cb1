using System;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kernel.Arch;
using Kernel.Console;
using Kernel.Memory;
using Kernel.Time;

namespace Kernel
{
    /// Boot sequence: each step depends only on the ones before it. This is the one place
    /// that wires the layers together (machine, then files, processes and the program).
    public static unsafe class Kmain
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "run_on_stack")]
        static extern void RunOnStack(ulong top, delegate*<void> fn);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "kernel_layout")]
        static extern void Layout(ulong* output);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "syscall_entry_addr")]
        static extern ulong SyscallEntry();

        public static StartInfo Boot;
        public static ulong BootTsc0, BootTsc1, BootTsc2, BootTsc3;
        public static BootOptions Options;
        public static ulong BootStackTop;           // the stack start-up (and the self-tests) run on
        public const ulong BootStackPages = 16;

        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "multiboot2_copy_addr")]
        static extern byte* Multiboot2Copy();
        const int Multiboot2CopySize = 16384;      // boot.S

        [UnmanagedCallersOnly(EntryPoint = "kmain")]
        static void Main(ulong startInfoPhys, ulong magic)
        {
            Clock.Init();
            BootTsc0 = Cpu.Rdtsc();
            string error;
            bool ok = magic == StartInfo.Multiboot2Magic
                ? StartInfo.TryReadMultiboot2(startInfoPhys, Multiboot2Copy(), Multiboot2CopySize, (ulong)Multiboot2Copy() - PhysicalMemory.KernelVma, out Boot, out error)
                : StartInfo.TryRead(startInfoPhys, out Boot, out error);
            if (!ok) Panic.Halt(error);
            Options = BootOptions.Parse(Boot.CommandLine);
            Log.Threshold = (LogLevel)Options.LogLevel;

            // Memory: frames from the firmware map, then our own page tables.
            Span<MemoryRegion> ram = stackalloc MemoryRegion[64];
            int n = MemoryMap.Parse(new ReadOnlySpan<byte>(PhysicalMemory.ToVirtual(Boot.MemMapPhys), (int)Boot.MemMapEntries * MemoryMap.EntrySize), ram);
            ulong* layout = stackalloc ulong[7];
            Layout(layout);
            PhysicalMemory.Init(ram.Slice(0, n), layout[6] - PhysicalMemory.KernelVma, Boot.ModulePhys, Boot.ModulePhys + Boot.ModuleSize);
            Runtime.GcHeap.Init();
            Runtime.ModuleInit.Run();
            PhysicalMemory.Reclaim = &Runtime.Collector.Reclaim;     // memory short: collect before saying no
            Fs.Inode.Truncated = &Proc.Process.UnmapFileBeyond;      // truncate unmaps the pages past the end
            BootTsc1 = Cpu.Rdtsc();
            KernelPaging.Init();
            BootTsc2 = Cpu.Rdtsc();
            BootStackTop = KernelStacks.Allocate(BootStackPages);
            RunOnStack(BootStackTop, &Continue);
        }

        static void Continue()
        {
            Smp.InitBsp();
            Smp.EnterKernel(false);                 // the big kernel lock: held until the program runs
            Gdt.Init();
            Interrupts.Init();
            Umip.Enable();
            BootTsc3 = Cpu.Rdtsc();
            Timer.Init();
            var wt = Log.Begin(LogLevel.Debug, stackalloc byte[160]);
            wt.Str("boot phases (us): memory "); wt.Udec(Clock.TicksToNs(BootTsc1 - BootTsc0) / 1000);
            wt.Str(", paging "); wt.Udec(Clock.TicksToNs(BootTsc2 - BootTsc1) / 1000);
            wt.Str(", gdt/idt "); wt.Udec(Clock.TicksToNs(BootTsc3 - BootTsc2) / 1000);
            wt.Str(", timer "); wt.Udec(Clock.TicksToNs(Cpu.Rdtsc() - BootTsc3) / 1000);
            if (Log.Enabled(LogLevel.Debug)) Log.End(ref wt);
            Rtc.Init();
            Fs.SerialConsole.TtyMask = Options.TtyMask;
            if (!Options.StdioVirtio) Fs.SerialConsole.Init();
            Proc.Faults.Init();
            var w = Log.Begin(LogLevel.Info, stackalloc byte[160]);
            w.Str("boot: "); w.Udec(PhysicalMemory.TotalBytes >> 20); w.Str(" MiB RAM, heap ");
            w.Udec(Heap.BytesInUse >> 10); w.Str(" KiB");
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
            WireLayers();
            Drivers.VirtioBus.Probe(Boot.CommandLine != 0 ? (byte*)PhysicalMemory.ToVirtual(Boot.CommandLine) : null, Boot.RsdpPhys);
            if (Options.StdioVirtio && !Fs.VirtioStdio.Init())
            {
                Log.Error("stdio=virtio but no virtio-console with ports 1 and 2; stdio falls back to the serial ports");
                Fs.SerialConsole.Init();
            }
            SelfTest.Run(Options);
            Net.NetKernel.Start(Boot.CommandLine != 0 ? (byte*)PhysicalMemory.ToVirtual(Boot.CommandLine) : null);
            Smp.StartAll(Boot.RsdpPhys, Smp.MaxCpus);   // they wait for the lock, which the program's start gives up
            StartProgram();
        }

        /// The lower layers reach the ones above them only through these hooks.
        static void WireLayers()
        {
            // The syscall instruction enters syscall_entry, which calls the table's dispatcher.
            Syscalls.SyscallTable.Init();
            Cpu.Wrmsr(0xC0000081, (0x10UL << 48) | (0x08UL << 32));     // STAR: sysret base 0x10, syscall cs 0x08
            Cpu.Wrmsr(0xC0000082, SyscallEntry());                         // LSTAR
            Cpu.Wrmsr(0xC0000084, 0x47700);                                // FMASK: TF DF IF IOPL NT AC
            if (Options.Strace)
            {
                Syscalls.Strace.Enabled = true;
                Proc.Signals.OnDeliver = &Syscalls.Strace.Delivered;
                Proc.Signals.OnKilled = &Syscalls.Strace.Killed;
            }
            DebugHooks.Enabled = Options.Gdb;
            Sched.Scheduler.SignalPending = &Proc.Signals.HasDeliverable;
            Fs.SerialConsole.OnStopRequest = &Proc.Process.StopRequested;
            Fs.FdTable.NofileLimit = &Proc.Process.CurrentNofileLimit;
            Fs.InodeFile.FileSizeLimit = &Proc.Process.CurrentFileSizeLimit;
            Fs.InodeFile.FileTooBig = &Proc.Signals.SendSigxfsz;
            Sched.Scheduler.OnTimerTick = &Proc.Itimers.OnTick;
            Sched.Scheduler.NeedsTick = &Proc.Itimers.NeedsTick;
            Sched.Scheduler.BeforeUserReturn = &Proc.Signals.DeliverPending;
            Fs.Pipe.SendSigpipe = &Proc.Signals.SendSigpipe;
            Fs.Tty.SignalGroup = &Syscalls.Sys.TtySignalGroup;             // terminals: ISIG characters, SIGWINCH
            Fs.Tty.HungUpSession = &Syscalls.Sys.TtyHungUp;
            Fs.Tty.CallerCtty = &Syscalls.Sys.CallerCtty;
            Proc.Process.OnThreadExit = &Syscalls.Sys.ReleaseThread;       // robust futexes, clear_child_tid
            Syscalls.Sys.ExecHook = &Loader.Exec.Run;                     // execve lives in the loader
            Drivers.WaitPoint.Create = &Sched.DriverWait.Create;     // drivers block threads until their interrupt
            Smp.OnCpuPrepare = &Sched.Scheduler.PrepareCpu;          // each CPU's idle thread
            Smp.OnCpuOnline = &Sched.Scheduler.RunCpu;
            // The collector walks the threads' stacks through the scheduler; it starts
            // collecting once the program's first thread runs (Collector.Enable).
            Runtime.Collector.Configure(&Sched.Scheduler.ScanStacks, Options.GcStress);
        }

        /// After the machine is set up: start the program from the boot module, if any.
        static void StartProgram()
        {
            if (Boot.ModuleSize == 0)
            {
                Log.Info("no program image (no initrd); powering off");
                Log.WriteRaw("@@UKEXIT 0\n");
                Power.Exit(0);
            }
            Fs.Ext4Mount.BootSpec = Options.Volumes; Fs.Ext4Mount.BootSpecLength = Options.VolumesLength;
            Fs.Ext4Mount.RootDisk = Options.RootDisk;
            Loader.ProcessStart.Run(Boot.ModulePhys, Boot.ModuleSize, Options.Argv, Options.ArgvHexLength, Options.Env, Options.EnvHexLength);
        }
    }
}
