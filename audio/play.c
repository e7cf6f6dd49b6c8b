/* Streaming playback through PortAudio, fed by a lock-free SPSC ring. */
#include "audio/play.h"

#include <dlfcn.h>
#include <math.h>
#include <portaudio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/ring.h"

/* How long push / drain wait without the device making progress. */
#define TTS_PLAYER_STALL_SECONDS 2.0

struct tts_player {
    PaStream *stream;
    tts_ring ring;
    int sample_rate;
    size_t prefill;
    int started;              /* stream started (producer side only) */
    _Atomic size_t played;    /* samples handed to the device */
};

/* ------------------------------------------- quiet, reference-counted PortAudio ---- */

static pthread_mutex_t pa_mutex = PTHREAD_MUTEX_INITIALIZER;
static int pa_refs;

static void alsa_quiet(const char *file, int line, const char *function, int err,
                       const char *fmt, ...)
{
    (void)file;
    (void)line;
    (void)function;
    (void)err;
    (void)fmt;
}

static void jack_quiet(const char *msg) { (void)msg; }

typedef void (*alsa_handler_fn)(const char *, int, const char *, int, const char *, ...);
typedef int (*alsa_set_handler_fn)(alsa_handler_fn);
typedef void (*jack_set_fn)(void (*)(const char *));

/* ALSA and JACK print to stderr by default; send their diagnostics nowhere. They are
 * looked up only if already loaded (by PortAudio), so nothing is linked or loaded. */
static void silence_backends(void)
{
    void *h = dlopen("libasound.so.2", RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
        alsa_set_handler_fn set;
        *(void **)&set = dlsym(h, "snd_lib_error_set_handler");
        if (set)
            set(alsa_quiet);
        dlclose(h);
    }
    h = dlopen("libjack.so.0", RTLD_LAZY | RTLD_NOLOAD);
    if (h) {
        jack_set_fn set_err, set_info;
        *(void **)&set_err = dlsym(h, "jack_set_error_function");
        *(void **)&set_info = dlsym(h, "jack_set_info_function");
        if (set_err)
            set_err(jack_quiet);
        if (set_info)
            set_info(jack_quiet);
        dlclose(h);
    }
}

static int pa_acquire(tts_err *err)
{
    pthread_mutex_lock(&pa_mutex);
    if (pa_refs == 0) {
        silence_backends();
        PaError e = Pa_Initialize();
        if (e != paNoError) {
            pthread_mutex_unlock(&pa_mutex);
            return tts_seterr(err, TTS_E_AUDIO, "audio system (PortAudio) failed to start: %s",
                              Pa_GetErrorText(e));
        }
    }
    pa_refs++;
    pthread_mutex_unlock(&pa_mutex);
    return TTS_OK;
}

static void pa_release(void)
{
    pthread_mutex_lock(&pa_mutex);
    if (pa_refs > 0 && --pa_refs == 0)
        Pa_Terminate();
    pthread_mutex_unlock(&pa_mutex);
}

/* ------------------------------------------------------------------- player ---- */

tts_player_params tts_player_default_params(int sample_rate)
{
    tts_player_params p;
    p.sample_rate = sample_rate;
    p.buffer_seconds = 2.0;
    p.prefill_seconds = 0.15;
    return p;
}

