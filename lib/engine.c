/*
 * The engine behind include/tts.h: frontend -> acoustic model -> vocoder -> callback.
 */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "acoustic/voice_io.h"
#include "audio/wav.h"
#include "lib/voices.h"
#include "vocoder/render.h"
#include "vocoder/vocoder_io.h"
#include "core/err.h"
#include "dsp/dsp.h"
#include "frontend/frontend.h"
#include "frontend/ssml.h"
#include "tts.h"

#define VOICE_FILE "kathleen.ltm"
#define CHUNK 4096

typedef struct am_pipe am_pipe;
static void pipe_free(am_pipe *p);

#define TTS_DEFAULT_MAX_SILENCE 600.0f  /* s: tts_options.max_silence 0 */
#define TTS_DEFAULT_MAX_SECONDS 36000.0f /* s: tts_options.max_seconds 0 */

struct tts_engine {
    tts_options opts;
    tts_err err;
    uint64_t call_audio, call_silence; /* samples this synthesis call made, and of silence */
    size_t next_mark;                  /* the document's first <mark> not yet reported */
    uint64_t max_audio, max_silence;   /* their limits (tts_options.max_seconds, max_silence) */
    tts_mf *mf;
    t2m_model am;
    int am_loaded;
    t2m_infer_opts infer; /* the acoustic model's inference settings */
    unsigned char *passable; /* per symbol: what its attention may pass over (infer.passable) */
    tts_audio_cfg audio;
    tts_frontend *fe;
    tts_mel *mel;
    voc_model voc; /* the neural vocoder, when one is loaded */
    int voc_loaded;
    voc_render *render; /* frames -> speech through it (vocoder/render.h) */
    tts_sharpen *sharpen; /* the vocoder's frame sharpening, before a change of rate */
    int pipelined; /* threads >= 2 and the neural vocoder: the acoustic model runs in a
                    * worker thread (see "the pipeline" below) */
    am_pipe *pipe; /* its queue, made at the first synthesis that uses it */
    char model_path[4096];
    char voc_path[4096];
    tts_voice_meta meta; /* tts_engine_voice */
};

void tts_options_init_sized(tts_options *opts, size_t size)
{
    if (!opts || size < sizeof opts->size)
        return;
    tts_options o = {.size = sizeof o, .model_path = NULL, .vocoder = NULL, .threads = 1,
                     .rate = 1.0f, .volume = 1.0f, .sentence_silence = 0.2f,
                     .griffin_lim_iters = 32, .ssml = 0, .lexicon_path = NULL};
    /* a program built against an older, smaller tts_options gets its part */
    memcpy(opts, &o, size < sizeof o ? size : sizeof o);
    opts->size = size;
}

/* rate, volume and pitch within their ranges (tts.h) */
static int check_prosody(float rate, float volume, float pitch, tts_err *err)
{
    if (!(rate >= 0.5f && rate <= 2.0f))
        return tts_seterr(err, TTS_E_INVALID, "speaking rate %g is outside 0.5 .. 2", rate);
    if (!(volume >= 0 && volume <= 4.0f))
        return tts_seterr(err, TTS_E_INVALID, "volume %g is outside 0 .. 4", volume);
    if (!(pitch >= -12 && pitch <= 12))
        return tts_seterr(err, TTS_E_INVALID, "pitch %g semitones is outside -12 .. 12", pitch);
    return TTS_OK;
}

/* The caller's options, of the size it was built with, onto this library's: fields it
 * does not know take their defaults. */
static int options_take(tts_options *dst, const tts_options *src, tts_err *err)
{
    tts_options_init(dst);
    if (!src)
        return TTS_OK;
    if (src->size < offsetof(tts_options, griffin_lim_iters) + sizeof src->griffin_lim_iters ||
        src->size > 65536)
        return tts_seterr(err, TTS_E_INVALID,
                          "tts_options.size is %zu: make the options with tts_default_options() "
                          "or tts_options_init()", src->size);
    memcpy(dst, src, src->size < sizeof *dst ? src->size : sizeof *dst);
    dst->size = sizeof *dst;
    return TTS_OK;
}

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}

/* the shipped voice: only in $TTS_MODEL_DIR when it is set; else the installed data dir,
 * then the source tree */
static int find_default_model(char *out, size_t cap)
{
    const char *env = getenv("TTS_MODEL_DIR");
    const char *dirs[2] = {TTS_MODELS_INSTALL_DIR, TTS_MODELS_SOURCE_DIR};
    int n = 2;
    if (env && env[0]) {
        dirs[0] = env;
        n = 1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(out, cap, "%s/%s", dirs[i], VOICE_FILE);
        if (file_exists(out))
            return 1;
    }
    return 0;
}

/* The neural vocoder: opts.vocoder_path, else VOICE.vocoder.ltm beside the voice file.
 * "default" uses it when it exists (Griffin-Lim otherwise); "wavenet" requires it. */
static int open_vocoder(tts_engine *e)
{
    const tts_options *o = &e->opts;
    if (o->vocoder && !strcmp(o->vocoder, "griffinlim"))
        return TTS_OK;
    int required = o->vocoder && !strcmp(o->vocoder, "wavenet");
    if (o->vocoder_path) {
        snprintf(e->voc_path, sizeof e->voc_path, "%s", o->vocoder_path);
    } else {
        size_t n = strlen(e->model_path);
        if (n > 4 && !strcmp(e->model_path + n - 4, ".ltm"))
            n -= 4;
        snprintf(e->voc_path, sizeof e->voc_path, "%.*s.vocoder.ltm", (int)n, e->model_path);
    }
    if (!required && !o->vocoder_path && !file_exists(e->voc_path))
        return TTS_OK; /* no neural vocoder for this voice: Griffin-Lim */
    tts_mf *mf;
    int rc = tts_mf_open(&mf, e->voc_path, &e->err);
    if (rc)
        return rc == TTS_E_IO ? TTS_E_NO_MODEL : rc;
    rc = voc_from_mf(&e->voc, mf, 0, NULL, &e->err);
    tts_mf_close(mf);
    if (rc)
        return rc;
    e->voc_loaded = 1;
    if (e->voc.cfg.n_mels != e->audio.n_mels || e->voc.cfg.hop != e->audio.hop_length)
        return tts_seterr(&e->err, TTS_E_FORMAT,
                          "%s: vocoder expects %d mel bands and hop %d, the voice has %d and %d",
                          e->voc_path, e->voc.cfg.n_mels, e->voc.cfg.hop, e->audio.n_mels,
                          e->audio.hop_length);
    if (e->voc.cfg.frame_sharpen > 0 &&
        (rc = tts_sharpen_create(&e->sharpen, e->audio.n_mels, e->voc.cfg.frame_sharpen,
                                 e->voc.cfg.frame_sharpen_w, &e->err)))
        return rc;
    return voc_render_open(&e->render, &e->voc, &e->err);
}

