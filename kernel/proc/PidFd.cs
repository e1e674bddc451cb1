using Kernel.Abi;
using Kernel.Fs;

namespace Kernel.Proc
{
    /// pidfd_open(2): a file that refers to one process (the object, not its number, so a
    /// reused pid never makes it refer to another). It reads as nothing (EINVAL); poll reports
    /// it readable once the process has ended (zombie or reaped), announced on the process's
    /// ExitHead when it finishes (Process.Finish); pidfd_send_signal and waitid(P_PIDFD) act
    /// on its process.
    public sealed class PidFd : OpenFile
    {
        public readonly Process Target;
        public PidFd(Process p, uint flags) { Target = p; StatusFlags = flags; }

        /// The process of a pidfd, or of a /proc/PID directory opened by the caller (as Linux
        /// takes either in pidfd_send_signal); null for any other file.
        public static Process Of(OpenFile f)
        {
            if (f is PidFd p) return p.Target;
            Inode dir = f?.Inode;
            if (dir == null) return null;
            for (int i = 0; i < Process.Count; i++)
                if (Process.At(i).ProcNode == dir) return Process.At(i);
            return null;
        }

        /// Still has its pid (not reaped yet).
        public bool Registered => Process.Find(Target.Pid) == Target;

        public override SysResult Read(UserPtr buffer, ulong length) => Errno.EINVAL;
        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EINVAL;
        public override uint Poll() => Target.Zombie ? PollEvents.In | PollEvents.RdNorm : 0;
        public override PollHead PollHead => Target.ExitHead;
        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(System.Span<byte> buf) => EventFd.Copy(buf, "anon_inode:[pidfd]");
    }
}
