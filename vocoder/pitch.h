/*
 * Pitch for the vocoder's excitation: an F0 tracker for the recordings (the training
 * targets of the vocoder's pitch head, and the excitation it is trained with) and the
 * harmonic oscillator that turns frame-rate F0 and voicing into a sample-rate excitation.
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
 * exc = v * sum_{k=1..K} sin(k phase) / sqrt(K / 2), K = harmonics below VOC_EXC_TOP:
 * a band-limited pulse train of unit power where voiced, 0 where not.
 * With amps ([nb + 1][VOC_MAX_HARM], harmonic k's amplitude at each frame, interpolated
 * the same way) it also writes shaped = v * sum_k amps_k sin(k phase): the voiced part of
 * the speech as a harmonic synthesizer would make it from the spectral envelope.
 */
void voc_osc_run(voc_osc *o, const float *f0, const float *v, const float *amps, int nb,
                 int hop, int sr, float *exc, float *shaped);

/* Amplitudes amps[VOC_MAX_HARM] of the harmonics of f0 read from a linear magnitude
 * spectrum mag[n_bins] (bin i at i * bin_hz), linearly interpolated between bins, as
 * sinusoid amplitudes (magnitude * 2 / window sum) times gain; 0 from VOC_EXC_TOP on. */
void voc_harmonic_amps(const float *mag, int n_bins, double bin_hz, double win_sum, double gain,
                       float f0, float *amps);

/*
 * src 4: grains of noise with a given magnitude spectrum. A grainer holds an inverse real
 * FFT of M = 2 hop points (FFTW, planned once; one grainer per thread).
 * voc_noise_grain writes grain[M]: a period of sum_k A_k cos(2 pi k n / M + phi_k)
 * (k = 1 .. hop - 1, phases uniform from *rng, hop - 1 draws) times the window
 * sin(pi (n + 1/2) / M), where A_k makes the noise's expected STFT magnitude the one given,
 * mag[n_bins] (bin i at i * bin_hz, of a window whose squares sum to win_sq; e.g. a frame's
 * mel inverse). Grains centred hop apart overlap-add to unit window power (sin^2 + cos^2),
 * so a block is the second half of one grain plus the first half of the next.
 * Why: as src 3 gives the network harmonics that already have the frame's envelope, this
 * gives it noise that has it (aspiration, fricatives, the envelope between harmonics),
 * which a small network shapes badly from white noise. (It is not steadier than white
 * noise: a 50 ms frame's band energy spreads as much, 0.113 against 0.102 nepers on a
 * 32-bin band, since grains of random phases overlap in every analysis window.)
 */
typedef struct voc_grainer voc_grainer;
int voc_grainer_create(voc_grainer **g, int hop); /* 0, or -1 when out of memory */
void voc_grainer_free(voc_grainer *g);            /* NULL is fine */
void voc_noise_grain(voc_grainer *g, const float *mag, int n_bins, double bin_hz, double win_sq,
                     int sr, uint64_t *rng, float *grain);

/* Interleaves n_ch channels ch[c][n] into the network's source step by step: for each
 * step of fold samples, fold samples of channel 0, then of channel 1, ... (src[n * n_ch]). */
void voc_source_interleave(const float *const *ch, int n_ch, size_t n, int fold, float *src);

#endif
