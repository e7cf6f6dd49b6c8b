/* tts --json-input: see batch.h. */
#include "cli/batch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "audio/wav.h"

#define BATCH_MAX_ENGINES 8
#define BATCH_MAX_LINE (1 << 24)

typedef struct {
    char *voice; /* NULL: the command line's voice */
    tts_engine *e;
} slot;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the engine for voice (NULL: base's), opened on first use; NULL with a message in msg */
static tts_engine *engine_for(slot *s, int *n, const tts_options *base, const char *voice,
                              char *msg, size_t cap)
{
    for (int i = 0; i < *n; i++)
        if ((!voice && !s[i].voice) || (voice && s[i].voice && !strcmp(voice, s[i].voice)))
            return s[i].e;
    if (*n == BATCH_MAX_ENGINES) {
        snprintf(msg, cap, "more than %d voices in one run", BATCH_MAX_ENGINES);
        return NULL;
    }
    tts_options o = *base;
    if (voice) {
        o.voice = voice;
        o.model_path = NULL;
    }
    tts_engine *e;
    if (tts_engine_open(&e, &o)) {
        snprintf(msg, cap, "%s", e ? tts_engine_error(e) : "out of memory");
        tts_engine_close(e);
        return NULL;
    }
    s[*n].voice = voice ? strdup(voice) : NULL;
    if (voice && !s[*n].voice) { /* a slot without its name would serve the default voice */
        snprintf(msg, cap, "out of memory");
        tts_engine_close(e);
        return NULL;
    }
    s[*n].e = e;
    return s[(*n)++].e;
}

/* a number member of obj, or dflt when absent; -1 when present but not a number */
static int number(const cJSON *obj, const char *key, float dflt, float *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return -1;
    *out = (float)v->valuedouble;
    return 0;
}

typedef struct {
    tts_wav_writer *w;
    tts_err err;
    int failed;
    size_t samples, sentences;
} out_file;

static int to_file(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    out_file *f = user;
    for (size_t i = 0; i < n_ev; i++)
        f->sentences += ev[i].type == TTS_EVENT_SENTENCE_END;
    f->samples += n;
    if (n && tts_wav_writer_write(f->w, pcm, n, &f->err)) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

/* one line: 0 or its exit status, with msg; adds its audio seconds and sentences */
static int one_line(const char *line, slot *s, int *ns, const tts_options *base, char *msg,
                    size_t cap, double *audio_s, long *sentences)
{
    cJSON *obj = cJSON_Parse(line);
    int rc = 2;
    if (!obj || !cJSON_IsObject(obj)) {
        snprintf(msg, cap, "not a JSON object");
        goto out;
    }
    static const char *const known[] = {"text", "output", "voice", "rate", "volume", "pitch"};
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok |= c->string && !strcmp(c->string, known[k]);
        if (!ok) {
            snprintf(msg, cap, "unknown key \"%.40s\" (keys: text, output, voice, rate, volume, "
                     "pitch)", c->string ? c->string : "");
            goto out;
        }
    }
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, "text");
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(obj, "output");
    const cJSON *voice = cJSON_GetObjectItemCaseSensitive(obj, "voice");
    if (!cJSON_IsString(text) || !cJSON_IsString(output) || !output->valuestring[0]) {
        snprintf(msg, cap, "\"text\" and \"output\" must be strings");
        goto out;
    }
    if (voice && !cJSON_IsString(voice)) {
        snprintf(msg, cap, "\"voice\" must be a string");
        goto out;
    }
    float rate, volume, pitch;
    if (number(obj, "rate", base->rate, &rate) || number(obj, "volume", base->volume, &volume) ||
        number(obj, "pitch", base->pitch, &pitch)) {
        snprintf(msg, cap, "\"rate\", \"volume\" and \"pitch\" must be numbers");
        goto out;
    }
    tts_engine *e = engine_for(s, ns, base, voice ? voice->valuestring : NULL, msg, cap);
    if (!e) {
        rc = 3;
        goto out;
    }
    out_file f = {0};
    int st = tts_engine_set_prosody(e, rate, volume, pitch);
    if (st) {
        snprintf(msg, cap, "%s", tts_engine_error(e));
        goto out;
    }
    if ((st = tts_wav_writer_open(&f.w, output->valuestring, tts_engine_sample_rate(e), &f.err))) {
        snprintf(msg, cap, "%s", f.err.msg);
        goto out;
    }
    st = tts_synthesize(e, text->valuestring, to_file, &f);
    if (st || f.failed) { /* nothing is left at the output */
        snprintf(msg, cap, "%s", f.failed ? f.err.msg : tts_engine_error(e));
        tts_wav_writer_abort(f.w);
        rc = f.failed || st != TTS_E_INVALID ? 1 : 2;
        goto out;
    }
    if ((st = tts_wav_writer_close(f.w, &f.err))) {
        snprintf(msg, cap, "%s", f.err.msg);
        rc = 1;
        goto out;
    }
    *audio_s += (double)f.samples / tts_engine_sample_rate(e);
    *sentences += (long)f.sentences;
    rc = 0;
out:
    cJSON_Delete(obj);
    return rc;
}

int tts_batch_run(FILE *in, const tts_options *base, int progress)
{
    slot s[BATCH_MAX_ENGINES];
    int ns = 0, first_rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, done = 0, failed = 0, sentences = 0;
    double t0 = now_s(), audio_s = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)n)
            continue; /* blank */
        char msg[600];
        int rc = n > BATCH_MAX_LINE
                     ? 2
                     : one_line(line, s, &ns, base, msg, sizeof msg, &audio_s, &sentences);
        if (n > BATCH_MAX_LINE)
            snprintf(msg, sizeof msg, "longer than %d bytes", BATCH_MAX_LINE);
        if (rc) {
            if (progress)
                fputc('\n', stderr);
            fprintf(stderr, "tts: --json-input line %ld: %s\n", lineno, msg);
            failed++;
            if (!first_rc)
                first_rc = rc;
        } else {
            done++;
        }
        if (progress) {
            double t = now_s() - t0;
            fprintf(stderr, "\rtts: %ld done (%ld sentences, %.1f s of audio, %.1f x real time)"
                    "%s", done, sentences, audio_s, t > 0 ? audio_s / t : 0.0,
                    failed ? ", some failed" : "");
        }
    }
    if (progress && (done || failed))
        fputc('\n', stderr);
    if (lineno == 0 || done + failed == 0) {
        fprintf(stderr, "tts: --json-input: no lines on stdin\n");
        first_rc = first_rc ? first_rc : 2;
    }
    free(line);
    for (int i = 0; i < ns; i++) {
        tts_engine_close(s[i].e);
        free(s[i].voice);
    }
    return first_rc;
}
