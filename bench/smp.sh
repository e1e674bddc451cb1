#!/usr/bin/env bash
# Several vCPUs, ours vs the Linux guest at the same -smp (MTTCG: -accel tcg,thread=multi):
#   - parallel: 4 compute-bound threads (bench/progs/parallel.c), wall ms, at 1, 2 and 4 vCPUs;
#   - futex ping-pong round trip with the two threads pinned to different CPUs (futex.c pin);
#   - Debian's xz -T2 -1 (12 MiB of text) and sort --parallel=2 (24 MiB of text, in memory),
#     dynamically linked (glibc), timed by bench/progs/timecmd.c, at 1, 2 and 4 vCPUs;
#   - nginx (master + 2 workers) under wrk and redis-server --io-threads 2 under
#     redis-benchmark, through bench/services.sh (SVC_SMP, one round), at 1, 2 and 4 vCPUs.
# Our kernel runs with -v --log 3 for the xz, sort and service rows: the big kernel lock's
# figures (acquisitions, contended ones, ms spent spinning, summed over the CPUs) go in
# the table's last column.
# Medians of SMP_RUNS (default 3; the xz, sort and service rows run once). Writes
# bench/build/smp.md. On a machine whose cores are shared, the speedups are bounded by the
# cores QEMU's vCPU threads really get.
#   bench/smp.sh             # ours and Linux (~30 min)
#   SMP_SKIP_LINUX=1 bench/smp.sh
#   SMP_PARTS="compute tools services" bench/smp.sh   # the default: all three
#   SMP_CPUS="2 4" ...       # the vCPU counts of the xz, sort and service rows (default 1 2 4)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
ukpack=${UKPACK:-$root/out/ukpack}
progs=$("$here/progs/build.sh")
work=$here/build/smp
mkdir -p "$work"
runs=${SMP_RUNS:-3}
iters=${SMP_ITERS:-20000000}

parts=${SMP_PARTS:-compute tools services}
cpus=${SMP_CPUS:-1 2 4}
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

# The xz/sort tree: the two binaries, 24 MiB of generated text (12 MiB for xz) and /tmp. The
# Linux guest's copy also gets their libraries (ldd); ukpack adds them itself.
tree=$work/tools-fs
if [[ ! -f $tree/xz.txt ]]; then
  rm -rf "$tree" "$tree-linux"; mkdir -p "$tree/usr/bin" "$tree/tmp"
  cp /usr/bin/xz /usr/bin/sort "$tree/usr/bin/"
  /usr/bin/python3 -c '
import random, sys
r = random.Random(16)
words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 9))) for _ in range(5000)]
with open(sys.argv[1] + "/data.txt", "w") as f:
    n = 0
    while n < 24 << 20:
        line = " ".join(r.choice(words) for _ in range(r.randint(3, 10))) + " %d\n" % r.randint(0, 10**9)
        f.write(line); n += len(line)
' "$tree"
  head -c $((12 << 20)) "$tree/data.txt" >"$tree/xz.txt"
  cp -a "$tree" "$tree-linux"
  for lib in $({ ldd /usr/bin/xz; ldd /usr/bin/sort; } | grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$tree-linux$(dirname "$lib")"; cp -L "$lib" "$tree-linux$lib"
  done
fi
# bkl_sum LOG: "A acquisitions, C contended, W ms waited" over the CPUs of a -v --log 3 run.
bkl_sum() { awk '/bkl: cpu [0-9]+:/ { a += $(NF-6); c += $(NF-4); w += $(NF-1); k++ } END { if (k) printf "%d acquisitions, %d contended, %.0f ms waited\n", a, c, w / 1000; else print "-" }' "$1"; }
# tool_ours N NAME ARGS...: one run of timecmd NAME /dev/null ARGS under our kernel; prints
# "MS|BKL".
tool_ours() {
  local n=$1 name=$2; shift 2
  "$ukpack" build "$progs/timecmd" --fs "$tree" -o "$work/$name.img" -- "$name" /dev/null "$@" >/dev/null
  local ms
  ms=$("$ukpack" run "$work/$name.img" --smp "$n" -v --log 3 --timeout 900 2>"$work/$name-$n.log" | metric "${name}_ms")
  echo "${ms:-n/a}|$(bkl_sum "$work/$name-$n.log")"
}
tool_linux() {
  local n=$1 name=$2; shift 2
  [[ -n ${SMP_SKIP_LINUX:-} ]] && { echo "-"; return; }
  LG_SMP=$n LG_TREE=$tree-linux LINUX_TIMEOUT=900 "$here/linux-guest.sh" run "$progs/timecmd" "$name" /dev/null "$@" | tr -d '\r' | metric "${name}_ms"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a+0 > 0 && b+0 > 0) printf "%.2fx", a/b; else print "-"}'; }

