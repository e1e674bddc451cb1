namespace Kernel.Proc
{
    /// The machine's names as uname(2) and /proc/sys/kernel/{hostname,domainname} report
    /// them; sethostname(2) and setdomainname(2) replace them (one UTS namespace).
    public static class Uts
    {
        public const int MaxLength = 64;       // __NEW_UTS_LEN
        public static byte[] Hostname = new byte[] { (byte)'u', (byte)'k', (byte)'v', (byte)'m' };
        public static byte[] Domainname = new byte[] { (byte)'(', (byte)'n', (byte)'o', (byte)'n', (byte)'e', (byte)')' };
    }
}
