/* The spectral post-filter's gains, measured: see gv.h. */
#include "train/gv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/quality.h"
#include "vocoder/pitch.h"

typedef struct {
    float *f;
    int n, cap, nm;
    int oom; /* a realloc failed: the utterance was cut short */
} frame_buf;

static int collect(const float *frames, int r, int pos, void *user)
{
    (void)pos;
    frame_buf *b = user;
    if (b->n + r > b->cap) {
        int cap = (b->n + r) * 2;
        float *nf = realloc(b->f, sizeof(float) * (size_t)cap * b->nm);
        if (!nf)
            return b->oom = 1;
        b->f = nf;
        b->cap = cap;
    }
    memcpy(b->f + (size_t)b->n * b->nm, frames, sizeof(float) * (size_t)r * b->nm);
    b->n += r;
    return 0;
}

/* the speech frames' cepstra of frames[n, nm] (floored at the loudest value minus
 * MCD_RANGE, as tts-train quality measures them) into per-utterance squared deviations
 * gv[D] and their count; with sum != NULL also the raw cepstra's sum over those frames */
static int add_gv(const float *frames, int n, int nm, double *gv, double *count, double *sum)
{
    float loud = -INFINITY;
    for (size_t i = 0; i < (size_t)n * nm; i++)
        loud = fmaxf(loud, frames[i]);
    float *c = tts_quality_cepstra(frames, (size_t)n, nm, loud - MCD_RANGE);
    float *raw = sum ? tts_quality_cepstra(frames, (size_t)n, nm, -INFINITY) : NULL;
    unsigned char *sp = malloc((size_t)n + 1);
    if (!c || (sum && !raw) || !sp) {
        free(c);
        free(raw);
        free(sp);
        return -1;
    }
    double mean[T2M_GV_DIM] = {0}, k = 0;
    for (int t = 0; t < n; t++) {
        float mx = -INFINITY;
        for (int b = 0; b < nm; b++)
            mx = fmaxf(mx, frames[(size_t)t * nm + b]);
        sp[t] = mx >= loud - TQ_SPEECH_RANGE;
        if (!sp[t])
            continue;
        k++;
        for (int d = 0; d < T2M_GV_DIM; d++)
            mean[d] += c[(size_t)t * MCD_DIM + d];
    }
    if (k > 1) {
        for (int t = 0; t < n && sum; t++)
            for (int d = 0; d < T2M_GV_DIM && sp[t]; d++)
                sum[d] += raw[(size_t)t * MCD_DIM + d];
        for (int d = 0; d < T2M_GV_DIM; d++)
            mean[d] /= k;
        for (int t = 0; t < n; t++)
            for (int d = 0; d < T2M_GV_DIM && sp[t]; d++) {
                double v = c[(size_t)t * MCD_DIM + d] - mean[d];
                gv[d] += v * v;
            }
        *count += k;
    }
    free(c);
    free(raw);
    free(sp);
    return 0;
}

/* sum of squared deviations from the mean of x[n] */
static double sq_dev(const float *x, int n)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        ss += (double)x[i] * x[i];
    }
    return n > 1 ? ss - s * s / n : 0;
}

