/* The public API (include/tts.h) on a tiny random voice: errors, events (phoneme events
 * too), cancellation, determinism, two engines in two threads, rate and volume, SSML,
 * phoneme input, the user lexicon, and the two-thread pipeline (threads = 2 with the
 * neural vocoder): the same output as one thread, cancellation, the worker's failures. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acoustic/voice_io.h"
#include "frontend/frontend.h"
#include "vocoder/vocoder_io.h"
#include "tts.h"

#include "check.h"
#include "nn/kernels.h"
#include "tiny_models.h"

static char model_path[256];

static int make_voice(const char *path)
{
    return tiny_voice_write(path, 0);
}

static int make_vocoder(const char *path)
{
    return tiny_vocoder_write(path, voc_config_default(80, 200).env_passes, 0, 5);
}

typedef struct {
    float *pcm;
    size_t n, cap;
    size_t calls, calls_before_end; /* callbacks, and those before the first sentence end */
    tts_event ev[1024];
    size_t n_ev;
    size_t stop_after; /* cancel once this many samples arrived (0 = never) */
    size_t early;      /* events that came before the chunk they fall in */
    char names[16][32]; /* the first 16 marks' names (a name lives only during its callback) */
    size_t n_names;
} capture;

static int on_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    capture *c = user;
    if (c->n + n > c->cap) {
        c->cap = (c->n + n) * 2;
        c->pcm = realloc(c->pcm, c->cap * sizeof(float));
    }
    if (n) /* a chunk may carry only events */
        memcpy(c->pcm + c->n, pcm, n * sizeof(float));
    c->n += n;
    c->calls++;
    int ended = 0;
    for (size_t i = 0; i < c->n_ev; i++)
        ended |= c->ev[i].type == TTS_EVENT_SENTENCE_END;
    if (!ended)
        c->calls_before_end++;
    for (size_t i = 0; i < n_ev; i++)
        c->early += ev[i].sample > c->n; /* c->n: the end of this chunk */
    for (size_t i = 0; i < n_ev && c->n_ev < 1024; i++) {
        c->ev[c->n_ev] = ev[i];
        if (ev[i].type == TTS_EVENT_MARK && c->n_names < 16) {
            snprintf(c->names[c->n_names], sizeof c->names[0], "%s",
                     ev[i].name ? ev[i].name : "(NULL)");
            c->ev[c->n_ev].name = c->names[c->n_names++];
        }
        c->n_ev++;
    }
    return c->stop_after && c->n >= c->stop_after;
}

static tts_engine *open_engine(float rate, float volume)
{
    tts_options o = tts_default_options();
    o.model_path = model_path;
    o.rate = rate;
    o.volume = volume;
    tts_engine *e;
    int rc = tts_engine_open(&e, &o);
    CHECK(rc == TTS_OK, "open: %s", tts_engine_error(e));
    return e;
}

static const char *TEXT = "Hello there, world. How are you today?";

/* Every PHONEME event follows the WORD event of its word (or another of its phonemes),
 * carries that word's span and a symbol, and is not earlier than the word; every word has
 * at least one. */
static void check_phoneme_events(const capture *c, const char *what)
{
    const tts_event *word = NULL;
    size_t phonemes = 0, words = 0, bare = 0, here = 0;
    int ok = 1;
    for (size_t i = 0; i < c->n_ev; i++) {
        const tts_event *v = &c->ev[i];
        if (v->type == TTS_EVENT_WORD) {
            bare += word && here == 0;
            word = v;
            words++;
            here = 0;
            ok &= v->phoneme[0] == '\0';
        } else if (v->type == TTS_EVENT_PHONEME) {
            phonemes++;
            here++;
            ok &= word && v->text_offset == word->text_offset &&
                  v->text_length == word->text_length && v->sample >= word->sample &&
                  v->phoneme[0] && strcmp(v->phoneme, " ") &&
                  strcmp(v->phoneme, "\xCB\x88") && strcmp(v->phoneme, ",");
        } else {
            if (v->type == TTS_EVENT_SENTENCE_END)
                word = NULL;
            ok &= v->phoneme[0] == '\0';
        }
    }
    bare += word && here == 0;
    if (!ok)
        for (size_t i = 0; i < c->n_ev; i++)
            printf("  event %d %zu+%zu @%llu %s\n", c->ev[i].type, c->ev[i].text_offset,
                   c->ev[i].text_length, (unsigned long long)c->ev[i].sample,
                   c->ev[i].phoneme);
    CHECK(ok && words > 0 && phonemes >= 2 * words && bare == 0,
          "%s phoneme events: ok %d, %zu words, %zu phonemes, %zu words without", what, ok,
          words, phonemes, bare);
}

static size_t count_events(const capture *c, tts_event_type t)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_ev; i++)
        n += c->ev[i].type == t;
    return n;
}

static int same_audio(const capture *a, const capture *b)
{
    return a->n == b->n && a->n > 0 && !memcmp(a->pcm, b->pcm, a->n * sizeof(float));
}

static int speak(tts_engine *e, const char *text, capture *c)
{
    free(c->pcm);
    memset(c, 0, sizeof *c);
    int rc = tts_synthesize(e, text, on_audio, c);
    if (rc)
        printf("  (%s: %s)\n", text, tts_engine_error(e));
    return rc;
}

/* SSML breaks, prosody, say-as; phoneme input; the lexicon — all compared with the audio
 * of plain text, which the deterministic voice makes exact. text_n: samples of TEXT. */