int tts_engine_open(tts_engine **out, const tts_options *opts)
{
    if (!out)
        return TTS_E_INVALID;
    tts_engine *e = calloc(1, sizeof *e);
    *out = e;
    if (!e)
        return TTS_E_NOMEM;
    int rc = options_take(&e->opts, opts, &e->err);
    if (rc)
        return rc;
    const tts_options *o = &e->opts;
    if (o->threads < 0 || o->threads > 64)
        return tts_seterr(&e->err, TTS_E_INVALID, "threads %d is outside 0 .. 64", o->threads);
    if ((rc = check_prosody(o->rate, o->volume, o->pitch, &e->err)))
        return rc;
    if (!(o->sentence_silence >= 0 && o->sentence_silence <= 10))
        return tts_seterr(&e->err, TTS_E_INVALID, "sentence silence %g s is outside 0 .. 10",
                          o->sentence_silence);
    if (o->griffin_lim_iters < 0 || o->griffin_lim_iters > TTS_GL_MAX_ITERS)
        return tts_seterr(&e->err, TTS_E_INVALID, "griffin_lim_iters %d is outside 0 .. %d "
                          "(0: the default)", o->griffin_lim_iters, TTS_GL_MAX_ITERS);
    if (!(o->max_silence >= 0 && o->max_silence <= 86400))
        return tts_seterr(&e->err, TTS_E_INVALID, "max_silence %g s is outside 0 .. 86400",
                          o->max_silence);
    if (!(o->max_seconds >= 0 && o->max_seconds <= 360000))
        return tts_seterr(&e->err, TTS_E_INVALID, "max_seconds %g s is outside 0 .. 360000",
                          o->max_seconds);
    if (o->ssml < -1 || o->ssml > 1)
        return tts_seterr(&e->err, TTS_E_INVALID, "ssml %d is not -1 (plain text), 0 (auto) "
                          "or 1 (SSML)", o->ssml);
    if (o->vocoder && strcmp(o->vocoder, "default") && strcmp(o->vocoder, "griffinlim") &&
        strcmp(o->vocoder, "wavenet"))
        return tts_seterr(&e->err, TTS_E_INVALID,
                          "unknown vocoder '%s' (available: default, wavenet, griffinlim)",
                          o->vocoder);
    if (o->model_path) {
        snprintf(e->model_path, sizeof e->model_path, "%s", o->model_path);
    } else if (o->voice) {
        if ((rc = tts_voice_find(o->voice, e->model_path, sizeof e->model_path, &e->err)))
            return rc;
    } else if (!find_default_model(e->model_path, sizeof e->model_path)) {
        const char *env = getenv("TTS_MODEL_DIR");
        if (env && env[0])
            return tts_seterr(&e->err, TTS_E_NO_MODEL,
                              "no voice model installed: %s not found in $TTS_MODEL_DIR (%s)",
                              VOICE_FILE, env);
        return tts_seterr(&e->err, TTS_E_NO_MODEL,
                          "no voice model installed: %s not found in %s or %s "
                          "(train one with tts-train, or pass a model file)",
                          VOICE_FILE, TTS_MODELS_INSTALL_DIR, TTS_MODELS_SOURCE_DIR);
    }
    const char *symbols;
    if ((rc = tts_mf_open(&e->mf, e->model_path, &e->err)))
        return rc;
    if ((rc = t2m_from_mf(&e->am, e->mf, 0, NULL, &e->err)))
        return rc;
    e->am_loaded = 1;
    if ((rc = tts_audio_cfg_from_mf(e->mf, &e->audio, &e->err)) ||
        (rc = tts_mf_get_str(e->mf, "symbols", &symbols, &e->err)))
        return rc;
    if (e->audio.n_mels != e->am.cfg.n_mels)
        return tts_seterr(&e->err, TTS_E_FORMAT, "%s: model has %d mel bands, audio settings %d",
                          e->model_path, e->am.cfg.n_mels, e->audio.n_mels);
    if ((rc = tts_frontend_open(&e->fe, NULL, &e->err)) ||
        (rc = tts_frontend_set_symbols(e->fe, symbols, strlen(symbols), &e->err)) ||
        (rc = tts_mel_create(&e->mel, &e->audio, &e->err)))
        return rc;
    if (tts_symtab_count(tts_frontend_symbols(e->fe)) != e->am.cfg.n_symbols)
        return tts_seterr(&e->err, TTS_E_FORMAT, "%s: symbol table has %d symbols, model %d",
                          e->model_path, tts_symtab_count(tts_frontend_symbols(e->fe)),
                          e->am.cfg.n_symbols);
    if (!(e->passable = malloc((size_t)e->am.cfg.n_symbols)))
        return tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
    tts_symtab_passable(tts_frontend_symbols(e->fe), e->passable);
    e->infer = t2m_infer_opts_default(&e->am);
    e->infer.passable = e->passable;
    e->max_silence = (uint64_t)((o->max_silence > 0 ? o->max_silence : TTS_DEFAULT_MAX_SILENCE) *
                                e->audio.sample_rate);
    e->max_audio = (uint64_t)((o->max_seconds > 0 ? o->max_seconds : TTS_DEFAULT_MAX_SECONDS) *
                              e->audio.sample_rate);
    if (o->pitch != 0 && !e->am.pitch.n)
        return tts_seterr(&e->err, TTS_E_INVALID, "%s has no pitch control (a voice trained "
                          "without a pitch predictor): pitch must be 0", e->model_path);
    e->infer.pitch_shift = o->pitch;
    if (o->lexicon_path) { /* checked against the voice's own symbols */
        tts_lexicon *lex;
        if ((rc = tts_lexicon_load(&lex, o->lexicon_path, tts_frontend_symbols(e->fe), &e->err)))
            return rc;
        tts_frontend_set_lexicon(e->fe, lex);
    }
    rc = open_vocoder(e);
    if (!rc && tts_voice_meta_read(&e->meta, e->mf, e->model_path,
                                   e->voc_loaded ? e->voc_path : NULL))
        rc = tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
    /* threads >= 2 with the neural vocoder: the acoustic model runs ahead in a worker
     * thread. The kernels themselves are single-threaded (nn/gemm.h): the library starts
     * no threads but its own and touches no process-wide state. */
    if (!rc)
        e->pipelined = e->voc_loaded && o->threads >= 2;
    return rc;
}

