/*
 * The neural vocoder: log-mel frames -> 16 kHz PCM, streaming, faster than real time on
 * one core.
 *
 * ---- Design choice (issue 5), by measurement ------------------------------------------
 * Candidates, timed with random weights on this machine's cores (AMD EPYC, AVX2, one core
 * pinned, OpenBLAS single-threaded; the machine was busy: load average ~5 on 2 cores from
 * other jobs, so the figures are pessimistic; median of 5 runs):
 *
 *   autoregressive WaveNet, mu-law 256-way softmax, Fast-WaveNet queues, one sample at a
 *   time through nn_vecmat / nn_vgated (the only way: sample n+1 needs sample n):
 *     C=64 S=128 L=20:  1245 kFLOP/sample  RTF 1.34   (14.8 GFLOP/s)
 *     C=32 S=64  L=10:   184 kFLOP/sample  RTF 0.22   (13.2 GFLOP/s)
 *     C=24 S=64  L=10:   129 kFLOP/sample  RTF 0.17
 *   Matrix-vector products reach ~13-15 GFLOP/s; even a 10-layer, 24-channel WaveNet (too
 *   small to sound good) misses the 0.05 aim, and the usable sizes miss the 0.2 limit.
 *
 *   non-autoregressive (noise in, no feedback), one frame block of hop/fold steps per
 *   layer as a batched GEMM (cblas_sgemm, M = hop/fold rows), 16 layers, K = 2:
 *     fold 1 (sample rate):  C=32 238 kFLOP/sample RTF 0.17; C=48 475 kFLOP RTF 0.29
 *     fold 2:                C=32 119 kFLOP RTF 0.077;   C=48 238 kFLOP RTF 0.12
 *     fold 4:                C=32  60 kFLOP RTF 0.036;   C=48 119 kFLOP RTF 0.067;
 *                            C=64 199 kFLOP RTF 0.12
 *     fold 8:                C=48  60 kFLOP RTF 0.032
 *   GEMMs over a block reach 25-35 GFLOP/s (2x the matrix-vector rate); the same layers
 *   through nn_vecmat row by row were 20-30% slower at fold 4 (about equal at fold 1), so
 *   blocks use sgemm.
 *
 * Chosen: non-autoregressive, "folded" WaveNet. The stack runs at sample_rate / fold
 * (fold = 4: 4 kHz); each step reads `fold` noise samples and writes `fold` output
 * samples (space-to-depth, as in SqueezeWave / WaveFlow's squeeze). Defaults: C = 48
 * residual, S = 64 skip channels, 16 gated layers, dilations 1..128 steps twice (K = 2;
 * receptive field 511 steps = 2044 samples = 128 ms), mel conditioning through 2 causal
 * frame-rate convs (K = 3, 64 channels), 1 frame of look-ahead; 368 k parameters,
 * 120 kFLOP per output sample (voc_flops_per_sample).
 * The real code (bench/bench_vocoder, streaming, one pinned core, random weights, 5 s
 * utterance, median of 5 runs, load average 5-7 on the 2 cores from other jobs):
 *   RTF 0.080 - 0.083 (best run 0.060 - 0.077); first samples 0.65 ms after the frames
 *   they need (frame 0 and its look-ahead frame 1); 67% of the time is in sgemm.
 *   --sweep, same conditions: fold 1 C 32/48/64: RTF 0.17 / 0.27 / 0.42; fold 2: 0.08 /
 *   0.14 / 0.24; fold 4: 0.024 / 0.080 / 0.10; fold 8: 0.023 / 0.043 / 0.061.
 *   The autoregressive candidates, same run: RTF 1.83 / 0.34 / 0.25 (sizes above).
 * Training: multi-resolution STFT loss (spectral convergence + log-magnitude L1, as PWG /
 * NSF) whose DFT is a GEMM against a windowed cos/sin basis (8.7 kMAC per sample forward,
 * ~10% of a training step; no FFTW plans, thread-safe, and the same code runs in double
 * for the gradient checks). Measured (tts-train vocoder, 2 threads, same busy machine,
 * ~0.5 core actually obtained): 3.4 s of audio per second, ~7 s of audio per CPU-second
 * of user time, so one epoch of Kathleen's 75 training minutes takes ~6-10 min on 2 free
 * cores and a few hours are 20-30 epochs. (The WaveNet gate through libm's tanhf / expf
 * took 55% of a step; it goes through the SIMD kernels, see vocoder_impl.h.)
 *
 * ---- The network -----------------------------------------------------------------------
 *   mel[F, n_mels] -> (x - mean) / std -> cond: causal conv (K=cond_kernel) + tanh, x
 *       cond_layers -> c[F, cond_ch] -> P = c V  [F, n_layers * 2C] (one 1x1 conv for all
 *       layers' gate conditioning, at frame rate)
 *   upsampling to steps (hs = hop / fold steps per frame): step j of block t gets
 *       (1 - a) P[t + la - 1] + a P[t + la],  a = (j + 1) / hs,  P[-1] := P[0]
 *       (linear interpolation = a fixed triangular transposed conv; with la = 1 block t,
 *       which spans frames t .. t+1 (frame t is centred on sample t*hop), interpolates
 *       between exactly those two frames)
 *   source z[T, fold * src] -> 1x1 -> x_0[T, C]: noise N(0,1), and with src 2 a harmonic
 *       excitation (vocoder/pitch.h) at the F0 and voicing that the pitch head (two causal
 *       K=3 convs + ReLU, a 1x1 to (log-F0, voicing logit)) reads from the mel frames.
 *       Why: trained with the STFT loss on noise alone (src 1, 35 min), the network
 *       reproduced the spectral envelope but no harmonics at all: a whisper, 54 % WER on
 *       copy synthesis against 23 % for the recordings. With the excitation the harmonics
 *       appear within 1,000 steps. At training the excitation follows the recording's F0
 *       (voc_pitch_track) and the pitch head learns it on the side (voc_pitch_train).
 *       src 3 adds the same harmonics weighted by the spectral envelope of the mel frame
 *       (voc_frame_amps: the mel pseudo-inverse read at k F0), a crude harmonic
 *       synthesizer the network only has to correct. Copy synthesis of the 77 validation
 *       takes, pocketsphinx WER (recordings 22.9 %): src 1 after 35 min 54.2 %; src 2
 *       +12 min 46.2 %; src 3 +20 min 31.1 %, +70 min 30.6 % (MCD 23.5 -> 20.5 -> 17.5
 *       -> 17.1, the MCD scale of train/eval.c). One core, trained src 3 model:
 *       RTF 0.053, first samples 0.64 ms after the frames they need.
 *   The output's envelope, then, the frames fix (cfg.env_passes, tts_envmatch in dsp/):
 *       even src 3 rendered the spectral envelope badly (copy MCD 17.2 dB, Griffin-Lim
 *       4.3). Each pass filters the output, frame by frame, by the gains that bring each
 *       mel band to the frame's value; harmonics, noise and phase stay the network's.
 *       Step-26,400 model, 77 validation takes (session 4): copy synthesis MCD 17.16 ->
 *       5.56 dB, WER 33.2 -> 21.4 % (recordings 22.9 %, Griffin-Lim 22.3 %); from the
 *       shipped r = 2 voice's frames MCD 24.17 -> 22.41 (Griffin-Lim 22.61), WER 36.8 ->
 *       31.8 % (Griffin-Lim 29.6 %). Two passes delay the stream by 2 windows (100 ms).
 *       Session 8 taught the network the envelope instead: a log-mel L1 term in the loss
 *       (voc_stft_loss_set_mel) against the frames it is conditioned on, recorded or
 *       predicted. Copy MCD without the match 17.2 -> 14.4 dB; from the acoustic model's
 *       frames the match then no longer helps (pocketsphinx WER, validation / unseen:
 *       0 passes 24.0 / 13.2 %, 2 passes 24.5 / 14.4 %), so that checkpoint ships with
 *       env_passes 0: no delay.
 *       Session 9 added critics (train/disc.h, tts-train vocoder --adv-weight: LSGAN,
 *       multi-period, feature matching) through voc_train_crop_ex's loss hook. In the
 *       6,500-14,000 steps a session allows they did not help: strong (weight 1) they
 *       pulled the output off its frames (unseen WER 13.2 -> 15.5 %), gentle (0.3) they
 *       changed nothing measurable. (Those runs, and the shipped checkpoint, are src 2:
 *       an --init without --src fell back to it until session 10, dropping src 3's input.)
 *       Session 10: src 4 adds noise with the frame's envelope (voc_frame_grain), and
 *       tts-train vocoder --tf-pitch excites the crops of predicted frames at the pitch
 *       head's F0, as at inference, instead of the recording's (free-running frames have
 *       the acoustic model's intonation). The validation log-mel term (measured the
 *       same way, at the pitch head's F0, from then on) was 0.243 nepers 200 steps after
 *       the switch, against 0.304 just before it with the recording's F0.
 *       Session 13: the frames an acoustic model predicts are smoother in time than
 *       speech (their band trajectories have 4-7 dB less modulation power at 10-40 Hz),
 *       and the network renders them as smooth as they are, where Griffin-Lim's phase
 *       errors roughen them again. cfg.frame_sharpen sharpens the frames before the
 *       network and the match (tts_sharpen in dsp/, frame_sharpen_w frames wide); amount
 *       1.4 over 3 frames puts the free-running frames' modulation within 0.4 dB of the
 *       recordings' in all three ranges. With 4 passes of the match, 300 unseen
 *       sentences through the CLI: 12.5 % WER against Griffin-Lim's 12.8 % (the network
 *       without either 13.3 %); MCD from text 22.78 dB against 22.43 (sharpening
 *       moves the frames off the smooth average a DTW distance rewards).
 *   layer l: h = causal dilated conv(x_l) [T, 2C] + upsampled P_l;  g = tanh(h_a) sig(h_b)
 *            o = g W_o + b_o [T, C + S];  x_{l+1} = (x_l + o[:, :C]) sqrt(0.5);
 *            skip += o[:, C:]
 *   skip / sqrt(L) -> ReLU -> 1x1 S->S -> ReLU -> 1x1 S->fold = the T*fold samples.
 *
 * Causality: output block t (samples [t*hop, (t+1)*hop)) depends on mel frames <= t + la
 * and noise samples < (t+1)*hop only (within a block, step s on noise steps <= s).
 *
 * ---- Streaming -------------------------------------------------------------------------
 * voc_stream_push() takes one mel frame and returns the hop samples of block t - la at
 * once (each layer keeps its last (K-1)*dil input steps; the frame-rate convs keep their
 * own history: conv1d_step_f). voc_stream_finish() pads la frames (the last one repeated)
 * and returns the last la blocks. An utterance of F frames gives exactly F * hop samples,
 * the same as voc_forward() over the whole utterance (tests/test_vocoder.c: <= 1e-5).
 *
 * Thread safety: a voc_model is read-only after init / load; any number of threads may
 * run voc_forward / voc_train_crop / streams on one model, each with its own arena or
 * stream. A voc_stft_loss is read-only after init too.
 */
