#include "train/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acoustic/voice_io.h"
#include "train/parallel.h"
#include "vocoder/pitch.h"

/* splits a newline-separated blob into n malloc'd strings */
static int split_lines(const uint8_t *blob, int64_t len, int n, char ***out)
{
    char **v = calloc((size_t)n, sizeof *v);
    if (!v)
        return -1;
    int64_t start = 0;
    for (int i = 0; i < n; i++) {
        int64_t end = start;
        while (end < len && blob[end] != '\n')
            end++;
        v[i] = malloc((size_t)(end - start) + 1);
        if (!v[i]) {
            for (int j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return -1;
        }
        memcpy(v[i], blob + start, (size_t)(end - start));
        v[i][end - start] = '\0';
        start = end < len ? end + 1 : end;
    }
    *out = v;
    return 0;
}

int tts_dataset_open(tts_dataset *ds, const char *path, tts_err *err)
{
    memset(ds, 0, sizeof *ds);
    int rc = tts_mf_open(&ds->mf, path, err);
    if (rc)
        return rc;
    const char *kind;
    int64_t n;
    const tts_mf_tensor *t;
    if ((rc = tts_mf_get_str(ds->mf, "kind", &kind, err)))
        goto fail;
    if (strcmp(kind, "dataset") != 0) {
        rc = tts_seterr(err, TTS_E_FORMAT, "%s is a '%s' file, not a dataset cache", path, kind);
        goto fail;
    }
    if ((rc = tts_mf_get_i64(ds->mf, "n", &n, err)) ||
        (rc = tts_audio_cfg_from_mf(ds->mf, &ds->audio, err)) ||
        (rc = tts_mf_get_str(ds->mf, "symbols", &ds->symbols, err)))
        goto fail;
    if (n <= 0 || n > 10000000) {
        rc = tts_seterr(err, TTS_E_FORMAT, "%s: bad utterance count %lld", path, (long long)n);
        goto fail;
    }
    ds->n = (int)n;
    ds->n_mels = ds->audio.n_mels;
    int64_t off_shape[1] = {n + 1}, nshape[1] = {n}, mshape[1] = {ds->n_mels};
    int64_t melshape[2] = {-1, ds->n_mels}, any[1] = {-1};
    const tts_mf_tensor *tid, *tmel;
    if ((rc = tts_mf_get(ds->mf, "ids", TTS_MF_I32, 1, any, &tid, err)) ||
        (rc = tts_mf_get_i32(ds->mf, "ids_off", 1, off_shape, &ds->ids_off, err)) ||
        (rc = tts_mf_get(ds->mf, "mel", TTS_MF_F32, 2, melshape, &tmel, err)) ||
        (rc = tts_mf_get_i32(ds->mf, "mel_off", 1, off_shape, &ds->mel_off, err)) ||
        (rc = tts_mf_get_u8(ds->mf, "split", 1, nshape, &ds->split, err)) ||
        (rc = tts_mf_get_f32(ds->mf, "mel_mean", 1, mshape, &ds->mel_mean, err)) ||
        (rc = tts_mf_get_f32(ds->mf, "mel_std", 1, mshape, &ds->mel_std, err)))
        goto fail;
    ds->ids = tid->data;
    ds->mel = tmel->data;
    if ((t = tts_mf_find(ds->mf, "audio"))) {
        int64_t ashape[1] = {tmel->shape[0] * ds->audio.hop_length};
        const float *a;
        if ((rc = tts_mf_get_f32(ds->mf, "audio", 1, ashape, &a, err)))
            goto fail;
        ds->pcm = a;
    }
    /* offsets must be monotonic and inside their arrays */
    if (ds->ids_off[0] != 0 || ds->mel_off[0] != 0 || ds->ids_off[n] != tid->count ||
        ds->mel_off[n] != tmel->shape[0]) {
        rc = tts_seterr(err, TTS_E_FORMAT, "%s: offsets do not match the data", path);
        goto fail;
    }
    for (int i = 0; i < ds->n; i++)
        if (ds->ids_off[i + 1] <= ds->ids_off[i] || ds->mel_off[i + 1] <= ds->mel_off[i]) {
            rc = tts_seterr(err, TTS_E_FORMAT, "%s: utterance %d is empty or out of order", path, i);
            goto fail;
        }
    if ((t = tts_mf_find(ds->mf, "names")) && t->dtype == TTS_MF_U8 &&
        split_lines(t->data, t->count, ds->n, &ds->names)) {
        rc = tts_seterr(err, TTS_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((t = tts_mf_find(ds->mf, "texts")) && t->dtype == TTS_MF_U8 &&
        split_lines(t->data, t->count, ds->n, &ds->texts)) {
        rc = tts_seterr(err, TTS_E_NOMEM, "out of memory");
        goto fail;
    }
    return TTS_OK;
fail:
    tts_dataset_close(ds);
    return rc;
}

void tts_dataset_close(tts_dataset *ds)
{
    for (int i = 0; ds->names && i < ds->n; i++)
        free(ds->names[i]);
    for (int i = 0; ds->texts && i < ds->n; i++)
        free(ds->texts[i]);
    free(ds->names);
    free(ds->texts);
    tts_mf_close(ds->mf);
    memset(ds, 0, sizeof *ds);
}

void tts_dataset_mel_norm(const tts_dataset *ds, int i, float *out)
{
    int nm = ds->n_mels, F = tts_dataset_n_frames(ds, i);
    const float *raw = ds->mel + (size_t)ds->mel_off[i] * nm;
    for (int f = 0; f < F; f++)
        for (int b = 0; b < nm; b++)
            out[(size_t)f * nm + b] = (raw[(size_t)f * nm + b] - ds->mel_mean[b]) / ds->mel_std[b];
}

typedef struct {
    const tts_dataset *ds;
    float *f0;
    int first, stride;
} track_job;

static void *track_run(void *arg)
{
    track_job *j = arg;
    const tts_dataset *ds = j->ds;
    int hop = ds->audio.hop_length;
    for (int i = j->first; i < ds->n; i += j->stride) {
        int F = tts_dataset_n_frames(ds, i);
        voc_pitch_track(ds->pcm + (size_t)ds->mel_off[i] * hop, (size_t)F * hop,
                        ds->audio.sample_rate, hop, F, j->f0 + ds->mel_off[i]);
    }
    return NULL;
}

void tts_dataset_track_f0(const tts_dataset *ds, float *f0, int nthreads)
{
    track_job jobs[TR_MAX_THREADS];
    nthreads = nthreads < 1 ? 1 : nthreads > TR_MAX_THREADS ? TR_MAX_THREADS : nthreads;
    for (int t = 0; t < nthreads; t++)
        jobs[t] = (track_job){ds, f0, t, nthreads};
    tr_run(jobs, nthreads, sizeof *jobs, track_run);
}

float *tts_dataset_lf0(const tts_dataset *ds, int threads, float *mean, float *sd_out)
{
    size_t total = (size_t)ds->mel_off[ds->n];
    float *lf0 = ds->pcm ? malloc(sizeof(float) * (total ? total : 1)) : NULL;
    if (!lf0)
        return NULL;
    tts_dataset_track_f0(ds, lf0, threads);
    double s = 0, ss = 0, n = 0;
    for (int i = 0; i < ds->n; i++)
        for (int f = ds->mel_off[i]; f < ds->mel_off[i + 1] && !ds->split[i]; f++)
            if (lf0[f] > 0) {
                double l = log(lf0[f]);
                s += l;
                ss += l * l;
                n++;
            }
    if (n < 2) {
        free(lf0);
        return NULL;
    }
    double mu = s / n, sd = sqrt(fmax(ss / n - mu * mu, 1e-6));
    for (size_t f = 0; f < total; f++)
        lf0[f] = lf0[f] > 0 ? (float)((log(lf0[f]) - mu) / sd) : NAN;
    *mean = (float)mu;
    *sd_out = (float)sd;
    return lf0;
}
