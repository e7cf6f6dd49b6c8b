/*
 * train/disc.h, the critics (of waveforms and of frames): the critics' loss gradient (every
 * tensor, sampled entries) and the network's adversarial + feature-matching gradient with
 * respect to the fake input (every value) against finite differences in double precision,
 * for the waveform layout and for a small layout of several values per step; the float
 * pass against the double one; what a period means (critic p on an interleaved signal is
 * the period-1 critic on each phase); the model file round trip; bad configurations.
 *
 * Finite differences as tests/test_vocoder.c: the 5-point stencil, h = 1e-4, relative error
 * <= 1e-6, but h = 1e-5 and so a floor of 1e-4 max(1, |L|) (the rounding of L / h). The critics are piecewise linear
 * (leaky ReLUs; the feature matching's L1 too): a bias moves a whole channel's
 * pre-activations, so some checks straddle a kink. Such a check is recognized by its
 * one-sided slopes disagreeing (a smooth loss's agree to O(h)), and skipped; at most a tenth
 * of the checks may be, and every other one must pass.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/modelfile.h"
#include "train/disc.h"

#include "check.h"

#define FD_H 1e-5
#define TOL_FD 1e-6
#define FD_FLOOR 1e-4

static double rel_err(double a, double b, double L)
{
    double floor = FD_FLOOR * fmax(1, fabs(L));
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor);
}

/* a signal like speech in scale: a few sines and noise, |x| ~ 0.1 */
static void make_signal(double *d, float *f, int n, uint64_t *rng, double f0)
{
    double ph = nn_rand_uniform(rng) * 6.283;
    for (int i = 0; i < n; i++) {
        double v = 0.05 * sin(ph + 6.283 * f0 * i / 16000) +
                   0.03 * sin(2 * ph + 6.283 * 2.7 * f0 * i / 16000) +
                   0.03 * nn_rand_normal(rng);
        float fv = (float)v;
        d[i] = fv;
        if (f)
            f[i] = fv;
    }
}

static double *params_d(const disc_model *d)
{
    double *P = malloc(sizeof(double) * d->p.count);
    for (size_t i = 0; i < d->p.count; i++)
        P[i] = d->p.params[i];
    return P;
}

/* random biases too, so no unit starts exactly at a kink */
static void randomize_biases(disc_model *d, uint64_t *r)
{
    for (int k = 0; k < d->cfg.n; k++)
        for (int i = 0; i < d->cfg.n_layers; i++)
            for (int c = 0; c < d->cfg.ch[i]; c++)
                d->p.params[d->b[k][i] + c] = (float)(0.1 * nn_rand_normal(r));
}

/* Whether the loss has a kink within h of the point: its one-sided slopes (from f(x + h),
 * f(x - h) and f(x)) disagree by more than curvature could explain. A smooth function's
 * differ by h f'' (tiny here: the critics are piecewise linear) and the rounding
 * (~1e-11), a kink's by the jump in slope. */
static int kink(double fp, double fm, double f0)
{
    double a = (fp - f0) / FD_H, b = (f0 - fm) / FD_H;
    return fabs(a - b) > 1e-6 * fmax(fabs(a), fabs(b)) + 1e-9;
}

static double d_loss(const disc_model *d, const double *P, const double *re, const double *fk,
                     int n, nn_arena *ar)
{
    disc_loss L;
    int rc = disc_crop_d(d, P, re, fk, n, NULL, 0, NULL, 0, 0, 0, NULL, ar, &L);
    return rc ? NAN : L.d_real + L.d_fake;
}

static double g_loss(const disc_model *d, const double *P, const double *re, const double *fk,
                     int n, double aw, double fw, nn_arena *ar)
{
    disc_loss L;
    int rc = disc_crop_d(d, P, re, fk, n, NULL, 0, NULL, 0, 0, 0, NULL, ar, &L);
    return rc ? NAN : aw * L.adv + fw * L.fm;
}

/* The gradients of critics cfg on crops of steps input steps (the last tail steps beyond
 * every critic's span), cfg.in_ch values each. */
