#!/usr/bin/env bash
# Benchmarks: our kernel vs a QEMU floor and vs a Linux guest, all under the
# same QEMU (TCG), measured in this one run. Prints a markdown table (also
# saved to bench/build/results.md). Missing prerequisites give "n/a (reason)".
#
#   bench/run.sh     ~4 min; env: BENCH_RUNS=7 (fast timings), BENCH_LINUX_RUNS=3 (Linux
#                    boots, ~6 s each), BENCH_SKIP_LINUX=1, BENCH_TIMEOUT=120 (s per process),
#                    BENCH_SMALLFILES=10000 (files in the smallfiles workload),
#                    BENCH_BLK_RANDOM=2000 (4 KiB random reads in the disk workload),
#                    BENCH_CHURN_SCALE=100 (churn: x10k opens, x1k threads, x10k pipes/eventfds/
#                    epolls, x100k socket pairs, x10k AF_UNIX connections; 100 is the collector's
#                    acceptance run, ~10 min before the socket rows), BENCH_CHURN_TIMEOUT=1800,
#                    KERNEL_ELF=out/kernel.elf, UKPACK=out/ukpack, QEMU=qemu-system-x86_64,
#                    BENCH_SKIP_EXT4=1 (the ext4 volume table, bench/ext4.sh: ~20 min more)
#
# Timing: wall clock with date +%s%N around each QEMU process, median of the runs
# (one method for every row, so the fork/exec overhead of the loop cancels in ratios).
# Workload rows (readfile, smallfiles, threads, futex, per-call costs, blkbench) are timed inside
# the program with CLOCK_MONOTONIC: one run under our kernel, median of the Linux boots.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BENCH_BUILD:-$BENCH/build}
RUNS=${BENCH_RUNS:-7}
LRUNS=${BENCH_LINUX_RUNS:-3}
QEMU=${QEMU:-qemu-system-x86_64}
KERNEL=${KERNEL_ELF:-out/kernel.elf}
UKPACK=${UKPACK:-out/ukpack}
TIMEOUT=${BENCH_TIMEOUT:-120}   # per QEMU/ukpack process; a timeout makes the row n/a
NSMALL=${BENCH_SMALLFILES:-10000}
CHURN_SCALE=${BENCH_CHURN_SCALE:-100}
CHURN_TIMEOUT=${BENCH_CHURN_TIMEOUT:-1800}
export BENCH_BUILD=$BUILD
mkdir -p "$BUILD"
# shellcheck source=linux-guest.sh
source "$BENCH/linux-guest.sh"
set +e +o pipefail

