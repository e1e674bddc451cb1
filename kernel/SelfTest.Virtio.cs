using Kernel.Arch;
using Kernel.Console;
using Kernel.Drivers;
using Kernel.Time;

namespace Kernel
{
    public static unsafe partial class SelfTest
    {
        /// test=virtio: the devices the probe found work end to end through their interrupts.
        /// Logs "virtio: N devices"; for each disk, the first 16 bytes of sector 0 (the boot
        /// test compares them with the host file), then, on a writable disk, writes a marker
        /// to its last sector and flushes (the test finds it in the host file). With a
        /// virtio-rng, waits for its first entropy. Exits 0 when all holds.
        static void VirtioDevices()
        {
            var boot = new Sched.Thread(null, 0) { IsKernel = true };
            Sched.Scheduler.Init(boot);
            bool ok = true;
            Log.Info("virtio: devices ", VirtioBus.Found);
            for (int i = 0; i < VirtioBlk.DiskCount; i++)
            {
                VirtioBlk d = VirtioBlk.Disks[i];
                // Several requests in flight at once: sectors 0..3 on four slots.
                int* slots = stackalloc int[4];
                for (int k = 0; k < 4; k++) { slots[k] = d.Acquire(); d.StartRequest(slots[k], VirtioBlk.TypeIn, (ulong)k, 512); }
                for (int k = 0; k < 4; k++) ok &= Check(d.Finish(slots[k]) == VirtioBlk.StatusOk, "virtio-blk read completes");
                var w = Log.Begin(LogLevel.Info, stackalloc byte[160]);
                w.Str("virtio-blk: vd"); w.Byte((byte)('a' + i)); w.Str(" sector 0: ");
                for (int k = 0; k < 16; k++) { byte v = d.Buffer(slots[0])[k]; w.Byte((byte)"0123456789abcdef"[v >> 4]); w.Byte((byte)"0123456789abcdef"[v & 15]); }
                Log.End(ref w);
                for (int k = 0; k < 4; k++) d.Release(slots[k]);
                if (!d.ReadOnly && d.Sectors > 0)
                {
                    int s = d.Acquire();
                    byte* b = d.Buffer(s);
                    for (int k = 0; k < 512; k++) b[k] = (byte)"virtio-selftest!"[k % 16];
                    d.StartRequest(s, VirtioBlk.TypeOut, d.Sectors - 1, 512);
                    ok &= Check(d.Finish(s) == VirtioBlk.StatusOk, "virtio-blk write completes");
                    if (d.CanFlush) { d.StartRequest(s, VirtioBlk.TypeFlush, 0, 0); ok &= Check(d.Finish(s) == VirtioBlk.StatusOk, "virtio-blk flush completes"); }
                    d.Release(s);
                    w = Log.Begin(LogLevel.Info, stackalloc byte[80]);
                    w.Str("virtio-blk: wrote the last sector of vd"); w.Byte((byte)('a' + i));
                    Log.End(ref w);
                }
            }
            if (Random.WantEntropy != null)
            {
                ulong deadline = Clock.MonotonicNs() + 10_000_000_000;
                while (Random.EntropyBytesAdded == 0 && Clock.MonotonicNs() < deadline)
                    Sched.Scheduler.Block(Clock.MonotonicNs() + 1_000_000, false);
                ok &= Check(Random.EntropyBytesAdded > 0, "virtio-rng delivered entropy");
            }
            if (VirtioNet.First != null) ok &= NetArp(VirtioNet.First);
            if (VirtioConsole.First != null) ok &= ConsoleEcho(VirtioConsole.First);
            Log.Info(ok ? "self-test virtio: PASS" : "self-test virtio: FAIL");
            Power.Exit(ok ? (byte)0 : (byte)1);
        }

        /// Frames both ways: an ARP request for QEMU user networking's gateway (10.0.2.2,
        /// asked by 10.0.2.15) must bring back its ARP reply.
        static bool NetArp(VirtioNet n)
        {
            System.Span<byte> f = stackalloc byte[42];
            for (int i = 0; i < 6; i++) { f[i] = 0xff; f[6 + i] = n.Mac[i]; f[22 + i] = n.Mac[i]; f[32 + i] = 0; }
            f[12] = 0x08; f[13] = 0x06;                                   // ARP
            f[14] = 0; f[15] = 1; f[16] = 0x08; f[17] = 0; f[18] = 6; f[19] = 4; f[20] = 0; f[21] = 1;   // Ethernet/IPv4, request
            f[28] = 10; f[29] = 0; f[30] = 2; f[31] = 15;                 // sender 10.0.2.15
            f[38] = 10; f[39] = 0; f[40] = 2; f[41] = 2;                  // target 10.0.2.2
            bool ok = Check(n.Send(f), "virtio-net sends a frame");
            System.Span<byte> r = stackalloc byte[VirtioNet.MaxFrame];
            ulong deadline = Clock.MonotonicNs() + 10_000_000_000;
            while (Clock.MonotonicNs() < deadline)
            {
                int len = n.TryReceive(r);
                if (len >= 42 && r[12] == 0x08 && r[13] == 0x06 && r[21] == 2 && r[28] == 10 && r[29] == 0 && r[30] == 2 && r[31] == 2)
                {
                    var w = Log.Begin(LogLevel.Info, stackalloc byte[120]);
                    w.Str("virtio-net: ARP reply from 10.0.2.2 at ");
                    for (int i = 0; i < 6; i++) { if (i > 0) w.Byte((byte)':'); w.Byte((byte)"0123456789abcdef"[r[22 + i] >> 4]); w.Byte((byte)"0123456789abcdef"[r[22 + i] & 15]); }
                    Log.End(ref w);
                    return ok;
                }
                if (len == 0) Sched.Scheduler.Block(Clock.MonotonicNs() + 1_000_000, false);
            }
            return Check(false, "virtio-net receives the ARP reply");
        }

        /// virtio-console port 0: says hello, then echoes back, upper-cased, the first line
        /// the host sends (its chardev's input), both ways through the queues.
        static bool ConsoleEcho(VirtioConsole c)
        {
            c.Write("hello over virtio-console\n"u8);
            System.Span<byte> line = stackalloc byte[128];
            int n = 0;
            ulong deadline = Clock.MonotonicNs() + 10_000_000_000;
            while (Clock.MonotonicNs() < deadline && (n == 0 || line[n - 1] != '\n') && n < line.Length)
            {
                int k = c.Read(line.Slice(n));
                if (k == 0) Sched.Scheduler.Block(Clock.MonotonicNs() + 1_000_000, false);
                n += k;
            }
            if (n == 0 || line[n - 1] != '\n') return Check(false, "virtio-console receives a line");
            for (int i = 0; i < n; i++) if (line[i] >= 'a' && line[i] <= 'z') line[i] -= 32;
            c.Write("echo: "u8);
            c.Write(line.Slice(0, n));
            c.Drain();
            Log.Info("virtio-console: echoed bytes ", n);
            return true;
        }
    }
}
