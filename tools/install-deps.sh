#!/bin/sh
# Installs the Debian 12 packages the build and the tests use (README's set-up line and
# .ci/run). Run as root: `$(command -v sudo) sh tools/install-deps.sh`.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    qemu-system-x86 musl-tools gcc libc6-dev make binutils busybox-static ca-certificates xxd \
    golang-go rustc python3 iproute2 gdb nginx-light redis-server redis-tools wrk curl nodejs \
    grub-pc-bin grub-efi-amd64-bin ovmf mtools dosfstools qemu-utils skopeo \
    postgresql postgresql-client e2fsprogs sqlite3 git libpython3.11-testsuite
