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
    float *pinv; /* n_bins x n_mels: pseudo-inverse of fb, made at its first use (only
                  * mel -> linear needs it, and it takes milliseconds: ensure_pinv) */
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
    m->mag = malloc(nb * sizeof *m->mag);
    double *fbd = malloc(nm * nb * sizeof *fbd);
    if (!m->fb || !m->fb_lo || !m->fb_hi || !m->mag || !fbd) {
        free(fbd);
        tts_mel_free(m);
        return tts_seterr(err, TTS_E_NOMEM, "mel: out of memory");
    }
    rc = build_filterbank(m, fbd, err);
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

/* m->pinv, made from the filterbank (in double, as it was built) on first use */
static int ensure_pinv(tts_mel *m, tts_err *err)
{
    if (m->pinv)
        return TTS_OK;
    size_t nb = (size_t)m->n_bins, nm = (size_t)m->cfg.n_mels;
    double *fbd = malloc(nm * nb * sizeof *fbd);
    m->pinv = malloc(nb * nm * sizeof *m->pinv);
    int rc = fbd && m->pinv ? TTS_OK : tts_seterr(err, TTS_E_NOMEM, "mel: out of memory");
    if (!rc)
        rc = build_filterbank(m, fbd, err);
    if (!rc)
        rc = build_pinv(m, fbd, err);
    free(fbd);
    if (rc) {
        free(m->pinv);
        m->pinv = NULL;
    }
    return rc;
}

int tts_mel_to_linear_nnls(tts_mel *m, const float *logmel, size_t n_frames, float *mag,
                           int n_iter, tts_err *err)
{
    if (!m || (n_frames > 0 && (!logmel || !mag)))
        return tts_seterr(err, TTS_E_INVALID, "mel to linear: NULL argument");
    int prc = ensure_pinv(m, err);
    if (prc)
        return prc;
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

/* The filterbank's weight summed over the bands at each FFT bin: wsum[n_bins]. */
static void band_weight_sums(const tts_mel *m, float *wsum)
{
    size_t nb = (size_t)m->n_bins;
    memset(wsum, 0, nb * sizeof *wsum);
    for (int j = 0; j < m->cfg.n_mels; j++)
        for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
            wsum[k] += m->fb[(size_t)j * nb + k];
}

/* One frame of the envelope match: spec (n_bins (re, im) pairs) times the gains that
 * bring its mel magnitude to exp(logmel). gb[n_mels] scratch; uses m->mag. */
static void match_frame(tts_mel *m, float *spec, const float *logmel, float max_gain,
                        const float *wsum, float *gb)
{
    size_t nb = (size_t)m->n_bins;
    int nm = m->cfg.n_mels;
    for (size_t k = 0; k < nb; k++)
        m->mag[k] = sqrtf(spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1]);
    for (int j = 0; j < nm; j++) {
        const float *w = m->fb + (size_t)j * nb;
        float acc = 0.0f;
        for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
            acc += w[k] * m->mag[k];
        float l = logmel[j];
        float want = expf(isnan(l) ? logf(m->cfg.log_floor) : l < 30.0f ? l : 30.0f);
        float g = want / (acc > 1e-12f ? acc : 1e-12f);
        gb[j] = g > max_gain ? max_gain : g < 1 / max_gain ? 1 / max_gain : g;
    }
    /* the bin gains: the bands' gains averaged with the filterbank's weights (m->mag is
     * free again) */
    float *gk = m->mag;
    memset(gk, 0, nb * sizeof *gk);
    for (int j = 0; j < nm; j++)
        for (int k = m->fb_lo[j]; k < m->fb_hi[j]; k++)
            gk[k] += m->fb[(size_t)j * nb + k] * gb[j];
    for (size_t k = 0; k < nb; k++) {
        float g = wsum[k] > 0 ? gk[k] / wsum[k] : 1.0f;
        spec[2 * k] *= g;
        spec[2 * k + 1] *= g;
    }
}

