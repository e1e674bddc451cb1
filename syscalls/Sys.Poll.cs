using Kernel.Abi;
using Kernel.Fs;
using Kernel.Sched;
using Kernel.Time;
using Kernel.Proc;

namespace Kernel.Syscalls
{
    /// Waiting for files: poll, select, epoll, and eventfd.
    public static unsafe partial class Sys
    {
        /// Converts a relative timeout to a monotonic deadline: 0 waits forever, ulong.MaxValue returns at once.
        static ulong DeadlineFromMs(long ms) => ms < 0 ? 0 : ms == 0 ? ulong.MaxValue : Clock.MonotonicNs() + (ulong)ms * 1000000;

        static Errno ReadTimespecDeadline(ulong ptr, out ulong deadline)
        {
            deadline = 0;
            if (ptr == 0) return 0;
            if (new UserRef<Timespec>(ptr).Read(out Timespec ts) != 0) return Errno.EFAULT;
            if (ts.Sec < 0 || (ulong)ts.Nsec >= 1000000000) return Errno.EINVAL;
            ulong ns = Deadline.Ns(ts);
            deadline = ns == 0 ? ulong.MaxValue : ns == ulong.MaxValue ? 0 : Clock.MonotonicNs() + ns;
            return 0;
        }

        /// Waits until `ready()` reports something, a signal, or the deadline. Returns the
        /// ready count, 0 on timeout, or EINTR. The first scan passes no waiter; before
        /// sleeping, a waiter is made and the next scan puts it on the heads of the files it
        /// looks at (poll, select), or it waits on `queue` (epoll_wait: its instance's).
        static SysResult WaitReady(delegate*<void*, PollWaiter, int> ready, void* state, ulong deadline, ulong* tempMask, PollHead queue = null)
        {
            ulong saved = Me.SignalMask;
            if (tempMask != null) Me.SignalMask = *tempMask & ~Unblockable;
            SysResult result;
            PollWaiter w = null;
            while (true)
            {
                if (w != null) w.Fired = false;
                int n = ready(state, w);
                if (w != null) w.Registering = false;
                if (n != 0) { result = n; break; }
                if (deadline == ulong.MaxValue || (deadline != 0 && Clock.MonotonicNs() >= deadline)) { result = 0; break; }
                if (w == null)
                {
                    w = new PollWaiter { Registering = true };
                    if (queue != null) { w.Exclusive = true; queue.Add(w); }
                    continue;                              // scan again, watching
                }
                if (w.Block(deadline) == WakeReason.Interrupted) { result = Errno.EINTR; break; }
            }
            if (w != null)
            {
                w.Done();
                if (queue != null) queue.Remove(w);
            }
            if (tempMask != null)
            {
                // The handler must run with the temporary mask; sigreturn restores the old one.
                if (result.Is(Errno.EINTR)) { Me.SavedMaskForSuspend = saved; Me.RestoreMaskAfterSignal = true; }
                else Me.SignalMask = saved;
            }
            return result;
        }

        /// The optional temporary signal mask of ppoll/pselect/epoll_pwait: (pointer, size).
        static Errno ReadOptionalMask(ulong ptr, ulong size, out ulong mask, out bool present)
        {
            mask = 0;
            present = ptr != 0;
            if (!present) return 0;
            if (size != 8) return Errno.EINVAL;
            fixed (ulong* m = &mask) return new UserPtr(ptr).CopyIn(m, 8);
        }

        struct PollState { public UserPtr Fds; public int Count; public Errno Error; }

        static int PollReady(void* p, PollWaiter w)
        {
            PollState* s = (PollState*)p;
            int ready = 0;
            ulong size = (ulong)sizeof(PollFd);
            for (int i = 0; i < s->Count; i++)
            {
                UserPtr at = s->Fds.Add((ulong)i * size);
                PollFd e;
                if (at.CopyIn(&e, size) != 0) { s->Error = Errno.EFAULT; return -1; }
                int fd = e.Fd;
                uint events = (ushort)e.Events;
                ushort revents = 0;
                if (fd >= 0)
                {
                    OpenFile f = Files.Get(fd);     // looked up again on each scan (Linux's do_pollfd): no file is in use across the wait
                    if (f != null && w != null) w.Watch(f);
                    revents = f == null ? (ushort)PollEvents.Nval
                        : (ushort)(PollEvents.WithNormal(f.Poll()) & (events | PollEvents.Err | PollEvents.Hup));
                }
                e.Revents = (short)revents;
                if (at.Add((ulong)((byte*)&e.Revents - (byte*)&e)).CopyOut(&e.Revents, sizeof(short)) != 0) { s->Error = Errno.EFAULT; return -1; }
                if (revents != 0) ready++;
            }
            return ready;
        }

