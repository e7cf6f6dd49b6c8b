/*
 * The vocoder (vocoder/: the model and its stream; train/voc_train.h: its batched passes
 * and loss): every new layer's backward against finite differences in double precision
 * (the upsampling interpolation, the multi-resolution STFT loss, and the whole network's
 * loss end to end, every parameter), the float passes against the double ones, gradient
 * accumulation, the STFT loss against an independent naive DFT, streaming output against
 * the batched forward (<= 1e-5, several configurations and look-aheads, both sources),
 * causality, model file round trips (f32 and f16) and the removed sources 3 and 4 refused,
 * the pitch tracker, oscillator and pitch head, and a tiny model's training steps reducing
 * the loss on real audio (tests/data/corpus).
 *
 * Finite differences: the 5-point central stencil
 *     (8 (L(x+h) - L(x-h)) - (L(x+2h) - L(x-2h))) / 12h,  h = 1e-4,
 * compared with relative error |a - b| / max(|a|, |b|, 1e-5 max(1, |L|)) <= 1e-6, as in
 * tests/test_nn.c (whose header explains the floor). The L1 part of the loss and the ReLUs
 * have kinks; random inputs keep them far (>> 2h) from almost every evaluation point, and a
 * check that straddles one is reported by name (at most a handful allowed, none expected).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "audio/wav.h"
#include "dsp/dsp.h"
#include "nn/modelfile.h"
#include "acoustic/voice_io.h"
#include "train/voc_train.h"
#include "vocoder/pitch.h"
#include "vocoder/vocoder.h"
#include "vocoder/vocoder_io.h"

#include "check.h"

#define FD_H 1e-4
#define TOL_FD 1e-6
#define FD_FLOOR 1e-5

static double rel_err(double a, double b, double L)
{
    double floor = FD_FLOOR * fmax(1, fabs(L));
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor);
}

static void fill_normal(double *d, float *f, size_t n, double sd, double mean, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        float v = (float)(mean + sd * nn_rand_normal(rng));
        if (d)
            d[i] = v;
        if (f)
            f[i] = v;
    }
}

/* ---- upsampling ------------------------------------------------------------------------ */
static void test_upsample(void)
{
    enum { NB = 5, HS = 4, LA = 1, N = 3, LDH = 7, LDP = 5 };
    uint64_t rng = 11;
    double P[(NB + LA) * LDP], R[NB * HS * LDH], dP[(NB + LA) * LDP], h[NB * HS * LDH];
    fill_normal(P, NULL, sizeof P / sizeof *P, 1, 0, &rng);
    fill_normal(R, NULL, sizeof R / sizeof *R, 1, 0, &rng);
    /* L = sum(h * R) with h = 0 + upsample(P): dL/dP = upsample^T R */
    memset(dP, 0, sizeof dP);
    voc_upsample_backward_d(dP, LDP, R, LDH, N, NB, HS, LA);
    double worst = 0;
    for (int i = 0; i < (NB + LA) * LDP; i++) {
        double keep = P[i], Lv[4];
        const double off[4] = {FD_H, -FD_H, 2 * FD_H, -2 * FD_H};
        for (int s = 0; s < 4; s++) {
            P[i] = keep + off[s];
            memset(h, 0, sizeof h);
            voc_upsample_forward_d(h, LDH, P, LDP, N, NB, HS, LA);
            Lv[s] = 0;
            for (int j = 0; j < NB * HS * LDH; j++)
                Lv[s] += h[j] * R[j];
        }
        P[i] = keep;
        double num = (8 * (Lv[0] - Lv[1]) - (Lv[2] - Lv[3])) / (12 * FD_H);
        double e = rel_err(num, dP[i], 1);
        worst = e > worst ? e : worst;
    }
    /* columns >= N and rows of h are untouched; the interpolation ends on P[t + la] */
    memset(h, 0, sizeof h);
    voc_upsample_forward_d(h, LDH, P, LDP, N, NB, HS, LA);
    int layout_ok = 1;
    for (int r = 0; r < NB * HS; r++)
        for (int c = N; c < LDH; c++)
            layout_ok &= h[r * LDH + c] == 0;
    for (int t = 0; t < NB; t++)
        for (int c = 0; c < N; c++)
            layout_ok &= fabs(h[((t + 1) * HS - 1) * LDH + c] - P[(t + LA) * LDP + c]) < 1e-12;
    /* float twin */
    float Pf[(NB + LA) * LDP], hf[NB * HS * LDH];
    for (int i = 0; i < (NB + LA) * LDP; i++)
        Pf[i] = (float)P[i];
    memset(hf, 0, sizeof hf);
    voc_upsample_forward_f(hf, LDH, Pf, LDP, N, NB, HS, LA);
    double fe = 0;
    for (int j = 0; j < NB * HS * LDH; j++)
        fe = fmax(fe, fabs(hf[j] - h[j]));
    printf("upsample: backward vs finite differences worst %.2e, float vs double %.2e\n", worst, fe);
    CHECK(worst < TOL_FD, "upsample backward off: %.3g", worst);
    CHECK(layout_ok, "upsample writes outside its columns or misses P[t + la] at block ends");
    CHECK(fe < 1e-5, "upsample float differs from double by %.3g", fe);
}

/* ---- STFT loss ------------------------------------------------------------------------- */

/* the loss by a naive DFT, written independently of the vocoder's basis matrices */
static double naive_stft_loss(const voc_stft_res *res, int n_res, const double *y,
                              const double *target, int n)
{
    double tot = 0;
    int used = 0;
    for (int r = 0; r < n_res; r++) {
        int N = res[r].n_fft, W = res[r].win, H = res[r].hop;
        if (n < W)
            continue;
        int nfr = 1 + (n - W) / H, nb = N / 2 + 1;
        double num = 0, den = 0, lm = 0;
        for (int f = 0; f < nfr; f++)
            for (int k = 0; k < nb; k++) {
                double xr = 0, xi = 0, yr = 0, yi = 0;
                for (int j = 0; j < W; j++) {
                    double w = 0.5 - 0.5 * cos(2 * M_PI * j / W);
                    double ph = -2 * M_PI * (double)k * j / N;
                    xr += w * y[f * H + j] * cos(ph);
                    xi += w * y[f * H + j] * sin(ph);
                    yr += w * target[f * H + j] * cos(ph);
                    yi += w * target[f * H + j] * sin(ph);
                }
                double mx = sqrt(xr * xr + xi * xi + 1e-7), my = sqrt(yr * yr + yi * yi + 1e-7);
                num += (my - mx) * (my - mx);
                den += my * my;
                lm += fabs(log(mx) - log(my));
            }
        tot += sqrt(num) / sqrt(den) + lm / ((double)nfr * nb);
        used++;
    }
    return used ? tot / used : 0;
}

static void test_stft_loss(void)
{
    const voc_stft_res res[3] = {{32, 8, 24}, {16, 4, 16}, {64, 16, 48}};
    voc_stft_loss L;
    tts_err e;
    CHECK(voc_stft_loss_init(&L, res, 3, 1, &e) == 0, "loss init: %s", e.msg);
    enum { N = 40 }; /* the (64, 16, 48) resolution does not fit: skipped */
    uint64_t rng = 5;
    double y[N], t[N], dy[N];
    float yf[N], tf[N], dyf[N];
    fill_normal(y, yf, N, 0.3, 0, &rng);
    fill_normal(t, tf, N, 0.3, 0, &rng);
    voc_arena ar = {0};
    memset(dy, 0, sizeof dy);
    voc_loss_val v;
    double Lv = voc_stft_loss_d(&L, dy, y, t, N, 1.0, &ar, &v);
    double ref = naive_stft_loss(res, 3, y, t, N);
    printf("stft loss: %.9f (sc %.6f, mag %.6f, %d resolutions) vs naive DFT %.9f\n", Lv, v.sc,
           v.mag, v.n_res_used, ref);
    CHECK(fabs(Lv - ref) < 1e-9 * fmax(1, fabs(ref)), "loss %.12g differs from the naive DFT %.12g",
          Lv, ref);
    CHECK(v.n_res_used == 2, "a resolution with win > n must be skipped (used %d)", v.n_res_used);
    double worst = 0;
    int kinks = 0;
    for (int i = 0; i < N; i++) {
        double keep = y[i], Ls[4];
        const double off[4] = {FD_H, -FD_H, 2 * FD_H, -2 * FD_H};
        for (int s = 0; s < 4; s++) {
            y[i] = keep + off[s];
            Ls[s] = voc_stft_loss_d(&L, NULL, y, t, N, 1.0, &ar, NULL);
        }
        y[i] = keep;
        double num = (8 * (Ls[0] - Ls[1]) - (Ls[2] - Ls[3])) / (12 * FD_H);
        double e2 = rel_err(num, dy[i], Lv);
        if (e2 > TOL_FD) {
            kinks++;
            printf("  stft loss dy[%d]: analytic %.10g numeric %.10g\n", i, dy[i], num);
        }
        worst = e2 > worst ? e2 : worst;
    }
    /* float twin: loss and gradient */
    memset(dyf, 0, sizeof dyf);
    double Lf = voc_stft_loss_f(&L, dyf, yf, tf, N, 1.0, &ar, NULL);
    double gmax = 0, gerr = 0;
    for (int i = 0; i < N; i++) {
        gmax = fmax(gmax, fabs(dy[i]));
        gerr = fmax(gerr, fabs(dyf[i] - dy[i]));
    }
    /* identical inputs: zero loss */
    double L0 = voc_stft_loss_d(&L, NULL, t, t, N, 1.0, &ar, &v);
    printf("stft loss: backward vs finite differences worst %.2e; float vs double loss %.2e, "
           "gradient %.2e of max; loss(target, target) = %.3g\n",
           worst, fabs(Lf - Lv) / Lv, gerr / gmax, L0);
    CHECK(kinks == 0, "%d STFT-loss gradient entries off", kinks);
    CHECK(fabs(Lf - Lv) < 1e-4 * Lv && gerr < 1e-3 * gmax, "float STFT loss differs from double");
    CHECK(L0 == 0, "loss of the target against itself is %.3g", L0);
    voc_arena_free(&ar);
    voc_stft_loss_free(&L);
}

