/* Log-mel analysis (Slaney-style filterbank) and mel -> linear pseudo-inverse. */
#include "dsp/dsp.h"
#include "dsp/dsp_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tts_mel {
    tts_audio_cfg cfg;
    tts_stft *stft;
    int n_bins;
    float *fb;   /* n_mels x n_bins */
    int *fb_lo;  /* per band: first and one-past-last non-zero bin */
    int *fb_hi;
    float *pinv; /* n_bins x n_mels: pseudo-inverse of fb */
    float *mag;  /* n_bins scratch */
};

/* Slaney's mel scale (librosa hz_to_mel / mel_to_hz with htk=False). */
static double hz_to_mel(double f)
{
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) / logstep : f / f_sp;
}

static double mel_to_hz(double m)
{
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : f_sp * m;
}

/* Filterbank as librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False,
 * norm='slaney'): triangles between n_mels + 2 points evenly spaced in mel, each scaled
 * by 2 / (its width in Hz). Computed in double. */
static int build_filterbank(tts_mel *m, double *fbd, tts_err *err)
{
    const tts_audio_cfg *c = &m->cfg;
    int nb = m->n_bins, nm = c->n_mels;
    double *pts = malloc((size_t)(nm + 2) * sizeof *pts);
    if (!pts)
        return tts_seterr(err, TTS_E_NOMEM, "mel: out of memory");
    double mlo = hz_to_mel(c->fmin), mhi = hz_to_mel(c->fmax);
    for (int i = 0; i < nm + 2; i++)
        pts[i] = mel_to_hz(mlo + (mhi - mlo) * i / (nm + 1));
    for (int j = 0; j < nm; j++) {
        double lo = pts[j], ce = pts[j + 1], hi = pts[j + 2];
        double enorm = 2.0 / (hi - lo);
        int first = -1, last = -1;
        for (int k = 0; k < nb; k++) {
            double f = (double)k * c->sample_rate / c->n_fft;
            double up = (f - lo) / (ce - lo), down = (hi - f) / (hi - ce);
            double w = fmin(up, down);
            w = w > 0.0 ? w * enorm : 0.0;
            fbd[(size_t)j * nb + k] = w;
            if (w > 0.0) {
                if (first < 0)
                    first = k;
                last = k;
            }
        }
        if (first < 0) {
            free(pts);
            return tts_seterr(err, TTS_E_INVALID,
                              "mel: band %d (%.1f-%.1f Hz) contains no FFT bin: too many mel "
                              "bands (%d) for n_fft %d at %d Hz",
                              j, lo, hi, nm, c->n_fft, c->sample_rate);
        }
        m->fb_lo[j] = first;
        m->fb_hi[j] = last + 1;
    }
    free(pts);
    return TTS_OK;
}

/* pinv(F) = F^T (F F^T)^-1 for the full-row-rank n_mels x n_bins F (n_mels <= n_bins),
 * by Cholesky factorization of the (banded, positive definite) Gram matrix in double. */
