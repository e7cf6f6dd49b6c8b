/*
 * audio/ring.h — lock-free single-producer / single-consumer ring of float samples,
 * the buffer between the synthesis thread and the audio callback (internal to audio/,
 * exposed for tests).
 *
 * One thread pushes (tts_ring_push, tts_ring_end), one other thread fills
 * (tts_ring_fill); neither ever blocks or takes a lock, so the consumer may be a
 * real-time audio callback. Indices are free-running counters published with
 * release/acquire ordering.
 */
#ifndef TTS_AUDIO_RING_H
#define TTS_AUDIO_RING_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct {
    float *buf;
    size_t cap, mask;                 /* capacity: a power of two */
    _Atomic size_t head;              /* total samples written (producer) */
    _Atomic size_t tail;              /* total samples read (consumer) */
    _Atomic int ended;                /* producer: no more samples will come */
    _Atomic unsigned long underruns;  /* fills that came up short before the end */
} tts_ring;

/* Capacity is min_capacity rounded up to a power of two. 0 or TTS_E_NOMEM. */
int tts_ring_init(tts_ring *r, size_t min_capacity);
void tts_ring_destroy(tts_ring *r);

/* Producer: copies up to n samples in, returns how many fitted (never blocks). */
size_t tts_ring_push(tts_ring *r, const float *x, size_t n);
/* Producer: no more samples. */
void tts_ring_end(tts_ring *r);

/* Either side: samples waiting / free space (a snapshot). */
size_t tts_ring_used(tts_ring *r);
size_t tts_ring_space(tts_ring *r);

/* Consumer: fills out[0..n) with waiting samples, zero-padded; a short fill before the
 * producer ended counts one underrun. Returns the number of real samples; *finished is
 * set to 1 when the producer has ended and every sample has been consumed. */
size_t tts_ring_fill(tts_ring *r, float *out, size_t n, int *finished);

#endif
