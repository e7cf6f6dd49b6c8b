/*
 * server/wyoming.c — the Wyoming front (see wyoming.h).
 */
#include "frontend/frontend.h"
#include "wyoming.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "speech.h"

#define MAX_HEADER (64 * 1024)         /* bytes of a header line */
#define MAX_DATA (1024 * 1024)         /* bytes of a message's extra data */
#define MAX_PAYLOAD (16 * 1024 * 1024) /* bytes of a message's payload (read and dropped) */
#define CHUNK_SAMPLES 1024             /* samples per audio-chunk, as wyoming-piper */
#define IDLE_SECONDS 300               /* a connection that sends nothing this long is closed */
#define SEND_SECONDS 30                /* a send that cannot proceed this long fails */

typedef struct conn conn;

struct srv_wyoming {
    srv_wyoming_config cfg;
    int listen_fd;
    int wake[2]; /* a byte written to wake[1] ends the acceptor */
    pthread_t acceptor;
    int acceptor_running;
    atomic_int stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a connection ended */
    conn **conns;      /* max_connections slots (mu) */
    int n_conns;       /* (mu) */
    char *info;        /* the info event's data, JSON */
    char audio_fmt[96]; /* {"rate":R,"width":2,"channels":1} */
};

struct conn {
    srv_wyoming *w;
    int fd;
    int slot;
    srv_speech *speech; /* the one being served (w->mu) */
    char buf[MAX_HEADER];
    size_t pos, len;    /* unread bytes: buf[pos .. len) */
    int streaming;      /* inside synthesize-start .. synthesize-stop */
    char *text;         /* the streamed text not yet spoken */
    size_t text_len;
};

/* ---- sending --------------------------------------------------------------------------- */

/* writes the iovecs whole; -1 when the connection is broken */
static int send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

/* one event: type (a constant: no escaping), data (JSON object text or NULL), payload */
static int send_event(conn *c, const char *type, const char *data, const void *payload,
                      size_t n)
{
    char head[160];
    size_t dl = data ? strlen(data) : 0;
    int hl = snprintf(head, sizeof head, "{\"type\":\"%s\"", type);
    if (dl)
        hl += snprintf(head + hl, sizeof head - (size_t)hl, ",\"data_length\":%zu", dl);
    if (n)
        hl += snprintf(head + hl, sizeof head - (size_t)hl, ",\"payload_length\":%zu", n);
    hl += snprintf(head + hl, sizeof head - (size_t)hl, "}\n");
    struct iovec iov[3] = {{head, (size_t)hl}, {(void *)data, dl}, {(void *)payload, n}};
    return send_all(c->fd, iov, 3);
}

static int send_error(conn *c, const char *code, const char *text)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "text", text);
    cJSON_AddStringToObject(d, "code", code);
    char *s = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    int rc = s ? send_event(c, "error", s, NULL, 0) : -1;
    cJSON_free(s);
    return rc;
}

/* ---- receiving ------------------------------------------------------------------------- */

/* reads more into the buffer: 1 read, 0 end of stream / error / idle too long / stopping
 * while idle (idle: between messages) */
static int fill(conn *c, int idle)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == sizeof c->buf)
        return 0;
    double give_up = srv_now() + IDLE_SECONDS;
    for (;;) {
        if (idle && atomic_load(&c->w->stopping))
            return 0;
        struct pollfd p = {c->fd, POLLIN, 0};
        int r = poll(&p, 1, 250);
        if (r < 0 && errno != EINTR)
            return 0;
        if (r > 0) {
            ssize_t k = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
            if (k > 0) {
                c->len += (size_t)k;
                return 1;
            }
            if (k == 0 || (errno != EINTR && errno != EAGAIN))
                return 0;
        }
        if (srv_now() > give_up)
            return 0;
    }
}

