using System;
using Kernel.Console;
using Kernel.Drivers;
using Kernel.Memory;
using Kernel.Sched;
using Kernel.Time;

namespace Kernel.Net
{
    /// The stack inside the kernel: one NetStack with the loopback and, when a virtio-net
    /// device is present, eth0 over it; a kernel thread ("netd") that feeds received
    /// frames in and runs the stack's timers; the address from the command line
    /// (net.ip=A.B.C.D/N net.gw=A.B.C.D net.dns=A.B.C.D) or DHCP; IPv6 with a link-local
    /// address, SLAAC from router advertisements, or net.ip6=ADDR/N net.gw6=ROUTER. The kernel is not
    /// preempted and runs with interrupts off, so the stack needs no lock: every entry
    /// (netd, socket calls) runs to completion, and nothing in it blocks.
    public static unsafe class NetKernel
    {
        public static NetStack Stack;
        public static NetIf Eth;
        static VirtioNet _dev;
        static VirtioLink _link;
        static readonly WaitQueue _netd = new WaitQueue();
        static bool _kicked;

        sealed class KernelEvents : NetEvents
        {
            public override void Changed(object owner)
            {
                // Only sockets own connections; the stack's own changes (owner null: an
                // address configured) concern no file, only the threads waiting for them.
                if (owner is Socket s) s.Notify();
                else if (owner == null) _stackChanged.WakeAll();
            }

            public override void Urgent(object owner)
            {
                if (owner is Socket s && Fs.OpenFile.SignalOwner != null) Fs.OpenFile.SignalOwner(s, Abi.Signal.SIGURG);
            }
        }
        static readonly WaitQueue _stackChanged = new WaitQueue();

        /// Frames to the device; when its ring is full they wait here (sent from netd as
        /// buffers come back) instead of blocking the caller inside the stack.
        sealed class VirtioLink : NetLink
        {
            const int Slots = 128;
            readonly VirtioNet _d;
            readonly byte[][] _q = new byte[Slots][];
            readonly int[] _len = new int[Slots], _start = new int[Slots], _offset = new int[Slots];   // csum_start 0: complete
            int _head, _count;
            public ulong Dropped;
            /// Frames of at most SmallFrame bytes (bare ACKs and other control segments: an
            /// IPv6 TCP header with timestamps and 3 SACK blocks is 14 + 40 + 60 bytes).
            public ulong SmallFrames;
            public const int SmallFrame = 114;

            public VirtioLink(VirtioNet d) { _d = d; }

            public override void Transmit(ReadOnlySpan<byte> frame) => TransmitPartial(frame, 0, 0);

            // Frames handed over; the device sends them in order, so those before the last
            // (backlog + in the ring) have left.
            ulong _submitted;
            public override ulong TxMark => _submitted;
            public override bool TxDone(ulong mark) => _submitted - (ulong)_count - (ulong)_d.TxInFlight >= mark;
            public override void WantTxDone() => _d.WantTxInterrupt();

            public override void TransmitPartial(ReadOnlySpan<byte> frame, int csumStart, int csumOffset)
            {
                _submitted++;
                if (frame.Length <= SmallFrame) SmallFrames++;
                if (_count == 0 && _d.TrySend(frame, csumStart, csumOffset)) return;
                if (_count == Slots) { Dropped++; return; }
                int e = (_head + _count) % Slots;
                if (_q[e] == null) _q[e] = new byte[VirtioNet.MaxFrame];
                if (frame.Length > _q[e].Length) { Dropped++; return; }
                frame.CopyTo(_q[e]);
                _len[e] = frame.Length; _start[e] = csumStart; _offset[e] = csumOffset; _count++;
            }

            public void Flush()
            {
                while (_count > 0 && _d.TrySend(new ReadOnlySpan<byte>(_q[_head], 0, _len[_head]), _start[_head], _offset[_head]))
                {
                    _head = (_head + 1) % Slots; _count--;
                }
            }

            public bool Backlog => _count > 0;
        }

