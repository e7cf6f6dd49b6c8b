/*
 * AVX2 + FMA twins of the kernels in kernels.c. This file is compiled for the generic
 * target like the rest of the build; only the functions below carry
 * target("avx2,fma"), and kernels.c calls them only after __builtin_cpu_supports says
 * the CPU has both.
 */
#include "nn/kernels.h"

#ifdef NN_HAVE_AVX2_KERNELS

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define NN_AVX2 __attribute__((target("avx2,fma")))

/* lanes [0, rem) set, rem in 1..7 */
static const int32_t mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static inline NN_AVX2 __m256i tail_mask(int rem)
{
    return _mm256_loadu_si256((const __m256i *)(mask_tab + 8 - rem));
}

/* ---- y[Cout] += x[Cin]^T W[Cin][Cout] ------------------------------------------------
 * Eight rows of W at a time, each streamed contiguously across all Cout columns: y (a
 * few KiB, in L1) is loaded and stored once per 8 rows, W is read once, in 8 sequential
 * streams the hardware prefetcher follows. Two accumulators per 8 columns shorten the
 * dependency chain. Measured on Zen 3 (best of 15 runs, GFLOP/s, 64x128 / 128x256 /
 * 256x512, W hot): 82 / 51 / 41, against 81 / 45 / 39 for 64-column blocks walking down
 * the rows with software prefetch, and 72 / 51 / 41 for 4 rows at a time; with W rotating
 * through 8 MiB (L3) all three were within noise of each other (20-33). */
/* x[0..8) broadcast into x0 .. x7: the eight rows' factors of the vecmat kernels */
#define X_ROWS8(p)                                                                            \
    const __m256 x0 = _mm256_broadcast_ss((p)), x1 = _mm256_broadcast_ss((p) + 1);           \
    const __m256 x2 = _mm256_broadcast_ss((p) + 2), x3 = _mm256_broadcast_ss((p) + 3);       \
    const __m256 x4 = _mm256_broadcast_ss((p) + 4), x5 = _mm256_broadcast_ss((p) + 5);       \
    const __m256 x6 = _mm256_broadcast_ss((p) + 6), x7 = _mm256_broadcast_ss((p) + 7)

NN_AVX2 void nn_vecmat_avx2(float *y, const float *x, const float *W, int Cin, int Cout)
{
    const size_t ld = (size_t)Cout;
    const int rem = Cout & 7, Cv = Cout - rem;
    const __m256i m = tail_mask(rem ? rem : 1);
    int i = 0;
    for (; i + 8 <= Cin; i += 8) {
        X_ROWS8(x + i);
        const float *w = W + (size_t)i * ld;
#define FULL_LOAD(p) _mm256_loadu_ps(p)
#define FULL_STORE(p, v) _mm256_storeu_ps((p), (v))
#define TAIL_LOAD(p) _mm256_maskload_ps((p), m)
#define TAIL_STORE(p, v) _mm256_maskstore_ps((p), m, (v))
#define VECMAT_ROWS8(LOAD, STORE, j)                                                          \
    do {                                                                                      \
        __m256 s = LOAD(y + (j)), t = _mm256_mul_ps(x1, LOAD(w + ld + (j)));                  \
        s = _mm256_fmadd_ps(x0, LOAD(w + (j)), s);                                            \
        t = _mm256_fmadd_ps(x3, LOAD(w + 3 * ld + (j)), t);                                   \
        s = _mm256_fmadd_ps(x2, LOAD(w + 2 * ld + (j)), s);                                   \
        t = _mm256_fmadd_ps(x5, LOAD(w + 5 * ld + (j)), t);                                   \
        s = _mm256_fmadd_ps(x4, LOAD(w + 4 * ld + (j)), s);                                   \
        t = _mm256_fmadd_ps(x7, LOAD(w + 7 * ld + (j)), t);                                   \
        s = _mm256_fmadd_ps(x6, LOAD(w + 6 * ld + (j)), s);                                   \
        STORE(y + (j), _mm256_add_ps(s, t));                                                  \
    } while (0)
        for (int j = 0; j < Cv; j += 8)
            VECMAT_ROWS8(FULL_LOAD, FULL_STORE, j);
        if (rem)
            VECMAT_ROWS8(TAIL_LOAD, TAIL_STORE, Cv);
    }
    for (; i < Cin; i++) { /* the last Cin % 8 rows, one at a time */
        const __m256 xi = _mm256_broadcast_ss(x + i);
        const float *w = W + (size_t)i * ld;
        for (int j = 0; j < Cv; j += 8)
            FULL_STORE(y + j, _mm256_fmadd_ps(xi, FULL_LOAD(w + j), FULL_LOAD(y + j)));
        if (rem)
            TAIL_STORE(y + Cv, _mm256_fmadd_ps(xi, TAIL_LOAD(w + Cv), TAIL_LOAD(y + Cv)));
    }
#undef VECMAT_ROWS8
#undef FULL_LOAD
#undef FULL_STORE
#undef TAIL_LOAD
#undef TAIL_STORE
}

