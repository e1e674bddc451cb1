using System;

namespace Kernel.Net
{
    /// A DHCPv4 client (RFC 2131, options RFC 2132) for one interface: DISCOVER, OFFER,
    /// REQUEST, ACK; renews at T1 by asking again. Retries back off from 1 to 8 seconds.
    public sealed partial class NetStack
    {
        enum DhcpState { Off, Selecting, Requesting, Bound }
        DhcpState _dhcp;
        NetIf _dhcpIf;
        uint _dhcpXid, _dhcpOffer, _dhcpServer;
        ulong _dhcpAt;          // next send or renewal
        int _dhcpTries;
        public bool DhcpBound => _dhcp == DhcpState.Bound;
        public uint LeaseSeconds;

        public void StartDhcp(NetIf nif)
        {
            _dhcpIf = nif; _dhcp = DhcpState.Selecting; _dhcpTries = 0;
            _dhcpXid = Random();
            DhcpSend(1);
            Pump();
        }

        void DhcpSend(int type)
        {
            NetIf nif = _dhcpIf;
            Span<byte> u = Tx.AsSpan(Payload, 8 + 300);
            u.Clear();
            Span<byte> m = u.Slice(8);
            m[0] = 1; m[1] = 1; m[2] = 6;
            Wire.Put32(m, 4, _dhcpXid);
            Wire.Put16(m, 10, 0x8000);                   // answer by broadcast: we have no address yet
            if (_dhcp == DhcpState.Bound) Wire.Put32(m, 12, nif.Addr);
            nif.Mac.AsSpan(0, 6).CopyTo(m.Slice(28));
            m[236] = 99; m[237] = 130; m[238] = 83; m[239] = 99;
            int o = 240;
            m[o++] = 53; m[o++] = 1; m[o++] = (byte)type;
            if (type == 3 && _dhcp == DhcpState.Requesting)
            {
                m[o++] = 50; m[o++] = 4; Wire.Put32(m, o, _dhcpOffer); o += 4;
                m[o++] = 54; m[o++] = 4; Wire.Put32(m, o, _dhcpServer); o += 4;
            }
            m[o++] = 55; m[o++] = 4; m[o++] = 1; m[o++] = 3; m[o++] = 6; m[o++] = 51;
            m[o++] = 255;
            uint src = _dhcp == DhcpState.Bound ? nif.Addr : 0;
            Wire.Put16(u, 0, 68); Wire.Put16(u, 2, 67); Wire.Put16(u, 4, u.Length);
            Wire.Put16(u, 6, Wire.PartialChecksum(Wire.PseudoSum(src, 0xffffffff, ProtoUdp, u.Length)));
            IpOutput(IpAddr.V4(src), IpAddr.V4(0xffffffff), ProtoUdp, u.Length, 0, 64, false);
            int wait = 1000 << (_dhcpTries < 3 ? _dhcpTries : 3);
            _dhcpTries++;
            _dhcpAt = Now + (ulong)wait;
        }

        /// A datagram to port 68; true when it was the client's.
        bool DhcpInput(NetIf nif, ReadOnlySpan<byte> m)
        {
            if (_dhcp == DhcpState.Off || nif != _dhcpIf) return false;
            if (m.Length < 240 || m[0] != 2 || Wire.U32(m, 4) != _dhcpXid || m[236] != 99 || m[237] != 130 || m[238] != 83 || m[239] != 99) return true;
            for (int i = 0; i < 6; i++) if (m[28 + i] != nif.Mac[i]) return true;
            int type = 0; uint mask = 0, router = 0, server = 0, lease = 3600;
            Span<uint> dns = stackalloc uint[3]; int dnsCount = 0;
            for (int o = 240; o < m.Length;)
            {
                int code = m[o];
                if (code == 255) break;
                if (code == 0) { o++; continue; }
                if (o + 1 >= m.Length) break;
                int len = m[o + 1];
                if (o + 2 + len > m.Length) break;
                ReadOnlySpan<byte> v = m.Slice(o + 2, len);
                if (code == 53 && len >= 1) type = v[0];
                else if (code == 1 && len >= 4) mask = Wire.U32(v, 0);
                else if (code == 3 && len >= 4) router = Wire.U32(v, 0);
                else if (code == 6) for (int k = 0; k + 4 <= len && dnsCount < dns.Length; k += 4) dns[dnsCount++] = Wire.U32(v, k);
                else if (code == 54 && len >= 4) server = Wire.U32(v, 0);
                else if (code == 51 && len >= 4) lease = Wire.U32(v, 0);
                o += 2 + len;
            }
            uint yiaddr = Wire.U32(m, 16);
            if (type == 2 && _dhcp == DhcpState.Selecting && yiaddr != 0)
            {
                _dhcpOffer = yiaddr; _dhcpServer = server;
                _dhcp = DhcpState.Requesting; _dhcpTries = 0;
                DhcpSend(3);
            }
            else if (type == 5 && (_dhcp == DhcpState.Requesting || _dhcp == DhcpState.Bound) && yiaddr != 0)
            {
                nif.Addr = yiaddr;
                nif.Mask = mask != 0 ? mask : 0xffffff00;
                if (router != 0) nif.Gateway = router;
                if (dnsCount > 0) SetDns(dns.Slice(0, dnsCount));
                LeaseSeconds = lease;
                _dhcp = DhcpState.Bound; _dhcpTries = 0;
                _dhcpAt = lease == 0xffffffff ? 0 : Now + (ulong)lease * 500;      // renew at T1 (half the lease)
                Notify(null);
            }
            else if (type == 6 && _dhcp != DhcpState.Bound)
            {
                _dhcp = DhcpState.Selecting; _dhcpTries = 0; _dhcpXid = Random();
                DhcpSend(1);
            }
            return true;
        }

        void DhcpTick()
        {
            if (_dhcp == DhcpState.Off || _dhcpAt == 0 || _dhcpAt > Now) return;
            if (_dhcp == DhcpState.Selecting) DhcpSend(1);
            else if (_dhcp == DhcpState.Requesting) { if (_dhcpTries > 4) { _dhcp = DhcpState.Selecting; _dhcpTries = 0; DhcpSend(1); } else DhcpSend(3); }
            else if (_dhcp == DhcpState.Bound) { _dhcpXid = Random(); DhcpSend(3); _dhcpAt = Now + (ulong)LeaseSeconds * 250; }
        }

        ulong DhcpNextTimer() => _dhcp == DhcpState.Off ? 0 : _dhcpAt;
    }
}
