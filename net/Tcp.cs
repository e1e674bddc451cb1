using System;

namespace Kernel.Net
{
    /// TCP states, numbered as Linux numbers them (/proc/net/tcp, TCP_INFO).
    public enum TcpState
    {
        Closed = 7, Listen = 10, SynSent = 2, SynReceived = 3, Established = 1, FinWait1 = 4, FinWait2 = 5,
        CloseWait = 8, Closing = 11, LastAck = 9, TimeWait = 6,
    }

    /// One TCP connection or listener (RFC 9293): the state machine, a send ring (bytes from
    /// SND.UNA on) and a receive ring (unread bytes, then out-of-order data placed where it
    /// belongs), RFC 6298 retransmission timing, NewReno congestion control (RFC 5681,
    /// 6582), window scaling, timestamps and PAWS (RFC 7323), SACK (RFC 2018) with loss
    /// recovery from the scoreboard (RFC 6675), delayed ACKs, Nagle and cork,
    /// keepalive, zero-window probes, TIME_WAIT, and RST/SYN/ACK validation (RFC 5961).
    public sealed class TcpConnection
    {
        public const int FlagFin = 1, FlagSyn = 2, FlagRst = 4, FlagPsh = 8, FlagAck = 16, FlagUrg = 32;
        public const int DefaultBuf = 65536;
        const int InitialRtoMs = 1000, MinRtoMs = 200, MaxRtoMs = 120000;
        const int MaxRetries = 15, MaxSynRetries = 6, MaxSynAckRetries = 5;
        const int DelayedAckMs = 40, TimeWaitMs = 60000, FinWait2Ms = 60000;
        const int MaxOoo = 8;

        internal readonly NetStack Stack;
        public TcpState State = TcpState.Closed;
        public IpAddr LocalAddr, RemoteAddr;
        public int LocalPort, RemotePort;
        public bool Bound, ReuseAddr, ReusePort;
        /// IPV6_V6ONLY (a listener on :: takes no IPv4 connections); the interface of a
        /// link-local peer (its scope id, 0 for none).
        public bool V6Only;
        public int IfIndex;

        // Options the socket layer sets.
        public bool NoDelay, Cork, KeepAlive;
        public int KeepIdleS = 7200, KeepIntvlS = 75, KeepCnt = 9;
        public int SndBufSize = DefaultBuf, RcvBufSize = DefaultBuf;
        /// IP_TOS and IP_TTL for IPv4, IPV6_TCLASS and IPV6_UNICAST_HOPS for IPv6.
        public int Tos, Ttl = 64, Tclass6, Hops6 = 64;
        int OutTos => RemoteAddr.IsV4 ? Tos : Tclass6;
        int OutTtl => RemoteAddr.IsV4 ? Ttl : Hops6;
        public int UserMss;                      // TCP_MAXSEG (0: from the route)
        public int LingerS = -1;                 // SO_LINGER: -1 off
        public bool OobInline;                   // SO_OOBINLINE: the urgent byte stays in the stream

        // Send side.
        public uint Iss, SndUna, SndNxt, SndMax, SndWnd, SndWl1, SndWl2, MaxSndWnd;
        byte[] _snd; int _sndStart, _sndLen;     // ring: _sndLen bytes from SND.UNA (the SYN excepted)
        bool _finQueued;
        public int SndScale, RcvScale;           // shifts for the peer's windows and for ours
        public int Mss = 536, PeerMss = 536;

        // Receive side.
        public uint Irs, RcvNxt;
        byte[] _rcv; int _rcvStart, _rcvLen;     // ring: _rcvLen unread bytes from _rcvStart
        readonly uint[] _oooStart = new uint[MaxOoo], _oooEnd = new uint[MaxOoo];
        int _oooCount;
        uint _rcvAdvertised;                     // the right edge we last advertised (RcvNxt + window)
        public bool FinReceived;

        // Urgent data (RFC 6093's compatible reading, as Linux's with tcp_stdurg 0): the
        // sender's urgent pointer names the byte after the urgent data, and the receiver
        // takes that last byte out of band. Send side: SND.UP and whether urgent mode is
        // on (until SND.UNA passes SND.UP). Receive side: the sequence number of the
        // urgent byte and its state; the byte stays in the receive ring (a read skips it
        // unless OobInline).
        public uint SndUp;
        bool _urgMode;
        public const int UrgNone = 0, UrgNotYet = 1, UrgValid = 2, UrgRead = 3;
        public int UrgState;                      // UrgNotYet: the pointer came, the byte not yet
        public uint UrgSeq;
        public byte UrgByte;
        public ulong UrgentPointers;              // new urgent pointers taken (each one a SIGURG)

        // Timestamps (RFC 7323): TS.Recent and when it was set (PAWS trusts it for 24 days).
        public bool TsOk;
        uint _tsRecent;
        ulong _tsRecentAt;
        const ulong TsRecentValidMs = 24UL * 24 * 3600 * 1000;
        public ulong PawsDropped;

        // SACK (RFC 2018): offered and accepted unless SackEnabled is off (Linux's tcp_sack);
        // the scoreboard holds the peer's SACKed ranges above SND.UNA, sorted and merged.
        public bool SackEnabled = true, SackOk;
        bool _peerSack;
        const int MaxSacked = 8;
        readonly uint[] _sackStart = new uint[MaxSacked], _sackEnd = new uint[MaxSacked];
        int _sackCount;
        uint _highRxt;                            // RFC 6675 HighRxt: the end of the last hole retransmitted
        uint _oooLatest;                          // a sequence number of the latest out-of-order segment (its block goes first)
        public uint SackRetransmits;

        // Timing and congestion.
        public int Rto = InitialRtoMs, Srtt8, Rttvar4;
        int _backoff, _retries;
        bool _timing; uint _timedSeq; ulong _timedAt;
        public uint Cwnd, Ssthresh = 0x7fffffff;
        int _dupAcks;
        bool _inRecovery; uint _recover;
        public uint Retransmits, TotalRetransmits;

        // Timers (absolute milliseconds, 0 = off).
        ulong _rtxAt, _delAckAt, _persistAt, _keepAt, _closeAt;
        int _ackPending;                          // segments received since our last ACK
        int _keepProbes;
        ulong _lastRecv;

        // Errors and application state.
        public int Error;                         // pending asynchronous error, a NetErr
        public bool ReadShut, WriteShut, Orphan, WasReset, Connected;
        public bool ConnectRefused;

        // Listener.
        public int Backlog;
        internal TcpConnection Parent;
        TcpConnection _acceptHead, _acceptTail;
        internal TcpConnection AcceptNext;
        public int AcceptCount, SynCount;
        public int DeferAcceptS;

        // Tables.
        internal TcpConnection HashNext, AllPrev;
        public TcpConnection AllNext;
        internal bool InTable;

        internal TcpConnection(NetStack s) { Stack = s; }

        /// The socket that owns this connection (told about every change), or null.
        public object Owner;
        void Wake() => Stack.Notify(Owner ?? Parent?.Owner);

        public int Unread => _rcvLen;
        public int Unsent => _sndLen - (int)(SndNxt - SndUna) + (SndUna == Iss && State == TcpState.SynSent ? 1 : 0);
        public int SendQueued => _sndLen;
        public int SendSpace => (_snd != null ? _sndCap : SndBufSize) - _sndLen;
        public bool Synchronized => State != TcpState.Closed && State != TcpState.Listen && State != TcpState.SynSent && State != TcpState.SynReceived;

        // ---- application calls ----

        /// Starts an active open towards addr:port. 0 or a NetErr.
        public int Connect(IpAddr addr, int port)
        {
            if (State == TcpState.Listen) return NetErr.EINVAL;
            if (State != TcpState.Closed) return State == TcpState.SynSent ? NetErr.EALREADY : NetErr.EISCONN;
            if (addr.IsUnspecified) addr = addr.IsV4 ? IpAddr.Loopback4 : IpAddr.Loopback6;      // "any" means this host
            if (!LocalAddr.IsUnspecified && LocalAddr.IsV4 != addr.IsV4) return NetErr.ENETUNREACH;
            IpAddr src = !LocalAddr.IsUnspecified ? LocalAddr : Stack.SourceFor(addr, IfIndex);
            if (src.IsUnspecified) return Stack.NoSourceError(addr, IfIndex);
            NetIf nif = Stack.Route(addr, IfIndex);
            if (!Bound)
            {
                int e = Stack.BindTcpEphemeral(this, src, addr, port);
                if (e != 0) return e;
            }
            else if (Stack.FindConnection(src, LocalPort, addr, port) != null) return NetErr.EADDRINUSE;
            LocalAddr = src; RemoteAddr = addr; RemotePort = port;
            SetupMss(nif);
            Iss = Stack.NewIss(); SndUna = Iss; SndNxt = Iss; SndMax = Iss;
            RcvScale = ScaleFor(RcvBufSize);
            State = TcpState.SynSent;
            Error = 0;
            _synSentAt = Stack.Now;
            Stack.TcpInsert(this);
            SendSyn();
            Stack.Pump();
            return 0;
        }

