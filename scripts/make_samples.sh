#!/usr/bin/env bash
# Renders samples/*.wav with the shipped voice (build/cli/tts) from the texts below, and
# lists them in samples/SAMPLES.md. Run after a new voice lands in models/.
set -euo pipefail
cd "$(dirname "$0")/.."
texts=(
    "Hello, world."
    "The quick brown fox jumps over the lazy dog."
    "Turn left in two hundred metres, then keep right at the fork."
    "Dr. Smith paid \$3.50 for a coffee on March 3, 2024."
    "Will you please repeat that?"
)
{
    echo "# Samples of the shipped voice"
    echo
    echo "Made by \`scripts/make_samples.sh\` with \`build/cli/tts\` ($(build/cli/tts --version)),"
    echo "voice \`models/kathleen.ltm\`, vocoder: Griffin-Lim unless \`models/kathleen.vocoder.ltm\`"
    echo "exists. None of these sentences is in the training corpus."
    echo
    echo "| file | text |"
    echo "| --- | --- |"
} > samples/SAMPLES.md
i=1
for t in "${texts[@]}"; do
    f=$(printf 'sample%d.wav' "$i")
    build/cli/tts "$t" -o "samples/$f"
    printf '| %s | %s |\n' "$f" "$t" >> samples/SAMPLES.md
    i=$((i + 1))
done
echo "wrote samples/sample1.wav .. samples/sample$((i - 1)).wav and samples/SAMPLES.md"
