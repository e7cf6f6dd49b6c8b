/*
 * server/speech.h — one synthesis request, shared by the front that serves a client (HTTP
 * or Wyoming) and the engine worker that speaks it.
 *
 * The front makes a speech (text, output format, speaking rate, deadline), submits it to
 * the pool, waits for it to start (srv_speech_wait_start: the first audio, or the end), and
 * then reads the encoded audio from its pipe as the engine makes it. The worker runs the
 * engine with an audio callback that encodes each chunk into the pipe and stops the
 * synthesis (the callback returns non-zero) when the front cancels (client gone), when
 * the deadline passes, or when the pool shuts down.
 *
 * The speaking rate: the worker sets the request's rate on its engine before it speaks
 * (tts_engine_set_prosody), so the audio is the same as an engine opened with that rate.
 *
 * Errors are classified for the fronts (enum srv_speech_error): bad input (the library's
 * TTS_E_INVALID before any audio, e.g. malformed SSML or bad UTF-8, or no words at all),
 * busy, stopped, timeout, internal. After the first audio a failure can only end the
 * stream early (srv_pipe_read returns -1).
 *
 * Thread safety: the functions are for the front's thread, except where said; the worker
 * side is internal.
 */
#ifndef TTS_SERVER_SPEECH_H
#define TTS_SERVER_SPEECH_H

#include <stddef.h>

#include "encode.h"
#include "pipe.h"
#include "pool.h"

typedef enum {
    SRV_SPEECH_OK = 0,      /* audio is coming (wait_start), or the speech is complete */
    SRV_SPEECH_BAD_INPUT,   /* the text cannot be spoken (the message says why) */
    SRV_SPEECH_BUSY,        /* the pool is full */
    SRV_SPEECH_STOPPED,     /* the server is shutting down */
    SRV_SPEECH_TIMEOUT,     /* the deadline passed first */
    SRV_SPEECH_CANCELLED,   /* the front cancelled it */
    SRV_SPEECH_INTERNAL     /* out of memory, an encoder or engine failure */
} srv_speech_error;

typedef struct srv_speech srv_speech;

/* A new speech with one reference (the front's). text is copied; rate (0.5 .. 2) is set on
 * the engine that speaks it (tts_engine_set_prosody); deadline in srv_now() seconds;
 * buffer: the pipe's capacity in bytes. NULL with a message when out of memory. */
srv_speech *srv_speech_new(const char *text, srv_format fmt, float rate, double deadline,
                           size_t buffer, char *msg, size_t msglen);

/* Submits it to the pool (the worker takes a reference). SRV_SPEECH_OK, _BUSY or _STOPPED. */
srv_speech_error srv_speech_submit(srv_speech *s, srv_pool *pool);

/* Waits until the first audio (SRV_SPEECH_OK), or the end: SRV_SPEECH_OK when it ended well
 * (with audio), else the error. At the deadline, a speech that has not started is
 * cancelled: SRV_SPEECH_TIMEOUT. */
srv_speech_error srv_speech_wait_start(srv_speech *s);

/* Waits for the end and returns how it ended (SRV_SPEECH_OK: complete). */
srv_speech_error srv_speech_wait_end(srv_speech *s);

/* The encoded audio (owned by the speech: valid while the caller holds its reference). */
srv_pipe *srv_speech_pipe(srv_speech *s);
/* The message of the error (after wait_start / wait_end returned one; "" if none). */
const char *srv_speech_message(srv_speech *s);
/* Samples the engine made so far, and seconds from submit to the first of them (-1: none
 * yet). */
size_t srv_speech_samples(srv_speech *s);
double srv_speech_first_audio(srv_speech *s);

/* The client is gone or no longer wants it: the synthesis stops at its next audio
 * callback, the pipe is cancelled. Any thread; idempotent. */
void srv_speech_cancel(srv_speech *s);
void srv_speech_ref(srv_speech *s);
void srv_speech_unref(srv_speech *s); /* NULL is fine */

#endif
