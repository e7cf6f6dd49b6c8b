/*
 * Text2Mel: the acoustic model (phoneme ids -> log-mel frames).
 *
 * A DCTTS-style attention seq2seq network, fully convolutional:
 *
 *   ids[N] -> Embed -> TextEnc (highway convs, non-causal) -> K[N,d], V[N,d]
 *   previous frames[S, r*n_mels] -> AudioEnc (causal highway convs) -> Q[S,d]
 *   A[S,N] = softmax(Q K^T / sqrt d),  R = A V
 *   [R | Q] -> AudioDec (causal convs) -> frames[S, r*n_mels]
 *   with pitch (pitch_ch > 0):  KV -> PitchPred (centred convs) -> p^[N], one normalized
 *   log-F0 per token (pitch_ctx: [Embed | the prosodic context] -> PitchPred instead);
 *   V += PitchEmb(p) before the attention, so each step's R carries the pitch of the
 *   tokens it attends to
 *   optional post-net: frames[S*r, n_mels] -> + PostNet (centred convs) -> frames
 *
 * Each decoder step emits r mel frames. Training is teacher-forced: step s sees the
 * ground-truth frames of step s-1, so a whole utterance is one batched pass (one GEMM
 * per conv tap). Inference runs the causal stacks step by step with per-layer history
 * and forces the attention to be monotonic.
 *
 * The decoder predicts each step's r frames from the frames before them, so where a
 * phoneme changes inside a step it can only hedge, and its frames come out smeared. The
 * post-net (Tacotron 2 has one) sees the decoded frames on both sides, up to
 * T2M_POST_REACH frames ahead, and adds a correction; inference hands frames on that much
 * later (a few decoder steps, well under 200 ms).
 *
 * Mel frames are handled normalized, (x - mean) / std per band; the statistics are part
 * of the model.
 *
 * Pitch (FastPitch's idea inside this attention model): a decoder trained to predict frames
 * from text alone speaks the corpus's average melody, since a regression loss favours the
 * mean of the intonations a sentence was read with. Given each token's pitch, it need not
 * guess. In training the decoder is fed the recording's pitch per token, read off the
 * teacher-forced attention (t2m_pitch_targets: the attention-weighted mean of the voiced
 * frames' normalized ln F0), and the predictor learns that pitch from the text encoder's
 * output (a squared loss); at inference the predictor supplies it, and a caller may shift
 * it (semitones) or widen its range. Reading the text encoder, the predictor learns the
 * training sentences' pitch rather than what carries over to new text; a voice whose
 * predictor reads each token's embedding and prosodic context (pitch_ctx, prosody.h),
 * fitted after the rest (tts-train pitch), generalizes as well as it fits.
 */
#ifndef TTS_ACOUSTIC_TEXT2MEL_H
#define TTS_ACOUSTIC_TEXT2MEL_H

#include "core/err.h"
#include "nn/arena.h"
#include "nn/layers.h"

typedef struct {
    int n_symbols; /* size of the phoneme symbol table */
    int n_mels;    /* mel bands per frame */
    int r;         /* frames per decoder step */
    int embed_dim; /* phoneme embedding width */
    int text_ch;   /* channels inside the text encoder */
    int d;         /* attention / audio channels */
    int post_ch;   /* channels of the post-net; 0: none (older voices) */
    float attn_sharpen; /* attention logits times this, in training and at inference
                         * (1: plain). A soft attention blends neighbouring phonemes into
                         * each step; sharper, each step speaks its own. Set at export for
                         * a voice trained without it, or trained with it (--attn-sharpen) */
    int pitch_ch;       /* channels of the pitch predictor; 0: no pitch conditioning */
    int pitch_ctx;      /* what the pitch predictor reads: 0, the text encoder's output
                         * [K | V]; 1, each token's phoneme embedding and its prosodic
                         * context (acoustic/prosody.h), which needs the model's symbol
                         * classes (t2m_set_prosody) */
    float lf0_mean, lf0_std; /* the corpus's ln F0 statistics (voiced frames): pitch values
                              * are (ln F0 - lf0_mean) / lf0_std */
    float pitch_range;  /* the predicted pitch's excursions times this by default (> 0; 0 in
                         * a file without the key reads as 1): the predictor regresses to
                         * the mean as the decoder does, so its spread is measured against
                         * the recordings' after training (tts-train export --gv) */
} t2m_config;

/* frames the post-net looks ahead (and back): its half receptive field */
#define T2M_POST_REACH 15

t2m_config t2m_config_default(int n_symbols, int n_mels);

enum { T2M_ACT_NONE, T2M_ACT_RELU, T2M_ACT_HIGHWAY };

