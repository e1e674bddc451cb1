namespace Kernel.Sched
{
    /// The capability sets (capabilities(7)). The program is root with every capability inside
    /// its VM, as in a container; capset can drop them. One set for the whole VM: the syscall
    /// layer's capget/capset change it, the file layer's permission checks (fs/Permission.cs)
    /// read it, which is why it lives this low.
    public static class Capabilities
    {
        public const ulong All = (1UL << 41) - 1;                 // CAP_LAST_CAP = 40 (CAP_CHECKPOINT_RESTORE)
        public const int CAP_CHOWN = 0, CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2, CAP_FOWNER = 3,
            CAP_FSETID = 4, CAP_MKNOD = 27;
        public static ulong Effective = All, Permitted = All, Inheritable;

        public static bool Has(int cap) => (Effective & (1UL << cap)) != 0;
    }
}
