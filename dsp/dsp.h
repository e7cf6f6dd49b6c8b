/*
 * dsp/ — spectral analysis and synthesis (FFTW3, single precision).
 *
 *   tts_audio_cfg   the feature settings; plain data, stored in model files
 *   tts_stft        STFT / iSTFT of one (n_fft, window, hop) setting
 *   tts_mel         log-mel analysis, mel -> linear magnitude, Griffin-Lim synthesis
 *   helpers         peak / RMS normalization, silence trimming, spectral convergence
 *
 * Conventions (those of librosa.feature.melspectrogram(power=1, center=True,
 * pad_mode='reflect'), the mel filterbank being librosa's default, so features can be
 * compared with it):
 *   - frames are centred: frame t is centred on sample t * hop; the signal is reflect-
 *     padded by n_fft / 2 on both sides, so a signal of n samples has n / hop + 1 frames;
 *   - the window is a periodic Hann window of win_length samples, centred in the n_fft
 *     frame (zero outside);
 *   - the forward FFT is unnormalized (a full-scale sine of amplitude A gives a peak
 *     bin of magnitude about A * win_length / 4); the inverse undoes it exactly;
 *   - spectra are n_frames x n_bins (n_bins = n_fft / 2 + 1) row-major; complex spectra
 *     are interleaved (re, im) float pairs: spec[(t * n_bins + k) * 2 + {0, 1}];
 *   - mel features are the natural log of max(mel magnitude, log_floor), where mel
 *     magnitude = Slaney-style area-normalized triangular filterbank (librosa's
 *     filters.mel(htk=False, norm='slaney')) applied to the STFT magnitude (power 1).
 *
 * FFTW plans are made once per object with FFTW_ESTIMATE (deterministic: the same input
 * gives bit-identical features on every run) and reused. FFTW's planner is not
 * thread-safe: every plan creation / destruction in libtts goes through one global
 * mutex (tts_fftw_lock / tts_fftw_unlock; other stages that make their own FFTW plans
 * must take it too).
 *
 * Thread safety: a tts_stft or tts_mel object holds scratch buffers, so one object is
 * used by one thread at a time; different objects may be used from different threads.
 * The free functions (normalization, trimming, ...) are reentrant.
 */
#ifndef TTS_DSP_DSP_H
#define TTS_DSP_DSP_H

#include <stddef.h>

#include "core/err.h"

/* ---------------------------------------------------------------- settings ---- */

/* Audio feature settings. Plain data (ints and floats only) so it can be written into a
 * model file field by field. */
typedef struct {
    int sample_rate;  /* Hz */
    int n_fft;        /* FFT size, even */
    int win_length;   /* Hann window length, <= n_fft */
    int hop_length;   /* frame shift in samples, >= 1 */
    int n_mels;       /* number of mel bands */
    float fmin, fmax; /* mel filterbank range in Hz, 0 <= fmin < fmax <= sample_rate/2 */
    float log_floor;  /* features are log(max(mel, log_floor)), > 0 */
} tts_audio_cfg;

/* 16000 Hz, n_fft 1024, Hann window 800, hop 200 (12.5 ms), 80 mels 0-8000 Hz,
 * log floor 1e-5. */
tts_audio_cfg tts_audio_cfg_default(void);

/* TTS_OK if cfg is usable, else TTS_E_INVALID naming the bad field (e.g. when read
 * from a corrupt model file). */
int tts_audio_cfg_check(const tts_audio_cfg *cfg, tts_err *err);

/* Global lock around FFTW planner calls (plan creation and destruction). */
void tts_fftw_lock(void);
void tts_fftw_unlock(void);

/* -------------------------------------------------------------------- STFT ---- */

typedef struct tts_stft tts_stft;

/* n_fft even and >= 2, 1 <= win_length <= n_fft, hop_length >= 1. */
int tts_stft_create(tts_stft **out, int n_fft, int win_length, int hop_length,
                    tts_err *err);
void tts_stft_free(tts_stft *s); /* NULL is fine */

