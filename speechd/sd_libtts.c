/*
 * sd_libtts — the Speech Dispatcher output module of libtts.
 *
 * Speech Dispatcher starts it as `sd_libtts CONFIGFILE` and speaks to it on stdin/stdout
 * with the output module protocol, one LF-terminated line at a time (speechd/README.md):
 *
 *   INIT                  299-... / 299 OK LOADED SUCCESSFULLY (399 ... when the voice
 *                         or the configuration is unusable; the module then exits 1)
 *   AUDIO, key=value .. . 207, then 203 OK AUDIO INITIALIZED (300-why / 300 MODULE ERROR)
 *   SET, key=value ... .  203, then 203 OK SETTINGS RECEIVED
 *   LOGLEVEL, log_level=N 207, then 203 OK LOGLEVEL SET
 *   LIST VOICES           200-NAME\tLANGUAGE\tnone, 200 OK VOICE LIST SENT
 *   SPEAK / CHAR / KEY / SOUND_ICON, text lines, "."
 *                         202 OK RECEIVING MESSAGE, then 200 OK SPEAKING (301 when the
 *                         text is empty or a message is still being spoken; 305 when
 *                         CHAR, KEY or SOUND_ICON has more than one line); then, as the
 *                         speech goes, the events: 701 BEGIN, 700-NAME / 700 INDEX MARK
 *                         at each <mark/>, 705 audio blocks (server audio), 706 a sound
 *                         icon, and last exactly one of 702 END, 703 STOP, 704 PAUSE
 *   STOP, PAUSE           no reply; while a message is spoken: 703 STOP soon, or 704
 *                         PAUSE right after the next "__spd_" mark (702 END when the text
 *                         ends first); ignored otherwise
 *   DEBUG ON FILE / OFF   200 OK DEBUGGING ON|OFF (303 when FILE cannot be opened)
 *   QUIT                  210 OK QUIT, exit 0 (end of input: exit 0 without a reply)
 *
 * Threads: the main thread reads the commands and answers them; one worker thread
 * speaks, one message at a time, with the engines (tts_synthesize with tts_options.ssml
 * = 1); the engine's audio callback returns non-zero as soon as STOP (or a PAUSE that
 * reached its mark) is seen, which ends the synthesis call. Every write to stdout is one
 * whole reply or event under one mutex, so a reply never has an event in the middle;
 * "200 OK SPEAKING" is written before the worker may write the message's first event.
 *
 * Audio: when the server offers it (AUDIO audio_output_method=server, Speech Dispatcher
 * >= 0.11), the module plays nothing itself: the audio goes to the server in 705 blocks
 * (16-bit mono at the voice's rate, HDLC-escaped) as it is made, with each mark's 700
 * between the audio before it and the audio after it, and the server plays it. Otherwise
 * the module plays it on the default device (PortAudio, streaming), or into a null sink
 * that consumes it in real time (LibttsAudioOutput "null"), and reports each mark when
 * the audio before it has been played.
 *
 * Settings: rate and pitch (-100 .. 100) go to the one engine before each message
 * (tts_engine_set_prosody: rate 2^(r/100), 0.5 .. 2; pitch 0.12 * p semitones, -12 .. 12);
 * volume (-100 .. 100) is a gain the module applies: LibttsVolume * (v + 100) / 200, the
 * voice as trained at 100.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audio/play.h"
#include "core/err.h"
#include "sd_text.h"
#include "tts.h"

#define MODULE "sd_libtts"
#define DEFAULT_ICON_DIR "/usr/share/sounds/sound-icons"
#define DEVICE_STALL_SECONDS 2.0

enum { EV_END, EV_STOP, EV_PAUSE };                 /* how a message ends */
enum { MSG_TEXT, MSG_CHAR, MSG_KEY, MSG_ICON };      /* what SPEAK, CHAR, KEY, SOUND_ICON say */
enum { AUDIO_SERVER, AUDIO_DEVICE, AUDIO_NULL };     /* where the audio goes */
enum { CFG_AUDIO_AUTO, CFG_AUDIO_DEVICE, CFG_AUDIO_NULL }; /* LibttsAudioOutput */

/* ---- logging (stderr: Speech Dispatcher keeps it in the module's log file) -------------- */

static atomic_int log_level = 3;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *debug_file; /* DEBUG ON FILE: everything goes there too */

static void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int level, const char *fmt, ...)
{
    pthread_mutex_lock(&log_mu);
    if (level <= atomic_load(&log_level) || debug_file) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (level <= atomic_load(&log_level))
            fprintf(stderr, MODULE ": %s\n", msg);
        if (debug_file) {
            fprintf(debug_file, MODULE ": %s\n", msg);
            fflush(debug_file);
        }
    }
    pthread_mutex_unlock(&log_mu);
}

/* ---- stdout: whole replies and events, one writer at a time --------------------------- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int out_broken; /* a write failed: the server is gone */

/* writes all of s[0..n) to stdout; -1 (and out_broken) when it cannot. Under out_mu. */
static int write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = write(STDOUT_FILENO, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!atomic_exchange(&out_broken, 1))
                logf_(1, "cannot write to Speech Dispatcher: %s", strerror(errno));
            return -1;
        }
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static int out_write(const char *s, size_t n)
{
    pthread_mutex_lock(&out_mu);
    int rc = write_all(s, n);
    pthread_mutex_unlock(&out_mu);
    return rc;
}

/* one reply or event (printf-style, its lines LF-terminated by the caller) */
static int out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int out_printf(const char *fmt, ...)
{
    char small[1024], *s = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n >= sizeof small) {
        s = malloc((size_t)n + 1);
        if (!s)
            return -1;
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    int rc = out_write(s, (size_t)n);
    if (s != small)
        free(s);
    return rc;
}

