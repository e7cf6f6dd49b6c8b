#include "nn/params_io.h"

#include "nn/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/half.h"

_Static_assert(NN_Q8_BLOCK == NN_VECMAT_Q8_BLOCK, "the int8 kernels read the stored blocks");

void nn_params_to_mf(tts_mf_writer *w, const nn_params *p, const nn_adam *adam)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const nn_tensor_info *t = &p->tensors[i];
        tts_mf_add_tensor_ref(w, t->name, TTS_MF_F32, t->ndim, t->shape, p->params + t->offset);
    }
    if (adam && p->m && p->v) {
        int64_t n = (int64_t)p->count;
        tts_mf_add_tensor_ref(w, "adam.m", TTS_MF_F32, 1, &n, p->m);
        tts_mf_add_tensor_ref(w, "adam.v", TTS_MF_F32, 1, &n, p->v);
        tts_mf_set_i64(w, "train.step", adam->step);
    }
}

static void nn_params_to_mf_f16_one(tts_mf_writer *w, const nn_params *p, const nn_tensor_info *t)
{
    uint16_t *h = malloc(t->size * sizeof(uint16_t) + 1);
    if (h)
        for (size_t j = 0; j < t->size; j++)
            h[j] = nn_float_to_half(p->params[t->offset + j]);
    /* a NULL tensor (out of memory) is remembered by the writer as a failure */
    tts_mf_add_tensor(w, t->name, TTS_MF_F16, t->ndim, t->shape, h);
    free(h);
}

void nn_params_to_mf_f16(tts_mf_writer *w, const nn_params *p)
{
    for (int i = 0; i < p->n_tensors; i++)
        nn_params_to_mf_f16_one(w, p, &p->tensors[i]);
}

void nn_params_to_mf_q8(tts_mf_writer *w, const nn_params *p)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const nn_tensor_info *t = &p->tensors[i];
        if (t->size < NN_Q8_MIN) {
            nn_params_to_mf_f16_one(w, p, t);
            continue;
        }
        size_t nb = (t->size + NN_Q8_BLOCK - 1) / NN_Q8_BLOCK;
        int8_t *q = malloc(t->size);
        float *sc = malloc(nb * sizeof(float));
        char name[TTS_MF_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s@q8", t->name);
        int64_t n = (int64_t)nb;
        if (q && sc) {
            const float *x = p->params + t->offset;
            for (size_t b = 0; b < nb; b++) {
                size_t lo = b * NN_Q8_BLOCK, hi = lo + NN_Q8_BLOCK < t->size ? lo + NN_Q8_BLOCK : t->size;
                float mx = 0;
                for (size_t j = lo; j < hi; j++)
                    mx = fabsf(x[j]) > mx ? fabsf(x[j]) : mx;
                sc[b] = mx / 127;
                float inv = mx > 0 ? 127 / mx : 0;
                for (size_t j = lo; j < hi; j++) {
                    long c = lrintf(x[j] * inv);
                    q[j] = (int8_t)(c > 127 ? 127 : c < -127 ? -127 : c);
                }
            }
        }
        /* a NULL tensor (out of memory) is remembered by the writer as a failure */
        tts_mf_add_tensor(w, t->name, TTS_MF_I8, t->ndim, t->shape, q && sc ? q : NULL);
        tts_mf_add_tensor(w, name, TTS_MF_F32, 1, &n, q && sc ? sc : NULL);
        free(q);
        free(sc);
    }
}

/* finds tensor t of p in mf: its stored dtype (f32 when absent: the getter names what is
 * missing) and, for i8, its block scales */
