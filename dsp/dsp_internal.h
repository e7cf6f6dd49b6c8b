/* Internal to dsp/: not part of the stage's interface. */
#ifndef TTS_DSP_INTERNAL_H
#define TTS_DSP_INTERNAL_H

#include "dsp/dsp.h"

/* Magnitude of STFT frame t of pcm[0..n) into mag[0..n_bins). */
void tts__stft_frame_magnitude(tts_stft *s, const float *pcm, size_t n, size_t t, float *mag);

#endif
