/*
 * tts-train tfmels MODEL.ltm CACHE.ltd OUT.ltm [--free-running] [--threads T]
 *
 * The acoustic model's teacher-forced predictions of every utterance of a dataset cache:
 * the decoder is fed the recorded frames (no dropout) and its output, de-normalized to
 * log-mel, is stored frame for frame where the cache has the recorded mel. A vocoder
 * fine-tuned on these (`tts-train vocoder --tf-mels OUT.ltm`) learns to turn what the
 * acoustic model really produces (smoother, slightly blurred frames) into the recorded
 * waveform, which stays time-aligned with them because teacher forcing keeps the timing.
 *
 * --free-running: the frames the model makes on its own from the text instead (what a
 * vocoder really gets at synthesis: smoother than teacher-forced ones, and timed by the
 * attention, not by the recording), lined up with the recording by DTW (L1 on normalized
 * frames): frame j of the output is the mean of the free-running frames aligned with
 * recorded frame j. The waveform stays the recording's, so a vocoder trained on them
 * learns to make the recorded sound from what the free-running model says about it.
 *
 * OUT.ltm: kind "tfmels", tensor mel f32[total_frames, n_mels] (the cache's layout),
 * metadata n (utterances), total_frames, tfmels.l1 (mean normalized L1 to the recording,
 * along the DTW path for --free-running), tfmels.source ("teacher-forced" or
 * "free-running").
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "acoustic/voice_io.h"
#include "train/dataset.h"
#include "train/dtw.h"
#include "train/frames.h"
#include "train/tfmels.h"
#include "train/train.h"

typedef struct {
    const t2m_model *m;
    const tts_dataset *ds;
    float *out; /* [total_frames, n_mels] */
    int first, stride, rc;
    int free_running;
    double l1;
} tf_worker;

/* utterance i free-running, normalized, warped onto its F recorded frames norm[F, nm]:
 * out[F, nm] (normalized); *l1 the mean L1 along the path */
static int fr_warped(const t2m_model *m, const tts_dataset *ds, int i, const float *norm,
                     const t2m_infer_opts *io, frame_run *c, float *out, double *l1)
{
    int nm = ds->n_mels, F = tts_dataset_n_frames(ds, i);
    int stop = 0;
    tts_err err;
    c->n = c->steps = 0;
    int rc = t2m_synthesize(m, ds->ids + ds->ids_off[i], tts_dataset_n_ids(ds, i), io,
                            frame_run_collect, c, NULL, &stop, &err);
    if (rc < 0)
        return rc;
    if (c->n == 0)
        return TTS_E_INVALID;
    for (size_t f = 0; f < c->n; f++)
        for (int b = 0; b < nm; b++)
            c->frames[f * nm + b] = (c->frames[f * nm + b] - m->mel_mean[b]) / m->mel_std[b];
    int *lo = malloc(sizeof(int) * F), *hi = malloc(sizeof(int) * F);
    double d = lo && hi ? tts_dtw(c->frames, (int)c->n, norm, F, nm, tts_cost_l1, lo, hi) : NAN;
    if (isnan(d)) {
        free(lo);
        free(hi);
        return TTS_E_NOMEM;
    }
    for (int j = 0; j < F; j++) {
        float *o = out + (size_t)j * nm;
        memset(o, 0, sizeof(float) * nm);
        for (int a = lo[j]; a <= hi[j]; a++)
            for (int b = 0; b < nm; b++)
                o[b] += c->frames[(size_t)a * nm + b];
        for (int b = 0; b < nm; b++)
            o[b] /= (float)(hi[j] - lo[j] + 1);
    }
    *l1 = d;
    free(lo);
    free(hi);
    return 0;
}

static void *tf_run(void *arg)
{
    tf_worker *w = arg;
    const tts_dataset *ds = w->ds;
    int nm = ds->n_mels, r = w->m->cfg.r;
    t2m_arena ar = {0};
    float *norm = NULL, *pred = NULL;
    size_t cap = 0;
    frame_run fr = {.n_mels = nm};
    t2m_infer_opts io = t2m_infer_opts_default(w->m);
    for (int i = w->first; i < ds->n && !w->rc; i += w->stride) {
        int N = tts_dataset_n_ids(ds, i), F = tts_dataset_n_frames(ds, i);
        size_t need = (size_t)((F + r - 1) / r) * r * nm;
        if (need > cap) {
            free(norm);
            free(pred);
            norm = malloc(sizeof(float) * need);
            pred = malloc(sizeof(float) * need);
            cap = need;
            if (!norm || !pred) {
                w->rc = TTS_E_NOMEM;
                break;
            }
        }
        tts_dataset_mel_norm(ds, i, norm);
        double d = 0;
        int rc;
        if (w->free_running) {
            rc = fr_warped(w->m, ds, i, norm, &io, &fr, pred, &d);
        } else {
            t2m_train_opts o = {.guided_weight = 1, .guided_g = 0.2f, .pred = pred};
            t2m_loss L;
            uint64_t rng = 1;
            rc = t2m_train_utterance(w->m, ds->ids + ds->ids_off[i], N, norm, F, &o, NULL, 1,
                                     &rng, &ar, &L, NULL);
            d = L.l1;
        }
        if (rc) {
            w->rc = rc;
            break;
        }
        w->l1 += d;
        float *dst = w->out + (size_t)ds->mel_off[i] * nm;
        for (int f = 0; f < F; f++)
            for (int b = 0; b < nm; b++)
                dst[(size_t)f * nm + b] =
                    pred[(size_t)f * nm + b] * w->m->mel_std[b] + w->m->mel_mean[b];
    }
    free(norm);
    free(pred);
    frame_run_free(&fr);
    t2m_arena_free(&ar);
    return NULL;
}

