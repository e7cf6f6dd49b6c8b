/*
 * server/pipe.c — the producer/consumer byte queue (see pipe.h).
 */
#include "pipe.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_pipe {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on every change: data, room, close, cancel */
    int refs;
    unsigned char *buf; /* unread bytes are buf[head .. head + len) */
    size_t head, len, size;
    size_t capacity;
    size_t written;
    int closed;    /* 0 open, 1 complete, -1 failed */
    int cancelled;
};

double srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int srv_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, double deadline)
{
    struct timespec ts;
    double whole = floor(deadline);
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((deadline - whole) * 1e9);
    if (ts.tv_nsec > 999999999L)
        ts.tv_nsec = 999999999L;
    return pthread_cond_timedwait(cv, mu, &ts);
}

srv_pipe *srv_pipe_new(size_t capacity)
{
    srv_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->refs = 1;
    p->capacity = capacity ? capacity : 1;
    return p;
}

void srv_pipe_ref(srv_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->refs++;
    pthread_mutex_unlock(&p->mu);
}

void srv_pipe_unref(srv_pipe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    int last = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (!last)
        return;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->buf);
    free(p);
}

/* waits on p->cv (p->mu held) until deadline (0 = none); ETIMEDOUT once it has passed */
static int wait_until(srv_pipe *p, double deadline)
{
    if (deadline <= 0)
        return pthread_cond_wait(&p->cv, &p->mu);
    return srv_cond_wait_until(&p->cv, &p->mu, deadline);
}

int srv_pipe_write(srv_pipe *p, const void *data, size_t n, double deadline,
                   int (*stop)(void *arg), void *arg)
{
    pthread_mutex_lock(&p->mu);
    int rc = SRV_PIPE_OK;
    while (!p->cancelled && p->len >= p->capacity) {
        if (stop && stop(arg)) {
            rc = SRV_PIPE_STOPPED;
            break;
        }
        double now = srv_now();
        if (deadline > 0 && now >= deadline) {
            rc = SRV_PIPE_TIMEOUT;
            break;
        }
        double until = stop ? now + 0.1 : deadline;
        wait_until(p, deadline > 0 && deadline < until ? deadline : until);
    }
    if (p->cancelled)
        rc = SRV_PIPE_CANCELLED;
    if (rc == SRV_PIPE_OK && n > 0) {
        if (p->head + p->len + n > p->size) {
            /* move the unread bytes to the front, then grow if that is not enough */
            if (p->len > 0)
                memmove(p->buf, p->buf + p->head, p->len);
            p->head = 0;
            if (p->len + n > p->size) {
                size_t size = p->size ? p->size : 4096;
                while (size < p->len + n)
                    size *= 2;
                unsigned char *b = realloc(p->buf, size);
                if (!b)
                    rc = SRV_PIPE_NOMEM;
                else {
                    p->buf = b;
                    p->size = size;
                }
            }
        }
        if (rc == SRV_PIPE_OK) {
            memcpy(p->buf + p->head + p->len, data, n);
            p->len += n;
            p->written += n;
            pthread_cond_broadcast(&p->cv);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void srv_pipe_close(srv_pipe *p, int ok)
{
    pthread_mutex_lock(&p->mu);
    if (!p->closed)
        p->closed = ok ? 1 : -1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

ssize_t srv_pipe_read(srv_pipe *p, void *buf, size_t max, size_t min)
{
    if (min < 1)
        min = 1;
    if (min > max)
        min = max;
    pthread_mutex_lock(&p->mu);
    while (!p->cancelled && !p->closed && p->len < min)
        pthread_cond_wait(&p->cv, &p->mu);
    ssize_t got;
    if (p->cancelled)
        got = -1;
    else if (p->len > 0) {
        size_t k = p->len < max ? p->len : max;
        memcpy(buf, p->buf + p->head, k);
        p->head += k;
        p->len -= k;
        if (p->len == 0)
            p->head = 0;
        got = (ssize_t)k;
        pthread_cond_broadcast(&p->cv);
    } else
        got = p->closed > 0 ? 0 : -1;
    pthread_mutex_unlock(&p->mu);
    return got;
}

void srv_pipe_cancel(srv_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->cancelled = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

size_t srv_pipe_written(srv_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->written;
    pthread_mutex_unlock(&p->mu);
    return n;
}
