/*
 * Pitch for the vocoder's excitation (src 2, vocoder.h): the harmonic oscillator that turns
 * frame-rate F0 and voicing into a sample-rate excitation, and the interleaving of the
 * source channels, which the stream uses; and an F0 tracker for the recordings (the
 * training targets of the vocoder's pitch head, and the excitation it is trained with),
 * which only training and evaluation (train/) use.
 *
 * Why: a vocoder that only gets noise in must invent periodicity from nothing; trained
 * with a spectral loss alone, ours learned the spectral envelope but no harmonics (a
 * whisper: pocketsphinx 54 % WER on copy synthesis against 23 % for the recordings). With
 * a band-limited pulse train at the right F0 as a second input channel it only has to
 * shape harmonics that are already there (the source-filter idea of NSF, Wang et al. 2019).
 */
#ifndef TTS_VOCODER_PITCH_H
#define TTS_VOCODER_PITCH_H

#include <stddef.h>
#include <stdint.h>

/* F0 range the tracker searches, Hz */
#define VOC_F0_MIN 60.0f
#define VOC_F0_MAX 500.0f
/* harmonics of the excitation stop below this frequency, Hz */
#define VOC_EXC_TOP 7600.0
/* at most this many harmonics */
#define VOC_MAX_HARM 128

/*
 * F0 of pcm[n] (sample rate sr) at frames t = 0 .. n_frames-1 centred on sample t * hop:
 * a YIN-style tracker (cumulative-mean-normalized difference, absolute threshold,
 * parabolic refinement) on 32 ms windows. f0[t] is in Hz, 0 where unvoiced (no dip below
 * the threshold, or the frame is 50 dB below the utterance's loudest). A 3-frame median
 * removes single-frame octave slips; voiced runs of one frame are dropped.
 */
void voc_pitch_track(const float *pcm, size_t n, int sr, int hop, int n_frames, float *f0);

/* Replaces the unvoiced (0) entries of f0[n] by the nearest voiced value (the first
 * voiced one before any voiced frame; 200 Hz if none), so that interpolating F0 across a
 * voicing boundary does not glide through low pitches. */
void voc_pitch_fill(float *f0, int n);

/* The harmonic oscillator: phase carried from block to block. */
typedef struct {
    double phase; /* radians, in [0, 2 pi) */
} voc_osc;

/*
 * Excitation for nb blocks of hop samples: block t interpolates F0 and voicing linearly
 * from (f0[t], v[t]) to (f0[t+1], v[t+1]) (sample j of the block at a = (j + 1) / hop, as
 * the vocoder interpolates its mel conditioning), so f0 and v hold nb + 1 values.
 * exc = v * sum_{k=1..K} sin(k phase) / sqrt(K / 2), K = harmonics below VOC_EXC_TOP (at
 * most VOC_MAX_HARM): a band-limited pulse train of unit power where voiced, 0 where not.
 */
void voc_osc_run(voc_osc *o, const float *f0, const float *v, int nb, int hop, int sr,
                 float *exc);

/* Interleaves n_ch channels ch[c][n] into the network's source step by step: for each
 * step of fold samples, fold samples of channel 0, then of channel 1, ... (src[n * n_ch]). */
void voc_source_interleave(const float *const *ch, int n_ch, size_t n, int fold, float *src);

#endif