void tts_engine_close(tts_engine *e)
{
    if (!e)
        return;
    pipe_free(e->pipe);
    if (e->am_loaded)
        t2m_free(&e->am);
    free(e->passable);
    voc_render_close(e->render);
    tts_sharpen_free(e->sharpen);
    if (e->voc_loaded)
        voc_free(&e->voc);
    tts_mel_free(e->mel);
    tts_frontend_close(e->fe);
    tts_mf_close(e->mf);
    tts_voice_meta_free(&e->meta);
    free(e);
}

int tts_engine_set_prosody(tts_engine *e, float rate, float volume, float pitch)
{
    if (!e)
        return TTS_E_INVALID;
    tts_err_clear(&e->err);
    if (!e->am_loaded)
        return tts_seterr(&e->err, TTS_E_NO_MODEL, "the engine has no voice loaded");
    int rc = check_prosody(rate, volume, pitch, &e->err);
    if (rc)
        return rc;
    if (pitch != 0 && !e->am.pitch.n)
        return tts_seterr(&e->err, TTS_E_INVALID, "%s has no pitch control (a voice trained "
                          "without a pitch predictor): pitch must be 0", e->model_path);
    e->opts.rate = rate;
    e->opts.volume = volume;
    e->opts.pitch = pitch;
    e->infer.pitch_shift = pitch;
    return TTS_OK;
}

const char *tts_engine_voice(const tts_engine *e, const char *key)
{
    int k = tts_voice_key(key);
    return e && e->meta.v[0] && k >= 0 ? e->meta.v[k] : NULL;
}

const char *tts_engine_error(const tts_engine *e)
{
    return e ? e->err.msg : "out of memory";
}

int tts_engine_sample_rate(const tts_engine *e)
{
    return e && e->am_loaded ? e->audio.sample_rate : 0;
}

/* ---- synthesis ------------------------------------------------------------------------ */

/* A document (tts_doc: plain text or SSML) is spoken chunk by chunk: a chunk is one
 * sentence of a TEXT segment, spoken with the segment's rate and volume. Chunks are taken
 * in groups that make up one sentence for the events (a sentence can be cut into several
 * chunks by breaks and prosody changes), each group followed by the breaks after it. */

typedef struct {
    int is_break;
    size_t off, len;     /* chunk: span of the composed text */
    float rate, volume;  /* chunk: factors on the engine's settings */
    int ends;            /* chunk: a sentence ends with it (a pause follows) */
    unsigned ms;         /* break: milliseconds */
    float pitch;         /* chunk: semitones on the engine's pitch (SSML prosody) */
    size_t src_off;      /* break: where its tag begins in the source */
} plan_item;

#define GROUP_MAX_CHUNKS 256 /* a sentence event never covers more chunks than this */

/* the acoustic model's settings for one chunk: the engine's, its SSML pitch added (within
 * the +-12 semitones the voice allows; a voice without a pitch predictor ignores it) */
static t2m_infer_opts chunk_infer(const tts_engine *e, const plan_item *c)
{
    t2m_infer_opts io = e->infer;
    float st = io.pitch_shift + c->pitch;
    io.pitch_shift = st < -12 ? -12 : st > 12 ? 12 : st;
    return io;
}

typedef struct {
    const tts_doc *doc;
    size_t seg;            /* the segment being read */
    int in_text;
    tts_sentence_iter it;
    int have_pending;
    plan_item pending;     /* a chunk read ahead, to know whether it ends its segment */
} walker;

/* whether the chunk ends with sentence punctuation (before closing quotes and brackets) */
static int ends_with_terminal(const char *t, size_t n)
{
    while (n > 0) {
        unsigned char c = (unsigned char)t[n - 1];
        if (c == '"' || c == '\'' || c == ')' || c == ']' || c == ' ' || c == '}') {
            n--;
            continue;
        }
        if (n >= 3 && !memcmp(t + n - 3, "\xE2\x80\xA6", 3)) /* … */
            return 1;
        if (n >= 3 && (!memcmp(t + n - 3, "\xE2\x80\x9D", 3) || !memcmp(t + n - 3, "\xE2\x80\x99", 3))) {
            n -= 3; /* ” ’ */
            continue;
        }
        return c == '.' || c == '!' || c == '?';
    }
    return 0;
}

static int walker_next(walker *w, plan_item *out)
{
    const tts_doc *d = w->doc;
    for (;;) {
        if (w->in_text) {
            const tts_seg *g = &d->segs[w->seg];
            size_t off, len;
            if (tts_sentences_next(&w->it, &off, &len) > 0) {
                plan_item c = {0, g->off + off, len, g->rate, g->volume, 1, 0, g->pitch, 0};
                if (w->have_pending) { /* not the last of its segment: a sentence ended */
                    *out = w->pending;
                    w->pending = c;
                    return 1;
                }
                w->pending = c;
                w->have_pending = 1;
                continue;
            }
            w->in_text = 0;
            w->seg++;
            if (w->have_pending) {
                w->have_pending = 0;
                *out = w->pending;
                out->ends = g->sentence_end || ends_with_terminal(d->text + out->off, out->len);
                return 1;
            }
            continue;
        }
        if (w->seg >= d->n_segs)
            return 0;
        const tts_seg *g = &d->segs[w->seg];
        if (g->kind == TTS_SEG_BREAK) {
            w->seg++;
            *out = (plan_item){.is_break = 1, .ms = g->ms, .src_off = g->src_off};
            return 1;
        }
        if (tts_sentences_begin(&w->it, d->text + g->off, g->len, NULL))
            w->seg++; /* cannot happen: the document is valid UTF-8 */
        else
            w->in_text = 1;
    }
}

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

