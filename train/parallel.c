#include "train/parallel.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

int tr_grads_zero(float **g, size_t count)
{
    if (!*g)
        *g = aligned_alloc(64, (count * sizeof(float) + 63) & ~(size_t)63);
    if (!*g)
        return -1;
    memset(*g, 0, count * sizeof(float));
    return 0;
}

void tr_run(void *workers, int n, size_t size, void *(*fn)(void *))
{
    pthread_t th[TR_MAX_THREADS];
    for (int t = 0; t < n; t++)
        pthread_create(&th[t], NULL, fn, (char *)workers + (size_t)t * size);
    for (int t = 0; t < n; t++)
        pthread_join(th[t], NULL);
}

void tr_grads_sum(float *out, const void *workers, int n, size_t size, size_t grads_off,
                  size_t count)
{
    for (int t = 0; t < n; t++) {
        const float *g;
        memcpy(&g, (const char *)workers + (size_t)t * size + grads_off, sizeof g);
        if (t == 0)
            memcpy(out, g, count * sizeof(float));
        else
            for (size_t j = 0; j < count; j++)
                out[j] += g[j];
    }
}

void tr_shuffle(int *v, int n, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 12345;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(nn_rand_u64(&s) % (uint64_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

int tr_pass(void *workers, int n, size_t size, size_t grads_off, size_t count, int train,
            void *(*fn)(void *), float *sum)
{
    float *saved[TR_MAX_THREADS];
    if (n < 1 || n > TR_MAX_THREADS)
        return -1;
    for (int t = 0; t < n; t++) {
        float **g = (float **)((char *)workers + (size_t)t * size + grads_off);
        if (train && tr_grads_zero(g, count))
            return -1;
        saved[t] = *g;
        if (!train)
            *g = NULL;
    }
    tr_run(workers, n, size, fn);
    for (int t = 0; t < n; t++)
        *(float **)((char *)workers + (size_t)t * size + grads_off) = saved[t];
    if (train)
        tr_grads_sum(sum, workers, n, size, grads_off, count);
    return 0;
}