/* ---- the network: end-to-end gradient ---------------------------------------------------- */
static voc_config tiny_config(void)
{
    voc_config c = voc_config_default(6, 8);
    c.fold = 2;
    c.res_ch = 4;
    c.skip_ch = 5;
    c.n_layers = 4;
    c.dil_cycle = 2;
    c.kernel = 2;
    c.cond_ch = 4;
    c.cond_layers = 2;
    c.cond_kernel = 3;
    c.lookahead = 1;
    return c;
}

static void randomize_biases(voc_model *m, uint64_t *rng)
{
    /* biases start at 0: move them off so every term of the gradient is exercised */
    for (int t = 0; t < m->p.n_tensors; t++) {
        const nn_tensor_info *ti = &m->p.tensors[t];
        if (strstr(ti->name, ".b") && !strstr(ti->name, "mel_"))
            for (size_t j = 0; j < ti->size; j++)
                m->p.params[ti->offset + j] = (float)(0.2 * nn_rand_normal(rng));
    }
}

/* Finite differences (4 points) of the crop's loss against G for every trained parameter;
 * returns how many are off by more than TOL_FD (the first 10 are printed). */
static int fd_check(const voc_model *m, double *P, const double *G, const voc_stft_loss *L,
                    const double *mel, int nf, int nb, int ctx, const double *noise,
                    const double *target, voc_arena *ar, double L0, int *checked, double *worst,
                    const voc_loss_hook *hook)
{
    int bad = 0;
    voc_loss_val v;
    for (int ti = 0; ti < m->p.n_tensors; ti++) {
        const nn_tensor_info *t = &m->p.tensors[ti];
        if (strstr(t->name, "mel_")) /* data, not trained: no gradient */
            continue;
        for (size_t j = t->offset; j < t->offset + t->size; j++) {
            double keep = P[j], Ls[4];
            const double off[4] = {FD_H, -FD_H, 2 * FD_H, -2 * FD_H};
            for (int s = 0; s < 4; s++) {
                P[j] = keep + off[s];
                voc_train_crop_ex_d(m, P, L, mel, nf, nb, ctx, noise, target, NULL, 1.0, ar, &v,
                                    NULL, hook);
                Ls[s] = v.total;
            }
            P[j] = keep;
            double num = (8 * (Ls[0] - Ls[1]) - (Ls[2] - Ls[3])) / (12 * FD_H);
            double er = rel_err(num, G[j], L0);
            (*checked)++;
            if (er > TOL_FD) {
                bad++;
                if (bad <= 10)
                    printf("  grad %s[%zu]: analytic %.10g numeric %.10g\n", t->name,
                           j - t->offset, G[j], num);
            }
            *worst = er > *worst ? er : *worst;
        }
    }
    return bad;
}

/* the tiny model for the gradient tests: trainable, biases off zero, mel statistics set */
static void gradient_model(voc_model *m, uint64_t seed, uint64_t *rng)
{
    voc_config c = tiny_config();
    tts_err e;
    CHECK(voc_init(m, &c, 1, seed, &e) == 0, "init: %s", e.msg);
    randomize_biases(m, rng);
    for (int b = 0; b < c.n_mels; b++) {
        m->mel_mean[b] = (float)(-4 + 0.1 * b);
        m->mel_std[b] = (float)(1.5 + 0.05 * b);
    }
}

static void test_network_gradient(void)
{
    voc_model m;
    tts_err e;
    uint64_t rng = 21;
    gradient_model(&m, 3, &rng);
    const voc_config c = m.cfg;
    const voc_stft_res res[2] = {{16, 4, 12}, {8, 2, 8}};
    voc_stft_loss L;
    CHECK(voc_stft_loss_init(&L, res, 2, 1, &e) == 0, "loss init");
    enum { NF = 7, NB = 6, CTX = 2 };
    int hop = c.hop, nm = c.n_mels, nt = (NB - CTX) * hop;
    /* src 2: the source is noise and excitation, interleaved per step */
    double mel[NF * 6], noise[NB * 8 * 2], target[NB * 8];
    float melf[NF * 6], noisef[NB * 8 * 2], targetf[NB * 8];
    fill_normal(mel, melf, NF * nm, 1.5, -4, &rng);
    fill_normal(noise, noisef, NB * hop * c.src, 1, 0, &rng);
    fill_normal(target, targetf, nt, 0.2, 0, &rng);
    size_t np = m.p.count;
    double *P = malloc(np * sizeof(double)), *G = calloc(np, sizeof(double));
    for (size_t j = 0; j < np; j++)
        P[j] = m.p.params[j];
    voc_arena ar = {0};
    voc_loss_val v;
    CHECK(voc_train_crop_d(&m, P, &L, mel, NF, NB, CTX, noise, target, G, 1.0, &ar, &v, NULL) == 0,
          "double pass");
    double L0 = v.total, worst = 0;
    int checked = 0, bad = fd_check(&m, P, G, &L, mel, NF, NB, CTX, noise, target, &ar, L0,
                                    &checked, &worst, NULL);
    printf("network: end-to-end gradient of the loss (%.6f), %d parameters checked, %d off by > "
           "%.0e (worst %.2e)\n",
           L0, checked, bad, TOL_FD, worst);
    CHECK(bad == 0, "%d of %d network gradient entries off", bad, checked);

    /* float against double: loss, output and every gradient */
    float *Gf = calloc(np, sizeof(float)), *pcmf = malloc(sizeof(float) * NB * hop);
    double *pcmd = malloc(sizeof(double) * NB * hop);
    voc_loss_val vf;
    CHECK(voc_train_crop(&m, &L, melf, NF, NB, CTX, noisef, targetf, Gf, 1.0f, &ar, &vf, pcmf) == 0,
          "float pass");
    voc_train_crop_d(&m, P, &L, mel, NF, NB, CTX, noise, target, NULL, 1.0, &ar, &v, pcmd);
    double gmax = 0, gerr = 0, perr = 0, pmax = 0;
    for (size_t j = 0; j < np; j++) {
        gmax = fmax(gmax, fabs(G[j]));
        gerr = fmax(gerr, fabs(Gf[j] - G[j]));
    }
    for (int i = 0; i < NB * hop; i++) {
        pmax = fmax(pmax, fabs(pcmd[i]));
        perr = fmax(perr, fabs(pcmf[i] - pcmd[i]));
    }
    printf("network: float vs double: loss %.2e, output %.2e, gradient %.2e (of the max)\n",
           fabs(vf.total - v.total) / v.total, perr / pmax, gerr / gmax);
    CHECK(fabs(vf.total - v.total) < 1e-4 * v.total && perr < 1e-4 * pmax && gerr < 1e-3 * gmax,
          "float network differs from double");

    /* gradients accumulate: a second backward adds the same again */
    double *G2 = malloc(np * sizeof(double));
    memcpy(G2, G, np * sizeof(double));
    voc_train_crop_d(&m, P, &L, mel, NF, NB, CTX, noise, target, G2, 1.0, &ar, &v, NULL);
    double acc = 0;
    for (size_t j = 0; j < np; j++)
        acc = fmax(acc, fabs(G2[j] - 2 * G[j]));
    CHECK(acc < 1e-12 * fmax(1, gmax), "gradients do not accumulate (%.3g)", acc);
    /* the loss ignores the context blocks: changing their target-side output region is moot,
     * and grad_scale scales */
    memset(G2, 0, np * sizeof(double));
    voc_train_crop_d(&m, P, &L, mel, NF, NB, CTX, noise, target, G2, 0.5, &ar, &v, NULL);
    double sc = 0;
    for (size_t j = 0; j < np; j++)
        sc = fmax(sc, fabs(G2[j] - 0.5 * G[j]));
    CHECK(sc < 1e-12 * fmax(1, gmax), "grad_scale not applied (%.3g)", sc);
    free(G2);
    free(Gf);
    free(pcmf);
    free(pcmd);
    free(P);
    free(G);
    voc_arena_free(&ar);
    voc_stft_loss_free(&L);
    voc_free(&m);
}

/* One crop of the tiny gradient model with the one-resolution STFT loss (16, 4, 12): the
 * model, random frames (log-mel around -4, sd mel_sd), source and target in double and
 * float, the parameters in double, a zeroed gradient. */
