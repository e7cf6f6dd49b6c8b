/*
 * nn_sgemm: C = alpha op(A) op(B) + beta C on row-major float matrices, the contract of
 * cblas_sgemm(CblasRowMajor, ...): op(A) is M x K (A itself K x M when ta), op(B) K x N
 * (B itself N x K when tb), leading dimensions lda, ldb, ldc (>= the row lengths). beta 0
 * does not read C (it may hold anything). M, N or K 0 are allowed (K 0: C = beta C).
 *
 * The library's own kernels, so that synthesis needs no BLAS: a portable scalar version,
 * AVX2+FMA and AVX-512 versions (x86-64) and a NEON one (aarch64), chosen like the other kernels (nn/kernels.h:
 * up to AVX2 unless TTS_SIMD=scalar|avx2|avx512 names one). They are
 * made for the shapes of streaming synthesis (a few to a few hundred rows, tens to
 * hundreds of columns): register blocks of 4 rows, no cache blocking or threads.
 * A program that links a BLAS may hand nn_sgemm its sgemm instead (nn_sgemm_use): the
 * trainer does, for its large matrices.
 *
 * Results: the vector versions sum the K products in the same order as the scalar one
 * (k ascending, one fused multiply-add per product where the scalar one multiplies and
 * adds), so they differ from it by rounding only: |error| <= K 2^-23 sum_k |a_ik b_kj|.
 */
#ifndef TTS_NN_GEMM_H
#define TTS_NN_GEMM_H

typedef void (*nn_sgemm_fn)(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                            int lda, const float *B, int ldb, float beta, float *C, int ldc);

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* Routes every nn_sgemm call to f (NULL: back to the library's kernels). Set it before
 * any thread computes, and leave it. */
void nn_sgemm_use(nn_sgemm_fn f);

/* explicit versions (tests, benchmarks); the x86 ones only where nn_simd_detect() allows */
void nn_sgemm_scalar(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc);
#if defined(__aarch64__)
void nn_sgemm_neon(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);
#endif
#if defined(__x86_64__)
void nn_sgemm_avx2(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);
void nn_sgemm_avx512(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc);
#endif

/*
 * nn_qgemm8: C[M, N] += diag(sa) (A B) diag(sb), the products in 8-bit integers: the
 * vocoder's convolutions, four multiply-adds per lane and instruction where the CPU has
 * VNNI (vpdpbusd), against one for float FMA.
 *   A [M, K] int8 codes, rows lda apart, row i's scale sa[i] (nn_q8_rows makes them);
 *   B packed by nn_qgemm8_pack from a float [K, N]: column j's scale sb[j] and the sum
 *     of its codes bsum[j], the rows taken in fours;
 *   C float [M, N], rows ldc apart. K a multiple of 4.
 * Codes are within +-127, so each element's K products are summed exactly in int32; then
 * C += (float)sum * (sa[i] * sb[j]), one rounding for each conversion, product and sum,
 * never fused: every version gives the same bits.
 * Versions: scalar; AVX2 (the codes widened to 16 bits, vpmaddwd); VNNI (AVX512-VNNI with
 * AVX512VL, or AVX-VNNI: vpdpbusd on the codes + 128, bsum taking the 128 back); NEON
 * (vmull_s8, vpadalq_s16). nn_qgemm8 runs the VNNI one where the CPU has it and the level
 * is AVX2 or above.
 */
#include <stddef.h>
#include <stdint.h>

#define NN_Q8_MAX 127

/* bytes of B packed (K rounded up to a multiple of 4) */
size_t nn_qgemm8_packed_size(int K, int N);
/* W [K, N] (rows ldw apart) into Bp, sb[N] and bsum[N]: per column, codes in +-127 times
 * sb[j] = max |W[., j]| / 127 (0, codes 0: a column of zeros or one not finite) */
void nn_qgemm8_pack(const float *W, int K, int N, int ldw, int8_t *Bp, float *sb, int32_t *bsum);
/* rows of x [M, K] (rows ldx apart) into q (rows ldq apart) and s[M]: per row, codes in
 * +-127 times s[i] = max |x[i, .]| / 127 (0, codes 0: a row of zeros or one not finite);
 * each code is x / s rounded to nearest, ties to even */
void nn_q8_rows(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s);
void nn_q8_rows_scalar(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s);

void nn_qgemm8(int M, int N, int K, const int8_t *A, int lda, const float *sa, const int8_t *Bp,
               const float *sb, const int32_t *bsum, float *C, int ldc);
void nn_qgemm8_scalar(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                      const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc);
#if defined(__x86_64__)
/* 1 when the CPU has one of the VNNI instruction sets nn_qgemm8_vnni uses */
int nn_have_vnni(void);
void nn_q8_rows_avx2(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s);
void nn_qgemm8_avx2(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                    const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc);
void nn_qgemm8_vnni(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                    const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc);
#endif
#if defined(__aarch64__)
void nn_q8_rows_neon(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s);
void nn_qgemm8_neon(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                    const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc);
#endif

#endif