        /// MSS from the route's MTU: less 40 bytes of headers over IPv4, 60 over IPv6.
        void SetupMss(NetIf nif)
        {
            int mtu = nif != null ? nif.Mtu : 1500;
            if (RemoteAddr.IsV4) Mss = mtu - 40;
            else Mss = (nif != null && !nif.Loopback ? Stack.PathMtu6(nif, RemoteAddr) : mtu) - 60;
            if (UserMss > 0 && UserMss < Mss) Mss = UserMss;
        }

        static int ScaleFor(int buf) { int s = 0; while (s < 14 && (buf >> s) > 65535) s++; return s; }

        public int Listen(int backlog)
        {
            if (State != TcpState.Closed && State != TcpState.Listen) return NetErr.EINVAL;
            if (!Bound) { int e = Stack.BindTcp(this, IpAddr.V4Any, 0); if (e != 0) return e; }
            if (backlog < 0) backlog = 0;
            if (backlog > 4096) backlog = 4096;
            Backlog = backlog;
            if (State != TcpState.Listen) { State = TcpState.Listen; Stack.ListenerAdd(this); }
            return 0;
        }

        /// The next established connection from the accept queue, or null.
        public TcpConnection Accept()
        {
            TcpConnection c = _acceptHead;
            if (c == null) return null;
            _acceptHead = c.AcceptNext;
            if (_acceptHead == null) _acceptTail = null;
            c.AcceptNext = null; c.Parent = null;
            AcceptCount--;
            return c;
        }

        public bool AcceptReady => _acceptHead != null;

        /// Queues bytes to send; how many were taken (0: no room now), or -NetErr. With
        /// `hold` nothing is sent yet (send(MSG_OOB) marks the urgent pointer first).
        public int Send(ReadOnlySpan<byte> data, bool hold = false)
        {
            if (Error != 0) { int e = Error; Error = 0; return -e; }
            if (WriteShut || State == TcpState.Closed && Connected) return -NetErr.EPIPE;
            if (State == TcpState.Listen || State == TcpState.Closed) return -NetErr.ENOTCONN;
            if (State != TcpState.Established && State != TcpState.CloseWait)
            {
                if (State == TcpState.SynSent || State == TcpState.SynReceived) return 0;     // wait for the handshake
                return -NetErr.EPIPE;
            }
            if (_snd == null) { _sndCap = SndBufSize; _snd = new byte[InitialBuf < _sndCap ? InitialBuf : _sndCap]; }
            int room = _sndCap - _sndLen;
            int n = data.Length < room ? data.Length : room;
            if (_sndLen + n > _snd.Length) _snd = Grow(_snd, ref _sndStart, _sndLen + n, _sndCap);
            int at = (_sndStart + _sndLen) % _snd.Length;
            int first = _snd.Length - at < n ? _snd.Length - at : n;
            data.Slice(0, first).CopyTo(_snd.AsSpan(at, first));
            data.Slice(first, n - first).CopyTo(_snd);
            _sndLen += n;
            if (hold) return n;
            Output();
            Stack.Pump();
            return n;
        }

        /// Copies unread bytes into `dst`: a count, 0 at end of stream, or -NetErr (EAGAIN: none yet).
        /// Never reads across the urgent mark: the bytes before it, then (the urgent byte
        /// skipped unless OobInline) those after it. At the mark with only the urgent byte
        /// left (not inline), a read takes it out of the stream and returns 0 with
        /// Unread 0 (the caller waits for more, as Linux's read loses the byte so).
        public int Receive(Span<byte> dst, bool peek)
        {
            if (_rcvLen == 0)
            {
                if (Error != 0) { int e = Error; Error = 0; return -e; }
                if (FinReceived || ReadShut || WasReset) return 0;
                if (State == TcpState.Closed || State == TcpState.Listen) return State == TcpState.Listen ? -NetErr.ENOTCONN : 0;
                if (State == TcpState.SynSent || State == TcpState.SynReceived) return -NetErr.EAGAIN;
                return -NetErr.EAGAIN;
            }
            int n = ReadableRun(out int skip);
            if (dst.Length < n) n = dst.Length;
            ReadOnlySpan<byte> a = UnreadRun(skip);
            int first = a.Length < n ? a.Length : n;
            a.Slice(0, first).CopyTo(dst);
            if (n > first) UnreadRun(skip + first).Slice(0, n - first).CopyTo(dst.Slice(first));
            if (!peek) Consume(skip + n);
            return n;
        }

        /// What a read may take now: `skip` (1 when the urgent byte at the mark leaves the
        /// stream, not inline) and then a count that stops before the next mark.
        public int ReadableRun(out int skip)
        {
            skip = AtMark && !OobInline ? 1 : 0;
            int n = _rcvLen - skip;
            if (UrgState != UrgNone)
            {
                int mark = (int)(UrgSeq - ReadSeq);
                if (mark > skip && mark < skip + n) n = mark - skip;       // stop before the mark
            }
            return n;
        }

        /// The unread bytes from `skip` on that lie together in the receive ring (the
        /// unread data is at most two such runs): a reader copies straight out of the ring
        /// (to the program) and then calls Consume for what it took.
        public ReadOnlySpan<byte> UnreadRun(int skip)
        {
            if ((uint)skip >= (uint)_rcvLen) return default;
            int at = _rcvStart + skip;
            if (at >= _rcv.Length) at -= _rcv.Length;
            int end = _rcvStart + _rcvLen;
            int len = end <= _rcv.Length || at < _rcvStart ? _rcvLen - skip : _rcv.Length - at;
            return new ReadOnlySpan<byte>(_rcv, at, len);
        }

        /// Drops the first `n` unread bytes (a reader took them); may send a window update.
        public void Consume(int n)
        {
            if (n <= 0) return;
            if (n > _rcvLen) n = _rcvLen;
            _rcvStart += n; if (_rcvStart >= _rcv.Length) _rcvStart -= _rcv.Length;
            _rcvLen -= n;
            if (UrgState != UrgNone && Wire.Gt(ReadSeq, UrgSeq)) UrgState = UrgNone;      // read past the mark
            // A window update only when this read freed a lot: the window the peer knows has
            // fallen to at most half the buffer and the one we can offer is at least twice it
            // (as Linux decides after a read), and it opens by two segments or half the
            // buffer (RFC 9293 3.8.6.2.2). A reader that keeps up sends none: the ACKs for
            // the data carry the window. Without it every read of a bulk stream cost an ACK.
            if (!Synchronized) return;
            int known = (int)(_rcvAdvertised - RcvNxt), now = Window();
            if (known < 0) known = 0;
            if (2 * known > _rcvCap || now < 2 * known) return;
            uint right = RcvNxt + (uint)now;
            if ((int)(right - _rcvAdvertised) >= Math.Min(2 * Mss, _rcvCap / 2)) { SendAck(); Stack.Pump(); }
        }

        /// The sequence number of the first unread byte (Linux's copied_seq).
        uint ReadSeq => RcvNxt - (uint)_rcvLen - (FinReceived ? 1u : 0u);

        /// SIOCATMARK: the next byte to read is the urgent mark (also when the urgent
        /// pointer came but not the byte yet).
        public bool AtMark => UrgState != UrgNone && UrgSeq == ReadSeq;

        /// FIONREAD/SIOCINQ (Linux's tcp_inq): the unread bytes, but only those before the
        /// urgent mark while an urgent byte not inline waits in them.
        public int InQueue
        {
            get
            {
                if (State == TcpState.SynSent || State == TcpState.SynReceived) return 0;
                if (OobInline || UrgState == UrgNone || Wire.Lt(UrgSeq, ReadSeq) || !Wire.Lt(UrgSeq, RcvNxt)) return _rcvLen;
                return (int)(UrgSeq - ReadSeq);
            }
        }

        /// Bytes a read can return now: the unread ones, less the urgent byte a read at
        /// the mark skips.
        public int ReadableNow => _rcvLen - (AtMark && !OobInline ? 1 : 0);

        /// send(MSG_OOB) once its data is queued: the urgent pointer goes after the last
        /// byte queued, and segments carry it until it is acknowledged (Nagle and cork do
        /// not hold urgent data). Nothing queued since SND.UNA: nothing to point at.
        public void MarkUrgent()
        {
            if (_sndLen == 0) return;
            SndUp = SndUna + (uint)_sndLen;
            _urgMode = true;
        }

