/* The vocoder's model: its configuration, tensors and their initialization (vocoder.h);
 * the stream that runs it is vocoder/stream.c. */
#include "vocoder/vocoder.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

voc_config voc_config_default(int n_mels, int hop)
{
    voc_config c = {.n_mels = n_mels, .hop = hop, .fold = 4, .res_ch = 48, .skip_ch = 64,
                    .n_layers = 16, .dil_cycle = 8, .kernel = 2, .cond_ch = 64,
                    .cond_layers = 2, .cond_kernel = 3, .lookahead = 1, .sample_rate = 16000,
                    .src = 2, .env_passes = 2,
                    .frame_sharpen = 0, .frame_sharpen_w = 5};
    return c;
}

static int check_config(const voc_config *c, tts_err *err)
{
#define BAD(cond, what)                                                                            \
    if (cond)                                                                                      \
        return tts_seterr(err, TTS_E_FORMAT, "vocoder: implausible hyper-parameter: %s", what);
    BAD(c->n_mels < 1 || c->n_mels > 1024, "n_mels")
    BAD(c->hop < 1 || c->hop > 4096, "hop")
    BAD(c->fold < 1 || c->fold > c->hop || c->hop % c->fold != 0, "fold (must divide hop)")
    BAD(c->res_ch < 1 || c->res_ch > 1024, "res_ch")
    BAD(c->skip_ch < 1 || c->skip_ch > 1024, "skip_ch")
    BAD(c->n_layers < 1 || c->n_layers > VOC_MAX_LAYERS, "n_layers")
    BAD(c->dil_cycle < 1 || c->dil_cycle > 14, "dil_cycle")
    BAD(c->kernel < 1 || c->kernel > 8, "kernel")
    BAD(c->cond_ch < 1 || c->cond_ch > 1024, "cond_ch")
    BAD(c->cond_layers < 1 || c->cond_layers > VOC_MAX_COND, "cond_layers")
    BAD(c->cond_kernel < 1 || c->cond_kernel > 9, "cond_kernel")
    BAD(c->lookahead < 0 || c->lookahead > 4, "lookahead")
    BAD(c->src < 1 || c->src > 2, "src (1 or 2)")
    BAD(c->env_passes < 0 || c->env_passes > TTS_ENVMATCH_MAX_PASSES, "env_passes")
    BAD(!tts_sharpen_valid(c->frame_sharpen, c->frame_sharpen_w),
        "frame_sharpen, frame_sharpen_w (amount 0 .. 4, odd width 3 .. 31)")
    BAD(c->sample_rate < 1000 || c->sample_rate > 192000, "sample_rate")
#undef BAD
    return TTS_OK;
}

int voc_receptive_field(const voc_config *c)
{
    long rf = 1;
    for (int l = 0; l < c->n_layers; l++)
        rf += (long)(c->kernel - 1) << (l % c->dil_cycle);
    return (int)(rf * c->fold);
}

int voc_cond_receptive_field(const voc_config *c)
{
    return 1 + c->cond_layers * (c->cond_kernel - 1) + 1;
}

double voc_flops_per_sample(const voc_config *c)
{
    double C = c->res_ch, S = c->skip_ch, L = c->n_layers, F = c->fold, K = c->kernel;
    double per_step = F * c->src * C + L * (K * C * 2 * C + C * (C + S)) + S * S + S * F;
    double per_frame = (double)c->cond_kernel * c->n_mels * c->cond_ch +
                       (c->cond_layers - 1.0) * c->cond_kernel * c->cond_ch * c->cond_ch +
                       c->cond_ch * L * 2 * C;
    if (c->src == 2)
        per_frame += (double)VOC_PITCH_K * (c->n_mels + VOC_PITCH_CH) * VOC_PITCH_CH +
                     VOC_PITCH_CH * 2;
    return 2 * (per_step / F + per_frame / c->hop);
}

/* ---- parameters ---------------------------------------------------------------------- */

static size_t add(nn_params *p, const char *name, int ndim, int64_t a, int64_t b, int64_t c)
{
    int64_t shape[3] = {a, b, c};
    return nn_params_add(p, name, ndim, shape);
}

static void build(voc_model *m)
{
    const voc_config *c = &m->cfg;
    nn_params *p = &m->p;
    int C = c->res_ch, S = c->skip_ch, L = c->n_layers, F = c->fold, Cc = c->cond_ch;
    char name[64];
    for (int i = 0; i < c->cond_layers; i++) {
        m->cond[i].cin = i ? Cc : c->n_mels;
        snprintf(name, sizeof name, "vocoder.cond.%d.w", i);
        m->cond[i].w = add(p, name, 3, c->cond_kernel, m->cond[i].cin, Cc);
        snprintf(name, sizeof name, "vocoder.cond.%d.b", i);
        m->cond[i].b = add(p, name, 1, Cc, 0, 0);
    }
    m->cproj = add(p, "vocoder.cond.proj", 2, Cc, (int64_t)L * 2 * C, 0);
    m->in_w = add(p, "vocoder.in.w", 2, (int64_t)F * c->src, C, 0);
    m->in_b = add(p, "vocoder.in.b", 1, C, 0, 0);
    for (int l = 0; l < L; l++) {
        m->layer[l].dil = 1 << (l % c->dil_cycle);
        snprintf(name, sizeof name, "vocoder.layer.%d.conv.w", l);
        m->layer[l].cw = add(p, name, 3, c->kernel, C, 2 * C);
        snprintf(name, sizeof name, "vocoder.layer.%d.conv.b", l);
        m->layer[l].cb = add(p, name, 1, 2 * C, 0, 0);
        snprintf(name, sizeof name, "vocoder.layer.%d.out.w", l);
        m->layer[l].ow = add(p, name, 2, C, C + S, 0);
        snprintf(name, sizeof name, "vocoder.layer.%d.out.b", l);
        m->layer[l].ob = add(p, name, 1, C + S, 0, 0);
    }
    m->post0_w = add(p, "vocoder.post.0.w", 2, S, S, 0);
    m->post0_b = add(p, "vocoder.post.0.b", 1, S, 0, 0);
    m->post1_w = add(p, "vocoder.post.1.w", 2, S, F, 0);
    m->post1_b = add(p, "vocoder.post.1.b", 1, F, 0, 0);
    if (c->src == 2)
        for (int i = 0; i < 3; i++) {
            int K = i < 2 ? VOC_PITCH_K : 1, cout = i < 2 ? VOC_PITCH_CH : 2;
            m->pitch[i].cin = i ? VOC_PITCH_CH : c->n_mels;
            snprintf(name, sizeof name, "vocoder.pitch.%d.w", i);
            m->pitch[i].w = add(p, name, 3, K, m->pitch[i].cin, cout);
            snprintf(name, sizeof name, "vocoder.pitch.%d.b", i);
            m->pitch[i].b = add(p, name, 1, cout, 0, 0);
        }
    add(p, "vocoder.mel_mean", 1, c->n_mels, 0, 0);
    add(p, "vocoder.mel_std", 1, c->n_mels, 0, 0);
}

