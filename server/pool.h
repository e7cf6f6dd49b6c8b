/*
 * server/pool.h — a fixed pool of engines, one per worker thread, fed from a bounded queue.
 *
 * Every synthesis the server does (HTTP or Wyoming) is a job submitted here. A job runs in
 * a worker thread with that worker's engine, one job per engine at a time (an engine
 * serves one thread at a time, tts.h). At most `workers + queue` jobs are in the pool at
 * once (running or waiting): srv_pool_submit refuses more with SRV_POOL_BUSY at once, so
 * that a front can answer "busy" (HTTP 503) instead of queueing without end.
 *
 * Every submitted job's function is called exactly once: with an engine when it runs, or
 * with NULL when the pool shut down before it could run (the job must then release what
 * its argument holds).
 *
 * Shutdown: srv_pool_shutdown stops taking jobs, gives the queued and running ones up to
 * `grace` seconds to finish, then raises the cancel flag (srv_pool_cancelling), which a
 * running job must poll from its audio callback and stop on; jobs still queued are
 * dropped. It then joins the workers and closes the engines. The pool stays valid
 * (submits return SRV_POOL_STOPPED) until srv_pool_free.
 *
 * Thread safety: every function from any thread, except srv_pool_free (once, last).
 */
#ifndef TTS_SERVER_POOL_H
#define TTS_SERVER_POOL_H

#include <stddef.h>

#include "tts.h"

enum { SRV_POOL_OK = 0, SRV_POOL_BUSY = -1, SRV_POOL_STOPPED = -2 };

typedef struct srv_pool srv_pool;
typedef void (*srv_job_fn)(tts_engine *engine, void *arg);

/* Opens `workers` engines (1 ..) with opts and starts their threads. Returns 0, or the
 * tts_status of the engine that failed to open (or TTS_E_NOMEM / TTS_E_INTERNAL) with a
 * message in err (errlen bytes); *out is NULL then. */
int srv_pool_open(srv_pool **out, const tts_options *opts, int workers, int queue,
                  char *err, size_t errlen);

/* Queues fn(engine, arg). SRV_POOL_OK, SRV_POOL_BUSY (workers + queue jobs already in the
 * pool; fn is not called) or SRV_POOL_STOPPED (shutting down; fn is not called). */
int srv_pool_submit(srv_pool *p, srv_job_fn fn, void *arg);

/* Called by a running job, in its worker thread, just before it tells its client that it
 * has ended: the job stops counting against `workers + queue` now rather than when its
 * function returns, so that a client that sends its next request the moment the last one
 * ended does not find the pool still full. At most once per job; elsewhere a no-op. */
void srv_pool_job_ending(srv_pool *p);

/* The engines' output sample rate (Hz). */
int srv_pool_sample_rate(const srv_pool *p);
/* The voice's "name", "language" or "speaker" (tts_engine_voice; "" where its file does
 * not say) */
const char *srv_pool_voice(const srv_pool *p, const char *key);
/* Non-zero once shutdown cancels running jobs (read from any thread, cheap). */
int srv_pool_cancelling(const srv_pool *p);

/* See above. Returns once the workers have ended and the engines are closed. */
void srv_pool_shutdown(srv_pool *p, double grace);
/* Shuts down (grace 0) if that was not done, and frees. NULL is fine. */
void srv_pool_free(srv_pool *p);

#endif
