#!/usr/bin/env bash
# Compat suite runner: runs every case of cases.txt for each build variant natively and
# under the kernel (through ukpack) and compares stdout, stderr and exit status.
#
#   ./run.sh [--native-only] [--filter GLOB] [-j N] [--timeout S] [--no-build] [--variants L]
#
#   --native-only  run natively only; check each case's exit status against cases.txt and
#                  that all variants of a case print the same (checks the programs themselves)
#   --filter GLOB  only cases whose CASE.VARIANT name matches GLOB (bash glob; a bare word W
#                  means *W*); may be repeated
#   -j N           parallel jobs (default: number of cores)
#   --timeout S    per-run timeout in seconds (default 60; a timeout is a FAIL)
#   --no-build     do not run make first
#   --variants L   comma-separated variants (default musl,glibc,pie); cases flagged
#                  variant=V (programs built one way only, e.g. Go, Rust) always run as CASE.V
#
# Environment: UKPACK (default ../out/ukpack relative to this script), UKPACK_RUN_OPTS (extra
# `ukpack run` options, e.g. "--gc-stress 7" to run the suite with the collector stressed),
# COMPAT_TMP (work directory, default tmp/ beside this script), UKPACK_ENV_OPT (the ukpack build
# option that adds one environment string, default --env).
#
# Kernel side of one case:   $UKPACK build BIN -o IMG [--env K=V]... [-- ARGS...]
#                            $UKPACK run IMG < STDIN > OUT 2> ERR      (status = program's)
# Native side of one case:   cd / && env -i [K=V...] BIN ARGS... < STDIN > OUT 2> ERR
# Exit status: 0 if every failure is listed in expected-differences.txt, 1 otherwise,
# 2 on a usage or configuration error.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The environment passed to cases flagged 'env' (natively via env -i, to ukpack via --env).
COMPAT_ENV=("COMPAT_GREETING=hello compat" "COMPAT_EMPTY=" "COMPAT_EQ=a=b=c")

# ---------------------------------------------------------------- one case (internal)
# run_native ID BIN STDIN FLAGS ARGS... ; writes $WORK/ID/native.{out,err,status}
run_native() {
    local id=$1 bin=$2 in=$3 flags=$4; shift 4
    local d="$WORK/$id" envs=()
    [[ ,$flags, == *,env,* ]] && envs=("${COMPAT_ENV[@]}")
    { (cd / && ulimit -c 0 && exec timeout -k 5 "$TIMEOUT" env -i "${envs[@]}" "$bin" "$@") \
        <"$in" >"$d/native.out" 2>"$d/native.err"; } 2>/dev/null
    echo $? >"$d/native.status"
}

