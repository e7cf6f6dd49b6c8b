/* Streaming playback through PortAudio (or a clock-driven null sink), fed by a
 * lock-free SPSC ring; counts underruns and gaps (see audio/play.h). */
#include "audio/play.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
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

/* Period of the null sink: it pulls this many seconds of audio at a time. */
#define TTS_PLAYER_NULL_PERIOD_SECONDS 0.01

/* end_mark when no utterance has been completed since the last drain */
#define NO_MARK SIZE_MAX

struct tts_player {
    int sink;                 /* TTS_PLAYER_SINK_* */
    PaStream *stream;         /* the device sink only */
    tts_ring ring;
    int sample_rate;
    size_t prefill;
    int started;              /* consumer started (producer side only) */
    _Atomic size_t played;    /* real samples handed to the device */
    _Atomic size_t end_mark;  /* ring position where the last completed utterance ends */
    int holding;              /* consumer side only: after a gap, waiting for the prefill */
    int starved;              /* consumer side only: the last pull ended in an underrun */
    _Atomic unsigned long underruns, gaps;
    _Atomic size_t underrun_samples; /* silence played inside utterances */
    _Atomic int64_t first_ns; /* CLOCK_MONOTONIC ns of the first real sample; 0 = none */
    _Atomic int active;       /* null / manual sink: started and not yet finished */