/* ---- y[rows] += W[rows][cols] x[cols] --------------------------------------------------
 * Four rows at a time share each load of x; two column blocks per iteration give 8
 * independent chains; one horizontal reduction per 4 rows. */
static inline NN_AVX2 float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

NN_AVX2 void nn_matvec_avx2(float *y, const float *W, const float *x, int rows, int cols)
{
    const size_t ld = (size_t)cols;
    const int rem = cols & 7;
    const __m256i m = tail_mask(rem ? rem : 1);
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *w0 = W + r * ld, *w1 = w0 + ld, *w2 = w1 + ld, *w3 = w2 + ld;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int c = 0;
        for (; c + 16 <= cols; c += 16) {
            __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), x0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), x0, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), x0, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), x0, a3);
            b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c + 8), x1, b0);
            b1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c + 8), x1, b1);
            b2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c + 8), x1, b2);
            b3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c + 8), x1, b3);
        }
        if (c + 8 <= cols) {
            __m256 x0 = _mm256_loadu_ps(x + c);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), x0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), x0, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), x0, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), x0, a3);
            c += 8;
        }
        if (rem) {
            __m256 x0 = _mm256_maskload_ps(x + c, m);
            b0 = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + c, m), x0, b0);
            b1 = _mm256_fmadd_ps(_mm256_maskload_ps(w1 + c, m), x0, b1);
            b2 = _mm256_fmadd_ps(_mm256_maskload_ps(w2 + c, m), x0, b2);
            b3 = _mm256_fmadd_ps(_mm256_maskload_ps(w3 + c, m), x0, b3);
        }
        a0 = _mm256_add_ps(a0, b0);
        a1 = _mm256_add_ps(a1, b1);
        a2 = _mm256_add_ps(a2, b2);
        a3 = _mm256_add_ps(a3, b3);
        /* [sum a0, sum a1, sum a2, sum a3] */
        __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
        _mm_storeu_ps(y + r, _mm_add_ps(_mm_loadu_ps(y + r), s));
    }
    for (; r < rows; r++) {
        const float *w = W + r * ld;
        __m256 a = _mm256_setzero_ps(), b = a;
        int c = 0;
        for (; c + 16 <= cols; c += 16) {
            a = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(x + c), a);
            b = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 8), _mm256_loadu_ps(x + c + 8), b);
        }
        if (c + 8 <= cols) {
            a = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(x + c), a);
            c += 8;
        }
        if (rem)
            b = _mm256_fmadd_ps(_mm256_maskload_ps(w + c, m), _mm256_maskload_ps(x + c, m), b);
        y[r] += hsum8(_mm256_add_ps(a, b));
    }
}

/* ---- element-wise ------------------------------------------------------------------------
 * exp for x <= 0 (Cephes expf): x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6
 * polynomial, 2^n built in the exponent field. x is clamped to >= -87 so 2^n stays a
 * normal number; exp(-87) = 1.6e-38 stands in for anything smaller. NaN propagates
 * (max_ps returns its second operand when either is NaN). */
static inline NN_AVX2 __m256 exp_neg8(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* r = x - n ln2, ln2 split in two for an exact first product */
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline NN_AVX2 __m256 sigmoid8(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 e = exp_neg8(_mm256_or_ps(x, sign)); /* exp(-|x|) */
    __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));
    /* x >= 0: r;  x < 0 (or NaN): e * r */
    __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    return _mm256_blendv_ps(_mm256_mul_ps(e, r), r, pos);
}

/* |x| < 0.625: Cephes tanhf polynomial x + x^3 P(x^2); otherwise (1 - e) / (1 + e) with
 * e = exp(-2|x|) (no cancellation: e <= 0.287); sign restored at the end. */