/* For tests/test_engine.c only, the same way: when it returns non-zero, the neural vocoder
 * works on a whole chunk at a time even at rate 1, so that the test can hold the streamed
 * output against the batched one. */
int tts__batch_hook(void) __attribute__((weak));

static am_pipe *pipe_new(tts_engine *e)
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

static void pipe_free(am_pipe *p)
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
    for (size_t k = 0; walker_next(&w, &c);) {
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
        t2m_infer_opts io = chunk_infer(e, &c);
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
static int pipe_start(am_pipe *p, const tts_doc *doc)
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
static void pipe_stop(am_pipe *p)
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
static int pipe_take_phonemes(tts_engine *e, am_pipe *p, tts_phonemes *ph)
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

typedef struct {
    float *frames;
    size_t n, cap;
    int n_mels;
    int *token_at_step; /* attended token per decoder step */
    size_t steps, steps_cap;
    /* streaming through the neural vocoder: each decoder step is vocoded and delivered at
     * once, with the word and phoneme events it reached */
    int stream;
    tts_engine *e;
    tts_audio_cb cb;
    void *user;
    const tts_phonemes *ph;
    const tts_doc *doc;
    size_t chunk_off;   /* the chunk's offset in the composed text */
    size_t next_id, next_word; /* the first id, and the word, not yet given events */
    float volume;
    uint64_t pos0;      /* stream position of the chunk's first sample */
    size_t samples_per_step;
    tts_event *ev;      /* pending events, room for n_words + n_ids + 2 */
    size_t n_ev;
    float *pcm;         /* scratch: the render's output (voc_render_max_tail) */
    /* streamed at a rate other than 1: the frames sharpened, then time-scaled as
     * time_scale() does a whole chunk, as they come (ring: the last SCALE_RING of them) */
    float rate;
    int scaled;
    float *ring, *tmp;  /* [SCALE_RING][n_mels], [n_mels] */
    size_t n_in, n_out; /* sharpened frames in, scaled frames out */
    size_t delivered;   /* samples of this chunk delivered so far */
    int failed;         /* a status when delivering failed */
    int final;          /* the chunk's last delivery: every pending event goes with it */
} frame_sink;

static int deliver(tts_engine *e, tts_audio_cb cb, void *user, const float *pcm, size_t n,
                   uint64_t start, const tts_event *ev, size_t n_ev);

/* frames a time-scaled frame may reach back: floor(i rate) > n_in - 2 - rate, rate <= 10 */
#define SCALE_RING 16

/* whether symbol id is a phoneme of its own (not a pause, boundary, special or a mark
 * that modifies the symbol before it: stress, length, diacritics) */
static int is_phoneme(const tts_symtab *tab, int id)
{
    if (id == tts_symtab_special(tab, TTS_SYM_SPACE) || id == tts_symtab_special(tab, TTS_SYM_PAD) ||
        id == tts_symtab_special(tab, TTS_SYM_BOS) || id == tts_symtab_special(tab, TTS_SYM_EOS))
        return 0;
    const char *n = tts_symtab_name(tab, id);
    if (!n)
        return 0;
    if (n[0] == ',' || n[0] == '.' || n[0] == '?' || n[0] == '!' || n[0] == ';')
        return 0;
    return !tts_symtab_is_mark(tab, id);
}

/* MARK events, into ev (room for max), for the document's marks before source byte
 * src_end that were not reported yet, at sample; their count */
static size_t mark_events(tts_engine *e, const tts_doc *doc, size_t src_end, uint64_t sample,
                          tts_event *ev, size_t max)
{
    size_t n = 0;
    while (n < max && e->next_mark < doc->n_marks && doc->marks[e->next_mark].src_off < src_end) {
        const tts_mark *m = &doc->marks[e->next_mark++];
        ev[n++] = (tts_event){TTS_EVENT_MARK, m->src_off, m->src_len, sample, "", m->name};
    }
    return n;
}

/* the marks before source byte src_end, delivered now (with no audio) at sample pos */
static int deliver_marks(tts_engine *e, const tts_doc *doc, size_t src_end, uint64_t pos,
                         tts_audio_cb cb, void *user)
{
    tts_event ev[16];
    size_t n;
    while ((n = mark_events(e, doc, src_end, pos, ev, 16)))
        if (cb(NULL, 0, ev, n, user))
            return tts_seterr(&e->err, TTS_E_CANCELLED, "synthesis cancelled by the callback");
    return TTS_OK;
}

/* queues the word and phoneme events of every id up to token pos (each word's marks before
 * its WORD event) */
static void queue_events(frame_sink *s, int pos, uint64_t sample)
{
    const tts_phonemes *ph = s->ph;
    const tts_symtab *tab = tts_frontend_symbols(s->e->fe);
    while (s->next_id < ph->n_ids && (long)s->next_id <= (long)pos) {
        size_t i = s->next_id++;
        while (s->next_word < ph->n_words &&
               ph->words[s->next_word].first_id + ph->words[s->next_word].n_ids <= i)
            s->next_word++;
        if (s->next_word >= ph->n_words || i < ph->words[s->next_word].first_id)
            continue; /* BOS, EOS, a boundary or pause between words */
        const tts_word *w = &ph->words[s->next_word];
        size_t so, sl;
        tts_doc_source_span(s->doc, s->chunk_off + w->offset, s->chunk_off + w->offset + w->length,
                            &so, &sl);
        if (i == w->first_id) {
            s->n_ev += mark_events(s->e, s->doc, so, sample, s->ev + s->n_ev, s->doc->n_marks);
            s->ev[s->n_ev++] = (tts_event){TTS_EVENT_WORD, so, sl, sample, "", NULL};
        }
        if (is_phoneme(tab, ph->ids[i])) {
            tts_event *v = &s->ev[s->n_ev++];
            *v = (tts_event){TTS_EVENT_PHONEME, so, sl, sample, "", NULL};
            snprintf(v->phoneme, sizeof v->phoneme, "%s", tts_symtab_name(tab, ph->ids[i]));
        }
    }
}

static int stream_out(frame_sink *s, float *pcm, size_t n)
{
    float vol = s->volume;
    for (size_t i = 0; i < n; i++) {
        float v = pcm[i] * vol;
        pcm[i] = v > 1 ? 1 : v < -1 ? -1 : v;
    }
    /* the events that fall in or before this chunk (the vocoder's look-ahead and the
     * envelope match delay the audio behind the decoder steps that queued them) */
    uint64_t end = s->pos0 + s->delivered + n;
    size_t k = 0;
    while (k < s->n_ev && (s->ev[k].sample <= end || s->final))
        k++;
    for (size_t i = 0; i < k; i++) /* the final ones: none past the audio (the decoder can
                                    * stop a frame beyond the vocoder's last sample) */
        s->ev[i].sample = s->ev[i].sample < end ? s->ev[i].sample : end;
    if (n == 0 && k == 0)
        return 0;
    int rc = deliver(s->e, s->cb, s->user, pcm, n, s->pos0 + s->delivered, s->ev, k);
    memmove(s->ev, s->ev + k, (s->n_ev - k) * sizeof *s->ev);
    s->n_ev -= k;
    s->delivered += n;
    if (rc)
        s->failed = rc;
    return rc;
}

static int render_frame(frame_sink *s, const float *f);

/* scaled frame i of n (n 0: not known yet) from the ring, as time_scale() makes it */
static int scale_emit(frame_sink *s, size_t i, size_t n)
{
    const int nm = s->n_mels;
    double x = i * (double)s->rate;
    size_t a = (size_t)x;
    if (n && a >= n - 1)
        a = n - 1;
    size_t b = !n || a + 1 < n ? a + 1 : a;
    float w = (float)(x - a);
    const float *fa = s->ring + (a % SCALE_RING) * nm, *fb = s->ring + (b % SCALE_RING) * nm;
    for (int k = 0; k < nm; k++)
        s->tmp[k] = (1 - w) * fa[k] + w * fb[k];
    s->n_out++;
    return render_frame(s, s->tmp);
}

/* a sharpened frame in; out every scaled frame that it completes (one whose two frames are
 * in and which time_scale() would make whatever the chunk's length: (i + 1) <= n_in / rate) */
static int scale_take(frame_sink *s, const float *g)
{
    memcpy(s->ring + (s->n_in % SCALE_RING) * s->n_mels, g, sizeof(float) * s->n_mels);
    s->n_in++;
    for (;;) {
        size_t i = s->n_out;
        if ((size_t)(i * (double)s->rate) + 1 > s->n_in - 1 ||
            (double)(i + 1) > (double)s->n_in / s->rate)
            return 0;
        if (scale_emit(s, i, 0))
            return 1;
    }
}

/* the chunk's end: the sharpener's last frames, then the scaled frames left, up to
 * time_scale()'s count */
static int scale_finish(frame_sink *s)
{
    tts_sharpen *sh = s->e->sharpen;
    while (sh && tts_sharpen_flush(sh, s->tmp))
        if (scale_take(s, s->tmp))
            return 1;
    size_t n = s->n_in, m = n ? (size_t)((double)n / s->rate) : 0;
    if (n && m < 1)
        m = 1;
    while (s->n_out < m)
        if (scale_emit(s, s->n_out, n))
            return 1;
    return 0;
}

/* one frame through the neural vocoder; the samples it finished delivered */
static int vocode_frame(frame_sink *s, const float *f)
{
    if (s->scaled) {
        tts_sharpen *sh = s->e->sharpen;
        float *g = s->tmp;
        if (sh && !tts_sharpen_push(sh, f, g))
            return 0;
        return scale_take(s, sh ? g : f);
    }
    return render_frame(s, f);
}

/* one (sharpened, scaled) frame through the network and the envelope match */
static int render_frame(frame_sink *s, const float *f)
{
    size_t n = 0;
    int rc = voc_render_push(s->e->render, f, s->pcm, &n, &s->e->err);
    if (!rc)
        rc = stream_out(s, s->pcm, n);
    if (rc && !s->failed)
        s->failed = rc;
    return rc;
}

static int on_frames(const float *frames, int r, int pos, void *user)
{
    frame_sink *s = user;
    if ((s->n + r) * s->n_mels > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8192;
        while (nc < (s->n + r) * s->n_mels)
            nc *= 2;
        float *f = realloc(s->frames, nc * sizeof(float));
        if (!f)
            return s->failed = TTS_E_NOMEM, 1;
        s->frames = f;
        s->cap = nc;
    }
    if (s->steps + 1 > s->steps_cap) {
        size_t nc = s->steps_cap ? s->steps_cap * 2 : 256;
        int *t = realloc(s->token_at_step, nc * sizeof(int));
        if (!t)
            return s->failed = TTS_E_NOMEM, 1;
        s->token_at_step = t;
        s->steps_cap = nc;
    }
    memcpy(s->frames + s->n * s->n_mels, frames, sizeof(float) * r * s->n_mels);
    s->n += r;
    s->token_at_step[s->steps++] = pos;
    if (!s->stream)
        return 0;
    queue_events(s, pos,
                 s->pos0 + (uint64_t)((s->steps - 1) * ((double)s->samples_per_step / s->rate)));
    for (int j = 0; j < r; j++)
        if (vocode_frame(s, frames + (size_t)j * s->n_mels))
            return 1;
    return 0;
}

/* the caller's thread: a chunk's decoder steps through on_frames, as t2m_synthesize would
 * give them; stops early when on_frames asks (sink->failed says why) */
static int pipe_take_frames(tts_engine *e, am_pipe *p, frame_sink *sink)
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
        if (on_frames(p->taken, m.r, m.pos, sink))
            return TTS_OK;
    }
}

