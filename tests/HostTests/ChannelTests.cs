using Ukpack;

namespace HostTests;

public class ChannelTests
{
    [Fact]
    public void EscapesFF()
    {
        StdinCodec.Encode(new byte[] { 1, 0xff, 2, 0xff, 0xff }).Should().Equal(1, 0xff, 0xff, 2, 0xff, 0xff, 0xff, 0xff);
        StdinCodec.Encode(ReadOnlySpan<byte>.Empty).Should().BeEmpty();
        StdinCodec.EofSequence.Should().Equal(0xff, 0x04);
    }

    [Fact]
    public void DecoderRoundTripsAcrossChunkBoundaries()
    {
        var rnd = new Random(1);
        var data = new byte[5000];
        rnd.NextBytes(data);
        for (int i = 0; i < data.Length; i += 7) data[i] = 0xff;
        var wire = StdinCodec.Encode(data).Concat(StdinCodec.EofSequence).Concat(new byte[] { 9, 9 }).ToArray();
        var dec = new StdinCodec.Decoder();
        var outp = new List<byte>();
        for (int i = 0; i < wire.Length; i += 13) dec.Feed(wire.AsSpan(i, Math.Min(13, wire.Length - i)), outp);
        dec.Ended.Should().BeTrue();
        outp.Should().Equal(data);
    }

    [Fact]
    public void ParsesLogLines()
    {
        KernelLog.Parse("[    0.012345] E program killed by SIGSEGV").Should().Be(('E', "program killed by SIGSEGV"));
        KernelLog.Parse("[    0.000001] I hello").Should().Be(('I', "hello"));
        KernelLog.Parse("garbage").Should().Be(('?', "garbage"));
        KernelLog.TryParseExit("@@UKEXIT 42", out var s).Should().BeTrue(); s.Should().Be(42);
        KernelLog.TryParseExit("[ 1.0] I @@UKEXIT 139", out s).Should().BeTrue(); s.Should().Be(139);
        KernelLog.TryParseExit("@@UKEXIT", out _).Should().BeFalse();
    }

    [Fact]
    public void LogStateShowsErrorsOnlyUnlessVerbose()
    {
        var quiet = new LogState(false) { Captured = [] };
        quiet.Feed("[    0.1] I info\r\n[    0.2] E fatal thing\n@@UKEX"u8);
        quiet.Feed("IT 7\n[ 0.3] W tail"u8);
        quiet.Flush();
        quiet.Captured.Should().Equal("ukpack: fatal thing");
        quiet.ExitStatus.Should().Be(7);
        quiet.LastLines.Should().Equal("[    0.1] I info", "[    0.2] E fatal thing", "[ 0.3] W tail");

        var verbose = new LogState(true) { Captured = [] };
        verbose.Feed("[    0.1] I info\n"u8);
        verbose.Captured.Should().Equal("[    0.1] I info");
    }

