/*
 * The vocoder's batched passes, which training and evaluation use and the engine does not
 * (it streams: vocoder/vocoder.h): the network over a whole crop or utterance at once,
 * forward and backward, in float and in double (the reference of the gradient checks in
 * tests/test_vocoder.c); the pitch head's batched pass and its training loss; the source a
 * stream would make for an utterance; and the training loss, a multi-resolution STFT loss
 * with an optional log-mel term and an extra term through a hook (the critics,
 * train/disc.h).
 *
 * Loss: spectral convergence + log-magnitude L1 over several resolutions (as Parallel
 * WaveGAN / NSF), whose DFT is a GEMM against a windowed cos/sin basis: no FFTW plans,
 * thread-safe, and the same code runs in double for the gradient checks.
 *
 * Thread safety: the model and a voc_stft_loss are read-only after init; any number of
 * threads may run these passes on them, each with its own arena.
 */
#ifndef TTS_TRAIN_VOC_TRAIN_H
#define TTS_TRAIN_VOC_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "nn/arena.h"
#include "vocoder/vocoder.h"

#define VOC_MAX_RES 4 /* resolutions of the STFT loss */

/* ---- scratch memory: per thread, grown on demand, reused ---- */
typedef nn_arena voc_arena;
void voc_arena_free(voc_arena *a);

/* ---- batched forward ---------------------------------------------------------------
 * mel[n_frames, n_mels] (log-mel as the dsp analysis gives it; normalized inside),
 * noise[n_blocks * hop * src] (the source: with src 2, per network step fold noise
 * samples then fold excitation samples, see voc_source_interleave and
 * voc_source_from_mel); writes pcm[n_blocks * hop]. Block t uses mel frames
 * <= min(t + la, n_frames - 1): frames past the end read as the last frame (what
 * voc_stream_finish pads with). With n_blocks == n_frames this is exactly the streamed
 * utterance. Returns 0 or a negative tts_status. */
int voc_forward(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                const float *noise, float *pcm, voc_arena *ar);

/* ---- the pitch head (src 2) ----------------------------------------------------------
 * Frame t of out[nf, 2] sees mel frames <= t (causal), normalized as for the conditioning:
 * out[t, 0] = (ln F0 - VOC_LOGF0_MEAN) / VOC_LOGF0_SCALE, out[t, 1] = voicing logit. */
int voc_pitch_forward(const voc_model *m, const float *mel, int nf, float *out, voc_arena *ar);
/* Training loss of the pitch head on mel[nf] against f0[nf] (Hz, 0 = unvoiced): binary
 * cross-entropy of the voicing (mean over frames) + L1 of the normalized log-F0 (mean over
 * voiced frames). Gradients ADDED into grads times scale; *loss gets the loss (unscaled).
 * _d: the same in double with parameters P (gradient tests). */
int voc_pitch_train(const voc_model *m, const float *mel, int nf, const float *f0, float *grads,
                    float scale, voc_arena *ar, double *loss);
int voc_pitch_train_d(const voc_model *m, const double *P, const double *mel, int nf,
                      const double *f0, double *grads, double scale, voc_arena *ar, double *loss);
/* The source of n_blocks blocks as a stream with this seed makes it (noise drawn block by
 * block; with src 2 the pitch head's F0 and voicing through the oscillator from phase 0),
 * into src[n_blocks * hop * src]; for src 1 it is the noise alone. With it, voc_forward
 * gives exactly what voc_stream_push gives with source == NULL. */
int voc_source_from_mel(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                        uint64_t seed, float *src, voc_arena *ar);
/* The same with the F0 (Hz) and voicing (0 .. 1) of every frame given, f0[n_frames] and
 * voiced[n_frames], instead of the pitch head's (experiments: the recording's pitch under
 * predicted frames; both NULL is voc_source_from_mel). */
int voc_source_with_f0(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                       uint64_t seed, const float *f0, const float *voiced, float *src,
                       voc_arena *ar);

