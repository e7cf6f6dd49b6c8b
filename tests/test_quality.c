/*
 * train/quality.h, the naturalness measures, on signals whose answer is known: a harmonic
 * "voice" (F0 contour, spectral tilt, a formant that moves or not) against itself and
 * against versions with a flatter melody, a static spectrum, noise in its harmonics, a
 * louder high band, a pitch offset, a delay; and the table over an eval folder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio/wav.h"
#include "train/quality.h"

#include "check.h"

#define SR 16000

typedef struct {
    double dur;       /* seconds */
    double f0, depth; /* F0 = f0 exp(depth sin(2 pi 1.5 t)) */
    double cents;     /* F0 shifted by this */
    double formant_move; /* the formant's centre moves +-this (Hz) at 2 Hz; 0: static */
    double hi_gain;   /* harmonics above 4 kHz times this */
    double noise;     /* white noise of this RMS added */
    double delay;     /* seconds of silence before */
} voice;

static float *make(const voice *v, size_t *n_out)
{
    size_t pre = (size_t)(v->delay * SR), n = pre + (size_t)(v->dur * SR);
    float *x = calloc(n, sizeof(float));
    double phase = 0;
    uint64_t s = 88172645463325252ull;
    for (size_t i = pre; i < n; i++) {
        double t = (double)(i - pre) / SR;
        double f0 = v->f0 * exp(v->depth * sin(2 * M_PI * 1.5 * t)) * pow(2, v->cents / 1200);
        double fc = 800 + v->formant_move * sin(2 * M_PI * 2 * t);
        phase += 2 * M_PI * f0 / SR;
        double y = 0;
        for (int k = 1; k * f0 < 7500; k++) {
            double f = k * f0;
            double a = 1.0 / k * (1 + 3 * exp(-(f - fc) * (f - fc) / (2 * 150.0 * 150.0)));
            if (f > 4000)
                a *= v->hi_gain;
            y += a * sin(k * phase);
        }
        /* fade in and out over 20 ms */
        double env = fmin(1, fmin(t, v->dur - t) / 0.02);
        x[i] = (float)(0.1 * env * y);
    }
    for (size_t i = pre; i < n && v->noise > 0; i++) {
        double u = 0;
        for (int j = 0; j < 12; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            u += (double)(s >> 11) / 9007199254740992.0;
        }
        x[i] += (float)(v->noise * (u - 6));
    }
    *n_out = n;
    return x;
}

static const voice base = {.dur = 2, .f0 = 200, .depth = 0.2, .formant_move = 400, .hi_gain = 1};

static tts_quality_summary measure(tts_mel *mel, const voice *a, const voice *b, int aligned,
                                   tts_quality *qout)
{
    size_t na, nb;
    float *x = make(a, &na), *y = make(b, &nb);
    tts_quality q = {0};
    tts_err err;
    int rc = tts_quality_add(&q, mel, x, na, y, nb, aligned, &err);
    CHECK(rc == 0, "tts_quality_add: %s", err.msg);
    free(x);
    free(y);
    if (qout)
        *qout = q;
    return tts_quality_summarize(&q);
}

