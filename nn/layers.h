/*
 * nn core: layer forward/backward pairs, the streaming causal convolution, parameter
 * storage and the Adam optimizer. See layers_impl.h for the shape conventions; every
 * layer exists as NAME_f (float, used for training and inference) and NAME_d (double,
 * the reference the gradient tests compare with finite differences).
 */
#ifndef TTS_NN_LAYERS_H
#define TTS_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* ---- random numbers: xorshift64*, deterministic, one state per user ---- */
static inline uint64_t nn_rand_u64(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
static inline double nn_rand_uniform(uint64_t *s) /* [0, 1) */
{
    return (nn_rand_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}
double nn_rand_normal(uint64_t *s);

#define NN_DECLARE_LAYERS(R, SFX)                                                                 \
    void conv1d_forward##SFX(R *y, const R *x, const R *W, const R *b, int T, int Cin, int Cout,  \
                             int K, int dil, int causal);                                         \
    void conv1d_backward##SFX(R *dx, R *dW, R *db, const R *dy, const R *x, const R *W, int T,    \
                              int Cin, int Cout, int K, int dil, int causal);                     \
    void relu_forward##SFX(R *y, const R *x, size_t n);                                           \
    void relu_backward##SFX(R *dx, const R *dy, const R *y, size_t n);                            \
    void sigmoid_forward##SFX(R *y, const R *x, size_t n);                                        \
    void sigmoid_backward##SFX(R *dx, const R *dy, const R *y, size_t n);                         \
    void tanh_forward##SFX(R *y, const R *x, size_t n);                                           \
    void tanh_backward##SFX(R *dx, const R *dy, const R *y, size_t n);                            \
    void highway_forward##SFX(R *y, const R *h, const R *x, int T, int C);                        \
    void highway_backward##SFX(R *dh, R *dx, const R *dy, const R *h, const R *x, int T, int C);  \
    void gated_forward##SFX(R *y, const R *h, int T, int C);                                      \
    void gated_backward##SFX(R *dh, const R *dy, const R *h, int T, int C);                       \
    void glu_forward##SFX(R *y, const R *h, int T, int C);                                        \
    void glu_backward##SFX(R *dh, const R *dy, const R *h, int T, int C);                         \
    void embedding_forward##SFX(R *y, const int *ids, const R *E, int T, int D);                  \
    void embedding_backward##SFX(R *dE, const R *dy, const int *ids, int T, int D);               \
    void layernorm_forward##SFX(R *y, R *mean, R *rstd, const R *x, const R *gamma,               \
                                const R *beta, int T, int C);                                     \
    void layernorm_backward##SFX(R *dx, R *dgamma, R *dbeta, const R *dy, const R *x,             \
                                 const R *mean, const R *rstd, const R *gamma, int T, int C);     \
    void dropout_forward##SFX(R *y, unsigned char *mask, const R *x, size_t n, R p,               \
                              uint64_t *rng);                                                     \
    void dropout_backward##SFX(R *dx, const R *dy, const unsigned char *mask, size_t n, R p);     \
    void attention_forward##SFX(R *r, R *a, const R *q, const R *k, const R *v, int Tq, int Tk,   \
                                int D, int Dv);                                                   \
    void attention_backward##SFX(R *dq, R *dk, R *dv, const R *dr, const R *da_extra,             \
                                 const R *a, const R *q, const R *k, const R *v, R *scratch,      \
                                 int Tq, int Tk, int D, int Dv);                                  \
    double guided_attention_loss##SFX(R *da, const R *a, int Tq, int Tk, double g,                \
                                      double weight);                                             \
    double l1_loss##SFX(R *dy, const R *y, const R *target, size_t n, double scale);              \
    double l2_loss##SFX(R *dy, const R *y, const R *target, size_t n, double scale);              \
    double delta_l1_loss##SFX(R *dy, const R *y, const R *target, int T, int C, double scale);   \
    double delta_var_loss##SFX(R *dy, const R *y, const R *target, int T, int C, double scale);  \
    double gv_loss##SFX(R *dy, const R *y, const R *target, const unsigned char *mask, int T,    \
                        int C, const R *W, int K, double scale);                                  \
    double bce_logits_loss##SFX(R *dlogits, const R *logits, const R *target, size_t n,           \
                                double scale);                                                    \
    double softmax_xent_loss##SFX(R *dlogits, const R *logits, const int *targets, int T, int C,  \
                                  double scale);

