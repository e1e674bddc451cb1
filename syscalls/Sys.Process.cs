using System;
using Kernel.Abi;
using Kernel.Arch;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    public static unsafe partial class Sys
    {
        /// The calling thread's process.
        static Process Cur => Process.Of(Scheduler.Current);

        /// getpid(2)
        public static SysResult Getpid(SyscallArgs* a) => Cur.Pid;
        // Capabilities: the sets live in kernel/sched/Capabilities.cs (the file permission checks
        // read them); capset can drop them (and clock_settime checks CAP_SYS_TIME).
        const ulong CapAll = Capabilities.All;
        const int CAP_SETPCAP = 8, CAP_SYS_ADMIN = 21, CAP_SYS_TIME = 25;
        const uint CapVersion1 = 0x19980330, CapVersion2 = 0x20071026, CapVersion3 = 0x20080522;

        static bool Capable(int cap) => Capabilities.Has(cap);

        /// Reads a capability header: the number of 32-bit words per set (1 or 2) and the pid.
        /// An unknown version is EINVAL after the preferred version is written back.
        static Errno CapHeader(ulong header, out int words, out int pid)
        {
            words = 0; pid = 0;
            uint* h = stackalloc uint[2];
            if (new UserPtr(header).CopyIn(h, 8) != 0) return Errno.EFAULT;
            if (h[0] == CapVersion1) words = 1;
            else if (h[0] == CapVersion2 || h[0] == CapVersion3) words = 2;
            else
            {
                uint v = CapVersion3;
                return new UserPtr(header).CopyOut(&v, 4) != 0 ? Errno.EFAULT : Errno.EINVAL;
            }
            pid = (int)h[1];
            return 0;
        }

        /// capget(2): any process's sets (pid 0: the caller's).
        public static SysResult Capget(SyscallArgs* a)
        {
            Errno e = CapHeader(a->A0, out int words, out int pid);
            if (a->A1 == 0) return e == Errno.EINVAL ? SysResult.Ok : e;     // a version probe
            if (e != 0) return e;
            if (pid < 0) return Errno.EINVAL;
            Process p = pid == 0 ? Cur : Process.Find(pid);
            if (p == null || p.Zombie) return Errno.ESRCH;
            uint* d = stackalloc uint[6];                                    // {effective, permitted, inheritable} x 2
            for (int i = 0; i < 2; i++)
            {
                d[i * 3 + 0] = (uint)(p.CapEffective >> (32 * i));
                d[i * 3 + 1] = (uint)(p.CapPermitted >> (32 * i));
                d[i * 3 + 2] = (uint)(p.CapInheritable >> (32 * i));
            }
            return new UserPtr(a->A1).CopyOut(d, (ulong)words * 12) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// capset(2): this process only; permitted can only shrink, effective stays within
        /// permitted, and inheritable within permitted (any, with CAP_SETPCAP) and the bounding set.
        public static SysResult Capset(SyscallArgs* a)
        {
            Errno e = CapHeader(a->A0, out int words, out int pid);
            if (e != 0) return e;
            Process p = Cur;
            if (pid != 0 && pid != p.Pid) return Errno.EPERM;
            uint* d = stackalloc uint[6];
            for (int i = 0; i < 6; i++) d[i] = 0;
            if (new UserPtr(a->A1).CopyIn(d, (ulong)words * 12) != 0) return Errno.EFAULT;
            ulong eff = (d[0] | (ulong)d[3] << 32) & CapAll, prm = (d[1] | (ulong)d[4] << 32) & CapAll,
                inh = (d[2] | (ulong)d[5] << 32) & CapAll;
            ulong inheritableLimit = Capable(CAP_SETPCAP) ? CapAll : p.CapInheritable | p.CapPermitted;
            if ((inh & ~inheritableLimit) != 0 || (inh & ~(p.CapInheritable | p.CapBounding)) != 0
                || (prm & ~p.CapPermitted) != 0 || (eff & ~prm) != 0) return Errno.EPERM;
            p.CapEffective = eff; p.CapPermitted = prm; p.CapInheritable = inh;
            return SysResult.Ok;
        }

        /// exit_group(2)
        public static SysResult ExitGroup(SyscallArgs* a) { Cur.Exit((int)a->A0); return SysResult.Ok; }

        /// uname(2)
        public static SysResult Uname(SyscallArgs* a)
        {
            Utsname u = default;
            Put(u.Sysname, "Linux");
            Put(u.Nodename, Uts.Hostname);
            Put(u.Release, "6.1.0-uk");
            Put(u.Version, "#1 SMP PREEMPT_DYNAMIC C# unikernel");
            Put(u.Machine, "x86_64");
            Put(u.Domainname, Uts.Domainname);
            return new UserRef<Utsname>(a->A0).Write(u) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        static void Put(byte* dst, string s) { for (int i = 0; i < s.Length; i++) dst[i] = (byte)s[i]; }
        static void Put(byte* dst, byte[] s) { for (int i = 0; i < s.Length; i++) dst[i] = s[i]; }

        /// sethostname(2)
        public static SysResult Sethostname(SyscallArgs* a) => SetUtsName(a, ref Uts.Hostname);
        /// setdomainname(2)
        public static SysResult Setdomainname(SyscallArgs* a) => SetUtsName(a, ref Uts.Domainname);

        static SysResult SetUtsName(SyscallArgs* a, ref byte[] name)
        {
            if (!Capable(CAP_SYS_ADMIN)) return Errno.EPERM;
            if ((ulong)(uint)a->A1 > Uts.MaxLength) return Errno.EINVAL;         // int len: negative is huge
            var s = new byte[(int)(uint)a->A1];
            fixed (byte* p = s)
                if (s.Length > 0 && new UserPtr(a->A0).CopyIn(p, (ulong)s.Length) != 0) return Errno.EFAULT;
            int n = 0;
            while (n < s.Length && s[n] != 0) n++;                             // as uname shows it: up to a NUL
            if (n < s.Length) { var t = new byte[n]; for (int i = 0; i < n; i++) t[i] = s[i]; s = t; }
            name = s;
            return SysResult.Ok;
        }

        /// umask(2)
        public static SysResult Umask(SyscallArgs* a)
        {
            uint old = Cur.Umask;
            Cur.Umask = (uint)a->A0 & 0x1ff;
            return old;
        }

        // Resource limits live on the process (kernel/proc/Process.cs).
        static Rlimit[] Limits
        {
            get
            {
                return Cur.Limits;
            }
        }

        /// getrlimit(2)
        public static SysResult Getrlimit(SyscallArgs* a)
        {
            if (a->A0 >= 16) return Errno.EINVAL;
            return new UserRef<Rlimit>(a->A1).Write(Limits[a->A0]) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// setrlimit(2)
        public static SysResult Setrlimit(SyscallArgs* a)
        {
            if (a->A0 >= 16) return Errno.EINVAL;
            if (new UserRef<Rlimit>(a->A1).Read(out Rlimit r) != 0) return Errno.EFAULT;
            Errno e = CheckLimit(Cur, (int)a->A0, r);
            if (e != 0) return e;
            Limits[a->A0] = r;
            return SysResult.Ok;
        }

        /// What Linux's do_prlimit refuses: soft above hard, RLIMIT_NOFILE above fs.nr_open,
        /// a raised hard limit without CAP_SYS_RESOURCE.
        static Errno CheckLimit(Process p, int resource, Rlimit r)
        {
            const int RLIMIT_NOFILE = 7, CAP_SYS_RESOURCE = 24;
            if (r.Cur > r.Max) return Errno.EINVAL;
            if (resource == RLIMIT_NOFILE && r.Max > (ulong)Fs.FdTable.NrOpen) return Errno.EPERM;
            if (r.Max > p.Limits[resource].Max && !Capable(CAP_SYS_RESOURCE)) return Errno.EPERM;
            return 0;
        }

        /// prlimit64(2): the caller's limits, or another process's when its real, effective and
        /// saved ids all match the caller's real ids (or the caller has CAP_SYS_RESOURCE).
        public static SysResult Prlimit64(SyscallArgs* a)
        {
            Process me = Cur, p = a->A0 == 0 ? me : Process.Find((int)a->A0);
            if (p == null || p.Zombie) return Errno.ESRCH;
            if (a->A1 >= 16) return Errno.EINVAL;
            if (p != me && !Capable(24))
            {
                bool same = p.Ruid == me.Ruid && p.Euid == me.Ruid && p.Suid == me.Ruid
                    && p.Rgid == me.Rgid && p.Egid == me.Rgid && p.Sgid == me.Rgid;
                if (!same) return Errno.EPERM;
            }
            Rlimit old = p.Limits[a->A1];
            if (a->A2 != 0)
            {
                if (new UserRef<Rlimit>(a->A2).Read(out Rlimit r) != 0) return Errno.EFAULT;
                Errno e = CheckLimit(p, (int)a->A1, r);
                if (e != 0) return e;
                p.Limits[a->A1] = r;
            }
            if (a->A3 != 0 && new UserRef<Rlimit>(a->A3).Write(old) != 0) return Errno.EFAULT;
            return SysResult.Ok;
        }

        /// sysinfo(2)
        public static SysResult SysinfoCall(SyscallArgs* a)
        {
            Sysinfo s = default;
            s.Uptime = (long)(Time.Clock.MonotonicNs() / 1000000000);
            s.TotalRam = PhysicalMemory.TotalBytes;
            s.FreeRam = PhysicalMemory.FreeBytes;
            s.Procs = (ushort)Scheduler.ThreadCount;
            s.MemUnit = 1;
            return new UserRef<Sysinfo>(a->A0).Write(s) == 0 ? SysResult.Ok : Errno.EFAULT;
        }

        /// arch_prctl(2)
        public static SysResult ArchPrctl(SyscallArgs* a)
        {
            const int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
            switch ((int)a->A0)
            {
                case ARCH_SET_FS:
                    if (a->A1 >= AddressSpace.UserLimit) return Errno.EPERM;
                    Me.FsBase = a->A1;
                    Cpu.Wrmsr(0xC0000100, a->A1);
                    return SysResult.Ok;
                case ARCH_GET_FS:
                    { ulong v = Me.FsBase; return new UserRef<ulong>(a->A1).Write(v) == 0 ? SysResult.Ok : Errno.EFAULT; }
                case ARCH_SET_GS:
                    if (a->A1 >= AddressSpace.UserLimit) return Errno.EPERM;
                    Me.GsBase = a->A1;
                    Cpu.SetUserGsBase(a->A1);
                    return SysResult.Ok;
                case ARCH_GET_GS:
                    { ulong v = Me.GsBase; return new UserRef<ulong>(a->A1).Write(v) == 0 ? SysResult.Ok : Errno.EFAULT; }
                default: return Errno.EINVAL;
            }
        }

        /// getrandom(2): RDRAND, or a TSC-seeded xorshift where the CPU lacks it.
        public static SysResult Getrandom(SyscallArgs* a)
        {
            ulong len = a->A1;
            uint flags = (uint)a->A2;
            if ((flags & ~7u) != 0 || (flags & 6) == 6) return Errno.EINVAL;
            if (len > MaxRwCount) len = MaxRwCount;
            if (!UserPtr.AccessOk(a->A0, len)) return Errno.EFAULT;       // even for 0 bytes, as Linux
            if (len > 0x1ffffff) len = 0x1ffffff;
            return new UserPtr(a->A0).FillRandom(len);
        }

        /// The CPUs online, one bit each.
        static ulong OnlineMask => Arch.Smp.Count >= 64 ? ulong.MaxValue : (1UL << Arch.Smp.Count) - 1;

        /// The thread a sched_*affinity pid names: 0 for the caller, else a thread id.
        static Thread AffinityTarget(ulong pid) => pid == 0 ? Me : pid > int.MaxValue ? null : Scheduler.Find((int)pid);

        /// sched_getaffinity(2): the thread's mask of the online CPUs.
        public static SysResult SchedGetaffinity(SyscallArgs* a)
        {
            Thread t = AffinityTarget(a->A0);
            if (t == null) return Errno.ESRCH;
            ulong size = a->A1;
            if (size < 8 || (size & 7) != 0) return Errno.EINVAL;
            ulong mask = t.Affinity & OnlineMask;
            if (new UserPtr(a->A2).Zero(size) != 0 || new UserPtr(a->A2).CopyOut(&mask, 8) != 0) return Errno.EFAULT;
            return 8;
        }

        /// sched_setaffinity(2): the thread runs only on the online CPUs of the mask (EINVAL
        /// when there is none); the caller moves at once when its own CPU is no longer in it.
        public static SysResult SchedSetaffinity(SyscallArgs* a)
        {
            Thread t = AffinityTarget(a->A0);
            if (t == null) return Errno.ESRCH;
            ulong size = a->A1 < 8 ? a->A1 : 8, mask = 0;
            if (new UserPtr(a->A2).CopyIn(&mask, size) != 0) return Errno.EFAULT;
            mask &= OnlineMask;
            if (mask == 0) return Errno.EINVAL;
            t.Affinity = mask;
            if (t == Me) Scheduler.Migrate();
            else Scheduler.Interrupt(t);                // running elsewhere: it moves on its way back to user mode
            return SysResult.Ok;
        }
    }
}