enum { FX_NF = 7, FX_NB = 6, FX_CTX = 2 };
typedef struct {
    voc_model m;
    voc_stft_loss L;
    int hop, nt; /* samples per block; of the loss region */
    double mel[FX_NF * 6], noise[FX_NB * 8 * 2], target[FX_NB * 8];
    float melf[FX_NF * 6], noisef[FX_NB * 8 * 2], targetf[FX_NB * 8];
    double *P, *G;
    size_t np;
    voc_arena ar;
} crop_fixture;

static void fixture_init(crop_fixture *f, uint64_t model_seed, uint64_t *rng, double mel_sd)
{
    tts_err e;
    memset(f, 0, sizeof *f);
    gradient_model(&f->m, model_seed, rng);
    const voc_stft_res res[1] = {{16, 4, 12}};
    CHECK(voc_stft_loss_init(&f->L, res, 1, 1, &e) == 0, "loss init");
    f->hop = f->m.cfg.hop;
    f->nt = (FX_NB - FX_CTX) * f->hop;
    fill_normal(f->mel, f->melf, FX_NF * f->m.cfg.n_mels, mel_sd, -4, rng);
    fill_normal(f->noise, f->noisef, FX_NB * f->hop * f->m.cfg.src, 1, 0, rng);
    fill_normal(f->target, f->targetf, f->nt, 0.2, 0, rng);
    f->np = f->m.p.count;
    f->P = malloc(f->np * sizeof(double));
    f->G = calloc(f->np, sizeof(double));
    for (size_t j = 0; j < f->np; j++)
        f->P[j] = f->m.p.params[j];
}

static void fixture_free(crop_fixture *f)
{
    free(f->P);
    free(f->G);
    voc_arena_free(&f->ar);
    voc_stft_loss_free(&f->L);
    voc_free(&f->m);
}

/* An extra loss term through voc_train_crop_ex's hook (what the critics use): a smooth
 * term sum_i w_i y_i^2 / 2 on the loss region, its value reported and added, its gradient
 * end to end against finite differences, float against double. */
typedef struct {
    const double *w;
    int n, calls;
} hook_ctx;

/* the term in both types (the float hook takes its weights in double too) */
#define HOOK(NAME, REAL)                                                                          \
    static double NAME(void *ctx, const REAL *y, REAL *dy, int n, double scale)                   \
    {                                                                                             \
        hook_ctx *h = ctx;                                                                        \
        if (n != h->n)                                                                            \
            return TTS_E_INVALID;                                                                 \
        h->calls++;                                                                               \
        double s = 0;                                                                             \
        for (int i = 0; i < n; i++) {                                                             \
            s += 0.5 * h->w[i] * y[i] * y[i];                                                     \
            if (dy)                                                                               \
                dy[i] += (REAL)(scale * h->w[i] * y[i]);                                          \
        }                                                                                         \
        return s;                                                                                 \
    }
HOOK(hook_d, double)
HOOK(hook_f, float)
#undef HOOK

static void test_loss_hook(void)
{
    uint64_t rng = 29;
    crop_fixture f;
    fixture_init(&f, 5, &rng, 1.5);
    enum { NF = FX_NF, NB = FX_NB, CTX = FX_CTX };
    int hop = f.hop, nt = f.nt;
    double w[NB * 8];
    fill_normal(w, NULL, nt, 1, 2, &rng);
    hook_ctx hc = {w, nt, 0};
    voc_loss_hook hook = {hook_f, hook_d, &hc};
    voc_loss_val v, v0;
    double pcm[NB * 8];
    CHECK(voc_train_crop_ex_d(&f.m, f.P, &f.L, f.mel, NF, NB, CTX, f.noise, f.target, f.G, 1.0,
                              &f.ar, &v, pcm, &hook) == 0 && hc.calls == 1,
          "double pass with the hook");
    voc_train_crop_d(&f.m, f.P, &f.L, f.mel, NF, NB, CTX, f.noise, f.target, NULL, 1.0, &f.ar,
                     &v0, NULL);
    double term = 0;
    for (int i = 0; i < nt; i++)
        term += 0.5 * w[i] * pcm[CTX * hop + i] * pcm[CTX * hop + i];
    CHECK(fabs(v.extra - term) < 1e-12 * term && fabs(v.total - v0.total - term) < 1e-12 * term &&
              v0.extra == 0, "hook term %g (total %g, without %g), expected %g", v.extra, v.total,
          v0.total, term);
    double worst = 0;
    int checked = 0, bad = fd_check(&f.m, f.P, f.G, &f.L, f.mel, NF, NB, CTX, f.noise, f.target,
                                    &f.ar, v.total, &checked, &worst, &hook);
    printf("loss hook: end-to-end gradient with the extra term, %d parameters checked, %d off "
           "(worst %.2e)\n", checked, bad, worst);
    CHECK(bad == 0, "%d of %d gradient entries off with the hook", bad, checked);
    float *Gf = calloc(f.np, sizeof(float));
    voc_loss_val vf;
    CHECK(voc_train_crop_ex(&f.m, &f.L, f.melf, NF, NB, CTX, f.noisef, f.targetf, Gf, 1.0f, &f.ar,
                            &vf, NULL, &hook) == 0, "float pass with the hook");
    double gmax = 0, gerr = 0;
    for (size_t j = 0; j < f.np; j++) {
        gmax = fmax(gmax, fabs(f.G[j]));
        gerr = fmax(gerr, fabs(Gf[j] - f.G[j]));
    }
    CHECK(fabs(vf.extra - v.extra) < 1e-4 * v.extra && gerr < 1e-3 * gmax,
          "float hook differs: term %g vs %g, gradient %.2e of %.2e", vf.extra, v.extra, gerr, gmax);
    /* a failing hook fails the crop */
    hc.n = nt + 1;
    CHECK(voc_train_crop_ex(&f.m, &f.L, f.melf, NF, NB, CTX, f.noisef, f.targetf, Gf, 1.0f, &f.ar,
                            &vf, NULL, &hook) == TTS_E_INVALID, "the hook's failure was not returned");
    free(Gf);
    fixture_free(&f);
}

/* The log-mel term: its value against a naive DFT of the output, its gradient end to end
 * against finite differences, float against double, and that it is added with its weight. */