static void test_ssml_engine(size_t text_n)
{
    const size_t pause = 3200; /* 0.2 s after each sentence */
    tts_engine *e = open_engine(1, 1);
    capture a = {0}, b = {0}, s = {0};

    /* <break>: its silence, exactly, between the two parts of one sentence */
    const char *brk = "<speak>Hello <break time=\"700ms\"/> world</speak>";
    CHECK(speak(e, "Hello", &a) == 0 && speak(e, "world", &b) == 0 && speak(e, brk, &s) == 0,
          "break synth");
    size_t gap = 11200, h = a.n - pause;
    CHECK(s.n == h + gap + b.n, "break: %zu samples, want %zu + %zu + %zu", s.n, h, gap, b.n);
    int silent = s.n == h + gap + b.n && !memcmp(s.pcm, a.pcm, h * sizeof(float));
    for (size_t i = h; silent && i < h + gap; i++)
        silent = s.pcm[i] == 0;
    CHECK(silent && s.n == h + gap + b.n && !memcmp(s.pcm + h + gap, b.pcm, b.n * sizeof(float)),
          "break: not Hello, 700 ms of silence, world");
    CHECK(count_events(&s, TTS_EVENT_SENTENCE_START) == 1 &&
              count_events(&s, TTS_EVENT_SENTENCE_END) == 1 && count_events(&s, TTS_EVENT_WORD) == 2,
          "break: one sentence of two words");
    for (size_t i = 0; i < s.n_ev; i++) {
        const tts_event *v = &s.ev[i];
        if (v->type == TTS_EVENT_SENTENCE_START)
            CHECK(v->text_offset == 7 && v->text_length == 33 && v->sample == 0,
                  "break: sentence span %zu+%zu", v->text_offset, v->text_length);
        if (v->type == TTS_EVENT_WORD && v->text_offset > 7)
            CHECK(v->text_offset == 35 && v->text_length == 5 && v->sample >= h + gap,
                  "break: 'world' at %zu+%zu, sample %llu", v->text_offset, v->text_length,
                  (unsigned long long)v->sample);
    }
    check_phoneme_events(&s, "SSML");

    /* a sentence ended by '.' before a break gets no pause of its own: the break replaces it */
    const char *brk2 = "<speak>Hello. <break time=\"1s\"/>world</speak>";
    CHECK(speak(e, "Hello.", &a) == 0 && speak(e, brk2, &s) == 0 &&
              s.n == a.n - pause + 16000 + b.n,
          "break after a sentence: %zu samples", s.n);

    /* <prosody rate>: half the rate, twice the speech; volume: half the amplitude */
    char doc[512];
    snprintf(doc, sizeof doc, "<speak><prosody rate=\"50%%\">%s</prosody></speak>", TEXT);
    CHECK(speak(e, doc, &s) == 0, "prosody synth");
    size_t speech = text_n - 2 * pause, slow = s.n - 2 * pause;
    CHECK(slow > speech * 1.8 && slow < speech * 2.2, "rate 50%%: %zu vs %zu samples", slow, speech);
    CHECK(count_events(&s, TTS_EVENT_SENTENCE_START) == 2 && count_events(&s, TTS_EVENT_WORD) == 7,
          "prosody events");
    snprintf(doc, sizeof doc, "<speak><prosody volume=\"50%%\">%s</prosody></speak>", TEXT);
    CHECK(speak(e, TEXT, &a) == 0 && speak(e, doc, &s) == 0 && s.n == a.n, "volume synth");
    float worst = 0;
    for (size_t i = 0; i < s.n && s.n == a.n; i++) {
        float d = fabsf(s.pcm[i] - 0.5f * a.pcm[i]);
        worst = d > worst ? d : worst;
    }
    CHECK(worst < 1e-6f, "volume 50%%: off by %g", worst);
    /* a rate change inside a sentence: the parts follow each other without a pause */
    CHECK(speak(e, "<speak>Hello <prosody rate=\"2\">world</prosody></speak>", &s) == 0 &&
              count_events(&s, TTS_EVENT_SENTENCE_START) == 1 &&
              s.n < h + b.n - pause / 2 + pause, "prosody inside a sentence: %zu samples", s.n);

    /* <say-as characters>: the letter names, spoken as if written out; events span "abc" */
    CHECK(speak(e, "<speak><say-as interpret-as=\"characters\">abc</say-as></speak>", &s) == 0 &&
              speak(e, "ay bee see", &a) == 0 && same_audio(&s, &a),
          "say-as characters: %zu vs %zu samples", s.n, a.n);
    size_t abc = 0;
    for (size_t i = 0; i < s.n_ev; i++)
        abc += s.ev[i].type == TTS_EVENT_WORD && s.ev[i].text_offset == 41 && s.ev[i].text_length == 3;
    CHECK(abc == 3, "say-as characters: %zu word events span 'abc'", abc);
    CHECK(speak(e, "<speak><say-as interpret-as=\"ordinal\">2</say-as> <sub alias=\"Doctor\">Dr.</sub>"
                   "</speak>", &s) == 0 && speak(e, "second Doctor", &a) == 0 && same_audio(&s, &a),
          "say-as ordinal and sub");

    /* phoneme input: the IPA of a word, in [[ ]] or <phoneme>, speaks like the word */
    tts_frontend *fe;
    tts_err err = {0};
    tts_phonemes ph;
    CHECK(tts_frontend_open(&fe, NULL, &err) == 0 && tts_frontend_phonemize(fe, "Hello", 5, &ph, &err) == 0,
          "phonemize Hello");
    char in[256];
    snprintf(in, sizeof in, "[[%s]]", ph.ipa);
    CHECK(speak(e, in, &s) == 0 && speak(e, "Hello", &a) == 0 && same_audio(&s, &a),
          "[[%s]] speaks like Hello: %zu vs %zu", ph.ipa, s.n, a.n);
    CHECK(count_events(&s, TTS_EVENT_WORD) == 1 && s.ev[1].text_offset == 0 &&
              s.ev[1].text_length == strlen(in), "phoneme input is one word");
    snprintf(in, sizeof in, "<speak><phoneme alphabet=\"ipa\" ph=\"%s\">hi</phoneme></speak>", ph.ipa);
    CHECK(speak(e, in, &s) == 0 && same_audio(&s, &a), "<phoneme> speaks like Hello");
    capture none = {0};
    CHECK(tts_synthesize(e, "Say [[hQ]] now", on_audio, &none) == TTS_E_INVALID &&
              strstr(tts_engine_error(e), "'Q'") && strstr(tts_engine_error(e), "byte offset 7"),
          "unknown phoneme symbol: %s", tts_engine_error(e));
    CHECK(tts_synthesize(e, "<speak>\n<prosody rate=\"slow\">Hi</speak>", on_audio, &none) ==
              TTS_E_INVALID && strstr(tts_engine_error(e), "SSML line 2, column 24: <prosody> "
                                      "closed by </speak>"),
          "malformed SSML: %s", tts_engine_error(e));
    CHECK(tts_synthesize(e, "<speak>Say [[hQ]]</speak>", on_audio, &none) == TTS_E_INVALID &&
              strstr(tts_engine_error(e), "SSML line 1, column 15: unknown phoneme symbol 'Q'"),
          "phoneme input in SSML: %s", tts_engine_error(e));
    CHECK(tts_synthesize(e, "<speak> </speak>", on_audio, &none) == TTS_E_INVALID &&
              strstr(tts_engine_error(e), "nothing to say"), "empty SSML: %s", tts_engine_error(e));
    CHECK(none.n == 0 && none.calls == 0, "no audio for rejected SSML");
    tts_engine_close(e);

    /* ssml = -1: markup is text */
    tts_options o = tts_default_options();
    o.model_path = model_path;
    o.ssml = -1;
    CHECK(tts_engine_open(&e, &o) == 0 && speak(e, "<speak>Hello</speak>", &s) == 0 &&
              count_events(&s, TTS_EVENT_WORD) >= 1, "ssml = -1 reads markup as text");
    tts_engine_close(e);

    /* the lexicon: "Hello" said with the phonemes of "world" */
    tts_phonemes pw;
    CHECK(tts_frontend_phonemize(fe, "world", 5, &pw, &err) == 0, "phonemize world");
    char lex[300];
    snprintf(lex, sizeof lex, "%s.lex", model_path);
    FILE *f = fopen(lex, "w");
    fprintf(f, "# test lexicon\nHELLO\t%s\n", pw.ipa);
    fclose(f);
    o = tts_default_options();
    o.model_path = model_path;
    o.lexicon_path = lex;
    CHECK(tts_engine_open(&e, &o) == 0, "open with lexicon: %s", tts_engine_error(e));
    CHECK(speak(e, "hello", &s) == 0 && same_audio(&s, &b) && !same_audio(&s, &a),
          "lexicon: hello speaks like world");
    CHECK(s.n_ev > 1 && s.ev[1].type == TTS_EVENT_WORD && s.ev[1].text_length == 5,
          "lexicon word event");
    tts_engine_close(e);
    f = fopen(lex, "w");
    fprintf(f, "hello w\xC9\x9C\n\ngood \xC9\xA1\xCA\x8A\x64\nbad X\n");
    fclose(f);
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID && strstr(tts_engine_error(e), lex) &&
              strstr(tts_engine_error(e), "line 4, column 5: unknown phoneme symbol 'X'"),
          "bad lexicon: %s", tts_engine_error(e));
    tts_engine_close(e);
    unlink(lex);
    o.lexicon_path = "/nonexistent.lex";
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID && strstr(tts_engine_error(e), "/nonexistent.lex"),
          "missing lexicon: %s", tts_engine_error(e));
    tts_engine_close(e);
    o.lexicon_path = NULL;
    o.ssml = 2;
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID, "ssml = 2 is refused");
    tts_engine_close(e);

    tts_phonemes_free(&ph);
    tts_phonemes_free(&pw);
    tts_frontend_close(fe);
    free(a.pcm);
    free(b.pcm);
    free(s.pcm);
}


/* ---- the pipeline: threads = 2 with the neural vocoder ------------------------------- */

