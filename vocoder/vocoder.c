#include "vocoder/vocoder.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels.h"
#include "vocoder/pitch.h"

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
    BAD(c->src < 1 || c->src > 4, "src (1 .. 4)")
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
    if (c->src >= 2)
        per_frame += (double)VOC_PITCH_K * (c->n_mels + VOC_PITCH_CH) * VOC_PITCH_CH +
                     VOC_PITCH_CH * 2;
    if (c->src >= 4) /* the noise grain's inverse real FFT of 2 hop points, one per frame */
        per_frame += 1.25 * 2 * c->hop * log2(2.0 * c->hop);
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
    if (c->src >= 2)
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
    if (c->src >= 2)
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
    m->mel_mean = m->mel_std = NULL;
}

/* ---- scratch memory ------------------------------------------------------------------ */

#define arena_take nn_arena_take
#define arena_reserve nn_arena_reserve

void voc_arena_free(voc_arena *a)
{
    nn_arena_free(a);
}

/* bytes of one batched pass over nb blocks (forward, + backward) */
static size_t pass_bytes(const voc_config *c, int nb, int backward, const voc_stft_loss *L,
                         size_t elem)
{
    (void)L;
    size_t C = c->res_ch, S = c->skip_ch, NL = c->n_layers, F = c->fold, Cc = c->cond_ch;
    size_t hs = c->hop / c->fold, T = (size_t)nb * hs, Tf = (size_t)nb + c->lookahead;
    size_t L2C = NL * 2 * C;
    size_t n = Tf * (c->n_mels + 2 * c->cond_layers * Cc + L2C) +
               T * (C + S + NL * (2 * C + C + (C + S) + C) + 3 * S + 2 * F);
    if (backward)
        n += T * (4 * S + 2 * C + (C + S) + C + 2 * C) + Tf * (L2C + 3 * Cc);
    return n * elem + 64 * (8 * NL + 64);
}

static size_t loss_bytes(const voc_stft_loss *L, int n, size_t elem)
{
    size_t most = 0;
    for (int r = 0; r < L->n_res; r++) {
        const voc_stft_res *rs = &L->res[r];
        if (n < rs->win)
            continue;
        size_t nfr = 1 + (size_t)(n - rs->win) / rs->hop, nb2 = 2 * (size_t)(rs->n_fft / 2 + 1);
        size_t k = nfr * rs->win * 2 + nfr * nb2 * 2 + nfr * nb2;
        most = k > most ? k : most;
    }
    const voc_stft_res *ms = &L->mel_res;
    if (L->mel_weight > 0 && n >= ms->win) {
        size_t nfr = 1 + (size_t)(n - ms->win) / ms->hop, nbin = (size_t)(ms->n_fft / 2 + 1);
        size_t k = nfr * (ms->win + 3 * nbin + (size_t)L->mel_bands);
        most = k > most ? k : most;
    }
    return most * elem + 64 * 8;
}

/* the windowed DFT basis of one resolution, in float and (with_double) double */
static int make_basis(const voc_stft_res *s, int with_double, float **bf, double **bd)
{
    int nb = s->n_fft / 2 + 1;
    size_t cnt = (size_t)s->win * 2 * nb;
    *bf = malloc(cnt * sizeof(float));
    *bd = with_double ? malloc(cnt * sizeof(double)) : NULL;
    if (!*bf || (with_double && !*bd))
        return TTS_E_NOMEM;
    for (int n = 0; n < s->win; n++) {
        double w = 0.5 - 0.5 * cos(2 * M_PI * n / s->win); /* periodic Hann */
        for (int k = 0; k < nb; k++) {
            /* exact phase: (k n) mod n_fft keeps the argument small */
            double ph = 2 * M_PI * (double)(((long)k * n) % s->n_fft) / s->n_fft;
            double re = w * cos(ph), im = -w * sin(ph);
            size_t j = ((size_t)n * nb + k) * 2;
            (*bf)[j] = (float)re;
            (*bf)[j + 1] = (float)im;
            if (with_double) {
                (*bd)[j] = re;
                (*bd)[j + 1] = im;
            }
        }
    }
    return TTS_OK;
}

/* ---- the STFT loss's DFT bases --------------------------------------------------------- */