#ifndef TTS_VOCODER_VOCODER_H
#define TTS_VOCODER_VOCODER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "dsp/dsp.h"
#include "nn/arena.h"
#include "nn/layers.h"
#include "vocoder/pitch.h"

#define VOC_ENV_MAX_GAIN 100.0f /* the envelope match's gains stay within +-40 dB */
#define VOC_MAX_LAYERS 56 /* 4 tensors each: 56 keeps a model within NN_MAX_TENSORS */
#define VOC_MAX_COND 4
#define VOC_MAX_RES 4
#define VOC_PITCH_CH 64     /* channels of the pitch head's convs */
#define VOC_PITCH_K 3       /* their taps (causal) */
#define VOC_LOGF0_MEAN 5.3f /* the pitch head's output 0 is (ln F0 - mean) / scale */
#define VOC_LOGF0_SCALE 0.25f

typedef struct {
    int n_mels;      /* mel bands per frame */
    int hop;         /* samples per mel frame */
    int fold;        /* samples per network step; hop % fold == 0 */
    int res_ch;      /* C: residual channels */
    int skip_ch;     /* S: skip channels */
    int n_layers;    /* L: gated layers */
    int dil_cycle;   /* dilation of layer l = 2^(l % dil_cycle) steps */
    int kernel;      /* taps of the dilated convs */
    int cond_ch;     /* channels of the frame-rate conditioning convs */
    int cond_layers; /* number of them (1 .. VOC_MAX_COND) */
    int cond_kernel; /* their taps (causal, dilation 1) */
    int lookahead;   /* mel frames of look-ahead (0 .. 4) */
    int sample_rate; /* Hz (the oscillator's clock); files without the key: 16000 */
    int src;         /* source channels per sample: 1 = noise only; 2 = noise and a harmonic
                      * excitation at the F0 the model's pitch head reads from the mel
                      * (vocoder/pitch.h); 3 = those and the same harmonics shaped by the
                      * spectral envelope of the mel frames; 4 = those and noise with that
                      * envelope (voc_frame_grain); files without the key are 1 */
    int env_passes;  /* inference: the output's mel envelope is then matched to the frames
                      * in this many passes (tts_envmatch; 0 = none, files without the key).
                      * The network makes the fine structure (harmonics, noise, phase); the
                      * frames fix the envelope, which it renders badly: copy synthesis
                      * MCD 17.2 -> 5.6 dB, WER 33.2 -> 21.4 % (recordings 22.9 %) */
    float frame_sharpen; /* inference: the frames' band trajectories sharpened first
                          * (tts_sharpen in dsp/: amount; 0 = none, files without the key),
                          * for the vocoder and for the envelope match alike */
    int frame_sharpen_w; /* its moving average's width in frames (odd, 3 ..
                          * TTS_SHARPEN_MAX_WIDTH; files without the key: 5) */
} voc_config;

