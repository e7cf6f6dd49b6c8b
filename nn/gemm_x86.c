/*
 * AVX2+FMA and AVX-512 versions of nn_sgemm (nn/gemm.h). Compiled for the generic target
 * like the rest; only these functions carry target attributes, and nn_sgemm calls them
 * only where nn_simd_detect() found the instructions.
 *
 * Both: op(A) and op(B) packed to plain row-major when transposed; then blocks of 4 rows
 * of C by 2 vectors of columns (16 with AVX2, 32 with AVX-512) held in 8 registers over
 * the whole K loop (k ascending): per k, 2 loads of B's row, 4 broadcasts of A and 8
 * fused multiply-adds. Column tails are masked; row tails take blocks of 1 row.
 * AVX2, plain operands: where it fits, panels of 6 rows by 16 columns first (12
 * accumulators): the vocoder's 50 x 96 x 48 ran at 93 GFLOP/s in blocks of 4 rows and 120
 * in panels of 6 on the 2-core AMD EPYC (Zen 4), the same sums in the same order.
 */
#include "nn/gemm.h"
#include "nn/gemm_impl.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

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

/* six rows by 16 columns, full width: twelve accumulators, the two B vectors and the
 * broadcast fill fifteen of the sixteen registers. Each element's sum runs over k in the
 * same order as block8_4's, so the results are the same bit for bit. */
static AVX2 void block8_6(int K, float alpha, const float *A, int lda, const float *B, int ldb,
                          float beta, float *C, int ldc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *a0 = A, *a1 = A + lda, *a2 = A + 2 * (size_t)lda, *a3 = A + 3 * (size_t)lda;
    const float *a4 = A + 4 * (size_t)lda, *a5 = A + 5 * (size_t)lda;
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * ldb;
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), a;
        a = _mm256_broadcast_ss(a0 + k);
        c00 = _mm256_fmadd_ps(a, b0, c00);
        c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(a1 + k);
        c10 = _mm256_fmadd_ps(a, b0, c10);
        c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(a2 + k);
        c20 = _mm256_fmadd_ps(a, b0, c20);
        c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(a3 + k);
        c30 = _mm256_fmadd_ps(a, b0, c30);
        c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(a4 + k);
        c40 = _mm256_fmadd_ps(a, b0, c40);
        c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(a5 + k);
        c50 = _mm256_fmadd_ps(a, b0, c50);
        c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    const __m256i all = mask8(8);
    store8(C, c00, all, alpha, beta);
    store8(C + 8, c01, all, alpha, beta);
    store8(C + ldc, c10, all, alpha, beta);
    store8(C + ldc + 8, c11, all, alpha, beta);
    store8(C + 2 * (size_t)ldc, c20, all, alpha, beta);
    store8(C + 2 * (size_t)ldc + 8, c21, all, alpha, beta);
    store8(C + 3 * (size_t)ldc, c30, all, alpha, beta);
    store8(C + 3 * (size_t)ldc + 8, c31, all, alpha, beta);
    store8(C + 4 * (size_t)ldc, c40, all, alpha, beta);
    store8(C + 4 * (size_t)ldc + 8, c41, all, alpha, beta);
    store8(C + 5 * (size_t)ldc, c50, all, alpha, beta);
    store8(C + 5 * (size_t)ldc + 8, c51, all, alpha, beta);
}