int voc_stft_loss_init(voc_stft_loss *L, const voc_stft_res *res, int n_res, int with_double,
                       tts_err *err)
{
    static const voc_stft_res def[3] = {{512, 80, 400}, {1024, 160, 800}, {256, 40, 160}};
    memset(L, 0, sizeof *L);
    if (!res) {
        res = def;
        n_res = 3;
    }
    if (n_res < 1 || n_res > VOC_MAX_RES)
        return tts_seterr(err, TTS_E_INVALID, "vocoder loss: %d resolutions (1 .. %d)", n_res,
                          VOC_MAX_RES);
    for (int r = 0; r < n_res; r++) {
        const voc_stft_res *s = &res[r];
        if (s->n_fft < 2 || s->n_fft > 8192 || s->win < 1 || s->win > s->n_fft || s->hop < 1 ||
            s->hop > s->win)
            return tts_seterr(err, TTS_E_INVALID,
                              "vocoder loss: bad resolution (n_fft %d, hop %d, win %d)", s->n_fft,
                              s->hop, s->win);
    }
    L->n_res = n_res;
    L->stft_weight = 1;
    for (int r = 0; r < n_res; r++) {
        const voc_stft_res *s = &res[r];
        L->res[r] = *s;
        if (make_basis(s, with_double, &L->basis_f[r], &L->basis_d[r])) {
            voc_stft_loss_free(L);
            return tts_seterr(err, TTS_E_NOMEM, "vocoder loss: out of memory");
        }
    }
    return TTS_OK;
}

/* drops the log-mel term (its bases and filterbank) */
static void mel_free(voc_stft_loss *L)
{
    free(L->mel_basis_f);
    free(L->mel_basis_d);
    free(L->fb_f);
    free(L->fb_d);
    L->mel_basis_f = L->fb_f = NULL;
    L->mel_basis_d = L->fb_d = NULL;
    L->mel_weight = 0;
}

int voc_stft_loss_set_mel(voc_stft_loss *L, const float *fb, int bands, int n_fft, int win,
                          int hop, float floor, double weight, int with_double, tts_err *err)
{
    if (!L || !fb || bands < 1 || n_fft < 2 || n_fft > 8192 || win < 2 || win > n_fft ||
        hop < 1 || (win / 2) % hop != 0 || !(floor > 0) || !(weight >= 0))
        return tts_seterr(err, TTS_E_INVALID,
                          "vocoder mel loss: bad settings (n_fft %d, win %d, hop %d, %d bands)",
                          n_fft, win, hop, bands);
    mel_free(L);
    L->mel_res = (voc_stft_res){n_fft, hop, win};
    L->mel_bands = bands;
    L->mel_off = win / 2 / hop;
    L->mel_floor = floor;
    size_t nfb = (size_t)bands * (n_fft / 2 + 1);
    L->fb_f = malloc(nfb * sizeof(float));
    L->fb_d = with_double ? malloc(nfb * sizeof(double)) : NULL;
    if (!L->fb_f || (with_double && !L->fb_d) ||
        make_basis(&L->mel_res, with_double, &L->mel_basis_f, &L->mel_basis_d))
        return tts_seterr(err, TTS_E_NOMEM, "vocoder mel loss: out of memory");
    for (size_t i = 0; i < nfb; i++) {
        L->fb_f[i] = fb[i];
        if (L->fb_d)
            L->fb_d[i] = fb[i];
    }
    L->mel_weight = weight;
    return TTS_OK;
}

void voc_stft_loss_free(voc_stft_loss *L)
{
    for (int r = 0; r < VOC_MAX_RES; r++) {
        free(L->basis_f[r]);
        free(L->basis_d[r]);
        L->basis_f[r] = NULL;
        L->basis_d[r] = NULL;
    }
    mel_free(L);
}

/* ---- the batched passes, in float and double ----------------------------------------- */

static void vtanh_d(double *y, const double *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}

static void vsigmoid_d(double *y, const double *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = x[i] >= 0 ? 1 / (1 + exp(-x[i])) : exp(x[i]) / (1 + exp(x[i]));
}

#define REAL float
#define NN(name) name##_f
#define LAYER(name) name##_f
#define GEMM cblas_sgemm
#define SQRT sqrtf
#define BASIS(L, r) ((L)->basis_f[r])
#define MEL_BASIS(L) ((L)->mel_basis_f)
#define MEL_FB(L) ((L)->fb_f)
#define VTANH nn_vtanh
#define VSIGMOID nn_vsigmoid
#define HOOK_FN(h) ((h)->fn_f)
#include "vocoder/vocoder_impl.h"
#undef REAL
#undef NN
#undef LAYER
#undef GEMM
#undef SQRT
#undef BASIS
#undef MEL_BASIS
#undef MEL_FB
#undef VTANH
#undef VSIGMOID
#undef HOOK_FN

