/*
 * tts-train acoustic: teacher-forced training of the Text2Mel model on a dataset cache,
 * on all cores (one worker thread per core, each with its own gradient buffer, BLAS
 * single-threaded inside). Resumes from RUN/ckpt.ltm; writes it every --ckpt-every
 * steps (atomically), RUN/best.ltm whenever the validation loss improves, RUN/train.log,
 * and RUN/align_STEP.png / RUN/mel_STEP.png for a fixed validation utterance.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cblas.h>

#include "acoustic/voice_io.h"
#include "frontend/frontend.h"
#include "train/dataset.h"
#include "train/disc.h"
#include "train/parallel.h"
#include "train/plot.h"
#include "train/train.h"
#include "vocoder/pitch.h"

/* tts-train acoustic's command line */
typedef struct {
    const char *data, *dir, *init; /* the cache, the run folder, --init */
    int steps, batch, threads, ckpt_every, val_every, log_every, warmup, max_val;
    double lr, minutes, clip;
    int hard_mining; /* back-propagate only the hardest M of 2M utterances (0 = off) */
    int d, text_ch, r, post_ch, pitch_ch; /* a new model's shape (0 / -1: the default) */
    float sharpen;                        /* --attn-sharpen (0: keep the model's) */
    double adv_weight, fm_weight, disc_lr; /* the critic of frames (adv_weight 0: none) */
    int disc_warmup;                       /* steps the critic learns alone first */
    t2m_config cfg;
    t2m_train_opts topts;
} acoustic_args;

typedef struct {
    const t2m_model *m;
    const tts_dataset *ds;
    const t2m_train_opts *o;
    const int *items;
    int n_items, stride, first;
    float *grads; /* NULL: forward only */
    float grad_scale;
    uint64_t seed;
    t2m_arena arena;
    double l1, l1_pre, guided, delta, gv, pitch, frames;
    double *per_item; /* optional [n_items] losses */
    disc_worker crit;     /* the critic of frames (crit.disc NULL: none) */
    double adv_w, fm_w;   /* its terms' weights in the network's loss (0: warm-up) */
    int rc;
} worker;

/* t2m_train_opts.frame_loss: the critic of frames on the recording's and the output's */
static int critic_frame_loss(void *ctx, float *dy, const float *y, const float *Y, int T, int F,
                             double scale, double *loss)
{
    (void)T;
    worker *w = ctx;
    return disc_worker_crop(&w->crit, Y, y, F, w->grad_scale, dy, w->adv_w, w->fm_w, scale, loss);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    w->l1 = w->l1_pre = w->guided = w->delta = w->gv = w->pitch = 0;
    w->crit.sum = (disc_loss){0};
    w->rc = 0;
    for (int k = w->first; k < w->n_items; k += w->stride) {
        int i = w->items[k];
        const tts_dataset *ds = w->ds;
        uint64_t rng = w->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(k + 1));
        t2m_loss L;
        /* the options' lf0 is the whole cache's, frame for frame: this utterance's part */
        t2m_train_opts o = *w->o;
        if (o.lf0)
            o.lf0 += ds->mel_off[i];
        if (w->crit.disc) {
            o.frame_loss = critic_frame_loss;
            o.frame_loss_ctx = w;
        }
        int rc = t2m_train_utterance(w->m, ds->ids + ds->ids_off[i], tts_dataset_n_ids(ds, i),
                                     ds->mel + (size_t)ds->mel_off[i] * ds->n_mels,
                                     tts_dataset_n_frames(ds, i), &o, w->grads, w->grad_scale,
                                     &rng, &w->arena, &L, NULL);
        if (rc) {
            w->rc = rc;
            return NULL;
        }
        w->l1 += L.l1;
        w->l1_pre += L.l1_pre;
        w->guided += L.guided;
        w->delta += L.delta;
        w->gv += L.gv;
        w->pitch += L.pitch;
        if (w->per_item)
            w->per_item[k] = L.total;
    }
    return NULL;
}

/* one of the workers' loss terms of their last run (delta, gv, pitch: the member at
 * offset off), summed */
static double sum_term(const worker *wk, int nthreads, size_t off)
{
    double d = 0;
    for (int t = 0; t < nthreads; t++)
        d += *(const double *)((const char *)&wk[t] + off);
    return d;
}

/* the critic of frames in a pass over items (run_items' crit; NULL: none) */
typedef struct {
    disc_model *disc;
    double adv_w, fm_w; /* its terms' weights in the network's loss (0: the critic alone) */
} critic_step;

/* runs items over nthreads workers; sums gradients into m->p.grads when train (and the
 * critic's into crit->disc->p.grads) */
