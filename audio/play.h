/*
 * audio/play.h — streaming playback to the default audio output (PortAudio), or to a
 * clock-driven null sink that consumes samples in real time without a sound card.
 *
 * The producer (the synthesis thread) pushes mono float chunks as they are made; they
 * go into a lock-free single-producer / single-consumer ring (audio/ring.h) that the
 * consumer (the PortAudio callback, or the null sink's thread) drains, so speech starts
 * before the text is finished. Playback starts once prefill_seconds of audio are
 * buffered (or the ring is full, or at tts_player_end_utterance / tts_player_drain).
 * tts_player_push blocks while the ring is full.
 *
 * Underruns and gaps. The stream is cut into utterances: an utterance is everything
 * pushed between two calls of tts_player_end_utterance (or tts_player_drain). When the
 * consumer finds the ring short in the middle of an utterance (the producer has not yet
 * said the utterance is complete), it plays silence for the missing part and counts one
 * UNDERRUN: the listener hears a hole in the speech. One hole is one underrun however
 * many device periods it lasts; its length goes into the underrun samples. When it runs dry exactly at the end
 * of an utterance, that is a GAP, not an underrun (e.g. `tts` reading stdin line by line
 * waits for the next line): it plays silence and holds the next utterance back until
 * prefill_seconds of it are buffered (or it is complete), as at the start.
 *
 * No audio device (a server, CI): tts_player_open fails with TTS_E_AUDIO, "no audio
 * output device found". The library does not print: before PortAudio starts, the ALSA
 * and JACK libraries that PortAudio loads are told to send their diagnostics nowhere
 * (snd_lib_error_set_handler, jack_set_error_function / jack_set_info_function, looked
 * up at run time with dlopen(RTLD_NOLOAD), so nothing extra is linked and nothing
 * happens where PortAudio was built without them). This is process-wide: an embedding
 * program that wants ALSA/JACK diagnostics can install its own handlers after opening a
 * player.
 *
 * The null sink (TTS_PLAYER_SINK_NULL) is a thread that pulls from the ring exactly as
 * the PortAudio callback does, one period of 10 ms at a time, on absolute deadlines of
 * CLOCK_MONOTONIC, so it consumes sample_rate samples per second, like a sound card with
 * a one-period buffer. It measures real-time behaviour (first-audio latency, underruns)
 * on a machine without audio. (ALSA's "null" PCM cannot do this: it accepts samples as
 * fast as they come, so it does not pace the stream.) TTS_PLAYER_SINK_MANUAL has no
 * consumer at all: the caller pulls with tts_player_pull (tests, with no clock).
 *
 * The device must accept the sample rate (ALSA's "default" / PulseAudio / PipeWire
 * devices resample; a raw hw: device may refuse, which is reported as TTS_E_AUDIO).
 *
 * Thread safety: one player is fed by one thread at a time (push, end_utterance, drain
 * and close from the same thread); the counters may be read from any thread. Open and
 * close may be called from any threads: PortAudio's global initialization is
 * reference-counted behind a mutex.
 */
#ifndef TTS_AUDIO_PLAY_H
#define TTS_AUDIO_PLAY_H

#include <stddef.h>

#include "core/err.h"

enum {
    TTS_PLAYER_SINK_DEVICE = 0, /* the default output device, through PortAudio */
    TTS_PLAYER_SINK_NULL = 1,   /* no device: a thread consuming in real time (see above) */
    TTS_PLAYER_SINK_MANUAL = 2  /* no consumer: the caller pulls (tts_player_pull) */
};

typedef struct {
    int sample_rate;        /* Hz, e.g. 16000 */
    double buffer_seconds;  /* ring capacity (default 2.0) */
    double prefill_seconds; /* audio buffered before playback starts (default 0.15) */
    int sink;               /* TTS_PLAYER_SINK_* (default: the device) */
    const char *device;     /* TTS_PLAYER_SINK_DEVICE: NULL for the default output, else
                             * the output device of this name, or else the first whose
                             * name contains it (letter case aside); none is TTS_E_AUDIO */
} tts_player_params;

/* Calls cb for each audio output device PortAudio sees: its name, whether it is the
 * default output, its channels and default sample rate. TTS_E_AUDIO when PortAudio does
 * not start; no devices is not an error (cb is not called). */
int tts_player_devices(void (*cb)(const char *name, int is_default, int channels,
                                  double rate, void *user),
                       void *user, tts_err *err);

tts_player_params tts_player_default_params(int sample_rate);

typedef struct tts_player tts_player;

/* Opens the default output device (mono, float), or the sink params->sink names.
 * TTS_E_AUDIO when there is no device or it cannot be opened; TTS_E_INVALID for bad
 * params (NULL params: defaults at 16000 Hz); TTS_E_NOMEM. */
int tts_player_open(tts_player **p, const tts_player_params *params, tts_err *err);

/* Queues n samples, blocking while the ring is full. TTS_E_AUDIO if the device stops or
 * stalls (no progress for 2 s) while waiting. */
int tts_player_push(tts_player *p, const float *pcm, size_t n, tts_err *err);

/* Says that the current utterance is complete, without waiting: if the ring runs dry
 * now, it is a gap, not an underrun. Starts playback if it had not started (a short
 * utterance, below the prefill). Pushing afterwards begins the next utterance. */
int tts_player_end_utterance(tts_player *p, tts_err *err);

/* Signals the end of the stream and waits until everything queued has been played
 * (TTS_E_AUDIO if the device stalls for 2 s). The player can then take the next
 * utterance: the next push starts playback again. */
int tts_player_drain(tts_player *p, tts_err *err);

/* Stops at once (anything not yet played is dropped), closes the device and frees p
 * (NULL is fine). Call tts_player_drain first to hear the end. */
int tts_player_close(tts_player *p, tts_err *err);

/* Counters since open (see above), readable from any thread: underruns (holes), the
 * samples of silence they inserted, gaps, and real samples handed to the device (not
 * counting the silence played for underruns and gaps). */
unsigned long tts_player_underruns(const tts_player *p);
size_t tts_player_underrun_samples(const tts_player *p);
unsigned long tts_player_gaps(const tts_player *p);
size_t tts_player_samples_played(const tts_player *p);

/* CLOCK_MONOTONIC time, in seconds, at which the consumer handed the first real sample
 * since open to the device (0 when none yet); compare with a clock_gettime taken when
 * the text came in for the first-audio latency. */
double tts_player_first_audio_time(const tts_player *p);

/* The consumer's step, called by the PortAudio callback and the null sink: fills
 * out[0..n) (zero-padded) and does the underrun / gap accounting; returns the number of
 * real samples and sets *finished once the stream is drained. Only for the consumer
 * side, and to be called by the caller only with TTS_PLAYER_SINK_MANUAL. */
size_t tts_player_pull(tts_player *p, float *out, size_t n, int *finished);

#endif