int tts_stft_n_bins(const tts_stft *s);                       /* n_fft / 2 + 1 */
int tts_stft_hop_length(const tts_stft *s);
size_t tts_stft_n_frames(const tts_stft *s, size_t n_samples); /* n / hop + 1 */
/* The window (win_length values, periodic Hann). */
const float *tts_stft_window(const tts_stft *s);

/* Complex STFT of pcm[0..n): spec gets n_frames x n_bins (re, im) pairs, caller-owned
 * (2 * tts_stft_n_frames(s, n) * n_bins floats). */
int tts_stft_forward(tts_stft *s, const float *pcm, size_t n, float *spec, tts_err *err);

/* Magnitude STFT: mag gets n_frames x n_bins floats. */
int tts_stft_magnitude(tts_stft *s, const float *pcm, size_t n, float *mag,
                       tts_err *err);

/* Inverse STFT by weighted overlap-add: each frame is inverse-transformed, multiplied
 * by the window, added at its position, and the sum is divided by the sum of squared
 * windows (where that sum is not negligible). Inverts tts_stft_forward for the same
 * settings whenever hop_length < win_length. Writes n_out samples to pcm (use the
 * original length; samples past the last frame are 0). */
int tts_stft_inverse(tts_stft *s, const float *spec, size_t n_frames, float *pcm,
                     size_t n_out, tts_err *err);

/* ----------------------------------------------------------------- log-mel ---- */

typedef struct tts_mel tts_mel;

/* Builds the STFT, the mel filterbank and its pseudo-inverse for cfg (copied). */
int tts_mel_create(tts_mel **out, const tts_audio_cfg *cfg, tts_err *err);
void tts_mel_free(tts_mel *m); /* NULL is fine */

const tts_audio_cfg *tts_mel_cfg(const tts_mel *m);
tts_stft *tts_mel_stft(tts_mel *m); /* owned by m */
/* The filterbank, n_mels x n_bins row-major (non-negative). */
const float *tts_mel_filterbank(const tts_mel *m);
size_t tts_mel_n_frames(const tts_mel *m, size_t n_samples); /* n / hop + 1 */

/* Log-mel analysis of pcm[0..n) (sample rate cfg->sample_rate). *out_frames gets a
 * malloc'd n_frames x n_mels row-major array (free() it); *n_frames = n / hop + 1. */
int tts_mel_analyze(tts_mel *m, const float *pcm, size_t n, float **out_frames,
                    size_t *n_frames, tts_err *err);
/* The same into a caller-owned array of tts_mel_n_frames(m, n) x n_mels floats. */
int tts_mel_analyze_into(tts_mel *m, const float *pcm, size_t n, float *frames,
                         tts_err *err);

/* Log-mel frames -> linear magnitude (n_frames x n_bins, caller-owned):
 * mag = max(0, pinv(filterbank) * exp(logmel)), the minimum-norm magnitude whose mel
 * projection equals exp(logmel), negative values clamped to 0. */
int tts_mel_to_linear(tts_mel *m, const float *logmel, size_t n_frames, float *mag,
                      tts_err *err);

/* The same, refined by n_iter multiplicative non-negative least-squares updates
 * (Lee & Seung) of ||filterbank * mag - exp(logmel)||^2 from the clamped pseudo-inverse:
 * a magnitude closer to the one the features came from. Measured on the test clips:
 * spectral convergence to the true magnitude 0.25 (pinv) -> 0.20 (50 iterations), and
 * 0.28 -> 0.20 after 32 Griffin-Lim iterations. n_iter <= 0 is tts_mel_to_linear. */
int tts_mel_to_linear_nnls(tts_mel *m, const float *logmel, size_t n_frames, float *mag,
                           int n_iter, tts_err *err);

/* Filters pcm[0..n) in place so that its mel envelope approaches logmel[n_frames]:
 * per STFT frame (the analysis settings), each band's gain = wanted mel magnitude / the
 * signal's (clamped to [1/max_gain, max_gain]), spread over the FFT bins through the
 * filterbank, applied, and the signal resynthesized by overlap-add; n_iter times. Only
 * the envelope moves: the fine structure inside a band (harmonics) and the phase stay the
 * signal's. */
