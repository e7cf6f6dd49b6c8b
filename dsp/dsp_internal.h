/* Internal to dsp/: not part of the stage's interface. */
#ifndef TTS_DSP_INTERNAL_H
#define TTS_DSP_INTERNAL_H

#include "dsp/dsp.h"

/* Magnitude of STFT frame t of pcm[0..n) into mag[0..n_bins). */
void tts__stft_frame_magnitude(tts_stft *s, const float *pcm, size_t n, size_t t, float *mag);

/* Streaming helpers. seg_forward: windowed FFT of the win_length samples of one frame's
 * window region; returns the spectrum (n_bins (re, im) pairs, the object's buffer, which
 * may be modified in place). seg_overlap_add: inverse FFT of that buffer, then for window
 * positions i in [i0, i1): acc[i] += sample * w[i] / n_fft, wsum[i] += w[i]^2 (acc and
 * wsum point at the window's first sample). first_sample: the first sample of frame t's
 * window (may be < 0); returns win_length. reflect: the index that reflect padding reads
 * for position j of a signal of n samples. */
#include <stdint.h>
float *tts__stft_seg_forward(tts_stft *s, const float *seg);
void tts__stft_seg_overlap_add(tts_stft *s, float *acc, float *wsum, int i0, int i1);
int tts__stft_first_sample(const tts_stft *s, size_t t, int64_t *first);
size_t tts__stft_reflect(int64_t j, size_t n);

#endif