/* ---- configuration (the file Speech Dispatcher names: dotconf lines "Name value") ------ */

typedef struct {
    char *model, *vocoder, *vocoder_path, *lexicon; /* NULL: the engine's defaults */
    char *voice_name, *language, *icon_dir;
    int threads;
    float sentence_silence; /* < 0: the engine's default */
    float volume;           /* the gain at Speech Dispatcher's volume 100 */
    int audio;              /* CFG_AUDIO_* */
    int split_marks;        /* speak the text between marks one piece at a time */
    char error[512];        /* the first bad line: INIT fails with it */
} sd_config;

static void cfg_error(sd_config *c, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cfg_error(sd_config *c, const char *file, int line, const char *fmt, ...)
{
    if (c->error[0])
        return;
    int k = snprintf(c->error, sizeof c->error, "%s line %d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < sizeof c->error)
        vsnprintf(c->error + k, sizeof c->error - (size_t)k, fmt, ap);
    va_end(ap);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
}

/* Reads the configuration file (a missing one leaves the defaults: logged). */
static void config_load(sd_config *c, const char *path)
{
    *c = (sd_config){.threads = 2, .sentence_silence = -1, .volume = 1};
    if (!path)
        return;
    FILE *f = fopen(path, "r");
    if (!f) {
        logf_(1, "cannot open the configuration '%s': %s (using the defaults)", path,
              strerror(errno));
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    int ln = 0;
    while (getline(&line, &cap, f) >= 0) {
        ln++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
            continue;
        char *key = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        char *kend = p;
        while (*p == ' ' || *p == '\t')
            p++;
        char *val = p;
        size_t vn = strcspn(val, "\r\n");
        while (vn > 0 && (val[vn - 1] == ' ' || val[vn - 1] == '\t'))
            vn--;
        val[vn] = 0;
        *kend = 0;
        /* "a quoted value" (then only a comment may follow), or a bare one up to a '#' */
        char *rest = NULL;
        if (val[0] == '"') {
            char *q = strchr(val + 1, '"');
            if (!q) {
                cfg_error(c, path, ln, "%s: no closing quote", key);
                continue;
            }
            *q = 0;
            rest = q + 1;
            val++;
        } else if (strchr(val, '#')) {
            rest = strchr(val, '#');
            *rest = 0;
            for (size_t k = strlen(val); k > 0 && (val[k - 1] == ' ' || val[k - 1] == '\t'); k--)
                val[k - 1] = 0;
            rest = NULL;
        }
        if (rest) {
            rest += strspn(rest, " \t");
            if (*rest && *rest != '#') {
                cfg_error(c, path, ln, "%s: '%s' after the quoted value", key, rest);
                continue;
            }
        }
        long iv;
        double fv;
        if (!strcasecmp(key, "LibttsModel")) {
            set_str(&c->model, val);
        } else if (!strcasecmp(key, "LibttsVocoder")) {
            if (strcmp(val, "default") && strcmp(val, "wavenet") && strcmp(val, "griffinlim"))
                cfg_error(c, path, ln, "LibttsVocoder '%s' is not default, wavenet or griffinlim",
                          val);
            set_str(&c->vocoder, val);
        } else if (!strcasecmp(key, "LibttsVocoderPath")) {
            set_str(&c->vocoder_path, val);
        } else if (!strcasecmp(key, "LibttsLexicon")) {
            set_str(&c->lexicon, val);
        } else if (!strcasecmp(key, "LibttsVoiceName")) {
            set_str(&c->voice_name, val);
        } else if (!strcasecmp(key, "LibttsLanguage")) {
            set_str(&c->language, val);
        } else if (!strcasecmp(key, "LibttsSoundIconFolder")) {
            set_str(&c->icon_dir, val);
        } else if (!strcasecmp(key, "LibttsThreads")) {
            if (parse_int(val, 1, 64, &iv))
                cfg_error(c, path, ln, "LibttsThreads '%s' is not a whole number from 1 to 64",
                          val);
            else
                c->threads = (int)iv;
        } else if (!strcasecmp(key, "LibttsSentenceSilence")) {
            if (parse_float(val, 0, 10, &fv))
                cfg_error(c, path, ln, "LibttsSentenceSilence '%s' is not a number of seconds "
                          "from 0 to 10", val);
            else
                c->sentence_silence = (float)fv;
        } else if (!strcasecmp(key, "LibttsVolume")) {
            if (parse_float(val, 0, 4, &fv))
                cfg_error(c, path, ln, "LibttsVolume '%s' is not a gain from 0 to 4", val);
            else
                c->volume = (float)fv;
        } else if (!strcasecmp(key, "LibttsAudioOutput")) {
            if (!strcasecmp(val, "auto"))
                c->audio = CFG_AUDIO_AUTO;
            else if (!strcasecmp(val, "device"))
                c->audio = CFG_AUDIO_DEVICE;
            else if (!strcasecmp(val, "null"))
                c->audio = CFG_AUDIO_NULL;
            else
                cfg_error(c, path, ln, "LibttsAudioOutput '%s' is not auto, device or null", val);
        } else if (!strcasecmp(key, "LibttsSplitAtMarks")) {
            if (parse_int(val, 0, 1, &iv))
                cfg_error(c, path, ln, "LibttsSplitAtMarks '%s' is not 0 or 1", val);
            else
                c->split_marks = (int)iv;
        } else if (!strcasecmp(key, "Debug") || !strcasecmp(key, "Include")) {
            logf_(4, "%s line %d: '%s' ignored", path, ln, key);
        } else {
            logf_(2, "%s line %d: unknown setting '%s' ignored", path, ln, key);
        }
    }
    free(line);
    fclose(f);
}

/* ---- module state ---------------------------------------------------------------------- */

typedef struct {
    int rate, pitch, volume; /* -100 .. 100 */
    int cap_spell;           /* cap_let_recogn=spell */
} sd_settings;

typedef struct {
    int type;  /* MSG_* */
    char *data;
    sd_settings set;
    int audio; /* AUDIO_* when it was handed over */
} sd_job;

static struct {
    sd_config cfg;
    char voice[256];  /* the name LIST VOICES gives */
    int sample_rate;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sd_job *job;      /* handed to the worker, not yet taken */
    int busy;         /* from 200 OK SPEAKING until the worker is about to end the message */
    int quit;
    atomic_int stop, pause;
    int audio;        /* AUDIO_*: what AUDIO chose (before it: the module plays) */
    tts_player *player; /* self-played audio: the worker's while busy, else the main thread's */
    int player_sink;
    sd_settings set;  /* from SET (main thread) */
    pthread_t worker;
    int worker_started;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .set = {.volume = 100}};

/* ---- the engines (the worker's; the main thread's before the worker starts) ------------ */

/* One engine; Speech Dispatcher's rate and pitch are set on it per message */
static tts_engine *engine;
static int no_pitch;

static tts_engine *open_engine(char *err, size_t errn)
{
    const sd_config *c = &M.cfg;
    tts_options o = tts_default_options();
    o.model_path = c->model;
    o.vocoder = c->vocoder;
    o.vocoder_path = c->vocoder_path;
    o.lexicon_path = c->lexicon;
    o.threads = c->threads;
    if (c->sentence_silence >= 0)
        o.sentence_silence = c->sentence_silence;
    o.volume = 1; /* the module applies the volume */
    o.ssml = 1;
    tts_engine *e = NULL;
    int rc = tts_engine_open(&e, &o);
    if (rc) {
        snprintf(err, errn, "%s", e && *tts_engine_error(e) ? tts_engine_error(e)
                                                              : tts_status_string(rc));
        tts_engine_close(e);
        return NULL;
    }
    return e;
}

/* The engine, opened on first use, set to Speech Dispatcher's rate and pitch (-100 ..
 * 100): rate 2^(r/100), pitch 0.12 p semitones. A voice without pitch control keeps
 * pitch 0 from then on. */
static tts_engine *engine_get(int rate, int pitch, char *err, size_t errn)
{
    if (!engine && !(engine = open_engine(err, errn)))
        return NULL;
    if (no_pitch)
        pitch = 0;
    if (tts_engine_set_prosody(engine, powf(2.0f, (float)rate / 100.0f), 1,
                               0.12f * (float)pitch)) {
        snprintf(err, errn, "%s", tts_engine_error(engine));
        if (pitch != 0 && strstr(err, "pitch")) {
            logf_(2, "%s: pitch stays 0", err);
            no_pitch = 1;
            return engine_get(rate, 0, err, errn);
        }
        return NULL;
    }
    return engine;
}

static void engines_close(void)
{
    tts_engine_close(engine);
    engine = NULL;
}

/* ---- speaking one message (the worker) -------------------------------------------------- */

typedef struct {
    uint64_t pos; /* samples of the message before the mark */
    char *name;
} queued_mark;

typedef struct {
    int audio;          /* AUDIO_* */
    float gain;
    uint64_t call_pos;  /* samples the current tts_synthesize call delivered */
    int delivered;      /* the callback was called (audio or events) */
    int paused;         /* stopped at a "__spd_" mark for PAUSE */
    int failed;         /* the output failed */
    size_t marks_out;   /* marks handed to out_mark */
    char error[512];    /* the last synthesis failure */
    /* server audio: samples not yet sent */
    int16_t *buf;
    size_t buf_n, buf_cap, flush_at;
    int sent_any;
    /* self-played audio */
    tts_player *player;
    uint64_t pushed, played_base;
    queued_mark *mq;
    size_t mq_head, mq_n, mq_cap;
} speak_ctx;

static int stop_now(const speak_ctx *c)
{
    return atomic_load(&M.stop) || c->failed || atomic_load(&out_broken);
}

static int is_spd_mark(const char *name) { return !strncmp(name, "__spd_", 6); }

/* reports a mark; 1 when a PAUSE stops the message here */
static int report_mark(speak_ctx *c, const char *name)
{
    char *safe = strdup(name);
    if (!safe)
        return c->failed = 1;
    sd_text_line_safe(safe);
    if (out_printf("700-%s\n700 INDEX MARK\n", safe))
        c->failed = 1;
    logf_(5, "mark %s", safe);
    free(safe);
    if (atomic_load(&M.pause) && is_spd_mark(name)) {
        c->paused = 1;
        return 1;
    }
    return c->failed;
}

/* server audio: sends the buffered samples as one 705 block */
static int srv_flush(speak_ctx *c)
{
    if (c->buf_n == 0)
        return 0;
    size_t bytes = c->buf_n * 2;
    char head[256];
    static const uint16_t probe = 1;
    int big_endian = *(const uint8_t *)&probe == 0;
    int hn = snprintf(head, sizeof head,
                      "705-bits=16\n705-num_channels=1\n705-sample_rate=%d\n705-num_samples=%zu\n"
                      "705-big_endian=%d\n705-AUDIO",
                      M.sample_rate, c->buf_n, big_endian);
    char *msg = malloc((size_t)hn + 1 + 2 * bytes + 1 + 10);
    if (!msg)
        return c->failed = 1;
    memcpy(msg, head, (size_t)hn);
    size_t k = (size_t)hn;
    msg[k++] = 0;
    /* HDLC escaping: LF and the escape byte 0x7D become 0x7D and the byte with bit 5
     * flipped, so that the block is one line */
    const uint8_t *p = (const uint8_t *)c->buf;
    for (size_t i = 0; i < bytes; i++) {
        if (p[i] == '\n' || p[i] == 0x7D) {
            msg[k++] = 0x7D;
            msg[k++] = (char)(p[i] ^ 0x20);
        } else {
            msg[k++] = (char)p[i];
        }
    }
    memcpy(msg + k, "\n705 AUDIO\n", 11);
    k += 11;
    int rc = out_write(msg, k);
    free(msg);
    c->buf_n = 0;
    c->sent_any = 1;
    if (rc)
        c->failed = 1;
    return rc ? 1 : 0;
}

/* self-played audio: reports the marks whose audio has been played; 1 when a PAUSE stops
 * the message at one of them (or the output failed) */
static int dev_marks(speak_ctx *c)
{
    uint64_t played = tts_player_samples_played(c->player) - c->played_base;
    while (c->mq_head < c->mq_n && c->mq[c->mq_head].pos <= played) {
        queued_mark *m = &c->mq[c->mq_head++];
        int r = report_mark(c, m->name);
        free(m->name);
        m->name = NULL;
        if (r)
            return 1;
    }
    return 0;
}

static int out_audio(speak_ctx *c, const float *pcm, size_t n)
{
    if (c->audio == AUDIO_SERVER) {
        if (c->buf_n + n > c->buf_cap) {
            size_t cap = c->buf_cap ? c->buf_cap : 8192;
            while (c->buf_n + n > cap)
                cap *= 2;
            int16_t *b = realloc(c->buf, cap * sizeof *b);
            if (!b)
                return c->failed = 1;
            c->buf = b;
            c->buf_cap = cap;
        }
        for (size_t i = 0; i < n; i++) {
            float v = pcm[i] * c->gain * 32767.0f;
            v = v > 32767.0f ? 32767.0f : v < -32767.0f ? -32767.0f : v;
            c->buf[c->buf_n++] = (int16_t)lrintf(v);
        }
        return c->buf_n >= c->flush_at ? srv_flush(c) : 0;
    }
    /* pushed in pieces, so that STOP and the marks are seen between them */
    float piece[512];
    for (size_t done = 0; done < n;) {
        if (stop_now(c))
            return 1;
        size_t k = n - done < 512 ? n - done : 512;
        for (size_t i = 0; i < k; i++) {
            float v = pcm[done + i] * c->gain;
            piece[i] = v > 1 ? 1 : v < -1 ? -1 : v;
        }
        tts_err err = {0};
        if (tts_player_push(c->player, piece, k, &err)) {
            logf_(1, "audio output: %s", err.msg);
            return c->failed = 1;
        }
        c->pushed += k;
        done += k;
        if (dev_marks(c))
            return 1;
    }
    return 0;
}

/* a mark, after the audio before it: 1 when the message stops here */
static int out_mark(speak_ctx *c, const char *name)
{
    c->marks_out++;
    if (c->audio == AUDIO_SERVER) {
        if (srv_flush(c))
            return 1;
        return report_mark(c, name);
    }
    if (c->mq_n == c->mq_cap) {
        size_t cap = c->mq_cap ? c->mq_cap * 2 : 16;
        queued_mark *q = realloc(c->mq, cap * sizeof *q);
        if (!q)
            return c->failed = 1;
        c->mq = q;
        c->mq_cap = cap;
    }
    char *dup = strdup(name);
    if (!dup)
        return c->failed = 1;
    c->mq[c->mq_n++] = (queued_mark){c->pushed, dup};
    return dev_marks(c);
}

/* the engine's callback: audio and marks out in order; non-zero stops the synthesis */
static int on_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    speak_ctx *c = user;
    c->delivered = 1;
    if (stop_now(c))
        return 1;
    size_t done = 0;
    for (size_t i = 0; i < n_ev; i++) {
        if (ev[i].type != TTS_EVENT_MARK || !ev[i].name)
            continue;
        /* the mark's sample is where the speech after it begins */
        uint64_t s = ev[i].sample;
        size_t upto = s <= c->call_pos ? 0 : s - c->call_pos >= n ? n : (size_t)(s - c->call_pos);
        if (upto > done) {
            if (out_audio(c, pcm + done, upto - done))
                return 1;
            done = upto;
        }
        if (out_mark(c, ev[i].name))
            return 1;
    }
    if (n > done && out_audio(c, pcm + done, n - done))
        return 1;
    c->call_pos += n;
    /* the message's first audio goes out at once: the rest in blocks of flush_at */
    if (c->audio == AUDIO_SERVER && !c->sent_any && srv_flush(c))
        return 1;
    return stop_now(c);
}

static int synth_one(tts_engine *e, const char *doc, speak_ctx *c)
{
    c->call_pos = 0;
    logf_(5, "synthesizing %s", doc);
    int rc = tts_synthesize(e, doc, on_audio, c);
    if (rc && rc != TTS_E_CANCELLED)
        snprintf(c->error, sizeof c->error, "%s", tts_engine_error(e));
    return rc;
}

static int only_space(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* The marks of a document the engine spoke that it did not report (an engine that reads
 * <mark> but reports none, or not all of them): reported now, after its audio, in order,
 * so that the server sees every mark. */
static int catch_up_marks(const sd_piece *p, size_t n, speak_ctx *c)
{
    size_t seen = 0, done = c->marks_out;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].mark || seen++ < done)
            continue;
        if (seen == done + 1)
            logf_(2, "the engine did not report all the marks: the rest reported at the end");
        if (out_mark(c, p[i].mark))
            return TTS_E_CANCELLED;
    }
    return TTS_OK;
}

