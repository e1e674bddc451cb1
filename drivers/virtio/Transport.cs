using Kernel.Memory;

namespace Kernel.Drivers
{
    /// How a driver reaches its device: virtio-mmio or virtio-pci (modern). Drivers see only
    /// this; the transport hides register layouts, notification and interrupt wiring.
    public abstract class VirtioTransport
    {
        public uint DeviceType;
        /// For log lines: "mmio@0xfeb00e00" or "pci 00:03.0".
        public abstract void Describe(ref Console.LineWriter w);
        public abstract ulong DeviceFeatures();
        public abstract void DriverFeatures(ulong features);
        public abstract byte Status { get; set; }
        /// Largest size the device allows for queue `q` (0: no such queue).
        public abstract ushort QueueMax(int q);
        /// Gives the device queue `q`'s rings and enables it.
        public abstract void QueueSetup(int q, ushort size, ulong desc, ulong avail, ulong used);
        public abstract void Notify(int q);
        public abstract byte Config8(int offset);
        public abstract uint Config32(int offset);
        public ulong Config64(int offset) => Config32(offset) | ((ulong)Config32(offset + 4) << 32);
        /// Routes the device's interrupts to `vector` on CPU 0; false when it cannot.
        public abstract bool RouteInterrupt(int vector);
        /// In the interrupt handler: acknowledges it; false when it was not this device's.
        public abstract bool AcknowledgeInterrupt();
        /// The GSI of a level-triggered line the device may share with others (PCI INTx);
        /// -1 when its interrupts come on a vector of its own.
        public virtual int IntxGsi => -1;

        /// Resets the device (status 0) and waits for the reset to finish.
        public void Reset()
        {
            Status = 0;
            for (int i = 0; i < 100000 && Status != 0; i++) { }
        }
    }

    /// The DMA side of the HAL: physically contiguous frames in the direct map, owned
    /// explicitly by the driver (the collector never scans them).
    public static unsafe class Dma
    {
        /// Zeroed frames for `bytes`; 0 when memory is short.
        public static byte* Allocate(ulong bytes, out ulong phys)
        {
            ulong pages = (bytes + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize;
            phys = PhysicalMemory.AllocateFrames(pages);
            if (phys == ulong.MaxValue) { phys = 0; return null; }
            return (byte*)PhysicalMemory.ToVirtual(phys);
        }

        /// Like Allocate without zeroing, for buffers always written before they are read.
        public static byte* AllocateUninitialized(ulong bytes, out ulong phys)
        {
            ulong pages = (bytes + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize;
            phys = PhysicalMemory.AllocateFramesUninitialized(pages);
            if (phys == ulong.MaxValue) { phys = 0; return null; }
            return (byte*)PhysicalMemory.ToVirtual(phys);
        }

        public static void Free(ulong phys, ulong bytes) =>
            PhysicalMemory.FreeFrames(phys, (bytes + PhysicalMemory.PageSize - 1) / PhysicalMemory.PageSize);

        /// Device address of direct-mapped kernel memory.
        public static ulong ToPhysical(void* p) => PhysicalMemory.ToPhysical(p);

        /// What to subtract from a direct-map address to get the physical one.
        public const ulong DirectMapOffset = PhysicalMemory.DirectMapBase;
    }

    /// How a driver blocks a thread until its interrupt handler says so. Drivers live in the
    /// machine layer and cannot name threads: the scheduler installs `Create` at boot.
    public abstract class WaitPoint
    {
        /// Blocks the caller (uninterruptibly, as a disk wait on Linux) until WakeAll.
        public abstract void Wait();
        /// From an interrupt handler or a thread: wakes every waiter; they recheck.
        public abstract void WakeAll();
        public static unsafe delegate*<WaitPoint> Create;
    }
}

namespace Kernel.Drivers
{
    /// Device register access at an exact width. Not inlined: the compiler would otherwise
    /// narrow `(byte)Read32(...)` into a one-byte load, which devices (virtio-mmio) refuse.
    public static unsafe class Mmio
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static uint Read32(ulong a) => *(uint*)a;
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static ushort Read16(ulong a) => *(ushort*)a;
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static byte Read8(ulong a) => *(byte*)a;
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static void Write32(ulong a, uint v) => *(uint*)a = v;
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static void Write16(ulong a, ushort v) => *(ushort*)a = v;
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static void Write8(ulong a, byte v) => *(byte*)a = v;
    }
}
