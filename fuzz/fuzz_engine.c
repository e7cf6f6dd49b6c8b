/*
 * libFuzzer target: the whole engine (include/tts.h) on arbitrary text and options, with a
 * tiny voice (random weights, a pitch predictor) and, by turns, a tiny neural vocoder or
 * Griffin-Lim.
 *
 * The input's first 8 bytes choose the options (SSML mode, rate, volume, pitch, pause
 * after sentences, vocoder, threads, a callback that cancels); the rest is the text, made
 * NUL-terminated. The limits of a call keep each input short: at most 1.5 s of audio
 * (max_seconds) and 2 s of silence (max_silence).
 *
 *   tts_engine_open       with any options in their ranges, succeeds;
 *   tts_synthesize        returns 0 or a status the header names, with a message when not
 *                         0; the audio is finite, within [-1, 1], at most max_seconds plus
 *                         one chunk; events come in order of their samples, no later than
 *                         the audio delivered so far plus one chunk, and their spans lie
 *                         inside the text; a cancelling callback gets TTS_E_CANCELLED.
 *
 * A broken invariant calls abort(), which libFuzzer reports like a crash.
 *
 * Build: meson setup build-fuzz -Dfuzz=true (clang; see fuzz/meson.build).
 * Run:   build-fuzz/fuzz/fuzz_engine -max_len=1024 CORPUS_DIR fuzz/corpus/engine
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tts.h"

#include "../tests/tiny_models.h"

#define MAX_SECONDS 1.5f
#define CHUNK_SLACK 16000 /* samples one delivery may run past a limit */

static char voice_path[256], novoc_path[256];

static void fail(const char *what, double a, double b)
{
    fprintf(stderr, "fuzz_engine: invariant broken: %s (%g, %g)\n", what, a, b);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/fuzz_engine_XXXXXX", vp[300];
    if (!mkdtemp(dir)) {
        fprintf(stderr, "fuzz_engine: no temporary folder\n");
        exit(1);
    }
    snprintf(voice_path, sizeof voice_path, "%s/voice.ltm", dir);
    snprintf(vp, sizeof vp, "%s/voice.vocoder.ltm", dir);
    snprintf(novoc_path, sizeof novoc_path, "%s/plain/voice.ltm", dir);
    char plain[300];
    snprintf(plain, sizeof plain, "%s/plain", dir);
    if (tiny_voice_write(voice_path, 1) || tiny_vocoder_write(vp, 1, 0.2f, 5) ||
        mkdir(plain, 0700) || tiny_voice_write(novoc_path, 1)) {
        fprintf(stderr, "fuzz_engine: cannot write the tiny voice in %s\n", dir);
        exit(1);
    }
    return 0;
}

typedef struct {
    size_t n, text_len, cancel_at;
    uint64_t last_event;
    int events;
} run;

static int on_audio(const float *pcm, size_t n, const tts_event *ev, size_t n_ev, void *user)
{
    run *r = user;
    for (size_t i = 0; i < n; i++)
        if (!(pcm[i] >= -1 && pcm[i] <= 1))
            fail("a sample outside [-1, 1]", pcm[i], (double)i);
    r->n += n;
    for (size_t i = 0; i < n_ev; i++) {
        if (ev[i].sample < r->last_event)
            fail("events out of order", (double)ev[i].sample, (double)r->last_event);
        if (ev[i].sample > r->n + CHUNK_SLACK)
            fail("an event past the audio", (double)ev[i].sample, (double)r->n);
        if (ev[i].text_offset > r->text_len || ev[i].text_length > r->text_len - ev[i].text_offset)
            fail("an event's span outside the text", (double)ev[i].text_offset,
                 (double)ev[i].text_length);
        r->last_event = ev[i].sample;
        r->events++;
    }
    return r->cancel_at && r->n >= r->cancel_at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    tts_options o = tts_default_options();
    o.ssml = (int)(data[0] % 3) - 1;
    o.rate = 0.5f + 1.5f * data[1] / 255.0f;
    o.volume = 4.0f * data[2] / 255.0f;
    o.pitch = -12 + 24.0f * data[3] / 255.0f;
    o.sentence_silence = data[4] / 255.0f;
    o.vocoder = data[5] % 3 == 0 ? "griffinlim" : "default";
    o.griffin_lim_iters = 2;
    o.threads = 1 + data[5] % 2;
    o.model_path = data[5] & 8 ? novoc_path : voice_path; /* without and with a vocoder */
    o.max_seconds = MAX_SECONDS;
    o.max_silence = 2;
    run r = {.cancel_at = data[6] & 1 ? (size_t)data[7] * 64 : 0};
    char *text = malloc(size - 8 + 1);
    if (!text)
        return 0;
    memcpy(text, data + 8, size - 8);
    text[size - 8] = 0;
    r.text_len = size - 8;
    tts_engine *e = NULL;
    int rc = tts_engine_open(&e, &o);
    if (rc)
        fail("the engine does not open with options in range", rc, 0);
    rc = tts_synthesize(e, text, on_audio, &r);
    if (rc != 0 && rc != TTS_E_INVALID && rc != TTS_E_NOMEM && rc != TTS_E_FRONTEND &&
        rc != TTS_E_CANCELLED)
        fail("an unexpected status", rc, 0);
    if (rc != 0 && !tts_engine_error(e)[0])
        fail("a failure without a message", rc, 0);
    if (rc == TTS_E_CANCELLED && !r.cancel_at)
        fail("cancelled without the callback asking", rc, 0);
    if (r.n > (size_t)(MAX_SECONDS * 16000) + CHUNK_SLACK)
        fail("more audio than max_seconds", (double)r.n, MAX_SECONDS * 16000);
    tts_engine_close(e);
    free(text);
    return 0;
}
