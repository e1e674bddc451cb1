using System;
using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Arch;
using Kernel.Console;
using Kernel.Fs;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Abi;

namespace Kernel.Loader
{
    /// Starts the image's program: open the payload and root filesystem, load the ELF,
    /// build the stack and drop to ring 3.
    public static unsafe class ProcessStart
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "enter_user")]
        static extern void EnterUser(ulong rip, ulong rsp);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "syscall_kernel_rsp_addr")]
        static extern ulong* SyscallKernelRsp();

        static void Fail(string message)
        {
            Log.Error(message);
            Process.ReportAndPowerOff(127);
        }

        /// Starts the program from the boot module at [modulePhys, +moduleSize); `argvHex`
        /// and `envHex` (hex, from the command line) override the image's argv and
        /// environment when given.
        public static void Run(ulong modulePhys, ulong moduleSize, byte* argvHex, int argvHexLength, byte* envHex = null, int envHexLength = 0)
        {
            string error = Payload.Open(modulePhys, moduleSize, out Payload payload);
            if (error != null) { Fail(error); return; }
            error = ImageFs.Open(payload.Section(PayloadFormat.KindRootFs), out ImageFs.Root);
            if (error != null) { Fail(error); return; }

            // An image built with --root-disk keeps its root filesystem on a disk (an ext4
            // filesystem, the ROOTDISK section says which): mounting it waits for the disk,
            // which needs the program's thread, so the tree is built and the program loaded
            // once that runs (below). Otherwise, from the image's archive now.
            ReadOnlySpan<byte> rootDisk = payload.Section(PayloadFormat.KindRootDisk);
            bool onDisk = rootDisk.Length > 0;
            ReadOnlySpan<byte> progPath = TrimNul(payload.Section(PayloadFormat.KindProgram));
            IFileBacking programFile = null;
            ReadOnlySpan<byte> program = default;
            byte[] programCopy = null;
            if (!onDisk)
            {
                Vfs.Init();
                if (!ElfLoader.OpenProgram(progPath, out programFile, out program, out programCopy)) { Fail("program not found in the root filesystem"); return; }
            }

            var p = new Process(new UserMemory(), new FdTable());
            p.Pid = Process.AllocatePid();          // 1: the image's program is init
            p.Pgid = p.Sid = p.Pid;
            p.LiveThreads = 1;
            Process.Register(p);
            p.StartTimeNs = Time.Clock.MonotonicNs();
            p.ExePath = progPath.ToArrayBytes();
            p.Files.Install(0, new ConsoleFile(0), false);
            p.Files.Install(1, new ConsoleFile(1), false);
            p.Files.Install(2, new ConsoleFile(2), false);
            ulong entryPoint = 0;
            if (!onDisk)
            {
                error = StartTree(p, programFile, program, programCopy, out entryPoint);
                if (error != null) { Fail(error); return; }
            }

            // argv: the run-time override from the command line, else the image's.
            ReadOnlySpan<byte> argv = payload.Section(PayloadFormat.KindArgv);
            byte[] overrideArgv = DecodeHex(argvHex, argvHexLength);
            if (overrideArgv != null && overrideArgv.Length > 0) argv = overrideArgv;
            ReadOnlySpan<byte> envp = payload.Section(PayloadFormat.KindEnv);
            byte[] overrideEnv = DecodeHex(envHex, envHexLength);
            if (overrideEnv != null && overrideEnv.Length > 0) envp = overrideEnv;

            p.Memory.Space.Activate();
            var main = new Sched.Thread(p, p.Pid);
            main.KernelStackTop = KernelStacks.Allocate(Sched.Scheduler.ThreadStackPages);
            Gdt.SetKernelStack(main.KernelStackTop);
            *SyscallKernelRsp() = main.KernelStackTop;
            SetName(main, progPath);
            Sched.Scheduler.Init(main);
            Net.NetKernel.WaitReady();
            if (onDisk)
            {
                if (!Ext4Mount.MountRoot(rootDisk)) { Fail("the root disk could not be mounted (see the message above)"); return; }
                Vfs.Init(Ext4Mount.RootMount.Root);
                if (!ElfLoader.OpenProgram(progPath, out programFile, out program, out programCopy)) { Fail("program not found in the root filesystem"); return; }
                error = StartTree(p, programFile, program, programCopy, out entryPoint);
                if (error != null) { Fail(error); return; }
            }
            // Volumes need a thread to wait for the disk in: mounted here, before the program runs.
            if (!Ext4Mount.MountBootVolumes()) { Fail("a volume could not be mounted (see the message above)"); return; }

            ulong sp = ElfLoader.BuildStack(p, argv, CountStrings(argv), envp, CountStrings(envp), progPath);
            p.InitialStack = sp;
            DebugAnnounce.ProgramEntry(p.Elf.Entry + p.LoadBias);
            // Only the jump to user mode follows (no allocation); from then on kernel code runs
            // on the threads' kernel stacks, which the scheduler can walk.
            Runtime.Collector.Enable();
            Log.Debug("entering the program");
            EnterUser(entryPoint, sp);
        }

        /// Once the root is there: /proc, the process's cwd, and the program loaded.
        static string StartTree(Process p, IFileBacking programFile, ReadOnlySpan<byte> program, byte[] programCopy, out ulong entryPoint)
        {
            Vfs.Mount("proc"u8, ProcTree.Build(Vfs.ProcFs, p));
            p.Fs = Vfs.NewContext();
            fixed (byte* img = program) { p.ElfImage = img; p.ElfLength = program.Length; }
            p.ElfCopy = programCopy;
            return ElfLoader.Load(p, programFile, program, out entryPoint);
        }

        /// The thread's comm name: the program's basename, at most 15 bytes.
        static void SetName(Sched.Thread t, ReadOnlySpan<byte> path)
        {
            int slash = path.Length - 1;
            while (slash >= 0 && path[slash] != '/') slash--;
            ReadOnlySpan<byte> name = path.Slice(slash + 1);
            for (int i = 0; i < 15 && i < name.Length; i++) t.Name[i] = name[i];
        }

        static ReadOnlySpan<byte> TrimNul(ReadOnlySpan<byte> s)
        {
            int n = s.IndexOf((byte)0);
            return n >= 0 ? s.Slice(0, n) : s;
        }

        static int CountStrings(ReadOnlySpan<byte> list)
        {
            int n = 0;
            for (int i = 0; i < list.Length; i++) if (list[i] == 0) n++;
            return n;
        }

        static byte[] DecodeHex(byte* hex, int length)
        {
            if (hex == null || length < 2) return null;
            var bytes = new byte[length / 2];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(Nibble(hex[2 * i]) << 4 | Nibble(hex[2 * i + 1]));
            return bytes;
        }

        static int Nibble(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    }

    public static class SpanBytes
    {
        public static byte[] ToArrayBytes(this ReadOnlySpan<byte> s)
        {
            var a = new byte[s.Length];
            for (int i = 0; i < s.Length; i++) a[i] = s[i];
            return a;
        }
    }
}
