/*
 * server/speech.c — one synthesis request (see speech.h).
 */
#include "speech.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { QUEUED, RUNNING, AUDIO, DONE };

struct srv_speech {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* state changes */
    int refs;
    char *text;
    srv_format fmt;
    double deadline, t_submit;
    srv_pipe *pipe;
    srv_pool *pool;
    atomic_int cancel;  /* the front cancelled */
    int state;          /* QUEUED .. DONE (mu) */
    srv_speech_error err; /* how it ended, or why the callback stopped it (mu) */
    char msg[512];        /* (mu) */
    size_t samples;       /* (mu) */
    double t_first;       /* seconds from submit to the first audio; -1 none (mu) */
    srv_encoder *enc;     /* the worker's */
    float rate;           /* the request's speed: tts_engine_set_prosody before it speaks */
};

/* ---- the request ------------------------------------------------------------------- */

srv_speech *srv_speech_new(const char *text, srv_format fmt, float rate, double deadline,
                           size_t buffer, char *msg, size_t msglen)
{
    srv_speech *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    if (!(s->text = strdup(text))) {
        snprintf(msg, msglen, "out of memory");
        free(s);
        return NULL;
    }
    s->rate = rate;
    if (!(s->pipe = srv_pipe_new(buffer))) {
        snprintf(msg, msglen, "out of memory");
        free(s->text);
        free(s);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->cancel, 0);
    s->refs = 1;
    s->fmt = fmt;
    s->deadline = deadline;
    s->t_first = -1;
    s->state = QUEUED;
    return s;
}

void srv_speech_ref(srv_speech *s)
{
    pthread_mutex_lock(&s->mu);
    s->refs++;
    pthread_mutex_unlock(&s->mu);
}

void srv_speech_unref(srv_speech *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    srv_encoder_free(s->enc);
    srv_pipe_unref(s->pipe);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->text);
    free(s);
}

void srv_speech_cancel(srv_speech *s)
{
    atomic_store(&s->cancel, 1);
    srv_pipe_cancel(s->pipe);
}

srv_pipe *srv_speech_pipe(srv_speech *s) { return s->pipe; }

const char *srv_speech_message(srv_speech *s)
{
    pthread_mutex_lock(&s->mu);
    const char *m = s->msg; /* written only before DONE, read after */
    pthread_mutex_unlock(&s->mu);
    return m;
}

size_t srv_speech_samples(srv_speech *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->samples;
    pthread_mutex_unlock(&s->mu);
    return n;
}

double srv_speech_first_audio(srv_speech *s)
{
    pthread_mutex_lock(&s->mu);
    double t = s->t_first;
    pthread_mutex_unlock(&s->mu);
    return t;
}