/* The engine's fault injection (lib/engine.c): the pipeline's worker fails with
 * fault_status before phonemizing spoken chunk fault_chunk (fault_step 0) or after its
 * decoder step fault_step. Set only while no worker runs. */
static size_t fault_chunk = (size_t)-1;
static int fault_step, fault_status;
int tts__pipe_fault_hook(size_t chunk, int step);
int tts__pipe_fault_hook(size_t chunk, int step)
{
    return chunk == fault_chunk && step == fault_step ? fault_status : 0;
}

/* The engine's batch switch (lib/engine.c): the neural vocoder vocodes whole chunks even
 * at rate 1 while force_batch is set */
static int force_batch;
int tts__batch_hook(void);
int tts__batch_hook(void)
{
    return force_batch;
}

static tts_engine *open_neural(int threads, float rate)
{
    tts_options o = tts_default_options();
    o.model_path = model_path;
    o.vocoder = "wavenet";
    o.threads = threads;
    o.rate = rate;
    tts_engine *e;
    int rc = tts_engine_open(&e, &o);
    CHECK(rc == TTS_OK, "open (threads %d): %s", threads, tts_engine_error(e));
    return e;
}

static int same_event(const tts_event *a, const tts_event *b)
{
    return a->type == b->type && a->text_offset == b->text_offset &&
           a->text_length == b->text_length && a->sample == b->sample &&
           !strcmp(a->phoneme, b->phoneme);
}

/* the same samples, events and callback calls, bit for bit */
static int same_output(const capture *a, const capture *b)
{
    if (!same_audio(a, b) || a->n_ev != b->n_ev || a->calls != b->calls || a->n_ev >= 1024)
        return 0;
    for (size_t i = 0; i < a->n_ev; i++)
        if (!same_event(&a->ev[i], &b->ev[i]))
            return 0;
    return 1;
}

/* what part delivered before it stopped is the beginning of full: samples and events */
static int is_prefix(const capture *part, const capture *full)
{
    if (part->n > full->n || part->n_ev > full->n_ev ||
        (part->n && memcmp(part->pcm, full->pcm, part->n * sizeof(float))))
        return 0;
    for (size_t i = 0; i < part->n_ev; i++)
        if (!same_event(&part->ev[i], &full->ev[i]))
            return 0;
    return 1;
}

