using System;
using Kernel.Console;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Abi;
using Kernel.Fs;
using Kernel.Sched;

namespace Kernel.Proc
{
    /// /proc: the files programs and libcs read, in Linux's formats; a directory per process
    /// (/proc/PID, zombies included), /proc/self and /proc/thread-self naming the caller's.
    public static unsafe class ProcTree
    {
        /// The process a /proc/PID entry describes while it is generated or followed (null: the
        /// calling thread's).
        static Process _target;            // generation never blocks: one at a time
        internal static Process Self => _target ?? Process.Of(Scheduler.Current);

        /// Runs with `owner` as the process the generators describe (null: the caller).
        internal static Process Enter(Process owner) { Process old = _target; _target = owner; return old; }
        internal static void Leave(Process old) { _target = old; _task = null; }
        static Thread _task;               // the thread a task/TID file describes (null: the leader)
        internal static void EnterTask(Thread t) { _task = t; }

        /// The tree for process `p` (its pid directory, and its main thread's under task/).
        public static Inode Build(FileSystem fs, Process p)
        {
            var root = new ProcDir(fs) { ListsProcesses = true };
            root.Add("self"u8, new ProcSelfLink(fs, false));
            root.Add("thread-self"u8, new ProcSelfLink(fs, true));
            root.Add("cpuinfo"u8, new ProcFile(fs, ProcKind.CpuInfo));
            root.Add("meminfo"u8, new ProcFile(fs, ProcKind.MemInfo));
            root.Add("uptime"u8, new ProcFile(fs, ProcKind.Uptime));
            root.Add("stat"u8, new ProcFile(fs, ProcKind.Stat));
            root.Add("loadavg"u8, new ProcFile(fs, ProcKind.LoadAvg));
            root.Add("vmstat"u8, new ProcFile(fs, ProcKind.VmStat));
            root.Add("mounts"u8, new ProcFile(fs, ProcKind.Mounts));
            root.Add("filesystems"u8, new ProcFile(fs, ProcKind.Filesystems));
            root.Add("version"u8, new ProcFile(fs, ProcKind.Version));
            var sys = new ProcDir(fs); root.Add("sys"u8, sys);
            var kernel = new ProcDir(fs); sys.Add("kernel"u8, kernel);
            kernel.Add("ostype"u8, new ProcFile(fs, ProcKind.OsType));
            kernel.Add("osrelease"u8, new ProcFile(fs, ProcKind.OsRelease));
            kernel.Add("hostname"u8, new ProcFile(fs, ProcKind.Hostname));
            kernel.Add("domainname"u8, new ProcFile(fs, ProcKind.Domainname));
            kernel.Add("pid_max"u8, new ProcFile(fs, ProcKind.PidMax));
            var sysFs = new ProcDir(fs); sys.Add("fs"u8, sysFs);
            sysFs.Add("nr_open"u8, ProcFile.Fixed(fs, "1048576\n"));                       // FdTable.NrOpen
            var vm = new ProcDir(fs); sys.Add("vm"u8, vm);
            vm.Add("overcommit_memory"u8, new ProcFile(fs, ProcKind.Overcommit));
            var inotify = new ProcDir(fs); sysFs.Add("inotify"u8, inotify);       // fs/Inotify.cs's limits
            inotify.Add("max_queued_events"u8, new ProcFile(fs, ProcKind.InotifyMaxQueued));
            inotify.Add("max_user_instances"u8, new ProcFile(fs, ProcKind.InotifyMaxInstances));
            inotify.Add("max_user_watches"u8, new ProcFile(fs, ProcKind.InotifyMaxWatches));
            AddNet(fs, root, sys);
            return root;
        }

        /// /proc/net (the stack's sockets, interfaces and routes, net/ProcNet.cs) and
        /// /proc/sys/net (the settings the stack uses, read-only).
        static void AddNet(FileSystem fs, ProcDir root, ProcDir sys)
        {
            var net = new ProcDir(fs); root.Add("net"u8, net);
            net.Add("tcp"u8, new ProcFile(fs, ProcKind.NetTcp));
            net.Add("tcp6"u8, new ProcFile(fs, ProcKind.NetTcp6));
            net.Add("udp"u8, new ProcFile(fs, ProcKind.NetUdp));
            net.Add("udp6"u8, new ProcFile(fs, ProcKind.NetUdp6));
            net.Add("unix"u8, new ProcFile(fs, ProcKind.NetUnix));
            net.Add("dev"u8, new ProcFile(fs, ProcKind.NetDev));
            net.Add("if_inet6"u8, new ProcFile(fs, ProcKind.NetIfInet6));
            net.Add("route"u8, new ProcFile(fs, ProcKind.NetRoute));
            var sn = new ProcDir(fs); sys.Add("net"u8, sn);
            var core = new ProcDir(fs); sn.Add("core"u8, core);
            core.Add("somaxconn"u8, ProcFile.Fixed(fs, "4096\n"));                        // SockOpt.SoMaxConn
            core.Add("rmem_default"u8, ProcFile.Fixed(fs, "212992\n"));
            core.Add("wmem_default"u8, ProcFile.Fixed(fs, "212992\n"));
            core.Add("rmem_max"u8, ProcFile.Fixed(fs, "212992\n"));
            core.Add("wmem_max"u8, ProcFile.Fixed(fs, "212992\n"));
            core.Add("optmem_max"u8, ProcFile.Fixed(fs, "20480\n"));
            var ipv4 = new ProcDir(fs); sn.Add("ipv4"u8, ipv4);
            ipv4.Add("ip_local_port_range"u8, ProcFile.Fixed(fs, "32768\t60999\n"));          // NetStack.EphemeralFirst/Last
            ipv4.Add("ip_default_ttl"u8, ProcFile.Fixed(fs, "64\n"));
            ipv4.Add("tcp_fin_timeout"u8, ProcFile.Fixed(fs, "60\n"));
            ipv4.Add("tcp_keepalive_time"u8, ProcFile.Fixed(fs, "7200\n"));
            ipv4.Add("tcp_keepalive_intvl"u8, ProcFile.Fixed(fs, "75\n"));
            ipv4.Add("tcp_keepalive_probes"u8, ProcFile.Fixed(fs, "9\n"));
            ipv4.Add("tcp_syn_retries"u8, ProcFile.Fixed(fs, "6\n"));
            ipv4.Add("tcp_retries2"u8, ProcFile.Fixed(fs, "15\n"));
            ipv4.Add("tcp_timestamps"u8, ProcFile.Fixed(fs, "1\n"));
            ipv4.Add("tcp_window_scaling"u8, ProcFile.Fixed(fs, "1\n"));
            ipv4.Add("tcp_rmem"u8, ProcFile.Fixed(fs, "4096\t131072\t6291456\n"));
            ipv4.Add("tcp_wmem"u8, ProcFile.Fixed(fs, "4096\t16384\t4194304\n"));
            ipv4.Add("tcp_congestion_control"u8, ProcFile.Fixed(fs, "reno\n"));
            ipv4.Add("tcp_available_congestion_control"u8, ProcFile.Fixed(fs, "reno\n"));
        }

