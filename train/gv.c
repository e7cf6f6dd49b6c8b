/* The spectral post-filter's gains, measured: see gv.h. */
#include "train/gv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/quality.h"

typedef struct {
    float *f;
    int n, cap, nm;
} frame_buf;

static int collect(const float *frames, int r, int pos, void *user)
{
    (void)pos;
    frame_buf *b = user;
    if (b->n + r > b->cap) {
        int cap = (b->n + r) * 2;
        float *nf = realloc(b->f, sizeof(float) * (size_t)cap * b->nm);
        if (!nf)
            return 1;
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
        for (int d = 0; d < T2M_GV_DIM; d++) {
            mean[d] += c[(size_t)t * MCD_DIM + d];
            if (sum)
                sum[d] += raw[(size_t)t * MCD_DIM + d];
        }
    }
    if (k > 1) {
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
        if (steps < 0) {
            rc = steps;
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
