/*
 * The neural vocoder: log-mel frames -> PCM, streamed frame by frame, faster than real time
 * on one core. This header is the model (its configuration, its tensors and their layout)
 * and the stream that runs it. The engine speaks through vocoder/render.h, which puts the
 * frames' sharpening and the envelope match around the stream; the model file is
 * vocoder/vocoder_io.h. Training (the batched passes, their gradients, the loss) is
 * train/voc_train.h; how the design was chosen, and the sources and losses tried and
 * dropped, with their figures, are in docs/history/vocoder.md.
 *
 * ---- The network: a folded, non-autoregressive WaveNet --------------------------------
 * The gated stack runs at sample_rate / fold steps a second; each step reads fold samples
 * of each source channel and writes fold output samples (space-to-depth). hs = hop / fold
 * steps make one block, the hop samples of one mel frame; la = cfg.lookahead.
 *   mel[F, n_mels] -> (x - mel_mean) / mel_std -> cond: causal conv (K = cond_kernel) +
 *       tanh, cond_layers times -> c[F, cond_ch] -> P = c V [F, n_layers * 2C] (one 1x1
 *       conv for every layer's gate conditioning, at frame rate)
 *   upsampling to steps: step j of block t gets (1 - a) P[t + la - 1] + a P[t + la],
 *       a = (j + 1) / hs, P[-1] := P[0] (linear interpolation; with la = 1, block t, which
 *       spans frames t .. t+1 (frame t is centred on sample t hop), interpolates between
 *       exactly those two frames)
 *   source z[T, fold * src] -> 1x1 -> x_0[T, C]  (the source: below)
 *   layer l: h = causal conv (K = kernel, dilation 2^(l % dil_cycle) steps) of x_l [T, 2C]
 *            + upsampled P_l;  g = tanh(h_a) sigmoid(h_b);  o = g W_o + b_o [T, C + S];
 *            x_{l+1} = (x_l + o[:, :C]) sqrt(0.5);  skip += o[:, C:]
 *   skip / sqrt(L) -> ReLU -> 1x1 S->S -> ReLU -> 1x1 S->fold = the T fold samples.
 * Causality: output block t (samples [t hop, (t+1) hop)) depends on mel frames <= t + la
 * and source samples < (t+1) hop only (within a block, step s on source steps <= s).
 *
 * ---- The source (cfg.src) ---------------------------------------------------------------
 *   1: white noise N(0, 1).
 *   2: that noise and a harmonic excitation (vocoder/pitch.h: a band-limited pulse train of
 *      unit power where voiced, 0 where not) at the F0 and voicing that the model's pitch
 *      head reads from the mel frames: two causal convs (VOC_PITCH_K taps, VOC_PITCH_CH
 *      channels) + ReLU, then a 1x1 to (normalized ln F0, voicing logit), voc_pitch_decode.
 *      The network shapes harmonics that are there instead of inventing periodicity from
 *      noise. The shipped vocoder is src 2.
 * The channels are interleaved step by step: fold noise samples, then fold excitation
 * samples (voc_source_interleave). The excitation of block t glides from the F0 and
 * voicing of frame t + e - 1 to those of frame t + e (voc_exc_offset). Model files with
 * src 3 or 4 (envelope-shaped sources, removed) are refused by voc_from_mf.
 *
 * ---- Streaming -------------------------------------------------------------------------
 * voc_stream_push() takes one mel frame and returns the hop samples of block t - la at
 * once (each layer keeps its last (K-1) dil input steps; the frame-rate convs keep their
 * own history: conv1d_step_f). voc_stream_finish() pads la frames (the last one repeated)
 * and returns the last la blocks. An utterance of F frames gives exactly F hop samples,
 * the same as the batched pass (voc_forward in train/voc_train.h) over the utterance with
 * the source voc_source_from_mel makes (tests/test_vocoder.c: <= 1e-5).
 *
 * Thread safety: a voc_model is read-only after voc_init / voc_from_mf; any number of
 * threads may run streams on one model, each with its own voc_stream.
 */
#ifndef TTS_VOCODER_VOCODER_H
#define TTS_VOCODER_VOCODER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "dsp/dsp.h"
#include "nn/layers.h"

