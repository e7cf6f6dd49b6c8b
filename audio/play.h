/*
 * audio/play.h — streaming playback to the default audio output (PortAudio).
 *
 * The producer (the synthesis thread) pushes mono float chunks as they are made; they
 * go into a lock-free single-producer / single-consumer ring (audio/ring.h) that the
 * PortAudio callback drains, so speech starts before the text is finished. Playback
 * starts once prefill_seconds of audio are buffered (or the ring is full, or at
 * tts_player_drain). tts_player_push blocks while the ring is full. When the callback
 * finds the ring short before the producer called tts_player_drain, it plays silence
 * for the missing part and counts an underrun.
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
 * The device must accept the sample rate (ALSA's "default" / PulseAudio / PipeWire
 * devices resample; a raw hw: device may refuse, which is reported as TTS_E_AUDIO).
 *
 * Thread safety: one player is fed by one thread at a time (push, drain and close from
 * the same thread). Open and close may be called from any threads: PortAudio's global
 * initialization is reference-counted behind a mutex.
 */
#ifndef TTS_AUDIO_PLAY_H
#define TTS_AUDIO_PLAY_H

#include <stddef.h>

#include "core/err.h"

typedef struct {
    int sample_rate;        /* Hz, e.g. 16000 */
    double buffer_seconds;  /* ring capacity (default 2.0) */
    double prefill_seconds; /* audio buffered before playback starts (default 0.15) */
} tts_player_params;

tts_player_params tts_player_default_params(int sample_rate);

typedef struct tts_player tts_player;

/* Opens the default output device (mono, float). TTS_E_AUDIO when there is none or it
 * cannot be opened; TTS_E_INVALID for bad params (NULL params: defaults at 16000 Hz). */
int tts_player_open(tts_player **p, const tts_player_params *params, tts_err *err);

/* Queues n samples, blocking while the ring is full. TTS_E_AUDIO if the device stops or
 * stalls (no progress for 2 s) while waiting. */
int tts_player_push(tts_player *p, const float *pcm, size_t n, tts_err *err);

/* Signals the end of the stream and waits until everything queued has been played
 * (TTS_E_AUDIO if the device stalls for 2 s). The player can then take the next
 * utterance: the next push starts playback again. */
int tts_player_drain(tts_player *p, tts_err *err);

/* Stops at once (anything not yet played is dropped), closes the device and frees p
 * (NULL is fine). Call tts_player_drain first to hear the end. */
int tts_player_close(tts_player *p, tts_err *err);

/* Underruns so far (see above), and samples handed to the device so far. */
unsigned long tts_player_underruns(const tts_player *p);
size_t tts_player_samples_played(const tts_player *p);

#endif
