using System;
using Kernel.Abi;

namespace Kernel.Net
{
    /// The interface ioctls (linux/sockios.h) on any socket: SIOCGIFCONF and the SIOCGIF*
    /// queries by name, answered from the stack's interfaces.
    public static class NetIoctl
    {
        public const uint SIOCGIFNAME = 0x8910, SIOCGIFCONF = 0x8912, SIOCGIFFLAGS = 0x8913, SIOCGIFADDR = 0x8915,
            SIOCGIFBRDADDR = 0x8919, SIOCGIFNETMASK = 0x891b, SIOCGIFMTU = 0x8921, SIOCGIFHWADDR = 0x8927,
            SIOCGIFINDEX = 0x8933, SIOCGIFMETRIC = 0x891d, SIOCGIFTXQLEN = 0x8942;
        public const int IFF_UP = 1, IFF_BROADCAST = 2, IFF_LOOPBACK = 8, IFF_RUNNING = 0x40, IFF_MULTICAST = 0x1000;
        const int IfReqSize = 40;

        public static bool IsInterfaceRequest(uint request) =>
            request == SIOCGIFNAME || request == SIOCGIFCONF || request == SIOCGIFFLAGS || request == SIOCGIFADDR || request == SIOCGIFBRDADDR
            || request == SIOCGIFNETMASK || request == SIOCGIFMTU || request == SIOCGIFHWADDR || request == SIOCGIFINDEX
            || request == SIOCGIFMETRIC || request == SIOCGIFTXQLEN;

        public static int Flags(NetIf n) => n.Loopback ? IFF_UP | IFF_LOOPBACK | IFF_RUNNING : (n.Up ? IFF_UP | IFF_RUNNING : 0) | IFF_BROADCAST | IFF_MULTICAST;

        static void PutAddr(Span<byte> r, uint a)
        {
            r.Slice(16, 16).Clear();
            r[16] = AddressFamily.AF_INET;
            Wire.Put32(r, 20, a);
        }

        static NetIf ByName(NetStack s, ReadOnlySpan<byte> req)
        {
            int len = 0;
            while (len < 16 && req[len] != 0) len++;
            for (int i = 0; i < s.IfCount; i++)
            {
                byte[] nm = s.Ifs[i].Name;
                if (nm.Length != len) continue;
                bool eq = true;
                for (int k = 0; k < len; k++) if (nm[k] != req[k]) { eq = false; break; }
                if (eq) return s.Ifs[i];
            }
            return null;
        }

        public static unsafe SysResult Interface(NetStack s, uint request, ulong arg)
        {
            Span<byte> r = stackalloc byte[IfReqSize];
            var user = new UserPtr(arg);
            if (request == SIOCGIFCONF)
            {
                Span<byte> conf = stackalloc byte[16];
                if (user.CopyIn(conf) != 0) return Errno.EFAULT;
                int len = conf[0] | conf[1] << 8 | conf[2] << 16 | conf[3] << 24;
                ulong buf = 0;
                for (int i = 0; i < 8; i++) buf |= (ulong)conf[8 + i] << (8 * i);
                int done = 0;
                for (int i = 0; i < s.IfCount; i++)
                {
                    NetIf n = s.Ifs[i];
                    if (n.Addr == 0) continue;                      // only interfaces with an address, as Linux
                    if (buf == 0) { done += IfReqSize; continue; }
                    if (done + IfReqSize > len) break;
                    r.Clear();
                    for (int k = 0; k < n.Name.Length && k < 15; k++) r[k] = n.Name[k];
                    PutAddr(r, n.Addr);
                    if (new UserPtr(buf + (ulong)done).CopyOut(r) != 0) return Errno.EFAULT;
                    done += IfReqSize;
                }
                conf[0] = (byte)done; conf[1] = (byte)(done >> 8); conf[2] = (byte)(done >> 16); conf[3] = (byte)(done >> 24);
                if (user.CopyOut(conf.Slice(0, 4)) != 0) return Errno.EFAULT;
                return 0;
            }
            if (request != SIOCGIFNAME && request != SIOCGIFFLAGS && request != SIOCGIFADDR && request != SIOCGIFBRDADDR && request != SIOCGIFNETMASK
                && request != SIOCGIFMTU && request != SIOCGIFHWADDR && request != SIOCGIFINDEX && request != SIOCGIFMETRIC
                && request != SIOCGIFTXQLEN) return Errno.ENOTTY;
            if (user.CopyIn(r) != 0) return Errno.EFAULT;
            NetIf nif;
            if (request == SIOCGIFNAME)
            {
                int index = r[16] | r[17] << 8 | r[18] << 16 | r[19] << 24;
                nif = s.FindIf(index);
                if (nif == null) return Errno.ENODEV;
                r.Slice(0, 16).Clear();
                for (int k = 0; k < nif.Name.Length && k < 15; k++) r[k] = nif.Name[k];
                return user.CopyOut(r) != 0 ? Errno.EFAULT : SysResult.Ok;
            }
            nif = ByName(s, r);
            if (nif == null) return Errno.ENODEV;
            switch (request)
            {
                case SIOCGIFFLAGS: r.Slice(16, 24).Clear(); int f = Flags(nif); r[16] = (byte)f; r[17] = (byte)(f >> 8); break;
                case SIOCGIFADDR: if (nif.Addr == 0) return Errno.EADDRNOTAVAIL; PutAddr(r, nif.Addr); break;
                case SIOCGIFNETMASK: if (nif.Addr == 0) return Errno.EADDRNOTAVAIL; PutAddr(r, nif.Mask); break;
                case SIOCGIFBRDADDR: if (nif.Addr == 0) return Errno.EADDRNOTAVAIL; PutAddr(r, nif.Loopback ? 0 : nif.Addr | ~nif.Mask); break;
                case SIOCGIFMTU: r.Slice(16, 24).Clear(); r[16] = (byte)nif.Mtu; r[17] = (byte)(nif.Mtu >> 8); r[18] = (byte)(nif.Mtu >> 16); break;
                case SIOCGIFINDEX: r.Slice(16, 24).Clear(); r[16] = (byte)nif.Index; break;
                case SIOCGIFMETRIC: r.Slice(16, 24).Clear(); break;
                case SIOCGIFTXQLEN: r.Slice(16, 24).Clear(); r[16] = 1000 & 255; r[17] = 1000 >> 8; break;     // as IFLA_TXQLEN
                case SIOCGIFHWADDR:
                    r.Slice(16, 24).Clear();
                    r[16] = (byte)(nif.Loopback ? 772 & 255 : 1); r[17] = (byte)(nif.Loopback ? 772 >> 8 : 0);   // ARPHRD_LOOPBACK / ARPHRD_ETHER
                    if (!nif.Loopback) for (int k = 0; k < 6; k++) r[18 + k] = nif.Mac[k];
                    break;
            }
            return user.CopyOut(r) != 0 ? Errno.EFAULT : SysResult.Ok;
        }
    }
}