/* Speaks doc. A document the engine refuses before saying anything (TTS_E_INVALID) is read
 * again as its text and marks only (sd_text_pieces); refused again (an engine that does not
 * know <mark>), or with LibttsSplitAtMarks, the text between the marks is spoken one piece
 * at a time and the marks reported between the pieces. */
static int synth_doc(tts_engine *e, const char *doc, speak_ctx *c)
{
    int rc = TTS_E_INVALID;
    if (!M.cfg.split_marks) {
        rc = synth_one(e, doc, c);
        if (rc != TTS_OK && (rc != TTS_E_INVALID || c->delivered))
            return rc;
        if (rc == TTS_E_INVALID)
            logf_(2, "the engine refused the text (%s): reading it again without its markup",
                  c->error);
    }
    size_t n;
    sd_piece *p = sd_text_pieces(doc, &n);
    if (!p)
        return TTS_E_NOMEM;
    if (rc == TTS_OK) { /* spoken: only the marks to check */
        rc = catch_up_marks(p, n, c);
        sd_text_pieces_free(p, n);
        return rc;
    }
    if (!M.cfg.split_marks) {
        char *plain = sd_text_join(p, 0, n, 1);
        rc = plain ? synth_one(e, plain, c) : TTS_E_NOMEM;
        free(plain);
        if (rc == TTS_OK)
            rc = catch_up_marks(p, n, c);
        if (rc != TTS_E_INVALID || c->delivered) {
            sd_text_pieces_free(p, n);
            return rc;
        }
        logf_(2, "the engine refused the text again (%s): speaking the text between its marks "
              "one piece at a time", c->error);
    }
    rc = TTS_OK;
    for (size_t i = 0; i < n && rc == TTS_OK; i++) {
        if (p[i].mark) {
            if (out_mark(c, p[i].mark))
                rc = TTS_E_CANCELLED;
        } else if (!only_space(p[i].text)) {
            char *d = sd_text_join(p, i, i + 1, 0);
            rc = d ? synth_one(e, d, c) : TTS_E_NOMEM;
            free(d);
        }
        if (rc == TTS_OK && stop_now(c))
            rc = TTS_E_CANCELLED;
    }
    sd_text_pieces_free(p, n);
    return rc;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* self-played audio, synthesis done: waits (reporting the marks) until it is played */
static int dev_finish(speak_ctx *c)
{
    tts_err err = {0};
    if (tts_player_end_utterance(c->player, &err)) {
        logf_(1, "audio output: %s", err.msg);
        c->failed = 1;
        return EV_END;
    }
    uint64_t last = 0;
    double t_last = now_seconds();
    for (;;) {
        if (atomic_load(&M.stop))
            return EV_STOP;
        if (dev_marks(c))
            return c->paused ? EV_PAUSE : EV_END;
        uint64_t played = tts_player_samples_played(c->player) - c->played_base;
        if (played >= c->pushed)
            break;
        double t = now_seconds();
        if (played != last) {
            last = played;
            t_last = t;
        } else if (t - t_last > DEVICE_STALL_SECONDS) {
            logf_(1, "audio output stalled: nothing played for %g s", DEVICE_STALL_SECONDS);
            c->failed = 1;
            return EV_END;
        }
        sleep_ms(5);
    }
    if (tts_player_drain(c->player, &err)) {
        logf_(1, "audio output: %s", err.msg);
        c->failed = 1;
    }
    return dev_marks(c) && c->paused ? EV_PAUSE : EV_END;
}

/* the sound icon's file, when LibttsSoundIconFolder has one of that name */
static char *icon_file(const char *name)
{
    if (!*name || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, "."))
        return NULL;
    const char *dir = M.cfg.icon_dir ? M.cfg.icon_dir : DEFAULT_ICON_DIR;
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!path)
        return NULL;
    snprintf(path, n, "%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0)
        return path;
    free(path);
    return NULL;
}

