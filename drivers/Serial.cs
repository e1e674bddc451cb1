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
        static ulong _base, _base2;
        public static void Route(int irq, int vector)
        {
            if (_base == 0) _base = Kernel.Memory.KernelPaging.MapDevice(0xfec00000, 4096);
            Write(_base, 0x10 + 2 * irq, (uint)vector);
            Write(_base, 0x11 + 2 * irq, 0);
        }

        /// Routes a global system interrupt (edge, active high): 0-23 on the first I/O APIC,
        /// 24-47 on the second one -M microvm adds (ioapic2, at 0xfec10000) for virtio-mmio.
        public static bool RouteGsi(int gsi, int vector)
        {
            if (gsi < 24) { Route(gsi, vector); return true; }
            if (gsi >= 48) return false;
            if (_base2 == 0) _base2 = Kernel.Memory.KernelPaging.MapDevice(0xfec10000, 4096);
            if (*(uint*)_base2 == 0xffffffff) return false;
            int pin = gsi - 24;
            Write(_base2, 0x10 + 2 * pin, (uint)vector);
            Write(_base2, 0x11 + 2 * pin, 0);
            return true;
        }

        static void Write(ulong b, int reg, uint value)
        {
            *(uint*)b = (uint)reg;
            *(uint*)(b + 0x10) = value;
        }
    }
}
