#!/usr/bin/env bash
# The Linux comparison guest: Debian's distribution kernel under the same QEMU
# (TCG), with a cpio initramfs holding /init (bench/progs/init.c) and one
# workload binary, byte-identical to the one our kernel runs.
#
#   bench/linux-guest.sh run PROG [ARGS]     workload's console output; exits with its status
#   bench/linux-guest.sh boot-time PROG [ARGS]  wall ms, QEMU start -> power-off
#   bench/linux-guest.sh size PROG           bytes: kernel image + initramfs
#   bench/linux-guest.sh kernel              path of the vmlinuz used
#   bench/linux-guest.sh initrd PROG [ARGS]  build the initramfs, print its path
#   bench/linux-guest.sh mem PROG [ARGS]     "USED TOTAL" KiB after the workload exited
#                                            (MemTotal - MemAvailable, MemTotal)
#
# PROG is a path or the name of a bench/progs program (built on demand).
# Env: LINUX_KERNEL=path overrides the kernel; LINUX_TIMEOUT (s, default 300);
# LG_EXTRA_FILES="PATH..." also puts those files in the initramfs root (as /BASENAME);
# LG_MODULES="NAME..." puts those modules of the guest kernel's version (from the host's
# /lib/modules/VERSION, VERSION from the vmlinuz-VERSION file name), in the order given
# (dependencies first), in /modules, and /init loads them before the workload; LG_DISK=FILE attaches FILE as a
# raw virtio-blk-pci disk (/dev/vda in the guest; needs LG_MODULES="virtio_ring virtio
# virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk" with Debian's kernel).
# LG_TREE=DIR copies DIR's tree into the initramfs root (a service's config, content and
# libraries at their paths). LG_NET="HOSTPORT:GUESTPORT..." adds QEMU's user network with
# those TCP ports forwarded from the host's 127.0.0.1 and a virtio-net-pci (ukpack's netdev
# and device on pc; needs LG_MODULES="virtio_ring virtio virtio_pci_modern_dev
# virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"); /init then brings
# eth0 up as 10.0.2.15/24 (a workload may configure it further, e.g. its default route).
# LG_SMP=N: N vCPUs (MTTCG, -accel tcg,thread=multi, when N > 1).
# LG_PIDFILE=FILE: lg_qemu writes the id of the process to SIGTERM there (to stop a guest
# serving forever).
# Can also be sourced: it then only defines the lg_* functions.
# Note: the guest console carries the workload's stdout and stderr together.
set -euo pipefail

LG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LG_BUILD=${BENCH_BUILD:-$LG_HERE/build}
LG_QEMU=${QEMU:-qemu-system-x86_64}

lg_log() { echo "linux-guest: $*" >&2; }

# Path of a bzImage; installs Debian's linux-image-amd64 if none is present.
lg_kernel() {
  if [[ -n ${LINUX_KERNEL:-} ]]; then echo "$LINUX_KERNEL"; return; fi
  local k
  k=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
  if [[ -z $k ]]; then
    lg_log "no /boot/vmlinuz-*: installing linux-image-amd64 (apt-get)"
    if [[ $(id -u) -ne 0 ]]; then lg_log "need root for apt-get install"; return 1; fi
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-image-amd64; } >&2 || return 1
    k=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
    [[ -n $k ]] || { lg_log "linux-image-amd64 installed no /boot/vmlinuz-*"; return 1; }
  fi
  [[ -r $k ]] || { lg_log "$k not readable"; return 1; }
  echo "$k"
}

lg_progs() { "$LG_HERE/progs/build.sh" "$LG_BUILD" >/dev/null && echo "$LG_BUILD/progs"; }

