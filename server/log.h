/*
 * server/log.h — how the server's parts report: through a function the program gives
 * them (tts-server's main prints to stderr). The parts never print themselves.
 */
#ifndef TTS_SERVER_LOG_H
#define TTS_SERVER_LOG_H

#include <stdarg.h>
#include <stdio.h>

/* Receives one message (no newline). Called from any thread: it must be thread-safe. */
typedef void (*srv_log_fn)(void *user, const char *msg);

typedef struct {
    srv_log_fn fn; /* NULL: messages are dropped */
    void *user;
} srv_logger;

static inline void srv_logf(const srv_logger *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void srv_logf(const srv_logger *l, const char *fmt, ...)
{
    if (!l || !l->fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    l->fn(l->user, msg);
}

#endif
