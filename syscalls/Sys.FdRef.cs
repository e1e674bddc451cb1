using Kernel.Fs;
using Kernel.Sched;

namespace Kernel.Syscalls
{
    /// The fd lookup of the syscalls (Linux's fdget/fdput): a call that uses an fd holds a
    /// reference to its open file description until the call returns, so another thread's
    /// close() only removes the fd and the last reference (possibly this call's) releases the
    /// file. The dispatcher drops the call's references on every return path
    /// (SyscallTable.Dispatch), and ReleaseThread on a thread that ends inside a call.
    public static unsafe partial class Sys
    {
        /// The open file at `fd` (null if none), held until the current call returns.
        static OpenFile Fd(int fd)
        {
            OpenFile f = Files.Get(fd);
            if (f != null) HoldForCall(Scheduler.Current, f);
            return f;
        }

        static void HoldForCall(Thread me, OpenFile f)
        {
            object[] refs = me.CallRefs;
            if (refs == null || me.CallRefCount == refs.Length)
            {
                // Once per thread (a call holds one or two files): the fast path does not allocate.
                var bigger = new object[refs == null ? 4 : refs.Length * 2];
                for (int i = 0; i < me.CallRefCount; i++) bigger[i] = refs[i];
                me.CallRefs = refs = bigger;
            }
            f.AddRef();
            refs[me.CallRefCount++] = f;
        }

        /// Releases what the call of `me` held (last taken, first released). Release may run a
        /// file's Closed(), which may block: the count goes down before each release.
        public static void DropCallRefs(Thread me)
        {
            object[] refs = me.CallRefs;
            while (me.CallRefCount > 0)
            {
                int i = --me.CallRefCount;
                var f = (OpenFile)refs[i];
                refs[i] = null;
                f.Release();
            }
        }
    }
}
