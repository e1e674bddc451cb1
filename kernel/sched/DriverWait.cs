namespace Kernel.Sched
{
    /// The scheduler's side of Drivers.WaitPoint: a driver's thread blocks here
    /// (uninterruptibly, like Linux's disk waits) until the device's interrupt wakes it.
    public sealed class DriverWait : Drivers.WaitPoint
    {
        readonly WaitQueue _queue = new WaitQueue();

        public static Drivers.WaitPoint Create() => new DriverWait();

        public override void Wait() => _queue.Wait(0, interruptible: false);

        public override void WakeAll() => _queue.WakeAll();
    }
}