/* The excitation's frames: block t (samples [t hop, (t+1) hop)) glides from frame
 * t + e - 1 (frame 0 for the first) to frame t + e, e = this: 1 with any look-ahead, so
 * that the excitation stays on the frames that bracket the block (frame t is centred on
 * sample t hop) however far the conditioning looks ahead; 0 without look-ahead (frame
 * t + 1 is not there yet), a frame late. The grains of src 4 follow the same frames. */
#define VOC_RING 6 /* the stream's per-frame excitation values: frames t + e - 1 .. t + la */
static inline int voc_exc_offset(const voc_config *c)
{
    return c->lookahead > 0;
}

/* fold 4, C 48, S 64, 16 layers, dilation cycle 8, K 2, cond 2 x 64 (K 3), look-ahead 1,
 * source: noise + harmonic excitation, envelope matched in 2 passes */
voc_config voc_config_default(int n_mels, int hop);

typedef struct {
    size_t w, b;
    int cin;
} voc_conv_off;

typedef struct {
    voc_config cfg;
    nn_params p;
    voc_conv_off cond[VOC_MAX_COND]; /* W[cond_kernel, cin, cond_ch], b[cond_ch] */
    size_t cproj;                    /* V[cond_ch, L * 2C] (no bias) */
    size_t in_w, in_b;               /* [fold * src, C], [C] */
    voc_conv_off pitch[3];           /* src 2: the pitch head: causal convs W[K, cin, 64] +
                                      * ReLU twice, then W[1, 64, 2] (log-F0, voicing logit) */
    struct {
        size_t cw, cb, ow, ob; /* conv W[K, C, 2C], b[2C]; out W[C, C + S], b[C + S] */
        int dil;
    } layer[VOC_MAX_LAYERS];
    size_t post0_w, post0_b, post1_w, post1_b; /* [S, S], [S], [S, fold], [fold] */
    float *mel_mean, *mel_std;                 /* [n_mels]: data, not trained */
    tts_audio_cfg audio; /* the mel analysis (src 3 reads the envelope through it): voc_init
                          * sets the defaults for n_mels, hop and sample_rate; files and
                          * trainers set the real one */
    size_t n_trainable;                        /* parameters before mel_mean (optimizer range) */
} voc_model;

