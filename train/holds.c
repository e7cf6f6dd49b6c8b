#include "train/holds.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "train/parallel.h"

typedef struct {
    const t2m_model *m;
    const tts_dataset *ds;
    int first, stride, rc;
    holds_table t; /* this worker's counts */
} holds_worker;

static int table_alloc(holds_table *t, int n_symbols)
{
    t->n_symbols = n_symbols;
    t->count = calloc((size_t)n_symbols, sizeof(int));
    t->hist = calloc((size_t)n_symbols * (HOLDS_MAX_STEPS + 1), sizeof(int));
    return t->count && t->hist ? 0 : -1;
}

void holds_free(holds_table *t)
{
    free(t->count);
    free(t->hist);
    memset(t, 0, sizeof *t);
}

/* counts the holds of one alignment A[S, N] of ids */
static void count_holds(holds_table *t, const float *A, int S, int N, const int *ids)
{
    int pos = -1, len = 0;
    for (int s = 0; s < S; s++) {
        const float *a = A + (size_t)s * N;
        int best = 0;
        for (int n = 1; n < N; n++)
            if (a[n] > a[best])
                best = n;
        if (best > pos) { /* the running maximum moved on: the last token's hold ends */
            if (pos >= 0) {
                int id = ids[pos];
                t->count[id]++;
                t->hist[(size_t)id * (HOLDS_MAX_STEPS + 1) + (len < HOLDS_MAX_STEPS ? len : HOLDS_MAX_STEPS)]++;
            }
            pos = best;
            len = 1;
        } else {
            len++;
        }
    }
    /* the token held at the end of the utterance is left out: the recording's trim, not the
     * speaker, ended it */
}

static void *holds_run(void *arg)
{
    holds_worker *w = arg;
    const tts_dataset *ds = w->ds;
    int nm = ds->n_mels, r = w->m->cfg.r;
    t2m_arena ar = {0};
    float *norm = NULL, *A = NULL;
    size_t cap_f = 0, cap_a = 0;
    for (int i = w->first; i < ds->n && !w->rc; i += w->stride) {
        if (ds->split[i])
            continue; /* validation */
        int N = tts_dataset_n_ids(ds, i), F = tts_dataset_n_frames(ds, i), S = (F + r - 1) / r;
        if ((size_t)F * nm > cap_f) {
            free(norm);
            cap_f = (size_t)F * nm;
            norm = malloc(sizeof(float) * cap_f);
        }
        if ((size_t)S * N > cap_a) {
            free(A);
            cap_a = (size_t)S * N;
            A = malloc(sizeof(float) * cap_a);
        }
        if (!norm || !A) {
            w->rc = TTS_E_NOMEM;
            break;
        }
        tts_dataset_mel_norm(ds, i, norm);
        t2m_train_opts o = {.guided_weight = 1, .guided_g = 0.2f};
        t2m_loss L;
        uint64_t rng = 1;
        const int *ids = ds->ids + ds->ids_off[i];
        int rc = t2m_train_utterance(w->m, ids, N, norm, F, &o, NULL, 1, &rng, &ar, &L, A);
        if (rc) {
            w->rc = rc;
            break;
        }
        count_holds(&w->t, A, S, N, ids);
    }
    free(norm);
    free(A);
    t2m_arena_free(&ar);
    return NULL;
}

int holds_measure(holds_table *t, const t2m_model *m, const tts_dataset *ds, int threads,
                  tts_err *err)
{
    int ns = m->cfg.n_symbols;
    memset(t, 0, sizeof *t);
    if (threads < 1 || threads > TR_MAX_THREADS)
        return tts_seterr(err, TTS_E_INVALID, "holds: %d threads (1 to %d)", threads, TR_MAX_THREADS);
    if (ds->n_mels != m->cfg.n_mels)
        return tts_seterr(err, TTS_E_INVALID, "holds: the model has %d mel bands, the cache %d",
                          m->cfg.n_mels, ds->n_mels);
    for (size_t j = 0; j < (size_t)ds->ids_off[ds->n]; j++)
        if (ds->ids[j] < 0 || ds->ids[j] >= ns)
            return tts_seterr(err, TTS_E_INVALID, "holds: the cache has phoneme id %d; the model "
                              "knows %d symbols", ds->ids[j], ns);
    holds_worker wk[TR_MAX_THREADS];
    memset(wk, 0, sizeof wk);
    int rc = table_alloc(t, ns) ? TTS_E_NOMEM : 0;
    for (int k = 0; k < threads && !rc; k++) {
        wk[k] = (holds_worker){.m = m, .ds = ds, .first = k, .stride = threads};
        if (table_alloc(&wk[k].t, ns))
            rc = TTS_E_NOMEM;
    }
    if (!rc) {
        tr_run(wk, threads, sizeof wk[0], holds_run);
        for (int k = 0; k < threads; k++) {
            if (wk[k].rc)
                rc = wk[k].rc;
            for (int id = 0; id < ns; id++)
                t->count[id] += wk[k].t.count[id];
            for (size_t j = 0; j < (size_t)ns * (HOLDS_MAX_STEPS + 1); j++)
                t->hist[j] += wk[k].t.hist[j];
        }
    }
    for (int k = 0; k < threads; k++)
        holds_free(&wk[k].t);
    if (rc) {
        holds_free(t);
        return tts_seterr(err, rc, "holds: %s", rc == TTS_E_NOMEM ? "out of memory"
                                                                  : "teacher-forced pass failed");
    }
    return TTS_OK;
}

float holds_percentile(const holds_table *t, int id, float pct, int min_count, int r)
{
    if (id < 0 || id >= t->n_symbols || t->count[id] < min_count || t->count[id] == 0)
        return 0;
    /* the smallest length with at least pct % of the holds at or below it */
    double need = (double)pct * t->count[id] / 100.0; /* exact for whole percentiles */
    long seen = 0;
    const int *h = t->hist + (size_t)id * (HOLDS_MAX_STEPS + 1);
    for (int len = 0; len <= HOLDS_MAX_STEPS; len++) {
        seen += h[len];
        if (seen >= need && seen > 0)
            return (float)len * (float)r;
    }
    return (float)HOLDS_MAX_STEPS * (float)r;
}
