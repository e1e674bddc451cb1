using System.Buffers.Binary;
using Kernel.Fs;

namespace Ukpack;

/// <summary>A GUID partition table (UEFI spec, chapter 5) written into a raw disk: the
/// protective MBR (boot code area left alone), the primary header and entry array at LBA 1
/// and 2, their backups at the end of the disk. 512-byte sectors.</summary>
public static class Gpt
{
    public const int Sector = 512;
    const int EntrySize = 128, EntryCount = 128;
    const int EntrySectors = EntryCount * EntrySize / Sector;        // 32

    public static readonly Guid BiosBoot = new("21686148-6449-6e6f-744e-656564454649");
    public static readonly Guid EfiSystem = new("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");

    public sealed record Partition(Guid Type, long FirstLba, long LastLba, string Name);

    /// <summary>The first LBA after the table's backup copy can start: the last usable LBA
    /// for a disk of `sectors`.</summary>
    public static long LastUsable(long sectors) => sectors - 1 - 1 - EntrySectors;
    public const long FirstUsable = 2 + EntrySectors;

    public static void Write(Stream disk, long sectors, IReadOnlyList<Partition> parts, Guid diskGuid, Func<int, Guid> partGuid)
    {
        if (parts.Count > EntryCount) throw new ArgumentException("too many partitions");
        foreach (var p in parts)
            if (p.FirstLba < FirstUsable || p.LastLba > LastUsable(sectors) || p.LastLba < p.FirstLba)
                throw new ArgumentException($"partition {p.Name} outside the usable sectors");

        // Protective MBR: one partition of type 0xEE covering the disk (capped at 2^32-1 sectors).
        var mbr = new byte[Sector];
        disk.Position = 0;
        disk.ReadExactly(mbr);
        Array.Clear(mbr, 446, 64);
        mbr[446 + 1] = 0x00; mbr[446 + 2] = 0x02; mbr[446 + 3] = 0x00;    // CHS of LBA 1
        mbr[446 + 4] = 0xee;
        mbr[446 + 5] = 0xff; mbr[446 + 6] = 0xff; mbr[446 + 7] = 0xff;
        BinaryPrimitives.WriteUInt32LittleEndian(mbr.AsSpan(446 + 8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(mbr.AsSpan(446 + 12), (uint)Math.Min(sectors - 1, uint.MaxValue));
        mbr[510] = 0x55; mbr[511] = 0xaa;
        disk.Position = 0;
        disk.Write(mbr);

        var entries = new byte[EntryCount * EntrySize];
        for (int i = 0; i < parts.Count; i++)
        {
            var e = entries.AsSpan(i * EntrySize, EntrySize);
            parts[i].Type.TryWriteBytes(e);
            partGuid(i).TryWriteBytes(e.Slice(16));
            BinaryPrimitives.WriteInt64LittleEndian(e.Slice(32), parts[i].FirstLba);
            BinaryPrimitives.WriteInt64LittleEndian(e.Slice(40), parts[i].LastLba);
            var name = parts[i].Name;
            for (int c = 0; c < name.Length && c < 36; c++) BinaryPrimitives.WriteUInt16LittleEndian(e.Slice(56 + 2 * c), name[c]);
        }
        var table = Crc32.MakeTable();
        uint entriesCrc = Crc32.Update(table, 0, entries);

        byte[] Header(long myLba, long altLba, long entriesLba)
        {
            var h = new byte[Sector];
            "EFI PART"u8.CopyTo(h);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), 0x00010000);    // revision 1.0
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(12), 92);           // header size
            BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(24), myLba);
            BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(32), altLba);
            BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(40), FirstUsable);
            BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(48), LastUsable(sectors));
            diskGuid.TryWriteBytes(h.AsSpan(56));
            BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(72), entriesLba);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(80), EntryCount);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(84), EntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(88), entriesCrc);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), Crc32.Update(table, 0, h.AsSpan(0, 92)));
            return h;
        }

        disk.Position = Sector;
        disk.Write(Header(1, sectors - 1, 2));
        disk.Write(entries);
        disk.Position = (sectors - 1 - EntrySectors) * Sector;
        disk.Write(entries);
        disk.Write(Header(sectors - 1, 1, sectors - 1 - EntrySectors));
    }
}