/* sample of the k-th (from 0) SENTENCE_START event */
static uint64_t sentence_start(const capture *c, int k)
{
    for (size_t i = 0; i < c->n_ev; i++)
        if (c->ev[i].type == TTS_EVENT_SENTENCE_START && k-- == 0)
            return c->ev[i].sample;
    return UINT64_MAX;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static const char *LONG_TEXT =
    "Hello there, world. How are you today? The quick brown fox jumps over the lazy dog. "
    "It is a fine day, isn't it? Yes. We will meet at 10:30 on the 3rd of May.";

static void *pipe_thread_main(void *arg)
{
    capture *c = arg;
    tts_engine *e = open_neural(2, 1);
    for (int i = 0; i < 3; i++) {
        c->n = c->n_ev = c->calls = c->calls_before_end = 0;
        CHECK(tts_synthesize(e, LONG_TEXT, on_audio, c) == TTS_OK, "pipelined thread synth: %s",
              tts_engine_error(e));
    }
    tts_engine_close(e);
    return NULL;
}

/* ---- streamed against batched ---------------------------------------------------------- */

static float max_diff(const capture *a, const capture *b)
{
    float d = 0;
    for (size_t i = 0; i < a->n && i < b->n; i++)
        d = fmaxf(d, fabsf(a->pcm[i] - b->pcm[i]));
    return d;
}

/* The neural vocoder streamed (frame by frame as the decoder makes them, the frames'
 * sharpening and the envelope match on the way with their look-aheads) gives what it gives
 * on a whole chunk at once; and the sharpening does change the sound. Rewrites voc. */
static void test_stream_vs_batch(const char *voc)
{
    struct {
        int env;
        float amount;
        int width;
    } set[] = {{0, 0, 5}, {2, 0, 5}, {0, 0.8f, 5}, {2, 0.8f, 5}, {4, 1.5f, 9}};
    capture plain = {0};
    for (size_t k = 0; k < sizeof set / sizeof *set; k++) {
        CHECK(tiny_vocoder_write(voc, set[k].env, set[k].amount, set[k].width) == 0,
              "making vocoder %zu", k);
        tts_engine *e = open_neural(1, 1);
        capture s = {0}, b = {0};
        CHECK(speak(e, LONG_TEXT, &s) == 0, "streamed %zu: %s", k, tts_engine_error(e));
        force_batch = 1;
        CHECK(speak(e, LONG_TEXT, &b) == 0, "batched %zu: %s", k, tts_engine_error(e));
        force_batch = 0;
        CHECK(s.calls_before_end >= 8 && b.calls_before_end < s.calls_before_end,
              "set %zu: %zu streamed chunks before the first sentence ended, %zu batched", k,
              s.calls_before_end, b.calls_before_end);
        float d = max_diff(&s, &b);
        CHECK(s.n == b.n && d <= 1e-5f, "set %zu (envelope passes %d, sharpening %g / %d): "
              "streamed %zu samples, batched %zu, largest difference %g", k, set[k].env,
              set[k].amount, set[k].width, s.n, b.n, d);
        if (set[k].amount > 0) { /* at other rates: streamed (sharpened, time-scaled as
                                  * they come) exactly as batched, sooner */
            static const float rates[] = {1.3f, 0.7f, 2.0f};
            for (int ri = 0; ri < 3; ri++) {
                tts_engine *er = open_neural(1, rates[ri]);
                capture rs = {0}, rb = {0};
                CHECK(speak(er, LONG_TEXT, &rs) == 0, "streamed at %g", rates[ri]);
                force_batch = 1;
                CHECK(speak(er, LONG_TEXT, &rb) == 0, "batched at %g", rates[ri]);
                force_batch = 0;
                int evs = rs.n_ev == rb.n_ev && rs.n_ev < 1024;
                for (size_t q = 0; evs && q < rs.n_ev; q++)
                    evs = same_event(&rs.ev[q], &rb.ev[q]);
                CHECK(same_audio(&rs, &rb) && evs && rs.calls_before_end > rb.calls_before_end,
                      "set %zu, rate %g: streamed (%zu samples, %zu chunks before the first "
                      "sentence ended) and batched (%zu, %zu) differ", k, rates[ri], rs.n,
                      rs.calls_before_end, rb.n, rb.calls_before_end);
                tts_engine_close(er);
                free(rs.pcm);
                free(rb.pcm);
            }
        }
        if (set[k].amount > 0 && set[k].env > 0) { /* the pipeline (threads 2): the same */
            tts_engine *e2 = open_neural(2, 1);
            capture p2 = {0};
            CHECK(speak(e2, LONG_TEXT, &p2) == 0 && same_output(&s, &p2),
                  "set %zu: threads 2 differ from 1 (%zu / %zu samples)", k, p2.n, s.n);
            tts_engine_close(e2);
            free(p2.pcm);
        }
        if (k == 0) {
            plain = s;
            s.pcm = NULL;
        } else if (set[k].env == 0) { /* sharpened against plain: the same length, not the same sound */
            CHECK(s.n == plain.n && max_diff(&s, &plain) > 1e-3f,
                  "set %zu: the sharpening changed nothing (%zu / %zu samples)", k, s.n, plain.n);
        }
        tts_engine_close(e);
        free(s.pcm);
        free(b.pcm);
    }
    free(plain.pcm);
    CHECK(make_vocoder(voc) == 0, "making the vocoder again");
}

static void test_pipeline(void)
{
    const char *texts[] = {
        TEXT, LONG_TEXT, "Hi.",
        /* breaks, a slower part (vocoded whole, not streamed), volume, say-as */
        "<speak>Hello <break time=\"300ms\"/> world. <prosody rate=\"50%\">Slowly now.</prosody>"
        " <prosody volume=\"50%\">Quiet <say-as interpret-as=\"characters\">abc</say-as>."
        "</prosody><break time=\"1s\"/>Done.</speak>",
    };
    tts_engine *e1 = open_neural(1, 1), *e2 = open_neural(2, 1);
    tts_engine *s1 = open_neural(1, 1.5f), *s2 = open_neural(2, 1.5f);
    capture a = {0}, b = {0};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        CHECK(speak(e1, texts[t], &a) == 0 && speak(e2, texts[t], &b) == 0,
              "pipeline synth %zu", t);
        CHECK(same_output(&a, &b), "text %zu: threads 1 and 2 differ: %zu / %zu samples, %zu / %zu "
              "events, %zu / %zu calls", t, a.n, b.n, a.n_ev, b.n_ev, a.calls, b.calls);
        CHECK(speak(s1, texts[t], &a) == 0 && speak(s2, texts[t], &b) == 0 && same_output(&a, &b),
              "text %zu at rate 1.5: threads 1 and 2 differ (%zu / %zu samples)", t, a.n, b.n);
    }
    tts_engine_close(s1);
    tts_engine_close(s2);

    /* cancellation: at the first chunk, in the middle, near the end; what came is the
     * beginning of the whole; the engine speaks on after it, the same */
    capture full = {0}, k = {0};
    CHECK(speak(e1, LONG_TEXT, &full) == 0 && speak(e2, LONG_TEXT, &b) == 0 &&
              same_output(&full, &b), "pipeline: long text");
    size_t stops[] = {1, full.n / 3, full.n / 2, full.n - 2000};
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
        free(k.pcm);
        k = (capture){.stop_after = stops[i]};
        CHECK(tts_synthesize(e2, LONG_TEXT, on_audio, &k) == TTS_E_CANCELLED &&
                  strstr(tts_engine_error(e2), "cancel"),
              "pipeline cancel at %zu: %s", stops[i], tts_engine_error(e2));
        CHECK(k.n >= stops[i] && k.n < full.n && k.n < stops[i] + 4096 && is_prefix(&k, &full),
              "pipeline cancel at %zu: %zu samples, not the beginning of the %zu", stops[i], k.n,
              full.n);
        CHECK(speak(e2, LONG_TEXT, &b) == 0 && same_output(&b, &full), "pipeline after cancel");
    }

    /* promptly: cancelled at the first chunk of a long text, the call returns long before
     * the text would have been spoken */
    char many[4096] = "";
    for (int i = 0; i < 8; i++)
        strcat(many, LONG_TEXT), strcat(many, " ");
    double t0 = now_s();
    CHECK(speak(e2, many, &b) == 0, "pipeline many");
    double t_full = now_s() - t0;
    free(k.pcm);
    k = (capture){.stop_after = 1};
    t0 = now_s();
    CHECK(tts_synthesize(e2, many, on_audio, &k) == TTS_E_CANCELLED, "pipeline early cancel");
    double t_cancel = now_s() - t0;
    CHECK(t_cancel < t_full / 4, "pipeline cancel not prompt: %.3f s, the whole text %.3f s",
          t_cancel, t_full);

    /* the worker's failures: status and message of the call, after exactly what came
     * before them; the engine works after them */
    struct {
        size_t chunk;
        int step, status;
        const char *msg;
    } faults[] = {
        {0, 0, TTS_E_NOMEM, "before phonemizing"},
        {1, 0, TTS_E_FRONTEND, "before phonemizing"},
        {2, 3, TTS_E_INTERNAL, "after a decoder step"},
        {5, 1, TTS_E_NOMEM, "after a decoder step"},
    };
    for (size_t i = 0; i < sizeof faults / sizeof *faults; i++) {
        fault_chunk = faults[i].chunk;
        fault_step = faults[i].step;
        fault_status = faults[i].status;
        free(k.pcm);
        k = (capture){0};
        int rc = tts_synthesize(e2, LONG_TEXT, on_audio, &k);
        fault_chunk = (size_t)-1;
        CHECK(rc == faults[i].status && strstr(tts_engine_error(e2), faults[i].msg),
              "worker fault %zu: status %d (%s)", i, rc, tts_engine_error(e2));
        uint64_t at = sentence_start(&full, (int)faults[i].chunk); /* one chunk a sentence */
        CHECK(is_prefix(&k, &full) && (faults[i].step ? k.n >= at && k.n < full.n : k.n == at),
              "worker fault %zu: %zu samples delivered, chunk %zu starts at %llu", i, k.n,
              faults[i].chunk, (unsigned long long)at);
        CHECK(speak(e2, LONG_TEXT, &b) == 0 && same_output(&b, &full), "pipeline after fault %zu",
              i);
    }
    /* the hook is not asked without the pipeline */
    fault_chunk = 0;
    fault_step = 0;
    fault_status = TTS_E_NOMEM;
    CHECK(speak(e1, LONG_TEXT, &a) == 0 && same_output(&a, &full), "fault hook without pipeline");
    fault_chunk = (size_t)-1;

    /* the same through tts_synthesize_to_file */
    char wav[300];
    snprintf(wav, sizeof wav, "%s.pipe.wav", model_path);
    CHECK(tts_synthesize_to_file(e2, TEXT, wav) == TTS_OK && access(wav, F_OK) == 0,
          "pipeline to file: %s", tts_engine_error(e2));
    unlink(wav);
    tts_engine_close(e1);
    tts_engine_close(e2);

    /* two pipelined engines in two threads: each gives the single-thread output */
    capture t1 = {0}, t2 = {0};
    pthread_t x, y;
    pthread_create(&x, NULL, pipe_thread_main, &t1);
    pthread_create(&y, NULL, pipe_thread_main, &t2);
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    CHECK(same_output(&t1, &full) && same_output(&t2, &full),
          "two pipelined engines in two threads differ from one thread (%zu, %zu, %zu samples)",
          t1.n, t2.n, full.n);
    printf("pipeline: same output with threads 1 and 2; cancel %.3f s vs %.3f s whole\n",
           t_cancel, t_full);
    free(a.pcm);
    free(b.pcm);
    free(k.pcm);
    free(full.pcm);
    free(t1.pcm);
    free(t2.pcm);
}


/* ---- word timing: each WORD event lands where the attention puts the word ------------ */
typedef struct {
    int pos[4096];
    int steps;
} step_log;

static int log_step(const float *frames, int r, int pos, void *user)
{
    (void)frames;
    (void)r;
    step_log *l = user;
    if (l->steps < 4096)
        l->pos[l->steps++] = pos;
    return 0;
}

/* Synthesizes one sentence with the acoustic model directly and, for each word, takes the
 * first decoder step whose attended token reaches the word's first phoneme: that step's
 * time (scaled by 1 / rate) is where the alignment puts the word. The engine's WORD events
 * for the same sentence must land within 50 ms of it, for Griffin-Lim and the neural
 * vocoder, at rate 1 and 1.5. */
