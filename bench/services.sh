#!/usr/bin/env bash
# Services from the host: Debian's nginx and redis-server, unmodified, under our kernel and
# under the Linux guest (bench/linux-guest.sh), on the same QEMU machine (-M pc, TCG) with
# the same netdev (QEMU's user network, a hostfwd on 127.0.0.1, virtio-net-pci), driven from
# the host in this one run. Prints a markdown table (also saved to
# bench/build/services.md).
#
#   bench/services.sh     ~10 min; env: SVC_WRK_SECONDS=10 (wrk's run), SVC_REDIS_N=100000
#                         (redis-benchmark -n), SVC_REDIS_CLIENTS=8, SVC_ROUNDS=3,
#                         BENCH_SKIP_LINUX=1, UKPACK=out/ukpack, QEMU=qemu-system-x86_64,
#                         SVC_SMP=N (vCPUs of both guests; MTTCG when N > 1),
#                         SVC_REDIS_IO_THREADS=N (redis.conf io-threads; default 1, none),
#                         SVC_UKPACK_ARGS="..." (extra `ukpack run` options, e.g. -v --log 3)
#
# nginx: master + 2 workers (`user www-data`, `daemon off`), wrk -t1 -c4 keep-alive on a
# 17-byte file for SVC_WRK_SECONDS, requests/s (wrk's socket errors and non-2xx answers
# must be none), and the QEMU process's CPU time (utime+stime: guest, devices and user
# network together) per request during that run, which the load of a shared host disturbs
# far less than wall time (the rate is wrk's figure). redis: redis-benchmark -q -t set,get -n SVC_REDIS_N -c SVC_REDIS_CLIENTS,
# requests/s per command. 8 clients, not redis-benchmark's 50: QEMU's user network listens
# on the forwarded port with a backlog of 1 (ss shows "LISTEN 0 1"), so a burst of 50
# connects loses handshakes on the host and stalls the run whatever the guest is.
# Both guests get the same files: the binaries, their libraries (ldd, for the Linux guest;
# ukpack's own closure for ours), /etc/passwd, /etc/group and the configs below.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BENCH_BUILD:-$HERE/build}
UKPACK=${UKPACK:-$ROOT/out/ukpack}
WRK_S=${SVC_WRK_SECONDS:-10}
REDIS_N=${SVC_REDIS_N:-100000}
REDIS_C=${SVC_REDIS_CLIENTS:-8}
SMP=${SVC_SMP:-1}
export LG_SMP=$SMP
read -r -a UK_ARGS <<<"${SVC_UKPACK_ARGS:-}"
# shellcheck source=linux-guest.sh
source "$HERE/linux-guest.sh"
set +e   # linux-guest.sh sets -e; a failed step here makes its row n/a instead
NET_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"