int gv_measure_pitch(t2m_model *m, const tts_dataset *ds, int max_utts, tts_err *err)
{
    if (!m->pitch.n)
        return tts_seterr(err, TTS_E_INVALID, "gv: the voice has no pitch predictor");
    if (ds->n_mels != m->cfg.n_mels || max_utts < 1)
        return tts_seterr(err, TTS_E_INVALID, "gv: the cache has %d mel bands, the voice %d "
                          "(or no takes asked for)", ds->n_mels, m->cfg.n_mels);
    if (!ds->pcm)
        return tts_seterr(err, TTS_E_INVALID, "gv: the cache holds no audio to track pitch in");
    int nm = ds->n_mels, r = m->cfg.r, hop = ds->audio.hop_length, n_train = 0, used = 0, rc = 0;
    for (int i = 0; i < ds->n; i++)
        n_train += !ds->split[i];
    int every = n_train > max_utts ? n_train / max_utts : 1;
    t2m_arena ar = {0};
    t2m_train_opts o = {.guided_weight = 1, .guided_g = 0.2f};
    double vt = 0, vp = 0;
    for (int i = 0, k = 0; i < ds->n && used < max_utts && rc == 0; i++) {
        if (ds->split[i] || k++ % every)
            continue;
        int N = tts_dataset_n_ids(ds, i), F = tts_dataset_n_frames(ds, i), S = (F + r - 1) / r;
        float *mel = malloc(sizeof(float) * (size_t)F * nm), *lf0 = malloc(sizeof(float) * F);
        float *A = malloc(sizeof(float) * (size_t)S * N), *tgt = malloc(sizeof(float) * N);
        float *pred = malloc(sizeof(float) * N);
        if (!mel || !lf0 || !A || !tgt || !pred) {
            rc = tts_seterr(err, TTS_E_NOMEM, "gv: out of memory");
        } else {
            const int *ids = ds->ids + ds->ids_off[i];
            tts_dataset_mel_norm(ds, i, mel);
            voc_pitch_track(ds->pcm + (size_t)ds->mel_off[i] * hop, (size_t)F * hop,
                            ds->audio.sample_rate, hop, F, lf0);
            for (int f = 0; f < F; f++)
                lf0[f] = lf0[f] > 0 ? (logf(lf0[f]) - m->cfg.lf0_mean) / m->cfg.lf0_std : NAN;
            o.lf0 = lf0;
            uint64_t rng = 1;
            t2m_loss L;
            rc = t2m_train_utterance(m, ids, N, mel, F, &o, NULL, 1, &rng, &ar, &L, A);
            if (rc == 0)
                rc = t2m_predict_pitch(m, ids, N, pred, &ar);
            if (rc == 0) {
                t2m_pitch_targets(A, S, N, r, lf0, F, tgt);
                vt += sq_dev(tgt, N);
                vp += sq_dev(pred, N);
                used++;
            } else {
                tts_seterr(err, rc, "gv: the teacher-forced pass failed");
            }
        }
        free(mel);
        free(lf0);
        free(A);
        free(tgt);
        free(pred);
    }
    t2m_arena_free(&ar);
    if (rc)
        return rc;
    if (!(vp > 0 && vt > 0))
        return tts_seterr(err, TTS_E_INVALID, "gv: no pitch spread to measure");
    float range = fminf(4, (float)sqrt(vt / vp));
    fprintf(stderr, "pitch range over %d training takes: the pitch fed spreads %.3f x as far as "
            "the predicted\n", used, sqrt(vt / vp));
    m->cfg.pitch_range = range;
    return 0;
}

int gv_measure(t2m_model *m, const tts_dataset *ds, const unsigned char *passable, int max_utts,
               float amount, tts_err *err)
{
    int nm = m->cfg.n_mels, n_train = 0, rc = 0;
    _Static_assert(T2M_GV_DIM <= MCD_DIM, "the post-filter's cepstra are the measures'");
    if (ds->n_mels != nm)
        return tts_seterr(err, TTS_E_INVALID, "gv: the cache has %d mel bands, the voice %d",
                          ds->n_mels, nm);
    for (int i = 0; i < ds->n; i++)
        n_train += !ds->split[i];
    if (n_train == 0 || max_utts < 1)
        return tts_seterr(err, TTS_E_INVALID, "gv: no training takes to measure on");
    t2m_set_gv(m, NULL, NULL, NULL); /* the frames as the model makes them */
    t2m_infer_opts io = t2m_infer_opts_default(m);
    io.passable = passable;
    double gs[T2M_GV_DIM] = {0}, gr[T2M_GV_DIM] = {0}, ns = 0, nr = 0, mu[T2M_GV_DIM] = {0};
    frame_buf b = {.nm = nm};
    int every = n_train > max_utts ? n_train / max_utts : 1, used = 0;
    for (int i = 0, k = 0; i < ds->n && used < max_utts && rc == 0; i++) {
        if (ds->split[i] || k++ % every)
            continue;
        b.n = 0;
        int steps = t2m_synthesize(m, ds->ids + ds->ids_off[i], tts_dataset_n_ids(ds, i), &io,
                                   collect, &b, NULL, NULL, err);
        if (steps < 0 || b.oom) {
            rc = steps < 0 ? steps : tts_seterr(err, TTS_E_NOMEM, "gv: out of memory");
            break;
        }
        if (add_gv(b.f, b.n, nm, gs, &ns, mu) ||
            add_gv(ds->mel + (size_t)ds->mel_off[i] * nm, tts_dataset_n_frames(ds, i), nm, gr, &nr,
                   NULL)) {
            rc = tts_seterr(err, TTS_E_NOMEM, "gv: out of memory");
            break;
        }
        used++;
    }
    free(b.f);
    if (rc)
        return rc;
    if (ns < 2 || nr < 2)
        return tts_seterr(err, TTS_E_INVALID, "gv: too few speech frames measured");
    float mean[T2M_GV_DIM], gain[T2M_GV_DIM];
    fprintf(stderr, "post-filter over %d training takes (amount %.2f): gains", used, amount);
    for (int d = 0; d < T2M_GV_DIM; d++) {
        double ratio = (gr[d] / nr) / fmax(gs[d] / ns, 1e-12);
        mean[d] = (float)(mu[d] / ns);
        gain[d] = fminf(GV_GAIN_MAX, (float)pow(ratio, amount / 2));
        fprintf(stderr, " %.2f", gain[d]);
    }
    fprintf(stderr, "\n");
    return t2m_set_gv(m, mean, gain, err);
}
