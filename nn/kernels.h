/*
 * nn kernels: the inner loops of streaming (frame-by-frame) inference, with a portable
 * scalar version and an AVX2+FMA version of each, chosen at run time.
 *
 *   nn_vecmat   y[Cout] += x[Cin]^T W[Cin][Cout]   (W row-major: W[i*Cout + j]); this is
 *               one tap of the streaming causal conv (conv1d_step_f), W laid out as in
 *               conv1d_forward_f's W[k]
 *   nn_vecmat_q8  the same with W stored as int8 codes (nn/params_io.h's i8 storage):
 *               W[i*Cout + j] = (float)Q[i*Cout + j] * S[(i*Cout + j) / 64], Cout a
 *               multiple of 64 (NN_VECMAT_Q8_BLOCK). Each version gives, bit for bit, what
 *               nn_vecmat of its level gives on the dequantized W: the weights are used as
 *               stored, the speech is the same.
 *   nn_matvec   y[rows] += W[rows][cols] x[cols]   (W row-major: W[r*cols + c])
 *   nn_vtanh    y[n] = tanh(x[n])
 *   nn_vsigmoid y[n] = 1 / (1 + exp(-x[n]))
 *   nn_vgated   y[n] = tanh(a[n]) * sigmoid(b[n])  (WaveNet gate; for h[2C] = [a | b]
 *               call nn_vgated(y, h, h + C, C))
 *
 * Pointers need no alignment. Element-wise kernels may run in place (y == x, y == a or
 * y == b); nn_vecmat / nn_matvec must not have y overlap x or W. Sizes may be 0.
 *
 * Dispatch: the unsuffixed functions use the best level the CPU supports
 * (__builtin_cpu_supports) up to AVX2 (the AVX-512 GEMM is slower so far: nn/kernels.c),
 * unless the environment variable TTS_SIMD (read once, at the first call) names another:
 * scalar, avx2 or avx512 (a level the CPU lacks, or an unknown name, is ignored). nn_simd_set() overrides both (tests,
 * benchmarks). All functions are thread-safe; changing the level while other threads run
 * kernels is allowed (each call uses one level throughout).
 *
 * Accuracy (measured and asserted by tests/test_kernels.c, |error| vs double libm over
 * [-30, 30] and special values):
 *   - scalar nn_vtanh / nn_vsigmoid / nn_vgated call libm (tanhf, expf);
 *   - AVX2 ones use a Cephes-style exp (clamped at exp(-87)) and tanh polynomial;
 *     asserted bounds, met by both versions: |err| <= 1.5e-7 and rel <= 3e-7 (tanh,
 *     sigmoid), |err| <= 3e-7 and rel <= 5e-7 (gated) (measured: 0.9e-7 / 2e-7 / 1.9e-7,
 *     about 1.5-3 ulp); NaN in gives NaN out; +-inf saturate; tanh is odd bit for bit.
 *   - nn_vecmat / nn_matvec: the AVX2 versions sum in a different order than the scalar
 *     ones, so results differ by rounding (bounded by n * 2^-24 * sum |x_i W_i|), not
 *     bit for bit.
 */
#ifndef TTS_NN_KERNELS_H
#define TTS_NN_KERNELS_H

#include <stdint.h>

#define NN_VECMAT_Q8_BLOCK 64 /* elements per scale (NN_Q8_BLOCK of nn/params_io.h) */

typedef enum {
    NN_SIMD_SCALAR = 0, /* portable C (the compiler may still vectorize it for the base ISA) */
    NN_SIMD_AVX2 = 1,   /* x86-64 AVX2 + FMA */
    NN_SIMD_AVX512 = 2, /* x86-64 AVX-512F (nn_sgemm; the kernels here use their AVX2 ones) */
    NN_SIMD_NEON = 3,   /* aarch64 NEON (the linear kernels and nn_sgemm) */
} nn_simd_level;

/* best level this CPU supports (ignores TTS_SIMD) */
nn_simd_level nn_simd_detect(void);
/* level the dispatching kernels use now (see Dispatch) */
nn_simd_level nn_simd_get(void);
/* force a level; returns 0, or -1 (and changes nothing) if the CPU lacks it */
int nn_simd_set(nn_simd_level level);
/* "scalar" / "avx2" / "avx512" / "neon" */
const char *nn_simd_name(nn_simd_level level);

/* ---- dispatching kernels ---- */
void nn_vecmat(float *y, const float *x, const float *W, int Cin, int Cout);
void nn_vecmat_q8(float *y, const float *x, const int8_t *Q, const float *S, int Cin, int Cout);
void nn_matvec(float *y, const float *W, const float *x, int rows, int cols);
void nn_vtanh(float *y, const float *x, int n);
void nn_vsigmoid(float *y, const float *x, int n);
void nn_vgated(float *y, const float *a, const float *b, int n);

/* ---- explicit versions (tests, benchmarks). The _avx2 ones may only be called when
 * nn_simd_detect() >= NN_SIMD_AVX2; on non-x86 builds they are not defined. ---- */
void nn_vecmat_scalar(float *y, const float *x, const float *W, int Cin, int Cout);
void nn_vecmat_q8_scalar(float *y, const float *x, const int8_t *Q, const float *S, int Cin,
                         int Cout);
void nn_matvec_scalar(float *y, const float *W, const float *x, int rows, int cols);
void nn_vtanh_scalar(float *y, const float *x, int n);
void nn_vsigmoid_scalar(float *y, const float *x, int n);
void nn_vgated_scalar(float *y, const float *a, const float *b, int n);

#if defined(__x86_64__) || defined(__i386__)
#define NN_HAVE_AVX2_KERNELS 1
void nn_vecmat_avx2(float *y, const float *x, const float *W, int Cin, int Cout);
void nn_vecmat_q8_avx2(float *y, const float *x, const int8_t *Q, const float *S, int Cin,
                       int Cout);
void nn_matvec_avx2(float *y, const float *W, const float *x, int rows, int cols);
void nn_vtanh_avx2(float *y, const float *x, int n);
void nn_vsigmoid_avx2(float *y, const float *x, int n);
void nn_vgated_avx2(float *y, const float *a, const float *b, int n);
#endif

#if defined(__aarch64__)
#define NN_HAVE_NEON_KERNELS 1
void nn_vecmat_neon(float *y, const float *x, const float *W, int Cin, int Cout);
void nn_vecmat_q8_neon(float *y, const float *x, const int8_t *Q, const float *S, int Cin,
                       int Cout);
void nn_matvec_neon(float *y, const float *W, const float *x, int rows, int cols);
void nn_vtanh_neon(float *y, const float *x, int n);
void nn_vsigmoid_neon(float *y, const float *x, int n);
void nn_vgated_neon(float *y, const float *a, const float *b, int n);
#endif

#endif