/* More look-ahead for a trained model: a causal conv's weights W[K, cin, cout] (tap k reads
 * K-1-k frames back) grown to K2 > K taps so that the conv, fed its input d = K2-K frames
 * later, gives its old output d frames later. The first conv of a chain (first) delays:
 * W2[k] = W[k] for k < K, its d newest taps 0; a conv after it keeps its span:
 * W2[k + d] = W[k], its d oldest taps 0. Its conditioning convs grown so, a model with
 * lookahead la + d and cond_kernel K + d makes what the old one made (past the first
 * frames, whose zero padding differs); the new taps learn what the later frames say. */
void voc_cond_grow(float *W2, const float *W, int K, int K2, int per_tap, int first);

/* ---- training loss: multi-resolution STFT ------------------------------------------
 * For each resolution (n_fft, hop, win): frames of win samples every hop samples, not
 * padded (frame i = x[i*hop .. i*hop + win), 1 + (n - win) / hop frames; a resolution
 * whose win exceeds n is skipped), periodic Hann window, DFT of size n_fft (zero-padded),
 * magnitude |X| = sqrt(re^2 + im^2 + 1e-7);
 *   sc  = ||S_target - S||_F / ||S_target||_F,    mag = mean |log S - log S_target|
 * loss = mean over the resolutions used of (sc + mag). */
typedef struct {
    int n_fft, hop, win;
} voc_stft_res;

typedef struct {
    int n_res;
    voc_stft_res res[VOC_MAX_RES];
    float *basis_f[VOC_MAX_RES];  /* [win, 2 * (n_fft / 2 + 1)]: w_n cos, -w_n sin */
    double *basis_d[VOC_MAX_RES]; /* the same in double (when built with_double) */
    double stft_weight; /* voc_train_crop: weight of the STFT terms (sc + mag); init: 1 */
    /* the log-mel term (voc_stft_loss_set_mel; mel_weight 0: none) */
    double mel_weight;
    voc_stft_res mel_res;       /* the analysis's n_fft, hop (= the model's hop), win */
    int mel_bands, mel_off;     /* bands; frame i of the loss is conditioning frame i + off */
    float mel_floor;            /* log(max(mel, floor)), as the analysis */
    float *mel_basis_f, *fb_f;  /* DFT basis as above; filterbank [bands, n_fft / 2 + 1] */
    double *mel_basis_d, *fb_d;
} voc_stft_loss;

/* res == NULL: the default resolutions at 16 kHz, (n_fft, hop, win) = (512, 80, 400),
 * (1024, 160, 800), (256, 40, 160). with_double also builds the double bases (tests). */
int voc_stft_loss_init(voc_stft_loss *L, const voc_stft_res *res, int n_res, int with_double,
                       tts_err *err);
void voc_stft_loss_free(voc_stft_loss *L);

/* Adds a log-mel term to the loss, weight times
 *   mel = mean over frames and bands of |log max(fb |X|, floor) - c|
 * where X is the DFT (size n_fft, periodic Hann of win samples, frames every hop samples,
 * not padded) of the output and c the conditioning frame centred where that frame is
 * (frame i of the loss region, samples [i hop, i hop + win), is conditioning frame
 * ctx + i + win / (2 hop); win / 2 must be a multiple of hop): the network is taught to
 * render the envelope of the frames it is given, recorded or predicted, which is what the
 * analysis would give back (fb: bands x (n_fft / 2 + 1), e.g. tts_mel_filterbank). */
int voc_stft_loss_set_mel(voc_stft_loss *L, const float *fb, int bands, int n_fft, int win,
                          int hop, float floor, double weight, int with_double, tts_err *err);

typedef struct {
    double sc, mag, total; /* sc, mag averaged over the resolutions used; total = sc + mag
                            * (voc_train_crop: stft_weight (sc + mag) + mel_weight mel) */
    int n_res_used;
    double mel;            /* the log-mel term, unweighted (0 without one) */
    double extra;          /* voc_train_crop_ex: the hook's term, as it returned it */
} voc_loss_val;