/* Speaks one message, from 701 BEGIN to (not including) its last event, which it returns */
static int speak_job(sd_job *j)
{
    if (out_printf("701 BEGIN\n"))
        return EV_STOP;
    if (atomic_load(&M.stop))
        return EV_STOP;
    char *doc = NULL;
    switch (j->type) {
    case MSG_ICON: {
        char *file = j->audio == AUDIO_SERVER ? icon_file(j->data) : NULL;
        if (file) { /* the server plays it */
            sd_text_line_safe(file);
            out_printf("706-%s\n706 ICON\n", file);
            free(file);
            return EV_END;
        }
        doc = sd_text_icon(j->data);
        break;
    }
    case MSG_CHAR:
        doc = sd_text_char(j->data, j->set.cap_spell);
        break;
    case MSG_KEY:
        doc = sd_text_key(j->data);
        break;
    default:
        doc = sd_text_speak(j->data);
        break;
    }
    char err[512] = "out of memory";
    tts_engine *e = doc ? engine_get(j->set.rate, j->set.pitch, err, sizeof err) : NULL;
    if (!e) {
        logf_(1, "cannot speak: %s", err);
        free(doc);
        return EV_END;
    }
    speak_ctx c = {.audio = j->audio, .flush_at = (size_t)M.sample_rate / 10};
    c.gain = M.cfg.volume * (float)(j->set.volume + 100) / 200.0f;
    if (j->audio != AUDIO_SERVER) {
        int sink = j->audio == AUDIO_NULL ? TTS_PLAYER_SINK_NULL : TTS_PLAYER_SINK_DEVICE;
        pthread_mutex_lock(&M.mu);
        if (M.player && M.player_sink != sink) {
            tts_player_close(M.player, NULL);
            M.player = NULL;
        }
        if (!M.player) {
            tts_player_params pp = tts_player_default_params(M.sample_rate);
            pp.sink = sink;
            tts_err perr = {0};
            if (tts_player_open(&M.player, &pp, &perr)) {
                logf_(1, "cannot open the audio output: %s", perr.msg);
                M.player = NULL;
            }
            M.player_sink = sink;
        }
        c.player = M.player;
        pthread_mutex_unlock(&M.mu);
        if (!c.player) {
            free(doc);
            return EV_END;
        }
        c.played_base = tts_player_samples_played(c.player);
    }

    int rc = synth_doc(e, doc, &c);
    free(doc);
    if (rc && rc != TTS_E_CANCELLED)
        logf_(1, "synthesis failed: %s", c.error[0] ? c.error : tts_status_string(rc));

    int ev;
    if (atomic_load(&M.stop))
        ev = EV_STOP;
    else if (c.paused)
        ev = EV_PAUSE;
    else if (j->audio == AUDIO_SERVER)
        ev = srv_flush(&c) && atomic_load(&M.stop) ? EV_STOP : EV_END;
    else
        ev = c.failed ? EV_END : dev_finish(&c);
    if (ev == EV_STOP && c.paused)
        ev = EV_PAUSE;
    if (j->audio != AUDIO_SERVER && (ev != EV_END || c.failed)) {
        /* what is not yet played is dropped (with the player) */
        pthread_mutex_lock(&M.mu);
        tts_player_close(M.player, NULL);
        M.player = NULL;
        pthread_mutex_unlock(&M.mu);
    }
    for (size_t i = c.mq_head; i < c.mq_n; i++)
        free(c.mq[i].name);
    free(c.mq);
    free(c.buf);
    return ev;
}