static void test_word_timing(const char *voc_dir)
{
    const char *sentence = "Hello there, my old friend from the north.";
    tts_err err;
    tts_mf *mf = NULL;
    t2m_model m;
    const char *symbols;
    tts_frontend *fe = NULL;
    tts_phonemes ph = {0};
    if (tts_mf_open(&mf, model_path, &err) || t2m_from_mf(&m, mf, 0, NULL, &err) ||
        tts_mf_get_str(mf, "symbols", &symbols, &err) || tts_frontend_open(&fe, NULL, &err) ||
        tts_frontend_set_symbols(fe, symbols, strlen(symbols), &err) ||
        tts_frontend_phonemize(fe, sentence, strlen(sentence), &ph, &err)) {
        CHECK(0, "word timing set-up: %s", err.msg);
        return;
    }
    int *ids = malloc(sizeof(int) * ph.n_ids);
    for (size_t i = 0; i < ph.n_ids; i++)
        ids[i] = ph.ids[i];
    static step_log lg;
    lg.steps = 0;
    t2m_infer_opts io = t2m_infer_opts_default(&m); /* as the engine runs it */
    unsigned char *passable = malloc((size_t)m.cfg.n_symbols);
    tts_symtab_passable(tts_frontend_symbols(fe), passable);
    io.passable = passable;
    int stop;
    t2m_synthesize(&m, ids, (int)ph.n_ids, &io, log_step, &lg, NULL, &stop, &err);
    free(passable);
    double step_s = (double)m.cfg.r * 200 / 16000;
    const double rates[2] = {1.0, 1.5};
    double worst = 0;
    int checked = 0;
    for (int neural = 0; neural < 2; neural++)
        for (int ri = 0; ri < 2; ri++) {
            tts_options o = tts_default_options();
            char path[300];
            snprintf(path, sizeof path, "%s/voice.ltm", voc_dir);
            o.model_path = neural ? path : model_path;
            o.vocoder = neural ? "wavenet" : "griffinlim";
            o.rate = (float)rates[ri];
            tts_engine *e;
            CHECK(tts_engine_open(&e, &o) == TTS_OK, "open: %s", tts_engine_error(e));
            capture c = {0};
            CHECK(tts_synthesize(e, sentence, on_audio, &c) == TTS_OK, "synth");
            size_t w = 0;
            for (size_t i = 0; i < c.n_ev; i++) {
                if (c.ev[i].type != TTS_EVENT_WORD || w >= ph.n_words)
                    continue;
                int first = (int)ph.words[w].first_id, s = 0;
                while (s < lg.steps && lg.pos[s] < first)
                    s++;
                double want = s * step_s / rates[ri], got = c.ev[i].sample / 16000.0;
                worst = fmax(worst, fabs(got - want));
                checked++;
                w++;
            }
            CHECK(w == ph.n_words, "%zu word events for %zu words", w, ph.n_words);
            free(c.pcm);
            tts_engine_close(e);
        }
    printf("word timing: %d word events, worst distance to the alignment %.1f ms\n", checked,
           1000 * worst);
    CHECK(checked > 0 && worst <= 0.050, "word event %.1f ms from its alignment", 1000 * worst);
    free(ids);
    tts_phonemes_free(&ph);
    tts_frontend_close(fe);
    t2m_free(&m);
    tts_mf_close(mf);
}

static void *thread_main(void *arg)
{
    capture *c = arg;
    tts_engine *e = open_engine(1, 1);
    for (int i = 0; i < 3; i++) {
        c->n = c->n_ev = 0;
        CHECK(tts_synthesize(e, TEXT, on_audio, c) == TTS_OK, "thread synth");
    }
    tts_engine_close(e);
    return NULL;
}

/* the limits of one call: silence (breaks up front, pauses as they come), audio; the
 * options' ranges; a NULL engine pointer */
static void test_limits(void)
{
    tts_options o = tts_default_options();
    tts_engine *e;
    o.model_path = model_path;
    o.vocoder = "griffinlim";
    CHECK(tts_engine_open(NULL, &o) == TTS_E_INVALID, "a NULL engine pointer refused");
    int bad_gl[] = {-1, TTS_GL_MAX_ITERS + 1, 2000000000};
    for (int i = 0; i < 3; i++) {
        o.griffin_lim_iters = bad_gl[i];
        CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID && strstr(tts_engine_error(e), "griffin_lim_iters"),
              "griffin_lim_iters %d: %s", bad_gl[i], tts_engine_error(e));
        tts_engine_close(e);
    }
    o.griffin_lim_iters = 0;
    o.max_silence = -1;
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID, "max_silence -1 refused");
    tts_engine_close(e);
    o.max_silence = 0;
    o.max_seconds = 1e9f;
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID, "max_seconds 1e9 refused");
    tts_engine_close(e);
    capture c = {0};
    /* breaks over the limit: refused before any audio */
    o.max_seconds = 0;
    o.max_silence = 5;
    CHECK(tts_engine_open(&e, &o) == 0, "open: %s", tts_engine_error(e));
    int rc = tts_synthesize(e, "<speak>Hi <break time=\"3s\"/> there <break time=\"3s\"/></speak>",
                            on_audio, &c);
    CHECK(rc == TTS_E_INVALID && strstr(tts_engine_error(e), "6 s of breaks") && c.n == 0,
          "6 s of breaks over a 5 s limit: %d %s, %zu samples", rc, tts_engine_error(e), c.n);
    CHECK(speak(e, "<speak>Hi <break time=\"3s\"/> there</speak>", &c) == 0, "3 s of breaks within it");
    tts_engine_close(e);
    /* pauses after sentences count as they come */
    o.max_silence = 1;
    o.sentence_silence = 0.4f;
    CHECK(tts_engine_open(&e, &o) == 0, "open: %s", tts_engine_error(e));
    free(c.pcm);
    memset(&c, 0, sizeof c);
    rc = tts_synthesize(e, "One. Two. Three. Four.", on_audio, &c);
    CHECK(rc == TTS_E_INVALID && strstr(tts_engine_error(e), "silence"),
          "4 pauses of 0.4 s over a 1 s limit: %d %s", rc, tts_engine_error(e));
    tts_engine_close(e);
    /* all audio */
    o.max_silence = 0;
    o.sentence_silence = 0.2f;
    o.max_seconds = 0.3f;
    CHECK(tts_engine_open(&e, &o) == 0, "open: %s", tts_engine_error(e));
    free(c.pcm);
    memset(&c, 0, sizeof c);
    rc = tts_synthesize(e, "Hello there, this is a longer sentence than a third of a second.",
                        on_audio, &c);
    CHECK(rc == TTS_E_INVALID && strstr(tts_engine_error(e), "max_seconds") && c.n <= 4800 + 4096,
          "over 0.3 s of audio: %d %s, %zu samples", rc, tts_engine_error(e), c.n);
    tts_engine_close(e);
    /* a sentence vocoded whole (Griffin-Lim) and handed on in several callbacks: each
     * carries the events of its own samples, none ahead (fuzz_engine found them all on the
     * first) */
    o.max_seconds = 0;
    CHECK(tts_engine_open(&e, &o) == 0, "open: %s", tts_engine_error(e));
    CHECK(speak(e, "Hello there, this is a longer sentence than one callback.", &c) == 0 &&
              c.n > 3 * 4096 && c.calls >= 3 && c.n_ev > 4,
          "a long sentence: %zu samples, %zu calls, %zu events", c.n, c.calls, c.n_ev);
    CHECK(c.early == 0, "Griffin-Lim: %zu events came before their audio", c.early);
    tts_engine_close(e);
    free(c.pcm);
}

/* 1,000 engines opened, one in a hundred used, and closed: under the sanitizers
 * (scripts/test.sh --sanitize, CI) LeakSanitizer fails the run if any of it leaks. Under
 * emulation (a cross build's tests in qemu, where an engine takes a quarter of a second
 * to open) 100 of them. */
static void test_open_close_cycles(void)
{
    tts_options o = tts_default_options();
    o.model_path = model_path;
    o.vocoder = "griffinlim";
    o.griffin_lim_iters = 1;
    int opened = 0, spoke = 0, n = getenv("TTS_TEST_EMULATED") ? 100 : 1000;
    for (int i = 0; i < n; i++) {
        tts_engine *e;
        o.threads = 1 + i % 2;
        if (tts_engine_open(&e, &o) == 0) {
            opened++;
            if (i % 100 == 0) {
                capture c = {0};
                spoke += speak(e, "Hi.", &c) == 0 && c.n > 0;
                free(c.pcm);
            }
        }
        tts_engine_close(e);
    }
    printf("open/close: %d of %d engines opened, %d of %d spoke\n", opened, n, spoke, n / 100);
    CHECK(opened == n && spoke == n / 100, "open/close cycles: %d opened, %d spoke", opened,
          spoke);
}

