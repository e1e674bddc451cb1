#!/usr/bin/env bash
# ext4 volumes: our kernel vs the Linux guest (bench/linux-guest.sh, Debian's 6.1 with its
# ext4, jbd2 and virtio_blk modules), on the same QEMU machine (-M pc, TCG) with the same
# virtio-blk-pci disk: a fresh 1 GiB volume made by `ukpack volume create` (mke2fs -t ext4,
# 4 KiB blocks) for every run of either kernel. Run by bench/run.sh (its second table), or
# alone; prints a markdown table (also saved to bench/build/ext4.md).
#
#   bench/ext4.sh     ~20 min on a busy 2-core host; env: BENCH_EXT4_ROUNDS=1 (each round
#                     runs ours then Linux; figures are medians over rounds), BENCH_EXT4_MIB=64,
#                     BENCH_EXT4_FILES=10000, BENCH_EXT4_APPENDS=1000, BENCH_EXT4_TIMEOUT=1800
#                     (s per QEMU process), BENCH_SKIP_LINUX=1, UKPACK=out/ukpack
#
# Workloads (bench/progs): ext4bench (one static binary, the same on both sides): sequential
# write of a MiB file in 1 MiB writes + fsync, its sequential read (Linux drops its page
# cache first; ours reads from its own page cache, having no drop_caches), APPENDS fsync'd 4 KiB appends, FILES create+write 100 B+fsync+
# close in one directory. sqlitebench: Debian's sqlite3 (dynamic glibc, the host's binary and
# libraries on both sides) runs 10,000 INSERTs, each its own transaction, into a new database
# on the volume; seconds from fork to exit. Ours mounts the volume with `--volume FILE:/vol`;
# the Linux workload mounts /dev/vda on /vol itself.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BENCH_BUILD:-$HERE/build}
UKPACK=${UKPACK:-$ROOT/out/ukpack}
ROUNDS=${BENCH_EXT4_ROUNDS:-1}
MIB=${BENCH_EXT4_MIB:-64}
FILES=${BENCH_EXT4_FILES:-10000}
APPENDS=${BENCH_EXT4_APPENDS:-1000}
T=${BENCH_EXT4_TIMEOUT:-1800}
export BENCH_BUILD=$BUILD
# shellcheck source=linux-guest.sh
source "$HERE/linux-guest.sh"
set +e   # linux-guest.sh sets -e; a failed step makes its row n/a instead
# virtio-blk and ext4 (with the crc32c its metadata_csum needs), dependencies first.
EXT4_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk crc16 mbcache jbd2 crc32c_generic ext4"

