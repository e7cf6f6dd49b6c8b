/* nn_sgemm: the scalar version, transposes packed, and the dispatch. See gemm.h. */
#include "nn/gemm.h"
#include "nn/gemm_impl.h"
#include "nn/kernels.h"

#include <math.h>
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

/* ---- nn_qgemm8 ---- */

size_t nn_qgemm8_packed_size(int K, int N)
{
    return (size_t)((K + 3) / 4) * 4 * N;
}

void nn_qgemm8_pack(const float *W, int K, int N, int ldw, int8_t *Bp, float *sb, int32_t *bsum)
{
    int K4 = (K + 3) / 4 * 4;
    for (int j = 0; j < N; j++) {
        float m = 0;
        for (int k = 0; k < K; k++) {
            float a = fabsf(W[(size_t)k * ldw + j]);
            m = isnan(a) ? INFINITY : a > m ? a : m;
        }
        int ok = nn_q8_scale(m, &sb[j]);
        float inv = ok ? NN_Q8_MAX / m : 0;
        bsum[j] = 0;
        for (int k = 0; k < K4; k++) {
            int8_t v = ok && k < K ? nn_q8_code(W[(size_t)k * ldw + j] * inv) : 0;
            Bp[((size_t)(k / 4) * N + j) * 4 + (k & 3)] = v;
            bsum[j] += v;
        }
    }
}

void nn_q8_rows_scalar(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s)
{
    for (int i = 0; i < M; i++) {
        const float *r = x + (size_t)i * ldx;
        int8_t *o = q + (size_t)i * ldq;
        float m = nn_q8_max_from(r, 0, K, 0);
        if (!nn_q8_scale(m, &s[i]))
            memset(o, 0, (size_t)K);
        else
            nn_q8_codes_from(r, 0, K, NN_Q8_MAX / m, o);
    }
}

void nn_q8_rows(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s)
{
#if defined(__aarch64__)
    if (nn_simd_get() == NN_SIMD_NEON) {
        nn_q8_rows_neon(x, M, K, ldx, q, ldq, s);
        return;
    }
#endif
#if defined(__x86_64__)
    if (nn_simd_get() >= NN_SIMD_AVX2) {
        nn_q8_rows_avx2(x, M, K, ldx, q, ldq, s);
        return;
    }
#endif
    nn_q8_rows_scalar(x, M, K, ldx, q, ldq, s);
}

/* C += (float)sum * (sa * sb), each operation rounded on its own (no fused multiply-add:
 * the vector versions do the same) */
NN_NO_CONTRACT void nn_qgemm8_cols(int M, int j0, int j1, int N, int K, const int8_t *A, int lda,
                                   const float *sa, const int8_t *Bp, const float *sb, float *C,
                                   int ldc)
{
    enum { CHUNK = 64 };
    for (int i = 0; i < M; i++) {
        const int8_t *a = A + (size_t)i * lda;
        for (int c0 = j0; c0 < j1; c0 += CHUNK) {
            int n = j1 - c0 < CHUNK ? j1 - c0 : CHUNK;
            int32_t acc[CHUNK] = {0};
            for (int kq = 0; kq < K / 4; kq++) { /* each column's four codes side by side */
                const int8_t *b = Bp + ((size_t)kq * N + c0) * 4;
                int32_t a0 = a[4 * kq], a1 = a[4 * kq + 1], a2 = a[4 * kq + 2], a3 = a[4 * kq + 3];
                for (int j = 0; j < n; j++)
                    acc[j] += a0 * b[4 * j] + a1 * b[4 * j + 1] + a2 * b[4 * j + 2] + a3 * b[4 * j + 3];
            }
            for (int j = 0; j < n; j++) {
                float sc = sa[i] * sb[c0 + j];
                float p = (float)acc[j] * sc;
                C[(size_t)i * ldc + c0 + j] = C[(size_t)i * ldc + c0 + j] + p;
            }
        }
    }
}

int nn_gemm_six_rows(int M)
{
    int best = M / 6, fewest = 4;
    for (int n6 = M / 6; n6 >= 0 && n6 >= M / 6 - 2; n6--) {
        int singles = (M - 6 * n6) % 4;
        if (singles < fewest) {
            fewest = singles;
            best = n6;
        }
    }
    return best * 6;
}

void nn_qgemm8_drive(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                     const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc,
                     int width, nn_q8_block_fn rows6, nn_q8_block_fn rows4, nn_q8_block_fn rows1)
{
    int KQ = K / 4, NW = N / width * width, M6 = rows6 ? nn_gemm_six_rows(M) : 0;
    for (int j = 0; j < NW; j += width) {
        const int8_t *B = Bp + (size_t)j * 4;
        int i = 0;
        for (; i < M6; i += 6)
            rows6(KQ, A + (size_t)i * lda, lda, sa + i, B, N, sb + j, bsum + j,
                  C + (size_t)i * ldc + j, ldc);
        for (; i + 4 <= M; i += 4)
            rows4(KQ, A + (size_t)i * lda, lda, sa + i, B, N, sb + j, bsum + j,
                  C + (size_t)i * ldc + j, ldc);
        for (; i < M; i++)
            rows1(KQ, A + (size_t)i * lda, lda, sa + i, B, N, sb + j, bsum + j,
                  C + (size_t)i * ldc + j, ldc);
    }
    if (NW < N)
        nn_qgemm8_cols(M, NW, N, N, K, A, lda, sa, Bp, sb, C, ldc);
}

void nn_qgemm8_scalar(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                      const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc)
{
    (void)bsum;
    nn_qgemm8_cols(M, 0, N, N, K, A, lda, sa, Bp, sb, C, ldc);
}

void nn_qgemm8(int M, int N, int K, const int8_t *A, int lda, const float *sa, const int8_t *Bp,
               const float *sb, const int32_t *bsum, float *C, int ldc)
{
#if defined(__aarch64__)
    if (nn_simd_get() == NN_SIMD_NEON) {
        nn_qgemm8_neon(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc);
        return;
    }
#endif
#if defined(__x86_64__)
    if (nn_simd_get() >= NN_SIMD_AVX2) { /* the AVX2 version where the CPU lacks VNNI */
        nn_qgemm8_vnni(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc);
        return;
    }
#endif
    nn_qgemm8_scalar(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc);
}