    /* the null sink's thread */
    pthread_t thread;
    int thread_running;       /* created and not yet joined (producer side only) */
    _Atomic int stop;         /* asks the thread to return at once */
    float *period_buf;
    size_t period;
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

/* the output device named name, else the first whose name contains it (letter case
 * aside), or paNoDevice (PortAudio acquired) */
static PaDeviceIndex find_device(const char *name)
{
    int n = Pa_GetDeviceCount();
    for (int pass = 0; pass < 2; pass++)
        for (PaDeviceIndex i = 0; i < n; i++) {
            const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
            if (!di || !di->name || di->maxOutputChannels < 1)
                continue;
            if (pass == 0 ? !strcmp(di->name, name) : strcasestr(di->name, name) != NULL)
                return i;
        }
    return paNoDevice;
}

int tts_player_devices(void (*cb)(const char *name, int is_default, int channels,
                                  double rate, void *user),
                       void *user, tts_err *err)
{
    int rc = pa_acquire(err);
    if (rc)
        return rc;
    int n = Pa_GetDeviceCount();
    PaDeviceIndex def = Pa_GetDefaultOutputDevice();
    for (PaDeviceIndex i = 0; i < n; i++) {
        const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
        if (di && di->maxOutputChannels >= 1)
            cb(di->name ? di->name : "?", i == def, di->maxOutputChannels,
               di->defaultSampleRate, user);
    }
    pa_release();
    return TTS_OK;
}

/* ------------------------------------------------------------------- player ---- */

tts_player_params tts_player_default_params(int sample_rate)
{
    tts_player_params p;
    p.sample_rate = sample_rate;
    p.buffer_seconds = 2.0;
    p.prefill_seconds = 0.15;
    p.sink = TTS_PLAYER_SINK_DEVICE;
    return p;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double now_seconds(void) { return 1e-9 * (double)now_ns(); }

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

size_t tts_player_pull(tts_player *p, float *out, size_t n, int *finished)
{
    int fin = 0;
    if (p->holding) {
        /* After a gap: silence (not an underrun) until the next utterance has its
         * prefill buffered, is complete, or the stream ends. `ended` and the mark are
         * read before `head`, so whatever they promise is visible in `head`. */
        int ended = atomic_load_explicit(&p->ring.ended, memory_order_acquire);
        size_t mark = atomic_load_explicit(&p->end_mark, memory_order_acquire);
        size_t tail = atomic_load_explicit(&p->ring.tail, memory_order_relaxed);
        size_t head = atomic_load_explicit(&p->ring.head, memory_order_acquire);
        if (!ended && head - tail < p->prefill && !(mark != NO_MARK && mark > tail)) {
            memset(out, 0, n * sizeof *out);
            if (finished)
                *finished = 0;
            return 0;
        }
        p->holding = 0;
    }
    size_t k = tts_ring_fill(&p->ring, out, n, &fin);
    if (k > 0) {
        if (atomic_load_explicit(&p->first_ns, memory_order_relaxed) == 0)
            atomic_store_explicit(&p->first_ns, now_ns(), memory_order_relaxed);
        atomic_fetch_add_explicit(&p->played, k, memory_order_relaxed);
    }
    if (k < n && !fin) {
        /* Ran dry. At the end of a completed utterance it is a gap; anywhere else the
         * producer was too slow: an underrun. The mark is read after the fill, so a
         * mark set just after the producer's last push is seen. */
        size_t tail = atomic_load_explicit(&p->ring.tail, memory_order_relaxed);
        size_t mark = atomic_load_explicit(&p->end_mark, memory_order_acquire);
        if (mark == tail) {
            atomic_fetch_add_explicit(&p->gaps, 1, memory_order_relaxed);
            p->holding = 1;
            p->starved = 0;
        } else {
            /* One underrun per hole in the speech: pulls that find the ring still empty
             * extend the same hole; a hole after some audio is a new one. */
            if (k > 0 || !p->starved)
                atomic_fetch_add_explicit(&p->underruns, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&p->underrun_samples, n - k, memory_order_relaxed);
            p->starved = 1;
        }
    } else {
        p->starved = 0;
    }
    if (finished)
        *finished = fin;
    return k;
}

static int play_callback(const void *input, void *output, unsigned long frames,
                         const PaStreamCallbackTimeInfo *time_info,
                         PaStreamCallbackFlags flags, void *user)
{
    (void)input;
    (void)time_info;
    (void)flags;
    int finished = 0;
    tts_player_pull(user, output, frames, &finished);
    return finished ? paComplete : paContinue;
}

/* The null sink: pulls one period, then sleeps until the absolute time at which a
 * device playing at sample_rate would have played everything pulled so far. When it
 * runs late it catches up, as a sound card's clock would. */
static void *null_sink_main(void *arg)
{
    tts_player *p = arg;
    int64_t t0 = now_ns();
    uint64_t frames = 0;
    while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
        int finished = 0;
        tts_player_pull(p, p->period_buf, p->period, &finished);
        frames += p->period;
        int64_t due = t0 + (int64_t)(frames * 1000000000ull / (uint64_t)p->sample_rate);
        struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        if (finished)
            break;
    }
    atomic_store_explicit(&p->active, 0, memory_order_release);
    return NULL;
}

static void player_free(tts_player *p)
{
    tts_ring_destroy(&p->ring);
    free(p->period_buf);
    free(p);
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
    if (par.sink != TTS_PLAYER_SINK_DEVICE && par.sink != TTS_PLAYER_SINK_NULL &&
        par.sink != TTS_PLAYER_SINK_MANUAL)
        return tts_seterr(err, TTS_E_INVALID, "player: unknown sink %d", par.sink);

    tts_player *p = calloc(1, sizeof *p);
    if (!p)
        return tts_seterr(err, TTS_E_NOMEM, "player: out of memory");
    p->sink = par.sink;
    p->sample_rate = par.sample_rate;
    size_t cap = (size_t)ceil(par.buffer_seconds * par.sample_rate);
    if (tts_ring_init(&p->ring, cap) != TTS_OK) {
        free(p);
        return tts_seterr(err, TTS_E_NOMEM, "player: out of memory for a %g s buffer",
                          par.buffer_seconds);
    }
    p->prefill = (size_t)(par.prefill_seconds * par.sample_rate);
    if (p->prefill > p->ring.cap)
        p->prefill = p->ring.cap;
    atomic_init(&p->played, 0);
    atomic_init(&p->end_mark, NO_MARK);
    atomic_init(&p->underruns, 0);
    atomic_init(&p->gaps, 0);
    atomic_init(&p->underrun_samples, 0);
    atomic_init(&p->first_ns, 0);
    atomic_init(&p->active, 0);
    atomic_init(&p->stop, 0);

    if (p->sink == TTS_PLAYER_SINK_NULL) {
        p->period = (size_t)lround(TTS_PLAYER_NULL_PERIOD_SECONDS * par.sample_rate);
        if (p->period < 1)
            p->period = 1;
        p->period_buf = malloc(p->period * sizeof *p->period_buf);
        if (!p->period_buf) {
            player_free(p);
            return tts_seterr(err, TTS_E_NOMEM, "player: out of memory");
        }
    }
    if (p->sink != TTS_PLAYER_SINK_DEVICE) {
        *out = p;
        return TTS_OK;
    }

    int rc = pa_acquire(err);
    if (rc) {
        player_free(p);
        return rc;
    }
    PaDeviceIndex dev = par.device ? find_device(par.device) : Pa_GetDefaultOutputDevice();
    const PaDeviceInfo *di = dev == paNoDevice ? NULL : Pa_GetDeviceInfo(dev);
    if (par.device && !di) {
        player_free(p);
        pa_release();
        return tts_seterr(err, TTS_E_AUDIO, "no audio output device named '%s' (tts "
                          "--list-devices lists them)", par.device);
    }
    if (!di || di->maxOutputChannels < 1) {
        int count = Pa_GetDeviceCount();
        player_free(p);
        pa_release();
        return tts_seterr(err, TTS_E_AUDIO,
                          "no audio output device found (PortAudio sees %d device%s, none is "
                          "a default output)",
                          count < 0 ? 0 : count, count == 1 ? "" : "s");
    }

    PaStreamParameters op;
    memset(&op, 0, sizeof op);
    op.device = dev;
    op.channelCount = 1;
    op.sampleFormat = paFloat32;
    op.suggestedLatency = di->defaultHighOutputLatency;
    PaError e = Pa_OpenStream(&p->stream, NULL, &op, (double)par.sample_rate,
                              paFramesPerBufferUnspecified, paNoFlag, play_callback, p);
    if (e != paNoError) {
        player_free(p);
        pa_release();
        return tts_seterr(err, TTS_E_AUDIO, "cannot open audio output '%s' at %d Hz mono: %s",
                          di->name ? di->name : "?", par.sample_rate, Pa_GetErrorText(e));
    }
    *out = p;
    return TTS_OK;
}

static int player_start(tts_player *p, tts_err *err)
{
    if (p->sink == TTS_PLAYER_SINK_DEVICE) {
        PaError e = Pa_StartStream(p->stream);
        if (e != paNoError)
            return tts_seterr(err, TTS_E_AUDIO, "cannot start audio output: %s",
                              Pa_GetErrorText(e));
    } else {
        atomic_store_explicit(&p->active, 1, memory_order_release);
        if (p->sink == TTS_PLAYER_SINK_NULL) {
            atomic_store_explicit(&p->stop, 0, memory_order_release);
            if (pthread_create(&p->thread, NULL, null_sink_main, p) != 0) {
                atomic_store_explicit(&p->active, 0, memory_order_release);
                return tts_seterr(err, TTS_E_AUDIO, "cannot start the null audio sink's thread");
            }
            p->thread_running = 1;
        }
    }
    p->started = 1;
    return TTS_OK;
}

/* 1 while the consumer runs, 0 once it stopped or finished, < 0 on a PortAudio error. */
static int player_active(tts_player *p)
{
    if (p->sink == TTS_PLAYER_SINK_DEVICE)
        return Pa_IsStreamActive(p->stream);
    return atomic_load_explicit(&p->active, memory_order_acquire);
}

/* Stops the consumer (after a drain, or at once on close). */
static void player_stop(tts_player *p, int abort_now)
{
    if (p->sink == TTS_PLAYER_SINK_NULL && p->thread_running) {
        if (abort_now)
            atomic_store_explicit(&p->stop, 1, memory_order_release);
        pthread_join(p->thread, NULL);
        p->thread_running = 0;
    }
    atomic_store_explicit(&p->active, 0, memory_order_release);
}

/* One wait step while the device should be consuming: fails if the stream stopped or
 * nothing was played for TTS_PLAYER_STALL_SECONDS. */
static int player_wait(tts_player *p, size_t *last_played, double *last_t, tts_err *err)
{
    int act = player_active(p);
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
            if (player_active(p) != 1)
                return tts_seterr(err, TTS_E_AUDIO, "audio output stopped unexpectedly");
            int rc = player_wait(p, &last_played, &last_t, err);
            if (rc)
                return rc;
        }
    }
    return TTS_OK;
}