/* Checks cfg; registers every tensor; allocates parameters (+ gradients and Adam moments
 * when for_training); random initialization from seed (0: weights left 0, for a model
 * about to be loaded); mel statistics 0 / 1. */
int voc_init(voc_model *m, const voc_config *cfg, int for_training, uint64_t seed, tts_err *err);
/* Registers every tensor (names, shapes, offsets) without allocating anything. */
int voc_layout(voc_model *m, const voc_config *cfg, tts_err *err);
void voc_free(voc_model *m);

/* Receptive field of the gated stack in samples (1 + (K-1) sum dil) * fold; of the
 * conditioning in frames (1 + cond_layers (cond_kernel - 1) + 1 for the interpolation). */
int voc_receptive_field(const voc_config *c);
int voc_cond_receptive_field(const voc_config *c);
/* Forward FLOPs per output sample (multiply-adds x 2; element-wise work not counted). */
double voc_flops_per_sample(const voc_config *c);

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
/* Harmonic amplitudes amps[VOC_MAX_HARM] of F0 f0 in the envelope of one log-mel frame
 * (through tts_mel_to_linear with mel, made from m->audio; mag: n_fft / 2 + 1 floats of
 * scratch), scaled to about the speech's level. */
int voc_frame_amps(const voc_model *m, tts_mel *mel, const float *logmel, float f0, float *mag,
                   float *amps);
