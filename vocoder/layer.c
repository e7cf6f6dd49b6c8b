/* The vocoder's gated layer in float (vocoder/layer_impl.h): the stream's and the batched
 * pass's. */
#include <stdlib.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/kernels.h"
#include "vocoder/vocoder.h"

/* the products in 8-bit integers (voc_use_int8) */

size_t voc_int8_work_bytes(const voc_config *c, int T)
{
    int C = c->res_ch;
    return (((size_t)2 * T * C + 15) & ~(size_t)15) + (size_t)2 * T * sizeof(float);
}

/* work: up to 2T rows' codes [2T, C], then their scales [2T] */
static void q8_split(const voc_model *m, int T, void *work, int8_t **A, float **sa)
{
    int C = m->cfg.res_ch;
    *A = work;
    *sa = (float *)((char *)work + (((size_t)2 * T * C + 15) & ~(size_t)15));
}

/* The taps read rows k d .. k d + T - 1 of xh. Where they overlap (d < T), the rows are
 * quantized once for all taps; else each tap's T rows in turn. */
static void voc_int8_taps(const voc_model *m, int l, const float *xh, int T, float *h, void *work)
{
    const voc_int8_layer *q = &m->q8[l];
    int C = m->cfg.res_ch, K = m->cfg.kernel, d = m->layer[l].dil;
    int once = (K - 1) * d + T <= 2 * T;
    int8_t *A;
    float *sa;
    q8_split(m, T, work, &A, &sa);
    if (once)
        nn_q8_rows(xh, (K - 1) * d + T, C, C, A, C, sa);
    for (int k = 0; k < K; k++) {
        size_t r = once ? (size_t)k * d : 0;
        if (!once)
            nn_q8_rows(xh + (size_t)k * d * C, T, C, C, A, C, sa);
        nn_qgemm8(T, 2 * C, C, A + r * C, C, sa + r, q->cw + (size_t)k * C * 2 * C,
                  q->cs + (size_t)k * 2 * C, q->csum + (size_t)k * 2 * C, h, 2 * C);
    }
}

static void voc_int8_out(const voc_model *m, int l, const float *z, int T, float *o, void *work)
{
    const voc_int8_layer *q = &m->q8[l];
    int C = m->cfg.res_ch, S = m->cfg.skip_ch;
    int8_t *A;
    float *sa;
    q8_split(m, T, work, &A, &sa);
    nn_q8_rows(z, T, C, C, A, C, sa);
    nn_qgemm8(T, C + S, C, A, C, sa, q->ow, q->os, q->osum, o, C + S);
}

int voc_use_int8(voc_model *m, tts_err *err)
{
    const voc_config *c = &m->cfg;
    int C = c->res_ch, S = c->skip_ch, K = c->kernel, L = c->n_layers;
    if (m->q8 || C % 4)
        return TTS_OK;
    /* per layer: the codes (nn_qgemm8_packed_size(C, N) = C N bytes for C a multiple of 4),
     * then the scales and the code sums of K 2C + C + S columns */
    size_t codes = (size_t)K * C * 2 * C + (size_t)C * (C + S), cols = (size_t)K * 2 * C + C + S;
    size_t per = ((codes + 15) & ~(size_t)15) + cols * (sizeof(float) + sizeof(int32_t));
    m->q8 = calloc((size_t)L, sizeof *m->q8);
    m->q8_buf = aligned_alloc(64, (per * L + 63) & ~(size_t)63);
    if (!m->q8 || !m->q8_buf) {
        free(m->q8), free(m->q8_buf);
        m->q8 = NULL, m->q8_buf = NULL;
        return tts_seterr(err, TTS_E_NOMEM, "vocoder: out of memory");
    }
    const float *P = m->p.params;
    for (int l = 0; l < L; l++) {
        voc_int8_layer *q = &m->q8[l];
        char *b = (char *)m->q8_buf + per * l;
        q->cw = (int8_t *)b;
        q->ow = q->cw + (size_t)K * C * 2 * C;
        q->cs = (float *)(b + ((codes + 15) & ~(size_t)15));
        q->os = q->cs + (size_t)K * 2 * C;
        q->csum = (int32_t *)(q->cs + cols);
        q->osum = q->csum + (size_t)K * 2 * C;
        for (int k = 0; k < K; k++)
            nn_qgemm8_pack(P + m->layer[l].cw + (size_t)k * C * 2 * C, C, 2 * C, 2 * C,
                           q->cw + (size_t)k * C * 2 * C, q->cs + (size_t)k * 2 * C,
                           q->csum + (size_t)k * 2 * C);
        nn_qgemm8_pack(P + m->layer[l].ow, C, C + S, C + S, q->ow, q->os, q->osum);
    }
    return TTS_OK;
}

#define VOC_LAYER_INT8
#define REAL float
#define NN(name) name##_f
#define LGEMM nn_sgemm
#define VTANH nn_vtanh
#define VSIGMOID nn_vsigmoid
#include "vocoder/layer_impl.h"
