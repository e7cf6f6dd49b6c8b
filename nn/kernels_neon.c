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
#include <stddef.h>

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

#endif
