/*
 * server/http.h — the HTTP front of tts-server (libmicrohttpd, a thread per connection).
 *
 *   POST /v1/audio/speech  {"input": TEXT, "voice": NAME, "response_format": "wav" | "pcm" |
 *                          "flac" | "opus" | "mp3", "speed": 0.5 .. 2}: the audio, streamed
 *                          with chunked transfer encoding as the engine makes it
 *   GET  /v1/voices        {"voices": [{"name", "language", "sample_rate"}]}
 *   GET  /health           200 {"status": "ok"}; 503 {"status": "shutting down"} once the
 *                          server stops
 *
 * Failures are JSON, {"error": {"message": ..., "type": ...}}: 400 bad JSON or fields (also
 * text the engine refuses before any audio: malformed SSML, invalid UTF-8, no words), 404
 * unknown path, 405 wrong method (with Allow), 413 body over the limit, 500 internal, 503
 * pool full / time limit passed before any audio / shutting down (with Retry-After). The
 * status is sent with the first audio: a failure after it cuts the chunked stream short
 * (no terminating chunk), which clients report as an incomplete read.
 *
 * Thread safety: start and stop from one thread; requests are served by libmicrohttpd's
 * threads.
 */
#ifndef TTS_SERVER_HTTP_H
#define TTS_SERVER_HTTP_H

#include <stddef.h>

#include "log.h"
#include "pool.h"

typedef struct {
    srv_pool *pool;
    const char *voice;      /* the voice's name (also "default" is accepted) */
    int max_chars;          /* characters (code points) of input at most */
    size_t max_body;        /* bytes of request body at most */
    double timeout;         /* seconds a request may take, from its arrival to the last
                             * sample (waiting for an engine included) */
    size_t stream_buffer;   /* bytes of encoded audio held ahead of a slow client */
    int max_connections;    /* open connections at most (each has a thread) */
    int access_log;         /* log one line per request */
    srv_logger log;
} srv_http_config;

typedef struct srv_http srv_http;

/* Serves on listen_fd (a listening TCP socket; the server owns it from now on, even on
 * failure). cfg is copied (its strings must outlive the server). 0, or -1 with a message
 * in err. */
int srv_http_start(srv_http **out, const srv_http_config *cfg, int listen_fd, char *err,
                   size_t errlen);
/* Stops accepting connections (and /health says 503); requests in progress go on. */
void srv_http_quiesce(srv_http *h);
/* Waits until deadline (srv_now() seconds) for the audio streams in progress to be sent,
 * then closes every connection and frees. NULL is fine. */
void srv_http_stop(srv_http *h, double deadline);

#endif
