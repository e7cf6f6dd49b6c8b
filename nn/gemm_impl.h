/* Shared by the nn_sgemm versions (nn/gemm.c, nn/gemm_x86.c); not part of the API. */
#ifndef TTS_NN_GEMM_IMPL_H
#define TTS_NN_GEMM_IMPL_H

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

#endif