static void test_mel_loss(void)
{
    tts_err e;
    uint64_t rng = 33;
    crop_fixture fx;
    fixture_init(&fx, 4, &rng, 1.0);
    enum { NF = FX_NF, NB = FX_NB, CTX = FX_CTX, NFFT = 16, WIN = 16, NBIN = NFFT / 2 + 1 };
    int hop = fx.hop, nm = fx.m.cfg.n_mels, nt = fx.nt, off = WIN / 2 / hop;
    int nfr = 1 + (nt - WIN) / hop;
    double pcm[NB * 8];
    voc_loss_val v0, v;
    CHECK(voc_train_crop_d(&fx.m, fx.P, &fx.L, fx.mel, NF, NB, CTX, fx.noise, fx.target, NULL, 1.0, &fx.ar, &v0,
                           pcm) == 0 && v0.mel == 0,
          "without the mel term");
    /* the output's magnitudes, naively; a filterbank scaled so the bands sit around the
     * frames' level (exp(-4)), so the L1's signs vary */
    double mag[3][NBIN], msum = 0;
    for (int f = 0; f < nfr; f++)
        for (int k = 0; k < NBIN; k++) {
            double xr = 0, xi = 0;
            for (int j = 0; j < WIN; j++) {
                double w = 0.5 - 0.5 * cos(2 * M_PI * j / WIN), ph = -2 * M_PI * k * j / NFFT;
                xr += w * pcm[CTX * hop + f * hop + j] * cos(ph);
                xi += w * pcm[CTX * hop + f * hop + j] * sin(ph);
            }
            mag[f][k] = sqrt(xr * xr + xi * xi + 1e-7);
            msum += mag[f][k];
        }
    float fb[6 * NBIN];
    double fsc = exp(-4) / (msum / (nfr * NBIN)) / (NBIN / 2.0);
    for (int i = 0; i < nm * NBIN; i++)
        fb[i] = (float)(fsc * nn_rand_uniform(&rng));
    CHECK(voc_stft_loss_set_mel(&fx.L, fb, nm, NFFT, WIN, hop, 1e-5f, 0.7, 1, &e) == 0, "set mel: %s",
          e.msg);
    CHECK(voc_stft_loss_set_mel(&fx.L, fb, nm, NFFT, 12, hop, 1e-5f, 0.7, 1, &e) != 0,
          "win / 2 not a multiple of hop must be refused");
    CHECK(voc_stft_loss_set_mel(&fx.L, fb, nm, NFFT, WIN, hop, 1e-5f, 0.7, 1, &e) == 0, "set mel");
    double naive = 0;
    for (int f = 0; f < nfr; f++)
        for (int b = 0; b < nm; b++) {
            double a = 0;
            for (int k = 0; k < NBIN; k++)
                a += (double)fb[b * NBIN + k] * mag[f][k];
            naive += fabs(log(fmax(a, 1e-5)) - fx.mel[(CTX + f + off) * nm + b]);
        }
    naive /= nfr * nm;
    CHECK(voc_train_crop_d(&fx.m, fx.P, &fx.L, fx.mel, NF, NB, CTX, fx.noise, fx.target, fx.G, 1.0, &fx.ar, &v, NULL) == 0,
          "double pass with the mel term");
    printf("mel loss: %.9f vs naive %.9f; total %.6f = %.6f + 0.7 x mel\n", v.mel, naive, v.total,
           v0.total);
    CHECK(fabs(v.mel - naive) < 1e-9 * fmax(1, naive), "mel term %.12g, naive %.12g", v.mel, naive);
    CHECK(fabs(v.total - (v0.total + 0.7 * v.mel)) < 1e-12 * v.total, "mel term not weighted in");
    double worst = 0;
    int checked = 0, bad = fd_check(&fx.m, fx.P, fx.G, &fx.L, fx.mel, NF, NB, CTX, fx.noise, fx.target, &fx.ar, v.total,
                                    &checked, &worst, NULL);
    printf("mel loss: end-to-end gradient, %d parameters checked, %d off by > %.0e (worst "
           "%.2e)\n",
           checked, bad, TOL_FD, worst);
    CHECK(bad == 0, "%d of %d gradient entries off with the mel term", bad, checked);
    float *Gf = calloc(fx.np, sizeof(float));
    voc_loss_val vf;
    CHECK(voc_train_crop(&fx.m, &fx.L, fx.melf, NF, NB, CTX, fx.noisef, fx.targetf, Gf, 1.0f, &fx.ar, &vf, NULL) ==
              0,
          "float pass with the mel term");
    double gmax = 0, gerr = 0;
    for (size_t j = 0; j < fx.np; j++) {
        gmax = fmax(gmax, fabs(fx.G[j]));
        gerr = fmax(gerr, fabs(Gf[j] - fx.G[j]));
    }
    printf("mel loss: float vs double: term %.2e, gradient %.2e (of the max)\n",
           fabs(vf.mel - v.mel) / v.mel, gerr / gmax);
    CHECK(fabs(vf.mel - v.mel) < 1e-4 * v.mel && gerr < 1e-3 * gmax,
          "float mel term differs from double");
    /* stft_weight weighs the STFT terms alone: G(w = 1) - G(w = 0) is the gradient of the
     * STFT terms (mel term off), and the total is the mel term alone at w = 0 */
    {
        double *G0 = calloc(fx.np, sizeof(double)), *Gs = calloc(fx.np, sizeof(double)), gd = 0;
        voc_loss_val vs;
        fx.L.stft_weight = 0;
        voc_train_crop_d(&fx.m, fx.P, &fx.L, fx.mel, NF, NB, CTX, fx.noise, fx.target, G0, 1.0, &fx.ar, &vs, NULL);
        CHECK(fabs(vs.total - 0.7 * v.mel) < 1e-12 && fabs(vs.sc - v.sc) < 1e-12,
              "stft_weight 0: total %.9g, want the mel term alone %.9g", vs.total, 0.7 * v.mel);
        fx.L.stft_weight = 1;
        double keep = fx.L.mel_weight;
        fx.L.mel_weight = 0;
        voc_train_crop_d(&fx.m, fx.P, &fx.L, fx.mel, NF, NB, CTX, fx.noise, fx.target, Gs, 1.0, &fx.ar, &vs, NULL);
        fx.L.mel_weight = keep;
        for (size_t j = 0; j < fx.np; j++)
            gd = fmax(gd, fabs(fx.G[j] - G0[j] - Gs[j]));
        printf("mel loss: gradient with the STFT terms weighted 0, plus theirs: off by %.2e\n", gd);
        CHECK(gd < 1e-10 * fmax(1, gmax), "stft_weight: gradients do not add up (%.3g)", gd);
        free(G0);
        free(Gs);
    }
    /* a loss whose bands or hop are not the model's is refused */
    CHECK(voc_stft_loss_set_mel(&fx.L, fb, nm - 1, NFFT, WIN, hop, 1e-5f, 0.7, 1, &e) == 0 &&
              voc_train_crop_d(&fx.m, fx.P, &fx.L, fx.mel, NF, NB, CTX, fx.noise, fx.target, NULL, 1.0, &fx.ar, &v,
                               NULL) != 0,
          "a mel term of other bands than the model's must be refused");
    free(Gf);
    fixture_free(&fx);
}

/* voc_source_with_f0 given the pitch head's own F0 and voicing makes exactly the source
 * voc_source_from_mel makes; another F0 makes another source */
static void test_source_with_f0(void)
{
    voc_config c = tiny_config();
    voc_model m;
    tts_err e;
    CHECK(voc_init(&m, &c, 0, 8, &e) == 0, "init: %s", e.msg);
    uint64_t rng = 71;
    randomize_biases(&m, &rng);
    enum { NF = 12 };
    int nm = c.n_mels, nb = NF - c.lookahead, ns = nb * c.hop * c.src;
    float mel[NF * 6], out[NF * 2], f0[NF], vo[NF];
    fill_normal(NULL, mel, NF * nm, 1.5, -4, &rng);
    float *a = malloc(sizeof(float) * ns), *b = malloc(sizeof(float) * ns);
    voc_arena ar = {0};
    int ok = voc_source_from_mel(&m, mel, NF, nb, 5, a, &ar) == 0 &&
             voc_pitch_forward(&m, mel, NF, out, &ar) == 0;
    voc_pitch_decode(out, NF, f0, vo);
    ok = ok && voc_source_with_f0(&m, mel, NF, nb, 5, f0, vo, b, &ar) == 0;
    CHECK(ok && memcmp(a, b, sizeof(float) * ns) == 0,
          "the pitch head's F0 given: not the same source");
    for (int t = 0; t < NF; t++) {
        f0[t] *= 1.5f;
        vo[t] = 1;
    }
    ok = voc_source_with_f0(&m, mel, NF, nb, 5, f0, vo, b, &ar) == 0;
    CHECK(ok && memcmp(a, b, sizeof(float) * ns) != 0, "another F0 given: the same source");
    CHECK(voc_source_with_f0(&m, mel, NF, nb, 5, f0, NULL, b, &ar) != 0,
          "an F0 without voicing must be refused");
    printf("source with a given F0: the pitch head's own gives the same samples\n");
    free(a);
    free(b);
    voc_arena_free(&ar);
    voc_free(&m);
}

/* ---- streaming == batched; causality ------------------------------------------------------ */
/* The largest difference between the streamed and the batched output of a model of config c
 * (random weights from seed) over nf random frames, streamed twice (the second time after a
 * reset); own_noise: the stream makes its own source (noise, and with src 2 the excitation)
 * and voc_source_from_mel makes the batched pass's, else both get the same random source. */
static double stream_vs_batched(const voc_config *c, int nf, uint64_t seed, int own_noise, int int8)
{
    voc_model m;
    tts_err e;
    if (voc_init(&m, c, 0, seed, &e) || (int8 && voc_use_int8(&m, &e))) {
        printf("init: %s\n", e.msg);
        return 1e9;
    }
    uint64_t rng = seed * 7 + 1;
    randomize_biases(&m, &rng);
    int hop = c->hop, nm = c->n_mels;
    int ns = hop * c->src; /* source values per block */
    float *mel = malloc(sizeof(float) * nf * nm), *noise = malloc(sizeof(float) * nf * ns);
    float *a = malloc(sizeof(float) * nf * hop), *b = malloc(sizeof(float) * nf * hop);
    fill_normal(NULL, mel, (size_t)nf * nm, 2, -5, &rng);
    for (int i = 0; i < nm; i++) {
        m.mel_mean[i] = -5;
        m.mel_std[i] = 2;
    }
    voc_stream s;
    voc_stream_init(&s, &m, 99, &e);
    voc_arena ar = {0};
    if (own_noise) {
        /* the stream makes its own source (noise; with src 2 the pitch head's excitation
         * too): voc_source_from_mel makes the same for the batched pass */
        if (voc_source_from_mel(&m, mel, nf, nf, 99, noise, &ar)) {
            printf("  voc_source_from_mel failed\n");
            return 1e9;
        }
    } else {
        fill_normal(NULL, noise, (size_t)nf * ns, 1, 0, &rng);
    }
    int rc = voc_forward(&m, mel, nf, nf, noise, a, &ar);
    /* streamed twice: the second utterance after a reset must match too */
    double worst = 0, scale = 0;
    for (int pass = 0; pass < 2; pass++) {
        voc_stream_reset(&s, &m, 99);
        int got = 0;
        for (int f = 0; f < nf; f++) {
            int k = voc_stream_push(&m, &s, mel + (size_t)f * nm,
                                    own_noise ? NULL : noise + (size_t)got * c->src, b + got);
            if (f < c->lookahead && k != 0)
                printf("  frame %d produced %d samples inside the look-ahead\n", f, k);
            got += k;
        }
        got += voc_stream_finish(&m, &s, own_noise ? NULL : noise + (size_t)got * c->src, b + got);
        if (got != nf * hop || rc) {
            printf("  streamed %d samples, want %d (rc %d)\n", got, nf * hop, rc);
            worst = 1e9;
        }
        for (int i = 0; i < nf * hop; i++) {
            worst = fmax(worst, fabs(a[i] - b[i]));
            scale = fmax(scale, fabs(a[i]));
        }
    }
    voc_stream_free(&s);
    voc_arena_free(&ar);
    free(mel);
    free(noise);
    free(a);
    free(b);
    voc_free(&m);
    printf("  fold %d C %d L %d K %d la %d hop %d src %d, %d frames: max |stream - batched| %.2e "
           "(output peak %.3f)%s%s\n",
           c->fold, c->res_ch, c->n_layers, c->kernel, c->lookahead, c->hop, c->src, nf, worst, scale,
           own_noise ? ", stream's own source" : "", int8 ? ", int8 products" : "");
    return worst;
}