#define REAL double
#define NN(name) name##_d
#define LAYER(name) name##_d
#define GEMM cblas_dgemm
#define SQRT sqrt
#define BASIS(L, r) ((L)->basis_d[r])
#define MEL_BASIS(L) ((L)->mel_basis_d)
#define MEL_FB(L) ((L)->fb_d)
#define VTANH vtanh_d
#define VSIGMOID vsigmoid_d
#define HOOK_FN(h) ((h)->fn_d)
#include "vocoder/vocoder_impl.h"
#undef REAL
#undef NN
#undef LAYER
#undef GEMM
#undef SQRT
#undef BASIS
#undef MEL_BASIS
#undef MEL_FB
#undef VTANH
#undef VSIGMOID
#undef HOOK_FN

int voc_forward(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                const float *noise, float *pcm, voc_arena *ar)
{
    return forward_f(m, m->p.params, mel, n_frames, n_blocks, noise, pcm, ar);
}

int voc_train_crop(const voc_model *m, const voc_stft_loss *L, const float *mel, int n_frames,
                   int n_blocks, int ctx_blocks, const float *noise, const float *target,
                   float *grads, float grad_scale, voc_arena *ar, voc_loss_val *loss, float *pcm)
{
    return train_crop_f(m, m->p.params, L, mel, n_frames, n_blocks, ctx_blocks, noise, target,
                        grads, grad_scale, ar, loss, pcm, NULL);
}

int voc_train_crop_ex(const voc_model *m, const voc_stft_loss *L, const float *mel,
                      int n_frames, int n_blocks, int ctx_blocks, const float *noise,
                      const float *target, float *grads, float grad_scale, voc_arena *ar,
                      voc_loss_val *loss, float *pcm, const voc_loss_hook *hook)
{
    return train_crop_f(m, m->p.params, L, mel, n_frames, n_blocks, ctx_blocks, noise, target,
                        grads, grad_scale, ar, loss, pcm, hook);
}

int voc_train_crop_d(const voc_model *m, const double *P, const voc_stft_loss *L,
                     const double *mel, int n_frames, int n_blocks, int ctx_blocks,
                     const double *noise, const double *target, double *grads, double grad_scale,
                     voc_arena *ar, voc_loss_val *loss, double *pcm)
{
    if (!L->basis_d[0] || (L->mel_weight > 0 && !L->mel_basis_d))
        return TTS_E_INVALID;
    return voc_train_crop_ex_d(m, P, L, mel, n_frames, n_blocks, ctx_blocks, noise, target,
                               grads, grad_scale, ar, loss, pcm, NULL);
}

int voc_train_crop_ex_d(const voc_model *m, const double *P, const voc_stft_loss *L,
                        const double *mel, int n_frames, int n_blocks, int ctx_blocks,
                        const double *noise, const double *target, double *grads,
                        double grad_scale, voc_arena *ar, voc_loss_val *loss, double *pcm,
                        const voc_loss_hook *hook)
{
    if (!L->basis_d[0] || (L->mel_weight > 0 && !L->mel_basis_d))
        return TTS_E_INVALID;
    return train_crop_d(m, P, L, mel, n_frames, n_blocks, ctx_blocks, noise, target, grads,
                        grad_scale, ar, loss, pcm, hook);
}

int voc_pitch_forward(const voc_model *m, const float *mel, int nf, float *out, voc_arena *ar)
{
    if (m->cfg.src < 2 || nf < 1 || !mel || !out)
        return TTS_E_INVALID;
    if (arena_reserve(ar, pitch_bytes_f(&m->cfg, nf)))
        return TTS_E_NOMEM;
    pacts_f A;
    int rc = pitch_fwd_f(m, m->p.params, mel, nf, &A, ar);
    if (!rc)
        memcpy(out, A.out, sizeof(float) * (size_t)nf * 2);
    return rc;
}