/* the next header line (NUL-terminated in place, without its newline), or NULL */
static char *read_line(conn *c, size_t *n)
{
    size_t scanned = 0;
    for (;;) {
        char *nl = memchr(c->buf + c->pos + scanned, '\n', c->len - c->pos - scanned);
        if (nl) {
            char *line = c->buf + c->pos;
            *n = (size_t)(nl - line);
            *nl = '\0';
            c->pos += *n + 1;
            return line;
        }
        scanned = c->len - c->pos;
        if (!fill(c, scanned == 0)) /* idle: nothing of the next message read yet */
            return NULL;
    }
}

/* n bytes into dst (NULL: dropped); 0, or -1 when the connection ends first */
static int read_bytes(conn *c, char *dst, size_t n)
{
    while (n > 0) {
        if (c->pos == c->len && !fill(c, 0))
            return -1;
        size_t k = c->len - c->pos < n ? c->len - c->pos : n;
        if (dst) {
            memcpy(dst, c->buf + c->pos, k);
            dst += k;
        }
        c->pos += k;
        n -= k;
    }
    return 0;
}

/* the next event: its type (in *root) and data (an object, owned by *root); -1 at the end
 * of the connection or on a malformed message */
static int read_event(conn *c, cJSON **root, const char **type, cJSON **data)
{
    size_t n;
    char *line = read_line(c, &n);
    *root = NULL;
    if (!line)
        return -1;
    cJSON *h = cJSON_ParseWithLength(line, n);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(h, "type");
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(h, "data_length");
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(h, "payload_length");
    cJSON *d = cJSON_GetObjectItemCaseSensitive(h, "data");
    double dlen = cJSON_IsNumber(dl) ? dl->valuedouble : 0;
    double plen = cJSON_IsNumber(pl) ? pl->valuedouble : 0;
    if (!cJSON_IsObject(h) || !cJSON_IsString(t) || (d && !cJSON_IsObject(d) && !cJSON_IsNull(d)) ||
        (dl && !cJSON_IsNull(dl) && !cJSON_IsNumber(dl)) ||
        (pl && !cJSON_IsNull(pl) && !cJSON_IsNumber(pl)) || !(dlen >= 0 && dlen <= MAX_DATA) ||
        !(plen >= 0 && plen <= MAX_PAYLOAD) || dlen != floor(dlen) || plen != floor(plen)) {
        cJSON_Delete(h);
        return -1;
    }
    if (!cJSON_IsObject(d)) {
        cJSON_DeleteItemFromObjectCaseSensitive(h, "data");
        d = cJSON_AddObjectToObject(h, "data");
    }
    if (dlen > 0) {
        /* the extra data, merged over the header's */
        char *extra = malloc((size_t)dlen + 1);
        if (!extra || read_bytes(c, extra, (size_t)dlen)) {
            free(extra);
            cJSON_Delete(h);
            return -1;
        }
        cJSON *x = cJSON_ParseWithLength(extra, (size_t)dlen);
        free(extra);
        if (!cJSON_IsObject(x)) {
            cJSON_Delete(x);
            cJSON_Delete(h);
            return -1;
        }
        while (x->child) {
            cJSON *item = cJSON_DetachItemViaPointer(x, x->child);
            cJSON_DeleteItemFromObjectCaseSensitive(d, item->string);
            cJSON_AddItemToObject(d, item->string, item);
        }
        cJSON_Delete(x);
    }
    if (plen > 0 && read_bytes(c, NULL, (size_t)plen)) {
        cJSON_Delete(h);
        return -1;
    }
    *root = h;
    *type = t->valuestring;
    *data = d;
    return 0;
}

/* ---- synthesis ------------------------------------------------------------------------- */

static size_t utf8_chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* NULL when the voice asked for (data.voice.name) is this server's, or not named; else the
 * name */
static const char *other_voice(const srv_wyoming *w, const cJSON *data)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, "voice");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
    if (!cJSON_IsString(name) || !strcasecmp(name->valuestring, w->cfg.voice) ||
        !strcasecmp(name->valuestring, "default"))
        return NULL;
    return name->valuestring;
}

