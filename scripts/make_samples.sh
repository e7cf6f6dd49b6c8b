#!/usr/bin/env bash
# Renders samples/*.wav with the shipped voice (build/cli/tts) from the texts below, and
# lists them in samples/SAMPLES.md. Run after a new voice or vocoder lands in models/.
# sampleN.wav is the CLI's default (the neural vocoder when models/kathleen.vocoder.ltm
# exists); sampleN.griffinlim.wav is the same frames through Griffin-Lim, the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
texts=(
    "Hello, world."
    "The quick brown fox jumps over the lazy dog."
    "Turn left in two hundred metres, then keep right at the fork."
    "Dr. Smith paid \$3.50 for a coffee on March 3, 2024."
    "Will you please repeat that?"
)
if [ -e models/kathleen.vocoder.ltm ]; then
    default_voc="the neural vocoder, models/kathleen.vocoder.ltm"
else
    default_voc="Griffin-Lim (no models/kathleen.vocoder.ltm)"
fi
rm -f samples/sample*.wav
{
    echo "# Samples of the shipped voice"
    echo
    echo "Made by \`scripts/make_samples.sh\` with \`build/cli/tts\` ($(build/cli/tts --version)),"
    echo "voice \`models/kathleen.ltm\`. The first column is the CLI's default vocoder: $default_voc."
    echo "The second is the same voice through Griffin-Lim (\`--vocoder griffinlim\`), the reference."
    echo "None of these sentences is in the training corpus."
    echo
    echo "| default | Griffin-Lim | text |"
    echo "| --- | --- | --- |"
} > samples/SAMPLES.md
i=1
for t in "${texts[@]}"; do
    f=$(printf 'sample%d.wav' "$i")
    g=$(printf 'sample%d.griffinlim.wav' "$i")
    build/cli/tts "$t" -o "samples/$f"
    build/cli/tts --vocoder griffinlim "$t" -o "samples/$g"
    printf '| [%s](%s) | [%s](%s) | %s |\n' "$f" "$f" "$g" "$g" "$t" >> samples/SAMPLES.md
    i=$((i + 1))
done
echo "wrote samples/sample1.wav .. samples/sample$((i - 1)).wav, their .griffinlim.wav twins and samples/SAMPLES.md"