static void test_gradients(const char *what, const disc_config *cfg, int steps, int tail)
{
    tts_err err;
    printf(" %s:\n", what);
    disc_model d;
    CHECK(disc_init(&d, cfg, 77, &err) == 0, "init: %s", err.msg);
    uint64_t r = 5;
    randomize_biases(&d, &r);
    int C = cfg->in_ch, n = steps * C; /* values */
    double *re = malloc(sizeof(double) * n), *fk = malloc(sizeof(double) * n);
    make_signal(re, NULL, n, &r, 150);
    make_signal(fk, NULL, n, &r, 170);
    double *P = params_d(&d);
    double *gd = calloc(d.p.count, sizeof(double)), *gs = calloc(d.p.count, sizeof(double));
    double *dx = calloc((size_t)n, sizeof(double));
    nn_arena ar = {0};
    double aw = 1.3, fw = 0.7, sd = 0.9, sg = 1.1;
    disc_loss L;
    CHECK(disc_crop_d(&d, P, re, fk, steps, gd, sd, dx, aw, fw, sg, gs, &ar, &L) == 0, "crop");
    CHECK(L.d_real > 0 && L.d_fake > 0 && L.adv > 0 && L.fm > 0, "losses %g %g %g %g",
          L.d_real, L.d_fake, L.adv, L.fm);

    /* the critics' parameters: 12 entries of every tensor */
    int bad = 0, kinks = 0, checked = 0;
    double worst = 0;
    for (int t = 0; t < d.p.n_tensors; t++) {
        const nn_tensor_info *ti = &d.p.tensors[t];
        for (int e = 0; e < 12 && (size_t)e < ti->size; e++) {
            size_t i = ti->offset + (size_t)(nn_rand_u64(&r) % ti->size);
            double v = P[i], f[4], hs[4] = {FD_H, -FD_H, 2 * FD_H, -2 * FD_H};
            for (int s = 0; s < 4; s++) {
                P[i] = v + hs[s];
                f[s] = d_loss(&d, P, re, fk, steps, &ar);
            }
            P[i] = v;
            double fd = sd * (8 * (f[0] - f[1]) - (f[2] - f[3])) / (12 * FD_H);
            double e1 = rel_err(fd, gd[i], L.d_real + L.d_fake);
            checked++;
            if (e1 > TOL_FD && kink(f[0], f[1], d_loss(&d, P, re, fk, steps, &ar))) {
                kinks++;
                continue;
            }
            if (e1 > TOL_FD && bad++ < 5)
                printf("  critic %s[%zu]: fd %.9g analytic %.9g\n", ti->name, i - ti->offset,
                       fd, gd[i]);
            worst = fmax(worst, e1);
        }
    }
    CHECK(bad == 0 && kinks <= checked / 10,
          "critic gradient: %d of %d entries off (worst %.2e), %d kinks", bad, checked, worst,
          kinks);
    printf("  critic gradient: %d entries, worst rel err %.2e, %d kinks\n", checked, worst,
           kinks);

    /* the network's term against the fake input: every value */
    bad = 0;
    kinks = 0;
    worst = 0;
    int zero_tail = 1;
    for (int i = 0; i < n; i++) {
        double v = fk[i], f[4], hs[4] = {FD_H, -FD_H, 2 * FD_H, -2 * FD_H};
        for (int s = 0; s < 4; s++) {
            fk[i] = v + hs[s];
            f[s] = g_loss(&d, P, re, fk, steps, aw, fw, &ar);
        }
        fk[i] = v;
        double fd = sg * (8 * (f[0] - f[1]) - (f[2] - f[3])) / (12 * FD_H);
        double e1 = rel_err(fd, dx[i], aw * L.adv + fw * L.fm);
        if (i >= (steps - tail) * C && dx[i] != 0)
            zero_tail = 0;
        if (e1 > TOL_FD && kink(f[0], f[1], g_loss(&d, P, re, fk, steps, aw, fw, &ar))) {
            kinks++;
            continue;
        }
        if (e1 > TOL_FD && bad++ < 5)
            printf("  dfake[%d]: fd %.9g analytic %.9g\n", i, fd, dx[i]);
        worst = fmax(worst, e1);
    }
    CHECK(bad == 0 && kinks <= n / 10, "fake gradient: %d of %d samples off (worst %.2e), %d kinks",
          bad, n, worst, kinks);
    CHECK(zero_tail, "samples past the critics' span have a gradient");
    printf("  fake gradient: %d samples, worst rel err %.2e, %d kinks\n", n, worst, kinks);

    /* float against double: values and gradients */
    float *Pf = d.p.params, *ref = malloc(sizeof(float) * n), *fkf = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) {
        ref[i] = (float)re[i];
        fkf[i] = (float)fk[i];
    }
    float *gdf = calloc(d.p.count, sizeof(float)), *gsf = calloc(d.p.count, sizeof(float));
    float *dxf = calloc((size_t)n, sizeof(float));
    disc_loss Lf;
    CHECK(disc_crop_f(&d, Pf, ref, fkf, steps, gdf, sd, dxf, aw, fw, sg, gsf, &ar, &Lf) == 0, "f");
    CHECK(fabs(Lf.d_real - L.d_real) < 1e-5 * (1 + L.d_real) &&
              fabs(Lf.adv - L.adv) < 1e-5 * (1 + L.adv) && fabs(Lf.fm - L.fm) < 1e-4 * L.fm,
          "float losses %g %g %g vs %g %g %g", Lf.d_real, Lf.adv, Lf.fm, L.d_real, L.adv, L.fm);
    double gmax = 0, gerr = 0, xmax = 0, xerr = 0;
    for (size_t i = 0; i < d.p.count; i++) {
        gmax = fmax(gmax, fabs(gd[i]));
        gerr = fmax(gerr, fabs(gd[i] - gdf[i]));
    }
    for (int i = 0; i < n; i++) {
        xmax = fmax(xmax, fabs(dx[i]));
        xerr = fmax(xerr, fabs(dx[i] - dxf[i]));
    }
    CHECK(gerr < 1e-4 * gmax && xerr < 1e-3 * xmax, "float gradients: %.2e of %.2e, %.2e of %.2e",
          gerr, gmax, xerr, xmax);
    /* the network's pass leaves the critics' gradients alone and vice versa */
    double *gd2 = calloc(d.p.count, sizeof(double)), *dx2 = calloc((size_t)n, sizeof(double));
    disc_crop_d(&d, P, re, fk, steps, NULL, 0, dx2, aw, fw, sg, gs, &ar, &L);
    disc_crop_d(&d, P, re, fk, steps, gd2, sd, NULL, 0, 0, 0, NULL, &ar, &L);
    CHECK(memcmp(dx2, dx, sizeof(double) * n) == 0 && memcmp(gd2, gd, sizeof(double) * d.p.count) == 0,
          "the two passes depend on each other");
    /* too short for the longest-period critic */
    int shortest = disc_min_samples(cfg);
    CHECK(disc_crop_d(&d, P, re, fk, shortest - 1, NULL, 0, NULL, 0, 0, 0, NULL, &ar, &L) ==
              TTS_E_INVALID, "a crop shorter than %d steps accepted", shortest);
    nn_arena_free(&ar);
    free(re), free(fk), free(P), free(gd), free(gs), free(dx), free(ref), free(fkf), free(gdf);
    free(gsf), free(dxf), free(gd2), free(dx2);
    disc_free(&d);
}

