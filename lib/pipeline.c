/* The acoustic model in a worker thread: see engine_impl.h. */
#include "lib/engine_impl.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pipeline (tts_options.threads >= 2 with the neural vocoder) ------------------
 *
 * Two stages. A worker thread walks the document's chunks as the caller's thread does,
 * phonemizes each and runs the acoustic model on it, and puts into a bounded queue the
 * chunk's phonemes, then each decoder step's frames with the attended token (what the
 * word and phoneme events need), then the chunk's end. The caller's thread takes them in
 * the same order and does everything else exactly as it does without the worker (events,
 * the vocoder stream, time scaling, the callback), so the output is the same to the bit,
 * and the callback is called from the thread that called tts_synthesize. The worker runs
 * ahead, into the following sentences, until the queue is full: PIPE_STEPS decoder steps
 * (with the shipped voice, 256 steps x 4 frames x 12.5 ms = 12.8 s of speech).
 *
 * Every tts_synthesize ends its worker, whatever the outcome (done, cancelled, failed):
 * the caller's thread sets stop, which the worker sees at its next put (blocked on a full
 * queue: at once; else after the decoder step or the phonemization under way), joins it
 * and frees what is left in the queue. The worker never touches the engine's error, the
 * callback or the vocoder: a failure of its own goes into the queue as a status, with the
 * message in its own tts_err, and the caller's thread reports it when it takes that
 * message, after delivering everything before it, as the single-thread engine would. */

#define PIPE_STEPS 256

enum { MSG_PHONEMES, MSG_FRAMES, MSG_END };

typedef struct {
    int kind;
    int status;      /* MSG_PHONEMES, MSG_END: TTS_OK or the worker's failure (pipe->err) */
    int r, pos;      /* MSG_FRAMES: frames of the step, attended token */
    tts_phonemes ph; /* MSG_PHONEMES: the chunk's phonemes, the queue's until taken */
} pipe_msg;

struct am_pipe {
    pthread_mutex_t mu;
    pthread_cond_t not_full, not_empty; /* one waiter each: the worker, the caller */
    pipe_msg *msg;  /* ring of PIPE_STEPS messages: count of them in use from head */
    float *frames;  /* message i's frames (r * n_mels floats) at i * fr */
    size_t fr, head, count;
    int stop;       /* set by the caller's thread: the worker quits at its next put */
    int finished;   /* set by the worker: it puts nothing more */
    int running;    /* a worker was started and is not yet joined */
    pthread_t thread;
    float *taken;   /* the caller's thread's copy of the frames it takes (fr floats) */
    /* read-only for the worker while it runs */
    tts_engine *e;
    const tts_doc *doc;
    /* the worker's own while it runs */
    tts_err err;
    int *ids;
    size_t ids_cap, chunk; /* chunk: the one under way, counting spoken ones from 0 */
    int step, fault;       /* decoder steps of the chunk put; a failure at one of them */
};

/* For tests/test_engine.c only: a program that defines this function (a weak reference:
 * NULL everywhere else, so nothing is called) makes the worker fail with the status it
 * returns, before phonemizing chunk `chunk` (counting the chunks spoken, breaks aside,
 * from 0: step 0) or after putting decoder step `step` (from 1) of it. */
int tts__pipe_fault_hook(size_t chunk, int step) __attribute__((weak));


am_pipe *eng_pipe_new(tts_engine *e)
{
    am_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->e = e;
    p->fr = (size_t)e->am.cfg.r * e->am.cfg.n_mels;
    p->msg = calloc(PIPE_STEPS, sizeof *p->msg);
    p->frames = malloc(sizeof(float) * PIPE_STEPS * p->fr);
    p->taken = malloc(sizeof(float) * p->fr);
    int ok = p->msg && p->frames && p->taken;
    int mu = ok && !pthread_mutex_init(&p->mu, NULL);
    int c1 = mu && !pthread_cond_init(&p->not_full, NULL);
    int c2 = c1 && !pthread_cond_init(&p->not_empty, NULL);
    if (!c2) {
        if (c1)
            pthread_cond_destroy(&p->not_full);
        if (mu)
            pthread_mutex_destroy(&p->mu);
        free(p->msg);
        free(p->frames);
        free(p->taken);
        free(p);
        return NULL;
    }
    return p;
}

void eng_pipe_free(am_pipe *p)
{
    if (!p)
        return;
    pthread_cond_destroy(&p->not_empty);
    pthread_cond_destroy(&p->not_full);
    pthread_mutex_destroy(&p->mu);
    free(p->msg);
    free(p->frames);
    free(p->taken);
    free(p->ids);
    free(p);
}

/* the worker: waits for room; returns 1 (nothing put) once the caller's thread said stop */
static int pipe_put(am_pipe *p, const pipe_msg *m, const float *frames)
{
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->count == PIPE_STEPS)
        pthread_cond_wait(&p->not_full, &p->mu);
    int stop = p->stop;
    if (!stop) {
        size_t i = (p->head + p->count) % PIPE_STEPS;
        p->msg[i] = *m;
        if (frames)
            memcpy(p->frames + i * p->fr, frames,
                   sizeof(float) * (size_t)m->r * p->e->am.cfg.n_mels);
        if (p->count++ == 0)
            pthread_cond_signal(&p->not_empty);
    }
    pthread_mutex_unlock(&p->mu);
    return stop;
}

/* the caller's thread: waits for a message (its frames into p->taken); -1 when the worker
 * has finished and the queue is empty */
