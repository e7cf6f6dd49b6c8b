/* tts-train prepare on the 5 real clips of tests/data/corpus: counts, shapes, ids, mel
 * values, statistics and waveform of the cache; skipped takes; an unusable corpus. And
 * small pieces of the training tools: the holds' percentiles, the attention thumbnails,
 * the DTW path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/wav.h"
#include "frontend/frontend.h"
#include "train/dataset.h"
#include "train/dtw.h"
#include "train/holds.h"
#include "train/plot.h"
#include "train/train.h"

#include "check.h"

static int prepare(const char *corpus, const char *out)
{
    char *argv[2] = {(char *)corpus, (char *)out};
    fflush(stdout);
    return train_prepare_main(2, argv);
}

/* percentiles from a hand-made table of holds (in steps), reported in frames */
static void test_hold_percentiles(void)
{
    holds_table t = {.n_symbols = 3};
    int count[3] = {0}, hist[3 * (HOLDS_MAX_STEPS + 1)] = {0};
    t.count = count;
    t.hist = hist;
    /* symbol 1: 90 holds of 2 steps, 9 of 5, 1 of 40; symbol 2: 10 holds of 3 */
    hist[1 * (HOLDS_MAX_STEPS + 1) + 2] = 90;
    hist[1 * (HOLDS_MAX_STEPS + 1) + 5] = 9;
    hist[1 * (HOLDS_MAX_STEPS + 1) + 40] = 1;
    count[1] = 100;
    hist[2 * (HOLDS_MAX_STEPS + 1) + 3] = 10;
    count[2] = 10;
    int r = 2;
    CHECK(holds_percentile(&t, 1, 50, 1, r) == 4 && holds_percentile(&t, 1, 90, 1, r) == 4,
          "median / p90 of symbol 1: %g / %g frames (want 4 / 4)", holds_percentile(&t, 1, 50, 1, r),
          holds_percentile(&t, 1, 90, 1, r));
    CHECK(holds_percentile(&t, 1, 95, 1, r) == 10 && holds_percentile(&t, 1, 99, 1, r) == 10 &&
              holds_percentile(&t, 1, 100, 1, r) == 80,
          "p95 / p99 / p100 of symbol 1: %g / %g / %g (want 10 / 10 / 80)",
          holds_percentile(&t, 1, 95, 1, r), holds_percentile(&t, 1, 99, 1, r),
          holds_percentile(&t, 1, 100, 1, r));
    CHECK(holds_percentile(&t, 2, 90, 50, r) == 0 && holds_percentile(&t, 2, 90, 10, r) == 6,
          "too rare a symbol has no hold; enough has one");
    CHECK(holds_percentile(&t, 0, 90, 1, r) == 0 && holds_percentile(&t, 7, 90, 1, r) == 0,
          "a symbol never held, or out of range, has no hold");
}

/* shrinking an attention of one token per step keeps the line: every thumbnail column has
 * its peak where the diagonal is, and nothing far from it */
static void test_thumbnail(void)
{
    enum { R = 300, C = 100, W = 30, H = 20 };
    static float m[R * C], cell[W * H];
    for (int r = 0; r < R; r++)
        m[r * C + r * C / R] = 1;
    plot_panel p = {m, R, C, 0, 1};
    plot_thumb(&p, cell, W, H);
    int bad = 0;
    for (int x = 0; x < W; x++) {
        int y_line = H - 1 - x * H / W; /* token rises with the step; row 0 is the top */
        for (int y = 0; y < H; y++) {
            int near = abs(y - y_line) <= 1;
            bad += near ? 0 : cell[y * W + x] != 0;
        }
        bad += cell[y_line * W + x] != 1;
    }
    CHECK(bad == 0, "thumbnail of a diagonal: %d pixels wrong", bad);
}

/* DTW of a known warp: a repeats frames 0 and 2 of b, drops 4 and puts 4.6 between 3 and
 * 6; the path of least cost pairs each frame of b with the copies of itself, and 4 and 5
 * both with 4.6 (cost 0.6 + 0.4 over 11 pairs) */
static void test_dtw(void)
{
    const float b[8] = {0, 1, 2, 3, 4, 5, 6, 7}, a[10] = {0, 0, 1, 2, 2, 2, 3, 4.6f, 6, 7};
    const int want_lo[8] = {0, 2, 3, 6, 7, 7, 8, 9}, want_hi[8] = {1, 2, 5, 6, 7, 7, 8, 9};
    int lo[8], hi[8], bad = 0;
    double d = tts_dtw(a, 10, b, 8, 1, tts_cost_l1, lo, hi);
    CHECK(fabs(d - 1.0 / 11) < 1e-6, "DTW mean cost %g, want %g", d, 1.0 / 11);
    for (int j = 0; j < 8; j++)
        bad += lo[j] != want_lo[j] || hi[j] != want_hi[j];
    CHECK(bad == 0, "DTW path: %d frames of b aligned wrongly", bad);
    CHECK(tts_dtw(a, 10, b, 8, 1, tts_cost_l1, NULL, NULL) == d, "DTW without the path differs");
    /* the other way round: every frame of a gets one frame of b */
    int lo2[10], hi2[10];
    bad = 0;
    tts_dtw(b, 8, a, 10, 1, tts_cost_l1, lo2, hi2);
    const int want2[10] = {0, 0, 1, 2, 2, 2, 3, 4, 6, 7};
    for (int j = 0; j < 10; j++)
        bad += j == 7 ? !(lo2[j] == 4 && hi2[j] == 5) : lo2[j] != want2[j] || hi2[j] != want2[j];
    CHECK(bad == 0, "DTW path, reversed: %d frames aligned wrongly", bad);
    CHECK(isnan(tts_dtw(a, 0, b, 8, 1, tts_cost_l1, NULL, NULL)), "DTW of nothing is not NaN");
}