/* critic p on an interleaved signal = the period-1 critic (same weights) on each phase */
static void test_period(void)
{
    disc_config c2, c1;
    tts_err err;
    disc_config_parse(&c2, "2", &err);
    disc_config_parse(&c1, "1", &err);
    disc_model d2, d1;
    disc_init(&d2, &c2, 3, &err);
    disc_init(&d1, &c1, 4, &err);
    memcpy(d1.p.params, d2.p.params, sizeof(float) * d2.p.count);
    int T = 2 * disc_hop(&c1), n = 2 * T;
    uint64_t r = 9;
    double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
    double *u[2], *v[2];
    make_signal(x, NULL, n, &r, 120);
    make_signal(y, NULL, n, &r, 200);
    for (int j = 0; j < 2; j++) {
        u[j] = malloc(sizeof(double) * T);
        v[j] = malloc(sizeof(double) * T);
        for (int t = 0; t < T; t++) {
            u[j][t] = x[2 * t + j];
            v[j][t] = y[2 * t + j];
        }
    }
    double *P = params_d(&d2);
    nn_arena ar = {0};
    disc_loss L2, a, b;
    disc_crop_d(&d2, P, x, y, n, NULL, 0, NULL, 0, 0, 0, NULL, &ar, &L2);
    disc_crop_d(&d1, P, u[0], v[0], T, NULL, 0, NULL, 0, 0, 0, NULL, &ar, &a);
    disc_crop_d(&d1, P, u[1], v[1], T, NULL, 0, NULL, 0, 0, 0, NULL, &ar, &b);
    double e = fabs(L2.d_real - (a.d_real + b.d_real) / 2) + fabs(L2.d_fake - (a.d_fake + b.d_fake) / 2) +
               fabs(L2.adv - (a.adv + b.adv) / 2) + fabs(L2.fm - (a.fm + b.fm) / 2);
    CHECK(e < 1e-12, "period 2 is not the period-1 critic on the two phases (%.2e)", e);
    CHECK(fabs(a.d_real - b.d_real) > 1e-6, "the two phases score alike");
    nn_arena_free(&ar);
    for (int j = 0; j < 2; j++) {
        free(u[j]);
        free(v[j]);
    }
    free(x), free(y), free(P);
    disc_free(&d1);
    disc_free(&d2);
}