static int pipe_take(am_pipe *p, pipe_msg *m)
{
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->finished)
        pthread_cond_wait(&p->not_empty, &p->mu);
    int rc = -1;
    if (p->count > 0) {
        pipe_msg *q = &p->msg[p->head];
        *m = *q;
        memset(&q->ph, 0, sizeof q->ph); /* the taker owns the phonemes now */
        if (m->kind == MSG_FRAMES)
            memcpy(p->taken, p->frames + p->head * p->fr,
                   sizeof(float) * (size_t)m->r * p->e->am.cfg.n_mels);
        p->head = (p->head + 1) % PIPE_STEPS;
        if (p->count-- == PIPE_STEPS)
            pthread_cond_signal(&p->not_full);
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int worker_frames(const float *frames, int r, int pos, void *user)
{
    am_pipe *p = user;
    if (r < 1 || (size_t)r * p->e->am.cfg.n_mels > p->fr) {
        p->fault = tts_seterr(&p->err, TTS_E_INTERNAL, "acoustic model: %d frames in a step", r);
        return 1;
    }
    pipe_msg m = {.kind = MSG_FRAMES, .r = r, .pos = pos};
    if (pipe_put(p, &m, frames))
        return 1;
    p->step++;
    if (tts__pipe_fault_hook && (p->fault = tts__pipe_fault_hook(p->chunk, p->step)))
        return tts_seterr(&p->err, p->fault, "injected failure after a decoder step"), 1;
    return 0;
}

static void *worker_main(void *arg)
{
    am_pipe *p = arg;
    tts_engine *e = p->e;
    walker w = {.doc = p->doc};
    plan_item c;
    for (size_t k = 0; eng_walker_next(&w, &c);) {
        if (c.is_break)
            continue;
        pipe_msg m = {.kind = MSG_PHONEMES};
        p->chunk = k++;
        p->step = 0;
        if (tts__pipe_fault_hook && (m.status = tts__pipe_fault_hook(p->chunk, 0)))
            tts_seterr(&p->err, m.status, "injected failure before phonemizing");
        else
            m.status = tts_frontend_phonemize(e->fe, p->doc->text + c.off, c.len, &m.ph, &p->err);
        if (!m.status && m.ph.n_ids > p->ids_cap) {
            int *v = realloc(p->ids, sizeof(int) * m.ph.n_ids);
            if (v) {
                p->ids = v;
                p->ids_cap = m.ph.n_ids;
            } else {
                tts_phonemes_free(&m.ph);
                m.status = tts_seterr(&p->err, TTS_E_NOMEM, "out of memory");
            }
        }
        int n_ids = (int)m.ph.n_ids, speak = !m.status && m.ph.n_words > 0;
        for (int i = 0; speak && i < n_ids; i++)
            p->ids[i] = m.ph.ids[i];
        if (pipe_put(p, &m, NULL)) {
            tts_phonemes_free(&m.ph);
            break;
        }
        if (m.status)
            break;
        if (!speak)
            continue; /* nothing to say: no frames, no end (as speak_chunk expects) */
        int stop_reason = 0;
        p->fault = 0;
        t2m_infer_opts io = eng_chunk_infer(e, &c);
        int rc = t2m_synthesize(&e->am, p->ids, n_ids, &io, worker_frames, p, NULL, &stop_reason,
                                &p->err);
        if (rc >= 0 && stop_reason == 2 && !p->fault)
            break; /* the caller's thread said stop */
        pipe_msg end = {.kind = MSG_END, .status = rc < 0 ? rc : p->fault};
        if (pipe_put(p, &end, NULL) || end.status)
            break;
    }
    pthread_mutex_lock(&p->mu);
    p->finished = 1;
    pthread_cond_signal(&p->not_empty);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* starts a worker on doc; non-zero when no thread could be made */
int eng_pipe_start(am_pipe *p, const tts_doc *doc)
{
    p->doc = doc;
    p->head = p->count = 0;
    p->stop = p->finished = 0;
    tts_err_clear(&p->err);
    /* the worker takes no signals: they stay with the program's own threads */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, worker_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    p->running = rc == 0;
    return rc;
}

/* tells the worker to stop, waits for it, frees what it left in the queue */
void eng_pipe_stop(am_pipe *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->not_full);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->running = 0;
    for (; p->count > 0; p->count--, p->head = (p->head + 1) % PIPE_STEPS)
        if (p->msg[p->head].kind == MSG_PHONEMES)
            tts_phonemes_free(&p->msg[p->head].ph);
}

/* the caller's thread: a chunk's phonemes, as tts_frontend_phonemize would give them */
int eng_pipe_take_phonemes(tts_engine *e, am_pipe *p, tts_phonemes *ph)
{
    pipe_msg m;
    if (pipe_take(p, &m) || m.kind != MSG_PHONEMES)
        return tts_seterr(&e->err, TTS_E_INTERNAL, "pipeline: the acoustic model's worker is "
                          "out of step (no phonemes)");
    *ph = m.ph;
    if (m.status)
        e->err = p->err;
    return m.status;
}

/* the caller's thread: a chunk's decoder steps through on_frames, as t2m_synthesize would
 * give them; stops early when on_frames asks (sink->failed says why) */
int eng_pipe_take_frames(tts_engine *e, am_pipe *p, frame_sink *sink)
{
    for (;;) {
        pipe_msg m;
        if (pipe_take(p, &m) || (m.kind != MSG_FRAMES && m.kind != MSG_END))
            return tts_seterr(&e->err, TTS_E_INTERNAL, "pipeline: the acoustic model's worker "
                              "is out of step (no frames)");
        if (m.kind == MSG_END) {
            if (m.status)
                e->err = p->err;
            return m.status;
        }
        if (eng_on_frames(p->taken, m.r, m.pos, sink))
            return TTS_OK;
    }
}
