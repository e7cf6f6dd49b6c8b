#!/bin/bash
# The shared library exports exactly the functions include/tts.h declares with TTS_API:
# nothing internal (layers, kernels, the frontend) leaks into programs that link it.
# usage: test_abi.sh LIBTTS.so include/tts.h
set -u
lib=$1 header=$2
command -v nm >/dev/null || { echo "SKIP: nm not installed"; exit 77; }
declared=$(grep -o '^TTS_API [^(]*(' "$header" | grep -o '[A-Za-z_][A-Za-z0-9_]*($' | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
if [ -z "$declared" ] || [ "$declared" != "$exported" ]; then
    echo "FAIL: exported symbols differ from tts.h's TTS_API declarations"
    diff <(echo "$declared") <(echo "$exported") | sed 's/^</only declared:/; s/^>/only exported:/'
    exit 1
fi
echo "ok: $(echo "$exported" | wc -l) symbols, as declared: $(echo $exported)"
