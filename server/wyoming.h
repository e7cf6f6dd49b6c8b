/*
 * server/wyoming.h — the Wyoming protocol front of tts-server (what Home Assistant speaks
 * to Piper and other voice services), on its own TCP port.
 *
 * A message is a JSON header line {"type": T, "data": {...}, "data_length": N,
 * "payload_length": M}, then N bytes of JSON data (merged over the header's "data"), then
 * M bytes of binary payload. Served:
 *   describe            -> info: one tts program ("libtts") with one voice (name,
 *                          languages ["en"], installed, attribution, description), and
 *                          supports_synthesize_streaming
 *   synthesize {text, voice: {name}}
 *                       -> audio-start {rate, width 2, channels 1}, audio-chunk (payload:
 *                          s16le, 1024 samples each but the last; rate, width, channels in
 *                          data), audio-stop; as the engine makes the audio
 *   synthesize-start {voice}, synthesize-chunk {text} ..., synthesize-stop
 *                       -> text streaming (Home Assistant 2025.7 and later): each complete
 *                          sentence that has come in is spoken as it completes (its own
 *                          audio-start .. audio-stop), the rest at synthesize-stop, then
 *                          synthesize-stopped. A plain synthesize inside such a stream (the
 *                          copy sent for older servers) is ignored.
 *   ping {text}         -> pong {text}
 * anything else is ignored. A failure (unknown voice, text the engine refuses, pool full,
 * time limit, shutdown) is an `error` event {text, code}, after which the server closes the
 * connection, as wyoming-piper does: clients (Home Assistant) read until audio-stop or the
 * end of the connection, so an audio-stop after a failure would pass cut-short audio off
 * as complete. A malformed message (a header that is not JSON, lengths out of bounds)
 * closes the connection without an answer.
 *
 * One thread per connection, at most max_connections at once (more are told so with an
 * error event and closed); the synthesis itself runs in the engine pool like HTTP's.
 *
 * Thread safety: start and stop from one thread.
 */
#ifndef TTS_SERVER_WYOMING_H
#define TTS_SERVER_WYOMING_H

#include <stddef.h>

#include "log.h"
#include "pool.h"

typedef struct {
    srv_pool *pool;
    const char *voice;             /* the voice's name */
    const char *voice_description; /* e.g. "US English, female, 16 kHz" */
    const char *attribution_name, *attribution_url; /* the voice's */
    const char *version;           /* the program's */
    int max_chars;                 /* characters of text one synthesis takes at most */
    double timeout;                /* seconds one synthesis may take */
    size_t stream_buffer;          /* bytes of audio held ahead of a slow client */
    int max_connections;
    int access_log;
    srv_logger log;
} srv_wyoming_config;

typedef struct srv_wyoming srv_wyoming;

/* Serves on listen_fd (owned from now on, even on failure). cfg is copied (its strings must
 * outlive the server). 0, or -1 with a message in err. */
int srv_wyoming_start(srv_wyoming **out, const srv_wyoming_config *cfg, int listen_fd,
                      char *err, size_t errlen);
/* Stops accepting connections; those open go on. */
void srv_wyoming_quiesce(srv_wyoming *w);
/* Lets connections finish the synthesis they are serving until deadline (srv_now()
 * seconds), closes idle ones at once and the rest at the deadline, waits for their threads
 * and frees. NULL is fine. */
void srv_wyoming_stop(srv_wyoming *w, double deadline);

#endif
