/* nn_sgemm: the scalar version, transposes packed, and the dispatch. See gemm.h. */
#include "nn/gemm.h"
#include "nn/gemm_impl.h"
#include "nn/kernels.h"

#include <stdlib.h>
#include <string.h>

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

void nn_sgemm_scalar(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0) {
        nn_gemm_scale_c(M, N, beta, C, ldc);
        return;
    }
    float *scratch;
    if (nn_gemm_pack(ta, tb, M, N, K, &A, &lda, &B, &ldb, &scratch)) {
        /* no memory for the transposes: the same sums straight from the operands */
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
    float *acc = malloc(sizeof *acc * (size_t)N);
    for (int i = 0; acc && i < M; i++) {
        const float *a = A + (size_t)i * lda;
        memset(acc, 0, sizeof *acc * (size_t)N);
        for (int k = 0; k < K; k++) { /* k ascending, as the vector versions */
            const float *b = B + (size_t)k * ldb;
            float aik = a[k];
            for (int j = 0; j < N; j++)
                acc[j] += aik * b[j];
        }
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++)
            c[j] = alpha * acc[j] + (beta == 0 ? 0 : beta * c[j]);
    }
    if (!acc) /* no row buffer: one element at a time */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float s = 0;
                for (int k = 0; k < K; k++)
                    s += A[(size_t)i * lda + k] * B[(size_t)k * ldb + j];
                float *c = C + (size_t)i * ldc + j;
                *c = alpha * s + (beta == 0 ? 0 : beta * *c);
            }
    free(acc);
    free(scratch);
}

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (g_external) {
        g_external(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
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
