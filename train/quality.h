/*
 * How natural a synthetic voice is, measured against recordings of the same sentences.
 *
 * Word error rate says whether the words are there; these say whether it sounds like the
 * speaker. Each synthetic waveform is compared with the recording of its text, and the
 * figures are pooled over many such pairs (utterances, noise seeds):
 *
 *   per signal (no alignment needed; synthetic / recorded):
 *     melody       sqrt(mean (ln F0 - utterance mean)^2) over voiced frames, as a ratio:
 *                  how far the intonation moves (1 x: as much as the speaker's)
 *     detail       10 log10 of the global variance of mel-cepstrum c_d (d = 1..24; the
 *                  variance over an utterance's speech frames about its own mean, pooled),
 *                  synthetic over recorded, averaged over d, dB: 0 is as detailed as the
 *                  recording, below 0 over-smoothed
 *     periodicity  mean over voiced frames of the normalized autocorrelation of the
 *                  1-4 kHz band at the frame's pitch period (the best of the three integer
 *                  lags nearest it, refined by a parabola), as a ratio: below 1 hoarse, above 1 buzzy
 *     high band    mean over voiced frames of 10 log10(energy 4-8 kHz / energy 0-4 kHz),
 *                  synthetic minus recorded, dB
 *   per pair of frames (DTW on the mel-cepstra, or frame by frame for copy synthesis):
 *     MCD          mean mel-cepstral distortion, dB (tts_quality_cepstra), per utterance,
 *                  averaged over utterances
 *     F0 RMSE      over frame pairs voiced in both, in cents; F0 corr the Pearson
 *                  correlation of their ln F0
 *     V/UV error   share of frame pairs whose voicing differs
 *
 * F0 and voicing are vocoder/pitch.h's YIN tracker's; frames are the voice's log-mel
 * analysis (dsp.h, hop 12.5 ms). Speech frames are those whose loudest mel band is within
 * TQ_SPEECH_RANGE of the utterance's loudest. The cepstra of both signals are floored at
 * the recording's loudest value minus MCD_RANGE, so silences compare equal.
 *
 * tts_quality_table() runs these over the sets that `tts-train eval --vocoder` writes
 * (rec/, copy/, voc_sK/, gl_sK/ ...) and over the recordings' own second takes, which
 * are the floor: what the same speaker reading the same text again scores.
 */
#ifndef TTS_TRAIN_QUALITY_H
#define TTS_TRAIN_QUALITY_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "dsp/dsp.h"

#define MCD_DIM 24             /* cepstral coefficients c_1 .. c_24 */
#define MCD_RANGE 7.0f         /* nats below the recording's loudest value: 61 dB */
#define TQ_SPEECH_RANGE 4.6f   /* nats (40 dB): speech frames, for the detail measure */
#define TQ_PER_LO 1000.0       /* periodicity band, Hz */
#define TQ_PER_HI 4000.0
#define TQ_SPLIT_HZ 4000.0     /* high band: above this against below */
#define TQ_PER_WIN 400         /* samples of a periodicity window (25 ms at 16 kHz) */

/* cepstra[n, MCD_DIM] (c_1 .. c_MCD_DIM, orthonormal DCT-II over the bands) of log-mel
 * frames[n, nm], each value first raised to at least floor; malloc'd, NULL when out of
 * memory */
float *tts_quality_cepstra(const float *frames, size_t n, int nm, float floor);
/* the mel-cepstral distortion of two cepstra, dB: 10 / ln 10 sqrt(2 sum_d (a_d - b_d)^2) */
double tts_quality_mcd_frame(const float *a, const float *b);

/* One side's pooled sums (synthetic or recorded). */
typedef struct {
    double lf0_ss, n_voiced;    /* squared ln F0 deviations from each utterance's mean */
    double gv[MCD_DIM], n_gv;   /* squared cepstral deviations, speech frames */
    double per, n_per;          /* periodicity sums over voiced frames */
    double hb, n_hb;            /* high-band ratio sums (dB) over voiced frames */
} tq_side;

/* Running sums over the pairs added; zero it to start (= {0}). */
typedef struct {
    tq_side syn, ref;
    double mcd, n_utt;
    double f0_se, f0_sx, f0_sy, f0_sxx, f0_syy, f0_sxy, f0_n;
    double vuv_err, vuv_n;
} tts_quality;

typedef struct {
    int n_utt;
    double melody;          /* x */
    double detail_db;       /* dB */
    double periodicity;     /* x */
    double highband_db;     /* dB, synthetic minus recorded */
    double mcd_db;
    double f0_rmse_cents, f0_corr;
    double vuv_err;         /* share, 0..1 */
} tts_quality_summary;

/* Adds one pair: syn[ns] against the recording ref[nr], both at mel's sample rate.
 * aligned: frame t of one is frame t of the other (copy synthesis); else DTW. 0, or a
 * negative status with err set (out of memory, analysis failure, a signal too short for
 * one frame). */
int tts_quality_add(tts_quality *q, tts_mel *mel, const float *syn, size_t ns, const float *ref,
                    size_t nr, int aligned, tts_err *err);

/* The pooled figures; NaN where nothing was counted. */
tts_quality_summary tts_quality_summarize(const tts_quality *q);

/* One set of WAVs to measure: label, a glob of folders (relative to the eval folder, or
 * absolute) holding NAME.wav for each recording rec/NAME.wav, and whether they are
 * sample-aligned with it. */
typedef struct {
    const char *label;
    const char *glob;
    int aligned;
} tts_quality_set;

/* Over the recordings listed in dir/rec.tsv (`tts-train eval --vocoder` writes it):
 * the recordings' second takes (every further take of a text against its first), then
 * each set, pooled over its folders and their takes. sets NULL: the sets eval writes
 * (copy synthesis through the network and through Griffin-Lim, text -> speech through
 * both, over every noise seed present). Prints one markdown table to out and writes it to
 * dir/quality.md. 0, or a negative status with err set. */
int tts_quality_table(const char *dir, const tts_quality_set *sets, int n_sets, FILE *out,
                      tts_err *err);

#endif