void nn_sgemm_avx2(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    int M6 = nn_gemm_six_rows(M);
    if (!ta && !tb && M6 > 0 && N >= 16 && K > 0 && alpha != 0) {
        /* plain operands: six-row panels over the full 16-column blocks, the remaining
         * rows and columns by nn_gemm_drive's blocks */
        int N16 = N / 16 * 16;
        for (int j = 0; j < N16; j += 16)
            for (int i = 0; i < M6; i += 6)
                block8_6(K, alpha, A + (size_t)i * lda, lda, B + j, ldb, beta,
                         C + (size_t)i * ldc + j, ldc);
        if (N16 < N)
            nn_gemm_drive(0, 0, M6, N - N16, K, alpha, A, lda, B + N16, ldb, beta, C + N16, ldc,
                          16, block8_4, block8_1);
        if (M6 < M)
            nn_gemm_drive(0, 0, M - M6, N, K, alpha, A + (size_t)M6 * lda, lda, B, ldb, beta,
                          C + (size_t)M6 * ldc, ldc, 16, block8_4, block8_1);
        return;
    }
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

/* ---- nn_qgemm8 ---- */

static inline AVX2 NN_NO_CONTRACT void qstore8(float *c, __m256i sum, __m256 sa, const float *sb)
{
    __m256 sc = _mm256_mul_ps(sa, _mm256_loadu_ps(sb));
    __m256 p = _mm256_mul_ps(_mm256_cvtepi32_ps(sum), sc);
    _mm256_storeu_ps(c, _mm256_add_ps(_mm256_loadu_ps(c), p));
}

/* AVX2: per four k, the 8 columns' codes (32 bytes) widened to two vectors of 16 bits, a
 * row's four codes widened and repeated; vpmaddwd leaves each column's sum in two lanes,
 * folded at the end (hadd, then the lanes put back in order). 4 rows by 8 columns. */
#define Q8_AVX2_BLOCK(MR)                                                                     \
    static AVX2 NN_NO_CONTRACT void q8avx2_##MR(int KQ, const int8_t *A, int lda,             \
                                                const float *sa, const int8_t *Bp, int N,     \
                                                const float *sb, const int32_t *bsum,         \
                                                float *C, int ldc)                            \
    {                                                                                         \
        (void)bsum;                                                                           \
        __m256i acc[MR][2];                                                                   \
        for (int r = 0; r < MR; r++)                                                          \
            acc[r][0] = acc[r][1] = _mm256_setzero_si256();                                   \
        for (int kq = 0; kq < KQ; kq++) {                                                     \
            const int8_t *b = Bp + (size_t)kq * N * 4;                                        \
            __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b));          \
            __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 16)));   \
            for (int r = 0; r < MR; r++) {                                                    \
                int32_t quad;                                                                 \
                memcpy(&quad, A + (size_t)r * lda + 4 * kq, sizeof quad);                     \
                __m128i a16 = _mm_cvtepi8_epi16(_mm_cvtsi32_si128(quad));                     \
                __m256i a = _mm256_broadcastq_epi64(a16);                                     \
                acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, b0));            \
                acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, b1));            \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < MR; r++) {                                                        \
            __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]),     \
                                                 0xD8);                                       \
            qstore8(C + (size_t)r * ldc, s, _mm256_set1_ps(sa[r]), sb);                       \
        }                                                                                     \
    }
Q8_AVX2_BLOCK(4)
Q8_AVX2_BLOCK(1)

void nn_qgemm8_avx2(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                    const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc)
{
    nn_qgemm8_drive(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc, 8, NULL, q8avx2_4, q8avx2_1);
}

/* VNNI: vpdpbusd multiplies unsigned by signed bytes, four to a lane: the row's codes + 128
 * (xor 0x80) against the weights' codes, then 128 bsum[j] taken off. 6 rows by 16 columns,
 * as the float panels. The same body for AVX512-VNNI (EVEX, 256-bit) and AVX-VNNI (VEX). */
#define Q8_VNNI_BLOCK(NAME, TARGET, DPBUSD, MR)                                               \
    static __attribute__((target(TARGET))) NN_NO_CONTRACT void NAME##_##MR(                    \
        int KQ, const int8_t *A, int lda, const float *sa, const int8_t *Bp, int N,           \
        const float *sb, const int32_t *bsum, float *C, int ldc)                              \
    {                                                                                         \
        __m256i acc[MR][2];                                                                   \
        for (int r = 0; r < MR; r++)                                                          \
            acc[r][0] = acc[r][1] = _mm256_setzero_si256();                                   \
        const __m256i flip = _mm256_set1_epi8((char)0x80);                                    \
        for (int kq = 0; kq < KQ; kq++) {                                                     \
            const int8_t *b = Bp + (size_t)kq * N * 4;                                        \
            __m256i b0 = _mm256_loadu_si256((const __m256i *)b);                              \
            __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 32));                       \
            for (int r = 0; r < MR; r++) {                                                    \
                int32_t quad;                                                                 \
                memcpy(&quad, A + (size_t)r * lda + 4 * kq, sizeof quad);                     \
                __m256i a = _mm256_xor_si256(_mm256_set1_epi32(quad), flip);                  \
                acc[r][0] = DPBUSD(acc[r][0], a, b0);                                         \
                acc[r][1] = DPBUSD(acc[r][1], a, b1);                                         \
            }                                                                                 \
        }                                                                                     \
        __m256i o0 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)bsum), 7);         \
        __m256i o1 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(bsum + 8)), 7);   \
        for (int r = 0; r < MR; r++) {                                                        \
            __m256 s = _mm256_set1_ps(sa[r]);                                                 \
            qstore8(C + (size_t)r * ldc, _mm256_sub_epi32(acc[r][0], o0), s, sb);             \
            qstore8(C + (size_t)r * ldc + 8, _mm256_sub_epi32(acc[r][1], o1), s, sb + 8);     \
        }                                                                                     \
    }
