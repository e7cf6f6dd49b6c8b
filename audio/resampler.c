/* Streaming sample-rate conversion through libsoxr: see resampler.h. */
#include "audio/resampler.h"

#include <stdlib.h>

#include <soxr.h>

struct tts_resampler {
    soxr_t s;
    double ratio;  /* out / in */
    float *buf;
    size_t cap;
    int ended;
};

int tts_resampler_open(tts_resampler **out, int in_rate, int out_rate, tts_err *err)
{
    *out = NULL;
    if (in_rate < TTS_RATE_MIN || in_rate > TTS_RATE_MAX || out_rate < TTS_RATE_MIN ||
        out_rate > TTS_RATE_MAX)
        return tts_seterr(err, TTS_E_INVALID, "sample rate %d Hz is outside %d .. %d",
                          in_rate < TTS_RATE_MIN || in_rate > TTS_RATE_MAX ? in_rate : out_rate,
                          TTS_RATE_MIN, TTS_RATE_MAX);
    tts_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    soxr_error_t e = NULL;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    r->s = soxr_create(in_rate, out_rate, 1, &e, &io, &q, NULL);
    if (!r->s || e) {
        free(r);
        return tts_seterr(err, TTS_E_NOMEM, "cannot make a resampler %d -> %d Hz: %s",
                          in_rate, out_rate, e ? e : "soxr_create failed");
    }
    r->ratio = (double)out_rate / in_rate;
    *out = r;
    return TTS_OK;
}

int tts_resampler_push(tts_resampler *r, const float *in, size_t n, const float **out,
                       size_t *n_out, tts_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (r->ended)
        return n ? tts_seterr(err, TTS_E_INVALID, "resampler: input after its end") : TTS_OK;
    /* room for what n samples make, plus what the converter holds back (flushed at the end) */
    size_t want = (size_t)((double)n * r->ratio) + 4096;
    if (want > r->cap) {
        float *b = realloc(r->buf, want * sizeof *b);
        if (!b)
            return tts_seterr(err, TTS_E_NOMEM, "out of memory");
        r->buf = b;
        r->cap = want;
    }
    size_t done_in = 0, done_out = 0;
    if (!in || !n) { /* the end: drain all it holds */
        r->ended = 1;
        for (;;) {
            size_t got = 0;
            soxr_error_t e = soxr_process(r->s, NULL, 0, NULL, r->buf + done_out,
                                          r->cap - done_out, &got);
            if (e)
                return tts_seterr(err, TTS_E_INTERNAL, "resampler: %s", e);
            done_out += got;
            if (got == 0)
                break;
            if (done_out == r->cap) {
                float *b = realloc(r->buf, 2 * r->cap * sizeof *b);
                if (!b)
                    return tts_seterr(err, TTS_E_NOMEM, "out of memory");
                r->buf = b;
                r->cap *= 2;
            }
        }
    } else {
        soxr_error_t e = soxr_process(r->s, in, n, &done_in, r->buf, r->cap, &done_out);
        if (e)
            return tts_seterr(err, TTS_E_INTERNAL, "resampler: %s", e);
        if (done_in != n)
            return tts_seterr(err, TTS_E_INTERNAL, "resampler took %zu of %zu samples",
                              done_in, n);
    }
    *out = r->buf;
    *n_out = done_out;
    return TTS_OK;
}

void tts_resampler_close(tts_resampler *r)
{
    if (!r)
        return;
    soxr_delete(r->s);
    free(r->buf);
    free(r);
}
