/* Tests for audio/play.c's accounting: underruns (holes inside an utterance), gaps
 * (running dry at the end of an utterance), the prefill hold after a gap, and the
 * clock-driven null sink.
 *
 * The counter logic is checked with the MANUAL sink: the test itself plays the audio
 * callback (tts_player_pull), one step at a time, so nothing depends on how fast the
 * machine or its clock is. The null sink is then checked only for what holds at any
 * speed: everything pushed is played, no underrun when the audio was all there, and it
 * never plays faster than real time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/play.h"
#include "tts.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            failures++;                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

#define N 256 /* samples per pull, like a device period */

/* The producer's samples are 1, 2, 3, ... so the consumer can check order and loss. */
static float next_value = 1.0f;
static float expect_value = 1.0f;

static void push(tts_player *p, size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = next_value++;
    tts_err err = {0};
    CHECK(tts_player_push(p, x, n, &err) == TTS_OK, "push %zu: %s", n, err.msg);
    free(x);
}

/* One pull of N; checks that the real samples continue the sequence and the rest is
 * silence. Returns the number of real samples. */
static size_t pull(tts_player *p)
{
    float out[N];
    int finished = -1;
    for (int i = 0; i < N; i++)
        out[i] = -1.0f;
    size_t k = tts_player_pull(p, out, N, &finished);
    CHECK(k <= N, "pull returned %zu", k);
    for (size_t i = 0; i < k; i++, expect_value++)
        if (out[i] != expect_value) {
            CHECK(out[i] == expect_value, "sample %zu is %g, expected %g", i, out[i],
                  expect_value);
            break;
        }
    for (size_t i = k; i < N; i++)
        if (out[i] != 0.0f) {
            CHECK(out[i] == 0.0f, "padding sample %zu is %g", i, out[i]);
            break;
        }
    return k;
}

#define COUNTS(p, u, us, g)                                                              \
    CHECK(tts_player_underruns(p) == (u) && tts_player_underrun_samples(p) == (us) &&    \
              tts_player_gaps(p) == (g),                                                 \
          "underruns %lu (want %d), underrun samples %zu (want %d), gaps %lu (want %d)", \
          tts_player_underruns(p), (int)(u), tts_player_underrun_samples(p), (int)(us),  \
          tts_player_gaps(p), (int)(g))