typedef struct {
    int cin, cout, K, dil, causal, act; /* for highway, the conv itself outputs 2*cout */
    size_t w, b;                        /* offsets of W[K,cin,conv_out] and b in the parameters */
    const int8_t *q;  /* non-NULL (t2m_from_mf_mapped): W used as stored, int8 codes with   */
    const float *qs;  /* block scales (nn/params_io.h) inside the model file; P + w unused  */
} t2m_conv;

#define T2M_MAX_LAYERS 24
typedef struct {
    int n;
    t2m_conv l[T2M_MAX_LAYERS];
} t2m_stack;

typedef struct {
    t2m_config cfg;
    nn_params p;
    size_t embed; /* offset of E[n_symbols, embed_dim] */
    t2m_stack text, aenc, adec, post; /* post.n == 0: no post-net */
    t2m_stack pitch, pemb;            /* pitch.n == 0: no pitch conditioning */
    float *mel_mean, *mel_std; /* [n_mels] */
    float *hold;               /* NULL, or [n_symbols] (owned): how long the recordings hold
                                * each symbol, in frames (a high percentile of the teacher-
                                * forced attention's holds; 0 where too rare to tell), for the
                                * forced advance at inference. Not a parameter: measured
                                * after training (tts-train export --holds) */
    float *pclass;             /* with pitch_ctx 1: [n_symbols] (owned), each symbol's class
                                * for the prosodic context (T2M_PC_*; t2m_set_prosody) */
    float *gv;                 /* NULL, or the voice's spectral post-filter (t2m_set_gv; owned):
                                * [T2M_GV_DIM] mean cepstrum, [T2M_GV_DIM] gains, then the
                                * cosine basis [T2M_GV_DIM, n_mels] */
} t2m_model;

/*
 * The spectral post-filter (the global-variance post-filter of statistical parametric
 * synthesis). A model trained to regress frames speaks an averaged spectrum: its
 * mel-cepstrum varies less over an utterance than the recordings' (-1.8 dB for the
 * session-5 voice). Each output frame's cepstrum c_d (d = 1 .. T2M_GV_DIM, the orthonormal
 * DCT-II of its log-mel bands) is moved away from the mean cepstrum mu_d by gain g_d:
 * c'_d = mu_d + g_d (c_d - mu_d), so the variance within any utterance grows by g_d^2.
 * c_0 (loudness) and the finer ripple (d > T2M_GV_DIM) are left alone. Frame by frame:
 * it streams. The gains are measured after training (tts-train export --gv).
 */
#define T2M_GV_DIM 24
#define T2M_GV_QUIET 2.0f /* nats below the voice's average level: no post-filter there */
/* Sets (mean, gain: [T2M_GV_DIM] each) or, with NULLs, removes the post-filter. */
int t2m_set_gv(t2m_model *m, const float *mean, const float *gain, tts_err *err);
/* The post-filter on one de-normalized log-mel frame [n_mels], in place (nothing when
 * m->gv is NULL). t2m_synthesize applies it to every frame it hands on. */
void t2m_gv_apply(const t2m_model *m, float *frame);

/* Sets the symbol classes that a model with pitch_ctx 1 reads its prosodic context with,
 * from its symbol table serialized as names separated by '\n' (tts_symtab_serialize).
 * 0, or TTS_E_INVALID (more symbols than the model's) / TTS_E_NOMEM. */
int t2m_set_prosody(t2m_model *m, const char *symbols, size_t len, tts_err *err);

/* Registers every tensor (names, shapes, offsets) without allocating anything. */
int t2m_layout(t2m_model *m, const t2m_config *cfg, tts_err *err);

/* Registers every tensor and allocates parameters (+ gradients and Adam moments when
 * for_training). Weights are initialized randomly from seed; seed 0 leaves them 0 (for a
 * model about to be loaded: t2m_from_mf). */
int t2m_init(t2m_model *m, const t2m_config *cfg, int for_training, uint64_t seed, tts_err *err);
void t2m_free(t2m_model *m);

/* ---- training ----------------------------------------------------------------------
 * Built into tts-train (acoustic/text2mel_train.c), not the library: t2m_train_utterance,
 * t2m_pitch_targets, t2m_predict_pitch and t2m_postnet. */

/* Per-thread scratch memory, grown on demand, reset per utterance. */
typedef nn_arena t2m_arena;
void t2m_arena_free(t2m_arena *a);

