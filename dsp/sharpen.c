/* The modulation sharpening of log-mel frames (dsp.h, tts_sharpen): streamed, with the
 * whole-utterance call made of the same pushes so the two agree bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

struct tts_sharpen {
    int n_mels, half;   /* frames each side of the centre: (width - 1) / 2 */
    float amount;
    float *ring;        /* the last 2 * half + 1 frames, frame i in slot i % (2 * half + 1) */
    size_t pushed, out; /* frames in, frames out */
};

int tts_sharpen_valid(float amount, int width)
{
    return amount >= 0 && amount <= TTS_SHARPEN_MAX_AMOUNT && width >= 3 &&
           width <= TTS_SHARPEN_MAX_WIDTH && width % 2 == 1;
}

int tts_sharpen_create(tts_sharpen **out, int n_mels, float amount, int width, tts_err *err)
{
    *out = NULL;
    if (n_mels < 1 || n_mels > 4096)
        return tts_seterr(err, TTS_E_INVALID, "sharpening: %d mel bands is outside 1 .. 4096",
                          n_mels);
    if (!tts_sharpen_valid(amount, width))
        return tts_seterr(err, TTS_E_INVALID, "sharpening: amount %g, width %d: wants an "
                          "amount in 0 .. %g and an odd width in 3 .. %d", amount, width,
                          TTS_SHARPEN_MAX_AMOUNT, TTS_SHARPEN_MAX_WIDTH);
    tts_sharpen *s = calloc(1, sizeof *s);
    if (s)
        s->ring = malloc(sizeof(float) * (size_t)width * (size_t)n_mels);
    if (!s || !s->ring) {
        tts_sharpen_free(s);
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    }
    s->n_mels = n_mels;
    s->half = width / 2;
    s->amount = amount;
    *out = s;
    return TTS_OK;
}

void tts_sharpen_free(tts_sharpen *s)
{
    if (!s)
        return;
    free(s->ring);
    free(s);
}

void tts_sharpen_reset(tts_sharpen *s)
{
    s->pushed = s->out = 0;
}

int tts_sharpen_delay(const tts_sharpen *s)
{
    return s->half;
}

static const float *frame_at(const tts_sharpen *s, size_t i)
{
    return s->ring + (i % (size_t)(2 * s->half + 1)) * (size_t)s->n_mels;
}

/* frame s->out from its neighbours, indices clamped to [0, last] */
static void emit(tts_sharpen *s, size_t last, float *y)
{
    size_t j = s->out++;
    int w = 2 * s->half + 1;
    const float *c = frame_at(s, j);
    for (int b = 0; b < s->n_mels; b++)
        y[b] = 0;
    for (int k = -s->half; k <= s->half; k++) {
        size_t i = k < 0 ? (j >= (size_t)-k ? j + k : 0) : (j + k <= last ? j + k : last);
        const float *x = frame_at(s, i);
        for (int b = 0; b < s->n_mels; b++)
            y[b] += x[b];
    }
    for (int b = 0; b < s->n_mels; b++)
        y[b] = c[b] + s->amount * (c[b] - y[b] / (float)w);
}

int tts_sharpen_push(tts_sharpen *s, const float *frame, float *out)
{
    size_t i = s->pushed++;
    memcpy(s->ring + (i % (size_t)(2 * s->half + 1)) * (size_t)s->n_mels, frame,
           sizeof(float) * (size_t)s->n_mels);
    if (i < (size_t)s->half)
        return 0;
    emit(s, i, out);
    return 1;
}

int tts_sharpen_flush(tts_sharpen *s, float *out)
{
    if (s->out >= s->pushed)
        return 0;
    emit(s, s->pushed - 1, out);
    return 1;
}

int tts_sharpen_frames(float *x, size_t n, int n_mels, float amount, int width, tts_err *err)
{
    tts_sharpen *s;
    int rc = tts_sharpen_create(&s, n_mels, amount, width, err);
    if (rc)
        return rc;
    /* frame j is written once frames up to j + half are in the ring: in place is safe */
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        j += (size_t)tts_sharpen_push(s, x + i * (size_t)n_mels, x + j * (size_t)n_mels);
    while (tts_sharpen_flush(s, x + j * (size_t)n_mels))
        j++;
    tts_sharpen_free(s);
    return TTS_OK;
}