        /// Urgent mode (Linux's tcp_urg_mode): SND.UP is ahead of SND.UNA.
        public bool UrgentMode => _urgMode && Wire.Gt(SndUp, SndUna);

        /// An urgent pointer arrived on segment `seq` (the field's value `up`): a new mark
        /// unless it is old or already known; the previous urgent byte, when it was the
        /// next to read and more data follows, leaves the stream (as Linux's). The owner
        /// is told (SIGURG) even before the byte itself arrives.
        void UrgentPointer(uint seq, int up)
        {
            uint ptr = seq + (uint)up - (up != 0 ? 1u : 0u);
            if (Wire.Gt(ReadSeq, ptr)) return;                   // read already
            if (Wire.Lt(ptr, RcvNxt)) return;                     // data we already hold: never replayed
            if (UrgState != UrgNone && !Wire.Gt(ptr, UrgSeq)) return;   // known, or an older one
            UrgentPointers++;
            Stack.Urgent(Owner);
            if (UrgState != UrgNone && AtMark && !OobInline && _rcvLen > 0)
            {
                _rcvStart = (_rcvStart + 1) % _rcv.Length; _rcvLen--;
            }
            UrgState = UrgNotYet;
            UrgSeq = ptr;
        }

        /// Takes the urgent byte when segment `seq`'s data holds it.
        void UrgentByte(uint seq, ReadOnlySpan<byte> data)
        {
            uint off = UrgSeq - seq;
            if (off >= (uint)data.Length) return;
            UrgByte = data[(int)off];
            UrgState = UrgValid;
            Wake();
        }

        /// shutdown(2): stops reading and/or queues a FIN after the data.
        public void Shutdown(bool read, bool write)
        {
            if (read) ReadShut = true;
            if (write && !WriteShut)
            {
                WriteShut = true;
                if (State == TcpState.Established) { State = TcpState.FinWait1; _finQueued = true; Output(); }
                else if (State == TcpState.CloseWait) { State = TcpState.LastAck; _finQueued = true; Output(); }
                else if (State == TcpState.SynSent) Drop(0);
                else if (State == TcpState.SynReceived) { State = TcpState.FinWait1; _finQueued = true; Output(); }
            }
            Wake();
            Stack.Pump();
        }

        /// close(2): the socket goes away; the connection finishes on its own (or is reset
        /// when unread data is left or SO_LINGER is 0, as Linux does).
        public void Close()
        {
            Orphan = true;
            if (State == TcpState.Listen)
            {
                Stack.ListenerRemove(this);
                for (TcpConnection c; (c = Accept()) != null;) c.Abort();
                Stack.AbortChildren(this);
                State = TcpState.Closed;
                Stack.UnbindTcp(this);
                return;
            }
            if (State == TcpState.Closed || State == TcpState.SynSent) { Drop(0); Stack.UnbindTcp(this); return; }
            if (_rcvLen > 0 || LingerS == 0) { Abort(); return; }
            ReadShut = true;
            Shutdown(false, true);
            if (State == TcpState.FinWait2) _closeAt = Stack.Now + FinWait2Ms;
        }

        /// Sends a RST and drops the connection.
        public void Abort()
        {
            if (State == TcpState.SynReceived || Synchronized && State != TcpState.TimeWait)
                SendControl(SndMax, RcvNxt, FlagRst | FlagAck);
            Drop(0);
            Stack.UnbindTcp(this);
            Stack.Pump();
        }

        /// SO_KEEPALIVE (and TCP_KEEPIDLE while on): probes start after KeepIdleS of silence.
        public void SetKeepAlive(bool on)
        {
            KeepAlive = on;
            _keepAt = on && Synchronized && State != TcpState.TimeWait ? Stack.Now + (ulong)KeepIdleS * 1000 : 0;
            _keepProbes = 0;
        }

        /// Readiness for poll: readable (data, EOF, error, a connection to accept).
        public bool CanRead => _rcvLen > 0 || FinReceived || Error != 0 || ReadShut || AcceptReady || WasReset || (State == TcpState.Closed && Connected);
        public bool CanWrite => (State == TcpState.Established || State == TcpState.CloseWait) && !WriteShut && SendSpace > 0;
        /// The receive direction is shut (a FIN came or shutdown(SHUT_RD)): POLLRDHUP.
        public bool RcvShutdown => FinReceived || ReadShut;
        /// POLLHUP as Linux's tcp_poll gives it: both directions shut, or CLOSED.
        public bool HangUp => WriteShut && RcvShutdown || State == TcpState.Closed;

        // ---- segments out ----

        int Window()
        {
            int size = _rcv != null ? _rcvCap : RcvBufSize;
            int w = size - _rcvLen;
            return w < 0 ? 0 : w;
        }

        int AdvertisedField(bool syn)
        {
            int w = Window();
            if (syn) return w > 65535 ? 65535 : w;
            w >>= RcvScale;
            return w > 65535 ? 65535 : w;
        }

        void SendSyn()
        {
            int flags = FlagSyn | (State == TcpState.SynReceived ? FlagAck : 0);
            SendSegment(Iss, flags, 0, 0, true);
            if (SndNxt == Iss) SndNxt = Iss + 1;
            if (Wire.Gt(SndNxt, SndMax)) SndMax = SndNxt;
            ArmRtx();
        }

        void SendAck() => SendSegment(SndNxt, FlagAck, 0, 0, false);

        // The rings start small and grow (doubling) up to the size SO_SNDBUF/SO_RCVBUF gave
        // when they were made (_sndCap, _rcvCap; the window is computed from the latter):
        // a short connection (a request and an answer) then allocates a few KiB instead of
        // the full buffers, and the collector runs that much less often.
        const int InitialBuf = 4096;
        int _sndCap, _rcvCap;

        void NewRcv() { _rcvCap = RcvBufSize; _rcv = new byte[InitialBuf < _rcvCap ? InitialBuf : _rcvCap]; }

        /// A ring of at least `need` bytes (at most `cap`) holding `ring`'s bytes from
        /// `start` on, now from 0: in-order and out-of-order data keep their offsets.
        static byte[] Grow(byte[] ring, ref int start, int need, int cap)
        {
            int size = ring.Length * 2;
            while (size < need) size *= 2;
            if (size > cap) size = cap;
            var r = new byte[size];
            ring.AsSpan(start, ring.Length - start).CopyTo(r);
            ring.AsSpan(0, start).CopyTo(r.AsSpan(ring.Length - start, start));
            start = 0;
            return r;
        }

        /// At the end of a batch (NetStack.FlushAcks): the ACK deferred in it, unless a
        /// segment sent since carried it.
        internal void SendDeferredAck()
        {
            if (AckDeferred && _ackPending > 0 && Synchronized) SendAck();
            AckDeferred = false;
        }
        internal bool AckDeferred;

        /// A bare control segment (RST, challenge ACK) with the given numbers.
        void SendControl(uint seq, uint ack, int flags)
        {
            Stack.TcpSendRaw(LocalAddr, LocalPort, RemoteAddr, RemotePort, seq, ack, flags, 0, OutTos, OutTtl, IfIndex);
        }