/* time-scales log-mel frames by linear interpolation: rate > 1 is faster (fewer frames) */
static float *time_scale(const float *in, size_t n, int nm, float rate, size_t *n_out)
{
    size_t m = (size_t)((double)n / rate);
    if (m < 1)
        m = 1;
    float *out = malloc(m * nm * sizeof(float));
    if (!out)
        return NULL;
    for (size_t i = 0; i < m; i++) {
        double x = i * (double)rate;
        size_t a = (size_t)x;
        if (a >= n - 1)
            a = n - 1;
        size_t b = a + 1 < n ? a + 1 : a;
        float w = (float)(x - a);
        for (int k = 0; k < nm; k++)
            out[i * nm + k] = (1 - w) * in[a * nm + k] + w * in[b * nm + k];
    }
    *n_out = m;
    return out;
}

/* n more samples of this call (silence: of them), within the limits */
static int count_audio(tts_engine *e, size_t n, int silence)
{
    e->call_audio += n;
    e->call_silence += silence ? n : 0;
    if (e->call_silence > e->max_silence)
        return tts_seterr(&e->err, TTS_E_INVALID, "the text asks for more than %.0f s of "
                          "silence (breaks and pauses; tts_options.max_silence)",
                          (double)e->max_silence / e->audio.sample_rate);
    if (e->call_audio > e->max_audio)
        return tts_seterr(&e->err, TTS_E_INVALID, "the text makes more than %.0f s of audio "
                          "(tts_options.max_seconds)", (double)e->max_audio / e->audio.sample_rate);
    return TTS_OK;
}