static void test_streaming(void)
{
    printf("streaming vs batched:\n");
    voc_config d = voc_config_default(80, 200);
    CHECK(stream_vs_batched(&d, 30, 1, 0, 0) <= 1e-5, "default config: stream != batched");
    CHECK(stream_vs_batched(&d, 12, 2, 1, 0) <= 1e-5, "default config, own noise: stream != batched");
    /* the excitation at every look-ahead: its frames come out of the stream's ring
     * (voc_exc_offset); la 3 and cond_kernel 5 are the shipped vocoder's */
    for (d.lookahead = 0; d.lookahead <= 4; d.lookahead++) {
        d.cond_kernel = d.lookahead == 3 ? 5 : 3;
        CHECK(stream_vs_batched(&d, 10, 6 + d.lookahead, 1, 0) <= 1e-5,
              "harmonic excitation, own source, la %d: stream != batched", d.lookahead);
    }
    d.lookahead = 1;
    d.cond_kernel = 3;
    d.src = 1;
    CHECK(stream_vs_batched(&d, 12, 2, 1, 0) <= 1e-5, "noise only, own noise: stream != batched");
    CHECK(stream_vs_batched(&d, 7, 3, 0, 0) <= 1e-5, "noise only, given noise: stream != batched");
    voc_config c = tiny_config();
    CHECK(stream_vs_batched(&c, 9, 3, 0, 0) <= 1e-5, "tiny config");
    c.lookahead = 0;
    c.fold = 1;
    c.kernel = 3;
    c.cond_layers = 1;
    CHECK(stream_vs_batched(&c, 9, 4, 0, 0) <= 1e-5, "la 0, fold 1, K 3");
    c.lookahead = 3;
    c.fold = 8;
    c.dil_cycle = 3;
    c.cond_kernel = 1;
    CHECK(stream_vs_batched(&c, 2, 5, 0, 0) <= 1e-5, "la 3 > frames, fold 8");
}

/* an old model (random weights, biases moved off 0) and a new one of another config, for
 * the tests that copy the old one's weights into the new; 1 when both are made */
static int model_pair(voc_model *old, const voc_config *c_old, voc_model *new_m,
                      const voc_config *c_new, uint64_t *rng)
{
    tts_err e;
    if (voc_init(old, c_old, 0, 8, &e) || voc_init(new_m, c_new, 0, 9, &e)) {
        printf("  init: %s\n", e.msg);
        return 0;
    }
    randomize_biases(old, rng);
    return 1;
}

/* a model grown to more look-ahead (voc_cond_grow on its conditioning convs, the rest
 * copied) makes the old model's samples from the same frames and source, past the first
 * blocks (the zero padding of the convs' first frames differs, and the stack carries that
 * for its receptive field); and its new taps are live */
static void test_lookahead_grow(void)
{
    voc_config c = tiny_config(), c2;
    c2 = c;
    c2.lookahead = 3;
    c2.cond_kernel = c.cond_kernel + 2;
    voc_model m, m2;
    uint64_t rng = 5;
    CHECK(model_pair(&m, &c, &m2, &c2, &rng), "init");
    for (int i = 0; i < m2.p.n_tensors; i++) {
        const nn_tensor_info *t = &m2.p.tensors[i];
        const nn_tensor_info *o = nn_params_find(&m.p, t->name);
        float *dst = m2.p.params + t->offset;
        const float *src = m.p.params + o->offset;
        if (o->size == t->size)
            memcpy(dst, src, sizeof(float) * t->size);
        else
            voc_cond_grow(dst, src, c.cond_kernel, c2.cond_kernel, (int)(o->size / c.cond_kernel),
                          !strcmp(t->name, "vocoder.cond.0.w"));
    }
    enum { NF = 24, NB = NF - 3, SKIP = 6 };
    int nm = c.n_mels, hop = c.hop;
    float mel[NF * 6], *s1 = malloc(sizeof(float) * NB * hop * c.src);
    float *s2 = malloc(sizeof(float) * NB * hop * c.src);
    float *a = malloc(sizeof(float) * NB * hop), *b = malloc(sizeof(float) * NB * hop);
    fill_normal(NULL, mel, NF * nm, 1.5, -4, &rng);
    voc_arena ar = {0};
    /* the same source (to rounding: the pitch head runs over NB + la frames, and the
     * oscillator's phase carries its F0's last bits) */
    int ok = voc_source_from_mel(&m, mel, NF, NB, 3, s1, &ar) == 0 &&
             voc_source_from_mel(&m2, mel, NF, NB, 3, s2, &ar) == 0;
    for (int i = 0; ok && i < NB * hop * c.src; i++)
        ok = fabsf(s1[i] - s2[i]) <= 1e-4f;
    CHECK(ok, "grown look-ahead: another source");
    ok = ok && voc_forward(&m, mel, NF, NB, s1, a, &ar) == 0 &&
         voc_forward(&m2, mel, NF, NB, s1, b, &ar) == 0;
    double worst = 0, peak = 0, head = 0;
    for (int i = 0; i < NB * hop; i++) {
        double d = fabs(a[i] - b[i]);
        if (i >= SKIP * hop)
            worst = fmax(worst, d);
        else
            head = fmax(head, d);
        peak = fmax(peak, fabs(a[i]));
    }
    CHECK(ok && worst <= 1e-5 * fmax(peak, 1), "grown look-ahead: samples differ by %.2e", worst);
    /* the newest tap of the first conv reads frame t + 3 for block t: a change there moves
     * the output */
    size_t w0 = m2.cond[0].w + (size_t)(c2.cond_kernel - 1) * nm * c.cond_ch;
    for (int k = 0; k < nm * c.cond_ch; k++)
        m2.p.params[w0 + k] = 0.3f * (float)nn_rand_normal(&rng);
    ok = voc_forward(&m2, mel, NF, NB, s1, b, &ar) == 0;
    double moved = 0;
    for (int i = SKIP * hop; i < NB * hop; i++)
        moved = fmax(moved, fabs(a[i] - b[i]));
    CHECK(ok && moved > 1e-3, "grown look-ahead: the new taps do nothing (%.2e)", moved);
    printf("look-ahead 1 -> 3 by voc_cond_grow: max |grown - old| %.2e past block %d (%.2e "
           "before; peak %.3f); new taps set: %.2e\n", worst, SKIP, head, peak, moved);
    free(s1);
    free(s2);
    free(a);
    free(b);
    voc_arena_free(&ar);
    voc_free(&m);
    voc_free(&m2);
}

/* A src-2 model whose excitation rows are 0 is the src-1 model it was made from: the noise
 * is drawn the same way from the same seed, and the excitation reaches nothing (what
 * tts-train vocoder --init OLD --src 2 relies on to start where OLD was); and once those
 * rows are not 0, the excitation reaches the output. */
