/*
 * The vocoder's discriminators (training only): least-squares GAN (LSGAN) critics of
 * 16 kHz waveforms, as the adversarial part of the vocoder's loss (tts-train vocoder
 * --adv-weight). The STFT and mel terms teach the network the spectrum frame by frame;
 * what they cannot see is the fine structure within a frame (how periodic, how noisy,
 * the phase), which is where the vocoder's output on the acoustic model's smooth frames
 * still falls short of Griffin-Lim in recognition. A critic that tells recorded speech
 * from the network's output supplies that signal (Parallel WaveGAN, MelGAN, HiFi-GAN).
 *
 * ---- The critics ------------------------------------------------------------------------
 * cfg.n of them, critic k at period p = cfg.period[k]: the input x[n, C] (C = cfg.in_ch
 * values per step: 1 for a waveform) is read as p sequences, sequence j = x[j], x[j + p],
 * x[j + 2p], ... (HiFi-GAN's multi-period discriminator; p = 1 is the input itself), each
 * T = floor(n / p) steps rounded down to a multiple of the hop (disc_hop: the product of
 * the strides), and all p go through the same stack:
 *
 *   layer i: the input [T_i, C_i] read as [T_i / s_i, s_i C_i] (a strided convolution as a
 *            space-to-depth reshape, free in row-major order), a centred convolution of
 *            K_i taps to ch_i channels, a leaky ReLU (slope DISC_SLOPE) except on the
 *            last layer, whose one channel is the score of each output step.
 *
 * Two layouts:
 *   waveform (disc_config_parse; the vocoder's): C 1; strides 4, 4, 4, 1, 1; taps 5, 5, 5,
 *     3, 3; channels 16, 64, 128, 128, 1: one score per 64 samples of a sequence, about
 *     4.7 kMAC per input sample and critic.
 *   frames (disc_config_frames; the acoustic model's, tts-train acoustic --adv-weight):
 *     C n_mels, period 1; strides 1, 2, 2, 1, 1; taps 5, 5, 5, 3, 3; channels 128, 128,
 *     128, 128, 1: one score per 4 frames, seeing about 45 frames (0.5 s) around them.
 *
 * ---- The losses (LSGAN, HiFi-GAN's feature matching) ------------------------------------
 * With o = the scores and f_l = the outputs of layer l < last, each averaged over its
 * elements (all sequences of a critic), then over the critics:
 *   critic:  d_real = mean (o(real) - 1)^2,  d_fake = mean o(fake)^2;  D loss = their sum
 *   network: adv = mean (o(fake) - 1)^2,     fm = mean over layers of mean |f_l(fake) - f_l(real)|
 * The network's term is adv_w adv + fm_w fm (the real features held fixed).
 *
 * Written once over the real type as the vocoder is (disc_impl.h): float for training,
 * double for the gradient tests. Thread safety: a disc_model is read-only in
 * disc_crop_*, each thread with its own arena and gradient buffers.
 */
#ifndef TTS_TRAIN_DISC_H
#define TTS_TRAIN_DISC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "nn/arena.h"
#include "nn/layers.h"
#include "nn/modelfile.h"

#define DISC_MAX 8        /* critics */
#define DISC_MAX_LAYERS 8 /* layers of each */
#define DISC_SLOPE 0.2    /* leaky ReLU */
#define DISC_MAX_PERIOD 64
#define DISC_MAX_IN 512   /* values per input step */

typedef struct {
    int n;                 /* critics, 1 .. DISC_MAX */
    int period[DISC_MAX];  /* 1 .. DISC_MAX_PERIOD */
    int in_ch;             /* values per input step, 1 .. DISC_MAX_IN */
    int n_layers;          /* 2 .. DISC_MAX_LAYERS */
    int ch[DISC_MAX_LAYERS], stride[DISC_MAX_LAYERS], k[DISC_MAX_LAYERS]; /* ch[last] == 1 */
} disc_config;

typedef struct {
    disc_config cfg;
    nn_params p;
    size_t w[DISC_MAX][DISC_MAX_LAYERS], b[DISC_MAX][DISC_MAX_LAYERS]; /* W[K, s C_in, C_out], b */
} disc_model;

/* The waveform critics at the periods "1,2,3,5,7" into cfg; 0, or TTS_E_INVALID with a
 * message in err. */