int tts_mel_match_envelope(tts_mel *m, float *pcm, size_t n, const float *logmel,
                           size_t n_frames, int n_iter, float max_gain, tts_err *err)
{
    if (!m || (n > 0 && !pcm) || (n_frames > 0 && !logmel))
        return tts_seterr(err, TTS_E_INVALID, "envelope match: NULL argument");
    if (!(max_gain >= 1))
        return tts_seterr(err, TTS_E_INVALID, "envelope match: max_gain %g < 1", max_gain);
    if (n == 0 || n_frames == 0 || n_iter <= 0)
        return TTS_OK;
    int nm = m->cfg.n_mels;
    size_t nb = (size_t)m->n_bins, T = tts_stft_n_frames(m->stft, n);
    float *spec = malloc(sizeof(float) * 2 * T * nb);
    float *wsum = malloc(sizeof(float) * nb), *gb = malloc(sizeof(float) * (size_t)nm);
    if (!spec || !wsum || !gb) {
        free(spec);
        free(wsum);
        free(gb);
        return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
    }
    band_weight_sums(m, wsum);
    int rc = TTS_OK;
    for (int it = 0; it < n_iter && !rc; it++) {
        if ((rc = tts_stft_forward(m->stft, pcm, n, spec, err)))
            break;
        for (size_t t = 0; t < T; t++)
            match_frame(m, spec + 2 * t * nb,
                        logmel + (t < n_frames ? t : n_frames - 1) * (size_t)nm, max_gain, wsum,
                        gb);
        rc = tts_stft_inverse(m->stft, spec, T, pcm, n, err);
    }
    free(spec);
    free(wsum);
    free(gb);
    return rc;
}

/* ---- the same, streaming ----------------------------------------------------------------
 * One pass is a stage that sees the samples in order: frame t is matched as soon as the
 * samples under its window are in (its right half; at the start the reflect padding reads
 * samples as far as the window's width), and a sample leaves once every frame whose window
 * covers it has been added: the samples before frame t_next's window. n_iter stages in a
 * chain make the n_iter passes. The same operations in the same order as the batched
 * function, on the same FFTW plans' kind. */

typedef struct {
    float *x;          /* input samples [x_base, x_base + x_len) */
    size_t x_base, x_len, x_cap;
    float *acc, *ws;   /* overlap-add sums for samples [o_base, o_base + o_len) */
    size_t o_base, o_len, o_cap;
    size_t n_in;       /* samples received */
    size_t t_next;     /* next frame to match */
} env_stage;

struct tts_envmatch {
    tts_mel *mel;
    int n_pass;
    float max_gain;
    env_stage st[TTS_ENVMATCH_MAX_PASSES];
    float *frames;     /* logmel of frames [f_base, f_base + f_len) */
    size_t f_base, f_len, f_cap, f_n;
    float *wsum, *gb, *seg, *tmp; /* scratch; tmp: one stage's output on its way down */
    size_t tmp_cap;
};