        /// Builds and sends one segment with `len` bytes from the send ring starting `off` bytes after SND.UNA.
        void SendSegment(uint seq, int flags, int off, int len, bool syn)
        {
            byte[] tx = Stack.Tx;
            int h = NetStack.Payload;
            int optLen = 0;
            Span<byte> opt = tx.AsSpan(h + 20, 40);
            if (syn)
            {
                opt[0] = 2; opt[1] = 4; Wire.Put16(opt, 2, Mss); optLen = 4;
                bool sendWs = State == TcpState.SynSent || _peerWs;
                if (sendWs) { opt[4] = 1; opt[5] = 3; opt[6] = 3; opt[7] = (byte)RcvScale; optLen = 8; }
                bool sendTs = State == TcpState.SynSent || TsOk;
                if (sendTs) { opt[optLen] = 1; opt[optLen + 1] = 1; opt[optLen + 2] = 8; opt[optLen + 3] = 10; Wire.Put32(opt, optLen + 4, TsNow()); Wire.Put32(opt, optLen + 8, _tsRecent); optLen += 12; }
                bool sendSack = SackEnabled && (State == TcpState.SynSent || _peerSack);
                if (sendSack) { opt[optLen] = 1; opt[optLen + 1] = 1; opt[optLen + 2] = 4; opt[optLen + 3] = 2; optLen += 4; }
            }
            else
            {
                if (TsOk) { opt[0] = 1; opt[1] = 1; opt[2] = 8; opt[3] = 10; Wire.Put32(opt, 4, TsNow()); Wire.Put32(opt, 8, _tsRecent); optLen = 12; }
                if (SackOk && _oooCount > 0 && (flags & FlagAck) != 0) optLen = PutSackBlocks(opt, optLen, len);
            }
            int hl = 20 + optLen;
            Span<byte> t = tx.AsSpan(h, hl + len);
            Wire.Put16(t, 0, LocalPort); Wire.Put16(t, 2, RemotePort);
            Wire.Put32(t, 4, seq);
            bool ack = (flags & FlagAck) != 0;
            Wire.Put32(t, 8, ack ? RcvNxt : 0);
            // In urgent mode every segment before SND.UP carries the pointer (relative to its
            // sequence number; 0xFFFF, "more to come", when SND.UP is farther than that).
            int urgPtr = 0;
            if (UrgentMode && Wire.Lt(seq, SndUp) && !syn)
            {
                if (Wire.Lt(SndUp, seq + 0x10000)) urgPtr = (int)(SndUp - seq);
                else if (Wire.Gt(seq + 0xFFFF, SndNxt)) urgPtr = 0xFFFF;
                if (urgPtr != 0) flags |= FlagUrg;
            }
            t[12] = (byte)(hl / 4 << 4); t[13] = (byte)flags;
            Wire.Put16(t, 14, AdvertisedField(syn));
            Wire.Put16(t, 16, 0); Wire.Put16(t, 18, urgPtr);
            if (len > 0)
            {
                int at = (_sndStart + off) % _snd.Length;
                int first = _snd.Length - at < len ? _snd.Length - at : len;
                _snd.AsSpan(at, first).CopyTo(t.Slice(hl));
                _snd.AsSpan(0, len - first).CopyTo(t.Slice(hl + first));
            }
            Wire.Put16(t, 16, Wire.PartialChecksum(Wire.PseudoSum(LocalAddr, RemoteAddr, NetStack.ProtoTcp, t.Length)));     // IpOutput finishes it
            if (ack)
            {
                _ackPending = 0; _delAckAt = 0;
                uint right = RcvNxt + (uint)(AdvertisedField(syn) << (syn ? 0 : RcvScale));
                if (Wire.Gt(right, _rcvAdvertised) || !Synchronized) _rcvAdvertised = right;
            }
            SegsOut++;
            Stack.IpOutput(LocalAddr, RemoteAddr, NetStack.ProtoTcp, t.Length, OutTos, OutTtl, true, IfIndex);
        }
        bool _peerWs;
        public ulong SegsOut, SegsIn;

        /// SACK blocks for the out-of-order data we hold (RFC 2018 4): the block with the
        /// latest segment first, as many as fit beside the other options and `dataLen` bytes
        /// within the MSS (at most 3 with timestamps, 4 without). The new options length.
        int PutSackBlocks(Span<byte> opt, int optLen, int dataLen)
        {
            int fit = (Mss - optLen - dataLen - 4) / 8, room = (40 - optLen - 4) / 8;
            int n = _oooCount < fit ? _oooCount : fit;
            if (n > room) n = room;
            if (n <= 0) return optLen;
            opt[optLen] = 1; opt[optLen + 1] = 1; opt[optLen + 2] = 5; opt[optLen + 3] = (byte)(2 + 8 * n);
            int at = optLen + 4, put = 0;
            int first = -1;
            for (int i = 0; i < _oooCount; i++) if (Wire.Le(_oooStart[i], _oooLatest) && Wire.Lt(_oooLatest, _oooEnd[i])) { first = i; break; }
            if (first >= 0) { Wire.Put32(opt, at, _oooStart[first]); Wire.Put32(opt, at + 4, _oooEnd[first]); at += 8; put++; }
            for (int i = 0; i < _oooCount && put < n; i++)
            {
                if (i == first) continue;
                Wire.Put32(opt, at, _oooStart[i]); Wire.Put32(opt, at + 4, _oooEnd[i]); at += 8; put++;
            }
            return at;
        }

        uint TsNow() => (uint)Stack.Now;

        void ArmRtx()
        {
            int rto = Rto << _backoff;
            if (rto > MaxRtoMs || rto <= 0) rto = MaxRtoMs;
            _rtxAt = Stack.Now + (ulong)rto;
        }

        int EffMss => TsOk ? Mss - 12 : Mss;

        // The link and mark of this connection's last data frame (autocorking).
        NetLink _txLink;
        ulong _txMark;
        internal bool OnCorked;
        internal TcpConnection NextCorked;

        /// Whether the last data frame has left the device's queue (or there is none).
        internal bool TxLeft => _txLink == null || _txLink.TxDone(_txMark);

        /// Autocorking's test: true to hold the small segment (the stack pushes it when the
        /// device gives the previous frame's buffer back).
        bool HoldForDevice()
        {
            if (TxLeft) return false;
            _txLink.WantTxDone();
            if (TxLeft) return false;                 // left while the notification was asked for
            Stack.Corked(this);
            Stack.AutocorkHolds++;
            return true;
        }

        /// Sends what the windows, Nagle and cork allow; a FIN after the data once queued.
        internal void Output()
        {
            if (State != TcpState.Established && State != TcpState.CloseWait && State != TcpState.FinWait1
                && State != TcpState.Closing && State != TcpState.LastAck) return;
            int mss = EffMss;
            while (true)
            {
                int sent = (int)(SndNxt - SndUna);
                int unsent = _sndLen - sent;
                if (unsent <= 0) break;
                uint wnd = SndWnd < Cwnd ? SndWnd : Cwnd;
                int room = (int)wnd - sent;
                if (room <= 0)
                {
                    if (SndWnd == 0 && sent == 0 && _persistAt == 0) _persistAt = Stack.Now + (ulong)Rto;
                    break;
                }
                int len = unsent < mss ? unsent : mss;
                if (len > room) len = room;
                if (len < mss)
                {
                    bool all = len == unsent, urgent = UrgentMode;
                    // Cork holds partial segments until the cork is pulled (or a FIN follows);
                    // Nagle holds them while data is unacknowledged (RFC 9293 3.7.4); in
                    // urgent mode neither does (as Linux's tcp_nagle_test).
                    if (Cork && !_finQueued && !urgent) break;
                    if (!all && len < (int)(MaxSndWnd / 2) && !urgent) break;              // sender-side SWS avoidance
                    if (!NoDelay && sent > 0 && !_finQueued && !urgent) break;
                    // Autocorking (with TCP_NODELAY too): while data is unacknowledged and
                    // our previous frame still waits in the device's queue, the small
                    // remainder waits for it to leave and goes out with what follows.
                    if (len == unsent && sent > 0 && !_finQueued && HoldForDevice()) break;
                }
                int flags = FlagAck | (len == unsent ? FlagPsh : 0);
                Stack.LastTxLink = null;
                SendSegment(SndNxt, flags, sent, len, false);
                _txLink = Stack.LastTxLink;
                if (_txLink != null) _txMark = _txLink.TxMark;
                if (!_timing && SndNxt == SndMax) { _timing = true; _timedSeq = SndNxt; _timedAt = Stack.Now; }
                SndNxt += (uint)len;
                if (Wire.Gt(SndNxt, SndMax)) SndMax = SndNxt;
                if (_rtxAt == 0) ArmRtx();
                _persistAt = 0;
            }
            if (_finQueued && SndNxt == SndUna + (uint)_sndLen)
            {
                SendSegment(SndNxt, FlagFin | FlagAck, 0, 0, false);
                SndNxt++;
                if (Wire.Gt(SndNxt, SndMax)) SndMax = SndNxt;
                if (_rtxAt == 0) ArmRtx();
            }
        }

        /// Whether our FIN is sent and FIN's sequence number, when one is queued.
        bool FinSent => _finQueued && SndNxt == SndUna + (uint)_sndLen + 1;
        uint FinSeq => SndUna + (uint)_sndLen;

        // ---- segments in ----

