namespace Kernel.Arch
{
    /// User-mode instruction prevention: with CR4.UMIP set, sgdt, sidt, sldt, smsw and str
    /// fault in ring 3, so a program cannot read where the kernel keeps its GDT and IDT.
    /// As Linux does, the fault is answered with fixed dummy values and the program goes on
    /// (only the memory and register forms of those five instructions are emulated).
    public static unsafe class Umip
    {
        const ulong Cr4Umip = 1UL << 11;
        const ulong DummyGdtBase = 0xfffffffffffe0000, DummyIdtBase = 0xffffffffffff0000;
        const ulong DummyCr0 = 0x80050033, DummyTr = 0x40, DummyLdt = 0;

        public static bool Enabled;

        /// Turns UMIP on when the CPU has it (CPUID.(7,0):ECX bit 2).
        public static void Enable()
        {
            uint* r = stackalloc uint[4];
            Cpu.Cpuid(0, 0, r);
            if (r[0] < 7) return;
            Cpu.Cpuid(7, 0, r);
            if ((r[2] & 4) == 0) return;
            Cpu.WriteCr4(Cpu.ReadCr4() | Cr4Umip);
            Enabled = true;
        }

        static ulong* Reg(InterruptFrame* f, int n) => n switch
        {
            0 => &f->Rax, 1 => &f->Rcx, 2 => &f->Rdx, 3 => &f->Rbx, 4 => &f->Rsp, 5 => &f->Rbp, 6 => &f->Rsi, 7 => &f->Rdi,
            8 => &f->R8, 9 => &f->R9, 10 => &f->R10, 11 => &f->R11, 12 => &f->R12, 13 => &f->R13, 14 => &f->R14, _ => &f->R15,
        };

        /// A #GP from user mode: true when it was one of the UMIP instructions, now emulated.
        public static bool Emulate(InterruptFrame* f, ulong fsBase, ulong gsBase)
        {
            if (!Enabled || f->Rip > Memory.AddressSpace.UserLimit - 16) return false;
            byte* code = stackalloc byte[16];
            if (UserCopy.Copy(code, (void*)f->Rip, 15) != 0) return false;
            int i = 0, rex = 0;
            bool opsize = false, addrsize = false;
            ulong segBase = 0;
            for (; i < 14; i++)
            {
                byte b = code[i];
                if (b == 0x66) opsize = true;
                else if (b == 0x67) addrsize = true;
                else if (b == 0x64) segBase = fsBase;
                else if (b == 0x65) segBase = gsBase;
                else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0xf2 || b == 0xf3) { }
                else break;
            }
            if (code[i] >= 0x40 && code[i] <= 0x4f) rex = code[i++];
            if (code[i] != 0x0f || (code[i + 1] != 0x00 && code[i + 1] != 0x01)) return false;
            bool group7 = code[i + 1] == 0x01;
            i += 2;
            byte modrm = code[i++];
            int mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
            ulong value;
            int size;                                   // bytes stored to memory
            if (group7 && reg == 0) { value = DummyGdtBase; size = 10; }
            else if (group7 && reg == 1) { value = DummyIdtBase; size = 10; }
            else if (group7 && reg == 4) { value = DummyCr0; size = 2; }
            else if (!group7 && reg == 0) { value = DummyLdt; size = 2; }
            else if (!group7 && reg == 1) { value = DummyTr; size = 2; }
            else return false;
            if (mod == 3)
            {
                if (size == 10) return false;           // sgdt/sidt have no register form (#UD)
                ulong* r = Reg(f, rm | ((rex & 1) << 3));
                if (opsize) *r = (*r & ~0xffffUL) | (value & 0xffff);
                else *r = (rex & 8) != 0 ? value : (uint)value;
                f->Rip += (ulong)i;
                return true;
            }
            ulong addr = 0;
            if (rm == 4)
            {
                byte sib = code[i++];
                int scale = sib >> 6, index = ((sib >> 3) & 7) | ((rex & 2) << 2), b = (sib & 7) | ((rex & 1) << 3);
                if (index != 4) addr += *Reg(f, index) << scale;
                if ((sib & 7) == 5 && mod == 0) { addr += (ulong)(long)*(int*)(code + i); i += 4; }
                else addr += *Reg(f, b);
            }
            else if (rm == 5 && mod == 0)
            {
                long disp = *(int*)(code + i); i += 4;
                addr = f->Rip + (ulong)i + (ulong)disp;         // rip-relative: from the next instruction
            }
            else addr = *Reg(f, rm | ((rex & 1) << 3));
            if (mod == 1) { addr += (ulong)(long)(sbyte)code[i]; i += 1; }
            else if (mod == 2) { addr += (ulong)(long)*(int*)(code + i); i += 4; }
            if (addrsize) addr = (uint)addr;
            addr += segBase;
            byte* data = stackalloc byte[10];
            if (size == 10) { *(ushort*)data = 0; *(ulong*)(data + 2) = value; }
            else *(ushort*)data = (ushort)value;
            if (addr > Memory.AddressSpace.UserLimit - (ulong)size || UserCopy.Copy((void*)addr, data, (ulong)size) != 0) return false;
            f->Rip += (ulong)i;
            return true;
        }
    }
}