        /// /proc/PID of process `p` (made on first lookup, kept with the process): its files,
        /// and task/TID for each of its threads.
        internal static ProcDir PidDir(FileSystem fs, Process p, Inode parent)
        {
            if (p.ProcNode is ProcDir d) return d;
            var w = new LineWriter(stackalloc byte[16]);
            w.Dec(p.Pid);
            byte[] pidName = w.Written.ToArray();
            d = new ProcDir(fs);
            FillPid(fs, d, p);
            d.Add("task"u8, new ProcTaskDir(fs, p));
            d.Parent = parent; d.Name = pidName;
            p.ProcNode = d;
            return d;
        }

        internal static void FillPid(FileSystem fs, ProcDir d, Process p, Thread task = null)
        {
            d.Add("exe"u8, new ProcLink(fs, ProcLinkKind.Exe, 0) { Owner = p });
            d.Add("cwd"u8, new ProcLink(fs, ProcLinkKind.Cwd, 0) { Owner = p });
            d.Add("root"u8, new ProcLink(fs, ProcLinkKind.Root, 0) { Owner = p });
            d.Add("fd"u8, new ProcFdDir(fs) { Owner = p });
            d.Add("maps"u8, new ProcFile(fs, ProcKind.Maps) { Owner = p });
            d.Add("stat"u8, new ProcFile(fs, ProcKind.PidStat) { Owner = p, Task = task });
            d.Add("statm"u8, new ProcFile(fs, ProcKind.Statm) { Owner = p });
            d.Add("status"u8, new ProcFile(fs, ProcKind.Status) { Owner = p, Task = task });
            d.Add("cmdline"u8, new ProcFile(fs, ProcKind.Cmdline) { Owner = p });
            d.Add("comm"u8, new ProcFile(fs, ProcKind.Comm) { Owner = p });
            d.Add("environ"u8, new ProcFile(fs, ProcKind.Environ) { Owner = p, Mode = FileMode.S_IFREG | 0x100 });  // 0400, as Linux
            d.Add("auxv"u8, new ProcFile(fs, ProcKind.Auxv) { Owner = p, Mode = FileMode.S_IFREG | 0x100 });
            d.Add("mounts"u8, new ProcFile(fs, ProcKind.Mounts) { Owner = p });
            d.Add("mountinfo"u8, new ProcFile(fs, ProcKind.MountInfo) { Owner = p });
        }

        /// The one-letter state of `p` (its thread `t`, else its leader) as Linux shows it:
        /// R running or runnable, S an interruptible wait, D an uninterruptible one, T
        /// stopped, Z zombie.
        static string StateOf(Process p, bool longForm)
        {
            if (p.Zombie) return longForm ? "Z (zombie)" : "Z";
            if (p.Stopped) return longForm ? "T (stopped)" : "T";
            Thread t = _task ?? Leader(p);
            if (t != null && t.State == ThreadState.Blocked)
                return t.Interruptible ? (longForm ? "S (sleeping)" : "S") : (longForm ? "D (disk sleep)" : "D");
            return longForm ? "R (running)" : "R";
        }

        static Thread Leader(Process p) => ThreadWithTid(p, p.Pid) ?? ThreadOf(p);

        /// The live thread of `p` whose tid is `tid`, or null.
        internal static Thread ThreadWithTid(Process p, int tid)
        {
            for (int i = 0; i < Scheduler.Slots; i++)
            {
                Thread t = Scheduler.At(i);
                if (t != null && t.Group == p && t.Tid == tid && t.State != ThreadState.Dead) return t;
            }
            return null;
        }

        /// A thread of `p` to show its mask and name: the caller when it is one, else the first.
        static Thread ThreadOf(Process p)
        {
            Thread me = Scheduler.Current;
            if (Process.Of(me) == p) return me;
            for (int i = 0; i < Scheduler.Slots; i++)
            {
                Thread t = Scheduler.At(i);
                if (t != null && t.Group == p && t.State != ThreadState.Dead) return t;
            }
            return null;
        }

        static byte[] ToArray(this ReadOnlySpan<byte> s)
        {
            var a = new byte[s.Length];
            for (int i = 0; i < s.Length; i++) a[i] = s[i];
            return a;
        }

        // ---------------------------------------------------------------- generators

