using Kernel.Arch;
using Kernel.Console;

namespace Kernel
{
    /// After the machine is set up: start the program from the boot module, if any.
    public static class Boot2
    {
        public static void Start()
        {
            if (Kmain.Boot.ModuleSize == 0)
            {
                Log.Info("no program image (no initrd); powering off");
                Log.WriteRaw("@@UKEXIT 0\n");
                Power.Exit(0);
            }
            Loader.ProcessStart.Run();
        }
    }
}