static int build_pinv(tts_mel *m, const double *fbd, tts_err *err)
{
    int nb = m->n_bins, nm = m->cfg.n_mels;
    double *g = calloc((size_t)nm * nm, sizeof *g);
    double *col = malloc((size_t)nm * sizeof *col);
    if (!g || !col) {
        free(g);
        free(col);
        return tts_seterr(err, TTS_E_NOMEM, "mel: out of memory");
    }
    for (int i = 0; i < nm; i++)
        for (int j = 0; j <= i; j++) {
            double acc = 0.0;
            for (int k = 0; k < nb; k++)
                acc += fbd[(size_t)i * nb + k] * fbd[(size_t)j * nb + k];
            g[(size_t)i * nm + j] = g[(size_t)j * nm + i] = acc;
        }
    /* A tiny ridge keeps the factorization defined for nearly dependent bands. */
    double maxd = 0.0;
    for (int i = 0; i < nm; i++)
        maxd = fmax(maxd, g[(size_t)i * nm + i]);
    for (int i = 0; i < nm; i++)
        g[(size_t)i * nm + i] += 1e-12 * maxd;
    /* In-place Cholesky: lower triangle of g becomes L with g = L L^T. */
    for (int j = 0; j < nm; j++) {
        double d = g[(size_t)j * nm + j];
        for (int k = 0; k < j; k++)
            d -= g[(size_t)j * nm + k] * g[(size_t)j * nm + k];
        if (!(d > 0.0)) {
            free(g);
            free(col);
            return tts_seterr(err, TTS_E_INVALID, "mel: filterbank is rank-deficient at band %d",
                              j);
        }
        d = sqrt(d);
        g[(size_t)j * nm + j] = d;
        for (int i = j + 1; i < nm; i++) {
            double v = g[(size_t)i * nm + j];
            for (int k = 0; k < j; k++)
                v -= g[(size_t)i * nm + k] * g[(size_t)j * nm + k];
            g[(size_t)i * nm + j] = v / d;
        }
    }
    /* Row k of pinv = (G^-1 F[:, k])^T: solve L L^T x = F[:, k] per FFT bin. */
    for (int k = 0; k < nb; k++) {
        for (int i = 0; i < nm; i++) {
            double v = fbd[(size_t)i * nb + k];
            for (int j = 0; j < i; j++)
                v -= g[(size_t)i * nm + j] * col[j];
            col[i] = v / g[(size_t)i * nm + i];
        }
        for (int i = nm - 1; i >= 0; i--) {
            double v = col[i];
            for (int j = i + 1; j < nm; j++)
                v -= g[(size_t)j * nm + i] * col[j];
            col[i] = v / g[(size_t)i * nm + i];
        }
        for (int i = 0; i < nm; i++)
            m->pinv[(size_t)k * nm + i] = (float)col[i];
    }
    free(g);
    free(col);
    return TTS_OK;
}

int tts_mel_create(tts_mel **out, const tts_audio_cfg *cfg, tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "mel: NULL output pointer");
    *out = NULL;
    int rc = tts_audio_cfg_check(cfg, err);
    if (rc)
        return rc;
    tts_mel *m = calloc(1, sizeof *m);
    if (!m)
        return tts_seterr(err, TTS_E_NOMEM, "mel: out of memory");
    m->cfg = *cfg;
    rc = tts_stft_create(&m->stft, cfg->n_fft, cfg->win_length, cfg->hop_length, err);
    if (rc) {
        free(m);
        return rc;
    }
    m->n_bins = tts_stft_n_bins(m->stft);
    size_t nb = (size_t)m->n_bins, nm = (size_t)cfg->n_mels;
    m->fb = malloc(nm * nb * sizeof *m->fb);
    m->fb_lo = malloc(nm * sizeof *m->fb_lo);
    m->fb_hi = malloc(nm * sizeof *m->fb_hi);
    m->pinv = malloc(nb * nm * sizeof *m->pinv);
    m->mag = malloc(nb * sizeof *m->mag);
    double *fbd = malloc(nm * nb * sizeof *fbd);
    if (!m->fb || !m->fb_lo || !m->fb_hi || !m->pinv || !m->mag || !fbd) {
        free(fbd);
        tts_mel_free(m);
        return tts_seterr(err, TTS_E_NOMEM, "mel: out of memory");
    }
    rc = build_filterbank(m, fbd, err);
    if (!rc)
        rc = build_pinv(m, fbd, err);
    if (rc) {
        free(fbd);
        tts_mel_free(m);
        return rc;
    }
    for (size_t i = 0; i < nm * nb; i++)
        m->fb[i] = (float)fbd[i];
    free(fbd);
    *out = m;
    return TTS_OK;
}

void tts_mel_free(tts_mel *m)
{
    if (!m)
        return;
    tts_stft_free(m->stft);
    free(m->fb);
    free(m->fb_lo);
    free(m->fb_hi);
    free(m->pinv);
    free(m->mag);
    free(m);
}

const tts_audio_cfg *tts_mel_cfg(const tts_mel *m) { return &m->cfg; }
tts_stft *tts_mel_stft(tts_mel *m) { return m->stft; }
const float *tts_mel_filterbank(const tts_mel *m) { return m->fb; }

