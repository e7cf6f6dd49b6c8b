/*
 * tts-train pitch: the pitch predictor of a trained voice fitted on its own, the rest of
 * the voice held fixed.
 *
 * A predictor that reads the text encoder can tell the training sentences apart and
 * learns each one's pitch rather than what makes a melody. One that reads only each
 * token's phoneme embedding and its prosodic context (--ctx: acoustic/prosody.h) learns
 * what carries over to new text (docs/LOG.md, session 24). The targets are the ones joint
 * training uses, each token's pitch read off the voice's teacher-forced attention
 * (t2m_pitch_targets), taken about each take's own mean unless --absolute: a take's mean
 * pitch does not follow from its text, and fitting it only teaches the predictor the
 * training sentences. The inputs are computed once; Adam on the predictor alone; the
 * epoch of the best validation error kept.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/prosody.h"
#include "acoustic/text2mel.h"
#include "acoustic/voice_io.h"
#include "core/err.h"
#include "nn/layers.h"
#include "nn/modelfile.h"
#include "train/dataset.h"
#include "train/train.h"

typedef struct {
    int N;
    const int *ids;
    float *x, *tgt; /* the predictor's input [N, cin], the target [N] */
} ptake;

typedef struct {
    int epochs, batch, pitch_ch, pitch_ctx, reinit, absolute, ensemble;
    double lr, wd, dropout;
    uint64_t seed;
} pitch_args;

static void usage(void)
{
    fprintf(stderr,
            "usage: tts-train pitch CKPT.ltm CACHE.ltd OUT.ltm [--ctx] [--epochs N (60)]\n"
            "       [--batch B (16)] [--lr LR (3e-4)] [--wd W (0)] [--dropout P (0.3)]\n"
            "       [--pitch-ch C] [--reinit] [--absolute] [--seed S (1)] [--ensemble M (1)]\n"
            "  the pitch predictor fitted alone, the rest of the voice fixed; --ctx: a new\n"
            "  predictor reading the phoneme embedding and the prosodic context; --absolute:\n"
            "  the targets as recorded, not about each take's mean; --ensemble M: M predictors\n"
            "  (seeds S ..) merged into one of M x C channels that predicts their mean.\n"
            "  OUT.ltm: the voice with the predictor of the best validation epoch (no\n"
            "  optimizer state)\n");
}

/* dst: src with a predictor of pc channels, src's own (keep_pitch, same width) or new
 * random weights (seed); every other tensor copied */
static int clone_with(t2m_model *dst, const t2m_model *src, int pc, int ctx, const char *symbols,
                      uint64_t seed, int keep_pitch, tts_err *err)
{
    t2m_config c = src->cfg;
    c.pitch_ch = pc;
    c.pitch_ctx = ctx;
    int rc = t2m_init(dst, &c, 1, seed, err);
    if (!rc && ctx && symbols)
        rc = t2m_set_prosody(dst, symbols, strlen(symbols), err);
    else if (!rc && ctx) { /* src's own classes */
        dst->pclass = malloc(sizeof(float) * (size_t)c.n_symbols);
        if (!dst->pclass)
            rc = tts_seterr(err, TTS_E_NOMEM, "out of memory");
        else
            memcpy(dst->pclass, src->pclass, sizeof(float) * (size_t)c.n_symbols);
    }
    if (rc) {
        t2m_free(dst);
        return rc;
    }
    for (int t = 0; t < dst->p.n_tensors; t++) {
        const nn_tensor_info *ti = &dst->p.tensors[t];
        const nn_tensor_info *to = nn_params_find(&src->p, ti->name);
        if (to && to->size == ti->size && (keep_pitch || strncmp(ti->name, "pitch.", 6)))
            memcpy(dst->p.params + ti->offset, src->p.params + to->offset, sizeof(float) * ti->size);
    }
    if (src->hold) {
        dst->hold = malloc(sizeof(float) * (size_t)c.n_symbols);
        if (!dst->hold) {
            t2m_free(dst);
            return tts_seterr(err, TTS_E_NOMEM, "out of memory");
        }
        memcpy(dst->hold, src->hold, sizeof(float) * (size_t)c.n_symbols);
    }
    return 0;
}