/* src 4: a grain of noise (2 hop samples, vocoder/pitch.h voc_noise_grain) with the
 * magnitude spectrum mag that voc_frame_amps leaves (the frame's mel inverse), phases from
 * *rng, through g (voc_grainer_create(&g, hop)). The stream and voc_source_from_mel draw
 * the grains' phases from their own generator, voc_grain_seed(seed), so that the white
 * noise is the same as with src 3. */
void voc_frame_grain(const voc_model *m, voc_grainer *g, const float *mag, uint64_t *rng,
                     float *grain);
uint64_t voc_grain_seed(uint64_t seed);
/* More look-ahead for a trained model: a causal conv's weights W[K, cin, cout] (tap k reads
 * K-1-k frames back) grown to K2 > K taps so that the conv, fed its input d = K2-K frames
 * later, gives its old output d frames later. The first conv of a chain (first) delays:
 * W2[k] = W[k] for k < K, its d newest taps 0; a conv after it keeps its span:
 * W2[k + d] = W[k], its d oldest taps 0. Its conditioning convs grown so, a model with
 * lookahead la + d and cond_kernel K + d makes what the old one made (past the first
 * frames, whose zero padding differs); the new taps learn what the later frames say. */
void voc_cond_grow(float *W2, const float *W, int K, int K2, int per_tap, int first);
/* F0 in Hz and voicing probability of n pitch-head outputs */
void voc_pitch_decode(const float *out, int n, float *f0, float *voiced);
/* Training loss of the pitch head on mel[nf] against f0[nf] (Hz, 0 = unvoiced): binary
 * cross-entropy of the voicing (mean over frames) + L1 of the normalized log-F0 (mean over
 * voiced frames). Gradients ADDED into grads times scale; *loss gets the loss (unscaled).
 * _d: the same in double with parameters P (gradient tests). */
int voc_pitch_train(const voc_model *m, const float *mel, int nf, const float *f0, float *grads,
                    float scale, voc_arena *ar, double *loss);
int voc_pitch_train_d(const voc_model *m, const double *P, const double *mel, int nf,
                      const double *f0, double *grads, double scale, voc_arena *ar, double *loss);
/* The source of n_blocks blocks as a stream with this seed makes it (noise drawn block by
 * block, the pitch head's F0 and voicing through the oscillator from phase 0; with src 3
 * the envelope amplitudes of the frames too), into src[n_blocks * hop * src]; for src 1 it
 * is the noise alone. With it, voc_forward gives
 * exactly what voc_stream_push gives with noise == NULL. */
int voc_source_from_mel(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                        uint64_t seed, float *src, voc_arena *ar);
/* The same with the F0 (Hz) and voicing (0 .. 1) of every frame given, f0[n_frames] and
 * voiced[n_frames], instead of the pitch head's (experiments: the recording's pitch under
 * predicted frames; both NULL is voc_source_from_mel). */
