namespace BootTests;

/// <summary>
/// The virtio device layer on each machine type: virtio-mmio on microvm (announced on the
/// command line), virtio-pci modern with MSI-X on pc and q35. The kernel's `test=virtio`
/// self-test reads each disk through interrupts (several requests in flight), writes and
/// flushes the last sector of a writable one, and waits for virtio-rng entropy.
/// </summary>
public class VirtioBootTests
{
    static string Disk(string dir, string name, byte[] head, int size = 1 << 20)
    {
        var p = Path.Combine(dir, name);
        var bytes = new byte[size];
        head.CopyTo(bytes, 0);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    static string Drive(string file, string id, bool ro) =>
        $"if=none,id={id},file={file.Replace(",", ",,")},format=raw{(ro ? ",readonly=on" : "")}";

    /// <summary>The QEMU options ukpack passes for the same devices (see docs/virtio.md).</summary>
    static List<string> Devices(string machine, string rw, string ro)
    {
        bool mmio = machine.StartsWith("microvm");
        string blk = mmio ? "virtio-blk-device" : "virtio-blk-pci", rng = mmio ? "virtio-rng-device" : "virtio-rng-pci";
        var a = new List<string>();
        if (mmio) a.AddRange(["-global", "virtio-mmio.force-legacy=false"]);
        a.AddRange(["-drive", Drive(rw, "vd0", false), "-device", $"{blk},drive=vd0"]);
        a.AddRange(["-drive", Drive(ro, "vd1", true), "-device", $"{blk},drive=vd1"]);
        a.AddRange(["-device", rng]);
        return a;
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("microvm,acpi=off")]
    [InlineData("pc")]
    [InlineData("q35")]
    public void FindsAndDrivesEachDevice(string machine)
    {
        var dir = Repo.TempDir();
        var rw = Disk(dir, "rw.img", "first disk, rw!!"u8.ToArray());
        var ro = Disk(dir, "ro.img", "second disk, ro."u8.ToArray(), 2 << 20);
        var r = Qemu.Boot(machine, "log=2 test=virtio", extraArgs: Devices(machine, rw, ro));
        r.Log.Should().Contain("self-test virtio: PASS", r.ToString());
        r.Log.Should().NotContain("FAILED", r.ToString());
        r.Log.Should().Contain("virtio: devices 3", r.ToString());
        r.Log.Should().Contain("virtio-blk: vda 2048 sectors, flush", r.ToString());
        r.Log.Should().Contain("virtio-blk: vdb 4096 sectors, read-only", r.ToString());
        r.Log.Should().Contain("virtio-blk: vda sector 0: " + Convert.ToHexStringLower("first disk, rw!!"u8), r.ToString());
        r.Log.Should().Contain("virtio-blk: vdb sector 0: " + Convert.ToHexStringLower("second disk, ro."u8), r.ToString());
        r.Log.Should().Contain("virtio-rng: first entropy bytes", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
        r.ShouldBeWellFormed();
        // The flushed write is in the host file; the read-only disk is untouched.
        var tail = File.ReadAllBytes(rw)[^512..];
        System.Text.Encoding.ASCII.GetString(tail[..16]).Should().Be("virtio-selftest!");
        File.ReadAllBytes(ro)[^512..].Should().OnlyContain(b => b == 0);
    }

    /// <summary>Without MSI-X (`vectors=0`) a virtio-pci device on pc interrupts through its
    /// INTx line (level-triggered, possibly shared: three devices on PIIX's links); on q35,
    /// where only ACPI's _PRT names the line, the device is refused with a log line.</summary>
    [Fact]
    public void PciIntxWhenMsixIsAbsent()
    {
        var dir = Repo.TempDir();
        var rw = Disk(dir, "rw.img", "first disk, rw!!"u8.ToArray());
        var ro = Disk(dir, "ro.img", "second disk, ro."u8.ToArray(), 2 << 20);
        var args = new List<string>
        {
            "-drive", Drive(rw, "vd0", false), "-device", "virtio-blk-pci,disable-legacy=on,vectors=0,drive=vd0",
            "-drive", Drive(ro, "vd1", true), "-device", "virtio-blk-pci,disable-legacy=on,vectors=0,drive=vd1",
            "-device", "virtio-rng-pci,disable-legacy=on,vectors=0",
        };
        var r = Qemu.Boot("pc", "log=2 test=virtio", extraArgs: args);
        r.Log.Should().Contain("self-test virtio: PASS", r.ToString());
        r.Log.Should().NotContain("FAILED", r.ToString());
        r.Log.Should().Contain("virtio: devices 3", r.ToString());
        System.Text.RegularExpressions.Regex.Matches(r.Log, @"\(INTx, IRQ \d+\)").Count.Should().Be(3, r.ToString());
        r.Log.Should().Contain("virtio-blk: vdb sector 0: " + Convert.ToHexStringLower("second disk, ro."u8), r.ToString());
        r.Log.Should().Contain("virtio-rng: first entropy bytes", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
        System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(rw)[^512..][..16]).Should().Be("virtio-selftest!");

        var q = Qemu.Boot("q35", "log=2", extraArgs: ["-device", "virtio-rng-pci,disable-legacy=on,vectors=0"]);
        q.Log.Should().Contain("no interrupt route; device reset", q.ToString());
        q.ShouldNotPanic();
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("pc")]
    [InlineData("q35")]
    public void VirtioNetCarriesFramesBothWays(string machine)
    {
        bool mmio = machine.StartsWith("microvm");
        var args = new List<string>();
        if (mmio) args.AddRange(["-global", "virtio-mmio.force-legacy=false"]);
        args.AddRange(["-netdev", "user,id=n0", "-device", $"{(mmio ? "virtio-net-device" : "virtio-net-pci")},netdev=n0,mac=52:54:00:12:34:56"]);
        var r = Qemu.Boot(machine, "log=2 test=virtio", extraArgs: args);
        r.Log.Should().Contain("virtio-net: mac 52:54:00:12:34:56, link up", r.ToString());
        // QEMU's user network answers for its gateway with this MAC.
        r.Log.Should().Contain("virtio-net: ARP reply from 10.0.2.2 at 52:55:0a:00:02:02", r.ToString());
        r.Log.Should().Contain("self-test virtio: PASS", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
        r.ShouldNotPanic();
    }

    [Theory]
    [InlineData("microvm")]
    [InlineData("q35")]
    public void VirtioConsoleCarriesBytesBothWays(string machine)
    {
        // A pipe chardev: QEMU reads PATH.in and writes PATH.out (FIFOs the test holds).
        var dir = Repo.TempDir();
        var pipe = Path.Combine(dir, "vc");
        foreach (var f in new[] { pipe + ".in", pipe + ".out" })
            Host.Run(Repo.Which("mkfifo")!, [f]).Code.Should().Be(0);
        var output = Task.Run(() => { using var r = File.OpenRead(pipe + ".out"); using var m = new MemoryStream(); r.CopyTo(m); return m.ToArray(); });
        var input = Task.Run(() => { using var w = File.OpenWrite(pipe + ".in"); w.Write("ping from the host\n"u8); });
        bool mmio = machine.StartsWith("microvm");
        var args = new List<string>();
        if (mmio) args.AddRange(["-global", "virtio-mmio.force-legacy=false"]);
        args.AddRange(["-chardev", $"pipe,id=vc,path={pipe}", "-device", mmio ? "virtio-serial-device" : "virtio-serial-pci", "-device", "virtconsole,chardev=vc"]);
        var r = Qemu.Boot(machine, "log=2 test=virtio", extraArgs: args);
        r.Log.Should().Contain("virtio-console: echoed bytes 19", r.ToString());
        r.Log.Should().Contain("self-test virtio: PASS", r.ToString());
        output.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("QEMU closes the output pipe when it exits");
        System.Text.Encoding.ASCII.GetString(output.Result).Should().Be("hello over virtio-console\necho: PING FROM THE HOST\n");
        input.Wait(TimeSpan.FromSeconds(5)).Should().BeTrue();
    }

    [Fact]
    public void NoDevicesIsFine()
    {
        var r = Qemu.Boot("q35", "log=2 test=virtio");
        r.Log.Should().Contain("virtio: devices 0", r.ToString());
        r.Log.Should().Contain("self-test virtio: PASS", r.ToString());
    }

    [Fact]
    public void LegacyMmioDevicesAreRefusedWithALogLine()
    {
        var dir = Repo.TempDir();
        var rw = Disk(dir, "rw.img", "x"u8.ToArray());
        var r = Qemu.Boot("microvm,acpi=off", "log=2 test=virtio", extraArgs: ["-drive", Drive(rw, "vd0", false), "-device", "virtio-blk-device,drive=vd0"]);
        r.Log.Should().Contain("legacy device (version 1) refused", r.ToString());
        r.Log.Should().Contain("virtio: devices 0", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
    }

    [Fact]
    public void LegacyOnlyPciDevicesAreRefusedWithALogLine()
    {
        var dir = Repo.TempDir();
        var rw = Disk(dir, "rw.img", "x"u8.ToArray());
        var r = Qemu.Boot("pc", "log=2 test=virtio", extraArgs: ["-drive", Drive(rw, "vd0", false), "-device", "virtio-blk-pci,drive=vd0,disable-modern=on,disable-legacy=off"]);
        r.Log.Should().Contain("legacy-only device (no modern capabilities) refused", r.ToString());
        r.Log.Should().Contain("virtio: devices 0", r.ToString());
        r.ExitCode.Should().Be(BootResult.Normal, r.ToString());
    }
}