log() { echo "services: $*" >&2; }
isnum() { [[ ${1:-} =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
ratio() { isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx\n", a/b; else print "n/a" }' || echo "n/a"; }
# cpu_ms PID: utime+stime of PID in ms.
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# per_req CPU0 CPU1 REQUESTS: µs of CPU per request.
per_req() { isnum "$3" && [[ $3 != 0 ]] && awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.0f\n", (b - a) * 1000 / n }' || echo n/a; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for t in /usr/sbin/nginx /usr/bin/redis-server /usr/bin/redis-benchmark /usr/bin/redis-cli /usr/bin/wrk /usr/bin/curl; do
  [[ -x $t ]] || { log "$t missing (apt-get install nginx-light redis-server redis-tools wrk curl)"; exit 1; }
done
[[ -x $UKPACK ]] || { log "$UKPACK missing (make)"; exit 1; }

D=$BUILD/svc
rm -rf "$D"; mkdir -p "$D"

# ---------------------------------------------------------------- the trees
users() {
  mkdir -p "$1/etc"
  printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nwww-data:x:33:\n' >"$1/etc/group"
}
NGX=$D/nginx-fs
mkdir -p "$NGX/etc/nginx" "$NGX/srv/www" "$NGX/var/log/nginx" "$NGX/var/lib/nginx" "$NGX/run"
users "$NGX"
cat >"$NGX/etc/nginx/nginx.conf" <<'EOF'
user www-data;
worker_processes 2;
daemon off;
error_log stderr notice;
pid /run/nginx.pid;
events { worker_connections 128; }
http {
    types { text/html html; }
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    server { listen 8080; root /srv/www; }
}
EOF
echo "hello from nginx" >"$NGX/srv/www/index.html"
RDS=$D/redis-fs
mkdir -p "$RDS/data"
users "$RDS"
cat >"$RDS/etc/redis.conf" <<'EOF'
bind 0.0.0.0
port 6379
protected-mode no
daemonize no
dir /data
save ""
appendonly no
logfile ""
EOF
if [[ ${SVC_REDIS_IO_THREADS:-1} -gt 1 ]]; then echo "io-threads $SVC_REDIS_IO_THREADS" >>"$RDS/etc/redis.conf"; fi

# The Linux guest's copy of a tree: the program's libraries (ldd) added at their paths.
with_libs() {   # with_libs TREE PROGRAM: prints the new tree
  local out=$1-linux lib
  rm -rf "$out"; cp -a "$1" "$out"
  for lib in $(ldd "$2" | grep -o '/[^ ]*'); do
    mkdir -p "$out$(dirname "$lib")"; cp -L "$lib" "$out$lib"
  done
  echo "$out"
}

wait_http() {   # wait_http PORT SECONDS
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    [[ $(curl -s --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null) == "hello from nginx" ]] && return 0
    sleep 0.25
  done
  return 1
}
wait_redis() {
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    [[ $(timeout 3 redis-cli -p "$1" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.25
  done
  return 1
}

# wrk_rps PORT: wrk's requests/s, or n/a (reason) on errors.
wrk_rps() {
  local out
  out=$(wrk -t1 -c4 -d"${WRK_S}s" "http://127.0.0.1:$1/index.html" 2>&1)
  echo "$out" >>"$D/wrk.log"
  if grep -q -e "Socket errors" -e "Non-2xx" <<<"$out"; then echo "n/a (wrk: $(grep -e 'Socket errors' -e 'Non-2xx' <<<"$out" | tr '\n' ' '))"; return; fi
  awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}
# wrk_cpu PORT QEMUPID: "REQUESTS/S CPU-µs-PER-REQUEST".
wrk_cpu() {
  local c0 c1 rps n
  c0=$(cpu_ms "$2"); rps=$(wrk_rps "$1"); c1=$(cpu_ms "$2")
  n=$(tail -20 "$D/wrk.log" | awk '/requests in/ { n = $1 } END { print n }')
  isnum "${rps%% *}" || { echo "$rps"; return; }
  echo "$rps $(per_req "$c0" "$c1" "$n")"
}
# redis_rps PORT: "SET GET" requests/s.
redis_rps() {
  local out
  out=$(redis-benchmark -p "$1" -n "$REDIS_N" -c "$REDIS_C" -q -t set,get 2>&1 | tr '\r' '\n')
  echo "$out" >>"$D/redis.log"
  if grep -qi error <<<"$out"; then echo "n/a n/a"; return; fi
  echo "$(awk '/^SET:.*requests per second/ { print $2 }' <<<"$out") $(awk '/^GET:.*requests per second/ { print $2 }' <<<"$out")"
}

# ---------------------------------------------------------------- both guests at once
# Both guests of a service run side by side (each idle while the other is measured) and the
# measurements alternate, ours then Linux, SVC_ROUNDS times: host load drifts alike for both
# (the machine is shared); each figure is the median of its rounds.
ROUNDS=${SVC_ROUNDS:-3}
declare -A OURS LIN
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{v[NR]=$1} END{ if (NR == 0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
linux_why=
if [[ -n ${BENCH_SKIP_LINUX:-} ]]; then linux_why="skipped: BENCH_SKIP_LINUX set"
elif ! lg_kernel >/dev/null 2>&1; then linux_why="no Linux guest kernel"; fi

ready() { if [[ $1 == nginx ]]; then wait_http "$2" "$3"; else wait_redis "$2" "$3"; fi; }

# service NAME PROGRAM TREE GUESTPORT [ARGS]: boots both guests, alternates the measurements,
# stops ours with SIGTERM (its exit status goes in the note) and the Linux guest's QEMU.
service() {
  local name=$1 prog=$2 tree=$3 gport=$4; shift 4
  local img=$D/$name.img oport lport opid job= pidfile=$D/$name-lg.pid tree2 r ok_o= ok_l=
  local -a o1=() l1=() o2=() l2=()
  oport=$(free_port); lport=$(free_port)
  if "$UKPACK" build "$prog" --fs "$tree" -o "$img" ${1:+-- "$@"} >"$D/$name-build.log" 2>&1; then
    "$UKPACK" run "$img" -M pc --smp "$SMP" "${UK_ARGS[@]}" -p "$oport:$gport" --timeout 1800 >"$D/$name-ours.log" 2>&1 &
    opid=$!
  fi
  if [[ -z $linux_why ]]; then
    tree2=$(with_libs "$tree" "$prog")
    # The program under its own name at / (linux-guest.sh runs /NAME): redis-server is a
    # link to redis-check-rdb and picks its mode from argv[0].
    cp -L "$prog" "$D/$(basename "$prog")"
    rm -f "$pidfile"
    ( LG_TREE=$tree2 LG_MODULES=$NET_MODULES LG_NET="$lport:$gport" LG_PIDFILE=$pidfile \
        LINUX_TIMEOUT=1800 lg_run "$D/$(basename "$prog")" "$@" ) >"$D/$name-linux.log" 2>&1 &
    job=$!
  fi
  local oq= lq= a b c0 c1
  local -a o3=() l3=()
  [[ -n ${opid:-} ]] && ready "$name" "$oport" 180 && ok_o=1 && oq=$(qemu_under "$opid")
  [[ -n $job ]] && ready "$name" "$lport" 300 && ok_l=1 && lq=$(qemu_under "$(cat "$pidfile" 2>/dev/null)" || cat "$pidfile")
  for ((r = 0; r < ROUNDS; r++)); do
    if [[ $name == nginx ]]; then
      if [[ -n $ok_o ]]; then read -r a b < <(wrk_cpu "$oport" "$oq"); o1+=("$a"); o3+=("${b:-n/a}"); fi
      if [[ -n $ok_l ]]; then read -r a b < <(wrk_cpu "$lport" "$lq"); l1+=("$a"); l3+=("${b:-n/a}"); fi
    else
      if [[ -n $ok_o ]]; then c0=$(cpu_ms "$oq"); read -r a b < <(redis_rps "$oport"); c1=$(cpu_ms "$oq"); o1+=("$a"); o2+=("$b"); o3+=("$(per_req "$c0" "$c1" $((2 * REDIS_N)))"); fi
      if [[ -n $ok_l ]]; then c0=$(cpu_ms "$lq"); read -r a b < <(redis_rps "$lport"); c1=$(cpu_ms "$lq"); l1+=("$a"); l2+=("$b"); l3+=("$(per_req "$c0" "$c1" $((2 * REDIS_N)))"); fi
    fi
  done
  if [[ -n ${opid:-} ]]; then kill -TERM "$opid" 2>/dev/null; wait "$opid"; OURS[$name-exit]=$?; fi
  if [[ -n $job ]]; then
    [[ -f $pidfile ]] && kill -TERM "$(cat "$pidfile")" 2>/dev/null
    wait "$job"
  fi
  local why_o="n/a (no answer: $D/$name-ours.log)" why_l="n/a (${linux_why:-no answer: $D/$name-linux.log})"
  if [[ $name == nginx ]]; then
    OURS[nginx]=$([[ -n $ok_o ]] && median "${o1[@]}" || echo "$why_o"); OURS[nginx-all]="${o1[*]}"
    LIN[nginx]=$([[ -n $ok_l ]] && median "${l1[@]}" || echo "$why_l"); LIN[nginx-all]="${l1[*]}"
  else
    OURS[set]=$([[ -n $ok_o ]] && median "${o1[@]}" || echo "$why_o"); OURS[set-all]="${o1[*]}"
    OURS[get]=$([[ -n $ok_o ]] && median "${o2[@]}" || echo "$why_o"); OURS[get-all]="${o2[*]}"
    LIN[set]=$([[ -n $ok_l ]] && median "${l1[@]}" || echo "$why_l"); LIN[set-all]="${l1[*]}"
    LIN[get]=$([[ -n $ok_l ]] && median "${l2[@]}" || echo "$why_l"); LIN[get-all]="${l2[*]}"
  fi
  local k=$name-cpu
  OURS[$k]=$([[ -n $ok_o ]] && median "${o3[@]}" || echo "$why_o"); OURS[$k-all]="${o3[*]}"
  LIN[$k]=$([[ -n $ok_l ]] && median "${l3[@]}" || echo "$why_l"); LIN[$k-all]="${l3[*]}"
}
log "nginx: our kernel and the Linux guest, $ROUNDS alternating rounds of wrk"
service nginx /usr/sbin/nginx "$NGX" 8080
log "redis: our kernel and the Linux guest, $ROUNDS alternating rounds of redis-benchmark"
service redis /usr/bin/redis-server "$RDS" 6379 /etc/redis.conf
load=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- table
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(${QEMU:-qemu-system-x86_64} --version | head -1 | sed 's/ (.*//'), TCG, -M pc -smp $SMP, user network (hostfwd on 127.0.0.1), virtio-net-pci;"
  echo "kernel $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); Linux guest: $(basename "$(lg_kernel 2>/dev/null)" 2>/dev/null); both guests up at once, $ROUNDS alternating rounds, medians; load average at the end: $load."
  echo
  echo "| measurement | ours | Linux guest | ours / Linux | note |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| nginx: wrk requests/s, keep-alive, 17-byte file | ${OURS[nginx]} | ${LIN[nginx]} | $(ratio "${OURS[nginx]}" "${LIN[nginx]}") | master + 2 workers; wrk -t1 -c4 -d${WRK_S}s; rounds: ours ${OURS[nginx-all]:-}, Linux ${LIN[nginx-all]:-}; ours exited ${OURS[nginx-exit]:-?} after SIGTERM |"
  echo "| redis: SET requests/s | ${OURS[set]} | ${LIN[set]} | $(ratio "${OURS[set]}" "${LIN[set]}") | redis-benchmark -n $REDIS_N -c $REDIS_C -t set,get; rounds: ours ${OURS[set-all]:-}, Linux ${LIN[set-all]:-}; ours exited ${OURS[redis-exit]:-?} after SIGTERM |"
  echo "| redis: GET requests/s | ${OURS[get]} | ${LIN[get]} | $(ratio "${OURS[get]}" "${LIN[get]}") | same runs; rounds: ours ${OURS[get-all]:-}, Linux ${LIN[get-all]:-} |"
  echo "| nginx: QEMU CPU µs per request | ${OURS[nginx-cpu]} | ${LIN[nginx-cpu]} | $(ratio "${OURS[nginx-cpu]}" "${LIN[nginx-cpu]}") | lower is better: utime+stime of the QEMU process (guest, devices, user network) during the wrk runs / their requests; rounds: ours ${OURS[nginx-cpu-all]:-}, Linux ${LIN[nginx-cpu-all]:-} |"
  echo "| redis: QEMU CPU µs per request | ${OURS[redis-cpu]} | ${LIN[redis-cpu]} | $(ratio "${OURS[redis-cpu]}" "${LIN[redis-cpu]}") | lower is better; the SET and GET runs together; rounds: ours ${OURS[redis-cpu-all]:-}, Linux ${LIN[redis-cpu-all]:-} |"
} | tee "$BUILD/services.md"