static int deliver(tts_engine *e, tts_audio_cb cb, void *user, const float *pcm, size_t n,
                   uint64_t start, const tts_event *ev, size_t n_ev)
{
    int rc = count_audio(e, n, 0);
    if (rc)
        return rc;
    size_t done = 0;
    do {
        size_t k = n - done < CHUNK ? n - done : CHUNK, m = 0;
        /* each callback the events up to its end (in order of their samples); the last
         * one the rest, which the caller has clamped to the audio's end */
        while (m < n_ev && (done + k == n || ev[m].sample <= start + done + k))
            m++;
        if (cb(pcm + done, k, m ? ev : NULL, m, user))
            return tts_seterr(&e->err, TTS_E_CANCELLED, "synthesis cancelled by the callback");
        ev += m;
        n_ev -= m;
        done += k;
    } while (done < n);
    return TTS_OK;
}

/* ns samples of silence, the first call carrying ev (if any) */
static int silence(tts_engine *e, tts_audio_cb cb, void *user, size_t ns, const tts_event *ev,
                   uint64_t *pos)
{
    float zeros[1024] = {0};
    int rc = count_audio(e, ns, 1);
    if (rc)
        return rc;
    for (size_t done = 0, first = 1; done < ns || (first && ev); first = 0) {
        size_t k = ns - done < 1024 ? ns - done : 1024;
        if (cb(zeros, k, first ? ev : NULL, first && ev ? 1 : 0, user))
            return tts_seterr(&e->err, TTS_E_CANCELLED, "synthesis cancelled by the callback");
        done += k;
    }
    *pos += ns;
    return TTS_OK;
}

/* the source byte after chunk c's text */
static size_t chunk_src_end(const tts_doc *doc, const plan_item *c)
{
    size_t a, l;
    tts_doc_source_span(doc, c->off, c->off + c->len, &a, &l);
    return a + l;
}

/* Speaks one chunk: its sentence's START event first when first, the END event after it
 * when last (sentence span [s_off, s_off + s_len) of the source), then pause samples of
 * silence. With a pipe, the phonemes and the frames come from its worker; without, this
 * thread makes them. */
