/*
 * server/pool.c — the engine pool (see pool.h).
 */
#include "pool.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipe.h"

typedef struct {
    srv_job_fn fn;
    void *arg;
} job;

typedef struct {
    srv_pool *pool;
    tts_engine *engine;
    pthread_t thread;
    int started;
    int released; /* the running job called srv_pool_job_ending */
} worker;

static _Thread_local worker *this_worker; /* in a worker thread: its worker */

struct srv_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stopping */
    pthread_cond_t idle; /* a job ended */
    job *queue;          /* ring of cap entries: the waiting jobs */
    size_t cap, head, n_waiting;
    int in_pool;         /* jobs waiting or running */
    int max_in_pool;     /* workers + queue */
    int stopping;        /* no more submits */
    int shut;            /* srv_pool_shutdown has finished */
    atomic_int cancelling;
    int sample_rate;
    char voice[3][256]; /* the voice's name, language and speaker, as its file states them */
    int n_workers;
    worker *workers;
};

/* the job w ran no longer counts (p->mu held) */
static void release(srv_pool *p, worker *w)
{
    if (!w->released) {
        w->released = 1;
        p->in_pool--;
        pthread_cond_broadcast(&p->idle);
    }
}

void srv_pool_job_ending(srv_pool *p)
{
    worker *w = this_worker;
    if (!w || w->pool != p)
        return;
    pthread_mutex_lock(&p->mu);
    release(p, w);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    srv_pool *p = w->pool;
    this_worker = w;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->n_waiting == 0 && !p->stopping)
            pthread_cond_wait(&p->work, &p->mu);
        /* when stopping, the queue is still drained here until cancelling is raised */
        if (p->n_waiting == 0 || atomic_load(&p->cancelling)) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        job j = p->queue[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n_waiting--;
        w->released = 0;
        pthread_mutex_unlock(&p->mu);

        j.fn(w->engine, j.arg);

        pthread_mutex_lock(&p->mu);
        release(p, w);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

int srv_pool_open(srv_pool **out, const tts_options *opts, int workers, int queue,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (workers < 1 || queue < 0) {
        snprintf(err, errlen, "pool: bad size (%d workers, queue %d)", workers, queue);
        return TTS_E_INVALID;
    }
    srv_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->workers = calloc((size_t)workers, sizeof *p->workers)) ||
        !(p->queue = calloc((size_t)workers + (size_t)queue, sizeof *p->queue))) {
        if (p)
            free(p->workers);
        free(p);
        snprintf(err, errlen, "pool: out of memory");
        return TTS_E_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->idle, &ca);
    pthread_condattr_destroy(&ca);
    p->cap = (size_t)workers + (size_t)queue;
    p->max_in_pool = workers + queue;
    p->n_workers = workers;
    atomic_init(&p->cancelling, 0);

    int rc = TTS_OK;
    for (int i = 0; i < workers && rc == TTS_OK; i++) {
        worker *w = &p->workers[i];
        w->pool = p;
        rc = tts_engine_open(&w->engine, opts);
        if (rc != TTS_OK) {
            snprintf(err, errlen, "%s", w->engine ? tts_engine_error(w->engine)
                                                  : tts_status_string(rc));
            break;
        }
        if (i == 0) {
            static const char *const keys[3] = {"name", "language", "speaker"};
            p->sample_rate = tts_engine_sample_rate(w->engine);
            for (int k = 0; k < 3; k++)
                snprintf(p->voice[k], sizeof p->voice[k], "%s",
                         tts_engine_voice(w->engine, keys[k]));
        }
        if (pthread_create(&w->thread, NULL, worker_main, w)) {
            snprintf(err, errlen, "pool: cannot start a worker thread: %s", strerror(errno));
            rc = TTS_E_INTERNAL;
            break;
        }
        w->started = 1;
    }
    if (rc != TTS_OK) {
        srv_pool_free(p);
        return rc;
    }
    *out = p;
    return TTS_OK;
}

int srv_pool_submit(srv_pool *p, srv_job_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    int rc = SRV_POOL_OK;
    if (p->stopping)
        rc = SRV_POOL_STOPPED;
    else if (p->in_pool >= p->max_in_pool)
        rc = SRV_POOL_BUSY;
    else {
        /* in_pool < cap, so the ring (which holds only the waiting ones) has room */
        p->queue[(p->head + p->n_waiting) % p->cap] = (job){fn, arg};
        p->n_waiting++;
        p->in_pool++;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int srv_pool_sample_rate(const srv_pool *p) { return p->sample_rate; }

const char *srv_pool_voice(const srv_pool *p, const char *key)
{
    int k = !strcmp(key, "name") ? 0 : !strcmp(key, "language") ? 1 : 2;
    return p->voice[k];
}

int srv_pool_cancelling(const srv_pool *p)
{
    return atomic_load(&((srv_pool *)p)->cancelling);
}

void srv_pool_shutdown(srv_pool *p, double grace)
{
    pthread_mutex_lock(&p->mu);
    if (p->shut) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    /* the grace period: let what is queued and running finish */
    double deadline = srv_now() + (grace > 0 ? grace : 0);
    while (p->in_pool > 0 && srv_now() < deadline) {
        srv_cond_wait_until(&p->idle, &p->mu, deadline);
    }
    /* then cancel: running jobs see the flag, waiting ones are dropped */
    atomic_store(&p->cancelling, 1);
    job *dropped = NULL;
    size_t n_dropped = p->n_waiting;
    if (n_dropped && (dropped = malloc(n_dropped * sizeof *dropped)))
        for (size_t i = 0; i < n_dropped; i++)
            dropped[i] = p->queue[(p->head + i) % p->cap];
    if (dropped || !n_dropped) {
        p->n_waiting = 0;
        p->in_pool -= (int)n_dropped;
    } /* else (no memory for the list) the workers drop them below, one by one */
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; dropped && i < n_dropped; i++)
        dropped[i].fn(NULL, dropped[i].arg);
    free(dropped);

    for (int i = 0; i < p->n_workers; i++)
        if (p->workers[i].started) {
            pthread_join(p->workers[i].thread, NULL);
            p->workers[i].started = 0;
        }
    /* what no worker took (only when the list above could not be made) */
    pthread_mutex_lock(&p->mu);
    while (p->n_waiting > 0) {
        job j = p->queue[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n_waiting--;
        p->in_pool--;
        pthread_mutex_unlock(&p->mu);
        j.fn(NULL, j.arg);
        pthread_mutex_lock(&p->mu);
    }
    p->shut = 1;
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) {
        tts_engine_close(p->workers[i].engine);
        p->workers[i].engine = NULL;
    }
}

void srv_pool_free(srv_pool *p)
{
    if (!p)
        return;
    srv_pool_shutdown(p, 0);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    free(p->queue);
    free(p->workers);
    free(p);
}