/* Speaks text[0..n): audio-start, audio-chunk..., audio-stop. 0, or -1 when the connection
 * must close (broken, or a failure reported with an error event). */
static int speak(conn *c, const char *text, size_t n)
{
    srv_wyoming *w = c->w;
    if (utf8_chars(text, n) > (size_t)w->cfg.max_chars) {
        char m[128];
        snprintf(m, sizeof m, "the text has more than this server's limit of %d characters",
                 w->cfg.max_chars);
        send_error(c, "text-too-long", m);
        return -1;
    }
    char *t = strndup(text, n), msg[512];
    double t0 = srv_now();
    srv_speech *s = t ? srv_speech_new(t, SRV_FMT_PCM, 1.0f, t0 + w->cfg.timeout,
                                       w->cfg.stream_buffer, msg, sizeof msg)
                      : NULL;
    free(t);
    if (!s) {
        send_error(c, "internal", "out of memory");
        return -1;
    }
    pthread_mutex_lock(&w->mu);
    c->speech = s;
    pthread_mutex_unlock(&w->mu);
    static const char *const codes[] = {
        [SRV_SPEECH_BAD_INPUT] = "invalid-text", [SRV_SPEECH_BUSY] = "busy",
        [SRV_SPEECH_STOPPED] = "shutting-down",  [SRV_SPEECH_TIMEOUT] = "timeout",
        [SRV_SPEECH_CANCELLED] = "cancelled",    [SRV_SPEECH_INTERNAL] = "internal"};
    int rc = 0;
    srv_speech_error err = srv_speech_submit(s, w->cfg.pool);
    if (err == SRV_SPEECH_OK)
        err = srv_speech_wait_start(s);
    if (err != SRV_SPEECH_OK) {
        send_error(c, codes[err], err == SRV_SPEECH_BUSY ? "the server is busy: every engine "
                                                           "is in use and the queue is full"
                                  : err == SRV_SPEECH_STOPPED ? "the server is shutting down"
                                                              : srv_speech_message(s));
        rc = -1;
    } else if (send_event(c, "audio-start", w->audio_fmt, NULL, 0)) {
        rc = -1;
    } else {
        char pcm[CHUNK_SAMPLES * 2];
        ssize_t k;
        while ((k = srv_pipe_read(srv_speech_pipe(s), pcm, sizeof pcm, sizeof pcm)) > 0)
            if (send_event(c, "audio-chunk", w->audio_fmt, pcm, (size_t)k)) {
                rc = -1;
                break;
            }
        if (rc == 0 && k == 0)
            rc = send_event(c, "audio-stop", NULL, NULL, 0);
        else if (rc == 0) {
            err = srv_speech_wait_end(s);
            send_error(c, codes[err != SRV_SPEECH_OK ? err : SRV_SPEECH_INTERNAL],
                       srv_speech_message(s));
            rc = -1;
        }
    }
    if (w->cfg.access_log) {
        char first[64] = "";
        if (srv_speech_first_audio(s) >= 0)
            snprintf(first, sizeof first, ", first audio after %.3f s",
                     srv_speech_first_audio(s));
        srv_logf(&w->cfg.log, "wyoming synthesize %zu bytes of text: %s, %.2f s of audio%s, "
                 "%.3f s", n, rc ? "failed" : "ok",
                 (double)srv_speech_samples(s) / srv_pool_sample_rate(w->cfg.pool), first,
                 srv_now() - t0);
    }
    srv_speech_cancel(s); /* stops the engine if the client went away */
    pthread_mutex_lock(&w->mu);
    c->speech = NULL;
    pthread_mutex_unlock(&w->mu);
    srv_speech_unref(s);
    return rc;
}