static int grow(float **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    float *q = realloc(*p, c * sizeof *q);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int tts_envmatch_create(tts_envmatch **out, const tts_audio_cfg *cfg, int n_pass,
                        float max_gain, tts_err *err)
{
    if (!out || !cfg)
        return tts_seterr(err, TTS_E_INVALID, "envelope match: NULL argument");
    *out = NULL;
    if (n_pass < 1 || n_pass > TTS_ENVMATCH_MAX_PASSES)
        return tts_seterr(err, TTS_E_INVALID, "envelope match: %d passes (1 to %d)", n_pass,
                          TTS_ENVMATCH_MAX_PASSES);
    if (!(max_gain >= 1))
        return tts_seterr(err, TTS_E_INVALID, "envelope match: max_gain %g < 1", max_gain);
    tts_envmatch *e = calloc(1, sizeof *e);
    if (!e)
        return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
    int rc = tts_mel_create(&e->mel, cfg, err);
    if (rc) {
        free(e);
        return rc;
    }
    e->n_pass = n_pass;
    e->max_gain = max_gain;
    size_t nb = (size_t)e->mel->n_bins;
    e->wsum = malloc(nb * sizeof(float));
    e->gb = malloc((size_t)cfg->n_mels * sizeof(float));
    e->seg = malloc((size_t)cfg->win_length * sizeof(float));
    if (!e->wsum || !e->gb || !e->seg) {
        tts_envmatch_free(e);
        return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
    }
    band_weight_sums(e->mel, e->wsum);
    *out = e;
    return TTS_OK;
}

void tts_envmatch_free(tts_envmatch *e)
{
    if (!e)
        return;
    for (int p = 0; p < TTS_ENVMATCH_MAX_PASSES; p++) {
        free(e->st[p].x);
        free(e->st[p].acc);
        free(e->st[p].ws);
    }
    free(e->frames);
    free(e->wsum);
    free(e->gb);
    free(e->seg);
    free(e->tmp);
    tts_mel_free(e->mel);
    free(e);
}

void tts_envmatch_reset(tts_envmatch *e)
{
    for (int p = 0; p < e->n_pass; p++) {
        env_stage *s = &e->st[p];
        s->x_base = s->x_len = s->o_base = s->o_len = s->n_in = s->t_next = 0;
    }
    e->f_base = e->f_len = e->f_n = 0;
}

int tts_envmatch_push_frame(tts_envmatch *e, const float *logmel, tts_err *err)
{
    int nm = e->mel->cfg.n_mels;
    /* keep the frames from the slowest stage's next one (and always the last) */
    size_t keep = e->f_n ? e->f_n - 1 : 0;
    for (int p = 0; p < e->n_pass; p++)
        keep = e->st[p].t_next < keep ? e->st[p].t_next : keep;
    if (keep > e->f_base) {
        size_t drop = keep - e->f_base;
        memmove(e->frames, e->frames + drop * nm, (e->f_len - drop) * nm * sizeof(float));
        e->f_base = keep;
        e->f_len -= drop;
    }
    size_t cap_frames = e->f_cap / (size_t)nm;
    if (e->f_len + 1 > cap_frames) {
        size_t c = e->f_cap;
        if (grow(&e->frames, &c, (e->f_len + 1) * nm))
            return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
        e->f_cap = c;
    }
    memcpy(e->frames + e->f_len * nm, logmel, (size_t)nm * sizeof(float));
    e->f_len++;
    e->f_n++;
    return TTS_OK;
}

static const float *frame_of(const tts_envmatch *e, size_t t)
{
    size_t last = e->f_n - 1;
    return e->frames + ((t < last ? t : last) - e->f_base) * (size_t)e->mel->cfg.n_mels;
}

/* Matches stage s's frames that can be (all of them when final, n_in then being the
 * whole signal's length), then appends its finished samples to e->tmp[*n_tmp...). */
static int stage_run(tts_envmatch *e, env_stage *s, int final, size_t *n_tmp, tts_err *err)
{
    tts_stft *st = e->mel->stft;
    size_t hop = (size_t)e->mel->cfg.hop_length;
    size_t n = s->n_in, T_all = n / hop + 1;
    for (;;) {
        size_t t = s->t_next;
        if (t >= T_all || (!final && t >= e->f_n))
            break;
        int64_t first;
        int W = tts__stft_first_sample(st, t, &first);
        int64_t need = first + W - 1 > -first ? first + W - 1 : -first;
        if (!final && need >= (int64_t)n)
            break;
        if (final && first >= (int64_t)n)
            break; /* as the batched inverse: no frame starts past the end */
        s->t_next = t + 1;
        if (first + W <= 0 || n == 0)
            continue;
        for (int i = 0; i < W; i++) {
            int64_t j = first + i;
            size_t idx = j >= 0 && j < (int64_t)n ? (size_t)j : tts__stft_reflect(j, n);
            e->seg[i] = s->x[idx - s->x_base];
        }
        float *spec = tts__stft_seg_forward(st, e->seg);
        match_frame(e->mel, spec, frame_of(e, t), e->max_gain, e->wsum, e->gb);
        /* overlap-add into [first, first + W) within [0, n) */
        int i0 = first < 0 ? (int)-first : 0;
        int i1 = first + W > (int64_t)n ? (int)((int64_t)n - first) : W;
        size_t end = (size_t)(first + i1);
        if (end > s->o_base + s->o_len) {
            size_t len = end - s->o_base, c1 = s->o_cap, c2 = s->o_cap;
            if (grow(&s->acc, &c1, len) || grow(&s->ws, &c2, len))
                return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
            s->o_cap = c1 < c2 ? c1 : c2;
            memset(s->acc + s->o_len, 0, (len - s->o_len) * sizeof(float));
            memset(s->ws + s->o_len, 0, (len - s->o_len) * sizeof(float));
            s->o_len = len;
        }
        int64_t rel = first - (int64_t)s->o_base;
        tts__stft_seg_overlap_add(st, s->acc + rel, s->ws + rel, i0, i1);
    }
    /* finished samples: before the next frame's window, or all of them */
    size_t done = s->o_base + s->o_len;
    if (!final) {
        int64_t first;
        tts__stft_first_sample(st, s->t_next, &first);
        done = first > 0 ? (size_t)first : 0;
        if (done > s->o_base + s->o_len)
            done = s->o_base + s->o_len;
    } else if (done < n) {
        done = n; /* samples no window reached (a tiny signal): zeros, as batched */
    }
    if (done > s->o_base) {
        size_t k = done - s->o_base;
        if (grow(&e->tmp, &e->tmp_cap, *n_tmp + k))
            return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
        float *o = e->tmp + *n_tmp;
        for (size_t i = 0; i < k; i++) {
            float a = i < s->o_len ? s->acc[i] : 0, w = i < s->o_len ? s->ws[i] : 0;
            o[i] = w > 1e-10f ? a / w : a;
        }
        *n_tmp += k;
        size_t used = k < s->o_len ? k : s->o_len;
        memmove(s->acc, s->acc + used, (s->o_len - used) * sizeof(float));
        memmove(s->ws, s->ws + used, (s->o_len - used) * sizeof(float));
        s->o_len -= used;
        s->o_base = done;
    }
    /* input no frame to come will read: before the next frame's window, less one window
     * (at the end the reflect padding reads back up to a window from where it starts) */
    int64_t first;
    int W = tts__stft_first_sample(st, s->t_next, &first);
    if (first - W > (int64_t)s->x_base) {
        size_t drop = (size_t)(first - W) - s->x_base;
        drop = drop < s->x_len ? drop : s->x_len;
        memmove(s->x, s->x + drop, (s->x_len - drop) * sizeof(float));
        s->x_len -= drop;
        s->x_base += drop;
    }
    return TTS_OK;
}

/* feeds pcm[n] to the first stage and what each stage gives out to the next; the last
 * stage's output is appended to out (cap floats; *n_out in/out) */
static int chain(tts_envmatch *e, const float *pcm, size_t n, int final, float *out, size_t cap,
                 size_t *n_out, tts_err *err)
{
    const float *in = pcm;
    for (int p = 0; p < e->n_pass; p++) {
        env_stage *s = &e->st[p];
        size_t c = s->x_cap;
        if (grow(&s->x, &c, s->x_len + n))
            return tts_seterr(err, TTS_E_NOMEM, "envelope match: out of memory");
        s->x_cap = c;
        if (n)
            memcpy(s->x + s->x_len, in, n * sizeof(float));
        s->x_len += n;
        s->n_in += n;
        size_t k = 0; /* stage_run overwrites e->tmp: its input was copied just above */
        int rc = stage_run(e, s, final, &k, err);
        if (rc)
            return rc;
        in = e->tmp;
        n = k;
    }
    if (*n_out + n > cap)
        return tts_seterr(err, TTS_E_INVALID, "envelope match: output buffer too small");
    if (n)
        memcpy(out + *n_out, in, n * sizeof(float));
    *n_out += n;
    return TTS_OK;
}

int tts_envmatch_push(tts_envmatch *e, const float *pcm, size_t n, float *out, size_t cap,
                      size_t *n_out, tts_err *err)
{
    if (!e || !n_out || (n > 0 && !pcm) || (cap > 0 && !out))
        return tts_seterr(err, TTS_E_INVALID, "envelope match: NULL argument");
    *n_out = 0;
    return chain(e, pcm, n, 0, out, cap, n_out, err);
}

int tts_envmatch_finish(tts_envmatch *e, float *out, size_t cap, size_t *n_out, tts_err *err)
{
    if (!e || !n_out || (cap > 0 && !out))
        return tts_seterr(err, TTS_E_INVALID, "envelope match: NULL argument");
    *n_out = 0;
    if (e->f_n == 0) { /* no frames: nothing to match (as batched), the samples pass as
                        * they came; with no frame none has left the first stage */
        env_stage *s = &e->st[0];
        if (s->x_len > cap)
            return tts_seterr(err, TTS_E_INVALID, "envelope match: output buffer too small");
        if (s->x_len)
            memcpy(out, s->x, s->x_len * sizeof(float));
        *n_out = s->x_len;
        return TTS_OK;
    }
    /* each stage in turn: its last samples go to the next, which then finishes too */
    return chain(e, NULL, 0, 1, out, cap, n_out, err);
}

size_t tts_envmatch_delay(const tts_envmatch *e)
{
    /* per pass: a frame waits for the right half of its window, and a sample for the
     * frame whose window starts after it: one window length */
    return (size_t)e->n_pass * (size_t)e->mel->cfg.win_length;
}
