using Kernel.Sched;
using Kernel.Abi;
using Kernel.Fs;

namespace Kernel.Proc
{
    /// signalfd(2): reading takes pending signals in the mask as signalfd_siginfo records
    /// (128 bytes each) instead of running their handlers.
    public sealed unsafe class SignalFd : OpenFile
    {
        public ulong Mask;
        public SignalFd(ulong mask, uint flags) { Mask = mask; StatusFlags = flags; }
        bool NonBlock => (StatusFlags & 0x800) != 0;

        ulong Ready(Thread me) => (me.PendingSignals | Proc.Process.Current.PendingSignals) & Mask;

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (length < 128) return Errno.EINVAL;
            Thread me = Scheduler.Current;
            while (Ready(me) == 0)
            {
                if (NonBlock) return Errno.EAGAIN;
                if (PollEvents.Wait(0) == WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
            byte* rec = stackalloc byte[128];
            ulong done = 0;
            while (done + 128 <= length)
            {
                ulong ready = Ready(me);
                if (ready == 0) break;
                int sig = 1;
                while ((ready & Signals.Bit(sig)) == 0) sig++;
                SigInfoData d = Signals.Take(me, sig);
                for (int i = 0; i < 128; i++) rec[i] = 0;
                *(uint*)rec = (uint)sig;
                *(int*)(rec + 8) = d.Code;
                *(uint*)(rec + 12) = (uint)d.Pid;
                *(uint*)(rec + 16) = (uint)d.Uid;
                *(uint*)(rec + 24) = (uint)d.TimerId;              // ssi_tid: the timer id for SI_TIMER
                *(uint*)(rec + 32) = (uint)d.Overrun;
                *(int*)(rec + 44) = (int)d.Value;                  // ssi_int
                *(ulong*)(rec + 48) = d.Value;                     // ssi_ptr
                *(ulong*)(rec + 72) = d.Addr;                      // ssi_addr
                if (buffer.Add(done).CopyOut(rec, 128) != 0) return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                done += 128;
            }
            return (long)done;
        }

        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EINVAL;
        public override uint Poll() => Ready(Scheduler.Current) != 0 ? PollEvents.In : 0;
        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(System.Span<byte> buf) => EventFd.Copy(buf, "anon_inode:[signalfd]");
    }
}