static int find_param(const nn_tensor_info *t, const tts_mf *mf, const tts_mf_tensor **ft,
                      const float **scales, tts_err *err)
{
    const tts_mf_tensor *f = tts_mf_find(mf, t->name);
    int dtype = f && (f->dtype == TTS_MF_F16 || f->dtype == TTS_MF_I8) ? (int)f->dtype : TTS_MF_F32;
    int rc = tts_mf_get(mf, t->name, dtype, t->ndim, t->shape, ft, err);
    if (rc || dtype != TTS_MF_I8)
        return rc;
    char name[TTS_MF_NAME_MAX + 8];
    snprintf(name, sizeof name, "%s@q8", t->name);
    int64_t nb = (int64_t)((t->size + NN_Q8_BLOCK - 1) / NN_Q8_BLOCK);
    if ((rc = tts_mf_get_f32(mf, name, 1, &nb, scales, err)))
        return rc;
    for (int64_t b = 0; b < nb; b++)
        if (!((*scales)[b] >= 0 && (*scales)[b] < 1e30f)) /* NaN fails too */
            return tts_seterr(err, TTS_E_FORMAT, "tensor '%s': block scale %lld is %g", name,
                              (long long)b, (double)(*scales)[b]);
    return TTS_OK;
}

int nn_params_check_mf(const nn_params *p, const tts_mf *mf, tts_err *err)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const tts_mf_tensor *ft;
        const float *sc;
        int rc = find_param(&p->tensors[i], mf, &ft, &sc, err);
        if (rc)
            return rc;
    }
    return TTS_OK;
}

int nn_params_q8(const nn_params *p, int i, const tts_mf *mf, const int8_t **codes,
                 const float **scales)
{
    const tts_mf_tensor *ft;
    tts_err e;
    if (i < 0 || i >= p->n_tensors || find_param(&p->tensors[i], mf, &ft, scales, &e) ||
        ft->dtype != TTS_MF_I8)
        return 0;
    *codes = ft->data;
    return 1;
}

void nn_q8_widen(float *y, const int8_t *q, const float *s, size_t n)
{
    for (size_t lo = 0; lo < n; lo += NN_Q8_BLOCK) { /* a block at a time: vectorized */
        size_t hi = lo + NN_Q8_BLOCK < n ? lo + NN_Q8_BLOCK : n;
        const float sc = s[lo / NN_Q8_BLOCK];
        for (size_t j = lo; j < hi; j++)
            y[j] = (float)q[j] * sc;
    }
}

int nn_params_from_mf(nn_params *p, const tts_mf *mf, tts_err *err)
{
    return nn_params_from_mf_except(p, mf, NULL, err);
}

int nn_params_from_mf_except(nn_params *p, const tts_mf *mf, const unsigned char *skip,
                             tts_err *err)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const nn_tensor_info *t = &p->tensors[i];
        if (skip && skip[i])
            continue;
        const tts_mf_tensor *ft;
        const float *sc = NULL;
        int rc = find_param(t, mf, &ft, &sc, err);
        if (rc)
            return rc;
        float *y = p->params + t->offset;
        if (ft->dtype == TTS_MF_F32) {
            memcpy(y, ft->data, t->size * sizeof(float));
        } else if (ft->dtype == TTS_MF_F16) {
            const uint16_t *h = ft->data;
            for (size_t j = 0; j < t->size; j++)
                y[j] = nn_half_to_float(h[j]);
        } else {
            nn_q8_widen(y, ft->data, sc, t->size);
        }
    }
    return TTS_OK;
}

int nn_adam_from_mf(nn_params *p, nn_adam *adam, const tts_mf *mf, tts_err *err)
{
    if (!adam || !p->m || !p->v || !tts_mf_find(mf, "adam.m"))
        return TTS_OK;
    int64_t n = (int64_t)p->count, step;
    const float *mm, *vv;
    int rc;
    if ((rc = tts_mf_get_f32(mf, "adam.m", 1, &n, &mm, err)) ||
        (rc = tts_mf_get_f32(mf, "adam.v", 1, &n, &vv, err)) ||
        (rc = tts_mf_get_i64(mf, "train.step", &step, err)))
        return rc;
    memcpy(p->m, mm, p->count * sizeof(float));
    memcpy(p->v, vv, p->count * sizeof(float));
    adam->step = step;
    return TTS_OK;
}