typedef struct {
    double l1, guided, total; /* losses of the utterance (weighted as in the total); l1 is
                               * the L1 of the output frames (after the post-net) */
    double l1_pre;            /* L1 of the decoder's frames before the post-net (== l1
                               * without one); the total has both */
    double delta;             /* the frame-change terms: delta_weight x their L1 plus
                               * var_weight x delta_var_loss (0 without); in the total */
    double gv;                /* gv_weight x the output's cepstral global-variance loss (0
                               * without); in the total */
    double pitch;             /* pitch_weight x the predictor's mean squared error over
                               * the tokens (0 without pitch); in the total */
    double extra;             /* the caller's frame loss (t2m_train_opts.frame_loss; 0
                               * without); in the total */
    int n_steps, n_tokens;
} t2m_loss;

typedef struct {
    float guided_weight; /* weight of the guided-attention loss */
    float guided_g;      /* its width g (DCTTS: 0.2) */
    float input_dropout; /* dropout on teacher-forced decoder input frames */
    float layer_dropout; /* dropout on the input of every conv (not the highway carry);
                          * applied whenever > 0, also without grads: zero it to validate */
    float self_feed;     /* share of decoder steps whose input is the model's own (no-grad)
                          * prediction of the step before, not the recording; 1: every
                          * step (deterministic: a validation closer to inference) */
    int self_feed_passes; /* > 1: the first pass is chained this many times, each reading
                           * the previous one's predictions on the fed steps: frames made
                           * from frames made from frames, as at inference (0 or 1: once) */
    int use_l2;          /* mean squared error instead of L1 on the frames (smooth: tests) */
    float delta_weight;  /* > 0: plus this times the L1 of the output frames' frame-to-frame
                          * changes against the target's (delta_l1_loss: the trajectories
                          * must move as fast as speech's, not just pass near its frames) */
    float var_weight;    /* > 0: plus this times delta_var_loss of the output frames: as
                          * much frame-to-frame change per band over the utterance as the
                          * target has, wherever it falls */
    float gv_weight;     /* > 0: plus this times gv_loss of the output frames' mel-cepstrum
                          * c_1..c_24 over the recording's speech frames: the spectral
                          * detail of speech, which a frame-wise fit averages away */
    float *pred;         /* optional: receives the predicted frames [F, n_mels] (normalized,
                          * as the target): teacher-forced mels for fine-tuning a vocoder */
    /* a model with pitch: the pitch fed to the decoder, per token, is pitch_tok [N] when
     * given, else read from the frames' lf0 [F] (normalized ln F0, NaN where unvoiced)
     * along this pass's attention (t2m_pitch_targets, held constant in the backward pass),
     * else the predictor's own (as at inference). The predictor learns the fed pitch,
     * weighted by pitch_weight. */
    const float *pitch_tok;
    const float *lf0;
    float pitch_weight;
    float pitch_dropout;  /* > 0: the predictor's dropout instead of layer_dropout (only
                           * where layer_dropout is on: training, not validation) */
    /* optional: a loss of the caller's on the output frames (tts-train's critic of frames).
     * Called once per utterance with the output frames y[T, n_mels] and the target
     * Y[F, n_mels] (both normalized, F <= T); when dy != NULL it ADDS scale x d(loss)/dy
     * into dy[T, n_mels]. Puts the loss (unscaled) in *loss; returns 0 or an error code. */
    int (*frame_loss)(void *ctx, float *dy, const float *y, const float *Y, int T, int F,
                      double scale, double *loss);
    void *frame_loss_ctx;
} t2m_train_opts;

/* The predictor's pitch of each token, out[N] (a model with pitch; ar: scratch, reset).
 * 0 or TTS_E_NOMEM / TTS_E_INVALID. */
int t2m_predict_pitch(const t2m_model *m, const int *ids, int N, float *out, t2m_arena *ar);

/* The pitch predictor's input for ids[N] into X [N, m->pitch.l[0].cin] (a model with
 * pitch; no dropout; ar: scratch, reset). 0 or TTS_E_NOMEM / TTS_E_INVALID. */
int t2m_pitch_inputs(const t2m_model *m, const int *ids, int N, float *X, t2m_arena *ar);

/* The pitch predictor alone on its input X [N, cin] (t2m_pitch_inputs) against
 * target [N]: *loss = the mean squared error over the tokens; with grads != NULL (training,
 * dropout p_drop on its convs' inputs) d(loss)/d(the predictor's weights) ADDED into grads;
 * out (optional) [N] receives the prediction. ar: scratch, reset. 0 or an error code. */
int t2m_pitch_fit(const t2m_model *m, float *grads, const float *X, int N, const float *target,
                  float p_drop, uint64_t *rng, t2m_arena *ar, float *out, double *loss);

/* Each token's pitch from frames: out[n] = sum_s A[s,n] sum_{voiced f of step s} lf0[f] /
 * sum_s A[s,n] (voiced frames of step s), over the S steps of r frames (frame f = s r + j,
 * f < F) of attention A[S, N]; lf0 NaN marks an unvoiced frame. A token that holds less
 * than half a voiced frame of attention gets 0 (the mean pitch). */
