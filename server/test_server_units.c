/*
 * The server's parts that need neither a voice nor a socket: the byte pipe, the streaming
 * encoders (decoded back with libsndfile), and the speaking-rate rewrite of the text.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "server/encode.h"
#include "server/pipe.h"
#include "server/speech.h"
#include "tests/check.h"

/* ---- the pipe ---------------------------------------------------------------------------- */

typedef struct {
    srv_pipe *p;
    size_t total;
} reader_arg;

static void *reader(void *arg)
{
    reader_arg *a = arg;
    char buf[1000];
    ssize_t k;
    while ((k = srv_pipe_read(a->p, buf, sizeof buf, 1)) > 0)
        a->total += (size_t)k;
    return NULL;
}

static int stop_third(void *arg) { return ++*(int *)arg == 3; }

static void test_pipe(void)
{
    srv_pipe *p = srv_pipe_new(16);
    char out[64];
    CHECK(srv_pipe_write(p, "hello", 5, 0, NULL, NULL) == SRV_PIPE_OK, "write");
    CHECK(srv_pipe_write(p, " world, more", 12, 0, NULL, NULL) == SRV_PIPE_OK,
          "write over capacity once");
    /* 17 unread >= 16: a third write waits, and times out */
    CHECK(srv_pipe_write(p, "x", 1, srv_now() + 0.05, NULL, NULL) == SRV_PIPE_TIMEOUT,
          "full pipe times out");
    int polls = 0;
    CHECK(srv_pipe_write(p, "x", 1, 0, stop_third, &polls) == SRV_PIPE_STOPPED && polls == 3,
          "a full pipe asks stop() while it waits (%d times)", polls);
    CHECK(srv_pipe_read(p, out, 5, 5) == 5 && !memcmp(out, "hello", 5), "read 5");
    CHECK(srv_pipe_write(p, "!", 1, srv_now() + 0.05, NULL, NULL) == SRV_PIPE_OK, "room again");
    srv_pipe_close(p, 1);
    ssize_t k = srv_pipe_read(p, out, sizeof out, sizeof out);
    CHECK(k == 13 && !memcmp(out, " world, more!", 13), "the rest at the end (%zd)", k);
    CHECK(srv_pipe_read(p, out, sizeof out, 1) == 0, "end of a complete stream");
    CHECK(srv_pipe_written(p) == 18, "bytes written");
    srv_pipe_unref(p);

    p = srv_pipe_new(16);
    srv_pipe_write(p, "abc", 3, 0, NULL, NULL);
    srv_pipe_close(p, 0);
    CHECK(srv_pipe_read(p, out, sizeof out, 1) == 3, "bytes before a failure are read");
    CHECK(srv_pipe_read(p, out, sizeof out, 1) == -1, "then the failure");
    srv_pipe_unref(p);

    p = srv_pipe_new(16);
    srv_pipe_cancel(p);
    CHECK(srv_pipe_write(p, "abc", 3, 0, NULL, NULL) == SRV_PIPE_CANCELLED, "write after cancel");
    CHECK(srv_pipe_read(p, out, sizeof out, 1) == -1, "read after cancel");
    srv_pipe_unref(p);

    /* a producer much faster than the capacity: everything arrives, in order of size */
    p = srv_pipe_new(64);
    reader_arg a = {p, 0};
    pthread_t th;
    srv_pipe_ref(p);
    pthread_create(&th, NULL, reader, &a);
    char block[100] = {0};
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= srv_pipe_write(p, block, sizeof block, 0, NULL, NULL) == SRV_PIPE_OK;
    srv_pipe_close(p, 1);
    pthread_join(th, NULL);
    CHECK(ok && a.total == 100000, "threaded: %zu of 100000 bytes", a.total);
    srv_pipe_unref(p);
    srv_pipe_unref(p);
}

/* ---- the encoders ------------------------------------------------------------------------ */

typedef struct {
    unsigned char *b;
    size_t n, cap;
    int calls;
    int fail_after; /* calls; 0 = never */
} membuf;

static int to_mem(void *user, const void *bytes, size_t n)
{
    membuf *m = user;
    if (m->fail_after && m->calls >= m->fail_after)
        return 7;
    m->calls++;
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->b = realloc(m->b, m->cap);
    }
    memcpy(m->b + m->n, bytes, n);
    m->n += n;
    return 0;
}

/* libsndfile reading from memory */
typedef struct {
    const membuf *m;
    sf_count_t pos;
} memread;

static sf_count_t mr_len(void *u) { return (sf_count_t)((memread *)u)->m->n; }
static sf_count_t mr_seek(sf_count_t off, int wh, void *u)
{
    memread *r = u;
    r->pos = wh == SEEK_SET ? off : wh == SEEK_CUR ? r->pos + off : (sf_count_t)r->m->n + off;
    return r->pos;
}
static sf_count_t mr_read(void *p, sf_count_t n, void *u)
{
    memread *r = u;
    sf_count_t left = (sf_count_t)r->m->n - r->pos;
    if (n > left)
        n = left < 0 ? 0 : left;
    memcpy(p, r->m->b + r->pos, (size_t)n);
    r->pos += n;
    return n;
}
static sf_count_t mr_write(const void *p, sf_count_t n, void *u)
{
    (void)p;
    (void)n;
    (void)u;
    return 0;
}
static sf_count_t mr_tell(void *u) { return ((memread *)u)->pos; }