/* The length of text[0..n)'s prefix that ends with a complete sentence: up to where the
 * last sentence begins, as the engine splits sentences (so "Dr. Smith" stays whole), or to
 * the last newline when that is further; 0 when there is none. The last sentence waits for
 * the next one, or for the end of the stream. */
static size_t complete_sentences(const char *t, size_t n)
{
    size_t end = 0, last = 0, off, len;
    int count = 0;
    tts_sentence_iter it;
    if (!tts_sentences_begin(&it, t, n, NULL))
        while (tts_sentences_next(&it, &off, &len) > 0) {
            last = off;
            count++;
        }
    if (count >= 2)
        end = last;
    for (size_t i = n; i-- > end;)
        if (t[i] == '\n') {
            end = i + 1;
            break;
        }
    return end;
}

static int is_blank(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", t[i]))
            return 0;
    return 1;
}

/* the bytes of t[0..n) that make at most max characters: all of them when they fit, else
 * up to the last white space within the limit (or the limit itself, a word longer than
 * it) */
static size_t within_limit(const char *t, size_t n, size_t max)
{
    size_t i = 0, chars = 0, space = 0;
    for (; i < n; i++) {
        if (((unsigned char)t[i] & 0xC0) != 0x80 && chars++ == max)
            break;
        if (strchr(" \t\r\n", t[i]))
            space = i + 1;
    }
    return i == n || space == 0 ? i : space;
}

/* speaks what the stream has of complete sentences (all of it when `all`), in pieces of
 * at most the server's character limit; 0 or -1 */
static int speak_streamed(conn *c, int all)
{
    size_t max = (size_t)c->w->cfg.max_chars;
    size_t n = all ? c->text_len : complete_sentences(c->text, c->text_len);
    /* a text that grows past the limit without a sentence end is spoken as it is */
    if (!all && n == 0 && utf8_chars(c->text, c->text_len) >= max)
        n = c->text_len;
    int rc = 0;
    while (n > 0 && rc == 0) {
        size_t k = within_limit(c->text, n, max);
        rc = is_blank(c->text, k) ? 0 : speak(c, c->text, k);
        memmove(c->text, c->text + k, c->text_len - k);
        c->text_len -= k;
        n -= k;
    }
    return rc;
}

/* ---- connections ----------------------------------------------------------------------- */

static int serve_event(conn *c, const char *type, const cJSON *data)
{
    srv_wyoming *w = c->w;
    if (!strcmp(type, "describe"))
        return send_event(c, "info", w->info, NULL, 0);
    if (!strcmp(type, "ping")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(data, "text");
        cJSON *d = cJSON_CreateObject();
        if (cJSON_IsString(t))
            cJSON_AddStringToObject(d, "text", t->valuestring);
        char *s = cJSON_PrintUnformatted(d);
        cJSON_Delete(d);
        int rc = s ? send_event(c, "pong", s, NULL, 0) : -1;
        cJSON_free(s);
        return rc;
    }
    int synth = !strcmp(type, "synthesize"), start = !strcmp(type, "synthesize-start");
    if ((synth && !c->streaming) || start) {
        const char *other = other_voice(w, data);
        if (other) {
            char m[512];
            snprintf(m, sizeof m, "unknown voice \"%.200s\": this server has \"%s\"", other,
                     w->cfg.voice);
            send_error(c, "unknown-voice", m);
            return -1;
        }
    }
    if (synth) {
        if (c->streaming)
            return 0; /* the copy of a stream's text, for servers that do not stream */
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(data, "text");
        if (!cJSON_IsString(t)) {
            send_error(c, "invalid-request", "synthesize needs a \"text\" string");
            return -1;
        }
        return speak(c, t->valuestring, strlen(t->valuestring));
    }
    if (start) {
        c->streaming = 1;
        c->text_len = 0;
        return 0;
    }
    if (!strcmp(type, "synthesize-chunk") && c->streaming) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(data, "text");
        if (!cJSON_IsString(t))
            return 0;
        size_t k = strlen(t->valuestring);
        if (c->text_len + k > (size_t)w->cfg.max_chars * 4 + 4) {
            /* more than the limit in bytes with no sentence spoken: refuse */
            send_error(c, "text-too-long", "the streamed text has no sentence end within "
                                           "this server's character limit");
            return -1;
        }
        char *b = realloc(c->text, c->text_len + k + 1);
        if (!b)
            return -1;
        c->text = b;
        memcpy(c->text + c->text_len, t->valuestring, k + 1);
        c->text_len += k;
        return speak_streamed(c, 0);
    }
    if (!strcmp(type, "synthesize-stop") && c->streaming) {
        int rc = speak_streamed(c, 1);
        c->streaming = 0;
        c->text_len = 0;
        return rc ? rc : send_event(c, "synthesize-stopped", NULL, NULL, 0);
    }
    return 0; /* not ours */
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    srv_wyoming *w = c->w;
    struct timeval tv = {SEND_SECONDS, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    for (;;) {
        cJSON *root;
        const char *type;
        cJSON *data;
        if (read_event(c, &root, &type, &data))
            break;
        int rc = serve_event(c, type, data);
        cJSON_Delete(root);
        if (rc || atomic_load(&w->stopping))
            break;
    }
    free(c->text);
    pthread_mutex_lock(&w->mu);
    w->conns[c->slot] = NULL;
    w->n_conns--;
    close(c->fd); /* after its slot is gone: stop may shut down what the slots hold */
    pthread_cond_broadcast(&w->cv);
    free(c);
    pthread_mutex_unlock(&w->mu); /* the last use of w: stop may free it from here on */
    return NULL;
}

