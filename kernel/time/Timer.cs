using Kernel.Arch;
using Kernel.Console;
using Kernel.Memory;

namespace Kernel.Time
{
    /// The local APIC timer, periodic at Hz, and TSC calibration against PIT channel 2.
    public static unsafe class Timer
    {
        public const int Hz = 250;
        const ulong LapicPhys = 0xfee00000;
        const int RegEoi = 0xb0, RegSpurious = 0xf0, RegLvtTimer = 0x320, RegInitialCount = 0x380,
            RegCurrentCount = 0x390, RegDivide = 0x3e0, RegLint0 = 0x350, RegLint1 = 0x360, RegTpr = 0x80;
        static ulong _lapic;
        static uint _apicCount;                 // initial count for one tick (every CPU's timer runs at Hz)
        const int RegId = 0x20, RegIcrLow = 0x300, RegIcrHigh = 0x310;
        public static ulong Ticks;              // ticks of the boot CPU's timer
        /// Called on every tick with the interrupted frame; returns the frame to resume.
        public static delegate*<InterruptFrame*, InterruptFrame*> OnTick;

        static uint Read(int reg) => *(uint*)(_lapic + (ulong)reg);
        static void Write(int reg, uint value) => *(uint*)(_lapic + (ulong)reg) = value;

        public static void Init()
        {
            MaskLegacyPic();
            _lapic = KernelPaging.MapDevice(LapicPhys, 4096);
            Cpu.Wrmsr(0x1b, Cpu.Rdmsr(0x1b) | 0x800);                // APIC global enable
            Write(RegSpurious, 0x100 | Interrupts.SpuriousVector);
            Write(RegTpr, 0);
            Write(RegLint0, 0x10000);
            Write(RegLint1, 0x10000);
            Write(RegDivide, 0x3);                                   // divide by 16

            Calibrate(out ulong tscHz, out ulong apicHz);
            Clock.SetFrequency(tscHz);

            Interrupts.IrqHandlers[Interrupts.TimerVector] = &OnInterrupt;
            _apicCount = (uint)(apicHz / Hz);
            Write(RegLvtTimer, (uint)Interrupts.TimerVector | 0x20000);   // periodic
            Write(RegInitialCount, _apicCount);

            var w = Log.Begin(LogLevel.Debug, stackalloc byte[128]);
            w.Str("timer: tsc "); w.Udec(tscHz / 1000); w.Str(" kHz, apic "); w.Udec(apicHz / 1000); w.Str(" kHz, tick "); w.Dec(Hz); w.Str(" Hz");
            if (Log.Enabled(LogLevel.Debug)) Log.End(ref w);
        }

        /// TSC and APIC-timer rates against a reference counter read back to back with the
        /// TSC at both ends of a ~0.5 ms window, so a descheduled vCPU (TCG on a busy host)
        /// stretches both sides equally. The reference is PIT channel 2 where there is one
        /// (pc, q35); otherwise (microvm) the APIC timer itself, whose bus runs at 1 GHz on
        /// QEMU and KVM (divided by 16 here).
        static void Calibrate(out ulong tscHz, out ulong apicHz)
        {
            Write(RegLvtTimer, 0x10000);
            Write(RegInitialCount, 0xffffffff);
            const ulong pitHz = 1193182;
            Cpu.Outb(0x61, (byte)((Cpu.Inb(0x61) & 0xfd) | 0x01));  // gate on, speaker off
            Cpu.Outb(0x43, 0xb0);                                    // ch2, lo/hi, mode 0
            Cpu.Outb(0x42, 0xff);
            Cpu.Outb(0x42, 0xff);
            bool pit = ReadPit() != 0xffff || ReadPit() != 0xffff;   // no PIT: the port floats high
            // Each end: the reference counter read between two TSC reads, retried until the
            // bracket is tight, so a descheduled vCPU does not skew the result.
            Sample(pit, out ulong t0, out uint r0, out uint a0);
            uint target = pit ? 597u : 31250u;                      // 0.5 ms of either reference
            ulong t1; uint r1, a1;
            do Sample(pit, out t1, out r1, out a1); while ((uint)(r0 - r1) < target && r1 <= r0);
            ulong refHz = pit ? pitHz : 1000000000 / 16;
            uint elapsed = r0 - r1;
            tscHz = (t1 - t0) * refHz / elapsed;
            apicHz = pit ? (ulong)(a0 - a1) * refHz / elapsed : refHz;
            Source = pit ? "PIT" : "APIC timer";
        }

        static void Sample(bool pit, out ulong tsc, out uint reference, out uint apic)
        {
            ulong best = ulong.MaxValue;
            tsc = 0; reference = 0; apic = 0;
            for (int i = 0; i < 5; i++)
            {
                ulong before = Cpu.Rdtsc();
                uint r = pit ? ReadPit() : Read(RegCurrentCount);
                uint a = Read(RegCurrentCount);
                ulong after = Cpu.Rdtsc();
                if (after - before < best) { best = after - before; tsc = before + (after - before) / 2; reference = r; apic = a; }
            }
        }

        static uint ReadPit()
        {
            Cpu.Outb(0x43, 0x80);                                    // latch channel 2
            uint lo = Cpu.Inb(0x42);
            return lo | ((uint)Cpu.Inb(0x42) << 8);
        }

        public static string Source;

        static void MaskLegacyPic()
        {
            // Remap the 8259s away from the exception vectors, then mask every line.
            Cpu.Outb(0x20, 0x11); Cpu.Outb(0xa0, 0x11);
            Cpu.Outb(0x21, 0xf0); Cpu.Outb(0xa1, 0xf8);
            Cpu.Outb(0x21, 4); Cpu.Outb(0xa1, 2);
            Cpu.Outb(0x21, 1); Cpu.Outb(0xa1, 1);
            Cpu.Outb(0x21, 0xff); Cpu.Outb(0xa1, 0xff);
        }

        public static void EndOfInterrupt() => Write(RegEoi, 0);

        /// An application processor's local APIC: enabled, LINT0/1 masked, its timer periodic
        /// at Hz with the rate the boot CPU measured.
        public static void InitThisCpu()
        {
            Cpu.Wrmsr(0x1b, Cpu.Rdmsr(0x1b) | 0x800);
            Write(RegSpurious, 0x100 | Interrupts.SpuriousVector);
            Write(RegTpr, 0);
            Write(RegLint0, 0x10000);
            Write(RegLint1, 0x10000);
            Write(RegDivide, 0x3);
            Write(RegLvtTimer, (uint)Interrupts.TimerVector | 0x20000);
            Write(RegInitialCount, _apicCount);
        }

        /// This CPU's local APIC id.
        public static uint LocalApicId => Read(RegId) >> 24;

        /// Sends an interprocessor interrupt: `command` is the ICR's low word (vector, delivery
        /// mode, level), to the CPU with local APIC id `apicId`.
        public static void SendIpi(uint apicId, uint command)
        {
            while ((Read(RegIcrLow) & 0x1000) != 0) Cpu.Pause();          // the previous one is still being delivered
            Write(RegIcrHigh, apicId << 24);
            Write(RegIcrLow, command);
        }

        static InterruptFrame* OnInterrupt(InterruptFrame* f)
        {
            if (Smp.CurrentIndex == 0) Ticks++;
            EndOfInterrupt();
            return OnTick != null ? OnTick(f) : f;
        }
    }
}