/* the mean squared error and, over tokens with a voiced target, the correlation; also
 * printed (verbose): the correlation within utterances (each one's mean taken off both),
 * the std of prediction over target within utterances, and the correlation of the
 * utterances' means */
static int verbose_val;
static void validate(const t2m_model *m, const ptake *tk, int n, t2m_arena *ar, double *mse,
                     double *corr)
{
    double se = 0, nt = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, nc = 0;
    double wxx = 0, wyy = 0, wxy = 0, mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0, nm = 0;
    for (int i = 0; i < n; i++) {
        float *out = malloc(sizeof(float) * (size_t)tk[i].N);
        double l;
        if (!out || t2m_pitch_fit(m, NULL, tk[i].x, tk[i].N, tk[i].tgt, 0, NULL, ar, out, &l)) {
            free(out);
            continue;
        }
        se += l * tk[i].N;
        nt += tk[i].N;
        double ux = 0, uy = 0, un = 0;
        for (int k = 0; k < tk[i].N; k++)
            if (tk[i].tgt[k] != 0) {
                double x = out[k], y = tk[i].tgt[k];
                sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y, nc++;
                ux += x, uy += y, un++;
            }
        if (un > 1) {
            ux /= un, uy /= un;
            for (int k = 0; k < tk[i].N; k++)
                if (tk[i].tgt[k] != 0) {
                    double x = out[k] - ux, y = tk[i].tgt[k] - uy;
                    wxx += x * x, wyy += y * y, wxy += x * y;
                }
            mx += ux, my += uy, mxx += ux * ux, myy += uy * uy, mxy += ux * uy, nm++;
        }
        free(out);
    }
    *mse = nt > 0 ? se / nt : NAN;
    double cxx = sxx - sx * sx / nc, cyy = syy - sy * sy / nc, cxy = sxy - sx * sy / nc;
    *corr = nc > 1 && cxx > 0 && cyy > 0 ? cxy / sqrt(cxx * cyy) : NAN;
    if (verbose_val && nm > 1) {
        double bxx = mxx - mx * mx / nm, byy = myy - my * my / nm, bxy = mxy - mx * my / nm;
        fprintf(stderr, "  within: corr %.3f std ratio %.3f (target std %.3f)  means: corr %.3f "
                "(target std %.3f)\n", wxy / sqrt(wxx * wyy), sqrt(wxx / wyy), sqrt(wyy / nc),
                bxy / sqrt(bxx * byy), sqrt(byy / nm));
    }
}

/* each take's targets (read off the teacher-forced attention of the voice v as it is) and
 * inputs (the predictor's of model x, whose predictor is to be fitted) */
static int prepare_takes(const t2m_model *v, const t2m_model *x, const tts_dataset *ds,
                         const float *lf0, ptake *tk, t2m_arena *ar, tts_err *err)
{
    int r = v->cfg.r, nm = ds->n_mels, w = x->pitch.l[0].cin;
    for (int i = 0; i < ds->n; i++) {
        int N = tts_dataset_n_ids(ds, i), F = tts_dataset_n_frames(ds, i), S = (F + r - 1) / r;
        float *mel = malloc(sizeof(float) * (size_t)F * nm);
        float *A = malloc(sizeof(float) * (size_t)S * N);
        tk[i].N = N;
        tk[i].ids = ds->ids + ds->ids_off[i];
        tk[i].x = malloc(sizeof(float) * (size_t)N * w);
        tk[i].tgt = malloc(sizeof(float) * (size_t)N);
        if (!mel || !A || !tk[i].x || !tk[i].tgt) {
            free(mel);
            free(A);
            return tts_seterr(err, TTS_E_NOMEM, "out of memory");
        }
        tts_dataset_mel_norm(ds, i, mel);
        t2m_train_opts o = {.guided_weight = 0, .guided_g = 0.2f, .lf0 = lf0 + ds->mel_off[i]};
        t2m_loss L;
        uint64_t rng = 1;
        int rc = t2m_train_utterance(v, tk[i].ids, N, mel, F, &o, NULL, 1, &rng, ar, &L, A);
        if (rc == 0) {
            t2m_pitch_targets(A, S, N, r, lf0 + ds->mel_off[i], F, tk[i].tgt);
            rc = t2m_pitch_inputs(x, tk[i].ids, N, tk[i].x, ar);
        }
        free(mel);
        free(A);
        if (rc)
            return tts_seterr(err, rc, "take %d: the teacher-forced pass failed", i);
        if (i % 100 == 0)
            fprintf(stderr, "\rtargets: %d of %d", i, ds->n);
    }
    fprintf(stderr, "\rtargets: %d of %d\n", ds->n, ds->n);
    return 0;
}

