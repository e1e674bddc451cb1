using Kernel.Sched;
using Kernel.Abi;
using Kernel.Fs;

namespace Kernel.Proc
{
    /// signalfd(2): reading takes pending signals in the mask as signalfd_siginfo records
    /// (128 bytes each) instead of running their handlers. The signals are always the
    /// reader's (its thread's and its process's pending ones), whichever process made the
    /// file: one inherited by fork or passed over a unix socket reads its new holder's. So
    /// its poll head is the asking process's (Process.SignalHead): a poll waits on the
    /// poller's, an epoll interest on the head of the process that added it (as Linux's: an
    /// interest added before a fork is not woken by the child's signals).
    public sealed unsafe class SignalFd : OpenFile
    {
        public ulong Mask { get; private set; }
        public SignalFd(ulong mask, uint flags) { Mask = mask; StatusFlags = flags; }

        /// signalfd(2) on this file: the new mask, announced to the caller's pollers.
        public void SetMask(ulong mask)
        {
            Mask = mask;
            Process.Of(Scheduler.Current).SignalHead.Changed();
        }

        public override PollHead PollHead
        {
            get { Process p = Process.Of(Scheduler.Current); return p != null ? p.SignalHead : PollEvents.Steady; }
        }
        bool NonBlock => (StatusFlags & 0x800) != 0;

        ulong Ready(Thread me) => (me.PendingSignals | Process.Of(me).PendingSignals) & Mask;

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            if (length < 128) return Errno.EINVAL;
            Thread me = Scheduler.Current;
            while (Ready(me) == 0)
            {
                if (NonBlock) return Errno.EAGAIN;
                if (Process.Of(me).SignalHead.Wait(0) == WakeReason.Interrupted) return Errno.ERESTARTSYS;
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
