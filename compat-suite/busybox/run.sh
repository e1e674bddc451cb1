#!/usr/bin/env bash
# Runs busybox applets (Debian's busybox-static, unmodified) natively and under the kernel
# over the same test tree and compares stdout, stderr and exit status.
#   busybox/run.sh [--filter GLOB] [-j N]
# Native: chroot into a fresh copy of the tree. Kernel: the tree packed once as the root
# filesystem (`ukpack build /bin/busybox --fs TREE`), argv given at run time.
# Exit status 0 when every case matches (or is listed in expected-differences.txt).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UKPACK=${UKPACK:-$HERE/../../out/ukpack}
BUSYBOX=${BUSYBOX:-/bin/busybox}
WORK=${COMPAT_TMP:-$HERE/../tmp}/busybox
FILTER='*' JOBS=2
while (($#)); do
    case $1 in
    --filter) FILTER=$2; shift ;;
    -j) JOBS=$2; shift ;;
    *) echo "busybox/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ -x $BUSYBOX ]] || { echo "busybox/run.sh: $BUSYBOX missing (apt-get install busybox-static)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "busybox/run.sh: needs root for chroot" >&2; exit 2; }

# ------------------------------------------------------------------ the test tree
rm -rf "$WORK"; mkdir -p "$WORK"
T=$WORK/tree
mkdir -p "$T/bin" "$T/tmp" "$T/etc" "$T/dev" "$T/proc" "$T/data/sub/deep" "$T/data/empty"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$T/etc/passwd"
printf 'root:x:0:\n' > "$T/etc/group"
cp "$BUSYBOX" "$T/bin/busybox"
printf 'hello world\nsecond line\nHello again, hello\nlast\n' > "$T/data/a.txt"
printf 'b file\nhello from b\n' > "$T/data/sub/b.txt"
printf 'deep\n' > "$T/data/sub/deep/c.txt"
printf 'pear\napple\nfig\nbanana\napple\ncherry\ndate\nelderberry\n' > "$T/data/words.txt"
printf '10\n9\n100\n-3\n42\n' > "$T/data/nums.txt"
printf 'a\na\nb\nc\nc\nc\nd\n' > "$T/data/dups.txt"
awk 'BEGIN { x = 12345; for (i = 0; i < 20000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%c", int(x / 65536) % 256 } }' > "$T/data/bin.dat" 2>/dev/null
head -c 20000 /dev/zero | tr '\0' 'z' > /dev/null
ln "$T/data/a.txt" "$T/data/hard.txt"
ln -s a.txt "$T/data/link"
ln -s sub/deep "$T/data/dlink"
(cd "$T/data" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2024-01-02 03:04:05' -cf "$WORK/archive.tar" sub a.txt)
mv "$WORK/archive.tar" "$T/data/archive.tar"
# busybox sh runs other applets through PATH (Debian's build is not standalone): links in
# /bin; background jobs open /dev/null (natively a device node in the chroot; the kernel's
# devfs has its own). Scripts live in /scripts, away from the /data the other cases list.
for a in sh cat sort uniq wc ls echo head tr grep sleep seq true false sed kill; do ln -s busybox "$T/bin/$a"; done
mknod -m 666 "$T/dev/null" c 1 3
# Debian's dash and bash (dynamically linked) run the same scripts: the programs, and the
# libraries ldd names at their own paths (the chroot and the image both need them).
for prog in /bin/dash /bin/bash; do
    [[ -x $prog ]] || { echo "busybox/run.sh: $prog missing" >&2; exit 2; }
    cp "$prog" "$T/bin/"
    for lib in $(ldd "$prog" | grep -o '/[^ ]*'); do mkdir -p "$T$(dirname "$lib")"; cp -L "$lib" "$T$lib"; done
done
mkdir -p "$T/scripts"
cp "$HERE"/scripts/*.sh "$T/scripts/"
chmod 755 "$T"/scripts/*.sh
chmod 1777 "$T/tmp"; chmod 600 "$T/data/nums.txt"; chmod 755 "$T/data/sub/deep"
chown -R 0:0 "$T"
find "$T" -exec touch -h -d '2024-01-02 03:04:05' {} +

# ------------------------------------------------------------------ kernel image
IMG=$WORK/busybox.img
"$UKPACK" build "$T/bin/busybox" --fs "$T" -o "$IMG" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 2; }
grep -v 'dev/null: skipped' "$WORK/build.log" >&2 || true

trim() { local s=$1; s="${s#"${s%%[![:space:]]*}"}"; s="${s%"${s##*[![:space:]]}"}"; printf '%s' "$s"; }

one() {
    local name=$1 args=$2 flags=$3 d=$WORK/$1 argv=() in=/dev/null
    mkdir -p "$d"
    mapfile -d '' argv < <(printf '%s' "$args" | xargs printf '%s\0')
    [[ $flags == *stdin=* ]] && in=$T/${flags#*stdin=}
    # native: a fresh copy of the tree, chroot
    cp -a "$T" "$d/root"
    (cd / && exec chroot "$d/root" /bin/busybox "${argv[@]}") <"$in" >"$d/native.out" 2>"$d/native.err"
    echo $? >"$d/native.status"
    rm -rf "$d/root"
    # shellcheck disable=SC2086
    timeout 60 "$UKPACK" run ${UKPACK_RUN_OPTS:-} "$IMG" -- "${argv[@]}" <"$in" >"$d/kernel.out" 2>"$d/kernel.err"
    echo $? >"$d/kernel.status"
    local s
    for s in native kernel; do
        if [[ $flags == *sort* ]]; then LC_ALL=C sort "$d/$s.out" -o "$d/$s.out"; fi
        if [[ $flags == *tarsum* ]]; then tar -tvf "$d/$s.out" >"$d/$s.list" 2>&1; mv "$d/$s.list" "$d/$s.out"; fi
    done
    if cmp -s "$d/native.out" "$d/kernel.out" && cmp -s "$d/native.err" "$d/kernel.err" && cmp -s "$d/native.status" "$d/kernel.status"; then
        echo "PASS bb_$name"
    else
        echo "FAIL bb_$name"
    fi
}
export -f one trim
export WORK T IMG UKPACK

while IFS= read -r l; do
    [[ $l =~ ^[[:space:]]*(#|$) ]] && continue
    IFS='|' read -r n a f <<<"$l"
    n=$(trim "$n"); a=$(trim "$a"); f=$(trim "${f:-}")
    [[ bb_$n == $FILTER ]] || continue
    printf '%s\0%s\0%s\0' "$n" "$a" "$f"
done <"$HERE/cases.txt" | xargs -0 -n 3 -P "$JOBS" bash -c 'one "$@"' _ >"$WORK/results.txt"

# expected differences: the suite's file, entries starting with bb_
XGLOBS=()
while read -r g r; do [[ $g == bb_* ]] && XGLOBS+=("$g"); done < <(grep -v '^[[:space:]]*#' "$HERE/../expected-differences.txt")
pass=0 fail=0 xfail=0
while read -r res name; do
    if [[ $res == PASS ]]; then pass=$((pass + 1)); echo "PASS $name"; continue; fi
    x=0; for g in "${XGLOBS[@]}"; do [[ $name == $g ]] && x=1; done
    if ((x)); then xfail=$((xfail + 1)); echo "XFAIL $name"; else fail=$((fail + 1)); echo "FAIL $name (see $WORK/${name#bb_}/)"; fi
done < <(sort -k2 "$WORK/results.txt")
echo "== busybox: $((pass + fail + xfail)) cases: $pass passed, $fail failed, $xfail expected failures"
((fail == 0))
