#!/usr/bin/env bash
# tests/test_valgrind.sh TTS — the `tts` command end to end under valgrind memcheck:
# no definitely-lost bytes and no memory errors (invalid reads/writes, uses of
# uninitialized values) on the main paths.
#
# Run by `meson test` (tests/meson.build) with the path of build/cli/tts as $1 and
# TTS_TEST_DATA (tests/data) in the environment. By hand:
#     bash tests/test_valgrind.sh build/cli/tts
#
# Skipped (exit 77, which meson shows as SKIP) when valgrind is not installed
# (`scripts/setup.sh --dev` installs it). The voice is the TINY one test_cli.sh builds
# (tts-train on the 5 clips of tests/data/corpus, 3 steps): it speaks noise but runs
# every stage, and it is small enough that the five runs take well under a minute.
#
# Each case prints "ok" or "FAIL" with valgrind's report; the last line is
# "N passed, M failed".
set -u
LC_ALL=C.UTF-8
export LC_ALL

TTS=${1:?usage: test_valgrind.sh path/to/tts}
TTS=$(cd "$(dirname "$TTS")" && pwd)/$(basename "$TTS")
TRAIN=$(dirname "$TTS")/../train/tts-train
here=$(cd "$(dirname "$0")" && pwd)
DATA=${TTS_TEST_DATA:-$here/data}
LIMIT=${TTS_TEST_CMD_TIMEOUT:-120} # seconds per command

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed (apt-get install valgrind, or scripts/setup.sh --dev)"
    exit 77
fi
# A sanitizer build cannot run under valgrind (ASan reserves the address space itself).
if ldd "$TTS" 2>/dev/null | grep -q 'libasan\|libubsan'; then
    echo "SKIP: $TTS is built with sanitizers; valgrind cannot run it"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_valgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

npass=0 nfail=0

# Definitely-lost blocks and memory errors make valgrind exit 99. Still-reachable and
# possibly-lost blocks (eSpeak NG's and PortAudio's process-lifetime tables) are not
# counted: they are not leaks of a long-running program.
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --error-exitcode=99 --track-fds=no)

# vg NAME WANT_STATUS CMD...: runs CMD under valgrind (stdin from ./in if it exists, else
# /dev/null); passes when its exit status is WANT_STATUS and valgrind found nothing.
vg() {
    local name=$1 want=$2 rc input=/dev/null
    shift 2
    [ -f in ] && input=in
    timeout -k 5 "$LIMIT" "${VG[@]}" --log-file=vg.log "$@" <"$input" >out 2>err
    rc=$?
    rm -f in
    if [ "$rc" -eq "$want" ] && ! grep -q 'definitely lost\|Invalid \|uninitialised' vg.log; then
        npass=$((npass + 1))
        printf 'ok    %s\n' "$name"
    else
        nfail=$((nfail + 1))
        printf 'FAIL  %s (exit status %s, wanted %s; 99 = valgrind found errors)\n' \
            "$name" "$rc" "$want"
        sed 's/^/        /' vg.log | head -n 60
        sed 's/^/        stderr: /' err | head -n 5
    fi
}

model=$tmp/run/ckpt.ltm
if ! { timeout -k 5 "$LIMIT" "$TRAIN" prepare "$DATA/corpus" ds.ltd >train.log 2>&1 &&
       timeout -k 5 "$LIMIT" "$TRAIN" acoustic ds.ltd run --steps 3 --batch 2 --d 16 \
           --text-ch 16 --threads 1 >>train.log 2>&1 && [ -s "$model" ]; }; then
    echo "FAIL  tiny voice model built with tts-train"
    tail -n 5 train.log
    echo "0 passed, 1 failed"
    exit 1
fi

vg "--phonemes \"Hello, world. ...\": no leak, no memory error" 0 \
    "$TTS" --phonemes "Hello, world. Dr. Smith paid \$4.99 on 3/4/2021."
vg "-m tiny \"Hi.\" -o x.wav: no leak, no memory error" 0 \
    "$TTS" -m "$model" "Hi." -o x.wav
vg "-m tiny \"Hi.\" --raw: no leak, no memory error" 0 \
    "$TTS" -m "$model" "Hi." --raw
printf 'Hi.\n\nYes.\n' >in
TTS_PLAY_NULL=1 vg "-m tiny --play - (stdin lines, null sink): no leak, no memory error" 0 \
    "$TTS" -m "$model" --play --stats -
vg "-m /nonexistent/voice.ltm (error path): exit 3, no leak" 3 \
    "$TTS" -m /nonexistent/voice.ltm "Hi." -o y.wav

echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
