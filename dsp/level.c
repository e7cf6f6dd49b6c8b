/* Loudness normalization and silence trimming for dataset preparation. */
#include "dsp/dsp.h"

#include <math.h>
#include <stdlib.h>

float tts_peak(const float *x, size_t n)
{
    float p = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > p)
            p = a;
    }
    return p;
}

float tts_rms(const float *x, size_t n)
{
    if (n == 0)
        return 0.0f;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)x[i] * x[i];
    return (float)sqrt(acc / (double)n);
}

static void scale(float *x, size_t n, float g)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= g;
}

float tts_normalize_peak(float *x, size_t n, float target_peak)
{
    float p = tts_peak(x, n);
    if (!(p > 0.0f) || !isfinite(p) || !(target_peak > 0.0f))
        return 1.0f;
    float g = target_peak / p;
    scale(x, n, g);
    return g;
}

float tts_normalize_rms(float *x, size_t n, float target_rms_db, float max_peak)
{
    float r = tts_rms(x, n), p = tts_peak(x, n);
    if (!(r > 0.0f) || !isfinite(r) || !isfinite(p))
        return 1.0f;
    float g = powf(10.0f, target_rms_db / 20.0f) / r;
    if (max_peak > 0.0f && g * p > max_peak)
        g = max_peak / p;
    scale(x, n, g);
    return g;
}

tts_trim_params tts_trim_default_params(void)
{
    tts_trim_params p;
    p.threshold_db = -40.0f;
    p.frame_length = 800;
    p.hop_length = 200;
    p.margin = 1600;
    return p;
}

int tts_trim_silence(const float *x, size_t n, const tts_trim_params *pp, size_t *start,
                     size_t *end, tts_err *err)
{
    tts_trim_params p = pp ? *pp : tts_trim_default_params();
    if (!start || !end || (n > 0 && !x))
        return tts_seterr(err, TTS_E_INVALID, "trim: NULL argument");
    if (p.frame_length < 1 || p.hop_length < 1 || p.margin < 0 || !(p.threshold_db < 0.0f))
        return tts_seterr(err, TTS_E_INVALID,
                          "trim: bad parameters (frame %d, hop %d, margin %d, threshold %g dB;"
                          " need frame, hop >= 1, margin >= 0, threshold < 0)",
                          p.frame_length, p.hop_length, p.margin, (double)p.threshold_db);
    *start = *end = 0;
    if (n == 0)
        return TTS_OK;

    /* Energy of centred frames [t*hop - fl/2, t*hop - fl/2 + fl) (zeros outside the
     * signal), from a prefix sum of squares in double. */
    double *cum = malloc((n + 1) * sizeof *cum);
    if (!cum)
        return tts_seterr(err, TTS_E_NOMEM, "trim: out of memory for %zu samples", n);
    cum[0] = 0.0;
    for (size_t i = 0; i < n; i++)
        cum[i + 1] = cum[i] + (double)x[i] * x[i];
    size_t hop = (size_t)p.hop_length, fl = (size_t)p.frame_length;
    size_t nf = n / hop + 1;
    double emax = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        double thr = emax * pow(10.0, p.threshold_db / 10.0); /* energy ratio */
        size_t first = nf, last = 0;
        for (size_t t = 0; t < nf; t++) {
            long long a = (long long)(t * hop) - (long long)(fl / 2);
            long long b = a + (long long)fl;
            size_t ia = a < 0 ? 0 : (size_t)a;
            size_t ib = b > (long long)n ? n : (size_t)b;
            double e = ib > ia ? cum[ib] - cum[ia] : 0.0;
            if (pass == 0) {
                if (e > emax)
                    emax = e;
            } else if (e > thr && e > 0.0) {
                if (first == nf)
                    first = t;
                last = t;
            }
        }
        if (pass == 0 && !(emax > 0.0))
            break; /* silent: start = end = 0 */
        if (pass == 1 && first < nf) {
            size_t s0 = first * hop, e0 = (last + 1) * hop;
            *start = s0 > (size_t)p.margin ? s0 - (size_t)p.margin : 0;
            *end = e0 + (size_t)p.margin < n ? e0 + (size_t)p.margin : n;
        }
    }
    free(cum);
    return TTS_OK;
}