void voc_cond_grow(float *W2, const float *W, int K, int K2, int per_tap, int first)
{
    int d = K2 - K;
    memset(W2, 0, sizeof(float) * (size_t)K2 * per_tap);
    memcpy(W2 + (first ? 0 : (size_t)d * per_tap), W, sizeof(float) * (size_t)K * per_tap);
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

int voc_pitch_train(const voc_model *m, const float *mel, int nf, const float *f0, float *grads,
                    float scale, voc_arena *ar, double *loss)
{
    return pitch_train_f(m, m->p.params, mel, nf, f0, grads, scale, ar, loss);
}

int voc_pitch_train_d(const voc_model *m, const double *P, const double *mel, int nf,
                      const double *f0, double *grads, double scale, voc_arena *ar, double *loss)
{
    return pitch_train_d(m, P, mel, nf, f0, grads, scale, ar, loss);
}

/* the mel inverse spreads a harmonic's peak over its neighbourhood; this gain brings the
 * amplitudes back to the harmonics' own (tests/test_vocoder.c: a 1/k tone reads back within
 * a factor 1.5 for k <= 8) */
#define VOC_SHAPED_GAIN 1.4

int voc_frame_amps(const voc_model *m, tts_mel *mel, const float *logmel, float f0, float *mag,
                   float *amps)
{
    tts_err err;
    int rc = tts_mel_to_linear(mel, logmel, 1, mag, &err);
    if (rc)
        return rc;
    const tts_audio_cfg *a = &m->audio;
    voc_harmonic_amps(mag, a->n_fft / 2 + 1, (double)a->sample_rate / a->n_fft,
                      a->win_length / 2.0, VOC_SHAPED_GAIN, f0, amps);
    return TTS_OK;
}

void voc_frame_grain(const voc_model *m, voc_grainer *g, const float *mag, uint64_t *rng,
                     float *grain)
{
    const tts_audio_cfg *a = &m->audio;
    /* the analysis window is a periodic Hann: its squares sum to 3/8 of its length */
    voc_noise_grain(g, mag, a->n_fft / 2 + 1, (double)a->sample_rate / a->n_fft,
                    0.375 * a->win_length, a->sample_rate, rng, grain);
}

uint64_t voc_grain_seed(uint64_t seed)
{
    uint64_t g = (seed ? seed : 1) ^ 0x9e3779b97f4a7c15ull;
    return g ? g : 1;
}

int voc_source_from_mel(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                        uint64_t seed, float *src, voc_arena *ar)
{
    return voc_source_with_f0(m, mel, n_frames, n_blocks, seed, NULL, NULL, src, ar);
}

int voc_source_with_f0(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                       uint64_t seed, const float *f0_in, const float *v_in, float *src,
                       voc_arena *ar)
{
    const voc_config *c = &m->cfg;
    if (n_frames < 1 || n_blocks < 1 || !mel || !src || (!f0_in != !v_in))
        return TTS_E_INVALID;
    size_t n = (size_t)n_blocks * c->hop;
    uint64_t rng = seed ? seed : 1;
    if (c->src == 1) {
        for (size_t i = 0; i < n; i++)
            src[i] = (float)nn_rand_normal(&rng);
        return TTS_OK;
    }
    int la = c->lookahead, Tf = n_blocks + la, e = voc_exc_offset(c);
    /* the pitch head over the frames the blocks use (past the end: the last frame) */
    float *frames = malloc(sizeof(float) * (size_t)Tf * c->n_mels);
    float *out = malloc(sizeof(float) * (size_t)Tf * 2), *f0 = malloc(sizeof(float) * Tf);
    float *v = malloc(sizeof(float) * Tf), *noise = malloc(sizeof(float) * n);
    float *exc = malloc(sizeof(float) * n), *shaped = NULL, *amps = NULL, *mag = NULL;
    float *fa = malloc(sizeof(float) * (n_blocks + 1)), *va = malloc(sizeof(float) * (n_blocks + 1));
    tts_mel *melan = NULL;
    tts_err err;
    int rc = TTS_E_NOMEM;
    float *gn = NULL, *grains = NULL;
    voc_grainer *gr = NULL;
    if (c->src >= 3) {
        shaped = malloc(sizeof(float) * n);
        amps = malloc(sizeof(float) * (size_t)(n_blocks + 1) * VOC_MAX_HARM);
        mag = malloc(sizeof(float) * (size_t)(m->audio.n_fft / 2 + 1));
        if (!shaped || !amps || !mag || tts_mel_create(&melan, &m->audio, &err))
            frames = (free(frames), NULL); /* fails below as out of memory */
    }
    if (c->src >= 4) {
        gn = malloc(sizeof(float) * n);
        grains = malloc(sizeof(float) * (size_t)(Tf + 1) * 2 * c->hop);
        if (!gn || !grains || voc_grainer_create(&gr, c->hop))
            frames = (free(frames), NULL);
    }
    if (frames && out && f0 && v && noise && exc && fa && va) {
        for (int i = 0; i < Tf; i++)
            memcpy(frames + (size_t)i * c->n_mels,
                   mel + (size_t)(i < n_frames ? i : n_frames - 1) * c->n_mels,
                   sizeof(float) * c->n_mels);
        rc = f0_in ? 0 : voc_pitch_forward(m, frames, Tf, out, ar);
    }
    if (!rc) {
        if (f0_in) {
            for (int i = 0; i < Tf; i++) {
                f0[i] = f0_in[i < n_frames ? i : n_frames - 1];
                v[i] = v_in[i < n_frames ? i : n_frames - 1];
            }
        } else {
            voc_pitch_decode(out, Tf, f0, v);
        }
        /* block t glides from frame t + e - 1 (frame 0 for the first) to frame t + e */
        for (int t = 0; t <= n_blocks && !rc; t++) {
            int f = t + e - 1 > 0 ? t + e - 1 : 0;
            fa[t] = f0[f];
            va[t] = v[f];
            if (amps)
                rc = voc_frame_amps(m, melan, frames + (size_t)f * c->n_mels, fa[t], mag,
                                    amps + (size_t)t * VOC_MAX_HARM);
        }
    }
    if (!rc && grains) {
        /* the stream's grains: one more of frame 0 first (G_-1), then one per frame pushed
         * (G_j); block t is the tail of G_{t+e-1} and the head of G_{t+e} */
        uint64_t grng = voc_grain_seed(seed);
        int hop = c->hop;
        for (int j = -1; j < Tf && !rc; j++) {
            rc = tts_mel_to_linear(melan, frames + (size_t)(j > 0 ? j : 0) * c->n_mels, 1, mag,
                                   &err);
            if (!rc)
                voc_frame_grain(m, gr, mag, &grng, grains + (size_t)(j + 1) * 2 * hop);
        }
        for (int t = 0; t < n_blocks && !rc; t++) {
            const float *g0 = grains + (size_t)(t + e) * 2 * hop + hop;
            const float *g1 = grains + (size_t)(t + e + 1) * 2 * hop;
            for (int i = 0; i < hop; i++)
                gn[(size_t)t * hop + i] = g0[i] + g1[i];
        }
    }
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            noise[i] = (float)nn_rand_normal(&rng);
        voc_osc osc = {0};
        voc_osc_run(&osc, fa, va, amps, n_blocks, c->hop, c->sample_rate, exc, shaped);
        const float *ch[4] = {noise, exc, shaped, gn};
        voc_source_interleave(ch, c->src, n, c->fold, src);
    }
    free(gn);
    free(grains);
    voc_grainer_free(gr);
    tts_mel_free(melan);
    free(shaped);
    free(amps);
    free(mag);
    free(frames);
    free(out);
    free(f0);
    free(v);
    free(noise);
    free(exc);
    free(fa);
    free(va);
    return rc;
}