NN_DECLARE_LAYERS(float, _f)
NN_DECLARE_LAYERS(double, _d)

/* ---- streaming causal convolution ---------------------------------------------------
 * The same weights as conv1d_forward_f(causal=1), fed one frame at a time. The caller
 * owns the history: hist[(K-1)*dil, Cin] (zeroed at the start of a sequence) and *pos.
 * y[Cout] = b + sum_k W[k]^T x_{t-(K-1-k)*dil}. Produces exactly what the batched form
 * produces for the same frames.
 */
typedef struct {
    float *hist; /* [(K-1)*dil][Cin] ring buffer, NULL when K == 1 */
    int len;     /* (K-1)*dil */
    int pos;     /* next slot to write */
} nn_conv_state;

void conv1d_step_f(float *y, const float *x, const float *W, const float *b, int Cin, int Cout,
                   int K, int dil, nn_conv_state *st);
/* The same step with W stored as int8 codes Q and block scales S (nn_vecmat_q8; Cout a
 * multiple of NN_VECMAT_Q8_BLOCK): bit for bit conv1d_step_f on the dequantized W. */
void conv1d_step_q8(float *y, const float *x, const int8_t *Q, const float *S, const float *b,
                    int Cin, int Cout, int K, int dil, nn_conv_state *st);

/* ---- parameters and optimizer --------------------------------------------------------
 * All parameters of a model live in one float buffer; gradients and Adam moments mirror
 * it. Tensors are registered by name (the names go into the model file).
 */
#define NN_MAX_TENSORS 256
typedef struct {
    char name[64];
    int ndim;
    int64_t shape[4];
    size_t offset, size; /* in floats */
} nn_tensor_info;

typedef struct {
    float *params, *grads, *m, *v; /* each [count] */
    size_t count;
    int n_tensors;
    int overflow; /* set when more than NN_MAX_TENSORS were added: nn_params_alloc fails */
    nn_tensor_info tensors[NN_MAX_TENSORS];
} nn_params;

/* Registers a tensor (before nn_params_alloc); returns its offset in floats. Past
 * NN_MAX_TENSORS it records the overflow instead, and nn_params_alloc then fails. */
size_t nn_params_add(nn_params *p, const char *name, int ndim, const int64_t *shape);
int nn_params_alloc(nn_params *p);  /* 0 on success; all zeroed */
/* The parameters alone (no gradients or moments: inference), zeroed; or, with
 * for_training, nn_params_alloc. 0 or -1. */
int nn_params_alloc_for(nn_params *p, int for_training);
/* The parameters alone, not zeroed: for a loader that writes every tensor it reads (pages
 * of tensors never touched cost no memory). 0 or -1. */
int nn_params_alloc_bare(nn_params *p);
void nn_params_free(nn_params *p);
const nn_tensor_info *nn_params_find(const nn_params *p, const char *name);

typedef struct {
    double lr, beta1, beta2, eps, weight_decay, clip_norm;
    int64_t step;
} nn_adam;

/* One AdamW update of every parameter from p->grads; clips the global gradient norm to
 * opt->clip_norm (if > 0) first and returns the norm before clipping. */
double nn_adam_update(nn_params *p, nn_adam *opt);

/* Learning rate with linear warm-up then inverse-square-root (Noam) decay. */
double nn_lr_schedule(double base_lr, int64_t step, int64_t warmup);

#endif
