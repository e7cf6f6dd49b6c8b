#!/usr/bin/env bash
# bench/issue28.sh — issue 28's measures for two builds of tts, side by side, with Flite and
# eSpeak NG in the same runs: first audio after process start, whole-process RTF per short
# sentence (the 20 sentences of bench/harvard20.txt x 5, one process each), the RTF and
# peak RSS of the long text (bench/harvard20.txt in one process, 54.25 s of audio with the
# shipped voice). One core (taskset -c CORE), medians of RUNS, runs alternating.
#
#   bench/issue28.sh BEFORE_TTS AFTER_TTS [RUNS=5] [CORE=1]
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1 after=$2 runs=${3:-5} core=${4:-1}
text=bench/harvard20.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
pin() { taskset -c "$core" "$@"; }
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
flags=$(grep -m1 '^flags' /proc/cpuinfo)
path=scalar
case " $flags " in *" avx2 "*" fma "*|*" fma "*" avx2 "*) path=AVX2 ;; esac
case " $flags " in *" avx512_vnni "*|*" avx_vnni "*) [ $path = AVX2 ] && path="AVX2, VNNI for the vocoder's int8 products" ;; esac
[ "$(uname -m)" = aarch64 ] && path=NEON
echo "dispatch (default, TTS_SIMD unset): $path"
audio=$(pin "$after" -f "$text" -o "$tmp/a.wav" >/dev/null 2>&1 && soxi -D "$tmp/a.wav")
short_audio=0
while IFS= read -r line; do
    pin "$after" "$line" -o "$tmp/s.wav"
    short_audio=$(echo "$short_audio + 5 * $(soxi -D "$tmp/s.wav")" | bc -l)
done <"$text"
# Flite's and eSpeak NG's own audio of the same texts (their RTFs are over their own)
flite -voice slt -f "$text" -o "$tmp/o.wav"; audio_flite=$(soxi -D "$tmp/o.wav")
espeak-ng -v en-us -f "$text" -w "$tmp/o.wav"; audio_espeak=$(soxi -D "$tmp/o.wav")
short_flite=0 short_espeak=0
while IFS= read -r line; do
    flite -voice slt -t "$line" -o "$tmp/o.wav"
    short_flite=$(echo "$short_flite + 5 * $(soxi -D "$tmp/o.wav")" | bc -l)
    espeak-ng -v en-us -w "$tmp/o.wav" "$line"
    short_espeak=$(echo "$short_espeak + 5 * $(soxi -D "$tmp/o.wav")" | bc -l)
done <"$text"
echo "long text: $audio s of audio; the 100 short sentences: $short_audio s (Flite: $audio_flite s, $short_flite s; eSpeak NG: $audio_espeak s, $short_espeak s)"
for i in $(seq "$runs"); do
    for who in before after; do
        bin=${!who}
        # first audio: tts --raw --stats prints it
        pin "$bin" --raw --stats "Hello." 2>"$tmp/stats" >/dev/null
        grep -o '[0-9.]* ms after start' "$tmp/stats" | grep -o '^[0-9.]*' >>"$tmp/first_$who"
        /usr/bin/time -f "%e %M" -o "$tmp/t" taskset -c "$core" "$bin" -f "$text" -o "$tmp/l.wav"
        read -r wall rss <"$tmp/t"
        echo "$wall" >>"$tmp/long_$who"
        echo "$rss" >>"$tmp/rss_$who"
        start=$(date +%s.%N)
        for k in 1 2 3 4 5; do
            while IFS= read -r line; do pin "$bin" "$line" -o "$tmp/s.wav"; done <"$text"
        done
        echo "$(date +%s.%N) - $start" | bc >>"$tmp/short_$who"
    done
    # Flite and eSpeak NG: the long text in one process, the sentences one process each
    /usr/bin/time -f "%e %M" -o "$tmp/t" taskset -c "$core" flite -voice slt -f "$text" -o "$tmp/o.wav"
    read -r wall rss <"$tmp/t"; echo "$wall" >>"$tmp/long_flite"; echo "$rss" >>"$tmp/rss_flite"
    /usr/bin/time -f "%e %M" -o "$tmp/t" taskset -c "$core" espeak-ng -v en-us -f "$text" -w "$tmp/o.wav"
    read -r wall rss <"$tmp/t"; echo "$wall" >>"$tmp/long_espeak"; echo "$rss" >>"$tmp/rss_espeak"
    start=$(date +%s.%N)
    for k in 1 2 3 4 5; do
        while IFS= read -r line; do pin flite -voice slt -t "$line" -o "$tmp/o.wav"; done <"$text"
    done
    echo "$(date +%s.%N) - $start" | bc >>"$tmp/short_flite"
    start=$(date +%s.%N)
    for k in 1 2 3 4 5; do
        while IFS= read -r line; do pin espeak-ng -v en-us -w "$tmp/o.wav" "$line"; done <"$text"
    done
    echo "$(date +%s.%N) - $start" | bc >>"$tmp/short_espeak"
done
for who in before after; do
    f=$(median <"$tmp/first_$who"); l=$(median <"$tmp/long_$who"); r=$(median <"$tmp/rss_$who")
    s=$(median <"$tmp/short_$who")
    printf '%-6s first audio %s ms | long text %s s, RTF %.4f, peak RSS %.1f MB | 100 short sentences %s s, RTF %.4f\n' \
        "$who" "$f" "$l" "$(echo "$l / $audio" | bc -l)" "$(echo "$r / 1024" | bc -l)" "$s" \
        "$(echo "$s / $short_audio" | bc -l)"
done
for other in flite espeak; do
    l=$(median <"$tmp/long_$other"); r=$(median <"$tmp/rss_$other"); s=$(median <"$tmp/short_$other")
    la=audio_$other sa=short_$other
    printf '%-6s long text %s s, RTF %.4f, peak RSS %.1f MB | 100 short sentences %s s, RTF %.4f\n' \
        "$other" "$l" "$(echo "$l / ${!la}" | bc -l)" "$(echo "$r / 1024" | bc -l)" "$s" \
        "$(echo "$s / ${!sa}" | bc -l)"
done