/* ---- streaming ------------------------------------------------------------------------- */

/* the ring slot of frame f >= -1 */
static int ring_slot(int f)
{
    return (f + VOC_RING) % VOC_RING;
}

static size_t stream_floats(const voc_config *c)
{
    size_t C = c->res_ch, S = c->skip_ch, F = c->fold, hs = c->hop / c->fold;
    size_t L2C = (size_t)c->n_layers * 2 * C, nm = c->n_mels, Cc = c->cond_ch;
    return nm + 2 * Cc + 2 * L2C + nm + hs * (C + 2 * C + C + (C + S) + 3 * S) + hs * F +
           2 * VOC_PITCH_CH + 6 * (size_t)c->hop + (2 + VOC_RING) * VOC_MAX_HARM + 16 * 24 +
           (c->src >= 4 ? (2 * VOC_RING + 1) * (size_t)c->hop : 0);
}

void voc_stream_reset(voc_stream *s, const voc_model *m, uint64_t seed)
{
    const voc_config *c = &m->cfg;
    s->frames_in = 0;
    s->rng = seed ? seed : 1;
    for (int i = 0; i < c->cond_layers; i++) {
        if (s->cond_st[i].hist)
            memset(s->cond_st[i].hist, 0, sizeof(float) * s->cond_st[i].len * m->cond[i].cin);
        s->cond_st[i].pos = 0;
    }
    for (int l = 0; l < c->n_layers; l++) {
        size_t rows = (size_t)(c->kernel - 1) * m->layer[l].dil + s->hs;
        memset(s->hist[l], 0, sizeof(float) * rows * c->res_ch);
    }
    for (int i = 0; i < 2; i++) {
        if (s->pitch_st[i].hist)
            memset(s->pitch_st[i].hist, 0, sizeof(float) * s->pitch_st[i].len * m->pitch[i].cin);
        s->pitch_st[i].pos = 0;
    }
    s->phase = 0;
    s->grng = voc_grain_seed(seed);
}