static void test_file_and_config(void)
{
    disc_config c;
    tts_err err;
    CHECK(disc_config_parse(&c, "1,2,3,5,7", &err) == 0 && c.n == 5 && c.period[4] == 7,
          "parse 1,2,3,5,7");
    CHECK(disc_config_parse(&c, "", &err) != 0, "empty list accepted");
    CHECK(disc_config_parse(&c, "1,x", &err) != 0, "1,x accepted");
    CHECK(disc_config_parse(&c, "0", &err) != 0, "period 0 accepted");
    CHECK(disc_config_parse(&c, "1;2", &err) != 0, "1;2 accepted");
    CHECK(disc_config_parse(&c, "1,2,3,4,5,6,7,8,9", &err) != 0, "nine critics accepted");
    disc_config_parse(&c, "1,3", &err);
    disc_model d, e;
    disc_init(&d, &c, 11, &err);
    for (size_t i = 0; i < d.p.count; i++) {
        d.p.m[i] = (float)i * 1e-3f;
        d.p.v[i] = (float)i * 1e-6f;
    }
    nn_adam adam = {.step = 1234}, back = {0};
    char path[] = "/tmp/test_disc_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    tts_mf_writer *w = tts_mf_writer_new();
    disc_to_mf(w, &d, &adam);
    CHECK(tts_mf_write(w, path, &err) == 0, "write: %s", err.msg);
    tts_mf_writer_free(w);
    tts_mf *mf = NULL;
    CHECK(tts_mf_open(&mf, path, &err) == 0, "open: %s", err.msg);
    CHECK(mf && disc_load(&e, mf, &back, &err) == 0, "load: %s", err.msg);
    if (mf) {
        CHECK(e.cfg.n == 2 && e.cfg.period[1] == 3 && e.p.count == d.p.count, "config back");
        CHECK(memcmp(e.p.params, d.p.params, sizeof(float) * d.p.count) == 0 &&
                  memcmp(e.p.m, d.p.m, sizeof(float) * d.p.count) == 0 &&
                  memcmp(e.p.v, d.p.v, sizeof(float) * d.p.count) == 0 && back.step == 1234,
              "parameters, moments or step changed in the round trip");
        disc_free(&e);
        tts_mf_close(mf);
    }
    /* a critic of frames keeps its layout */
    disc_free(&d);
    disc_config_frames(&c, 20);
    CHECK(disc_init(&d, &c, 12, &err) == 0, "frames init: %s", err.msg);
    w = tts_mf_writer_new();
    disc_to_mf(w, &d, NULL);
    CHECK(tts_mf_write(w, path, &err) == 0, "write: %s", err.msg);
    tts_mf_writer_free(w);
    CHECK(tts_mf_open(&mf, path, &err) == 0 && disc_load(&e, mf, NULL, &err) == 0, "frames load: %s",
          err.msg);
    CHECK(e.cfg.in_ch == 20 && e.cfg.n_layers == c.n_layers && e.cfg.stride[1] == 2 &&
              e.cfg.ch[0] == 128 && e.p.count == d.p.count && disc_hop(&e.cfg) == 4 &&
              memcmp(e.p.params, d.p.params, sizeof(float) * d.p.count) == 0,
          "the frames layout changed in the round trip");
    disc_free(&e);
    tts_mf_close(mf);
    /* a broken layer list is an error, not a guess */
    const char *bad_lists[] = {"20;", "20;1:5:128", "0;1:3:1,1:3:1", "20;1:5:128,1:3:2", "20;1:5"};
    for (int i = 0; i < 5; i++) {
        w = tts_mf_writer_new();
        disc_to_mf(w, &d, NULL);
        tts_mf_set_str(w, "disc.layers", bad_lists[i]);
        tts_mf_write(w, path, &err);
        tts_mf_writer_free(w);
        CHECK(tts_mf_open(&mf, path, &err) == 0 && disc_load(&e, mf, NULL, &err) != 0,
              "layer list \"%s\" accepted", bad_lists[i]);
        tts_mf_close(mf);
    }
    /* a vocoder's file is not the critics' */
    w = tts_mf_writer_new();
    tts_mf_set_str(w, "kind", "vocoder");
    tts_mf_write(w, path, &err);
    tts_mf_writer_free(w);
    CHECK(tts_mf_open(&mf, path, &err) == 0 && disc_load(&e, mf, NULL, &err) != 0,
          "a vocoder file loaded as critics");
    tts_mf_close(mf);
    unlink(path);
    disc_free(&d);
}

int main(void)
{
    disc_config wave, small;
    tts_err err;
    CHECK(disc_config_parse(&wave, "1,2,3", &err) == 0, "parse: %s", err.msg);
    /* not a multiple of any period's span: the tail is left out */
    test_gradients("waveform critics at periods 1, 2, 3", &wave, 3 * 128 + 5, 5);
    /* frames of 5 values, a stack as the frames layout's in miniature, two periods: the
     * values of a step move together through the interleave */
    small = (disc_config){.n = 2, .period = {1, 2}, .in_ch = 5, .n_layers = 3,
                          .ch = {8, 8, 1}, .stride = {1, 2, 1}, .k = {3, 3, 3}};
    test_gradients("critics of 5-value frames at periods 1, 2", &small, 2 * 2 * 6 + 1, 1);
    test_period();
    test_file_and_config();
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("all disc tests passed\n");
    return 0;
}