static void test_manual(void)
{
    tts_err err = {0};
    tts_player *p = NULL;
    /* 16 kHz, prefill 1000 samples, ring of 4096 */
    tts_player_params pp = {.sample_rate = 16000, .buffer_seconds = 0.25,
                            .prefill_seconds = 0.0625, .sink = TTS_PLAYER_SINK_MANUAL};
    CHECK(tts_player_open(&p, &pp, &err) == TTS_OK, "open manual: %s", err.msg);
    if (!p)
        return;
    COUNTS(p, 0, 0, 0);
    CHECK(tts_player_first_audio_time(p) == 0.0, "first audio time before any audio");

    /* An utterance that arrives in pieces, too slowly at times. */
    push(p, 1500);
    for (int i = 0; i < 5; i++)
        CHECK(pull(p) == N, "pull %d of the first 1500", i);
    COUNTS(p, 0, 0, 0);
    CHECK(tts_player_first_audio_time(p) > 0.0, "first audio time not set");
    CHECK(pull(p) == 220, "short pull");
    COUNTS(p, 1, 36, 0); /* ran dry inside the utterance: a hole */
    CHECK(pull(p) == 0, "empty pull");
    COUNTS(p, 1, 36 + 256, 0); /* still the same hole */
    push(p, 300);
    CHECK(pull(p) == N, "full pull after the producer caught up");
    CHECK(pull(p) == 44, "short pull");
    COUNTS(p, 2, 292 + 212, 0); /* audio was heard in between: a second hole */

    /* The producer says the utterance is complete: running dry there is a gap. */
    push(p, 100);
    CHECK(tts_player_end_utterance(p, &err) == TTS_OK, "end: %s", err.msg);
    CHECK(pull(p) == 100, "the end of the utterance");
    COUNTS(p, 2, 504, 1);
    CHECK(pull(p) == 0, "silence in the gap");
    COUNTS(p, 2, 504, 1); /* a gap lasts as long as it lasts: still one */

    /* The next utterance is held back until its prefill (1000 samples) is there. */
    push(p, 500);
    CHECK(pull(p) == 0, "held: 500 < prefill");
    COUNTS(p, 2, 504, 1);
    push(p, 600);
    for (int i = 0; i < 4; i++)
        CHECK(pull(p) == N, "pull %d after the prefill", i);
    CHECK(pull(p) == 76, "short pull in the second utterance");
    COUNTS(p, 3, 504 + 180, 1);

    /* A complete utterance shorter than the prefill is not held back. */
    CHECK(tts_player_end_utterance(p, &err) == TTS_OK, "end: %s", err.msg);
    CHECK(pull(p) == 0, "dry at the end mark");
    COUNTS(p, 3, 684, 2);
    push(p, 100);
    CHECK(pull(p) == 0, "held: 100 < prefill, utterance not complete");
    CHECK(tts_player_end_utterance(p, &err) == TTS_OK, "end: %s", err.msg);
    CHECK(pull(p) == 100, "complete short utterance played");
    COUNTS(p, 3, 684, 3);

    /* Utterances that follow each other without running dry: no gap, no underrun. */
    push(p, 1000);
    CHECK(tts_player_end_utterance(p, &err) == TTS_OK, "end: %s", err.msg);
    push(p, 1000);
    CHECK(tts_player_end_utterance(p, &err) == TTS_OK, "end: %s", err.msg);
    size_t got = 0;
    for (int i = 0; i < 7; i++)
        got += pull(p);
    CHECK(got == 1792, "7 full pulls across the utterance boundary, got %zu", got);
    COUNTS(p, 3, 684, 3);
    CHECK(pull(p) == 208, "end of the second utterance");
    COUNTS(p, 3, 684, 4);

    /* Drain with everything pulled: returns at once, counters kept. */
    CHECK(tts_player_drain(p, &err) == TTS_OK, "drain: %s", err.msg);
    CHECK(tts_player_samples_played(p) == (size_t)(next_value - 1.0f), "played %zu of %g",
          tts_player_samples_played(p), next_value - 1.0f);
    COUNTS(p, 3, 684, 4);

    /* After a drain the player takes the next stream, with the prefill again; the end
     * of the stream (drain) is not an underrun. */
    push(p, 300);
    CHECK(pull(p) == N, "new stream");
    CHECK(pull(p) == 44, "short pull in the new stream");
    COUNTS(p, 4, 684 + 212, 4);
    push(p, 10);
    /* the end of the stream: the consumer sees the end before drain's wait */
    CHECK(tts_player_close(p, &err) == TTS_OK, "close: %s", err.msg);

    /* Parameters. */
    pp.sink = 7;
    CHECK(tts_player_open(&p, &pp, &err) == TTS_E_INVALID && p == NULL, "unknown sink");
    printf("manual sink: underrun / gap accounting checked\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_null_sink(void)
{
    tts_err err = {0};
    tts_player *p = NULL;
    tts_player_params pp = tts_player_default_params(16000);
    pp.sink = TTS_PLAYER_SINK_NULL;
    CHECK(tts_player_open(&p, &pp, &err) == TTS_OK, "open null sink: %s", err.msg);
    if (!p)
        return;
    /* 0.3 s, all there before playback starts: no underrun at any machine speed, and
     * the sink cannot finish before 0.3 s of real time have passed. */
    float x[4800];
    for (int i = 0; i < 4800; i++)
        x[i] = 0.1f;
    double t0 = now_s();
    CHECK(tts_player_push(p, x, 4800, &err) == TTS_OK, "push: %s", err.msg);
    CHECK(tts_player_drain(p, &err) == TTS_OK, "drain: %s", err.msg);
    double dt = now_s() - t0;
    CHECK(tts_player_samples_played(p) == 4800, "played %zu", tts_player_samples_played(p));
    CHECK(tts_player_underruns(p) == 0, "%lu underruns", tts_player_underruns(p));
    CHECK(dt >= 0.29, "0.3 s of audio played in %.3f s: faster than real time", dt);
    double first = tts_player_first_audio_time(p);
    CHECK(first >= t0 && first <= t0 + dt, "first audio at %.3f, outside [%.3f, %.3f]", first,
          t0, t0 + dt);

    /* A short utterance (below the prefill), a pause, then another: the pause is not an
     * underrun, and a second stream on the same player plays too. */
    CHECK(tts_player_push(p, x, 1600, &err) == TTS_OK, "push: %s", err.msg);
    CHECK(tts_player_end_utterance(p, &err) == TTS_OK, "end: %s", err.msg);
    struct timespec pause = {0, 300000000L};
    nanosleep(&pause, NULL);
    CHECK(tts_player_push(p, x, 3200, &err) == TTS_OK, "push: %s", err.msg);
    CHECK(tts_player_drain(p, &err) == TTS_OK, "drain: %s", err.msg);
    CHECK(tts_player_samples_played(p) == 4800 + 4800, "played %zu",
          tts_player_samples_played(p));
    CHECK(tts_player_underruns(p) == 0, "%lu underruns", tts_player_underruns(p));
    CHECK(tts_player_gaps(p) <= 1, "%lu gaps", tts_player_gaps(p));
    printf("null sink: 0.3 s played in %.3f s, then %lu gap(s), %lu underruns\n", dt,
           tts_player_gaps(p), tts_player_underruns(p));

    /* Closing while audio is queued stops at once. */
    CHECK(tts_player_push(p, x, 4800, &err) == TTS_OK, "push: %s", err.msg);
    CHECK(tts_player_close(p, &err) == TTS_OK, "close: %s", err.msg);
}

int main(void)
{
    test_manual();
    test_null_sink();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all player accounting tests passed\n");
    return 0;
}