static void init_normal(float *P, size_t off, size_t n, double sd, uint64_t *rng)
{
    for (size_t j = 0; j < n; j++)
        P[off + j] = (float)(sd * nn_rand_normal(rng));
}

int voc_layout(voc_model *m, const voc_config *cfg, tts_err *err)
{
    memset(m, 0, sizeof *m);
    int rc = check_config(cfg, err);
    if (rc)
        return rc;
    m->cfg = *cfg;
    build(m);
    if (m->p.overflow)
        return tts_seterr(err, TTS_E_INTERNAL, "vocoder: too many tensors");
    return TTS_OK;
}

/* random weights from seed (fan-in scaled normals; biases 0) */
static void init_weights(voc_model *m, uint64_t seed)
{
    const voc_config *c = &m->cfg;
    int C = c->res_ch, S = c->skip_ch, L = c->n_layers, F = c->fold, Cc = c->cond_ch;
    float *P = m->p.params;
    uint64_t rng = seed;
    for (int i = 0; i < c->cond_layers; i++)
        init_normal(P, m->cond[i].w, (size_t)c->cond_kernel * m->cond[i].cin * Cc,
                    sqrt(1.0 / (c->cond_kernel * m->cond[i].cin)), &rng);
    init_normal(P, m->cproj, (size_t)Cc * L * 2 * C, sqrt(1.0 / Cc), &rng);
    init_normal(P, m->in_w, (size_t)F * c->src * C, sqrt(1.0 / (F * c->src)), &rng);
    for (int l = 0; l < L; l++) {
        init_normal(P, m->layer[l].cw, (size_t)c->kernel * C * 2 * C, sqrt(1.0 / (c->kernel * C)),
                    &rng);
        init_normal(P, m->layer[l].ow, (size_t)C * (C + S), sqrt(1.0 / C), &rng);
    }
    init_normal(P, m->post0_w, (size_t)S * S, sqrt(2.0 / S), &rng);
    init_normal(P, m->post1_w, (size_t)S * F, 0.1 * sqrt(1.0 / S), &rng);
    if (c->src == 2)
        for (int i = 0; i < 3; i++) {
            int K = i < 2 ? VOC_PITCH_K : 1, cout = i < 2 ? VOC_PITCH_CH : 2;
            init_normal(P, m->pitch[i].w, (size_t)K * m->pitch[i].cin * cout,
                        sqrt((i < 2 ? 2.0 : 0.1) / (K * m->pitch[i].cin)), &rng);
        }
}

int voc_init(voc_model *m, const voc_config *cfg, int for_training, uint64_t seed, tts_err *err)
{
    int rc = voc_layout(m, cfg, err);
    if (rc)
        return rc;
    if (nn_params_alloc_for(&m->p, for_training))
        return tts_seterr(err, TTS_E_NOMEM, "vocoder: out of memory");
    if (seed) /* 0: left 0, for a model about to be loaded (voc_from_mf) */
        init_weights(m, seed);
    const voc_config *c = &m->cfg;
    float *P = m->p.params;
    m->audio = tts_audio_cfg_default();
    m->audio.n_mels = c->n_mels;
    m->audio.hop_length = c->hop;
    m->audio.sample_rate = c->sample_rate;
    m->mel_mean = P + nn_params_find(&m->p, "vocoder.mel_mean")->offset;
    m->mel_std = P + nn_params_find(&m->p, "vocoder.mel_std")->offset;
    m->n_trainable = (size_t)(m->mel_mean - P);
    for (int i = 0; i < c->n_mels; i++)
        m->mel_std[i] = 1;
    return TTS_OK;
}

void voc_free(voc_model *m)
{
    nn_params_free(&m->p);
    free(m->q8);
    free(m->q8_buf);
    m->q8 = NULL;
    m->q8_buf = NULL;
    m->mel_mean = m->mel_std = NULL;
}

void voc_pitch_decode(const float *out, int n, float *f0, float *voiced)
{
    for (int t = 0; t < n; t++) {
        float lf = VOC_LOGF0_MEAN + VOC_LOGF0_SCALE * out[2 * t];
        lf = lf < 3.4f ? 3.4f : lf > 6.9f ? 6.9f : lf; /* 30 .. 1000 Hz */
        f0[t] = expf(lf);
        float z = out[2 * t + 1];
        voiced[t] = z >= 0 ? 1 / (1 + expf(-z)) : expf(z) / (1 + expf(z));
    }
}