        internal void ListenInput(IpAddr src, IpAddr dst, TcpSegment s, int ifIndex)
        {
            if ((s.Flags & FlagRst) != 0) return;
            if ((s.Flags & FlagAck) != 0) { Stack.TcpSendRaw(dst, s.DstPort, src, s.SrcPort, s.Ack, 0, FlagRst, 0, 0, 64, ifIndex); return; }
            if ((s.Flags & FlagSyn) == 0) return;
            if (AcceptCount > Backlog || SynCount >= Math.Max(Backlog, 16) * 2 || SynCount >= 1024) { Stack.SynDropped++; return; }
            var c = new TcpConnection(Stack)
            {
                LocalAddr = dst, LocalPort = LocalPort, RemoteAddr = src, RemotePort = s.SrcPort, ReuseAddr = ReuseAddr,
                NoDelay = NoDelay, KeepAlive = KeepAlive, KeepIdleS = KeepIdleS, KeepIntvlS = KeepIntvlS, KeepCnt = KeepCnt,
                SndBufSize = SndBufSize, RcvBufSize = RcvBufSize, Tos = Tos, Ttl = Ttl, Tclass6 = Tclass6, Hops6 = Hops6, UserMss = UserMss, Parent = this,
                V6Only = V6Only, IfIndex = src.IsLinkLocal ? ifIndex : 0, SackEnabled = SackEnabled, OobInline = OobInline,
            };
            c.SetupMss(Stack.Route(src, c.IfIndex));
            c.Irs = s.Seq; c.RcvNxt = s.Seq + 1;
            c.ApplySynOptions(s);
            c.Iss = Stack.NewIss(); c.SndUna = c.Iss; c.SndNxt = c.Iss; c.SndMax = c.Iss;
            c.SndWnd = (uint)s.Window; c.SndWl1 = s.Seq; c.SndWl2 = 0;
            c.State = TcpState.SynReceived;
            SynCount++;
            Stack.TcpAdopt(c);
            Stack.TcpInsert(c);
            c._lastRecv = Stack.Now;
            c.SendSyn();
        }

        void ApplySynOptions(TcpSegment s)
        {
            if (s.Mss > 0) { PeerMss = s.Mss; if (PeerMss < Mss) Mss = PeerMss; if (Mss < 64) Mss = 64; }
            else { PeerMss = 536; if (Mss > 536) Mss = 536; }
            _peerWs = s.WindowScale >= 0;
            if (_peerWs) { SndScale = s.WindowScale > 14 ? 14 : s.WindowScale; RcvScale = ScaleFor(RcvBufSize); }
            else { SndScale = 0; RcvScale = 0; }
            TsOk = s.HasTs && (State == TcpState.SynSent || State == TcpState.Closed || State == TcpState.Listen);
            if (TsOk) { _tsRecent = s.TsVal; _tsRecentAt = Stack.Now; }
            _peerSack = s.SackOk;
            SackOk = SackEnabled && s.SackOk;
            Cwnd = (uint)(10 * (TsOk ? Mss - 12 : Mss));
        }

        bool Acceptable(TcpSegment s, int segLen)
        {
            uint wnd = (uint)Window();
            if (segLen == 0)
            {
                if (wnd == 0) return s.Seq == RcvNxt;
                return Wire.Le(RcvNxt, s.Seq) && Wire.Lt(s.Seq, RcvNxt + wnd) || s.Seq == RcvNxt;
            }
            if (wnd == 0) return false;
            uint end = s.Seq + (uint)segLen - 1;
            return Wire.Le(RcvNxt, s.Seq) && Wire.Lt(s.Seq, RcvNxt + wnd) || Wire.Le(RcvNxt, end) && Wire.Lt(end, RcvNxt + wnd);
        }

        internal void SegmentArrives(TcpSegment s, ReadOnlySpan<byte> data)
        {
            SegsIn++;
            _lastRecv = Stack.Now; _keepProbes = 0;
            if (KeepAlive) _keepAt = 0;
            int flags = s.Flags;
            if (State == TcpState.SynSent) { SynSentInput(s); return; }

            int segLen = data.Length + ((flags & FlagSyn) != 0 ? 1 : 0) + ((flags & FlagFin) != 0 ? 1 : 0);
            // PAWS (RFC 7323 5.3): a timestamp older than TS.Recent marks an old duplicate
            // (sequence numbers may have wrapped): not acceptable, answered with an ACK.
            if (TsOk && s.HasTs && (flags & FlagRst) == 0 && (int)(s.TsVal - _tsRecent) < 0 && Stack.Now - _tsRecentAt < TsRecentValidMs)
            {
                PawsDropped++;
                SendAck();
                return;
            }
            // 1. Sequence number check (RFC 9293 3.10.7.4).
            if (!Acceptable(s, segLen))
            {
                if ((flags & FlagRst) == 0) SendAck();
                return;
            }
            // 2. RST (RFC 5961 3.2): only the exact next sequence number resets; others in the window get a challenge ACK.
            if ((flags & FlagRst) != 0)
            {
                if (s.Seq != RcvNxt) { ChallengeAck(); return; }
                if (State == TcpState.SynReceived && Parent != null) { Drop(0); return; }    // back to listening: forget it
                if (State == TcpState.Closing || State == TcpState.LastAck || State == TcpState.TimeWait) { Drop(0); return; }
                WasReset = true;
                Drop(State == TcpState.SynReceived ? NetErr.ECONNREFUSED : (State == TcpState.CloseWait ? NetErr.EPIPE : NetErr.ECONNRESET));
                return;
            }
            // 3. A SYN in a synchronized state (RFC 5961 4.2): challenge ACK.
            if ((flags & FlagSyn) != 0)
            {
                if (State == TcpState.SynReceived && s.Seq == Irs) { SendSyn(); return; }   // our SYN-ACK was lost
                ChallengeAck();
                return;
            }
            if ((flags & FlagAck) == 0) return;
            // 4. ACK.
            if (TsOk && s.HasTs && Wire.Le(s.Seq, RcvNxt) && (int)(s.TsVal - _tsRecent) >= 0) { _tsRecent = s.TsVal; _tsRecentAt = Stack.Now; }
            if (State == TcpState.SynReceived)
            {
                if (!(Wire.Lt(SndUna, s.Ack) && Wire.Le(s.Ack, SndMax))) { SendControl(s.Ack, 0, FlagRst); return; }
                // A full accept queue ignores the handshake's last ACK (as Linux): the peer's data or our SYN-ACK retry completes it later.
                if (Parent != null && Parent.AcceptCount > Parent.Backlog) { Stack.SynDropped++; return; }
                Established(s);
                if (Parent != null) Parent.SynCount--;
                TcpConnection p = Parent;
                if (p != null && p.State == TcpState.Listen)
                {
                    if (p._acceptTail == null) p._acceptHead = p._acceptTail = this; else { p._acceptTail.AcceptNext = this; p._acceptTail = this; }
                    p.AcceptCount++;
                }
                SndWnd = (uint)s.Window << SndScale; SndWl1 = s.Seq; SndWl2 = s.Ack;
                Wake();
            }
            if (!ProcessAck(s, data.Length)) return;
            if (State == TcpState.Closed) return;

            // 5. Urgent pointer and byte (RFC 9293 3.10.7.4 sixth), in the states that take data.
            if (State == TcpState.Established || State == TcpState.FinWait1 || State == TcpState.FinWait2)
            {
                if ((flags & FlagUrg) != 0) UrgentPointer(s.Seq, s.UrgPtr);
                if (UrgState == UrgNotYet) UrgentByte(s.Seq, data);
            }
            // 6. Data.
            if (data.Length > 0)
            {
                if (State == TcpState.Established || State == TcpState.FinWait1 || State == TcpState.FinWait2)
                {
                    if (ReadShut && Orphan) { Abort(); return; }           // data for a closed socket: reset, as Linux
                    ReceiveData(s.Seq, data, flags);
                }
            }
            // 7. FIN, once everything before it has arrived.
            if ((flags & FlagFin) != 0)
            {
                uint finSeq = s.Seq + (uint)data.Length;
                if (finSeq == RcvNxt && !FinReceived)
                {
                    RcvNxt++;
                    FinReceived = true;
                    switch (State)
                    {
                        case TcpState.SynReceived:
                        case TcpState.Established: State = TcpState.CloseWait; break;
                        case TcpState.FinWait1: if (FinSent && SndUna == FinSeq + 1) EnterTimeWait(); else State = TcpState.Closing; break;
                        case TcpState.FinWait2: EnterTimeWait(); break;
                    }
                    SendAck();
                    Wake();
                }
                else if (State == TcpState.TimeWait) { SendAck(); _closeAt = Stack.Now + TimeWaitMs; }
                else if (Wire.Gt(finSeq, RcvNxt)) SendAck();
            }
            Output();
        }

        void ChallengeAck() { Stack.ChallengeAcks++; SendAck(); }

        void Established(TcpSegment s)
        {
            State = TcpState.Established;
            Connected = true;
            _rtxAt = 0; _backoff = 0; _retries = 0;
            if (_rcv == null) NewRcv();
            _rcvAdvertised = RcvNxt + (uint)Window();
            if (KeepAlive) _keepAt = Stack.Now + (ulong)KeepIdleS * 1000;
        }

