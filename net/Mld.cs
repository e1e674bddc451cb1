using System;

namespace Kernel.Net
{
    /// Multicast Listener Discovery, version 2 (RFC 3810) as a host: the groups an
    /// interface joined (the solicited-node groups of its addresses, and those sockets join
    /// with IPV6_ADD_MEMBERSHIP), each counted by its joins. Joining or leaving sends a
    /// state-change report at once (CHANGE_TO_EXCLUDE {} or CHANGE_TO_INCLUDE {}) and once
    /// more within the unsolicited report interval (robustness 2); a query is answered with
    /// the current state (MODE_IS_EXCLUDE {}) after a random delay within its maximum
    /// response time. After an MLDv1 query (RFC 2710) the interface speaks MLDv1 for the
    /// Older Version Querier Present Timeout (RFC 3810 8.2): reports to the group, done to
    /// ff02::2. ff02::1 and interface-local groups are never reported (RFC 3810 6). Sources
    /// are not filtered (no MCAST_JOIN_SOURCE_GROUP): every join excludes none.
    public sealed partial class NetStack
    {
        public const int MldQueryType = 130, Mld1ReportType = 131, Mld1DoneType = 132, Mld2ReportType = 143;
        public const int ModeIsExclude = 2, ChangeToInclude = 3, ChangeToExclude = 4;
        const ulong UnsolicitedReportMs = 1000;
        const int MldRobustness = 2;
        const ulong OlderQuerierMs = MldRobustness * 125000UL + 10000;     // RV * query interval + response interval
        /// ff02::16, where MLDv2 reports go.
        public static IpAddr AllMldRouters => new IpAddr(0xff02000000000000UL, 0x16);
        public ulong MldReports, MldQueries;

        static bool Reportable(IpAddr g) => g != IpAddr.AllNodes && (g.Hi >> 48 & 15) > 1;

        /// The interface a join of `group` names: `ifIndex`, or for 0 the one multicast
        /// leaves by. Null when there is none (ENODEV).
        public NetIf GroupIf6(int ifIndex, IpAddr group)
        {
            if (ifIndex != 0) return FindIf(ifIndex);
            return Route6(group, 0, out _);
        }

        /// Joins `group` on `nif` once more; the first join reports it. 0 or ENOBUFS.
        public int JoinGroup6(NetIf nif, IpAddr group)
        {
            int free = -1;
            for (int i = 0; i < nif.Groups6Count; i++)
            {
                if (nif.Groups6[i] != group) continue;
                if (nif.GroupRefs6[i]++ == 0) StateChange(nif, i);       // rejoined while its leave was being reported
                return 0;
            }
            if (nif.Groups6Count == NetIf.MaxGroups6)
            {
                // A slot whose leave is still being reported gives way.
                for (int i = 0; i < nif.Groups6Count; i++) if (nif.GroupRefs6[i] == 0) { free = i; break; }
                if (free < 0) return 105;                                  // ENOBUFS
            }
            else free = nif.Groups6Count++;
            nif.Groups6[free] = group; nif.GroupRefs6[free] = 1; nif.GroupAnswerAt6[free] = 0;
            StateChange(nif, free);
            return 0;
        }

        /// Drops one join of `group` on `nif`; the last one reports the leave.
        public void LeaveGroup6(NetIf nif, IpAddr group)
        {
            for (int i = 0; i < nif.Groups6Count; i++)
            {
                if (nif.Groups6[i] != group || nif.GroupRefs6[i] == 0) continue;
                if (--nif.GroupRefs6[i] == 0) { nif.GroupAnswerAt6[i] = 0; StateChange(nif, i); }
                return;
            }
        }

        /// A join or leave of group `i`: report it now and once more later (or forget it).
        void StateChange(NetIf nif, int i)
        {
            IpAddr g = nif.Groups6[i];
            if (nif.Loopback || nif.Link == null || !Reportable(g))
            {
                nif.GroupChangeLeft6[i] = 0;
                if (nif.GroupRefs6[i] == 0) RemoveGroup(nif, i);
                return;
            }
            SendGroupChange(nif, i);
            nif.GroupChangeLeft6[i] = MldRobustness - 1;
            nif.GroupChangeAt6[i] = Now + 1 + Random() % UnsolicitedReportMs;
        }

        void SendGroupChange(NetIf nif, int i)
        {
            bool join = nif.GroupRefs6[i] > 0;
            IpAddr g = nif.Groups6[i];
            if (nif.Mld1Until > Now) SendMld1(nif, join ? Mld1ReportType : Mld1DoneType, g);
            else
            {
                Span<IpAddr> one = stackalloc IpAddr[1];
                one[0] = g;
                SendMld2Report(nif, join ? ChangeToExclude : ChangeToInclude, one);
            }
        }

