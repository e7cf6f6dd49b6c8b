/*
 * Streaming sample-rate conversion of mono float audio through libsoxr (SOXR_HQ, linear
 * phase). The converter holds back a few milliseconds and hands them on at the end; the
 * output has as many samples as the input times the ratio, rounded. For output at
 * another rate than the voice's: `tts --sample-rate`.
 */
#ifndef TTS_AUDIO_RESAMPLER_H
#define TTS_AUDIO_RESAMPLER_H

#include <stddef.h>

#include "core/err.h"

#define TTS_RATE_MIN 8000
#define TTS_RATE_MAX 192000

typedef struct tts_resampler tts_resampler;

/* in_rate -> out_rate, each TTS_RATE_MIN .. TTS_RATE_MAX: TTS_E_INVALID naming the range,
 * TTS_E_NOMEM. */
int tts_resampler_open(tts_resampler **r, int in_rate, int out_rate, tts_err *err);

/* Converts in[0..n) (n 0 and in NULL: the end, the converter's last samples); *out points
 * to the samples made, *n_out of them, valid until the next call. After the end the
 * converter takes no more input. */
int tts_resampler_push(tts_resampler *r, const float *in, size_t n, const float **out,
                       size_t *n_out, tts_err *err);
void tts_resampler_close(tts_resampler *r); /* NULL is fine */

#endif
