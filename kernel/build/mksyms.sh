#!/bin/sh
# Writes the assembly for the kernel's .ksyms section from a linked kernel's symbols:
# a count, (address, name offset) rows sorted by address, then the names.
# Usage: mksyms.sh kernel.elf > ksyms.S   (with no argument: an empty table)
set -e
if [ -z "$1" ]; then
    printf '\t.section .ksyms, "a"\n\t.p2align 3\n\t.quad 0\n'
    exit 0
fi
nm -n --defined-only "$1" | awk '
    $2 ~ /^[tTdDrRbB]$/ && $3 !~ /^\./ && $3 !~ /^__kernel_|^__ksyms|^__modules_/ {
        nm_ = $3; gsub(/["\\]/, "_", nm_); addr[n] = $1; name[n] = nm_; n++
    }
    END {
        printf "\t.section .ksyms, \"a\"\n\t.p2align 3\n\t.quad %d\n", n
        off = 0
        for (i = 0; i < n; i++) { printf "\t.quad 0x%s, %d\n", addr[i], off; off += length(name[i]) + 1 }
        for (i = 0; i < n; i++) printf "\t.asciz \"%s\"\n", name[i]
    }'
