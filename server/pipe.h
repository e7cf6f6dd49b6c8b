/*
 * server/pipe.h — a byte queue from one producer thread to one consumer thread.
 *
 * A synthesis job (the producer, in an engine worker) writes encoded audio as the engine
 * makes it; the front that serves the client (an HTTP connection thread, a Wyoming
 * connection thread: the consumer) reads it and sends it on. The queue holds at most about
 * `capacity` unread bytes: a write that finds it that full waits for the reader (so a slow
 * client slows its own synthesis, never the server's memory), until a deadline.
 *
 * Ending: the producer calls srv_pipe_close once, saying whether the stream is complete;
 * the consumer calls srv_pipe_cancel when it stops reading (client gone), after which
 * every write fails at once. Both ends hold a reference; the last srv_pipe_unref frees it.
 *
 * Thread safety: any function from any thread, except that a pipe has one writer and one
 * reader at a time.
 */
#ifndef TTS_SERVER_PIPE_H
#define TTS_SERVER_PIPE_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct srv_pipe srv_pipe;

enum {
    SRV_PIPE_OK = 0,
    SRV_PIPE_CANCELLED = -1, /* the reader cancelled */
    SRV_PIPE_TIMEOUT = -2,   /* the deadline passed while the queue was full */
    SRV_PIPE_NOMEM = -3,     /* out of memory */
    SRV_PIPE_STOPPED = -4    /* stop() said so while the queue was full */
};

/* A new pipe with one reference. NULL when out of memory. */
srv_pipe *srv_pipe_new(size_t capacity);
void srv_pipe_ref(srv_pipe *p);
void srv_pipe_unref(srv_pipe *p); /* NULL is fine */

/* Appends n bytes (all of them, or none on failure), first waiting while `capacity` or
 * more bytes are unread, until deadline (CLOCK_MONOTONIC seconds, see srv_now; 0 = no
 * deadline) or until stop(arg) (NULL: none), asked at least every 100 ms of the wait,
 * returns non-zero. Returns SRV_PIPE_OK or one of the failures above. Not after
 * srv_pipe_close. */
int srv_pipe_write(srv_pipe *p, const void *data, size_t n, double deadline,
                   int (*stop)(void *arg), void *arg);

/* Ends the stream: complete (ok != 0) or failed (ok == 0). Idempotent: the first call
 * wins. */
void srv_pipe_close(srv_pipe *p, int ok);

/* Reads at most max bytes into buf, first waiting until at least min bytes (1 <= min <=
 * max) are unread or the stream has ended. Returns the bytes read (> 0; fewer than min
 * only at the end of the stream), 0 at the end of a complete stream, -1 at the end of a
 * failed one or after srv_pipe_cancel. */
ssize_t srv_pipe_read(srv_pipe *p, void *buf, size_t max, size_t min);

/* The reader stops: writes fail from now on (SRV_PIPE_CANCELLED) and reads return -1. */
void srv_pipe_cancel(srv_pipe *p);

/* Bytes written so far (all time). */
size_t srv_pipe_written(srv_pipe *p);

/* CLOCK_MONOTONIC in seconds: the clock of every deadline in the server. */
double srv_now(void);

/* pthread_cond_timedwait until deadline (srv_now() seconds) on a condition variable made
 * with CLOCK_MONOTONIC (pthread_condattr_setclock); its result. */
int srv_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, double deadline);

#endif
