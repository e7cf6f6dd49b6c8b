/* nn_sgemm: the scalar version, transposes packed, and the dispatch. See gemm.h. */
#include "nn/gemm.h"
#include "nn/gemm_impl.h"
#include "nn/kernels.h"

#include <stdlib.h>

static nn_sgemm_fn g_external;

void nn_sgemm_use(nn_sgemm_fn f)
{
    g_external = f;
}

int nn_gemm_pack(int ta, int tb, int M, int N, int K, const float **A, int *lda,
                 const float **B, int *ldb, float **scratch)
{
    size_t need = (ta ? (size_t)M * K : 0) + (tb ? (size_t)K * N : 0);
    *scratch = NULL;
    if (!need)
        return 0;
    float *s = malloc(need * sizeof *s);
    if (!s)
        return -1;
    float *p = s;
    if (ta) { /* A is K x M: its transpose, M x K */
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++)
                p[(size_t)i * K + k] = (*A)[(size_t)k * *lda + i];
        *A = p;
        *lda = K;
        p += (size_t)M * K;
    }
    if (tb) { /* B is N x K: its transpose, K x N */
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                p[(size_t)k * N + j] = (*B)[(size_t)j * *ldb + k];
        *B = p;
        *ldb = N;
    }
    *scratch = s;
    return 0;
}

/* C = beta C where the product is not added (K 0, or alpha 0) */
void nn_gemm_scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++)
            c[j] = beta == 0 ? 0 : beta * c[j];
    }
}

void nn_gemm_drive(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc, int width,
                   nn_gemm_block_fn rows4, nn_gemm_block_fn rows1)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0) {
        nn_gemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    float *scratch;
    if (nn_gemm_pack(ta, tb, M, N, K, &A, &lda, &B, &ldb, &scratch)) {
        /* no memory for the transposes: one element at a time, straight from them */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float s = 0;
                for (int k = 0; k < K; k++)
                    s += (ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
                         (tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
                float *c = C + (size_t)i * ldc + j;
                *c = alpha * s + (beta == 0 ? 0 : beta * *c);
            }
        return;
    }
    for (int j = 0; j < N; j += width) {
        int n = N - j < width ? N - j : width, i = 0;
        for (; i + 4 <= M; i += 4)
            rows4(K, alpha, A + (size_t)i * lda, lda, B + j, ldb, beta, C + (size_t)i * ldc + j,
                  ldc, n);
        for (; i < M; i++)
            rows1(K, alpha, A + (size_t)i * lda, lda, B + j, ldb, beta, C + (size_t)i * ldc + j,
                  ldc, n);
    }
    free(scratch);
}

/* the scalar blocks: MR rows by n <= 16 columns, sums over k ascending */
#define SCALAR_BLOCK(MR)                                                                      \
    static void scalar_##MR(int K, float alpha, const float *A, int lda, const float *B,      \
                            int ldb, float beta, float *C, int ldc, int n)                    \
    {                                                                                         \
        float acc[MR][16] = {{0}};                                                            \
        for (int k = 0; k < K; k++) {                                                         \
            const float *b = B + (size_t)k * ldb;                                             \
            for (int r = 0; r < MR; r++) {                                                    \
                float a = A[(size_t)r * lda + k];                                             \
                for (int j = 0; j < n; j++)                                                   \
                    acc[r][j] += a * b[j];                                                    \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < MR; r++)                                                          \
            for (int j = 0; j < n; j++) {                                                     \
                float *c = C + (size_t)r * ldc + j;                                           \
                *c = alpha * acc[r][j] + (beta == 0 ? 0 : beta * *c);                         \
            }                                                                                 \
    }
SCALAR_BLOCK(4)
SCALAR_BLOCK(1)

void nn_sgemm_scalar(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    nn_gemm_drive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 16, scalar_4, scalar_1);
}

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (g_external) {
        g_external(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#if defined(__aarch64__)
    if (nn_simd_get() == NN_SIMD_NEON) {
        nn_sgemm_neon(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
#if defined(__x86_64__)
    nn_simd_level l = nn_simd_get();
    if (l >= NN_SIMD_AVX512) {
        nn_sgemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (l >= NN_SIMD_AVX2) {
        nn_sgemm_avx2(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
    nn_sgemm_scalar(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
