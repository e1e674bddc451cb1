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
    /// A process: its memory, open files, signal dispositions and identity, and its place
    /// in the tree (parent, process group, session). Its threads are the scheduler's; the
    /// last one to end leaves a zombie until the parent waits for it.
    public sealed unsafe class Process : ThreadGroup
    {
        /// The process thread `t` belongs to (null for a kernel thread). A syscall finds its
        /// process through the thread that makes it: there is no "current process" global.
        public static Process Of(Thread t) => t == null ? null : (Process)t.Group;

        // Every process, zombies included until they are reaped.
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

        /// Inode.Truncated: every process's mappings of `f` lose their pages past `size`.
        public static void UnmapFileBeyond(Kernel.Fs.Inode f, long size)
        {
            for (int i = 0; i < _count; i++)
                if (_all[i].Memory != null) _all[i].Memory.UnmapFileBeyond(f, size);
        }

        static void Unregister(Process p)
        {
            for (int i = 0; i < _count; i++)
                if (_all[i] == p)
                {
                    _all[i] = _all[--_count];
                    _all[_count] = null;
                    return;
                }
        }

        /// The process with pid `pid` (zombies included), or null.
        public static Process Find(int pid)
        {
            for (int i = 0; i < _count; i++) if (_all[i].Pid == pid) return _all[i];
            return null;
        }

        /// Tasks (threads of live processes, and zombies) whose real uid is `uid`: what
        /// RLIMIT_NPROC limits.
        public static int TasksOfUser(uint uid)
        {
            int n = 0;
            for (int i = 0; i < _count; i++)
                if (_all[i].Ruid == uid) n += _all[i].Zombie || _all[i].LiveThreads < 1 ? 1 : _all[i].LiveThreads;
            return n;
        }

        /// Processes that are not zombies.
        public static int LiveCount
        {
            get { int n = 0; for (int i = 0; i < _count; i++) if (!_all[i].Zombie) n++; return n; }
        }

        // Pids and tids come from one space, as on Linux: the next free number, wrapping at
        // pid_max to 300.
        const int PidMax = 32768;
        static int _nextPid = 1;
        /// The last pid handed out and how many processes were created (/proc/loadavg, /proc/stat).
        public static int LastPid;
        public static ulong Forks;

        public static int AllocatePid()
        {
            for (int tries = 0; tries < PidMax; tries++)
            {
                int n = _nextPid++;
                if (_nextPid >= PidMax) _nextPid = 300;
                if (Find(n) == null && Scheduler.Find(n) == null && !IsGroupId(n)) { LastPid = n; Forks++; return n; }
            }
            return -1;
        }

        /// Whether `id` names a live process group or session (not reused while it does).
        static bool IsGroupId(int id)
        {
            for (int i = 0; i < _count; i++) if (_all[i].Pgid == id || _all[i].Sid == id) return true;
            return false;
        }

        public Process(UserMemory memory, FdTable files)
        {
            Files = files;
            SetMemory(memory);
        }

        /// Runs this process on `m` (its threads switch CR3 to it).
        public void SetMemory(UserMemory m) { Memory = m; PageRoot = m.Space.Root; }

        public UserMemory Memory;
        public FdTable Files;
        public Process Parent;
        public int Pgid, Sid;
        /// Gave up its session's controlling terminal (TIOCNOTTY by a process that does not lead
        /// the session); inherited by fork.
        public bool NoCtty;
        public int ParentPid => Parent == null ? 0 : Parent.Pid;
        /// What the parent is sent when this process ends (clone's low byte; SIGCHLD for fork).
        public int ExitSignal = Signal.SIGCHLD;
        public int LiveThreads;
        public bool Exiting, Zombie;
        public object ProcNode;            // its /proc/PID directory, once looked up
        public bool Execed;
        // Job control: stopped by SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU until SIGCONT; a stop or a
        // continue not yet reported to wait4's WUNTRACED/WCONTINUED.
        public bool Stopped, ReportStop, ReportCont;
        public int StopSignal;                // has called execve (setpgid from the parent is EACCES then)
        public int WaitStatus;             // wait4's status once it ended
        public ulong ChildrenCpuNs;        // CPU time of reaped children (times, getrusage)
        public ulong CpuNs;                // this process's CPU time when it ended
        public ulong MinFlt, ChildrenMinFlt;   // page faults served (ru_minflt), its own and its reaped children's
        /// Threads of this process waiting for a child to change state (wait4, waitid).
        public readonly WaitQueue ChildEvents = new WaitQueue();
        /// A vfork child: its parent's thread, blocked until this process execs or ends.
        public Thread VforkParent;
        public bool VforkDone;

        public FsContext Fs;               // cwd (fs/Vfs.cs)
        public SigAction[] Actions = new SigAction[Signal.Count + 1];      // shared by CLONE_SIGHAND
        public ulong PendingSignals;                            // process-directed; per-thread ones live on Thread
        /// Announced when a signal is queued to the process or one of its threads, and when a
        /// signalfd's mask is set in it: where its threads' polls of a signalfd wait (the
        /// reader's own signals are what a signalfd reads, as Linux's sighand wait queue).
        public readonly PollHead SignalHead = new PollHead();
        /// Announced when the process ends (a zombie): its pidfds' pollers (PidFd).
        public readonly PollHead ExitHead = new PollHead();
        public readonly SigInfoData[] SigInfos = new SigInfoData[Signal.Count + 1];
        public readonly QueuedSignal[] SigQueue = new QueuedSignal[256];    // queued real-time signals (RLIMIT_SIGPENDING-like bound)
        public int SigQueued;
        public int Pid = 1;
        public uint Umask = 0x12;
        public int DeathSignal, Dumpable = 1, Nice;
        public bool NoNewPrivs, ChildSubreaper;
        public int AllocateTid() => AllocatePid();
        public byte[] ExePath;             // absolute path inside the root filesystem
        public byte* ElfImage;             // the program file, for symbolising faults
        public byte[] ElfCopy;             // ElfImage's memory when the program is not an image file read in place
        public int ElfLength;
        public ElfFile Elf;
        public ulong LoadBias;
        public ulong InterpBase;           // AT_BASE: where the dynamic linker was mapped (0 if static)
        public ulong StartTimeNs;
        public ulong InitialStack;         // the initial stack pointer (argc), for /proc/self/{cmdline,environ,auxv,stat}
        public Rlimit[] Limits = DefaultLimits();
        public readonly Itimers Itimers = new Itimers();   // setitimer/alarm and POSIX timers

        /// Resource limits a process starts with (RLIMIT_NLIMITS = 16).
        /// RLIMIT_NOFILE's soft limit for the calling thread's process (FdTable.NofileLimit).
        public static int CurrentNofileLimit()
        {
            Process p = Of(Scheduler.Current);
            if (p == null) return 1024;
            ulong cur = p.Limits[7].Cur;
            return cur > (ulong)FdTable.NrOpen ? FdTable.NrOpen : (int)cur;
        }

        /// RLIMIT_FSIZE's soft limit for the calling thread's process (InodeFile.FileSizeLimit).
        public static ulong CurrentFileSizeLimit()
        {
            Process p = Of(Scheduler.Current);
            return p == null ? ulong.MaxValue : p.Limits[1].Cur;
        }

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

        /// exit_group(2): every thread of the process ends with `status`. Pid 1 (the image's
        /// program) reports it to the host and powers off, as a container ends with its init.
        public void Exit(int status)
        {
            status &= 0xff;
            if (Pid != 1) ExitGroup(status << 8);
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
                w = Log.Begin(LogLevel.Info, stackalloc byte[96]);
                w.Str("poll heads: "); w.Udec(PollEvents.Announcements); w.Str(" changes announced, ");
                w.Udec(PollEvents.Callbacks); w.Str(" entries called");
                Log.End(ref w);
            }
            Arch.Smp.Report();                     // the big kernel lock's waits, with -v --log 3
            Net.NetKernel.DrainBeforeExit();
            ReportAndPowerOff(status);
        }

        /// The host asked the program to stop (`ukpack run` got SIGTERM): pid 1 gets SIGTERM
        /// from the kernel, as a container's init does from `docker stop`.
        public static void StopRequested()
        {
            Process init = Find(1);
            if (init != null && !init.Zombie && !init.Exiting)
                Signals.Send(init, null, Signal.SIGTERM, new SigInfoData { Code = SigCodes.SI_KERNEL });
        }

        public static void ReportAndPowerOff(int status)
        {
            Ext4Mount.UnmountAll();             // volumes written back and marked clean
            VirtioStdio.Drain();
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
            if (Pid != 1)
            {
                if (Log.Enabled(LogLevel.Debug))
                {
                    var d = Log.Begin(LogLevel.Debug, stackalloc byte[96]);
                    d.Str("process "); d.Dec(Pid); d.Str(" killed by "); d.Str(Signal.Name(sig));
                    Log.End(ref d);
                }
                ExitGroup(sig);
            }
            // A SIGPIPE death is routine (a reader closed the pipe): shells say nothing, nor do we.
            var w = Log.Begin(sig == Signal.SIGPIPE ? LogLevel.Warn : LogLevel.Error, stackalloc byte[320]);
            w.Str("program killed by "); w.Str(Signal.Name(sig));
            if (f != null)
            {
                if (hasAddress) { w.Str(" at address "); w.Hex(faultAddress); }
                w.Str(", ip "); w.Hex(f->Rip);
                DescribeCode(ref w, f->Rip);
            }
            if (Log.Enabled(sig == Signal.SIGPIPE ? LogLevel.Warn : LogLevel.Error)) Log.End(ref w);
            ReportAndPowerOff(128 + sig);
        }

        /// Names the code at `ip` for a crash line: " (symbol+0xN)" in the program, or
        /// " (symbol+0xN in /path/lib.so)" in another ELF file of the image mapped there.
        void DescribeCode(ref LineWriter w, ulong ip)
        {
            if (Elf != null && ElfImage != null && ip - LoadBias >= Elf.MinVAddr && ip - LoadBias < Elf.MaxVAddr)
            {
                var program = new ReadOnlySpan<byte>(ElfImage, ElfLength);
                if (Elf.FindSymbol(program, ip - LoadBias, out ElfSymbol own) && own.NameLength > 0)
                {
                    w.Str(" ("); w.Bytes(program.Slice(own.NameOffset, own.NameLength));
                    w.Str("+"); w.Hex(own.Offset); w.Str(")");
                    return;
                }
            }
            if (!(Memory.FileOf(ip) is MemFile f) || !f.ImageBytes(out ReadOnlySpan<byte> file)) return;
            if (ElfFile.Parse(file, out ElfFile elf) != ElfError.None) return;
            ulong offset = Memory.FileOffsetOf(ip);
            Span<byte> path = stackalloc byte[256];
            int len = Vfs.PathOf(f, path, out _);
            w.Str(" (");
            int i = elf.LoadSegmentAt(offset);
            if (i >= 0 && elf.FindSymbol(file, elf.Segments[i].VAddr + (offset - elf.Segments[i].Offset), out ElfSymbol sym) && sym.NameLength > 0)
            {
                w.Bytes(file.Slice(sym.NameOffset, sym.NameLength));
                w.Str("+"); w.Hex(sym.Offset); w.Str(" ");
            }
            w.Str("in "); if (len > 0) w.Bytes(path.Slice(0, len));
            w.Str("+"); w.Hex(offset); w.Str(")");
        }

        // ---- the end of a process ----

        /// Thread teardown the program can see (robust futexes, CLONE_CHILD_CLEARTID): the
        /// syscall layer's, installed at start-up.
        public static delegate*<Thread, void> OnThreadExit;

        /// The process ends with wait status `waitStatus`: its other threads are told to end
        /// (each at its next return to user mode), then the calling thread ends. Never returns.
        public void ExitGroup(int waitStatus)
        {
            Thread me = Scheduler.Current;
            if (!Exiting)
            {
                Exiting = true;
                WaitStatus = waitStatus;
                KillOtherThreads(me);
            }
            ExitThread(me);
        }

        /// Tells every thread of this process but `me` to end; blocked ones wake to do so.
        public void KillOtherThreads(Thread me)
        {
            for (int i = 0; i < Scheduler.Slots; i++)
            {
                Thread t = Scheduler.At(i);
                if (t == null || t == me || t.Group != this || t.State == ThreadState.Dead) continue;
                t.Killed = true;
                if (t.State == ThreadState.Blocked && (t.Interruptible || t.InStopWait))
                {
                    Futex.Forget(t);
                    Scheduler.Wake(t, WakeReason.Interrupted);
                }
                else Scheduler.Interrupt(t);
            }
        }

        /// The calling thread `me` of this process ends; the last one finishes the process.
        /// Never returns.
        public void ExitThread(Thread me)
        {
            me.Killed = false;
            if (OnThreadExit != null) OnThreadExit(me);
            CpuNs += Scheduler.CpuTime(me);
            LiveThreads--;
            if (LiveThreads <= 0)
            {
                if (Pid == 1) Exit((WaitStatus >> 8) & 0xff);     // pid 1 reports and powers off itself
                Finish();
            }
            Scheduler.ExitCurrent();
        }

        /// The last thread has gone: files, memory and timers go, children move to pid 1, and
        /// the process stays a zombie for its parent (or goes at once when the parent ignores
        /// SIGCHLD).
        void Finish()
        {
            Itimers.StopAll();
            Kernel.Fs.FileLocks.ReleaseAll(this);          // its POSIX record locks
            Files.Release();
            Memory.Release();
            ReleaseVforkParent();
            Process reaper = NewReaper();
            for (int i = 0; i < _count; i++)
            {
                Process c = _all[i];
                if (c.Parent != this) continue;
                c.Parent = reaper;
                c.ExitSignal = Signal.SIGCHLD;            // a clone child's own exit signal is not for its new parent (as Linux)
                // PR_SET_PDEATHSIG: the child hears that its parent ended.
                if (c.DeathSignal != 0 && !c.Zombie)
                    Signals.Send(c, null, c.DeathSignal, new SigInfoData { Pid = Pid, Code = SigCodes.SI_USER });
                if (c.Zombie) ChildEnded(c);
            }
            Zombie = true;
            ExitHead.Changed();
            ChildEnded(this);
        }

        /// Who adopts this ending process's children: the nearest ancestor that set
        /// PR_SET_CHILD_SUBREAPER and is not itself ending, else pid 1.
        Process NewReaper()
        {
            for (Process a = Parent; a != null && a.Pid != 1; a = a.Parent)
                if (a.ChildSubreaper && !a.Exiting && !a.Zombie) return a;
            return Find(1);
        }

        /// A vfork child execs or ends: its parent resumes.
        public void ReleaseVforkParent()
        {
            Thread t = VforkParent;
            if (t == null) return;
            VforkParent = null;
            VforkDone = true;
            Scheduler.Wake(t, WakeReason.Woken);
        }

        /// Zombie `c` is there for its parent: SIGCHLD (or its exit signal) and a wake-up of
        /// the parent's waiters; reaped at once when the parent ignores SIGCHLD or set
        /// SA_NOCLDWAIT.
        static void ChildEnded(Process c)
        {
            Process p = c.Parent;
            if (p == null || p.Zombie) { Unregister(c); return; }
            SigAction chld = p.Actions[Signal.SIGCHLD];
            bool autoReap = c.ExitSignal == Signal.SIGCHLD && (chld.Handler == 1 || (chld.Flags & SigCodes.SA_NOCLDWAIT) != 0);
            if (c.ExitSignal != 0)
            {
                int st = c.WaitStatus;
                var info = new SigInfoData { Pid = c.Pid, Code = (st & 0x7f) == 0 ? CLD_EXITED : CLD_KILLED, Status = (st & 0x7f) == 0 ? (st >> 8) & 0xff : st & 0x7f };
                Signals.Send(p, null, c.ExitSignal, info);
            }
            if (autoReap) { p.ChildrenCpuNs += c.CpuNs; p.ChildrenMinFlt += c.MinFlt + c.ChildrenMinFlt; Unregister(c); }
            p.ChildEvents.WakeAll();
        }

        /// A stop signal's default action: the process stops (its threads park at their next
        /// return to user mode) and the parent hears of it (CLD_STOPPED) unless SA_NOCLDSTOP.
        public void Stop(int sig)
        {
            if (Stopped) return;
            Stopped = true; StopSignal = sig; ReportStop = true; ReportCont = false;
            NotifyParentJob(CLD_STOPPED, sig);
        }

        /// SIGCONT: a stopped process goes on (CLD_CONTINUED to the parent unless SA_NOCLDSTOP).
        public void Continue()
        {
            if (!Stopped) return;
            Stopped = false; ReportStop = false; ReportCont = true;
            WakeStopped();
            NotifyParentJob(CLD_CONTINUED, Signal.SIGCONT);
        }

        /// Wakes this process's threads parked by a stop (SIGCONT, or SIGKILL to end them).
        public void WakeStopped()
        {
            for (int i = 0; i < Scheduler.Slots; i++)
            {
                Thread t = Scheduler.At(i);
                if (t != null && t.Group == this && t.InStopWait && t.State == ThreadState.Blocked) Scheduler.Wake(t, WakeReason.Woken);
            }
        }

        void NotifyParentJob(int code, int sig)
        {
            Process p = Parent;
            if (p == null || p.Zombie) return;
            if ((p.Actions[Signal.SIGCHLD].Flags & SigCodes.SA_NOCLDSTOP) == 0)
                Signals.Send(p, null, Signal.SIGCHLD, new SigInfoData { Pid = Pid, Code = code, Status = sig });
            p.ChildEvents.WakeAll();
        }

        public const int CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_TRAPPED = 4, CLD_STOPPED = 5, CLD_CONTINUED = 6;

        /// wait4/waitid: takes zombie child `c` away (its pid is free again).
        public void Reap(Process c)
        {
            ChildrenCpuNs += c.CpuNs + c.ChildrenCpuNs;
            ChildrenMinFlt += c.MinFlt + c.ChildrenMinFlt;
            Unregister(c);
        }
    }
}
