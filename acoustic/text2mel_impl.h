/*
 * The acoustic model's internals that its synthesis (acoustic/text2mel.c, in the library)
 * and its training (acoustic/text2mel_train.c, in tts-train) share. Not part of any API.
 */
#ifndef TTS_ACOUSTIC_TEXT2MEL_IMPL_H
#define TTS_ACOUSTIC_TEXT2MEL_IMPL_H

#include "acoustic/text2mel.h"

/* a layer's activations in a batched pass, kept for the backward pass */
typedef struct {
    float *h, *y;        /* conv output [T, conv_out], layer output [T, cout] (y == h for NONE) */
    float *xd;           /* the conv's input after dropout [T, cin] (NULL: no dropout) */
    unsigned char *mask; /* its dropout mask */
} layer_act;

/* channels a conv outputs (a highway's twice its layer's) */
int t2m_conv_out(const t2m_conv *c);
/* n floats from the arena (NULL: the reservation is used up); _zeros: set to 0 */
float *t2m_arena_floats(t2m_arena *a, size_t n);
float *t2m_arena_zeros(t2m_arena *a, size_t n);
/* empties the arena, at least bytes in it: 0 or -1 */
int t2m_arena_reserve(t2m_arena *a, size_t bytes);
/* floats a stack needs per time step: activations plus backward temporaries */
size_t t2m_stack_floats_per_step(const t2m_stack *s);
/* a stack over T steps, batched, activations into act[] from the arena; p_drop > 0
 * (training): dropout on every conv's input (rng), not on the highway carry. 0 or -1. */
int t2m_stack_forward(const t2m_stack *s, const float *P, const float *x, int T,
                      layer_act *act, t2m_arena *ar, float p_drop, uint64_t *rng);

/* The pitch predictor's input for ids[N]: KV [N, 2d] itself (pitch_ctx 0), or [N,
 * embed_dim + T2M_PROSODY_FEATS] from the arena: each token's embedding (E [N, embed_dim])
 * and its prosodic context. NULL: out of memory (or a pitch_ctx model without classes). */
const float *t2m_pitch_input(const t2m_model *m, const int *ids, int N, const float *E,
                             const float *KV, t2m_arena *ar);

#endif