static void *accept_main(void *arg)
{
    srv_wyoming *w = arg;
    for (;;) {
        struct pollfd p[2] = {{w->listen_fd, POLLIN, 0}, {w->wake[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            srv_logf(&w->cfg.log, "wyoming: poll: %s", strerror(errno));
            break;
        }
        if (p[1].revents)
            break;
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                srv_logf(&w->cfg.log, "wyoming: accept: %s", strerror(errno));
                poll(NULL, 0, 100); /* the error repeats until a descriptor is freed */
            }
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        pthread_mutex_lock(&w->mu);
        int slot = -1;
        for (int i = 0; c && i < w->cfg.max_connections && slot < 0; i++)
            if (!w->conns[i])
                slot = i;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_t th;
        if (slot >= 0) {
            c->w = w;
            c->fd = fd;
            c->slot = slot;
            w->conns[slot] = c;
            w->n_conns++;
            if (pthread_create(&th, &at, conn_main, c)) {
                w->conns[slot] = NULL;
                w->n_conns--;
                slot = -1;
            }
        }
        pthread_attr_destroy(&at);
        pthread_mutex_unlock(&w->mu);
        if (slot < 0) {
            conn tmp = {.fd = fd};
            send_error(&tmp, "busy", "too many connections");
            close(fd);
            free(c);
            srv_logf(&w->cfg.log, "wyoming: connection refused: %d open", w->cfg.max_connections);
        }
    }
    return NULL;
}

static char *make_info(const srv_wyoming_config *cfg)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddArrayToObject(d, "asr");
    cJSON *tts = cJSON_AddArrayToObject(d, "tts");
    cJSON_AddArrayToObject(d, "handle");
    cJSON_AddArrayToObject(d, "intent");
    cJSON_AddArrayToObject(d, "wake");
    cJSON *prog = cJSON_CreateObject();
    cJSON_AddStringToObject(prog, "name", "libtts");
    cJSON_AddStringToObject(prog, "description", "libtts: neural text to speech");
    cJSON *a = cJSON_AddObjectToObject(prog, "attribution");
    cJSON_AddStringToObject(a, "name", "libtts");
    cJSON_AddStringToObject(a, "url", "");
    cJSON_AddTrueToObject(prog, "installed");
    cJSON_AddStringToObject(prog, "version", cfg->version);
    cJSON_AddTrueToObject(prog, "supports_synthesize_streaming");
    cJSON *voices = cJSON_AddArrayToObject(prog, "voices");
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", cfg->voice);
    cJSON_AddStringToObject(v, "description", cfg->voice_description);
    a = cJSON_AddObjectToObject(v, "attribution");
    cJSON_AddStringToObject(a, "name", cfg->attribution_name);
    cJSON_AddStringToObject(a, "url", cfg->attribution_url);
    cJSON_AddTrueToObject(v, "installed");
    cJSON_AddStringToObject(v, "version", cfg->version);
    cJSON *langs = cJSON_AddArrayToObject(v, "languages");
    cJSON_AddItemToArray(langs, cJSON_CreateString("en"));
    cJSON_AddItemToArray(voices, v);
    cJSON_AddItemToArray(tts, prog);
    char *s = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return s;
}