        void SynSentInput(TcpSegment s)
        {
            int flags = s.Flags;
            bool ackOk = false;
            if ((flags & FlagAck) != 0)
            {
                if (Wire.Le(s.Ack, Iss) || Wire.Gt(s.Ack, SndMax))
                {
                    if ((flags & FlagRst) == 0) SendControl(s.Ack, 0, FlagRst);
                    return;
                }
                ackOk = true;
            }
            if ((flags & FlagRst) != 0)
            {
                if (ackOk) { ConnectRefused = true; WasReset = true; Drop(NetErr.ECONNREFUSED); }
                return;
            }
            if ((flags & FlagSyn) == 0) return;
            Irs = s.Seq; RcvNxt = s.Seq + 1;
            ApplySynOptions(s);
            if (ackOk)
            {
                SndUna = s.Ack;
                Established(s);
                SndWnd = (uint)s.Window;                          // a SYN's window is never scaled (RFC 7323 2.2)
                SndWl1 = s.Seq; SndWl2 = s.Ack; MaxSndWnd = SndWnd;
                if (_timing) { _timing = false; RttSample((int)(Stack.Now - _timedAt)); }
                else if (_backoff == 0) RttSample((int)(Stack.Now - _synSentAt));
                _backoff = 0;
                SendAck();
                Output();
                Wake();
            }
            else
            {
                // Simultaneous open (RFC 9293 3.5, figure 8).
                State = TcpState.SynReceived;
                SndWnd = (uint)s.Window; SndWl1 = s.Seq; SndWl2 = 0;
                SendSegment(Iss, FlagSyn | FlagAck, 0, 0, true);
            }
        }
        ulong _synSentAt;

        /// ACK processing for synchronized states; false when the segment is to be dropped.
        bool ProcessAck(TcpSegment s, int dataLen)
        {
            uint ack = s.Ack;
            if (Wire.Gt(ack, SndMax)) { SendAck(); return false; }                  // acks what we never sent
            if (Wire.Lt(ack, SndUna - MaxSndWnd) && MaxSndWnd > 0) { ChallengeAck(); return false; }   // RFC 5961 5.2
            uint win = (uint)s.Window << SndScale;
            if (SackOk && s.SackBlocks > 0) UpdateScoreboard(s);
            if (Wire.Gt(ack, SndUna))
            {
                uint acked = ack - SndUna;
                int dataAcked = (int)acked > _sndLen ? _sndLen : (int)acked;
                bool finAcked = FinSent && ack == FinSeq + 1;
                if (dataAcked > 0) { _sndStart = (_sndStart + dataAcked) % _snd.Length; _sndLen -= dataAcked; }
                SndUna = ack;
                if (Wire.Lt(SndNxt, SndUna)) SndNxt = SndUna;
                if (_urgMode && !Wire.Gt(SndUp, SndUna)) _urgMode = false;         // the urgent data is acknowledged
                PruneScoreboard();
                // RTT: from the echoed timestamp, or the one timed segment (Karn: never a retransmitted one).
                if (TsOk && s.HasTs && s.TsEcr != 0) RttSample((int)((uint)Stack.Now - s.TsEcr));
                else if (_timing && Wire.Gt(ack, _timedSeq)) RttSample((int)(Stack.Now - _timedAt));
                if (_timing && Wire.Gt(ack, _timedSeq)) _timing = false;
                _backoff = 0; _retries = 0;
                // Congestion control (RFC 5681, NewReno RFC 6582).
                if (_inRecovery)
                {
                    if (Wire.Ge(ack, _recover))
                    {
                        _inRecovery = false;
                        uint flight = SndMax - SndUna;
                        Cwnd = SackOk ? Ssthresh : Math.Min(Ssthresh, flight + (uint)EffMss);
                    }
                    else if (SackOk) SackSend();              // RFC 6675: the next hole or new data, as pipe allows
                    else
                    {
                        // Partial ACK: retransmit the next hole, deflate by what was acked.
                        RetransmitFirst();
                        Cwnd = Cwnd > acked ? Cwnd - acked + (uint)EffMss : (uint)EffMss;
                    }
                }
                else if (Cwnd < Ssthresh) Cwnd += Math.Min(acked, (uint)EffMss);
                else Cwnd += Math.Max(1u, (uint)(EffMss * EffMss) / Cwnd);
                _dupAcks = 0;
                _rtxAt = SndUna == SndMax ? 0 : Stack.Now + (ulong)Rto;
                if (finAcked)
                {
                    if (State == TcpState.FinWait1) { State = TcpState.FinWait2; if (Orphan) _closeAt = Stack.Now + FinWait2Ms; }
                    else if (State == TcpState.Closing) EnterTimeWait();
                    else if (State == TcpState.LastAck) { Drop(0); return false; }
                }
                Wake();
            }
            else if (ack == SndUna && dataLen == 0 && win == SndWnd && SndMax != SndUna && (s.Flags & (FlagSyn | FlagFin)) == 0)
            {
                // A duplicate ACK (RFC 5681 2).
                _dupAcks++;
                if (SackOk && !_inRecovery && (_dupAcks >= 3 || IsLost(SndUna)) && (!_recoverSet || Wire.Gt(ack, _recover)))
                {
                    // SACK loss recovery (RFC 6675 5): cwnd down to ssthresh, the first hole
                    // again, then holes and new data while pipe stays under cwnd.
                    uint flight = SndMax - SndUna;
                    Ssthresh = Math.Max(flight / 2, 2u * (uint)EffMss);
                    Cwnd = Ssthresh;
                    _inRecovery = true; _recover = SndMax; _recoverSet = true;
                    _highRxt = SndUna;
                    RetransmitHole(SndUna);
                    FastRetransmits++;
                    SackSend();
                }
                else if (SackOk && _inRecovery) SackSend();
                else if (_dupAcks == 3 && !_inRecovery && (!_recoverSet || Wire.Gt(ack, _recover)))
                {
                    uint flight = SndMax - SndUna;
                    Ssthresh = Math.Max(flight / 2, 2u * (uint)EffMss);
                    _inRecovery = true; _recover = SndMax; _recoverSet = true;
                    RetransmitFirst();
                    Cwnd = Ssthresh + 3u * (uint)EffMss;
                    FastRetransmits++;
                }
                else if (_dupAcks > 3 && _inRecovery) Cwnd += (uint)EffMss;
            }
            // Window update (RFC 9293 3.10.7.4, SND.WL1/WL2).
            if (Wire.Lt(SndWl1, s.Seq) || SndWl1 == s.Seq && Wire.Le(SndWl2, ack))
            {
                SndWnd = win; SndWl1 = s.Seq; SndWl2 = ack;
                if (win > MaxSndWnd) MaxSndWnd = win;
                if (win > 0) _persistAt = 0;
                Wake();
            }
            return true;
        }
        bool _recoverSet;
        public uint FastRetransmits;

        // ---- SACK scoreboard and recovery (RFC 2018, RFC 6675) ----

        void UpdateScoreboard(TcpSegment s)
        {
            for (int b = 0; b < s.SackBlocks; b++)
            {
                s.SackBlock(b, out uint l, out uint r);
                if (!Wire.Gt(r, l) || Wire.Le(r, SndUna) || Wire.Gt(r, SndMax)) continue;       // stale, D-SACK or bogus
                if (Wire.Lt(l, SndUna)) l = SndUna;
                AddSacked(l, r);
            }
        }

        /// Inserts [l, r) keeping the ranges sorted and merged; when full the highest range gives way.
        void AddSacked(uint l, uint r)
        {
            int i = 0;
            while (i < _sackCount && Wire.Lt(_sackStart[i], l)) i++;
            if (_sackCount == MaxSacked)
            {
                if (i == MaxSacked) return;
                _sackCount--;
            }
            for (int k = _sackCount; k > i; k--) { _sackStart[k] = _sackStart[k - 1]; _sackEnd[k] = _sackEnd[k - 1]; }
            _sackStart[i] = l; _sackEnd[i] = r; _sackCount++;
            // Merge neighbours that touch or overlap.
            for (int k = 0; k + 1 < _sackCount;)
            {
                if (Wire.Ge(_sackEnd[k], _sackStart[k + 1]))
                {
                    if (Wire.Gt(_sackEnd[k + 1], _sackEnd[k])) _sackEnd[k] = _sackEnd[k + 1];
                    for (int m = k + 1; m + 1 < _sackCount; m++) { _sackStart[m] = _sackStart[m + 1]; _sackEnd[m] = _sackEnd[m + 1]; }
                    _sackCount--;
                }
                else k++;
            }
        }