        static SysResult DoPoll(ulong fds, ulong nfds, ulong deadline, ulong* mask)
        {
            if (nfds > (ulong)FdTable.Limit()) return Errno.EINVAL;
            if (!UserPtr.AccessOk(fds, nfds * 8)) return Errno.EFAULT;   // even for nfds 0, as Linux
            var s = new PollState { Fds = new UserPtr(fds), Count = (int)nfds };
            SysResult r = WaitReady(&PollReady, &s, deadline, mask);
            return s.Error != 0 ? s.Error : r;               // EINTR is never restarted: WaitReady does not ask for it
        }

        /// poll(2)
        public static SysResult PollCall(SyscallArgs* a) => DoPoll(a->A0, a->A1, DeadlineFromMs((int)a->A2), null);

        /// ppoll(2)
        public static SysResult Ppoll(SyscallArgs* a)
        {
            Errno e = ReadTimespecDeadline(a->A2, out ulong deadline);
            if (e != 0) return e;
            e = ReadOptionalMask(a->A3, a->A4, out ulong mask, out bool hasMask);
            if (e != 0) return e;
            return DoPoll(a->A0, a->A1, deadline, hasMask ? &mask : null);
        }

        struct SelectState { public int N; public ulong* In, Out, Ex, RIn, ROut, REx; public Errno Error; }

        static int SelectReady(void* p, PollWaiter waiter)
        {
            SelectState* s = (SelectState*)p;
            int ready = 0;
            int words = (s->N + 63) / 64;
            for (int w = 0; w < words; w++) { s->RIn[w] = 0; s->ROut[w] = 0; s->REx[w] = 0; }
            for (int fd = 0; fd < s->N; fd++)
            {
                ulong bit = 1UL << (fd & 63);
                int w = fd / 64;
                bool wantIn = s->In != null && (s->In[w] & bit) != 0, wantOut = s->Out != null && (s->Out[w] & bit) != 0,
                    wantEx = s->Ex != null && (s->Ex[w] & bit) != 0;
                if (!wantIn && !wantOut && !wantEx) continue;
                OpenFile f = Files.Get(fd);         // per scan, as poll's
                if (f == null) { s->Error = Errno.EBADF; return -1; }
                if (waiter != null) waiter.Watch(f);
                uint m = f.Poll();
                if (wantIn && (m & (PollEvents.In | PollEvents.Hup | PollEvents.Err)) != 0) { s->RIn[w] |= bit; ready++; }
                if (wantOut && (m & (PollEvents.Out | PollEvents.Err)) != 0) { s->ROut[w] |= bit; ready++; }
                if (wantEx && (m & PollEvents.Pri) != 0) { s->REx[w] |= bit; ready++; }
            }
            return ready;
        }

        static SysResult DoSelect(int n, ulong inp, ulong outp, ulong exp, ulong deadline, ulong* mask)
        {
            if (n < 0) return Errno.EINVAL;
            if (n > Files.Size) n = Files.Size;              // as Linux: no fd above the table is open
            int words = (n + 63) / 64;
            if (words <= 16)
            {
                ulong* buf = stackalloc ulong[6 * 16];
                return SelectIn(n, 16, buf, inp, outp, exp, deadline, mask);
            }
            var big = new ulong[6 * words];                  // tables past 1024 descriptors
            fixed (ulong* buf = big) return SelectIn(n, words, buf, inp, outp, exp, deadline, mask);
        }

        /// select over six zeroed sets of `words` words at buf: the three asked, the three answered.
        static SysResult SelectIn(int n, int words, ulong* buf, ulong inp, ulong outp, ulong exp, ulong deadline, ulong* mask)
        {
            ulong bytes = (ulong)((n + 7) / 8);
            for (int i = 0; i < 6 * words; i++) buf[i] = 0;
            var s = new SelectState { N = n };
            if (inp != 0) { s.In = buf; if (new UserPtr(inp).CopyIn(s.In, bytes) != 0) return Errno.EFAULT; }
            if (outp != 0) { s.Out = buf + words; if (new UserPtr(outp).CopyIn(s.Out, bytes) != 0) return Errno.EFAULT; }
            if (exp != 0) { s.Ex = buf + 2 * words; if (new UserPtr(exp).CopyIn(s.Ex, bytes) != 0) return Errno.EFAULT; }
            s.RIn = buf + 3 * words; s.ROut = buf + 4 * words; s.REx = buf + 5 * words;
            SysResult r = WaitReady(&SelectReady, &s, deadline, mask);
            if (s.Error != 0) return s.Error;
            if (r.Raw < 0) return r;
            if (inp != 0 && new UserPtr(inp).CopyOut(s.RIn, bytes) != 0) return Errno.EFAULT;
            if (outp != 0 && new UserPtr(outp).CopyOut(s.ROut, bytes) != 0) return Errno.EFAULT;
            if (exp != 0 && new UserPtr(exp).CopyOut(s.REx, bytes) != 0) return Errno.EFAULT;
            return r;
        }

