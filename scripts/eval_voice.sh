#!/usr/bin/env bash
# Intelligibility check of a voice on text it never saw: synthesize every sentence
# with libtts, espeak-ng (en-us) and flite (slt), transcribe each WAV with
# pocketsphinx through scripts/wer.py, and print one markdown table:
# WER, words, files, failures, synthesis wall time, audio length, real-time factor.
#
# usage: scripts/eval_voice.sh OUTDIR [SENTENCES] [TTS_ARGS...]
#   OUTDIR     where everything goes (created): tts/ espeak/ flite/ NNN.wav,
#              {tts,espeak,flite}.tsv (wav<TAB>reference, what wer.py reads),
#              SYSTEM.wer.txt (per-file transcripts), SYSTEM.times, results.md
#   SENTENCES  one sentence per line (default eval/sentences.txt; "" = default).
#              Blank lines and lines starting with '#' are skipped. A line may be
#              "TEXT<TAB>REFERENCE" to give the spoken form used for scoring;
#              otherwise the reference is TEXT with numbers, currency, times,
#              ordinals spelled out and a.m./p.m. joined (scripts/spoken_form.py),
#              because pocketsphinx writes "forty five dollars", never "$45".
#   TTS_ARGS   passed to build/cli/tts before -o, e.g. -m /tmp/run0/best.ltm
#
# environment:
#   SYSTEMS="tts espeak flite"   which systems to run (any subset, any order)
#   TTS=build/cli/tts            the libtts CLI to use
#
# exit status: 0 all requested systems scored; 1 a tool or step failed;
# 2 bad usage; 3 the baselines were scored but libtts has no usable voice model
# (the CLI exited 3), so its row is empty.
set -euo pipefail

prog=eval_voice
die() { echo "$prog: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=$1
SENTENCES=${2:-}
[ -n "$SENTENCES" ] || SENTENCES=$ROOT/eval/sentences.txt
shift $(( $# >= 2 ? 2 : 1 ))
TTS_ARGS=("$@")
TTS=${TTS:-$ROOT/build/cli/tts}
read -r -a SYS_LIST <<< "${SYSTEMS:-tts espeak flite}"
[ "${#SYS_LIST[@]}" -gt 0 ] || die "SYSTEMS is empty"

if [ -d "$SENTENCES" ] || [ ! -r "$SENTENCES" ]; then
    die "cannot read sentence file '$SENTENCES'"
fi

# ---- tools -------------------------------------------------------------------------
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package: $2)"); }
need python3 python3
need pocketsphinx_batch "pocketsphinx pocketsphinx-en-us"
need sox sox
need soxi sox
for s in "${SYS_LIST[@]}"; do
    case $s in
        tts)    [ -x "$TTS" ] || missing+=("$TTS (build it: meson setup build && ninja -C build)") ;;
        espeak) need espeak-ng espeak-ng ;;
        flite)  need flite flite ;;
        *)      echo "$prog: unknown system '$s' in SYSTEMS (use tts, espeak, flite)" >&2; exit 2 ;;
    esac
done
if [ "${#missing[@]}" -gt 0 ]; then
    note "missing tools:"
    for m in "${missing[@]}"; do echo "  - $m" >&2; done
    note "e.g. apt-get install -y espeak-ng flite sox pocketsphinx pocketsphinx-en-us;" \
         "set SYSTEMS to skip a system"
    exit 1
fi
[ -f "$ROOT/scripts/wer.py" ] || die "scripts/wer.py not found under $ROOT"

