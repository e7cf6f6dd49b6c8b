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

#endif