int train_tfmels_main(int argc, char **argv)
{
    int threads = 2, free_running = 0;
    const char *pos[3] = {0};
    int np = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--free-running"))
            free_running = 1;
        else if (np < 3 && argv[i][0] != '-')
            pos[np++] = argv[i];
        else
            np = 4;
    }
    if (np != 3 || threads < 1 || threads > 16) {
        fprintf(stderr, "usage: tts-train tfmels MODEL.ltm CACHE.ltd OUT.ltm [--free-running] "
                        "[--threads T]\n");
        return 2;
    }
    openblas_set_num_threads(1);
    tts_err err = {0};
    tts_mf *mf = NULL;
    t2m_model m;
    tts_dataset ds;
    if (tts_mf_open(&mf, pos[0], &err) || t2m_from_mf(&m, mf, 0, NULL, &err) ||
        tts_dataset_open(&ds, pos[1], &err)) {
        fprintf(stderr, "tts-train tfmels: %s\n", err.msg);
        return 1;
    }
    if (m.cfg.n_mels != ds.n_mels) {
        fprintf(stderr, "tts-train tfmels: the model has %d mel bands, the cache %d\n",
                m.cfg.n_mels, ds.n_mels);
        return 1;
    }
    size_t total = (size_t)ds.mel_off[ds.n];
    float *out = malloc(sizeof(float) * total * ds.n_mels);
    tf_worker wk[16];
    pthread_t th[16];
    if (!out) {
        fprintf(stderr, "tts-train tfmels: out of memory\n");
        return 1;
    }
    for (int t = 0; t < threads; t++) {
        wk[t] = (tf_worker){.m = &m, .ds = &ds, .out = out, .first = t, .stride = threads,
                            .free_running = free_running};
        pthread_create(&th[t], NULL, tf_run, &wk[t]);
    }
    double l1 = 0;
    int rc = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        l1 += wk[t].l1;
        if (wk[t].rc)
            rc = wk[t].rc;
    }
    if (rc) {
        fprintf(stderr, "tts-train tfmels: forward pass failed (%s)\n", tts_status_string(rc));
        return 1;
    }
    tts_mf_writer *w = tts_mf_writer_new();
    int64_t shape[2] = {(int64_t)total, ds.n_mels};
    tts_mf_set_str(w, "kind", "tfmels");
    tts_mf_set_i64(w, "n", ds.n);
    tts_mf_set_i64(w, "total_frames", (int64_t)total);
    tts_mf_set_f64(w, "tfmels.l1", l1 / ds.n);
    tts_mf_set_str(w, "tfmels.source", free_running ? "free-running" : "teacher-forced");
    tts_mf_add_tensor_ref(w, "mel", TTS_MF_F32, 2, shape, out);
    rc = tts_mf_write(w, pos[2], &err);
    tts_mf_writer_free(w);
    if (!rc)
        fprintf(stderr, "%s: %d utterances, %zu frames, %s L1 %.4f (normalized)\n", pos[2],
                ds.n, total, free_running ? "free-running (along DTW)" : "teacher-forced",
                l1 / ds.n);
    free(out);
    t2m_free(&m);
    tts_mf_close(mf);
    tts_dataset_close(&ds);
    if (rc) {
        fprintf(stderr, "tts-train tfmels: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int tts_tfmels_open(tts_tfmels *t, const char *path, const tts_dataset *ds, tts_err *err)
{
    memset(t, 0, sizeof *t);
    const char *kind;
    int64_t n;
    const float *mel;
    int64_t shape[2] = {ds->mel_off[ds->n], ds->n_mels};
    int rc = tts_mf_open(&t->mf, path, err);
    if (!rc)
        rc = tts_mf_get_str(t->mf, "kind", &kind, err);
    if (!rc && strcmp(kind, "tfmels"))
        rc = tts_seterr(err, TTS_E_FORMAT, "'%s' holds a '%s', not teacher-forced mels", path, kind);
    if (!rc)
        rc = tts_mf_get_i64(t->mf, "n", &n, err);
    if (!rc && n != ds->n)
        rc = tts_seterr(err, TTS_E_FORMAT, "'%s' has %lld utterances, the cache %d", path,
                        (long long)n, ds->n);
    if (!rc)
        rc = tts_mf_get_f32(t->mf, "mel", 2, shape, &mel, err);
    if (rc) {
        tts_mf_close(t->mf);
        t->mf = NULL;
        return rc;
    }
    t->mel = mel;
    return 0;
}

void tts_tfmels_close(tts_tfmels *t)
{
    tts_mf_close(t->mf);
    t->mf = NULL;
    t->mel = NULL;
}
