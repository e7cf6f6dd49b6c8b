#!/usr/bin/env bash
# scripts/test.sh — set up, build and run the whole test suite.
#
#   scripts/test.sh               scripts/setup.sh, then `meson test -C build --print-errorlogs`
#   scripts/test.sh --sanitize    also the same suite under ASan+UBSan in build-asan/
#   scripts/test.sh --fuzz        also a libFuzzer smoke run of every fuzz/ target (clang)
#   scripts/test.sh --arm64       also the unit tests cross-built for aarch64 and run under
#                                 qemu (scripts/cross_arm64.sh, in build-arm64/)
#
# With CI=true (as .ci/run is run) --sanitize, --fuzz and --arm64 are on.
# The fuzz smoke runs are deterministic: a fixed seed and a fixed number of inputs per
# target (about a minute each on this project's 2-core machines), so a run that fails
# fails again on any machine, whatever its speed. FUZZ_SECONDS=S instead explores: S
# seconds per target from a random seed (what to do by hand, for longer).
# Every stage runs even if an earlier one failed; the exit status is 0 only when all
# passed. The last line is the total: "N passed, M failed" (meson tests + fuzz runs).
set -uo pipefail

sanitize=0
fuzz=0
arm64=0
if [ "${CI:-}" = true ]; then sanitize=1; fuzz=1; arm64=1; fi
for arg in "$@"; do
    case "$arg" in
        --sanitize) sanitize=1 ;;
        --fuzz) fuzz=1 ;;
        --arm64) arm64=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
        *) echo "test.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done
fuzz_seconds=${FUZZ_SECONDS:-}

cd "$(dirname "$0")/.." || exit 1
root=$PWD
passed=0
failed=0
t_start=$SECONDS

stage() { printf '\n==== %s (%ds since start)\n' "$*" $((SECONDS - t_start)); }

# Adds the counts of a `meson test` run (its summary lines) to the totals. A run that
# did not get as far as the summary counts as one failure.
count_meson() {
    local log=$1 ok fail
    ok=$(awk '/^Ok:/ {s += $2} /^Expected Fail:/ {s += $3} END {print s + 0}' "$log")
    fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s + 0}' "$log")
    if ! grep -q '^Ok:' "$log"; then fail=$((fail + 1)); fi
    passed=$((passed + ok))
    failed=$((failed + fail))
}

# ---------------------------------------------------------------- setup + test suite
dev=()
((sanitize || fuzz)) && dev=(--dev)
stage "setup: scripts/setup.sh ${dev[*]}"
if ! bash scripts/setup.sh "${dev[@]}"; then
    echo "test.sh: setup or build failed" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

stage "test suite: meson test -C build"
meson test -C build --print-errorlogs 2>&1 | tee "$log_dir/build.log"
count_meson "$log_dir/build.log"

# ------------------------------------------------------------------- ASan + UBSan
if ((sanitize)); then
    stage "sanitizers: build-asan (ASan+UBSan, debugoptimized)"
    if { [ -f build-asan/build.ninja ] ||
         meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
             --buildtype=debugoptimized; } && ninja -C build-asan; then
        # meson test sets ASAN_OPTIONS / UBSAN_OPTIONS (halt and abort on error) itself
        # unless they are already set, so set them here in full.
        ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_summary=1:detect_leaks=1 \
        UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1 \
            meson test -C build-asan --print-errorlogs --timeout-multiplier 4 2>&1 |
            tee "$log_dir/asan.log"
        count_meson "$log_dir/asan.log"
    else
        echo "test.sh: the sanitizer build failed" >&2
        failed=$((failed + 1))
    fi
fi

# ------------------------------------------------------------------- libFuzzer smoke
if ((fuzz)); then
    stage "fuzzing: build-fuzz (clang, libFuzzer + ASan + UBSan)"
    targets=(fuzz_frontend fuzz_modelfile fuzz_ssml fuzz_engine)
    if { [ -f build-fuzz/build.ninja ] ||
         CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
             -Db_lundef=false --buildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link; } &&
       ninja -C build-fuzz "${targets[@]/#/fuzz/}"; then
        for t in "${targets[@]}"; do
            name=${t#fuzz_}
            work=$log_dir/corpus-$name            # new inputs go here, not into the tree
            mkdir -p "$work" build-fuzz/artifacts
            max_len=2048
            if [ "$name" = modelfile ]; then
                max_len=65536
                for f in models/kathleen.ltm models/kathleen.vocoder.ltm; do
                    [ -f "$f" ] && head -c 65536 "$f" >"$work/shipped-$(basename "$f")"
                done
            fi
            case $name in   # inputs per target: ~1 min each at CI's rates (430, 5,500, 1,300/s)
                frontend) runs=25000 ;;
                modelfile) runs=300000 ;;
                engine) runs=100 ;;    # whole synthesis calls: ~1.5 a second
                *) runs=80000 ;;
            esac
            if [ -n "$fuzz_seconds" ]; then
                how=(-max_total_time="$fuzz_seconds")
                echo "-- $t: ${fuzz_seconds}s, random seed"
            else
                how=(-seed=1 -runs=$runs)
                echo "-- $t: $runs inputs, seed 1"
            fi
            if build-fuzz/fuzz/$t "${how[@]}" -timeout=20 \
                   -rss_limit_mb=4096 -max_len=$max_len -print_final_stats=1 \
                   -artifact_prefix="$root/build-fuzz/artifacts/$name-" \
                   "$work" "fuzz/corpus/$name" >"$log_dir/$t.log" 2>&1; then
                passed=$((passed + 1))
                grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log_dir/$t.log"
            else
                failed=$((failed + 1))
                echo "FAIL: $t found a problem; the input is in build-fuzz/artifacts/:"
                # the report's head (what broke, and where), then its tail; a long run's
                # progress lines in between would push the head out of a CI log's excerpt
                log=$log_dir/$t.log
                first=$(grep -m1 -n -E 'invariant broken|==[0-9]+==ERROR|runtime error|deadly signal|out-of-memory|ALARM' "$log" | cut -d: -f1)
                [ -n "$first" ] &&
                    sed -n "$((first > 20 ? first - 20 : 1)),$((first + 40))p" "$log" |
                        grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD)'
                tail -n 12 "$log"
                # the input libFuzzer wrote (not older artifacts of the target)
                a=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
                [ -f "$a" ] && [ "$(stat -c %s "$a")" -le 4096 ] &&
                    { echo "-- $a, hex:"; od -A d -t x1 "$a"; }
            fi
        done
    else
        echo "test.sh: the fuzz build failed" >&2
        failed=$((failed + 1))
    fi
fi

# ------------------------------------------------------------- aarch64 under qemu
if ((arm64)); then
    stage "aarch64: scripts/cross_arm64.sh build-arm64 (cross-built, run under qemu)"
    bash scripts/cross_arm64.sh build-arm64 2>&1 | tee "$log_dir/arm64.log"
    count_meson "$log_dir/arm64.log"
fi

stage "done"
echo "$passed passed, $failed failed"
((failed == 0))