/* the predictor's tensors: one range of the parameters (built one after another) */
static void pitch_range_of(const t2m_model *m, size_t *lo, size_t *hi)
{
    *lo = (size_t)-1, *hi = 0;
    for (int t = 0; t < m->p.n_tensors; t++)
        if (!strncmp(m->p.tensors[t].name, "pitch.", 6)) {
            size_t o = m->p.tensors[t].offset, e = o + m->p.tensors[t].size;
            *lo = o < *lo ? o : *lo;
            *hi = e > *hi ? e : *hi;
        }
}

/* Adam on the predictor alone, the epoch of the best validation error kept in m */
static int fit(t2m_model *m, ptake *tt, int nt, const ptake *vt, int nv, const pitch_args *a,
               uint64_t seed, t2m_arena *ar)
{
    size_t lo, hi;
    pitch_range_of(m, &lo, &hi);
    size_t np = hi - lo;
    float *G = calloc(m->p.count, sizeof(float)), *best = malloc(sizeof(float) * np);
    double *am = calloc(np, sizeof(double)), *av = calloc(np, sizeof(double));
    if (!G || !best || !am || !av) {
        free(G), free(best), free(am), free(av);
        return -1;
    }
    double mse, corr, best_mse;
    validate(m, vt, nv, ar, &best_mse, &corr);
    memcpy(best, m->p.params + lo, sizeof(float) * np);
    int best_epoch = 0, rc = 0;
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 1;
    int64_t step = 0;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int ep = 1; ep <= a->epochs && !rc; ep++) {
        for (int i = nt - 1; i > 0; i--) { /* shuffle */
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            int j = (int)(rng % (uint64_t)(i + 1));
            ptake x = tt[i];
            tt[i] = tt[j];
            tt[j] = x;
        }
        double el = 0;
        for (int b0 = 0; b0 < nt && !rc; b0 += a->batch) {
            int nb = b0 + a->batch <= nt ? a->batch : nt - b0;
            memset(G + lo, 0, sizeof(float) * np);
            for (int k = 0; k < nb && !rc; k++) {
                double l;
                const ptake *p = &tt[b0 + k];
                rc = t2m_pitch_fit(m, G, p->x, p->N, p->tgt, (float)a->dropout, &rng, ar, NULL, &l);
                el += l;
            }
            step++;
            double c1 = 1 - pow(b1, (double)step), c2 = 1 - pow(b2, (double)step);
            float *P = m->p.params + lo;
            for (size_t k = 0; k < np; k++) {
                double g = G[lo + k] / nb;
                am[k] = b1 * am[k] + (1 - b1) * g;
                av[k] = b2 * av[k] + (1 - b2) * g * g;
                P[k] -= (float)(a->lr * ((am[k] / c1) / (sqrt(av[k] / c2) + eps) + a->wd * P[k]));
            }
        }
        validate(m, vt, nv, ar, &mse, &corr);
        int better = mse < best_mse;
        if (better) {
            best_mse = mse;
            best_epoch = ep;
            memcpy(best, m->p.params + lo, sizeof(float) * np);
        }
        fprintf(stderr, "seed %llu epoch %d  train mse %.4f (dropout on)  val mse %.4f corr %.3f%s\n",
                (unsigned long long)seed, ep, el / nt, mse, corr, better ? "  best" : "");
    }
    memcpy(m->p.params + lo, best, sizeof(float) * np);
    fprintf(stderr, "seed %llu: kept epoch %d, val mse %.4f\n", (unsigned long long)seed,
            best_epoch, best_mse);
    free(G), free(best), free(am), free(av);
    return rc;
}