        void PruneScoreboard()
        {
            int drop = 0;
            while (drop < _sackCount && Wire.Le(_sackEnd[drop], SndUna)) drop++;
            for (int k = drop; k < _sackCount; k++) { _sackStart[k - drop] = _sackStart[k]; _sackEnd[k - drop] = _sackEnd[k]; }
            _sackCount -= drop;
            if (_sackCount > 0 && Wire.Lt(_sackStart[0], SndUna)) _sackStart[0] = SndUna;
            if (Wire.Lt(_highRxt, SndUna)) _highRxt = SndUna;
        }

        public int SackedRanges => _sackCount;

        /// RFC 6675 IsLost: three SACKed ranges, or more than two segments' worth, above `seq`.
        bool IsLost(uint seq)
        {
            int ranges = 0; uint bytes = 0;
            for (int i = 0; i < _sackCount; i++)
                if (Wire.Gt(_sackEnd[i], seq)) { ranges++; bytes += _sackEnd[i] - (Wire.Gt(_sackStart[i], seq) ? _sackStart[i] : seq); }
            return ranges >= 3 || bytes > 2u * (uint)EffMss;
        }

        /// RFC 6675 pipe: bytes in flight, that is outstanding and neither SACKed nor lost
        /// (a lost byte counts again once retransmitted, below HighRxt).
        uint Pipe()
        {
            uint pipe = 0, seq = SndUna;
            for (int i = 0; i < _sackCount; i++)
            {
                uint holeEnd = _sackStart[i];
                if (Wire.Gt(holeEnd, seq))
                {
                    if (!IsLost(seq)) pipe += holeEnd - seq;
                    else if (Wire.Gt(_highRxt, seq)) pipe += (Wire.Lt(_highRxt, holeEnd) ? _highRxt : holeEnd) - seq;
                }
                if (Wire.Gt(_sackEnd[i], seq)) seq = _sackEnd[i];
            }
            if (Wire.Gt(SndMax, seq)) pipe += SndMax - seq;
            return pipe;
        }

        /// The next lost hole to retransmit (RFC 6675 NextSeg rule 1): above HighRxt and
        /// SND.UNA, below the highest SACKed byte, not SACKed, lost by IsLost.
        bool NextHole(out uint seq, out int len)
        {
            seq = Wire.Gt(_highRxt, SndUna) ? _highRxt : SndUna; len = 0;
            for (int i = 0; i < _sackCount; i++)
            {
                if (Wire.Le(_sackEnd[i], seq)) continue;
                if (Wire.Le(_sackStart[i], seq)) { seq = _sackEnd[i]; continue; }
                if (!IsLost(seq)) return false;
                int hole = (int)(_sackStart[i] - seq);
                len = hole < EffMss ? hole : EffMss;
                return true;
            }
            return false;
        }

        /// Retransmits one segment's worth of the hole at `seq` (never past the data queued).
        void RetransmitHole(uint seq)
        {
            int off = (int)(seq - SndUna);
            int len = EffMss;
            for (int i = 0; i < _sackCount; i++) if (Wire.Gt(_sackStart[i], seq)) { int h = (int)(_sackStart[i] - seq); if (h < len) len = h; break; }
            if (len > _sndLen - off) len = _sndLen - off;
            if (len <= 0) { if (FinSent && seq == FinSeq) SendSegment(FinSeq, FlagFin | FlagAck, 0, 0, false); _highRxt = seq + 1; }
            else { SendSegment(seq, FlagAck, off, len, false); _highRxt = seq + (uint)len; }
            SackRetransmits++; Retransmits++; TotalRetransmits++;
            _timing = false;
        }

        /// Sends during SACK recovery while cwnd - pipe leaves a segment: lost holes
        /// first, then new data the peer's window takes.
        void SackSend()
        {
            for (int guard = 0; guard < 64; guard++)
            {
                if (Pipe() + (uint)EffMss > Cwnd) return;
                if (NextHole(out uint seq, out _)) { RetransmitHole(seq); continue; }
                int sent = (int)(SndNxt - SndUna), unsent = _sndLen - sent;
                if (unsent <= 0) return;
                int len = unsent < EffMss ? unsent : EffMss;
                if (sent + len > (int)SndWnd) return;
                SendSegment(SndNxt, FlagAck | (len == unsent ? FlagPsh : 0), sent, len, false);
                SndNxt += (uint)len;
                if (Wire.Gt(SndNxt, SndMax)) SndMax = SndNxt;
                if (_rtxAt == 0) ArmRtx();
            }
        }

        void RetransmitFirst()
        {
            int len = _sndLen < EffMss ? _sndLen : EffMss;
            if (len > 0) SendSegment(SndUna, FlagAck, 0, len, false);
            else if (FinSent) SendSegment(FinSeq, FlagFin | FlagAck, 0, 0, false);
            Retransmits++; TotalRetransmits++;
            _timing = false;
        }

        void ReceiveData(uint seq, ReadOnlySpan<byte> data, int flags)
        {
            if (_rcv == null) NewRcv();
            // Trim what we already have and what lies beyond the window.
            int skip = (int)(RcvNxt - seq);
            if (skip > 0) { if (skip >= data.Length) { SendAck(); return; } data = data.Slice(skip); seq = RcvNxt; }
            int off = (int)(seq - RcvNxt);
            int room = Window() - off;
            if (room <= 0) { SendAck(); return; }
            if (data.Length > room) data = data.Slice(0, room);
            if (_rcvLen + off + data.Length > _rcv.Length) _rcv = Grow(_rcv, ref _rcvStart, _rcvLen + off + data.Length, _rcvCap);
            int at = (_rcvStart + _rcvLen + off) % _rcv.Length;
            int first = _rcv.Length - at < data.Length ? _rcv.Length - at : data.Length;
            data.Slice(0, first).CopyTo(_rcv.AsSpan(at, first));
            data.Slice(first).CopyTo(_rcv);
            if (off == 0)
            {
                uint end = seq + (uint)data.Length;
                // Merge out-of-order ranges that now join the in-order data.
                bool merged = true;
                while (merged)
                {
                    merged = false;
                    for (int i = 0; i < _oooCount; i++)
                        if (Wire.Le(_oooStart[i], end))
                        {
                            if (Wire.Gt(_oooEnd[i], end)) end = _oooEnd[i];
                            _oooStart[i] = _oooStart[--_oooCount]; _oooEnd[i] = _oooEnd[_oooCount];
                            merged = true; break;
                        }
                }
                bool filledHole = (int)(end - seq) > data.Length;
                _rcvLen += (int)(end - RcvNxt);
                RcvNxt = end;
                Wake();
                // Delayed ACK (RFC 9293 3.8.6.3): every second full segment, a filled hole or PSH on a small window at once.
                _ackPending++;
                if (filledHole || _oooCount > 0 || Window() < Mss) SendAck();
                else if (_ackPending >= 2)
                {
                    // Within a batch of received frames (Stack.DeferAcks) one ACK covers
                    // them all, sent at its end unless data going out carries it first, as
                    // Linux's GRO makes one ACK of a poll's segments.
                    if (!Stack.DeferAcks || !Stack.DeferAck(this)) SendAck();
                }
                else if (_delAckAt == 0) _delAckAt = Stack.Now + DelayedAckMs;
            }
            else
            {
                // Out of order: keep it where it belongs and send a duplicate ACK at once (RFC 5681 4.2).
                uint s0 = seq, e0 = seq + (uint)data.Length;
                _oooLatest = s0;
                bool done = false;
                for (int i = 0; i < _oooCount; i++)
                    if (Wire.Le(_oooStart[i], e0) && Wire.Ge(_oooEnd[i], s0))
                    {
                        if (Wire.Lt(s0, _oooStart[i])) _oooStart[i] = s0;
                        if (Wire.Gt(e0, _oooEnd[i])) _oooEnd[i] = e0;
                        done = true; break;
                    }
                if (!done && _oooCount < MaxOoo) { _oooStart[_oooCount] = s0; _oooEnd[_oooCount] = e0; _oooCount++; }
                OooSegments++;
                SendAck();
            }
        }
        public ulong OooSegments;

        void RttSample(int r)
        {
            if (r < 1) r = 1;
            if (Srtt8 == 0) { Srtt8 = r * 8; Rttvar4 = r * 2; }
            else
            {
                int d = r - (Srtt8 >> 3);
                Srtt8 += d;
                if (d < 0) d = -d;
                Rttvar4 += d - (Rttvar4 >> 2);
            }
            int rto = (Srtt8 >> 3) + Math.Max(1, Rttvar4);
            Rto = rto < MinRtoMs ? MinRtoMs : rto > MaxRtoMs ? MaxRtoMs : rto;
        }