static int run_items(t2m_model *m, const tts_dataset *ds, const t2m_train_opts *o, const int *items,
                     int n_items, worker *wk, int nthreads, int train, float grad_scale,
                     uint64_t seed, double *l1, double *guided, double *per_item, double *l1_pre,
                     const critic_step *crit)
{
    for (int t = 0; t < nthreads; t++) {
        worker *w = &wk[t];
        w->m = m;
        w->ds = ds;
        w->o = o;
        w->items = items;
        w->n_items = n_items;
        w->stride = nthreads;
        w->first = t;
        w->grad_scale = grad_scale;
        w->seed = seed;
        w->per_item = per_item;
        w->crit.disc = NULL;
        if (crit && crit->disc) {
            if (disc_worker_begin(&w->crit, crit->disc, train))
                return TTS_E_NOMEM;
            w->adv_w = crit->adv_w;
            w->fm_w = crit->fm_w;
        }
    }
    if (tr_pass(wk, nthreads, sizeof *wk, offsetof(worker, grads), m->p.count, train, worker_run,
                m->p.grads))
        return TTS_E_NOMEM;
    *l1 = *guided = 0;
    if (l1_pre)
        *l1_pre = 0;
    int rc = 0;
    for (int t = 0; t < nthreads; t++) {
        *l1 += wk[t].l1;
        if (l1_pre)
            *l1_pre += wk[t].l1_pre;
        *guided += wk[t].guided;
        if (wk[t].rc)
            rc = wk[t].rc;
    }
    if (train && !rc && crit && crit->disc)
        tr_grads_sum(crit->disc->p.grads, wk, nthreads, sizeof *wk, offsetof(worker, crit.grads),
                     crit->disc->p.count);
    return rc;
}

/* The model into path with the cache's audio settings and symbols, and key = value:
 * with adam (a checkpoint) its optimizer state, else (best.ltm) step as "train.step" */
static int save_model(const char *path, const t2m_model *m, const tts_dataset *ds,
                      const nn_adam *adam, int64_t step, const char *key, double value,
                      tts_err *err)
{
    tts_mf_writer *w = tts_mf_writer_new();
    if (!w)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    t2m_to_mf(w, m, adam);
    tts_audio_cfg_to_mf(w, &ds->audio);
    tts_mf_set_str(w, "symbols", ds->symbols);
    tts_mf_set_f64(w, key, value);
    if (adam == NULL)
        tts_mf_set_i64(w, "train.step", step);
    int rc = tts_mf_write(w, path, err);
    tts_mf_writer_free(w);
    return rc;
}

