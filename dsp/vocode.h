/*
 * dsp/vocode.h — the Griffin-Lim reference vocoder on a file, for `tts --vocode`:
 * WAV -> log-mel (tts_audio_cfg_default) -> Griffin-Lim -> 16-bit WAV.
 *
 * Shows what the mel features keep of a recording: the output is what a perfect
 * acoustic model would give through the Griffin-Lim vocoder.
 */
#ifndef TTS_DSP_VOCODE_H
#define TTS_DSP_VOCODE_H

#include "core/err.h"

/* Reads in_wav (any format audio/wav.h reads; mixed to mono and resampled to the
 * default 16 kHz), analyses it to log-mel frames, inverts the mel filterbank
 * (tts_mel_to_linear_nnls, 50 iterations), resynthesizes it with griffin_lim_iters
 * iterations of fast Griffin-Lim (<= 0: the default, 32), and writes
 * out_wav (16-bit mono at 16 kHz, the input's length). If the result would clip, it is
 * scaled down to a peak of 0.99. Errors: those of tts_wav_read / tts_wav_write, and
 * TTS_E_INVALID for an input with no samples. */
int tts_vocode_file(const char *in_wav, const char *out_wav, int griffin_lim_iters,
                    tts_err *err);

#endif