        public static ulong NowMs() => Clock.MonotonicNs() / 1000000;

        /// Brings the stack up (from Kmain after the devices are probed). `cmdline` is the
        /// kernel command line (may be null).
        public static void Start(byte* cmdline)
        {
            Stack = new NetStack(Arch.Random.Next());
            Stack.Now = NowMs();
            Stack.Events = new KernelEvents();
            _dev = VirtioNet.First;
            Scheduler.StartKernelThread(&Netd, 0);
            if (_dev == null) return;
            _link = new VirtioLink(_dev);
            Eth = Stack.AddInterface("eth0"u8, _link, 1500);
            Eth.DeviceChecksums = _dev.ChecksumOffload;
            for (int i = 0; i < 6; i++) Eth.Mac[i] = _dev.Mac[i];
            uint ip = 0, gw = 0, dns = 0; int prefix = 24;
            bool off = false;
            if (cmdline != null) ParseOptions(cmdline, ref ip, ref prefix, ref gw, ref dns, ref off);
            if (off) { Eth.Up = false; return; }
            VirtioNet.OnActivity = &Kick;
            _dev.Polled = true;
            Stack.EnableIp6(Eth);
            if (_ip6Prefix > 0) Stack.AddAddress6(Eth, _ip6, _ip6Prefix);
            if (!_gw6.IsV6Any) { Eth.Router6 = _gw6; Eth.Router6Until = ulong.MaxValue; }
            else _ip6Pending = true;
            if (ip != 0)
            {
                Eth.Addr = ip; Eth.Mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix); Eth.Gateway = gw;
                if (dns != 0) Stack.SetDns(stackalloc uint[] { dns });
                LogAddress("static");
                return;
            }
            Stack.StartDhcp(Eth);
            _dhcpPending = true;
        }
        static bool _dhcpPending, _ip6Pending, _programStarted;
        static IpAddr _ip6, _gw6;
        static int _ip6Prefix;

        /// Before the program starts (its first thread, which may block): waits up to 3 s
        /// for the DHCP lease so the program starts with an address (QEMU's user network
        /// answers at once; on a slower network the client goes on in netd).
        public static void WaitReady()
        {
            _programStarted = true;
            if (_dhcpPending)
            {
                _dhcpPending = false;
                ulong deadline = Clock.MonotonicNs() + 3_000_000_000UL;
                while (!Stack.DhcpBound && Clock.MonotonicNs() < deadline) _stackChanged.Wait(deadline, false);
                if (Stack.DhcpBound) LogAddress("dhcp");
                else Log.Info("net: no DHCP answer yet on eth0");
            }
            if (_ip6Pending)
            {
                // A router answers our solicitation at once where there is one (QEMU's user
                // network does); where none does, the program waits at most 0.5 s more.
                _ip6Pending = false;
                ulong deadline = Clock.MonotonicNs() + 500_000_000UL;
                while (Eth.Router6Until == 0 && Clock.MonotonicNs() < deadline) _stackChanged.Wait(deadline, false);
                LogAddress6();
            }
            if (Stack.DnsChanged) ResolvConf.Update(Stack);
        }

        static void LogAddress6()
        {
            var w = Log.Begin(LogLevel.Info, stackalloc byte[200]);
            w.Str("net: eth0");
            Span<byte> b = stackalloc byte[48];
            for (int i = 0; i < Eth.Addr6Count; i++)
            {
                w.Byte((byte)' ');
                int n = Eth.Addr6[i].Format(b); for (int k = 0; k < n; k++) w.Byte(b[k]);
                w.Byte((byte)'/'); w.Udec((ulong)Eth.Prefix6[i]);
                if ((Eth.Flags6[i] & NetIf.Tentative) != 0) w.Str((Eth.Flags6[i] & NetIf.DadFailed) != 0 ? " (duplicate)" : " (tentative)");
            }
            if (Eth.Router6Until != 0) { w.Str(" router "); int n = Eth.Router6.Format(b); for (int k = 0; k < n; k++) w.Byte(b[k]); }
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
        }

