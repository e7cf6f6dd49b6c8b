/*
 * What both trainers do each step: split a batch over worker threads, each summing its
 * utterances' gradients into its own buffer (no locks), then add the buffers up.
 */
#ifndef TTS_TRAIN_PARALLEL_H
#define TTS_TRAIN_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

#define TR_MAX_THREADS 16

/* Makes *g a zeroed buffer of count floats (allocated on first use); 0 or -1. */
int tr_grads_zero(float **g, size_t count);

/* Runs fn on each of the n structs of size bytes at workers, one thread each, and waits. */
void tr_run(void *workers, int n, size_t size, void *(*fn)(void *));

/* out[count] = the sum of the n buffers g[i] (each at byte offset grads_off inside the
 * worker structs at workers, size bytes apart). */
void tr_grads_sum(float *out, const void *workers, int n, size_t size, size_t grads_off,
                  size_t count);

/* One pass of a step over n workers (structs of size bytes at workers, each with its
 * gradient buffer, a float *, at byte offset grads_off): with train, every buffer is zeroed
 * (count floats, allocated on first use) and, after fn has run on every worker (one thread
 * each), their sum goes to sum[count]; without, the workers see a NULL buffer for the pass
 * (forward only) and keep theirs afterwards. 0, or -1 when out of memory (nothing run). */
int tr_pass(void *workers, int n, size_t size, size_t grads_off, size_t count, int train,
            void *(*fn)(void *), float *sum);

/* A deterministic shuffle of v[n] from seed (the same permutation on every run). */
void tr_shuffle(int *v, int n, uint64_t seed);

#endif
