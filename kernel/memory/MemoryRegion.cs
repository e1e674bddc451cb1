namespace Kernel.Memory
{
    /// A range of physical memory [Start, End).
    public struct MemoryRegion
    {
        public ulong Start;
        public ulong End;
        public MemoryRegion(ulong start, ulong end) { Start = start; End = end; }
    }
}