        static void HexPad(ref LineWriter w, ulong v, int digits)
        {
            for (int i = digits - 1; i >= 0; i--)
            {
                int nib = (int)((v >> (i * 4)) & 0xf);
                if (i * 4 < 64 && (v >> (i * 4)) == 0 && i >= 8 && digits > 8) { }
                w.Byte((byte)(nib < 10 ? '0' + nib : 'a' + nib - 10));
            }
        }

        static void Hex(ref LineWriter w, ulong v)
        {
            int digits = 1;
            while (digits < 16 && (v >> (digits * 4)) != 0) digits++;
            HexPad(ref w, v, digits);
        }

        static void Kv(ref LineWriter w, string key, ulong kb)
        {
            w.Str(key);
            for (int i = key.Length; i < 16; i++) w.Byte((byte)' ');
            w.Padded(kb, 8, ' ');
            w.Str(" kB\n");
        }

        static void Comm(ref LineWriter w)
        {
            byte[] exe = Self.ExePath;
            int s = 0;
            for (int i = 0; i < exe.Length; i++) if (exe[i] == '/') s = i + 1;
            int n = exe.Length - s;
            if (n > 15) n = 15;
            w.Bytes(new ReadOnlySpan<byte>(exe, s, n));
        }

        static void Frac2(ref LineWriter w, ulong hundredths)
        {
            w.Udec(hundredths / 100); w.Byte((byte)'.'); w.Padded(hundredths % 100, 2, '0');
        }

        /// Copies the strings area from argv[0] (or envp[0]) to the end of the last string.
        static void UserStrings(ref LineWriter w, bool env)
        {
            Process P = Self;
            if (P.InitialStack == 0 || P.Zombie) return;
            UserMemory m = P.Memory;
            ulong argc;
            if (!m.Peek(P.InitialStack, &argc, 8)) return;
            ulong vec = P.InitialStack + 8 + (env ? (argc + 1) * 8 : 0);
            byte* chunk = stackalloc byte[256];
            for (ulong i = 0; ; i++)
            {
                ulong p;
                if (!m.Peek(vec + i * 8, &p, 8) || p == 0) break;
                // Strings may be longer than one chunk: copy until the NUL.
                ulong at = p;
                bool done = false;
                while (!done && w.Length < w.Capacity - 256)
                {
                    ulong n = 256 - (at & 255);                      // never across a page
                    if (!m.Peek(at, chunk, n)) break;
                    ulong z = 0;
                    while (z < n && chunk[z] != 0) z++;
                    w.Bytes(new ReadOnlySpan<byte>(chunk, (int)z));
                    done = z < n;
                    at += n;
                }
                w.Byte(0);
            }
        }

        static void Auxv(ref LineWriter w)
        {
            Process P = Self;
            if (P.InitialStack == 0 || P.Zombie) return;
            UserMemory m = P.Memory;
            ulong argc;
            if (!m.Peek(P.InitialStack, &argc, 8)) return;
            ulong p = P.InitialStack + 8 + (argc + 1) * 8, v = 1;
            while (v != 0) { if (!m.Peek(p, &v, 8)) return; p += 8; }
            ulong* pair = stackalloc ulong[2];
            for (int i = 0; i < 64; i++)
            {
                if (!m.Peek(p, pair, 16)) return;
                for (int b = 0; b < 16; b++) w.Byte(((byte*)pair)[b]);
                if (pair[0] == 0) return;
                p += 16;
            }
        }

