// Host-side stand-ins for the few kernel-only members that otherwise pure kernel files
// touch outside the functions under test (StartInfo.TryRead, Rtc.Init). They are never
// called by the tests; they only let kernel/arch/x86_64/StartInfo.cs and kernel/time/Rtc.cs
// compile on the host. Do not compile the real Cpu.cs / Clock.cs / PhysicalMemory.cs into
// this project alongside these.

namespace Kernel.Memory
{
    public static unsafe class PhysicalMemory
    {
        public const ulong DirectMapBase = 0xffff800000000000;
        public static void* ToVirtual(ulong phys) => throw new System.NotSupportedException("kernel only");
    }
}

namespace Kernel.Arch
{
    public static class Cpu
    {
        public static void Outb(ushort port, byte value) => throw new System.NotSupportedException("kernel only");
        public static byte Inb(ushort port) => throw new System.NotSupportedException("kernel only");
    }
}

namespace Kernel.Time
{
    public static class Clock
    {
        public static ulong MonotonicNs() => throw new System.NotSupportedException("kernel only");
    }
}