#define EVEX_DP(acc, a, b) _mm256_dpbusd_epi32(acc, a, b)
#define VEX_DP(acc, a, b) _mm256_dpbusd_avx_epi32(acc, a, b)
/* fma in both lists, though unused: qstore8 (avx2,fma) is inlined only into functions whose
 * targets cover its own; called instead, it cost the long text 25 % on the Zen 4 */
#define EVEX_T "avx2,fma,avx512f,avx512vl,avx512vnni"
#define VEX_T "avx2,fma,avxvnni"
Q8_VNNI_BLOCK(q8evex, EVEX_T, EVEX_DP, 6)
Q8_VNNI_BLOCK(q8evex, EVEX_T, EVEX_DP, 4)
Q8_VNNI_BLOCK(q8evex, EVEX_T, EVEX_DP, 1)
Q8_VNNI_BLOCK(q8vex, VEX_T, VEX_DP, 6)
Q8_VNNI_BLOCK(q8vex, VEX_T, VEX_DP, 4)
Q8_VNNI_BLOCK(q8vex, VEX_T, VEX_DP, 1)

/* 0: none, 1: AVX512-VNNI with AVX512VL, 2: AVX-VNNI (CPUID leaf 7 subleaf 1, EAX bit 4:
 * read directly, as not every compiler's __builtin_cpu_supports knows its name). Only
 * asked at the AVX2 level, whose check covers the OS's saving of the vector registers. */
static int vnni_kind(void)
{
    static int kind = -1; /* found once; threads may race to find the same value */
    int k = __atomic_load_n(&kind, __ATOMIC_RELAXED);
    if (k < 0) {
        __builtin_cpu_init();
        unsigned a = 0, b = 0, c = 0, d = 0;
        int avxvnni = __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 4 & 1);
        k = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") ? 1
            : avxvnni                                                                    ? 2
                                                                                         : 0;
        __atomic_store_n(&kind, k, __ATOMIC_RELAXED);
    }
    return k;
}

int nn_have_vnni(void)
{
    return vnni_kind() != 0;
}

void nn_qgemm8_vnni(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                    const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc)
{
    int kind = vnni_kind();
    if (!kind) {
        nn_qgemm8_avx2(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc);
        return;
    }
    if (kind == 1)
        nn_qgemm8_drive(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc, 16, q8evex_6, q8evex_4, q8evex_1);
    else
        nn_qgemm8_drive(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc, 16, q8vex_6, q8vex_4, q8vex_1);
}

/* nn_q8_rows: the largest |x| 8 lanes at a time (a NaN lane makes the row not finite), the
 * codes by cvtps (round to nearest even, as nearbyintf) clamped as the scalar version */
AVX2 void nn_q8_rows_avx2(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i hi = _mm256_set1_epi32(NN_Q8_MAX), lo = _mm256_set1_epi32(-NN_Q8_MAX);
    int K8 = K / 8 * 8;
    for (int i = 0; i < M; i++) {
        const float *r = x + (size_t)i * ldx;
        int8_t *o = q + (size_t)i * ldq;
        __m256 mx = _mm256_setzero_ps(), nan = _mm256_setzero_ps();
        for (int k = 0; k < K8; k += 8) {
            __m256 v = _mm256_loadu_ps(r + k);
            nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            mx = _mm256_max_ps(mx, _mm256_and_ps(v, absmask));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        float m = _mm_cvtss_f32(h); /* the largest lane: max is exact in any order */
        if (_mm256_movemask_ps(nan))
            m = INFINITY;
        m = nn_q8_max_from(r, K8, K, m);
        if (!nn_q8_scale(m, &s[i])) {
            memset(o, 0, (size_t)K);
            continue;
        }
        float inv = NN_Q8_MAX / m;
        __m256 vinv = _mm256_set1_ps(inv);
        for (int k = 0; k < K8; k += 8) {
            __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + k), vinv));
            c = _mm256_min_epi32(_mm256_max_epi32(c, lo), hi);
            __m128i p = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
            p = _mm_packs_epi16(p, p);
            _mm_storel_epi64((__m128i *)(o + k), p);
        }
        nn_q8_codes_from(r, K8, K, inv, o);
    }
}

#endif
