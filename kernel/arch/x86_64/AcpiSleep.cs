using System;

namespace Kernel.Arch
{
    /// Finds the S5 (soft-off) sleep type in a DSDT without an AML interpreter: firmware
    /// declares it as `Name (_S5, Package () { SLP_TYPa, SLP_TYPb, ... })`, whose bytes are
    /// NameOp "_S5_", PackageOp, a PkgLength, the element count, then each value as
    /// ZeroOp, OneOp or BytePrefix + byte. Pure logic, tested on the host.
    public static class AcpiSleep
    {
        public static bool FindS5(ReadOnlySpan<byte> dsdt, out ushort slpTypA, out ushort slpTypB)
        {
            slpTypA = slpTypB = 0;
            for (int i = 36; i + 4 < dsdt.Length; i++)
            {
                if (dsdt[i] != (byte)'_' || dsdt[i + 1] != (byte)'S' || dsdt[i + 2] != (byte)'5' || dsdt[i + 3] != (byte)'_') continue;
                // A name, not a reference: NameOp before it (possibly with a root or
                // parent prefix in between).
                int before = i - 1;
                while (before > 0 && (dsdt[before] == (byte)'\\' || dsdt[before] == (byte)'^')) before--;
                if (dsdt[before] != 0x08) continue;
                int p = i + 4;
                if (p >= dsdt.Length || dsdt[p] != 0x12) continue;      // PackageOp
                p++;
                if (p >= dsdt.Length) return false;
                p += 1 + (dsdt[p] >> 6);                                  // PkgLength: 1-4 bytes
                p++;                                                      // NumElements
                if (!Element(dsdt, ref p, out slpTypA)) return false;
                if (!Element(dsdt, ref p, out slpTypB)) slpTypB = 0;
                return true;
            }
            return false;
        }

        static bool Element(ReadOnlySpan<byte> a, ref int p, out ushort value)
        {
            value = 0;
            if (p >= a.Length) return false;
            switch (a[p])
            {
                case 0x00: p++; return true;                              // ZeroOp
                case 0x01: p++; value = 1; return true;                   // OneOp
                case 0x0a:                                                // BytePrefix
                    if (p + 1 >= a.Length) return false;
                    value = (ushort)(a[p + 1] & 7); p += 2; return true;
                default: return false;
            }
        }
    }
}
