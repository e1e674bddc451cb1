namespace Kernel.Sched
{
    /// The capability sets (capabilities(7)). Each process has its own (ThreadGroup's Cap*
    /// fields): the first program is root with every capability inside its VM, as in a
    /// container; fork copies them, capset shrinks them, and changes of user ids and execve
    /// move them as Linux does (Transitions). The syscall layer's calls and the file layer's
    /// permission checks (fs/Permission.cs) read them, which is why they live this low.
    public static class Capabilities
    {
        public const ulong All = (1UL << 41) - 1;                 // CAP_LAST_CAP = 40 (CAP_CHECKPOINT_RESTORE)
        public const int CAP_CHOWN = 0, CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2, CAP_FOWNER = 3,
            CAP_FSETID = 4, CAP_SETGID = 6, CAP_SETUID = 7, CAP_SETPCAP = 8, CAP_LINUX_IMMUTABLE = 9,
            CAP_MKNOD = 27, CAP_MAC_OVERRIDE = 32;

        /// What leaves the effective set when the filesystem uid leaves 0 (and comes back
        /// from the permitted set when it returns).
        public const ulong FsMask = 1UL << CAP_CHOWN | 1UL << CAP_DAC_OVERRIDE | 1UL << CAP_DAC_READ_SEARCH
            | 1UL << CAP_FOWNER | 1UL << CAP_FSETID | 1UL << CAP_LINUX_IMMUTABLE | 1UL << CAP_MKNOD | 1UL << CAP_MAC_OVERRIDE;

        /// Whether the calling process has `cap` in its effective set (kernel threads: all).
        public static bool Has(int cap)
        {
            Thread t = Scheduler.Current;
            ThreadGroup g = t != null ? t.Group : null;
            return g == null || (g.CapEffective & (1UL << cap)) != 0;
        }

        /// The user-id change rules of capabilities(7), given the ids before a set*uid call:
        /// leaving uid 0 in all of real, effective and saved drops the permitted and effective
        /// sets (unless PR_SET_KEEPCAPS), an effective uid leaving 0 drops the effective set,
        /// one returning to 0 gets the permitted set; a filesystem uid alone leaving or
        /// returning to 0 moves the file capabilities (FsMask).
        public static void UidsChanged(ThreadGroup g, uint ruid, uint euid, uint suid, uint fsuid)
        {
            if (g.Ruid != ruid || g.Euid != euid || g.Suid != suid)
            {
                bool wasRoot = ruid == 0 || euid == 0 || suid == 0;
                if (wasRoot && g.Ruid != 0 && g.Euid != 0 && g.Suid != 0 && !g.KeepCaps) { g.CapPermitted = 0; g.CapEffective = 0; }
                if (euid == 0 && g.Euid != 0) g.CapEffective = 0;
                if (euid != 0 && g.Euid == 0) g.CapEffective = g.CapPermitted;
            }
            else if (fsuid == 0 && g.Fsuid != 0) g.CapEffective &= ~FsMask;
            else if (fsuid != 0 && g.Fsuid == 0) g.CapEffective |= g.CapPermitted & FsMask;
        }

        /// execve of a program without file capabilities: root (real or effective uid 0)
        /// gets the bounding set and its inheritable set as permitted (a root program's file
        /// sets count as full), effective only with euid 0; anyone else ends with none.
        /// PR_SET_KEEPCAPS is cleared.
        public static void Execed(ThreadGroup g)
        {
            if (g.Ruid == 0 || g.Euid == 0) g.CapPermitted = g.CapBounding | g.CapInheritable;
            else g.CapPermitted = 0;
            g.CapEffective = g.Euid == 0 ? g.CapPermitted : 0;
            g.KeepCaps = false;
        }
    }
}
