/* Griffin-Lim phase reconstruction, with the "fast" momentum variant
 * (Perraudin, Balazs & Sondergaard 2013; the same update as librosa.griffinlim). */
#include "dsp/dsp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

tts_gl_params tts_gl_default_params(void)
{
    tts_gl_params p;
    p.n_iter = 32;
    p.momentum = 0.99f;
    p.seed = 1234u;
    p.zero_phase = 0;
    p.mel_nnls_iter = 50;
    return p;
}

float tts_spectral_convergence(const float *target, const float *mag, size_t count)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < count; i++) {
        double d = (double)target[i] - (double)mag[i];
        num += d * d;
        den += (double)target[i] * target[i];
    }
    if (den == 0.0)
        return num == 0.0 ? 0.0f : INFINITY;
    return (float)sqrt(num / den);
}

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

int tts_griffin_lim(tts_stft *s, const float *mag, size_t n_frames, const tts_gl_params *p,
                    float *pcm, size_t n_out, float *final_sc, tts_err *err)
{
    if (!s || (n_frames > 0 && !mag) || (n_out > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "griffin-lim: NULL argument");
    tts_gl_params par = p ? *p : tts_gl_default_params();
    if (par.n_iter <= 0)
        par.n_iter = tts_gl_default_params().n_iter;
    if (!(par.momentum >= 0.0f && par.momentum < 1.0f))
        return tts_seterr(err, TTS_E_INVALID, "griffin-lim: momentum %g must be in [0, 1)",
                          (double)par.momentum);
    if (n_frames == 0) {
        if (n_out)
            memset(pcm, 0, n_out * sizeof *pcm);
        if (final_sc)
            *final_sc = 0.0f;
        return TTS_OK;
    }

    size_t nb = (size_t)tts_stft_n_bins(s);
    size_t hop = (size_t)tts_stft_hop_length(s);
    /* Internal signal length: the caller's length when it has exactly n_frames frames,
     * else the length whose frame count is n_frames. */
    size_t len = (tts_stft_n_frames(s, n_out) == n_frames) ? n_out : (n_frames - 1) * hop;
    if (len == 0)
        len = 1;
    size_t count = n_frames * nb;
    if (count > SIZE_MAX / (2 * sizeof(float)))
        return tts_seterr(err, TTS_E_NOMEM, "griffin-lim: %zu frames is too many", n_frames);
    float *angles = malloc(count * 2 * sizeof *angles);
    float *rebuilt = malloc(count * 2 * sizeof *rebuilt);
    float *tprev = calloc(count * 2, sizeof *tprev);
    float *sig = malloc(len * sizeof *sig);
    if (!angles || !rebuilt || !tprev || !sig) {
        free(angles);
        free(rebuilt);
        free(tprev);
        free(sig);
        return tts_seterr(err, TTS_E_NOMEM, "griffin-lim: out of memory for %zu frames",
                          n_frames);
    }

    /* angles holds mag * exp(i phase). */
    uint32_t rs = par.seed * 2654435761u + 0x9E3779B9u;
    if (rs == 0)
        rs = 1;
    for (size_t i = 0; i < count; i++) {
        float re = mag[i], im = 0.0f;
        if (!par.zero_phase) {
            double ph = 2.0 * M_PI * (xorshift32(&rs) * (1.0 / 4294967296.0));
            re = mag[i] * (float)cos(ph);
            im = mag[i] * (float)sin(ph);
        }
        angles[2 * i] = re;
        angles[2 * i + 1] = im;
    }

    float beta = par.momentum / (1.0f + par.momentum);
    int rc = TTS_OK;
    for (int it = 0; it < par.n_iter && rc == TTS_OK; it++) {
        rc = tts_stft_inverse(s, angles, n_frames, sig, len, err);
        if (rc)
            break;
        rc = tts_stft_forward(s, sig, len, rebuilt, err);
        if (rc)
            break;
        for (size_t i = 0; i < count; i++) {
            float re = rebuilt[2 * i], im = rebuilt[2 * i + 1];
            if (it > 0) {
                re -= beta * tprev[2 * i];
                im -= beta * tprev[2 * i + 1];
            }
            float a = sqrtf(re * re + im * im);
            float g = mag[i] / (a + 1e-16f);
            if (a == 0.0f) { /* no phase information: keep zero phase */
                re = 1.0f;
                im = 0.0f;
                g = mag[i];
            }
            angles[2 * i] = re * g;
            angles[2 * i + 1] = im * g;
        }
        float *tmp = tprev;
        tprev = rebuilt;
        rebuilt = tmp;
    }
    if (rc == TTS_OK && final_sc) {
        rc = tts_stft_inverse(s, angles, n_frames, sig, len, err);
        if (rc == TTS_OK) {
            /* rebuilt is free scratch: n_frames x n_bins magnitudes fit in it. */
            rc = tts_stft_magnitude(s, sig, len, rebuilt, err);
            if (rc == TTS_OK)
                *final_sc = tts_spectral_convergence(mag, rebuilt, count);
        }
    }
    if (rc == TTS_OK)
        rc = tts_stft_inverse(s, angles, n_frames, pcm, n_out, err);
    free(angles);
    free(rebuilt);
    free(tprev);
    free(sig);
    return rc;
}

int tts_mel_synthesize(tts_mel *m, const float *logmel, size_t n_frames,
                       const tts_gl_params *p, float **pcm, size_t *n_out, tts_err *err)
{
    if (!m || !pcm || !n_out || (n_frames > 0 && !logmel))
        return tts_seterr(err, TTS_E_INVALID, "mel synthesis: NULL argument");
    *pcm = NULL;
    *n_out = 0;
    if (n_frames == 0)
        return tts_seterr(err, TTS_E_INVALID, "mel synthesis: no frames");
    tts_stft *s = tts_mel_stft(m);
    size_t nb = (size_t)tts_stft_n_bins(s);
    size_t len = (n_frames - 1) * (size_t)tts_mel_cfg(m)->hop_length;
    if (n_frames > SIZE_MAX / sizeof(float) / nb)
        return tts_seterr(err, TTS_E_NOMEM, "mel synthesis: %zu frames is too many", n_frames);
    float *mag = malloc(n_frames * nb * sizeof *mag);
    float *out = malloc((len ? len : 1) * sizeof *out);
    if (!mag || !out) {
        free(mag);
        free(out);
        return tts_seterr(err, TTS_E_NOMEM, "mel synthesis: out of memory for %zu frames",
                          n_frames);
    }
    tts_gl_params par = p ? *p : tts_gl_default_params();
    int rc = tts_mel_to_linear_nnls(m, logmel, n_frames, mag, par.mel_nnls_iter, err);
    if (rc == TTS_OK)
        rc = tts_griffin_lim(s, mag, n_frames, &par, out, len, NULL, err);
    free(mag);
    if (rc) {
        free(out);
        return rc;
    }
    *pcm = out;
    *n_out = len;
    return TTS_OK;
}