static void job_free(sd_job *j)
{
    if (j) {
        free(j->data);
        free(j);
    }
}

static void *worker_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&M.mu);
    for (;;) {
        while (!M.job && !M.quit)
            pthread_cond_wait(&M.cv, &M.mu);
        if (M.quit)
            break;
        sd_job *j = M.job;
        M.job = NULL;
        pthread_mutex_unlock(&M.mu);
        int ev = speak_job(j);
        job_free(j);
        pthread_mutex_lock(&M.mu);
        /* the message's last event before the module is free again, both under M.mu: a
         * SPEAK that comes now (its 200 written under M.mu too) cannot slip in between */
        if (!M.quit) {
            static const char *const last[] = {"702 END\n", "703 STOP\n", "704 PAUSE\n"};
            out_printf("%s", last[ev]);
            logf_(4, "message done: %s", last[ev]);
        }
        M.busy = 0;
    }
    pthread_mutex_unlock(&M.mu);
    return NULL;
}

/* ---- commands (the main thread) -------------------------------------------------------- */

static char *line_buf;
static size_t line_cap;

/* the next line (with its LF), or NULL at the end of input */
static const char *read_line(void)
{
    ssize_t n = getline(&line_buf, &line_cap, stdin);
    return n < 0 ? NULL : line_buf;
}