        /// select(2)
        public static SysResult Select(SyscallArgs* a)
        {
            ulong deadline = 0;
            if (a->A4 != 0)
            {
                if (new UserRef<Timeval>(a->A4).Read(out Timeval tv) != 0) return Errno.EFAULT;
                if (tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1000000) return Errno.EINVAL;
                ulong ns = (ulong)tv.Sec * 1000000000 + (ulong)tv.Usec * 1000;
                deadline = ns == 0 ? ulong.MaxValue : Clock.MonotonicNs() + ns;
            }
            return DoSelect((int)a->A0, a->A1, a->A2, a->A3, deadline, null);
        }

        /// pselect6(2)
        public static SysResult Pselect6(SyscallArgs* a)
        {
            Errno e = ReadTimespecDeadline(a->A4, out ulong deadline);
            if (e != 0) return e;
            ulong mask = 0;
            bool hasMask = false;
            if (a->A5 != 0)
            {
                ulong* sig = stackalloc ulong[2];
                if (new UserPtr(a->A5).CopyIn(sig, 16) != 0) return Errno.EFAULT;
                if (sig[0] != 0)
                {
                    if (sig[1] != 8) return Errno.EINVAL;
                    if (new UserPtr(sig[0]).CopyIn(&mask, 8) != 0) return Errno.EFAULT;
                    hasMask = true;
                }
            }
            return DoSelect((int)a->A0, a->A1, a->A2, a->A3, deadline, hasMask ? &mask : null);
        }

        /// epoll_create(2)
        public static SysResult EpollCreate(SyscallArgs* a) => (int)a->A0 <= 0 ? Errno.EINVAL : NewEpoll(0);
        /// epoll_create1(2)
        public static SysResult EpollCreate1(SyscallArgs* a) => (a->A0 & ~0x80000UL) != 0 ? Errno.EINVAL : NewEpoll((int)a->A0);

        static SysResult NewEpoll(int flags)
        {
            int fd = Files.Allocate(new EpollFile { StatusFlags = 2 }, 0, (flags & 0x80000) != 0);
            return fd < 0 ? Errno.EMFILE : fd;
        }

        /// epoll_ctl(2)
        public static SysResult EpollCtl(SyscallArgs* a)
        {
            OpenFile ef = Fd((int)a->A0);
            int op = (int)a->A1, fd = (int)a->A2;
            OpenFile target = Fd(fd);
            if (ef == null || target == null) return Errno.EBADF;
            if (!(ef is EpollFile ep) || target == ef) return Errno.EINVAL;
            if (target is InodeFile || target.IsPath) return Errno.EPERM;        // regular files and directories
            if (op == 1 && target is EpollFile inner && inner.Contains(ep)) return Errno.ELOOP;
            const int ADD = 1, DEL = 2, MOD = 3;
            uint events = 0; ulong data = 0;
            if (op != DEL)
            {
                if (new UserRef<EpollEvent>(a->A3).Read(out EpollEvent ev) != 0) return Errno.EFAULT;
                events = ev.Events; data = ev.Data;
                if ((events & EpollFile.EPOLLEXCLUSIVE) != 0)
                {
                    // epoll_ctl(2): only with ADD, not on an epoll instance, and only with
                    // EPOLLIN, EPOLLOUT, EPOLLWAKEUP, EPOLLET (EPOLLERR, EPOLLHUP allowed)
                    const uint ok = PollEvents.In | PollEvents.Out | PollEvents.Err | PollEvents.Hup | EpollFile.EPOLLWAKEUP | EpollFile.EPOLLET | EpollFile.EPOLLEXCLUSIVE;
                    if (op == MOD || target is EpollFile || (events & ~ok) != 0) return Errno.EINVAL;
                }
            }
            switch (op)
            {
                case ADD: return ep.Add(fd, target, events, data) is var e1 && e1 != 0 ? e1 : SysResult.Ok;
                case MOD: return ep.Modify(fd, target, events, data) is var e2 && e2 != 0 ? e2 : SysResult.Ok;
                case DEL: return ep.Remove(fd, target) is var e3 && e3 != 0 ? e3 : SysResult.Ok;
                default: return Errno.EINVAL;
            }
        }