        public static void Generate(ProcKind kind, ref LineWriter w)
        {
            Process p = Self;
            ulong up = Time.Clock.MonotonicNs() / 10000000;     // hundredths of a second
            switch (kind)
            {
                case ProcKind.CpuInfo:
                    for (int c = 0; c < Arch.Smp.Count; c++)
                    {
                        w.Str("processor\t: "); w.Dec(c); w.Str("\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 6\nmodel name\t: QEMU Virtual CPU\nstepping\t: 3\n");
                        w.Str("cpu MHz\t\t: "); w.Udec(Time.Clock.TscHz / 1000000); w.Str(".000\ncache size\t: 16384 KB\nphysical id\t: 0\nsiblings\t: "); w.Dec(Arch.Smp.Count);
                        w.Str("\ncore id\t\t: "); w.Dec(c); w.Str("\ncpu cores\t: "); w.Dec(Arch.Smp.Count);
                        w.Str("\napicid\t\t: "); w.Udec(Arch.Smp.Block(c)->ApicId); w.Str("\ninitial apicid\t: "); w.Udec(Arch.Smp.Block(c)->ApicId); w.Str("\n");
                        w.Str("fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\nflags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm nopl cpuid pni cx16 hypervisor lahf_lm\n");
                        w.Str("bogomips\t: "); w.Udec(Time.Clock.TscHz / 500000); w.Str(".00\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 40 bits physical, 48 bits virtual\npower management:\n\n");
                    }
                    break;
                case ProcKind.MemInfo:
                    {
                        ulong total = PhysicalMemory.TotalBytes >> 10, free = PhysicalMemory.FreeBytes >> 10;
                        // Clean cached pages of volume files are given back on demand (available);
                        // Dirty counts the pages waiting for write-back.
                        ulong cached = (ulong)Fs.PageCache.Pages * 4, dirty = (ulong)Fs.PageCache.DirtyPages * 4;
                        Kv(ref w, "MemTotal:", total); Kv(ref w, "MemFree:", free); Kv(ref w, "MemAvailable:", free + cached - (dirty < cached ? dirty : cached));
                        Kv(ref w, "Buffers:", 0); Kv(ref w, "Cached:", cached); Kv(ref w, "SwapCached:", 0);
                        Kv(ref w, "Dirty:", dirty);
                        Kv(ref w, "Active:", 0); Kv(ref w, "Inactive:", 0);
                        Kv(ref w, "SwapTotal:", 0); Kv(ref w, "SwapFree:", 0);
                        Kv(ref w, "Shmem:", 0); Kv(ref w, "Slab:", (Heap.BytesInUse + Runtime.GcHeap.BytesInUse) >> 10);
                        Kv(ref w, "CommitLimit:", total); Kv(ref w, "Committed_AS:", (total - free));
                        Kv(ref w, "VmallocTotal:", 34359738367UL); Kv(ref w, "HugePages_Total:", 0);
                        break;
                    }
                case ProcKind.Uptime: Frac2(ref w, up); w.Byte((byte)' '); Frac2(ref w, up); w.Byte((byte)'\n'); break;
                case ProcKind.VmStat:
                    // Linux's names where it has the figure; cow_copied/cow_reused are ours.
                    w.Str("pgfault "); w.Udec(UserMemory.FaultsServed); w.Str("\npgmajfault 0\ncow_copied "); w.Udec(UserMemory.CowCopied);
                    w.Str("\ncow_reused "); w.Udec(UserMemory.CowReused); w.Str("\n");
                    break;
                case ProcKind.LoadAvg: w.Str("0.00 0.00 0.00 1/"); w.Dec(Process.LiveCount); w.Str(" "); w.Dec(Process.LastPid); w.Str("\n"); break;
                case ProcKind.Stat:
                    {
                        ulong ticks = up;
                        w.Str("cpu  "); w.Udec(ticks * (ulong)Arch.Smp.Count); w.Str(" 0 0 0 0 0 0 0 0 0\n");
                        for (int c = 0; c < Arch.Smp.Count; c++) { w.Str("cpu"); w.Dec(c); w.Str(" "); w.Udec(ticks); w.Str(" 0 0 0 0 0 0 0 0 0\n"); }
                        w.Str("intr 0\nctxt 0\nbtime "); w.Udec((Time.Rtc.BootEpochNs) / 1000000000);
                        w.Str("\nprocesses "); w.Udec(Process.Forks); w.Str("\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n");
                        break;
                    }
                case ProcKind.Mounts:
                    // A root disk (ukpack build --root-disk) is the first of the ext4 mounts.
                    if (Ext4Mount.RootMount == null) w.Str("rootfs / rootfs rw 0 0\n");
                    else Ext4Mount.WriteMounts(ref w, false, true);
                    w.Str("tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\ndevtmpfs /dev devtmpfs rw,nosuid 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n");
                    Ext4Mount.WriteMounts(ref w, false);
                    break;
                case ProcKind.MountInfo:
                    if (Ext4Mount.RootMount == null) w.Str("1 1 8:1 / / rw - rootfs rootfs rw\n");
                    else Ext4Mount.WriteMounts(ref w, true, true);
                    w.Str("2 1 0:42 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw\n3 1 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw\n4 1 0:23 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n");
                    Ext4Mount.WriteMounts(ref w, true);
                    break;
                case ProcKind.Filesystems: w.Str("nodev\trootfs\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tproc\nnodev\tpipefs\n\text4\n"); break;
                case ProcKind.Version: w.Str("Linux version 6.1.0-uk (ukvm) #1 SMP PREEMPT_DYNAMIC C# unikernel\n"); break;
                case ProcKind.OsType: w.Str("Linux\n"); break;
                case ProcKind.OsRelease: w.Str("6.1.0-uk\n"); break;
                case ProcKind.Hostname: w.Bytes(Uts.Hostname); w.Byte((byte)'\n'); break;
                case ProcKind.Domainname: w.Bytes(Uts.Domainname); w.Byte((byte)'\n'); break;
                case ProcKind.PidMax: w.Str("4194304\n"); break;
                case ProcKind.Overcommit: w.Str("0\n"); break;
                case ProcKind.InotifyMaxQueued: w.Dec(Inotify.MaxQueuedEvents); w.Byte((byte)'\n'); break;
                case ProcKind.InotifyMaxInstances: w.Dec(Inotify.MaxUserInstances); w.Byte((byte)'\n'); break;
                case ProcKind.InotifyMaxWatches: w.Dec(Inotify.MaxUserWatches); w.Byte((byte)'\n'); break;
                case ProcKind.Comm: Comm(ref w); w.Byte((byte)'\n'); break;
                case ProcKind.NetTcp: Net.ProcNet.Tcp(ref w, false); break;
                case ProcKind.NetTcp6: Net.ProcNet.Tcp(ref w, true); break;
                case ProcKind.NetUdp: Net.ProcNet.Udp(ref w, false); break;
                case ProcKind.NetUdp6: Net.ProcNet.Udp(ref w, true); break;
                case ProcKind.NetUnix: Net.ProcNet.Unix(ref w); break;
                case ProcKind.NetDev: Net.ProcNet.Dev(ref w); break;
                case ProcKind.NetIfInet6: Net.ProcNet.IfInet6(ref w); break;
                case ProcKind.NetRoute: Net.ProcNet.Route(ref w); break;
                case ProcKind.Cmdline: UserStrings(ref w, false); break;
                case ProcKind.Environ: UserStrings(ref w, true); break;
                case ProcKind.Auxv: Auxv(ref w); break;
                case ProcKind.Maps: if (!p.Zombie) Maps(ref w, p); break;
                case ProcKind.Statm:
                    {
                        ulong pages = VmPages(p);
                        w.Udec(pages); w.Str(" "); w.Udec(pages); w.Str(" 0 0 0 "); w.Udec(pages); w.Str(" 0\n");
                        break;
                    }
                case ProcKind.PidStat:
                    {
                        Thread t = ThreadOf(p);
                        w.Dec(p.Pid); w.Str(" ("); Comm(ref w); w.Str(") "); w.Str(StateOf(p, false)); w.Str(" "); w.Dec(p.ParentPid);
                        w.Str(" "); w.Dec(p.Pgid); w.Str(" "); w.Dec(p.Sid); w.Str(" 0 -1 4194560 0 0 0 0 "); w.Udec(up); w.Str(" 0 0 0 20 0 ");
                        w.Dec(p.LiveThreads); w.Str(" 0 ");
                        w.Udec(p.StartTimeNs / 10000000); w.Str(" "); w.Udec(VmPages(p) * 4096); w.Str(" "); w.Udec(VmPages(p));
                        w.Str(" 18446744073709551615 0 0 "); w.Udec(p.InitialStack); w.Str(" 0 0 ");
                        w.Udec(p.PendingSignals); w.Str(" "); w.Udec(t == null ? 0 : t.SignalMask); w.Str(" 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
                        break;
                    }
                case ProcKind.Status:
                    {
                        w.Str("Name:\t"); Comm(ref w);
                        w.Str("\nUmask:\t"); w.Padded(p.Umask >> 6 & 7, 2, '0'); w.Udec(p.Umask >> 3 & 7); w.Udec(p.Umask & 7);
                        w.Str("\nState:\t"); w.Str(StateOf(p, true)); w.Str("\nTgid:\t"); w.Dec(p.Pid); w.Str("\nNgid:\t0\nPid:\t"); w.Dec(_task != null ? _task.Tid : p.Pid);
                        w.Str("\nPPid:\t"); w.Dec(p.ParentPid); w.Str("\nTracerPid:\t0\nUid:");
                        w.Str("\t"); w.Udec(p.Ruid); w.Str("\t"); w.Udec(p.Euid); w.Str("\t"); w.Udec(p.Suid); w.Str("\t"); w.Udec(p.Fsuid);
                        w.Str("\nGid:\t"); w.Udec(p.Rgid); w.Str("\t"); w.Udec(p.Egid); w.Str("\t"); w.Udec(p.Sgid); w.Str("\t"); w.Udec(p.Fsgid);
                        w.Str("\nFDSize:\t"); w.Dec(p.Zombie ? 0 : p.Files.Size);
                        w.Str("\nGroups:\t");
                        for (int gi = 0; gi < p.Groups.Length; gi++) { w.Udec(p.Groups[gi]); w.Str(" "); }      // as Linux: a space after each
                        w.Str("\n");
                        ulong kb = VmPages(p) * 4;
                        Kv(ref w, "VmPeak:", kb); Kv(ref w, "VmSize:", kb); Kv(ref w, "VmHWM:", kb); Kv(ref w, "VmRSS:", kb);
                        w.Str("Threads:\t"); w.Dec(p.LiveThreads); w.Str("\nSigQ:\t0/63446\nSigPnd:\t"); HexPad(ref w, 0, 16);
                        w.Str("\nShdPnd:\t"); HexPad(ref w, p.PendingSignals, 16);
                        Thread st = ThreadOf(p);
                        w.Str("\nSigBlk:\t"); HexPad(ref w, st == null ? 0 : st.SignalMask, 16);
                        ulong ign = 0, cgt = 0;
                        for (int s = 1; s <= 64 && s < p.Actions.Length; s++)
                        {
                            if (p.Actions[s].Handler == 1) ign |= 1UL << (s - 1);
                            else if (p.Actions[s].Handler > 1) cgt |= 1UL << (s - 1);
                        }
                        w.Str("\nSigIgn:\t"); HexPad(ref w, ign, 16);
                        w.Str("\nSigCgt:\t"); HexPad(ref w, cgt, 16);
                        w.Str("\nCapInh:\t"); HexPad(ref w, p.CapInheritable, 16);
                        w.Str("\nCapPrm:\t"); HexPad(ref w, p.CapPermitted, 16);
                        w.Str("\nCapEff:\t"); HexPad(ref w, p.CapEffective, 16);
                        w.Str("\nCapBnd:\t"); HexPad(ref w, p.CapBounding, 16);
                        w.Str("\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nCpus_allowed:\t1\nCpus_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
                        break;
                    }
            }
        }

        static ulong VmPages(Process p)
        {
            ulong n = 0;
            if (p.Zombie) return 0;
            VmaList v = p.Memory.Vmas;
            for (int i = 0; i < v.Count; i++) n += (v[i].End - v[i].Start) >> 12;
            return n;
        }

        static void Maps(ref LineWriter w, Process p)
        {
            Span<byte> pathBuf = stackalloc byte[1024];          // one buffer: stackalloc in a loop would grow the stack
            VmaList v = p.Memory.Vmas;
            for (int i = 0; i < v.Count; i++)
            {
                Vma m = v[i];
                int start = w.Length;
                HexPad(ref w, m.Start, m.Start > 0xffffffffUL ? 12 : 8); w.Byte((byte)'-'); HexPad(ref w, m.End, m.End > 0xffffffffUL ? 12 : 8);
                w.Byte((byte)' ');
                w.Byte((byte)((m.Prot & 1) != 0 ? 'r' : '-')); w.Byte((byte)((m.Prot & 2) != 0 ? 'w' : '-'));
                w.Byte((byte)((m.Prot & 4) != 0 ? 'x' : '-')); w.Byte((byte)(m.Kind == UserMemory.KindFileShared ? 's' : 'p'));
                w.Str(" "); HexPad(ref w, p.Memory.FileOffsetOf(m.Start), 8);
                bool image = m.Kind == VmaKind.Image;
                Inode file = m.Kind == UserMemory.KindFilePrivate || m.Kind == UserMemory.KindFileShared ? p.Memory.FileOf(m.Start) as Inode : null;
                w.Str(image || file != null ? " 08:01 " : " 00:00 "); w.Udec(0);
                scoped ReadOnlySpan<byte> name = default;
                if (image) name = p.ExePath;
                else if (file != null)
                {
                    // A mapped file (the program's segments among them) shows its path.
                    int n = Vfs.PathOf(file, pathBuf, out bool deleted);
                    // An unlinked file (a memfd, shared anonymous memory) says so, as on Linux.
                    if (n > 0 && deleted && n + 10 <= pathBuf.Length) { " (deleted)"u8.CopyTo(pathBuf.Slice(n)); n += 10; }
                    if (n > 0) name = pathBuf.Slice(0, n);
                }
                else if (m.Kind == VmaKind.Stack) name = "[stack]"u8;
                else if (m.Kind == VmaKind.Heap) name = "[heap]"u8;
                if (name.Length > 0)
                {
                    while (w.Length - start < 73) w.Byte((byte)' ');
                    w.Bytes(name);
                }
                else w.Byte((byte)' ');
                w.Byte((byte)'\n');
            }
        }
    }

    public enum ProcKind
    {
        CpuInfo, MemInfo, Uptime, Stat, LoadAvg, VmStat, Mounts, MountInfo, Filesystems, Version, OsType, OsRelease, Hostname, Domainname, PidMax,
        Overcommit, Comm, Cmdline, Environ, Auxv, Maps, Statm, PidStat, Status,
        NetTcp, NetTcp6, NetUdp, NetUdp6, NetUnix, NetDev, NetIfInet6, NetRoute, Fixed,
        InotifyMaxQueued, InotifyMaxInstances, InotifyMaxWatches,
    }

    /// A read-only directory of /proc with a fixed list of entries.
    public sealed class ProcDir : Inode
    {
        byte[][] _names = new byte[8][];
        Inode[] _nodes = new Inode[8];
        int _count;
        public ProcDir(FileSystem fs) { InitCommon(fs, FileMode.S_IFDIR | 0x16d); Nlink = 2; }
        /// The /proc root: besides its fixed entries, a directory per process.
        public bool ListsProcesses;
        const long PidCookies = 1L << 32;

        /// A decimal pid or tid as /proc names it (no sign, no leading zero); -1 otherwise.
        internal static int ParsePid(ReadOnlySpan<byte> name)
        {
            if (name.Length == 0 || name.Length > 9 || name[0] == '0') return -1;
            int v = 0;
            for (int i = 0; i < name.Length; i++)
            {
                if (name[i] < '0' || name[i] > '9') return -1;
                v = v * 10 + (name[i] - '0');
            }
            return v;
        }

        public void Add(ReadOnlySpan<byte> name, Inode n)
        {
            if (_count == _names.Length)
            {
                var nn = new byte[_count * 2][]; var nd = new Inode[_count * 2];
                for (int i = 0; i < _count; i++) { nn[i] = _names[i]; nd[i] = _nodes[i]; }
                _names = nn; _nodes = nd;
            }
            var a = new byte[name.Length];
            for (int i = 0; i < a.Length; i++) a[i] = name[i];
            _names[_count] = a; _nodes[_count] = n; _count++;
            n.Parent = this; n.Name = a;
            if (n.IsDir) Nlink++;
        }

        public override bool IsEmptyDir => _count == 0;

        /// /proc/PID and its entries belong to the process's effective ids, as on Linux (so a
        /// process that dropped privileges still reads its own /proc/self/*); while the
        /// process is not dumpable (it changed ids), only its r-x directories do and the rest
        /// is root's. Set on each lookup, since the ids may have changed since the last one.
        internal void OwnBy(Process p)
        {
            uint uid = p.Euid, gid = p.Egid;
            Uid = uid; Gid = gid;
            bool dumpable = p.Dumpable == 1;
            for (int i = 0; i < _count; i++)
            {
                Inode n = _nodes[i];
                bool open = dumpable || n.Mode == (FileMode.S_IFDIR | 0x16d);
                n.Uid = open ? uid : 0; n.Gid = open ? gid : 0;
            }
        }

        public override Errno Lookup(ReadOnlySpan<byte> name, out Inode child)
        {
            for (int i = 0; i < _count; i++)
                if (((ReadOnlySpan<byte>)_names[i]).SequenceEqual(name)) { child = _nodes[i]; return 0; }
            child = null;
            if (ListsProcesses)
            {
                Process p = Process.Find(ParsePid(name));
                if (p != null)
                {
                    var d = ProcTree.PidDir(Fs, p, this);
                    d.OwnBy(p);
                    child = d;
                    return 0;
                }
            }
            return Errno.ENOENT;
        }
        public override Errno Mknod(ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Mkdir(ReadOnlySpan<byte> name, uint mode, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Symlink(ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Link(ReadOnlySpan<byte> name, Inode target) => Errno.EACCES;
        public override Errno Unlink(ReadOnlySpan<byte> name, bool dir) => Errno.EACCES;
        public override Errno Rename(ReadOnlySpan<byte> oldName, Inode newDir, ReadOnlySpan<byte> newName, uint flags) => Errno.EACCES;
        public override bool ReadDir(ref long cookie, Span<byte> name, out DirEntryInfo e)
        {
            e = default;
            long i = cookie - 2;
            if (i < 0) i = 0;
            if (i >= _count)
            {
                if (!ListsProcesses) return false;
                // Then the processes, by increasing pid: the cookie holds the last one listed.
                int last = cookie >= PidCookies ? (int)(cookie - PidCookies) : 0;
                Process next = null;
                for (int k = 0; k < Process.Count; k++)
                {
                    Process p = Process.At(k);
                    if (p.Pid > last && (next == null || p.Pid < next.Pid)) next = p;
                }
                if (next == null) return false;
                var w = new LineWriter(name);
                w.Dec(next.Pid);
                e.NameLength = w.Length; e.Ino = 0x20000 + (ulong)next.Pid; e.Type = 4;
                cookie = PidCookies + next.Pid;
                return true;
            }
            byte[] n = _names[i];
            for (int k = 0; k < n.Length; k++) name[k] = n[k];
            e.NameLength = n.Length; e.Ino = _nodes[i].Ino; e.Type = FileMode.DirType(_nodes[i].Mode);
            cookie = i + 3;
            return true;
        }
    }

    /// /proc/PID/task: a directory per live thread of the process, named by its tid, whose
    /// stat and status describe that thread (made on each lookup).
    public sealed class ProcTaskDir : Inode
    {
        readonly Process _owner;
        const long TidCookies = 1L << 32;
        public ProcTaskDir(FileSystem fs, Process owner) { InitCommon(fs, FileMode.S_IFDIR | 0x16d); Nlink = 3; _owner = owner; }
        public override bool IsEmptyDir => false;

        public override Errno Lookup(ReadOnlySpan<byte> name, out Inode child)
        {
            child = null;
            int tid = ProcDir.ParsePid(name);
            Thread t = _owner.Zombie || tid < 0 ? null : ProcTree.ThreadWithTid(_owner, tid);
            if (t == null) return Errno.ENOENT;
            var d = new ProcDir(Fs);
            ProcTree.FillPid(Fs, d, _owner, t);
            d.OwnBy(_owner);
            d.Parent = this;
            var a = new byte[name.Length];
            for (int i = 0; i < a.Length; i++) a[i] = name[i];
            d.Name = a;
            child = d;
            return 0;
        }

        public override Errno Mknod(ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Mkdir(ReadOnlySpan<byte> name, uint mode, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Unlink(ReadOnlySpan<byte> name, bool dir) => Errno.EACCES;

        /// The threads by increasing tid: the cookie holds the last one listed.
        public override bool ReadDir(ref long cookie, Span<byte> name, out DirEntryInfo e)
        {
            e = default;
            if (_owner.Zombie) return false;
            int last = cookie >= TidCookies ? (int)(cookie - TidCookies) : 0;
            Thread next = null;
            for (int i = 0; i < Scheduler.Slots; i++)
            {
                Thread t = Scheduler.At(i);
                if (t != null && t.Group == _owner && t.State != ThreadState.Dead && t.Tid > last && (next == null || t.Tid < next.Tid)) next = t;
            }
            if (next == null) return false;
            var w = new LineWriter(name);
            w.Dec(next.Tid);
            e.NameLength = w.Length; e.Ino = 0x30000 + (ulong)next.Tid; e.Type = 4;
            cookie = TidCookies + next.Tid;
            return true;
        }
    }

    /// /proc/1/fd: one magic link per open descriptor.
    public sealed class ProcFdDir : Inode
    {
        public Process Owner;             // the process whose fds these are (null: the caller)
        Process Target => Owner ?? ProcTree.Self;
        public ProcFdDir(FileSystem fs) { InitCommon(fs, FileMode.S_IFDIR | 0x16d); Nlink = 2; }
        public override bool IsEmptyDir => false;

        public override Errno Lookup(ReadOnlySpan<byte> name, out Inode child)
        {
            child = null;
            int fd = 0;
            if (name.Length == 0 || name.Length > 9) return Errno.ENOENT;
            for (int i = 0; i < name.Length; i++)
            {
                if (name[i] < '0' || name[i] > '9' || (i == 0 && name[i] == '0' && name.Length > 1)) return Errno.ENOENT;
                fd = fd * 10 + (name[i] - '0');
            }
            if (Target.Zombie || Target.Files.Get(fd) == null) return Errno.ENOENT;
            child = ProcLink.ForFd(Fs, fd, this, Owner);
            bool dumpable = Target.Dumpable == 1;
            child.Uid = dumpable ? Target.Euid : 0; child.Gid = dumpable ? Target.Egid : 0;
            return 0;
        }

        public override Errno Mknod(ReadOnlySpan<byte> name, uint mode, ulong rdev, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Mkdir(ReadOnlySpan<byte> name, uint mode, out Inode child) { child = null; return Errno.EACCES; }
        public override Errno Unlink(ReadOnlySpan<byte> name, bool dir) => Errno.EACCES;

        public override bool ReadDir(ref long cookie, Span<byte> name, out DirEntryInfo e)
        {
            e = default;
            if (Target.Zombie) return false;
            FdTable t = Target.Files;
            for (long fd = cookie < 2 ? 0 : cookie - 2; fd < t.Size; fd++)
            {
                if (t.Get((int)fd) == null) continue;
                var w = new LineWriter(name);
                w.Dec(fd);
                e.NameLength = w.Length; e.Ino = 0x10000 + (ulong)fd; e.Type = 10;
                cookie = fd + 3;
                return true;
            }
            return false;
        }
    }

    public enum ProcLinkKind { Exe, Cwd, Root, Fd }

    /// /proc/self ("PID") and /proc/thread-self ("PID/task/TID"): the caller's.
    public sealed class ProcSelfLink : Inode
    {
        readonly bool _thread;
        public ProcSelfLink(FileSystem fs, bool thread) { InitCommon(fs, FileMode.S_IFLNK | 0x1ff); _thread = thread; }
        public override long Size => 0;
        public override long Blocks() => 0;
        public override int ReadLink(Span<byte> buf)
        {
            Thread me = Scheduler.Current;
            Process p = Process.Of(me);
            if (p == null) return -1;
            var w = new LineWriter(buf);
            w.Dec(p.Pid);
            if (_thread) { w.Str("/task/"); w.Dec(me.Tid); }
            return w.Length;
        }
    }

    /// A magic link of /proc: readlink gives a path, following it gives the object itself.
    public sealed class ProcLink : Inode
    {
        readonly ProcLinkKind _kind;
        readonly int _fd;
        static ProcLink[] _fdLinks;

        public Process Owner;             // the process it belongs to (null: the caller)
        Process Who => Owner ?? ProcTree.Self;

        public ProcLink(FileSystem fs, ProcLinkKind kind, int fd) { InitCommon(fs, FileMode.S_IFLNK | 0x1ff); _kind = kind; _fd = fd; }

        public static ProcLink ForFd(FileSystem fs, int fd, Inode parent, Process owner)
        {
            if (_fdLinks == null || fd >= _fdLinks.Length)
            {
                var links = new ProcLink[fd < 64 ? 64 : 2 * fd];
                if (_fdLinks != null) for (int i = 0; i < _fdLinks.Length; i++) links[i] = _fdLinks[i];
                _fdLinks = links;
            }
            if (_fdLinks[fd] == null || _fdLinks[fd].Parent != parent)
            {
                var l = new ProcLink(fs, ProcLinkKind.Fd, fd) { Owner = owner };
                l.Mode = FileMode.S_IFLNK | 0x1c0;
                l.Parent = parent;
                var w = new LineWriter(stackalloc byte[12]);
                w.Dec(fd);
                var a = new byte[w.Length];
                for (int i = 0; i < a.Length; i++) a[i] = w.Written[i];
                l.Name = a;
                _fdLinks[fd] = l;
            }
            return _fdLinks[fd];
        }

        public override long Size => 64;
        public override long Blocks() => 0;

        public OpenFile File => _kind == ProcLinkKind.Fd && !Who.Zombie ? Who.Files.Get(_fd) : null;

        public override Inode MagicInode() => Target();

        public Inode Target()
        {
            switch (_kind)
            {
                case ProcLinkKind.Exe:
                    {
                        Span<byte> path = stackalloc byte[Vfs.PathMax];
                        Span<byte> tmp = stackalloc byte[Vfs.PathMax];
                        byte[] exe = Who.ExePath;
                        for (int i = 0; i < exe.Length; i++) path[i] = exe[i];
                        if (Vfs.Resolve(Vfs.Root, path, exe.Length, tmp, true, out _, out Inode n, out _, out _, out _) != 0) return null;
                        return n;
                    }
                case ProcLinkKind.Cwd: return Who.Fs.Cwd;
                case ProcLinkKind.Root: return Vfs.Root;
                default:
                    {
                        OpenFile f = File;
                        return f?.Inode;
                    }
            }
        }

        public override OpenFile MagicTarget() => File;

        public override int ReadLink(Span<byte> buf)
        {
            Span<byte> tmp = stackalloc byte[Vfs.PathMax];
            int n;
            if (_kind == ProcLinkKind.Fd)
            {
                OpenFile f = File;
                if (f == null) return 0;
                n = f.Describe(tmp);
            }
            else if (_kind == ProcLinkKind.Exe)
            {
                byte[] exe = Who.ExePath;
                n = exe.Length;
                for (int i = 0; i < n; i++) tmp[i] = exe[i];
            }
            else n = Vfs.PathOf(Target(), tmp, out _);
            if (n < 0) return 0;
            for (int i = 0; i < n && i < buf.Length; i++) buf[i] = tmp[i];
            return n;
        }
    }

    /// A generated /proc file: the text is made when it is opened (a snapshot, as a
    /// seq_file read in one go), kept in raw pages until the last close.
    public sealed class ProcFile : Inode
    {
        public readonly ProcKind Kind;
        public Process Owner;             // the process a /proc/PID file describes (null: none or the caller)
        public Thread Task;               // the thread a task/TID file describes (null: the process)
        public ProcFile(FileSystem fs, ProcKind kind) { InitCommon(fs, FileMode.S_IFREG | 0x124); Kind = kind; }
        /// A file whose text never changes (ProcKind.Fixed: /proc/sys settings).
        public string Text;
        public static ProcFile Fixed(FileSystem fs, string text) => new ProcFile(fs, ProcKind.Fixed) { Text = text };
        public override long Blocks() => 0;
        public override Errno Open(uint flags, out OpenFile file)
        {
            file = null;
            if ((flags & 3) != 0) return Errno.EACCES;
            file = new ProcFileHandle(this, flags);
            return 0;
        }
        public override Errno Truncate(long size) => Errno.EACCES;
    }

    public sealed unsafe class ProcFileHandle : OpenFile
    {
        const int BufSize = 65536;
        readonly ProcFile _node;
        byte* _buf;
        int _len;

        public ProcFileHandle(ProcFile node, uint flags)
        {
            _node = node; StatusFlags = flags;
            _buf = (byte*)Heap.Alloc(BufSize);
            var w = new LineWriter(new Span<byte>(_buf, BufSize));
            Process old = ProcTree.Enter(node.Owner);
            ProcTree.EnterTask(node.Task);
            if (node.Kind == ProcKind.Fixed) w.Str(node.Text);
            else ProcTree.Generate(node.Kind, ref w);
            ProcTree.Leave(old);
            _len = w.Length;
            node.Opened();
        }

        public override Inode Inode => _node;
        protected override void Closed() { Heap.Free(_buf, BufSize); _buf = null; _node.Closed(); }

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            SysResult r = ReadAt(buffer, length, Offset);
            if (!r.IsError) Offset += r.Raw;
            return r;
        }

        public override bool Positional => true;

        public override SysResult ReadAt(UserPtr buffer, ulong length, long offset)
        {
            if (offset >= _len) return 0;
            long n = _len - offset;
            if ((ulong)n > length) n = (long)length;
            return buffer.CopyOut(_buf + offset, (ulong)n) == 0 ? (SysResult)n : Errno.EFAULT;
        }

        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EBADF;

        public override SysResult Seek(long offset, int whence)
        {
            long pos = whence == 0 ? offset : whence == 1 ? Offset + offset : whence == 2 ? _len + offset : -1;
            if (whence > 2 || pos < 0) return Errno.EINVAL;
            Offset = pos;
            return pos;
        }
    }
}
