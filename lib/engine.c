/*
 * The engine behind include/tts.h: options, open and close, and synthesis: a document
 * spoken chunk by chunk (phonemize -> decode -> render and emit); see engine_impl.h for
 * the other files.
 */
#include "lib/engine_impl.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/wav.h"

#define VOICE_FILE "kathleen.ltm"


#define TTS_DEFAULT_MAX_SILENCE 600.0f  /* s: tts_options.max_silence 0 */
#define TTS_DEFAULT_MAX_SECONDS 36000.0f /* s: tts_options.max_seconds 0 */


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
    if (rc == 0) /* the gated layers' products in 8-bit integers */
        rc = voc_use_int8(&e->voc, &e->err);
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
    /* the int8 weights stay in the mapped file (e->mf, open as long as the engine) */
    if ((rc = t2m_from_mf_mapped(&e->am, e->mf, &e->err)))
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
    eng_pipe_free(e->pipe);
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
    float rate = e->opts.rate * c->rate;
    rate = rate < 0.1f ? 0.1f : rate > 10 ? 10 : rate;
    tts_phonemes ph = {0};
    frame_sink sink = {0};
    int *ids = NULL;
    /* phonemize */
    int rc = pipe ? eng_pipe_take_phonemes(e, pipe, &ph)
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
            else if (last) /* the pause after the sentence its earlier chunks spoke */
                rc = eng_silence(e, cb, user, pause, NULL, pos);
        }
        goto out;
    }
    if ((rc = eng_sink_open(&sink, e, doc, c, &ph, rate, *pos, cb, user)))
        goto out;
    if (first)
        sink.ev[sink.n_ev++] = (tts_event){TTS_EVENT_SENTENCE_START, s_off, s_len, *pos, "", NULL};
    /* decode: the frames go to the sink step by step (streamed through the vocoder as
     * they come, or kept for the whole chunk) */
    if (pipe) {
        rc = eng_pipe_take_frames(e, pipe, &sink);
    } else if (!(ids = malloc(sizeof(int) * ph.n_ids))) {
        rc = tts_seterr(&e->err, TTS_E_NOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < ph.n_ids; i++)
            ids[i] = ph.ids[i];
        int stop;
        t2m_infer_opts io = eng_chunk_infer(e, c);
        rc = t2m_synthesize(&e->am, ids, (int)ph.n_ids, &io, eng_on_frames, &sink, NULL, &stop,
                            &e->err);
    }
    if (rc < 0)
        goto out;
    if (sink.failed) {
        rc = sink.failed == TTS_E_NOMEM ? tts_seterr(&e->err, TTS_E_NOMEM, "out of memory")
                                        : sink.failed;
        goto out;
    }
    /* render and emit: the rest of the chunk's audio with its events, then the pause */
    if ((rc = eng_sink_finish(&sink, chunk_src_end(doc, c), pos)))
        goto out;
    tts_event end = {TTS_EVENT_SENTENCE_END, s_off, s_len, *pos, "", NULL};
    rc = eng_silence(e, cb, user, pause, last ? &end : NULL, pos);
out:
    tts_phonemes_free(&ph);
    eng_sink_free(&sink);
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
            rc = eng_deliver_marks(e, doc, g[i].src_off, *pos, cb, user);
            if (!rc)
                rc = eng_silence(e, cb, user,
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
            e->pipe = eng_pipe_new(e);
        if (e->pipe && !eng_pipe_start(e->pipe, &doc))
            pipe = e->pipe;
    }
    walker w = {.doc = &doc};
    plan_item *g = NULL, it;
    size_t cap = 0;
    uint64_t pos = 0;
    e->call_audio = e->call_silence = 0;
    e->next_mark = 0;
    int any = 0, have = eng_walker_next(&w, &it);
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
            have = eng_walker_next(&w, &it);
        }
        any = 1;
        if (!rc)
            rc = speak_group(e, &doc, g, n, &pos, cb, user, pipe);
    }
    if (pipe)
        eng_pipe_stop(pipe); /* before the document goes: the worker reads it */
    if (!rc && any) /* the marks after the last words */
        rc = eng_deliver_marks(e, &doc, (size_t)-1, pos, cb, user);
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
    tts_err err; /* the writer's own failure (deliver() in sink.c reports "cancelled" over it) */
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