int disc_config_parse(disc_config *cfg, const char *periods, tts_err *err);
/* One critic of frames of n_mels values (the layout above). */
void disc_config_frames(disc_config *cfg, int n_mels);
/* "1,2,3,5,7": the periods of cfg as disc_config_parse reads them, into buf (size >= 40). */
void disc_periods_str(const disc_config *cfg, char *buf, size_t size);
/* Input steps of a sequence per score: the product of the strides. */
int disc_hop(const disc_config *cfg);
/* The shortest crop (input steps) every critic can score: the largest period x the hop. */
int disc_min_samples(const disc_config *cfg);

/* Registers and allocates the critics (with gradients and Adam moments), weights drawn
 * from seed (normal, sd 1 / sqrt(fan-in)), biases 0. */
int disc_init(disc_model *d, const disc_config *cfg, uint64_t seed, tts_err *err);
void disc_free(disc_model *d);

/* The critics and their optimizer state into / from a model file ("kind" = "disc",
 * "disc.periods" = "1,2,...", "disc.layers" = "C;s:k:ch,s:k:ch,..." (absent: the waveform
 * layout); tensors "disc.K.L.w" / ".b", "adam.m", "adam.v"). disc_load initializes d from
 * the file (config included) and restores adam when given. */
void disc_to_mf(tts_mf_writer *w, const disc_model *d, const nn_adam *adam);
int disc_load(disc_model *d, const tts_mf *mf, nn_adam *adam, tts_err *err);
/* disc_to_mf into a file of its own at path: 0, or an error with a message. */
int disc_save(const char *path, const disc_model *d, const nn_adam *adam, tts_err *err);

typedef struct {
    double d_real, d_fake, adv, fm; /* as above, averaged over the critics */
} disc_loss;

/*
 * One crop: the critics on real[n, C] (the recording) and fake[n, C] (the network's output).
 * P: the parameters (d->p.params, or a double copy for _d).
 *   gd != NULL: ADDS scale_d * d(d_real + d_fake)/dP into gd (the critics' step);
 *   dfake != NULL: ADDS scale_g * d(adv_w adv + fm_w fm)/dfake into dfake[n, C] (the network's
 *   step), using gscratch (d->p.count values, overwritten) for the parameter gradients
 *   that pass does not need.
 * ar: scratch (reset and grown). Returns 0, or TTS_E_INVALID when n is shorter than
 * disc_min_samples, or TTS_E_NOMEM.
 */
int disc_crop_f(const disc_model *d, const float *P, const float *real, const float *fake,
                int n, float *gd, double scale_d, float *dfake, double adv_w, double fm_w,
                double scale_g, float *gscratch, nn_arena *ar, disc_loss *out);
int disc_crop_d(const disc_model *d, const double *P, const double *real, const double *fake,
                int n, double *gd, double scale_d, double *dfake, double adv_w, double fm_w,
                double scale_g, double *gscratch, nn_arena *ar, disc_loss *out);

/* ---- A trainer's side -------------------------------------------------------------------
 * One worker thread's share of a training step with critics: the critics read-only, their
 * gradient summed over the worker's crops, the losses likewise. */
typedef struct {
    const disc_model *disc;
    float *grads;   /* the critics' gradient (NULL: they do not learn in this pass) */
    float *scratch; /* disc->p.count values: gradients the network's pass does not need */
    nn_arena ar;
    disc_loss sum;  /* over the crops since the caller last zeroed it */
} disc_worker;

/* The critics on one crop for w: they learn (into w->grads, times scale_d) when w->grads is
 * set; when dfake is given and adv_w or fm_w > 0, ADDS scale_g x the network's gradient
 * into dfake. *loss = adv_w adv + fm_w fm. A crop shorter than disc_min_samples is skipped
 * (loss 0, nothing added). 0 or TTS_E_NOMEM. */
int disc_worker_crop(disc_worker *w, const float *real, const float *fake, int n, double scale_d,
                     float *dfake, double adv_w, double fm_w, double scale_g, double *loss);
/* Readies w for a pass over d: learning zeroes (allocating) its gradient, else hands it
 * none. 0 or TTS_E_NOMEM. */
int disc_worker_begin(disc_worker *w, const disc_model *d, int learning);
void disc_worker_free(disc_worker *w);

/* A run's critics: resumed from path with their optimizer state when the file exists
 * (*resumed = 1), else new from cfg and seed. 0, or an error with a message. */
int disc_resume_or_init(disc_model *d, nn_adam *adam, const char *path, const disc_config *cfg,
                        uint64_t seed, int *resumed, tts_err *err);

#endif