static void test_src2_extends_src1(void)
{
    voc_config c1 = voc_config_default(80, 200), c2;
    c1.src = 1;
    c2 = c1;
    c2.src = 2;
    voc_model m1, m2;
    uint64_t rng = 3;
    CHECK(model_pair(&m1, &c1, &m2, &c2, &rng), "init");
    for (int i = 0; i < m2.p.n_tensors; i++) {
        const nn_tensor_info *t = &m2.p.tensors[i];
        const nn_tensor_info *o = nn_params_find(&m1.p, t->name);
        if (!o) /* the pitch head: src 2's own */
            continue;
        size_t k = o->size < t->size ? o->size : t->size;
        memcpy(m2.p.params + t->offset, m1.p.params + o->offset, k * sizeof(float));
        memset(m2.p.params + t->offset + k, 0, (t->size - k) * sizeof(float));
    }
    enum { NF = 14 };
    int nm = c1.n_mels, hop = c1.hop, F = c2.fold;
    for (int i = 0; i < nm; i++) {
        m1.mel_mean[i] = m2.mel_mean[i] = -5;
        m1.mel_std[i] = m2.mel_std[i] = 2;
    }
    float *mel = malloc(sizeof(float) * NF * nm), *s1 = malloc(sizeof(float) * NF * hop);
    float *s2 = malloc(sizeof(float) * NF * hop * 2), *a = malloc(sizeof(float) * NF * hop);
    float *b = malloc(sizeof(float) * NF * hop);
    fill_normal(NULL, mel, (size_t)NF * nm, 2, -5, &rng);
    voc_arena ar = {0};
    int ok = voc_source_from_mel(&m1, mel, NF, NF, 11, s1, &ar) == 0 &&
             voc_source_from_mel(&m2, mel, NF, NF, 11, s2, &ar) == 0 &&
             voc_forward(&m1, mel, NF, NF, s1, a, &ar) == 0 &&
             voc_forward(&m2, mel, NF, NF, s2, b, &ar) == 0;
    double worst = 0, peak = 0, epow = 0;
    int same_noise = 1;
    for (int i = 0; i < NF * hop; i++) {
        worst = fmax(worst, fabs(a[i] - b[i]));
        peak = fmax(peak, fabs(a[i]));
    }
    /* step by step: the first fold values the noise (src 1's), the next fold the excitation */
    for (int i = 0; i < NF * hop / F; i++)
        for (int k = 0; k < F; k++) {
            same_noise &= s2[(size_t)i * 2 * F + k] == s1[(size_t)i * F + k];
            epow += (double)s2[(size_t)i * 2 * F + F + k] * s2[(size_t)i * 2 * F + F + k];
        }
    for (int k = 0; k < F * c2.res_ch; k++)
        m2.p.params[m2.in_w + (size_t)F * c2.res_ch + k] = 0.1f;
    ok = ok && voc_forward(&m2, mel, NF, NF, s2, b, &ar) == 0;
    double moved = 0;
    for (int i = 0; i < NF * hop; i++)
        moved = fmax(moved, fabs(a[i] - b[i]));
    printf("src 2 with its excitation rows 0: max |src 2 - src 1| %.2e (peak %.3f); excitation "
           "power %.3g; rows 0.1: %.3f\n", worst, peak, epow / (NF * hop), moved);
    CHECK(ok && same_noise, "src 2's noise is not src 1's");
    CHECK(ok && worst <= 1e-6 * fmax(1, peak), "src 2 with zero rows is not the src 1 model");
    CHECK(epow > 0 && moved > 1e-3, "the excitation does not reach the output");
    free(mel);
    free(s1);
    free(s2);
    free(a);
    free(b);
    voc_arena_free(&ar);
    voc_free(&m1);
    voc_free(&m2);
}

static void test_causality(void)
{
    voc_config c = voc_config_default(80, 200);
    c.src = 1; /* the source is the caller's noise here (src 2 interleaves it per step) */
    voc_model m;
    tts_err e;
    CHECK(voc_init(&m, &c, 0, 8, &e) == 0, "init");
    uint64_t rng = 77;
    randomize_biases(&m, &rng);
    for (int i = 0; i < 80; i++) {
        m.mel_mean[i] = -5;
        m.mel_std[i] = 2;
    }
    enum { NF = 16 };
    int hop = c.hop, la = c.lookahead;
    float *mel = malloc(sizeof(float) * NF * 80), *noise = malloc(sizeof(float) * NF * hop);
    float *mel2 = malloc(sizeof(float) * NF * 80), *noise2 = malloc(sizeof(float) * NF * hop);
    float *a = malloc(sizeof(float) * NF * hop), *b = malloc(sizeof(float) * NF * hop);
    fill_normal(NULL, mel, NF * 80, 2, -5, &rng);
    fill_normal(NULL, noise, NF * hop, 1, 0, &rng);
    voc_arena ar = {0};
    voc_forward(&m, mel, NF, NF, noise, a, &ar);
    int ok = 1, changed_after = 1;
    for (int tc = 0; tc + la + 1 < NF; tc += 3) {
        /* change every mel frame after tc + la and every noise sample from (tc+1)*hop on */
        memcpy(mel2, mel, sizeof(float) * NF * 80);
        memcpy(noise2, noise, sizeof(float) * NF * hop);
        for (int i = (tc + la + 1) * 80; i < NF * 80; i++)
            mel2[i] += 3.0f;
        for (int i = (tc + 1) * hop; i < NF * hop; i++)
            noise2[i] = -noise2[i];
        voc_forward(&m, mel2, NF, NF, noise2, b, &ar);
        double before = 0, after = 0;
        for (int i = 0; i < (tc + 1) * hop; i++)
            before = fmax(before, fabs(a[i] - b[i]));
        for (int i = (tc + 1) * hop; i < NF * hop; i++)
            after = fmax(after, fabs(a[i] - b[i]));
        ok &= before == 0;
        changed_after &= after > 1e-4;
        if (before != 0)
            printf("  block %d: output before the change moved by %.3g\n", tc, before);
    }
    /* within a block: noise sample s affects only steps >= s / fold */
    int s = 5 * hop + 77, step0 = s / c.fold * c.fold;
    memcpy(noise2, noise, sizeof(float) * NF * hop);
    noise2[s] += 1.0f;
    voc_forward(&m, mel, NF, NF, noise2, b, &ar);
    double before = 0, at = 0;
    for (int i = 0; i < step0; i++)
        before = fmax(before, fabs(a[i] - b[i]));
    for (int i = step0; i < step0 + c.fold; i++)
        at = fmax(at, fabs(a[i] - b[i]));
    printf("causality: outputs before a change in later mel frames / noise are bit-identical: %s; "
           "a noise change at sample %d moves only samples >= %d (moved there: %.2e)\n",
           ok ? "yes" : "NO", s, step0, at);
    CHECK(ok, "outputs depend on later inputs");
    CHECK(changed_after, "later inputs do not change later outputs (test is vacuous)");
    CHECK(before == 0 && at > 0, "noise causality within a block (before %.3g, at %.3g)", before, at);
    voc_arena_free(&ar);
    free(mel);
    free(mel2);
    free(noise);
    free(noise2);
    free(a);
    free(b);
    voc_free(&m);
}

/* ---- model file ------------------------------------------------------------------------ */
static void test_model_file(void)
{
    voc_config c = tiny_config();
    /* src 2 (the default), the larger model: every tensor and key */
    c.env_passes = 3; /* not the default: the key must travel */
    voc_model m, m2, m3;
    tts_err e;
    CHECK(voc_init(&m, &c, 1, 5, &e) == 0, "init");
    for (int i = 0; i < c.n_mels; i++) {
        m.mel_mean[i] = -3 + i;
        m.mel_std[i] = 2;
    }
    nn_adam adam = {.step = 42};
    for (size_t j = 0; j < m.p.count; j++) {
        m.p.m[j] = (float)j;
        m.p.v[j] = 1.0f / (1 + j);
    }
    char dir[] = "/tmp/tts_vocoder_XXXXXX", p32[96], p16[96];
    tts_mf *mf0;
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(p32, sizeof p32, "%s/v32.ltm", dir);
    snprintf(p16, sizeof p16, "%s/v16.ltm", dir);
    m.audio.n_fft = 64;
    m.audio.win_length = 48;
    tts_mf_writer *w = tts_mf_writer_new();
    voc_to_mf(w, &m, &adam);
    CHECK(tts_mf_write(w, p32, &e) == 0, "write: %s", e.msg);
    /* without audio settings: the defaults for its mel size, hop and rate */
    CHECK(tts_mf_open(&mf0, p32, &e) == 0, "open");
    CHECK(voc_from_mf(&m2, mf0, 0, NULL, &e) == 0 && m2.audio.n_mels == c.n_mels &&
              m2.audio.hop_length == c.hop && m2.audio.sample_rate == c.sample_rate,
          "a vocoder without audio settings: %s", e.msg);
    voc_free(&m2);
    tts_mf_close(mf0);
    tts_audio_cfg_to_mf(w, &m.audio);
    CHECK(tts_mf_write(w, p32, &e) == 0, "write: %s", e.msg);
    tts_mf_writer_free(w);
    w = tts_mf_writer_new();
    voc_to_mf_f16(w, &m);
    tts_audio_cfg_to_mf(w, &m.audio);
    CHECK(tts_mf_write(w, p16, &e) == 0, "write f16: %s", e.msg);
    tts_mf_writer_free(w);

    tts_mf *mf;
    nn_adam a2 = {0};
    CHECK(tts_mf_open(&mf, p32, &e) == 0, "open: %s", e.msg);
    CHECK(voc_from_mf(&m2, mf, 1, &a2, &e) == 0, "load: %s", e.msg);
    CHECK(memcmp(m.p.params, m2.p.params, m.p.count * sizeof(float)) == 0, "f32 params differ");
    CHECK(memcmp(m.p.m, m2.p.m, m.p.count * sizeof(float)) == 0 && a2.step == 42,
          "optimizer state not restored");
    CHECK(!memcmp(&m.cfg, &m2.cfg, sizeof m.cfg), "config differs");
    CHECK(!memcmp(&m.audio, &m2.audio, sizeof m.audio), "audio settings differ");
    tts_mf_close(mf);
    CHECK(tts_mf_open(&mf, p16, &e) == 0, "open f16: %s", e.msg);
    CHECK(voc_from_mf(&m3, mf, 0, NULL, &e) == 0, "load f16: %s", e.msg);
    double worst = 0;
    for (size_t j = 0; j < m.p.count; j++)
        worst = fmax(worst, fabs(m.p.params[j] - m3.p.params[j]) / fmax(fabs(m.p.params[j]), 1e-3));
    tts_mf_close(mf);
    printf("model file: f32 round trip exact, f16 worst relative error %.2e\n", worst);
    CHECK(worst < 1e-3, "f16 round trip error %.2e", worst);

    /* not a vocoder */
    w = tts_mf_writer_new();
    tts_mf_set_str(w, "kind", "acoustic");
    tts_mf_write(w, p16, &e);
    tts_mf_writer_free(w);
    voc_model m4;
    CHECK(tts_mf_open(&mf, p16, &e) == 0, "open");
    CHECK(voc_from_mf(&m4, mf, 0, NULL, &e) == TTS_E_FORMAT && strstr(e.msg, "vocoder"),
          "wrong kind accepted (%s)", e.msg);
    tts_mf_close(mf);
    /* a bad hyper-parameter */
    w = tts_mf_writer_new();
    voc_to_mf(w, &m, NULL);
    tts_mf_set_i64(w, "vocoder.fold", 3); /* does not divide hop 8 */
    tts_mf_write(w, p16, &e);
    tts_mf_writer_free(w);
    CHECK(tts_mf_open(&mf, p16, &e) == 0, "open");
    CHECK(voc_from_mf(&m4, mf, 0, NULL, &e) == TTS_E_FORMAT, "fold 3 with hop 8 accepted");
    tts_mf_close(mf);
    /* the sources removed (3: envelope-shaped harmonics, 4: and noise) are refused by name,
     * before their tensors are looked at; 5 never was one */
    for (int src = 3; src <= 5; src++) {
        w = tts_mf_writer_new();
        voc_to_mf(w, &m, NULL);
        tts_audio_cfg_to_mf(w, &m.audio);
        tts_mf_set_i64(w, "vocoder.src", src);
        tts_mf_write(w, p16, &e);
        tts_mf_writer_free(w);
        char want[64];
        if (src < 5)
            snprintf(want, sizeof want, "src %d is no longer supported", src);
        else
            snprintf(want, sizeof want, "out of range [1, 2]");
        CHECK(tts_mf_open(&mf, p16, &e) == 0, "open");
        int rc = voc_from_mf(&m4, mf, 0, NULL, &e);
        CHECK(rc == TTS_E_FORMAT && strstr(e.msg, want),
              "a src %d vocoder: rc %d, '%s' (want TTS_E_FORMAT, '%s')", src, rc, e.msg, want);
        if (src == 3)
            printf("model file with src 3: %s\n", e.msg);
        tts_mf_close(mf);
    }
    unlink(p32);
    unlink(p16);
    rmdir(dir);
    voc_free(&m);
    voc_free(&m2);
    voc_free(&m3);
}

