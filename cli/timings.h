/*
 * tts --timings FILE: the events of everything spoken, in seconds of the audio written,
 * as JSON (.json), SubRip (.srt) or WebVTT (.vtt) by the file's extension.
 *
 *   JSON   {"sample_rate": R, "sentences": [{"start", "end", "text"}], "words": [{"start",
 *          "end", "text"}], "phonemes": [{"start", "phoneme", "word"}], "marks": [{"time",
 *          "name"}]}; a word ends where the next word of its sentence starts, the last at
 *          its sentence's end
 *   SRT, VTT  one cue per sentence, its text with SSML markup left out
 */
#ifndef TTS_CLI_TIMINGS_H
#define TTS_CLI_TIMINGS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tts.h"

typedef struct tts_timings tts_timings;

/* A collector for path, of events in samples at in_rate (the voice's) for audio written at
 * out_rate (JSON's "sample_rate"): TTS_E_INVALID naming the extension when it is not .json,
 * .srt or .vtt (nothing is created yet), TTS_E_NOMEM. */
int tts_timings_new(tts_timings **out, const char *path, int in_rate, int out_rate,
                    tts_err *err);

/* The events of one callback of a synthesis call on text, whose audio begins at sample
 * base of the output. 0 or TTS_E_NOMEM. */
int tts_timings_add(tts_timings *t, const char *text, uint64_t base, const tts_event *ev,
                    size_t n);

/* Writes the file (to a temporary beside PATH, then renamed over it): 0 or TTS_E_IO with a
 * message. */
int tts_timings_write(tts_timings *t, tts_err *err);
void tts_timings_free(tts_timings *t); /* NULL is fine */

#endif
