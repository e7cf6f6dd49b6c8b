/* tts --timings FILE: see timings.h. */
#include "cli/timings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { T_JSON, T_SRT, T_VTT };

typedef struct {
    int type;           /* tts_event_type */
    uint64_t sample;    /* in the output */
    char *text;         /* the span's text (sentences: markup left out), or the mark's name */
    char phoneme[8];
} item;

struct tts_timings {
    char *path;
    int format, rate, out_rate;
    item *v;
    size_t n, cap;
};

int tts_timings_new(tts_timings **out, const char *path, int in_rate, int out_rate,
                    tts_err *err)
{
    const char *dot = strrchr(path, '.');
    int f = !dot ? -1 : !strcmp(dot, ".json") ? T_JSON : !strcmp(dot, ".srt") ? T_SRT
                      : !strcmp(dot, ".vtt") ? T_VTT : -1;
    if (f < 0)
        return tts_seterr(err, TTS_E_INVALID, "--timings %s: the file's extension says the "
                          "format: .json, .srt or .vtt", path);
    tts_timings *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    }
    t->format = f;
    t->rate = in_rate;
    t->out_rate = out_rate;
    *out = t;
    return TTS_OK;
}

void tts_timings_free(tts_timings *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
    free(t->path);
    free(t);
}

/* s[0..n) with SSML tags left out, the five entities decoded and white space runs as one
 * space, trimmed */
static char *plain_text(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    int tag = 0, space = 0;
    static const struct { const char *e; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (tag) {
            tag = c != '>';
            if (!tag)
                space = 1; /* a tag separates what is on either side */
            continue;
        }
        if (c == '<') {
            tag = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = 1;
            continue;
        }
        if (c == '&')
            for (size_t e = 0; e < 5; e++) {
                size_t l = strlen(ents[e].e);
                if (i + l <= n && !memcmp(s + i, ents[e].e, l)) {
                    c = ents[e].c;
                    i += l - 1;
                    break;
                }
            }
        if (space && k)
            o[k++] = ' ';
        space = 0;
        o[k++] = c;
    }
    o[k] = '\0';
    return o;
}

int tts_timings_add(tts_timings *t, const char *text, uint64_t base, const tts_event *ev,
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const tts_event *e = &ev[i];
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 256;
            item *v = realloc(t->v, cap * sizeof *v);
            if (!v)
                return TTS_E_NOMEM;
            t->v = v;
            t->cap = cap;
        }
        item it = {e->type, base + e->sample, NULL, ""};
        if (e->type == TTS_EVENT_MARK)
            it.text = strdup(e->name ? e->name : "");
        else if (e->type == TTS_EVENT_SENTENCE_START)
            it.text = plain_text(text + e->text_offset, e->text_length);
        else
            it.text = strndup(text + e->text_offset, e->text_length);
        if (!it.text)
            return TTS_E_NOMEM;
        if (e->type == TTS_EVENT_PHONEME)
            memcpy(it.phoneme, e->phoneme, sizeof it.phoneme);
        t->v[t->n++] = it;
    }
    return TTS_OK;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* the sample where item i ends: the next word's start in its sentence, else the sentence's
 * end (the SENTENCE_END after it) */
static uint64_t end_of(const tts_timings *t, size_t i)
{
    for (size_t k = i + 1; k < t->n; k++) {
        if (t->v[i].type == TTS_EVENT_WORD && t->v[k].type == TTS_EVENT_WORD)
            return t->v[k].sample;
        if (t->v[k].type == TTS_EVENT_SENTENCE_END)
            return t->v[k].sample;
    }
    return t->v[i].sample;
}

static void cue_time(FILE *f, double s, char sep)
{
    long ms = (long)(s * 1000 + 0.5);
    fprintf(f, "%02ld:%02ld:%02ld%c%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep,
            ms % 1000);
}

static void write_json(const tts_timings *t, FILE *f)
{
    static const struct { int type; const char *name; } lists[] = {
        {TTS_EVENT_SENTENCE_START, "sentences"}, {TTS_EVENT_WORD, "words"},
        {TTS_EVENT_PHONEME, "phonemes"}, {TTS_EVENT_MARK, "marks"}};
    double r = t->rate;
    fprintf(f, "{\n  \"sample_rate\": %d", t->out_rate);
    for (size_t l = 0; l < 4; l++) {
        fprintf(f, ",\n  \"%s\": [", lists[l].name);
        int first = 1;
        for (size_t i = 0; i < t->n; i++) {
            const item *it = &t->v[i];
            if (it->type != lists[l].type)
                continue;
            fprintf(f, "%s\n    {", first ? "" : ",");
            first = 0;
            if (it->type == TTS_EVENT_MARK) {
                fprintf(f, "\"time\": %.3f, \"name\": ", it->sample / r);
                json_str(f, it->text);
            } else if (it->type == TTS_EVENT_PHONEME) {
                fprintf(f, "\"start\": %.3f, \"phoneme\": ", it->sample / r);
                json_str(f, it->phoneme);
                fprintf(f, ", \"word\": ");
                json_str(f, it->text);
            } else {
                fprintf(f, "\"start\": %.3f, \"end\": %.3f, \"text\": ", it->sample / r,
                        end_of(t, i) / r);
                json_str(f, it->text);
            }
            fputc('}', f);
        }
        fprintf(f, "%s]", first ? "" : "\n  ");
    }
    fprintf(f, "\n}\n");
}

static void write_cues(const tts_timings *t, FILE *f)
{
    int vtt = t->format == T_VTT, k = 0;
    if (vtt)
        fprintf(f, "WEBVTT\n\n");
    for (size_t i = 0; i < t->n; i++) {
        const item *it = &t->v[i];
        if (it->type != TTS_EVENT_SENTENCE_START || !it->text[0])
            continue;
        if (!vtt)
            fprintf(f, "%d\n", ++k);
        cue_time(f, it->sample / (double)t->rate, vtt ? '.' : ',');
        fprintf(f, " --> ");
        cue_time(f, end_of(t, i) / (double)t->rate, vtt ? '.' : ',');
        fprintf(f, "\n%s\n\n", it->text);
    }
}

int tts_timings_write(tts_timings *t, tts_err *err)
{
    size_t n = strlen(t->path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return tts_seterr(err, TTS_E_NOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp.XXXXXX", t->path);
    int fd = mkstemp(tmp); /* its own name: two runs do not share one */
    if (fd >= 0) { /* mkstemp's 0600, as a file the user made would be: 0666 less umask */
        mode_t um = umask(0);
        umask(um);
        fchmod(fd, 0666 & ~um);
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        int rc = tts_seterr(err, TTS_E_IO, "cannot write %s: %s", t->path, strerror(errno));
        free(tmp);
        return rc;
    }
    if (t->format == T_JSON)
        write_json(t, f);
    else
        write_cues(t, f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, t->path)) {
        int rc = tts_seterr(err, TTS_E_IO, "cannot write %s: %s", t->path, strerror(errno));
        remove(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return TTS_OK;
}