log() { echo "bench: $*" >&2; }
isnum() { [[ ${1:-} =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
ratio() {
  isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0 || a <= 0) { print "n/a"; exit }
    r = a / b; if (r >= 0.095) printf "%.2fx\n", r; else printf "%.3gx (1/%.0f)\n", r, 1 / r }' || echo "n/a"
}
diffms() { isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN{ printf "%+.1f ms\n", a-b }' || echo ""; }
kib() { isnum "$1" && awk -v a="$1" 'BEGIN{ if (a >= 1048576) printf "%.2f MiB\n", a/1048576; else printf "%.1f KiB\n", a/1024 }' || echo "$1"; }

# time_ms CMD...: one run, stdout+stderr to $BUILD/last.out; sets MS (wall ms) and LAST_RC.
time_ms() {
  local t0 t1
  t0=$(date +%s%N)
  timeout "$TIMEOUT" "$@" >"$BUILD/last.out" 2>&1 </dev/null
  LAST_RC=$?
  t1=$(date +%s%N)
  MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.1f\n", (b-a)/1e6 }')
}

# median_ms N EXPECT_RC CMD...: sets MED to the median wall ms over N runs, or
# "n/a (...)" if a run's exit status is not EXPECT_RC ("any" accepts all).
median_ms() {
  local n=$1 want=$2; shift 2
  local i vals=()
  for ((i = 0; i < n; i++)); do
    time_ms "$@"
    if [[ $LAST_RC == 124 ]]; then MED="n/a (timed out after ${TIMEOUT}s)"; return; fi
    if [[ $1 == "$QEMU" ]] && grep -Eq '^qemu[-a-z0-9_]*: ' "$BUILD/last.out"; then
      MED="n/a ($(grep -Em1 '^qemu[-a-z0-9_]*: ' "$BUILD/last.out" | cut -c1-100))"; return
    fi
    if [[ $want != any && $LAST_RC != "$want" ]]; then
      MED="n/a (exit status $LAST_RC, expected $want: $(tail -c 120 "$BUILD/last.out" | tr -c '[:print:]' ' '))"; return
    fi
    vals+=("$MS")
  done
  MED=$(median "${vals[@]}")
}

# metric_of FILE NAME: the float after "NAME " in a workload's output.
metric_of() { awk -v k="$1" '{ sub(/\r$/, "") } $1 == k && $2 ~ /^-?[0-9.]+$/ { v = $2 } END { if (v != "") print v }' "$2"; }

FLOOR_ARGS=(-M microvm -accel tcg -m 512M -nodefaults -no-user-config -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4)

# ---------------------------------------------------------------- build
log "building workloads and floor kernel"
PROGS=$("$BENCH/progs/build.sh" "$BUILD" 2>&1) || { echo "bench: building progs failed: $PROGS" >&2; exit 1; }
FLOOR=$("$BENCH/floor/build.sh" "$BUILD" 2>&1) || { echo "bench: building floor failed: $FLOOR" >&2; exit 1; }
# readfile's input: 64 MiB of random bytes, generated once; the directory is the image's
# root filesystem (ukpack build --fs) and the file goes into the Linux guest's initramfs.
RFDIR=$BUILD/readfile-fs RFDATA=$BUILD/readfile-fs/readfile.dat
if [[ ! -f $RFDATA || $(stat -c %s "$RFDATA") != 67108864 ]]; then
  log "generating $RFDATA (64 MiB)"
  mkdir -p "$RFDIR" && head -c 64M /dev/urandom >"$RFDATA.tmp" && mv "$RFDATA.tmp" "$RFDATA"
fi
# blkbench's disk: a 64 MiB raw file of random bytes (the workload overwrites it; kept).
DISK=$BUILD/blk-disk.raw
NBLKRAND=${BENCH_BLK_RANDOM:-2000}
if [[ ! -f $DISK || $(stat -c %s "$DISK") != 67108864 ]]; then
  log "generating $DISK (64 MiB)"
  head -c 64M /dev/urandom >"$DISK.tmp" && mv "$DISK.tmp" "$DISK"
fi
# The Linux guest's virtio-blk driver and what it needs, in load order (Debian builds them as modules).
BLK_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk"
# stdiocat's input: 100 MiB of random bytes (about one in 256 is 0xFF, which our host
# channel escapes), generated once; and the Linux guest's virtio-console driver.
STDIO_DATA=$BUILD/stdio-100m.raw
if [[ ! -f $STDIO_DATA || $(stat -c %s "$STDIO_DATA") != 104857600 ]]; then
  log "generating $STDIO_DATA (100 MiB)"
  head -c 100M /dev/urandom >"$STDIO_DATA.tmp" && mv "$STDIO_DATA.tmp" "$STDIO_DATA"
fi
CONSOLE_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console"
# shscript's tree: the static busybox as /busybox and a 100-command script as /script.sh
# (the same two files go into the Linux guest's initramfs root).
SHDIR=$BUILD/shscript-fs
mkdir -p "$SHDIR"
cp /bin/busybox "$SHDIR/busybox" 2>/dev/null || log "no /bin/busybox (apt-get install busybox-static): shscript n/a"
for ((i = 0; i < 25; i++)); do
  echo "/busybox true"
  echo "/busybox echo line $i > /dev/null"
  echo "x=\$(/busybox echo $i)"
  echo "/busybox echo \$x | /busybox cat > /dev/null"
done >"$SHDIR/script.sh"

# ---------------------------------------------------------------- floor
log "QEMU floor ($RUNS runs)"
median_ms "$RUNS" 1 "$QEMU" "${FLOOR_ARGS[@]}" -kernel "$FLOOR"; floor_ms=$MED

# ---------------------------------------------------------------- our kernel alone
if [[ -f $KERNEL ]]; then
  log "our kernel boot->power-off ($RUNS runs)"
  median_ms "$RUNS" any "$QEMU" "${FLOOR_ARGS[@]}" -kernel "$KERNEL"; kern_ms=$MED
  kern_rc=$LAST_RC
else
  kern_ms="n/a ($KERNEL not built)"; kern_rc=
fi

# ---------------------------------------------------------------- images for our kernel
declare -A IMG IMGERR
ukpack_ok=
if [[ ! -x $UKPACK ]]; then ukpack_why="$UKPACK not built"
elif [[ ! -f $KERNEL ]]; then ukpack_why="$KERNEL not built"
else ukpack_ok=1; fi
for p in hello getppid clock compute readfile smallfiles threads futex procs shscript churn blkbench stdiocat netbench; do
  if [[ -z $ukpack_ok ]]; then IMGERR[$p]=$ukpack_why; continue; fi
  fsargs=(); [[ $p == readfile ]] && fsargs=(--fs "$RFDIR"); [[ $p == shscript ]] && fsargs=(--fs "$SHDIR")
  rm -f "$BUILD/$p.img"
  if out=$(timeout "$TIMEOUT" "$UKPACK" build "$PROGS/$p" "${fsargs[@]}" -o "$BUILD/$p.img" 2>&1) && [[ -f $BUILD/$p.img ]]; then
    IMG[$p]=$BUILD/$p.img
  else
    IMGERR[$p]="ukpack build failed: $(echo "$out" | tail -1 | cut -c1-80)"
  fi
done

# ours_metrics PROG "ARGS" METRIC...: one `ukpack run` (ARGS replace the image's if
# non-empty); sets OURS[METRIC] for each metric to its value or n/a.
ours_metrics() {
  local p=$1 args=$2 k v why=; shift 2
  local -a a; read -r -a a <<<"$args"
  if [[ -z ${IMG[$p]:-} ]]; then why="n/a (${IMGERR[$p]})"
  else
    time_ms "$UKPACK" run "${IMG[$p]}" "${a[@]}"
    if [[ $LAST_RC == 124 ]]; then why="n/a (timed out after ${TIMEOUT}s)"
    elif [[ $LAST_RC != 0 ]]; then why="n/a (ukpack run exit $LAST_RC: $(tail -c 80 "$BUILD/last.out" | tr -c '[:print:]' ' '))"; fi
  fi
  for k; do
    if [[ -n $why ]]; then OURS[$k]=$why; continue; fi
    v=$(metric_of "$k" "$BUILD/last.out")
    OURS[$k]=${v:-n/a (no $k in output)}
  done
}
# linux_metrics PROG "ARGS" METRIC...: LIN[METRIC] = median over $LRUNS guest boots, or n/a.
# $LG_EXTRA_FILES (if set by the caller) goes into the initramfs.
linux_metrics() {
  local p=$1 args=$2 i k v; shift 2
  local -a a; read -r -a a <<<"$args"
  local -A vals=()
  if [[ -z $LINUX_OK ]]; then for k; do LIN[$k]="n/a ($linux_why)"; done; return; fi
  for ((i = 0; i < LRUNS; i++)); do
    lg_run "$p" "${a[@]}" 2>"$BUILD/linux.err" >"$BUILD/last.out"
    for k; do
      v=$(metric_of "$k" "$BUILD/last.out")
      if ! [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then     # a growth may be negative
        for k; do LIN[$k]="n/a (Linux guest: $( (tail -1 "$BUILD/last.out"; tail -1 "$BUILD/linux.err") | tail -1 | cut -c1-80))"; done
        return
      fi
      vals[$k]+=" $v"
    done
  done
  # shellcheck disable=SC2086
  for k; do LIN[$k]=$(median ${vals[$k]}); done
}
# workload PROG "ARGS" METRIC...: both of the above.
workload() {
  log "$1 under our kernel"
  ours_metrics "$@"
  [[ -n $LINUX_OK ]] && log "$1 under Linux guest ($LRUNS boots)"
  linux_metrics "$@"
}

# ---------------------------------------------------------------- hello world
if [[ -n ${IMG[hello]:-} ]]; then
  log "hello under our kernel ($RUNS runs)"
  median_ms "$RUNS" 0 "$UKPACK" run "${IMG[hello]}"; hello_ms=$MED
  if isnum "$hello_ms" && ! grep -q 'hello, world' "$BUILD/last.out"; then hello_ms="n/a (output lacks 'hello, world')"; fi
else
  hello_ms="n/a (${IMGERR[hello]})"
fi
# Boot with a disk (read-only) and a virtio-rng attached vs without, on microvm (ukpack's
# default): the two alternate in one loop so host load drifts alike; medians of $RUNS each.
# Then the kernel's own figure for device set-up ("virtio: N devices set up in X us",
# --log 3), median of 3 runs each.
hello_pair() {   # hello_pair [UKPACK RUN OPTIONS]: one run, sets MS; on failure sets PAIR_WHY, returns 1
  time_ms "$UKPACK" run "${IMG[hello]}" "$@"
  if [[ $LAST_RC == 124 ]]; then PAIR_WHY="timed out after ${TIMEOUT}s"
  elif [[ $LAST_RC != 0 ]] || ! grep -q 'hello, world' "$BUILD/last.out"; then
    PAIR_WHY="ukpack run $* exit $LAST_RC: $(tail -c 80 "$BUILD/last.out" | tr -c '[:print:]' ' ')"
  else return 0; fi
  return 1
}
setup_of() { sed -n 's/.*virtio: \([0-9]*\) devices set up in \([0-9]*\) us.*/\1 \2/p' "$BUILD/last.out" | tail -1; }
hellodev_ms= hellonodev_ms= helloserial_ms= setup_dev_us= setup_none_us= setup_serial_us=
if [[ -n ${IMG[hello]:-} ]]; then
  log "hello with and without --disk --rng under our kernel ($RUNS runs each, alternating)"
  # Three variants: the default (stdio over a virtio-console), --serial-stdio (no virtio
  # device at all), and the default plus a disk and a virtio-rng.
  vw=() vd=() vs=() PAIR_WHY=
  for ((i = 0; i < RUNS; i++)); do
    hello_pair || break; vw+=("$MS")
    hello_pair --disk "$DISK:ro" --rng || break; vd+=("$MS")
    hello_pair --serial-stdio || break; vs+=("$MS")
  done
  if [[ -n $PAIR_WHY ]]; then hellodev_ms="n/a ($PAIR_WHY)"; hellonodev_ms=$hellodev_ms; helloserial_ms=$hellodev_ms
  else hellodev_ms=$(median "${vd[@]}"); hellonodev_ms=$(median "${vw[@]}"); helloserial_ms=$(median "${vs[@]}"); fi
  sw=() sd=() ss=()
  for ((i = 0; i < 3; i++)); do
    time_ms "$UKPACK" run "${IMG[hello]}" --disk "$DISK:ro" --rng --log 3 -v; v=$(setup_of); [[ -n $v ]] && n_dev=${v% *} && sd+=("${v#* }")
    time_ms "$UKPACK" run "${IMG[hello]}" --log 3 -v; v=$(setup_of); [[ -n $v ]] && n_none=${v% *} && sw+=("${v#* }")
    time_ms "$UKPACK" run "${IMG[hello]}" --serial-stdio --log 3 -v; v=$(setup_of); [[ -n $v ]] && n_ser=${v% *} && ss+=("${v#* }")
  done
  ((${#sd[@]})) && setup_dev_us="$n_dev $(median "${sd[@]}")"
  ((${#sw[@]})) && setup_none_us="$n_none $(median "${sw[@]}")"
  ((${#ss[@]})) && setup_serial_us="$n_ser $(median "${ss[@]}")"
else
  hellodev_ms="n/a (${IMGERR[hello]})"; hellonodev_ms=$hellodev_ms; helloserial_ms=$hellodev_ms
fi

LINUX_OK=
if [[ -n ${BENCH_SKIP_LINUX:-} ]]; then linux_why="skipped: BENCH_SKIP_LINUX set"
elif lk=$(lg_kernel 2>"$BUILD/linux.err"); then LINUX_OK=1; linux_kernel=$lk
else linux_why="no Linux kernel: $(tail -1 "$BUILD/linux.err")"; fi

if [[ -n $LINUX_OK ]]; then
  log "hello under Linux guest ($LRUNS boots)"
  vals=()
  for ((i = 0; i < LRUNS; i++)); do
    v=$(lg_boot_time hello 2>"$BUILD/linux.err")
    isnum "$v" || { vals=(); break; }
    vals+=("$v")
  done
  if ((${#vals[@]})); then lhello_ms=$(median "${vals[@]}"); else lhello_ms="n/a (Linux guest: $(tail -1 "$BUILD/linux.err"))"; fi
else
  lhello_ms="n/a ($linux_why)"
fi

# ---------------------------------------------------------------- per-call costs
declare -A OURS LIN
workload getppid "" getppid_ns_per_call
workload clock "" clock_gettime_ns_per_call
workload compute "" compute_ns_per_iter

# ---------------------------------------------------------------- files, threads, futex
LG_EXTRA_FILES=$RFDATA workload readfile "" readfile_mib_per_s
workload smallfiles "$NSMALL" smallfiles_create_us_per_file smallfiles_stat_us_per_file \
  smallfiles_unlink_us_per_file smallfiles_us_per_file
workload threads "" threads_us_per_create_join
workload futex "" futex_us_per_round_trip
workload procs "" procs_us_per_fork_exit_wait procs_us_per_vfork_execve_wait procs_us_per_posix_spawn_wait \
  procs_us_per_cow_page procs_cow_faults_per_page procs_cow_copied_per_page
LG_EXTRA_FILES="$SHDIR/busybox $SHDIR/script.sh" workload shscript "" shscript_ms_per_100_commands

# ---------------------------------------------------------------- virtio-blk disk
# blkbench on a 64 MiB raw disk: ours on -M pc (virtio-blk-pci, the Linux guest's machine
# and transport) for the rows, and on microvm (virtio-mmio, ukpack's default) for the note;
# the Linux guest loads virtio_blk from its initramfs and gets the same file as /dev/vda.
BLK_METRICS=(blk_seq_read_mib_per_s blk_seq_write_fsync_mib_per_s blk_rand_read_iops blk_direct)
declare -A BLK_MVM
log "blkbench under our kernel, microvm"
ours_metrics blkbench "--disk $DISK -- /dev/vda $NBLKRAND" "${BLK_METRICS[@]}"
for k in "${BLK_METRICS[@]}"; do BLK_MVM[$k]=${OURS[$k]}; done
log "blkbench under our kernel, pc"
ours_metrics blkbench "--disk $DISK -M pc -- /dev/vda $NBLKRAND" "${BLK_METRICS[@]}"
[[ -n $LINUX_OK ]] && log "blkbench under Linux guest ($LRUNS boots)"
LG_DISK=$DISK LG_MODULES=$BLK_MODULES linux_metrics blkbench "/dev/vda $NBLKRAND" "${BLK_METRICS[@]}"

# ---------------------------------------------------------------- stdin -> stdout
# stdiocat copies 100 MiB from stdin to stdout, timed inside the guest from its first read
# to the end of input. Ours: `ukpack run IMG < DATA > /dev/null` (virtio-console ports,
# through ukpack's relay), microvm and pc. Linux: the same binary reads virtio-console port 1
# (fed from DATA through a unix socket) and writes port 2 (/dev/null) on pc.
ours_stdio() {   # ours_stdio FILE [RUN OPTIONS]: sets STDIO_MIBS
  local data=$1; shift
  if [[ -z ${IMG[stdiocat]:-} ]]; then STDIO_MIBS="n/a (${IMGERR[stdiocat]})"; return; fi
  timeout "$TIMEOUT" "$UKPACK" run "${IMG[stdiocat]}" "$@" <"$data" >/dev/null 2>"$BUILD/last.out"
  local rc=$? v
  v=$(metric_of stdio_mib_per_s "$BUILD/last.out")
  if [[ $rc != 0 ]]; then STDIO_MIBS="n/a (ukpack run exit $rc: $(tail -c 80 "$BUILD/last.out" | tr -c '[:print:]' ' '))"
  elif [[ $(metric_of stdio_bytes "$BUILD/last.out") != "$(stat -c %s "$data")" ]]; then STDIO_MIBS="n/a (not every byte arrived)"
  else STDIO_MIBS=${v:-n/a (no stdio_mib_per_s in output)}; fi
}
log "stdiocat (100 MiB stdin -> stdout) under our kernel, microvm and pc"
ours_stdio "$STDIO_DATA"; OURS[stdio_mib_per_s]=$STDIO_MIBS
ours_stdio "$STDIO_DATA" -M pc; STDIO_PC=$STDIO_MIBS
head -c 256K "$STDIO_DATA" >"$BUILD/stdio-256k.raw"      # the serial fallback: 256 KiB is enough
ours_stdio "$BUILD/stdio-256k.raw" --serial-stdio; STDIO_SERIAL=$STDIO_MIBS
[[ -n $LINUX_OK ]] && log "stdiocat under Linux guest ($LRUNS boots)"
LG_STDIO_IN=$STDIO_DATA LG_MODULES=$CONSOLE_MODULES linux_metrics stdiocat "vport" stdio_mib_per_s

# ---------------------------------------------------------------- network (TCP over the user network)
# netbench (bench/progs/netbench.c) serves in the guest; bench/netclient.py drives it from
# the host through a forwarded port: a stream each way, sequential connections, one-at-a-time
# request latency, and the guest's memory in use before and after BENCH_NET_REQUESTS
# pipelined requests, in BENCH_NET_ROUNDS rounds. Both guests on -M pc with the same netdev (user, hostfwd on 127.0.0.1)
# and device (virtio-net-pci, modern); the Linux guest loads virtio_net and sets eth0 up
# itself (10.0.2.15/24 via 10.0.2.2, what QEMU's DHCP would give), ours takes DHCP.
NET_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
NET_METRICS=(net_h2g_mib_per_s net_g2h_mib_per_s net_conns_per_s net_rr_p50_us net_rr_p99_us net_pipelined_rps
  net_mem_before_kib net_mem_after_kib net_mem_growth_kib net_h2g_cpu_ms net_g2h_cpu_ms net_conns_cpu_ms net_requests_cpu_ms)
NET_ARGS=("${BENCH_NET_MIB:-32}" "${BENCH_NET_CONNS:-500}" "${BENCH_NET_RR:-5000}" "${BENCH_NET_REQUESTS:-1000000}")
NET_TIMEOUT=${BENCH_NET_TIMEOUT:-900}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# net_client LOG PID PORT: waits for the guest's "netbench listening" in LOG, runs the client
# into $BUILD/net.out; sets NET_WHY on failure.
net_client() {
  local log=$1 pid=$2 port=$3 until=$((SECONDS + 300))
  NET_WHY=
  until grep -q 'netbench listening' "$log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { NET_WHY="the guest ended before listening: $(tail -c 100 "$log" | tr -c '[:print:]' ' ')"; return 1; }
    ((SECONDS < until)) || { NET_WHY="the guest did not listen within 300 s"; return 1; }
    sleep 0.2
  done
  NETCLIENT_QEMU_PID=$(qemu_under "$pid") timeout "$NET_TIMEOUT" python3 "$BENCH/netclient.py" "$port" "${NET_ARGS[@]}" >"$BUILD/net.out" 2>&1 \
    || { NET_WHY="netclient: $(tail -c 100 "$BUILD/net.out" | tr -c '[:print:]' ' ')"; return 1; }
}
net_bench_ours() {
  local port pid
  if [[ -z ${IMG[netbench]:-} ]]; then NETWHY[OURS]=${IMGERR[netbench]}; return; fi
  log "netbench under our kernel (pc), round $1"
  port=$(free_port)
  : >"$BUILD/net-ours.log"            # emptied here: the background job's own redirection may come after net_client's first look
  timeout "$NET_TIMEOUT" "$UKPACK" run "${IMG[netbench]}" -M pc -p "$port:9000" --timeout "$NET_TIMEOUT" -- 9000 \
    >"$BUILD/net-ours.log" 2>&1 </dev/null & pid=$!
  net_client "$BUILD/net-ours.log" "$pid" "$port" || kill "$pid" 2>/dev/null     # no "quit" came: end it
  wait "$pid"
  net_collect OURS "$1"
}
# net_collect ARRAY: adds this round's figures (or its failure) to NETV_ARRAY.
declare -A NETV_OURS NETV_LIN NETWHY
net_collect() {
  local k v
  for k in "${NET_METRICS[@]}"; do
    v=$(metric_of "$k" "$BUILD/net.out")
    [[ -z $NET_WHY && -z $v && $k == *_cpu_ms ]] && continue        # no QEMU pid found: that row reads n/a
    if [[ -n $NET_WHY ]] || ! [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then NETWHY[$1]="round $2: ${NET_WHY:-no $k in the client output}"; continue; fi
    if [[ $1 == OURS ]]; then NETV_OURS[$k]+=" $v"; else NETV_LIN[$k]+=" $v"; fi
  done
}
net_bench_linux() {
  local port pid kernel initrd
  if [[ -z $LINUX_OK ]]; then NETWHY[LIN]=$linux_why; return; fi
  log "netbench under Linux guest, round $1"
  NET_WHY=
  kernel=$(lg_kernel) && initrd=$(LG_MODULES=$NET_MODULES lg_initrd netbench 2>"$BUILD/linux.err") \
    || NET_WHY="initramfs: $(tail -1 "$BUILD/linux.err")"
  if [[ -z $NET_WHY ]]; then
    port=$(free_port)
    : >"$BUILD/net-linux.log"
    LG_NET="$port:9000" LINUX_TIMEOUT=$NET_TIMEOUT lg_qemu "$kernel" "$initrd" /netbench 9000 10.0.2.15/24 10.0.2.2 \
      >"$BUILD/net-linux.log" 2>&1 & pid=$!
    net_client "$BUILD/net-linux.log" "$pid" "$port" || kill "$pid" 2>/dev/null
    wait "$pid"
  fi
  net_collect LIN "$1"
}
# net_rows: the table rows (throughput-like rows read higher is better).
net_rows() {
  local n=${BENCH_NET_MIB:-32}
  msf() { isnum "$1" && echo "$1 ms" || echo "${1:-n/a}"; }
  row "TCP stream host -> guest vs Linux guest" mibs net_h2g_mib_per_s "$n MiB on one connection, timed on the host; higher is better; -M pc, user network + hostfwd, virtio-net-pci both; medians of ${BENCH_NET_ROUNDS:-3} alternating rounds"
  row "TCP stream guest -> host vs Linux guest" mibs net_g2h_mib_per_s "$n MiB; higher is better"
  row "TCP connections per second vs Linux guest" persec net_conns_per_s "${BENCH_NET_CONNS:-500} sequential connect + ping/pong + close from the host; higher is better"
  row "QEMU CPU time for the host -> guest stream vs Linux guest" msf net_h2g_cpu_ms "utime+stime of the QEMU process (guest, devices, user network) during the phase: less disturbed by the host's load than wall time"
  row "QEMU CPU time for the guest -> host stream vs Linux guest" msf net_g2h_cpu_ms "same"
  row "QEMU CPU time for those connections vs Linux guest" msf net_conns_cpu_ms "same"
  row "request latency p50 vs Linux guest" us net_rr_p50_us "${BENCH_NET_RR:-5000} 16-byte request/answer round trips on one connection, seen from the host"
  row "request latency p99 vs Linux guest" us net_rr_p99_us "same round trips"
  row "pipelined requests per second vs Linux guest" persec net_pipelined_rps "${BENCH_NET_REQUESTS:-1000000} requests, 64 in flight, one write per answer; higher is better"
  row "QEMU CPU time for those requests vs Linux guest" msf net_requests_cpu_ms "utime+stime of the QEMU process during them"
  netkib() { isnum "$1" && kib "$(awk -v a="$1" 'BEGIN { printf "%d", a * 1024 }')" || echo "$1"; }
  echo "| memory in use before -> after those requests vs Linux guest (medians) | $(netkib "${OURS[net_mem_before_kib]}") -> $(netkib "${OURS[net_mem_after_kib]}") | $(netkib "${LIN[net_mem_before_kib]}") -> $(netkib "${LIN[net_mem_after_kib]}") | | growth: ours ${OURS[net_mem_growth_kib]} KiB, Linux ${LIN[net_mem_growth_kib]} KiB (MemTotal - MemFree in the guest; ours is the figure of the kernel's 'memory in use' log line) |"
}
# Rounds alternate the two guests so that the shared machine's load drifts alike; each
# figure is the median of the rounds (BENCH_NET_ROUNDS, 3).
net_bench() {
  local r k
  for ((r = 1; r <= ${BENCH_NET_ROUNDS:-3}; r++)); do net_bench_ours "$r"; net_bench_linux "$r"; done
  for k in "${NET_METRICS[@]}"; do
    # shellcheck disable=SC2086
    if [[ -n ${NETWHY[OURS]:-} ]]; then OURS[$k]="n/a (${NETWHY[OURS]})"; else OURS[$k]=$(median ${NETV_OURS[$k]}); fi
    # shellcheck disable=SC2086
    if [[ -n ${NETWHY[LIN]:-} ]]; then LIN[$k]="n/a (Linux guest: ${NETWHY[LIN]})"; else LIN[$k]=$(median ${NETV_LIN[$k]}); fi
  done
}
net_bench

# ---------------------------------------------------------------- the kernel's collector
# churn: kernel memory in use (MemTotal - MemFree) before and after each workload, ours and
# the Linux guest's (one boot: these runs are long). gc-bench: the bare kernel's self-timed
# collection pauses and allocation rate (test=gc-bench, kernel log on the debug console).
CHURN_METRICS=(churn_open_close_growth_kib churn_threads_growth_kib churn_pipes_growth_kib
  churn_eventfds_growth_kib churn_epolls_growth_kib churn_inotifies_growth_kib churn_socketpairs_growth_kib churn_unix_conns_growth_kib
  churn_tmpfs_file_mib_growth_kib churn_forks_growth_kib churn_spawns_growth_kib)
log "churn (scale $CHURN_SCALE) under our kernel"
TIMEOUT=$CHURN_TIMEOUT ours_metrics churn "$CHURN_SCALE" "${CHURN_METRICS[@]}"
churn_ours_lines=$(grep '^churn ' "$BUILD/last.out")
[[ -n $LINUX_OK ]] && log "churn under Linux guest (1 boot)"
LRUNS=1 LINUX_TIMEOUT=$CHURN_TIMEOUT linux_metrics churn "$CHURN_SCALE" "${CHURN_METRICS[@]}"
gc_bench_out=$BUILD/gc-bench.log
if [[ -f $KERNEL ]]; then
  log "collector pauses and allocation rate (test=gc-bench)"
  timeout "$TIMEOUT" "$QEMU" -M microvm -accel tcg -cpu max -m 512M -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$KERNEL" -append "log=1 test=gc-bench" -debugcon "file:$gc_bench_out" -device isa-debug-exit,iobase=0xf4,iosize=4
fi
gcb() { sed -n "s/.*gc-bench $1=\([0-9]*\).*/\1/p" "$gc_bench_out" 2>/dev/null | head -1; }
gc_pause() { sed -n "s/.*gc-bench live=$1 pause_us=\([0-9]*\).*/\1/p" "$gc_bench_out" 2>/dev/null | head -1; }

# ---------------------------------------------------------------- memory after hello
# Ours: the kernel's exit log line "memory in use X KiB of Y KiB" (physical pages in use).
# Linux: MemTotal - MemAvailable from /proc/meminfo, read by /init after hello exited.
if [[ -n ${IMG[hello]:-} ]]; then
  log "hello memory under our kernel"
  time_ms "$UKPACK" run "${IMG[hello]}" --log 3 -v
  read -r mem_kib mem_tot < <(sed -n 's/.*memory in use \([0-9]*\) KiB of \([0-9]*\) KiB.*/\1 \2/p' "$BUILD/last.out" | tail -1)
  if isnum "${mem_kib:-}"; then mem_note="physical memory in use at exit (kernel log), of $(kib $((mem_tot * 1024)))"
  else mem_kib="n/a (no 'memory in use' kernel log line)"; mem_note=; fi
else
  mem_kib="n/a (${IMGERR[hello]})"; mem_note=
fi
if [[ -n $LINUX_OK ]]; then
  log "hello memory under Linux guest (1 boot)"
  if read -r lmem_kib lmem_tot < <(lg_mem hello 2>"$BUILD/linux.err") && isnum "${lmem_kib:-}"; then
    lmem_note="MemTotal-MemAvailable after hello exited, MemTotal $(kib $((lmem_tot * 1024)))"
  else lmem_kib="n/a (Linux guest: $(tail -1 "$BUILD/linux.err" | cut -c1-80))"; lmem_note=; fi
else
  lmem_kib="n/a ($linux_why)"; lmem_note=
fi

# ---------------------------------------------------------------- sizes
bin_size=$(stat -c %s "$PROGS/hello")
if [[ -n ${IMG[hello]:-} ]]; then img_size=$(stat -c %s "${IMG[hello]}"); else img_size="n/a (${IMGERR[hello]})"; fi
if [[ -n $LINUX_OK ]]; then
  lsize=$(lg_size hello 2>/dev/null) || lsize="n/a (initramfs build failed)"
else lsize="n/a ($linux_why)"; fi

# ---------------------------------------------------------------- table
ms() { isnum "$1" && echo "$1 ms" || echo "$1"; }
ns() { isnum "$1" && echo "$1 ns" || echo "$1"; }
us() { isnum "$1" && echo "$1 µs" || echo "$1"; }
mibs() { isnum "$1" && echo "$1 MiB/s" || echo "$1"; }
iops() { isnum "$1" && echo "$1 IOPS" || echo "$1"; }
persec() { isnum "$1" && echo "$1 /s" || echo "$1"; }
direct() { case $1 in 1) echo "O_DIRECT, $2";; 0) echo "no O_DIRECT (refused)";; *) echo "n/a";; esac; }
kibk() { isnum "$1" && kib $(($1 * 1024)) || echo "$1"; }
setup_us() { [[ -n $1 ]] && echo "$1" | awk '{ printf "%d devices in %.1f ms\n", $1, $2 / 1000 }' || echo "n/a"; }
row() {   # row LABEL FORMATTER METRIC NOTE: ours vs Linux guest for one workload metric
  echo "| $1 | $($2 "${OURS[$3]}") | $($2 "${LIN[$3]}") | $(ratio "${OURS[$3]}" "${LIN[$3]}") | $4 |"
}
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $($QEMU --version | head -1 | sed 's/ (.*//'), TCG;"
  echo "kernel $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); Linux guest: ${linux_kernel:+$(basename "$linux_kernel")} on -M pc; timings are medians of $RUNS runs ($LRUNS for Linux boots)."
  echo
  echo "| measurement | ours | baseline | ours / baseline | note |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| QEMU floor: PVH kernel that only exits (microvm) | | $(ms "$floor_ms") | | wall time of the QEMU process |"
  echo "| kernel boot -> power-off vs floor | $(ms "$kern_ms") | $(ms "$floor_ms") | $(ratio "$kern_ms" "$floor_ms") | $(n=$(diffms "$kern_ms" "$floor_ms"); [[ -n $n ]] && echo "$n, QEMU exit $kern_rc") |"
  echo "| hello world (ukpack run) vs floor | $(ms "$hello_ms") | $(ms "$floor_ms") | $(ratio "$hello_ms" "$floor_ms") | $(diffms "$hello_ms" "$floor_ms") |"
  echo "| hello world vs Linux guest boot -> power-off | $(ms "$hello_ms") | $(ms "$lhello_ms") | $(ratio "$hello_ms" "$lhello_ms") | same static binary |"
  row "getppid per call vs Linux guest" ns getppid_ns_per_call "raw syscall, 500k calls"
  row "clock_gettime(MONOTONIC) per call vs Linux guest" ns clock_gettime_ns_per_call "Linux uses its vDSO"
  row "control: user-mode loop per iteration vs Linux guest" ns compute_ns_per_iter "should be ~1.00x"
  row "readfile: 64 MiB sequential read(), 64 KiB chunks, vs Linux guest" mibs readfile_mib_per_s "throughput: higher is better; image root fs vs initramfs"
  row "smallfiles: create+write 100 B+close per file vs Linux guest" us smallfiles_create_us_per_file "$NSMALL files in /tmp (tmpfs)"
  row "smallfiles: stat per file vs Linux guest" us smallfiles_stat_us_per_file "same $NSMALL files"
  row "smallfiles: unlink per file vs Linux guest" us smallfiles_unlink_us_per_file "same $NSMALL files"
  row "smallfiles: create+stat+unlink per file vs Linux guest" us smallfiles_us_per_file "the three phases together"
  row "threads: pthread_create+pthread_join vs Linux guest" us threads_us_per_create_join "2,000 threads, one at a time"
  row "futex ping-pong round trip vs Linux guest" us futex_us_per_round_trip "2 threads, raw FUTEX_WAIT/WAKE, 20,000 round trips"
  row "processes: fork+_exit+waitpid vs Linux guest" us procs_us_per_fork_exit_wait "1,000 rounds; copy-on-write both sides"
  row "processes: vfork+execve+waitpid of a static program vs Linux guest" us procs_us_per_vfork_execve_wait "1,000 rounds; the program exits at once"
  row "processes: posix_spawn+waitpid vs Linux guest" us procs_us_per_posix_spawn_wait "1,000 rounds; musl's posix_spawn (clone CLONE_VM|CLONE_VFORK)"
  row "processes: a child's first write to a page shared copy-on-write vs Linux guest" us procs_us_per_cow_page "1,024 pages x 10 forks; faults per page (ru_minflt): ours ${OURS[procs_cow_faults_per_page]}, Linux ${LIN[procs_cow_faults_per_page]}; pages copied per page (our /proc/vmstat cow_copied): ${OURS[procs_cow_copied_per_page]}"
  row "processes: a 100-command shell script (busybox sh) vs Linux guest" ms shscript_ms_per_100_commands "125 fork+execve of a static busybox (true, echo, \$(...), a pipeline), 3 runs"
  blk_note="same QEMU machine (pc, virtio-blk-pci) both sides; ours: $(direct "${OURS[blk_direct]}" "no page cache either way: every read goes to the device"); Linux: $(direct "${LIN[blk_direct]}" "which bypasses its page cache"); ours on microvm"
  row "virtio-blk: 64 MiB /dev/vda sequential read(), 1 MiB chunks, vs Linux guest" mibs blk_seq_read_mib_per_s "$blk_note: $(mibs "${BLK_MVM[blk_seq_read_mib_per_s]}")"
  row "virtio-blk: 64 MiB sequential write(), 1 MiB chunks, + fsync vs Linux guest" mibs blk_seq_write_fsync_mib_per_s "same fd; fsync flushes the device cache (in the host file on return); ours on microvm: $(mibs "${BLK_MVM[blk_seq_write_fsync_mib_per_s]}")"
  row "virtio-blk: 4 KiB random pread() vs Linux guest" iops blk_rand_read_iops "$NBLKRAND reads, one at a time, 4 KiB-aligned; ours on microvm: $(iops "${BLK_MVM[blk_rand_read_iops]}")"
  row "stdin -> stdout: 100 MiB through cat vs Linux guest" mibs stdio_mib_per_s "throughput: higher is better; ours over virtio-console (microvm, through ukpack's relay); on pc: $(mibs "$STDIO_PC"); ours over --serial-stdio (256 KiB): $(mibs "$STDIO_SERIAL"); Linux reads port 1, writes port 2 of a virtio-console (pc)"
  net_rows
  echo "| hello world with stdio over virtio-console (default) vs --serial-stdio (ours, microvm) | $(ms "$hellonodev_ms") | $(ms "$helloserial_ms") | $(ratio "$hellonodev_ms" "$helloserial_ms") | $(diffms "$hellonodev_ms" "$helloserial_ms"); kernel log, virtio set-up: $(setup_us "$setup_none_us") with, $(setup_us "$setup_serial_us") without |"
  echo "| hello world with a disk + virtio-rng vs without (ours, microvm, both with the console) | $(ms "$hellodev_ms") | $(ms "$hellonodev_ms") | $(ratio "$hellodev_ms" "$hellonodev_ms") | $(diffms "$hellodev_ms" "$hellonodev_ms"); kernel log, virtio set-up: $(setup_us "$setup_dev_us") with, $(setup_us "$setup_none_us") without |"
  echo "| memory in use after hello vs Linux guest | $(kibk "$mem_kib") | $(kibk "$lmem_kib") | $(ratio "$mem_kib" "$lmem_kib") | ours: ${mem_note:-n/a}; Linux: ${lmem_note:-n/a}; -m 512M both |"
  echo "| hello image vs the static binary | $(kib "$img_size") | $(kib "$bin_size") | $(ratio "$img_size" "$bin_size") | |"
  echo "| hello image vs Linux guest (bzImage + initramfs) | $(kib "$img_size") | $(kib "$lsize") | $(ratio "$img_size" "$lsize") | |"
  echo
  echo "Kernel collector: memory growth across churn (scale $CHURN_SCALE; KiB of MemTotal-MemFree, after minus before; the Linux guest's figure includes its page cache and slab noise)"
  echo
  echo "| workload | ours: growth | Linux guest: growth | note |"
  echo "| --- | --- | --- | --- |"
  for k in "${CHURN_METRICS[@]}"; do
    name=${k#churn_}; name=${name%_growth_kib}
    line=$(echo "$churn_ours_lines" | awk -v n="$name" '$2 == n')
    echo "| $name | ${OURS[$k]} KiB | ${LIN[$k]} KiB | ours: $(echo "$line" | awk '{ if (NF) printf "%s times, %s -> %s KiB in use, %s s", $3, $4, $5, $6 }') |"
  done
  echo
  echo "| collector (bare kernel, test=gc-bench) | value |"
  echo "| --- | --- |"
  for n in 10000 100000 1000000; do echo "| full collection pause, $n live objects | $(us "$(gc_pause $n)") |"; done
  echo "| allocation rate, 32-byte objects, collections included | $(gcb alloc_per_s) objects/s |"
} | tee "$BUILD/results.md"

# ---------------------------------------------------------------- ext4 volumes
# A table of its own (bench/ext4.sh, which also runs alone), appended to results.md.
if [[ -z ${BENCH_SKIP_EXT4:-} ]]; then
  log "ext4 volumes (bench/ext4.sh)"
  { echo; BENCH_BUILD=$BUILD UKPACK=$UKPACK "$BENCH/ext4.sh"; } | tee -a "$BUILD/results.md"
fi
