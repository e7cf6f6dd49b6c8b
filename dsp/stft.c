/* STFT / iSTFT with FFTW3 (single precision), centred frames, reflect padding. */
#include "dsp/dsp.h"
#include "dsp/dsp_internal.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t fftw_planner_mutex = PTHREAD_MUTEX_INITIALIZER;

void tts_fftw_lock(void) { pthread_mutex_lock(&fftw_planner_mutex); }
void tts_fftw_unlock(void) { pthread_mutex_unlock(&fftw_planner_mutex); }

tts_audio_cfg tts_audio_cfg_default(void)
{
    tts_audio_cfg c;
    c.sample_rate = 16000;
    c.n_fft = 1024;
    c.win_length = 800;
    c.hop_length = 200;
    c.n_mels = 80;
    c.fmin = 0.0f;
    c.fmax = 8000.0f;
    c.log_floor = 1e-5f;
    return c;
}

int tts_audio_cfg_check(const tts_audio_cfg *c, tts_err *err)
{
    if (!c)
        return tts_seterr(err, TTS_E_INVALID, "audio settings: NULL");
    if (c->sample_rate < 1000 || c->sample_rate > 768000)
        return tts_seterr(err, TTS_E_INVALID, "audio settings: sample rate %d Hz out of range",
                          c->sample_rate);
    if (c->n_fft < 2 || c->n_fft > (1 << 20) || c->n_fft % 2 != 0)
        return tts_seterr(err, TTS_E_INVALID,
                          "audio settings: n_fft %d must be even and in [2, 2^20]", c->n_fft);
    if (c->win_length < 1 || c->win_length > c->n_fft)
        return tts_seterr(err, TTS_E_INVALID,
                          "audio settings: window length %d must be in [1, n_fft = %d]",
                          c->win_length, c->n_fft);
    if (c->hop_length < 1 || c->hop_length > c->win_length)
        return tts_seterr(err, TTS_E_INVALID,
                          "audio settings: hop length %d must be in [1, window length = %d]",
                          c->hop_length, c->win_length);
    if (c->n_mels < 1 || c->n_mels > c->n_fft / 2 + 1)
        return tts_seterr(err, TTS_E_INVALID,
                          "audio settings: %d mel bands must be in [1, n_fft/2+1 = %d]",
                          c->n_mels, c->n_fft / 2 + 1);
    if (!(c->fmin >= 0.0f) || !(c->fmax > c->fmin) ||
        !(c->fmax <= 0.5f * (float)c->sample_rate * (1.0f + 1e-6f)))
        return tts_seterr(err, TTS_E_INVALID,
                          "audio settings: mel range %g-%g Hz must satisfy "
                          "0 <= fmin < fmax <= sample_rate/2 = %g",
                          (double)c->fmin, (double)c->fmax, 0.5 * c->sample_rate);
    if (!(c->log_floor > 0.0f) || !isfinite(c->log_floor))
        return tts_seterr(err, TTS_E_INVALID, "audio settings: log floor %g must be > 0",
                          (double)c->log_floor);
    return TTS_OK;
}

struct tts_stft {
    int n_fft, win_length, hop_length, n_bins;
    int win_offset;        /* first sample of the window inside the n_fft frame */
    float *window;         /* win_length */
    float *rbuf;           /* n_fft, fftwf_malloc'd */
    fftwf_complex *cbuf;   /* n_bins, fftwf_malloc'd */
    fftwf_plan fwd, inv;
};

