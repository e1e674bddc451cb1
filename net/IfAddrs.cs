using System;

namespace Kernel.Net
{
    /// One address of an interface, as netlink (RTM_GETADDR), /proc/net/if_inet6 and
    /// getifaddrs see it.
    public struct IfAddress
    {
        /// AF_INET (2) or AF_INET6 (10).
        public int Family;
        /// IPv4: the address in host order.
        public uint V4;
        /// IPv6: the address as two big-endian halves (Hi holds bytes 0-7).
        public ulong V6Hi, V6Lo;
        public int PrefixLen;
        /// RT_SCOPE_*: 0 universe, 253 link, 254 host.
        public int Scope;
        /// IFA_F_* (IFA_F_PERMANENT 0x80, ...).
        public int Flags;

        public const int ScopeUniverse = 0, ScopeLink = 253, ScopeHost = 254;
        public const int FlagPermanent = 0x80, FlagTentative = NetIf.Tentative, FlagDadFailed = NetIf.DadFailed;

        /// Writes the address in network order (4 or 16 bytes); returns its length.
        public int Write(Span<byte> dst)
        {
            if (Family == 2) { Wire.Put32(dst, 0, V4); return 4; }
            for (int i = 0; i < 8; i++) { dst[i] = (byte)(V6Hi >> (56 - 8 * i)); dst[8 + i] = (byte)(V6Lo >> (56 - 8 * i)); }
            return 16;
        }
    }

    /// The one place that lists an interface's addresses: netlink's RTM_GETADDR dump and
    /// /proc/net/if_inet6 read them through here: the IPv4 address first, then the IPv6
    /// ones (::1 on the loopback; link-local, static and SLAAC ones on Ethernet).
    public static class IfAddrs
    {
        public static int Count(NetIf n) => (n.Addr != 0 ? 1 : 0) + n.Addr6Count;

        /// Address `i` (0 <= i < Count(n)) of `n`: IPv4 first.
        public static IfAddress Get(NetIf n, int i)
        {
            if (n.Addr != 0)
            {
                if (i == 0)
                    return new IfAddress
                    {
                        Family = 2, V4 = n.Addr, PrefixLen = n.PrefixLen,
                        Scope = n.Loopback ? IfAddress.ScopeHost : IfAddress.ScopeUniverse,
                        Flags = IfAddress.FlagPermanent,
                    };
                i--;
            }
            IpAddr a = n.Addr6[i];
            return new IfAddress
            {
                Family = 10, V6Hi = a.Hi, V6Lo = a.Lo, PrefixLen = n.Prefix6[i],
                Scope = a.IsLoopback ? IfAddress.ScopeHost : a.IsLinkLocal ? IfAddress.ScopeLink : IfAddress.ScopeUniverse,
                // SLAAC addresses are dynamic (they come and go with advertisements); the others permanent.
                // Duplicate address detection's IFA_F_TENTATIVE and IFA_F_DADFAILED as they stand.
                Flags = (n.Dynamic6(i) ? 0 : IfAddress.FlagPermanent) | n.Flags6[i],
            };
        }
    }
}
