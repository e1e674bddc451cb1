using System;
using Kernel.Fs;
using Kernel.Memory;

namespace Kernel.Loader
{
    /// The image's payload, found through the trailer at the end of boot module 0
    /// (docs/image-format.md): argv, environment, program path and the root filesystem.
    public unsafe sealed class Payload
    {
        public byte* Base;            // payload start (direct map)
        public int Length;
        public uint Sections;

        public ReadOnlySpan<byte> Bytes => new ReadOnlySpan<byte>(Base, Length);

        public static string Open(ulong modulePhys, ulong moduleSize, out Payload payload)
        {
            payload = null;
            if (moduleSize < PayloadFormat.TrailerSize) return "image too small for a payload trailer";
            byte* module = (byte*)PhysicalMemory.ToVirtual(modulePhys);
            var tail = new ReadOnlySpan<byte>(module + moduleSize - PayloadFormat.TrailerSize, PayloadFormat.TrailerSize);
            if (PayloadReader.ReadTrailer(tail, moduleSize, out ImageTrailer t) != PayloadError.None) return "image has no valid payload trailer";
            var p = new Payload { Base = module + t.PayloadOffset, Length = (int)t.PayloadLength };
            if (Crc32.Compute(p.Bytes) != t.Crc) return "image payload is corrupt (CRC mismatch)";
            if (PayloadReader.Validate(p.Bytes, out p.Sections) != PayloadError.None) return "image payload header is invalid";
            payload = p;
            return null;
        }

        public ReadOnlySpan<byte> Section(uint kind)
        {
            if (!PayloadReader.FindSection(Bytes, Sections, kind, out int offset, out int length)) return default;
            return Bytes.Slice(offset, length);
        }
    }
}