/* The M predictors mem[] (pc channels each) as one of M pc channels into dst, a copy of
 * mem[0] otherwise: the first convs side by side, the second block-diagonal, the last one's
 * weights over M, so that it predicts the members' mean. */
static int merge(t2m_model *dst, const t2m_model *mem, int M, int pc, tts_err *err)
{
    int rc = clone_with(dst, &mem[0], M * pc, mem[0].cfg.pitch_ctx, NULL, 1, 0, err);
    if (rc)
        return rc;
    float *P = dst->p.params;
    const t2m_stack *s = &dst->pitch;
    for (int l = 0; l < 3; l++) {
        const t2m_conv *c = &s->l[l];
        memset(P + c->w, 0, sizeof(float) * (size_t)c->K * c->cin * c->cout);
        memset(P + c->b, 0, sizeof(float) * (size_t)c->cout);
    }
    const t2m_conv *c0 = &s->l[0], *c1 = &s->l[1], *c2 = &s->l[2];
    for (int e = 0; e < M; e++) {
        const float *Q = mem[e].p.params;
        const t2m_stack *q = &mem[e].pitch;
        for (int k = 0; k < c0->K; k++) /* [K, cin, M pc] <- [K, cin, pc] */
            for (int i = 0; i < c0->cin; i++)
                memcpy(P + c0->w + ((size_t)k * c0->cin + i) * c0->cout + (size_t)e * pc,
                       Q + q->l[0].w + ((size_t)k * c0->cin + i) * pc, sizeof(float) * pc);
        memcpy(P + c0->b + (size_t)e * pc, Q + q->l[0].b, sizeof(float) * pc);
        for (int k = 0; k < c1->K; k++) /* [K, M pc, M pc], block-diagonal */
            for (int i = 0; i < pc; i++)
                memcpy(P + c1->w + ((size_t)k * c1->cin + (size_t)e * pc + i) * c1->cout + (size_t)e * pc,
                       Q + q->l[1].w + ((size_t)k * pc + i) * pc, sizeof(float) * pc);
        memcpy(P + c1->b + (size_t)e * pc, Q + q->l[1].b, sizeof(float) * pc);
        for (int i = 0; i < pc; i++) /* [1, M pc, 1] */
            P[c2->w + (size_t)e * pc + i] = Q[q->l[2].w + i] / M;
        P[c2->b] += Q[q->l[2].b] / M;
    }
    return 0;
}

static int parse(int argc, char **argv, pitch_args *a)
{
    *a = (pitch_args){.epochs = 60, .batch = 16, .pitch_ch = -1, .lr = 3e-4, .wd = 0,
                      .dropout = 0.3, .seed = 1, .ensemble = 1};
    for (int i = 3; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(s, name) && v && ++i)
        if (OPT("--epochs")) a->epochs = atoi(v);
        else if (OPT("--batch")) a->batch = atoi(v);
        else if (OPT("--lr")) a->lr = atof(v);
        else if (OPT("--wd")) a->wd = atof(v);
        else if (OPT("--dropout")) a->dropout = atof(v);
        else if (OPT("--pitch-ch")) a->pitch_ch = atoi(v);
        else if (OPT("--seed")) a->seed = strtoull(v, NULL, 10);
        else if (OPT("--ensemble")) a->ensemble = atoi(v);
        else if (!strcmp(s, "--reinit")) a->reinit = 1;
        else if (!strcmp(s, "--ctx")) a->pitch_ctx = 1;
        else if (!strcmp(s, "--absolute")) a->absolute = 1;
        else {
            fprintf(stderr, "tts-train pitch: unknown option %s\n", s);
            return 2;
        }
#undef OPT
    }
    if (a->epochs < 1 || a->batch < 1 || a->ensemble < 1 || a->ensemble > 16 || !(a->lr > 0) || !(a->dropout >= 0 && a->dropout < 1) ||
        a->wd < 0) {
        fprintf(stderr, "tts-train pitch: an option is out of range\n");
        return 2;
    }
    return 0;
}