out=$here/build/smp.md
{
  echo "Measured $(date -u +%F) on $(nproc) host cores, $(qemu-system-x86_64 --version | head -1), TCG (MTTCG at -smp > 1);"
  echo "kernel $(git -C "$root" rev-parse --short HEAD); medians of $runs runs (the compute rows; the others ran once)."
  echo
  echo "| measurement | vCPUs | ours | Linux guest | ours / Linux | our big kernel lock (summed over the CPUs) |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for n in 1 2 4; do
    [[ " $parts " == *" compute "* ]] || break
    o=$(ours "$n" parallel parallel_ms "$iters" 4); l=$(linux "$n" parallel parallel_ms "$iters" 4)
    echo "| 4 compute-bound threads, wall ms | $n | $o | $l | $(awk -v a="$o" -v b="$l" 'BEGIN {if (b+0 > 0) printf "%.2fx", a/b; else print "-"}') | - |"
  done
  for n in 1 2; do
    [[ " $parts " == *" compute "* ]] || break
    o=$(ours "$n" futex futex_us_per_round_trip 20000 pin); l=$(linux "$n" futex futex_us_per_round_trip 20000 pin)
    echo "| futex ping-pong round trip, µs (threads pinned to CPUs 0 and 1) | $n | $o | $l | $(awk -v a="$o" -v b="$l" 'BEGIN {if (b+0 > 0) printf "%.2fx", a/b; else print "-"}') | - |"
  done
  if [[ " $parts " == *" tools "* ]]; then
    for n in $cpus; do
      IFS='|' read -r o b < <(tool_ours "$n" xz /usr/bin/xz -T2 -1 -c /xz.txt); l=$(tool_linux "$n" xz /usr/bin/xz -T2 -1 -c /xz.txt)
      echo "| xz -T2 -1, 12 MiB of text, wall ms | $n | $o | $l | $(ratio "$o" "$l") | $b |"
    done
    for n in $cpus; do
      IFS='|' read -r o b < <(tool_ours "$n" sort /usr/bin/sort --parallel=2 --buffer-size=64M --temporary-directory=/tmp --output=/dev/null /data.txt)
      l=$(tool_linux "$n" sort /usr/bin/sort --parallel=2 --buffer-size=64M --temporary-directory=/tmp --output=/dev/null /data.txt)
      echo "| sort --parallel=2, 24 MiB of text, wall ms | $n | $o | $l | $(ratio "$o" "$l") | $b |"
    done
  fi
  if [[ " $parts " == *" services "* ]]; then
    for n in $cpus; do
      skip=; [[ -n ${SMP_SKIP_LINUX:-} ]] && skip=1
      SVC_SMP=$n SVC_ROUNDS=1 SVC_REDIS_IO_THREADS=2 SVC_UKPACK_ARGS="-v --log 3" BENCH_SKIP_LINUX=$skip BENCH_BUILD=$work \
        "$here/services.sh" >"$work/services-$n.md" 2>"$work/services-$n.err" || true
      for f in nginx redis; do cp "$work/svc/$f-ours.log" "$work/$f-ours-$n.log" 2>/dev/null; done
      cell() { awk -F' [|] ' -v m="$1" -v c="$2" 'index($1, m) { print $c }' "$work/services-$n.md"; }
      b=$(bkl_sum "$work/svc/nginx-ours.log")
      o=$(cell "nginx: wrk" 2); l=$(cell "nginx: wrk" 3)
      echo "| nginx (2 workers): wrk requests/s (higher is better) | $n | $o | $l | $(ratio "$o" "$l") | $b |"
      b=$(bkl_sum "$work/svc/redis-ours.log")
      o=$(cell "redis: SET" 2); l=$(cell "redis: SET" 3)
      echo "| redis-server --io-threads 2: SET requests/s (higher is better) | $n | $o | $l | $(ratio "$o" "$l") | $b |"
      o=$(cell "redis: GET" 2); l=$(cell "redis: GET" 3)
      echo "| redis-server --io-threads 2: GET requests/s (higher is better) | $n | $o | $l | $(ratio "$o" "$l") | same run |"
    done
  fi
} | tee "$out"
