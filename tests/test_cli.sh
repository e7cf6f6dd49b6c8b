#!/usr/bin/env bash
# shellcheck disable=SC2034  # variables are read by the conditions that check() evals
# tests/test_cli.sh TTS — the `tts` command: options, exit codes, and what bad input gets.
#
# Run by `meson test` (tests/meson.build) with the path of build/cli/tts as $1 and
# TTS_TEST_DATA (tests/data) and TTS_SOURCE_DIR (the source root) in the environment.
# By hand:  bash tests/test_cli.sh build/cli/tts
#
# Tests that need a voice build a TINY one first (tts-train on the 5 clips of
# tests/data/corpus, 3 steps, d=16): it speaks noise, but every code path runs.
#
# Each check prints "ok", "FAIL", "XFAIL" (a known bug, listed with its reason; it does
# not fail the run), "XPASS" (a known bug seems fixed: remove its xfail marker) or
# "skip" (with the reason). The last line is "N passed, M failed"; the exit status is 0
# only when nothing failed. Every command runs under `timeout`, so a hang is a failure.
set -u
LC_ALL=C.UTF-8
export LC_ALL

TTS=${1:?usage: test_cli.sh path/to/tts}
TTS=$(cd "$(dirname "$TTS")" && pwd)/$(basename "$TTS")
TRAIN=$(dirname "$TTS")/../train/tts-train
BUILD=$(cd "$(dirname "$TTS")/.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
DATA=${TTS_TEST_DATA:-$here/data}
SRC=${TTS_SOURCE_DIR:-$here/..}
LIMIT=${TTS_TEST_CMD_TIMEOUT:-120} # seconds per command; ASan runs are slower

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

npass=0 nfail=0 nxfail=0 nskip=0
XFAIL=
rc=0

say_pass() {
    npass=$((npass + 1))
    if [ -n "$XFAIL" ]; then
        printf 'XPASS %s — known bug seems fixed, remove its xfail marker (%s)\n' "$1" "$XFAIL"
    else
        printf 'ok    %s\n' "$1"
    fi
}
say_fail() {
    local name=$1
    shift
    if [ -n "$XFAIL" ]; then
        nxfail=$((nxfail + 1))
        printf 'XFAIL %s — known bug: %s\n' "$name" "$XFAIL"
    else
        nfail=$((nfail + 1))
        printf 'FAIL  %s\n' "$name"
    fi
    local l
    for l in "$@"; do printf '        %s\n' "$l"; done
}
skip() {
    nskip=$((nskip + 1))
    printf 'skip  %s — %s\n' "$1" "$2"
}

# check NAME COND...: each COND is a shell condition, evaluated in order; the first that
# is false fails NAME and is shown with the exit status and stderr of the last command.
check() {
    local name=$1 c
    shift
    for c in "$@"; do
        if ! eval "$c"; then
            say_fail "$name" "condition: $c" "exit status: $rc" \
                "stderr: $(head -c 400 err 2>/dev/null | tr '\n' '|')"
            return 1
        fi
    done
    say_pass "$name"
}
# xfail "REASON" check NAME COND...: the same, for a known bug.
xfail() {
    XFAIL=$1
    shift
    "$@"
    XFAIL=
}

# run CMD...: runs CMD with no stdin; stdout → ./out, stderr → ./err, status → $rc.
run() {
    timeout -k 5 "$LIMIT" "$@" </dev/null >out 2>err
    rc=$?
}
# run_in FILE CMD...: the same with stdin from FILE.
run_in() {
    local in=$1
    shift
    timeout -k 5 "$LIMIT" "$@" <"$in" >out 2>err
    rc=$?
}

# WAV header reading (no sox needed). wav_info FILE sets wav_fmt, wav_ch, wav_rate,
# wav_bits, wav_frames and returns 0 only for a complete RIFF/WAVE file: the RIFF size
# matches the file size and the data chunk is all there.
u32() { od -An -tu4 -j"$2" -N4 "$1" | tr -d ' \n'; }
u16() { od -An -tu2 -j"$2" -N2 "$1" | tr -d ' \n'; }
wav_info() {
    local f=$1 size off id len
    wav_fmt='' wav_ch='' wav_rate='' wav_bits='' wav_frames=''
    [ -f "$f" ] || return 1
    size=$(stat -c %s "$f")
    [ "$size" -ge 44 ] || return 1
    [ "$(head -c 4 "$f" | tr -d "\0")" = RIFF ] || return 1
    [ "$(tail -c +9 "$f" | head -c 4 | tr -d "\0")" = WAVE ] || return 1
    [ $(($(u32 "$f" 4) + 8)) -eq "$size" ] || return 1
    off=12
    while [ $((off + 8)) -le "$size" ]; do
        id=$(tail -c +$((off + 1)) "$f" | head -c 4 | tr -d "\0")
        len=$(u32 "$f" $((off + 4)))
        case $id in
        "fmt ")
            wav_fmt=$(u16 "$f" $((off + 8)))
            wav_ch=$(u16 "$f" $((off + 10)))
            wav_rate=$(u32 "$f" $((off + 12)))
            wav_bits=$(u16 "$f" $((off + 22)))
            ;;
        data)
            [ -n "$wav_rate" ] && [ "$wav_ch" -gt 0 ] && [ "$wav_bits" -gt 0 ] || return 1
            [ $((off + 8 + len)) -le "$size" ] || return 1
            wav_frames=$((len / (wav_ch * wav_bits / 8)))
            return 0
            ;;
        esac
        off=$((off + 8 + len + (len & 1)))
    done
    return 1
}
# a complete 16-bit mono PCM WAV with at least one sample
good_wav() {
    wav_info "$1" && [ "$wav_fmt" = 1 ] && [ "$wav_ch" = 1 ] && [ "$wav_bits" = 16 ] &&
        [ "$wav_frames" -gt 0 ]
}
# the number after FIELD on the training log's line that starts with PREFIX
# (log_value "val-ema step 3" loss vema/train.log)
log_value() {
    sed -n "s/^$1 .* $2 \([0-9.]*\) .*/\1/p" "$3"
}
# no file at $1 and no temporary left beside it (its name with a suffix)
nothing_at() {
    local p=$1
    [ ! -e "$p" ] && ! compgen -G "$p?*" >/dev/null
}

echo "tts: $TTS"
echo "tts-train: $TRAIN"

# ==================================================================== options, usage
run "$TTS" --help
help_text=$(cat out)
opts=$(grep -o '{"[a-z-]*", *[a-z_]*_argument' "$SRC/cli/tts.c" | sed 's/{"\([a-z-]*\)".*/\1/')
missing=
for o in $opts; do
    grep -q -- "--$o\b" out || missing="$missing --$o"
done
for o in -f -o -m -h; do
    grep -q -- "$o," out || missing="$missing $o"
done
check "--help: exit 0, lists every option of cli/tts.c ($(echo $opts | wc -w) long options)" \
    '[ $rc -eq 0 ]' '[ -n "$opts" ]' '[ -z "$missing" ] || { echo "        not in --help:$missing"; false; }' \
    '[ ! -s err ]'
check "--help: documents exit statuses 0-4" \
    'grep -q "Exit status" out' 'grep -q "0 success" out' 'grep -q "2 bad usage" out' \
    'grep -q "3 no voice model" out' 'grep -q "4 no audio device" out'
run "$TTS" -h
check "-h: same text as --help" '[ $rc -eq 0 ]' '[ -n "$help_text" ]' '[ "$(cat out)" = "$help_text" ]'

run "$TTS" --version
want_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SRC/meson.build" | head -n 1)
check "--version: exit 0, prints 'tts $want_version'" \
    '[ $rc -eq 0 ]' '[ -n "$want_version" ]' '[ "$(cat out)" = "tts $want_version" ]'

run "$TTS" --no-such-option "Hello."
check "unknown option: exit 2, names it, shows usage" \
    '[ $rc -eq 2 ]' 'grep -q "no-such-option" err' 'grep -q "^usage:" err' '[ ! -s out ]'

run "$TTS" -o
check "-o without its argument: exit 2" '[ $rc -eq 2 ]' 'grep -q "requires an argument" err'

run "$TTS" "Hello."
check "no output chosen: exit 2, says how to choose one" \
    '[ $rc -eq 2 ]' 'grep -q "no output chosen" err' '[ ! -s out ]'

run "$TTS" "Hello." -o two.wav --raw
check "two outputs (-o and --raw): exit 2, nothing written" \
    '[ $rc -eq 2 ]' 'grep -q "choose one output" err' 'nothing_at two.wav' '[ ! -s out ]'
run "$TTS" "Hello." --raw --play
check "two outputs (--raw and --play): exit 2" '[ $rc -eq 2 ]' 'grep -q "choose one output" err'

for bad in "--rate abc" "--rate 3" "--volume -1" "--silence 99" "--threads 0" "--threads x" \
           "--pitch 13" "--pitch up"; do
    # these are checked when the engine opens, so give it a model that cannot be the cause
    run "$TTS" $bad -m /nonexistent/voice.ltm "Hello." -o bad.wav
    case $bad in
    "--rate abc"|"--pitch up") want="is not a number" ;;
    --threads*) want="not a whole number" ;;
    *) want="outside" ;;
    esac
    check "$bad: exit 2, says why" '[ $rc -eq 2 ]' 'grep -q "$want" err' 'nothing_at bad.wav'
done

# ==================================================================== --phonemes
run "$TTS" --phonemes "Hello, world."
check "--phonemes \"Hello, world.\": exit 0, IPA and ids (BOS 1 ... EOS 2)" \
    '[ $rc -eq 0 ]' 'grep -q "ipa: həlˈoʊ, wˈɜːld\.$" out' \
    'grep -Eq "^ *ids: 1( [0-9]+)+ 2$" out' '[ ! -s err ]'

run "$TTS" --phonemes "$(printf 'ab\xffcd')"
check "--phonemes with invalid UTF-8 (0xff at byte 2): exit 2, names byte offset 2" \
    '[ $rc -eq 2 ]' 'grep -q "invalid UTF-8" err' 'grep -q "byte offset 2\b" err' '[ ! -s out ]'
