#!/usr/bin/env bash
# Build bench/floor/floor.elf into ${1:-bench/build}/floor.elf (GNU as + ld only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build}
mkdir -p "$out"
as --64 -o "$out/floor.o" "$here/floor.S"
ld -m elf_x86_64 -nostdlib -static -T "$here/floor.ld" -o "$out/floor.elf" "$out/floor.o"
echo "$out/floor.elf"