/* The lines of a message up to the "." line: a leading "." of a line is dropped (the
 * server doubles it), the LF before the "." line is not part of the text. NULL at the
 * end of input or when memory ran out (*eof says which). */
static char *read_message(int *nlines, int *eof)
{
    size_t n = 0, cap = 256;
    char *t = malloc(cap);
    *nlines = 0;
    *eof = 0;
    if (!t)
        return NULL;
    for (;;) {
        const char *l = read_line();
        if (!l) {
            *eof = 1;
            free(t);
            return NULL;
        }
        if (!strcmp(l, ".\n") || !strcmp(l, "."))
            break;
        if (l[0] == '.')
            l++;
        size_t k = strlen(l);
        if (n + k + 1 > cap) {
            while (n + k + 1 > cap)
                cap *= 2;
            char *u = realloc(t, cap);
            if (!u) {
                free(t);
                return NULL;
            }
            t = u;
        }
        memcpy(t + n, l, k);
        n += k;
        (*nlines)++;
    }
    if (n > 0 && t[n - 1] == '\n')
        n--;
    t[n] = 0;
    return t;
}

/* Reads "key=value" lines up to ".", calling set for each; -1 at the end of input. */
static int read_params(void (*set)(const char *key, const char *val, void *user), void *user)
{
    for (;;) {
        const char *l = read_line();
        if (!l)
            return -1;
        if (!strcmp(l, ".\n") || !strcmp(l, "."))
            return 0;
        char key[64], val[1024];
        const char *eq = strchr(l, '=');
        if (!eq || (size_t)(eq - l) >= sizeof key) {
            logf_(2, "bad setting line: %s", l);
            continue;
        }
        memcpy(key, l, (size_t)(eq - l));
        key[eq - l] = 0;
        snprintf(val, sizeof val, "%.*s", (int)strcspn(eq + 1, "\r\n"), eq + 1);
        set(key, val, user);
    }
}

static int clamp100(const char *v)
{
    long x = strtol(v, NULL, 10);
    return x < -100 ? -100 : x > 100 ? 100 : (int)x;
}

