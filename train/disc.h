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
 * cfg.n of them, critic k at period p = cfg.period[k]: the waveform x[n] is read as p
 * sequences, sequence j = x[j], x[j + p], x[j + 2p], ... (HiFi-GAN's multi-period
 * discriminator; p = 1 is the waveform itself), each T = floor(n / p) samples rounded
 * down to a multiple of DISC_HOP, and all p go through the same stack:
 *
 *   layer i: the input [T_i, C_i] read as [T_i / s_i, s_i C_i] (a strided convolution as a
 *            space-to-depth reshape, free in row-major order), a centred convolution of
 *            K_i taps to DISC_CH[i] channels, a leaky ReLU (slope DISC_SLOPE) except on the
 *            last layer, whose one channel is the score of each output step.
 *   strides 4, 4, 4, 1, 1; taps 5, 5, 5, 3, 3; channels 16, 64, 128, 128, 1: one score per
 *   DISC_HOP = 64 steps of a sequence, about 4.7 kMAC per input sample and critic.
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
#define DISC_LAYERS 5     /* layers of each */
#define DISC_HOP 64       /* input samples of a sequence per score (product of strides) */
#define DISC_SLOPE 0.2    /* leaky ReLU */
#define DISC_MAX_PERIOD 64

extern const int DISC_CH[DISC_LAYERS], DISC_STRIDE[DISC_LAYERS], DISC_K[DISC_LAYERS];

typedef struct {
    int n;                 /* critics, 1 .. DISC_MAX */
    int period[DISC_MAX];  /* 1 .. DISC_MAX_PERIOD */
} disc_config;

typedef struct {
    disc_config cfg;
    nn_params p;
    size_t w[DISC_MAX][DISC_LAYERS], b[DISC_MAX][DISC_LAYERS]; /* W[K, s C_in, C_out], b */
} disc_model;

/* Parses "1,2,3,5,7" into cfg; 0, or -1 with a message in err. */
int disc_config_parse(disc_config *cfg, const char *periods, tts_err *err);
/* "1,2,3,5,7": the periods of cfg as disc_config_parse reads them, into buf (size >= 40). */
void disc_periods_str(const disc_config *cfg, char *buf, size_t size);
/* The shortest crop every critic can score: the largest period x DISC_HOP samples. */
int disc_min_samples(const disc_config *cfg);

/* Registers and allocates the critics (with gradients and Adam moments), weights drawn
 * from seed (normal, sd 1 / sqrt(fan-in)), biases 0. */
int disc_init(disc_model *d, const disc_config *cfg, uint64_t seed, tts_err *err);
void disc_free(disc_model *d);

/* The critics and their optimizer state into / from a model file ("kind" = "disc",
 * "disc.periods" = "1,2,..."; tensors "disc.K.L.w" / ".b", "adam.m", "adam.v"). disc_load
 * initializes d from the file (config included) and restores adam when given. */
void disc_to_mf(tts_mf_writer *w, const disc_model *d, const nn_adam *adam);
int disc_load(disc_model *d, const tts_mf *mf, nn_adam *adam, tts_err *err);

typedef struct {
    double d_real, d_fake, adv, fm; /* as above, averaged over the critics */
} disc_loss;

/*
 * One crop: the critics on real[n] (the recording) and fake[n] (the network's output).
 * P: the parameters (d->p.params, or a double copy for _d).
 *   gd != NULL: ADDS scale_d * d(d_real + d_fake)/dP into gd (the critics' step);
 *   dfake != NULL: ADDS scale_g * d(adv_w adv + fm_w fm)/dfake into dfake (the network's
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

#endif