static void plot_val(const char *dir, int64_t step, t2m_model *m, const tts_dataset *ds, int item,
                     const t2m_train_opts *o)
{
    int N = tts_dataset_n_ids(ds, item), F = tts_dataset_n_frames(ds, item), r = m->cfg.r;
    int S = (F + r - 1) / r, nm = ds->n_mels;
    float *align = malloc(sizeof(float) * (size_t)S * N);
    float *melnorm = malloc(sizeof(float) * (size_t)F * nm);
    float *pred = malloc(sizeof(float) * (size_t)S * r * nm);
    if (!align || !melnorm || !pred)
        goto out;
    tts_dataset_mel_norm(ds, item, melnorm);
    t2m_arena ar = {0};
    t2m_loss L;
    uint64_t rng = 1;
    t2m_train_opts po = *o;
    po.pred = pred;
    if (t2m_train_utterance(m, ds->ids + ds->ids_off[item], N, melnorm, F, &po, NULL, 1, &rng, &ar,
                            &L, align) == 0) {
        char path[1024];
        tts_err e;
        plot_panel p = {align, S, N, 0, 1};
        snprintf(path, sizeof path, "%s/align_%08lld.png", dir, (long long)step);
        plot_png(path, &p, 1, 4, 4, &e);
        /* the recorded mel above, the teacher-forced prediction below, same colour scale */
        plot_panel mp[2] = {{melnorm, F, nm, -3, 3}, {pred, F, nm, -3, 3}};
        snprintf(path, sizeof path, "%s/mel_%08lld.png", dir, (long long)step);
        plot_png(path, mp, 2, 2, 2, &e);
    }
    /* free-running synthesis of the same sentence: the alignment that matters */
    t2m_infer_opts io = t2m_infer_opts_default(m);
    tts_symtab *tab = NULL;
    tts_err pe;
    unsigned char *passable = malloc((size_t)m->cfg.n_symbols);
    if (passable && tts_symtab_parse(&tab, ds->symbols, strlen(ds->symbols), &pe) == 0 &&
        tts_symtab_count(tab) == m->cfg.n_symbols) {
        tts_symtab_passable(tab, passable);
        io.passable = passable;
    }
    tts_symtab_free(tab);
    int cap = io.max_steps_per_token * N + 10;
    float *falign = calloc((size_t)cap * N, sizeof(float));
    if (falign) {
        int stop = 0;
        tts_err e;
        int steps = t2m_synthesize(m, ds->ids + ds->ids_off[item], N, &io, NULL, NULL, falign,
                                   &stop, &e);
        if (steps > 0) {
            char path[1024];
            plot_panel p = {falign, steps, N, 0, 1};
            snprintf(path, sizeof path, "%s/free_%08lld.png", dir, (long long)step);
            plot_png(path, &p, 1, 4, 4, &e);
        }
        free(falign);
    }
    free(passable);
    t2m_arena_free(&ar);
out:
    free(align);
    free(melnorm);
    free(pred);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the command line into *out: 0, or 2 with a message (usage errors) */
static int parse_acoustic(int argc, char **argv, acoustic_args *out)
{
    acoustic_args a = {.steps = 100000, .batch = 16, .threads = 2, .ckpt_every = 100,
                       .val_every = 200, .log_every = 10, .warmup = 400, .max_val = 48,
                       .lr = 1e-3, .minutes = 0, .clip = 1.0, .post_ch = -1, .pitch_ch = -1,
                       .fm_weight = 0, .disc_lr = 2e-4, .disc_warmup = 200};
    a.topts = (t2m_train_opts){.guided_weight = 1.0f, .guided_g = 0.2f, .input_dropout = 0.1f,
                               .pitch_weight = 0.1f};
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(s, name) == 0 && v && ++i)
        if (OPT("--steps")) a.steps = atoi(v);
        else if (OPT("--batch")) a.batch = atoi(v);
        else if (OPT("--threads")) a.threads = atoi(v);
        else if (OPT("--ckpt-every")) a.ckpt_every = atoi(v);
        else if (OPT("--val-every")) a.val_every = atoi(v);
        else if (OPT("--lr")) a.lr = atof(v);
        else if (OPT("--warmup")) a.warmup = atoi(v);
        else if (OPT("--minutes")) a.minutes = atof(v);
        else if (OPT("--hard-mining")) a.hard_mining = atoi(v);
        else if (OPT("--dropout")) a.topts.input_dropout = (float)atof(v);
        else if (OPT("--layer-dropout")) a.topts.layer_dropout = (float)atof(v);
        else if (OPT("--self-feed")) a.topts.self_feed = (float)atof(v);
        else if (OPT("--self-feed-passes")) a.topts.self_feed_passes = atoi(v);
        else if (OPT("--guided-weight")) a.topts.guided_weight = (float)atof(v);
        else if (OPT("--delta-weight")) a.topts.delta_weight = (float)atof(v);
        else if (OPT("--var-weight")) a.topts.var_weight = (float)atof(v);
        else if (OPT("--gv-weight")) a.topts.gv_weight = (float)atof(v);
        else if (OPT("--init")) a.init = v;
        else if (OPT("--d")) a.d = atoi(v);
        else if (OPT("--text-ch")) a.text_ch = atoi(v);
        else if (OPT("--r")) a.r = atoi(v);
        else if (OPT("--post-ch")) a.post_ch = atoi(v);
        else if (OPT("--pitch")) a.pitch_ch = atoi(v);
        else if (OPT("--pitch-weight")) a.topts.pitch_weight = (float)atof(v);
        else if (OPT("--pitch-dropout")) a.topts.pitch_dropout = (float)atof(v);
        else if (OPT("--attn-sharpen")) a.sharpen = (float)atof(v);
        else if (OPT("--adv-weight")) a.adv_weight = atof(v);
        else if (OPT("--fm-weight")) a.fm_weight = atof(v);
        else if (OPT("--disc-lr")) a.disc_lr = atof(v);
        else if (OPT("--disc-warmup")) a.disc_warmup = atoi(v);
        else if (!a.data && s[0] != '-') a.data = s;
        else if (!a.dir && s[0] != '-') a.dir = s;
        else {
            fprintf(stderr, "tts-train acoustic: unknown or incomplete option '%s'\n", s);
            return 2;
        }
#undef OPT
    }
    if (!a.data || !a.dir) {
        fprintf(stderr, "usage: tts-train acoustic CACHE RUN_DIR [--steps N] [--batch B] [--minutes M] ...\n");
        return 2;
    }
    if (a.threads < 1 || a.threads > 16 || a.batch < 1) {
        fprintf(stderr, "tts-train acoustic: bad --threads or --batch\n");
        return 2;
    }
    if (!(a.adv_weight >= 0) || !(a.fm_weight >= 0) || !(a.disc_lr > 0) || a.disc_warmup < 0) {
        fprintf(stderr, "tts-train acoustic: --adv-weight and --fm-weight must be >= 0, "
                        "--disc-lr > 0, --disc-warmup >= 0\n");
        return 2;
    }
    *out = a;
    return 0;
}