static inline NN_AVX2 __m256 tanh8(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_andnot_ps(sign, x), sx = _mm256_and_ps(sign, x);
    __m256 e = exp_neg8(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
    __m256 big = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    __m256 z = _mm256_mul_ps(ax, ax);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
    __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_or_ps(_mm256_blendv_ps(big, small, is_small), sx);
}

#define ELEMENTWISE_LOOP(n, BODY_FULL, BODY_TAIL)                                             \
    do {                                                                                      \
        int i_ = 0;                                                                           \
        for (; i_ + 8 <= (n); i_ += 8) {                                                      \
            const int i = i_;                                                                 \
            BODY_FULL;                                                                        \
        }                                                                                     \
        if (i_ < (n)) {                                                                       \
            const int i = i_;                                                                 \
            const __m256i m = tail_mask((n) - i_);                                            \
            BODY_TAIL;                                                                        \
        }                                                                                     \
    } while (0)

/* ---- the same with int8 weights: nn_vecmat_avx2's order of operations exactly, each
 * weight vector made as the loader makes it (code to float, times its block's scale) where
 * nn_vecmat_avx2 loads it. Cout is a multiple of 64: no column tail, and the 8 columns of
 * a load share one scale. */
NN_AVX2 static inline __m256 dq8(const int8_t *q, const float *s)
{
    __m256i c = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(c), _mm256_broadcast_ss(s));
}

NN_AVX2 void nn_vecmat_q8_avx2(float *y, const float *x, const int8_t *Q, const float *S,
                               int Cin, int Cout)
{
    const size_t ld = (size_t)Cout, lds = ld / NN_VECMAT_Q8_BLOCK;
    int i = 0;
    for (; i + 8 <= Cin; i += 8) {
        X_ROWS8(x + i);
        const int8_t *q = Q + (size_t)i * ld;
        const float *sc = S + (size_t)i * lds;
        for (int j = 0; j < Cout; j += 8) {
            const size_t b = (size_t)j / NN_VECMAT_Q8_BLOCK;
#define W8(r) dq8(q + (r) * ld + j, sc + (r) * lds + b)
            __m256 s = _mm256_loadu_ps(y + j), t = _mm256_mul_ps(x1, W8(1));
            s = _mm256_fmadd_ps(x0, W8(0), s);
            t = _mm256_fmadd_ps(x3, W8(3), t);
            s = _mm256_fmadd_ps(x2, W8(2), s);
            t = _mm256_fmadd_ps(x5, W8(5), t);
            s = _mm256_fmadd_ps(x4, W8(4), s);
            t = _mm256_fmadd_ps(x7, W8(7), t);
            s = _mm256_fmadd_ps(x6, W8(6), s);
            _mm256_storeu_ps(y + j, _mm256_add_ps(s, t));
#undef W8
        }
    }
    for (; i < Cin; i++) { /* the last Cin % 8 rows, one at a time */
        const __m256 xi = _mm256_broadcast_ss(x + i);
        const int8_t *q = Q + (size_t)i * ld;
        const float *sc = S + (size_t)i * lds;
        for (int j = 0; j < Cout; j += 8)
            _mm256_storeu_ps(y + j, _mm256_fmadd_ps(xi, dq8(q + j, sc + j / NN_VECMAT_Q8_BLOCK),
                                                    _mm256_loadu_ps(y + j)));
    }
}

NN_AVX2 void nn_vtanh_avx2(float *y, const float *x, int n)
{
    ELEMENTWISE_LOOP(n, _mm256_storeu_ps(y + i, tanh8(_mm256_loadu_ps(x + i))),
                     _mm256_maskstore_ps(y + i, m, tanh8(_mm256_maskload_ps(x + i, m))));
}

NN_AVX2 void nn_vsigmoid_avx2(float *y, const float *x, int n)
{
    ELEMENTWISE_LOOP(n, _mm256_storeu_ps(y + i, sigmoid8(_mm256_loadu_ps(x + i))),
                     _mm256_maskstore_ps(y + i, m, sigmoid8(_mm256_maskload_ps(x + i, m))));
}

NN_AVX2 void nn_vgated_avx2(float *y, const float *a, const float *b, int n)
{
    ELEMENTWISE_LOOP(n,
                     _mm256_storeu_ps(y + i, _mm256_mul_ps(tanh8(_mm256_loadu_ps(a + i)),
                                                           sigmoid8(_mm256_loadu_ps(b + i)))),
                     _mm256_maskstore_ps(y + i, m,
                                         _mm256_mul_ps(tanh8(_mm256_maskload_ps(a + i, m)),
                                                       sigmoid8(_mm256_maskload_ps(b + i, m)))));
}

#endif /* NN_HAVE_AVX2_KERNELS */
