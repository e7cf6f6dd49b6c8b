#include "nn/layers.h"
#include "nn/gemm.h"
#include "nn/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the float layers' forward passes, as synthesis and training run them; GEMM(ta, tb, M, N,
 * K, ...) is nn_sgemm's (the library's own kernels, or the BLAS the trainer routes it to).
 * Their backward passes are train/layers_f.c's; the double twins, for the gradient
 * checks, train/layers_d.c's. */
#define REAL float
#define NN(name) name##_f
#define GEMM nn_sgemm
#define EXP expf
#define TANH tanhf
#define SQRT sqrtf
#include "nn/layers_common_impl.h"
#include "nn/layers_impl.h"
#undef REAL
#undef NN
#undef GEMM
#undef EXP
#undef TANH
#undef SQRT

double nn_rand_normal(uint64_t *s)
{
    double u1 = nn_rand_uniform(s), u2 = nn_rand_uniform(s);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* conv1d_step_f's body, W float or (W NULL) int8 Q with scales S */
static void conv_step(float *y, const float *x, const float *W, const int8_t *Q, const float *S,
                      const float *b, int Cin, int Cout, int K, int dil, nn_conv_state *st)
{
    if (b)
        memcpy(y, b, sizeof(float) * Cout);
    else
        memset(y, 0, sizeof(float) * Cout);
    /* tap k reads the input (K-1-k)*dil frames back; the newest tap is x itself */
    for (int k = 0; k < K; k++) {
        int back = (K - 1 - k) * dil;
        const float *xin;
        if (back == 0) {
            xin = x;
        } else if (back > st->len) {
            continue; /* a state shorter than the receptive field reads its past as zeros */
        } else {
            int slot = (st->pos - back) % st->len;
            xin = st->hist + (size_t)(slot < 0 ? slot + st->len : slot) * Cin;
        }
        size_t tap = (size_t)k * Cin * Cout;
        if (W)
            nn_vecmat(y, xin, W + tap, Cin, Cout);
        else
            nn_vecmat_q8(y, xin, Q + tap, S + tap / NN_VECMAT_Q8_BLOCK, Cin, Cout);
    }
    if (st->len > 0) {
        memcpy(st->hist + (size_t)st->pos * Cin, x, sizeof(float) * Cin);
        st->pos = (st->pos + 1) % st->len;
    }
}

void conv1d_step_f(float *y, const float *x, const float *W, const float *b, int Cin, int Cout,
                   int K, int dil, nn_conv_state *st)
{
    conv_step(y, x, W, NULL, NULL, b, Cin, Cout, K, dil, st);
}

void conv1d_step_q8(float *y, const float *x, const int8_t *Q, const float *S, const float *b,
                    int Cin, int Cout, int K, int dil, nn_conv_state *st)
{
    conv_step(y, x, NULL, Q, S, b, Cin, Cout, K, dil, st);
}

size_t nn_params_add(nn_params *p, const char *name, int ndim, const int64_t *shape)
{
    if (p->n_tensors >= NN_MAX_TENSORS || ndim < 0 || ndim > 4) {
        p->overflow = 1; /* reported by nn_params_alloc */
        return 0;
    }
    nn_tensor_info *t = &p->tensors[p->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->size = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->size *= (size_t)shape[i];
    }
    /* keep every tensor 16-float (64-byte) aligned inside the buffer */
    t->offset = (p->count + 15) & ~(size_t)15;
    p->count = t->offset + t->size;
    return t->offset;
}

int nn_params_alloc(nn_params *p)
{
    if (p->overflow)
        return -1;
    size_t bytes = (p->count * sizeof(float) + 63) & ~(size_t)63;
    float **bufs[4] = {&p->params, &p->grads, &p->m, &p->v};
    for (int i = 0; i < 4; i++) {
        *bufs[i] = aligned_alloc(64, bytes);
        if (!*bufs[i]) {
            nn_params_free(p);
            return -1;
        }
        memset(*bufs[i], 0, bytes);
    }
    return 0;
}

int nn_params_alloc_for(nn_params *p, int for_training)
{
    if (for_training)
        return nn_params_alloc(p);
    if (p->overflow)
        return -1;
    size_t bytes = (p->count * sizeof(float) + 63) & ~(size_t)63;
    if (!(p->params = aligned_alloc(64, bytes)))
        return -1;
    memset(p->params, 0, bytes);
    return 0;
}

int nn_params_alloc_bare(nn_params *p)
{
    if (p->overflow)
        return -1;
    p->params = aligned_alloc(64, (p->count * sizeof(float) + 63) & ~(size_t)63);
    return p->params ? 0 : -1;
}

void nn_params_free(nn_params *p)
{
    free(p->params);
    free(p->grads);
    free(p->m);
    free(p->v);
    p->params = p->grads = p->m = p->v = NULL;
}

const nn_tensor_info *nn_params_find(const nn_params *p, const char *name)
{
    for (int i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, name) == 0)
            return &p->tensors[i];
    return NULL;
}

double nn_adam_update(nn_params *p, nn_adam *opt)
{
    double norm2 = 0;
    for (size_t i = 0; i < p->count; i++)
        norm2 += (double)p->grads[i] * p->grads[i];
    double norm = sqrt(norm2);
    float gscale = 1;
    if (opt->clip_norm > 0 && norm > opt->clip_norm)
        gscale = (float)(opt->clip_norm / norm);
    opt->step++;
    double bc1 = 1 - pow(opt->beta1, (double)opt->step);
    double bc2 = 1 - pow(opt->beta2, (double)opt->step);
    float b1 = (float)opt->beta1, b2 = (float)opt->beta2;
    float lr = (float)(opt->lr / bc1), wd = (float)(opt->lr * opt->weight_decay);
    float eps = (float)opt->eps, ibc2 = (float)(1 / bc2);
    for (size_t i = 0; i < p->count; i++) {
        float g = p->grads[i] * gscale;
        p->m[i] = b1 * p->m[i] + (1 - b1) * g;
        p->v[i] = b2 * p->v[i] + (1 - b2) * g * g;
        p->params[i] -= lr * p->m[i] / (sqrtf(p->v[i] * ibc2) + eps) + wd * p->params[i];
    }
    return norm;
}

double nn_lr_schedule(double base_lr, int64_t step, int64_t warmup)
{
    if (warmup <= 0)
        return base_lr;
    double s = (double)(step + 1);
    double w = (double)warmup;
    return s < w ? base_lr * s / w : base_lr * sqrt(w / s);
}
