#!/usr/bin/env bash
# A longer syscall-fuzzing campaign than `make test` runs: sysfuzz (tests/fuzz/sysfuzz.c)
# under the kernel for many seeds. Fails on the first seed whose run ends in anything but
# the fuzzer's own summary line (a kernel panic, a hang past the timeout, a killed program).
# Every fifth seed runs at --mem 48M with /tmp filled first, so memory is short.
#
#   tests/fuzz/campaign.sh [FIRST_SEED] [SEEDS] [CALLS_PER_SEED]     (defaults: 1 100 100000)
#   make fuzz [FUZZ_SEEDS=100] [FUZZ_CALLS=100000] [FUZZ_FIRST=1]
#
# A failing seed is reproduced with: out/ukpack run out/obj/fuzz/sysfuzz.img -- SEED CALLS FROM
# (FROM: print every call from that index on, to find the one that broke it).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FIRST=${1:-1} SEEDS=${2:-100} CALLS=${3:-100000}
OUT="$ROOT/out/obj/fuzz"
mkdir -p "$OUT"
CC=$(command -v musl-gcc || command -v gcc)
"$CC" -static -O2 -o "$OUT/sysfuzz" "$HERE/sysfuzz.c" || exit 2
"$ROOT/out/ukpack" build "$OUT/sysfuzz" -o "$OUT/sysfuzz.img" || exit 2
total=0 start=$(date +%s.%N) rate_sum=0
for ((s = FIRST; s < FIRST + SEEDS; s++)); do
    # Every fifth seed runs with memory short: 48 MiB, /tmp filled to ENOSPC first.
    if ((s % 5 == 0)); then extra=(--mem 48M -- "$s" "$CALLS" fill); else extra=(-- "$s" "$CALLS"); fi
    "$ROOT/out/ukpack" run "$OUT/sysfuzz.img" --timeout 600 "${extra[@]}" </dev/null >"$OUT/seed.out" 2>"$OUT/seed.err"
    st=$?
    line=$(tail -1 "$OUT/seed.out")
    if [[ $st -ne 0 || $line != "sysfuzz: seed $s: $CALLS calls"* ]]; then
        echo "FAIL seed $s (status $st): $line" >&2
        cat "$OUT/seed.err" >&2
        exit 1
    fi
    echo "$line"
    total=$((total + CALLS))
    rate_sum=$((rate_sum + $(sed 's/.* ms, \([0-9]*\) calls\/s/\1/' <<<"$line")))
done
end=$(date +%s.%N)
echo "campaign: $SEEDS seeds, $total calls, no panic or hang; $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.0f", b-a}') s wall clock, mean $((rate_sum / SEEDS)) calls/s inside the guest"