        void RemoveGroup(NetIf nif, int i)
        {
            int last = --nif.Groups6Count;
            nif.Groups6[i] = nif.Groups6[last]; nif.GroupRefs6[i] = nif.GroupRefs6[last];
            nif.GroupChangeLeft6[i] = nif.GroupChangeLeft6[last]; nif.GroupChangeAt6[i] = nif.GroupChangeAt6[last];
            nif.GroupAnswerAt6[i] = nif.GroupAnswerAt6[last];
            nif.Groups6[last] = default; nif.GroupRefs6[last] = 0;
        }

        /// A query (RFC 3810 5.1, RFC 2710 3.6): from a link-local source with hop limit 1;
        /// a general one (group ::) is answered for every group, a group-specific one for
        /// that group if we are in it, each after a random delay up to the maximum response time.
        void MldQueryInput(NetIf nif, IpAddr src, ReadOnlySpan<byte> m, int hops)
        {
            if (!ParseMldQuery(m, out IpAddr group, out ulong maxMs, out bool v1) || !src.IsLinkLocal || hops != 1) { Drops++; return; }
            MldQueries++;
            if (v1) nif.Mld1Until = Now + OlderQuerierMs;
            ulong at = Now + (maxMs == 0 ? 0 : Random() % maxMs);
            if (group.IsV6Any)
            {
                if (nif.MldAnswerAt == 0 || nif.MldAnswerAt > at) nif.MldAnswerAt = at;
            }
            else
            {
                for (int i = 0; i < nif.Groups6Count; i++)
                    if (nif.Groups6[i] == group && nif.GroupRefs6[i] > 0 && (nif.GroupAnswerAt6[i] == 0 || nif.GroupAnswerAt6[i] > at)) nif.GroupAnswerAt6[i] = at;
            }
            MldTick();
        }

        /// An MLD query's group (:: for a general query) and maximum response delay in
        /// ms; `v1` for MLDv1's 24-byte form. False when it is no valid query.
        public static bool ParseMldQuery(ReadOnlySpan<byte> m, out IpAddr group, out ulong maxMs, out bool v1)
        {
            group = default; maxMs = 0; v1 = false;
            if (m.Length < 24 || m[0] != MldQueryType) return false;
            group = IpAddr.Read(m, 8);
            if (!group.IsV6Any && !group.IsMulticast) return false;
            int code = Wire.U16(m, 4);
            if (m.Length == 24) { v1 = true; maxMs = (ulong)code; return true; }
            if (m.Length < 28) return false;
            // RFC 3810 5.1.3: below 32768 in ms, else a mantissa and an exponent.
            maxMs = code < 32768 ? (ulong)code : (ulong)((code & 0xfff) | 0x1000) << (((code >> 12) & 7) + 3);
            return true;
        }

        void MldTick()
        {
            Span<IpAddr> one = stackalloc IpAddr[1];
            for (int k = 0; k < IfCount; k++)
            {
                NetIf nif = Ifs[k];
                if (nif.MldAnswerAt != 0 && nif.MldAnswerAt <= Now)
                {
                    nif.MldAnswerAt = 0;
                    AnswerGeneralQuery(nif);
                }
                for (int i = 0; i < nif.Groups6Count; i++)
                {
                    if (nif.GroupAnswerAt6[i] != 0 && nif.GroupAnswerAt6[i] <= Now)
                    {
                        nif.GroupAnswerAt6[i] = 0;
                        if (nif.GroupRefs6[i] > 0 && Reportable(nif.Groups6[i]))
                        {
                            if (nif.Mld1Until > Now) SendMld1(nif, Mld1ReportType, nif.Groups6[i]);
                            else { one[0] = nif.Groups6[i]; SendMld2Report(nif, ModeIsExclude, one); }
                        }
                    }
                    if (nif.GroupChangeLeft6[i] > 0 && nif.GroupChangeAt6[i] <= Now)
                    {
                        nif.GroupChangeLeft6[i]--;
                        SendGroupChange(nif, i);
                        nif.GroupChangeAt6[i] = Now + 1 + Random() % UnsolicitedReportMs;
                    }
                    if (nif.GroupRefs6[i] == 0 && nif.GroupChangeLeft6[i] == 0) { RemoveGroup(nif, i); i--; }
                }
            }
        }

        void AnswerGeneralQuery(NetIf nif)
        {
            Span<IpAddr> groups = stackalloc IpAddr[NetIf.MaxGroups6];
            int n = 0;
            for (int i = 0; i < nif.Groups6Count; i++)
                if (nif.GroupRefs6[i] > 0 && Reportable(nif.Groups6[i])) groups[n++] = nif.Groups6[i];
            if (n == 0) return;
            if (nif.Mld1Until > Now) { for (int i = 0; i < n; i++) SendMld1(nif, Mld1ReportType, groups[i]); return; }
            SendMld2Report(nif, ModeIsExclude, groups.Slice(0, n));
        }