static int speak_chunk(tts_engine *e, const tts_doc *doc, const plan_item *c, int first,
                       int last, size_t s_off, size_t s_len, size_t pause, uint64_t *pos,
                       tts_audio_cb cb, void *user, am_pipe *pipe)
{
    tts_phonemes ph = {0};
    float rate = e->opts.rate * c->rate;
    rate = rate < 0.1f ? 0.1f : rate > 10 ? 10 : rate;
    frame_sink sink = {.n_mels = e->audio.n_mels, .e = e, .cb = cb, .user = user, .doc = doc,
                       .chunk_off = c->off, .volume = e->opts.volume * c->volume, .pos0 = *pos};
    float *scaled = NULL, *pcm = NULL;
    int *ids = NULL, rc;
    rc = pipe ? pipe_take_phonemes(e, pipe, &ph)
              : tts_frontend_phonemize(e->fe, doc->text + c->off, c->len, &ph, &e->err);
    if (rc)
        goto out;
    if (ph.n_words == 0) {
        /* nothing to say (e.g. only symbols eSpeak NG does not speak); a sentence of
         * several chunks still gets its events */
        if (!(first && last)) {
            tts_event ev[2];
            size_t n = 0;
            if (first)
                ev[n++] = (tts_event){TTS_EVENT_SENTENCE_START, s_off, s_len, *pos, "", NULL};
            if (last)
                ev[n++] = (tts_event){TTS_EVENT_SENTENCE_END, s_off, s_len, *pos, "", NULL};
            if (n && cb(NULL, 0, ev, n, user))
                rc = tts_seterr(&e->err, TTS_E_CANCELLED, "synthesis cancelled by the callback");
        }
        goto out;
    }
    sink.ph = &ph;
    ids = malloc(sizeof(int) * ph.n_ids);
    sink.ev = calloc(ph.n_words + ph.n_ids + 2 + doc->n_marks, sizeof *sink.ev);
    if (e->voc_loaded)
        sink.pcm = malloc(sizeof(float) * voc_render_max_tail(e->render));
    if (!ids || !sink.ev || (e->voc_loaded && !sink.pcm)) {
        rc = tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ph.n_ids; i++)
        ids[i] = ph.ids[i];
    /* stream through the neural vocoder step by step; otherwise vocode the sentence */
    sink.stream = e->voc_loaded && !(tts__batch_hook && tts__batch_hook());
    sink.rate = rate;
    sink.scaled = sink.stream && rate != 1.0f;
    if (sink.scaled) {
        sink.ring = malloc(sizeof(float) * (SCALE_RING + 1) * e->audio.n_mels);
        if (!sink.ring) {
            rc = tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
            goto out;
        }
        sink.tmp = sink.ring + SCALE_RING * e->audio.n_mels;
        if (e->sharpen)
            tts_sharpen_reset(e->sharpen);
    }
    sink.samples_per_step = (size_t)e->am.cfg.r * e->audio.hop_length;
    if (first)
        sink.ev[sink.n_ev++] = (tts_event){TTS_EVENT_SENTENCE_START, s_off, s_len, *pos, "", NULL};
    if (e->voc_loaded) /* streamed at rate 1, it sharpens; else the frames are sharpened
                        * before they are time-scaled */
        voc_render_reset(e->render, 1, sink.stream && !sink.scaled);
    if (pipe) {
        rc = pipe_take_frames(e, pipe, &sink);
    } else {
        int stop;
        t2m_infer_opts io = chunk_infer(e, c);
        rc = t2m_synthesize(&e->am, ids, (int)ph.n_ids, &io, on_frames, &sink, NULL, &stop,
                            &e->err);
    }
    if (rc < 0)
        goto out;
    if (sink.failed) {
        rc = sink.failed == TTS_E_NOMEM ? tts_seterr(&e->err, TTS_E_NOMEM, "out of memory")
                                        : sink.failed;
        goto out;
    }
    if (sink.stream) {
        size_t n = 0;
        if (sink.scaled && scale_finish(&sink)) {
            rc = sink.failed;
            goto out;
        }
        if ((rc = voc_render_finish(e->render, sink.pcm, &n, &e->err)))
            goto out;
        /* any never reached: where the decoder stopped; then the chunk's marks after its
         * last word */
        uint64_t end = *pos + (sink.scaled ? sink.n_out : sink.n) * e->audio.hop_length;
        queue_events(&sink, (int)ph.n_ids, end);
        sink.n_ev += mark_events(e, doc, chunk_src_end(doc, c), end, sink.ev + sink.n_ev,
                                 doc->n_marks);
        sink.final = 1;
        if ((rc = stream_out(&sink, sink.pcm, n)))
            goto out;
        *pos += sink.delivered;
    } else {
        size_t nf = sink.n;
        const float *frames = sink.frames;
        /* the neural vocoder's sharpening, as the stream does it (before any rate change:
         * it works on the acoustic model's own time axis) */
        if (e->voc_loaded && e->voc.cfg.frame_sharpen > 0 &&
            (rc = tts_sharpen_frames(sink.frames, sink.n, e->audio.n_mels,
                                     e->voc.cfg.frame_sharpen, e->voc.cfg.frame_sharpen_w,
                                     &e->err)))
            goto out;
        if (rate != 1.0f) {
            scaled = time_scale(sink.frames, sink.n, e->audio.n_mels, rate, &nf);
            if (!scaled) {
                rc = tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
                goto out;
            }
            frames = scaled;
        }
        size_t np = 0;
        if (e->voc_loaded) {
            pcm = malloc(sizeof(float) * (nf * e->audio.hop_length + voc_render_max_out(e->render) +
                                          voc_render_max_tail(e->render)));
            if (!pcm) {
                rc = tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
                goto out;
            }
            size_t k = 0;
            rc = TTS_OK;
            for (size_t f = 0; f < nf && !rc; f++, np += k)
                rc = voc_render_push(e->render, frames + f * e->audio.n_mels, pcm + np, &k, &e->err);
            if (rc || (rc = voc_render_finish(e->render, pcm + np, &k, &e->err)))
                goto out;
            np += k;
        } else {
            tts_gl_params gp = tts_gl_default_params();
            if (e->opts.griffin_lim_iters > 0)
                gp.n_iter = e->opts.griffin_lim_iters;
            if ((rc = tts_mel_synthesize(e->mel, frames, nf, &gp, &pcm, &np, &e->err)))
                goto out;
        }
        /* word and phoneme events: where the attention first reached each id, on the
         * scaled time axis */
        double samples_per_step = (double)sink.samples_per_step / rate;
        for (size_t step = 0; step < sink.steps; step++)
            queue_events(&sink, sink.token_at_step[step], *pos + (uint64_t)(step * samples_per_step));
        queue_events(&sink, (int)ph.n_ids, *pos + (uint64_t)(sink.steps * samples_per_step));
        sink.n_ev += mark_events(e, doc, chunk_src_end(doc, c), *pos + np, sink.ev + sink.n_ev,
                                 doc->n_marks);
        sink.final = 1;
        if ((rc = stream_out(&sink, pcm, np)))
            goto out;
        *pos += np;
    }
    tts_event end = {TTS_EVENT_SENTENCE_END, s_off, s_len, *pos, "", NULL};
    rc = silence(e, cb, user, pause, last ? &end : NULL, pos);
out:
    tts_phonemes_free(&ph);
    free(sink.frames);
    free(sink.token_at_step);
    free(sink.ev);
    free(sink.pcm);
    free(sink.ring);
    free(scaled);
    free(pcm);
    free(ids);
    return rc;
}