void voc_stream_free(voc_stream *s)
{
    for (int i = 0; i < VOC_MAX_COND; i++)
        free(s->cond_st[i].hist);
    for (int l = 0; l < VOC_MAX_LAYERS; l++)
        free(s->hist[l]);
    for (int i = 0; i < 2; i++)
        free(s->pitch_st[i].hist);
    tts_mel_free(s->mel);
    free(s->mag);
    voc_grainer_free(s->grainer);
    free(s->buf);
    memset(s, 0, sizeof *s);
}

int voc_stream_init(voc_stream *s, const voc_model *m, uint64_t seed, tts_err *err)
{
    const voc_config *c = &m->cfg;
    memset(s, 0, sizeof *s);
    s->hs = c->hop / c->fold;
    int ok = 1;
    for (int i = 0; i < c->cond_layers; i++) {
        s->cond_st[i].len = c->cond_kernel - 1;
        if (s->cond_st[i].len > 0) {
            s->cond_st[i].hist = calloc((size_t)s->cond_st[i].len * m->cond[i].cin, sizeof(float));
            ok &= s->cond_st[i].hist != NULL;
        }
    }
    for (int l = 0; l < c->n_layers; l++) {
        size_t rows = (size_t)(c->kernel - 1) * m->layer[l].dil + s->hs;
        s->hist[l] = aligned_alloc(64, (rows * c->res_ch * sizeof(float) + 63) & ~(size_t)63);
        ok &= s->hist[l] != NULL;
    }
    if (c->src >= 3) {
        s->mag = malloc(sizeof(float) * (size_t)(m->audio.n_fft / 2 + 1));
        ok &= s->mag != NULL && tts_mel_create(&s->mel, &m->audio, err) == 0;
    }
    if (c->src >= 4)
        ok &= voc_grainer_create(&s->grainer, c->hop) == 0;
    if (c->src >= 2)
        for (int i = 0; i < 2; i++) {
            s->pitch_st[i].len = VOC_PITCH_K - 1;
            s->pitch_st[i].hist = calloc((size_t)s->pitch_st[i].len * m->pitch[i].cin,
                                         sizeof(float));
            ok &= s->pitch_st[i].hist != NULL;
        }
    size_t n = stream_floats(c);
    s->buf = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
    if (!ok || !s->buf) {
        voc_stream_free(s);
        return tts_seterr(err, TTS_E_NOMEM, "vocoder stream: out of memory");
    }
    size_t C = c->res_ch, S = c->skip_ch, hs = s->hs, L2C = (size_t)c->n_layers * 2 * C;
    float *p = s->buf;
#define CARVE(ptr, cnt)                                                                            \
    do {                                                                                           \
        ptr = p;                                                                                   \
        p += ((cnt) + 15) & ~(size_t)15;                                                           \
    } while (0)
    CARVE(s->meln, (size_t)c->n_mels);
    CARVE(s->cact[0], (size_t)c->cond_ch);
    CARVE(s->cact[1], (size_t)c->cond_ch);
    CARVE(s->P_prev, L2C);
    CARVE(s->P_cur, L2C);
    CARVE(s->last_mel, (size_t)c->n_mels);
    CARVE(s->x, hs * C);
    CARVE(s->h, hs * 2 * C);
    CARVE(s->z, hs * C);
    CARVE(s->o, hs * (C + S));
    CARVE(s->skip, hs * S);
    CARVE(s->a1, hs * S);
    CARVE(s->a2, hs * S);
    CARVE(s->noise, (size_t)c->hop);
    CARVE(s->pact[0], (size_t)VOC_PITCH_CH);
    CARVE(s->pact[1], (size_t)VOC_PITCH_CH);
    CARVE(s->exc, (size_t)c->hop);
    CARVE(s->src, 4 * (size_t)c->hop);
    CARVE(s->shaped, (size_t)c->hop);
    CARVE(s->amps, 2 * (size_t)VOC_MAX_HARM);
    CARVE(s->ramps, (size_t)VOC_RING * VOC_MAX_HARM);
    if (c->src >= 4) {
        CARVE(s->rgrain, (size_t)VOC_RING * 2 * c->hop);
        CARVE(s->gnoise, (size_t)c->hop);
    }
#undef CARVE
    voc_stream_reset(s, m, seed);
    return TTS_OK;
}