/* pitch: its range, a voice without the control, and a voice with it */
static void test_pitch(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pitchvoice.ltm", dir);
    CHECK(tiny_voice_write(path, 1) == 0, "making the pitch voice");
    tts_options o = tts_default_options();
    tts_engine *e;
    o.vocoder = "griffinlim";
    o.model_path = model_path; /* no pitch predictor */
    o.pitch = 2;
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID && strstr(tts_engine_error(e), "no pitch control"),
          "pitch on a voice without the control: %s", tts_engine_error(e));
    tts_engine_close(e);
    o.model_path = path;
    o.pitch = 12.5f;
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID && strstr(tts_engine_error(e), "pitch"),
          "pitch 12.5: %s", tts_engine_error(e));
    tts_engine_close(e);
    capture c[3] = {0};
    for (int k = 0; k < 3; k++) {
        o.pitch = k == 2 ? 4 : 0;
        CHECK(tts_engine_open(&e, &o) == 0, "open the pitch voice: %s", tts_engine_error(e));
        CHECK(speak(e, "Hello there.", &c[k]) == 0, "speak at pitch %g", o.pitch);
        tts_engine_close(e);
    }
    CHECK(same_audio(&c[0], &c[1]), "pitch 0 twice: the same audio");
    CHECK(!same_audio(&c[0], &c[2]), "pitch 4 changes the audio");
    /* SSML <prosody pitch> is the same control, per segment: +4st says what pitch 4 says,
     * and adds to the engine's */
    capture sx = {0}, sy = {0};
    o.pitch = 0;
    CHECK(tts_engine_open(&e, &o) == 0, "open the pitch voice: %s", tts_engine_error(e));
    CHECK(speak(e, "<speak><prosody pitch=\"+4st\">Hello there.</prosody></speak>", &sx) == 0,
          "speak SSML pitch");
    tts_engine_close(e);
    o.pitch = -2;
    CHECK(tts_engine_open(&e, &o) == 0, "open the pitch voice: %s", tts_engine_error(e));
    CHECK(speak(e, "<speak><prosody pitch=\"+6st\">Hello there.</prosody></speak>", &sy) == 0,
          "speak SSML pitch over an engine pitch");
    tts_engine_close(e);
    CHECK(same_audio(&sx, &c[2]) && same_audio(&sy, &c[2]),
          "<prosody pitch=\"+4st\"> (and +6st over pitch -2) is pitch 4");
    free(sx.pcm);
    free(sy.pcm);
    for (int k = 0; k < 3; k++)
        free(c[k].pcm);
    remove(path);
}

/* A sentence whose last chunk has no words (punctuation in its own prosody) still gets
 * its pause */
static void test_wordless_last_chunk(void)
{
    const char *doc = "<speak>Hello there <prosody rate=\"1.2\">!!!</prosody></speak>";
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        tts_options o = tts_default_options();
        o.model_path = model_path;
        o.sentence_silence = k ? 0.5f : 0;
        tts_engine *e;
        CHECK(tts_engine_open(&e, &o) == TTS_OK, "open: %s", tts_engine_error(e));
        capture c = {0};
        CHECK(tts_synthesize(e, doc, on_audio, &c) == TTS_OK, "wordless: %s",
              tts_engine_error(e));
        n[k] = c.n;
        free(c.pcm);
        tts_engine_close(e);
    }
    CHECK(n[1] == n[0] + 8000, "the pause after a sentence ending in a wordless chunk: %zu "
          "samples with 0.5 s, %zu without", n[1], n[0]);
}

/* The kernels' levels (scalar, AVX2, AVX-512: nn/kernels.h) sum in other orders, so the
 * speech differs by rounding only: the same length, within 40 dB of each other (the
 * shipped voice: 70 dB between OpenBLAS's and libtts's GEMMs) */
static void test_simd_levels(void)
{
    capture ref = {0};
    nn_simd_level best = nn_simd_detect();
    for (int lev = 0; lev <= (int)best; lev++) {
        nn_simd_set((nn_simd_level)lev);
        tts_engine *e = open_neural(1, 1);
        capture c = {0};
        CHECK(tts_synthesize(e, TEXT, on_audio, &c) == TTS_OK, "level %s: %s",
              nn_simd_name((nn_simd_level)lev), tts_engine_error(e));
        if (lev == 0) {
            ref = c;
        } else {
            double err = 0, sig = 0;
            for (size_t i = 0; i < c.n && i < ref.n; i++) {
                err += ((double)c.pcm[i] - ref.pcm[i]) * ((double)c.pcm[i] - ref.pcm[i]);
                sig += (double)ref.pcm[i] * ref.pcm[i];
            }
            double snr = 10 * log10(sig / (err > 1e-30 ? err : 1e-30));
            CHECK(c.n == ref.n && snr > 40, "level %s against scalar: %zu / %zu samples, %.1f dB",
                  nn_simd_name((nn_simd_level)lev), c.n, ref.n, snr);
            free(c.pcm);
        }
        tts_engine_close(e);
    }
    nn_simd_set(best);
    free(ref.pcm);
}

/* tts_engine_set_prosody: the next calls speak as an engine opened with those settings,
 * to the bit; out of range changes nothing */
static void test_set_prosody(void)
{
    tts_engine *e = open_engine(1, 1), *ref = open_engine(1.5f, 0.5f);
    capture a = {0}, b = {0}, c = {0};
    CHECK(tts_engine_set_prosody(e, 1.5f, 0.5f, 0) == TTS_OK, "set: %s", tts_engine_error(e));
    CHECK(tts_synthesize(e, TEXT, on_audio, &a) == TTS_OK, "after set: %s", tts_engine_error(e));
    CHECK(tts_synthesize(ref, TEXT, on_audio, &b) == TTS_OK, "opened so: %s",
          tts_engine_error(ref));
    CHECK(a.n == b.n && a.n > 0 && !memcmp(a.pcm, b.pcm, a.n * sizeof(float)),
          "set_prosody(1.5, 0.5) speaks as an engine opened with them (%zu vs %zu samples)", a.n,
          b.n);
    CHECK(tts_engine_set_prosody(e, 3, 1, 0) == TTS_E_INVALID &&
              strstr(tts_engine_error(e), "rate 3"), "rate 3: %s", tts_engine_error(e));
    CHECK(tts_engine_set_prosody(e, 1, 5, 0) == TTS_E_INVALID, "volume 5");
    CHECK(tts_engine_set_prosody(e, 1, 1, 2) == TTS_E_INVALID &&
              strstr(tts_engine_error(e), "no pitch control"),
          "pitch on a voice without a predictor: %s", tts_engine_error(e));
    CHECK(tts_synthesize(e, TEXT, on_audio, &c) == TTS_OK && c.n == a.n &&
              !memcmp(c.pcm, a.pcm, a.n * sizeof(float)),
          "refused settings change nothing");
    CHECK(tts_engine_set_prosody(NULL, 1, 1, 0) == TTS_E_INVALID, "NULL engine");
    tts_engine_close(e);
    tts_engine_close(ref);
    free(a.pcm);
    free(b.pcm);
    free(c.pcm);
}

/* <mark>s as events: in document order, each at the sample where the speech after it
 * begins (the word after it, the start of a break, the end), named; they neither split
 * nor change the speech around them */