int voc_source_with_f0(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                       uint64_t seed, const float *f0, const float *voiced, float *src,
                       voc_arena *ar);

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
 * Upsampling by linear interpolation, ADDED into h: for block t < n_blocks, step
 * j < hs, row r = t * hs + j:  h[r, 0..n) += (1 - a) P[max(t + la - 1, 0)] + a P[t + la],
 * a = (j + 1) / hs. Rows of h are ldh apart, of P ldp apart; P needs n_blocks + la rows.
 * The backward ADDS into dP. */
void voc_upsample_forward_f(float *h, int ldh, const float *P, int ldp, int n, int n_blocks,
                            int hs, int la);
void voc_upsample_backward_f(float *dP, int ldp, const float *dh, int ldh, int n, int n_blocks,
                             int hs, int la);
void voc_upsample_forward_d(double *h, int ldh, const double *P, int ldp, int n, int n_blocks,
                            int hs, int la);
void voc_upsample_backward_d(double *dP, int ldp, const double *dh, int ldh, int n,
                             int n_blocks, int hs, int la);

/* ---- streaming inference ------------------------------------------------------------- */
typedef struct {
    int frames_in;  /* mel frames pushed so far (pads included) */
    uint64_t rng;   /* noise generator (when the caller passes no noise) */
    int hs;         /* steps per block */
    nn_conv_state cond_st[VOC_MAX_COND];
    float *hist[VOC_MAX_LAYERS]; /* [(K-1)*dil + hs, C]: a layer's past inputs, then the block */
    float *buf;                  /* everything else, one allocation */
    float *meln, *cact[2], *P_prev, *P_cur, *last_mel;
    float *x, *h, *z, *o, *skip, *a1, *a2, *noise;
    /* src 2: the pitch head's convs; F0 / voicing of the frames pushed, by frame f in slot
     * (f + VOC_RING) % VOC_RING (frame -1: the first one's again); the two frames of the
     * block being made (voc_exc_offset); the oscillator */
    nn_conv_state pitch_st[2];
    float *pact[2], rf0[VOC_RING], rv[VOC_RING], f0[2], vprob[2], *exc, *src;
    double phase;
    /* src 3: the envelope's harmonic amplitudes, by frame [VOC_RING][VOC_MAX_HARM] and of
     * the block's two frames [2][VOC_MAX_HARM]; the mel inverse */
    tts_mel *mel;
    float *mag, *ramps, *amps, *shaped;
    /* src 4: the grains by frame [VOC_RING][2 hop] (frame -1: a second grain of frame 0),
     * the block's two, their scratch, generator */
    float *rgrain, *grain[2], *gnoise;
    voc_grainer *grainer;
    uint64_t grng;
} voc_stream;

/* Allocates the state of one stream of model m (history zeroed, noise seeded). */
int voc_stream_init(voc_stream *s, const voc_model *m, uint64_t seed, tts_err *err);
void voc_stream_free(voc_stream *s);
/* Starts a new utterance (history cleared, noise reseeded) without reallocating. */
void voc_stream_reset(voc_stream *s, const voc_model *m, uint64_t seed);

/* Pushes one mel frame (log-mel, n_mels values). Writes the hop samples of block
 * frames_in - la to pcm and returns hop, or returns 0 while the look-ahead fills.
 * noise: the block's source (hop * src samples, laid out as for voc_forward), or NULL to
 * draw the noise from the stream (and, with src 2, make the excitation from the pitch
 * head). */
int voc_stream_push(const voc_model *m, voc_stream *s, const float *mel_frame,
                    const float *noise, float *pcm);
/* Ends the utterance: pads la frames (the last frame repeated) and writes the blocks not
 * yet written (la of them, fewer when fewer frames were pushed) to pcm (room for la * hop);
 * noise: their source (la * hop * src values) or NULL. Returns the number of samples written;
 * in all, an utterance of F frames gives F * hop samples. */
int voc_stream_finish(const voc_model *m, voc_stream *s, const float *noise, float *pcm);

#endif
