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
 * Columns in blocks of 64 held in 8 accumulators (8 independent FMA chains hide the FMA
 * latency); each block walks down the rows, reading 256 contiguous bytes per row and
 * prefetching 4 rows ahead (W beyond L1 is the common case). Each W element is read once.
 * Measured on Zen 3 against 32-column x 2-row blocks, 96-column blocks and a row-streaming
 * form (y kept in memory): this was the best or within noise at 64x128 ... 256x512. */
#define VECMAT_PREFETCH_ROWS 4

NN_AVX2 void nn_vecmat_avx2(float *y, const float *x, const float *W, int Cin, int Cout)
{
    const size_t ld = (size_t)Cout;
    int j = 0;
    for (; j + 64 <= Cout; j += 64) {
        __m256 a0 = _mm256_loadu_ps(y + j), a1 = _mm256_loadu_ps(y + j + 8);
        __m256 a2 = _mm256_loadu_ps(y + j + 16), a3 = _mm256_loadu_ps(y + j + 24);
        __m256 a4 = _mm256_loadu_ps(y + j + 32), a5 = _mm256_loadu_ps(y + j + 40);
        __m256 a6 = _mm256_loadu_ps(y + j + 48), a7 = _mm256_loadu_ps(y + j + 56);
        const float *w = W + j;
        for (int i = 0; i < Cin; i++, w += ld) {
            /* prefetch never faults, so running past the end of W is harmless */
            _mm_prefetch((const char *)(w + VECMAT_PREFETCH_ROWS * ld), _MM_HINT_T0);
            _mm_prefetch((const char *)(w + VECMAT_PREFETCH_ROWS * ld + 32), _MM_HINT_T0);
            __m256 xb = _mm256_broadcast_ss(x + i);
            a0 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w), a0);
            a1 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w + 8), a1);
            a2 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w + 16), a2);
            a3 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w + 24), a3);
            a4 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w + 32), a4);
            a5 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w + 40), a5);
            a6 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w + 48), a6);
            a7 = _mm256_fmadd_ps(xb, _mm256_loadu_ps(w + 56), a7);
        }
        _mm256_storeu_ps(y + j, a0);
        _mm256_storeu_ps(y + j + 8, a1);
        _mm256_storeu_ps(y + j + 16, a2);
        _mm256_storeu_ps(y + j + 24, a3);
        _mm256_storeu_ps(y + j + 32, a4);
        _mm256_storeu_ps(y + j + 40, a5);
        _mm256_storeu_ps(y + j + 48, a6);
        _mm256_storeu_ps(y + j + 56, a7);
    }
    /* remaining columns 8 (or fewer, masked) at a time; rows 4 at a time */
    for (; j < Cout; j += 8) {
        const int rem = Cout - j;
        const __m256i m = tail_mask(rem < 8 ? rem : 7); /* unused when rem >= 8 */
#define LOADW(p) (rem >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), m))
        __m256 a0 = LOADW(y + j);
        __m256 a1 = _mm256_setzero_ps(), a2 = a1, a3 = a1;
        const float *w = W + j;
        int i = 0;
        for (; i + 4 <= Cin; i += 4, w += 4 * ld) {
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i), LOADW(w), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i + 1), LOADW(w + ld), a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i + 2), LOADW(w + 2 * ld), a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i + 3), LOADW(w + 3 * ld), a3);
        }
        for (; i < Cin; i++, w += ld)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i), LOADW(w), a0);
#undef LOADW
        __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        if (rem >= 8)
            _mm256_storeu_ps(y + j, s);
        else
            _mm256_maskstore_ps(y + j, m, s);
    }
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