static void test_marks(void)
{
    const char *doc = "<speak><mark name=\"a\"/>Hello there, <mark name=\"b\"/>world. "
                      "<mark name=\"c\"/><break time=\"300ms\"/>How are you today?"
                      "<mark name=\"d&amp;e\"/></speak>";
    const char *plain = "<speak>Hello there, world. <break time=\"300ms\"/>How are you "
                        "today?</speak>";
    for (int threads = 1; threads <= 2; threads++) {
        tts_options o = tts_default_options();
        o.model_path = model_path;
        o.threads = threads;
        tts_engine *e;
        CHECK(tts_engine_open(&e, &o) == TTS_OK, "open: %s", tts_engine_error(e));
        capture c = {0}, p = {0};
        CHECK(tts_synthesize(e, doc, on_audio, &c) == TTS_OK, "marks: %s", tts_engine_error(e));
        CHECK(tts_synthesize(e, plain, on_audio, &p) == TTS_OK, "no marks: %s",
              tts_engine_error(e));
        CHECK(c.n == p.n && !memcmp(c.pcm, p.pcm, c.n * sizeof(float)),
              "threads %d: marks change nothing of the audio (%zu vs %zu samples)", threads, c.n,
              p.n);
        const tts_event *mk[4] = {0}, *hello = NULL, *world = NULL, *how = NULL, *end1 = NULL;
        size_t n_marks = 0;
        int sorted = 1;
        for (size_t i = 0; i < c.n_ev; i++) {
            const tts_event *v = &c.ev[i];
            sorted &= i == 0 || v->sample >= c.ev[i - 1].sample;
            if (v->type == TTS_EVENT_MARK && n_marks < 4)
                mk[n_marks++] = v;
            else if (v->type == TTS_EVENT_MARK)
                n_marks++;
            if (v->type == TTS_EVENT_WORD && !strncmp(doc + v->text_offset, "Hello", 5))
                hello = v;
            if (v->type == TTS_EVENT_WORD && !strncmp(doc + v->text_offset, "world", 5)) {
                world = v;
                CHECK(i > 0 && c.ev[i - 1].type == TTS_EVENT_MARK,
                      "the mark right before its word");
            }
            if (v->type == TTS_EVENT_WORD && !strncmp(doc + v->text_offset, "How", 3))
                how = v;
            if (v->type == TTS_EVENT_SENTENCE_END && !end1)
                end1 = v;
        }
        CHECK(sorted, "events in sample order");
        CHECK(n_marks == 4 && !strcmp(mk[0]->name, "a") && !strcmp(mk[1]->name, "b") &&
                  !strcmp(mk[2]->name, "c") && !strcmp(mk[3]->name, "d&e"),
              "threads %d: 4 marks in order, named: %zu", threads, n_marks);
        CHECK(n_marks == 4 && hello && world && how && end1, "threads %d: events missing",
              threads);
        if (n_marks == 4 && hello && world && how && end1) {
            CHECK(mk[0]->sample == hello->sample && mk[1]->sample == world->sample,
                  "marks at the words after them: %llu/%llu, %llu/%llu",
                  (unsigned long long)mk[0]->sample, (unsigned long long)hello->sample,
                  (unsigned long long)mk[1]->sample, (unsigned long long)world->sample);
            CHECK(mk[2]->sample == end1->sample && how->sample >= mk[2]->sample + 4800,
                  "a mark before a break: at its start (%llu; sentence end %llu, next word %llu)",
                  (unsigned long long)mk[2]->sample, (unsigned long long)end1->sample,
                  (unsigned long long)how->sample);
            CHECK(mk[3]->sample == c.n, "the last mark at the end: %llu of %zu",
                  (unsigned long long)mk[3]->sample, c.n);
            CHECK(!strncmp(doc + mk[1]->text_offset, "<mark name=\"b\"/>", mk[1]->text_length) &&
                      mk[1]->text_length == 16,
                  "a mark's span is its tag");
        }
        tts_engine_close(e);
        free(c.pcm);
        free(p.pcm);
    }
}

/* tts_options carries its size: options of an older, smaller layout open with the newer
 * fields at their defaults (whatever lies past their end), and options that were not made
 * by tts_default_options() / tts_options_init() (size 0) are refused with a message. */
static void test_options_size(void)
{
    /* an "old program": its struct ends before pitch; what follows is garbage that would
     * be an invalid pitch, silence limit and time limit if it were read */
    union {
        tts_options o;
        unsigned char bytes[sizeof(tts_options)];
    } u;
    memset(u.bytes, 0xff, sizeof u.bytes);
    size_t old = offsetof(tts_options, pitch);
    tts_options_init_sized(&u.o, old);
    CHECK(u.o.size == old && u.bytes[old] == 0xff, "init writes no more than its size");
    CHECK(u.o.rate == 1.0f && u.o.threads == 1 && u.o.model_path == NULL, "init's defaults");
    u.o.model_path = model_path;
    tts_engine *e;
    int rc = tts_engine_open(&e, &u.o);
    CHECK(rc == TTS_OK, "older, smaller options: %s", tts_engine_error(e));
    tts_engine_close(e);

    tts_options z;
    memset(&z, 0, sizeof z);
    z.model_path = model_path;
    z.rate = z.volume = 1;
    CHECK(tts_engine_open(&e, &z) == TTS_E_INVALID &&
              strstr(tts_engine_error(e), "tts_default_options"),
          "options of size 0: %s", tts_engine_error(e));
    tts_engine_close(e);
    tts_options d = tts_default_options();
    CHECK(d.size == sizeof d, "tts_default_options sets the size");
}

