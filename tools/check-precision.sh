#!/bin/bash
# Measures `ukpack check` against what a program really does: the system calls strace sees
# on this machine (the first execve, strace's own, left out) versus the calls check says
# are reachable. Not a test (it needs strace); the README's precision table comes from it.
#
#   tools/check-precision.sh PROGRAM [ARGS...]
set -u
UKPACK=${UKPACK:-$(dirname "$0")/../out/ukpack}
bin=$1; shift
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
strace -f -qq -o "$t/trace" "$bin" "$@" >/dev/null 2>&1 </dev/null
grep -oE '^[0-9]+ +[a-z_0-9]+\(' "$t/trace" | sed -E 's/^[0-9]+ +//; s/\($//' | grep -v '^execve$' | sort -u > "$t/real"
"$UKPACK" check "$bin" | grep -E '^ +[0-9]+ [a-z_0-9]+' | awk '{print $2}' | sort -u > "$t/pred"
real=$(wc -l < "$t/real"); pred=$(wc -l < "$t/pred"); both=$(comm -12 "$t/real" "$t/pred" | wc -l)
echo "$(basename "$bin"): strace saw $real calls; check predicts $pred; $both of the $real predicted; missed: $(comm -23 "$t/real" "$t/pred" | tr '\n' ' ')"
