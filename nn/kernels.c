/*
 * Scalar kernels and run-time dispatch. The AVX2+FMA twins live in kernels_avx2.c
 * (compiled for the generic target; only those functions carry target("avx2,fma")).
 */
#include "nn/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalar versions ---------------------------------------------------------------- */

void nn_vecmat_scalar(float *restrict y, const float *restrict x, const float *restrict W,
                      int Cin, int Cout)
{
    for (int i = 0; i < Cin; i++) {
        const float xi = x[i];
        const float *restrict w = W + (size_t)i * Cout;
        for (int j = 0; j < Cout; j++)
            y[j] += xi * w[j];
    }
}

/* nn_vecmat_scalar's loop with each weight dequantized as the loader does */
void nn_vecmat_q8_scalar(float *restrict y, const float *restrict x, const int8_t *restrict Q,
                         const float *restrict S, int Cin, int Cout)
{
    for (int i = 0; i < Cin; i++) {
        const float xi = x[i];
        const int8_t *restrict q = Q + (size_t)i * Cout;
        const float *restrict s = S + (size_t)i * Cout / NN_VECMAT_Q8_BLOCK;
        /* a block of 64 columns at a time, its scale hoisted: the compiler vectorizes it */
        for (int j0 = 0; j0 < Cout; j0 += NN_VECMAT_Q8_BLOCK) {
            const float sc = s[j0 / NN_VECMAT_Q8_BLOCK];
            for (int j = j0; j < j0 + NN_VECMAT_Q8_BLOCK; j++)
                y[j] += xi * ((float)q[j] * sc);
        }
    }
}

/* four partial sums per row: shorter dependency chains (a strict left-to-right float sum
 * cannot be vectorized by the compiler) */
void nn_matvec_scalar(float *restrict y, const float *restrict W, const float *restrict x,
                      int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict w = W + (size_t)r * cols;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int c = 0;
        for (; c + 4 <= cols; c += 4) {
            s0 += w[c] * x[c];
            s1 += w[c + 1] * x[c + 1];
            s2 += w[c + 2] * x[c + 2];
            s3 += w[c + 3] * x[c + 3];
        }
        for (; c < cols; c++)
            s0 += w[c] * x[c];
        y[r] += (s0 + s1) + (s2 + s3);
    }
}

static inline float sigmoid1(float x)
{
    /* exp of a non-positive argument only: no overflow, full relative accuracy; NaN
     * propagates (fabsf, expf and the products keep it) */
    float e = expf(-fabsf(x)), r = 1 / (1 + e);
    return x >= 0 ? r : e * r;
}

void nn_vtanh_scalar(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

void nn_vsigmoid_scalar(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = sigmoid1(x[i]);
}

void nn_vgated_scalar(float *y, const float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++) {
        y[i] = tanhf(a[i]) * sigmoid1(b[i]);
    }
}

/* ---- dispatch ----------------------------------------------------------------------- */

/* -1 = not chosen yet; otherwise an nn_simd_level. Racing first calls compute the same
 * value, so a plain atomic store is enough. */
static int g_level = -1;

nn_simd_level nn_simd_detect(void)
{
#ifdef NN_HAVE_AVX2_KERNELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return __builtin_cpu_supports("avx512f") ? NN_SIMD_AVX512 : NN_SIMD_AVX2;
#endif
#ifdef NN_HAVE_NEON_KERNELS
    return NN_SIMD_NEON; /* every aarch64 CPU has it */
#endif
    return NN_SIMD_SCALAR;
}

/* The level to use unless told: the best, but AVX2 over AVX-512: nn_sgemm's AVX-512
 * version (blocks of 4 rows by 32 columns, no packing) measured 0.8 to 0.9 times the speed
 * of its AVX2 one on the AMD EPYC (Zen 4) it was tuned on, where OpenBLAS's packed AVX-512
 * kernels beat both; it is there for TTS_SIMD=avx512 until it wins a measurement */
static int level_preferred(void)
{
    int l = (int)nn_simd_detect();
    return l == NN_SIMD_AVX512 ? NN_SIMD_AVX2 : l;
}

/* whether this build and CPU can run level k: scalar, and on x86 every level up to the
 * best, on aarch64 NEON */
static int level_available(int k)
{
    int best = (int)nn_simd_detect();
#ifdef NN_HAVE_NEON_KERNELS
    return k == NN_SIMD_SCALAR || k == best;
#else
    return k >= NN_SIMD_SCALAR && k <= best;
#endif
}

static int level_now(void)
{
    int l = __atomic_load_n(&g_level, __ATOMIC_RELAXED);
    if (l < 0) {
        const char *env = getenv("TTS_SIMD");
        l = level_preferred();
        for (int k = NN_SIMD_SCALAR; env && k <= NN_SIMD_NEON; k++)
            if (level_available(k) && !strcmp(env, nn_simd_name((nn_simd_level)k)))
                l = k;
        __atomic_store_n(&g_level, l, __ATOMIC_RELAXED);
    }
    return l;
}

nn_simd_level nn_simd_get(void)
{
    return (nn_simd_level)level_now();
}

int nn_simd_set(nn_simd_level level)
{
    if (!level_available((int)level))
        return -1;
    __atomic_store_n(&g_level, (int)level, __ATOMIC_RELAXED);
    return 0;
}

const char *nn_simd_name(nn_simd_level level)
{
    switch (level) {
    case NN_SIMD_SCALAR:
        return "scalar";
    case NN_SIMD_AVX2:
        return "avx2";
    case NN_SIMD_AVX512:
        return "avx512";
    case NN_SIMD_NEON:
        return "neon";
    }
    return "unknown";
}

#if defined(NN_HAVE_NEON_KERNELS)
#define DISPATCH(name, ...)                                                                   \
    do {                                                                                      \
        if (level_now() == NN_SIMD_NEON)                                                      \
            name##_neon(__VA_ARGS__);                                                         \
        else                                                                                  \
            name##_scalar(__VA_ARGS__);                                                       \
    } while (0)
#elif defined(NN_HAVE_AVX2_KERNELS)
#define DISPATCH(name, ...)                                                                   \
    do {                                                                                      \
        if (level_now() >= NN_SIMD_AVX2)                                                      \
            name##_avx2(__VA_ARGS__);                                                         \
        else                                                                                  \
            name##_scalar(__VA_ARGS__);                                                       \
    } while (0)
#else
#define DISPATCH(name, ...) name##_scalar(__VA_ARGS__)
#endif

void nn_vecmat(float *y, const float *x, const float *W, int Cin, int Cout)
{
    DISPATCH(nn_vecmat, y, x, W, Cin, Cout);
}
void nn_vecmat_q8(float *y, const float *x, const int8_t *Q, const float *S, int Cin, int Cout)
{
    DISPATCH(nn_vecmat_q8, y, x, Q, S, Cin, Cout);
}
void nn_matvec(float *y, const float *W, const float *x, int rows, int cols)
{
    DISPATCH(nn_matvec, y, W, x, rows, cols);
}
void nn_vtanh(float *y, const float *x, int n)
{
    DISPATCH(nn_vtanh, y, x, n);
}
void nn_vsigmoid(float *y, const float *x, int n)
{
    DISPATCH(nn_vsigmoid, y, x, n);
}
void nn_vgated(float *y, const float *a, const float *b, int n)
{
    DISPATCH(nn_vgated, y, a, b, n);
}