int main(void)
{
    char dir[] = "/tmp/tts_engine_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(model_path, sizeof model_path, "%s/voice.ltm", dir);
    CHECK(make_voice(model_path) == 0, "making the voice");
    test_pitch(dir);
    test_limits();
    test_open_close_cycles();
    test_options_size();
    test_marks();
    test_set_prosody();
    test_wordless_last_chunk();

    /* errors */
    tts_options o = tts_default_options();
    tts_engine *e;
    o.model_path = "/nonexistent/voice.ltm";
    CHECK(tts_engine_open(&e, &o) == TTS_E_IO && strstr(tts_engine_error(e), "/nonexistent"),
          "missing model: %s", tts_engine_error(e));
    tts_engine_close(e);
    o = tts_default_options();
    o.model_path = model_path;
    o.rate = 5;
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID && strstr(tts_engine_error(e), "rate"),
          "bad rate: %s", tts_engine_error(e));
    tts_engine_close(e);
    o.rate = 1;
    o.vocoder = "nonesuch";
    CHECK(tts_engine_open(&e, &o) == TTS_E_INVALID && strstr(tts_engine_error(e), "nonesuch"),
          "bad vocoder: %s", tts_engine_error(e));
    tts_engine_close(e);

    e = open_engine(1, 1);
    CHECK(tts_engine_sample_rate(e) == 16000, "sample rate");
    capture c = {0};
    CHECK(tts_synthesize(e, "", on_audio, &c) == TTS_E_INVALID, "empty text");
    CHECK(tts_synthesize(e, "  \n\t ", on_audio, &c) == TTS_E_INVALID, "white space");
    CHECK(tts_synthesize(e, "ab\xff" "cd", on_audio, &c) == TTS_E_INVALID &&
              strstr(tts_engine_error(e), "2"), "invalid UTF-8: %s", tts_engine_error(e));
    CHECK(tts_synthesize(e, NULL, on_audio, &c) == TTS_E_INVALID, "NULL text");
    CHECK(tts_synthesize(e, TEXT, NULL, NULL) == TTS_E_INVALID, "NULL callback");
    CHECK(c.n == 0, "no audio for rejected input");

    /* events: two sentences, each word once, in order, inside the audio */
    c.n = c.n_ev = 0;
    CHECK(tts_synthesize(e, TEXT, on_audio, &c) == TTS_OK, "synth: %s", tts_engine_error(e));
    int starts = 0, ends = 0, words = 0, ordered = 1;
    uint64_t last = 0;
    const char *expect[] = {"Hello", "there", "world", "How", "are", "you", "today"};
    for (size_t i = 0; i < c.n_ev; i++) {
        tts_event *v = &c.ev[i];
        starts += v->type == TTS_EVENT_SENTENCE_START;
        ends += v->type == TTS_EVENT_SENTENCE_END;
        if (v->type == TTS_EVENT_WORD) {
            if (words < 7)
                CHECK(v->text_length == strlen(expect[words]) &&
                          !strncmp(TEXT + v->text_offset, expect[words], v->text_length),
                      "word %d is '%.*s'", words, (int)v->text_length, TEXT + v->text_offset);
            words++;
        }
        ordered &= v->sample >= last && v->sample <= c.n;
        last = v->sample;
    }
    CHECK(starts == 2 && ends == 2 && words == 7, "events: %d starts, %d ends, %d words", starts,
          ends, words);
    CHECK(ordered, "event positions not increasing or past the audio");
    float peak = 0;
    for (size_t i = 0; i < c.n; i++)
        peak = fabsf(c.pcm[i]) > peak ? fabsf(c.pcm[i]) : peak;
    CHECK(c.n > 16000 / 2 && peak > 0 && peak <= 1, "audio: %zu samples, peak %g", c.n, peak);

    /* deterministic */
    capture d = {0};
    CHECK(tts_synthesize(e, TEXT, on_audio, &d) == TTS_OK, "second synth");
    CHECK(d.n == c.n && !memcmp(d.pcm, c.pcm, c.n * sizeof(float)), "not deterministic");

    /* cancellation: stops at once, says so */
    capture k = {.stop_after = 1000};
    CHECK(tts_synthesize(e, TEXT, on_audio, &k) == TTS_E_CANCELLED, "cancel status");
    CHECK(k.n < c.n, "cancel did not stop (%zu of %zu)", k.n, c.n);
    CHECK(strstr(tts_engine_error(e), "cancel") != NULL, "cancel message: %s", tts_engine_error(e));
    /* the engine works after a cancellation */
    capture after = {0};
    CHECK(tts_synthesize(e, TEXT, on_audio, &after) == TTS_OK && after.n == c.n, "after cancel");
    tts_engine_close(e);

    /* rate and volume */
    tts_engine *fast = open_engine(2.0f, 0.5f);
    capture f = {0};
    CHECK(tts_synthesize(fast, TEXT, on_audio, &f) == TTS_OK, "fast synth");
    size_t speech = c.n - 2 * 3200, fspeech = f.n - 2 * 3200; /* minus the sentence pauses */
    CHECK(fspeech < speech * 0.6 && fspeech > speech * 0.4, "rate 2: %zu vs %zu samples", fspeech, speech);
    tts_engine_close(fast);

    /* phoneme events: after their word's event, with its span, in order, one per phoneme */
    check_phoneme_events(&c, "Griffin-Lim");

    /* SSML, phoneme input, lexicon */
    test_ssml_engine(c.n);

    /* two engines in two threads: each gives exactly the single-thread audio */
    capture t1 = {0}, t2 = {0};
    pthread_t a, b;
    pthread_create(&a, NULL, thread_main, &t1);
    pthread_create(&b, NULL, thread_main, &t2);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(t1.n == c.n && !memcmp(t1.pcm, c.pcm, c.n * sizeof(float)), "thread 1 audio differs");
    CHECK(t2.n == c.n && !memcmp(t2.pcm, c.pcm, c.n * sizeof(float)), "thread 2 audio differs");

    /* to file: nothing left behind on failure */
    e = open_engine(1, 1);
    char wav[300];
    snprintf(wav, sizeof wav, "%s/out.wav", dir);
    CHECK(tts_synthesize_to_file(e, TEXT, wav) == TTS_OK && access(wav, F_OK) == 0, "to file");
    unlink(wav);
    CHECK(tts_synthesize_to_file(e, "\xc3", wav) == TTS_E_INVALID && access(wav, F_OK) != 0,
          "bad text leaves no file");
    CHECK(tts_synthesize_to_file(e, TEXT, "/nonexistent-dir/x.wav") == TTS_E_IO, "bad path");
    tts_engine_close(e);

    /* the neural vocoder streams: many small chunks within the first sentence, every word
     * event once and in order, deterministic, cancellable, and Griffin-Lim still on demand */
    char voc[300];
    snprintf(voc, sizeof voc, "%s/voice.vocoder.ltm", dir);
    CHECK(make_vocoder(voc) == 0, "making the vocoder");
    test_word_timing(dir);
    o = tts_default_options();
    o.model_path = model_path;
    o.vocoder = "wavenet";
    CHECK(tts_engine_open(&e, &o) == TTS_OK, "open with vocoder: %s", tts_engine_error(e));
    capture v1 = {0}, v2 = {0};
    CHECK(tts_synthesize(e, TEXT, on_audio, &v1) == TTS_OK, "neural synth: %s", tts_engine_error(e));
    CHECK(tts_synthesize(e, TEXT, on_audio, &v2) == TTS_OK, "neural synth again");
    CHECK(v1.n == v2.n && !memcmp(v1.pcm, v2.pcm, v1.n * sizeof(float)), "neural not deterministic");
    CHECK(v1.calls_before_end >= 8, "not streamed: %zu chunks before the first sentence ended",
          v1.calls_before_end);
    int vw = 0, vord = 1;
    last = 0;
    for (size_t i = 0; i < v1.n_ev; i++) {
        if (v1.ev[i].type == TTS_EVENT_WORD) {
            if (vw < 7)
                CHECK(!strncmp(TEXT + v1.ev[i].text_offset, expect[vw], v1.ev[i].text_length),
                      "neural word %d", vw);
            vw++;
        }
        vord &= v1.ev[i].sample >= last && v1.ev[i].sample <= v1.n;
        last = v1.ev[i].sample;
    }
    CHECK(vw == 7 && vord, "neural events: %d words, ordered %d", vw, vord);
    /* the vocoder's look-ahead and envelope match delay the audio: no event may come with
     * a chunk before the one it falls in */
    CHECK(v1.early == 0, "neural: %zu events came before their audio", v1.early);
    check_phoneme_events(&v1, "streamed");
    capture vk = {.stop_after = 500};
    CHECK(tts_synthesize(e, TEXT, on_audio, &vk) == TTS_E_CANCELLED && vk.n < 2000,
          "neural cancel: %zu samples", vk.n);
    tts_engine_close(e);
    o.vocoder = "griffinlim";
    CHECK(tts_engine_open(&e, &o) == TTS_OK, "open griffinlim");
    capture g = {0};
    CHECK(tts_synthesize(e, TEXT, on_audio, &g) == TTS_OK && g.n == c.n &&
              !memcmp(g.pcm, c.pcm, c.n * sizeof(float)), "griffinlim beside a vocoder file");
    tts_engine_close(e);
    test_pipeline();
    test_stream_vs_batch(voc);
    test_simd_levels();
    unlink(voc);
    o.vocoder = "wavenet";
    CHECK(tts_engine_open(&e, &o) == TTS_E_NO_MODEL, "wavenet without a vocoder file");
    tts_engine_close(e);
    free(v1.pcm);
    free(v2.pcm);
    free(vk.pcm);
    free(g.pcm);

    free(c.pcm);
    free(d.pcm);
    free(k.pcm);
    free(after.pcm);
    free(f.pcm);
    free(t1.pcm);
    free(t2.pcm);
    unlink(model_path);
    rmdir(dir);
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("all engine tests passed\n");
    return 0;
}