/* What a validation pass reads: the run's model, its data and workers */
typedef struct {
    t2m_model *m;
    const tts_dataset *nds, *ds; /* the cache normalized, and as stored (for the plots) */
    const acoustic_args *a;
    const int *val_idx;
    int n_val;
    worker *wk;
    disc_model *disc; /* the critic of frames, or NULL */
    const char *dir;
    FILE *log;
} val_ctx;

/* The validation takes at step: the teacher-forced losses (and, for a run trained
 * self-fed, the self-fed L1) logged, the fixed take's plots written. Returns the score the
 * best model is kept by. */
static double validate(const val_ctx *v, int64_t step)
{
    double vl1, vg, vl1_pre;
    t2m_train_opts vo = v->a->topts;
    vo.layer_dropout = 0;
    vo.self_feed = 0;
    vo.self_feed_passes = 1; /* the self-fed validation stays one pass: comparable */
    critic_step vcs = {v->disc, 0, 0};
    run_items(v->m, v->nds, &vo, v->val_idx, v->n_val, v->wk, v->a->threads, 0, 1, 1, &vl1, &vg,
              NULL, &vl1_pre, &vcs);
    disc_loss vdl = {0};
    for (int t = 0; t < v->a->threads && v->disc; t++) {
        vdl.d_real += v->wk[t].crit.sum.d_real / v->n_val;
        vdl.d_fake += v->wk[t].crit.sum.d_fake / v->n_val;
    }
    vl1 /= v->n_val;
    vl1_pre /= v->n_val;
    double vdelta = sum_term(v->wk, v->a->threads, offsetof(worker, delta)) / v->n_val;
    double vpitch = sum_term(v->wk, v->a->threads, offsetof(worker, pitch)) / v->n_val;
    double vgv = sum_term(v->wk, v->a->threads, offsetof(worker, gv)) / v->n_val;
    /* trained on its own frames: also validate every step on them, and keep the best
     * model by that, which is closer to how it speaks */
    double fed = NAN;
    if (v->a->topts.self_feed > 0) {
        t2m_train_opts fo = vo;
        double fg, fpre;
        fo.self_feed = 1;
        run_items(v->m, v->nds, &fo, v->val_idx, v->n_val, v->wk, v->a->threads, 0, 1, 1, &fed,
                  &fg, NULL, &fpre, NULL);
        fed /= v->n_val;
    }
    vg /= v->n_val;
    char vline[256];
    snprintf(vline, sizeof vline, "val step %lld  l1 %.4f  guided %.4f", (long long)step,
             vl1, vg);
    if (v->m->post.n)
        snprintf(vline + strlen(vline), sizeof vline - strlen(vline), "  pre-post %.4f",
                 vl1_pre);
    if (isfinite(fed))
        snprintf(vline + strlen(vline), sizeof vline - strlen(vline), "  self-fed %.4f",
                 fed);
    if (v->a->topts.delta_weight > 0 || v->a->topts.var_weight > 0)
        snprintf(vline + strlen(vline), sizeof vline - strlen(vline), "  delta %.4f",
                 vdelta);
    if (v->a->topts.gv_weight > 0)
        snprintf(vline + strlen(vline), sizeof vline - strlen(vline), "  gv %.4f", vgv);
    if (v->m->pitch.n)
        snprintf(vline + strlen(vline), sizeof vline - strlen(vline), "  pitch %.4f",
                 vpitch);
    if (v->disc) /* the critic on unseen takes: does it tell them apart? */
        snprintf(vline + strlen(vline), sizeof vline - strlen(vline),
                 "  critic real %.3f fake %.3f", vdl.d_real, vdl.d_fake);
    double score = isfinite(fed) ? fed : vl1;
    fprintf(stderr, "%s\n", vline);
    fprintf(v->log, "%s\n", vline);
    fflush(v->log);
    plot_val(v->dir, step, v->m, v->ds, v->val_idx[0], &vo);
    return score;
}

/* The run's model (*m, *adam, *best_val): resumed from RUN/ckpt.ltm with its optimizer
 * state, else started from --init (its weights, carried over to another r, post-net or
 * pitch predictor when asked; new optimizer state), else new. 0, or the exit status after
 * a message. */
