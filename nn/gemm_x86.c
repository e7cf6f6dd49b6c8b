/*
 * AVX2+FMA and AVX-512 versions of nn_sgemm (nn/gemm.h). Compiled for the generic target
 * like the rest; only these functions carry target attributes, and nn_sgemm calls them
 * only where nn_simd_detect() found the instructions.
 *
 * Both: op(A) and op(B) packed to plain row-major when transposed; then blocks of 4 rows
 * of C by 2 vectors of columns (16 with AVX2, 32 with AVX-512) held in 8 registers over
 * the whole K loop (k ascending): per k, 2 loads of B's row, 4 broadcasts of A and 8
 * fused multiply-adds. Column tails are masked; row tails take blocks of 1 row.
 */
#include "nn/gemm.h"
#include "nn/gemm_impl.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <stdint.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

/* ---- AVX2: 8 lanes ---- */

static const int32_t mask8_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* lanes [0, n) of 8 (n clamped to 0..8) */
static inline AVX2 __m256i mask8(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(mask8_tab + 8 - n));
}

static inline AVX2 void store8(float *c, __m256 acc, __m256i m, float alpha, float beta)
{
    __m256 r = _mm256_mul_ps(acc, _mm256_set1_ps(alpha));
    if (beta != 0)
        r = _mm256_fmadd_ps(_mm256_maskload_ps(c, m), _mm256_set1_ps(beta), r);
    _mm256_maskstore_ps(c, m, r);
}

/* rows [i, i + MR) by columns [j, j + 16) of C (n of them valid) */
#define AVX2_BLOCK(MR)                                                                        \
    static AVX2 void block8_##MR(int K, float alpha, const float *A, int lda, const float *B, \
                                 int ldb, float beta, float *C, int ldc, int n)               \
    {                                                                                         \
        __m256 acc[MR][2];                                                                    \
        for (int r = 0; r < MR; r++)                                                          \
            acc[r][0] = acc[r][1] = _mm256_setzero_ps();                                      \
        __m256i m0 = mask8(n), m1 = mask8(n - 8);                                             \
        for (int k = 0; k < K; k++) {                                                         \
            const float *b = B + (size_t)k * ldb;                                             \
            __m256 b0 = n >= 8 ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);              \
            __m256 b1 = n >= 16 ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);     \
            for (int r = 0; r < MR; r++) {                                                    \
                __m256 a = _mm256_broadcast_ss(A + (size_t)r * lda + k);                      \
                acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);                                \
                acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);                                \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < MR; r++) {                                                        \
            store8(C + (size_t)r * ldc, acc[r][0], m0, alpha, beta);                          \
            if (n > 8)                                                                        \
                store8(C + (size_t)r * ldc + 8, acc[r][1], m1, alpha, beta);                  \
        }                                                                                     \
    }
AVX2_BLOCK(4)
AVX2_BLOCK(1)

void nn_sgemm_avx2(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    nn_gemm_drive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 16, block8_4, block8_1);
}

/* ---- AVX-512: 16 lanes ---- */

static inline AVX512 __mmask16 mask16(int n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

static inline AVX512 void store16(float *c, __m512 acc, __mmask16 m, float alpha, float beta)
{
    __m512 r = _mm512_mul_ps(acc, _mm512_set1_ps(alpha));
    if (beta != 0)
        r = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, c), _mm512_set1_ps(beta), r);
    _mm512_mask_storeu_ps(c, m, r);
}

#define AVX512_BLOCK(MR)                                                                      \
    static AVX512 void block16_##MR(int K, float alpha, const float *A, int lda,              \
                                    const float *B, int ldb, float beta, float *C, int ldc,   \
                                    int n)                                                    \
    {                                                                                         \
        __m512 acc[MR][2];                                                                    \
        for (int r = 0; r < MR; r++)                                                          \
            acc[r][0] = acc[r][1] = _mm512_setzero_ps();                                      \
        __mmask16 m0 = mask16(n), m1 = mask16(n - 16);                                        \
        for (int k = 0; k < K; k++) {                                                         \
            const float *b = B + (size_t)k * ldb;                                             \
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b);                                         \
            __m512 b1 = _mm512_maskz_loadu_ps(m1, b + 16);                                    \
            for (int r = 0; r < MR; r++) {                                                    \
                __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k]);                            \
                acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);                                \
                acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);                                \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < MR; r++) {                                                        \
            store16(C + (size_t)r * ldc, acc[r][0], m0, alpha, beta);                         \
            if (n > 16)                                                                       \
                store16(C + (size_t)r * ldc + 16, acc[r][1], m1, alpha, beta);                \
        }                                                                                     \
    }
AVX512_BLOCK(4)
AVX512_BLOCK(1)

void nn_sgemm_avx512(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    nn_gemm_drive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 32, block16_4,
                  block16_1);
}

#endif