static void set_setting(const char *key, const char *val, void *user)
{
    sd_settings *s = user;
    logf_(5, "SET %s=%s", key, val);
    if (!strcmp(key, "rate"))
        s->rate = clamp100(val);
    else if (!strcmp(key, "pitch"))
        s->pitch = clamp100(val);
    else if (!strcmp(key, "volume"))
        s->volume = clamp100(val);
    else if (!strcmp(key, "cap_let_recogn"))
        s->cap_spell = !strcmp(val, "spell");
    else if (!strcmp(key, "synthesis_voice") && strcmp(val, "NULL") && strcmp(val, M.voice))
        logf_(4, "voice '%s' asked for: speaking with '%s', the only one", val, M.voice);
    else if (!strcmp(key, "language") && strcmp(val, "NULL") && strncasecmp(val, "en", 2))
        logf_(4, "language '%s' asked for: the voice speaks English", val);
    /* pitch_range, punctuation_mode (the server does it), spelling_mode, voice (a voice
     * type: there is one voice) and anything newer: not used */
}

typedef struct {
    char method[64];
} audio_params;

static void set_audio(const char *key, const char *val, void *user)
{
    audio_params *a = user;
    logf_(5, "AUDIO %s=%s", key, val);
    if (!strcmp(key, "audio_output_method"))
        snprintf(a->method, sizeof a->method, "%.63s", val);
}

static void set_loglevel(const char *key, const char *val, void *user)
{
    (void)user;
    if (!strcmp(key, "log_level")) {
        long v = strtol(val, NULL, 10);
        atomic_store(&log_level, v < 0 ? 0 : v > 5 ? 5 : (int)v);
    }
}

static void cmd_audio(void)
{
    audio_params a = {{0}};
    out_printf("207 OK RECEIVING AUDIO SETTINGS\n");
    if (read_params(set_audio, &a))
        return;
    int server = !strcmp(a.method, "server");
    if (server && M.cfg.audio != CFG_AUDIO_AUTO) {
        /* the server then sends its own audio settings: the module plays */
        out_printf("300-server audio is off (LibttsAudioOutput \"%s\")\n300 MODULE ERROR\n",
                   M.cfg.audio == CFG_AUDIO_NULL ? "null" : "device");
        return;
    }
    int mode = server ? AUDIO_SERVER : M.cfg.audio == CFG_AUDIO_NULL ? AUDIO_NULL : AUDIO_DEVICE;
    pthread_mutex_lock(&M.mu);
    char why[512] = "";
    if (!M.busy) { /* the worker is idle: the player is this thread's */
        int sink = mode == AUDIO_NULL ? TTS_PLAYER_SINK_NULL : TTS_PLAYER_SINK_DEVICE;
        if (M.player && (mode == AUDIO_SERVER || M.player_sink != sink)) {
            tts_player_close(M.player, NULL);
            M.player = NULL;
        }
        if (mode != AUDIO_SERVER && !M.player) {
            tts_player_params pp = tts_player_default_params(M.sample_rate);
            pp.sink = sink;
            tts_err err = {0};
            if (tts_player_open(&M.player, &pp, &err)) {
                snprintf(why, sizeof why, "%s", err.msg);
                M.player = NULL;
            }
            M.player_sink = sink;
        }
    }
    M.audio = mode; /* even when the device did not open: the module plays (or tries to) */
    pthread_mutex_unlock(&M.mu);
    static const char *const names[] = {"to the server", "on the audio device", "into a null sink"};
    if (why[0]) {
        logf_(1, "cannot open the audio output: %s", why);
        sd_text_line_safe(why);
        out_printf("300-%s\n300 MODULE ERROR\n", why);
    } else {
        logf_(3, "audio %s (the server asked for '%s')", names[mode], a.method);
        out_printf("203 OK AUDIO INITIALIZED\n");
    }
}

static void cmd_speak(int type)
{
    out_printf("202 OK RECEIVING MESSAGE\n");
    int nlines, eof;
    char *data = read_message(&nlines, &eof);
    if (!data) {
        if (!eof)
            out_printf("401 ERROR INTERNAL\n");
        return;
    }
    if (!*data) {
        free(data);
        out_printf("301 ERROR CANT SPEAK\n");
        return;
    }
    if (type != MSG_TEXT && nlines > 1) {
        free(data);
        out_printf("305 DATA MORE THAN ONE LINE\n");
        return;
    }
    sd_job *j = malloc(sizeof *j);
    if (!j) {
        free(data);
        out_printf("401 ERROR INTERNAL\n");
        return;
    }
    *j = (sd_job){type, data, M.set, AUDIO_SERVER};
    pthread_mutex_lock(&M.mu);
    if (M.busy || M.job) {
        pthread_mutex_unlock(&M.mu);
        job_free(j);
        logf_(2, "a message came while one is still being spoken");
        out_printf("301 ERROR CANT SPEAK\n");
        return;
    }
    j->audio = M.audio;
    M.busy = 1;
    atomic_store(&M.stop, 0);
    atomic_store(&M.pause, 0);
    /* written before the worker can take the job, so before its 701 BEGIN */
    out_printf("200 OK SPEAKING\n");
    M.job = j;
    pthread_cond_signal(&M.cv);
    pthread_mutex_unlock(&M.mu);
}

static void cmd_stop_pause(int pause)
{
    pthread_mutex_lock(&M.mu);
    if (M.busy)
        atomic_store(pause ? &M.pause : &M.stop, 1);
    pthread_mutex_unlock(&M.mu);
}

