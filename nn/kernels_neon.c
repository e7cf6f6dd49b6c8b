/*
 * NEON (aarch64) twins of the linear kernels in kernels.c and of nn_sgemm (nn/gemm.h).
 * The element-wise kernels (tanh, sigmoid, the gate) run their scalar versions on
 * aarch64: libm's, vectorized by the compiler where it can.
 */
#include "nn/gemm.h"
#include "nn/gemm_impl.h"
#include "nn/kernels.h"

#if defined(__aarch64__)

#include <arm_neon.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* y[Cout] += x[Cin]^T W[Cin][Cout]: 16 columns at a time in 4 registers, x's element
 * broadcast; the last columns one at a time */
void nn_vecmat_neon(float *y, const float *x, const float *W, int Cin, int Cout)
{
    int j = 0;
    for (; j + 16 <= Cout; j += 16) {
        float32x4_t a0 = vld1q_f32(y + j), a1 = vld1q_f32(y + j + 4);
        float32x4_t a2 = vld1q_f32(y + j + 8), a3 = vld1q_f32(y + j + 12);
        for (int i = 0; i < Cin; i++) {
            const float *w = W + (size_t)i * Cout + j;
            float32x4_t xi = vdupq_n_f32(x[i]);
            a0 = vfmaq_f32(a0, xi, vld1q_f32(w));
            a1 = vfmaq_f32(a1, xi, vld1q_f32(w + 4));
            a2 = vfmaq_f32(a2, xi, vld1q_f32(w + 8));
            a3 = vfmaq_f32(a3, xi, vld1q_f32(w + 12));
        }
        vst1q_f32(y + j, a0);
        vst1q_f32(y + j + 4, a1);
        vst1q_f32(y + j + 8, a2);
        vst1q_f32(y + j + 12, a3);
    }
    for (; j + 4 <= Cout; j += 4) {
        float32x4_t a = vld1q_f32(y + j);
        for (int i = 0; i < Cin; i++)
            a = vfmaq_f32(a, vdupq_n_f32(x[i]), vld1q_f32(W + (size_t)i * Cout + j));
        vst1q_f32(y + j, a);
    }
    for (; j < Cout; j++) {
        float s = y[j];
        for (int i = 0; i < Cin; i++)
            s += x[i] * W[(size_t)i * Cout + j];
        y[j] = s;
    }
}

/* the same with int8 weights (Cout a multiple of 64): nn_vecmat_neon's order of operations,
 * each weight vector made as the loader makes it (code to float, times its block's scale) */
static inline float32x4_t dq4(int8x8_t c, int hi, float s)
{
    int16x8_t w = vmovl_s8(c);
    int32x4_t v = hi ? vmovl_high_s16(w) : vmovl_s16(vget_low_s16(w));
    return vmulq_n_f32(vcvtq_f32_s32(v), s);
}

void nn_vecmat_q8_neon(float *y, const float *x, const int8_t *Q, const float *S, int Cin,
                       int Cout)
{
    for (int j = 0; j + 16 <= Cout; j += 16) {
        float32x4_t a0 = vld1q_f32(y + j), a1 = vld1q_f32(y + j + 4);
        float32x4_t a2 = vld1q_f32(y + j + 8), a3 = vld1q_f32(y + j + 12);
        for (int i = 0; i < Cin; i++) {
            const int8_t *q = Q + (size_t)i * Cout + j;
            float s = S[((size_t)i * Cout + j) / 64];
            float32x4_t xi = vdupq_n_f32(x[i]);
            int8x8_t c0 = vld1_s8(q), c1 = vld1_s8(q + 8);
            a0 = vfmaq_f32(a0, xi, dq4(c0, 0, s));
            a1 = vfmaq_f32(a1, xi, dq4(c0, 1, s));
            a2 = vfmaq_f32(a2, xi, dq4(c1, 0, s));
            a3 = vfmaq_f32(a3, xi, dq4(c1, 1, s));
        }
        vst1q_f32(y + j, a0);
        vst1q_f32(y + j + 4, a1);
        vst1q_f32(y + j + 8, a2);
        vst1q_f32(y + j + 12, a3);
    }
}