        ulong MldNextTimer()
        {
            ulong t = 0;
            for (int k = 0; k < IfCount; k++)
            {
                NetIf nif = Ifs[k];
                t = Earliest(t, nif.MldAnswerAt);
                for (int i = 0; i < nif.Groups6Count; i++)
                {
                    t = Earliest(t, nif.GroupAnswerAt6[i]);
                    if (nif.GroupChangeLeft6[i] > 0) t = Earliest(t, nif.GroupChangeAt6[i]);
                }
            }
            return t;
        }

        /// Hop-by-hop options carrying Router Alert (value 0: MLD) and a PadN, before the
        /// ICMPv6 message (RFC 3810 5, RFC 2711).
        const int HopByHopRa = 8;

        /// Builds an MLDv2 report (RFC 3810 5.2) as an IPv6 packet at `p`: the header
        /// (hop limit 1, to ff02::16), hop-by-hop Router Alert, the ICMPv6 message with one
        /// record of type `recordType` and no sources per group. Returns its length.
        public static int BuildMld2Report(Span<byte> p, IpAddr src, int recordType, ReadOnlySpan<IpAddr> groups)
        {
            int len = 8 + 20 * groups.Length;
            WriteIp6Header(p, src, AllMldRouters, 0, HopByHopRa + len, 0, 1);
            Span<byte> h = p.Slice(Ip6Header, HopByHopRa);
            h[0] = ProtoIcmp6; h[1] = 0; h[2] = 5; h[3] = 2; h[4] = 0; h[5] = 0; h[6] = 1; h[7] = 0;
            Span<byte> m = p.Slice(Ip6Header + HopByHopRa, len);
            m.Clear();
            m[0] = Mld2ReportType;
            Wire.Put16(m, 6, groups.Length);
            for (int i = 0; i < groups.Length; i++)
            {
                Span<byte> r = m.Slice(8 + 20 * i, 20);
                r[0] = (byte)recordType;
                groups[i].Write(r, 4);
            }
            Wire.Put16(m, 2, Wire.Fold(Wire.Sum(m, Wire.PseudoSum(src, AllMldRouters, ProtoIcmp6, len))));
            return Ip6Header + HopByHopRa + len;
        }

        /// Builds an MLDv1 report or done (RFC 2710 3): a report goes to the group, a done to ff02::2.
        public static int BuildMld1(Span<byte> p, IpAddr src, int type, IpAddr group)
        {
            IpAddr dst = type == Mld1DoneType ? IpAddr.AllRouters : group;
            WriteIp6Header(p, src, dst, 0, HopByHopRa + 24, 0, 1);
            Span<byte> h = p.Slice(Ip6Header, HopByHopRa);
            h[0] = ProtoIcmp6; h[1] = 0; h[2] = 5; h[3] = 2; h[4] = 0; h[5] = 0; h[6] = 1; h[7] = 0;
            Span<byte> m = p.Slice(Ip6Header + HopByHopRa, 24);
            m.Clear();
            m[0] = (byte)type;
            group.Write(m, 8);
            Wire.Put16(m, 2, Wire.Fold(Wire.Sum(m, Wire.PseudoSum(src, dst, ProtoIcmp6, 24))));
            return Ip6Header + HopByHopRa + 24;
        }

        /// MLD's source: the link-local address, or :: while it is tentative (RFC 3810 5.2.13).
        void SendMld2Report(NetIf nif, int recordType, ReadOnlySpan<IpAddr> groups)
        {
            Span<byte> f = stackalloc byte[EthHeader + Ip6Header + HopByHopRa + 8 + 20 * NetIf.MaxGroups6];
            int n = BuildMld2Report(f.Slice(EthHeader), LinkLocal(nif), recordType, groups);
            MldReports++;
            MulticastSend(nif, f.Slice(0, EthHeader + n), AllMldRouters);
        }

        void SendMld1(NetIf nif, int type, IpAddr group)
        {
            Span<byte> f = stackalloc byte[EthHeader + Ip6Header + HopByHopRa + 24];
            BuildMld1(f.Slice(EthHeader), LinkLocal(nif), type, group);
            MldReports++;
            MulticastSend(nif, f, type == Mld1DoneType ? IpAddr.AllRouters : group);
        }

        /// Sends an IPv6 frame (packet at 14) to a multicast group's MAC, 33:33 and its last 32 bits.
        void MulticastSend(NetIf nif, Span<byte> f, IpAddr group)
        {
            f[0] = 0x33; f[1] = 0x33; for (int k = 0; k < 4; k++) f[2 + k] = (byte)(group.Lo >> (24 - 8 * k));
            nif.Mac.AsSpan(0, 6).CopyTo(f.Slice(6)); Wire.Put16(f, 12, 0x86dd);
            LinkSend(nif, f);
        }
    }
}