static void cmd_debug(const char *line)
{
    char on[8] = "", file[4096] = "";
    sscanf(line, "DEBUG %7s %4095s", on, file);
    pthread_mutex_lock(&log_mu);
    if (debug_file) {
        fclose(debug_file);
        debug_file = NULL;
    }
    int ok = 1;
    if (!strcmp(on, "ON")) {
        if (file[0])
            debug_file = fopen(file, "a");
        ok = debug_file != NULL;
    } else if (strcmp(on, "OFF")) {
        pthread_mutex_unlock(&log_mu);
        out_printf("302 ERROR BAD SYNTAX\n");
        return;
    }
    pthread_mutex_unlock(&log_mu);
    if (ok)
        out_printf("200 OK DEBUGGING %s\n", on);
    else
        out_printf("303 CANT OPEN CUSTOM DEBUG FILE\n");
}

/* ends the worker (the message it speaks dropped, its last event not sent) and frees
 * everything */
static void shutdown_module(void)
{
    pthread_mutex_lock(&M.mu);
    M.quit = 1;
    atomic_store(&M.stop, 1);
    pthread_cond_signal(&M.cv);
    pthread_mutex_unlock(&M.mu);
    if (M.worker_started)
        pthread_join(M.worker, NULL);
    job_free(M.job);
    M.job = NULL;
    tts_player_close(M.player, NULL);
    M.player = NULL;
    engines_close();
}

/* INIT: the configuration and the voice checked; 0 when the module can speak */
static int init_module(char *why, size_t n)
{
    if (M.cfg.error[0]) {
        snprintf(why, n, "%s", M.cfg.error);
        return -1;
    }
    char err[512];
    tts_engine *e = engine_get(0, 0, err, sizeof err);
    if (!e) {
        snprintf(why, n, "cannot open the voice: %s", err);
        return -1;
    }
    M.sample_rate = tts_engine_sample_rate(e);
    if (M.cfg.voice_name) {
        snprintf(M.voice, sizeof M.voice, "%s", M.cfg.voice_name);
    } else if (M.cfg.model) {
        const char *b = strrchr(M.cfg.model, '/');
        b = b ? b + 1 : M.cfg.model;
        size_t k = strlen(b);
        if (k > 4 && !strcmp(b + k - 4, ".ltm"))
            k -= 4;
        snprintf(M.voice, sizeof M.voice, "%.*s", (int)k, b);
    } else {
        snprintf(M.voice, sizeof M.voice, "kathleen");
    }
    for (char *p = M.voice; *p; p++) /* one field of a tab-separated line */
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
    if (pthread_create(&M.worker, NULL, worker_main, NULL)) {
        snprintf(why, n, "cannot start the speaking thread");
        return -1;
    }
    M.worker_started = 1;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    config_load(&M.cfg, argc > 1 ? argv[1] : NULL);
    /* until AUDIO says otherwise, the module plays: audio goes to the server only when
     * the server asked for it */
    M.audio = M.cfg.audio == CFG_AUDIO_NULL ? AUDIO_NULL : AUDIO_DEVICE;

    const char *l = read_line();
    if (!l) {
        logf_(1, "no INIT: end of input");
        return 2;
    }
    if (strcmp(l, "INIT\n")) {
        logf_(1, "the first command is not INIT: %s", l);
        return 3;
    }
    char why[1024];
    if (init_module(why, sizeof why)) {
        logf_(1, "%s", why);
        sd_text_line_safe(why);
        out_printf("399-%s\n399 ERR CANT INIT MODULE\n", why);
        shutdown_module();
        return 1;
    }
    logf_(3, "libtts %s, voice '%s' at %d Hz", tts_version(), M.voice, M.sample_rate);
    out_printf("299-libtts %s: voice %s, %d Hz\n299 OK LOADED SUCCESSFULLY\n", tts_version(),
               M.voice, M.sample_rate);

    for (;;) {
        l = read_line();
        if (!l) {
            logf_(3, "end of input: exiting");
            break;
        }
        logf_(5, "command: %.*s", (int)strcspn(l, "\n"), l);
        if (!strcmp(l, "SPEAK\n"))
            cmd_speak(MSG_TEXT);
        else if (!strcmp(l, "CHAR\n"))
            cmd_speak(MSG_CHAR);
        else if (!strcmp(l, "KEY\n"))
            cmd_speak(MSG_KEY);
        else if (!strcmp(l, "SOUND_ICON\n"))
            cmd_speak(MSG_ICON);
        else if (!strcmp(l, "STOP\n"))
            cmd_stop_pause(0);
        else if (!strcmp(l, "PAUSE\n"))
            cmd_stop_pause(1);
        else if (!strcmp(l, "SET\n")) {
            out_printf("203 OK RECEIVING SETTINGS\n");
            if (read_params(set_setting, &M.set))
                break;
            out_printf("203 OK SETTINGS RECEIVED\n");
        } else if (!strcmp(l, "AUDIO\n"))
            cmd_audio();
        else if (!strcmp(l, "LOGLEVEL\n")) {
            out_printf("207 OK RECEIVING LOGLEVEL SETTINGS\n");
            if (read_params(set_loglevel, NULL))
                break;
            out_printf("203 OK LOGLEVEL SET\n");
        } else if (!strcmp(l, "LIST VOICES\n")) {
            const char *lang = M.cfg.language ? M.cfg.language : "en";
            out_printf("200-%s\t%s\tnone\n200 OK VOICE LIST SENT\n", M.voice, lang);
        } else if (!strncmp(l, "DEBUG", 5))
            cmd_debug(l);
        else if (!strcmp(l, "QUIT\n")) {
            shutdown_module();
            out_printf("210 OK QUIT\n");
            free(line_buf);
            return 0;
        } else
            out_printf("300 ERR UNKNOWN COMMAND\n");
    }
    shutdown_module();
    free(line_buf);
    return 0;
}