static void rows_bias(float *y, const float *b, int rows, int n)
{
    for (int r = 0; r < rows; r++)
        memcpy(y + (size_t)r * n, b, sizeof(float) * n);
}

/* one block of hs steps from s->P_prev / s->P_cur; writes hop samples */
static void stream_block(const voc_model *m, voc_stream *s, const float *noise, float *pcm)
{
    const voc_config *c = &m->cfg;
    const float *P = m->p.params;
    int C = c->res_ch, S = c->skip_ch, L = c->n_layers, F = c->fold, hs = s->hs, K = c->kernel;
    int Fs = F * c->src;
    if (!noise) {
        for (int i = 0; i < c->hop; i++)
            s->noise[i] = (float)nn_rand_normal(&s->rng);
        noise = s->noise;
        if (c->src >= 2) {
            voc_osc osc = {s->phase};
            voc_osc_run(&osc, s->f0, s->vprob, c->src >= 3 ? s->amps : NULL, 1, c->hop,
                        c->sample_rate, s->exc, c->src >= 3 ? s->shaped : NULL);
            s->phase = osc.phase;
            if (c->src >= 4)
                for (int i = 0; i < c->hop; i++)
                    s->gnoise[i] = s->grain[0][c->hop + i] + s->grain[1][i];
            const float *ch[4] = {s->noise, s->exc, s->shaped, s->gnoise};
            voc_source_interleave(ch, c->src, (size_t)c->hop, F, s->src);
            noise = s->src;
        }
    }
    rows_bias(s->x, P + m->in_b, hs, C);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hs, C, Fs, 1, noise, Fs, P + m->in_w,
                C, 1, s->x, C);
    memset(s->skip, 0, sizeof(float) * hs * S);
    const float r2 = 0.70710678118654752440f;
    for (int l = 0; l < L; l++) {
        int d = m->layer[l].dil, hl = (K - 1) * d;
        float *hb = s->hist[l];
        memcpy(hb + (size_t)hl * C, s->x, sizeof(float) * hs * C);
        rows_bias(s->h, P + m->layer[l].cb, hs, 2 * C);
        for (int k = 0; k < K; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hs, 2 * C, C, 1,
                        hb + (size_t)k * d * C, C, P + m->layer[l].cw + (size_t)k * C * 2 * C,
                        2 * C, 1, s->h, 2 * C);
        const float *p0 = s->P_prev + (size_t)l * 2 * C, *p1 = s->P_cur + (size_t)l * 2 * C;
        for (int j = 0; j < hs; j++) {
            float a = (float)(j + 1) / (float)hs, b = 1 - a;
            float *hr = s->h + (size_t)j * 2 * C;
            for (int k = 0; k < 2 * C; k++)
                hr[k] += b * p0[k] + a * p1[k];
            nn_vgated(s->z + (size_t)j * C, hr, hr + C, C);
        }
        rows_bias(s->o, P + m->layer[l].ob, hs, C + S);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hs, C + S, C, 1, s->z, C,
                    P + m->layer[l].ow, C + S, 1, s->o, C + S);
        for (int j = 0; j < hs; j++) {
            float *xt = s->x + (size_t)j * C, *st = s->skip + (size_t)j * S;
            const float *ot = s->o + (size_t)j * (C + S);
            for (int k = 0; k < C; k++)
                xt[k] = (xt[k] + ot[k]) * r2;
            for (int k = 0; k < S; k++)
                st[k] += ot[C + k];
        }
        if (hl > 0)
            memmove(hb, hb + (size_t)hs * C, sizeof(float) * hl * C);
    }
    float ks = (float)(1 / sqrt((double)L));
    for (int i = 0; i < hs * S; i++) {
        float v = s->skip[i] * ks;
        s->a1[i] = v > 0 ? v : 0;
    }
    rows_bias(s->a2, P + m->post0_b, hs, S);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hs, S, S, 1, s->a1, S, P + m->post0_w,
                S, 1, s->a2, S);
    for (int i = 0; i < hs * S; i++)
        s->a2[i] = s->a2[i] > 0 ? s->a2[i] : 0;
    rows_bias(pcm, P + m->post1_b, hs, F);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hs, F, S, 1, s->a2, S, P + m->post1_w,
                F, 1, pcm, F);
}

