#!/usr/bin/env bash
# scripts/cross_arm64.sh — cross-build libtts, tts and the unit tests for aarch64
# (arm64) on an x86-64 Debian machine, and run the unit tests under qemu-aarch64.
#
#   scripts/cross_arm64.sh [BUILD_DIR]     (default build-arm64)
#
# Installs what is missing (apt-get, through sudo when not root): the cross compiler,
# qemu-user and, through Debian's multiarch (dpkg --add-architecture arm64), the arm64
# builds of the libraries the project links. Then `meson setup --cross-file
# cross/aarch64-linux-gnu.ini`, ninja, and `meson test`, which runs each test program
# through qemu-aarch64 (the cross file's exe_wrapper; the tests driven from the build
# machine's shell or Python are left out of a cross build). Emulation is 10-30 x slower
# than the machine: the tests get 8 x their time limits. Exit status: meson test's.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-arm64}

libs=(libespeak-ng-dev libsndfile1-dev libfftw3-dev portaudio19-dev libopenblas-dev
      libpng-dev libsoxr-dev libcjson-dev)
pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user meson ninja-build pkg-config)
for l in "${libs[@]}"; do pkgs+=("$l:arm64"); done

# the arm64 names only mean something once dpkg knows the architecture
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" dpkg --add-architecture arm64
fi
# shellcheck source=scripts/packages.sh
. scripts/packages.sh
install_missing cross_arm64.sh "${pkgs[@]}"

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --cross-file cross/aarch64-linux-gnu.ini
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --timeout-multiplier 8