        static ulong _dadLogged;

        /// Duplicate address detection found another node using one of our addresses.
        static void LogDadFailed()
        {
            var w = Log.Begin(LogLevel.Info, stackalloc byte[120]);
            w.Str("net: eth0 IPv6 duplicate address ");
            Span<byte> b = stackalloc byte[48];
            int n = Stack.LastDadFailed.Format(b); for (int k = 0; k < n; k++) w.Byte(b[k]);
            w.Str(" detected: not used");
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
        }

        static void LogAddress(string how)
        {
            var w = Log.Begin(LogLevel.Info, stackalloc byte[120]);
            w.Str("net: eth0 "); Span<byte> b = stackalloc byte[16];
            int n = Wire.FormatIp(Eth.Addr, b); for (int i = 0; i < n; i++) w.Byte(b[i]);
            w.Byte((byte)'/'); w.Udec((ulong)Eth.PrefixLen); w.Str(" gw ");
            n = Wire.FormatIp(Eth.Gateway, b); for (int i = 0; i < n; i++) w.Byte(b[i]);
            w.Str(" ("); w.Str(how); w.Str(")");
            if (Log.Enabled(LogLevel.Info)) Log.End(ref w);
        }

        static void ParseOptions(byte* s, ref uint ip, ref int prefix, ref uint gw, ref uint dns, ref bool off)
        {
            int i = 0;
            while (s[i] != 0)
            {
                while (s[i] == ' ') i++;
                int start = i;
                while (s[i] != 0 && s[i] != ' ') i++;
                var word = new ReadOnlySpan<byte>(s + start, i - start);
                if (Wire.StartsWith(word, "net.ip="u8))
                {
                    var v = word.Slice(7);
                    int slash = -1; for (int k = 0; k < v.Length; k++) if (v[k] == '/') { slash = k; break; }
                    if (slash >= 0) { prefix = Dec(v.Slice(slash + 1)); v = v.Slice(0, slash); if (prefix > 32) prefix = 24; }
                    ip = ParseIp(v);
                }
                else if (Wire.StartsWith(word, "net.gw="u8)) gw = ParseIp(word.Slice(7));
                else if (Wire.StartsWith(word, "net.dns="u8)) dns = ParseIp(word.Slice(8));
                else if (Wire.StartsWith(word, "net=none"u8) && word.Length == 8) off = true;
                else if (Wire.StartsWith(word, "net.ip6="u8))
                {
                    var v = word.Slice(8);
                    int slash = -1; for (int k = 0; k < v.Length; k++) if (v[k] == '/') { slash = k; break; }
                    int p6 = 64;
                    if (slash >= 0) { p6 = Dec(v.Slice(slash + 1)); v = v.Slice(0, slash); if (p6 < 1 || p6 > 128) p6 = 64; }
                    if (IpAddr.TryParse(v, out IpAddr a6) && !a6.IsV4 && !a6.IsMulticast && !a6.IsUnspecified) { _ip6 = a6; _ip6Prefix = p6; }
                }
                else if (Wire.StartsWith(word, "net.gw6="u8))
                {
                    if (IpAddr.TryParse(word.Slice(8), out IpAddr g6) && !g6.IsV4 && !g6.IsMulticast) _gw6 = g6;
                }
            }
        }

        static int Dec(ReadOnlySpan<byte> v) { int r = 0; for (int i = 0; i < v.Length && v[i] >= '0' && v[i] <= '9' && r < 100000; i++) r = r * 10 + v[i] - '0'; return r; }

        /// Dotted quad to a host-order address (0 when malformed).
        public static uint ParseIp(ReadOnlySpan<byte> v)
        {
            uint a = 0; int part = 0, parts = 0; bool digit = false;
            for (int i = 0; i <= v.Length; i++)
            {
                if (i == v.Length || v[i] == '.')
                {
                    if (!digit || part > 255) return 0;
                    a = a << 8 | (uint)part; parts++; part = 0; digit = false;
                    continue;
                }
                if (v[i] < '0' || v[i] > '9') return 0;
                part = part * 10 + v[i] - '0'; digit = true;
                if (part > 255) return 0;
            }
            return parts == 4 ? a : 0;
        }