int tts_player_end_utterance(tts_player *p, tts_err *err)
{
    if (!p)
        return tts_seterr(err, TTS_E_INVALID, "player: NULL argument");
    size_t head = atomic_load_explicit(&p->ring.head, memory_order_relaxed);
    atomic_store_explicit(&p->end_mark, head, memory_order_release);
    if (!p->started && tts_ring_used(&p->ring) > 0)
        return player_start(p, err);
    return TTS_OK;
}

int tts_player_drain(tts_player *p, tts_err *err)
{
    if (!p)
        return tts_seterr(err, TTS_E_INVALID, "player: NULL argument");
    atomic_store_explicit(&p->end_mark, atomic_load_explicit(&p->ring.head, memory_order_relaxed),
                          memory_order_release);
    tts_ring_end(&p->ring);
    int rc = TTS_OK;
    if (!p->started && tts_ring_used(&p->ring) > 0)
        rc = player_start(p, err);
    if (rc == TTS_OK && p->started) {
        /* With the manual sink, nobody pulls while we wait: done if all was pulled. */
        if (p->sink == TTS_PLAYER_SINK_MANUAL && tts_ring_used(&p->ring) == 0)
            atomic_store_explicit(&p->active, 0, memory_order_release);
        size_t last_played = atomic_load_explicit(&p->played, memory_order_relaxed);
        double last_t = now_seconds();
        /* The consumer finishes once everything is consumed; a PortAudio stream turns
         * inactive when the device has played it. */
        while (rc == TTS_OK && player_active(p) == 1)
            rc = player_wait(p, &last_played, &last_t, err);
        if (p->sink == TTS_PLAYER_SINK_DEVICE) {
            PaError e = Pa_StopStream(p->stream);
            if (rc == TTS_OK && e != paNoError)
                rc = tts_seterr(err, TTS_E_AUDIO, "cannot stop audio output: %s",
                                Pa_GetErrorText(e));
        } else {
            player_stop(p, rc != TTS_OK);
        }
        p->started = 0;
    }
    /* Ready for the next utterance (the consumer is stopped). Anything left after a
     * failure is dropped. */
    atomic_store_explicit(&p->ring.tail, atomic_load(&p->ring.head), memory_order_release);
    atomic_store_explicit(&p->ring.ended, 0, memory_order_release);
    atomic_store_explicit(&p->end_mark, NO_MARK, memory_order_release);
    p->holding = 0;
    p->starved = 0;
    return rc;
}

