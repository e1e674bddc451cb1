using Kernel.Arch;

namespace Kernel.Drivers
{
    /// A 16550 UART. COM1 carries the program's stdin/stdout, COM2 its stderr.
    public sealed class Uart
    {
        readonly ushort _port;
        public Uart(ushort port) { _port = port; }

        public void Init(bool receiveInterrupts)
        {
            Cpu.Outb((ushort)(_port + 1), 0);          // no interrupts while configuring
            Cpu.Outb((ushort)(_port + 3), 0x80);       // DLAB
            Cpu.Outb((ushort)(_port + 0), 1);          // 115200 baud
            Cpu.Outb((ushort)(_port + 1), 0);
            Cpu.Outb((ushort)(_port + 3), 0x03);       // 8N1
            // FIFOs stay off: switching them on clears them, losing input the host sent
            // before we got here (QEMU then holds further bytes until we read this one).
            Cpu.Outb((ushort)(_port + 4), 0x0b);       // DTR, RTS, OUT2 (IRQ line enable)
            if (receiveInterrupts) Cpu.Outb((ushort)(_port + 1), 0x01);
        }

        public void Write(byte b)
        {
            while ((Cpu.Inb((ushort)(_port + 5)) & 0x20) == 0) { }   // transmitter holding register empty
            Cpu.Outb(_port, b);
        }

        /// Waits (bounded) until the last byte has left the transmitter: a byte still in the
        /// UART when the VM powers off is lost (QEMU holds it while the host is slow to read).
        public void WaitTransmitted()
        {
            for (int polls = 0; polls < 2000000 && (Cpu.Inb((ushort)(_port + 5)) & 0x40) == 0; polls++) { }
        }

        public bool TryRead(out byte b)
        {
            if ((Cpu.Inb((ushort)(_port + 5)) & 0x01) == 0) { b = 0; return false; }
            b = Cpu.Inb(_port);
            return true;
        }
    }

    /// The I/O APIC: routes legacy IRQ lines to vectors on CPU 0.
    public static unsafe class IoApic
    {
        static ulong _base;
        public static void Route(int irq, int vector)
        {
            if (_base == 0) _base = Kernel.Memory.KernelPaging.MapDevice(0xfec00000, 4096);
            Write(_base, 0x10 + 2 * irq, (uint)vector);
            Write(_base, 0x11 + 2 * irq, 0);
        }

        // I/O APICs the ACPI MADT lists (address, first GSI); without a MADT, the usual one
        // at 0xfec00000 for GSIs 0-23 and -M microvm's second (ioapic2) at 0xfec10000.
        static readonly ulong[] _apicPhys = new ulong[4], _apicVirt = new ulong[4];
        static readonly int[] _apicGsi = new int[4];
        static int _apics;

        public static void Register(ulong phys, int gsiBase)
        {
            if (_apics == _apicPhys.Length) return;
            _apicPhys[_apics] = phys; _apicGsi[_apics] = gsiBase; _apics++;
        }

        /// Routes a global system interrupt to `vector` (edge, or level with `level`; active
        /// high; CPU 0).
        public static bool RouteGsi(int gsi, int vector, bool level = false)
        {
            if (_apics == 0) { Register(0xfec00000, 0); Register(0xfec10000, 24); }
            for (int i = 0; i < _apics; i++)
            {
                if (_apicVirt[i] == 0) _apicVirt[i] = Kernel.Memory.KernelPaging.MapDevice(_apicPhys[i], 4096);
                ulong b = _apicVirt[i];
                *(uint*)b = 1;                                                 // IOAPICVER: entries - 1 in bits 16-23
                int entries = (int)((*(uint*)(b + 0x10) >> 16) & 0xff) + 1;
                int pin = gsi - _apicGsi[i];
                if (pin < 0 || pin >= entries || entries > 240) continue;
                Write(b, 0x10 + 2 * pin, (uint)vector | (level ? 1u << 15 : 0));
                Write(b, 0x11 + 2 * pin, 0);
                return true;
            }
            return false;
        }

        static void Write(ulong b, int reg, uint value)
        {
            *(uint*)b = (uint)reg;
            *(uint*)(b + 0x10) = value;
        }
    }
}