    [Fact]
    public void QemuCommandLine()
    {
        var o = new RunOptions { Image = "x.img" };
        var a = QemuRunner.BuildQemuArgs(o, "/abs/x.img", "/tmp/d", "log=1");
        string.Join(' ', a).Should().Be(
            "-M microvm -accel tcg -cpu max -m 512M -smp 1 -nodefaults -no-user-config -display none -no-reboot " +
            "-kernel /abs/x.img -initrd /abs/x.img -append log=1 " +
            "-chardev socket,id=c1,path=/tmp/d/stdio.sock -chardev socket,id=c2,path=/tmp/d/stderr.sock " +
            "-global virtio-mmio.force-legacy=false -device virtio-serial-device,max_ports=3 " +
            "-device virtserialport,chardev=c1,nr=1 -device virtserialport,chardev=c2,nr=2 " +
            "-chardev socket,id=c3,path=/tmp/d/log.sock -device isa-debugcon,iobase=0xe9,chardev=c3 " +
            "-device isa-debug-exit,iobase=0xf4,iosize=4");
        QemuRunner.StdioKernelOption(o).Should().Be(" stdio=virtio");
        // Several vCPUs under TCG: one host thread each (docs/smp.md); KVM as asked.
        string.Join(' ', QemuRunner.BuildQemuArgs(o with { Smp = 4 }, "/abs/x.img", "/tmp/d", "log=1")).Should().StartWith("-M microvm -accel tcg,thread=multi -cpu max -m 512M -smp 4 ");
        string.Join(' ', QemuRunner.BuildQemuArgs(o with { Smp = 4, Accel = "kvm" }, "/abs/x.img", "/tmp/d", "log=1")).Should().StartWith("-M microvm -accel kvm -cpu max -m 512M -smp 4 ");
        // The serial fallback: COM1 carries stdin and stdout, COM2 stderr.
        var serial = o with { SerialStdio = true };
        string.Join(' ', QemuRunner.StdioArgs(serial, "/tmp/d")).Should().Be(
            "-chardev socket,id=c1,path=/tmp/d/stdio.sock -serial chardev:c1 " +
            "-chardev socket,id=c2,path=/tmp/d/stderr.sock -device isa-serial,chardev=c2");
        QemuRunner.StdioKernelOption(serial).Should().Be("");
        string.Join(' ', QemuRunner.StdioArgs(o with { Machine = "q35" }, "/tmp/d")).Should().Be(
            "-chardev socket,id=c1,path=/tmp/d/stdio.sock -chardev socket,id=c2,path=/tmp/d/stderr.sock " +
            "-device virtio-serial-pci,disable-legacy=on,max_ports=3 " +
            "-device virtserialport,chardev=c1,nr=1 -device virtserialport,chardev=c2,nr=2");
        QemuRunner.KernelCommandLine(2, null).Should().Be("log=2");
        QemuRunner.KernelCommandLine(1, ["/app/p", "x"]).Should().Be("log=1 argv=2f6170702f700078" + "00");
    }

    [Fact]
    public void VirtioDevicesPerMachine()
    {
        var dir = Directory.CreateTempSubdirectory("disks-").FullName;
        try
        {
            var a = Path.Combine(dir, "a,b.img"); File.WriteAllBytes(a, new byte[4096]);
            var b = Path.Combine(dir, "b.img"); File.WriteAllBytes(b, new byte[4096]);
            var disks = new[] { DiskSpec.Parse(a), DiskSpec.Parse(b + ":ro") };
            disks[1].ReadOnly.Should().BeTrue();
            string.Join(' ', QemuRunner.VirtioArgs(new RunOptions { Image = "x", Disks = disks, Rng = true })).Should().Be(
                "-global virtio-mmio.force-legacy=false " +
                $"-drive if=none,id=vd0,file={dir}/a,,b.img,format=raw -device virtio-blk-device,drive=vd0 " +
                $"-drive if=none,id=vd1,file={dir}/b.img,format=raw,readonly=on -device virtio-blk-device,drive=vd1 " +
                "-device virtio-rng-device");
            string.Join(' ', QemuRunner.VirtioArgs(new RunOptions { Image = "x", Machine = "q35", Disks = disks[..1] })).Should().Be(
                $"-drive if=none,id=vd0,file={dir}/a,,b.img,format=raw -device virtio-blk-pci,disable-legacy=on,drive=vd0");
            QemuRunner.VirtioArgs(new RunOptions { Image = "x", Machine = "pc" }).Should().BeEmpty();
            string.Join(' ', QemuRunner.VirtioArgs(new RunOptions { Image = "x", Machine = "pc", Rng = true })).Should().Be("-device virtio-rng-pci,disable-legacy=on");
            FluentActions.Invoking(() => DiskSpec.Parse(Path.Combine(dir, "missing.img"))).Should().Throw<UkpackException>().WithMessage("*no such file*");
            FluentActions.Invoking(() => DiskSpec.Parse(dir)).Should().Throw<UkpackException>().WithMessage("*is a directory*");
        }
        finally { Directory.Delete(dir, true); }
    }
}
