using System;
using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Console;

namespace Kernel
{
    /// The kernel's own symbol table, linked into .ksyms by the second link pass
    /// (kernel/build/mksyms.sh): u64 count, then count × (u64 address, u64 name offset),
    /// then NUL-terminated names. Sorted by address.
    public static unsafe class Symbols
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "ksyms_base")]
        static extern byte* Base();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "ksyms_text_start")]
        public static extern ulong TextStart();
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "ksyms_text_end")]
        public static extern ulong TextEnd();

        public static bool IsKernelText(ulong addr) => addr >= TextStart() && addr < TextEnd();

        /// Finds the symbol containing `addr`; false when the table is empty or addr precedes it.
        public static bool Lookup(ulong addr, out byte* name, out ulong offset)
        {
            name = null; offset = 0;
            byte* table = Base();
            ulong count = *(ulong*)table;
            if (count == 0) return false;
            ulong* rows = (ulong*)(table + 8);
            if (addr < rows[0]) return false;
            ulong lo = 0, hi = count;                 // rows[lo].addr <= addr < rows[hi].addr
            while (hi - lo > 1)
            {
                ulong mid = (lo + hi) / 2;
                if (rows[mid * 2] <= addr) lo = mid; else hi = mid;
            }
            name = table + 8 + count * 16 + rows[lo * 2 + 1];
            offset = addr - rows[lo * 2];
            return true;
        }

        /// Appends the name of the type whose MethodTable is at `mt` (its vtable symbol,
        /// `_ZTV<n>Module_Namespace_Type`, without the `_ZTV<n>` prefix).
        public static void AppendTypeName(ref LineWriter w, ulong mt)
        {
            if (!Lookup(mt, out byte* name, out ulong offset) || offset != 0) { w.Hex(mt); return; }
            int i = 0;
            if (name[0] == '_' && name[1] == 'Z' && name[2] == 'T' && name[3] == 'V') { i = 4; while (name[i] >= '0' && name[i] <= '9') i++; }
            for (; name[i] != 0 && i < 160; i++) w.Byte(name[i]);
        }

        /// Appends "name+0xoff" (or the bare address) to a log line.
        public static void Append(ref LineWriter w, ulong addr)
        {
            if (Lookup(addr, out byte* name, out ulong offset) && offset < 0x100000)
            {
                for (int i = 0; name[i] != 0 && i < 160; i++) w.Byte(name[i]);
                if (offset != 0) { w.Byte((byte)'+'); w.Hex(offset); }
            }
            else w.Hex(addr);
        }
    }

    /// Stack backtrace by scanning: every word on the stack that is a return address into
    /// kernel text (the instruction before it is a call) is reported. ILC does not keep frame
    /// pointers everywhere, so this is the reliable option without an unwinder.
    public static unsafe class Backtrace
    {
        public static void Print(ulong rbp, ulong rsp, int maxFrames = 16)
        {
            var head = Log.Begin(LogLevel.Error, stackalloc byte[64]);
            head.Str("backtrace:");
            Log.End(ref head);
            ulong* p = (ulong*)rsp;
            int found = 0;
            System.Span<byte> line = stackalloc byte[256];
            for (int i = 0; i < 2048 && found < maxFrames; i++)
            {
                // Stop at the end of the stack: the next page is unmapped (a guard page).
                if (((ulong)(p + i) & 0xfff) == 0 || i == 0)
                    if (!Memory.AddressSpace.IsKernelMapped((ulong)(p + i))) break;
                ulong v = p[i];
                if (!Symbols.IsKernelText(v) || !FollowsCall(v)) continue;
                var w = Log.Begin(LogLevel.Error, line);
                w.Str("  "); w.Hex(v, 16); w.Str(" "); Symbols.Append(ref w, v);
                Log.End(ref w);
                found++;
            }
        }

        static bool FollowsCall(ulong ret)
        {
            byte* r = (byte*)ret;
            if (!Symbols.IsKernelText(ret - 7)) return false;
            if (r[-5] == 0xe8) return true;                               // call rel32
            if (r[-2] == 0xff && (r[-1] & 0x38) == 0x10) return true;     // call *reg
            if (r[-3] == 0xff && (r[-2] & 0x38) == 0x10) return true;     // call *disp8(reg)
            if (r[-6] == 0xff && (r[-5] & 0x38) == 0x10) return true;     // call *disp32(reg)/rip
            if (r[-7] == 0xff && (r[-6] & 0x38) == 0x10) return true;     // with SIB
            return false;
        }
    }
}