#define VOC_ENV_MAX_GAIN 100.0f /* the envelope match's gains stay within +-40 dB */
#define VOC_MAX_LAYERS 56 /* 4 tensors each: 56 keeps a model within NN_MAX_TENSORS */
#define VOC_MAX_COND 4
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
    int src;         /* source channels per sample: 1 = noise only; 2 = noise and the harmonic
                      * excitation at the pitch head's F0 (above); files without the key: 1 */
    int env_passes;  /* inference: the output's mel envelope is matched to the frames in this
                      * many passes (tts_envmatch, vocoder/render.h; 0 = none, files without
                      * the key) */
    float frame_sharpen; /* inference: the frames' band trajectories sharpened first
                          * (tts_sharpen in dsp/: amount; 0 = none, files without the key),
                          * for the network and for the envelope match alike */
    int frame_sharpen_w; /* its moving average's width in frames (odd, 3 ..
                          * TTS_SHARPEN_MAX_WIDTH; files without the key: 5) */
} voc_config;

/* The excitation's frames: block t (samples [t hop, (t+1) hop)) glides from frame
 * t + e - 1 (frame 0 for the first) to frame t + e, e = this: 1 with any look-ahead, so
 * that the excitation stays on the frames that bracket the block (frame t is centred on
 * sample t hop) however far the conditioning looks ahead; 0 without look-ahead (frame
 * t + 1 is not there yet), a frame late. */
#define VOC_RING 6 /* the stream's per-frame F0 / voicing: frames t + e - 1 .. t + la */
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

/* a gated layer's weights as nn_qgemm8 takes them (voc_use_int8): the conv's tap k at
 * cw + k C 2C with its columns' scales and code sums at cs, csum + k 2C; the 1x1 at ow */
typedef struct {
    int8_t *cw, *ow;
    float *cs, *os;
    int32_t *csum, *osum;
} voc_int8_layer;

/* The model: every tensor in p (named "vocoder.*", see vocoder_io.h), at these offsets. */
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
    tts_audio_cfg audio; /* the mel analysis the frames come from (the envelope match works
                          * through it): voc_init sets the defaults for n_mels, hop and
                          * sample_rate; files and trainers set the real one */
    size_t n_trainable;  /* parameters before mel_mean (optimizer range) */
    /* voc_use_int8: the gated layers' products in 8-bit integers; NULL: in float */
    voc_int8_layer *q8;  /* [n_layers] */
    void *q8_buf;        /* what they point into */
} voc_model;

/* Checks cfg; registers every tensor; allocates parameters (+ gradients and Adam moments
 * when for_training); random initialization from seed (0: weights left 0, for a model
 * about to be loaded); mel statistics 0 / 1. */
int voc_init(voc_model *m, const voc_config *cfg, int for_training, uint64_t seed, tts_err *err);
/* Registers every tensor (names, shapes, offsets) without allocating anything. */
int voc_layout(voc_model *m, const voc_config *cfg, tts_err *err);
void voc_free(voc_model *m);

/* For inference: the gated layers' dilated convs and 1x1s as products in 8-bit integers
 * (nn_qgemm8: each step's activations rounded to 8 bits over their largest, the weights to
 * 8 bits per output channel). Where the CPU has VNNI the products are 2.2 x as fast as in
 * float and the vocoder 1.5 x; without, about as fast as float. Streams made afterwards
 * (voc_stream_init) and voc_forward use them. The speech differs from the float
 * products' by the rounding, about -40 dB of the signal for the shipped vocoder; the
 * quality measures of `tts-train eval` do not move (docs/LOG.md). A model whose res_ch is
 * not a multiple of 4 stays in float. 0 or TTS_E_NOMEM. */
int voc_use_int8(voc_model *m, tts_err *err);
/* bytes of the scratch a layer over T steps needs for them (voc_layer_forward_f's qwork) */
size_t voc_int8_work_bytes(const voc_config *c, int T);

/* Receptive field of the gated stack in samples (1 + (K-1) sum dil) * fold; of the
 * conditioning in frames (1 + cond_layers (cond_kernel - 1) + 1 for the interpolation). */
int voc_receptive_field(const voc_config *c);
int voc_cond_receptive_field(const voc_config *c);
/* Forward FLOPs per output sample (multiply-adds x 2; element-wise work not counted). */
double voc_flops_per_sample(const voc_config *c);

/* F0 in Hz and voicing probability of n pitch-head outputs out[n, 2] (normalized ln F0,
 * voicing logit); F0 is held within 30 .. 1000 Hz. */
void voc_pitch_decode(const float *out, int n, float *f0, float *voiced);

