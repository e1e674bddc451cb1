using System;
using Kernel.Fs;

namespace Kernel.Net
{
    /// Keeps the /etc/resolv.conf that `ukpack build` supplies (recognised by its first line,
    /// NetStack.ResolvConfMarker) naming the DNS servers the network gave us: DHCP's on a
    /// tap network are not QEMU's user-network 10.0.2.3 the file starts with. A tree's own
    /// resolv.conf (a regular file without the marker, or a symlink) is left alone.
    public static unsafe class ResolvConf
    {
        public static void Update(NetStack stack)
        {
            stack.DnsChanged = false;
            if (stack.DnsCount == 0 && stack.Dns6.IsV6Any) return;
            if (Vfs.Root.Lookup("etc"u8, out Inode etc) != 0 || etc.Lookup("resolv.conf"u8, out Inode f) != 0) return;
            if (!f.IsRegular) return;
            var marker = NetStack.ResolvConfMarker;
            Span<byte> head = stackalloc byte[marker.Length];
            fixed (byte* h = head)
                if (f.ReadKernel(0, h, head.Length).Raw != head.Length || !head.SequenceEqual(marker)) return;
            Span<byte> text = stackalloc byte[512];
            int n = stack.FormatResolvConf(text);
            if (f.Truncate(0) != 0) return;
            fixed (byte* t = text) f.WriteKernel(0, t, n);
        }
    }
}