int tts_player_close(tts_player *p, tts_err *err)
{
    if (!p)
        return TTS_OK;
    int rc = TTS_OK;
    if (p->sink == TTS_PLAYER_SINK_DEVICE) {
        if (Pa_IsStreamStopped(p->stream) == 0)
            Pa_AbortStream(p->stream);
        PaError e = Pa_CloseStream(p->stream);
        if (e != paNoError)
            rc = tts_seterr(err, TTS_E_AUDIO, "cannot close audio output: %s",
                            Pa_GetErrorText(e));
        player_free(p);
        pa_release();
        return rc;
    }
    player_stop(p, 1);
    player_free(p);
    return rc;
}

unsigned long tts_player_underruns(const tts_player *p)
{
    return p ? atomic_load(&((tts_player *)p)->underruns) : 0;
}

size_t tts_player_underrun_samples(const tts_player *p)
{
    return p ? atomic_load(&((tts_player *)p)->underrun_samples) : 0;
}

unsigned long tts_player_gaps(const tts_player *p)
{
    return p ? atomic_load(&((tts_player *)p)->gaps) : 0;
}

size_t tts_player_samples_played(const tts_player *p)
{
    return p ? atomic_load(&((tts_player *)p)->played) : 0;
}

double tts_player_first_audio_time(const tts_player *p)
{
    return p ? 1e-9 * (double)atomic_load(&((tts_player *)p)->first_ns) : 0.0;
}