/* ---- a tiny model learns real audio ------------------------------------------------------- */
static int load_clip(const char *name, tts_mel *mel, float **pcm_out, float **mel_out, int *nf)
{
    const char *dir = getenv("TTS_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus/wav/%s.wav", dir ? dir : "tests/data", name);
    float *pcm;
    size_t n;
    tts_err e;
    if (tts_wav_read(path, 16000, &pcm, &n, NULL, &e)) {
        printf("cannot read %s: %s\n", path, e.msg);
        return -1;
    }
    tts_normalize_rms(pcm, n, -20.0f, 0.99f);
    size_t frames;
    float *mf;
    if (tts_mel_analyze(mel, pcm, n, &mf, &frames, &e)) {
        free(pcm);
        return -1;
    }
    /* exactly frames * hop samples, frame t centred on sample t * hop (as the cache) */
    float *p = calloc(frames * 200, sizeof(float));
    memcpy(p, pcm, sizeof(float) * (n < frames * 200 ? n : frames * 200));
    free(pcm);
    *pcm_out = p;
    *mel_out = mf;
    *nf = (int)frames;
    return 0;
}

static void test_training_reduces_loss(void)
{
    tts_audio_cfg ac = tts_audio_cfg_default();
    tts_mel *mel;
    tts_err e;
    CHECK(tts_mel_create(&mel, &ac, &e) == 0, "mel");
    const char *names[2] = {"arctic_a0001_1592748574", "arctic_a0190_1592712976"};
    float *pcm[2], *mf[2];
    int nf[2];
    for (int i = 0; i < 2; i++)
        if (load_clip(names[i], mel, &pcm[i], &mf[i], &nf[i])) {
            CHECK(0, "test audio missing");
            tts_mel_free(mel);
            return;
        }
    voc_config c = voc_config_default(80, 200);
    c.src = 1;
    c.res_ch = 16;
    c.skip_ch = 16;
    c.n_layers = 6;
    c.dil_cycle = 6;
    c.cond_ch = 16;
    voc_model m;
    CHECK(voc_init(&m, &c, 1, 1, &e) == 0, "init");
    /* mel statistics of the two clips */
    for (int b = 0; b < 80; b++) {
        double s = 0, s2 = 0, n = 0;
        for (int i = 0; i < 2; i++)
            for (int f = 0; f < nf[i]; f++) {
                double v = mf[i][(size_t)f * 80 + b];
                s += v;
                s2 += v * v;
                n++;
            }
        m.mel_mean[b] = (float)(s / n);
        m.mel_std[b] = (float)sqrt(fmax(s2 / n - (s / n) * (s / n), 1e-4));
    }
    voc_stft_loss L;
    CHECK(voc_stft_loss_init(&L, NULL, 0, 0, &e) == 0, "loss");
    /* 4 fixed crops of 8 frames (+ 2 of context) from the voiced middle of the clips */
    enum { NCROP = 4, CROP = 8, CTX = 2, NB = CROP + CTX };
    int start[NCROP], clip[NCROP];
    for (int k = 0; k < NCROP; k++) {
        clip[k] = k % 2;
        start[k] = nf[clip[k]] / 4 + k * 17;
    }
    float *noise = malloc(sizeof(float) * NB * 200);
    uint64_t rng = 3;
    fill_normal(NULL, noise, NB * 200, 1, 0, &rng);
    nn_adam adam = {.lr = 3e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .clip_norm = 1};
    voc_arena ar = {0};
    double first = 0, last = 0;
    int steps = 40;
    for (int step = 0; step < steps; step++) {
        memset(m.p.grads, 0, m.p.count * sizeof(float));
        double tot = 0;
        for (int k = 0; k < NCROP; k++) {
            int i = clip[k], s0 = start[k] - CTX;
            int nfr = NB + c.lookahead;
            voc_loss_val v;
            int rc = voc_train_crop(&m, &L, mf[i] + (size_t)s0 * 80, nfr, NB, CTX, noise,
                                    pcm[i] + (size_t)start[k] * 200, m.p.grads, 1.0f / NCROP, &ar,
                                    &v, NULL);
            CHECK(rc == 0, "train crop rc %d", rc);
            tot += v.total / NCROP;
        }
        memset(m.p.grads + m.n_trainable, 0, (m.p.count - m.n_trainable) * sizeof(float));
        nn_adam_update(&m.p, &adam);
        if (step == 0)
            first = tot;
        last = tot;
        if (step % 10 == 0 || step == steps - 1)
            printf("  step %2d: loss %.4f\n", step, tot);
    }
    printf("tiny vocoder on real audio: STFT loss %.4f -> %.4f after %d steps\n", first, last, steps);
    CHECK(last < 0.8 * first, "training did not reduce the loss by 20%% (%.4f -> %.4f)", first, last);
    voc_arena_free(&ar);
    voc_stft_loss_free(&L);
    voc_free(&m);
    free(noise);
    for (int i = 0; i < 2; i++) {
        free(pcm[i]);
        free(mf[i]);
    }
    tts_mel_free(mel);
}