/* y[rows] += W[rows][cols] x[cols]: a row's dot product in 2 registers, then across */
void nn_matvec_neon(float *y, const float *W, const float *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *w = W + (size_t)r * cols;
        float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
        int c = 0;
        for (; c + 8 <= cols; c += 8) {
            s0 = vfmaq_f32(s0, vld1q_f32(w + c), vld1q_f32(x + c));
            s1 = vfmaq_f32(s1, vld1q_f32(w + c + 4), vld1q_f32(x + c + 4));
        }
        float s = vaddvq_f32(vaddq_f32(s0, s1));
        for (; c < cols; c++)
            s += w[c] * x[c];
        y[r] += s;
    }
}

void nn_vtanh_neon(float *y, const float *x, int n)
{
    nn_vtanh_scalar(y, x, n);
}

void nn_vsigmoid_neon(float *y, const float *x, int n)
{
    nn_vsigmoid_scalar(y, x, n);
}

void nn_vgated_neon(float *y, const float *a, const float *b, int n)
{
    nn_vgated_scalar(y, a, b, n);
}

/* nn_sgemm's blocks: MR rows by 8 columns (2 registers a row), k ascending; a block
 * narrower than 8 columns goes through lanes of a zero-padded copy */
#define NEON_BLOCK(MR)                                                                        \
    static void neon_##MR(int K, float alpha, const float *A, int lda, const float *B,        \
                          int ldb, float beta, float *C, int ldc, int n)                      \
    {                                                                                         \
        float32x4_t acc[MR][2];                                                               \
        for (int r = 0; r < MR; r++)                                                          \
            acc[r][0] = acc[r][1] = vdupq_n_f32(0);                                           \
        float pad[8] = {0};                                                                   \
        for (int k = 0; k < K; k++) {                                                         \
            const float *b = B + (size_t)k * ldb;                                             \
            if (n < 8) {                                                                      \
                for (int j = 0; j < 8; j++)                                                   \
                    pad[j] = j < n ? b[j] : 0;                                                \
                b = pad;                                                                      \
            }                                                                                 \
            float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);                             \
            for (int r = 0; r < MR; r++) {                                                    \
                float32x4_t a = vdupq_n_f32(A[(size_t)r * lda + k]);                          \
                acc[r][0] = vfmaq_f32(acc[r][0], a, b0);                                      \
                acc[r][1] = vfmaq_f32(acc[r][1], a, b1);                                      \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < MR; r++) {                                                        \
            float out[8];                                                                     \
            vst1q_f32(out, acc[r][0]);                                                        \
            vst1q_f32(out + 4, acc[r][1]);                                                    \
            float *c = C + (size_t)r * ldc;                                                   \
            for (int j = 0; j < n; j++)                                                       \
                c[j] = alpha * out[j] + (beta == 0 ? 0 : beta * c[j]);                        \
        }                                                                                     \
    }
NEON_BLOCK(4)
NEON_BLOCK(1)

void nn_sgemm_neon(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    nn_gemm_drive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 8, neon_4, neon_1);
}

/* ---- nn_qgemm8 (nn/gemm.h): per four k, two columns' codes (8 bytes) times the row's four
 * codes twice over (vmull_s8: exact in 16 bits, |code| <= 127), pairs added into int32
 * lanes (vpadalq_s16), each column's two lanes added at the end (vpaddq_s32). Blocks of
 * MR rows by 8 columns; the last columns by the scalar sums. ---- */

static inline NN_NO_CONTRACT void qstore4(float *c, int32x4_t sum, float sa, const float *sb)
{
    float32x4_t sc = vmulq_f32(vdupq_n_f32(sa), vld1q_f32(sb));
    float32x4_t p = vmulq_f32(vcvtq_f32_s32(sum), sc);
    vst1q_f32(c, vaddq_f32(vld1q_f32(c), p));
}