/* Speaks a group: chunks making up one sentence, then breaks. */
static int speak_group(tts_engine *e, const tts_doc *doc, const plan_item *g, size_t n,
                       uint64_t *pos, tts_audio_cb cb, void *user, am_pipe *pipe)
{
    size_t first = n, last = n;
    for (size_t i = 0; i < n; i++)
        if (!g[i].is_break) {
            if (first == n)
                first = i;
            last = i;
        }
    size_t s_off = 0, s_len = 0;
    if (first < n) {
        size_t a, al, b, bl;
        tts_doc_source_span(doc, g[first].off, g[first].off + g[first].len, &a, &al);
        tts_doc_source_span(doc, g[last].off, g[last].off + g[last].len, &b, &bl);
        s_off = a;
        s_len = b + bl > a ? b + bl - a : al;
    }
    size_t sentence_pause = (size_t)(e->opts.sentence_silence * e->audio.sample_rate);
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (g[i].is_break) {
            rc = deliver_marks(e, doc, g[i].src_off, *pos, cb, user);
            if (!rc)
                rc = silence(e, cb, user,
                             (size_t)((uint64_t)g[i].ms * e->audio.sample_rate / 1000), NULL, pos);
        } else {
            /* a sentence's pause, unless a break follows and takes its place */
            size_t pause = g[i].ends && !(i + 1 < n && g[i + 1].is_break) ? sentence_pause : 0;
            rc = speak_chunk(e, doc, &g[i], i == first, i == last, s_off, s_len, pause, pos, cb,
                             user, pipe);
        }
        if (rc)
            return rc;
    }
    return TTS_OK;
}

int tts_synthesize(tts_engine *e, const char *text, tts_audio_cb cb, void *user)
{
    if (!e)
        return TTS_E_INVALID;
    tts_err_clear(&e->err);
    if (!e->am_loaded || !e->fe)
        return tts_seterr(&e->err, TTS_E_NO_MODEL, "the engine has no voice loaded");
    if (!text || !cb)
        return tts_seterr(&e->err, TTS_E_INVALID, "text and callback must not be NULL");
    size_t len = strlen(text);
    int ssml = e->opts.ssml > 0 || (e->opts.ssml == 0 && tts_ssml_detect(text, len));
    tts_doc doc;
    int rc;
    if (ssml) {
        rc = tts_ssml_parse(&doc, text, len, tts_frontend_symbols(e->fe), &e->err);
    } else {
        tts_sentence_iter it; /* checks the UTF-8 */
        rc = tts_sentences_begin(&it, text, len, &e->err);
        if (!rc)
            rc = tts_doc_plain(&doc, text, len, &e->err);
    }
    if (rc)
        return rc;
    if ((rc = tts_doc_check_phonemes(e->fe, &doc, ssml, &e->err))) {
        tts_doc_free(&doc);
        return rc;
    }
    /* the breaks alone over the limit: refused before any audio is made */
    uint64_t break_samples = 0;
    for (size_t i = 0; i < doc.n_segs; i++)
        if (doc.segs[i].kind == TTS_SEG_BREAK)
            break_samples += (uint64_t)doc.segs[i].ms * e->audio.sample_rate / 1000;
    if (break_samples > e->max_silence) {
        tts_doc_free(&doc);
        return tts_seterr(&e->err, TTS_E_INVALID, "the text asks for %.0f s of breaks, more than "
                          "%.0f s of silence (tts_options.max_silence)",
                          (double)break_samples / e->audio.sample_rate,
                          (double)e->max_silence / e->audio.sample_rate);
    }
    /* the acoustic model in a worker thread when the engine pipelines; when no thread (or
     * no memory for the queue) can be had, the same work in this thread */
    am_pipe *pipe = NULL;
    if (e->pipelined) {
        if (!e->pipe)
            e->pipe = pipe_new(e);
        if (e->pipe && !pipe_start(e->pipe, &doc))
            pipe = e->pipe;
    }
    walker w = {.doc = &doc};
    plan_item *g = NULL, it;
    size_t cap = 0;
    uint64_t pos = 0;
    e->call_audio = e->call_silence = 0;
    e->next_mark = 0;
    int any = 0, have = walker_next(&w, &it);
    while (have && !rc) {
        /* a group: up to the chunk that ends a sentence, then the breaks after it */
        size_t n = 0, chunks = 0;
        int in_tail = 0;
        while (have) {
            if (in_tail && !it.is_break)
                break;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                plan_item *v = realloc(g, nc * sizeof *v);
                if (!v) {
                    rc = tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
                    break;
                }
                g = v;
                cap = nc;
            }
            g[n++] = it;
            if (!it.is_break && (it.ends || ++chunks >= GROUP_MAX_CHUNKS))
                in_tail = 1;
            have = walker_next(&w, &it);
        }
        any = 1;
        if (!rc)
            rc = speak_group(e, &doc, g, n, &pos, cb, user, pipe);
    }
    if (pipe)
        pipe_stop(pipe); /* before the document goes: the worker reads it */
    if (!rc && any) /* the marks after the last words */
        rc = deliver_marks(e, &doc, (size_t)-1, pos, cb, user);
    if (!rc && any && doc.warning[0]) /* spoken, with a word on what was read leniently */
        snprintf(e->err.msg, sizeof e->err.msg, "%s", doc.warning);
    free(g);
    tts_doc_free(&doc);
    if (!rc && !any)
        return tts_seterr(&e->err, TTS_E_INVALID, "nothing to say: the text has no words");
    return rc;
}

typedef struct {
    tts_wav_writer *w;
    tts_err err; /* the writer's own failure (deliver() reports "cancelled" over it) */
    int rc;
} file_sink;

static int to_file(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    file_sink *f = user;
    (void)ev;
    (void)n_ev;
    f->rc = tts_wav_writer_write(f->w, pcm, n, &f->err);
    return f->rc != 0;
}

int tts_synthesize_to_file(tts_engine *e, const char *text, const char *wav_path)
{
    if (!e)
        return TTS_E_INVALID;
    if (!wav_path)
        return tts_seterr(&e->err, TTS_E_INVALID, "no output path");
    if (!e->am_loaded)
        return tts_seterr(&e->err, TTS_E_NO_MODEL, "the engine has no voice loaded");
    file_sink f = {0};
    int rc = tts_wav_writer_open(&f.w, wav_path, e->audio.sample_rate, &e->err);
    if (rc)
        return rc;
    rc = tts_synthesize(e, text, to_file, &f);
    if (f.rc) { /* report the writer's failure (full disk...), not the cancellation */
        tts_wav_writer_abort(f.w);
        e->err = f.err;
        return f.rc;
    }
    if (rc) {
        tts_err keep = e->err;
        tts_wav_writer_abort(f.w);
        e->err = keep;
        return rc;
    }
    return tts_wav_writer_close(f.w, &e->err);
}
