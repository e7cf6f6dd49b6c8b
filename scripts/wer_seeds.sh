#!/usr/bin/env bash
# Word errors of `tts-train eval ... --seeds K` output, set by set, then summed over the
# seeds for each vocoder: one noise seed moves a count by up to 3 points on the 77
# validation takes, so compare sums, not one set (docs/TRAINING.md section 4).
#
# usage: scripts/wer_seeds.sh OUTDIR [SENTENCES]
#   OUTDIR     eval's output folder: gl_sK.tsv and voc_sK.tsv (the validation takes),
#              and with SENTENCES also sent_gl_sK.tsv and sent_voc_sK.tsv
#   SENTENCES  the file eval was given: the sent_ lists are scored against each line's
#              spoken form (scripts/spoken_form.py), matched by number (NNN.wav is
#              sentence NNN); without it only the validation takes are scored
#
# Prints one markdown table: set, errors, words, WER; then a row per vocoder and list
# with the sums. Each set's per-file transcript is left in OUTDIR/SET.wer.
# exit status: 0 scored; 1 a step failed; 2 bad usage.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${1:-}" in
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    "") sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
esac
OUT=$1
SENTENCES=${2:-}
[ -d "$OUT" ] || { echo "wer_seeds: no folder $OUT" >&2; exit 2; }
prefixes=("")
if [ -n "$SENTENCES" ]; then
    python3 "$ROOT/scripts/spoken_form.py" "$SENTENCES" > "$OUT/items.tsv" ||
        { echo "wer_seeds: cannot read $SENTENCES" >&2; exit 1; }
    prefixes+=("sent_")
fi
echo "| set | errors | words | WER |"
echo "|---|--:|--:|--:|"
declare -A E W
for pre in "${prefixes[@]}"; do
    for voc in gl voc; do
        for list in "$OUT/${pre}${voc}"_s*.tsv; do
            [ -e "$list" ] || continue
            set_name=$(basename "$list" .tsv)
            scored=$list
            if [ -n "$pre" ]; then # the sentences: spoken-form references by number
                scored=$OUT/$set_name.ref.tsv
                python3 - "$OUT/items.tsv" "$list" > "$scored" <<'PY'
import os, sys
refs = [l.rstrip("\n").split("\t", 1)[1] for l in open(sys.argv[1], encoding="utf-8")]
for l in open(sys.argv[2], encoding="utf-8"):
    path = l.rstrip("\n").split("\t", 1)[0]
    n = int(os.path.basename(path).split(".")[0])
    if not 1 <= n <= len(refs):
        sys.exit("wer_seeds: %s has no sentence %d" % (sys.argv[1], n))
    print(path + "\t" + refs[n - 1])
PY
            fi
            python3 "$ROOT/scripts/wer.py" "$scored" > "$OUT/$set_name.wer"
            last=$(tail -n 1 "$OUT/$set_name.wer")
            e=$(sed -n 's/.*(\([0-9]*\) edits \/ \([0-9]*\) words.*/\1/p' <<<"$last")
            w=$(sed -n 's/.*(\([0-9]*\) edits \/ \([0-9]*\) words.*/\2/p' <<<"$last")
            [ -n "$e" ] && [ -n "$w" ] || { echo "wer_seeds: no total in $OUT/$set_name.wer" >&2; exit 1; }
            echo "| $set_name | $e | $w | $(awk -v e="$e" -v w="$w" 'BEGIN { printf "%.1f %%", 100 * e / w }') |"
            key="${pre}${voc}"
            E[$key]=$(( ${E[$key]:-0} + e ))
            W[$key]=$(( ${W[$key]:-0} + w ))
        done
    done
done
for pre in "${prefixes[@]}"; do
    for voc in gl voc; do
        key="${pre}${voc}"
        [ -n "${W[$key]:-}" ] || continue
        echo "| **${key}, all seeds** | ${E[$key]} | ${W[$key]} | $(awk -v e="${E[$key]}" -v w="${W[$key]}" 'BEGIN { printf "%.1f %%", 100 * e / w }') |"
    done
done
