#!/usr/bin/env bash
# A stand-in for ukpack that runs the program natively, to self-test run.sh's kernel path:
#   UKPACK=tools/fake-ukpack.sh ./run.sh
# Supports the subset of the CLI that run.sh uses:
#   fake-ukpack.sh build BIN -o IMG [--env K=V]... [-- ARGS...]
#   fake-ukpack.sh run IMG            (stdin/stdout/stderr passed through, status = program's)
# Like the real one, 'run' adds one line to stderr when the program is killed by a signal.
# FAKE_UKPACK_BREAK=GLOB makes programs whose basename matches GLOB print an extra stdout line
# (to check that run.sh reports differences, XFAILs and stale entries).
set -u
cmd=${1:-}; shift || true
case $cmd in
build)
    bin=$1; shift
    img="" envs=() args=()
    while (($#)); do
        case $1 in
        -o) img=$2; shift ;;
        --env) envs+=("$2"); shift ;;
        --) shift; args=("$@"); break ;;
        *) echo "fake-ukpack: unknown build option $1" >&2; exit 2 ;;
        esac
        shift
    done
    [[ -n $img && -x $bin ]] || { echo "fake-ukpack: usage: build BIN -o IMG" >&2; exit 2; }
    bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
    { declare -p bin envs args; } >"$img"
    ;;
run)
    # shellcheck disable=SC1090
    source "$1"
    # shellcheck disable=SC2154
    ( cd / && ulimit -c 0 && exec env -i "${envs[@]}" "$bin" "${args[@]}" ) 2>&1 1>&3 3>&- | cat >&2
    st=${PIPESTATUS[0]}
    # shellcheck disable=SC2053
    [[ -n ${FAKE_UKPACK_BREAK:-} && $(basename "$bin") == $FAKE_UKPACK_BREAK ]] && echo "fake-ukpack: injected difference"
    if ((st > 128 && st < 160)); then
        echo "ukpack: program killed by signal $((st - 128)) (fake)" >&2
    fi
    exit "$st"
    ;;
*)
    echo "usage: fake-ukpack.sh build BIN -o IMG [--env K=V]... [-- ARGS...] | run IMG" >&2
    exit 2
    ;;
esac 3>&1