/* records why the speech stops (the first reason wins); mu not held */
static void set_error(srv_speech *s, srv_speech_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(srv_speech *s, srv_speech_error err, const char *fmt, ...)
{
    pthread_mutex_lock(&s->mu);
    if (s->err == SRV_SPEECH_OK) {
        s->err = err;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->msg, sizeof s->msg, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&s->mu);
}

static void set_state(srv_speech *s, int state)
{
    pthread_mutex_lock(&s->mu);
    s->state = state;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* the reason to stop now, recorded; 0 to go on */
static int must_stop(srv_speech *s)
{
    if (atomic_load(&s->cancel)) {
        set_error(s, SRV_SPEECH_CANCELLED, "cancelled");
        return 1;
    }
    if (srv_pool_cancelling(s->pool)) {
        set_error(s, SRV_SPEECH_STOPPED, "the server is shutting down");
        return 1;
    }
    if (srv_now() > s->deadline) {
        set_error(s, SRV_SPEECH_TIMEOUT, "the request took longer than its time limit "
                  "(%.3g s)", s->deadline - s->t_submit);
        return 1;
    }
    return 0;
}

/* while the client is slow: stop waiting when the server shuts down */
static int shutting_down(void *user) { return srv_pool_cancelling(((srv_speech *)user)->pool); }

static int to_pipe(void *user, const void *bytes, size_t n)
{
    srv_speech *s = user;
    return srv_pipe_write(s->pipe, bytes, n, s->deadline, shutting_down, s);
}

/* records an encoder/sink failure */
static void encoder_failed(srv_speech *s, int rc)
{
    if (rc == SRV_PIPE_CANCELLED)
        set_error(s, SRV_SPEECH_CANCELLED, "cancelled");
    else if (rc == SRV_PIPE_TIMEOUT)
        set_error(s, SRV_SPEECH_TIMEOUT, "the client did not read the audio within the "
                  "request's time limit (%.3g s)", s->deadline - s->t_submit);
    else if (rc == SRV_PIPE_STOPPED)
        set_error(s, SRV_SPEECH_STOPPED, "the server is shutting down");
    else if (rc == SRV_PIPE_NOMEM)
        set_error(s, SRV_SPEECH_INTERNAL, "out of memory");
    else
        set_error(s, SRV_SPEECH_INTERNAL, "the %s encoder failed", srv_format_name(s->fmt));
}

static int on_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    srv_speech *s = user;
    (void)ev;
    (void)n_ev;
    if (must_stop(s))
        return 1;
    if (n == 0)
        return 0;
    int rc = srv_encoder_write(s->enc, pcm, n);
    if (rc) {
        encoder_failed(s, rc);
        return 1;
    }
    pthread_mutex_lock(&s->mu);
    s->samples += n;
    if (s->state == RUNNING) {
        s->state = AUDIO;
        s->t_first = srv_now() - s->t_submit;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* the pool's job: runs in a worker thread (engine NULL: dropped at shutdown) */
static void run(tts_engine *engine, void *arg)
{
    srv_speech *s = arg;
    if (!engine)
        set_error(s, SRV_SPEECH_STOPPED, "the server is shutting down");
    else if (atomic_load(&s->cancel))
        set_error(s, SRV_SPEECH_CANCELLED, "cancelled");
    else if (srv_now() > s->deadline)
        set_error(s, SRV_SPEECH_TIMEOUT, "no engine became free within the request's time "
                  "limit (%.3g s)", s->deadline - s->t_submit);
    else {
        set_state(s, RUNNING);
        char why[256];
        if (srv_encoder_open(&s->enc, s->fmt, srv_pool_sample_rate(s->pool), to_pipe, s, why,
                             sizeof why))
            set_error(s, SRV_SPEECH_INTERNAL, "%s", why);
        else {
            /* the request's speed on this worker's engine (the last request's otherwise) */
            int rc = tts_engine_set_prosody(engine, s->rate, 1, 0);
            if (rc == TTS_OK)
                rc = tts_synthesize(engine, s->text, on_audio, s);
            int erc = 0;
            if (rc == TTS_OK) {
                erc = srv_encoder_finish(s->enc);
                s->enc = NULL;
                if (erc)
                    encoder_failed(s, erc);
            }
            srv_encoder_free(s->enc); /* after a failure: nothing more to the pipe */
            s->enc = NULL;
            if (rc == TTS_E_INVALID)
                set_error(s, SRV_SPEECH_BAD_INPUT, "%s", tts_engine_error(engine));
            else if (rc != TTS_OK && rc != TTS_E_CANCELLED)
                set_error(s, SRV_SPEECH_INTERNAL, "%s", tts_engine_error(engine));
            else if (rc == TTS_E_CANCELLED)
                set_error(s, SRV_SPEECH_INTERNAL, "synthesis cancelled"); /* kept if no reason */
            else if (!erc && srv_speech_samples(s) == 0)
                set_error(s, SRV_SPEECH_BAD_INPUT, "nothing to say: the text has no words");
        }
    }
    if (engine)
        srv_pool_job_ending(s->pool); /* before the client can learn that it ended */
    pthread_mutex_lock(&s->mu);
    s->state = DONE;
    int ok = s->err == SRV_SPEECH_OK;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    srv_pipe_close(s->pipe, ok);
    srv_speech_unref(s);
}

srv_speech_error srv_speech_submit(srv_speech *s, srv_pool *pool)
{
    s->pool = pool;
    s->t_submit = srv_now();
    srv_speech_ref(s); /* the worker's */
    int rc = srv_pool_submit(pool, run, s);
    if (rc == SRV_POOL_OK)
        return SRV_SPEECH_OK;
    pthread_mutex_lock(&s->mu);
    s->refs--; /* not the last: the caller holds one */
    pthread_mutex_unlock(&s->mu);
    return rc == SRV_POOL_BUSY ? SRV_SPEECH_BUSY : SRV_SPEECH_STOPPED;
}

static int timed_wait(srv_speech *s, double deadline)
{
    return srv_cond_wait_until(&s->cv, &s->mu, deadline);
}

srv_speech_error srv_speech_wait_start(srv_speech *s)
{
    pthread_mutex_lock(&s->mu);
    int timed_out = 0;
    while (s->state != AUDIO && s->state != DONE) {
        if (srv_now() >= s->deadline) {
            timed_out = 1;
            break;
        }
        timed_wait(s, s->deadline);
    }
    srv_speech_error err = s->state == DONE ? s->err : SRV_SPEECH_OK;
    if (timed_out && s->err == SRV_SPEECH_OK) {
        s->err = err = SRV_SPEECH_TIMEOUT;
        snprintf(s->msg, sizeof s->msg, "%s within the request's time limit (%.3g s)",
                 s->state == QUEUED ? "no engine became free" : "no audio was made",
                 s->deadline - s->t_submit);
    }
    pthread_mutex_unlock(&s->mu);
    if (timed_out)
        srv_speech_cancel(s);
    return err;
}

srv_speech_error srv_speech_wait_end(srv_speech *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->state != DONE)
        pthread_cond_wait(&s->cv, &s->mu);
    srv_speech_error err = s->err;
    pthread_mutex_unlock(&s->mu);
    return err;
}