# run_kernel ID BIN STDIN FLAGS ARGS... ; writes $WORK/ID/kernel.{out,err,status}
run_kernel() {
    local id=$1 bin=$2 in=$3 flags=$4; shift 4
    local d="$WORK/$id" img="$WORK/$id/image.img" envopts=() e
    if [[ ,$flags, == *,env,* ]]; then
        for e in "${COMPAT_ENV[@]}"; do envopts+=("${UKPACK_ENV_OPT:---env}" "$e"); done
    fi
    local bargs=("$UKPACK" build "$bin" -o "$img" "${envopts[@]}")
    (($# > 0)) && bargs+=(-- "$@")
    if ! timeout -k 5 "$TIMEOUT" "${bargs[@]}" >"$d/build.log" 2>&1; then
        echo "build" >"$d/kernel.error"
        : >"$d/kernel.out"; : >"$d/kernel.err"; echo 255 >"$d/kernel.status"
        return
    fi
    # UKPACK_RUN_OPTS: extra `ukpack run` options for every case (e.g. --gc-stress 7).
    # shellcheck disable=SC2086
    { timeout -k 5 "$TIMEOUT" "$UKPACK" run ${UKPACK_RUN_OPTS:-} "$img" <"$in" >"$d/kernel.out" 2>"$d/kernel.err"; } 2>/dev/null
    local st=$?
    echo $st >"$d/kernel.status"
    # timeout(1) exits 124 when it had to stop the command
    ((st == 124)) && echo "timeout" >"$d/kernel.timeout"
    rm -f "$img"
}

# one_case LINE-FIELDS via env: called through xargs as: run.sh --one CASE VARIANT
one_case() {
    local name=$1 variant=$2 line prog args stdin status flags
    line=$(case_line "$name") || { echo "unknown case $name" >&2; exit 2; }
    IFS='|' read -r _ prog args stdin status flags <<<"$line"
    prog=$(trim "$prog"); args=$(trim "$args"); stdin=$(trim "$stdin"); flags=$(trim "$flags")
    local id="$name.$variant" bin="$HERE/build/$(trim "$prog").$variant"
    local in=/dev/null
    [[ $stdin != - && -n $stdin ]] && in="$HERE/$stdin"
    rm -rf "${WORK:?}/$id"; mkdir -p "$WORK/$id"
    local argv=()
    if [[ -n $args ]]; then
        mapfile -d '' argv < <(printf '%s' "$args" | xargs printf '%s\0')
    fi
    run_native "$id" "$bin" "$in" "$flags" "${argv[@]}"
    [[ $MODE == native ]] || run_kernel "$id" "$bin" "$in" "$flags" "${argv[@]}"
}

trim() { local s=$1; s="${s#"${s%%[![:space:]]*}"}"; s="${s%"${s##*[![:space:]]}"}"; printf '%s' "$s"; }

# case_line NAME: the cases.txt line of NAME
case_line() {
    local l n
    while IFS= read -r l; do
        [[ $l =~ ^[[:space:]]*(#|$) ]] && continue
        n=$(trim "${l%%|*}")
        [[ $n == "$1" ]] && { printf '%s\n' "$l"; return 0; }
    done <"$HERE/cases.txt"
    return 1
}

if [[ ${1:-} == --one ]]; then
    : "${MODE:?} ${WORK:?} ${TIMEOUT:?} ${UKPACK:=}"
    one_case "$2" "$3"
    exit 0
fi

# ---------------------------------------------------------------- options
MODE=kernel FILTERS=() JOBS=$(nproc 2>/dev/null || echo 2) TIMEOUT=60 BUILD=1
VARIANTS=musl,glibc,pie
while (($#)); do
    case $1 in
    --native-only) MODE=native ;;
    --filter) FILTERS+=("$2"); shift ;;
    --filter=*) FILTERS+=("${1#*=}") ;;
    -j) JOBS=$2; shift ;;
    -j*) JOBS=${1#-j} ;;
    --timeout) TIMEOUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    --variants) VARIANTS=$2; shift ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
UKPACK=${UKPACK:-$HERE/../out/ukpack}
WORK=${COMPAT_TMP:-$HERE/tmp}
export MODE WORK TIMEOUT UKPACK

if [[ $MODE == kernel && ! -x $UKPACK ]]; then
    echo "run.sh: ukpack not found or not executable: $UKPACK (set UKPACK, or use --native-only)" >&2
    exit 2
fi
if ((BUILD)); then
    mkdir -p "$WORK"
    make -s -C "$HERE" -j"$JOBS" >"$WORK/build.log" 2>&1 || {
        cat "$WORK/build.log" >&2; echo "run.sh: build failed" >&2; exit 2; }
fi

# expected differences: GLOB REASON
XGLOBS=() XREASONS=()
while IFS= read -r l; do
    [[ $l =~ ^[[:space:]]*(#|$) ]] && continue
    read -r g r <<<"$l"
    if [[ -z ${r:-} ]]; then
        echo "run.sh: expected-differences.txt: entry '$g' has no reason" >&2; exit 2
    fi
    XGLOBS+=("$g"); XREASONS+=("$r")
done <"$HERE/expected-differences.txt"

# ---------------------------------------------------------------- select cases
declare -A EXPECT FLAGS SEEN SINGLE
IDS=() NAMES=() SKIPS=()
IFS=, read -r -a VLIST <<<"$VARIANTS"
while IFS= read -r l; do
    [[ $l =~ ^[[:space:]]*(#|$) ]] && continue
    IFS='|' read -r name prog args stdin status flags <<<"$l"
    name=$(trim "$name") prog=$(trim "$prog") flags=$(trim "${flags:-}")
    [[ -n ${SEEN[$name]+x} ]] && { echo "run.sh: duplicate case $name" >&2; exit 2; }
    SEEN[$name]=1
    # flag variant=V: a program built one way only (build/PROG.V); skipped when not built
    vs=("${VLIST[@]}")
    if [[ ,$flags, =~ ,variant=([^,]+), ]]; then
        vs=("${BASH_REMATCH[1]}")
        SINGLE[$name]=1
    fi
    for v in "${vs[@]}"; do
        id=$name.$v
        if ((${#FILTERS[@]})); then
            keep=0
            for f in "${FILTERS[@]}"; do
                [[ $f == *[*?[]* ]] || f="*$f*"
                # shellcheck disable=SC2053
                [[ $id == $f ]] && keep=1
            done
            ((keep)) || continue
        fi
        if [[ -n ${SINGLE[$name]+x} && ! -x $HERE/build/$prog.$v ]]; then
            SKIPS+=("$id (build/$prog.$v not built: toolchain missing?)"); continue
        fi
        IDS+=("$id"); NAMES+=("$name $v")
        EXPECT[$id]=$(trim "$status"); FLAGS[$id]=$flags
    done
done <"$HERE/cases.txt"
for s in "${SKIPS[@]}"; do echo "SKIP $s"; done
((${#IDS[@]} + ${#SKIPS[@]})) || { echo "run.sh: no case matches" >&2; exit 2; }
((${#IDS[@]})) || { echo "== $MODE: 0 cases: 0 passed, 0 failed, ${#SKIPS[@]} skipped"; exit 0; }

mkdir -p "$WORK"
printf '%s\n' "${NAMES[@]}" | xargs -P "$JOBS" -L 1 "$0" --one

# ---------------------------------------------------------------- compare and report
fails=0 xfails=0 passes=0
declare -A FAILED
show_diff() { # label a b
    diff -u --label "native/$1" --label "kernel/$1" "$2" "$3" | head -n 40 | sed 's/^/    /'
}
show_vdiff() { # label ref other refname othername
    diff -u --label "$4/$1" --label "$5/$1" "$2" "$3" | head -n 40 | sed 's/^/    /'
}
for id in "${IDS[@]}"; do
    d=$WORK/$id name=${id%.*} v=${id##*.}
    sig=0; [[ ,${FLAGS[$id]}, == *,signal,* ]] && sig=1
    why=() details=""
    nst=$(cat "$d/native.status" 2>/dev/null || echo missing)
    if [[ $nst != "${EXPECT[$id]}" ]]; then
        why+=("native status $nst, expected ${EXPECT[$id]}")
        [[ -s $d/native.err ]] && details+="    native stderr: $(head -c 300 "$d/native.err")"$'\n'
    fi
    if [[ $MODE == native ]]; then
        ref=$WORK/$name.${VLIST[0]}
        if [[ -z ${SINGLE[$name]+x} && $v != "${VLIST[0]}" && -d $ref ]]; then
            if ! cmp -s "$ref/native.out" "$d/native.out"; then
                why+=("stdout differs from ${VLIST[0]}")
                details+=$(show_vdiff stdout "$ref/native.out" "$d/native.out" "${VLIST[0]}" "$v")$'\n'
            fi
            if ((!sig)) && ! cmp -s "$ref/native.err" "$d/native.err"; then
                why+=("stderr differs from ${VLIST[0]}")
                details+=$(show_vdiff stderr "$ref/native.err" "$d/native.err" "${VLIST[0]}" "$v")$'\n'
            fi
        fi
    else
        if [[ -e $d/kernel.error ]]; then
            why+=("ukpack build failed")
            [[ -s $d/build.log ]] && details+=$(head -n 20 "$d/build.log" | sed 's/^/    /')$'\n'
        else
            [[ -e $d/kernel.timeout ]] && why+=("timeout after ${TIMEOUT}s")
            if ! cmp -s "$d/native.out" "$d/kernel.out"; then
                why+=("stdout differs")
                details+=$(show_diff stdout "$d/native.out" "$d/kernel.out")$'\n'
            fi
            if ((!sig)) && ! cmp -s "$d/native.err" "$d/kernel.err"; then
                why+=("stderr differs")
                details+=$(show_diff stderr "$d/native.err" "$d/kernel.err")$'\n'
            fi
            kst=$(cat "$d/kernel.status")
            [[ $kst != "$nst" ]] && why+=("status $kst, native $nst")
        fi
    fi
    if ((${#why[@]} == 0)); then
        echo "PASS $id"; passes=$((passes + 1)); continue
    fi
    reason=""
    if [[ $MODE == kernel ]]; then
        for i in "${!XGLOBS[@]}"; do
            # shellcheck disable=SC2053
            [[ $id == ${XGLOBS[$i]} ]] && { reason=${XREASONS[$i]}; FAILED[$i]=1; break; }
        done
    fi
    msg=$(IFS=';'; echo "${why[*]}"); msg=${msg//;/; }
    if [[ -n $reason ]]; then
        echo "XFAIL $id ($msg) -- expected: $reason"; xfails=$((xfails + 1))
    else
        echo "FAIL $id ($msg)"; fails=$((fails + 1))
        printf '%s' "$details"
    fi
done

stale=0
if [[ $MODE == kernel ]]; then
    for i in "${!XGLOBS[@]}"; do
        [[ -n ${FAILED[$i]:-} ]] && continue
        ran=0
        # shellcheck disable=SC2053
        for id in "${IDS[@]}"; do [[ $id == ${XGLOBS[$i]} ]] && ran=1 && break; done
        ((ran)) && { echo "stale expected difference: ${XGLOBS[$i]}  (${XREASONS[$i]})"; stale=$((stale + 1)); }
    done
fi
skipped=""
((${#SKIPS[@]})) && skipped=", ${#SKIPS[@]} skipped"
echo "== $MODE: ${#IDS[@]} cases: $passes passed, $fails failed, $xfails expected failures, $stale stale entries$skipped"
((fails == 0))