int main(void)
{
    test_dtw();
    test_hold_percentiles();
    test_thumbnail();
    const char *data = getenv("TTS_TEST_DATA");
    if (!data) {
        printf("TTS_TEST_DATA is not set\n");
        return 1;
    }
    char dir[] = "/tmp/tts_prepare_XXXXXX", corpus[1024], out[1024], path[8192];
    if (!mkdtemp(dir))
        return 1;
    snprintf(corpus, sizeof corpus, "%s/corpus", data);
    snprintf(out, sizeof out, "%s/ds.ltd", dir);
    CHECK(prepare(corpus, out) == 0, "prepare failed");

    tts_dataset ds;
    tts_err err;
    CHECK(tts_dataset_open(&ds, out, &err) == 0, "open: %s", err.msg);
    CHECK(ds.n == 5, "%d utterances, want 5", ds.n);
    CHECK(ds.n_mels == 80 && ds.audio.sample_rate == 16000 && ds.audio.hop_length == 200,
          "audio settings");
    CHECK(ds.pcm != NULL, "no waveform in the cache");
    double lo = log(ds.audio.log_floor) - 1e-3;
    for (int i = 0; i < ds.n; i++) {
        /* frames match the clip's duration: trimming may only shorten it */
        snprintf(path, sizeof path, "%s/wav/%s.wav", corpus, ds.names[i]);
        float *pcm;
        size_t np;
        CHECK(tts_wav_read(path, 16000, &pcm, &np, NULL, &err) == 0, "read %s", path);
        int F = tts_dataset_n_frames(&ds, i);
        CHECK(F <= (int)(np / 200 + 1) && F > (int)(np / 200) / 2, "%s: %d frames for %zu samples",
              ds.names[i], F, np);
        free(pcm);
        int N = tts_dataset_n_ids(&ds, i);
        const int32_t *ids = ds.ids + ds.ids_off[i];
        CHECK(N > 10 && ids[0] == TTS_SYM_BOS && ids[N - 1] == TTS_SYM_EOS, "%s: ids", ds.names[i]);
        for (int k = 1; k < N - 1; k++)
            CHECK(ids[k] > TTS_SYM_EOS && ids[k] < tts_symbols_count(), "%s: id %d", ds.names[i], ids[k]);
        /* about 12 phoneme symbols per second of speech: a sanity bound on the alignment */
        double sec = F * 200 / 16000.0, rate = N / sec;
        CHECK(rate > 5 && rate < 40, "%s: %.1f ids per second", ds.names[i], rate);
        int bad = 0;
        for (size_t v = 0; v < (size_t)F * 80; v++) {
            float m = ds.mel[(size_t)ds.mel_off[i] * 80 + v];
            bad += !(m >= lo && m < 8);
        }
        CHECK(bad == 0, "%s: %d mel values outside [log floor, 8)", ds.names[i], bad);
        /* loudness normalized to about -20 dBFS RMS */
        const float *w = ds.pcm + (size_t)ds.mel_off[i] * 200;
        double e = 0;
        for (int s = 0; s < F * 200; s++)
            e += (double)w[s] * w[s];
        double db = 10 * log10(e / (F * 200) + 1e-20);
        CHECK(db > -23 && db < -17, "%s: RMS %.1f dBFS", ds.names[i], db);
        CHECK(ds.split[i] <= 1, "split value");
    }
    for (int b = 0; b < 80; b++)
        CHECK(isfinite(ds.mel_mean[b]) && ds.mel_std[b] > 0.01f && ds.mel_std[b] < 10, "stats band %d", b);
    CHECK(strstr(ds.texts[0], "danger trail") != NULL, "text of the first take: %s", ds.texts[0]);
    tts_dataset_close(&ds);

    /* a corpus with a bad line and a missing WAV: both skipped, the rest prepared */
    char c2[1024];
    snprintf(c2, sizeof c2, "%s/c2", dir);
    snprintf(path, sizeof path, "mkdir -p %s/wav && cp %s/wav/arctic_a0001_1592748574.wav %s/wav/ && "
             "printf 'arctic_a0001_1592748574|Author of the danger trail.\\nno separator here\\n"
             "missing_take|This file does not exist.\\n' > %s/metadata.csv", c2, corpus, c2, c2);
    CHECK(system(path) == 0, "making the second corpus");
    snprintf(out, sizeof out, "%s/ds2.ltd", dir);
    CHECK(prepare(c2, out) == 0, "prepare with skipped takes failed");
    CHECK(tts_dataset_open(&ds, out, &err) == 0 && ds.n == 1, "want 1 utterance");
    tts_dataset_close(&ds);

    /* nothing usable: a clear failure, no cache */
    snprintf(path, sizeof path, "printf 'missing_take|Nothing here.\\n' > %s/metadata.csv", c2);
    CHECK(system(path) == 0, "rewriting metadata");
    snprintf(out, sizeof out, "%s/ds3.ltd", dir);
    CHECK(prepare(c2, out) != 0, "an unusable corpus must fail");
    CHECK(access(out, F_OK) != 0, "no cache may be written for an unusable corpus");
    CHECK(prepare("/nonexistent-corpus", out) != 0, "a missing corpus must fail");

    snprintf(path, sizeof path, "rm -rf %s", dir);
    CHECK(system(path) == 0, "cleanup");
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("all prepare tests passed\n");
    return 0;
}