# Resolve PROG to a binary path.
lg_prog() {
  local p=$1
  if [[ $p != */* ]]; then
    local d; d=$(lg_progs) || return 1
    p=$d/$p
  fi
  [[ -x $p ]] || { lg_log "no such program: $1"; return 1; }
  echo "$p"
}

# Build (cached) an uncompressed newc initramfs with /init, /NAME and the
# files in $LG_EXTRA_FILES.
lg_initrd() {
  local prog; prog=$(lg_prog "$1") || return 1
  local progs; progs=$(lg_progs) || return 1
  command -v cpio >/dev/null || {
    lg_log "cpio missing: installing (apt-get install cpio)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cpio; } >&2 || return 1
  }
  local name; name=$(basename "$prog")
  local -a extra; read -r -a extra <<<"${LG_EXTRA_FILES:-}"
  local f tag=$name
  for f in "${extra[@]}"; do
    [[ -f $f ]] || { lg_log "no such file: $f"; return 1; }
    tag+=+$(basename "$f")
  done
  local -a mods; read -r -a mods <<<"${LG_MODULES:-}"
  local -a modfiles=()
  if ((${#mods[@]})); then
    local kernel ver m mf
    kernel=$(lg_kernel) || return 1
    ver=$(basename "$kernel"); ver=${ver#vmlinuz-}
    [[ -d /lib/modules/$ver ]] || { lg_log "no /lib/modules/$ver for $kernel"; return 1; }
    for m in "${mods[@]}"; do
      mf=$(find "/lib/modules/$ver/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
      [[ -n $mf ]] || { lg_log "no module $m in /lib/modules/$ver"; return 1; }
      [[ $mf == *.ko ]] || { lg_log "$mf is compressed (not supported)"; return 1; }
      modfiles+=("$mf")
    done
    tag+=+mods-$(printf '%s\n' "${mods[@]}" | md5sum | cut -c1-8)
  fi
  [[ -n ${LG_TREE:-} ]] && tag+=+tree-$(echo "$LG_TREE" | md5sum | cut -c1-8)
  local out=$LG_BUILD/linux/$tag.cpio fresh=1
  [[ -f $out && $out -nt $prog && $out -nt $progs/init && -z ${LG_TREE:-} ]] || fresh=
  for f in "${extra[@]}" "${modfiles[@]}"; do [[ $out -nt $f ]] || fresh=; done
  if [[ -n $fresh ]]; then echo "$out"; return; fi
  local stage=$LG_BUILD/linux/stage-$tag
  rm -rf "$stage"; mkdir -p "$stage/dev" "$stage/proc" "$stage/tmp"
  cp "$progs/init" "$stage/init"
  cp "$prog" "$stage/$name"
  for f in "${extra[@]}"; do cp "$f" "$stage/"; done
  if [[ -n ${LG_TREE:-} ]]; then cp -a "$LG_TREE/." "$stage/"; fi
  local i
  for i in "${!modfiles[@]}"; do
    mkdir -p "$stage/modules"
    cp "${modfiles[$i]}" "$stage/modules/$(printf %02d "$i")-$(basename "${modfiles[$i]}")"
  done
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) > "$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$stage"
  echo "$out"
}

# Boot the guest; raw console output on stdout.
lg_qemu() {
  local kernel=$1 initrd=$2; shift 2
  local -a disk=()
  [[ -n ${LG_DISK:-} ]] && disk=(-drive "if=none,id=vd0,file=${LG_DISK//,/,,},format=raw" -device virtio-blk-pci,disable-legacy=on,drive=vd0)
  if [[ -n ${LG_NET:-} ]]; then
    local fwd= pp
    for pp in $LG_NET; do fwd+=",hostfwd=tcp:127.0.0.1:${pp%%:*}-:${pp#*:}"; done
    disk+=(-netdev "user,id=n0$fwd" -device virtio-net-pci,disable-legacy=on,netdev=n0)
  fi
  # LG_STDIO_IN=FILE: a virtio-console whose port 1 reads FILE and then closes (from a unix
  # socket that python3 serves: QEMU 7.2's file chardev has no input-path) and whose port 2
  # writes to /dev/null (the stdiocat workload's "vport" mode).
  local sock= feeder=
  if [[ -n ${LG_STDIO_IN:-} ]]; then
    sock=$(mktemp -u /tmp/lg-stdio.XXXXXX)
    python3 -c '
import socket, sys
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(1)
c, _ = l.accept()
with open(sys.argv[2], "rb") as f: c.sendfile(f)
c.shutdown(socket.SHUT_WR)
while c.recv(65536): pass
' "$sock" "$LG_STDIO_IN" & feeder=$!
    while [[ ! -S $sock ]]; do sleep 0.05; done
    disk+=(-device virtio-serial-pci,disable-legacy=on,max_ports=3
      -chardev "socket,id=lgin,path=$sock" -device virtserialport,chardev=lgin,nr=1
      -chardev file,id=lgout,path=/dev/null -device virtserialport,chardev=lgout,nr=2)
  fi
  # In the background so that LG_PIDFILE can name it: the id is timeout(1)'s, which passes
  # a SIGTERM on to QEMU.
  local accel=tcg
  [[ ${LG_SMP:-1} -gt 1 ]] && accel=tcg,thread=multi
  timeout "${LINUX_TIMEOUT:-300}" "$LG_QEMU" -M pc -accel "$accel" -smp "${LG_SMP:-1}" -cpu max -m 512M \
    -nographic -nodefaults -no-user-config -no-reboot -serial stdio "${disk[@]}" \
    -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 quiet loglevel=1 panic=-1 -- $*" </dev/null &
  local qpid=$! rc=0
  [[ -n ${LG_PIDFILE:-} ]] && echo "$qpid" >"$LG_PIDFILE"
  wait "$qpid" || rc=$?
  if [[ -n $feeder ]]; then kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null; rm -f "$sock"; fi
  return $rc
}

# Workload output lines from raw console text on stdin; rc of workload as exit status.
lg_extract() {
  awk '
    { sub(/\r$/, "") }
    !on && /@@UKBENCH-BEGIN@@$/ { on = 1; next }
    on && /@@UKBENCH-END rc=[0-9]+@@$/ {
      i = index($0, "@@UKBENCH-END"); if (i > 1) print substr($0, 1, i - 1)
      rc = substr($0, i); gsub(/[^0-9]/, "", rc); done = 1; on = 0; next }
    on { print }
    END { if (!done) { print "linux-guest: no end marker in guest output" > "/dev/stderr"; exit 125 }; exit rc + 0 }'
}

lg_run() {
  local prog kernel initrd raw
  prog=$(lg_prog "$1") || return 1; shift
  kernel=$(lg_kernel) || return 1
  initrd=$(lg_initrd "$prog") || return 1
  raw=$(lg_qemu "$kernel" "$initrd" "/$(basename "$prog")" "$@") || true
  local rc=0
  printf '%s\n' "$raw" | lg_extract || rc=$?
  if [[ $rc -eq 125 ]]; then printf '%s\n' "$raw" | tail -20 >&2; fi
  return $rc
}

# One boot: prints wall ms from QEMU start to QEMU exit after power-off.
lg_boot_time() {
  local prog kernel initrd t0 t1 raw
  prog=$(lg_prog "$1") || return 1; shift
  kernel=$(lg_kernel) || return 1
  initrd=$(lg_initrd "$prog") || return 1
  t0=$(date +%s%N)
  raw=$(lg_qemu "$kernel" "$initrd" "/$(basename "$prog")" "$@") || true
  t1=$(date +%s%N)
  printf '%s\n' "$raw" | lg_extract >/dev/null || { lg_log "guest run failed"; return 1; }
  echo $(( (t1 - t0) / 1000000 ))
}

# One boot: prints "USED TOTAL" (KiB) from the guest's /proc/meminfo after the workload exited.
lg_mem() {
  local prog kernel initrd raw line
  prog=$(lg_prog "$1") || return 1; shift
  kernel=$(lg_kernel) || return 1
  initrd=$(lg_initrd "$prog") || return 1
  raw=$(lg_qemu "$kernel" "$initrd" "/$(basename "$prog")" "$@") || true
  line=$(printf '%s\n' "$raw" | tr -d '\r' | grep -o '@@UKBENCH-MEM used_kib=[0-9]* total_kib=[0-9]*@@' | tail -1)
  [[ -n $line ]] || { lg_log "no memory line in guest output"; printf '%s\n' "$raw" | tail -20 >&2; return 1; }
  echo "$line" | sed 's/.*used_kib=\([0-9]*\) total_kib=\([0-9]*\).*/\1 \2/'
}

lg_size() {
  local kernel initrd
  kernel=$(lg_kernel) || return 1
  initrd=$(lg_initrd "$1") || return 1
  echo $(( $(stat -c %s "$kernel") + $(stat -c %s "$initrd") ))
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  cmd=${1:-}; shift || true
  case $cmd in
    run)       [[ $# -ge 1 ]] || { echo "usage: $0 run PROG [ARGS]" >&2; exit 2; }; lg_run "$@" ;;
    boot-time) [[ $# -ge 1 ]] || { echo "usage: $0 boot-time PROG [ARGS]" >&2; exit 2; }; lg_boot_time "$@" ;;
    size)      [[ $# -ge 1 ]] || { echo "usage: $0 size PROG" >&2; exit 2; }; lg_size "$1" ;;
    kernel)    lg_kernel ;;
    mem)       [[ $# -ge 1 ]] || { echo "usage: $0 mem PROG [ARGS]" >&2; exit 2; }; lg_mem "$@" ;;
    initrd)    [[ $# -ge 1 ]] || { echo "usage: $0 initrd PROG" >&2; exit 2; }; lg_initrd "$1" ;;
    *) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
fi

# qemu_under PID: the QEMU process below PID (ukpack's child, or timeout's in lg_qemu); the
# network benchmarks read its CPU time (run.sh, services.sh, netperf.sh).
qemu_under() {
  local c
  for c in $(pgrep -P "$1"); do
    if [[ $(cat "/proc/$c/comm" 2>/dev/null) == qemu-system* ]]; then echo "$c"; return 0; fi
    qemu_under "$c" && return 0
  done
  return 1
}