/* An extra term of the training loss on the output (tts-train vocoder: the critics'
 * adversarial and feature-matching terms, train/disc.h). voc_train_crop_ex calls it once
 * per crop, after the forward pass and the STFT and mel terms, with the loss region's
 * output y[n] (blocks ctx_blocks .. n_blocks) and, when gradients are wanted, dy[n]: it ADDS
 * scale * d(term)/dy into dy (dy NULL: the value only) and returns the term's value (added
 * to total), or a negative tts_status. fn_d is the same in double (voc_train_crop_ex_d). */
typedef struct {
    double (*fn_f)(void *ctx, const float *y, float *dy, int n, double scale);
    double (*fn_d)(void *ctx, const double *y, double *dy, int n, double scale);
    void *ctx;
} voc_loss_hook;

/* Loss of y[n] against target[n]; with dy != NULL ADDS scale * dloss/dy into dy. ar is
 * scratch (reset and grown as needed). Returns the total (unscaled, >= 0), or a negative
 * number when out of memory or given NULL. */
double voc_stft_loss_f(const voc_stft_loss *L, float *dy, const float *y, const float *target,
                       int n, double scale, voc_arena *ar, voc_loss_val *out);
double voc_stft_loss_d(const voc_stft_loss *L, double *dy, const double *y,
                       const double *target, int n, double scale, voc_arena *ar,
                       voc_loss_val *out);

/*
 * One training crop, forward and (if grads != NULL) backward: the network runs over
 * n_blocks blocks from mel[n_frames] and noise as voc_forward does (mel should hold the la
 * frames after the last block when the utterance has them: frames past n_frames read as
 * the last one, which is right only at the utterance's end); the
 * loss is taken on blocks [ctx_blocks, n_blocks) against target[(n_blocks - ctx_blocks) *
 * hop] (the first ctx_blocks give the layers their history, as in streaming). Gradients are
 * ADDED into grads (mirroring m->p.params) times grad_scale; pcm (optional,
 * [n_blocks * hop]) receives the output.
 */
int voc_train_crop(const voc_model *m, const voc_stft_loss *L, const float *mel, int n_frames,
                   int n_blocks, int ctx_blocks, const float *noise, const float *target,
                   float *grads, float grad_scale, voc_arena *ar, voc_loss_val *loss,
                   float *pcm);

/* The same with an extra term of the loss (hook, may be NULL). */
int voc_train_crop_ex(const voc_model *m, const voc_stft_loss *L, const float *mel,
                      int n_frames, int n_blocks, int ctx_blocks, const float *noise,
                      const float *target, float *grads, float grad_scale, voc_arena *ar,
                      voc_loss_val *loss, float *pcm, const voc_loss_hook *hook);

/* The same in double, with the parameters P (laid out as m->p.params) in double: the
 * reference of the gradient tests. */
int voc_train_crop_d(const voc_model *m, const double *P, const voc_stft_loss *L,
                     const double *mel, int n_frames, int n_blocks, int ctx_blocks,
                     const double *noise, const double *target, double *grads,
                     double grad_scale, voc_arena *ar, voc_loss_val *loss, double *pcm);
int voc_train_crop_ex_d(const voc_model *m, const double *P, const voc_stft_loss *L,
                        const double *mel, int n_frames, int n_blocks, int ctx_blocks,
                        const double *noise, const double *target, double *grads,
                        double grad_scale, voc_arena *ar, voc_loss_val *loss, double *pcm,
                        const voc_loss_hook *hook);

/* ---- the layer new in the vocoder (float / double, as nn/layers.h) --------------------
 * The backward of voc_upsample_forward (vocoder/vocoder.h): ADDS into dP. */
void voc_upsample_backward_f(float *dP, int ldp, const float *dh, int ldh, int n, int n_blocks,
                             int hs, int la);
void voc_upsample_backward_d(double *dP, int ldp, const double *dh, int ldh, int n,
                             int n_blocks, int hs, int la);

#endif
