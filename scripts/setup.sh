#!/usr/bin/env bash
# scripts/setup.sh — install what libtts needs on Debian 12 and build it.
#
#   scripts/setup.sh           packages for building and testing, then build/ (meson + ninja)
#   scripts/setup.sh --dev     also clang and its sanitizer/libFuzzer runtime (CI, fuzzing),
#                              and valgrind (tests/test_valgrind.sh)
#   scripts/setup.sh --no-build   packages only
#
# Idempotent: when dpkg reports every package installed, apt is not run at all;
# otherwise `apt-get update` runs once, then `apt-get install`. sudo is used only when
# not running as root. An existing build/ is kept (ninja reconfigures it when a
# meson.build changed); only a configuration that never finished is wiped.
#
# Environment: BUILD_DIR (default: build) — the build folder, relative to the source root.
set -euo pipefail

dev=0
build=1
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1 ;;
        --no-build) build=0 ;;
        -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.." || exit 1
build_dir=${BUILD_DIR:-build}

# Build: compiler, meson, ninja, pkg-config and the libraries found through it.
pkgs=(gcc libc6-dev meson ninja-build pkg-config
      libespeak-ng-dev espeak-ng-data libsndfile1-dev libfftw3-dev portaudio19-dev
      libopenblas-dev libpng-dev
      libmicrohttpd-dev libcjson-dev libspeechd-dev speech-dispatcher libsoxr-dev)
# --dev: clang with the ASan/UBSan/libFuzzer runtime (scripts/test.sh in CI, fuzz/), and
# valgrind for tests/test_valgrind.sh (skipped without it), NumPy for the Python binding's
# array test (tests/test_python.py; python3 itself comes with meson), Dask for the
# scale-out example's test (tests/test_dask.py), the aarch64 cross compiler and qemu for
# the NEON kernels' test (tests/test_kernels_aarch64.sh).
dev_pkgs=(clang libclang-rt-14-dev valgrind python3-numpy python3-distributed
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
((dev)) && pkgs+=("${dev_pkgs[@]}")

# shellcheck source=scripts/packages.sh
. scripts/packages.sh
install_missing setup.sh "${pkgs[@]}" || exit 1

((build)) || exit 0

if [ -f "$build_dir/build.ninja" ]; then
    : # ninja re-runs meson by itself when a meson.build changed
elif [ -d "$build_dir/meson-private" ]; then
    meson setup --wipe "$build_dir" # a configuration that never finished
else
    meson setup "$build_dir"
fi
ninja -C "$build_dir"
