#include "nn/params_io.h"

#include <stdlib.h>

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
