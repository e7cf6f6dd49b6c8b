/*
 * The layers' forward passes, written once over a real type; their backward passes and the
 * losses are nn/layers_grad_impl.h (training only: not in the runtime library).
 *
 * Instantiated by nn/layers.c with REAL=float (synthesis and training, GEMMs through
 * nn_sgemm) and by train/layers_d.c with REAL=double (the reference the gradient tests
 * compare with finite differences, GEMMs through cblas_dgemm), each after
 * nn/layers_common_impl.h. NN(name) adds the suffix _f or _d. GEMM(ta, tb, M, N, K, alpha,
 * A, lda, B, ldb, beta, C, ldc) is a row-major GEMM, ta / tb 1 to transpose.
 *
 * Conventions:
 *   - sequences are time-major, row-major: x[T, C] means x[t*C + c];
 *   - *_forward overwrite their outputs.
 */

/* ---- 1-D convolution -------------------------------------------------------------
 * y[T, Cout] = b + sum_k x[t + k*dil - pad, :] . W[k]   (x outside [0,T) reads as 0)
 * W[K, Cin, Cout], b[Cout]; pad = (K-1)*dil when causal, (K-1)*dil/2 when centred.
 * One GEMM per tap over the whole sequence, so a teacher-forced sequence costs K GEMMs.
 */
void NN(conv1d_forward)(REAL *y, const REAL *x, const REAL *W, const REAL *b,
                        int T, int Cin, int Cout, int K, int dil, int causal)
{
    for (int t = 0; t < T; t++) {
        REAL *yt = y + (size_t)t * Cout;
        if (b)
            memcpy(yt, b, sizeof(REAL) * Cout);
        else
            memset(yt, 0, sizeof(REAL) * Cout);
    }
    for (int k = 0; k < K; k++) {
        int t0, t1, s;
        NN(conv_rows)(k, T, K, dil, causal, &t0, &t1, &s);
        if (t1 <= t0)
            continue;
        GEMM(0, 0, t1 - t0, Cout, Cin, 1,
             x + (size_t)(t0 + s) * Cin, Cin, W + (size_t)k * Cin * Cout, Cout, 1,
             y + (size_t)t0 * Cout, Cout);
    }
}

/* ---- element-wise activations (y[n] from x[n]) ------------------------------------ */
void NN(relu_forward)(REAL *y, const REAL *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

void NN(sigmoid_forward)(REAL *y, const REAL *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = NN(sigm)(x[i]);
}

void NN(tanh_forward)(REAL *y, const REAL *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = TANH(x[i]);
}

/* ---- gates --------------------------------------------------------------------------
 * highway:  h[T, 2C] = [h1 | h2],  g = sigmoid(h1),  y[T, C] = g*h2 + (1-g)*x
 * gated:    h[T, 2C] = [a | b],    y[T, C] = tanh(a) * sigmoid(b)        (WaveNet)
 * glu:      h[T, 2C] = [a | b],    y[T, C] = a * sigmoid(b)
 */
void NN(highway_forward)(REAL *y, const REAL *h, const REAL *x, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *h1 = h + (size_t)t * 2 * C, *h2 = h1 + C, *xt = x + (size_t)t * C;
        REAL *yt = y + (size_t)t * C;
        for (int c = 0; c < C; c++) {
            REAL g = NN(sigm)(h1[c]);
            yt[c] = g * h2[c] + (1 - g) * xt[c];
        }
    }
}

void NN(gated_forward)(REAL *y, const REAL *h, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *a = h + (size_t)t * 2 * C, *b = a + C;
        for (int c = 0; c < C; c++)
            y[(size_t)t * C + c] = TANH(a[c]) * NN(sigm)(b[c]);
    }
}

void NN(glu_forward)(REAL *y, const REAL *h, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *a = h + (size_t)t * 2 * C, *b = a + C;
        for (int c = 0; c < C; c++)
            y[(size_t)t * C + c] = a[c] * NN(sigm)(b[c]);
    }
}

/* ---- embedding: y[T, D] = E[ids[t], :],  E[V, D] ------------------------------------- */
void NN(embedding_forward)(REAL *y, const int *ids, const REAL *E, int T, int D)
{
    for (int t = 0; t < T; t++)
        memcpy(y + (size_t)t * D, E + (size_t)ids[t] * D, sizeof(REAL) * D);
}

/* ---- layer norm over channels ---------------------------------------------------------
 * y[T, C] = (x - mean_t) * rstd_t * gamma + beta;  mean[T], rstd[T] saved for backward.
 */
void NN(layernorm_forward)(REAL *y, REAL *mean, REAL *rstd, const REAL *x, const REAL *gamma,
                           const REAL *beta, int T, int C)
{
    for (int t = 0; t < T; t++) {
        const REAL *xt = x + (size_t)t * C;
        REAL m = 0, v = 0;
        for (int c = 0; c < C; c++)
            m += xt[c];
        m /= C;
        for (int c = 0; c < C; c++)
            v += (xt[c] - m) * (xt[c] - m);
        v /= C;
        REAL r = 1 / SQRT(v + (REAL)1e-5);
        for (int c = 0; c < C; c++)
            y[(size_t)t * C + c] = (xt[c] - m) * r * gamma[c] + beta[c];
        mean[t] = m;
        rstd[t] = r;
    }
}

/* ---- dropout: y = x * mask / (1-p), mask[n] in {0,1} drawn by the caller's rng -------- */
void NN(dropout_forward)(REAL *y, unsigned char *mask, const REAL *x, size_t n, REAL p,
                         uint64_t *rng)
{
    REAL scale = p < 1 ? 1 / (1 - p) : 0;
    for (size_t i = 0; i < n; i++) {
        mask[i] = nn_rand_uniform(rng) >= (double)p;
        y[i] = mask[i] ? x[i] * scale : 0;
    }
}

/* ---- scaled dot-product attention ---------------------------------------------------
 * q[Tq, D], k[Tk, D], v[Tk, Dv]:  a[Tq, Tk] = softmax_k(q k^T / sqrt(D)),  r[Tq, Dv] = a v
 */
void NN(attention_forward)(REAL *r, REAL *a, const REAL *q, const REAL *k, const REAL *v,
                           int Tq, int Tk, int D, int Dv)
{
    REAL scale = 1 / SQRT((REAL)D);
    GEMM(0, 1, Tq, Tk, D, scale, q, D, k, D, 0, a, Tk);
    for (int i = 0; i < Tq; i++) {
        REAL *ai = a + (size_t)i * Tk, mx = ai[0], s = 0;
        for (int j = 1; j < Tk; j++)
            mx = ai[j] > mx ? ai[j] : mx;
        for (int j = 0; j < Tk; j++) {
            ai[j] = EXP(ai[j] - mx);
            s += ai[j];
        }
        for (int j = 0; j < Tk; j++)
            ai[j] /= s;
    }
    GEMM(0, 0, Tq, Dv, Tk, 1, a, Tk, v, Dv, 0, r, Dv);
}