run "$TTS" --phonemes "$(printf 'Hello \xc3')"
check "--phonemes with a truncated UTF-8 sequence at the end: exit 2, offset 6" \
    '[ $rc -eq 2 ]' 'grep -q "byte offset 6\b" err'
run "$TTS" --phonemes "$(printf 'x \xed\xa0\x80 y')"
check "--phonemes with a UTF-16 surrogate (CESU) in UTF-8: exit 2, offset 2" \
    '[ $rc -eq 2 ]' 'grep -q "byte offset 2\b" err'
run "$TTS" --phonemes "$(printf '\xc0\xaf')"
check "--phonemes with an overlong encoding: exit 2, offset 0" \
    '[ $rc -eq 2 ]' 'grep -q "byte offset 0\b" err'

printf 'Hello\0world\001\007 again.\033[0m\r\nSecond\tline.\f\n' >ctl.txt
run "$TTS" --phonemes -f ctl.txt
check "--phonemes -f with NUL and control bytes: exit 0, spoken as white space" \
    '[ $rc -eq 0 ]' 'grep -q "ipa: həlˈoʊ wˈɜːld ɐɡˈɛn" out' '! grep -q "[[:cntrl:]]" out'

run "$TTS" --phonemes "Hello 😀 world 👍🏽. Привет. 你好。 مرحبا"
check "--phonemes with emoji and other scripts: exit 0, every sentence phonemized" \
    '[ $rc -eq 0 ]' '[ "$(grep -c "^ *ids: 1 .* 2$" out)" -ge 3 ]'

printf '%*s' 10000 '' | tr ' ' a >word.txt
run "$TTS" --phonemes -f word.txt
longest=$(sed -En 's/^sentence [0-9]+ \(bytes ([0-9]+)-([0-9]+)\).*/\1 \2/p' out |
    awk '$2 - $1 > m {m = $2 - $1} END {print m + 0}')
check "--phonemes with a 10,000-character word: exit 0, split into pieces of <= 400 bytes" \
    '[ $rc -eq 0 ]' '[ "$(grep -c "^sentence" out)" -ge 25 ]' \
    '[ "$longest" -gt 0 ] && [ "$longest" -le 400 ]'

# 1 MB of English prose (sentences of ~55 bytes)
for i in $(seq 200); do
    printf 'The quick brown fox jumps over the lazy dog, number %d. Is it %d? ' "$i" "$((i * 7))"
done >chunk.txt
: >big.txt
while [ "$(stat -c %s big.txt)" -lt 1048576 ]; do cat chunk.txt >>big.txt; done
head -c 1048576 big.txt >1mb.txt
run "$TTS" --phonemes -f 1mb.txt
check "--phonemes -f with 1 MB of text: exit 0, every sentence phonemized" \
    '[ $rc -eq 0 ]' '[ "$(grep -c "^sentence" out)" -ge 18000 ]' \
    '[ "$(grep -c "^sentence" out)" -eq "$(grep -c "^ *ids: 1 .* 2$" out)" ]'

head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >17mb.txt
run "$TTS" --phonemes -f 17mb.txt
check "-f with 17 MB of text (over the 16 MB limit): exit 2, says so" \
    '[ $rc -eq 2 ]' 'grep -q "input longer than" err'

run "$TTS" -f /nonexistent/text.txt -o x.wav
check "-f with a missing file: exit 2, names the path" \
    '[ $rc -eq 2 ]' 'grep -q "/nonexistent/text.txt" err' 'nothing_at x.wav'

