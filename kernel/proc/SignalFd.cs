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

        ulong Ready(Thread me) => (me.PendingSignals | Process.Of(me).PendingSignals) & Mask;

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (length < 128) return Errno.EINVAL;
            Thread me = Scheduler.Current;
            while (Ready(me) == 0)
            {
                if (NonBlock) return Errno.EAGAIN;
                if (PollEvents.Wait(0) == WakeReason.Interrupted) return Errno.ERESTARTSYS;
            }
            ulong size = (ulong)sizeof(SignalfdSiginfo);
            ulong done = 0;
            while (done + size <= length)
            {
                ulong ready = Ready(me);
                if (ready == 0) break;
                int sig = 1;
                while ((ready & Signals.Bit(sig)) == 0) sig++;
                SigInfoData d = Signals.Take(me, sig);
                var rec = new SignalfdSiginfo
                {
                    Signo = (uint)sig, Code = d.Code, Pid = (uint)d.Pid, Uid = (uint)d.Uid,
                    Tid = (uint)d.TimerId,                 // ssi_tid: the timer id for SI_TIMER
                    Overrun = (uint)d.Overrun, Int = (int)d.Value, Ptr = d.Value, Addr = d.Addr,
                };
                if (buffer.Add(done).CopyOut(&rec, size) != 0) return done > 0 ? (SysResult)(long)done : Errno.EFAULT;
                done += size;
            }
            return (long)done;
        }

        public override SysResult Write(UserPtr buffer, ulong length) => Errno.EINVAL;
        public override uint Poll() => Ready(Scheduler.Current) != 0 ? PollEvents.In : 0;
        public override void Stat(ref Abi.Stat st) { st.Mode = 0x180; st.Nlink = 1; st.BlkSize = 4096; st.Dev = 0xe; }
        public override int Describe(System.Span<byte> buf) => EventFd.Copy(buf, "anon_inode:[signalfd]");
    }
}
