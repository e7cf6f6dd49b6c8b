/* The vocoder's batched passes and training loss: see train/voc_train.h. The passes
 * themselves are train/voc_train_impl.h, included twice below (float, double). */
#include "train/voc_train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels.h"
#include "train/dgemm.h"
#include "vocoder/pitch.h"

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
    for (size_t l = 0; l < NL; l++) /* each layer's input has its reach of zeros before it */
        n += (size_t)(c->kernel - 1) * ((size_t)1 << (l % c->dil_cycle)) * C;
    /* an inference model's integer products (voc_use_int8) */
    return n * elem + voc_int8_work_bytes(c, (int)T) + 64 * (8 * NL + 65);
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
#include "train/voc_train_impl.h"
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

/* the vocoder's gated layer in double (vocoder/layer_impl.h; the float one is the
 * library's) */
#define REAL double
#define NN(name) name##_d
#define LGEMM TR_DGEMM
#define VTANH vtanh_d
#define VSIGMOID vsigmoid_d
#include "vocoder/layer_impl.h"
#undef REAL
#undef NN
#undef LGEMM
#undef VTANH
#undef VSIGMOID

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
#include "train/voc_train_impl.h"
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

/* ---- the source a stream makes ---------------------------------------------------------- */

int voc_source_from_mel(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                        uint64_t seed, float *src, voc_arena *ar)
{
    return voc_source_with_f0(m, mel, n_frames, n_blocks, seed, NULL, NULL, src, ar);
}

/* F0 and voicing where the n_blocks blocks start and end, fa[n_blocks + 1], va[..]: block
 * t glides from frame t + e - 1 (frame 0 for the first) to frame t + e (voc_exc_offset),
 * as the stream does. The frames' values are f0_in / v_in when given, else the pitch head's
 * over the n_blocks + la frames the blocks use (past the end: the last frame). */
static int block_pitch(const voc_model *m, const float *mel, int n_frames, int n_blocks,
                       const float *f0_in, const float *v_in, float *fa, float *va,
                       voc_arena *ar)
{
    const voc_config *c = &m->cfg;
    int Tf = n_blocks + c->lookahead, e = voc_exc_offset(c), nm = c->n_mels;
    float *frames = malloc(sizeof(float) * (size_t)Tf * nm);
    float *out = malloc(sizeof(float) * (size_t)Tf * 2), *f0 = malloc(sizeof(float) * Tf);
    float *v = malloc(sizeof(float) * Tf);
    int rc = frames && out && f0 && v ? TTS_OK : TTS_E_NOMEM;
    if (!rc && f0_in) {
        for (int i = 0; i < Tf; i++) {
            f0[i] = f0_in[i < n_frames ? i : n_frames - 1];
            v[i] = v_in[i < n_frames ? i : n_frames - 1];
        }
    } else if (!rc) {
        for (int i = 0; i < Tf; i++)
            memcpy(frames + (size_t)i * nm, mel + (size_t)(i < n_frames ? i : n_frames - 1) * nm,
                   sizeof(float) * nm);
        rc = voc_pitch_forward(m, frames, Tf, out, ar);
        if (!rc)
            voc_pitch_decode(out, Tf, f0, v);
    }
    for (int t = 0; !rc && t <= n_blocks; t++) {
        int f = t + e - 1 > 0 ? t + e - 1 : 0;
        fa[t] = f0[f];
        va[t] = v[f];
    }
    free(frames);
    free(out);
    free(f0);
    free(v);
    return rc;
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
    float *noise = malloc(sizeof(float) * n), *exc = malloc(sizeof(float) * n);
    float *fa = malloc(sizeof(float) * (n_blocks + 1));
    float *va = malloc(sizeof(float) * (n_blocks + 1));
    int rc = noise && exc && fa && va ? TTS_OK : TTS_E_NOMEM;
    if (!rc)
        rc = block_pitch(m, mel, n_frames, n_blocks, f0_in, v_in, fa, va, ar);
    if (!rc) { /* the noise drawn as the stream draws it, the oscillator from phase 0 */
        for (size_t i = 0; i < n; i++)
            noise[i] = (float)nn_rand_normal(&rng);
        voc_osc osc = {0};
        voc_osc_run(&osc, fa, va, n_blocks, c->hop, c->sample_rate, exc);
        const float *ch[2] = {noise, exc};
        voc_source_interleave(ch, 2, n, c->fold, src);
    }
    free(noise);
    free(exc);
    free(fa);
    free(va);
    return rc;
}
