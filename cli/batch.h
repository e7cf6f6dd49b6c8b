/*
 * tts --json-input: many utterances in one process. Each line of the input is a JSON
 * object {"text": "...", "output": "FILE", "voice": "NAME", "rate": R, "volume": V,
 * "pitch": ST} (text and output required; the rest override the command line's for that
 * line). Engines are opened once per voice and their prosody set per line.
 */
#ifndef TTS_CLI_BATCH_H
#define TTS_CLI_BATCH_H

#include <stdio.h>

#include "tts.h"

/* Speaks every line of in; a bad line (not JSON, a key missing or of the wrong type, a
 * value out of range, a failed synthesis) is reported on stderr as "tts: --json-input line
 * N: ..." and the others are still spoken. Returns the exit status: 0, or that of the
 * first failure. progress: print a progress line on stderr. */
int tts_batch_run(FILE *in, const tts_options *base, int progress);

#endif