        void EnterTimeWait()
        {
            State = TcpState.TimeWait;
            _rtxAt = 0; _persistAt = 0; _keepAt = 0; _delAckAt = 0;
            _closeAt = Stack.Now + TimeWaitMs;
            _snd = null; _sndLen = 0;
            if (_rcvLen == 0) _rcv = null;
            Wake();
        }

        /// Leaves the tables (CLOSED) with `error` for the socket (0: none).
        internal void Drop(int error)
        {
            bool wasSynRcvd = State == TcpState.SynReceived;
            if (error != 0) Error = error;
            if (wasSynRcvd && Parent != null) { Parent.SynCount--; Parent = null; }
            State = TcpState.Closed;
            _rtxAt = 0; _delAckAt = 0; _persistAt = 0; _keepAt = 0; _closeAt = 0;
            _snd = null; _sndLen = 0;
            if (_rcvLen == 0) _rcv = null;
            Stack.TcpRemove(this);
            if (Orphan) Stack.UnbindTcp(this);
            Wake();
        }

        // ---- timers ----

        public ulong NextTimer()
        {
            ulong t = NetStack.Earliest(_rtxAt, _delAckAt);
            t = NetStack.Earliest(t, _persistAt);
            t = NetStack.Earliest(t, _keepAt);
            return NetStack.Earliest(t, _closeAt);
        }

        internal void Timers(ulong now)
        {
            if (_closeAt != 0 && _closeAt <= now) { _closeAt = 0; if (State == TcpState.TimeWait || State == TcpState.FinWait2) { Drop(0); return; } }
            if (_delAckAt != 0 && _delAckAt <= now) { _delAckAt = 0; if (Synchronized) SendAck(); }
            if (_rtxAt != 0 && _rtxAt <= now) { _rtxAt = 0; RetransmitTimeout(); if (State == TcpState.Closed) return; }
            if (_persistAt != 0 && _persistAt <= now)
            {
                // Zero-window probe: a segment below the window makes the peer answer with its window.
                _persistAt = 0;
                if (SndWnd == 0 && _sndLen > (int)(SndNxt - SndUna))
                {
                    Probe();
                    WindowProbes++;
                    int wait = Rto << (_backoff < 6 ? ++_backoff : _backoff);
                    _persistAt = now + (ulong)(wait > MaxRtoMs ? MaxRtoMs : wait);
                }
            }
            if (KeepAlive && Synchronized && State != TcpState.TimeWait)
            {
                if (_keepAt == 0) _keepAt = _lastRecv + (ulong)KeepIdleS * 1000;
                if (_keepAt <= now)
                {
                    if (_keepProbes >= KeepCnt) { Drop(NetErr.ETIMEDOUT); return; }
                    Probe();
                    _keepProbes++;
                    _keepAt = now + (ulong)KeepIntvlS * 1000;
                }
            }
        }
        public ulong WindowProbes;

        /// A window or keepalive probe: a segment below the window makes the peer answer.
        /// In urgent mode one at SND.UNA goes first, which the peer takes even into a zero
        /// window, so it learns of the urgent data (Linux's tcp_write_wakeup does the same).
        void Probe()
        {
            if (UrgentMode && SndUp - SndUna <= 0xFFFF) SendSegment(SndUna, FlagAck, 0, 0, false);
            SendSegment(SndUna - 1, FlagAck, 0, 0, false);
        }

        void RetransmitTimeout()
        {
            _retries++;
            int limit = State == TcpState.SynSent ? MaxSynRetries : State == TcpState.SynReceived ? MaxSynAckRetries : MaxRetries;
            if (_retries > limit)
            {
                if (State == TcpState.SynReceived && Parent != null) { Drop(0); return; }
                Drop(NetErr.ETIMEDOUT);
                return;
            }
            if (_backoff < 12) _backoff++;
            Retransmits++; TotalRetransmits++;
            _timing = false;
            if (State == TcpState.SynSent || State == TcpState.SynReceived)
            {
                SendSegment(Iss, FlagSyn | (State == TcpState.SynReceived ? FlagAck : 0), 0, 0, true);
                ArmRtx();
                return;
            }
            // RFC 5681 3.1 (eq. 4) and RFC 6298 5.5-5.7: one segment, go back to SND.UNA.
            uint flight = SndMax - SndUna;
            Ssthresh = Math.Max(flight / 2, 2u * (uint)EffMss);
            Cwnd = (uint)EffMss;
            _inRecovery = false; _recover = SndMax; _recoverSet = true;
            _dupAcks = 0;
            _sackCount = 0;                       // the receiver may have reneged (RFC 2018 8)
            SndNxt = SndUna;
            int len = _sndLen < EffMss ? _sndLen : EffMss;
            if (len > 0) { SendSegment(SndUna, FlagAck, 0, len, false); SndNxt = SndUna + (uint)len; }
            else if (_finQueued) { SendSegment(FinSeq, FlagFin | FlagAck, 0, 0, false); SndNxt = FinSeq + 1; }
            ArmRtx();
        }

        /// An ICMP error about this connection: `err` a NetErr (kept while connecting), or -1
        /// for "fragmentation needed"/"packet too big" with the next hop's MTU.
        internal void IcmpError(int err, int mtu)
        {
            if (err == -1)
            {
                if (RemoteAddr.IsV4 && mtu < 68) return;
                int m = RemoteAddr.IsV4 ? mtu - 40 : (mtu < NetStack.MinMtu6 ? NetStack.MinMtu6 : mtu) - 60;
                if (m < Mss) Mss = m < 64 ? 64 : m;
                return;
            }
            if (State == TcpState.SynSent) SoftError = err;
        }
        public int SoftError;
    }

    /// A parsed TCP header with the options the stack uses.
    public struct TcpSegment
    {
        public int SrcPort, DstPort, Flags, Window, Mss, WindowScale, UrgPtr;
        public uint Seq, Ack, TsVal, TsEcr;
        public bool HasTs, SackOk;
        /// SACK blocks (RFC 2018 3): up to four left/right edge pairs.
        public int SackBlocks;
        uint _l0, _r0, _l1, _r1, _l2, _r2, _l3, _r3;

        public void SackBlock(int i, out uint left, out uint right)
        {
            switch (i)
            {
                case 0: left = _l0; right = _r0; break;
                case 1: left = _l1; right = _r1; break;
                case 2: left = _l2; right = _r2; break;
                default: left = _l3; right = _r3; break;
            }
        }

        void SetSackBlock(int i, uint left, uint right)
        {
            switch (i)
            {
                case 0: _l0 = left; _r0 = right; break;
                case 1: _l1 = left; _r1 = right; break;
                case 2: _l2 = left; _r2 = right; break;
                default: _l3 = left; _r3 = right; break;
            }
        }

        /// Parses `t` (header and data); false when malformed.
        public static bool Parse(ReadOnlySpan<byte> t, out TcpSegment s, out int headerLen)
        {
            s = default; headerLen = 0;
            if (t.Length < 20) return false;
            int hl = (t[12] >> 4) * 4;
            if (hl < 20 || hl > t.Length) return false;
            s.SrcPort = Wire.U16(t, 0); s.DstPort = Wire.U16(t, 2);
            s.Seq = Wire.U32(t, 4); s.Ack = Wire.U32(t, 8);
            s.Flags = t[13] & 0x3f; s.Window = Wire.U16(t, 14); s.UrgPtr = Wire.U16(t, 18);
            s.WindowScale = -1;
            for (int i = 20; i < hl;)
            {
                int kind = t[i];
                if (kind == 0) break;
                if (kind == 1) { i++; continue; }
                if (i + 1 >= hl) break;
                int len = t[i + 1];
                if (len < 2 || i + len > hl) break;
                if (kind == 2 && len == 4) s.Mss = Wire.U16(t, i + 2);
                else if (kind == 3 && len == 3) s.WindowScale = t[i + 2];
                else if (kind == 4 && len == 2) s.SackOk = true;
                else if (kind == 5 && len >= 10 && (len - 2) % 8 == 0)
                {
                    int n = (len - 2) / 8;
                    if (n > 4) n = 4;
                    for (int b = 0; b < n; b++) s.SetSackBlock(b, Wire.U32(t, i + 2 + 8 * b), Wire.U32(t, i + 6 + 8 * b));
                    s.SackBlocks = n;
                }
                else if (kind == 8 && len == 10) { s.HasTs = true; s.TsVal = Wire.U32(t, i + 2); s.TsEcr = Wire.U32(t, i + 6); }
                i += len;
            }
            headerLen = hl;
            return true;
        }
    }
}