void t2m_pitch_targets(const float *A, int S, int N, int r, const float *lf0, int F, float *out);

/*
 * One utterance, forward and (if grads != NULL) backward. mel[F, n_mels] is the
 * normalized target. Gradients are ADDED into grads (a buffer mirroring m->p.params),
 * scaled by grad_scale. If align != NULL it receives the attention A[S, N].
 */
int t2m_train_utterance(const t2m_model *m, const int *ids, int N, const float *mel, int F,
                        const t2m_train_opts *o, float *grads, float grad_scale, uint64_t *rng,
                        t2m_arena *ar, t2m_loss *loss, float *align);

/* The post-net over normalized frames x[T, n_mels] as one batch: y = x + PostNet(x),
 * with zeros beyond both ends as in training. y may not alias x. Without a post-net, a
 * copy. (Synthesis streams the post-net inside t2m_synthesize.) */
int t2m_postnet(const t2m_model *m, const float *x, int T, float *y, t2m_arena *ar);

/* ---- inference ------------------------------------------------------------------- */

/* Receives each decoder step's r frames (de-normalized log-mel, [r, n_mels]) and the
 * attended token position; returns non-zero to stop. With a post-net the frames of a
 * step come once its last frame has been through the post-net, T2M_POST_REACH frames
 * after it was decoded, still in order and each with its own step's token. */
typedef int (*t2m_frame_cb)(const float *frames, int r, int attended_token, void *user);

typedef struct {
    int window_back, window_ahead; /* monotonic window around the last attended token */
    int max_stay;                  /* forced advance: after this many steps on one token the
                                    * window starts one token further (0 = never) */
    float quiet_margin;            /* end of speech: once at the last two tokens (final pause,
                                    * end token), two steps whose frames are all quieter than
                                    * the model's mean energy minus this (log units) end it;
                                    * <= 0: off */
    int max_steps_per_token;       /* hard cap: steps <= max_steps_per_token * N + 10 */
    int max_steps;                 /* absolute cap, 0 = none */
    float attn_sharpen;            /* attention logits times this (> 0; see t2m_config) */
    int max_stay_passable;         /* the forced advance on a passable token (0 = max_stay) */
    const unsigned char *passable; /* NULL, or per symbol id (n_symbols): 1 for tokens with
                                    * no sound of their own (stress and length marks, the
                                    * word boundary; tts_symtab_passable). The window then
                                    * reaches past those to the next token that has one
                                    * (at most T2M_MAX_AHEAD tokens ahead), so it can pass
                                    * over a mark without being able to skip a sound */
    const float *hold;             /* NULL, or per symbol id: frames the recordings hold it
                                    * (t2m_model.hold); with hold_scale > 0 the forced advance
                                    * on a token with hold[id] > 0 comes after hold_scale *
                                    * hold[id] frames (at least T2M_MIN_HOLD), if that is
                                    * sooner than max_stay */
    float hold_scale;
    float pitch_shift;             /* with pitch: semitones added to the predicted pitch */
    float pitch_range;             /* with pitch: its excursions from the mean times this
                                    * (> 0; 1: as predicted) */
    const float *pitch_tok;        /* NULL, or [N]: each token's pitch (normalized ln F0, as
                                    * the predictor's) in place of the predictor's; shift and
                                    * range apply to it the same way */
} t2m_infer_opts;

/* the shortest hold before a forced advance by the per-symbol holds, in frames; the
 * default hold_scale */
#define T2M_MIN_HOLD 6
#define T2M_HOLD_SCALE 1.5f

#define T2M_MAX_AHEAD 4

/* The defaults for model m: the limits are times, counted in m's steps, the attention
 * sharpening and the holds are the voice's own; passable is NULL (the caller knows the
 * symbols). */
t2m_infer_opts t2m_infer_opts_default(const t2m_model *m);

/* The steps the attention may stay on a token of symbol id (of a model with r frames per
 * step) before the forced advance moves it on; 0: never. */
int t2m_stay_limit(const t2m_infer_opts *o, int id, int r);

/*
 * Synthesizes frames for ids[N] step by step, calling cb as each step is decoded.
 * Returns the number of steps (>= 0) or a negative status. align (optional,
 * [max_steps_cap, N]) receives the attention rows; *stop_reason says why it stopped
 * (0 = passed the end token, 1 = length cap, 2 = callback).
 */
int t2m_synthesize(const t2m_model *m, const int *ids, int N, const t2m_infer_opts *o,
                   t2m_frame_cb cb, void *user, float *align, int *stop_reason, tts_err *err);

#endif