/* ---- pitch: tracker, oscillator, pitch head ------------------------------------------- */
static void test_pitch(void)
{
    /* the tracker on a synthetic voice: a 180 -> 240 Hz glide of a 20-harmonic tone with
     * 1/k amplitudes, silence, then white noise (unvoiced) */
    enum { SR = 16000, HOP = 200, NF = 120 };
    size_t n = (size_t)NF * HOP;
    float *x = calloc(n, sizeof(float)), f0[NF];
    double ph = 0;
    uint64_t rng = 5;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / n;
        if (t < 0.5) {
            double f = 180 + 120 * t;
            ph += 2 * M_PI * f / SR;
            for (int k = 1; k <= 20; k++)
                x[i] += (float)(0.1 / k * sin(k * ph));
        } else if (t > 0.7) {
            x[i] = (float)(0.05 * nn_rand_normal(&rng));
        }
    }
    voc_pitch_track(x, n, SR, HOP, NF, f0);
    int voiced_ok = 0, voiced_n = 0, unv_ok = 0, unv_n = 0;
    double worst = 0;
    for (int t = 0; t < NF; t++) {
        double when = (double)t * HOP / n;
        if (when > 0.05 && when < 0.45) {
            double want = 180 + 120 * when;
            voiced_n++;
            if (f0[t] > 0) {
                voiced_ok++;
                worst = fmax(worst, fabs(f0[t] - want) / want);
            }
        } else if (when > 0.75) {
            unv_n++;
            unv_ok += f0[t] == 0;
        }
    }
    printf("pitch tracker: %d/%d glide frames voiced (worst F0 error %.2f%%), %d/%d noise frames "
           "unvoiced\n", voiced_ok, voiced_n, 100 * worst, unv_ok, unv_n);
    CHECK(voiced_ok == voiced_n && worst < 0.02, "tracker on the glide");
    CHECK(unv_ok >= unv_n * 9 / 10, "tracker calls noise voiced");
    voc_pitch_fill(f0, NF);
    int filled = 1;
    for (int t = 0; t < NF; t++)
        filled &= f0[t] > 100 && f0[t] < 300;
    CHECK(filled, "voc_pitch_fill left a gap");

    /* the oscillator: unit power where voiced, silent where not, periodic at F0 */
    float fa[3] = {200, 200, 200}, va[3] = {1, 1, 0}, exc[2 * HOP];
    voc_osc osc = {0};
    voc_osc_run(&osc, fa, va, 2, HOP, SR, exc);
    double pw = 0, corr = 0, last = fabs(exc[2 * HOP - 1]);
    for (int i = 0; i < HOP; i++)
        pw += (double)exc[i] * exc[i] / HOP;
    for (int i = 0; i + 80 < HOP; i++) /* one period of 200 Hz = 80 samples */
        corr += fabs(exc[i] - exc[i + 80]);
    printf("oscillator: power %.3f, mean |e(t) - e(t + period)| %.2e, end of the fade %.2e\n", pw,
           corr / (HOP - 80), last);
    /* the harmonics' recurrence rounds differently with FMA (aarch64 contracts it): 8.8e-4
     * on x86-64, 1.2e-3 on aarch64; a wrong period is ~1e-1 */
    CHECK(fabs(pw - 1) < 0.15 && corr / (HOP - 80) < 3e-3 && last < 1e-6, "oscillator");

    /* the pitch head: gradient against finite differences (double), float against double */
    voc_config c = tiny_config();
    voc_model m;
    tts_err e;
    CHECK(voc_init(&m, &c, 1, 9, &e) == 0, "init: %s", e.msg);
    randomize_biases(&m, &rng);
    enum { PF = 9 };
    double mel[PF * 6], tf0[PF];
    float melf[PF * 6], tf0f[PF];
    fill_normal(mel, melf, PF * 6, 1.5, -4, &rng);
    for (int t = 0; t < PF; t++)
        tf0[t] = tf0f[t] = t % 4 == 3 ? 0 : (float)(150 + 20 * t);
    size_t np = m.p.count;
    double *P = malloc(np * sizeof(double)), *G = calloc(np, sizeof(double)), L0, Lx;
    for (size_t j = 0; j < np; j++)
        P[j] = m.p.params[j];
    voc_arena ar = {0};
    CHECK(voc_pitch_train_d(&m, P, mel, PF, tf0, G, 1.0, &ar, &L0) == 0, "pitch pass");
    int checked = 0, bad = 0, kinks = 0;
    for (int ti = 0; ti < m.p.n_tensors; ti++) {
        const nn_tensor_info *t = &m.p.tensors[ti];
        if (!strstr(t->name, "pitch"))
            continue;
        for (size_t j = t->offset; j < t->offset + t->size; j++) {
            double keep = P[j], Ls[4];
            const double off[4] = {FD_H, -FD_H, 2 * FD_H, -2 * FD_H};
            for (int s = 0; s < 4; s++) {
                P[j] = keep + off[s];
                voc_pitch_train_d(&m, P, mel, PF, tf0, NULL, 1.0, &ar, &Ls[s]);
            }
            P[j] = keep;
            double num = (8 * (Ls[0] - Ls[1]) - (Ls[2] - Ls[3])) / (12 * FD_H);
            if (rel_err(num, G[j], L0) > TOL_FD) {
                /* a ReLU or |x| kink within the step: look again much closer */
                double h = FD_H * 1e-3;
                P[j] = keep + h;
                voc_pitch_train_d(&m, P, mel, PF, tf0, NULL, 1.0, &ar, &Ls[0]);
                P[j] = keep - h;
                voc_pitch_train_d(&m, P, mel, PF, tf0, NULL, 1.0, &ar, &Ls[1]);
                P[j] = keep;
                num = (Ls[0] - Ls[1]) / (2 * h);
                kinks++;
            }
            checked++;
            /* (the small step's round-off is ~1e-16 L / h ~ 2e-9: allow 1e-8 absolute) */
            if (fabs(num - G[j]) > 1e-4 * fabs(G[j]) + 1e-8 && bad++ < 5)
                printf("  grad %s[%zu]: analytic %.10g numeric %.10g\n", t->name, j - t->offset,
                       G[j], num);
        }
    }
    float *Gf = calloc(np, sizeof(float));
    double Lf;
    CHECK(voc_pitch_train(&m, melf, PF, tf0f, Gf, 1.0f, &ar, &Lf) == 0, "float pitch pass");
    double gerr = 0, gmax = 0;
    for (size_t j = 0; j < np; j++) {
        gmax = fmax(gmax, fabs(G[j]));
        gerr = fmax(gerr, fabs(Gf[j] - G[j]));
    }
    (void)Lx;
    printf("pitch head: loss %.4f, %d parameters checked against finite differences (%d near a "
           "kink, checked again with a 1000x smaller step), %d off; float vs double: loss %.1e, "
           "gradient %.1e\n",
           L0, checked, kinks, bad, fabs(Lf - L0) / L0, gerr / gmax);
    CHECK(kinks < checked / 50, "%d kinks: too many for chance", kinks);
    CHECK(bad == 0 && checked > 0, "pitch head gradient");
    CHECK(fabs(Lf - L0) < 1e-5 * L0 && gerr < 1e-4 * gmax, "pitch head float vs double");
    free(P);
    free(G);
    free(Gf);
    free(x);
    voc_arena_free(&ar);
    voc_free(&m);
}

/* the gated layers' products in 8-bit integers (voc_use_int8): the stream is still the
 * batched pass, and the shipped vocoder's speech stays within the stated tolerance of
 * its float products (issue 28: weights used as stored, the speech the same within a
 * stated tolerance) */
static void test_int8(void)
{
    printf("int8 products:\n");
    /* the stream and the batched pass quantize the same steps; their float inputs differ in
     * the last bits (<= 1e-5 above), now and then enough to move a code by one step */
    voc_config d = voc_config_default(80, 200);
    CHECK(stream_vs_batched(&d, 20, 11, 1, 1) <= 2e-3, "int8: stream != batched");
    voc_config c = tiny_config();
    CHECK(stream_vs_batched(&c, 9, 12, 0, 1) <= 2e-3, "int8, tiny config: stream != batched");

    const char *src = getenv("TTS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/kathleen.vocoder.ltm", src ? src : ".");
    tts_mf *mf = NULL;
    voc_model m;
    tts_err e;
    if (tts_mf_open(&mf, path, &e) || voc_from_mf(&m, mf, 0, NULL, &e)) {
        CHECK(0, "the shipped vocoder %s: %s", path, e.msg);
        tts_mf_close(mf);
        return;
    }
    tts_mf_close(mf);
    tts_audio_cfg ac = tts_audio_cfg_default();
    tts_mel *mel;
    CHECK(tts_mel_create(&mel, &ac, &e) == 0, "mel");
    float *pcm, *mf0;
    int nf;
    if (load_clip("arctic_a0001_1592748574", mel, &pcm, &mf0, &nf)) {
        CHECK(0, "test audio missing");
        tts_mel_free(mel);
        voc_free(&m);
        return;
    }
    size_t n = (size_t)nf * m.cfg.hop;
    float *noise = malloc(sizeof(float) * n * m.cfg.src), *a = malloc(sizeof(float) * n),
          *b = malloc(sizeof(float) * n);
    voc_arena ar = {0};
    int rc = voc_source_from_mel(&m, mf0, nf, nf, 7, noise, &ar);
    rc = rc ? rc : voc_forward(&m, mf0, nf, nf, noise, a, &ar);
    rc = rc ? rc : voc_use_int8(&m, &e);
    CHECK(rc == 0 && m.q8, "the shipped vocoder's int8 products");
    rc = rc ? rc : voc_forward(&m, mf0, nf, nf, noise, b, &ar);
    double sig = 0, err = 0;
    for (size_t i = 0; i < n; i++) {
        sig += (double)a[i] * a[i];
        err += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    double snr = 10 * log10(sig / fmax(err, 1e-30));
    printf("  the shipped vocoder on %d frames of a recording: int8 against float products, "
           "SNR %.1f dB\n", nf, snr);
    /* measured 40-42 dB over the validation takes; the quality measures do not move */
    CHECK(rc == 0 && snr >= 30, "int8 products: SNR %.1f dB against float, want >= 30", snr);
    voc_arena_free(&ar);
    free(noise), free(a), free(b), free(pcm), free(mf0);
    tts_mel_free(mel);
    voc_free(&m);
}

int main(void)
{
    openblas_set_num_threads(1);
    test_pitch();
    test_upsample();
    test_stft_loss();
    test_network_gradient();
    test_loss_hook();
    test_mel_loss();
    test_source_with_f0();
    test_streaming();
    test_int8();
    test_src2_extends_src1();
    test_lookahead_grow();
    test_causality();
    test_model_file();
    test_training_reduces_loss();
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("all vocoder tests passed\n");
    return 0;
}