log() { echo "ext4: $*" >&2; }
isnum() { [[ ${1:-} =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{v[NR]=$1} END{ if (NR == 0) print "n/a"; else if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
ratio() {
  isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0 || a <= 0) { print "n/a"; exit }
    r = a / b; if (r >= 0.095) printf "%.2fx\n", r; else printf "%.3gx (1/%.0f)\n", r, 1 / r }' || echo "n/a"
}
metric_of() { awk -v k="$1" '{ sub(/\r$/, "") } $1 == k && $2 ~ /^-?[0-9.]+$/ { v = $2 } END { if (v != "") print v }' "$2"; }

D=$BUILD/ext4
mkdir -p "$D"
PROGS=$("$HERE/progs/build.sh" "$BUILD") || { log "building bench/progs failed"; exit 1; }
METRICS=(ext4_seq_write_mib_per_s ext4_seq_read_mib_per_s ext4_append_fsync_per_s ext4_create_fsync_files_per_s sqlite_10k_tx_s)
declare -A OURS LIN WHY_OURS WHY_LIN

# sqlitebench's tree: /usr/bin/sqlite3 and /ins.sql (ukpack adds the libraries for ours; the
# Linux guest's copy gets them from ldd at their paths).
SQ=$D/sqlite-fs
rm -rf "$SQ" "$SQ-linux"; mkdir -p "$SQ/usr/bin"
if [[ -x /usr/bin/sqlite3 ]]; then
  cp /usr/bin/sqlite3 "$SQ/usr/bin/"
  { echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
    for ((i = 0; i < 10000; i++)); do echo "INSERT INTO t(v) VALUES('row $i');"; done; } >"$SQ/ins.sql"
  cp -a "$SQ" "$SQ-linux"
  for lib in $(ldd /usr/bin/sqlite3 | grep -o '/[^ ]*'); do mkdir -p "$SQ-linux$(dirname "$lib")"; cp -L "$lib" "$SQ-linux$lib"; done
else
  WHY_OURS[sqlite_10k_tx_s]="no /usr/bin/sqlite3 (apt-get install sqlite3)"; WHY_LIN[sqlite_10k_tx_s]=${WHY_OURS[sqlite_10k_tx_s]}
fi

fresh_volume() {   # a new 1 GiB volume at $D/vol.img
  rm -f "$D/vol.img"
  "$UKPACK" volume create "$D/vol.img" --size 1G >"$D/vol.log" 2>&1
}
# collect ARRAY OUTFILE RC METRIC...: adds each metric's value (or the failure) to the round's lists.
declare -A VALS_OURS VALS_LIN
collect() {
  local side=$1 out=$2 rc=$3 k v; shift 3
  for k; do
    v=$(metric_of "$k" "$out")
    if [[ $rc != 0 ]] || ! isnum "$v"; then
      local why="exit $rc: $(tail -c 100 "$out" | tr -c '[:print:]' ' ')"
      [[ $side == OURS ]] && WHY_OURS[$k]=$why || WHY_LIN[$k]=$why
      continue
    fi
    [[ $side == OURS ]] && VALS_OURS[$k]+=" $v" || VALS_LIN[$k]+=" $v"
  done
}

IMG_E=$D/ext4bench.img IMG_S=$D/sqlitebench.img
"$UKPACK" build "$PROGS/ext4bench" -o "$IMG_E" >"$D/build.log" 2>&1 || log "ukpack build ext4bench failed"
[[ -f $SQ/ins.sql ]] && { "$UKPACK" build "$PROGS/sqlitebench" --fs "$SQ" -o "$IMG_S" >>"$D/build.log" 2>&1 || log "ukpack build sqlitebench failed"; }
LINUX_OK=1
[[ -n ${BENCH_SKIP_LINUX:-} ]] && LINUX_OK=
[[ -n $LINUX_OK ]] && { lg_kernel >/dev/null 2>"$D/linux.err" || { LINUX_OK=; log "no Linux kernel: $(tail -1 "$D/linux.err")"; }; }

for ((r = 1; r <= ROUNDS; r++)); do
  log "round $r: ext4bench under our kernel"
  fresh_volume; timeout "$T" "$UKPACK" run "$IMG_E" -M pc --timeout "$T" --volume "$D/vol.img:/vol" -- /vol "$MIB" "$FILES" "$APPENDS" >"$D/ours.out" 2>&1 </dev/null
  collect OURS "$D/ours.out" $? ext4_seq_write_mib_per_s ext4_seq_read_mib_per_s ext4_append_fsync_per_s ext4_create_fsync_files_per_s
  if [[ -n $LINUX_OK ]]; then
    log "round $r: ext4bench under the Linux guest"
    fresh_volume; LG_DISK=$D/vol.img LG_MODULES=$EXT4_MODULES LINUX_TIMEOUT=$T lg_run ext4bench /vol "$MIB" "$FILES" "$APPENDS" /dev/vda >"$D/linux.out" 2>&1
    collect LIN "$D/linux.out" $? ext4_seq_write_mib_per_s ext4_seq_read_mib_per_s ext4_append_fsync_per_s ext4_create_fsync_files_per_s
  fi
  if [[ -f $SQ/ins.sql ]]; then
    log "round $r: sqlite3 under our kernel"
    fresh_volume; timeout "$T" "$UKPACK" run "$IMG_S" -M pc --timeout "$T" --volume "$D/vol.img:/vol" -- /vol >"$D/ours-sq.out" 2>&1 </dev/null
    collect OURS "$D/ours-sq.out" $? sqlite_10k_tx_s
    if [[ -n $LINUX_OK ]]; then
      log "round $r: sqlite3 under the Linux guest"
      fresh_volume; LG_TREE=$SQ-linux LG_DISK=$D/vol.img LG_MODULES=$EXT4_MODULES LINUX_TIMEOUT=$T lg_run sqlitebench /vol /dev/vda >"$D/linux-sq.out" 2>&1
      collect LIN "$D/linux-sq.out" $? sqlite_10k_tx_s
    fi
  fi
done
rm -f "$D/vol.img"
for k in "${METRICS[@]}"; do
  # shellcheck disable=SC2086
  if [[ -n ${WHY_OURS[$k]:-} ]]; then OURS[$k]="n/a (${WHY_OURS[$k]})"; else OURS[$k]=$(median ${VALS_OURS[$k]:-}); fi
  if [[ -z $LINUX_OK ]]; then LIN[$k]="n/a (Linux guest skipped or missing)"
  # shellcheck disable=SC2086
  elif [[ -n ${WHY_LIN[$k]:-} ]]; then LIN[$k]="n/a (Linux guest: ${WHY_LIN[$k]})"; else LIN[$k]=$(median ${VALS_LIN[$k]:-}); fi
done

unit() { isnum "$1" && echo "$1 $2" || echo "$1"; }
row() {   # row LABEL UNIT METRIC NOTE
  echo "| $1 | $(unit "${OURS[$3]}" "$2") | $(unit "${LIN[$3]}" "$2") | $(ratio "${OURS[$3]}" "${LIN[$3]}") | $4 |"
}
{
  echo "ext4 volumes, measured $(date -u +%Y-%m-%d), kernel $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $ROUNDS round(s); same QEMU (-M pc, TCG), same virtio-blk-pci disk: a fresh 1 GiB volume (\`ukpack volume create\`, 4 KiB blocks) per run; Linux guest: $(basename "$(lg_kernel 2>/dev/null)" 2>/dev/null) with ext4 + jbd2 (data=ordered)"
  echo
  echo "| measurement | ours | Linux guest | ours / Linux | note |"
  echo "| --- | --- | --- | --- | --- |"
  row "ext4: sequential write + fsync, $MIB MiB file" "MiB/s" ext4_seq_write_mib_per_s "1 MiB write()s, then one fsync; higher is better"
  row "ext4: sequential read of that file" "MiB/s" ext4_seq_read_mib_per_s "1 MiB read()s; Linux drops its page cache first, ours reads from its page cache (no drop_caches yet): not like for like; higher is better"
  row "ext4: fsync'd 4 KiB appends" "/s" ext4_append_fsync_per_s "$APPENDS write(4 KiB)+fsync on an O_APPEND file; higher is better"
  row "ext4: create + write 100 B + fsync + close, $FILES files in one directory" "files/s" ext4_create_fsync_files_per_s "higher is better"
  row "sqlite3: 10,000 INSERTs, each its own transaction" "s" sqlite_10k_tx_s "Debian's sqlite3 3.40 (rollback journal, synchronous=FULL: per transaction a -journal created, fsync'd, deleted, the database fsync'd); lower is better"
} | tee "$BUILD/ext4.md"
