#include "nn/params_io.h"

#include <stdlib.h>
#include <string.h>

#include "nn/half.h"

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

void nn_params_to_mf_f16(tts_mf_writer *w, const nn_params *p)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const nn_tensor_info *t = &p->tensors[i];
        uint16_t *h = malloc(t->size * sizeof(uint16_t) + 1);
        if (!h) { /* remembered by the writer as a failure through a NULL tensor */
            tts_mf_add_tensor(w, t->name, TTS_MF_F16, t->ndim, t->shape, NULL);
            continue;
        }
        for (size_t j = 0; j < t->size; j++)
            h[j] = nn_float_to_half(p->params[t->offset + j]);
        tts_mf_add_tensor(w, t->name, TTS_MF_F16, t->ndim, t->shape, h);
        free(h);
    }
}

int nn_params_check_mf(const nn_params *p, const tts_mf *mf, tts_err *err)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const nn_tensor_info *t = &p->tensors[i];
        const tts_mf_tensor *ft = tts_mf_find(mf, t->name);
        int dtype = ft && ft->dtype == TTS_MF_F16 ? TTS_MF_F16 : TTS_MF_F32;
        int rc = tts_mf_get(mf, t->name, dtype, t->ndim, t->shape, NULL, err);
        if (rc)
            return rc;
    }
    return TTS_OK;
}

int nn_params_from_mf(nn_params *p, const tts_mf *mf, tts_err *err)
{
    for (int i = 0; i < p->n_tensors; i++) {
        const nn_tensor_info *t = &p->tensors[i];
        const tts_mf_tensor *ft = tts_mf_find(mf, t->name);
        int dtype = ft && ft->dtype == TTS_MF_F16 ? TTS_MF_F16 : TTS_MF_F32;
        int rc = tts_mf_get(mf, t->name, dtype, t->ndim, t->shape, &ft, err);
        if (rc)
            return rc;
        if (dtype == TTS_MF_F32) {
            memcpy(p->params + t->offset, ft->data, t->size * sizeof(float));
        } else {
            const uint16_t *h = ft->data;
            for (size_t j = 0; j < t->size; j++)
                p->params[t->offset + j] = nn_half_to_float(h[j]);
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
