/*
 * The helpers both halves of the layers share (nn/layers_impl.h, the forward passes, and
 * nn/layers_grad_impl.h, the backward passes and losses), over the same real type. Each
 * file that instantiates either includes this once per type first.
 */
static void NN(conv_rows)(int k, int T, int K, int dil, int causal, int *t0, int *t1, int *s)
{
    int pad = causal ? (K - 1) * dil : (K - 1) * dil / 2;
    int shift = k * dil - pad;
    *s = shift;
    *t0 = shift < 0 ? -shift : 0;
    *t1 = shift > 0 ? T - shift : T;
    if (*t1 < *t0)
        *t1 = *t0;
}

static inline REAL NN(sigm)(REAL x)
{
    return x >= 0 ? 1 / (1 + EXP(-x)) : EXP(x) / (1 + EXP(x));
}
