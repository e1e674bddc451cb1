using System.Buffers.Binary;
using Kernel.Arch;
using Kernel.Fs;
using Ukpack;

namespace HostTests;

/// <summary>Pure logic behind `ukpack export` and booting from GRUB: the GPT writer, the
/// multiboot2 information parser, the ACPI S5 finder, Firecracker's config.</summary>
public class ExportTests
{
    [Fact]
    public void Gpt_HeadersAndEntriesCarryValidCrcs_AndTheBackupMirrorsThePrimary()
    {
        const long sectors = 8192;
        var disk = new MemoryStream(new byte[sectors * Gpt.Sector]);
        disk.Write(Enumerable.Repeat((byte)0x90, 440).ToArray());     // boot code must survive
        var diskGuid = Guid.NewGuid();
        Gpt.Write(disk, sectors,
            [new Gpt.Partition(Gpt.BiosBoot, 2048, 4095, "BIOS boot"), new Gpt.Partition(Gpt.EfiSystem, 4096, Gpt.LastUsable(sectors), "EFI system")],
            diskGuid, i => new Guid(i + 1, 0, 0, new byte[8]));
        var b = disk.ToArray();
        b.AsSpan(0, 440).ToArray().Should().OnlyContain(x => x == 0x90);
        b[446 + 4].Should().Be(0xee);
        BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(446 + 12)).Should().Be((uint)(sectors - 1));
        (b[510], b[511]).Should().Be((0x55, 0xaa));
        var table = Crc32.MakeTable();
        foreach (long lba in new[] { 1L, sectors - 1 })
        {
            var h = b.AsSpan((int)(lba * 512), 512).ToArray();
            System.Text.Encoding.ASCII.GetString(h, 0, 8).Should().Be("EFI PART");
            BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(24)).Should().Be(lba);
            BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(32)).Should().Be(lba == 1 ? sectors - 1 : 1);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(16));
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 0);
            Crc32.Update(table, 0, h.AsSpan(0, 92)).Should().Be(crc, "header at LBA {0}", lba);
            long entries = BinaryPrimitives.ReadInt64LittleEndian(h.AsSpan(72));
            Crc32.Update(table, 0, b.AsSpan((int)(entries * 512), 128 * 128)).Should().Be(BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(88)));
            new Guid(h.AsSpan(56, 16)).Should().Be(diskGuid);
        }
        var e1 = b.AsSpan(2 * 512 + 128, 128);
        new Guid(e1.Slice(0, 16)).Should().Be(Gpt.EfiSystem);
        BinaryPrimitives.ReadInt64LittleEndian(e1.Slice(32)).Should().Be(4096);
        BinaryPrimitives.ReadInt64LittleEndian(e1.Slice(40)).Should().Be(Gpt.LastUsable(sectors));
        FluentActions.Invoking(() => Gpt.Write(new MemoryStream(new byte[sectors * 512]), sectors, [new Gpt.Partition(Gpt.EfiSystem, 10, 100, "x")], diskGuid, _ => diskGuid))
            .Should().Throw<ArgumentException>();
    }

    static byte[] Tag(uint type, params byte[] body)
    {
        var t = new byte[(8 + body.Length + 7) & ~7];
        BinaryPrimitives.WriteUInt32LittleEndian(t, type);
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(4), (uint)(8 + body.Length));
        body.CopyTo(t, 8);
        return t;
    }

    [Fact]
    public void Multiboot2_CommandLineModuleMemoryMapAndRsdp()
    {
        var mmap = new byte[8 + 2 * 24];
        BinaryPrimitives.WriteUInt32LittleEndian(mmap, 24);
        BinaryPrimitives.WriteUInt64LittleEndian(mmap.AsSpan(8 + 8), 0x9fc00);
        BinaryPrimitives.WriteUInt32LittleEndian(mmap.AsSpan(8 + 16), 1);
        var module = new byte[8 + 5];
        BinaryPrimitives.WriteUInt32LittleEndian(module, 0x200000);
        BinaryPrimitives.WriteUInt32LittleEndian(module.AsSpan(4), 0x300000);
        var parts = new List<byte[]> { new byte[8], Tag(1, "log=3\0"u8.ToArray()), Tag(3, module), Tag(3, module), Tag(6, mmap), Tag(14, new byte[20]), Tag(0) };
        var mbi = parts.SelectMany(x => x).ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(mbi, (uint)mbi.Length);
        StartInfo.ParseMultiboot2(mbi, 0x10000, out var info, out var error).Should().BeTrue(error);
        info.CommandLine.Should().Be(0x10000UL + 8 + 8);
        System.Text.Encoding.ASCII.GetString(mbi, 16, 5).Should().Be("log=3");
        (info.ModulePhys, info.ModuleSize).Should().Be((0x200000UL, 0x100000UL));
        info.MemMapEntries.Should().Be(2u);
        int mmapTag = 8 + 16 + 24 + 24;
        info.MemMapPhys.Should().Be(0x10000UL + (ulong)mmapTag + 16);
        info.RsdpPhys.Should().Be(0x10000UL + (ulong)(mmapTag + 8 + mmap.Length) + 8);

        // No memory map, a tag running past the end, entries of another size: refused.
        var noMap = new[] { new byte[8], Tag(1, "x\0"u8.ToArray()), Tag(0) }.SelectMany(x => x).ToArray();
        StartInfo.ParseMultiboot2(noMap, 0, out _, out error).Should().BeFalse();
        error.Should().Contain("no memory map");
        var bad = (byte[])mbi.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(12), 4096);
        StartInfo.ParseMultiboot2(bad, 0, out _, out error).Should().BeFalse();
        var odd = (byte[])mbi.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(odd.AsSpan(mmapTag + 8), 20);
        StartInfo.ParseMultiboot2(odd, 0, out _, out error).Should().BeFalse();
    }

    [Fact]
    public void AcpiS5_FoundAsANamedPackage_NotAsAReference()
    {
        byte[] Dsdt(params byte[] aml) => new byte[36].Concat(aml).ToArray();
        // Name (_S5, Package (4) { 0x05, Zero, Zero, Zero }) after a reference to _S5_.
        var dsdt = Dsdt([0x70, (byte)'_', (byte)'S', (byte)'5', (byte)'_', 0x60,
                         0x08, (byte)'_', (byte)'S', (byte)'5', (byte)'_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00]);
        AcpiSleep.FindS5(dsdt, out ushort a, out ushort b).Should().BeTrue();
        (a, b).Should().Be(((ushort)5, (ushort)0));
        // Name (\_S5, Package () { One, 0x07 }), a root prefix.
        AcpiSleep.FindS5(Dsdt([0x08, (byte)'\\', (byte)'_', (byte)'S', (byte)'5', (byte)'_', 0x12, 0x06, 0x02, 0x01, 0x0a, 0x07]), out a, out b).Should().BeTrue();
        (a, b).Should().Be(((ushort)1, (ushort)7));
        AcpiSleep.FindS5(Dsdt([0x08, (byte)'_', (byte)'S', (byte)'3', (byte)'_', 0x12, 0x04, 0x02, 0x00, 0x00]), out _, out _).Should().BeFalse();
        AcpiSleep.FindS5(Dsdt([0x08, (byte)'_', (byte)'S', (byte)'5', (byte)'_', 0x12]), out _, out _).Should().BeFalse();
    }

    [Fact]
    public void Firecracker_ConfigBootsTheImageAsKernelAndInitrd()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(Exporter.FirecrackerConfig("/srv/app.img", "1G", 2))!;
        json["boot-source"]!["kernel_image_path"]!.GetValue<string>().Should().Be("/srv/app.img");
        json["boot-source"]!["initrd_path"]!.GetValue<string>().Should().Be("/srv/app.img");
        json["machine-config"]!["mem_size_mib"]!.GetValue<long>().Should().Be(1024);
        json["machine-config"]!["vcpu_count"]!.GetValue<int>().Should().Be(2);
        Exporter.MemoryMiB("512").Should().Be(512);
        FluentActions.Invoking(() => Exporter.MemoryMiB("lots")).Should().Throw<UkpackException>();
    }
}
