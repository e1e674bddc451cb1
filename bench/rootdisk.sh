#!/usr/bin/env bash
# The root filesystem in memory (the image's archive) against on a root disk (`ukpack build
# --root-disk`: ext4 over virtio-blk, docs/image-format.md): wall time of `ukpack run` (QEMU
# start -> program exit) and the guest's MemTotal/MemFree as the program sees them at its
# start (/proc/meminfo), for the demo (one static program) and for a larger tree (the same
# program + BENCH_ROOTDISK_MIB MiB of generated files), -M microvm, TCG, --mem 512M; and
# whether the larger tree boots with --mem 128M. Prints a markdown table.
#
#   bench/rootdisk.sh     ~2 min; env: BENCH_ROOTDISK_RUNS=5 (median), BENCH_ROOTDISK_MIB=256,
#                         UKPACK=out/ukpack
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
UKPACK=${UKPACK:-$ROOT/out/ukpack}
RUNS=${BENCH_ROOTDISK_RUNS:-5}
MIB=${BENCH_ROOTDISK_MIB:-256}
W=$(mktemp -d /tmp/bench-rootdisk.XXXXXX)
trap 'rm -rf "$W"' EXIT
CC=$(command -v musl-gcc || command -v gcc)

cat > "$W/mem.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(void) {
    char l[256]; FILE *f = fopen("/proc/meminfo", "r");
    while (f && fgets(l, sizeof l, f)) if (!strncmp(l, "MemTotal:", 9) || !strncmp(l, "MemFree:", 8)) fputs(l, stdout);
    return 0;
}
C
"$CC" -static -O1 -o "$W/mem" "$W/mem.c"
mkdir -p "$W/small" "$W/large/data"
for i in $(seq 1 $((MIB / 4))); do head -c $((4 << 20)) /dev/urandom > "$W/large/data/f$i"; done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'; }

echo "| tree | root | image file (disk use) | ukpack run, median of $RUNS | MemTotal | MemFree at the program's start | boots with --mem 128M |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for tree in small large; do
    for mode in memory disk; do
        img="$W/$tree-$mode.img"
        flags=(); [ "$mode" = disk ] && flags=(--root-disk)
        "$UKPACK" build "$W/mem" --fs "$W/$tree" "${flags[@]}" -o "$img" >/dev/null
        size=$(stat -c %s "$img"); use=$(du -k "$img" | cut -f1)
        times=(); out=""
        for _ in $(seq 1 "$RUNS"); do
            t0=$(date +%s.%N); out=$("$UKPACK" run "$img" --mem 512M); t1=$(date +%s.%N)
            times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
        done
        total=$(echo "$out" | awk '/MemTotal/ {print $2}'); free=$(echo "$out" | awk '/MemFree/ {print $2}')
        small=no; "$UKPACK" run "$img" --mem 128M >/dev/null 2>&1 && small=yes
        label=$([ "$tree" = small ] && echo "demo (one static program)" || echo "program + $MIB MiB of files")
        printf '| %s | %s | %s MiB (%s MiB) | %.0f ms | %s MiB | %s MiB | %s |\n' "$label" "$mode" \
            "$(echo "$size / 1048576" | bc)" "$(echo "$use / 1024" | bc)" "$(median "${times[@]}")" \
            "$(echo "$total / 1024" | bc)" "$(echo "$free / 1024" | bc)" "$small"
    done
done
