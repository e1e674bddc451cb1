#!/usr/bin/env bash
# Several vCPUs, ours vs the Linux guest at the same -smp (MTTCG: -accel tcg,thread=multi):
#   - parallel: 4 compute-bound threads (bench/progs/parallel.c), wall ms, at 1, 2 and 4 vCPUs;
#   - futex ping-pong round trip with the two threads pinned to different CPUs (futex.c pin).
# Medians of SMP_RUNS (default 3). Writes bench/build/smp.md. On a machine whose cores are
# shared, the speedups are bounded by the cores QEMU's vCPU threads really get.
#   bench/smp.sh             # ours and Linux (~5 min)
#   SMP_SKIP_LINUX=1 bench/smp.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
ukpack=${UKPACK:-$root/out/ukpack}
progs=$("$here/progs/build.sh")
work=$here/build/smp
mkdir -p "$work"
runs=${SMP_RUNS:-3}
iters=${SMP_ITERS:-20000000}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
metric() { awk -v m="$1" '$1 == m {print $2}'; }

ours() {   # ours N PROG METRIC ARGS...
  local n=$1 prog=$2 m=$3; shift 3
  "$ukpack" build "$progs/$prog" -o "$work/$prog.img" -- "$@" >/dev/null
  for _ in $(seq "$runs"); do "$ukpack" run "$work/$prog.img" --smp "$n" --timeout 600 | metric "$m"; done | median
}
linux() {  # linux N PROG METRIC ARGS...
  local n=$1 prog=$2 m=$3; shift 3
  [[ -n ${SMP_SKIP_LINUX:-} ]] && { echo "-"; return; }
  for _ in $(seq "$runs"); do LG_SMP=$n "$here/linux-guest.sh" run "$progs/$prog" "$@" | tr -d '\r' | metric "$m"; done | median
}

out=$here/build/smp.md
{
  echo "Measured $(date -u +%F) on $(nproc) host cores, $(qemu-system-x86_64 --version | head -1), TCG (MTTCG at -smp > 1);"
  echo "kernel $(git -C "$root" rev-parse --short HEAD); medians of $runs runs."
  echo
  echo "| measurement | vCPUs | ours | Linux guest | ours / Linux |"
  echo "| --- | --- | --- | --- | --- |"
  for n in 1 2 4; do
    o=$(ours "$n" parallel parallel_ms "$iters" 4); l=$(linux "$n" parallel parallel_ms "$iters" 4)
    echo "| 4 compute-bound threads, wall ms | $n | $o | $l | $(awk -v a="$o" -v b="$l" 'BEGIN {if (b+0 > 0) printf "%.2fx", a/b; else print "-"}') |"
  done
  for n in 1 2; do
    o=$(ours "$n" futex futex_us_per_round_trip 20000 pin); l=$(linux "$n" futex futex_us_per_round_trip 20000 pin)
    echo "| futex ping-pong round trip, µs (threads pinned to CPUs 0 and 1) | $n | $o | $l | $(awk -v a="$o" -v b="$l" 'BEGIN {if (b+0 > 0) printf "%.2fx", a/b; else print "-"}') |"
  done
} | tee "$out"
