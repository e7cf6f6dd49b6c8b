#!/bin/bash
# The kernel tests (tests/test_kernels.c: NEON against scalar and double, nn_sgemm's NEON
# version) cross-compiled for aarch64 and run under qemu-aarch64. SKIP without
# gcc-aarch64-linux-gnu or qemu-user (scripts/setup.sh --dev installs them).
# usage: test_kernels_aarch64.sh SOURCE_ROOT
set -u
src=$1
cc=aarch64-linux-gnu-gcc
command -v "$cc" >/dev/null && command -v qemu-aarch64 >/dev/null ||
    { echo "SKIP: $cc or qemu-aarch64 not installed"; exit 77; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$cc" -O2 -std=gnu11 -D_GNU_SOURCE -DTTS_VERSION_STRING='"test"' -static -I"$src" \
        -I"$src/include" "$src/tests/test_kernels.c" "$src"/nn/kernels.c \
        "$src"/nn/kernels_avx2.c "$src"/nn/kernels_neon.c "$src"/nn/gemm.c \
        "$src"/nn/gemm_x86.c "$src"/nn/layers.c "$src"/core/err.c -lm -o "$out/test_kernels"; then
    echo "FAIL: the kernels do not cross-compile for aarch64"
    exit 1
fi
qemu-aarch64 "$out/test_kernels" >"$out/log" 2>&1
rc=$?
cat "$out/log"
[ $rc -eq 0 ] && grep -q 'CPU best level: neon' "$out/log" # the NEON versions were the ones tested