mkdir -p "$OUTDIR" || die "cannot create '$OUTDIR'"
OUTDIR=$(cd "$OUTDIR" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$prog.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- sentences and spoken-form references -------------------------------------------
# items.tsv: "TEXT<TAB>REFERENCE", one per sentence, in file order.
python3 "$ROOT/scripts/spoken_form.py" "$SENTENCES" > "$OUTDIR/items.tsv" ||
    die "cannot parse '$SENTENCES'"

mapfile -t TEXTS < <(cut -f1 "$OUTDIR/items.tsv")
mapfile -t REFS < <(cut -f2- "$OUTDIR/items.tsv")
count=${#TEXTS[@]}
note "$count sentences from $SENTENCES -> $OUTDIR"

# ---- synthesis ---------------------------------------------------------------------
# to16k IN OUT: every system's WAV goes through the same conversion to what
# pocketsphinx and wer.py expect, 16 kHz mono 16-bit, plus 1-LSB dither with a fixed
# seed (-R). Dither matters: pocketsphinx (wer.py runs it without -dither) misreads
# long runs of exact digital zeros, which espeak-ng writes between words (41% of its
# samples) and libtts after each sentence (--silence): espeak-ng scored 81.5% WER
# without dither and 71.2% with it; flite (almost no exact zeros) 12.5% and 12.1%.
# "vol 0.999" raises the internal precision so that sox dithers 16-bit input too.
# DITHER=0 turns it off (plain sox -D conversion).
to16k() {
    if [ "${DITHER:-1}" = 0 ]; then
        sox -q -D "$1" -r 16000 -c 1 -b 16 "$2"
    else
        sox -q -R "$1" -r 16000 -c 1 -b 16 "$2" vol 0.999 dither
    fi
}
# silence OUT: a placeholder for a failed utterance, scored as all deletions.
silence() { sox -q -n -r 16000 -c 1 -b 16 "$1" trim 0 0.1; }
now() { date +%s.%N; }

declare -A SYNTH_S AUDIO_S FAILED STATUS
rc_final=0

run_system() {
    local sys=$1 dir=$OUTDIR/$1 i id text wav raw t0 t1 rc fails=0
    mkdir -p "$dir"
    rm -f "$dir"/[0-9][0-9][0-9]*.wav "$dir"/[0-9][0-9][0-9]*.log "$OUTDIR/$sys.tsv" \
          "$OUTDIR/$sys.times" "$OUTDIR/$sys.wer.txt"
    : > "$OUTDIR/$sys.times"
    STATUS[$sys]=ok
    for (( i = 0; i < count; i++ )); do
        printf -v id '%03d' $(( i + 1 ))
        text=${TEXTS[i]}
        wav=$dir/$id.wav
        raw=$tmp/$sys-$id.wav
        rc=0
        t0=$(now)
        case $sys in
            tts)    "$TTS" ${TTS_ARGS[@]+"${TTS_ARGS[@]}"} -o "$raw" -- "$text" 2> "$dir/$id.log" || rc=$? ;;
            espeak) espeak-ng -v en-us -w "$raw" -- "$text" 2> "$dir/$id.log" || rc=$? ;;
            flite)  flite -voice slt -t "$text" -o "$raw" 2> "$dir/$id.log" || rc=$? ;;
        esac
        t1=$(now)
        if [ "$sys" = tts ] && [ "$rc" -eq 3 ]; then
            note "tts: no usable voice model (the CLI exited 3):"
            sed 's/^/    /' "$dir/$id.log" >&2
            note "tts: stopped; pass a model, e.g. $0 $OUTDIR '' -m path/to/model.ltm"
            STATUS[$sys]="no model (exit 3)"
            rm -f "$raw"
            return 3
        fi
        printf '%s\t%s\n' "$id" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
            >> "$OUTDIR/$sys.times"
        if [ "$rc" -eq 0 ]; then
            if ! soxi "$raw" >/dev/null 2>&1; then
                echo "$sys wrote no readable WAV" >> "$dir/$id.log"; rc=1
            else
                to16k "$raw" "$wav" 2>> "$dir/$id.log" || rc=$?
            fi
        fi
        rm -f "$raw"
        if [ "$rc" -ne 0 ] || [ ! -s "$wav" ]; then
            fails=$(( fails + 1 ))
            note "$sys: sentence $id failed (status $rc), scored as silence: $text"
            [ -s "$dir/$id.log" ] && sed 's/^/    /' "$dir/$id.log" >&2
            rm -f "$wav"
            silence "$wav"
        fi
        printf '%s\t%s\n' "$wav" "${REFS[i]}" >> "$OUTDIR/$sys.tsv"
        if (( (i + 1) % 20 == 0 )); then note "$sys: $(( i + 1 ))/$count"; fi
    done
    FAILED[$sys]=$fails
    SYNTH_S[$sys]=$(awk -F'\t' '{ s += $2 } END { printf "%.1f", s }' "$OUTDIR/$sys.times")
    AUDIO_S[$sys]=$(cut -f1 "$OUTDIR/$sys.tsv" | while IFS= read -r f; do soxi -D "$f"; done |
                    awk '{ s += $1 } END { printf "%.1f", s }')
    return 0
}

declare -A WER WORDS FILES
for sys in "${SYS_LIST[@]}"; do
    note "$sys: synthesizing $count sentences"
    src=0
    run_system "$sys" || src=$?
    if [ "$src" -eq 3 ]; then rc_final=3; continue; fi
    [ "$src" -eq 0 ] || die "$sys: synthesis failed"
    note "$sys: transcribing with pocketsphinx (scripts/wer.py)"
    if ! python3 "$ROOT/scripts/wer.py" "$OUTDIR/$sys.tsv" > "$OUTDIR/$sys.wer.txt" 2> "$tmp/wer.err"; then
        cat "$tmp/wer.err" >&2
        die "$sys: scripts/wer.py failed (is pocketsphinx-en-us installed?)"
    fi
    last=$(tail -n 1 "$OUTDIR/$sys.wer.txt")
    if [[ $last =~ ^WER\ ([0-9.]+)%\ \(([0-9]+)\ edits\ /\ ([0-9]+)\ words,\ ([0-9]+)\ files\) ]]; then
        WER[$sys]=${BASH_REMATCH[1]}%
        WORDS[$sys]=${BASH_REMATCH[3]}
        FILES[$sys]=${BASH_REMATCH[4]}
    else
        die "$sys: cannot read the WER line of $OUTDIR/$sys.wer.txt: $last"
    fi
done

# ---- report ------------------------------------------------------------------------
{
    echo "| system | WER | words | files | failed | synth s | audio s | RTF |"
    echo "|---|---|---|---|---|---|---|---|"
    for sys in "${SYS_LIST[@]}"; do
        case $sys in
            tts)    name="libtts${TTS_ARGS[*]:+ (${TTS_ARGS[*]})}" ;;
            espeak) name="espeak-ng en-us" ;;
            flite)  name="flite slt" ;;
        esac
        if [ "${STATUS[$sys]}" != ok ]; then
            echo "| $name | n/a: ${STATUS[$sys]} | | 0 | | | | |"
            continue
        fi
        rtf=$(awk -v s="${SYNTH_S[$sys]}" -v a="${AUDIO_S[$sys]}" 'BEGIN { printf "%.3f", (a > 0 ? s / a : 0) }')
        echo "| $name | ${WER[$sys]} | ${WORDS[$sys]} | ${FILES[$sys]} | ${FAILED[$sys]} | ${SYNTH_S[$sys]} | ${AUDIO_S[$sys]} | $rtf |"
    done
    echo
    echo "$count sentences from $SENTENCES; $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname), $(nproc) CPUs."
    echo "synth s: summed wall time of the synthesis commands alone (date +%s.%N), without"
    echo "resampling or recognition; RTF = synth s / audio s. Transcripts: OUTDIR/SYSTEM.wer.txt."
} | tee "$OUTDIR/results.md"
exit "$rc_final"
