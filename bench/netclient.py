#!/usr/bin/python3
"""The host side of the network rows: drives bench/progs/netbench in a guest through
127.0.0.1:PORT (the user network's port forward) and prints `name value` lines.

    netclient.py PORT [STREAM_MIB [CONNS [RR [REQUESTS]]]]

net_h2g_mib_per_s / net_g2h_mib_per_s: one TCP stream of STREAM_MIB each way, timed on the
host from connect to the guest's last byte (or its count of what it got);
net_conns_per_s: CONNS sequential connections, each connect, "ping", "pong", close;
net_rr_p50_us / net_rr_p99_us: RR request/response round trips of 16 bytes on one
connection, one at a time; net_mem_*: the guest's MemTotal - MemFree before and after
REQUESTS more such requests (64 in flight), and their rate as net_pipelined_rps.
With NETCLIENT_QEMU_PID set, also the CPU time that QEMU process (all its threads: the
guest, its devices and the user network) spent in each phase, as net_PHASE_cpu_ms: a
figure the load of a shared host disturbs far less than wall time.
"""
import os
import socket
import sys
import time

qemu_pid = os.environ.get("NETCLIENT_QEMU_PID")


def cpu_ms():
    """utime + stime of the QEMU process, in ms (0 without a pid)."""
    if not qemu_pid:
        return 0
    with open(f"/proc/{qemu_pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def phase_cpu(name, since):
    if qemu_pid:
        out(f"net_{name}_cpu_ms", f"{cpu_ms() - since:.0f}")

port = int(sys.argv[1])
stream_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 32
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 300
rr = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
requests = int(sys.argv[5]) if len(sys.argv) > 5 else 1000000


def connect():
    c = socket.create_connection(("127.0.0.1", port), timeout=120)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def read_all(c):
    out = b""
    while True:
        d = c.recv(65536)
        if not d:
            return out
        out += d


def command(line):
    c = connect()
    c.sendall(line.encode() + b"\n")
    c.shutdown(socket.SHUT_WR)
    r = read_all(c).decode()
    c.close()
    return r


def out(name, value):
    print(f"{name} {value}", flush=True)


def exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError("connection closed")
        b += d
    return b


size = stream_mib << 20
chunk = b"y" * 65536

# host -> guest
c0 = cpu_ms()
t0 = time.monotonic()
c = connect()
c.sendall(b"sink\n")
left = size
while left > 0:
    n = c.send(chunk[:min(left, len(chunk))])
    left -= n
c.shutdown(socket.SHUT_WR)
got = read_all(c).decode().strip()
t = time.monotonic() - t0
c.close()
if got != f"got {size}":
    sys.exit(f"netclient: host->guest: the guest answered {got!r}, expected 'got {size}'")
out("net_h2g_mib_per_s", f"{stream_mib / t:.2f}")
phase_cpu("h2g", c0)

# guest -> host
c0 = cpu_ms()
t0 = time.monotonic()
c = connect()
c.sendall(f"source {size}\n".encode())
total = 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    total += len(d)
t = time.monotonic() - t0
c.close()
if total != size:
    sys.exit(f"netclient: guest->host: {total} bytes, expected {size}")
out("net_g2h_mib_per_s", f"{stream_mib / t:.2f}")
phase_cpu("g2h", c0)

# connections per second
c0 = cpu_ms()
t0 = time.monotonic()
for i in range(conns):
    c = connect()
    c.sendall(b"ping\n")
    if exact(c, 5) != b"pong\n":
        sys.exit("netclient: bad pong")
    c.close()
out("net_conns_per_s", f"{conns / (time.monotonic() - t0):.1f}")
phase_cpu("conns", c0)

# request latency, one at a time
c = connect()
c.sendall(b"rr\n")
req = b"q" * 16
lat = []
for i in range(rr):
    t0 = time.perf_counter()
    c.sendall(req)
    if exact(c, 16)[:1] != b"R":
        sys.exit("netclient: bad answer")
    lat.append((time.perf_counter() - t0) * 1e6)
c.close()
lat.sort()
out("net_rr_p50_us", f"{lat[len(lat) // 2]:.0f}")
out("net_rr_p99_us", f"{lat[min(len(lat) - 1, len(lat) * 99 // 100)]:.0f}")

# memory before and after REQUESTS requests, 64 in flight
before = int(command("mem").split()[1])
c = connect()
c.sendall(b"rr\n")
window = 64
batch = req * window
c0 = cpu_ms()
t0 = time.monotonic()
done = 0
while done < requests:
    k = min(window, requests - done)
    c.sendall(batch[:16 * k])
    exact(c, 16 * k)
    done += k
t = time.monotonic() - t0
phase_cpu("requests", c0)
c.close()
after = int(command("mem").split()[1])
out("net_pipelined_rps", f"{requests / t:.0f}")
out("net_mem_before_kib", before)
out("net_mem_after_kib", after)
out("net_mem_growth_kib", after - before)
command("quit")
