namespace Kernel.Arch
{
    /// Powering off: isa-debug-exit where QEMU has it (the exit status reaches ukpack:
    /// QEMU exits with (value << 1) | 1), else ACPI soft-off (S5) where the firmware's
    /// tables describe it (a disk image booted by GRUB on a plain or cloud VM), else the
    /// i8042 reset pulse, which Firecracker treats as the VM's end.
    public static class Power
    {
        public const byte PanicCode = 0x7e;

        // PM1a/PM1b control ports and their SLP_TYP values for S5, from the FADT and the
        // DSDT's _S5 package (drivers' AcpiDevices.Scan); zero when unknown.
        static ushort _pm1a, _pm1b, _slpA, _slpB;

        public static void SetSoftOff(ushort pm1aControl, ushort pm1bControl, ushort slpTypA, ushort slpTypB)
        {
            _pm1a = pm1aControl; _pm1b = pm1bControl; _slpA = slpTypA; _slpB = slpTypB;
        }

        public static void Exit(byte value)
        {
            Cpu.Outl(0xf4, value);
            const ushort SlpEn = 1 << 13;
            if (_pm1a != 0)
            {
                Cpu.Outw(_pm1a, (ushort)((_slpA << 10) | SlpEn));
                if (_pm1b != 0) Cpu.Outw(_pm1b, (ushort)((_slpB << 10) | SlpEn));
            }
            Cpu.Outb(0x64, 0xfe);
            Cpu.DisableInterrupts();
            while (true) Cpu.Halt();
        }
    }
}