        /// Before the VM powers off at the program's exit: gives eth0 up to 2 s to send the
        /// frames still queued and TCP connections to get their data acknowledged (Linux
        /// would go on sending for the orphaned sockets; a powered-off VM cannot). Sockets
        /// still open are closed first (FIN, as the program's exit would close them on
        /// Linux). Must run on a thread that may block.
        public static void DrainBeforeExit()
        {
            if (Stack == null || Eth == null || _dev == null || Scheduler.Current == null) return;
            Enter();
            int closed = CloseAllForExit();
            ulong deadline = Clock.MonotonicNs() + 2_000_000_000UL;
            int pending = 0;
            while (Clock.MonotonicNs() < deadline)
            {
                pending = _link.Backlog || _dev.Transmitting ? 1 : 0;
                for (TcpConnection c = Stack.TcpList; c != null; c = c.AllNext)
                    if (!Stack.IsLocal(c.RemoteAddr) && c.Synchronized
                        && c.State != TcpState.TimeWait && c.SndMax != c.SndUna) pending++;
                if (pending == 0) break;
                Kick();
                Scheduler.Block(Clock.MonotonicNs() + 5_000_000, false);
            }
            if (closed > 0 && Log.Enabled(LogLevel.Info))
            {
                var w = Log.Begin(LogLevel.Info, stackalloc byte[128]);
                w.Str("net: closed "); w.Dec(closed); w.Str(" TCP socket(s) at exit; ");
                if (pending == 0) w.Str("all acknowledged"); else { w.Dec(pending); w.Str(" still unacknowledged after 2 s"); }
                Log.End(ref w);
            }
        }

        /// Closes every TCP connection a socket still holds (the program's and any other
        /// process's: the VM is ending), as each socket's close(2) would. Returns how many.
        static int CloseAllForExit()
        {
            int n = 0;
            for (TcpConnection c = Stack.TcpList; c != null; c = c.AllNext) if (c.Owner is InetSocket) n++;
            if (n == 0) return 0;
            // Closing a listener drops its children from the list: take the sockets first.
            var owners = new InetSocket[n];
            int k = 0;
            for (TcpConnection c = Stack.TcpList; c != null && k < n; c = c.AllNext) if (c.Owner is InetSocket s) owners[k++] = s;
            for (int i = 0; i < k; i++) owners[i].CloseForExit();
            Stack.Pump();
            return k;
        }

        static ulong _dumpAt;

        /// log=3: memory in use and each TCP connection's state once a second (debugging stalls
        /// and leaks: ServiceBootTests reads the memory line around a run of requests).
        static void Dump()
        {
            var m = Log.Begin(LogLevel.Debug, stackalloc byte[120]);
            m.Str("net: memory in use "); m.Udec((PhysicalMemory.TotalBytes - PhysicalMemory.FreeBytes) >> 10);
            m.Str(" KiB, managed heap "); m.Udec(Runtime.GcHeap.BytesInUse >> 10); m.Str(" KiB, tcp connections "); m.Udec((ulong)Stack.TcpCount);
            Log.End(ref m);
            for (TcpConnection c = Stack.TcpList; c != null; c = c.AllNext)
            {
                var w = Log.Begin(LogLevel.Debug, stackalloc byte[200]);
                w.Str("tcp "); w.Udec((ulong)c.LocalPort); w.Str("->"); w.Udec((ulong)c.RemotePort);
                w.Str(" st "); w.Udec((ulong)c.State); w.Str(" una "); w.Udec(c.SndUna); w.Str(" nxt "); w.Udec(c.SndNxt);
                w.Str(" max "); w.Udec(c.SndMax); w.Str(" wnd "); w.Udec(c.SndWnd); w.Str(" cwnd "); w.Udec(c.Cwnd);
                w.Str(" q "); w.Udec((ulong)c.SendQueued); w.Str(" unread "); w.Udec((ulong)c.Unread); w.Str(" rnxt "); w.Udec(c.RcvNxt);
                w.Str(" t "); w.Udec(c.NextTimer());
                Log.End(ref w);
            }
        }

