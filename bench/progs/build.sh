#!/usr/bin/env bash
# Build every bench/progs/*.c as a static musl binary into ${1:-bench/build}/progs/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build}/progs
mkdir -p "$out"
CC=${CC:-musl-gcc}
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (apt-get install musl-tools)" >&2; exit 1; }
for src in "$here"/*.c; do
  name=$(basename "$src" .c)
  bin=$out/$name
  if [[ ! -x $bin || $src -nt $bin || $here/bench.h -nt $bin ]]; then
    "$CC" -static -O2 -Wall -o "$bin" "$src"
    strip "$bin"
  fi
done
echo "$out"
