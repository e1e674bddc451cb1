using System.Runtime.InteropServices;
using Kernel.Arch;
using Kernel.Console;

namespace Kernel
{
    /// Boot sequence: each step depends only on the ones before it.
    public static unsafe class Kmain
    {
        [UnmanagedCallersOnly(EntryPoint = "kmain")]
        static void Main(ulong startInfoPhys)
        {
            Log.Info("hello from C#");
            Power.Exit(0);
        }
    }
}