/* ---- the gated layer, for the stream and the batched passes alike --------------------
 * Layer l over nb blocks (T = nb * hs steps), P: the parameters (m->p.params, or a double
 * copy for _d):
 *   xh [hl + T, C]: the layer's input, its first hl = (K - 1) dil rows the steps before
 *      the T (the stream's history; zeros at the start of an utterance);
 *   cond: the layer's frame-rate conditioning, nb + la rows ldc apart, upsampled as
 *      voc_upsample_forward does;
 *   out: h [T, 2C] the gate's activations [tanh(a) | sigmoid(b)], z [T, C] their product,
 *      o [T, C + S] the 1x1's outputs, xn [T, C] the next layer's input (may be the T rows
 *      of xh itself); skip [T, S] has o's skip part ADDED;
 *   qwork (_f only): with m->q8, voc_int8_work_bytes(&m->cfg, T) bytes (4-byte aligned) for the
 *      products in integers; NULL: in float. */
void voc_layer_forward_f(const voc_model *m, const float *P, int l, const float *xh, int nb,
                         const float *cond, int ldc, int la, float *h, float *z, float *o,
                         float *xn, float *skip, void *qwork);
void voc_layer_forward_d(const voc_model *m, const double *P, int l, const double *xh, int nb,
                         const double *cond, int ldc, int la, double *h, double *z, double *o,
                         double *xn, double *skip, void *qwork);
/* Upsampling by linear interpolation, ADDED into h: for block t < n_blocks, step
 * j < hs, row r = t * hs + j:  h[r, 0..n) += (1 - a) P[max(t + la - 1, 0)] + a P[t + la],
 * a = (j + 1) / hs. Rows of h are ldh apart, of P ldp apart; P needs n_blocks + la rows. */
void voc_upsample_forward_f(float *h, int ldh, const float *P, int ldp, int n, int n_blocks,
                            int hs, int la);
void voc_upsample_forward_d(double *h, int ldh, const double *P, int ldp, int n, int n_blocks,
                            int hs, int la);

/* ---- streaming inference ------------------------------------------------------------- */
typedef struct {
    int frames_in;  /* mel frames pushed so far (pads included) */
    uint64_t rng;   /* noise generator (when the caller passes no source) */
    int hs;         /* steps per block */
    nn_conv_state cond_st[VOC_MAX_COND];
    float *hist[VOC_MAX_LAYERS]; /* [(K-1)*dil + hs, C]: a layer's past inputs, then the block */
    float *buf;                  /* everything else, one allocation */
    float *meln, *cact[2], *last_mel;
    float *Pc; /* [2, n_layers * 2C]: the gates' conditioning of the frame before and of
                * the newest frame (the block interpolates between them) */
    float *x, *h, *z, *o, *skip, *a1, *a2, *noise;
    void *qwork; /* the model's int8 products' scratch (NULL: the model has none) */
    /* src 2: the pitch head's convs; F0 / voicing of the frames pushed, by frame f in slot
     * (f + VOC_RING) % VOC_RING (frame -1: the first one's again); the two frames of the
     * block being made (voc_exc_offset); the oscillator's phase; the excitation and the
     * interleaved source of one block */
    nn_conv_state pitch_st[2];
    float *pact[2], rf0[VOC_RING], rv[VOC_RING], f0[2], vprob[2], *exc, *src;
    double phase;
} voc_stream;

/* Allocates the state of one stream of model m (history zeroed, noise seeded). */
int voc_stream_init(voc_stream *s, const voc_model *m, uint64_t seed, tts_err *err);
void voc_stream_free(voc_stream *s);
/* Starts a new utterance (history cleared, noise reseeded) without reallocating. */
void voc_stream_reset(voc_stream *s, const voc_model *m, uint64_t seed);

/* Pushes one mel frame (log-mel, n_mels values). Writes the hop samples of block
 * frames_in - la to pcm and returns hop, or returns 0 while the look-ahead fills.
 * source: the block's source (hop * src values, interleaved as above), or NULL to draw the
 * noise from the stream (and, with src 2, make the excitation from the pitch head). */
int voc_stream_push(const voc_model *m, voc_stream *s, const float *mel_frame,
                    const float *source, float *pcm);
/* Ends the utterance: pads la frames (the last frame repeated) and writes the blocks not
 * yet written (la of them, fewer when fewer frames were pushed) to pcm (room for la * hop);
 * source: their source (la * hop * src values) or NULL. Returns the number of samples
 * written; in all, an utterance of F frames gives F * hop samples. */
int voc_stream_finish(const voc_model *m, voc_stream *s, const float *source, float *pcm);

#endif