int tts_mel_match_envelope(tts_mel *m, float *pcm, size_t n, const float *logmel,
                           size_t n_frames, int n_iter, float max_gain, tts_err *err);

/* The same, streaming: the frames and samples come in order (frame t before the samples
 * under its window; a vocoder gives frame t's hop samples after frame t), finished
 * samples come out in order, tts_envmatch_delay() samples behind at most, and the whole
 * output equals tts_mel_match_envelope's over the whole signal (the same operations in
 * the same order). One object per stream; reset between utterances. */
#define TTS_ENVMATCH_MAX_PASSES 4
typedef struct tts_envmatch tts_envmatch;
int tts_envmatch_create(tts_envmatch **out, const tts_audio_cfg *cfg, int n_pass,
                        float max_gain, tts_err *err);
void tts_envmatch_free(tts_envmatch *e); /* NULL is fine */
void tts_envmatch_reset(tts_envmatch *e);
/* the log-mel features of the next frame (n_mels floats, copied) */
int tts_envmatch_push_frame(tts_envmatch *e, const float *logmel, tts_err *err);
/* n more samples in; *n_out finished samples written to out (cap floats: n +
 * tts_envmatch_delay() always suffice) */
int tts_envmatch_push(tts_envmatch *e, const float *pcm, size_t n, float *out, size_t cap,
                      size_t *n_out, tts_err *err);
/* the end of the utterance: the remaining samples (at most tts_envmatch_delay()); then
 * reset before the next one */
int tts_envmatch_finish(tts_envmatch *e, float *out, size_t cap, size_t *n_out, tts_err *err);
size_t tts_envmatch_delay(const tts_envmatch *e);

/* ------------------------------------------------------- modulation sharpening ---- */

/* Lifts the fast movements of every log-mel band over time:
 *     y[t] = x[t] + amount * (x[t] - mean(x[t - h] .. x[t + h])),  h = (width - 1) / 2,
 * frames before the first and after the last taken as the first and the last. Its gain at
 * modulation frequency f is 1 + amount * (1 - D(f)), D the width-frame moving average's
 * response: 1 at 0 Hz (levels and slow contours stay), about 1 + amount above
 * frame_rate / width. Frames an acoustic model predicts are smoother in time than speech
 * (at 80 frames/s, 2.5 x less power at 10-20 Hz and 3-4 x less at 20-40 Hz than the
 * recordings' frames: docs/history/training-runs.md, session 12); this puts some of it back.
 * Streamed: frame t comes out once frame t + h is in (tts_sharpen_delay() frames behind),
 * the rest after the last frame by tts_sharpen_flush; tts_sharpen_frames does the same
 * pushes over a whole utterance, so the two agree bit for bit. */
#define TTS_SHARPEN_MAX_AMOUNT 4.0f
#define TTS_SHARPEN_MAX_WIDTH 31
typedef struct tts_sharpen tts_sharpen;
/* 1 when (amount, width) is a setting tts_sharpen takes: amount in 0 .. MAX_AMOUNT, width
 * odd in 3 .. MAX_WIDTH */
int tts_sharpen_valid(float amount, int width);
int tts_sharpen_create(tts_sharpen **out, int n_mels, float amount, int width, tts_err *err);
void tts_sharpen_free(tts_sharpen *s); /* NULL is fine */
void tts_sharpen_reset(tts_sharpen *s); /* before the next utterance */
int tts_sharpen_delay(const tts_sharpen *s); /* h frames */
/* the next frame in (n_mels floats); returns 1 with the frame h behind it written to out
 * (n_mels floats; may be the input), 0 while the first h frames are still coming */
int tts_sharpen_push(tts_sharpen *s, const float *frame, float *out);
/* after the last frame: 1 with the next remaining frame in out, 0 when all are out */
int tts_sharpen_flush(tts_sharpen *s, float *out);
/* n frames (n x n_mels, row-major) in place */
int tts_sharpen_frames(float *x, size_t n, int n_mels, float amount, int width, tts_err *err);

