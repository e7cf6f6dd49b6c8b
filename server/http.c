/*
 * server/http.c — the HTTP front (see http.h).
 *
 * libmicrohttpd runs in thread-per-connection mode: the access handler and the content
 * reader of a connection run in that connection's thread and may block. A speech request
 * blocks in the handler until the first audio (so that its status can still be an error),
 * and the reader blocks on the speech's pipe until the engine has made more.
 */
#include "http.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "encode.h"
#include "speech.h"

struct srv_http {
    srv_http_config cfg;
    struct MHD_Daemon *d;
    int listen_fd;
    atomic_int stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* streams ended */
    int streams;       /* audio responses not yet freed (mu) */
};

enum { ROUTE_NOT_FOUND, ROUTE_HEALTH, ROUTE_VOICES, ROUTE_SPEECH, ROUTE_GET_ONLY,
       ROUTE_POST_ONLY };

/* one request: *con_cls of libmicrohttpd */
typedef struct {
    int route;
    char method[16];
    char path[128];
    char *body;
    size_t len, cap;
    size_t dropped; /* bytes of body read and not kept */
    int too_large;
    int responded;
    unsigned status;
    srv_format fmt;
    srv_speech *speech; /* the handler's reference */
    double t0;
} request;

/* ---- responses ------------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *c, request *r, unsigned status,
                                 const char *type, const char *body, const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result ok = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES && r) {
        r->responded = 1;
        r->status = status;
    }
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, request *r, unsigned status,
                                 cJSON *root, const char *allow)
{
    char *s = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!s)
        return MHD_NO;
    enum MHD_Result ok = send_text(c, r, status, "application/json", s, allow);
    cJSON_free(s);
    return ok;
}

/* {"error": {"message": ..., "type": ...}} */
static enum MHD_Result send_error(struct MHD_Connection *c, request *r, unsigned status,
                                  const char *type, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static enum MHD_Result send_error(struct MHD_Connection *c, request *r, unsigned status,
                                  const char *type, const char *allow, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    return send_json(c, r, status, root, allow);
}

/* ---- the audio stream ------------------------------------------------------------------ */

typedef struct {
    srv_http *h;
    srv_speech *speech; /* the response's reference */
} stream;

static ssize_t read_audio(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *st = cls;
    (void)pos;
    ssize_t n = srv_pipe_read(srv_speech_pipe(st->speech), buf, max, 1);
    return n > 0 ? n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
                              : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* the response is done with (sent, or the client went away): stop the synthesis if it
 * still runs */
static void free_stream(void *cls)
{
    stream *st = cls;
    srv_speech_cancel(st->speech);
    srv_speech_unref(st->speech);
    pthread_mutex_lock(&st->h->mu);
    st->h->streams--;
    pthread_cond_broadcast(&st->h->cv);
    pthread_mutex_unlock(&st->h->mu);
    free(st);
}

/* ---- POST /v1/audio/speech ------------------------------------------------------------- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static const char *const error_types[] = {
    [SRV_SPEECH_BAD_INPUT] = "invalid_request_error", [SRV_SPEECH_BUSY] = "overloaded_error",
    [SRV_SPEECH_STOPPED] = "unavailable_error",       [SRV_SPEECH_TIMEOUT] = "timeout_error",
    [SRV_SPEECH_CANCELLED] = "server_error",          [SRV_SPEECH_INTERNAL] = "server_error"};

static unsigned error_status(srv_speech_error e)
{
    switch (e) {
    case SRV_SPEECH_BAD_INPUT: return MHD_HTTP_BAD_REQUEST;
    case SRV_SPEECH_BUSY:
    case SRV_SPEECH_STOPPED:
    case SRV_SPEECH_TIMEOUT: return MHD_HTTP_SERVICE_UNAVAILABLE;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum MHD_Result speech(srv_http *h, struct MHD_Connection *c, request *r)
{
    const srv_http_config *cfg = &h->cfg;
    if (r->too_large)
        return send_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "request_too_large_error", NULL,
                          "the request body is larger than %zu bytes", cfg->max_body);
    cJSON *root = cJSON_ParseWithLength(r->body ? r->body : "", r->len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                          "the request body must be a JSON object");
    }
    enum MHD_Result ok;
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *voice = cJSON_GetObjectItemCaseSensitive(root, "voice");
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "response_format");
    const cJSON *speed = cJSON_GetObjectItemCaseSensitive(root, "speed");
    int fmt = SRV_FMT_WAV;
    size_t chars;
    if (!cJSON_IsString(input)) {
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                        "'input' is required and must be a string");
    } else if ((chars = utf8_chars(input->valuestring)) > (size_t)cfg->max_chars) {
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                        "'input' has %zu characters, more than this server's limit of %d",
                        chars, cfg->max_chars);
    } else if (input->valuestring[strspn(input->valuestring, " \t\r\n")] == '\0') {
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                        "'input' is empty: nothing to say");
    } else if (voice && !cJSON_IsNull(voice) &&
               (!cJSON_IsString(voice) || (strcasecmp(voice->valuestring, cfg->voice) &&
                                           strcasecmp(voice->valuestring, "default")))) {
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                        "unknown voice %s%s%s: this server has \"%s\" (also called \"default\")",
                        cJSON_IsString(voice) ? "\"" : "",
                        cJSON_IsString(voice) ? voice->valuestring : "(not a string)",
                        cJSON_IsString(voice) ? "\"" : "", cfg->voice);
    } else if (format && !cJSON_IsNull(format) &&
               (!cJSON_IsString(format) || (fmt = srv_format_parse(format->valuestring)) < 0)) {
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                        "'response_format' must be one of \"wav\", \"pcm\", \"flac\", "
                        "\"opus\", \"mp3\"");
    } else if (!srv_format_available((srv_format)fmt)) {
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                        "this server's libsndfile cannot encode %s",
                        srv_format_name((srv_format)fmt));
    } else if (speed && !cJSON_IsNull(speed) &&
               (!cJSON_IsNumber(speed) || !(speed->valuedouble >= 0.5) ||
                !(speed->valuedouble <= 2.0))) {
        ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL,
                        "'speed' must be a number from 0.5 to 2");
    } else {
        float rate = speed && cJSON_IsNumber(speed) ? (float)speed->valuedouble : 1.0f;
        char msg[512];
        r->fmt = (srv_format)fmt;
        r->speech = srv_speech_new(input->valuestring, r->fmt, rate, r->t0 + cfg->timeout,
                                   cfg->stream_buffer, msg, sizeof msg);
        srv_speech_error err;
        if (!r->speech && !strcmp(msg, "out of memory"))
            ok = send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "server_error", NULL, "%s",
                            msg);
        else if (!r->speech) /* SSML that the speed cannot go into */
            ok = send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid_request_error", NULL, "%s",
                            msg);
        else if ((err = srv_speech_submit(r->speech, cfg->pool)) != SRV_SPEECH_OK)
            ok = send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, error_types[err], NULL, "%s",
                            err == SRV_SPEECH_BUSY ? "the server is busy: every engine is "
                                                     "in use and the queue is full"
                                                   : "the server is shutting down");
        else if ((err = srv_speech_wait_start(r->speech)) != SRV_SPEECH_OK)
            ok = send_error(c, r, error_status(err), error_types[err], NULL, "%s",
                            srv_speech_message(r->speech));
        else {
            stream *st = malloc(sizeof *st);
            struct MHD_Response *resp = NULL;
            if (st) {
                st->h = h;
                st->speech = r->speech;
                srv_speech_ref(r->speech);
                pthread_mutex_lock(&h->mu);
                h->streams++;
                pthread_mutex_unlock(&h->mu);
                resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                                         read_audio, st, free_stream);
                if (!resp)
                    free_stream(st);
            }
            if (!resp) {
                srv_speech_cancel(r->speech);
                ok = MHD_NO;
            } else {
                char rate_s[32];
                snprintf(rate_s, sizeof rate_s, "%d", srv_pool_sample_rate(cfg->pool));
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        srv_format_mime(r->fmt));
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
                MHD_add_response_header(resp, "X-Sample-Rate", rate_s);
                ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
                MHD_destroy_response(resp);
                if (ok == MHD_YES) {
                    r->responded = 1;
                    r->status = MHD_HTTP_OK;
                }
            }
        }
    }
    cJSON_Delete(root);
    return ok;
}