size_t tts_mel_n_frames(const tts_mel *m, size_t n)
{
    return n / (size_t)m->cfg.hop_length + 1;
}

int tts_mel_analyze_into(tts_mel *m, const float *pcm, size_t n, float *frames,
                         tts_err *err)
{
    if (!m || !frames || (n > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "mel analysis: NULL argument");
    size_t nf = tts_mel_n_frames(m, n), nb = (size_t)m->n_bins;
    int nm = m->cfg.n_mels;
    float lfloor = m->cfg.log_floor;
    /* One frame at a time: the whole magnitude spectrogram is never stored. */
    for (size_t t = 0; t < nf; t++) {
        tts__stft_frame_magnitude(m->stft, pcm, n, t, m->mag);
        float *o = frames + t * (size_t)nm;
        for (int j = 0; j < nm; j++) {
            const float *w = m->fb + (size_t)j * nb;
            float acc = 0.0f;
            for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
                acc += w[k] * m->mag[k];
            o[j] = logf(acc > lfloor ? acc : lfloor);
        }
    }
    return TTS_OK;
}

int tts_mel_analyze(tts_mel *m, const float *pcm, size_t n, float **out_frames,
                    size_t *n_frames, tts_err *err)
{
    if (!m || !out_frames || !n_frames || (n > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "mel analysis: NULL argument");
    *out_frames = NULL;
    *n_frames = 0;
    size_t nf = tts_mel_n_frames(m, n), nm = (size_t)m->cfg.n_mels;
    if (nf > SIZE_MAX / sizeof(float) / nm)
        return tts_seterr(err, TTS_E_NOMEM, "mel analysis: %zu samples is too long", n);
    float *f = malloc(nf * nm * sizeof *f);
    if (!f)
        return tts_seterr(err, TTS_E_NOMEM, "mel analysis: out of memory for %zu frames", nf);
    int rc = tts_mel_analyze_into(m, pcm, n, f, err);
    if (rc) {
        free(f);
        return rc;
    }
    *out_frames = f;
    *n_frames = nf;
    return TTS_OK;
}

int tts_mel_to_linear(tts_mel *m, const float *logmel, size_t n_frames, float *mag,
                      tts_err *err)
{
    return tts_mel_to_linear_nnls(m, logmel, n_frames, mag, 0, err);
}

int tts_mel_to_linear_nnls(tts_mel *m, const float *logmel, size_t n_frames, float *mag,
                           int n_iter, tts_err *err)
{
    if (!m || (n_frames > 0 && (!logmel || !mag)))
        return tts_seterr(err, TTS_E_INVALID, "mel to linear: NULL argument");
    int nm = m->cfg.n_mels;
    size_t nb = (size_t)m->n_bins;
    /* e: mel energies; fx: F x; num: F^T e; den: F^T F x. */
    float *e = malloc((size_t)nm * 2 * sizeof *e);
    float *num = malloc(nb * 2 * sizeof *num);
    if (!e || !num) {
        free(e);
        free(num);
        return tts_seterr(err, TTS_E_NOMEM, "mel to linear: out of memory");
    }
    float *fx = e + nm, *den = num + nb;
    float lfloor = logf(m->cfg.log_floor);
    float seed = 0.1f * m->cfg.log_floor; /* lets clamped bins grow again */
    for (size_t t = 0; t < n_frames; t++) {
        const float *l = logmel + t * (size_t)nm;
        for (int j = 0; j < nm; j++) {
            float v = l[j];
            if (isnan(v))
                v = lfloor; /* a broken model output must not poison the whole signal */
            else if (v > 30.0f)
                v = 30.0f;
            e[j] = expf(v);
        }
        float *o = mag + t * nb;
        for (size_t k = 0; k < nb; k++) {
            const float *p = m->pinv + k * (size_t)nm;
            float acc = 0.0f;
            for (int j = 0; j < nm; j++)
                acc += p[j] * e[j];
            o[k] = acc > 0.0f ? acc : 0.0f;
        }
        if (n_iter <= 0)
            continue;
        /* Multiplicative (Lee-Seung) updates x <- x * F^T e / F^T F x keep x >= 0 and
         * decrease ||F x - e||^2; F is banded, so each costs O(n_bins). */
        memset(num, 0, nb * sizeof *num);
        for (int j = 0; j < nm; j++) {
            const float *w = m->fb + (size_t)j * nb;
            for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
                num[k] += w[k] * e[j];
        }
        for (size_t k = 0; k < nb; k++)
            o[k] += seed;
        for (int it = 0; it < n_iter; it++) {
            memset(den, 0, nb * sizeof *den);
            for (int j = 0; j < nm; j++) {
                const float *w = m->fb + (size_t)j * nb;
                float acc = 0.0f;
                for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
                    acc += w[k] * o[k];
                fx[j] = acc;
            }
            for (int j = 0; j < nm; j++) {
                const float *w = m->fb + (size_t)j * nb;
                for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
                    den[k] += w[k] * fx[j];
            }
            for (size_t k = 0; k < nb; k++)
                o[k] = den[k] > 0.0f ? o[k] * (num[k] / den[k]) : 0.0f;
        }
    }
    free(e);
    free(num);
    return TTS_OK;
}

int tts_mel_match_envelope(tts_mel *m, float *pcm, size_t n, const float *logmel,
                           size_t n_frames, int n_iter, float max_gain, tts_err *err)
{
    if (!m || (n > 0 && !pcm) || (n_frames > 0 && !logmel))
        return tts_seterr(err, TTS_E_INVALID, "envelope match: NULL argument");
    if (n == 0 || n_frames == 0 || n_iter <= 0)
        return TTS_OK;
    if (!(max_gain >= 1))
        return tts_seterr(err, TTS_E_INVALID, "envelope match: max_gain %g < 1", max_gain);
    int nm = m->cfg.n_mels;
    size_t nb = (size_t)m->n_bins, T = tts_stft_n_frames(m->stft, n);
    float *spec = malloc(sizeof(float) * 2 * T * nb);
    float *wsum = calloc(nb, sizeof(float)), *gb = malloc(sizeof(float) * (size_t)nm);
    float *gk = malloc(sizeof(float) * nb);
    if (!spec || !wsum || !gb || !gk) {
        free(spec);
        free(wsum);
        free(gb);
        free(gk);
        return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
    }
    for (int j = 0; j < nm; j++)
        for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
            wsum[k] += m->fb[(size_t)j * nb + k];
    int rc = TTS_OK;
    for (int it = 0; it < n_iter && !rc; it++) {
        if ((rc = tts_stft_forward(m->stft, pcm, n, spec, err)))
            break;
        for (size_t t = 0; t < T; t++) {
            float *s = spec + 2 * t * nb;
            const float *l = logmel + (t < n_frames ? t : n_frames - 1) * (size_t)nm;
            for (size_t k = 0; k < nb; k++)
                m->mag[k] = sqrtf(s[2 * k] * s[2 * k] + s[2 * k + 1] * s[2 * k + 1]);
            for (int j = 0; j < nm; j++) {
                const float *w = m->fb + (size_t)j * nb;
                float acc = 0.0f;
                for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
                    acc += w[k] * m->mag[k];
                float want = expf(l[j] < 30.0f ? l[j] : 30.0f);
                float g = want / (acc > 1e-12f ? acc : 1e-12f);
                gb[j] = g > max_gain ? max_gain : g < 1 / max_gain ? 1 / max_gain : g;
            }
            for (size_t k = 0; k < nb; k++)
                gk[k] = 0;
            for (int j = 0; j < nm; j++)
                for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
                    gk[k] += m->fb[(size_t)j * nb + k] * gb[j];
            for (size_t k = 0; k < nb; k++) {
                float g = wsum[k] > 0 ? gk[k] / wsum[k] : 1.0f;
                s[2 * k] *= g;
                s[2 * k + 1] *= g;
            }
        }
        rc = tts_stft_inverse(m->stft, spec, T, pcm, n, err);
    }
    free(spec);
    free(wsum);
    free(gb);
    free(gk);
    return rc;
}
