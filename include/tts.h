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

/* ---- engine ------------------------------------------------------------------------ */

typedef struct tts_engine tts_engine;

typedef struct {
    const char *model_path; /* voice model file; NULL = the shipped default voice */
    const char *vocoder;    /* NULL or "default": the voice's neural vocoder when it has one,
                             * else Griffin-Lim; "wavenet": the neural one (an error if the
                             * voice has none); "griffinlim": the reference vocoder */
    const char *vocoder_path; /* neural vocoder file; NULL = VOICE.vocoder.ltm beside the
                               * voice file */
    int threads;            /* worker threads; 0 = 1 (also sets OpenBLAS's process-wide
                             * thread count) */
    float rate;             /* speaking rate, 1 = as trained (0.5 .. 2) */
    float volume;           /* linear gain, 1 = as trained (0 .. 4) */
    float sentence_silence; /* seconds of silence after each sentence */
    int griffin_lim_iters;  /* iterations of the Griffin-Lim vocoder; 0 = default */
} tts_options;

/* The defaults, by value: shipped voice, best vocoder, rate 1, volume 1, 0.2 s pauses. */
tts_options tts_default_options(void);

/* Opens an engine. *out receives an engine even on failure (unless memory ran out, then
 * NULL), so that tts_engine_error() can say what went wrong; close it either way.
 * Returns TTS_E_NO_MODEL when no voice model is installed or found. */
int tts_engine_open(tts_engine **out, const tts_options *opts);
void tts_engine_close(tts_engine *engine); /* NULL is fine */

/* Message describing the engine's last failure ("" if none). Valid until the next call. */
const char *tts_engine_error(const tts_engine *engine);
/* Output sample rate in Hz (mono). */
int tts_engine_sample_rate(const tts_engine *engine);

typedef enum {
    TTS_EVENT_SENTENCE_START = 1,
    TTS_EVENT_SENTENCE_END = 2,
    TTS_EVENT_WORD = 3
} tts_event_type;

typedef struct {
    tts_event_type type;
    size_t text_offset, text_length; /* byte span in the text given to tts_synthesize */
    uint64_t sample;                 /* position in the output stream, in samples */
} tts_event;

/* Receives audio as it is produced: pcm[n] mono floats in [-1, 1] at the engine's sample
 * rate, and the events that fall in or before this chunk (n may be 0 when a call carries
 * only events). Return non-zero to stop: the
 * synthesis call then returns TTS_E_CANCELLED. */
typedef int (*tts_audio_cb)(const float *pcm, size_t n, const tts_event *events,
                            size_t n_events, void *user_data);

/* Speaks UTF-8 text, sentence by sentence, delivering audio through cb. */
int tts_synthesize(tts_engine *engine, const char *text, tts_audio_cb cb, void *user_data);

/* Speaks text into a 16-bit WAV file. On failure no file is left behind. */
int tts_synthesize_to_file(tts_engine *engine, const char *text, const char *wav_path);

#ifdef __cplusplus
}
#endif
#endif
