/* Lock-free SPSC ring of float samples. */
#include "audio/ring.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tts.h"

int tts_ring_init(tts_ring *r, size_t min_capacity)
{
    size_t cap = 1;
    while (cap < min_capacity) {
        if (cap > SIZE_MAX / 2 / sizeof(float))
            return TTS_E_NOMEM;
        cap *= 2;
    }
    r->buf = calloc(cap, sizeof *r->buf);
    if (!r->buf)
        return TTS_E_NOMEM;
    r->cap = cap;
    r->mask = cap - 1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->ended, 0);
    atomic_init(&r->underruns, 0);
    return TTS_OK;
}

void tts_ring_destroy(tts_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

size_t tts_ring_push(tts_ring *r, const float *x, size_t n)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t space = r->cap - (head - tail);
    if (n > space)
        n = space;
    if (n == 0)
        return 0;
    size_t pos = head & r->mask, first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(r->buf + pos, x, first * sizeof *x);
    memcpy(r->buf, x + first, (n - first) * sizeof *x);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

void tts_ring_end(tts_ring *r) { atomic_store_explicit(&r->ended, 1, memory_order_release); }

size_t tts_ring_used(tts_ring *r)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    return head - tail;
}

size_t tts_ring_space(tts_ring *r) { return r->cap - tts_ring_used(r); }

size_t tts_ring_fill(tts_ring *r, float *out, size_t n, int *finished)
{
    /* Read `ended` before `head`: if the producer ended, every sample it pushed is then
     * visible, so "ended and nothing left" is never concluded too early. */
    int ended = atomic_load_explicit(&r->ended, memory_order_acquire);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t avail = head - tail, k = avail < n ? avail : n;
    size_t pos = tail & r->mask, first = r->cap - pos < k ? r->cap - pos : k;
    memcpy(out, r->buf + pos, first * sizeof *out);
    memcpy(out + first, r->buf, (k - first) * sizeof *out);
    atomic_store_explicit(&r->tail, tail + k, memory_order_release);
    if (k < n) {
        memset(out + k, 0, (n - k) * sizeof *out);
        if (!ended)
            atomic_fetch_add_explicit(&r->underruns, 1, memory_order_relaxed);
    }
    if (finished)
        *finished = ended && k == avail;
    return k;
}