int tts_stft_create(tts_stft **out, int n_fft, int win_length, int hop_length,
                    tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "stft: NULL output pointer");
    *out = NULL;
    if (n_fft < 2 || n_fft > (1 << 20) || n_fft % 2 != 0)
        return tts_seterr(err, TTS_E_INVALID, "stft: n_fft %d must be even and in [2, 2^20]",
                          n_fft);
    if (win_length < 1 || win_length > n_fft)
        return tts_seterr(err, TTS_E_INVALID, "stft: window length %d must be in [1, %d]",
                          win_length, n_fft);
    if (hop_length < 1)
        return tts_seterr(err, TTS_E_INVALID, "stft: hop length %d must be >= 1", hop_length);

    tts_stft *s = calloc(1, sizeof *s);
    if (!s)
        return tts_seterr(err, TTS_E_NOMEM, "stft: out of memory");
    s->n_fft = n_fft;
    s->win_length = win_length;
    s->hop_length = hop_length;
    s->n_bins = n_fft / 2 + 1;
    s->win_offset = (n_fft - win_length) / 2;
    s->window = malloc((size_t)win_length * sizeof *s->window);
    s->rbuf = fftwf_malloc((size_t)n_fft * sizeof *s->rbuf);
    s->cbuf = fftwf_malloc((size_t)s->n_bins * sizeof *s->cbuf);
    if (!s->window || !s->rbuf || !s->cbuf) {
        tts_stft_free(s);
        return tts_seterr(err, TTS_E_NOMEM, "stft: out of memory");
    }
    /* Periodic Hann (scipy.signal.get_window('hann', N, fftbins=True)). */
    for (int i = 0; i < win_length; i++)
        s->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / win_length));

    tts_fftw_lock();
    s->fwd = fftwf_plan_dft_r2c_1d(n_fft, s->rbuf, s->cbuf, FFTW_ESTIMATE);
    s->inv = fftwf_plan_dft_c2r_1d(n_fft, s->cbuf, s->rbuf, FFTW_ESTIMATE);
    tts_fftw_unlock();
    if (!s->fwd || !s->inv) {
        tts_stft_free(s);
        return tts_seterr(err, TTS_E_INTERNAL, "stft: FFTW could not plan a size-%d FFT", n_fft);
    }
    *out = s;
    return TTS_OK;
}

void tts_stft_free(tts_stft *s)
{
    if (!s)
        return;
    tts_fftw_lock();
    if (s->fwd)
        fftwf_destroy_plan(s->fwd);
    if (s->inv)
        fftwf_destroy_plan(s->inv);
    tts_fftw_unlock();
    fftwf_free(s->rbuf);
    fftwf_free(s->cbuf);
    free(s->window);
    free(s);
}

int tts_stft_n_bins(const tts_stft *s) { return s->n_bins; }
int tts_stft_hop_length(const tts_stft *s) { return s->hop_length; }

size_t tts_stft_n_frames(const tts_stft *s, size_t n) { return n / (size_t)s->hop_length + 1; }

const float *tts_stft_window(const tts_stft *s) { return s->window; }

/* Index into a signal of n samples reflected at both ends ("reflect" mode, edge sample
 * not repeated), repeating the reflection if j is further out than n - 1. */
static size_t reflect_index(int64_t j, size_t n)
{
    if (n == 1)
        return 0;
    int64_t period = 2 * ((int64_t)n - 1);
    j %= period;
    if (j < 0)
        j += period;
    if (j >= (int64_t)n)
        j = period - j;
    return (size_t)j;
}

/* Windowed frame t of pcm into s->rbuf, then FFT into s->cbuf. */
static void analyze_frame(tts_stft *s, const float *pcm, size_t n, size_t t)
{
    float *r = s->rbuf;
    int off = s->win_offset, W = s->win_length;
    memset(r, 0, (size_t)s->n_fft * sizeof *r);
    if (n > 0) {
        int64_t first = (int64_t)(t * (size_t)s->hop_length) - s->n_fft / 2 + off;
        if (first >= 0 && first + W <= (int64_t)n) {
            const float *x = pcm + first;
            for (int i = 0; i < W; i++)
                r[off + i] = x[i] * s->window[i];
        } else {
            for (int i = 0; i < W; i++)
                r[off + i] = pcm[reflect_index(first + i, n)] * s->window[i];
        }
    }
    fftwf_execute(s->fwd);
}

