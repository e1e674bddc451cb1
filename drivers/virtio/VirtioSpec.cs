using System;

namespace Kernel.Drivers
{
    /// Device status bits and feature bits common to every virtio device (virtio 1.x, 2.1, 6).
    public static class Virtio
    {
        public const byte StatusAcknowledge = 1, StatusDriver = 2, StatusDriverOk = 4, StatusFeaturesOk = 8,
            StatusNeedsReset = 0x40, StatusFailed = 0x80;
        public const int FeatureIndirect = 28, FeatureEventIdx = 29, FeatureVersion1 = 32;
        public const uint DeviceNet = 1, DeviceBlock = 2, DeviceConsole = 3, DeviceRng = 4;

        public static string TypeName(uint id) => id switch
        {
            DeviceNet => "net", DeviceBlock => "blk", DeviceConsole => "console", DeviceRng => "rng", _ => "other",
        };

        /// Feature negotiation as pure logic: what the driver accepts from what the device
        /// offers. VERSION_1 is required (legacy devices are refused); `wanted` lists the
        /// device-specific bits the driver understands.
        public static bool Negotiate(ulong offered, ulong wanted, out ulong accepted)
        {
            ulong common = (1UL << FeatureVersion1) | (1UL << FeatureIndirect) | (1UL << FeatureEventIdx);
            accepted = offered & (wanted | common);
            return (offered & (1UL << FeatureVersion1)) != 0;
        }
    }

    /// `virtio_mmio.device=SIZE@ADDR:IRQ` as QEMU's microvm and Firecracker write it (SIZE
    /// with an optional K/M/G suffix, ADDR in hex or decimal). Pure logic, host-tested.
    public static class MmioAnnouncement
    {
        public static bool TryParse(System.ReadOnlySpan<byte> word, out ulong size, out ulong addr, out int irq)
        {
            size = addr = 0; irq = 0;
            System.ReadOnlySpan<byte> prefix = "virtio_mmio.device="u8;
            if (word.Length < prefix.Length || !word.Slice(0, prefix.Length).SequenceEqual(prefix)) return false;
            var s = word.Slice(prefix.Length);
            int at = s.IndexOf((byte)'@'), colon = s.IndexOf((byte)':');
            if (at <= 0 || colon <= at + 1 || colon == s.Length - 1) return false;
            if (!Number(s.Slice(0, at), true, out size) || !Number(s.Slice(at + 1, colon - at - 1), false, out addr)) return false;
            var irqPart = s.Slice(colon + 1);
            int c2 = irqPart.IndexOf((byte)':');              // an optional :ID after the IRQ
            if (c2 >= 0) irqPart = irqPart.Slice(0, c2);
            if (!Number(irqPart, false, out ulong irqValue) || irqValue > 255 || size == 0) return false;
            irq = (int)irqValue;
            return true;
        }

        static bool Number(System.ReadOnlySpan<byte> s, bool suffix, out ulong v)
        {
            v = 0;
            int shift = 0;
            if (suffix && s.Length > 0)
            {
                byte last = s[s.Length - 1];
                if (last == 'K' || last == 'k') shift = 10; else if (last == 'M' || last == 'm') shift = 20; else if (last == 'G' || last == 'g') shift = 30;
                if (shift != 0) s = s.Slice(0, s.Length - 1);
            }
            if (s.Length == 0) return false;
            bool hex = s.Length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
            if (hex) s = s.Slice(2);
            if (s.Length == 0 || s.Length > 16) return false;
            for (int i = 0; i < s.Length; i++)
            {
                byte b = s[i];
                int d = b >= '0' && b <= '9' ? b - '0' : hex && b >= 'a' && b <= 'f' ? b - 'a' + 10 : hex && b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
                if (d < 0) return false;
                v = v * (hex ? 16UL : 10UL) + (ulong)d;
            }
            v <<= shift;
            return true;
        }

        /// The virtio-mmio devices of an ACPI DSDT: after each _HID "LNRO0005", the _CRS
        /// buffer's Memory32Fixed and Extended Interrupt descriptors. Returns how many.
        public static unsafe int ScanDsdt(ReadOnlySpan<byte> aml, delegate*<ulong, ulong, int, void> found)
        {
            ReadOnlySpan<byte> hid = "LNRO0005\0"u8;
            int n = 0;
            for (int i = 0; i + hid.Length <= aml.Length; i++)
            {
                if (aml[i] != 'L' || aml[i + 4] != '0' || !aml.Slice(i, hid.Length).SequenceEqual(hid)) continue;
                // The _CRS buffer follows within a few dozen bytes (_UID, _CCA come first).
                int end = i + 128 < aml.Length ? i + 128 : aml.Length;
                for (int j = i + hid.Length; j + 21 <= end; j++)
                {
                    if (aml[j] != 0x86 || aml[j + 1] != 0x09 || aml[j + 2] != 0x00) continue;    // Memory32Fixed
                    ulong addr = (uint)(aml[j + 4] | aml[j + 5] << 8 | aml[j + 6] << 16 | aml[j + 7] << 24);
                    ulong size = (uint)(aml[j + 8] | aml[j + 9] << 8 | aml[j + 10] << 16 | aml[j + 11] << 24);
                    int k = j + 12;
                    if (aml[k] != 0x89 || aml[k + 3] == 0 || aml[k + 4] == 0) break;               // Extended Interrupt
                    int irq = aml[k + 5] | aml[k + 6] << 8 | aml[k + 7] << 16 | aml[k + 8] << 24;
                    found(size, addr, irq);
                    n++;
                    break;
                }
            }
            return n;
        }

    }
}