        // The network profile (docs/net.md "Profiling"): at log=3, once a second while frames
        // move, what the last interval cost: busy time (not halted), netd's share and its
        // time inside Stack.Input, and the events that cost VM exits under TCG.
        static ulong _profCork, _profAt, _profNs, _profIdle, _profNetd, _profInput, _profLoops, _profIrq, _profRx, _profTx, _profTxn, _profRxn, _profSmall, _profGc, _profGcNs;
        static ulong _inputNs, _netdLoops;

        static void Profile()
        {
            ulong now = Clock.MonotonicNs();
            _profAt = Stack.Now + 1000;
            ulong netd = Scheduler.CpuTime(Scheduler.Current);
            ulong rx = _dev.FramesIn, tx = _dev.FramesOut;
            if (rx != _profRx || tx != _profTx)
            {
                ulong el = now - _profNs, idle = Scheduler.IdleNs - _profIdle;
                var w = Log.Begin(LogLevel.Debug, stackalloc byte[320]);
                w.Str("netprof: ms "); w.Udec(el / 1000000);
                w.Str(" busy "); w.Udec((el - idle) / 1000000);
                w.Str(" netd "); w.Udec((netd - _profNetd) / 1000000);
                w.Str(" input "); w.Udec((_inputNs - _profInput) / 1000000);
                w.Str(" loops "); w.Udec(_netdLoops - _profLoops);
                w.Str(" irq "); w.Udec(_dev.Interrupts - _profIrq);
                w.Str(" rx "); w.Udec(rx - _profRx);
                w.Str(" tx "); w.Udec(tx - _profTx);
                w.Str(" small "); w.Udec(_link.SmallFrames - _profSmall);
                w.Str(" txkick "); w.Udec(_dev.TxNotifies - _profTxn);
                w.Str(" corked "); w.Udec(Stack.AutocorkHolds - _profCork);
                w.Str(" rxkick "); w.Udec(_dev.RxNotifies - _profRxn);
                w.Str(" gc "); w.Udec(Runtime.Collector.Collections - _profGc);
                w.Str(" gc-ms "); w.Udec((Runtime.Collector.TotalPauseNs - _profGcNs) / 1000000);
                Log.End(ref w);
            }
            _profNs = now; _profIdle = Scheduler.IdleNs; _profNetd = netd; _profInput = _inputNs; _profLoops = _netdLoops;
            _profIrq = _dev.Interrupts; _profRx = rx; _profTx = tx; _profTxn = _dev.TxNotifies; _profRxn = _dev.RxNotifies; _profSmall = _link.SmallFrames; _profCork = Stack.AutocorkHolds;
            _profGc = Runtime.Collector.Collections; _profGcNs = Runtime.Collector.TotalPauseNs;
        }

        static int _lastTcpCount;
        static ulong _idleReportAt;

        /// log=3: half a second after the last TCP connection went (listeners stay), a
        /// collection and the memory in use (ServiceBootTests compares these figures around
        /// thousands of requests: nothing a connection allocated may stay). Returns when it
        /// is due, 0 when none is.
        static ulong IdleReport()
        {
            int n = Stack.TcpCount;
            if (n == 0 && _lastTcpCount > 0) _idleReportAt = Stack.Now + 500;
            else if (n > 0) _idleReportAt = 0;
            _lastTcpCount = n;
            if (_idleReportAt == 0 || Stack.Now < _idleReportAt) return _idleReportAt;
            _idleReportAt = 0;
            Runtime.Collector.TryCollect();
            var w = Log.Begin(LogLevel.Debug, stackalloc byte[120]);
            w.Str("net: no connections; memory in use "); w.Udec((PhysicalMemory.TotalBytes - PhysicalMemory.FreeBytes) >> 10);
            w.Str(" KiB, managed heap "); w.Udec(Runtime.GcHeap.BytesInUse >> 10); w.Str(" KiB");
            Log.End(ref w);
            return 0;
        }