/* decodes m whole; the number of frames, or -1 */
static long decode(const membuf *m, int *rate, short *out, long max)
{
    SF_VIRTUAL_IO vio = {mr_len, mr_seek, mr_read, mr_write, mr_tell};
    memread r = {m, 0};
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &si, &r);
    if (!sf)
        return -1;
    *rate = si.samplerate;
    long total = 0;
    short buf[4096];
    sf_count_t k;
    while ((k = sf_readf_short(sf, buf, 4096)) > 0) {
        for (sf_count_t i = 0; i < k && total + i < max; i++)
            out[total + i] = buf[i];
        total += (long)k;
    }
    sf_close(sf);
    return si.channels == 1 ? total : -1;
}

static void test_encoders(void)
{
    const int rate = 16000;
    const size_t n = 24000; /* 1.5 s */
    float *x = malloc(n * sizeof *x);
    short *ref = malloc(n * sizeof *ref), *got = malloc(2 * n * sizeof *got);
    for (size_t i = 0; i < n; i++) {
        x[i] = 0.5f * sinf(2 * 3.14159265f * 440 * (float)i / rate);
        ref[i] = (short)lrintf(x[i] * 32768.0f);
    }
    x[10] = 2.0f; /* saturates */
    ref[10] = 32767;
    x[11] = NAN;
    ref[11] = 0;
    for (int f = 0; f < SRV_FMT_COUNT; f++) {
        const char *name = srv_format_name((srv_format)f);
        CHECK(srv_format_parse(name) == f, "%s parses", name);
        if (!srv_format_available((srv_format)f)) {
            printf("skip %s: this libsndfile cannot encode it\n", name);
            continue;
        }
        membuf m = {0};
        srv_encoder *e;
        char err[256];
        CHECK(srv_encoder_open(&e, (srv_format)f, rate, to_mem, &m, err, sizeof err) == 0,
              "%s opens: %s", name, err);
        size_t header = m.n;
        /* irregular chunks, as the engine's */
        int ok = 1;
        size_t after_first = 0;
        for (size_t i = 0, k = 1; i < n; i += k, k = k * 3 % 5000 + 1) {
            size_t len = i + k > n ? n - i : k;
            ok &= srv_encoder_write(e, x + i, len) == 0;
            if (i == 0)
                after_first = m.n;
        }
        CHECK(ok, "%s writes", name);
        if (f == SRV_FMT_WAV || f == SRV_FMT_PCM)
            CHECK(after_first == header + 2, "%s: a sample is sent as soon as it is written",
                  name);
        CHECK(srv_encoder_finish(e) == 0, "%s finishes", name);
        switch (f) {
        case SRV_FMT_WAV:
            CHECK(m.n == 44 + 2 * n && !memcmp(m.b, "RIFF\xff\xff\xff\xff" "WAVEfmt ", 16) &&
                      !memcmp(m.b + 36, "data\xff\xff\xff\xff", 8),
                  "wav: streaming header (sizes 0xFFFFFFFF) and %zu bytes", m.n);
            break;
        case SRV_FMT_PCM: {
            int same = m.n == 2 * n;
            for (size_t i = 0; same && i < n; i++)
                same = (short)(m.b[2 * i] | m.b[2 * i + 1] << 8) == ref[i];
            CHECK(same, "pcm: s16le, scaled, rounded and saturated as libtts's writer");
            free(m.b);
            continue; /* no header to decode */
        }
        case SRV_FMT_FLAC: CHECK(m.n > 4 && !memcmp(m.b, "fLaC", 4), "flac magic"); break;
        case SRV_FMT_OPUS: CHECK(m.n > 4 && !memcmp(m.b, "OggS", 4), "ogg magic"); break;
        case SRV_FMT_MP3:
            CHECK(m.n > 2 && ((m.b[0] == 0xFF && (m.b[1] & 0xE0) == 0xE0) ||
                              !memcmp(m.b, "ID3", 3)),
                  "mp3 frame sync");
            break;
        }
        int r = 0;
        long frames = decode(&m, &r, got, (long)(2 * n));
        if (f == SRV_FMT_WAV || f == SRV_FMT_FLAC) {
            int same = frames == (long)n;
            for (size_t i = 0; same && i < n; i++)
                same = got[i] == ref[i];
            CHECK(same && r == rate, "%s decodes to the same samples (%ld frames, %d Hz)", name,
                  frames, r);
        } else {
            /* lossy: the length within the codec's padding, and the tone's energy */
            CHECK(frames >= (long)n && frames <= (long)n + 4000 && r == rate,
                  "%s decodes: %ld frames for %zu, %d Hz", name, frames, n, r);
        }
        free(m.b);

        /* a sink that fails: the failure comes back, and stays */
        membuf bad = {.fail_after = f == SRV_FMT_WAV ? 1 : 0};
        if (f == SRV_FMT_WAV) {
            CHECK(srv_encoder_open(&e, (srv_format)f, rate, to_mem, &bad, err, sizeof err) == 0,
                  "wav opens (the header)");
            CHECK(srv_encoder_write(e, x, 100) == 7 && srv_encoder_write(e, x, 100) == 7,
                  "wav: the sink's failure is returned and kept");
            CHECK(srv_encoder_finish(e) == 7, "and finish says so");
            free(bad.b);
        }
    }
    free(x);
    free(ref);
    free(got);
}

/* ---- the speaking rate ------------------------------------------------------------------- */


int main(void)
{
    test_pipe();
    test_encoders();
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
