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

#endif