int voc_stream_push(const voc_model *m, voc_stream *s, const float *mel_frame, const float *noise,
                    float *pcm)
{
    const voc_config *c = &m->cfg;
    const float *P = m->p.params;
    int nm = c->n_mels, Cc = c->cond_ch, L2C = c->n_layers * 2 * c->res_ch;
    if (mel_frame != s->last_mel)
        memcpy(s->last_mel, mel_frame, sizeof(float) * nm);
    for (int b = 0; b < nm; b++)
        s->meln[b] = (mel_frame[b] - m->mel_mean[b]) / m->mel_std[b];
    const float *in = s->meln;
    for (int i = 0; i < c->cond_layers; i++) {
        float *out = s->cact[i & 1];
        conv1d_step_f(out, in, P + m->cond[i].w, P + m->cond[i].b, m->cond[i].cin, Cc,
                      c->cond_kernel, 1, &s->cond_st[i]);
        tanh_forward_f(out, out, Cc);
        in = out;
    }
    memset(s->P_cur, 0, sizeof(float) * L2C);
    nn_vecmat(s->P_cur, in, P + m->cproj, Cc, L2C);
    int j = s->frames_in++;
    if (c->src >= 2) {
        /* the pitch head on this frame: F0 and voicing of frame j */
        const float *pin = s->meln;
        for (int i = 0; i < 2; i++) {
            conv1d_step_f(s->pact[i], pin, P + m->pitch[i].w, P + m->pitch[i].b, m->pitch[i].cin,
                          VOC_PITCH_CH, VOC_PITCH_K, 1, &s->pitch_st[i]);
            for (int k = 0; k < VOC_PITCH_CH; k++)
                s->pact[i][k] = s->pact[i][k] > 0 ? s->pact[i][k] : 0;
            pin = s->pact[i];
        }
        float o[2];
        for (int k = 0; k < 2; k++) {
            double acc = P[m->pitch[2].b + k];
            for (int q = 0; q < VOC_PITCH_CH; q++)
                acc += (double)pin[q] * P[m->pitch[2].w + (size_t)q * 2 + k];
            o[k] = (float)acc;
        }
        int r = ring_slot(j), r1 = ring_slot(-1);
        voc_pitch_decode(o, 1, &s->rf0[r], &s->rv[r]);
        float *amps = s->ramps + (size_t)r * VOC_MAX_HARM;
        if (c->src >= 3)
            voc_frame_amps(m, s->mel, mel_frame, s->rf0[r], s->mag, amps);
        if (c->src >= 4) {
            if (j == 0) /* G_-1 first, as voc_source_from_mel draws them */
                voc_frame_grain(m, s->grainer, s->mag, &s->grng, s->rgrain + (size_t)r1 * 2 * c->hop);
            voc_frame_grain(m, s->grainer, s->mag, &s->grng, s->rgrain + (size_t)r * 2 * c->hop);
        }
        if (j == 0) { /* frame -1 is frame 0 again */
            s->rf0[r1] = s->rf0[r];
            s->rv[r1] = s->rv[r];
            memcpy(s->ramps + (size_t)r1 * VOC_MAX_HARM, amps, sizeof(float) * VOC_MAX_HARM);
        }
    }
    if (j == 0)
        memcpy(s->P_prev, s->P_cur, sizeof(float) * L2C); /* P[-1] := P[0] */
    int produced = 0;
    int t = j - c->lookahead;
    if (t >= 0) {
        if (c->src >= 2) { /* the block's two frames out of the ring */
            int e = voc_exc_offset(c);
            for (int k = 0; k < 2; k++) {
                int r = ring_slot(t + e - 1 + k);
                s->f0[k] = s->rf0[r];
                s->vprob[k] = s->rv[r];
                memcpy(s->amps + (size_t)k * VOC_MAX_HARM, s->ramps + (size_t)r * VOC_MAX_HARM,
                       sizeof(float) * VOC_MAX_HARM);
                if (c->src >= 4)
                    s->grain[k] = s->rgrain + (size_t)r * 2 * c->hop;
            }
        }
        stream_block(m, s, noise, pcm);
        produced = c->hop;
    }
    float *p = s->P_prev;
    s->P_prev = s->P_cur;
    s->P_cur = p;
    return produced;
}

int voc_stream_finish(const voc_model *m, voc_stream *s, const float *noise, float *pcm)
{
    const voc_config *c = &m->cfg;
    if (s->frames_in == 0)
        return 0;
    int n = 0;
    for (int i = 0; i < c->lookahead; i++)
        n += voc_stream_push(m, s, s->last_mel, noise ? noise + (size_t)n * c->src : NULL, pcm + n);
    return n;
}
