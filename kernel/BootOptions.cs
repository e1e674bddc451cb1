using Kernel.Memory;

namespace Kernel
{
    /// The kernel command line: space-separated key=value words (docs/image-format.md).
    public unsafe struct BootOptions
    {
        public int LogLevel;           // 0 error .. 3 debug
        public byte* Argv;             // run-time argv override: hex of NUL-terminated strings
        public int ArgvHexLength;
        public byte* Test;             // kernel self-test name, or null
        public int TestLength;
        public int TtyMask;            // tty=N: bit per fd 0-2 that is a terminal on the host
        public ulong GcStress;         // gcstress=N: collect at every N-th allocation (0: off)
        public bool StdioVirtio;       // stdio=virtio: the program's stdio on virtio-console ports 1 and 2
        public byte* Env;              // run-time environment override (ukpack run -e): hex of NUL-terminated K=V strings
        public int EnvHexLength;
        public bool Strace;            // strace=1: log every system call (ukpack run --strace)
        public bool Gdb;               // gdb=1: call the debugger's anchors (ukpack run --gdb)
        public byte* Volumes;          // volumes=DISK:ro|rw:HEXPATH,...: ext4 volumes to mount before the program starts
        public int VolumesLength;
        public int RootDisk;           // rootdisk=N: the image's root filesystem is the ext4 on disk N (ukpack build --root-disk); -1 none

        public static BootOptions Parse(ulong cmdlinePhys)
        {
            var o = new BootOptions { LogLevel = 1, RootDisk = -1 };
            if (cmdlinePhys == 0) return o;
            byte* s = (byte*)PhysicalMemory.ToVirtual(cmdlinePhys);
            int i = 0;
            while (s[i] != 0)
            {
                while (s[i] == ' ') i++;
                int start = i;
                while (s[i] != 0 && s[i] != ' ') i++;
                byte* word = s + start;
                int len = i - start;
                if (StartsWith(word, len, "log=") && len == 5) o.LogLevel = word[4] - '0';
                else if (StartsWith(word, len, "argv=")) { o.Argv = word + 5; o.ArgvHexLength = len - 5; }
                else if (StartsWith(word, len, "env=")) { o.Env = word + 4; o.EnvHexLength = len - 4; }
                else if (StartsWith(word, len, "test=")) { o.Test = word + 5; o.TestLength = len - 5; }
                else if (StartsWith(word, len, "tty=") && len == 5) o.TtyMask = (word[4] - '0') & 7;
                else if (StartsWith(word, len, "gcstress=")) o.GcStress = Decimal(word + 9, len - 9);
                else if (StartsWith(word, len, "stdio=virtio") && len == 12) o.StdioVirtio = true;
                else if (StartsWith(word, len, "strace=") && len == 8) o.Strace = word[7] == '1';
                else if (StartsWith(word, len, "gdb=") && len == 5) o.Gdb = word[4] == '1';
                else if (StartsWith(word, len, "volumes=")) { o.Volumes = word + 8; o.VolumesLength = len - 8; }
                else if (StartsWith(word, len, "rootdisk=") && len > 9 && len < 12) o.RootDisk = (int)Decimal(word + 9, len - 9);
            }
            if (o.LogLevel < 0 || o.LogLevel > 3) o.LogLevel = 1;
            return o;
        }

        static ulong Decimal(byte* s, int len)
        {
            ulong v = 0;
            for (int i = 0; i < len && s[i] >= '0' && s[i] <= '9' && v < 1000000000; i++) v = v * 10 + (ulong)(s[i] - '0');
            return v;
        }

        static bool StartsWith(byte* word, int len, string prefix)
        {
            if (len < prefix.Length) return false;
            for (int i = 0; i < prefix.Length; i++) if (word[i] != prefix[i]) return false;
            return true;
        }

        public bool TestIs(string name)
        {
            if (Test == null || TestLength != name.Length) return false;
            for (int i = 0; i < name.Length; i++) if (Test[i] != name[i]) return false;
            return true;
        }
    }
}
