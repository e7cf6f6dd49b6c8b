/*
 * server/encode.c — the streaming encoders (see encode.h).
 */
#include "audio/wav.h"
#include "encode.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

struct srv_encoder {
    srv_format fmt;
    srv_sink_fn sink;
    void *user;
    int failed;      /* the first failure: the sink's status, or -1 */
    SNDFILE *sf;     /* flac, opus, mp3 */
    sf_count_t pos;  /* the virtual file's position, for libsndfile */
    sf_count_t sent; /* bytes handed to the sink: the virtual file's length */
    unsigned char buf[8192];
};

static const char *const names[SRV_FMT_COUNT] = {"wav", "pcm", "flac", "opus", "mp3"};

const char *srv_format_name(srv_format f)
{
    return (unsigned)f < SRV_FMT_COUNT ? names[f] : "?";
}

int srv_format_parse(const char *name)
{
    for (int i = 0; i < SRV_FMT_COUNT; i++)
        if (name && !strcmp(name, names[i]))
            return i;
    return -1;
}

const char *srv_format_mime(srv_format f)
{
    switch (f) {
    case SRV_FMT_WAV: return "audio/wav";
    case SRV_FMT_PCM: return "audio/pcm";
    case SRV_FMT_FLAC: return "audio/flac";
    case SRV_FMT_OPUS: return "audio/ogg; codecs=opus";
    case SRV_FMT_MP3: return "audio/mpeg";
    default: return "application/octet-stream";
    }
}

static int sf_format_of(srv_format f)
{
    switch (f) {
    case SRV_FMT_FLAC: return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    case SRV_FMT_OPUS: return SF_FORMAT_OGG | SF_FORMAT_OPUS;
    case SRV_FMT_MP3: return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    default: return 0;
    }
}

int srv_format_available(srv_format f)
{
    if (f == SRV_FMT_WAV || f == SRV_FMT_PCM)
        return 1;
    SF_INFO si = {.samplerate = 16000, .channels = 1, .format = sf_format_of(f)};
    return si.format && sf_format_check(&si);
}

static int emit(srv_encoder *e, const void *bytes, size_t n)
{
    if (e->failed)
        return e->failed;
    if (n > 0) {
        int rc = e->sink(e->user, bytes, n);
        if (rc)
            e->failed = rc;
    }
    return e->failed;
}


static void put_le16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)(v >> 8 & 0xFF);
}

/* ---- libsndfile's virtual file: an append-only stream ---------------------------------- */

static sf_count_t vio_len(void *user) { return ((srv_encoder *)user)->sent; }

static sf_count_t vio_seek(sf_count_t off, int whence, void *user)
{
    srv_encoder *e = user;
    sf_count_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? e->pos + off : e->sent + off;
    if (to < 0)
        return -1;
    e->pos = to;
    return to;
}

static sf_count_t vio_read(void *ptr, sf_count_t n, void *user)
{
    (void)ptr;
    (void)n;
    (void)user;
    return 0; /* a write-only stream: libsndfile does not read back what it wrote */
}

/* Bytes at or past the end are sent; bytes before it (header patches at the end) are
 * dropped: they have been sent already. */
static sf_count_t vio_write(const void *ptr, sf_count_t n, void *user)
{
    srv_encoder *e = user;
    if (n <= 0)
        return 0;
    if (e->pos + n > e->sent) {
        sf_count_t skip = e->sent > e->pos ? e->sent - e->pos : 0;
        if (e->pos > e->sent) {
            /* a seek past the end (libsndfile does not do this): fill the hole */
            static const unsigned char zero[256];
            while (e->sent < e->pos) {
                sf_count_t k = e->pos - e->sent < 256 ? e->pos - e->sent : 256;
                if (emit(e, zero, (size_t)k))
                    return 0;
                e->sent += k;
            }
        }
        if (emit(e, (const unsigned char *)ptr + skip, (size_t)(n - skip)))
            return 0;
        e->sent += n - skip;
    }
    e->pos += n;
    return n;
}

static sf_count_t vio_tell(void *user) { return ((srv_encoder *)user)->pos; }

/* ---------------------------------------------------------------------------------------- */

int srv_encoder_open(srv_encoder **out, srv_format f, int sample_rate, srv_sink_fn sink,
                     void *user, char *err, size_t errlen)
{
    *out = NULL;
    if ((unsigned)f >= SRV_FMT_COUNT || sample_rate < 1 || !sink) {
        snprintf(err, errlen, "encoder: bad arguments");
        return -1;
    }
    srv_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "encoder: out of memory");
        return -1;
    }
    e->fmt = f;
    e->sink = sink;
    e->user = user;
    if (f == SRV_FMT_WAV) {
        unsigned char h[44];
        tts_wav_stream_header(h, sample_rate);
        if (emit(e, h, sizeof h)) {
            snprintf(err, errlen, "encoder: the output failed");
            free(e);
            return -1;
        }
    } else if (f != SRV_FMT_PCM) {
        SF_VIRTUAL_IO vio = {vio_len, vio_seek, vio_read, vio_write, vio_tell};
        SF_INFO si = {.samplerate = sample_rate, .channels = 1, .format = sf_format_of(f)};
        if (!sf_format_check(&si)) {
            snprintf(err, errlen, "this libsndfile (%s) cannot encode %s", sf_version_string(),
                     names[f]);
            free(e);
            return -1;
        }
        e->sf = sf_open_virtual(&vio, SFM_WRITE, &si, e);
        if (!e->sf) {
            snprintf(err, errlen, "cannot start the %s encoder: %s", names[f],
                     e->failed ? "the output failed" : sf_strerror(NULL));
            free(e);
            return -1;
        }
        if (f == SRV_FMT_MP3) {
            int mode = SF_BITRATE_MODE_CONSTANT;
            sf_command(e->sf, SFC_SET_BITRATE_MODE, &mode, sizeof mode);
        }
    }
    *out = e;
    return 0;
}

int srv_encoder_write(srv_encoder *e, const float *pcm, size_t n)
{
    if (e->failed)
        return e->failed;
    int16_t s[2048];
    while (n > 0) {
        size_t k = n < 2048 ? n : 2048;
        for (size_t i = 0; i < k; i++)
            s[i] = tts_s16(pcm[i]);
        if (e->sf) {
            if (sf_writef_short(e->sf, s, (sf_count_t)k) != (sf_count_t)k && !e->failed)
                e->failed = -1;
        } else {
            for (size_t i = 0; i < k; i++)
                put_le16(e->buf + 2 * i, (unsigned)(uint16_t)s[i]);
            emit(e, e->buf, 2 * k);
        }
        if (e->failed)
            return e->failed;
        pcm += k;
        n -= k;
    }
    return 0;
}

int srv_encoder_finish(srv_encoder *e)
{
    if (!e)
        return 0;
    if (e->sf && sf_close(e->sf) && !e->failed)
        e->failed = -1;
    e->sf = NULL;
    int rc = e->failed;
    free(e);
    return rc;
}

void srv_encoder_free(srv_encoder *e)
{
    if (!e)
        return;
    if (e->sf) {
        e->failed = -1; /* nothing more to the sink */
        sf_close(e->sf);
    }
    free(e);
}
