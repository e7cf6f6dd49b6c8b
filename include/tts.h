/*
 * libtts — neural text-to-speech engine.
 *
 * This is the only header an embedding program needs.
 *
 * Thread safety: an engine is used by one thread at a time. Different engines may be
 * used from different threads at once; the library serializes its calls into eSpeak NG
 * internally. Nothing in the library calls exit() or prints.
 */
#ifndef TTS_H
#define TTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TTS_VERSION_MAJOR 0
#define TTS_VERSION_MINOR 1
#define TTS_VERSION_PATCH 0

/* Status codes: 0 is success, every failure is negative. */
typedef enum {
    TTS_OK = 0,
    TTS_E_INVALID = -1,   /* invalid argument or input text (e.g. bad UTF-8) */
    TTS_E_NOMEM = -2,     /* out of memory */
    TTS_E_IO = -3,        /* file could not be opened, read or written */
    TTS_E_FORMAT = -4,    /* file has the wrong format (model, WAV) */
    TTS_E_NO_MODEL = -5,  /* no voice model installed or found */
    TTS_E_FRONTEND = -6,  /* eSpeak NG failed */
    TTS_E_AUDIO = -7,     /* audio device unavailable or failed */
    TTS_E_CANCELLED = -8, /* a callback asked to stop */
    TTS_E_INTERNAL = -9   /* a bug: please report */
} tts_status;

/* Human-readable name of a status code (never NULL). */
const char *tts_status_string(int status);

/* Library version string, e.g. "0.1.0". */
const char *tts_version(void);

#ifdef __cplusplus
}
#endif
#endif
