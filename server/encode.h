/*
 * server/encode.h — audio encoders that stream: float PCM in, the bytes of an audio file
 * out, handed to a sink as they are made (never the whole file at once).
 *
 *   wav   a 44-byte WAV header (16-bit PCM, mono) whose RIFF and data sizes are 0xFFFFFFFF,
 *         "unknown", as a stream cannot patch them at its end (players read to the end of
 *         the stream; `tts -o -` writes the same header); then s16le samples
 *   pcm   s16le samples, no header
 *   flac  FLAC (16-bit) through libsndfile
 *   opus  Ogg Opus through libsndfile
 *   mp3   MPEG-1/2 Layer III through libsndfile, constant bit rate
 *
 * Samples are scaled by 32768, rounded, and saturated to [-32768, 32767] (NaN becomes 0),
 * as libtts's own WAV writer does. libsndfile writes its formats through a virtual file
 * that appends to the sink; at the end it goes back to patch headers (FLAC's STREAMINFO
 * total-sample count and MD5, the MP3 LAME/Info frame), which a stream has already sent:
 * those patches are dropped, so a FLAC stream says "length unknown" and "no MD5" (both
 * allowed by the format), and an MP3 stream starts with an unfilled Info frame (a frame of
 * silence; the stream is CBR so that decoders that estimate the length from the size are
 * right). libsndfile buffers inside its encoders: FLAC emits a frame per 4096 samples, Ogg
 * Opus a page about every second, MP3 every few frames; wav and pcm emit every sample at
 * once.
 *
 * Thread safety: an encoder is used by one thread at a time.
 */
#ifndef TTS_SERVER_ENCODE_H
#define TTS_SERVER_ENCODE_H

#include <stddef.h>

typedef enum {
    SRV_FMT_WAV = 0,
    SRV_FMT_PCM,
    SRV_FMT_FLAC,
    SRV_FMT_OPUS,
    SRV_FMT_MP3,
    SRV_FMT_COUNT
} srv_format;

/* "wav", "pcm", ... (the names of the HTTP API's response_format) */
const char *srv_format_name(srv_format f);
/* The format of that name, or -1. */
int srv_format_parse(const char *name);
/* The HTTP Content-Type of the format's bytes at sample_rate Hz, e.g. "audio/wav". */
const char *srv_format_mime(srv_format f);
/* 1 when this libsndfile can encode the format (wav and pcm: always). */
int srv_format_available(srv_format f);

/* Receives encoded bytes; returns 0, or non-zero to fail the encoder (the failure is kept
 * and every later call returns it). */
typedef int (*srv_sink_fn)(void *user, const void *bytes, size_t n);

typedef struct srv_encoder srv_encoder;

/* Starts an encoder of mono audio at sample_rate Hz. wav writes its header to the sink
 * here; the others may too. Returns 0, or -1 with a message in err (errlen bytes) and
 * *out NULL. */
int srv_encoder_open(srv_encoder **out, srv_format f, int sample_rate, srv_sink_fn sink,
                     void *user, char *err, size_t errlen);
/* Encodes n samples. 0, or the sink's failure (non-zero), or -1 for an encoder error. */
int srv_encoder_write(srv_encoder *e, const float *pcm, size_t n);
/* Flushes what the encoder holds and frees it (NULL is fine). 0, or as srv_encoder_write;
 * e is freed either way. */
int srv_encoder_finish(srv_encoder *e);
/* Frees without flushing (NULL is fine). */
void srv_encoder_free(srv_encoder *e);

#endif
