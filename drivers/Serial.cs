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
            Write(0x10 + 2 * irq, (uint)vector);
            Write(0x11 + 2 * irq, 0);
        }
        static void Write(int reg, uint value)
        {
            *(uint*)_base = (uint)reg;
            *(uint*)(_base + 0x10) = value;
        }
    }
}