# ==================================================================== --vocode
clip=$(ls "$DATA"/corpus/wav/*.wav | head -n 1)
run "$TTS" --vocode "$clip" -o vocoded.wav
in_ok=0
wav_info "$clip" && in_ok=1 in_frames=$wav_frames in_rate=$wav_rate
check "--vocode $(basename "$clip"): exit 0, 16-bit mono WAV of the same duration (±20 ms)" \
    '[ $rc -eq 0 ]' '[ $in_ok = 1 ]' 'good_wav vocoded.wav' \
    '[ $(( (wav_frames * 1000 / wav_rate) - (in_frames * 1000 / in_rate) )) -le 20 ]' \
    '[ $(( (in_frames * 1000 / in_rate) - (wav_frames * 1000 / wav_rate) )) -le 20 ]' \
    '[ ! -s err ]'

cp "$DATA/corpus/metadata.csv" notwav.wav
run "$TTS" --vocode notwav.wav -o v2.wav
check "--vocode on a text file: exit 2, 'not a readable audio file', no output" \
    '[ $rc -eq 2 ]' 'grep -q "notwav.wav.*not a readable audio file" err' 'nothing_at v2.wav'
: >empty.wav
run "$TTS" --vocode empty.wav -o v3.wav
check "--vocode on an empty file: exit 2, clear message, no output" \
    '[ $rc -eq 2 ]' 'grep -q "empty.wav" err' 'nothing_at v3.wav'
run "$TTS" --vocode /nonexistent/in.wav -o v4.wav
check "--vocode on a missing file: exit 2, names the path, no output" \
    '[ $rc -eq 2 ]' 'grep -q "/nonexistent/in.wav" err' 'nothing_at v4.wav'
run "$TTS" --vocode "$clip"
check "--vocode without -o: exit 2" '[ $rc -eq 2 ]' 'grep -q "needs -o" err'
run "$TTS" --vocode "$clip" -o /nonexistent-dir/v.wav
check "--vocode -o into a missing folder: non-zero, names the path" \
    '[ $rc -ne 0 ] && [ $rc -lt 128 ]' 'grep -q "/nonexistent-dir/v.wav" err'

# ==================================================================== voice models
# What the engine says when it finds no voice: only assertable where no kathleen.ltm is
# in the folders it also searches (the install folder and the source tree's models/).
# $TTS_MODEL_DIR, when set, is the only place the default voice is looked for
mkdir -p nomodels
TTS_MODEL_DIR=$tmp/nomodels run "$TTS" "Hello." -o nomodel.wav
check "no voice model installed (TTS_MODEL_DIR empty): exit 3, says so, no output" \
    '[ $rc -eq 3 ]' 'grep -q "no voice model installed" err' 'nothing_at nomodel.wav'

run "$TTS" -m /nonexistent/voice.ltm "Hello." -o m.wav
check "-m /nonexistent/voice.ltm: names the path, no output" \
    '[ $rc -ne 0 ]' 'grep -q "/nonexistent/voice.ltm" err' 'nothing_at m.wav'
check "-m /nonexistent/voice.ltm: exit 3 (model unusable)" '[ $rc -eq 3 ]'
run "$TTS" -m "$tmp" "Hello." -o m.wav
check "-m DIRECTORY: non-zero, 'not a regular file', no output" \
    '[ $rc -ne 0 ]' 'grep -q "not a regular file" err' 'nothing_at m.wav'
check "-m DIRECTORY: exit 3 (model unusable)" '[ $rc -eq 3 ]'

# The shipped voice and its neural vocoder (models/ in a clone): the two files belong
# together (the vocoder's mel bands and hop are the voice's), the neural vocoder is the
# default, and --vocoder griffinlim still gives the reference.
# peak_abs FILE: the largest |sample| of a 16-bit mono WAV's data (header skipped)
peak_abs() { tail -c +45 "$1" | od -An -v -td2 -w2 | awk '{v = $1 < 0 ? -$1 : $1; if (v > m) m = v} END {print m + 0}'; }
if [ -f "$SRC/models/kathleen.ltm" ] && [ -f "$SRC/models/kathleen.vocoder.ltm" ]; then
    TTS_MODEL_DIR=$SRC/models run "$TTS" "Hello, world." -o shipped.wav
    shipped_rc=$rc
    TTS_MODEL_DIR=$SRC/models run "$TTS" --vocoder wavenet "Hello, world." -o shipped-wn.wav
    wn_rc=$rc
    TTS_MODEL_DIR=$SRC/models run "$TTS" --vocoder griffinlim "Hello, world." -o shipped-gl.wav
    check "the shipped voice speaks \"Hello, world.\" through its neural vocoder by default (= --vocoder wavenet, not Griffin-Lim)" \
        '[ $shipped_rc -eq 0 ] && [ $wn_rc -eq 0 ] && [ $rc -eq 0 ]' \
        'good_wav shipped.wav && [ "$wav_rate" = 16000 ]' \
        '[ "$wav_frames" -ge 12800 ] && [ "$wav_frames" -le 48000 ]' \
        '[ "$(peak_abs shipped.wav)" -ge 2000 ]' \
        'cmp -s shipped.wav shipped-wn.wav' \
        'good_wav shipped-gl.wav && ! cmp -s shipped.wav shipped-gl.wav'
else
    skip "the shipped voice speaks through its neural vocoder" "no models/kathleen.ltm and kathleen.vocoder.ltm in $SRC"
fi

# What users hear stays the same: the shipped voice's samples, bit for bit, per kernel path
# (tests/data/shipped-voice.sha256; the AVX2 path where the CPU has AVX2 and FMA)
golden=$SRC/tests/data/shipped-voice.sha256
if [ -f "$SRC/models/kathleen.ltm" ] && [ -f "$SRC/models/kathleen.vocoder.ltm" ] && [ -f "$golden" ]; then
    gtext=$(sed -n 's/^text //p' "$golden")
    paths="scalar"
    grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && [ "$(uname -m)" = x86_64 ] &&
        paths="scalar avx2"
    for p in $paths; do
        want=$(sed -n "s/^$p //p" "$golden")
        got=$(TTS_SIMD=$p TTS_MODEL_DIR=$SRC/models "$TTS" --raw "$gtext" 2>/dev/null | sha256sum | cut -d' ' -f1)
        if [ -n "$want" ] && [ "$got" = "$want" ]; then
            say_pass "the shipped voice's samples are unchanged, bit for bit (TTS_SIMD=$p)"
        else
            say_fail "the shipped voice's samples are unchanged (TTS_SIMD=$p)" \
                "sha256 $got, expected $want (a new voice? regenerate $golden as it says)"
        fi
    done
else
    skip "the shipped voice's samples are unchanged" "no shipped models or $golden"
fi

# The tiny voice. Training on 5 clips for 3 steps takes well under a second.
model=$tmp/run/ckpt.ltm
if timeout -k 5 "$LIMIT" "$TRAIN" prepare "$DATA/corpus" ds.ltd >train.log 2>&1 &&
    timeout -k 5 "$LIMIT" "$TRAIN" acoustic ds.ltd run --steps 3 --batch 2 --d 16 \
        --text-ch 16 --threads 1 >>train.log 2>&1 && [ -s "$model" ]; then
    say_pass "tiny voice model built with tts-train ($(stat -c %s "$model") bytes)"
else
    say_fail "tiny voice model built with tts-train" "$(tail -n 5 train.log | tr '\n' '|')"
fi

run "$TTS" -m "$model" "Hello, world." -o hello.wav
check "-m tiny model \"Hello, world.\" -o hello.wav: exit 0, complete 16 kHz WAV" \
    '[ $rc -eq 0 ]' 'good_wav hello.wav' '[ "$wav_rate" = 16000 ]' 'nothing_at hello.wav.tmp'

# Voices by name: an exported voice with its description, found in $TTS_MODEL_DIR (the XDG
# directories pointed at nothing)
mkdir -p vdir
voices_env=(env "TTS_MODEL_DIR=$PWD/vdir" "XDG_DATA_HOME=$PWD/none" "XDG_DATA_DIRS=$PWD/none")
if "$TRAIN" export "$model" vdir/tiny.ltm --meta name=tiny-test --meta language=en-US \
    --meta "speaker=a test voice" --meta license=MIT >export.log 2>&1; then
    run "${voices_env[@]}" "$TTS" --list-voices
    check "--list-voices: the voice's name, language, rate and file, then speaker and license" \
        '[ $rc -eq 0 ]' 'grep -q "^tiny-test  *en-US  *16000 Hz  .*/vdir/tiny.ltm$" out' \
        'grep -q "a test voice; license: MIT" out'
    run "${voices_env[@]}" "$TTS" -v tiny-test "Hello." -o byname.wav
    check "-v NAME speaks with that voice" '[ $rc -eq 0 ]' 'good_wav byname.wav'
    run "${voices_env[@]}" "$TTS" --voice nobody "Hello." -o noname.wav
    check "-v with a name no voice has: exit 3, names the voices found, no file" \
        '[ $rc -eq 3 ]' "grep -q \"no voice named 'nobody' (voices found: tiny-test\" err" \
        'nothing_at noname.wav'
else
    say_fail "tts-train export --meta" "$(tail -n 3 export.log | tr '\n' '|')"
fi

# --timings: the events in seconds of the audio written, JSON / SRT / VTT by extension
run "$TTS" -m "$model" --ssml '<speak>Hello, world. <mark name="m1"/>How are <emphasis>you</emphasis>?</speak>' \
    -o timed.wav --timings timed.json
check "--timings FILE.json: sentences, words with start and end, marks; within the audio" \
    '[ $rc -eq 0 ]' 'good_wav timed.wav' \
    "python3 -c 'import json, wave
d = json.load(open(\"timed.json\"))
dur = wave.open(\"timed.wav\").getnframes() / 16000.0
w = [x[\"text\"] for x in d[\"words\"]]
assert w == [\"Hello\", \"world\", \"How\", \"are\", \"you\"], w
assert [m[\"name\"] for m in d[\"marks\"]] == [\"m1\"]
assert [s[\"text\"][:11] for s in d[\"sentences\"]] == [\"Hello, worl\", \"How are you\"]
ends = [x[\"end\"] for x in d[\"words\"]]
assert all(x[\"start\"] <= x[\"end\"] for x in d[\"words\"])
assert max(ends) <= dur + 1e-3, (ends, dur)
assert d[\"marks\"][0][\"time\"] == d[\"words\"][2][\"start\"]
assert len(d[\"phonemes\"]) >= 10'"
run "$TTS" -m "$model" "Hello, world. How are you?" -o timed.wav --timings timed.srt
check "--timings FILE.srt: a numbered cue per sentence" '[ $rc -eq 0 ]' \
    'grep -qx "1" timed.srt' 'grep -q "^00:00:00,000 --> 00:00:0[0-9],[0-9]*$" timed.srt' \
    'grep -qx "How are you?" timed.srt'
run "$TTS" -m "$model" "Hello, world." --raw --timings timed.vtt >/dev/null
check "--timings FILE.vtt with --raw" '[ $rc -eq 0 ]' 'head -n 1 timed.vtt | grep -qx WEBVTT' \
    'grep -q "^00:00:00.000 --> " timed.vtt'
run "$TTS" -m "$model" "Hello." -o untimed.wav --timings timed.txt
check "--timings FILE.txt: exit 2, says the extensions, nothing written" '[ $rc -eq 2 ]' \
    'grep -q ".json, .srt or .vtt" err' 'nothing_at untimed.wav' 'nothing_at timed.txt'

# --sample-rate: the output converted (libsoxr), as long and as loud as the voice's own
run "$TTS" -m "$model" "Hello, world." -o rate16.wav
run "$TTS" -m "$model" "Hello, world." -o rate48.wav --sample-rate 48000
check "--sample-rate 48000: a 48 kHz WAV, 3 times the samples, the same loudness" \
    '[ $rc -eq 0 ]' 'good_wav rate48.wav' '[ "$wav_rate" = 48000 ]' \
    "python3 -c 'import wave, array, math
def rms(p):
    w = wave.open(p)
    a = array.array(\"h\", w.readframes(w.getnframes()))
    return w.getnframes(), math.sqrt(sum(x * x for x in a) / len(a))
n16, r16 = rms(\"rate16.wav\")
n48, r48 = rms(\"rate48.wav\")
assert n48 == 3 * n16, (n16, n48)
assert abs(r48 / r16 - 1) < 0.05, (r16, r48)'"
run "$TTS" -m "$model" "Hello, world." --raw --sample-rate 22050
check "--sample-rate 22050 with --raw" '[ $rc -eq 0 ]' \
    "[ \$(stat -c %s out) -ge \$(( (\$(stat -c %s rate16.wav) - 44) * 22050 / 16000 - 4 )) ]"
run "$TTS" -m "$model" "Hello." -o rate-bad.wav --sample-rate 500
check "--sample-rate 500: exit 2, names the range, nothing written" '[ $rc -eq 2 ]' \
    'grep -q "from 8000 to 192000" err' 'nothing_at rate-bad.wav'

# Audio devices: listed, or none (no sound card: exit 4); a name no device has is an error
run "$TTS" --list-devices
check "--list-devices: the outputs, or exit 4 'no audio output devices found'" \
    '[ $rc -eq 0 ] && [ -s out ] || { [ $rc -eq 4 ] && grep -q "no audio output devices found" err; }'
run "$TTS" -m "$model" --play --device "no such device 42" "Hello."
check "--device with a name no output has: exit 4, names it" '[ $rc -eq 4 ]' \
    "grep -q \"no audio output device named 'no such device 42'\" err"
run "$TTS" -m "$model" --device x "Hello." -o dev.wav
check "--device without --play: exit 2" '[ $rc -eq 2 ]' 'grep -q "is for --play" err' \
    'nothing_at dev.wav'

# --json-input: many files in one process; a bad line is reported and the others spoken
printf '%s\n' '{"text": "Hello there.", "output": "batch1.wav"}' \
    '{"text": "Faster now.", "output": "batch2.wav", "rate": 1.5, "volume": 0.5}' \
    'not json' '{"text": "x", "output": "batch3.wav", "rate": 9}' \
    '{"text": "x", "output": "batch4.wav", "colour": 1}' >batch.jsonl
run_in batch.jsonl "$TTS" -m "$model" --json-input
check "--json-input: good lines spoken, bad ones named by line (exit 2), nothing for them" \
    '[ $rc -eq 2 ]' 'good_wav batch1.wav' 'good_wav batch2.wav' \
    'grep -q "json-input line 3: not a JSON object" err' \
    'grep -q "json-input line 4: speaking rate 9 is outside" err' \
    'grep -q "json-input line 5: unknown key \"colour\"" err' \
    'nothing_at batch3.wav' 'nothing_at batch4.wav'
"$TTS" -m "$model" --rate 1.5 --volume 0.5 "Faster now." -o batch2-ref.wav 2>/dev/null
check "--json-input: a line's rate and volume speak as the same flags do" 'cmp -s batch2.wav batch2-ref.wav'
run_in batch.jsonl "$TTS" -m "$model" --json-input "Hello."
check "--json-input with TEXT: exit 2" '[ $rc -eq 2 ]' 'grep -q "reads its lines on stdin" err'
if command -v script >/dev/null; then
    printf '%s\n' '{"text": "Hello there.", "output": "batch5.wav"}' >batch1.jsonl
    timeout -k 5 "$LIMIT" script -qec "'$TTS' -m '$model' --json-input <batch1.jsonl" /dev/null >tty.out 2>&1
    check "--json-input on a terminal: a progress line" \
        'grep -q "1 done (1 sentences, [0-9.]* s of audio, [0-9.]* x real time)" tty.out'
    for i in $(seq 60); do echo "This is sentence $i of a long text."; done >long.txt
    timeout -k 5 "$LIMIT" script -qec "'$TTS' -m '$model' -f long.txt -o long.wav" /dev/null >tty.out 2>&1
    check "a long text into a file, on a terminal: a progress line up to the last sentence" \
        'good_wav long.wav' 'tr "\r" "\n" <tty.out | grep -q "^tts: 60 sentences, [0-9.]* s of audio"'
else
    skip "--json-input on a terminal: a progress line" "no script(1)"
fi

# --format: by name, whatever the extension; float WAV
run "$TTS" -m "$model" "Hello, world." -o float.out --format wav-float
check "--format wav-float: a 32-bit float WAV under any name" '[ $rc -eq 0 ]' \
    'wav_info float.out' '[ "$wav_fmt" = 3 ] && [ "$wav_bits" = 32 ]'
run "$TTS" -m "$model" "Hello." -o named.wav --format flac
check "--format flac: FLAC though the name says .wav" '[ $rc -eq 0 ]' \
    '[ "$(head -c 4 named.wav)" = fLaC ]'
run "$TTS" -m "$model" "Hello." -o fmt-bad.wav --format aiff
check "--format with an unknown name: exit 2, lists the formats, nothing written" \
    '[ $rc -eq 2 ]' 'grep -q "unknown audio format .aiff. (wav, wav-float" err' 'nothing_at fmt-bad.wav'

# Conflicting flags are errors, not silently ignored
echo "From a file." >conflict.txt
run "$TTS" -m "$model" "Hello." -f conflict.txt -o conflict.wav
check "text on the command line and -f: exit 2, nothing written" \
    '[ $rc -eq 2 ]' 'grep -q "give one of them" err' 'nothing_at conflict.wav'
run "$TTS" -m "$model" "Hello." -o one.wav -o two.wav
check "-o twice: exit 2, nothing written" \
    '[ $rc -eq 2 ]' 'grep -q "choose one output" err' 'nothing_at one.wav' 'nothing_at two.wav'
run "$TTS" -m "$model" -v kathleen "Hello." -o both.wav
check "-m and -v together: exit 2" '[ $rc -eq 2 ]' 'grep -q "given more than once" err'

# Writing a file never touches the audio stack: no socket (eSpeak NG's audio output once
# made a PulseAudio client at start, which tried to connect and warned on stderr)
if command -v strace >/dev/null 2>&1; then
    # (LeakSanitizer cannot run under ptrace: off for this run in a sanitizer build)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -e trace=socket,connect -o sock.trace "$TTS" -m "$model" "Hi." -o quiet.wav \
        </dev/null >out 2>err
    rc=$?
    check "-o FILE opens no socket (no sound server is contacted) and says nothing" \
        '[ $rc -eq 0 ]' 'good_wav quiet.wav' '! grep -q "socket(\|connect(" sock.trace' '[ ! -s err ]'
else
    skip "-o FILE opens no socket" "no strace"
fi

# A run killed while it writes leaves nothing behind: neither the WAV nor a temporary. It
# is killed once it has written audio (an open file under this folder, the output's
# O_TMPFILE or temporary, holds more than 4 KB), with most of these 400 sentences still to
# go, however fast the machine.
for i in $(seq 1 400); do echo "Sentence number $i is here, and it goes on for a while."; done >killme.txt
writing() { # PID: has it written into a file under this folder yet?
    local fd
    for fd in /proc/"$1"/fd/*; do
        case $(readlink "$fd" 2>/dev/null) in
            "$PWD"/*) [ "$(stat -L -c %s "$fd" 2>/dev/null || echo 0)" -gt 4096 ] && return 0 ;;
        esac
    done
    return 1
}
for sig in INT TERM HUP KILL; do
    # (a shell starts background jobs with SIGINT ignored, and nohup, as CI may be run,
    # ignores SIGHUP: every signal back to its default, as a terminal has them)
    env --default-signal "$TTS" -m "$model" -f killme.txt -o "killed-$sig.wav" \
        </dev/null >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do writing "$pid" && break; sleep 0.05; done
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    check "tts -o killed by SIG$sig while writing: no WAV and no temporary left" \
        'nothing_at "killed-$sig.wav"' '! compgen -G "killed-$sig.wav*" >/dev/null'
done

# The output format follows the file's extension (libsndfile's encoders)
for ext in flac ogg opus mp3; do
    run "$TTS" -m "$model" "Hello, world." -o "fmt.$ext"
    case $ext in
    flac) magic='fLaC' ;;
    ogg|opus) magic='OggS' ;;
    mp3) magic='' ;;
    esac
    check "-o fmt.$ext: exit 0, a $ext file" '[ $rc -eq 0 ]' '[ -s "fmt.$ext" ]' \
        '[ -z "$magic" ] || [ "$(head -c 4 "fmt.$ext")" = "$magic" ]' \
        '[ "$ext" != opus ] || grep -qa OpusHead "fmt.$ext"' \
        '[ "$ext" != mp3 ] || [ "$(head -c 3 "fmt.$ext")" = ID3 ] || [ "$(od -An -tx1 -N1 "fmt.$ext" | tr -d " ")" = ff ]'
done
# -o - : a WAV stream on stdout, the same bytes as a file when stdout is one
run "$TTS" -m "$model" "Hello, world." -o hello-file.wav
"$TTS" -m "$model" "Hello, world." -o - </dev/null >hello-stdout.wav 2>err
rc=$?
check "-o - into a file: exit 0, the same WAV as -o FILE" '[ $rc -eq 0 ]' \
    'cmp -s hello-file.wav hello-stdout.wav' '! [ -e ./- ]'
"$TTS" -m "$model" "Hello, world." -o - </dev/null 2>err | cat >hello-pipe.wav
rc=${PIPESTATUS[0]}
check "-o - into a pipe: exit 0, a WAV stream header then the same samples" '[ $rc -eq 0 ]' \
    '[ "$(head -c 4 hello-pipe.wav)" = RIFF ]' \
    'cmp -s <(tail -c +45 hello-file.wav) <(tail -c +45 hello-pipe.wav)'
ln -s /dev/stdout pipe.flac
"$TTS" -m "$model" "Hello." -o pipe.flac 2>err | cat >out
rc=${PIPESTATUS[0]}
check "-o FILE.flac into a pipe: exit 2, WAV only there, nothing written" \
    '[ $rc -eq 2 ]' 'grep -q "a pipe takes WAV only" err' '[ ! -s out ]'

# -o through a symbolic link writes the file it points to, whether or not that exists
# yet; the link stays a link
ln -s to-existing.wav link-existing.wav
ln -s to-new.wav link-new.wav
echo old >to-existing.wav
run "$TTS" -m "$model" "Hi." -o link-existing.wav
check "-o a link to an existing file: the file is replaced, the link stays" \
    '[ $rc -eq 0 ]' '[ -L link-existing.wav ]' 'good_wav to-existing.wav'
run "$TTS" -m "$model" "Hi." -o link-new.wav
check "-o a link to a file not there yet: the file is made, the link stays" \
    '[ $rc -eq 0 ]' '[ -L link-new.wav ]' 'good_wav to-new.wav'
ln -s loop-b.wav loop-a.wav
ln -s loop-a.wav loop-b.wav
run "$TTS" -m "$model" "Hi." -o loop-a.wav
check "-o a loop of links: exit 1, says so, both links left as they were" \
    '[ $rc -eq 1 ]' 'grep -q "Too many levels of symbolic links" err' '[ -L loop-a.wav ]' \
    '[ -L loop-b.wav ]'

if timeout -k 5 "$LIMIT" "$TRAIN" export "$model" voice-f16.ltm >>train.log 2>&1; then
    run "$TTS" -m voice-f16.ltm "Hello, world." -o hello16.wav
    check "-m tiny voice exported in half floats (tts-train export): exit 0, complete WAV" \
        '[ $rc -eq 0 ]' 'good_wav hello16.wav' \
        '[ "$(stat -c %s voice-f16.ltm)" -lt "$(stat -c %s "$model")" ]'
else
    say_fail "tts-train export of the tiny voice" "$(tail -n 3 train.log | tr '\n' '|')"
fi
if timeout -k 5 "$LIMIT" "$TRAIN" export "$model" voice-q8.ltm --int8 >>train.log 2>&1; then
    run "$TTS" -m voice-q8.ltm "Hello, world." -o hello8.wav
    check "-m tiny voice exported with 8-bit codes (export --int8): exit 0, complete WAV, smaller" \
        '[ $rc -eq 0 ]' 'good_wav hello8.wav' \
        '[ "$(stat -c %s voice-q8.ltm)" -lt "$(stat -c %s voice-f16.ltm)" ]'
else
    say_fail "tts-train export --int8 of the tiny voice" "$(tail -n 3 train.log | tr '\n' '|')"
fi
# --holds: the symbols' holds measured on the cache, carried in the voice, which still speaks
# (the 5 clips hold few symbols 50 times: count every symbol seen twice)
if timeout -k 5 "$LIMIT" "$TRAIN" export "$model" voice-holds.ltm --holds ds.ltd \
        --hold-min-count 2 >holds.err 2>&1 &&
    grep -q "^holds: [1-9][0-9]* of [0-9]* symbols held at least 2 times" holds.err; then
    run "$TTS" -m voice-holds.ltm "Hello, world." -o hello-holds.wav
    check "-m tiny voice exported with holds (export --holds): exit 0, complete WAV, holds stored" \
        '[ $rc -eq 0 ]' 'good_wav hello-holds.wav' 'grep -aq acoustic.hold voice-holds.ltm' \
        '! grep -aq acoustic.hold voice-f16.ltm'
else
    say_fail "tts-train export --holds of the tiny voice" "$(tail -n 3 holds.err | tr '\n' '|')"
fi
# --stand-ins: the test clips have no '?', so a question ends on an untrained symbol;
# exported with stand-ins, the voice speaks it as '.' (the same samples as the statement),
# where the voice without them does not
if timeout -k 5 "$LIMIT" "$TRAIN" export "$model" voice-si.ltm --stand-ins ds.ltd \
        >si.err 2>&1 && grep -q "^stand-in: '?' (never in the training split) is spoken as '.'" si.err; then
    for v in si f16; do
        "$TTS" -m voice-$v.ltm --vocoder griffinlim "Is it here?" -o q-$v.wav 2>/dev/null
        "$TTS" -m voice-$v.ltm --vocoder griffinlim "Is it here." -o s-$v.wav 2>/dev/null
    done
    check "export --stand-ins: a question speaks as the statement, and did not before" \
        'good_wav q-si.wav' 'cmp -s q-si.wav s-si.wav' 'good_wav q-f16.wav' '! cmp -s q-f16.wav s-f16.wav'
else
    say_fail "tts-train export --stand-ins" "$(tail -n 3 si.err | tr '\n' '|')"
fi
# tfmels: the tiny voice's frames of every take for a vocoder to train on, teacher-forced
# and free-running (lined up with the recording by DTW): same layout, other frames, tagged
if timeout -k 5 "$LIMIT" "$TRAIN" tfmels "$model" ds.ltd tf.ltm --threads 1 >tf.err 2>&1 &&
    timeout -k 5 "$LIMIT" "$TRAIN" tfmels "$model" ds.ltd fr.ltm --free-running \
        --threads 1 >fr.err 2>&1; then
    check "tfmels --free-running: frames of every take, the teacher-forced layout, other values" \
        'grep -q "^fr.ltm: 5 utterances, [0-9]* frames, free-running (along DTW) L1" fr.err' \
        '[ "$(stat -c %s fr.ltm)" -eq "$(stat -c %s tf.ltm)" ]' '! cmp -s fr.ltm tf.ltm' \
        'grep -aq free-running fr.ltm' 'grep -aq teacher-forced tf.ltm'
    # with the log-mel term against those frames (--mel-weight): logged, not zero
    if timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vrun --tf-mels fr.ltm --tf-mix 1 --steps 2 \
            --batch 1 --res-ch 8 --skip-ch 8 --layers 2 --cond-ch 8 --threads 1 \
            --mel-weight 1 --tf-pitch --log-every 1 >voc.err 2>&1 &&
        [ -s vrun/ckpt.ltm ] && grep -q "mel weight 1$" vrun/train.log &&
        grep -q "^# crops on predicted frames: the excitation at the pitch head's F0" \
            vrun/train.log &&
        grep -Eq "^step 2 .* mel (0\.[0-9]*[1-9]|[1-9])" vrun/train.log; then
        say_pass "tts-train vocoder trains on free-running frames (--tf-mels fr.ltm, --mel-weight 1, --tf-pitch)"
    else
        say_fail "tts-train vocoder on free-running frames" "$(tail -n 3 voc.err | tr '\n' '|')"
    fi
    # --tf-sharpen: the predicted frames are sharpened before the crops see them (the same
    # first step's gradient moves; not its mel term, whose L1 against frames far above the
    # untrained output is their sum, which sharpening keeps), logged; a width tts_sharpen
    # does not take is refused
    if timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vsh0 --tf-mels fr.ltm --tf-mix 1 --steps 1 \
            --batch 1 --res-ch 8 --skip-ch 8 --layers 2 --cond-ch 8 --threads 1 \
            --mel-weight 1 --log-every 1 >vsh0.err 2>&1 &&
        timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vsh1 --tf-mels fr.ltm --tf-mix 1 --steps 1 \
            --batch 1 --res-ch 8 --skip-ch 8 --layers 2 --cond-ch 8 --threads 1 \
            --mel-weight 1 --log-every 1 --tf-sharpen 1 3 >vsh1.err 2>&1; then
        g0=$(log_value "step 1" gnorm vsh0/train.log)
        g1=$(log_value "step 1" gnorm vsh1/train.log)
        check "tts-train vocoder --tf-sharpen: the crops' predicted frames sharpened, logged, a bad width refused" \
            'grep -q "^# predicted frames sharpened: amount 1, width 3 (--tf-sharpen)$" vsh1/train.log' \
            '! grep -q "^# predicted frames sharpened" vsh0/train.log' \
            '[ -n "$g0" ] && [ -n "$g1" ] && [ "$g0" != "$g1" ]' \
            '! "$TRAIN" vocoder ds.ltd vshbad --tf-mels fr.ltm --tf-sharpen 0.2 4 >vshbad.err 2>&1' \
            'grep -q "odd width" vshbad.err' '[ ! -e vshbad/ckpt.ltm ]'
    else
        say_fail "tts-train vocoder --tf-sharpen" "$(cat vsh0.err vsh1.err | tail -n 3 | tr '\n' '|')"
    fi
    # --init keeps the older vocoder's source unless --src is given (a new channel's input
    # rows start at 0: src 1 -> 2 adds the excitation); the removed sources 3 and 4 are
    # refused by name, before anything is written
    if timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vsrc1 --src 1 --steps 1 --batch 1 \
            --res-ch 8 --skip-ch 8 --layers 2 --cond-ch 8 --threads 1 >src1.err 2>&1 &&
        timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vkeep --init vsrc1/ckpt.ltm --steps 1 \
            --batch 1 --threads 1 >keep.err 2>&1 &&
        timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vsrc2 --init vsrc1/ckpt.ltm --src 2 \
            --steps 1 --batch 1 --threads 1 >src2.err 2>&1; then
        check "tts-train vocoder --init keeps the source (src 1), --src 2 extends it, 3 and 4 are refused" \
            'grep -q "^new vocoder: .*, source 1)" src1.err' \
            'grep -q "^new vocoder: .*, source 1)" keep.err' \
            'grep -q "^started from vsrc1/ckpt.ltm: [0-9]* of [0-9]* tensors" src2.err' \
            'grep -q "^new vocoder: .*, source 2)" src2.err' \
            '! "$TRAIN" vocoder ds.ltd vsrc3 --src 3 --steps 1 >src3.err 2>&1' \
            'grep -q "^tts-train vocoder: --src 3 is no longer supported" src3.err' \
            '[ ! -e vsrc3 ]' \
            '! "$TRAIN" vocoder ds.ltd vsrc4 --init vsrc1/ckpt.ltm --src 4 --steps 1 >src4.err 2>&1' \
            'grep -q "^tts-train vocoder: --src 4 is no longer supported" src4.err'
    else
        say_fail "tts-train vocoder --init / --src" "$(cat src1.err keep.err src2.err | tail -n 3 | tr '\n' '|')"
    fi
    # the critics (--adv-weight): they learn alone for --disc-warmup steps, then the network
    # gets their terms; a second run resumes both the network and the critics
    if timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vadv --steps 3 --batch 1 --res-ch 8 \
            --skip-ch 8 --layers 2 --cond-ch 8 --threads 1 --adv-weight 1 --disc-warmup 2 \
            --disc-periods 1,3 --log-every 1 >adv.err 2>&1 &&
        timeout -k 5 "$LIMIT" "$TRAIN" vocoder ds.ltd vadv --steps 4 --batch 1 --threads 1 \
            --adv-weight 1 --disc-warmup 2 --log-every 1 >adv2.err 2>&1 &&
        [ -s vadv/disc.ltm ] && grep -q "^step 2 .*(warm-up)$" vadv/train.log &&
        grep -Eq "^step 3 .* adv [0-9.]+ fm 0\.[0-9]*[1-9][0-9]*$" vadv/train.log &&
        grep -q "critics resumed from vadv/disc.ltm at their step 3" adv2.err &&
        grep -q "^# critics: periods 1,3, " vadv/train.log; then
        say_pass "tts-train vocoder --adv-weight: critics warm up, teach, resume"
    else
        say_fail "tts-train vocoder --adv-weight" "$(cat adv.err adv2.err | tail -n 3 | tr '\n' '|')"
    fi
    # eval on a cache with a validation split (--val-every 2: 2 of the 5 texts): the report,
    # the WAV lists for the recognizer, and Griffin-Lim's copy synthesis close to the
    # recording (what the MCD column measures: a few dB, where the untrained networks are
    # far off)
    if timeout -k 5 "$LIMIT" "$TRAIN" prepare "$DATA/corpus" dsv.ltd --val-every 2 \
            >prepv.err 2>&1 && grep -q "(3 train, 2 validation)" prepv.err &&
        timeout -k 5 "$LIMIT" "$TRAIN" eval "$model" dsv.ltd evdir --vocoder vrun/ckpt.ltm \
            --oracle-pitch --voc-envelope 1 --seeds 2 >ev.out 2>ev.err; then
        gl_mcd=$(sed -n 's/^| MCD (dB), 2 validation takes: copy synthesis, neural \/ Griffin-Lim | [0-9.]* \/ \([0-9.]*\) |$/\1/p' ev.out)
        lists_ok=1
        for l in rec copy copy_gl val val_voc tf tf_voc_oracle gl_s0 gl_s1 voc_s0 voc_s1; do
            [ "$(wc -l <evdir/$l.tsv)" -eq 2 ] || lists_ok=0
            while IFS=$'\t' read -r wav text; do
                good_wav "$wav" && [ -n "$text" ] || lists_ok=0
            done <evdir/$l.tsv
        done
        check "tts-train eval: report, WAV lists of the 2 validation takes (and of 2 seeds, --seeds 2), Griffin-Lim's copy synthesis within 8 dB MCD" \
            'grep -q "^| validation utterances | 2 |$" ev.out' '[ "$lists_ok" = 1 ]' \
            'grep -q "^| frames.* modulation power against the recordings.* / .* |$" ev.out' \
            'grep -q "^| MCD (dB), text -> speech over 2 seeds (gl_s\*, voc_s\*): neural / Griffin-Lim .* | [0-9.]* / [0-9.]* |$" ev.out' \
            '! cmp -s evdir/gl_s0/$(basename "$(head -n 1 evdir/val.tsv | cut -f1)") evdir/gl_s1/$(basename "$(head -n 1 evdir/val.tsv | cut -f1)")' \
            '[ -n "$gl_mcd" ] && awk -v m="$gl_mcd" "BEGIN { exit !(m > 0 && m < 8) }"'
    else
        say_fail "tts-train eval on a cache with a validation split" "$(cat prepv.err ev.err | tail -n 3 | tr '\n' '|')"
    fi
    # an unknown option (here --voc-preroll, a removed experiment) is refused with exit
    # status 2, before anything is written
    run "$TRAIN" eval "$model" dsv.ltd evpr --vocoder vrun/ckpt.ltm --voc-preroll 3
    check "tts-train eval refuses an unknown option (--voc-preroll) with status 2, nothing written" \
        '[ "$rc" = 2 ]' \
        'grep -q "^tts-train eval: unknown or incomplete option .--voc-preroll.$" err' \
        '[ ! -e evpr ]'
    # --ema (on dsv.ltd, which has validation takes): the moving average is validated
    # beside the live weights, written with the checkpoint, and resumed from
    if timeout -k 5 "$LIMIT" "$TRAIN" vocoder dsv.ltd vema --steps 3 --batch 1 --res-ch 8 \
            --skip-ch 8 --layers 2 --cond-ch 8 --threads 1 --ema 0.5 --val-every 1 \
            --ckpt-every 1 >ema.err 2>&1 &&
        timeout -k 5 "$LIMIT" "$TRAIN" vocoder dsv.ltd vema --steps 4 --batch 1 --threads 1 \
            --ema 0.5 --val-every 1 >ema2.err 2>&1; then
        live3=$(log_value "val step 3" loss vema/train.log)
        avg3=$(log_value "val-ema step 3" loss vema/train.log)
        check "tts-train vocoder --ema: validated, written, resumed; not the live weights" \
            '[ "$(grep -c "^val-ema step" vema/train.log)" -eq 4 ]' \
            '[ -s vema/ema.ltm ] && [ -s vema/best_ema.ltm ]' \
            'grep -q "^moving average resumed from vema/ema.ltm" ema2.err' \
            '[ -n "$live3" ] && [ -n "$avg3" ] && [ "$live3" != "$avg3" ]'
    else
        say_fail "tts-train vocoder --ema" "$(cat ema.err ema2.err | tail -n 3 | tr '\n' '|')"
    fi
    # the frames' sharpening, a vocoder setting: exported, spoken through (beside a copy of
    # the voice, where the engine looks), and refused out of range with nothing written
    mkdir -p vs && cp "$model" vs/voice.ltm
    if timeout -k 5 "$LIMIT" "$TRAIN" export vrun/ckpt.ltm vs/voice.vocoder.ltm --env-passes 2 \
            --frame-sharpen 1.4 3 >vsh.err 2>&1; then
        run "$TTS" -m vs/voice.ltm --vocoder wavenet "Hello, world." -o vs.wav
        check "export --frame-sharpen 1.4 3: the voice speaks through the sharpened vocoder" \
            '[ "$rc" = 0 ]' 'good_wav vs.wav'
    else
        say_fail "tts-train export --frame-sharpen" "$(tail -n 3 vsh.err | tr '\n' '|')"
    fi
    if ! "$TRAIN" export vrun/ckpt.ltm vsbad.ltm --frame-sharpen 1 4 >vsbad.err 2>&1 &&
        grep -q "odd width" vsbad.err && [ ! -e vsbad.ltm ] &&
        ! "$TRAIN" export vrun/ckpt.ltm vsbad.ltm --frame-sharpen -1 3 >>vsbad.err 2>&1 &&
        [ ! -e vsbad.ltm ]; then
        say_pass "tts-train export --frame-sharpen 1 4 / -1 3: refused, nothing written"
    else
        say_fail "tts-train export --frame-sharpen out of range" "$(tr '\n' '|' <vsbad.err)"
    fi
    # a metadata id that is a path is never opened; invalid UTF-8 is reported as such
    mkdir -p badcorpus/wav
    first=$(ls "$DATA/corpus/wav" | head -n 1)
    cp "$DATA/corpus/wav/$first" "badcorpus/wav/${first%.wav}.wav"
    cp "$DATA/corpus/wav/$first" badcorpus/wav/utf.wav
    printf '%s|Author of the danger trail.\n../../../../etc/passwd|hello\nutf|bad \377 text\n' \
        "${first%.wav}" >badcorpus/metadata.csv
    if ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
            strace -f -e trace=openat -o prep.strace "$TRAIN" prepare badcorpus dsids.ltd \
            >prepids.err 2>&1 || "$TRAIN" prepare badcorpus dsids.ltd >prepids.err 2>&1; then :; fi
    if grep -q "skip line 2: the id is not a plain file name" prepids.err &&
        grep -q "skip utf: invalid UTF-8 in text at byte offset 4" prepids.err &&
        grep -q "prepared 1 utterances" prepids.err &&
        ! grep -q "passwd" prep.strace 2>/dev/null; then
        say_pass "tts-train prepare: an id that is a path is skipped unopened, bad UTF-8 named"
    else
        say_fail "tts-train prepare: bad ids and texts" "$(tr '\n' '|' <prepids.err)"
    fi
    if ! "$TRAIN" prepare "$DATA/corpus" dsbad.ltd --val-every 1 >prepbad.err 2>&1 &&
        grep -q "val-every takes a number >= 2" prepbad.err && [ ! -e dsbad.ltd ]; then
        say_pass "tts-train prepare --val-every 1: refused"
    else
        say_fail "tts-train prepare --val-every 1" "$(tr '\n' '|' <prepbad.err)"
    fi
    if ! "$TRAIN" vocoder ds.ltd vbad --steps 1 --adv-weight 1 --disc-periods 1,x \
            >advbad.err 2>&1 && grep -q "critic periods" advbad.err; then
        say_pass "tts-train vocoder --disc-periods 1,x: refused with a message"
    else
        say_fail "tts-train vocoder --disc-periods 1,x" "$(tr '\n' '|' <advbad.err)"
    fi
else
    say_fail "tts-train tfmels of the tiny voice" "$(cat tf.err fr.err | tail -n 3 | tr '\n' '|')"
fi
if ! "$TRAIN" export "$model" nohold.ltm --hold-pct 80 >holds2.err 2>&1 &&
    grep -q "go with --holds" holds2.err && [ ! -e nohold.ltm ]; then
    say_pass "tts-train export --hold-pct without --holds: refused, nothing written"
else
    say_fail "tts-train export --hold-pct without --holds" "$(tr '\n' '|' <holds2.err)"
fi
# a run started from that voice trains new weights: its checkpoints carry no stale holds
if timeout -k 5 "$LIMIT" "$TRAIN" acoustic ds.ltd run-init --init voice-holds.ltm --steps 5 \
        --batch 2 --threads 1 >>train.log 2>&1 && [ -s run-init/ckpt.ltm ] &&
    ! grep -aq acoustic.hold run-init/ckpt.ltm; then
    say_pass "tts-train acoustic --init from a voice with holds: the checkpoint has none"
else
    say_fail "tts-train acoustic --init from a voice with holds" "$(tail -n 3 train.log | tr '\n' '|')"
fi
# the critic of frames (--adv-weight): it learns alone for --disc-warmup steps, then the
# network gets its terms; a second run resumes the network and the critic; a bad weight is
# refused before anything is written
if timeout -k 5 "$LIMIT" "$TRAIN" acoustic ds.ltd run-adv --steps 20 --batch 2 --d 16 \
        --text-ch 16 --threads 1 --adv-weight 0.5 --fm-weight 1 --disc-warmup 10 \
        >adv-a.err 2>&1 &&
    timeout -k 5 "$LIMIT" "$TRAIN" acoustic ds.ltd run-adv --steps 30 --batch 2 --threads 1 \
        --adv-weight 0.5 --fm-weight 1 --disc-warmup 10 >adv-a2.err 2>&1; then
    check "tts-train acoustic --adv-weight: the critic of frames warms up, teaches, resumes; bad weights refused" \
        '[ -s run-adv/critic.ltm ]' 'grep -q "^step 10 .* critic real .*(warm-up)$" run-adv/train.log' \
        'grep -Eq "^step 20 .* adv [0-9.]+ fm 0\.[0-9]*[1-9][0-9]*$" run-adv/train.log' \
        'grep -q "^critic of frames: [0-9]* parameters, resumed (its step 20)" adv-a2.err' \
        'grep -q "^step 30 " run-adv/train.log' \
        'grep -q "^# critic of frames: .* --adv-weight 0.5 --fm-weight 1 " run-adv/train.log' \
        '! "$TRAIN" acoustic ds.ltd run-advbad --adv-weight -1 >advbad.err 2>&1' \
        'grep -q "adv-weight and --fm-weight must be >= 0" advbad.err' '[ ! -e run-advbad ]'
else
    say_fail "tts-train acoustic --adv-weight" "$(cat adv-a.err adv-a2.err | tail -n 3 | tr '\n' '|')"
fi
# --average: a checkpoint averaged with itself is itself; with another model it is refused
if timeout -k 5 "$LIMIT" "$TRAIN" export "$model" avg-self.ltm --average "$model" >>train.log 2>&1 &&
    cmp -s avg-self.ltm voice-f16.ltm; then
    say_pass "tts-train export --average: a checkpoint averaged with itself exports the same file"
else
    say_fail "tts-train export --average with itself" "$(tail -n 3 train.log | tr '\n' '|')"
fi
if timeout -k 5 "$LIMIT" "$TRAIN" acoustic ds.ltd run-d8 --steps 1 --batch 2 --d 8 \
        --text-ch 16 --threads 1 >>train.log 2>&1 &&
    ! "$TRAIN" export "$model" avg-bad.ltm --average run-d8/ckpt.ltm >avg.err 2>&1 &&
    grep -q "another model" avg.err && [ ! -e avg-bad.ltm ]; then
    say_pass "tts-train export --average refuses a model of another size, writes nothing"
else
    say_fail "tts-train export --average with another model" "$(tr '\n' '|' <avg.err)"
fi

# broken model files, made from the tiny one
size=$(stat -c %s "$model" 2>/dev/null || echo 0)
head -c $((size / 2)) "$model" >trunc.ltm
head -c 40 "$model" >trunc40.ltm
: >empty.ltm
cp "$model" magic.ltm && printf 'NOTAMODL' | dd of=magic.ltm conv=notrunc status=none
cp "$model" version.ltm && printf '\002\000\000\000' | dd of=version.ltm bs=1 seek=8 conv=notrunc status=none
cp "$model" flip.ltm && printf '\125' | dd of=flip.ltm bs=1 seek=$((size * 3 / 4)) conv=notrunc status=none
cp "$model" trailing.ltm && printf 'junk' >>trailing.ltm
for case in "trunc.ltm|truncated (half the file)|truncated: expected $size bytes" \
    "trunc40.ltm|truncated (40 bytes, inside the header)|truncated: expected at least 64 bytes" \
    "empty.ltm|empty|truncated" \
    "magic.ltm|wrong magic|not a libtts model file" \
    "version.ltm|format version 2|model file version 2, this build reads 1" \
    "flip.ltm|one byte changed|checksum mismatch" \
    "trailing.ltm|trailing bytes|trailing data" \
    "ds.ltd|a dataset cache, not a voice|not an acoustic model"; do
    IFS='|' read -r file what want <<<"$case"
    run "$TTS" -m "$file" "Hello." -o broken.wav
    check "model file $what: exit 3, '$want', no output" \
        '[ $rc -eq 3 ]' 'grep -q "$want" err' 'nothing_at broken.wav'
done

# A 320-byte model file whose metadata asks for a huge model (n_symbols 100000,
# embed_dim 4096, text_ch 4096, d 1024) and holds no tensors: the loader should say
# "no tensor 'embed'" at once, before allocating anything; it runs under a 2 GB
# address-space limit, so a loader that allocated what the metadata asks would fail.
huge=$SRC/fuzz/corpus/modelfile/huge-dims-no-tensors.ltm
if ! (ulimit -v 2000000 && "$TTS" --version) >/dev/null 2>&1; then
    skip "model file asking for a huge model" "cannot limit memory here (a sanitizer build?)"
else
    rc=0
    (ulimit -v 2000000 && exec timeout -k 5 60 "$TTS" -m "$huge" "Hello." -o huge.wav) \
        </dev/null >out 2>err || rc=$?
    check "model file asking for a huge model, with no tensors: exit 3, 'no tensor', at once" \
        '[ $rc -eq 3 ]' 'grep -q "no tensor" err' 'nothing_at huge.wav'
fi

# ==================================================================== outputs
echo "keep me" >old.wav
run "$TTS" -m "$model" "   " -o old.wav
check "whitespace-only text: exit 2, 'nothing to say', an existing -o file untouched" \
    '[ $rc -eq 2 ]' 'grep -q "nothing to say" err' '[ "$(cat old.wav)" = "keep me" ]' \
    'nothing_at old.wav.tmp'
run "$TTS" -m "$model" "" -o empty-text.wav
check "empty text argument: exit 2, 'nothing to say', no output" \
    '[ $rc -eq 2 ]' 'grep -q "nothing to say" err' 'nothing_at empty-text.wav'
printf ' \n\t\n' >ws.txt
run "$TTS" -m "$model" -f ws.txt -o ws.wav
check "-f file of white space: exit 2, 'nothing to say', no output" \
    '[ $rc -eq 2 ]' 'grep -q "nothing to say" err' 'nothing_at ws.wav'
run_in ws.txt "$TTS" -m "$model" --raw
check "stdin of blank lines with --raw: exit 2, 'no text given', no audio" \
    '[ $rc -eq 2 ]' 'grep -q "no text given" err' '[ ! -s out ]'
printf '...!?\n' >punct.txt
run "$TTS" -m "$model" -f punct.txt -o punct.wav
check "-f file of punctuation only: exit 2, 'nothing to say', no output" \
    '[ $rc -eq 2 ]' 'grep -q "nothing to say" err' 'nothing_at punct.wav'

run "$TTS" -m "$model" "Hello." -o /nonexistent-dir/x.wav
check "-o /nonexistent-dir/x.wav: exit 1, names the path, creates nothing" \
    '[ $rc -eq 1 ]' 'grep -q "/nonexistent-dir/x.wav" err' '[ ! -e /nonexistent-dir ]'
run "$TTS" -m "$model" "Hello." -o /dev/full
check "-o /dev/full: exit 1, 'No space left on device'" \
    '[ $rc -eq 1 ]' 'grep -qi "no space left" err'
timeout -k 5 "$LIMIT" "$TTS" -m "$model" "Hello." --raw >/dev/full 2>err
rc=$?
check "--raw > /dev/full: exit 1, 'No space left on device'" \
    '[ $rc -eq 1 ]' 'grep -qi "no space left" err'

# a full disk under a regular file: a 64 KiB tmpfs in a private mount namespace (root)
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
    mkdir -p small
    echo "keep me" >keep.txt
    timeout -k 5 "$LIMIT" unshare -m bash -c '
        mount -t tmpfs -o size=64k tmpfs small || exit 99
        cp keep.txt small/old.wav
        "$1" -m "$2" "Hello, world. This is a test." -o small/new.wav 2>err.new; echo $? >rc.new
        "$1" -m "$2" "Hello, world. This is a test." -o small/old.wav 2>err.old; echo $? >rc.old
        ls -A small >left.txt; cat small/old.wav >old.after' _ "$TTS" "$model"
    mount_rc=$?
    if [ $mount_rc -eq 99 ]; then
        skip "full disk under a regular file" "cannot mount a tmpfs here"
    else
        rc=$(cat rc.new 2>/dev/null)
        cp err.new err 2>/dev/null
        check "-o FILE on a full disk: exit 1, nothing left (no file, no temporary)" \
            '[ "$rc" = 1 ]' '[ "$(cat left.txt)" = old.wav ]'
        rc=$(cat rc.old 2>/dev/null)
        check "-o EXISTING_FILE on a full disk: exit 1, the old file intact" \
            '[ "$rc" = 1 ]' '[ "$(cat old.after)" = "keep me" ]'
        check "-o FILE on a full disk: the message says the disk is full" \
            'grep -qi "no space left" err'
    fi
else
    skip "full disk under a regular file" "needs root and unshare -m to mount a small tmpfs"
fi

# --raw into a pipe closed early: the tiny voice makes > 100 KB for this text, more than
# a pipe holds, so tts must see the closed pipe. Exit 1 with a message (the audio was
# not all delivered), never death by SIGPIPE (exit 141).
timeout -k 5 "$LIMIT" bash -c '"$1" -m "$2" "Hello, world. This is a test." --raw 2>err | head -c 100 >head.out; echo "${PIPESTATUS[0]}" >rc.pipe' _ "$TTS" "$model"
rc=$(cat rc.pipe 2>/dev/null || echo none)
check "--raw | head -c 100: exit 1 (not SIGPIPE), 'output pipe closed', 100 bytes out" \
    '[ "$rc" = 1 ]' 'grep -q "output pipe closed" err' '[ "$(stat -c %s head.out)" -eq 100 ]'

run "$TTS" -m "$model" "Hello." --raw
check "--raw to a file: exit 0, even number of bytes (s16le), no header" \
    '[ $rc -eq 0 ]' '[ -s out ]' '[ $(( $(stat -c %s out) % 2 )) -eq 0 ]' \
    '[ "$(head -c 4 out | tr -d "\\0")" != RIFF ]'

printf 'Hello.\n\nWorld.\n' >lines.txt
run_in lines.txt "$TTS" -m "$model" --raw
check "stdin line by line with --raw: exit 0, audio for both lines" \
    '[ $rc -eq 0 ]' '[ "$(stat -c %s out)" -gt 20000 ]'
run_in lines.txt "$TTS" -m "$model" -o stdin.wav
check "stdin with -o: exit 0, complete WAV" '[ $rc -eq 0 ]' 'good_wav stdin.wav'
run_in lines.txt "$TTS" -m "$model" -f - -o stdin2.wav
check "-f - (stdin) with -o: exit 0, complete WAV" '[ $rc -eq 0 ]' 'good_wav stdin2.wav'

# --play: CI machines have no audio device. Where one may exist (a sound card, a sound
# server) and tts played, the check cannot be made.
run "$TTS" -m "$model" --play "Hello."
maybe_device=
[ -e /dev/snd ] && maybe_device="$maybe_device /dev/snd"
[ -e "${XDG_RUNTIME_DIR:-/nonexistent}/pulse/native" ] && maybe_device="$maybe_device pulse"
[ -n "${PULSE_SERVER:-}" ] && maybe_device="$maybe_device \$PULSE_SERVER"
if [ $rc -eq 0 ] && [ -n "$maybe_device" ]; then
    skip "--play with no audio device: exit 4" "this machine has an audio device ($maybe_device) and it played"
else
    check "--play with no audio device: exit 4, 'no audio output device'" \
        '[ $rc -eq 4 ]' 'grep -q "no audio output device" err'
fi
run_in lines.txt "$TTS" -m "$model" --play
if [ $rc -ne 0 ]; then
    check "stdin with --play and no audio device: exit 4" '[ $rc -eq 4 ]'
fi

# ==================================================================== odd text, synthesized
run "$TTS" -m "$model" -f ctl.txt -o ctl.wav
check "-f with NUL and control bytes: exit 0, complete WAV" '[ $rc -eq 0 ]' 'good_wav ctl.wav'
run "$TTS" -m "$model" "Hello 😀 world 👍🏽." -o emoji.wav
check "emoji: exit 0, complete WAV" '[ $rc -eq 0 ]' 'good_wav emoji.wav'
run "$TTS" -m "$model" "Привет. 你好。" -o scripts.wav
check "Cyrillic and Chinese: exit 0, complete WAV" '[ $rc -eq 0 ]' 'good_wav scripts.wav'
run "$TTS" -m "$model" "$(printf 'Hello \xff world.')" -o badutf.wav
check "invalid UTF-8 text: exit 2, names byte offset 6, no output" \
    '[ $rc -eq 2 ]' 'grep -q "byte offset 6\b" err' 'nothing_at badutf.wav'

# A 10,000-character word: the untrained tiny voice speaks each 400-byte piece until its
# length cap (about 100 s of audio per piece), so the whole word would take minutes;
# check that synthesis of it starts and streams (the first 3 s of audio), not its end.
timeout -k 5 "$LIMIT" bash -c '"$1" -m "$2" -f word.txt --raw 2>err | head -c 96000 >word.raw; echo "${PIPESTATUS[0]}" >rc.word' _ "$TTS" "$model"
rc=$(cat rc.word 2>/dev/null || echo none)
check "10,000-character word with --raw | head -c 96000: no crash, audio streams" \
    '[ "$rc" = 0 ] || [ "$rc" = 1 ]' '[ "$(stat -c %s word.raw)" -eq 96000 ]'

# 1 MB through -f to a WAV: two sentences amid 1 MB of white space, control bytes and
# punctuation (1 MB of prose would take hours with the untrained voice, see above).
{
    printf 'Hello there.'
    yes -- "$(printf -- '-- ...\t\001          ')" | head -c 1040000
    printf 'Goodbye.\n'
} >1mb-sparse.txt
run "$TTS" -m "$model" -f 1mb-sparse.txt -o 1mb.wav
check "-f with 1 MB of text (2 sentences, the rest white space and punctuation): exit 0, WAV" \
    '[ $(stat -c %s 1mb-sparse.txt) -ge 1000000 ]' '[ $rc -eq 0 ]' 'good_wav 1mb.wav'

# ==================================================================== SSML, phoneme input, lexicon
# Errors first (no voice needed to find them, but give the tiny one: they are input errors,
# reported before any audio), then what each one does.
run "$TTS" -m "$model" --ssml '<speak><prosody rate="slow">Hi</speak>' -o ssml-bad.wav
check "malformed SSML: <prosody> closed by </speak>: exit 2, names line and column, no file" \
    '[ $rc -eq 2 ]' 'grep -q "SSML line 1, column 31: <prosody> closed by </speak>" err' \
    'nothing_at ssml-bad.wav'
printf '<speak>\n  Fish &amp; chips\n  <break time="later"/>\n</speak>\n' >bad.ssml
run "$TTS" -m "$model" -f bad.ssml -o ssml-bad.wav
check "malformed SSML in a -f file (bad attribute value): exit 2, line 3, column 16" \
    '[ $rc -eq 2 ]' 'grep -q "SSML line 3, column 16: bad value \"later\" for time= of <break>" err' \
    'nothing_at ssml-bad.wav'
for doc in '<speak>a <foo>b</bar></speak>|<foo> closed by </bar>' '<speak>a &nbsp;</speak>|unknown entity &nbsp;' \
    '<speak><p>a<break|tag is not closed' '<speak><s>a|<s> is not closed'; do
    run "$TTS" --phonemes --ssml "${doc%%|*}"
    check "malformed SSML through --phonemes: ${doc##*|}: exit 2" '[ $rc -eq 2 ]' \
        'grep -q "SSML line 1, column" err' 'grep -qF "${doc##*|}" err'
done
run "$TTS" -m "$model" --ssml '<speak>Hello <mark name="m1"/> there <foo>my</foo> <emphasis>friend</emphasis>.</speak>' -o ssml-lenient.wav
check "SSML as screen readers send it (mark, emphasis, an unknown element): spoken, exit 0, a note" \
    '[ $rc -eq 0 ]' 'good_wav ssml-lenient.wav' 'grep -q "tts: note: SSML line 1, column 38: <foo> is not SSML" err'
run "$TTS" -m "$model" 'Say [[h@loU]] now.' -o ph-bad.wav
check "phoneme input with an unknown symbol: exit 2, names the symbol and byte offset" \
    '[ $rc -eq 2 ]' 'grep -q "unknown phoneme symbol .@. (U+0040)" err' 'grep -q "byte offset 7" err' \
    'nothing_at ph-bad.wav'
printf 'tomato\tt\xc9\x99m\xcb\x88\xc9\x91\xcb\x90to\xca\x8a\nword\n' >bad.lex
run "$TTS" -m "$model" --lexicon bad.lex "A tomato." -o lex-bad.wav
check "--lexicon with a bad line: exit 2, names the file and line, no file" \
    '[ $rc -eq 2 ]' "grep -q \"lexicon 'bad.lex' line 2: no phonemes after 'word'\" err" \
    'nothing_at lex-bad.wav'
{ echo "# 500,000 phonemes"; printf 'huge  '; head -c 500000 /dev/zero | tr '\0' 't'; echo; } >huge.lex
run "$TTS" -m "$model" --lexicon huge.lex "A tomato." -o lex-bad.wav
check "--lexicon with 500,000 phonemes for a word: exit 2, names the line and the limit" \
    '[ $rc -eq 2 ]' "grep -q \"lexicon 'huge.lex' line 2: phonemes of 'huge' longer than 1024 bytes\" err" \
    'nothing_at lex-bad.wav'
run "$TTS" -m "$model" --lexicon /nonexistent/my.lex "A tomato." -o lex-bad.wav
check "--lexicon with a missing file: exit 2, names it" \
    '[ $rc -eq 2 ]' "grep -q \"cannot open lexicon '/nonexistent/my.lex'\" err" 'nothing_at lex-bad.wav'

# 19 KB of SSML asking for 10,000 s of breaks: refused before any audio, nothing written
{ printf '<speak>hi'; for i in $(seq 1 1000); do printf '<break time="10s"/>'; done
  printf 'there</speak>'; } >breaks.xml
run "$TTS" -m "$model" -f breaks.xml -o breaks.wav
check "1,000 breaks of 10 s: exit 2 at once, says the limit, nothing written" \
    '[ $rc -eq 2 ]' 'grep -q "10000 s of breaks, more than 600 s of silence" err' 'nothing_at breaks.wav'

# A FIFO as the voice or the lexicon is refused at once (opening it for reading would
# wait for a writer forever); 10 s is far more than the answer takes
mkfifo fifo-in
timeout -k 2 10 "$TTS" -m fifo-in "Hi." -o fifo.wav </dev/null >out 2>err
rc=$?
check "-m a FIFO: exit 3 at once, not a regular file, nothing written" \
    '[ $rc -eq 3 ]' "grep -q \"model file 'fifo-in' is not a regular file\" err" 'nothing_at fifo.wav'
timeout -k 2 10 "$TTS" -m "$model" --lexicon fifo-in "Hi." -o fifo.wav </dev/null >out 2>err
rc=$?
check "--lexicon a FIFO: exit 2 at once, not a regular file, nothing written" \
    '[ $rc -eq 2 ]' "grep -q \"lexicon 'fifo-in' is not a regular file\" err" 'nothing_at fifo.wav'

printf '# my words\ntomato  t\xc9\x99m\xcb\x88\xc9\x91\xcb\x90to\xca\x8a\n' >good.lex
run "$TTS" --phonemes "A tomato."
plain_ipa=$(grep 'ipa:' out)
run "$TTS" --phonemes --lexicon good.lex "A TOMATO."
tomato_ipa=$(printf 't\xc9\x99m\xcb\x88\xc9\x91\xcb\x90to\xca\x8a')
check "--phonemes --lexicon: the lexicon's phonemes replace eSpeak NG's" '[ $rc -eq 0 ]' \
    'grep -qF "$tomato_ipa." out' '[ "$(grep ipa: out)" != "$plain_ipa" ]'
run "$TTS" --phonemes "$(printf 'Say [[h\xc9\x99l\xcb\x88o\xca\x8a]] twice.')"
check "--phonemes with phoneme input: spoken as given" '[ $rc -eq 0 ]' \
    "grep -q \"ipa: s.*$(printf 'h\xc9\x99l\xcb\x88o\xca\x8a') tw\" out"
run "$TTS" --phonemes '<speak>One <break time="500ms"/> <prosody rate="slow">two</prosody> <say-as interpret-as="ordinal">3</say-as></speak>'
check "--phonemes of SSML (detected): the break, the slower part, say-as" '[ $rc -eq 0 ]' \
    'grep -q "^break 500 ms" out' 'grep -q "rate x0.75" out' 'grep -q "): two$" out' 'grep -q "(bytes 99-100): third$" out'
run "$TTS" -m "$model" '<speak>Hello <break time="300ms"/> world.</speak>' -o ssml.wav
check "SSML (detected) to -o: exit 0, complete WAV" '[ $rc -eq 0 ]' 'good_wav ssml.wav'
printf '<speak>\n<p>Line one.</p>\n<p>Line <sub alias="two">2</sub>.</p>\n</speak>\n' >doc.ssml
run_in doc.ssml "$TTS" -m "$model" --ssml --raw
check "--ssml on stdin (read whole, not line by line): exit 0, audio" '[ $rc -eq 0 ]' '[ -s out ]'
run_in doc.ssml "$TTS" -m "$model" --raw
check "SSML on stdin without --ssml (detected on its first line, then read whole): exit 0, audio" \
    '[ $rc -eq 0 ]' '[ -s out ]' '[ ! -s err ]'
run "$TTS" -m "$model" --lexicon good.lex "$(printf 'A tomato, [[h\xc9\x99l\xcb\x88o\xca\x8a]].')" -o lex.wav
check "--lexicon and phoneme input to -o: exit 0, complete WAV" '[ $rc -eq 0 ]' 'good_wav lex.wav'

# ==================================================================== fuzz regressions
# Inputs that once crashed or hung a fuzz/ target (fuzz/corpus/*/regress-*) go through
# the CLI here too.
for f in "$SRC"/fuzz/corpus/frontend/regress-*; do
    [ -e "$f" ] || continue
    run "$TTS" --phonemes -f "$f"
    check "fuzz regression $(basename "$f") through --phonemes: no crash" \
        '[ $rc -eq 0 ] || [ $rc -eq 2 ]'
done
for f in "$SRC"/fuzz/corpus/modelfile/regress-*; do
    [ -e "$f" ] || continue
    run "$TTS" -m "$f" "Hello." -o regress.wav
    check "fuzz regression $(basename "$f") as a model: no crash, exit 3" '[ $rc -eq 3 ]'
done

echo
echo "known bugs (XFAIL): $nxfail, skipped: $nskip"
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