        static void Kick() { _kicked = true; _netd.WakeAll(); }

        /// Sets the stack's clock before a call into it from a socket.
        /// Also wakes netd when it sleeps past the next 20 ms: the call may arm a timer
        /// (a retransmission, a delayed ACK) that netd must run.
        public static void Enter()
        {
            Stack.Now = NowMs();
            if (_netdSleepsUntil == ulong.MaxValue || _netdSleepsUntil > Stack.Now + 20) Kick();
        }
        static ulong _netdSleepsUntil;

        /// The stack's thread: received frames in, queued frames out, timers. While TCP
        /// connections exist it looks at least every 20 ms, so timers that socket calls arm
        /// (delayed ACKs, retransmissions) need not wake it.
        static void Netd(ulong arg)
        {
            byte[] frame = _dev != null ? new byte[VirtioNet.MaxFrame] : null;
            while (true)
            {
                _kicked = false;
                Stack.Now = NowMs();
                _netdLoops++;
                if (_dev != null)
                {
                    int budget = 256;
                    ulong t0 = Clock.MonotonicNs();
                    // One batch: the device is notified once for every frame it sends out,
                    // and TCP's ACKs for in-order data wait until the batch is in.
                    _dev.HoldNotify();
                    Stack.DeferAcks = true;
                    for (int n; budget-- > 0 && (n = _dev.PeekFrame(out byte* at, out bool ok)) != 0;)
                    {
                        if (n > 0) { Stack.Input(Eth, new ReadOnlySpan<byte>(at, n), ok); _dev.ReleaseFrame(); continue; }
                        n = _dev.TryReceive(frame, out ok);        // over several buffers: joined in a copy
                        if (n > 0) Stack.Input(Eth, new ReadOnlySpan<byte>(frame, 0, n), ok);
                    }
                    Stack.DeferAcks = false;
                    Stack.FlushAcks();
                    _link.Flush();
                    if (Stack.HasCorked) { Stack.PushCorked(); _link.Flush(); }
                    _dev.ReleaseNotify();
                    _inputNs += Clock.MonotonicNs() - t0;
                }
                Stack.Now = NowMs();
                ulong next = Stack.NextTimer();
                if (next != 0 && next <= Stack.Now)
                {
                    _dev?.HoldNotify();
                    Stack.Tick();
                    if (_link != null) { _link.Flush(); _dev.ReleaseNotify(); }
                    next = Stack.NextTimer();
                }
                if (Stack.DnsChanged && _programStarted) ResolvConf.Update(Stack);   // a lease or RA after WaitReady
                if (Stack.DadFailures != _dadLogged) { _dadLogged = Stack.DadFailures; LogDadFailed(); }
                if (_kicked || _dev != null && _dev.FrameWaiting) { Scheduler.Yield(); continue; }
                if (Stack.TcpCount > 0) { ulong cap = Stack.Now + 20; if (next == 0 || next > cap) next = cap; }
                if (Log.Enabled(LogLevel.Debug) && Stack.Now >= _dumpAt) { _dumpAt = Stack.Now + 1000; Dump(); }
                if (Log.Enabled(LogLevel.Debug) && _dev != null && Stack.Now >= _profAt) Profile();
                if (Log.Enabled(LogLevel.Debug))
                {
                    ulong report = IdleReport();
                    if (report != 0 && (next == 0 || report < next)) next = report;
                }
                ulong wake = next == 0 ? 0 : next * 1000000;
                if (wake != 0 && wake <= Clock.MonotonicNs()) continue;
                if (_kicked) continue;
                if (_dev != null && _dev.ArmReceive()) continue;    // frames came while receive interrupts were off
                _netdSleepsUntil = next == 0 ? ulong.MaxValue : next;
                _netd.Wait(wake, false);
                _netdSleepsUntil = 0;
            }
        }
    }
}
