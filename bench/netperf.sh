#!/usr/bin/env bash
# A quicker loop than run.sh's network rows, for profiling the network path: netbench
# (bench/progs/netbench.c) under our kernel and/or the Linux guest on -M pc, driven by
# bench/netclient.py with smaller defaults, printing the client's `name value` lines per
# round. Our kernel runs with `--log 3 -v`, so with net.prof=1 in NETPERF_APPEND... (see
# docs/net.md "Profiling") its counters land in bench/build/netperf-ours-N.log.
#
#   bench/netperf.sh [ours|linux|both]    env: NETPERF_ROUNDS=1, NETPERF_ARGS="16 200 2000 100000"
#                                              (MiB, connections, round trips, pipelined requests)
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BUILD=${BENCH_BUILD:-$BENCH/build}
UKPACK=${UKPACK:-$ROOT/out/ukpack}
WHO=${1:-both}
ROUNDS=${NETPERF_ROUNDS:-1}
read -r -a ARGS <<<"${NETPERF_ARGS:-16 200 2000 100000}"
export BENCH_BUILD=$BUILD
# shellcheck source=linux-guest.sh
source "$BENCH/linux-guest.sh"
set +e
NET_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
PROGS=$("$BENCH/progs/build.sh" "$BUILD") || exit 1
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
client() {   # client LOG PID PORT OUT
  until grep -q 'netbench listening' "$1" 2>/dev/null; do
    kill -0 "$2" 2>/dev/null || { echo "guest ended: $(tail -c 200 "$1")"; return 1; }
    sleep 0.2
  done
  NETCLIENT_QEMU_PID=$(qemu_under "$2") timeout 900 /usr/bin/python3 "$BENCH/netclient.py" "$3" "${ARGS[@]}" >"$4" 2>&1
  cat "$4"
}
if [[ $WHO != linux ]]; then "$UKPACK" build "$PROGS/netbench" -o "$BUILD/netperf.img" >/dev/null || exit 1; fi
for ((r = 1; r <= ROUNDS; r++)); do
  if [[ $WHO != linux ]]; then
    port=$(free_port); log=$BUILD/netperf-ours-$r.log
    : >"$log"
    timeout 900 "$UKPACK" run "$BUILD/netperf.img" -M pc -p "$port:9000" --timeout 900 ${NETPERF_UKPACK_ARGS:-} -- 9000 >"$log" 2>&1 </dev/null & pid=$!
    echo "== ours round $r"; client "$log" "$pid" "$port" "$BUILD/netperf-ours-$r.out" || kill "$pid"
    wait "$pid"
  fi
  if [[ $WHO != ours ]]; then
    port=$(free_port); log=$BUILD/netperf-linux-$r.log
    initrd=$(LG_MODULES=$NET_MODULES lg_initrd netbench) || exit 1
    : >"$log"
    LG_NET="$port:9000" LINUX_TIMEOUT=900 lg_qemu "$(lg_kernel)" "$initrd" /netbench 9000 10.0.2.15/24 10.0.2.2 >"$log" 2>&1 & pid=$!
    echo "== linux round $r"; client "$log" "$pid" "$port" "$BUILD/netperf-linux-$r.out" || kill "$pid"
    wait "$pid"
  fi
done
