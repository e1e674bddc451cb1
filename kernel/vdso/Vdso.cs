using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Memory;
using Kernel.Proc;
using Kernel.Time;

namespace Kernel.Vdso
{
    /// Maps the vDSO (kernel/vdso/vdso.c, embedded at build time) and its read-only data
    /// page into a program, so clock_gettime, gettimeofday, time and getcpu need no
    /// system call. Advertised with AT_SYSINFO_EHDR.
    public static unsafe class VdsoImage
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "vdso_image_bounds")]
        static extern void Bounds(ulong* output);

        static ulong _vvarFrame;

        /// CLOCK_REALTIME was set (Rtc.BootEpochNs moved): the vDSO's copy follows. One
        /// aligned 8-byte store, so a reader sees the old or the new offset, never a mix.
        public static void RealtimeChanged()
        {
            if (_vvarFrame != 0) ((ulong*)PhysicalMemory.ToVirtual(_vvarFrame))[2] = Rtc.BootEpochNs;
        }

        /// Maps [vvar page][vDSO pages] and returns the vDSO's base address (0 on failure).
        public static ulong Map(UserMemory m)
        {
            ulong* b = stackalloc ulong[2];
            Bounds(b);
            ulong size = b[1] - b[0];
            ulong pages = (size + 4095) / 4096;
            if (_vvarFrame == 0)
            {
                _vvarFrame = PhysicalMemory.AllocateFrames(1);
                ulong* v = (ulong*)PhysicalMemory.ToVirtual(_vvarFrame);
                v[0] = Clock.NsPerTickFixed;
                v[1] = Clock.BootTsc;
                v[2] = Rtc.BootEpochNs;
                v[3] = 1000000000UL / (ulong)Timer.Hz;
            }
            ulong start = m.Vmas.FindFreeTopDown((pages + 1) * 4096, UserMemory.MmapBottom, UserMemory.MmapTop);
            if (start == 0) return 0;
            m.AddVma(start, start + 4096, UserMemory.ProtRead, VmaKind.Image);
            m.Space.Map(start, _vvarFrame, UserMemory.PteFlags(UserMemory.ProtRead) | UserMemory.Borrowed);   // shared by every process
            ulong code = start + 4096;
            for (ulong i = 0; i < pages; i++)
            {
                ulong frame = PhysicalMemory.AllocateFrames(1);
                ulong n = size - i * 4096 < 4096 ? size - i * 4096 : 4096;
                Mem.Copy(PhysicalMemory.ToVirtual(frame), (void*)(b[0] + i * 4096), n);
                m.Space.Map(code + i * 4096, frame, UserMemory.PteFlags(UserMemory.ProtRead | UserMemory.ProtExec));
            }
            m.AddVma(code, code + pages * 4096, UserMemory.ProtRead | UserMemory.ProtExec, VmaKind.Image);
            return code;
        }
    }
}