static int play_callback(const void *input, void *output, unsigned long frames,
                         const PaStreamCallbackTimeInfo *time_info,
                         PaStreamCallbackFlags flags, void *user)
{
    (void)input;
    (void)time_info;
    (void)flags;
    tts_player *p = user;
    int finished = 0;
    size_t k = tts_ring_fill(&p->ring, output, frames, &finished);
    atomic_fetch_add_explicit(&p->played, k, memory_order_relaxed);
    return finished ? paComplete : paContinue;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

int tts_player_open(tts_player **out, const tts_player_params *params, tts_err *err)
{
    if (!out)
        return tts_seterr(err, TTS_E_INVALID, "player: NULL output pointer");
    *out = NULL;
    tts_player_params par = params ? *params : tts_player_default_params(16000);
    if (par.sample_rate < 1000 || par.sample_rate > 384000)
        return tts_seterr(err, TTS_E_INVALID, "player: bad sample rate %d Hz",
                          par.sample_rate);
    if (!(par.buffer_seconds >= 0.01 && par.buffer_seconds <= 600.0) ||
        !(par.prefill_seconds >= 0.0 && par.prefill_seconds <= par.buffer_seconds))
        return tts_seterr(err, TTS_E_INVALID,
                          "player: bad buffer (%g s) / prefill (%g s): need 0.01 <= buffer <= "
                          "600 and 0 <= prefill <= buffer",
                          par.buffer_seconds, par.prefill_seconds);

    int rc = pa_acquire(err);
    if (rc)
        return rc;
    PaDeviceIndex dev = Pa_GetDefaultOutputDevice();
    const PaDeviceInfo *di = dev == paNoDevice ? NULL : Pa_GetDeviceInfo(dev);
    if (!di || di->maxOutputChannels < 1) {
        int count = Pa_GetDeviceCount();
        pa_release();
        return tts_seterr(err, TTS_E_AUDIO,
                          "no audio output device found (PortAudio sees %d device%s, none is "
                          "a default output)",
                          count < 0 ? 0 : count, count == 1 ? "" : "s");
    }

    tts_player *p = calloc(1, sizeof *p);
    if (!p) {
        pa_release();
        return tts_seterr(err, TTS_E_NOMEM, "player: out of memory");
    }
    p->sample_rate = par.sample_rate;
    size_t cap = (size_t)ceil(par.buffer_seconds * par.sample_rate);
    if (tts_ring_init(&p->ring, cap) != TTS_OK) {
        free(p);
        pa_release();
        return tts_seterr(err, TTS_E_NOMEM, "player: out of memory for a %g s buffer",
                          par.buffer_seconds);
    }
    p->prefill = (size_t)(par.prefill_seconds * par.sample_rate);
    if (p->prefill > p->ring.cap)
        p->prefill = p->ring.cap;
    atomic_init(&p->played, 0);

    PaStreamParameters op;
    memset(&op, 0, sizeof op);
    op.device = dev;
    op.channelCount = 1;
    op.sampleFormat = paFloat32;
    op.suggestedLatency = di->defaultHighOutputLatency;
    PaError e = Pa_OpenStream(&p->stream, NULL, &op, (double)par.sample_rate,
                              paFramesPerBufferUnspecified, paNoFlag, play_callback, p);
    if (e != paNoError) {
        tts_ring_destroy(&p->ring);
        free(p);
        pa_release();
        return tts_seterr(err, TTS_E_AUDIO, "cannot open audio output '%s' at %d Hz mono: %s",
                          di->name ? di->name : "?", par.sample_rate, Pa_GetErrorText(e));
    }
    *out = p;
    return TTS_OK;
}

static int player_start(tts_player *p, tts_err *err)
{
    PaError e = Pa_StartStream(p->stream);
    if (e != paNoError)
        return tts_seterr(err, TTS_E_AUDIO, "cannot start audio output: %s", Pa_GetErrorText(e));
    p->started = 1;
    return TTS_OK;
}

/* One wait step while the device should be consuming: fails if the stream stopped or
 * nothing was played for TTS_PLAYER_STALL_SECONDS. */
static int player_wait(tts_player *p, size_t *last_played, double *last_t, tts_err *err)
{
    PaError act = Pa_IsStreamActive(p->stream);
    if (act < 0)
        return tts_seterr(err, TTS_E_AUDIO, "audio output failed: %s", Pa_GetErrorText(act));
    size_t played = atomic_load_explicit(&p->played, memory_order_relaxed);
    double t = now_seconds();
    if (played != *last_played) {
        *last_played = played;
        *last_t = t;
    } else if (t - *last_t > TTS_PLAYER_STALL_SECONDS) {
        return tts_seterr(err, TTS_E_AUDIO, "audio output stalled: nothing played for %g s",
                          TTS_PLAYER_STALL_SECONDS);
    }
    sleep_ms(2);
    return TTS_OK;
}

int tts_player_push(tts_player *p, const float *pcm, size_t n, tts_err *err)
{
    if (!p || (n > 0 && !pcm))
        return tts_seterr(err, TTS_E_INVALID, "player: NULL argument");
    size_t last_played = atomic_load_explicit(&p->played, memory_order_relaxed);
    double last_t = now_seconds();
    while (n > 0) {
        size_t k = tts_ring_push(&p->ring, pcm, n);
        pcm += k;
        n -= k;
        if (!p->started && (tts_ring_used(&p->ring) >= p->prefill || n > 0)) {
            int rc = player_start(p, err);
            if (rc)
                return rc;
        }
        if (n == 0)
            break;
        if (k == 0) {
            if (Pa_IsStreamActive(p->stream) != 1)
                return tts_seterr(err, TTS_E_AUDIO, "audio output stopped unexpectedly");
            int rc = player_wait(p, &last_played, &last_t, err);
            if (rc)
                return rc;
        }
    }
    return TTS_OK;
}

int tts_player_drain(tts_player *p, tts_err *err)
{
    if (!p)
        return tts_seterr(err, TTS_E_INVALID, "player: NULL argument");
    tts_ring_end(&p->ring);
    int rc = TTS_OK;
    if (!p->started && tts_ring_used(&p->ring) > 0)
        rc = player_start(p, err);
    if (rc == TTS_OK && p->started) {
        size_t last_played = atomic_load_explicit(&p->played, memory_order_relaxed);
        double last_t = now_seconds();
        /* The callback returns paComplete once everything is consumed; the stream turns
         * inactive when the device has played it. */
        while (rc == TTS_OK && Pa_IsStreamActive(p->stream) == 1)
            rc = player_wait(p, &last_played, &last_t, err);
        PaError e = Pa_StopStream(p->stream);
        if (rc == TTS_OK && e != paNoError)
            rc = tts_seterr(err, TTS_E_AUDIO, "cannot stop audio output: %s",
                            Pa_GetErrorText(e));
        p->started = 0;
    }
    /* Ready for the next utterance. Anything left after a failure is dropped. */
    atomic_store_explicit(&p->ring.tail, atomic_load(&p->ring.head), memory_order_release);
    atomic_store_explicit(&p->ring.ended, 0, memory_order_release);
    return rc;
}

int tts_player_close(tts_player *p, tts_err *err)
{
    if (!p)
        return TTS_OK;
    int rc = TTS_OK;
    if (Pa_IsStreamStopped(p->stream) == 0)
        Pa_AbortStream(p->stream);
    PaError e = Pa_CloseStream(p->stream);
    if (e != paNoError)
        rc = tts_seterr(err, TTS_E_AUDIO, "cannot close audio output: %s", Pa_GetErrorText(e));
    tts_ring_destroy(&p->ring);
    free(p);
    pa_release();
    return rc;
}

unsigned long tts_player_underruns(const tts_player *p)
{
    return p ? atomic_load(&((tts_player *)p)->ring.underruns) : 0;
}

size_t tts_player_samples_played(const tts_player *p)
{
    return p ? atomic_load(&((tts_player *)p)->played) : 0;
}