int tts_stft_forward(tts_stft *s, const float *pcm, size_t n, float *spec, tts_err *err)
{
    if (!s || !spec || (n > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "stft: NULL argument");
    size_t nf = tts_stft_n_frames(s, n), nb = (size_t)s->n_bins;
    for (size_t t = 0; t < nf; t++) {
        analyze_frame(s, pcm, n, t);
        memcpy(spec + t * nb * 2, s->cbuf, nb * sizeof(fftwf_complex));
    }
    return TTS_OK;
}

void tts__stft_frame_magnitude(tts_stft *s, const float *pcm, size_t n, size_t t, float *mag)
{
    analyze_frame(s, pcm, n, t);
    for (int k = 0; k < s->n_bins; k++)
        mag[k] = sqrtf(s->cbuf[k][0] * s->cbuf[k][0] + s->cbuf[k][1] * s->cbuf[k][1]);
}

int tts_stft_magnitude(tts_stft *s, const float *pcm, size_t n, float *mag, tts_err *err)
{
    if (!s || !mag || (n > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "stft: NULL argument");
    size_t nf = tts_stft_n_frames(s, n), nb = (size_t)s->n_bins;
    for (size_t t = 0; t < nf; t++)
        tts__stft_frame_magnitude(s, pcm, n, t, mag + t * nb);
    return TTS_OK;
}

int tts_stft_inverse(tts_stft *s, const float *spec, size_t n_frames, float *pcm,
                     size_t n_out, tts_err *err)
{
    if (!s || (n_out > 0 && !pcm) || (n_frames > 0 && !spec))
        return tts_seterr(err, TTS_E_INVALID, "istft: NULL argument");
    if (n_out == 0)
        return TTS_OK;
    float *wsum = calloc(n_out, sizeof *wsum);
    if (!wsum)
        return tts_seterr(err, TTS_E_NOMEM, "istft: out of memory for %zu samples", n_out);
    memset(pcm, 0, n_out * sizeof *pcm);

    size_t nb = (size_t)s->n_bins;
    int off = s->win_offset, W = s->win_length;
    float scale = 1.0f / (float)s->n_fft;
    for (size_t t = 0; t < n_frames; t++) {
        int64_t first = (int64_t)(t * (size_t)s->hop_length) - s->n_fft / 2 + off;
        if (first >= (int64_t)n_out)
            break;
        if (first + W <= 0)
            continue;
        memcpy(s->cbuf, spec + t * nb * 2, nb * sizeof(fftwf_complex));
        fftwf_execute(s->inv);
        int i0 = first < 0 ? (int)-first : 0;
        int i1 = first + W > (int64_t)n_out ? (int)((int64_t)n_out - first) : W;
        for (int i = i0; i < i1; i++) {
            float w = s->window[i];
            pcm[first + i] += s->rbuf[off + i] * scale * w;
            wsum[first + i] += w * w;
        }
    }
    /* Where (almost) no window overlaps, leave the (near-zero) sum as it is. */
    for (size_t i = 0; i < n_out; i++)
        if (wsum[i] > 1e-10f)
            pcm[i] /= wsum[i];
    free(wsum);
    return TTS_OK;
}

/* ---- frame by frame, for streaming stages (dsp_internal.h) ---- */

float *tts__stft_seg_forward(tts_stft *s, const float *seg)
{
    float *r = s->rbuf;
    int off = s->win_offset, W = s->win_length;
    memset(r, 0, (size_t)s->n_fft * sizeof *r);
    for (int i = 0; i < W; i++)
        r[off + i] = seg[i] * s->window[i];
    fftwf_execute(s->fwd);
    return (float *)s->cbuf;
}

void tts__stft_seg_overlap_add(tts_stft *s, float *acc, float *wsum, int i0, int i1)
{
    int off = s->win_offset;
    float scale = 1.0f / (float)s->n_fft;
    fftwf_execute(s->inv);
    for (int i = i0; i < i1; i++) {
        float w = s->window[i];
        acc[i] += s->rbuf[off + i] * scale * w;
        wsum[i] += w * w;
    }
}

int tts__stft_first_sample(const tts_stft *s, size_t t, int64_t *first)
{
    *first = (int64_t)(t * (size_t)s->hop_length) - s->n_fft / 2 + s->win_offset;
    return s->win_length;
}

size_t tts__stft_reflect(int64_t j, size_t n) { return reflect_index(j, n); }
