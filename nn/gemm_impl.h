/* Shared by the nn_sgemm versions (nn/gemm.c, nn/gemm_x86.c); not part of the API. */
#ifndef TTS_NN_GEMM_IMPL_H
#define TTS_NN_GEMM_IMPL_H

#include <math.h>

#include "nn/gemm.h"

/* op(A), op(B) made plain row-major: transposed operands copied into *scratch (malloc'd;
 * NULL when nothing was transposed; free it), A/lda and B/ldb pointed at the copies.
 * 0, or -1 when memory ran out (nothing changed). */
int nn_gemm_pack(int ta, int tb, int M, int N, int K, const float **A, int *lda,
                 const float **B, int *ldb, float **scratch);

/* C = beta C (beta 0: zeros, C not read) */
void nn_gemm_scale_c(int M, int N, float beta, float *C, int ldc);

/* A block of C: rows [0, MR) (MR 4 or 1: which function) by columns [0, n) (n <= the
 * version's block width) of C += ... as nn_sgemm says, A and B plain row-major. */
typedef void (*nn_gemm_block_fn)(int K, float alpha, const float *A, int lda, const float *B,
                                 int ldb, float beta, float *C, int ldc, int n);

/* nn_sgemm through a version's blocks of 4 and 1 rows by width columns: the edge cases,
 * the transposes packed (or, out of memory, the scalar version), then the blocks. */
void nn_gemm_drive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc, int width,
                   nn_gemm_block_fn rows4, nn_gemm_block_fn rows1);

/* GCC fuses a vector multiply and add written as intrinsics into one FMA unless told not
 * to; nn_qgemm8's versions must round the product and the sum each on its own */
#if defined(__GNUC__) && !defined(__clang__)
#define NN_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define NN_NO_CONTRACT
#endif

/* a row's (or column's) scale from its largest |x| m (INFINITY: not finite): *s = m / 127
 * and 1, or *s = 0 and 0 (all zeros, or not finite: the codes are 0) */
static inline int nn_q8_scale(float m, float *s)
{
    int ok = m > 0 && m <= 3.4e38f;
    *s = ok ? m / NN_Q8_MAX : 0;
    return ok;
}

/* the code of v (already divided by its scale): rounded to nearest, ties to even, within
 * +-127 */
static inline int8_t nn_q8_code(float v)
{
    v = nearbyintf(v);
    return (int8_t)(v > NN_Q8_MAX ? NN_Q8_MAX : v < -NN_Q8_MAX ? -NN_Q8_MAX : v);
}

/* nn_q8_rows' scalar steps, shared by its versions for their tails: the largest |r[k]| of
 * k in [k0, K) and m (INFINITY once a NaN is seen); the codes of r[k0 .. K) */
static inline float nn_q8_max_from(const float *r, int k0, int K, float m)
{
    for (int k = k0; k < K; k++) {
        float a = fabsf(r[k]);
        m = isnan(a) ? INFINITY : a > m ? a : m;
    }
    return m;
}
static inline void nn_q8_codes_from(const float *r, int k0, int K, float inv, int8_t *o)
{
    for (int k = k0; k < K; k++)
        o[k] = nn_q8_code(r[k] * inv);
}

/* nn_qgemm8 through a version's blocks: rows [0, MR) of C by `width` columns from B's
 * packed columns (N wide) at Bp, with those columns' sb and bsum */
typedef void (*nn_q8_block_fn)(int KQ, const int8_t *A, int lda, const float *sa,
                               const int8_t *Bp, int N, const float *sb, const int32_t *bsum,
                               float *C, int ldc);
/* the whole product: panels of 6 rows where rows6 is given (as many as nn_gemm_six_rows
 * says), then 4, then 1; the columns past the last full block by the scalar sums */
void nn_qgemm8_drive(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                     const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc,
                     int width, nn_q8_block_fn rows6, nn_q8_block_fn rows4, nn_q8_block_fn rows1);
/* how many of M rows go in six-row panels: as many as leave a remainder that four-row
 * blocks cover (one-row blocks are slow), e.g. 50 = 7 x 6 + 2 x 4, 8 = 2 x 4 */
int nn_gemm_six_rows(int M);

/* nn_qgemm8's scalar sums for columns [j0, j1) of N (B packed N wide): the vector
 * versions' column tails */
void nn_qgemm8_cols(int M, int j0, int j1, int N, int K, const int8_t *A, int lda,
                    const float *sa, const int8_t *Bp, const float *sb, float *C, int ldc);

#endif