/* the voiced tokens' targets (non-zero) about their own mean, in place */
static void about_mean(float *t, int N)
{
    double u = 0;
    int c = 0;
    for (int k = 0; k < N; k++)
        if (t[k] != 0) {
            u += t[k];
            c++;
        }
    if (c == 0)
        return;
    float mu = (float)(u / c);
    for (int k = 0; k < N; k++)
        if (t[k] != 0)
            t[k] -= mu;
}

int train_pitch_main(int argc, char **argv)
{
    if (argc < 3) {
        usage();
        return 2;
    }
    const char *ckpt = argv[0], *cache = argv[1], *outp = argv[2];
    pitch_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    tts_err err = {0};
    tts_dataset ds;
    tts_mf *mf = NULL;
    t2m_model m;
    if (tts_dataset_open(&ds, cache, &err)) {
        fprintf(stderr, "tts-train pitch: %s\n", err.msg);
        return 1;
    }
    if (tts_mf_open(&mf, ckpt, &err) || t2m_from_mf(&m, mf, 1, NULL, &err)) {
        fprintf(stderr, "tts-train pitch: %s: %s\n", ckpt, err.msg);
        return 1;
    }
    int64_t step = -1; /* the voice's training step, carried over (the schedule reads it) */
    if (tts_mf_has(mf, "train.step") && tts_mf_get_i64(mf, "train.step", &step, &err))
        step = -1;
    tts_mf_close(mf);
    if (!m.pitch.n) {
        fprintf(stderr, "tts-train pitch: %s has no pitch predictor\n", ckpt);
        return 1;
    }
    float mu, sd;
    float *lf0 = tts_dataset_lf0(&ds, 2, &mu, &sd);
    if (!lf0) {
        fprintf(stderr, "tts-train pitch: the cache holds no audio (or out of memory)\n");
        return 1;
    }
    if (fabsf(mu - m.cfg.lf0_mean) > 1e-3f || fabsf(sd - m.cfg.lf0_std) > 1e-3f)
        fprintf(stderr, "note: the cache's ln F0 statistics (%.4f, %.4f) differ from the voice's "
                "(%.4f, %.4f); the voice's are kept\n", mu, sd, m.cfg.lf0_mean, m.cfg.lf0_std);
    /* the model whose predictor is fitted: the voice, with a new predictor where its
     * width or inputs change (or --reinit) */
    int ctx = a.pitch_ctx || m.cfg.pitch_ctx, pc = a.pitch_ch > 0 ? a.pitch_ch : m.cfg.pitch_ch;
    int keep = pc == m.cfg.pitch_ch && ctx == m.cfg.pitch_ctx && !a.reinit;
    t2m_model fm;
    if (clone_with(&fm, &m, pc, ctx, ds.symbols, a.seed, keep, &err)) {
        fprintf(stderr, "tts-train pitch: %s\n", err.msg);
        return 1;
    }
    ptake *tk = calloc((size_t)ds.n, sizeof(ptake));
    t2m_arena ar = {0};
    if (!tk || prepare_takes(&m, &fm, &ds, lf0, tk, &ar, &err)) {
        fprintf(stderr, "tts-train pitch: %s\n", err.msg[0] ? err.msg : "out of memory");
        return 1;
    }
    if (!a.absolute)
        for (int i = 0; i < ds.n; i++)
            about_mean(tk[i].tgt, tk[i].N);
    ptake *vt = malloc(sizeof(ptake) * ds.n), *tt = malloc(sizeof(ptake) * ds.n);
    int nt = 0, nv = 0;
    if (!vt || !tt) {
        fprintf(stderr, "tts-train pitch: out of memory\n");
        return 1;
    }
    for (int i = 0; i < ds.n; i++)
        if (ds.split[i])
            vt[nv++] = tk[i];
        else
            tt[nt++] = tk[i];
    if (nv == 0 || nt == 0) { /* the epoch kept is the validation takes' best */
        fprintf(stderr, "tts-train pitch: the cache has %d training and %d validation takes; "
                "both are needed\n", nt, nv);
        return 1;
    }
    double mse = NAN, corr = NAN, tmse, tcorr;
    if (ctx == m.cfg.pitch_ctx) { /* the same inputs: the voice's own predictor to compare */
        verbose_val = 1;
        validate(&m, vt, nv, &ar, &mse, &corr);
        verbose_val = 0;
    }
    fprintf(stderr, "the voice's predictor: val mse %.4f corr %.3f; %d training, %d validation "
            "takes\n", mse, corr, nt, nv);
    if (fit(&fm, tt, nt, vt, nv, &a, a.seed, &ar)) {
        fprintf(stderr, "tts-train pitch: out of memory\n");
        return 1;
    }
    if (a.ensemble > 1) { /* more members from other seeds, then merged into one */
        t2m_model *mem = calloc((size_t)a.ensemble, sizeof(t2m_model));
        if (!mem)
            return 1;
        mem[0] = fm;
        for (int e = 1; e < a.ensemble; e++)
            if (clone_with(&mem[e], &m, pc, ctx, ds.symbols, a.seed + e, 0, &err) ||
                fit(&mem[e], tt, nt, vt, nv, &a, a.seed + e, &ar)) {
                fprintf(stderr, "tts-train pitch: %s\n", err.msg[0] ? err.msg : "out of memory");
                return 1;
            }
        if (merge(&fm, mem, a.ensemble, pc, &err)) {
            fprintf(stderr, "tts-train pitch: %s\n", err.msg);
            return 1;
        }
        /* the merged predictor predicts the members' mean */
        double dmax = 0;
        for (int i = 0; i < nv && i < 8; i++) {
            int N = vt[i].N;
            float *o = malloc(sizeof(float) * N), *acc = calloc((size_t)N, sizeof(float));
            double l;
            int ok = o && acc;
            for (int e = 0; e < a.ensemble && ok; e++) {
                ok = t2m_pitch_fit(&mem[e], NULL, vt[i].x, N, vt[i].tgt, 0, NULL, &ar, o, &l) == 0;
                for (int k = 0; k < N && ok; k++)
                    acc[k] += o[k] / a.ensemble;
            }
            if (ok && t2m_pitch_fit(&fm, NULL, vt[i].x, N, vt[i].tgt, 0, NULL, &ar, o, &l) == 0)
                for (int k = 0; k < N; k++) {
                    /* not fmax: gcc 12 for aarch64 stops with an internal error
                     * vectorizing that reduction */
                    double dk = fabs((double)o[k] - acc[k]);
                    if (dk > dmax)
                        dmax = dk;
                }
            free(o);
            free(acc);
        }
        fprintf(stderr, "%d predictors merged into one of %d channels; largest difference from "
                "their mean %.2e\n", a.ensemble, fm.cfg.pitch_ch, dmax);
        for (int e = 0; e < a.ensemble; e++)
            t2m_free(&mem[e]);
        free(mem);
    }
    t2m_free(&m);
    m = fm;
    verbose_val = 1;
    validate(&m, tt, nt, &ar, &tmse, &tcorr);
    validate(&m, vt, nv, &ar, &mse, &corr);
    fprintf(stderr, "kept: train mse %.4f corr %.3f  val mse %.4f corr %.3f (%d channels)\n", tmse,
            tcorr, mse, corr, m.cfg.pitch_ch);
    tts_mf_writer *w = tts_mf_writer_new();
    rc = 1;
    if (w) {
        t2m_to_mf(w, &m, NULL);
        tts_audio_cfg_to_mf(w, &ds.audio);
        tts_mf_set_str(w, "symbols", ds.symbols);
        tts_mf_set_f64(w, "train.pitch_val_mse", mse);
        if (step >= 0)
            tts_mf_set_i64(w, "train.step", step);
        rc = tts_mf_write(w, outp, &err) ? 1 : 0;
        tts_mf_writer_free(w);
    }
    if (rc)
        fprintf(stderr, "tts-train pitch: %s: %s\n", outp, err.msg);
    for (int i = 0; i < ds.n; i++) {
        free(tk[i].x);
        free(tk[i].tgt);
    }
    free(tk), free(tt), free(vt);
    free(lf0);
    t2m_arena_free(&ar);
    t2m_free(&m);
    tts_dataset_close(&ds);
    return rc;
}
