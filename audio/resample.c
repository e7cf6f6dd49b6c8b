/* Windowed-sinc sample-rate conversion (bandlimited interpolation, J. O. Smith):
 *   y[j] = c * sum_k x[k] * h(c * (t_j - k)),   t_j = j * in_rate / out_rate,
 * with c = 0.94 * min(1, out_rate / in_rate) the low-pass cutoff relative to the input
 * Nyquist frequency, and h(u) = sinc(u) * kaiser(u / Z) for |u| < Z zero crossings.
 * With out/in = L/M in lowest terms there are only L distinct fractional positions, so
 * the L kernels are computed exactly once per call (polyphase filter bank); ratios with
 * very many phases evaluate the kernel per tap instead. */
#include "audio/wav.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { RS_ZEROS = 64 };
static const double RS_ROLLOFF = 0.94, RS_BETA = 9.0;

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 200; k++) {
        term *= q / ((double)k * k);
        sum += term;
        if (term < sum * 1e-17)
            break;
    }
    return sum;
}

/* sinc(c d) * kaiser(c d / Z): the low-pass kernel at a distance d input samples. */
static double kernel(double d, double c, double i0b)
{
    double u = fabs(d) * c; /* in zero crossings */
    if (u >= RS_ZEROS)
        return 0.0;
    double r = u / RS_ZEROS;
    double w = bessel_i0(RS_BETA * sqrt(1.0 - r * r)) / i0b;
    return u == 0.0 ? w : w * sin(M_PI * u) / (M_PI * u);
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int tts_resample(const float *in, size_t n_in, int in_rate, int out_rate, float **out,
                 size_t *n_out, tts_err *err)
{
    if (!out || !n_out || (n_in > 0 && !in))
        return tts_seterr(err, TTS_E_INVALID, "resample: NULL argument");
    *out = NULL;
    *n_out = 0;
    if (in_rate <= 0 || out_rate <= 0)
        return tts_seterr(err, TTS_E_INVALID, "resample: sample rates %d -> %d Hz must be > 0",
                          in_rate, out_rate);
    int64_t g = gcd64(in_rate, out_rate);
    int64_t L = out_rate / g, M = in_rate / g; /* y[j] at input time j * M / L */
    if ((uint64_t)n_in > (uint64_t)(INT64_MAX / 2) / (uint64_t)(L > M ? L : M))
        return tts_seterr(err, TTS_E_INVALID, "resample: %zu samples is too long", n_in);
    size_t n = (size_t)(((int64_t)n_in * L + M - 1) / M);
    float *y = malloc((n ? n : 1) * sizeof *y);
    if (!y)
        return tts_seterr(err, TTS_E_NOMEM, "resample: out of memory for %zu samples", n);
    if (L == M) {
        if (n_in)
            memcpy(y, in, n_in * sizeof *y);
        *out = y;
        *n_out = n_in;
        return TTS_OK;
    }

    double c = RS_ROLLOFF * (L < M ? (double)L / (double)M : 1.0);
    double half = RS_ZEROS / c;         /* kernel half-width in input samples */
    int64_t K = (int64_t)floor(half) + 1; /* taps k0 - K + 1 .. k0 + K */
    size_t ntaps = (size_t)(2 * K);
    double i0b = bessel_i0(RS_BETA);

    if ((uint64_t)L * ntaps <= ((uint64_t)1 << 22)) {
        /* Polyphase: the exact kernel for each of the L phases, computed once. */
        float *bank = malloc((size_t)L * ntaps * sizeof *bank);
        if (!bank) {
            free(y);
            return tts_seterr(err, TTS_E_NOMEM, "resample: out of memory");
        }
        for (int64_t ph = 0; ph < L; ph++)
            for (int64_t d = -(K - 1); d <= K; d++)
                bank[(size_t)ph * ntaps + (size_t)(d + K - 1)] =
                    (float)(c * kernel((double)ph / (double)L - (double)d, c, i0b));
        for (size_t j = 0; j < n; j++) {
            int64_t num = (int64_t)j * M, k0 = num / L, ph = num % L;
            const float *h = bank + (size_t)ph * ntaps;
            int64_t ka = k0 - (K - 1), kb = k0 + K;
            int64_t a0 = ka < 0 ? 0 : ka, b0 = kb > (int64_t)n_in - 1 ? (int64_t)n_in - 1 : kb;
            double acc = 0.0;
            for (int64_t k = a0; k <= b0; k++)
                acc += (double)in[k] * h[k - ka];
            y[j] = (float)acc;
        }
        free(bank);
    } else {
        /* An unusual ratio (thousands of phases): evaluate the kernel per tap. */
        for (size_t j = 0; j < n; j++) {
            int64_t num = (int64_t)j * M, k0 = num / L;
            double frac = (double)(num % L) / (double)L;
            int64_t ka = k0 - (K - 1), kb = k0 + K;
            if (ka < 0)
                ka = 0;
            if (kb > (int64_t)n_in - 1)
                kb = (int64_t)n_in - 1;
            double acc = 0.0;
            for (int64_t k = ka; k <= kb; k++)
                acc += (double)in[k] * kernel((double)(k0 - k) + frac, c, i0b);
            y[j] = (float)(acc * c);
        }
    }
    *out = y;
    *n_out = n;
    return TTS_OK;
}