/* ------------------------------------------------------------ Griffin-Lim ---- */

typedef struct {
    int n_iter;        /* iterations; <= 0 means the default (32) */
    float momentum;    /* "fast Griffin-Lim" (Perraudin et al. 2013) momentum in [0, 1);
                        * 0 is plain Griffin-Lim; default 0.99 as in librosa */
    unsigned int seed; /* seed of the random initial phase (deterministic) */
    int zero_phase;    /* 1: start from zero phase instead of random phase */
    int mel_nnls_iter; /* tts_mel_synthesize / tts_vocode_file only: NNLS refinement
                        * iterations of the mel inversion (tts_mel_to_linear_nnls);
                        * default 50, 0 for the plain pseudo-inverse */
} tts_gl_params;

tts_gl_params tts_gl_default_params(void);

/* Griffin-Lim phase reconstruction: finds a signal whose STFT magnitude (settings of s)
 * approaches mag (n_frames x n_bins). Writes n_out samples to pcm (caller-owned;
 * n_out is normally (n_frames - 1) * hop, or the original length). p may be NULL for
 * the defaults. If final_sc is not NULL it receives the spectral convergence of the
 * result against mag (see tts_spectral_convergence). */
int tts_griffin_lim(tts_stft *s, const float *mag, size_t n_frames,
                    const tts_gl_params *p, float *pcm, size_t n_out, float *final_sc,
                    tts_err *err);

/* Log-mel frames -> PCM: tts_mel_to_linear_nnls (p->mel_nnls_iter iterations) then
 * tts_griffin_lim. *pcm gets a malloc'd array of *n_out = (n_frames - 1) * hop samples
 * (free() it). Works on a whole
 * utterance; a streaming variant (GL over overlapping blocks of frames) can be built on
 * tts_griffin_lim later. */
int tts_mel_synthesize(tts_mel *m, const float *logmel, size_t n_frames,
                       const tts_gl_params *p, float **pcm, size_t *n_out,
                       tts_err *err);

/* Spectral convergence ||target - mag||_F / ||target||_F over count values (0 when
 * both are all zero, +inf when only target is). */
float tts_spectral_convergence(const float *target, const float *mag, size_t count);

/* ------------------------------------------------- loudness and silence ---- */

float tts_peak(const float *x, size_t n); /* max |x| (0 for n == 0) */
float tts_rms(const float *x, size_t n);  /* sqrt(mean(x^2)) (0 for n == 0) */

/* Scales x in place so that its peak is target_peak (e.g. 0.95). Returns the gain
 * applied (1 when x is silent: silence is left alone). */
float tts_normalize_peak(float *x, size_t n, float target_peak);

/* Scales x in place so that its RMS is target_rms_db dBFS (e.g. -20), but never so far
 * that the peak exceeds max_peak (e.g. 0.99): the gain is min(rms gain, peak gain).
 * Returns the gain applied (1 when x is silent). */
float tts_normalize_rms(float *x, size_t n, float target_rms_db, float max_peak);

typedef struct {
    float threshold_db; /* < 0: frames whose RMS is more than -threshold_db dB below the
                         * loudest frame's RMS count as silence (e.g. -40) */
    int frame_length;   /* RMS frame length in samples (e.g. 800) */
    int hop_length;     /* RMS frame shift in samples (e.g. 200) */
    int margin;         /* samples kept on each side of the voiced part (e.g. 1600) */
} tts_trim_params;

/* -40 dB, frames of 800, hop 200, margin 1600 samples (100 ms at 16 kHz). */
tts_trim_params tts_trim_default_params(void);

/* Finds the voiced part of x: [*start, *end) covers every frame whose RMS is within
 * threshold_db of the loudest frame, widened by margin on each side and clamped to
 * [0, n). Silence is then x[0..start) and x[end..n). An all-zero (or empty) x gives
 * *start = *end = 0. p may be NULL for the defaults. TTS_E_INVALID on bad params. */
int tts_trim_silence(const float *x, size_t n, const tts_trim_params *p, size_t *start,
                     size_t *end, tts_err *err);

#endif