int main(void)
{
    tts_mel *mel;
    tts_err err;
    tts_audio_cfg cfg = tts_audio_cfg_default();
    if (tts_mel_create(&mel, &cfg, &err)) {
        printf("FAIL mel: %s\n", err.msg);
        return 1;
    }

    /* itself: every ratio 1, every difference 0, frame by frame and along DTW */
    for (int aligned = 0; aligned < 2; aligned++) {
        tts_quality q;
        tts_quality_summary s = measure(mel, &base, &base, aligned, &q);
        CHECK(s.n_utt == 1, "n_utt %d", s.n_utt);
        CHECK(fabs(s.melody - 1) < 1e-9 && fabs(s.detail_db) < 1e-9 && fabs(s.periodicity - 1) < 1e-9 &&
                  fabs(s.highband_db) < 1e-9,
              "self (aligned %d): melody %g detail %g periodicity %g hb %g", aligned, s.melody,
              s.detail_db, s.periodicity, s.highband_db);
        CHECK(s.mcd_db < 1e-6 && s.f0_rmse_cents < 1e-6 && s.vuv_err == 0 && s.f0_corr > 0.999,
              "self (aligned %d): MCD %g F0 %g cents corr %g V/UV %g", aligned, s.mcd_db,
              s.f0_rmse_cents, s.f0_corr, s.vuv_err);
        /* voiced nearly throughout */
        CHECK(q.ref.n_voiced > 0.9 * 2 * SR / cfg.hop_length, "voiced frames %g", q.ref.n_voiced);
    }
    /* a steady harmonic signal is periodic, whatever its pitch */
    for (double f0 = 97; f0 < 400; f0 *= 1.37) {
        voice steady = base;
        steady.depth = 0;
        steady.f0 = f0;
        tts_quality q;
        measure(mel, &steady, &steady, 1, &q);
        CHECK(q.ref.per / q.ref.n_per > 0.97, "periodicity of a steady voice at %.0f Hz: %g", f0,
              q.ref.per / q.ref.n_per);
    }

    /* half the melody's excursion: half the log-F0 spread */
    voice flat = base;
    flat.depth = 0.1;
    tts_quality_summary s = measure(mel, &flat, &base, 0, NULL);
    CHECK(fabs(s.melody - 0.5) < 0.06, "half the excursion: melody %g", s.melody);
    CHECK(s.f0_corr > 0.9, "half the excursion, same contour: corr %g", s.f0_corr);

    /* a formant that stands still: less spectral variance */
    voice still = base;
    still.formant_move = 0;
    s = measure(mel, &still, &base, 1, NULL);
    CHECK(s.detail_db < -3, "static spectrum: detail %g dB", s.detail_db);
    CHECK(fabs(s.melody - 1) < 0.02, "static spectrum: melody %g", s.melody);

    /* noise over the harmonics: less periodic (hoarse) */
    voice hoarse = base;
    hoarse.noise = 0.05;
    s = measure(mel, &hoarse, &base, 1, NULL);
    CHECK(s.periodicity < 0.9, "noisy: periodicity %g", s.periodicity);
    CHECK(s.highband_db > 1, "white noise lifts the high band: %g dB", s.highband_db);

    /* the high band twice as loud: +6 dB */
    voice bright = base;
    bright.hi_gain = 2;
    s = measure(mel, &bright, &base, 1, NULL);
    CHECK(fabs(s.highband_db - 20 * log10(2.0)) < 0.5, "high band x 2: %g dB", s.highband_db);

    /* a whole 100 cents higher: F0 RMSE 100 cents, the contour still correlated */
    voice sharp = base;
    sharp.cents = 100;
    s = measure(mel, &sharp, &base, 1, NULL);
    CHECK(fabs(s.f0_rmse_cents - 100) < 15, "+100 cents: F0 RMSE %g", s.f0_rmse_cents);
    CHECK(s.f0_corr > 0.95, "+100 cents: corr %g", s.f0_corr);

    /* 0.25 s late: DTW lines it up, frame by frame does not */
    voice late = base;
    late.delay = 0.25;
    tts_quality_summary sd = measure(mel, &late, &base, 0, NULL);
    tts_quality_summary sa = measure(mel, &late, &base, 1, NULL);
    CHECK(sd.f0_rmse_cents < 30 && sa.f0_rmse_cents > 100, "late: F0 RMSE DTW %g, frame by frame %g",
          sd.f0_rmse_cents, sa.f0_rmse_cents);
    CHECK(sd.mcd_db < sa.mcd_db, "late: MCD DTW %g, frame by frame %g", sd.mcd_db, sa.mcd_db);
    CHECK(fabs(sd.melody - 1) < 0.02, "late: melody is per signal, %g", sd.melody);

    /* too short for one window: an error, nothing counted */
    {
        float tiny[100] = {0};
        tts_quality q = {0};
        CHECK(tts_quality_add(&q, mel, tiny, 100, tiny, 100, 1, &err) == TTS_E_INVALID && q.n_utt == 0,
              "a 100-sample signal is refused");
    }

    /* the table over an eval folder: two takes of one text, a copy set */
    char dir[] = "/tmp/test_quality_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256];
    CHECK(tts_quality_table(dir, NULL, 0, NULL, &err) == TTS_E_IO, "no rec.tsv: an error");
    snprintf(path, sizeof path, "%s/rec", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/copy_gl", dir);
    mkdir(path, 0755);
    size_t n;
    float *x = make(&base, &n), *y = make(&flat, &n), *z = make(&hoarse, &n);
    const char *names[2] = {"a_1", "a_2"};
    snprintf(path, sizeof path, "%s/rec.tsv", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/rec/%s.wav", dir, names[i]);
        CHECK(tts_wav_write(path, i ? y : x, n, SR, &err) == 0, "%s", err.msg);
        fprintf(f, "%s\tthe same text.\n", path);
        snprintf(path, sizeof path, "%s/copy_gl/%s.wav", dir, names[i]);
        CHECK(tts_wav_write(path, z, n, SR, &err) == 0, "%s", err.msg);
    }
    fclose(f);
    CHECK(tts_quality_table(dir, NULL, 0, NULL, &err) == 0, "table: %s", err.msg);
    snprintf(path, sizeof path, "%s/quality.md", dir);
    f = fopen(path, "r");
    char line[512];
    int rows = 0, second = 0, copy = 0;
    while (f && fgets(line, sizeof line, f)) {
        rows++;
        second += strstr(line, "second takes | 1 x 1 | 0.500 x") != NULL; /* a_2 (flat) vs a_1 */
        copy += strstr(line, "copy synthesis, Griffin-Lim | 2 x 1 |") != NULL;
    }
    if (f)
        fclose(f);
    CHECK(rows == 4 && second == 1 && copy == 1, "quality.md: %d rows, second takes %d, copy %d",
          rows, second, copy);
    free(x);
    free(y);
    free(z);
    const char *sub[] = {"rec/a_1.wav", "rec/a_2.wav", "copy_gl/a_1.wav", "copy_gl/a_2.wav",
                         "rec.tsv", "quality.md", "rec", "copy_gl", ""};
    for (int i = 0; i < 9; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
        remove(path);
    }

    tts_mel_free(mel);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures != 0;
}
