namespace Kernel.Arch
{
    /// Powering off. isa-debug-exit makes QEMU exit with status (value << 1) | 1.
    public static class Power
    {
        public const byte PanicCode = 0x7e;

        public static void Exit(byte value)
        {
            Cpu.Outl(0xf4, value);
            // No debug-exit device: try the ACPI-less fallbacks QEMU honours, then stop.
            Cpu.Outb(0x64, 0xfe);
            Cpu.DisableInterrupts();
            while (true) Cpu.Halt();
        }
    }
}