        struct EpollState { public EpollFile Ep; public UserPtr Events; public int Max; public Errno Error; }

        static int EpollReady(void* p, PollWaiter w)
        {
            EpollState* s = (EpollState*)p;
            int n = s->Ep.Collect(s->Events, s->Max, out Errno e);
            if (e != 0) { s->Error = e; return -1; }
            return n;
        }

        static SysResult DoEpollWait(int epfd, ulong events, int max, ulong deadline, ulong* mask)
        {
            OpenFile f = Fd(epfd);
            if (f == null) return Errno.EBADF;
            if (max <= 0 || max > 0x7fffffff / 12) return Errno.EINVAL;
            if (!UserPtr.AccessOk(events, (ulong)max * 12)) return Errno.EFAULT;
            if (!(f is EpollFile ep)) return Errno.EINVAL;
            var s = new EpollState { Ep = ep, Events = new UserPtr(events), Max = max };
            SysResult r = WaitReady(&EpollReady, Unsafe_AsPointer(ref s), deadline, mask, ep.Waiters);
            if (ep.HasReady) ep.Waiters.WakeOne();           // more queued than this call took: another waiter's turn
            return s.Error != 0 ? s.Error : r;               // EINTR is never restarted: WaitReady does not ask for it
        }

        static void* Unsafe_AsPointer(ref EpollState s) => System.Runtime.CompilerServices.Unsafe.AsPointer(ref s);

        /// epoll_wait(2)
        public static SysResult EpollWait(SyscallArgs* a) => DoEpollWait((int)a->A0, a->A1, (int)a->A2, DeadlineFromMs((int)a->A3), null);

        /// epoll_pwait(2)
        public static SysResult EpollPwait(SyscallArgs* a)
        {
            Errno e = ReadOptionalMask(a->A4, a->A5, out ulong mask, out bool hasMask);
            if (e != 0) return e;
            return DoEpollWait((int)a->A0, a->A1, (int)a->A2, DeadlineFromMs((int)a->A3), hasMask ? &mask : null);
        }

        /// epoll_pwait2(2)
        public static SysResult EpollPwait2(SyscallArgs* a)
        {
            Errno e = ReadTimespecDeadline(a->A3, out ulong deadline);
            if (e != 0) return e;
            e = ReadOptionalMask(a->A4, a->A5, out ulong mask, out bool hasMask);
            if (e != 0) return e;
            return DoEpollWait((int)a->A0, a->A1, (int)a->A2, deadline, hasMask ? &mask : null);
        }

        /// signalfd(2)
        public static SysResult SignalfdCall(SyscallArgs* a) => DoSignalfd((int)a->A0, a->A1, a->A2, 0);
        /// signalfd4(2)
        public static SysResult Signalfd4(SyscallArgs* a) => DoSignalfd((int)a->A0, a->A1, a->A2, (int)a->A3);

        static SysResult DoSignalfd(int fd, ulong maskPtr, ulong size, int flags)
        {
            const int SFD_NONBLOCK = 0x800, SFD_CLOEXEC = 0x80000;
            if ((flags & ~(SFD_NONBLOCK | SFD_CLOEXEC)) != 0 || size != 8) return Errno.EINVAL;
            ulong mask;
            if (new UserPtr(maskPtr).CopyIn(&mask, 8) != 0) return Errno.EFAULT;
            mask &= ~Unblockable;
            if (fd != -1)
            {
                OpenFile f = Fd(fd);
                if (f == null) return Errno.EBADF;
                if (!(f is SignalFd sfd)) return Errno.EINVAL;
                sfd.SetMask(mask);
                return fd;
            }
            int nfd = Files.Allocate(new SignalFd(mask, 0u | (uint)(flags & SFD_NONBLOCK)), 0, (flags & SFD_CLOEXEC) != 0);
            return nfd < 0 ? Errno.EMFILE : nfd;
        }

        /// eventfd(2)
        public static SysResult Eventfd(SyscallArgs* a) => NewEventFd((uint)a->A0, 0);
        /// eventfd2(2)
        public static SysResult Eventfd2(SyscallArgs* a) => NewEventFd((uint)a->A0, (int)a->A1);

        static SysResult NewEventFd(uint initial, int flags)
        {
            const int EFD_SEMAPHORE = 1, EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
            if ((flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)) != 0) return Errno.EINVAL;
            var f = new EventFd(initial, (flags & EFD_SEMAPHORE) != 0, 2u | (uint)(flags & EFD_NONBLOCK));
            int fd = Files.Allocate(f, 0, (flags & EFD_CLOEXEC) != 0);
            return fd < 0 ? Errno.EMFILE : fd;
        }
    }
}