static int model_start(acoustic_args *a, const tts_dataset *ds, const char *ckpt,
                       const char *best_key, t2m_model *m, nn_adam *adam, double *best_val)
{
    const char *init = a->init;
    int d = a->d, text_ch = a->text_ch, r = a->r, post_ch = a->post_ch, pitch_ch = a->pitch_ch;
    tts_err err = {0};
    tts_mf *mf = NULL;
    if (tts_mf_open(&mf, ckpt, &err) == 0) {
        int rc = t2m_from_mf(m, mf, 1, adam, &err);
        double bv;
        if (rc == 0 && tts_mf_get_f64(mf, best_key, &bv, &err) == 0)
            *best_val = bv;
        tts_mf_close(mf);
        if (rc) {
            fprintf(stderr, "tts-train acoustic: cannot resume from %s: %s\n", ckpt, err.msg);
            return 1;
        }
        fprintf(stderr, "resumed from %s at step %lld\n", ckpt, (long long)adam->step);
    } else if (init) {
        /* a fresh run from a shipped model: its weights (and step, for the learning-rate
         * schedule), new Adam moments */
        int64_t step = 0;
        tts_err e2;
        if (tts_mf_open(&mf, init, &err) || t2m_from_mf(m, mf, 1, NULL, &err)) {
            fprintf(stderr, "tts-train acoustic: cannot start from %s: %s\n", init, err.msg);
            return 1;
        }
        free(m->hold); /* measured on the weights that training now changes: export --holds */
        m->hold = NULL;
        if ((post_ch >= 0 && post_ch != m->cfg.post_ch) || (r && r != m->cfg.r) ||
            (pitch_ch >= 0 && pitch_ch != m->cfg.pitch_ch)) {
            /* another post-net or another r on the same model: every tensor of the same name
             * and size carries over, and those r shapes are mapped */
            t2m_model old = *m;
            t2m_config c = old.cfg;
            if (post_ch >= 0)
                c.post_ch = post_ch;
            if (r)
                c.r = r;
            if (pitch_ch >= 0 && pitch_ch != c.pitch_ch) {
                c.pitch_ch = pitch_ch;
                c.pitch_ctx = 0; /* a new predictor reads the text encoder */
                c.lf0_mean = 5.3f; /* measured below */
                c.lf0_std = 0.2f;
            }
            if (c.r > old.cfg.r) {
                fprintf(stderr, "tts-train acoustic: --init can lower r, not raise it\n");
                return 2;
            }
            if (t2m_init(m, &c, 1, 1234, &err)) {
                fprintf(stderr, "tts-train acoustic: %s\n", err.msg);
                return 1;
            }
            int copied = 0, nm = c.n_mels;
            for (int t = 0; t < m->p.n_tensors; t++) {
                const nn_tensor_info *ti = &m->p.tensors[t];
                const nn_tensor_info *to = nn_params_find(&old.p, ti->name);
                float *dst = m->p.params + ti->offset;
                if (!to)
                    continue;
                const float *src = old.p.params + to->offset;
                if (to->size == ti->size) {
                    memcpy(dst, src, sizeof(float) * ti->size);
                    copied++;
                } else if (!strcmp(ti->name, "aenc.0.w")) {
                    /* input: the previous step's frames; keep the weights of the most recent
                     * ones, scaled for the fewer frames summed */
                    int d = c.d, ro = old.cfg.r, rn = c.r;
                    for (int j = 0; j < rn * nm; j++)
                        for (int k = 0; k < d; k++)
                            dst[(size_t)j * d + k] =
                                src[(size_t)((ro - rn) * nm + j) * d + k] * (float)ro / rn;
                    copied++;
                } else if (old.adec.n == m->adec.n &&
                           to->offset == old.adec.l[old.adec.n - 1].w) {
                    /* output: the first frames of each step */
                    int d = c.d, fo = old.cfg.r * nm, fn = c.r * nm;
                    for (int j = 0; j < d; j++)
                        memcpy(dst + (size_t)j * fn, src + (size_t)j * fo, sizeof(float) * fn);
                    copied++;
                } else if (to->offset == old.adec.l[old.adec.n - 1].b) {
                    memcpy(dst, src, sizeof(float) * c.r * nm);
                    copied++;
                }
            }
            fprintf(stderr, "r %d, post-net %d channels, pitch predictor %d: %d of %d tensors "
                    "from %s\n", c.r, c.post_ch, c.pitch_ch, copied, m->p.n_tensors, init);
            t2m_free(&old);
        }
        if (tts_mf_get_i64(mf, "train.step", &step, &e2) == 0)
            adam->step = step;
        tts_mf_close(mf);
        fprintf(stderr, "started from %s (step %lld, new optimizer state)\n", init, (long long)step);
    } else {
        int n_sym = 1;
        for (const char *p = ds->symbols; *p; p++)
            n_sym += *p == '\n';
        a->cfg = t2m_config_default(n_sym, ds->n_mels);
        if (d) a->cfg.d = d;
        if (text_ch) a->cfg.text_ch = text_ch;
        if (r) a->cfg.r = r;
        if (post_ch >= 0) a->cfg.post_ch = post_ch;
        if (pitch_ch > 0) {
            a->cfg.pitch_ch = pitch_ch;
            a->cfg.lf0_mean = 5.3f; /* measured below */
            a->cfg.lf0_std = 0.2f;
        }
        if (t2m_init(m, &a->cfg, 1, 1234, &err)) {
            fprintf(stderr, "tts-train acoustic: %s\n", err.msg);
            return 1;
        }
        fprintf(stderr, "new model: %zu parameters (d=%d text_ch=%d r=%d)\n", m->p.count,
                m->cfg.d, m->cfg.text_ch, m->cfg.r);
    }
    /* a predictor on the prosodic context reads the symbol classes (a reshaped model has
     * lost them): from the cache's table, which the run trains with */
    if (m->cfg.pitch_ctx && !m->pclass &&
        t2m_set_prosody(m, ds->symbols, strlen(ds->symbols), &err)) {
        fprintf(stderr, "tts-train acoustic: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* trains as args says: 0, or 1 with a message */
static int run_acoustic(acoustic_args a)
{
    const char *data = a.data, *dir = a.dir;
    float sharpen = a.sharpen;
    /* parallelism is across utterances: BLAS stays single-threaded inside each worker */
    openblas_set_num_threads(1);
    tts_err err = {0};
    tts_dataset ds;
    if (tts_dataset_open(&ds, data, &err)) {
        fprintf(stderr, "tts-train acoustic: %s\n", err.msg);
        return 1;
    }
    mkdir(dir, 0755);
    char ckpt[1024], best[1024], logp[1024];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.ltm", dir);
    snprintf(best, sizeof best, "%s/best.ltm", dir);
    snprintf(logp, sizeof logp, "%s/train.log", dir);

    t2m_model m;
    nn_adam adam = {.lr = a.lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0,
                    .clip_norm = a.clip, .step = 0};
    double best_val = INFINITY;
    /* the best model is chosen by the self-fed validation loss when training self-fed: it
     * has its own record */
    const char *best_key = a.topts.self_feed > 0 ? "train.best_val_fed" : "train.best_val";
    int rc0 = model_start(&a, &ds, ckpt, best_key, &m, &adam, &best_val);
    if (rc0)
        return rc0;
    if (sharpen > 0)
        m.cfg.attn_sharpen = sharpen;
    memcpy(m.mel_mean, ds.mel_mean, sizeof(float) * ds.n_mels);
    memcpy(m.mel_std, ds.mel_std, sizeof(float) * ds.n_mels);
    float *lf0 = NULL;
    if (m.pitch.n) {
        double tp = now_s();
        if (!(lf0 = tts_dataset_lf0(&ds, a.threads, &m.cfg.lf0_mean, &m.cfg.lf0_std))) {
            fprintf(stderr, "tts-train acoustic: a model with pitch needs a cache with audio (and "
                            "memory for its F0)\n");
            return 1;
        }
        a.topts.lf0 = lf0;
        fprintf(stderr, "pitch: ln F0 mean %.4f (%.1f Hz), sd %.4f, tracked in %.0f s\n",
                m.cfg.lf0_mean, exp(m.cfg.lf0_mean), m.cfg.lf0_std, now_s() - tp);
    }
    /* the statistics are data, not parameters: keep the optimizer off them */
    size_t stat_lo = (size_t)(m.mel_mean - m.p.params);
    /* the critic of frames (--adv-weight): resumed from RUN/critic.ltm, or new */
    disc_model disc = {0};
    nn_adam dadam = {.lr = a.disc_lr, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-8,
                     .weight_decay = 0, .clip_norm = 10, .step = 0};
    char critp[1024];
    snprintf(critp, sizeof critp, "%s/critic.ltm", dir);
    if (a.adv_weight > 0) {
        disc_config dc;
        int resumed = 0;
        disc_config_frames(&dc, m.cfg.n_mels);
        if (disc_resume_or_init(&disc, &dadam, critp, &dc, 97, &resumed, &err)) {
            fprintf(stderr, "tts-train acoustic: critic: %s\n", err.msg);
            return 1;
        }
        if (disc.cfg.in_ch != m.cfg.n_mels) {
            fprintf(stderr, "tts-train acoustic: %s judges frames of %d bands, not %d\n", critp,
                    disc.cfg.in_ch, m.cfg.n_mels);
            return 1;
        }
        dadam.lr = a.disc_lr;
        fprintf(stderr, "critic of frames: %zu parameters, %s (its step %lld)\n", disc.p.count,
                resumed ? "resumed" : "new", (long long)dadam.step);
    }

    int *train_idx = malloc(sizeof(int) * ds.n), *val_idx = malloc(sizeof(int) * ds.n);
    int n_train = 0, n_val = 0;
    for (int i = 0; i < ds.n; i++) {
        if (ds.split[i])
            val_idx[n_val++] = i;
        else
            train_idx[n_train++] = i;
    }
    if (n_val > a.max_val)
        n_val = a.max_val;
    int *perm = malloc(sizeof(int) * n_train), perm_epoch = -1;
    int mb = a.hard_mining > 0 ? 2 * a.hard_mining : a.batch;
    int *items = malloc(sizeof(int) * mb);
    double *per_item = malloc(sizeof(double) * mb);
    worker *wk = calloc((size_t)a.threads, sizeof(worker));
    FILE *log = fopen(logp, "a");
    if (!log) {
        fprintf(stderr, "tts-train acoustic: cannot write %s\n", logp);
        return 1;
    }
    fprintf(log, "# start step %lld: data %s, %d train, %d val utterances, %zu params, batch %d, "
            "r %d, post-net %d, input dropout %.2f, layer dropout %.2f, self-feed %.2f x %d, attention sharpening %.2f\n",
            (long long)adam.step, data, n_train, n_val, m.p.count, mb, m.cfg.r, m.cfg.post_ch,
            a.topts.input_dropout, a.topts.layer_dropout, a.topts.self_feed,
            a.topts.self_feed_passes > 1 ? a.topts.self_feed_passes : 1, m.cfg.attn_sharpen);
    if (disc.p.count)
        fprintf(log, "# critic of frames: %zu parameters, its step %lld, --adv-weight %g "
                "--fm-weight %g --disc-lr %g --disc-warmup %d\n", disc.p.count,
                (long long)dadam.step, a.adv_weight, a.fm_weight, a.disc_lr, a.disc_warmup);
    fflush(log);
    /* normalized validation mels are recomputed by each worker from the dataset: store the
     * dataset itself normalized in memory instead */
    size_t total_frames = (size_t)ds.mel_off[ds.n];
    float *normmel = malloc(sizeof(float) * total_frames * ds.n_mels);
    if (!normmel || !perm || !items || !wk || !train_idx || !val_idx) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t f = 0; f < total_frames; f++)
        for (int b = 0; b < ds.n_mels; b++)
            normmel[f * ds.n_mels + b] = (ds.mel[f * ds.n_mels + b] - ds.mel_mean[b]) / ds.mel_std[b];
    tts_dataset nds = ds;
    nds.mel = normmel;
    val_ctx vc = {&m, &nds, &ds, &a, val_idx, n_val, wk, disc.p.count ? &disc : NULL, dir, log};

    double t0 = now_s(), tlast = t0, sum_l1 = 0, sum_pre = 0, sum_g = 0, sum_norm = 0,
           sum_delta_l1 = 0, sum_pitch_l = 0, sum_gv = 0;
    disc_loss sum_dl = {0};
    int adv_on = 0; /* the critic's terms reached the network in the last step */
    int64_t start_step = adam.step;
    int nsum = 0;
    while (adam.step < a.steps) {
        if (a.minutes > 0 && now_s() - t0 > a.minutes * 60)
            break;
        /* the utterances of this step: a deterministic function of the step number */
        for (int k = 0; k < mb; k++) {
            int64_t idx = adam.step * (int64_t)mb + k;
            int epoch = (int)(idx / n_train);
            if (epoch != perm_epoch) {
                memcpy(perm, train_idx, sizeof(int) * n_train);
                tr_shuffle(perm, n_train, (uint64_t)epoch + 1);
                perm_epoch = epoch;
            }
            items[k] = perm[idx % n_train];
        }
        double l1, g, l1_pre;
        int n_bp = mb;
        if (a.hard_mining > 0) {
            /* online hard example mining: score 2M, back-propagate the hardest M */
            run_items(&m, &nds, &a.topts, items, mb, wk, a.threads, 0, 1, adam.step, &l1, &g,
                      per_item, NULL, NULL);
            for (int i = 0; i < mb; i++) /* selection sort of the top M, by loss */
                for (int j = i + 1; j < mb; j++)
                    if (per_item[j] > per_item[i]) {
                        double t = per_item[i];
                        per_item[i] = per_item[j];
                        per_item[j] = t;
                        int ti = items[i];
                        items[i] = items[j];
                        items[j] = ti;
                    }
            n_bp = a.hard_mining;
        }
        critic_step cs = {NULL, 0, 0};
        if (disc.p.count) {
            adv_on = dadam.step >= a.disc_warmup; /* the critic learns alone at first */
            cs = (critic_step){&disc, adv_on ? a.adv_weight : 0, adv_on ? a.fm_weight : 0};
        }
        int rc = run_items(&m, &nds, &a.topts, items, n_bp, wk, a.threads, 1, 1.0f / n_bp,
                           (uint64_t)adam.step, &l1, &g, NULL, &l1_pre, &cs);
        if (rc) {
            fprintf(stderr, "tts-train acoustic: step failed (%d)\n", rc);
            return 1;
        }
        memset(m.p.grads + stat_lo, 0, sizeof(float) * (m.p.count - stat_lo));
        adam.lr = nn_lr_schedule(a.lr, adam.step, a.warmup);
        double norm = nn_adam_update(&m.p, &adam);
        if (disc.p.count) {
            nn_adam_update(&disc.p, &dadam);
            for (int t = 0; t < a.threads; t++) {
                sum_dl.d_real += wk[t].crit.sum.d_real / n_bp;
                sum_dl.d_fake += wk[t].crit.sum.d_fake / n_bp;
                sum_dl.adv += wk[t].crit.sum.adv / n_bp;
                sum_dl.fm += wk[t].crit.sum.fm / n_bp;
            }
        }
        memcpy(m.mel_mean, ds.mel_mean, sizeof(float) * ds.n_mels);
        memcpy(m.mel_std, ds.mel_std, sizeof(float) * ds.n_mels);
        if (!isfinite(l1) || !isfinite(norm)) {
            fprintf(stderr, "tts-train acoustic: loss is not finite at step %lld\n",
                    (long long)adam.step);
            return 1;
        }
        sum_l1 += l1 / n_bp;
        sum_pre += l1_pre / n_bp;
        sum_delta_l1 += sum_term(wk, a.threads, offsetof(worker, delta)) / n_bp;
        sum_pitch_l += sum_term(wk, a.threads, offsetof(worker, pitch)) / n_bp;
        sum_gv += sum_term(wk, a.threads, offsetof(worker, gv)) / n_bp;
        sum_g += g / n_bp;
        sum_norm += norm;
        nsum++;
        if (adam.step % a.log_every == 0) {
            double t = now_s();
            char line[512];
            snprintf(line, sizeof line,
                     "step %lld  l1 %.4f  guided %.4f  gnorm %.3f  lr %.2e  %.2f steps/s  %.1f min",
                     (long long)adam.step, sum_l1 / nsum, sum_g / nsum, sum_norm / nsum, adam.lr,
                     nsum / (t - tlast), (t - t0) / 60);
            if (m.post.n)
                snprintf(line + strlen(line), sizeof line - strlen(line), "  pre-post %.4f",
                         sum_pre / nsum);
            if (a.topts.delta_weight > 0 || a.topts.var_weight > 0)
                snprintf(line + strlen(line), sizeof line - strlen(line), "  delta %.4f",
                         sum_delta_l1 / nsum);
            if (a.topts.gv_weight > 0)
                snprintf(line + strlen(line), sizeof line - strlen(line), "  gv %.4f",
                         sum_gv / nsum);
            if (m.pitch.n)
                snprintf(line + strlen(line), sizeof line - strlen(line), "  pitch %.4f",
                         sum_pitch_l / nsum);
            if (disc.p.count)
                snprintf(line + strlen(line), sizeof line - strlen(line),
                         "  critic real %.3f fake %.3f  adv %.3f fm %.4f%s", sum_dl.d_real / nsum,
                         sum_dl.d_fake / nsum, sum_dl.adv / nsum, sum_dl.fm / nsum,
                         adv_on ? "" : " (warm-up)");
            sum_dl = (disc_loss){0};
            fprintf(stderr, "%s\n", line);
            fprintf(log, "%s\n", line);
            fflush(log);
            tlast = t;
            sum_l1 = sum_pre = sum_g = sum_norm = sum_delta_l1 = sum_pitch_l = sum_gv = 0;
            nsum = 0;
        }
        if (adam.step % a.val_every == 0 && n_val > 0) {
            double score = validate(&vc, adam.step);
            if (score < best_val) {
                best_val = score;
                if (save_model(best, &m, &ds, NULL, adam.step, "train.val_loss", score, &err))
                    fprintf(stderr, "warning: %s\n", err.msg);
            }
        }
        if (adam.step % a.ckpt_every == 0 && adam.step > start_step) {
            if (save_model(ckpt, &m, &ds, &adam, 0, best_key, isfinite(best_val) ? best_val : 1e30,
                           &err) ||
                (disc.p.count && disc_save(critp, &disc, &dadam, &err)))
                fprintf(stderr, "warning: checkpoint: %s\n", err.msg);
        }
    }
    /* the final checkpoint */
    int rc = save_model(ckpt, &m, &ds, &adam, 0, best_key, isfinite(best_val) ? best_val : 1e30,
                        &err);
    if (!rc && disc.p.count)
        rc = disc_save(critp, &disc, &dadam, &err);
    fprintf(log, "# stop at step %lld after %.1f min\n", (long long)adam.step, (now_s() - t0) / 60);
    fclose(log);
    for (int t = 0; t < a.threads; t++) {
        free(wk[t].grads);
        t2m_arena_free(&wk[t].arena);
        disc_worker_free(&wk[t].crit);
    }
    disc_free(&disc);
    free(wk);
    free(items);
    free(per_item);
    free(perm);
    free(train_idx);
    free(val_idx);
    free(normmel);
    free(lf0);
    t2m_free(&m);
    tts_dataset_close(&ds);
    if (rc) {
        fprintf(stderr, "tts-train acoustic: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int train_acoustic_main(int argc, char **argv)
{
    acoustic_args a;
    int rc = parse_acoustic(argc, argv, &a);
    return rc ? rc : run_acoustic(a);
}