int srv_wyoming_start(srv_wyoming **out, const srv_wyoming_config *cfg, int listen_fd,
                      char *err, size_t errlen)
{
    *out = NULL;
    srv_wyoming *w = calloc(1, sizeof *w);
    if (!w || !(w->conns = calloc((size_t)cfg->max_connections, sizeof *w->conns)) ||
        !(w->info = make_info(cfg)) || pipe2(w->wake, O_CLOEXEC)) {
        snprintf(err, errlen, "cannot start the Wyoming server: %s",
                 w && w->info ? strerror(errno) : "out of memory");
        if (w) {
            cJSON_free(w->info);
            free(w->conns);
        }
        free(w);
        close(listen_fd);
        return -1;
    }
    w->cfg = *cfg;
    w->listen_fd = listen_fd;
    atomic_init(&w->stopping, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(w->audio_fmt, sizeof w->audio_fmt, "{\"rate\":%d,\"width\":2,\"channels\":1}",
             srv_pool_sample_rate(cfg->pool));
    if (pthread_create(&w->acceptor, NULL, accept_main, w)) {
        snprintf(err, errlen, "cannot start the Wyoming server: %s", strerror(errno));
        srv_wyoming_stop(w, 0);
        return -1;
    }
    w->acceptor_running = 1;
    *out = w;
    return 0;
}

void srv_wyoming_quiesce(srv_wyoming *w)
{
    if (!w || !w->acceptor_running)
        return;
    char b = 1;
    ssize_t k = write(w->wake[1], &b, 1);
    (void)k;
    pthread_join(w->acceptor, NULL);
    w->acceptor_running = 0;
    close(w->listen_fd);
    w->listen_fd = -1;
}

static void wait_conns(srv_wyoming *w, double deadline)
{
    while (w->n_conns > 0) {
        if (deadline <= 0) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        if (srv_now() >= deadline)
            break;
        srv_cond_wait_until(&w->cv, &w->mu, deadline);
    }
}

void srv_wyoming_stop(srv_wyoming *w, double deadline)
{
    if (!w)
        return;
    srv_wyoming_quiesce(w);
    atomic_store(&w->stopping, 1); /* idle connections end within 250 ms */
    pthread_mutex_lock(&w->mu);
    wait_conns(w, deadline > 0 ? deadline : srv_now());
    /* the rest: their synthesis is cancelled and their socket shut */
    for (int i = 0; i < w->cfg.max_connections; i++)
        if (w->conns[i]) {
            if (w->conns[i]->speech)
                srv_speech_cancel(w->conns[i]->speech);
            shutdown(w->conns[i]->fd, SHUT_RDWR);
        }
    wait_conns(w, 0);
    pthread_mutex_unlock(&w->mu);
    if (w->listen_fd >= 0)
        close(w->listen_fd);
    close(w->wake[0]);
    close(w->wake[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    cJSON_free(w->info);
    free(w->conns);
    free(w);
}
