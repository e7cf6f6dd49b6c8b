/* Scratch memory of one thread: one block, grown on demand, handed out in 64-byte aligned
 * pieces and taken back all at once (nn_arena_reserve). The models' passes carve their
 * activations from it, so a training step or an utterance allocates nothing once warm. */
#ifndef TTS_NN_ARENA_H
#define TTS_NN_ARENA_H

#include <stddef.h>
#include <stdlib.h>

typedef struct {
    char *base;
    size_t size, used;
} nn_arena;

/* Empties the arena and makes sure it holds at least bytes; 0 or -1 (out of memory, the
 * arena then empty). */
static inline int nn_arena_reserve(nn_arena *a, size_t bytes)
{
    a->used = 0;
    if (a->size >= bytes)
        return 0;
    free(a->base);
    a->base = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    a->size = a->base ? bytes : 0;
    return a->base ? 0 : -1;
}

/* The next bytes (rounded up to 64), or NULL when the reservation is used up. */
static inline void *nn_arena_take(nn_arena *a, size_t bytes)
{
    bytes = (bytes + 63) & ~(size_t)63;
    if (a->used + bytes > a->size)
        return NULL;
    void *p = a->base + a->used;
    a->used += bytes;
    return p;
}

static inline void nn_arena_free(nn_arena *a)
{
    free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}

#endif