/* ---- routing --------------------------------------------------------------------------- */

static enum MHD_Result health(srv_http *h, struct MHD_Connection *c, request *r)
{
    int stopping = atomic_load(&h->stopping);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", stopping ? "shutting down" : "ok");
    return send_json(c, r, stopping ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, root, NULL);
}

static enum MHD_Result voices(srv_http *h, struct MHD_Connection *c, request *r)
{
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "voices");
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", h->cfg.voice);
    cJSON_AddStringToObject(v, "language", "en");
    cJSON_AddNumberToObject(v, "sample_rate", srv_pool_sample_rate(h->cfg.pool));
    cJSON_AddItemToArray(list, v);
    return send_json(c, r, MHD_HTTP_OK, root, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    srv_http *h = cls;
    request *r = *con_cls;
    (void)version;
    if (!r) {
        /* the headers are in: route. The answer waits for the next call, when the request
         * has been read whole (answering now would close the connection), except a body
         * declared too large, refused before it is read (and before a "100 Continue"). */
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *con_cls = r;
        r->t0 = srv_now();
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        int get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
        int post = !strcmp(method, MHD_HTTP_METHOD_POST);
        if (!strcmp(url, "/health"))
            r->route = get ? ROUTE_HEALTH : ROUTE_GET_ONLY;
        else if (!strcmp(url, "/v1/voices"))
            r->route = get ? ROUTE_VOICES : ROUTE_GET_ONLY;
        else if (!strcmp(url, "/v1/audio/speech"))
            r->route = post ? ROUTE_SPEECH : ROUTE_POST_ONLY;
        else
            r->route = ROUTE_NOT_FOUND;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (r->route == ROUTE_SPEECH && cl && strtoull(cl, NULL, 10) > h->cfg.max_body) {
            r->too_large = 1;
            return speech(h, c, r);
        }
        return MHD_YES;
    }
    if (r->responded) {
        *upload_size = 0; /* a body after an early answer: dropped */
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->route != ROUTE_SPEECH || r->too_large) {
            /* not wanted: dropped (libmicrohttpd answers only once the body is read), but
             * a sender that goes on far past the limit has its connection closed */
            r->dropped += n;
            return r->dropped > 4 * h->cfg.max_body ? MHD_NO : MHD_YES;
        }
        if (r->len + n > h->cfg.max_body) {
            /* a chunked body over the limit: 413 once it has been read */
            r->too_large = 1;
            r->dropped = r->len + n;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n + 1)
                cap *= 2;
            char *b = realloc(r->body, cap);
            if (!b)
                return MHD_NO;
            r->body = b;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    switch (r->route) {
    case ROUTE_HEALTH: return health(h, c, r);
    case ROUTE_VOICES: return voices(h, c, r);
    case ROUTE_SPEECH: return speech(h, c, r);
    case ROUTE_GET_ONLY:
        return send_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid_request_error",
                          "GET, HEAD", "%s %s: use GET", r->method, r->path);
    case ROUTE_POST_ONLY:
        return send_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "invalid_request_error", "POST",
                          "%s %s: use POST", r->method, r->path);
    default:
        return send_error(c, r, MHD_HTTP_NOT_FOUND, "not_found_error", NULL, "no such path: %s",
                          r->path);
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    srv_http *h = cls;
    request *r = *con_cls;
    (void)c;
    if (!r)
        return;
    *con_cls = NULL;
    if (h->cfg.access_log) {
        char extra[160] = "";
        if (r->speech && r->status == MHD_HTTP_OK) {
            double first = srv_speech_first_audio(r->speech);
            snprintf(extra, sizeof extra, " %s %.2f s of audio, first audio after %.3f s",
                     srv_format_name(r->fmt),
                     (double)srv_speech_samples(r->speech) / srv_pool_sample_rate(h->cfg.pool),
                     first);
        }
        srv_logf(&h->cfg.log, "http %s %s %u%s, %.3f s%s", r->method, r->path, r->status,
                 extra, srv_now() - r->t0,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
                 : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " (client went away)"
                 : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? " (server shut down)"
                 : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (connection timed out)"
                                                                 : " (ended with an error)");
    }
    if (r->speech) {
        /* the stream holds its own reference; this is the handler's */
        if (r->status != MHD_HTTP_OK)
            srv_speech_cancel(r->speech);
        srv_speech_unref(r->speech);
    }
    free(r->body);
    free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    srv_http *h = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    srv_logf(&h->cfg.log, "http: %s", msg);
}

int srv_http_start(srv_http **out, const srv_http_config *cfg, int listen_fd, char *err,
                   size_t errlen)
{
    *out = NULL;
    srv_http *h = calloc(1, sizeof *h);
    if (!h) {
        close(listen_fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->cfg = *cfg;
    h->listen_fd = listen_fd;
    atomic_init(&h->stopping, 0);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "libmicrohttpd could not start (see the messages above)");
        close(listen_fd);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

void srv_http_quiesce(srv_http *h)
{
    if (!h || atomic_exchange(&h->stopping, 1))
        return;
    MHD_quiesce_daemon(h->d); /* the listening socket is ours again: closed in stop */
}

void srv_http_stop(srv_http *h, double deadline)
{
    if (!h)
        return;
    srv_http_quiesce(h);
    pthread_mutex_lock(&h->mu);
    while (h->streams > 0 && srv_now() < deadline) {
        srv_cond_wait_until(&h->cv, &h->mu, deadline);
    }
    pthread_mutex_unlock(&h->mu);
    MHD_stop_daemon(h->d);
    close(h->listen_fd);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}