#define NEON_Q8_BLOCK(MR)                                                                     \
    static NN_NO_CONTRACT void q8neon_##MR(int KQ, const int8_t *A, int lda, const float *sa, \
                                           const int8_t *Bp, int N, const float *sb,          \
                                           const int32_t *bsum, float *C, int ldc)            \
    {                                                                                         \
        (void)bsum;                                                                           \
        int32x4_t acc[MR][4];                                                                 \
        for (int r = 0; r < MR; r++)                                                          \
            for (int v = 0; v < 4; v++)                                                       \
                acc[r][v] = vdupq_n_s32(0);                                                   \
        for (int kq = 0; kq < KQ; kq++) {                                                     \
            const int8_t *b = Bp + (size_t)kq * N * 4;                                        \
            int8x16_t b0 = vld1q_s8(b), b1 = vld1q_s8(b + 16);                                \
            for (int r = 0; r < MR; r++) {                                                    \
                int32_t quad;                                                                 \
                memcpy(&quad, A + (size_t)r * lda + 4 * kq, sizeof quad);                     \
                int8x8_t a = vreinterpret_s8_s32(vdup_n_s32(quad));                           \
                acc[r][0] = vpadalq_s16(acc[r][0], vmull_s8(vget_low_s8(b0), a));             \
                acc[r][1] = vpadalq_s16(acc[r][1], vmull_s8(vget_high_s8(b0), a));            \
                acc[r][2] = vpadalq_s16(acc[r][2], vmull_s8(vget_low_s8(b1), a));             \
                acc[r][3] = vpadalq_s16(acc[r][3], vmull_s8(vget_high_s8(b1), a));            \
            }                                                                                 \
        }                                                                                     \
        for (int r = 0; r < MR; r++) {                                                        \
            qstore4(C + (size_t)r * ldc, vpaddq_s32(acc[r][0], acc[r][1]), sa[r], sb);        \
            qstore4(C + (size_t)r * ldc + 4, vpaddq_s32(acc[r][2], acc[r][3]), sa[r], sb + 4); \
        }                                                                                     \
    }
NEON_Q8_BLOCK(4)
NEON_Q8_BLOCK(1)

void nn_qgemm8_neon(int M, int N, int K, const int8_t *A, int lda, const float *sa,
                    const int8_t *Bp, const float *sb, const int32_t *bsum, float *C, int ldc)
{
    nn_qgemm8_drive(M, N, K, A, lda, sa, Bp, sb, bsum, C, ldc, 8, NULL, q8neon_4, q8neon_1);
}

/* nn_q8_rows: as the scalar version, 4 lanes at a time (vcvtnq: round to nearest even) */
void nn_q8_rows_neon(const float *x, int M, int K, int ldx, int8_t *q, int ldq, float *s)
{
    int K4 = K / 4 * 4;
    for (int i = 0; i < M; i++) {
        const float *r = x + (size_t)i * ldx;
        int8_t *o = q + (size_t)i * ldq;
        float32x4_t mx = vdupq_n_f32(0);
        uint32x4_t nan = vdupq_n_u32(0);
        for (int k = 0; k < K4; k += 4) {
            float32x4_t v = vld1q_f32(r + k);
            nan = vorrq_u32(nan, vmvnq_u32(vceqq_f32(v, v)));
            mx = vmaxnmq_f32(mx, vabsq_f32(v));
        }
        float m = vmaxvq_f32(mx);
        if (vmaxvq_u32(nan))
            m = INFINITY;
        m = nn_q8_max_from(r, K4, K, m);
        if (!nn_q8_scale(m, &s[i])) {
            memset(o, 0, (size_t)K);
            continue;
        }
        float inv = NN_Q8_MAX / m;
        int32x4_t hi = vdupq_n_s32(NN_Q8_MAX), lo = vdupq_n_s32(-NN_Q8_MAX);
        for (int k = 0; k < K4; k += 4) {
            int32x4_t c = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(r + k), inv));
            c = vminq_s32(vmaxq_s32(c, lo), hi);
            int16x4_t h = vmovn_s32(c);
            int8x8_t b = vmovn_s16(vcombine_s16(h, h));
            int32_t w = vget_lane_s32(vreinterpret_s32_s8(b), 0);
            memcpy(o + k, &w, sizeof w);
        }
        nn_q8_codes_from(r, K4, K, inv, o);
    }
}

#endif
